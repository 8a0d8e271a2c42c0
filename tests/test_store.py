"""The layer store: reads, cache invalidation, queries and atomic replace."""

import geopandas as gpd
import pytest
from shapely.geometry import Point, Polygon

from geo_service.errors import InvalidParameterError, LayerDataError, LayerNotFoundError, LayerUnavailableError
from geo_service.store import LayerStore
from tests.conftest import write_layers


@pytest.fixture
def store(layers_dir):
    return LayerStore(layers_dir)


def test_read_gives_features_with_ids_and_crs(store):
    sites = store.read("sites")
    assert list(sites["id"]) == ["kidira", "diboli", "kayes", "hostile"]
    assert sites.crs.to_epsg() == 4326
    assert sites.loc[sites["id"] == "kidira", "population"].item() == 13551


def test_read_returns_a_copy(store):
    sites = store.read("sites")
    sites.loc[0, "name"] = "changed"
    assert store.read("sites").loc[0, "name"] == "Kidira"


def test_unknown_ids_never_reach_the_filesystem(store):
    for bad in ["../catalogue", "nope", "sites.geojson", "/etc/passwd"]:
        with pytest.raises(LayerNotFoundError):
            store.path_for(bad)


def test_cache_is_invalidated_when_the_file_changes(store, layers_dir):
    before = store.version("sites")
    assert len(store.read("sites")) == 4
    frame = store.read("sites").iloc[:2]
    store.replace("sites", frame)
    assert len(store.read("sites")) == 2
    assert store.version("sites") != before
    # A change made behind the store's back (another worker) is seen too.
    other = LayerStore(layers_dir)
    other.replace("sites", frame.iloc[:1])
    assert list(store.read("sites")["id"]) == ["kidira"]


@pytest.mark.parametrize("kwargs, ids, matched", [
    ({}, ["kidira", "diboli", "kayes", "hostile"], 4),
    ({"bbox": (-12.3, 14.4, -12.1, 14.5)}, ["kidira", "diboli"], 2),
    ({"bbox": (0, 0, 1, 1)}, [], 0),
    ({"limit": 2}, ["kidira", "diboli"], 4),
    ({"limit": 2, "offset": 3}, ["hostile"], 4),
    ({"offset": 10}, [], 4),
    ({"limit": 0}, [], 4),
    ({"filters": {"country": "ML"}}, ["diboli", "kayes", "hostile"], 3),
    ({"filters": {"population": "13551"}}, ["kidira"], 1),
    ({"filters": {"population": "many"}}, [], 0),
    ({"filters": {"country": "ML"}, "bbox": (-12.3, 14.4, -12.1, 14.5), "limit": 5}, ["diboli"], 1),
])
def test_query(store, kwargs, ids, matched):
    result = store.query("sites", **kwargs)
    assert list(result.features["id"]) == ids
    assert result.number_matched == matched


@pytest.mark.parametrize("kwargs, message", [
    ({"filters": {"colour": "red"}}, "unknown property 'colour'; properties of this layer: id, name"),
    ({"limit": -1}, "limit must be 0 or more"),
    ({"offset": -5}, "offset must be 0 or more"),
    ({"bbox": (1, 1, 0, 0)}, "minimum above its maximum"),
])
def test_query_errors(store, kwargs, message):
    with pytest.raises(InvalidParameterError, match=message):
        store.query("sites", **kwargs)


def _file_bytes(layers_dir, layer_id):
    return (layers_dir / f"{layer_id}.geojson").read_bytes()


def test_replace_refuses_a_projected_crs_and_keeps_the_layer(store, layers_dir):
    before = _file_bytes(layers_dir, "sites")
    projected = store.read("sites").to_crs("EPSG:32628")
    with pytest.raises(InvalidParameterError, match="reproject first"):
        store.replace("sites", projected)
    assert _file_bytes(layers_dir, "sites") == before


def test_replace_refuses_an_invalid_geometry_and_keeps_the_layer(store, layers_dir):
    before = _file_bytes(layers_dir, "zones")
    bowtie = Polygon([(-12, 14), (-11, 15), (-11, 14), (-12, 15), (-12, 14)])
    bad = gpd.GeoDataFrame({"id": ["z9"], "name": ["bow tie"]}, geometry=[bowtie], crs="EPSG:4326")
    with pytest.raises(LayerDataError, match="zones.geojson: refused to write: feature 1 .*Self-intersection"):
        store.replace("zones", bad)
    assert _file_bytes(layers_dir, "zones") == before
    files = sorted(p.name for p in layers_dir.iterdir() if p.is_file())
    assert files == sorted(["catalogue.json", "sites.geojson", "roads.geojson", "zones.geojson"])  # no temporary file
    assert list(layers_dir.rglob("*.tmp")) == []


def test_replace_refuses_a_geometry_type_the_catalogue_forbids(store, layers_dir):
    before = _file_bytes(layers_dir, "roads")
    points = gpd.GeoDataFrame({"id": ["p"]}, geometry=[Point(-12, 14)], crs="EPSG:4326")
    with pytest.raises(LayerDataError, match="geometry type Point is not allowed here"):
        store.replace("roads", points)
    assert _file_bytes(layers_dir, "roads") == before


def test_replace_writes_rfc7946(store, layers_dir):
    clockwise = Polygon([(-12, 14), (-12, 15), (-11, 15), (-11, 14), (-12, 14)])
    store.replace("zones", gpd.GeoDataFrame({"id": ["z2"]}, geometry=[clockwise], crs="EPSG:4326"))
    text = _file_bytes(layers_dir, "zones").decode()
    assert '"crs"' not in text and '"id": "z2"' in text
    ring = store.read_document("zones")["features"][0]["geometry"]["coordinates"][0]
    assert Polygon(ring).exterior.is_ccw  # rewound to the right-hand rule


def test_missing_and_broken_layer_files_are_unavailable_alone(store, layers_dir):
    (layers_dir / "roads.geojson").unlink()
    with pytest.raises(LayerUnavailableError, match="layer roads: its file is missing"):
        store.read("roads")
    (layers_dir / "zones.geojson").write_text("{not json", encoding="utf-8")
    with pytest.raises(LayerUnavailableError, match="layer zones: its file cannot be read as GeoJSON"):
        store.read("zones")
    with pytest.raises(LayerUnavailableError, match="zones.geojson: not valid JSON"):
        store.read_document("zones")
    states = {s.layer.id: s for s in store.states()}
    assert not states["roads"].available and not states["zones"].available
    assert states["sites"].available and [s.layer.id for s in store.summaries()] == ["sites"]
    assert str(layers_dir) not in states["zones"].problem


def test_summaries(store):
    summaries = {s.layer.id: s for s in store.summaries()}
    assert summaries["sites"].feature_count == 4
    west, south, east, north = summaries["sites"].bounds
    assert (west, south, east, north) == pytest.approx((-12.21659, 13.9, -11.44393, 14.457159))


def test_temporaries_of_dead_writers_are_removed_by_the_next_writer(layers_dir):
    """However fresh: the next writer holds the layer's lock, so no live writer owns them."""
    store = LayerStore(layers_dir)
    litter = [layers_dir / ".sites.123.abcd.tmp", layers_dir / ".history" / "sites" / "20260101T000000000000Z-x.tmp"]
    other = layers_dir / ".roads.456.ef01.tmp"  # another layer's writer may be at work
    for path in [*litter, other]:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("half a layer")
    LayerStore(layers_dir)
    assert all(path.exists() for path in litter)  # starting a store removes nothing
    store.replace("sites", store.read("sites").iloc[:2])
    assert not any(path.exists() for path in litter) and other.exists()


def test_a_large_layer_is_served_from_its_table_per_version(tmp_path, monkeypatch, caplog):
    """Above the size threshold, a layer's first parse is kept as an Arrow table named by its version; another
    process maps that (without parsing, or even hashing, the GeoJSON), a new version gets a new table, and a
    damaged table is ignored."""
    from geo_service.store import files as files_module
    from geo_service.store.files.sidecar import TableSidecars

    layers = write_layers(tmp_path / "layers")
    frames = tmp_path / "frames"
    first = LayerStore(layers, sidecars=TableSidecars(frames, min_bytes=0))
    expected = first.read("sites")
    version = first.version("sites")
    assert (frames / f"sites-{version}.arrow").is_file()

    def no_parsing(*args, **kwargs):
        raise AssertionError("parsed the GeoJSON")

    monkeypatch.setattr(files_module, "read_geojson", no_parsing)
    monkeypatch.setattr(files_module, "digest", no_parsing)
    other = LayerStore(layers, sidecars=TableSidecars(frames, min_bytes=0))
    got = other.read("sites")
    assert got.equals(expected) and got.dtypes.equals(expected.dtypes) and other.version("sites") == version
    monkeypatch.undo()

    changed, _ = other.write("sites", expected.iloc[:2])
    assert LayerStore(layers, sidecars=TableSidecars(frames, min_bytes=0)).summary("sites").feature_count == 2
    assert sorted(p.name for p in frames.glob("sites-*")) == [f"sites-{changed}.arrow"]  # the old one is gone

    (frames / f"sites-{changed}.arrow").write_bytes(b"ARROW1 damaged")
    assert len(LayerStore(layers, sidecars=TableSidecars(frames, min_bytes=0)).read("sites")) == 2
    assert "cannot be read" in caplog.text


def test_a_new_table_clears_the_layers_geoparquet_copies_of_an_earlier_release(tmp_path):
    from geo_service.store.files.sidecar import TableSidecars

    layers = write_layers(tmp_path / "layers")
    old = layers / ".cache" / "frames"
    old.mkdir(parents=True)
    stale, kept = old / "sites-0a1b2c3d.parquet", [old / "wells-0a1b2c3d.parquet", old / "sites-notes.txt"]
    for path in [stale, *kept]:
        path.write_bytes(b"PAR1")
    store = LayerStore(layers, sidecars=TableSidecars(layers / ".cache" / "tables", min_bytes=0))
    store.read("sites")
    assert not stale.exists() and all(path.exists() for path in kept)


def test_a_layer_file_changed_by_hand_is_hashed_and_parsed_again(tmp_path):
    """The recorded version belongs to one file (inode, modification time, size): a file edited in place or
    copied over is another file, and serves its own content, not the table of the one it replaced."""
    import json as json_module
    import os

    from geo_service.store.files.sidecar import TableSidecars

    layers = write_layers(tmp_path / "layers")
    tables = tmp_path / "tables"
    LayerStore(layers, sidecars=TableSidecars(tables, min_bytes=0)).read("sites")
    path = layers / "sites.geojson"
    document = json_module.loads(path.read_text(encoding="utf-8"))
    document["features"][0]["properties"]["name"] = "Edited"
    before = path.stat()
    with open(path, "r+", encoding="utf-8") as handle:  # in place: the same inode
        handle.write(json_module.dumps(document))
        handle.truncate()
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns + 1))
    store = LayerStore(layers, sidecars=TableSidecars(tables, min_bytes=0))
    assert store.read("sites")["name"].iloc[0] == "Edited"
    assert store.version("sites") == store.current_version("sites")


def test_a_write_is_parsed_once_its_check_gives_the_next_read_and_the_parsed_copy(tmp_path, monkeypatch):
    """The written file is read back to be checked; that frame is what the layer's readers get (the same as
    parsing the file afresh), kept as the parsed copy, so neither this process nor another parses it again."""
    from geo_service.store import files as files_module
    from geo_service.store.files.sidecar import TableSidecars

    layers = write_layers(tmp_path / "layers")
    frames = tmp_path / "frames"
    store = LayerStore(layers, sidecars=TableSidecars(frames, min_bytes=0))
    new = store.read("sites").iloc[::-1]
    new.loc[new.index[0], "name"] = "Renamed"
    version, changed = store.write("sites", new)
    assert changed

    def no_parsing(*args, **kwargs):
        raise AssertionError("parsed the GeoJSON")

    monkeypatch.setattr(files_module, "read_geojson", no_parsing)
    kept = store.read("sites")
    from_copy = LayerStore(layers, sidecars=TableSidecars(frames, min_bytes=0)).read("sites")
    monkeypatch.undo()
    fresh = LayerStore(layers, sidecars=TableSidecars(tmp_path / "none", min_bytes=10**9)).read("sites")
    assert kept["name"].iloc[0] == "Renamed" and store.version("sites") == version
    for got in (kept, from_copy):
        assert got.equals(fresh) and got.dtypes.equals(fresh.dtypes)

"""What every store backend must do (base.Store), run against each backend the ``store`` fixture opens.

The files backend and PostGIS (a throwaway cluster started by the test session). The file-specific
behaviour (locks, temporary files, damaged files on disk) is in test_store.py.
"""

from __future__ import annotations

import inspect
import json

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from shapely.geometry import Point

from geo_service.config import Extent
from geo_service.errors import LayerDataError, LayerNotFoundError, VersionConflictError
from geo_service.io.layer_import import import_layer
from geo_service.store import LayerStore
from geo_service.store.base import Store
from geo_service.store.expressions import Compare, SortKey
from tests.conftest import catalogue_entry, postgis_store, write_layers


def files_backend(tmp_path):
    return LayerStore(write_layers(tmp_path / "layers"))


def postgis_backend(tmp_path, request):
    store = postgis_store(request.getfixturevalue("database_url"), write_layers(tmp_path / "layers"))
    request.addfinalizer(store.close)
    return store


BACKENDS = {"files": files_backend, "postgis": postgis_backend}


@pytest.fixture(params=sorted(BACKENDS))
def store(request, tmp_path) -> Store:
    if request.param == "postgis":
        return postgis_backend(tmp_path, request)
    return BACKENDS[request.param](tmp_path)


def test_each_backend_has_every_method_of_the_interface(store):
    wanted = {name for name, _ in inspect.getmembers(Store) if not name.startswith("_")}
    assert wanted - set(dir(store)) == set()


def test_reading_and_querying(store):
    assert [s.layer.id for s in store.summaries()] == ["sites", "roads", "zones"]
    assert all(state.available for state in store.states())
    sites = store.read("sites")
    sites.loc[0, "name"] = "changed"  # a copy: the store is not changed through it
    assert store.read("sites").loc[0, "name"] == "Kidira"
    assert store.summary("sites").feature_count == 4 and store.summary("sites").version == store.version("sites")
    positions, matched = store.query_positions("sites", bbox=(-12.3, 14.4, -12.1, 14.5))
    assert matched == 2 and sorted(store.read("sites").iloc[positions]["id"]) == ["diboli", "kidira"]
    page = store.query("sites", filters={"country": "ML"}, limit=1, offset=1)
    assert page.number_matched == 3 and list(page.features["id"]) == ["kayes"]
    assert {"name", "country", "population"} <= set(store.snapshot("sites").property_names)
    with pytest.raises(LayerNotFoundError):
        store.read("nowhere")


def test_versions_follow_the_content_and_writes_check_them(store):
    frame = store.read("sites")
    before, _ = store.write("sites", frame)  # now in the store's own form
    assert store.write("sites", frame, expected_version=before) == (before, False)  # same content: nothing
    assert len(store.history("sites")) == 1  # … and no history entry for it
    frame.loc[frame["id"] == "kayes", "population"] = 200000
    version, changed = store.write("sites", frame, expected_version=before)
    assert changed and version != before and store.version("sites") == version == store.current_version("sites")
    with pytest.raises(VersionConflictError):
        store.write("sites", frame.iloc[:2], expected_version=before)  # someone else's change is not lost
    assert store.read("sites").set_index("id").loc["kayes", "population"] == 200000


def test_history_and_rollback_restore_exactly(store):
    original, original_version = store.file_bytes("sites"), store.version("sites")
    shorter, _ = store.write("sites", store.read("sites").iloc[:3])
    assert store.history("sites")[0].version == original_version
    restored = store.rollback("sites")
    assert restored.version == original_version and store.version("sites") == original_version
    assert store.file_bytes("sites") == original and store.summary("sites").feature_count == 4
    chunks = list(store.document_chunks("sites", original_version, size=100))
    assert b"".join(chunks) == original and len(chunks) == -(-len(original) // 100)
    assert store.history("sites")[0].version == shorter  # the replaced version is kept in turn
    assert store.pin("sites", shorter).pinned


def test_a_new_layer(store):
    frame = gpd.GeoDataFrame({"id": ["w1"], "name": ["Well"], "source": ["tests"]},
                             geometry=[Point(-12.0, 14.2)], crs="EPSG:4326")
    store.add_layer(catalogue_entry("wells", "Point"), frame)
    assert "wells" in store.catalogue and store.summary("wells").feature_count == 1
    assert store.read_document("wells")["features"][0]["id"] == "w1"


def test_text_that_looks_like_json_stays_text(store):
    """A Kobo or Excel text cell such as "[1, 2]" is stored as that text, not as a JSON array or object."""
    texts = ["[1, 2]", '{"k": 1}', "[not json", "{}"]
    frame = gpd.GeoDataFrame({"id": [f"t{i}" for i in range(4)], "note": texts, "source": ["tests"] * 4},
                             geometry=[Point(-12.0, 14.2 + i / 10) for i in range(4)], crs="EPSG:4326")
    store.add_layer(catalogue_entry("notes", "Point"), frame)
    assert [f["properties"]["note"] for f in store.read_document("notes")["features"]] == texts
    assert store.read("notes")["note"].tolist() == texts


@pytest.mark.parametrize("ids", [pd.array([1, None, 3, 4], dtype="Int64"), ["a", None, "c", "d"],
                                 [1.0, 2.0, 3.0, np.nan]])
def test_a_layer_with_an_empty_id_is_refused_whole(store, ids):
    """GeoJSON has no null id: writing one would give the feature an id it never had (0, or "")."""
    before, version = store.file_bytes("sites"), store.version("sites")
    frame = store.read("sites").assign(id=ids)
    with pytest.raises(LayerDataError, match=r"features (2|4) have an empty id"):
        store.write("sites", frame)
    with pytest.raises(LayerDataError, match="empty id"):
        store.add_layer(catalogue_entry("wells", "Point"), frame)
    assert store.file_bytes("sites") == before and store.version("sites") == version
    assert "wells" not in store.catalogue


def test_whole_number_ids_stay_the_features_ids(store):
    """A layer whose ids are whole numbers (GeoJSON ``"id": 10``) keeps them: in its document, its frame, and
    the OGC API's features (GDAL reads them as row numbers, which were dropped)."""
    frame = gpd.GeoDataFrame({"id": pd.array([10, 20, 0], dtype="Int64"), "name": ["A", "B", "C"],
                              "source": ["tests"] * 3}, geometry=[Point(-12.0, 14.2), Point(-12.1, 14.3), Point(-12.2, 14.4)],
                             crs="EPSG:4326")
    store.add_layer(catalogue_entry("wells", "Point"), frame)
    assert [f["id"] for f in store.read_document("wells")["features"]] == [10, 20, 0]
    assert store.read("wells")["id"].tolist() == [10, 20, 0]
    assert json.loads(store.feature_text("wells", "20"))["properties"]["name"] == "B"
    assert [json.loads(t)["id"] for t in store.snapshot("wells").page(limit=5)[0]] == [10, 20, 0]


def test_an_imported_document_keeps_its_whole_number_ids(store):
    """What an analyst's GeoJSON export holds (``"id": 10``) is what the layer serves after an import."""
    document = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "id": number, "properties": {"name": name},
         "geometry": {"type": "Point", "coordinates": [lon, 14.4]}}
        for number, name, lon in ((10, "Kayes", -11.4), (7, "Diboli", -12.2))]}
    outcome = import_layer(store, "wells", json.dumps(document).encode(), "wells.geojson", Extent())
    assert outcome.created and outcome.features == 2
    assert [f["id"] for f in store.read_document("wells")["features"]] == [10, 7]
    assert json.loads(store.feature_text("wells", "7"))["id"] == 7


SNAPSHOT_QUERIES = (
    {}, {"limit": 2, "offset": 1}, {"offset": 9}, {"bbox": (-12.3, 14.4, -12.1, 14.5)},
    {"filters": {"country": "ML"}, "limit": 1, "offset": 1}, {"sortby": (SortKey("population", True),)},
    {"where": Compare(">", "population", 1000), "limit": 5},
)


def test_a_snapshot_answers_every_question_of_its_own_version(store):
    """An items request asks one snapshot for the properties, then for a page: the page is of that version, even
    when the layer is replaced in between (PostGIS then answers from the version's document)."""
    snapshot = store.snapshot("sites")
    assert snapshot.version == store.version("sites")
    assert snapshot.property_names == [name for name in store.read("sites").columns if name != "geometry"]
    assert snapshot.property_types()["population"] == "integer" and snapshot.property_types()["name"] == "string"
    pages = {}
    for i, query in enumerate(SNAPSHOT_QUERIES):
        positions, matched = store.query_positions("sites", **query)
        pages[i] = snapshot.page(**query)
        assert pages[i] == (snapshot.features().texts(positions), matched)
    assert pages[3][1] == 2 and pages[6][1] == 2 and len(pages[0][0]) == 4 and pages[2] == ([], 4)
    frame = store.read("sites")
    store.replace("sites", frame[frame["id"] != "kidira"].assign(population=frame["population"] * 10))
    assert store.snapshot("sites").page(**SNAPSHOT_QUERIES[3])[1] == 1  # the new version
    for i, query in enumerate(SNAPSHOT_QUERIES):  # the old snapshot: still its own version's (PostGIS: parsed
        texts, matched = snapshot.page(**query)    # from its document, whose texts may order members otherwise)
        assert ([json.loads(t) for t in texts], matched) == ([json.loads(t) for t in pages[i][0]], pages[i][1])


def test_a_snapshot_draws_the_tiles_of_its_own_version(store):
    """The tile route names a tile's version in its ETag: the tile drawn is of that version, even when the layer
    is replaced in between (else a rollback to the version would find the newer tile cached under its name)."""
    import mapbox_vector_tile

    def names(tile: bytes) -> list:
        return sorted(f["properties"].get("name") for f in mapbox_vector_tile.decode(tile).get("sites", {}).get(
            "features", []))

    key = (6, 29, 29)  # z, x, y: the tile of all four sites
    snapshot = store.snapshot("sites")
    before = names(snapshot.tile(*key))
    assert before and before == names(store.tile("sites", *key))
    frame = store.read("sites")
    store.replace("sites", frame.iloc[1:])
    after = names(store.tile("sites", *key))
    assert after != before and len(after) == len(before) - 1
    assert names(snapshot.tile(*key)) == before  # PostGIS: drawn from the version's document

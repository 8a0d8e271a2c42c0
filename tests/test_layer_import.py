"""Every import rule: its message names the problem, and the existing layer is left exactly as it was."""

import io
import json
import zipfile

import geopandas as gpd
import pyogrio
import pytest
from shapely.geometry import Point

from geo_service.config import Extent, InputLimits
from geo_service.errors import GeoServiceError
from geo_service.io.formats import write as write_format
from geo_service.io.layer_import import ImportOptions, import_layer
from geo_service.store import LayerStore


def fc(*features):
    return json.dumps({"type": "FeatureCollection", "features": list(features)}).encode()


def feat(geometry, **props):
    return {"type": "Feature", "properties": props, "geometry": geometry}


def pt(lon, lat):
    return {"type": "Point", "coordinates": [lon, lat]}


GOOD = fc(feat(pt(-12.2, 14.45), id="a", name="A"), feat(pt(-12.1, 14.4), id="b", name="B"))
BOWTIE = {"type": "Polygon", "coordinates": [[[-12, 14], [-11, 15], [-11, 14], [-12, 15], [-12, 14]]]}


def shp_zip_without_prj(tmp_path) -> bytes:
    with pytest.warns(UserWarning, match="'crs' was not provided"):
        pyogrio.write_dataframe(gpd.GeoDataFrame({"name": ["x"]}, geometry=[Point(500000, 1600000)]),
                                tmp_path / "utm.shp", driver="ESRI Shapefile")
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for suffix in (".shp", ".shx", ".dbf"):
            archive.write(tmp_path / f"utm{suffix}", f"utm{suffix}")
    return buffer.getvalue()


RULES = [
    ("unreadable", lambda tmp: (b"{not json", "x.geojson"), {}, "x.geojson: cannot read as GeoJSON"),
    ("unknown type", lambda tmp: (b"data", "x.xls"), {}, "unknown file type .xls"),
    ("no features", lambda tmp: (fc(), "x.geojson"), {}, "no features"),
    ("no geometry", lambda tmp: (fc(feat(pt(-12.2, 14.45), id="a"), feat(None, id="b")), "x.geojson"), {},
     "feature 2: has no geometry"),
    ("out of range", lambda tmp: (fc(feat(pt(500000, 1600000), id="a")), "x.geojson"), {},
     "feature 1: position \\[500000, 1600000\\] is outside longitude -180..180"),
    ("outside area", lambda tmp: (fc(feat(pt(2.35, 48.85), id="paris")), "x.geojson"), {},
     "lie outside the service's area"),
    ("swapped", lambda tmp: (b"id,lat,lon\na,-12.2,14.45\n", "x.csv"), {}, "are the two columns swapped"),
    ("no crs, not degrees", lambda tmp: (shp_zip_without_prj(tmp), "x.zip"), {}, "not degrees and the file declares no CRS"),
    ("invalid geometry", lambda tmp: (fc(feat(BOWTIE, id="z")), "x.geojson"), {"layer": "zones"},
     "features 1 have invalid geometries \\(Self-intersection"),
    ("duplicate ids", lambda tmp: (fc(feat(pt(-12.2, 14.45), id="a"), feat(pt(-12.1, 14.4), id="a")), "x.geojson"), {},
     "duplicate ids a"),
    ("wrong family", lambda tmp: (fc(feat({"type": "LineString", "coordinates": [[-12.2, 14.4], [-12.1, 14.5]]},
                                          id="l")), "x.geojson"), {},
     "features 1 are LineString; layer 'sites' holds Point features only"),
    ("bad csv rows", lambda tmp: (b"id,lat,lon\na,14.4,-12.2\nb,?,-12.1\n", "x.csv"), {}, "rows 3 have no numeric lat/lon"),
    ("unsafe zip", lambda tmp: (zipped({"../../etc/x.shp": b""}), "x.zip"), {}, "unsafe path"),
    ("too many", lambda tmp: (GOOD, "x.geojson"), {"max_features": 1}, "2 features, more than the 1 accepted"),
]


def zipped(members):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


@pytest.mark.parametrize("name, make, extra, message", RULES, ids=[r[0] for r in RULES])
def test_each_rule_refuses_and_keeps_the_layer(layers_dir, tmp_path, runner, name, make, extra, message):
    store = LayerStore(layers_dir)
    layer_id = extra.get("layer", "sites")
    before = (layers_dir / f"{layer_id}.geojson").read_bytes()
    data, filename = make(tmp_path)
    options = ImportOptions(limits=InputLimits(features=extra.get("max_features", 200_000)))
    with pytest.raises(GeoServiceError, match=message):
        import_layer(store, layer_id, data, filename, Extent(), options, replace=True)
    assert (layers_dir / f"{layer_id}.geojson").read_bytes() == before
    assert store.history(layer_id) == []
    # The same refusal through the CLI, with the same message and the same untouched layer.
    path = tmp_path / filename
    path.write_bytes(data)
    args = ["layers", "import", str(path), "--id", layer_id, "--replace"]
    if "max_features" not in extra:
        result = runner(args)
        assert result.exit_code == 1
        import re
        assert re.search(message, result.output)
        assert (layers_dir / f"{layer_id}.geojson").read_bytes() == before


def test_invalid_geometries_are_repaired_when_asked(layers_dir):
    store = LayerStore(layers_dir)
    outcome = import_layer(store, "zones", fc(feat(BOWTIE, id="z")), "x.geojson", Extent(),
                           ImportOptions(repair=True), replace=True)
    assert any("repaired invalid geometries of features 1 with make_valid" in n for n in outcome.notes)
    assert store.read("zones").geometry.iloc[0].is_valid
    assert len(store.history("zones")) == 1


def test_outside_area_is_accepted_when_allowed(layers_dir):
    store = LayerStore(layers_dir)
    outcome = import_layer(store, "far", fc(feat(pt(2.35, 48.85), id="paris")), "x.geojson", Extent(),
                           ImportOptions(allow_outside=True))
    assert outcome.created and store.read("far")["id"].tolist() == ["paris"]


def test_whole_number_feature_ids_are_kept(layers_dir):
    """GDAL takes ``"id": 10`` for its own row number and pyogrio drops it: the ids were lost, the features
    numbered 1 to N instead. They are kept as whole numbers, in the file and in what readers get, whichever
    way the document is read (points: in one pass; polygons with a list property: the long way through GDAL);
    one missing is refused."""
    store = LayerStore(layers_dir)
    features = [{"type": "Feature", "id": number, "properties": {"name": name}, "geometry": pt(lon, 14.4)}
                for number, name, lon in ((10, "Kayes", -11.4), (7, "Diboli", -12.2), (0, "Kidira", -12.21))]
    polygon = {"type": "Polygon", "coordinates": [[[-12, 14], [-11, 14], [-11, 15], [-12, 14]]]}
    areas = fc({**features[0], "geometry": polygon, "properties": {"name": "Kayes", "tags": ["a", "b"]}})
    for layer_id, document in (("wells", fc(*features)), ("areas", areas)):
        outcome = import_layer(store, layer_id, document, "x.geojson", Extent())
        assert not any("text" in str(note) for note in outcome.notes), outcome.notes
    assert [f["id"] for f in store.read_document("wells")["features"]] == [10, 7, 0]
    assert b'"id": 10,' in (layers_dir / "wells.geojson").read_bytes()
    assert json.loads(store.feature_text("wells", "7")) == {**features[1], "properties": {
        "name": "Diboli", "source": store.read("wells")["source"].iloc[0]}}
    assert store.read("areas")["id"].tolist() == [10] and store.read("areas")["id"].dtype == "Int64"
    with pytest.raises(GeoServiceError, match="features 2 have an empty id"):
        import_layer(store, "gaps", fc(features[0], {k: v for k, v in features[1].items() if k != "id"}),
                     "x.geojson", Extent())


@pytest.mark.parametrize("geometry", ["point", "polygon"])
@pytest.mark.parametrize("ids", [(10, "k2"), ("k2", 10)])  # GDAL makes a text column of the second only
def test_whole_number_ids_among_text_ids_become_text_and_the_answer_says_so(layers_dir, geometry, ids):
    store = LayerStore(layers_dir)
    shape = pt(-11.4, 14.4) if geometry == "point" else {
        "type": "Polygon", "coordinates": [[[-12, 14], [-11, 14], [-11, 15], [-12, 14]]]}
    document = fc(*({"type": "Feature", "id": fid, "properties": {"name": name}, "geometry": shape}
                    for fid, name in zip(ids, ("Kayes", "Diboli"))))
    outcome = import_layer(store, "mixed", document, "x.geojson", Extent())
    assert [str(note) for note in outcome.notes] == ["x.geojson: the ids mix whole numbers and text: all are kept as text"]
    assert [f["id"] for f in store.read_document("mixed")["features"]] == [str(fid) for fid in ids]


def test_ids_of_a_document_too_large_to_read_twice_are_numbered_and_logged(monkeypatch, caplog):
    """A layer file GDAL reads (not plain: a list property) whose whole-number ids ``io.ogr`` would read again."""
    from geo_service.io import ogr

    document = fc({"type": "Feature", "id": 10, "properties": {"tags": ["a"]}, "geometry": pt(-11.4, 14.4)})
    frame = ogr.read_frame(io.BytesIO(document))
    assert ogr.with_feature_ids(frame, document)[0]["id"].tolist() == [10]
    monkeypatch.setattr(ogr, "_IDS_MAX_BYTES", len(document) - 1)
    assert "id" not in ogr.with_feature_ids(frame, document)[0].columns
    assert "its features are numbered instead" in caplog.text


@pytest.mark.parametrize("ids", [(10, "k2"), ("k2", 10), ("k2", "10")])
def test_a_layer_file_whose_ids_mix_whole_numbers_and_text_is_logged(tmp_path, caplog, ids):
    """A layer file put in the folder (not an upload, which says it in its answer): its ids are served as text
    and the log says so, whichever comes first; ids that are all text, digits or not, are not reported."""
    from geo_service.store.geojson_file import read_geojson

    path = tmp_path / "mixed.geojson"
    path.write_bytes(fc(*({"type": "Feature", "id": fid, "properties": {"name": name}, "geometry": pt(-11.4, 14.4)}
                          for fid, name in zip(ids, ("Kayes", "Diboli")))))
    caplog.set_level("WARNING")
    assert read_geojson(path)["id"].tolist() == [str(fid) for fid in ids]
    mixed = len({type(fid) for fid in ids}) == 2
    assert ("mixed.geojson: its ids mix whole numbers and text: all are served as text" in caplog.text) is mixed


def test_projected_crs_is_reprojected_and_sources_filled(layers_dir):
    store = LayerStore(layers_dir)
    utm = gpd.GeoDataFrame({"id": ["k"], "name": ["Kidira"]}, geometry=[Point(-12.2166, 14.4567)],
                           crs="EPSG:4326").to_crs(32628)
    outcome = import_layer(store, "sites", write_format(utm, "x", "gpkg"), "kidira.gpkg", Extent(),
                           ImportOptions(source="NGO survey 2026"), replace=True)
    assert "kidira.gpkg: reprojected from EPSG:32628 to EPSG:4326" in [str(n) for n in outcome.notes]
    frame = store.read("sites")
    assert frame.geometry.x.iloc[0] == pytest.approx(-12.2166, abs=1e-6)
    assert frame["source"].tolist() == ["NGO survey 2026"]


def test_new_layer_rules(layers_dir):
    store = LayerStore(layers_dir)
    for bad_id in ("Bad", "1abc", "../x", "a-b", ""):
        with pytest.raises(GeoServiceError, match="must match"):
            import_layer(store, bad_id, GOOD, "x.geojson", Extent())
    mixed = fc(feat(pt(-12.2, 14.45), id="a"), feat(pt(-12.1, 14.4), id="b"),
               feat({"type": "LineString", "coordinates": [[-12.2, 14.4], [-12.1, 14.5]]}, id="c"))
    with pytest.raises(GeoServiceError, match="mixed geometry types.*features 3 are not Point"):
        import_layer(store, "mixed", mixed, "x.geojson", Extent())
    with pytest.raises(GeoServiceError, match="exists already"):
        import_layer(store, "sites", GOOD, "x.geojson", Extent())
    assert "mixed" not in store.catalogue and len(store.read("sites")) == 4


def test_new_layer_is_catalogued_and_valid(open_test_store, runner):
    store = open_test_store()
    outcome = import_layer(store, "ngo_clinics", b"id,name,lat,lon\nc1,Clinic,14.3,-12.1\n", "clinics.csv", Extent(),
                           title="NGO clinics", licence="CC0-1.0")
    assert outcome.created and outcome.features == 1
    layer = store.catalogue.get("ngo_clinics")
    assert layer.title.en == "NGO clinics" and layer.licence == "CC0-1.0" and layer.geometry_type == "Point"
    assert runner(["layers", "validate"]).exit_code == 0
    assert open_test_store().catalogue.get("ngo_clinics")  # another process sees it


def test_history_and_rollback(open_test_store, runner):
    store = open_test_store(history_keep=3)
    original = store.current_version("sites")
    versions = [original]
    for i in range(5):
        data = fc(feat(pt(-12.2, 14.45), id="a", n=i))
        versions.append(import_layer(store, "sites", data, "x.geojson", Extent(), replace=True).version)
    saved = [v.version for v in store.history("sites")]
    assert saved == versions[-2:-5:-1] + [original]  # newest first, 3 kept, plus the pinned original
    assert [v.pinned for v in store.history("sites")] == [False, False, False, True]
    result = runner(["layers", "history", "sites"])
    assert result.output.splitlines()[0] == f"{versions[-1]}  (current)"
    restored = store.rollback("sites")
    assert restored.version == versions[-2] and store.current_version("sites") == versions[-2]
    assert runner(["layers", "rollback", "sites", versions[-3][:8]]).exit_code == 0
    assert store.current_version("sites") == versions[-3]
    assert runner(["layers", "rollback", "sites", "ffffffff"]).exit_code == 1


def test_cli_honours_history_keep_from_the_environment(open_test_store, tmp_path, monkeypatch, runner):
    monkeypatch.setenv("GEO_SERVICE_HISTORY_KEEP", "1")
    for i in range(3):
        path = tmp_path / f"v{i}.geojson"
        path.write_bytes(fc(feat(pt(-12.2, 14.45), id="a", n=i)))
        assert runner(["layers", "import", str(path), "--id", "sites", "--replace"]).exit_code == 0
    history = open_test_store().history("sites")
    assert [v.pinned for v in history] == [False, True]  # one kept, plus the pinned original

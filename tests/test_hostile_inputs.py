"""Each hostile or careless upload gets a clear 4xx and leaves every layer and its history as it was."""

import json
import re

import pytest

from geo_service.config import InputLimits
from geo_service.store import LayerStore
from tests import hostile_files as hf
from tests.conftest import assert_error_document

TOKEN = "a-long-test-token-0123456789"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


def snapshot(layers_dir):
    """Every layer, catalogue and history file, byte for byte (lock files and caches made from the layers
    aside)."""
    return {str(p.relative_to(layers_dir)): p.read_bytes() for p in sorted(layers_dir.rglob("*"))
            if p.is_file() and ".locks" not in p.parts and ".cache" not in p.parts}


@pytest.fixture
def writer(layers_dir, make_app):
    return make_app({"token": TOKEN}).test_client()


def put(client, layer_id, body, filename, **query):
    headers = dict(AUTH)
    if layer_id in ("sites", "roads", "zones"):
        headers["If-Match"] = client.get(f"/api/layers/{layer_id}").headers["ETag"]
    return client.put(f"/api/layers/{layer_id}", data=body, query_string={"filename": filename, **query},
                      headers=headers)


def refused(client, layers_dir, layer_id, body, filename, status, pattern, **query) -> dict:
    before = snapshot(layers_dir)
    response = put(client, layer_id, body, filename, **query)
    doc = assert_error_document(response, status)
    assert re.search(pattern, doc["description"]), doc["description"]
    assert str(layers_dir) not in doc["description"] and "/tmp" not in doc["description"]
    assert snapshot(layers_dir) == before
    return doc


CASES = [
    ("recursive view", lambda tmp: (hf.gpkg_with_view(tmp), "v.gpkg"), 400, r"layers trap are SQL views"),
    ("cross-join view", lambda tmp: (hf.gpkg_with_view(tmp, recursive=False), "v.gpkg"), 400, r"SQL views"),
    ("generated column", lambda tmp: (hf.gpkg_with_generated_column(tmp), "g.gpkg"), 400,
     r"columns blob_bomb of 'base' are computed"),
    ("custom trigger", lambda tmp: (hf.gpkg_with_trigger(tmp), "t.gpkg"), 400, r"SQL triggers spy of its own"),
    ("two features keys", lambda tmp: (b'{"type": "FeatureCollection", "features": [], "features": []}', "x.geojson"),
     400, r"the key 'features' appears twice"),
    ("NaN", lambda tmp: (b'{"type":"FeatureCollection","features":[{"type":"Feature","properties":{"p":NaN},'
                         b'"geometry":{"type":"Point","coordinates":[-12.2,14.4]}}]}', "x.geojson"), 400,
     r"NaN is not valid JSON"),
    ("Infinity", lambda tmp: (b'{"type":"FeatureCollection","features":[{"type":"Feature","properties":'
                              b'{"p":-Infinity},"geometry":{"type":"Point","coordinates":[-12.2,14.4]}}]}',
                              "x.geojson"), 400, r"-Infinity is not valid JSON"),
    ("400-digit coordinate", lambda tmp: (json.dumps(hf.feature_collection(hf.point_feature("a"))).replace(
        "-12.2", "1" * 400).encode(), "x.geojson"), 400, r"larger than 64 bits"),
    ("1e400", lambda tmp: (json.dumps(hf.feature_collection(hf.point_feature("a"))).replace(
        "-12.2", "1e400").encode(), "x.geojson"), 400, r"too large for a double"),
    ("id is a list", lambda tmp: (json.dumps(hf.feature_collection(hf.point_feature([1]))).encode(), "x.geojson"),
     400, r"feature 1: its id is neither a string nor a number"),
    ("id is a decimal", lambda tmp: (json.dumps(hf.feature_collection(hf.point_feature(1.5))).encode(), "x.geojson"),
     400, r"feature 1: its id is a decimal number: give the features text or whole-number ids"),
    ("nested 100,000 deep", lambda tmp: (b"[" * 100_000 + b"]" * 100_000, "x.geojson"), 400, r"nested too deeply"),
    ("shp without shx", lambda tmp: (hf.shapefile_zip(hf.points_frame(), drop=(".shx",)), "x.zip"), 400,
     r"has x.shp but no .shx beside it"),
    ("dbf with fewer records", lambda tmp: (hf.dbf_with_fewer_records(hf.points_frame()), "x.zip"), 400,
     r"the .dbf has 1 records for 2 shapes"),
    ("symlinked dbf", lambda tmp: (hf.shapefile_zip(hf.points_frame(), symlink=".dbf"), "x.zip"), 400,
     r"'x.dbf' is a symbolic link"),
    ("mixed encodings", lambda tmp: ("id,name,lat,lon\na,Kédougou,14.4,-12.2\n".encode()
                                     + "b,Kédougou,14.4,-12.2\n".encode("cp1252"), "x.csv"), 400,
     r"mixes UTF-8 \(lines 2\) with another encoding \(lines 3\)"),
    ("100,000 GeoJSON properties", lambda tmp: (hf.sparse_geojson(100_000, features=1), "x.geojson"), 413,
     r"properties \(columns\), more than the 250"),
    ("10,000 sparse properties", lambda tmp: (hf.sparse_geojson(10_000, features=100), "x.geojson"), 413,
     r"properties \(columns\)"),
    ("100,000 CSV columns", lambda tmp: (hf.wide_csv(100_000), "x.csv"), 413, r"properties \(columns\)"),
    ("zip bomb", lambda tmp: (hf.zip_bomb(300), "x.zip"), 413, r"MB once unpacked, more than the 200"),
]


@pytest.mark.parametrize("name, make, status, pattern", CASES, ids=[c[0] for c in CASES])
def test_hostile_upload_is_refused_and_nothing_changes(writer, layers_dir, tmp_path, name, make, status, pattern):
    data, filename = make(tmp_path)
    refused(writer, layers_dir, "sites", data, filename, status, pattern)


@pytest.mark.parametrize("name, data, filename, limits, pattern", [
    ("rows", hf.long_csv(1001), "x.csv", InputLimits(features=1000), r"1,001 features, more than the 1,000"),
    ("positions", hf.multipoint_zip(5000), "x.zip", InputLimits(vertices=4000),
     r"about 5,000 coordinate positions, more than the 4,000"),
    ("positions in one feature", hf.multipoint_zip(5000), "x.zip", InputLimits(feature_vertices=1000),
     r"about 5,000 coordinate positions in one feature"),
    ("GeoJSON positions", json.dumps(hf.feature_collection(
        {"type": "Feature", "properties": {}, "geometry": {"type": "MultiPoint", "coordinates": [
            [-12.2, 14.4]] * 3000}})).encode(), "x.geojson", InputLimits(feature_vertices=2000),
     r"3,000 coordinate positions in one feature"),
    ("cells", hf.long_csv(30), "x.csv", InputLimits(cells=50), r"values \(features × properties\)"),
])
def test_limits_stop_a_file_before_it_is_built(layers_dir, name, data, filename, limits, pattern, make_app):
    client = make_app({"token": TOKEN, "limits": limits}).test_client()
    doc = refused(client, layers_dir, "sites", data, filename, 413, pattern)
    assert doc["code"] == "PayloadTooLarge" and doc["details"]["limit"].startswith("GEO_SERVICE_MAX_")


@pytest.mark.files_only  # counts the history folder
def test_ten_identical_writes_keep_the_original_restorable(writer, layers_dir):
    store = LayerStore(layers_dir)
    original = store.current_version("sites")
    body = json.dumps(hf.feature_collection(hf.point_feature("a", name="A"))).encode()
    first = put(writer, "sites", body, "x.geojson")
    assert first.status_code == 200 and first.get_json()["changed"] is True
    history = snapshot(layers_dir)
    for _ in range(9):
        again = put(writer, "sites", body, "x.geojson")
        assert again.status_code == 200 and again.get_json()["changed"] is False
        assert "nothing was changed" in again.get_json()["notes"][-1]
    assert snapshot(layers_dir) == history  # no new version, no history entry
    for i in range(15):  # many real changes cannot push the original out either
        assert put(writer, "sites", json.dumps(hf.feature_collection(hf.point_feature("a", n=i))).encode(),
                   "x.geojson").status_code == 200
    saved = store.history("sites")
    assert saved[-1].version == original and saved[-1].pinned and len(saved) == 11
    store.rollback("sites", original)
    assert store.current_version("sites") == original


def test_pin_and_unpin_from_the_cli(runner, open_test_store, monkeypatch):
    monkeypatch.setenv("GEO_SERVICE_HISTORY_KEEP", "1")
    store = open_test_store(history_keep=1)
    for i in range(3):
        store.replace("sites", hf.points_frame(i + 1))
    middle = store.history("sites")[0].version
    assert runner(["layers", "pin", "sites", middle[:8]]).exit_code == 0
    store.replace("sites", hf.points_frame(9))
    assert middle in [v.version for v in store.history("sites") if v.pinned]
    result = runner(["layers", "history", "sites"])
    assert f"{middle}  saved" in result.output and "pinned" in result.output
    assert runner(["layers", "unpin", "sites", middle[:8]]).exit_code == 0
    assert middle not in [v.version for v in store.history("sites")]  # aged out at once (keep = 1)


@pytest.mark.parametrize("make_tag", [
    lambda etag: etag,
    lambda etag: etag.replace('"', '"', 1)[:-1] + ':gzip"',  # flask-compress's gzip ETag
    lambda etag: "W/" + etag,
    lambda etag: etag[:-1] + '-gzip"',  # Apache's
])
def test_if_match_accepts_any_representations_etag(writer, make_tag):
    plain = writer.get("/api/layers/sites").headers["ETag"]
    body = json.dumps(hf.feature_collection(hf.point_feature("a"))).encode()
    response = writer.put("/api/layers/sites", data=body, query_string={"filename": "x.geojson"},
                          headers={**AUTH, "If-Match": make_tag(plain)})
    assert response.status_code == 200, response.get_json()


def test_gzip_etag_round_trip(writer):
    got = writer.get("/api/layers/sites", headers={"Accept-Encoding": "gzip"})
    body = json.dumps(hf.feature_collection(hf.point_feature("a"))).encode()
    response = writer.put("/api/layers/sites", data=body, query_string={"filename": "x.geojson"},
                          headers={**AUTH, "If-Match": got.headers["ETag"]})
    assert response.status_code == 200


def test_raw_body_with_a_form_content_type_is_read(writer, layers_dir):
    """curl -X PUT --data-binary @file sends application/x-www-form-urlencoded."""
    etag = writer.get("/api/layers/sites").headers["ETag"]
    body = json.dumps(hf.feature_collection(hf.point_feature("a"), hf.point_feature("b"))).encode()
    response = writer.put("/api/layers/sites?filename=x.geojson", data=body, headers={
        **AUTH, "If-Match": etag, "Content-Type": "application/x-www-form-urlencoded"})
    assert response.status_code == 200 and response.get_json()["features"] == 2


def test_kml_without_ids_gets_numbered_ids(writer, open_test_store):
    response = writer.put("/api/layers/villages", data=hf.kml_without_ids(), query_string={"filename": "v.kml"},
                          headers=AUTH)
    assert response.status_code == 201, response.get_json()
    assert any("numbered 1 to 2" in note for note in response.get_json()["notes"])
    assert open_test_store().read("villages")["id"].tolist() == ["1", "2"]


def test_integers_stay_integers_through_every_download_and_reupload(writer, layers_dir):
    for fmt in ("geojson", "gpkg", "csv", "shp.zip"):
        download = writer.get(f"/layers/sites.{fmt}")
        filename = {"shp.zip": "x.zip"}.get(fmt, f"x.{fmt}")
        etag = writer.get("/api/layers/sites").headers["ETag"]
        response = writer.put("/api/layers/sites", data=download.data, query_string={"filename": filename},
                              headers={**AUTH, "If-Match": etag})
        assert response.status_code == 200, (fmt, response.get_json())
        text = (layers_dir / "sites.geojson").read_text()
        assert '"population": 13551,' in text and "13551.0" not in text, fmt
        assert '"population": null' in text, fmt  # the unknown stays unknown


def test_shapefile_field_map_neutralises_formulas():
    import csv
    import io
    import zipfile

    from geo_service.io.formats import write as write_format
    frame = hf.points_frame(**{'=HYPERLINK("http://example.invalid")': ["a", "b"]})
    archive = zipfile.ZipFile(io.BytesIO(write_format(frame, "x", "shp.zip")))
    rows = list(csv.reader(io.StringIO(archive.read("x_fields.csv").decode())))
    assert ["'=HYPERLINK(\"http://example.invalid\")", "'=HYPERLINK", "no"] in rows
    assert not any(cell.startswith(("=", "+", "-", "@")) for row in rows for cell in row)

"""The proximity JSON API, the page, the CLI, and the result on the bundled layers."""

import csv
import io

import geopandas as gpd
import pytest

from geo_service.app import create_app
from geo_service.analysis.coverage import DEFAULT_BANDS_KM
from geo_service.analysis.inputs import from_layer
from geo_service.analysis.report import run_analysis
from geo_service.store import LayerStore
from tests.conftest import BUNDLED_LAYERS, HOSTILE_NAME, assert_error_document

UPLOAD = b"name,country,population,lat,lon\nDiboli,ML,,14.457159,-12.200601\nKayes,ML,194716,14.44776,-11.44393\n"


@pytest.fixture
def bundled():
    return create_app({"layers_dir": BUNDLED_LAYERS}).test_client()


def test_bundled_layers_give_a_sensible_summary():
    store = LayerStore(BUNDLED_LAYERS)
    report = run_analysis(from_layer(store, "communities"), from_layer(store, "health_centres"),
                          bands_km=DEFAULT_BANDS_KM)
    assert len(report.results) == len(store.read("communities"))
    assert sum(r["communities"] for r in report.summary) == len(report.results)
    results = report.results.set_index("name")
    assert results.loc["Kayes", "distance_m"] < 1000  # the regional hospital is in town
    # Diboli: across the Falémé from Kidira's health centre, far from Mali's nearest.
    assert results.loc["Diboli", "service_country"] == "SN" and results.loc["Diboli", "moves_closer"]
    assert report.cross_border["communities_moving_closer"] >= 1
    assert (report.underserved["distance_m"] > 20_000).all()


def test_api_with_layers(bundled):
    response = bundled.post("/api/proximity", data={"communities": "communities", "services": "health_centres"})
    assert response.status_code == 200
    doc = response.get_json()
    assert doc["bands"] == ["0–5 km", "5–10 km", "10–20 km", "over 20 km", "no service in reach"]
    assert len(doc["results"]["features"]) == 16 and doc["results"]["type"] == "FeatureCollection"
    assert doc["units"]["distance_m"].startswith("metres, geodesic")
    assert doc["histogram"]["bands_km"] == [5.0, 10.0, 20.0]
    assert bundled.get("/api/proximity?communities=communities&services=health_centres&bands=2,4").status_code == 200


def test_api_with_an_uploaded_file(bundled):
    response = bundled.post("/api/proximity", data={
        "communities_file": (io.BytesIO(UPLOAD), "villages.csv"), "services": "health_centres",
        "format": "csv"}, content_type="multipart/form-data")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert response.headers["Content-Disposition"] == 'attachment; filename="proximity.csv"'
    rows = {r["name"]: r for r in csv.DictReader(io.StringIO(response.data.decode()))}
    assert rows["Diboli"]["population"] == "unknown"  # not 0
    assert rows["Kayes"]["population"] == "194716" and rows["Diboli"]["service_country"] == "SN"


def test_api_geojson_output_reads_back(bundled, tmp_path):
    response = bundled.post("/api/proximity", data={"communities": "communities", "services": "health_centres",
                                                    "format": "geojson"})
    path = tmp_path / "r.geojson"
    path.write_bytes(response.data)
    frame = gpd.read_file(path)
    assert len(frame) == 16 and {"distance_m", "band", "service_name"} <= set(frame.columns)


@pytest.mark.parametrize("data, message", [
    ({"services": "health_centres"}, "give the communities"),
    ({"communities": "communities"}, "give the health facilities"),
    ({"communities": "nope", "services": "health_centres"}, "no layer 'nope'"),
    ({"communities": "communities", "services": "health_centres", "bands": "20,10"}, "must increase"),
    ({"communities": "communities", "services": "health_centres", "max_km": "-3"}, "max_km must be between"),
    ({"communities": "communities", "services": "health_centres", "max_km": "far"}, "max_km must be a number"),
    ({"communities": "communities", "services": "health_centres", "format": "docx"}, "format must be one of"),
    ({"communities": "communities", "services": "health_centres", "colour": "red"}, "unknown query parameter"),
    ({"communities": "communities", "services": "regions"}, "must be points|inside each"),
])
def test_api_errors_are_400_in_the_canonical_shape(bundled, data, message):
    response = bundled.post("/api/proximity", data=data)
    if response.status_code == 200:  # regions become points inside each polygon, with a note
        assert any("replaced by a point inside each" in n for n in response.get_json()["notes"])
        return
    doc = assert_error_document(response, 400)
    import re
    assert re.search(message, doc["description"])


def test_api_refuses_a_layer_and_a_file_for_the_same_input(bundled):
    response = bundled.post("/api/proximity", data={
        "communities": "communities", "communities_file": (io.BytesIO(UPLOAD), "v.csv"), "services": "health_centres"},
        content_type="multipart/form-data")
    assert "not both" in assert_error_document(response, 400)["description"]


def test_api_upload_errors_name_the_rows(bundled):
    bad = b"name,lat,lon\nA,14.4,-12.2\nB,north,-12.1\n"
    response = bundled.post("/api/proximity", data={"communities_file": (io.BytesIO(bad), "v.csv"),
                                                    "services": "health_centres"}, content_type="multipart/form-data")
    assert "v.csv: rows 3 have no numeric lat/lon" in assert_error_document(response, 400)["description"]
    swapped = b"name,lat,lon\nA,-12.2,14.45\n"
    response = bundled.post("/api/proximity", data={"communities_file": (io.BytesIO(swapped), "v.csv"),
                                                    "services": "health_centres"}, content_type="multipart/form-data")
    assert "swapped" in assert_error_document(response, 400)["description"]


def test_oversized_upload_is_413_with_the_limit(layers_dir):
    app = create_app({"layers_dir": BUNDLED_LAYERS, "max_upload_mb": 1})
    big = b"name,lat,lon\n" + b"x,14.0,-12.0\n" * 120_000
    from werkzeug.test import EnvironBuilder

    # Built by hand so its spooled body is closed: the test client leaves it open on an early 413.
    builder = EnvironBuilder(method="POST", path="/api/proximity", content_type="multipart/form-data",
                             data={"communities_file": (io.BytesIO(big), "v.csv"), "services": "health_centres"})
    environ = builder.get_environ()
    try:
        response = app.test_client().open(environ)
    finally:
        environ["wsgi.input"].close()
        builder.close()
    doc = assert_error_document(response, 413, "PayloadTooLarge")
    assert "1.5 MB, more than the 1 MB accepted (GEO_SERVICE_MAX_UPLOAD_MB)" in doc["description"]


def test_hostile_names_stay_data(client):
    doc = client.post("/api/proximity", data={"communities": "sites", "services": "sites"}).get_json()
    names = [f["properties"]["name"] for f in doc["results"]["features"]]
    assert HOSTILE_NAME in names  # returned as a JSON string; the page writes it as text


def test_page_in_both_languages(bundled):
    en = bundled.get("/proximity").get_data(as_text=True)
    fr = bundled.get("/proximity?lang=fr").get_data(as_text=True)
    assert "Distance to health facilities" in en and "Distance aux établissements de santé" in fr
    assert "<legend>Health facilities</legend>" in en and "<legend>Établissements de santé</legend>" in fr
    assert 'name="communities_file"' in en and '/assets/bundle/' in en  # proximity.js is in the page's bundle
    assert "/proximity" in bundled.get("/").get_data(as_text=True)  # linked from the map page


def test_cli_proximity_writes_every_format(runner, tmp_path):
    for suffix in ("csv", "geojson", "parquet"):
        out = tmp_path / f"r.{suffix}"
        result = runner(["proximity", "--communities", "sites", "--services", "sites", "--out", str(out),
                         "--bands", "1,50"])
        assert result.exit_code == 0, result.output
        assert "country  band" in result.output and f"wrote {out}" in result.output
        frame = gpd.read_parquet(out) if suffix == "parquet" else (
            gpd.read_file(out) if suffix == "geojson" else None)
        if frame is not None:
            assert len(frame) == 4 and (frame["distance_m"] == 0).all()  # each site is its own nearest


def test_cli_proximity_with_a_file_and_errors(runner, tmp_path):
    villages = tmp_path / "villages.csv"
    villages.write_bytes(UPLOAD)
    out = tmp_path / "r.csv"
    result = runner(["proximity", "--communities", str(villages), "--services", "sites", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "cross-border care" in result.output
    bad = runner(["proximity", "--communities", "nowhere", "--services", "sites", "--out", str(out)])
    assert bad.exit_code == 2 and "neither a layer" in bad.output
    suffix = runner(["proximity", "--communities", "sites", "--services", "sites", "--out", str(tmp_path / "r.docx")])
    assert suffix.exit_code == 2 and "--out must end in" in suffix.output


def test_the_json_answer_pages_its_rows_and_the_files_hold_them_all(bundled):
    """``offset``/``limit`` choose the JSON answer's rows (``numberMatched`` counts them all); the summaries
    cover every row whatever the page; GeoParquet and CSV hold every row; a page past the bound is refused."""
    layers = {"communities": "communities", "services": "health_centres"}
    whole = bundled.get("/api/proximity", query_string=layers).get_json()
    total = whole["results"]["numberMatched"]
    assert total == whole["results"]["numberReturned"] == len(whole["results"]["features"]) == 16
    page = bundled.get("/api/proximity", query_string={**layers, "offset": "3", "limit": "5"}).get_json()
    assert page["results"]["numberMatched"] == total and page["results"]["numberReturned"] == 5
    assert [f["properties"]["row"] for f in page["results"]["features"]] == [4, 5, 6, 7, 8]
    assert page["results"]["features"] == whole["results"]["features"][3:8]
    assert page["summary"] == whole["summary"] and page["underserved"] == whole["underserved"]
    past = bundled.get("/api/proximity", query_string={**layers, "offset": "16"}).get_json()["results"]
    assert past["features"] == [] and past["numberReturned"] == 0 and past["numberMatched"] == total

    response = bundled.get("/api/proximity", query_string={**layers, "format": "parquet"})
    assert response.status_code == 200 and response.mimetype == "application/vnd.apache.parquet"
    assert 'filename="proximity.parquet"' in response.headers["Content-Disposition"]
    frame = gpd.read_parquet(io.BytesIO(response.data))
    assert list(frame["row"]) == list(range(1, 17)) and str(frame["population"].dtype) == "Int64"
    by_row = {f["properties"]["row"]: f["properties"] for f in whole["results"]["features"]}
    assert all(by_row[r]["distance_m"] == pytest.approx(d) for r, d in zip(frame["row"], frame["distance_m"]))
    assert frame.crs.to_epsg() == 4326

    for query, message in [({"limit": "10001"}, "limit must be a whole number from 1 to 10000"),
                           ({"limit": "0"}, "limit must be"), ({"offset": "-1"}, "offset must be"),
                           ({"format": "csv", "offset": "5"}, "the csv output holds every row")]:
        doc = assert_error_document(bundled.get("/api/proximity", query_string={**layers, **query}), 400)
        assert message in doc["description"]

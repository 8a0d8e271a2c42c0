"""Downloads: every format round-trips through GDAL/pandas back to the layer; CSV is safe for Excel."""

import csv
import io
import zipfile

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pytest
import shapely

from geo_service.app import create_app
from geo_service.io.formats import FORMATS
from geo_service.io.writers import fit_dbf_text, neutralise_formula, shapefile_names
from geo_service.store import LayerStore
from tests.conftest import BUNDLED_LAYERS, HOSTILE_NAME, assert_error_document

LAYER_DIRS = {"test": None, "bundled": BUNDLED_LAYERS}


@pytest.fixture(params=["test", "bundled"])
def source(request, layers_dir):
    directory = layers_dir if request.param == "test" else BUNDLED_LAYERS
    return create_app({"layers_dir": directory}).test_client(), LayerStore(directory)


def read_back(key: str, body: bytes, layer_id: str, tmp_path) -> gpd.GeoDataFrame | pd.DataFrame:
    path = tmp_path / f"{layer_id}.{key}"
    path.write_bytes(body)
    if key == "shp.zip":
        return pyogrio.read_dataframe(f"/vsizip/{path}/{layer_id}.shp", datetime_as_string=True)
    if key == "csv":
        return pd.read_csv(path, keep_default_na=False, na_values=[""], dtype=str)
    return pyogrio.read_dataframe(path, datetime_as_string=True)


def expected_properties(frame):
    return frame.drop(columns=frame.geometry.name)


def same_value(got, want) -> bool:
    if pd.isna(want):
        return pd.isna(got) or got == ""
    if isinstance(want, (int, float, np.number)) and not isinstance(want, (bool, np.bool_)):
        return float(got) == pytest.approx(float(want))
    return str(got) == str(want)


@pytest.mark.parametrize("key", list(FORMATS))
def test_every_format_round_trips(source, key, tmp_path):
    client, store = source
    for layer_id in store.catalogue.ids:
        layer = store.read(layer_id)
        response = client.get(f"/layers/{layer_id}.{key}")
        assert response.status_code == 200, (layer_id, key)
        assert response.mimetype == FORMATS[key].media_type
        assert response.headers["Content-Disposition"] == f'attachment; filename="{layer_id}.{key}"'
        back = read_back(key, response.data, layer_id, tmp_path)
        assert len(back) == len(layer), (layer_id, key)
        want = expected_properties(layer)
        if key == "csv":
            if (layer.geom_type == "Point").all():
                geoms = gpd.points_from_xy(back["lon"].astype(float), back["lat"].astype(float))
            else:
                geoms = shapely.from_wkt(back["geometry"])
            got = back
        else:
            geoms = back.geometry.values
            got = back
        for a, b in zip(geoms, layer.geometry):
            assert a.equals_exact(b, 1e-6) or a.normalize().equals_exact(b.normalize(), 1e-6), (layer_id, key)
        names = shapefile_names(list(want.columns)) if key == "shp.zip" else {c: c for c in want.columns}
        if key == "kml":
            names["name"] = "Name"  # KML keeps the name as the placemark's <name>
            names["id"] = "id2" if "id" in want.columns else "id"  # GDAL's KML reader adds its own id
        for column in want.columns:
            for row, (g, w) in enumerate(zip(got[names[column]], want[column])):
                w = fit_dbf_text(w) if key == "shp.zip" else w
                w = neutralise_formula(w) if key == "csv" else w
                assert same_value(g, w), (layer_id, key, column, row, g, w)


def test_shapefile_zip_has_prj_cpg_and_the_field_names(client):
    archive = zipfile.ZipFile(io.BytesIO(client.get("/layers/sites.shp.zip").data))
    assert sorted(archive.namelist()) == ["sites.cpg", "sites.dbf", "sites.prj", "sites.shp", "sites.shx",
                                          "sites_fields.csv"]
    assert archive.read("sites.cpg").strip() == b"UTF-8"
    assert b"WGS" in archive.read("sites.prj")
    fields = list(csv.reader(io.StringIO(archive.read("sites_fields.csv").decode())))
    assert fields[0] == ["property", "shapefile_field", "values_cut_to_254_bytes"]


def test_shapefile_names_are_short_and_unique():
    names = shapefile_names(["location_accuracy", "location_accuracy_note", "location_a", "id"])
    assert names == {"location_accuracy": "location_a", "location_accuracy_note": "location_1",
                     "location_a": "location_2", "id": "id"}
    assert all(len(v) <= 10 for v in names.values())


def test_dbf_text_is_cut_at_a_character_boundary():
    assert fit_dbf_text("short") == "short"
    cut = fit_dbf_text("é" * 200)
    assert len(cut.encode("utf-8")) <= 254 and cut.endswith("…") and "\ufffd" not in cut


@pytest.mark.parametrize("value, expected", [
    ("=HYPERLINK(\"x\")", "'=HYPERLINK(\"x\")"), ("+1", "'+1"), ("-2+3", "'-2+3"), ("@SUM(A1)", "'@SUM(A1)"),
    ("\tx", "'\tx"), ("\rx", "'\rx"), ("Kidira", "Kidira"), (-12.5, -12.5), (None, None),
])
def test_formula_neutralisation(value, expected):
    assert neutralise_formula(value) == expected


def test_csv_is_safe_for_spreadsheets_and_excel(client, layers_dir):
    text = client.get("/layers/sites.csv").data.decode("utf-8")
    assert not text.startswith("\ufeff")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert rows[3]["note"] == "'=HYPERLINK(\"http://example.invalid\")"
    assert rows[3]["name"] == HOSTILE_NAME
    assert rows[0]["lon"] == "-12.21659" and rows[0]["lat"] == "14.45668"  # numbers are not touched
    excel = client.get("/layers/sites.csv?excel=true").data
    assert excel.startswith(b"\xef\xbb\xbf") and excel.decode("utf-8-sig") == text


def test_csv_header_injection_is_neutralised(tmp_path):
    from tests.conftest import feature, point, write_layers

    directory = write_layers(tmp_path / "l", {"sites": ("Point", [feature("a", point(-12, 14), **{"=cmd": "x"})])})
    header = create_app({"layers_dir": directory}).test_client().get("/layers/sites.csv").data.decode().splitlines()[0]
    assert "'=cmd" in header.split(",")


def test_csv_of_lines_uses_wkt(client):
    rows = list(csv.DictReader(io.StringIO(client.get("/layers/roads.csv").data.decode())))
    assert rows[0]["geometry"].startswith("LINESTRING (-12.2 14.45")


def test_bbox_filter_on_downloads(client, tmp_path):
    body = client.get("/layers/sites.gpkg?bbox=-12.3,14.4,-12.1,14.5").data
    back = read_back("gpkg", body, "sites", tmp_path)
    assert sorted(back["id"]) == ["diboli", "kidira"]
    empty = read_back("shp.zip", client.get("/layers/sites.shp.zip?bbox=0,0,1,1").data, "sites", tmp_path)
    assert len(empty) == 0


@pytest.mark.parametrize("url, status", [
    ("/layers/sites.xlsx", 404), ("/layers/nope.csv", 404), ("/layers/sites.csv?bbox=1,2,3", 400),
    ("/layers/sites.csv?colour=red", 400), ("/layers/sites.csv?excel=maybe", 400),
    ("/layers/sites.csv?bbox=1,2,3,4&bbox=1,2,3,4", 400), ("/layers/Sites.csv", 404), ("/layers/..%2Fx.csv", 404),
])
def test_download_errors(client, url, status):
    response = client.get(url, headers={"Accept": "application/json"})
    assert_error_document(response, status)


def test_download_etag_and_gzip(client):
    first = client.get("/layers/sites.kml")
    assert client.get("/layers/sites.kml", headers={"If-None-Match": first.headers["ETag"]}).status_code == 304
    bundled = create_app({"layers_dir": BUNDLED_LAYERS}).test_client()  # large enough to be compressed
    zipped = bundled.get("/layers/border.geojson", headers={"Accept-Encoding": "gzip"})
    assert zipped.headers.get("Content-Encoding") == "gzip"
    plain = bundled.get("/layers/border.geojson")
    assert "Content-Encoding" not in plain.headers
    import gzip
    assert gzip.decompress(zipped.data) == plain.data


def test_cli_export_writes_the_same_file_as_the_download(runner, client, tmp_path):
    out = tmp_path / "sites.csv"
    result = runner(["layers", "export", "sites", "--format", "csv", "--out", str(out), "--bbox", "-12.3,14.4,-12.1,14.5"])
    assert result.exit_code == 0 and "2 features of sites" in result.output
    assert out.read_bytes() == client.get("/layers/sites.csv?bbox=-12.3,14.4,-12.1,14.5").data
    bad = runner(["layers", "export", "sites", "--format", "xlsx", "--out", str(out)])
    assert bad.exit_code == 2 and "'xlsx' is not one of" in bad.output


def test_geojson_writer_gives_what_geopandas_gives_and_keeps_types(tmp_path):
    """The service's own GeoJSON writer (fast, vectorised) against geopandas' on every bundled layer, and on
    the values geopandas gets wrong: whole-number ids stay numbers, non-finite numbers become null, dates ISO."""
    import json

    from shapely.geometry import Point

    from geo_service.io.ogr import read_frame
    from geo_service.io.writers import geojson_bytes

    for path in sorted(BUNDLED_LAYERS.glob("*.geojson")):
        frame = read_frame(path)
        for precision in (None, 6):
            ours = json.loads(geojson_bytes(frame, precision))
            shaped = frame if precision is None else frame.set_geometry(
                shapely.transform(frame.geometry.values, lambda xy: np.round(xy, precision)))
            theirs = json.loads(shaped.set_index("id").to_json(na="null"))
            assert ours == theirs, path.name
    odd = gpd.GeoDataFrame({"id": [7, 8], "n": pd.array([1, None], dtype="Int64"), "f": [np.inf, 0.5],
                            "d": pd.to_datetime(["2025-02-20", None]), "s": pd.array(["Kédougou", None], dtype="string")},
                           geometry=[Point(-12.2, 14.45), None], crs="EPSG:4326")
    doc = json.loads(geojson_bytes(odd))
    assert [f["id"] for f in doc["features"]] == [7, 8]
    assert doc["features"][0]["properties"] == {"n": 1, "f": None, "d": "2025-02-20T00:00:00", "s": "Kédougou"}
    assert doc["features"][1]["properties"] == {"n": None, "f": 0.5, "d": None, "s": None}
    assert doc["features"][1]["geometry"] is None
    assert json.loads(geojson_bytes(odd.iloc[:0])) == {"type": "FeatureCollection", "features": []}
    for empty in (pd.array([7, None], dtype="Int64"), ["a", None], [7.0, np.nan]):  # a GeoJSON id is never null:
        doc = json.loads(geojson_bytes(odd.assign(id=empty)))  # the ids stay a property, the empty one null
        assert ["id" in f for f in doc["features"]] == [False, False]
        assert [f["properties"]["id"] for f in doc["features"]] == [empty[0], None]

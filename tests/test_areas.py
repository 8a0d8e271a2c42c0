"""Results by administrative area: names and p-codes on every row, summaries by any level (small files made here)."""

import io
import json

import geopandas as gpd
import pandas as pd
import pytest
from openpyxl import load_workbook
from shapely.geometry import box

from geo_service.analysis.areas import OUTSIDE, assign, choose_level, read_areas
from geo_service.analysis.inputs import AnalysisInput
from geo_service.analysis.nearest import ProximityError
from geo_service.analysis.report import report_document, run_analysis
from geo_service.app import create_app
from tests.conftest import BUNDLED_LAYERS

# Two regions of Mali in the COD-AB manner, each of two cercles, side by side along 14° N.
COD = gpd.GeoDataFrame({
    "ADM0_FR": ["Mali"] * 4, "ADM0_PCODE": ["ML"] * 4,
    "ADM1_FR": ["Nord", "Nord", "Sud", "Sud"], "ADM1_PCODE": ["ML01", "ML01", "ML02", "ML02"],
    "ADM2_FR": ["Nord-Ouest", "Nord-Est", "Sud-Ouest", "Sud-Est"],
    "ADM2_PCODE": ["ML0101", "ML0102", "ML0201", "ML0202"], "Shape_Area": [1.0, 1.0, 1.0, 1.0],
}, geometry=[box(-12, 14, -11.5, 14.5), box(-11.5, 14, -11, 14.5), box(-12, 13.5, -11.5, 14),
             box(-11.5, 13.5, -11, 14)], crs="EPSG:4326")


def points(rows, **columns):
    return gpd.GeoDataFrame(columns, geometry=gpd.points_from_xy(*zip(*rows)), crs="EPSG:4326")


VILLAGES = points([(-11.8, 14.2), (-11.2, 14.3), (-11.7, 13.7), (-11.6, 13.6), (-10.0, 13.0)],
                  name=["A", "B", "C", "D", "Dehors"], country=["ML"] * 5, population=[100, 200, 300, None, 50])


def test_cod_ab_levels_are_read_from_the_column_names():
    areas = read_areas(COD, "cod.geojson")
    assert areas.levels == {"adm0": ("adm0_pcode", "adm0_fr"), "adm1": ("adm1_pcode", "adm1_fr"),
                            "adm2": ("adm2_pcode", "adm2_fr")}
    assert "Shape_Area" not in areas.frame.columns and choose_level(areas, None) == "adm2"
    with pytest.raises(ProximityError, match="no level 'adm3'; the areas give adm0, adm1, adm2"):
        choose_level(areas, "ADM3")


def test_each_point_gets_the_names_and_pcodes_of_its_area_and_none_outside():
    found, overlapping = assign(VILLAGES.geometry, read_areas(COD, "cod"))
    assert found["adm2_pcode"].tolist()[:4] == ["ML0101", "ML0102", "ML0201", "ML0201"]
    assert found["adm1_fr"].tolist()[:4] == ["Nord", "Nord", "Sud", "Sud"]
    assert found.iloc[4].isna().all() and overlapping == 0


def test_where_areas_overlap_the_smallest_is_taken_and_counted():
    nested = pd.concat([COD.iloc[:1], gpd.GeoDataFrame(
        {"ADM1_PCODE": ["ML01"], "ADM2_PCODE": ["ML0199"], "ADM2_FR": ["Petit"], "ADM1_FR": ["Nord"]},
        geometry=[box(-11.85, 14.15, -11.75, 14.25)], crs="EPSG:4326")], ignore_index=True)
    found, overlapping = assign(VILLAGES.geometry, read_areas(nested, "nested"))
    assert found["adm2_pcode"].iloc[0] == "ML0199" and overlapping == 1


@pytest.mark.parametrize(("frame", "message"), [
    (VILLAGES, "administrative areas must be polygons"),
    (COD[["geometry"]], "need ADMn_PCODE columns"),
])
def test_areas_that_cannot_be_used_are_refused(frame, message):
    with pytest.raises(ProximityError, match=message):
        read_areas(frame, "f")


def test_the_summary_groups_by_the_chosen_level_with_populations_checked_by_hand():
    services = AnalysisInput(points([(-11.8, 14.21)], name=["CS"], country=["ML"]), "s")
    report = run_analysis(AnalysisInput(VILLAGES, "v"), services, bands_km=(5, 100),
                          areas=read_areas(COD, "cod"), admin_level="adm1")
    by_area = report_document(report, include_features=False)["areas"]
    assert by_area["level"] == "adm1" and by_area["levels"] == ["adm0", "adm1", "adm2"]
    rows = {(r["code"], r["band"]): r for r in by_area["summary"] if r["communities"]}
    # A (100) is 1 km from the centre; B (200) and C (300), D (unknown) within 100 km; Dehors beyond.
    assert rows[("ML01", "0–5 km")]["population"] == 100
    assert rows[("ML01", "5–100 km")]["population"] == 200
    assert rows[("ML02", "5–100 km")] == {"code": "ML02", "name": "Sud", "band": "5–100 km", "communities": 2,
                                           "population": 300, "unknown_population": 1}
    assert rows[(None, "over 100 km")]["name"] == OUTSIDE and rows[(None, "over 100 km")]["population"] == 50
    assert report.results["admin_adm2_fr"].tolist()[:4] == ["Nord-Ouest", "Nord-Est", "Sud-Ouest", "Sud-Ouest"]
    assert any("1 communities fall in none of the areas" in str(n) for n in report.notes)


@pytest.fixture(scope="module")
def client():
    return create_app({"layers_dir": BUNDLED_LAYERS}).test_client()


def test_the_api_takes_uploaded_cod_ab_boundaries_and_the_workbook_has_the_sheet(client):
    data = {"communities_file": (io.BytesIO(VILLAGES.to_json().encode()), "villages.geojson"),
            "services": "health_centres", "admin_file": (io.BytesIO(COD.to_json().encode()), "cod.geojson"),
            "admin_level": "adm1", "allow_outside": "true"}
    answer = client.post("/api/proximity", data=data, content_type="multipart/form-data")
    assert answer.status_code == 200, answer.get_data(as_text=True)
    document = answer.get_json()
    first = document["results"]["features"][0]["properties"]
    assert first["admin_adm2_pcode"] == "ML0101" and first["admin_adm1_fr"] == "Nord"
    assert document["areas"]["level"] == "adm1"
    data.update(format="xlsx", lang="fr", communities_file=(io.BytesIO(VILLAGES.to_json().encode()), "v.geojson"),
                admin_file=(io.BytesIO(COD.to_json().encode()), "cod.geojson"))
    workbook = load_workbook(io.BytesIO(client.post("/api/proximity", data=data,
                                                    content_type="multipart/form-data").data))
    assert "Par zone (adm1)" in workbook.sheetnames


def test_the_bundled_regions_put_kidira_in_tambacounda(client):
    document = client.get("/api/proximity?communities=communities&services=health_centres&admin=regions").get_json()
    kidira = next(f["properties"] for f in document["results"]["features"] if f["properties"]["name"] == "Kidira")
    assert kidira["admin_area_code"] == "SN-TC" and kidira["admin_area_name"] == "Tambacounda Region"
    assert client.get("/api/proximity?communities=communities&services=health_centres&admin=border").status_code == 400
    assert "give admin too" in client.get("/api/proximity?communities=communities&services=health_centres"
                                          "&admin_level=adm1").get_data(as_text=True)


def test_the_ogc_process_summarises_by_area(client):
    inputs = {"communities": "communities", "services": "health_centres", "admin": json.loads(COD.to_json()),
              "admin_level": "adm1"}
    answer = client.post("/ogc/processes/proximity/execution", json={"inputs": inputs})
    assert answer.status_code == 200, answer.get_data(as_text=True)
    assert answer.get_json()["areas"]["level"] == "adm1"

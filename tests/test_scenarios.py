"""Seasons side by side: today's straight lines, the dry season (every crossing), the wet season (all-year
crossings only), through the analysis, the JSON API, the CLI and the site suggestion."""

import io
import json
import math

import geopandas as gpd
import pandas as pd
import pytest
import shapely
from click.testing import CliRunner
from pyproj import Geod

from geo_service.analysis.inputs import AnalysisInput
from geo_service.analysis.nearest import ProximityError
from geo_service.analysis.report import report_document, run_analysis
from geo_service.analysis.scenarios import (
    BarrierSetup,
    barrier_lines,
    read_crossings,
    walk_band,
    walk_minutes,
    within_hour,
)
from geo_service.analysis.sites import coverage_km, sites_document
from geo_service.app import create_app
from geo_service.cli import main as cli_main
from geo_service.store import LayerStore
from tests.conftest import BUNDLED_LAYERS

GEOD = Geod(ellps="WGS84")
# A river along 12.0° W between 13.5° and 14.5° N; Mali to the east, Senegal to the west.
RIVER = gpd.GeoDataFrame({"id": ["river"]}, geometry=[shapely.LineString([(-12.0, 13.5), (-12.0, 14.5)])],
                         crs="EPSG:4326")
WEST, EAST = (-12.05, 14.0), (-11.95, 14.0)  # a village on each bank, 11 km apart


def metres(a, b):
    return GEOD.inv(a[0], a[1], b[0], b[1])[2]


def points(rows, **columns):
    return gpd.GeoDataFrame(columns, geometry=gpd.points_from_xy(*zip(*rows)), crs="EPSG:4326")


def ferry_and_bridge():
    """A ferry of unknown season at 14.02° N (one point a bank) and an all-year bridge far to the north."""
    return points([(-12.002, 14.02), (-11.998, 14.02), (-12.002, 14.45), (-11.998, 14.45)],
                  id=["f_sn", "f_ml", "b_sn", "b_ml"], crossing=["ferry", "ferry", "bridge", "bridge"],
                  name=["Ferry, Senegal bank", "Ferry, Mali bank", "Bridge, Senegal bank", "Bridge, Mali bank"],
                  season=["unknown", "unknown", "all_year", "all_year"])


def setup(crossings=None, wet_unknown_open=False, tolerance_m=0.0):
    frame = ferry_and_bridge() if crossings is None else crossings
    return BarrierSetup(barrier_lines(RIVER, "river"), read_crossings(frame, "crossings"), "river", "crossings",
                        tolerance_m, wet_unknown_open)


def analyse(barriers, bands=(5, 10, 20)):
    communities = AnalysisInput(points([WEST], name=["Ouest"], country=["SN"], population=[1200]), "c")
    services = AnalysisInput(points([EAST], name=["Centre Est"], country=["ML"]), "s")
    return run_analysis(communities, services, bands_km=bands, barriers=barriers)


def test_crossings_group_their_banks_and_read_the_season():
    crossings = read_crossings(ferry_and_bridge(), "crossings")
    assert [(c.id, c.name, c.season, len(c.points)) for c in crossings] == [
        ("ferry", "Ferry", "unknown", 2), ("bridge", "Bridge", "all_year", 2)]
    assert crossings[0].length_m == pytest.approx(metres((-12.002, 14.02), (-11.998, 14.02)))


@pytest.mark.parametrize(("change", "message"), [
    ({"crossing": ["x", "x", "x", "y"]}, "has 3 points"),
    ({"season": ["unknown", "all_year", "all_year", "all_year"]}, "different seasons"),
    ({"season": ["sometimes", "sometimes", "all_year", "all_year"]}, "is not one of all_year, dry_only, unknown"),
])
def test_crossings_that_cannot_be_read_are_refused_with_the_reason(change, message):
    frame = ferry_and_bridge()
    for column, values in change.items():
        frame[column] = values
    with pytest.raises(ProximityError, match=message):
        read_crossings(frame, "crossings")


def test_barriers_are_lines_and_features_are_chosen_by_id():
    with pytest.raises(ProximityError, match="barriers must be lines"):
        barrier_lines(points([WEST], id=["p"]), "pts")
    with pytest.raises(ProximityError, match="no feature with id nope"):
        barrier_lines(RIVER, "river", ("nope",))
    assert barrier_lines(RIVER, "river", ("river",)).equals(RIVER.geometry.iloc[0])


def test_dry_season_crosses_by_the_ferry_wet_season_goes_round_by_the_bridge():
    report = analyse(setup())
    row = report.results.iloc[0]
    ferry = metres(WEST, (-12.002, 14.02)) + metres((-12.002, 14.02), (-11.998, 14.02)) + \
        metres((-11.998, 14.02), EAST)
    bridge = metres(WEST, (-12.002, 14.45)) + metres((-12.002, 14.45), (-11.998, 14.45)) + \
        metres((-11.998, 14.45), EAST)
    assert row["distance_m"] == pytest.approx(metres(WEST, EAST), abs=0.1)  # today's straight line
    assert row["dry_distance_m"] == pytest.approx(ferry, abs=0.1) and row["dry_crossing"] == "Ferry"
    assert row["wet_distance_m"] == pytest.approx(bridge, abs=0.1) and row["wet_crossing"] == "Bridge"
    assert (row["band"], row["dry_band"], row["wet_band"]) == ("10–20 km", "10–20 km", "over 20 km")
    document = report_document(report, include_features=False)["scenarios"]
    assert document["assumptions"]["crossings_open"] == {"dry": ["ferry", "bridge"], "wet": ["bridge"]}
    assert document["dry"]["changed_from_none"] == 0  # the same centre, in the same band: the ferry is on the way
    assert document["wet"]["changed_from_none"] == 1 and document["wet"]["changed_from_dry"] == 1
    changed = document["wet"]["changed_rows_from_dry"][0]
    assert changed["name"] == "Ouest" and changed["population"] == 1200
    assert changed["dry"]["band"] == "10–20 km" and changed["wet"]["band"] == "over 20 km"
    assert changed["wet"]["crossing"] == "Bridge"


def test_a_wet_season_with_no_open_crossing_leaves_the_village_with_no_service_in_reach():
    ferry_only = ferry_and_bridge().iloc[:2]
    report = analyse(setup(ferry_only))
    row = report.results.iloc[0]
    assert pd.isna(row["wet_service_name"]) and math.isnan(row["wet_distance_m"])
    assert row["wet_band"] == "no service in reach" and pd.isna(row["wet_walk_min"])
    document = report_document(report, include_features=False)["scenarios"]
    assert document["wet"]["unreachable"] == 1
    counted = [row for row in document["wet"]["summary"] if row["communities"]]
    assert counted == [{"country": "SN", "band": "no service in reach", "communities": 1, "population": 1200,
                        "unknown_population": 0}]


def test_a_ferry_of_unknown_season_can_be_taken_as_open_in_the_wet_season():
    report = analyse(setup(wet_unknown_open=True))
    row = report.results.iloc[0]
    assert row["wet_distance_m"] == row["dry_distance_m"] and row["wet_crossing"] == "Ferry"


def test_walking_time_is_distance_times_detour_over_speed():
    assert walk_minutes([5000.0, float("nan")], kmh=5, detour=1.2).tolist() == [72, pd.NA]
    assert walk_minutes([4000.0], kmh=4, detour=1.0).tolist() == [60]
    frame = pd.DataFrame({"country": ["ML", "ML", "SN"], "population": [100, None, 50],
                          "walk_min": pd.array([60, 30, 61], dtype="Int64")})
    assert within_hour(frame) == [{"country": "ML", "communities": 2, "population": 100, "unknown_population": 1},
                                  {"country": "SN", "communities": 0, "population": 0, "unknown_population": 0}]


# --- through the service ------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def client():
    return create_app({"layers_dir": BUNDLED_LAYERS}).test_client()


def test_the_api_answers_the_three_scenarios_on_the_bundled_layers(client):
    answer = client.get("/api/proximity?communities=communities&services=health_centres&barriers=rivers:faleme")
    assert answer.status_code == 200, answer.get_data(as_text=True)
    document = answer.get_json()
    assert set(document["scenarios"]) == {"assumptions", "none", "dry", "wet"}
    assert document["scenarios"]["assumptions"]["crossings"] == "crossings"
    diboli = next(f["properties"] for f in document["results"]["features"] if f["properties"]["name"] == "Diboli")
    # Kidira's centre is 0.9 km away in a straight line, across the Falémé: the bridge makes it about 4.9 km.
    assert diboli["distance_m"] < 1000 and diboli["dry_crossing"] == "Kidira–Diboli bridge"
    assert 4000 < diboli["dry_distance_m"] < 6000 and diboli["dry_service_name"] == "Kidira Centre de Santé"
    assert diboli["walk_min"] == round(diboli["distance_m"] / 1000 * 1.2 / 5 * 60)
    assert any("unknown season (naye_nahe)" in note for note in document["notes"])


@pytest.mark.parametrize(("query", "message"), [
    ("barriers=regions", "barriers must be lines"),
    ("barriers=rivers:nope", "no feature with id nope"),
    ("crossings=crossings", "give barriers too"),
    ("barriers=rivers&wet_unknown=maybe", "wet_unknown must be open or closed"),
    ("barriers=rivers&crossing_tolerance_m=-1", "crossing_tolerance_m must be a number from 0 to 10000"),
    ("walk_detour=0.5", "walk_detour must be a number from 1 to 3"),
    ("barriers=rivers&crossings=border", "crossings must be points"),
])
def test_bad_barrier_requests_get_a_clear_400(client, query, message):
    answer = client.get(f"/api/proximity?communities=communities&services=health_centres&{query}")
    assert answer.status_code == 400, answer.get_data(as_text=True)
    assert message in answer.get_data(as_text=True)


def test_uploaded_barriers_and_crossings_work_like_layers(client):
    store = LayerStore(BUNDLED_LAYERS)
    faleme = store.read("rivers").query("id == 'faleme'")
    body = {"communities": "communities", "services": "health_centres",
            "barriers_file": (io.BytesIO(faleme.to_json().encode()), "faleme.geojson"),
            "crossings_file": (io.BytesIO(store.read("crossings").to_json().encode()), "crossings.geojson")}
    uploaded = client.post("/api/proximity", data=body, content_type="multipart/form-data").get_json()
    by_layer = client.get("/api/proximity?communities=communities&services=health_centres"
                          "&barriers=rivers:faleme").get_json()
    rows = [[f["properties"][c] for c in ("dry_distance_m", "wet_distance_m", "dry_crossing")]
            for f in uploaded["results"]["features"]]
    assert rows == [[f["properties"][c] for c in ("dry_distance_m", "wet_distance_m", "dry_crossing")]
                    for f in by_layer["results"]["features"]]


def test_a_saved_analysis_with_barriers_is_measured_again_the_same(client):
    query = "communities=communities&services=health_centres&barriers=rivers:faleme&wet_unknown=open"
    saved = client.post(f"/api/proximity?{query}&save=true").get_json()
    link = next(link["href"] for link in saved["links"] if link["rel"] == "self")
    again = client.get(link[link.index("/api/"):]).get_json()
    assert again["scenarios"]["wet"]["summary"] == saved["scenarios"]["wet"]["summary"]
    assert again["scenarios"]["assumptions"]["wet_unknown_open"] is True
    assert [f["properties"]["wet_distance_m"] for f in again["results"]["features"]] == \
        [f["properties"]["wet_distance_m"] for f in saved["results"]["features"]]


def test_the_cli_writes_each_scenarios_columns(tmp_path):
    out = tmp_path / "result.csv"
    result = CliRunner().invoke(cli_main, ["--layers-dir", str(BUNDLED_LAYERS), "proximity", "--communities",
                                           "communities", "--services", "health_centres", "--barriers",
                                           "rivers:faleme", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "wet season (open: kidira_diboli, moussala)" in result.output
    frame = pd.read_csv(out)
    assert {"walk_min", "dry_distance_m", "dry_crossing", "wet_service_name", "wet_band"} <= set(frame.columns)
    assert frame.loc[frame["name"] == "Diboli", "dry_crossing"].item() == "Kidira–Diboli bridge"


# --- site suggestion under a scenario -----------------------------------------------------------------------

def test_walking_time_coverage_is_converted_to_km():
    assert coverage_km(None, 60, 5, 1.2) == pytest.approx(5 / 1.2)
    assert coverage_km(None, None, 5, 1.2) == 5.0
    with pytest.raises(ProximityError, match="not both"):
        coverage_km(3, 60, 5, 1.2)


def test_a_site_across_the_river_covers_nobody_without_a_crossing(tmp_path):
    """Two villages on the west bank, one candidate on the east bank 2 km from each: straight lines say it covers
    both; with the river and no crossing it covers none, and the suggestion takes a west-bank site instead."""
    villages = [(-12.01, 14.0), (-12.01, 14.01)]
    candidates = [(-11.992, 14.005), (-12.02, 14.005)]
    frames = {"v": points(villages, id=["a", "b"], name=["A", "B"], population=[100, 200]),
              "s": points([(-12.5, 14.9)], id=["far"], name=["Far"]),
              "c": points(candidates, id=["east", "west"], name=["East", "West"])}
    store = _store_of(tmp_path, frames)
    lines = BarrierSetup(barrier_lines(RIVER, "river"), [], "river", None, 0.0)
    straight = sites_document(store, "v", "s", "c", 1, 2.5)
    assert straight["sites"][0]["id"] == "east" and straight["newly_covered"] == 300
    wet = sites_document(store, "v", "s", "c", 1, 2.5, lines, "wet")
    assert wet["sites"][0]["id"] == "west" and wet["newly_covered"] == 300 and wet["scenario"] == "wet"
    with pytest.raises(ProximityError, match="need barriers"):
        sites_document(store, "v", "s", "c", 1, 2.5, None, "dry")


def _store_of(tmp_path, frames):
    catalogue = {"catalogue_version": 1, "layers": []}
    for layer_id, frame in frames.items():
        (tmp_path / f"{layer_id}.geojson").write_text(frame.to_json(), encoding="utf-8")
        catalogue["layers"].append({
            "id": layer_id, "title": {"en": layer_id, "fr": layer_id}, "description": {"en": "t", "fr": "t"},
            "geometry_type": "Point", "licence": "CC0-1.0", "attribution": "test",
            "sources": [{"name": "hand-made test data", "citation": "tests/test_scenarios.py", "licence": "CC0-1.0"}],
            "method": "by hand",
            "updated": "2026-11-23", "style": {"color": "#000000"}})
    (tmp_path / "catalogue.json").write_text(json.dumps(catalogue), encoding="utf-8")
    return LayerStore(tmp_path)


def test_the_ogc_process_takes_barriers_as_the_api_does(client):
    inputs = {"communities": "communities", "services": "health_centres", "barriers": "rivers:faleme",
              "wet_unknown": "open"}
    answer = client.post("/ogc/processes/proximity/execution", json={"inputs": inputs})
    assert answer.status_code == 200, answer.get_data(as_text=True)
    api = client.get("/api/proximity?communities=communities&services=health_centres&barriers=rivers:faleme"
                     "&wet_unknown=open").get_json()
    assert answer.get_json()["scenarios"] == api["scenarios"]


@pytest.mark.parametrize("lang", ["en", "fr"])
def test_the_workbook_and_the_printed_page_set_the_seasons_side_by_side(client, lang):
    from openpyxl import load_workbook
    from pypdf import PdfReader

    query = "communities=communities&services=health_centres&barriers=rivers:faleme&lang=" + lang
    workbook = load_workbook(io.BytesIO(client.get(f"/api/proximity?{query}&format=xlsx").data))
    sheet = "Saisons" if lang == "fr" else "Seasons"
    assert sheet in workbook.sheetnames
    rows = list(workbook[sheet].values)
    today, dry, wet = ("aujourd'hui (à vol d'oiseau)", "saison sèche", "saison des pluies") if lang == "fr" \
        else ("today (straight lines)", "dry season", "wet season")
    assert rows[0][2:] == (today, dry, wet)
    counted = [r for r in rows[1:] if r[1]]  # the band rows: every community counted once per scenario
    assert sum(r[2] for r in counted) == sum(r[3] for r in counted) == sum(r[4] for r in counted) == 16
    header = list(workbook[workbook.sheetnames[0]].values)[0]
    assert ("saison sèche : franchissement utilisé" if lang == "fr" else "dry season: crossing used") in header
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(
        client.get(f"/api/proximity?{query}&format=pdf").data)).pages)
    assert (dry in text) and (wet in text)


def test_the_walking_band_is_within_or_over_an_hour_or_none():
    assert walk_band(pd.array([0, 60, 61, None], dtype="Int64")).tolist() == [
        "within one hour's walk", "within one hour's walk", "over one hour's walk", "no service in reach"]
    report = analyse(setup(ferry_and_bridge().iloc[:2]))
    row = report.results.iloc[0]
    assert (row["walk_band"], row["dry_walk_band"], row["wet_walk_band"]) == (
        "over one hour's walk", "over one hour's walk", "no service in reach")


def test_an_uploaded_river_may_reach_past_the_services_area(client):
    """A barrier is a river, and rivers run on: only the communities and services are held to the area."""
    long_river = gpd.GeoDataFrame({"id": ["long"]}, geometry=[shapely.LineString(
        [(-12.0, 13.5), (-12.0, 14.5), (-17.4, 14.7)])], crs="EPSG:4326")
    data = {"communities": "communities", "services": "health_centres",
            "barriers_file": (io.BytesIO(long_river.to_json().encode()), "long.geojson")}
    answer = client.post("/api/proximity", data=data, content_type="multipart/form-data")
    assert answer.status_code == 200, answer.get_data(as_text=True)
    assert answer.get_json()["scenarios"]["assumptions"]["barriers"] == "long.geojson"

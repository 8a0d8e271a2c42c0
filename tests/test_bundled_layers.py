"""Checks on the bundled data itself: places on the right side, lengths, provenance."""

import csv

import pandas as pd
import pytest
from pyproj import Geod
from shapely.geometry import Point, Polygon

from geo_service.store import LayerStore
from geo_service.io.validation import LOCATION_ACCURACY, validate_layers_dir
from tests.conftest import BUNDLED_LAYERS, REPO

GEOD = Geod(ellps="WGS84")
# Published tripoints (OpenStreetMap-derived), lon/lat.
TRIPOINT_MR = (-12.24028, 14.76471)
TRIPOINT_GN = (-11.37683, 12.41238)


@pytest.fixture(scope="module")
def store():
    return LayerStore(BUNDLED_LAYERS)


@pytest.fixture(scope="module")
def border(store):
    frame = store.read("border")
    assert len(frame) == 1
    return frame.geometry.iloc[0]


def metres(a, b):
    return GEOD.inv(a[0], a[1], b[0], b[1])[2]


def distance_to_line_m(point: Point, line) -> float:
    """Geodesic distance to the line's nearest point (nearest point found in degrees: fine at 1 km)."""
    nearest = line.interpolate(line.project(point))
    return metres((point.x, point.y), (nearest.x, nearest.y))


def mali_side(line) -> Polygon:
    """The area east of the border line, closed far to the east: the Malian side near the border."""
    coords = list(line.coords)
    (nx, ny), (sx, sy) = coords[0], coords[-1]
    polygon = Polygon(coords + [(sx + 3, sy), (nx + 3, ny)])
    assert polygon.is_valid
    return polygon


def named(store, layer_id, name):
    frame = store.read(layer_id)
    rows = frame[frame["name"] == name]
    assert len(rows) == 1, f"{name} not found once in {layer_id}"
    return rows.iloc[0]


def test_the_folder_validates_as_rfc7946_with_provenance():
    assert validate_layers_dir(BUNDLED_LAYERS) == []


def test_every_feature_names_its_source_and_accuracy(store):
    for layer_id in store.catalogue.ids:
        frame = store.read(layer_id)
        assert len(frame) > 0, layer_id
        assert frame["source"].str.strip().str.len().gt(0).all(), layer_id
        assert frame["location_accuracy"].isin(LOCATION_ACCURACY).all(), layer_id


def test_border_runs_from_tripoint_to_tripoint(border):
    assert metres(border.coords[0], TRIPOINT_MR) < 100
    assert metres(border.coords[-1], TRIPOINT_GN) < 100


def test_border_length_is_measured_and_stored(store, border):
    measured_km = GEOD.geometry_length(border) / 1000
    stored = store.read("border")["length_km"].iloc[0]
    assert stored == pytest.approx(measured_km, abs=0.05)
    # OSM-derived length 506.6 km; the Factbook's 489 km is close, the press's 700 km is not.
    assert 489 < measured_km < 520


def test_diboli_patrol_base_is_in_mali_within_1km_of_the_border(store, border):
    base = named(store, "patrol_bases", "Diboli joint patrol base").geometry
    assert distance_to_line_m(base, border) < 1000
    assert mali_side(border).contains(base)
    assert named(store, "patrol_bases", "Diboli joint patrol base")["launched"] is not None


def test_kidira_is_on_the_senegalese_side(store, border):
    kidira = named(store, "communities", "Kidira").geometry
    assert not mali_side(border).contains(kidira)
    assert distance_to_line_m(kidira, border) < 5000


def test_kayes_region_contains_kayes_town(store):
    regions = store.read("regions")
    kayes_region = regions[regions["id"] == "ml_kayes"].geometry.iloc[0]
    kayes_town = named(store, "communities", "Kayes").geometry
    assert kayes_region.contains(kayes_town)
    assert not regions[regions["id"] == "sn_tambacounda"].geometry.iloc[0].contains(kayes_town)


def test_nioro_is_labelled_as_the_cercle(store):
    nioro = store.read("regions").set_index("id").loc["ml_nioro_cercle"]
    assert "cercle" in nioro["name"] and "admin-2" in nioro["admin_level"]


def test_faleme_runs_from_guinea_to_the_senegal_confluence(store, border):
    rivers = store.read("rivers").set_index("id")
    faleme = rivers.loc["faleme"]
    length_km = GEOD.geometry_length(faleme.geometry) / 1000
    assert faleme["length_km"] == pytest.approx(length_km, abs=0.05)
    assert 500 < length_km < 625  # a lower bound of the published 625-675 km
    assert metres(faleme.geometry.coords[-1], (-12.245, 14.764)) < 1000  # ends at the confluence
    assert faleme.geometry.coords[0][1] < 12.41  # rises south of the Guinea tripoint
    # It forms much of the border: most of the border lies within 2 km of the river.
    near = faleme.geometry.buffer(0.02)
    assert border.intersection(near).length / border.length > 0.6


def test_health_centres_are_the_gazetteer_facilities(store):
    with open(REPO / "sources" / "gazetteer.csv", encoding="utf-8") as handle:
        facilities = {r["name"]: r for r in csv.DictReader(handle) if r["kind"] == "health_facility"}
    frame = store.read("health_centres")
    assert set(frame["name"]) == set(facilities)
    for row in frame.itertuples():
        source = facilities[row.name]
        assert (row.geometry.x, row.geometry.y) == pytest.approx((float(source["lon"]), float(source["lat"])), abs=1e-7)
        assert row.source == source["source"] and row.country == source["country"]
    gps = frame[frame["coordinate_method"] == "GPS"]
    assert (gps["location_accuracy"] == "surveyed").all()
    assert (frame.loc[frame["coordinate_method"].isin(["Other", "Combination"]), "location_accuracy"] == "approximate").all()


def test_communities_lie_within_100km_on_both_sides(store, border):
    frame = store.read("communities")
    assert set(frame["country"]) == {"ML", "SN"}
    for row in frame.itertuples():
        assert row.distance_to_border_km <= 100
        assert distance_to_line_m(row.geometry, border) / 1000 == pytest.approx(row.distance_to_border_km, abs=0.3)
        if TRIPOINT_GN[1] < row.geometry.y < TRIPOINT_MR[1]:  # where the side polygon applies
            assert mali_side(border).contains(row.geometry) == (row.country == "ML"), row.name
    # Diboli comes from OpenStreetMap, which gives no population: unknown, not 0.
    assert pd.isna(named(store, "communities", "Diboli")["population"])
    assert named(store, "communities", "Kayes")["population"] > 0

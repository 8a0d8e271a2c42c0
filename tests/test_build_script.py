"""The layer builder's rules on hand-made inputs (the full rebuild is `make check-layers`, run in CI)."""

import json
import sys

import numpy as np
import pytest
from pyproj import Geod
from shapely.geometry import LineString, Point, Polygon

from tests.conftest import REPO

sys.path.insert(0, str(REPO / "scripts"))
import build_layers as bl  # noqa: E402

GEOD = Geod(ellps="WGS84")


def seg(*coords):
    return np.array(coords, dtype=float)


def test_trace_upstream_follows_joined_segments_and_bridges_small_gaps():
    segments = {1: seg((0, 1), (0, 0)), 2: seg((0, 2), (0, 1.001)), 3: seg((0, 3), (0, 2)), 9: seg((5, 5), (6, 6))}
    assert bl.trace(segments, 1, upstream=True) == [1, 2, 3]
    line = bl.chain_line(segments, [1, 2, 3], upstream=True)
    assert line.coords[0] == (0, 3) and line.coords[-1] == (0, 0)  # source to mouth


def test_trace_stops_at_a_gap_larger_than_the_snap():
    segments = {1: seg((0, 1), (0, 0)), 2: seg((0, 2), (0, 1.01))}
    assert bl.trace(segments, 1, upstream=True) == [1]


def test_trace_refuses_to_guess_at_a_junction():
    segments = {1: seg((0, 1), (0, 0)), 2: seg((0, 2), (0, 1)), 3: seg((1, 2), (0, 1))}
    with pytest.raises(bl.BuildError, match="river junction"):
        bl.trace(segments, 1, upstream=True)


def test_trace_downstream():
    segments = {1: seg((0, 0), (1, 0)), 2: seg((1, 0), (2, 0)), 3: seg((9, 9), (8, 8))}
    assert bl.trace(segments, 1, upstream=False) == [1, 2]


def test_tripoint_and_shared_boundary():
    west = Polygon([(0, 0), (1, 0), (1, 2), (0, 2)])
    east = Polygon([(1, 0), (2, 0), (2, 2), (1, 2)])
    south = Polygon([(0, -1), (2, -1), (2, 0), (0, 0)])
    north = Polygon([(0, 2), (2, 2), (2, 3), (0, 3)])
    top, bottom = bl.tripoint(west, east, north), bl.tripoint(west, east, south)
    assert (top.x, top.y) == (1, 2) and (bottom.x, bottom.y) == (1, 0)
    line = bl.boundary_between(east, west, top, bottom)
    assert list(line.coords) == [(1, 2), (1, 0)]


def test_tripoint_refuses_when_polygons_do_not_meet_once():
    a, b = Polygon([(0, 0), (1, 0), (1, 1), (0, 1)]), Polygon([(5, 5), (6, 5), (6, 6), (5, 6)])
    with pytest.raises(bl.BuildError, match="one tripoint"):
        bl.tripoint(a, b, b)


def test_distance_to_line_is_geodesic():
    corner = LineString([(-12.5, 13.0), (-12.0, 14.0), (-11.5, 13.0)])  # nearest point: the vertex
    expected_km = GEOD.inv(-12.0, 14.3, -12.0, 14.0)[2] / 1000
    assert bl.distance_to_line_km([Point(-12.0, 14.3)], corner)[0] == pytest.approx(expected_km, rel=1e-9)
    parallel = LineString([(x, 14.0) for x in np.linspace(-12.5, -11.5, 101)])  # densified: follows lat 14
    assert bl.distance_to_line_km([Point(-12.0, 14.3)], parallel)[0] == pytest.approx(expected_km, rel=1e-4)


def test_communities_keep_twin_towns_drop_duplicates_and_unknown_population():
    cities = {
        "1": {"geonameid": 1, "name": "Kidira", "countrycode": "SN", "latitude": 14.45668, "longitude": -12.21659,
              "population": 13551},
        "2": {"geonameid": 2, "name": "Nowhere", "countrycode": "ML", "latitude": 14.4, "longitude": -11.8,
              "population": 0},
        "3": {"geonameid": 3, "name": "Far", "countrycode": "ML", "latitude": 15.9, "longitude": -9.2, "population": 9},
        "4": {"geonameid": 4, "name": "Abroad", "countrycode": "MR", "latitude": 14.9, "longitude": -12.2,
              "population": 9},
    }
    gazetteer = [
        {"name": "Diboli", "kind": "place", "country": "ML", "lat": "14.457159", "lon": "-12.200601",
         "source": "OpenStreetMap node 1703669076 place=town"},
        {"name": "Kidira", "kind": "place", "country": "SN", "lat": "14.4567", "lon": "-12.2166",
         "source": "OpenStreetMap node 42 place=town"},
    ]
    border = LineString([(-12.2, 15.0), (-12.2, 12.5)])
    frame = bl.build_communities(cities, gazetteer, border)
    assert sorted(frame["name"]) == ["Diboli", "Kidira", "Nowhere"]  # Far is over 100 km; Abroad is not ML/SN
    by_name = frame.set_index("name")
    assert by_name.loc["Kidira", "id"] == "geonames_1"  # the GeoNames Kidira, not the OSM duplicate
    assert by_name.loc["Diboli", "id"] == "osm_node_1703669076"
    assert by_name["population"].isna().to_dict() == {"Diboli": True, "Kidira": False, "Nowhere": True}


def _write(path, features):
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}))


def test_compare_layer_finds_property_and_geometry_differences(tmp_path):
    feature = {"type": "Feature", "id": "a", "properties": {"name": "x"},
               "geometry": {"type": "Point", "coordinates": [-12.0, 14.0]}}
    _write(tmp_path / "old.geojson", [feature])
    _write(tmp_path / "same.geojson", [json.loads(json.dumps(feature))])
    assert bl.compare_layer(tmp_path / "same.geojson", tmp_path / "old.geojson") == []
    moved = json.loads(json.dumps(feature))
    moved["geometry"]["coordinates"] = [-12.0, 14.00001]
    moved["properties"]["name"] = "y"
    _write(tmp_path / "new.geojson", [moved])
    assert bl.compare_layer(tmp_path / "new.geojson", tmp_path / "old.geojson") == [
        "old.geojson: feature a: properties differ: name", "old.geojson: feature a: geometry differs"]
    assert bl.compare_layer(tmp_path / "new.geojson", tmp_path / "missing.geojson") == [
        "missing.geojson: not committed"]

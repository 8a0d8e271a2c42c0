"""Barrier-aware nearest service: hand-made cases and a brute force over every service and every crossing."""

import math

import numpy as np
import pytest
import shapely
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pyproj import Geod

from geo_service.analysis.barriers import Barrier, Crossing, nearest_across

GEOD = Geod(ellps="WGS84")
RIVER = shapely.LineString([(0, -1), (0, 1)])  # a straight river along the meridian, from 1° S to 1° N


def metres(a, b):
    return GEOD.inv(a[0], a[1], b[0], b[1])[2]


def run(communities, services, crossings=(), lines=RIVER, tolerance_m=0.0, max_m=None):
    barrier = Barrier(lines, list(crossings), tolerance_m=tolerance_m)
    c, s = np.array(communities, float), np.array(services, float)
    return nearest_across(c[:, 0], c[:, 1], s[:, 0], s[:, 1], barrier, max_distance_m=max_m)


def bridge(name, lat, season="all_year", half_width=0.01):
    return Crossing(name, name, season, ((-half_width, lat), (half_width, lat)))


def test_same_bank_service_wins_over_a_nearer_one_across_the_river():
    routes = run([(-0.1, 0)], [(0.02, 0), (-0.3, 0)])
    assert routes.index.tolist() == [1] and routes.crossing.tolist() == [-1]
    assert routes.distance_m[0] == pytest.approx(metres((-0.1, 0), (-0.3, 0)), abs=0.01)


def test_without_a_barrier_in_the_way_the_nearest_is_the_straight_line():
    routes = run([(-0.1, 0)], [(-0.15, 0.01), (0.3, 0)])
    assert routes.index.tolist() == [0]
    assert routes.distance_m[0] == pytest.approx(metres((-0.1, 0), (-0.15, 0.01)), abs=0.01)


def test_opposite_banks_through_one_bridge():
    a, b = (-0.01, 0.5), (0.01, 0.5)
    routes = run([(-0.1, 0)], [(0.1, 0)], [Crossing("x", "X", "all_year", (a, b))])
    expected = metres((-0.1, 0), a) + metres(a, b) + metres(b, (0.1, 0))
    assert routes.index.tolist() == [0] and routes.crossing.tolist() == [0]
    assert routes.distance_m[0] == pytest.approx(expected, abs=0.01)
    assert routes.distance_m[0] > 2 * metres((-0.1, 0), (0, 0.5))  # far more than the straight 22 km


def test_the_crossing_farther_from_the_community_can_give_the_shorter_route():
    community, service = (-0.1, 0), (0.1, 0.6)
    near, far = bridge("near", -0.3), bridge("far", 0.5)
    assert metres(community, near.points[0]) < metres(community, far.points[0])
    routes = run([community], [service], [near, far])
    assert routes.crossing.tolist() == [1]
    expected = metres(community, far.points[0]) + far.length_m + metres(far.points[1], service)
    assert routes.distance_m[0] == pytest.approx(expected, abs=0.01)


def test_a_community_with_no_open_crossing_has_no_service_not_a_distance():
    """The wet season with only a ferry of unknown season: nothing across the river is reachable."""
    routes = run([(-0.1, 0), (0.2, 0)], [(0.1, 0)], crossings=[])
    assert routes.index.tolist() == [-1, 0]
    assert math.isnan(routes.distance_m[0]) and routes.crossing[0] == -1


def test_a_one_point_crossing_on_the_river_opens_it_within_the_tolerance():
    ford = Crossing("ford", "Ford", "unknown", ((0.0, 0.2),))
    closed = run([(-0.1, 0)], [(0.1, 0)], [ford], tolerance_m=0)  # every leg to a point on the line meets it
    assert closed.index.tolist() == [-1]
    opened = run([(-0.1, 0)], [(0.1, 0)], [ford], tolerance_m=50)
    assert opened.crossing.tolist() == [0]
    assert opened.distance_m[0] == pytest.approx(2 * metres((-0.1, 0), (0.0, 0.2)), abs=0.01)


def test_a_bank_point_a_little_over_the_line_still_works_within_the_tolerance():
    """As the Nayé–Nahé ferry's Senegal bank: 290 m on the wrong side of the 1:3M river line."""
    ferry = Crossing("ferry", "Ferry", "unknown", ((0.0026, 0.3), (0.01, 0.3)))  # both east of the line
    community, service = (-0.1, 0.25), (0.1, 0.35)  # the leg meets the line about 320 m from the bank point
    assert run([community], [service], [ferry], tolerance_m=0).index.tolist() == [-1]
    assert run([community], [service], [ferry], tolerance_m=600).crossing.tolist() == [0]
    assert run([community], [service], [ferry], tolerance_m=200).index.tolist() == [-1]


def test_max_distance_applies_to_the_route():
    routes = run([(-0.1, 0)], [(0.1, 0)], [bridge("b", 0.5)], max_m=30_000)
    assert routes.index.tolist() == [-1]


# --- against brute force ---------------------------------------------------------------------------------

def brute_force(communities, services, barrier: Barrier):
    """Every direct leg and every way through every crossing, for every pair: the minimum."""
    out = []
    for cx, cy in communities:
        best = math.inf
        for sx, sy in services:
            if not barrier.blocked([cx], [cy], [sx], [sy])[0]:
                best = min(best, metres((cx, cy), (sx, sy)))
            for k, entry, exit_ in barrier.ways():
                if barrier.blocked([cx], [cy], [entry[0]], [entry[1]], k)[0]:
                    continue
                if barrier.blocked([exit_[0]], [exit_[1]], [sx], [sy], k)[0]:
                    continue
                best = min(best, metres((cx, cy), entry) + barrier.crossings[k].length_m + metres(exit_, (sx, sy)))
        out.append(best)
    return np.array(out)


coordinate = st.floats(-0.5, 0.5, allow_nan=False, width=32)
point = st.tuples(coordinate, coordinate)


@st.composite
def scenes(draw):
    bends = draw(st.lists(st.floats(-0.25, 0.25, width=32), min_size=2, max_size=6))
    lats = np.linspace(-0.6, 0.6, len(bends))
    lines = shapely.LineString(list(zip(bends, lats)))
    crossings = []
    for i in range(draw(st.integers(0, 4))):
        at = draw(st.floats(0.05, 0.95))
        here = lines.interpolate(at, normalized=True)
        if draw(st.booleans()):
            width = draw(st.floats(0.002, 0.05))
            points = ((here.x - width, here.y), (here.x + width, here.y))
        else:
            points = ((here.x, here.y),)
        crossings.append(Crossing(f"c{i}", f"c{i}", "all_year", points))
    communities = draw(st.lists(point, min_size=1, max_size=12))
    services = draw(st.lists(point, min_size=1, max_size=10))
    tolerance = draw(st.sampled_from([0.0, 10.0, 2000.0]))
    return lines, crossings, communities, services, tolerance


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenes())
def test_barrier_nearest_equals_brute_force_over_all_crossings(scene):
    lines, crossings, communities, services, tolerance = scene
    barrier = Barrier(lines, crossings, tolerance_m=tolerance)
    c, s = np.array(communities, float), np.array(services, float)
    routes = nearest_across(c[:, 0], c[:, 1], s[:, 0], s[:, 1], barrier)
    expected = brute_force(communities, services, barrier)
    assert np.array_equal(np.isfinite(expected), np.isfinite(routes.distance_m))
    reached = np.isfinite(expected)
    np.testing.assert_allclose(routes.distance_m[reached], expected[reached], rtol=1e-9, atol=1e-6)
    for row in np.flatnonzero(reached):  # the route reported is one that has that length
        service = services[routes.index[row]]
        k = routes.crossing[row]
        if k < 0:
            assert not barrier.blocked([c[row, 0]], [c[row, 1]], [service[0]], [service[1]])[0]
            assert metres(communities[row], service) == pytest.approx(routes.distance_m[row], abs=1e-6)
        else:
            lengths = [metres(communities[row], entry) + barrier.crossings[k].length_m + metres(exit_, service)
                       for kk, entry, exit_ in barrier.ways() if kk == k]
            assert min(abs(length - routes.distance_m[row]) for length in lengths) < 1e-6

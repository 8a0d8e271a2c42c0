"""Site suggestion (the maximal covering location problem): hand-made cases, and the optimum of an
exhaustive search on random small cases."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from geo_service.analysis.nearest import GEOD, ProximityError
from geo_service.analysis.sites import coverage, suggest_sites

# Near Kidira and Diboli: about 1.1 km per 0.01 degree of longitude at latitude 14.45.
LAT = 14.45


def _east(km: float) -> float:
    """The longitude ``km`` east of -12.2 at LAT (geodesic, so the hand cases are exact)."""
    lon, _, _ = GEOD.fwd(-12.2, LAT, 90, km * 1000)
    return lon


def test_the_site_covering_the_most_uncovered_people_wins_and_covered_ones_count_for_nothing():
    c_lon = [_east(0), _east(1), _east(10), _east(10.5), _east(30)]
    population = [500, 400, 300, 300, 1000]
    services = ([_east(0.5)], [LAT])  # covers the first two within 2 km
    candidates = ([_east(0.2), _east(10.2), _east(30.1)], [LAT] * 3)
    one = suggest_sites(c_lon, [LAT] * 5, population, *services, *candidates, k=1, within_m=2000)
    assert [s.candidate for s in one.sites] == [2] and one.newly_covered == 1000  # 1000 > 300 + 300
    two = suggest_sites(c_lon, [LAT] * 5, population, *services, *candidates, k=2, within_m=2000)
    assert [(s.candidate, s.newly_covered) for s in two.sites] == [(2, 1000), (1, 600)]
    assert two.already_covered == 900 and two.uncovered_before == 1600 and two.weighted_by_population


def test_unknown_populations_count_each_community_once_and_say_so():
    c_lon = [_east(0), _east(10), _east(10.5)]
    found = suggest_sites(c_lon, [LAT] * 3, [5000, math.nan, 1], [], [], [_east(0), _east(10.2)], [LAT] * 2,
                          k=1, within_m=1000)
    assert not found.weighted_by_population and [s.candidate for s in found.sites] == [1]
    assert found.newly_covered == 2


def test_coverage_is_geodesic_to_the_metre():
    c_lon = np.array([_east(0.999), _east(1.001)])
    rows = coverage(c_lon, np.full(2, LAT), np.array([_east(0)]), np.array([LAT]), 1000)
    assert rows[0].tolist() == [0]


@pytest.mark.parametrize(("k", "within_m"), [(0, 1000), (1, 0)])
def test_bad_arguments_are_refused(k, within_m):
    with pytest.raises(ProximityError):
        suggest_sites([_east(0)], [LAT], [1], [], [], [_east(0)], [LAT], k=k, within_m=within_m)


@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
@given(communities=st.lists(st.tuples(st.integers(0, 30), st.integers(1, 9)), min_size=1, max_size=12),
       candidates=st.lists(st.integers(0, 30), min_size=1, max_size=7),
       services=st.lists(st.integers(0, 30), max_size=2), k=st.integers(1, 3), within_km=st.integers(1, 6))
def test_the_choice_is_the_optimum_of_an_exhaustive_search(communities, candidates, services, k, within_km):
    c_lon = np.array([_east(x) for x, _ in communities])
    population = np.array([float(p) for _, p in communities])
    lat = np.full(len(c_lon), LAT)
    s_lon = np.array([_east(x) for x in services])
    cand_lon = np.array([_east(x) for x in candidates])
    found = suggest_sites(c_lon, lat, population, s_lon, np.full(len(s_lon), LAT), cand_lon,
                          np.full(len(cand_lon), LAT), k=k, within_m=within_km * 1000)

    def within(a, b):
        return GEOD.inv(a, LAT, b, LAT)[2] <= within_km * 1000

    covered = [any(within(c, s) for s in s_lon) for c in c_lon]
    best = 0.0
    for size in range(1, min(k, len(cand_lon)) + 1):
        for chosen in itertools.combinations(range(len(cand_lon)), size):
            gained = sum(p for c, p, done in zip(c_lon, population, covered)
                         if not done and any(within(c, cand_lon[j]) for j in chosen))
            best = max(best, gained)
    assert found.newly_covered == pytest.approx(best)
    assert sum(s.newly_covered for s in found.sites) == pytest.approx(found.newly_covered)
    assert len(found.sites) <= k


def test_the_optimum_is_found_where_picking_the_best_site_first_would_miss_it():
    """The site in the middle covers most on its own (20), but the two outer sites together cover 30."""
    c_lon = [_east(0), _east(2), _east(4), _east(6)]
    found = suggest_sites(c_lon, [LAT] * 4, [5, 10, 10, 5], [], [], [_east(1), _east(3), _east(5)], [LAT] * 3,
                          k=2, within_m=1500)
    assert sorted(s.candidate for s in found.sites) == [0, 2] and found.newly_covered == 30


def test_the_api_suggests_sites_from_the_layers(client):
    from tests.conftest import assert_error_document

    answer = client.post("/api/proximity/sites", data={"communities": "sites", "services": "sites", "k": "1",
                                                       "within_km": "5"})
    assert answer.status_code == 200
    document = answer.get_json()
    assert document["newly_covered"] == 0 and document["already_covered"] == 4  # every site is its own service
    zones = client.post("/api/proximity/sites", data={"communities": "sites", "services": "zones", "k": "2"})
    assert zones.status_code == 200  # as /api/proximity: a polygon service is taken at a point inside it
    assert any("replaced by a point inside each" in note for note in zones.get_json()["notes"])
    assert_error_document(client.post("/api/proximity/sites", data={"communities": "nope", "services": "sites"}), 400)
    assert_error_document(client.post("/api/proximity/sites", data={"communities": "sites", "services": "sites",
                                                                     "candidates": "nope"}), 404)
    assert_error_document(client.post("/api/proximity/sites", data={"communities": "sites", "services": "sites",
                                                                     "k": "x"}), 400)


def test_the_fields_the_sites_request_shares_are_all_read_by_the_proximity_request():
    from geo_service.analysis.inputs import FIELDS
    from geo_service.web.sites import SHARED_FIELDS

    assert SHARED_FIELDS <= FIELDS, SHARED_FIELDS - FIELDS

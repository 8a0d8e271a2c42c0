"""Nearest service: hand-computed cases, and a property test against a brute-force minimum of Geod.inv."""

import geopandas as gpd
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from shapely.geometry import Point, Polygon

from geo_service.analysis.nearest import GEOD, ProximityError, nearest, nearest_services


def brute_force(c_lon, c_lat, s_lon, s_lat, k=1):
    """The k nearest by measuring every pair; ties by the lower index."""
    out_i, out_d = [], []
    for lon, lat in zip(c_lon, c_lat):
        d = np.asarray(GEOD.inv(np.full(len(s_lon), lon), np.full(len(s_lon), lat), s_lon, s_lat)[2])
        order = np.lexsort((np.arange(len(s_lon)), np.round(d, 6)))[:k]
        out_i.append(order)
        out_d.append(d[order])
    return np.array(out_i), np.array(out_d)


def test_a_hand_measured_distance():
    # 0.1 degree of latitude at 14° N: the meridian arc is about 11,062 m (110.62 km per degree).
    found = nearest([-12.0], [14.0], [-12.0], [14.1])
    assert found.index.tolist() == [[0]]
    assert found.distance_m[0, 0] == pytest.approx(11062, abs=5)
    assert found.distance_m[0, 0] == pytest.approx(GEOD.inv(-12.0, 14.0, -12.0, 14.1)[2], abs=1e-6)


def test_a_community_on_top_of_a_service():
    found = nearest([-12.2166, -11.0], [14.4567, 13.0], [-11.5, -12.2166], [14.0, 14.4567])
    assert found.index[0, 0] == 1 and found.distance_m[0, 0] == 0


def test_ties_go_to_the_lower_service_index():
    # Two services mirrored across the community's meridian are equally far.
    found = nearest([-12.0], [14.0], [-11.9, -12.1], [14.0, 14.0], k=2)
    assert found.index.tolist() == [[0, 1]]
    assert found.distance_m[0, 0] == found.distance_m[0, 1]
    swapped = nearest([-12.0], [14.0], [-12.1, -11.9], [14.0, 14.0])
    assert swapped.index.tolist() == [[0]]


def test_k_nearest_in_order_and_more_than_there_are():
    found = nearest([-12.0], [14.0], [-12.0, -12.0, -12.0], [14.3, 14.1, 14.2], k=4)
    assert found.index[0].tolist() == [1, 2, 0, -1]
    assert np.isnan(found.distance_m[0, 3]) and np.all(np.diff(found.distance_m[0, :3]) > 0)


def test_max_distance():
    found = nearest([-12.0, -12.0], [14.0, 15.0], [-12.0], [14.05], max_distance_m=10_000)
    assert found.index[:, 0].tolist() == [0, -1]
    assert np.isnan(found.distance_m[1, 0])


def test_empty_inputs():
    with pytest.raises(ProximityError, match="no services"):
        nearest([-12.0], [14.0], [], [])
    empty = nearest([], [], [-12.0], [14.0])
    assert empty.index.shape == (0, 1)


coordinate = st.tuples(st.floats(-13.0, -10.0), st.floats(11.5, 16.0))


@settings(max_examples=60, deadline=None)
@given(communities=st.lists(coordinate, min_size=1, max_size=40), services=st.lists(coordinate, min_size=1, max_size=40),
       k=st.integers(1, 3))
def test_equals_brute_force(communities, services, k):
    c = np.array(communities)
    s = np.array(services)
    found = nearest(c[:, 0], c[:, 1], s[:, 0], s[:, 1], k=k)
    want_i, want_d = brute_force(c[:, 0], c[:, 1], s[:, 0], s[:, 1], k=min(k, len(s)))
    got_d = found.distance_m[:, : want_d.shape[1]]
    np.testing.assert_allclose(got_d, want_d, rtol=0, atol=1e-6)
    np.testing.assert_array_equal(found.index[:, : want_i.shape[1]], want_i)


@settings(max_examples=20, deadline=None)
@given(st.lists(coordinate, min_size=2, max_size=8, unique=True))
def test_duplicated_services_tie_to_the_first(services):
    s = np.array(services + services)  # every service twice: each pair is an exact tie
    c = s[:3] + 0.01
    found = nearest(c[:, 0], c[:, 1], s[:, 0], s[:, 1])
    assert (found.index[:, 0] < len(services)).all()


def points(rows, **columns):
    return gpd.GeoDataFrame(columns, geometry=[Point(x, y) for x, y in rows], crs="EPSG:4326")


def test_one_service_across_the_border():
    # Diboli (ML) faces Kidira (SN) across the Falémé; the nearest Malian centre is far.
    communities = points([(-12.2006, 14.4572)], name=["Diboli"], country=["ML"])
    services = points([(-12.2085, 14.4535), (-12.1046, 14.5395)], id=["kidira", "fegui"],
                      name=["Kidira Centre de Santé", "Fegui CSCom"], country=["SN", "ML"])
    anywhere = nearest_services(communities, services)
    own = nearest_services(communities, services, same_country=True)
    assert anywhere.loc[0, "service_id"] == "kidira" and anywhere.loc[0, "service_country"] == "SN"
    assert own.loc[0, "service_id"] == "fegui"
    assert anywhere.loc[0, "distance_m"] < 1500 < own.loc[0, "distance_m"]


def test_same_country_with_no_own_service_means_none_in_reach():
    communities = points([(-12.0, 14.0)], country=["GN"])
    services = points([(-12.0, 14.1)], country=["ML"])
    result = nearest_services(communities, services, same_country=True)
    assert result["service_id"].isna().all() and result["distance_m"].isna().all()


def test_frame_level_errors():
    communities = points([(-12.0, 14.0)])
    services = points([(-12.0, 14.1)])
    with pytest.raises(ProximityError, match="'country' column"):
        nearest_services(communities, services, same_country=True)
    with pytest.raises(ProximityError, match="must be points"):
        nearest_services(gpd.GeoDataFrame(geometry=[Polygon([(0, 0), (1, 0), (1, 1)])], crs="EPSG:4326"), services)
    with pytest.raises(ProximityError, match="EPSG:4326"):
        nearest_services(communities.to_crs("EPSG:32628"), services)
    with pytest.raises(ProximityError, match="no communities"):
        nearest_services(communities.iloc[:0], services)
    with pytest.raises(ProximityError, match="no services"):
        nearest_services(communities, services.iloc[:0])


def test_service_labels_fall_back_to_row_numbers():
    result = nearest_services(points([(-12.0, 14.0)]), points([(-11.0, 14.0), (-12.0, 14.05)]), k=2)
    assert result.loc[0, "service_id"] == "2" and result.loc[0, "service_name"] == "2"
    assert result.loc[0, "service_2_id"] == "1" and result.loc[0, "distance_2_m"] > result.loc[0, "distance_m"]

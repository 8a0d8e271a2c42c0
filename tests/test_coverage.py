"""Bands, coverage summaries, the underserved list, the cross-border effect and the histogram."""

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from shapely.geometry import Point

from geo_service.analysis import coverage as cv
from geo_service.analysis.nearest import ProximityError


@pytest.mark.parametrize("text, expected", [(None, (5.0, 10.0, 20.0)), ("", (5.0, 10.0, 20.0)), ("2.5,7", (2.5, 7.0)),
                                            ([1, 2, 3], (1.0, 2.0, 3.0))])
def test_parse_bands(text, expected):
    assert cv.parse_bands(text) == expected


@pytest.mark.parametrize("text, message", [("5,a", "numbers of km"), ("10,5", "must increase"), ("0,5", "positive"),
                                           ("5,5", "must increase"), ("nan", "positive"),
                                           (",".join(str(i) for i in range(1, 13)), "1 to 10")])
def test_parse_bands_errors(text, message):
    with pytest.raises(ProximityError, match=message):
        cv.parse_bands(text)


def test_band_labels_and_boundaries():
    assert cv.band_labels((5, 10, 20)) == ["0–5 km", "5–10 km", "10–20 km", "over 20 km"]
    index = cv.band_index(np.array([0, 5000, 5000.1, 10000, 19999, 20000.5, np.nan]), (5, 10, 20))
    assert index.tolist() == [0, 0, 1, 1, 2, 3, -1]  # a threshold belongs to the nearer band


def banded(rows):
    frame = gpd.GeoDataFrame(pd.DataFrame(rows, columns=["name", "country", "population", "distance_m"]),
                             geometry=[Point(-12, 14)] * len(rows), crs="EPSG:4326")
    return cv.with_bands(frame, (5, 10, 20))


def test_summary_keeps_unknown_population_unknown():
    frame = banded([("a", "ML", 100, 1000), ("b", "ML", None, 2000), ("c", "SN", None, 30000), ("d", "SN", None, np.nan)])
    rows = {(r["country"], r["band"]): r for r in cv.coverage_summary(frame, (5, 10, 20))}
    assert rows[("ML", "0–5 km")] == {"country": "ML", "band": "0–5 km", "communities": 2, "population": 100,
                                      "unknown_population": 1}
    assert rows[("SN", "over 20 km")]["population"] is None  # unknown, not 0
    assert rows[("SN", "5–10 km")]["population"] == 0  # no communities: 0 people
    assert rows[("SN", cv.NO_SERVICE)]["communities"] == 1
    assert (("ML", cv.NO_SERVICE) not in rows)


def test_underserved_sorted_by_population_unknown_last():
    frame = banded([("small", "ML", 10, 25000), ("unknown", "ML", None, 90000), ("big", "SN", 900, 21000),
                    ("near", "SN", 5000, 1000), ("none", "SN", 50, np.nan)])
    assert cv.underserved(frame, (5, 10, 20))["name"].tolist() == ["big", "none", "small", "unknown"]


def test_histogram():
    h = cv.distance_histogram(np.array([0, 1000, 29000, 31000, np.nan]), (5, 10, 20), bins=3)
    assert h["edges_km"] == [0.0, 10.0, 20.0, 30.0]
    assert h["counts"] == [2, 0, 1] and h["beyond"] == 1 and h["no_service"] == 1


def pts(rows, **columns):
    return gpd.GeoDataFrame(columns, geometry=[Point(x, y) for x, y in rows], crs="EPSG:4326")


def test_cross_border_effect_counts_who_moves_closer():
    communities = pts([(-12.2006, 14.4572), (-12.2166, 14.4567), (-11.44, 14.45)], name=["Diboli", "Kidira", "Kayes"],
                      country=["ML", "SN", "ML"], population=[None, 13551, 194716])
    services = pts([(-12.2085, 14.4535), (-12.1046, 14.5395), (-11.4389, 14.4485)],
                   id=["kidira_cs", "fegui", "kayes_ref"], country=["SN", "ML", "ML"])
    compared, summary = cv.cross_border_effect(communities, services, (5, 10, 20))
    assert compared["moves_closer"].tolist() == [True, False, False]
    assert compared["served_across_border"].tolist() == [True, False, False]
    assert summary["communities_moving_closer"] == 1
    assert summary["population_moving_closer"] is None  # Diboli's population is unknown
    assert summary["moves"] == [{"from_band": "10–20 km", "to_band": "0–5 km", "communities": 1}]

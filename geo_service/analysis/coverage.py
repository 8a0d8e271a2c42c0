"""Distance bands, coverage summaries, the underserved list and the cross-border effect.

Pure functions over the output of ``proximity.nearest_services``. Populations
that are not known stay unknown: they are counted apart, never as 0.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import geopandas as gpd
import numpy as np
import pandas as pd

from geo_service.analysis.nearest import ProximityError, nearest_services
from geo_service.i18n import Text

DEFAULT_BANDS_KM = (5.0, 10.0, 20.0)
NO_SERVICE = "no service in reach"


def parse_bands(text: str | Sequence[float] | None) -> tuple[float, ...]:
    """Band thresholds in km, e.g. ``"5,10,20"``: positive, strictly increasing, at most 10."""
    if text is None or text == "":
        return DEFAULT_BANDS_KM
    try:
        values = tuple(float(v) for v in (text.split(",") if isinstance(text, str) else text))
    except ValueError:
        raise ProximityError(Text("error", "bands must be numbers of km separated by commas, e.g. 5,10,20; got {value}",
                                  {"value": repr(text)})) from None
    if not values or len(values) > 10:
        raise ProximityError(Text("error", "give 1 to 10 band thresholds, got {count}", {"count": len(values)}))
    if not all(math.isfinite(v) and v > 0 for v in values):
        raise ProximityError(Text("error", "band thresholds must be positive km, got {value}", {"value": repr(text)}))
    if any(b <= a for a, b in zip(values, values[1:])):
        raise ProximityError(Text("error", "band thresholds must increase, got {value}", {"value": repr(text)}))
    return values


def _km(value: float) -> str:
    return f"{value:g}"


def band_labels(bands_km: Sequence[float]) -> list[str]:
    """``['0–5 km', '5–10 km', '10–20 km', 'over 20 km']`` for (5, 10, 20)."""
    edges = [0.0, *bands_km]
    labels = [f"{_km(a)}–{_km(b)} km" for a, b in zip(edges, edges[1:])]
    return labels + [f"over {_km(bands_km[-1])} km"]


def band_index(distance_m: np.ndarray, bands_km: Sequence[float]) -> np.ndarray:
    """0 for the first band … len(bands) for beyond the last; -1 where there is no service in reach."""
    distance_m = np.asarray(distance_m, dtype=float)
    index = np.searchsorted(np.asarray(bands_km) * 1000, distance_m, side="left")
    return np.where(np.isnan(distance_m), -1, index)


def with_bands(result: gpd.GeoDataFrame, bands_km: Sequence[float]) -> gpd.GeoDataFrame:
    out = result.copy()
    labels = band_labels(bands_km)
    index = band_index(out["distance_m"].to_numpy(dtype=float), bands_km)
    out["band"] = [labels[i] if i >= 0 else NO_SERVICE for i in index]
    out["band_index"] = index
    return out


def population_of(frame: pd.DataFrame) -> pd.Series:
    if "population" not in frame.columns:
        return pd.Series(np.nan, index=frame.index, dtype=float)
    return pd.to_numeric(frame["population"], errors="coerce")


def known_total(population: pd.Series, rows: int) -> int | None:
    """Sum of the known figures; 0 for no communities; None (unknown) when none of them is known."""
    known = population.dropna()
    if rows == 0:
        return 0
    return int(known.sum()) if len(known) else None


def coverage_summary(banded: pd.DataFrame, bands_km: Sequence[float]) -> list[dict]:
    """One row per country and band: communities, known population, communities of unknown population."""
    population = population_of(banded)
    countries = banded["country"].astype("string").fillna("?") if "country" in banded.columns \
        else pd.Series("all", index=banded.index)
    rows = []
    for country in sorted(countries.unique()):
        in_country = countries == country
        for label in [*band_labels(bands_km), NO_SERVICE]:
            mask = in_country & (banded["band"] == label)
            if not mask.any() and label == NO_SERVICE:
                continue
            rows.append({"country": country, "band": label, "communities": int(mask.sum()),
                         "population": known_total(population[mask], int(mask.sum())),
                         "unknown_population": int(mask.sum() - population[mask].notna().sum())})
    return rows


def underserved(banded: gpd.GeoDataFrame, bands_km: Sequence[float]) -> gpd.GeoDataFrame:
    """Communities beyond the largest threshold (or with no service in reach), most populous first."""
    beyond = banded[(banded["band_index"] == len(bands_km)) | (banded["band_index"] < 0)].copy()
    beyond["_population"] = population_of(beyond)
    beyond = beyond.sort_values(["_population", "distance_m"], ascending=[False, False], na_position="last")
    return beyond.drop(columns="_population")


def cross_border_effect(communities: gpd.GeoDataFrame, services: gpd.GeoDataFrame, bands_km: Sequence[float],
                        max_distance_km: float | None = None) -> tuple[gpd.GeoDataFrame, dict]:
    """Own-country services only versus services of any country: who moves into a closer band.

    Returns the per-community comparison and a summary by country (communities and
    known population that move closer, and the band-to-band moves).
    """
    own = with_bands(nearest_services(communities, services, max_distance_km=max_distance_km, same_country=True),
                     bands_km)
    anywhere = with_bands(nearest_services(communities, services, max_distance_km=max_distance_km), bands_km)
    return compare_own_and_any(own, anywhere, bands_km)


def compare_own_and_any(own: gpd.GeoDataFrame, anywhere: gpd.GeoDataFrame,
                        bands_km: Sequence[float]) -> tuple[gpd.GeoDataFrame, dict]:
    """The comparison itself, from both banded results (own-country services only, any country)."""
    compared = anywhere.copy()
    compared["own_country_service"] = own["service_name"]
    compared["own_country_distance_m"] = own["distance_m"]
    compared["own_country_band"] = own["band"]
    # A band index of -1 (none in reach) ranks after every band.
    rank_own = np.where(own["band_index"] < 0, len(bands_km) + 1, own["band_index"])
    rank_any = np.where(anywhere["band_index"] < 0, len(bands_km) + 1, anywhere["band_index"])
    compared["moves_closer"] = rank_any < rank_own
    compared["served_across_border"] = (compared["service_country"].astype("string")
                                        != compared["country"].astype("string")).fillna(False)
    population = population_of(compared)
    moved = compared[compared["moves_closer"]]
    by_country = []
    for country in sorted(compared["country"].astype("string").fillna("?").unique()):
        rows = moved[moved["country"].astype("string").fillna("?") == country]
        by_country.append({"country": country, "communities_moving_closer": int(len(rows)),
                           "population_moving_closer": known_total(population[rows.index], len(rows)),
                           "unknown_population": int(len(rows) - population[rows.index].notna().sum())})
    transitions = (moved.groupby(["own_country_band", "band"]).size().reset_index(name="communities")
                   .rename(columns={"own_country_band": "from_band", "band": "to_band"}).to_dict("records"))
    summary = {"communities": int(len(compared)), "communities_moving_closer": int(len(moved)),
               "population_moving_closer": known_total(population[moved.index], len(moved)),
               "unknown_population_moving_closer": int(len(moved) - population[moved.index].notna().sum()),
               "by_country": by_country, "moves": transitions}
    return compared, summary


def distance_histogram(distance_m: np.ndarray, bands_km: Sequence[float], bins: int = 20) -> dict:
    """Counts of communities per distance bin (km) up to 1.5× the largest threshold, plus beyond and none."""
    km = np.asarray(distance_m, dtype=float) / 1000
    top = float(bands_km[-1]) * 1.5
    edges = np.linspace(0.0, top, bins + 1)
    inside = km[~np.isnan(km) & (km <= top)]
    counts, _ = np.histogram(inside, bins=edges)
    return {"edges_km": [round(float(e), 3) for e in edges], "counts": [int(c) for c in counts],
            "beyond": int(np.sum(km > top)), "no_service": int(np.sum(np.isnan(km))),
            "bands_km": [float(b) for b in bands_km]}

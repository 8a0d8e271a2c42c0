"""Barriers and seasons: today's straight lines, the dry season (every crossing), the wet season (all-year
crossings only), side by side; which communities change nearest service or band between them.

A crossing of unknown season counts as open in the dry season; in the wet season it counts as closed unless
the request says otherwise (``wet_unknown_open``), and the answer states which.
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from dataclasses import dataclass, field

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from geo_service.analysis import coverage
from geo_service.analysis.barriers import (
    DEFAULT_TOLERANCE_M,
    Barrier,
    Crossing,
    nearest_across,
)
from geo_service.analysis.defaults import WALK_DETOUR, WALK_KMH
from geo_service.analysis.nearest import (
    ProximityError,
    nearest_services,
    service_labels,
)
from geo_service.i18n import Text

SCENARIOS = ("none", "dry", "wet")
MAX_CROSSINGS = 200  # each one measures every service from its far bank
MAX_BARRIER_VERTICES = 1_000_000
_SEASON_WORDS = {
    "all_year": ("all_year", "all year", "all-year", "permanent", "year round", "toute l'annee", "toute l'année",
                 "permanente", "permanent"),
    "dry_only": ("dry_only", "dry", "dry season", "saison seche", "saison sèche", "seche", "sèche"),
    "unknown": ("unknown", "inconnue", "inconnu", "?", ""),
}
SEASONS = {word: season for season, words in _SEASON_WORDS.items() for word in words}


@dataclass
class BarrierSetup:
    """Barrier lines, the crossings through them, and the assumptions of the seasonal scenarios."""

    lines: object  # a shapely (Multi)LineString
    crossings: list[Crossing]
    barriers_label: str
    crossings_label: str | None
    tolerance_m: float = DEFAULT_TOLERANCE_M
    wet_unknown_open: bool = False
    notes: list = field(default_factory=list)

    def open_in(self, scenario: str) -> list[Crossing]:
        if scenario == "dry":
            return list(self.crossings)
        return [c for c in self.crossings
                if c.season == "all_year" or (c.season == "unknown" and self.wet_unknown_open)]

    def describe(self) -> dict:
        return {"barriers": self.barriers_label, "crossings": self.crossings_label,
                "crossing_tolerance_m": self.tolerance_m, "wet_unknown_open": self.wet_unknown_open,
                "crossings_open": {s: [c.id for c in self.open_in(s)] for s in ("dry", "wet")}}


def split_selection(value: str) -> tuple[str, tuple[str, ...]]:
    """``rivers:faleme,other`` → (``rivers``, (``faleme``, ``other``)); ``rivers`` → (``rivers``, ())."""
    layer, _, ids = value.partition(":")
    return layer.strip(), tuple(i.strip() for i in ids.split(",") if i.strip())


def barrier_lines(frame: gpd.GeoDataFrame, label: str, ids: Sequence[str] = ()) -> object:
    """The line features of ``frame`` (those with the ``ids`` given, if any) as one geometry."""
    if ids:
        if "id" not in frame.columns:
            raise ProximityError(Text("error", "{label}: choosing barrier features needs an 'id' column",
                                      {"label": label}))
        missing = sorted(set(ids) - set(frame["id"].astype(str)))
        if missing:
            raise ProximityError(Text("error", "{label}: no feature with id {ids}", {"label": label,
                                                                                   "ids": ", ".join(missing)}))
        frame = frame[frame["id"].astype(str).isin(ids)]
    kinds = set(frame.geom_type.dropna())
    if not kinds or not kinds <= {"LineString", "MultiLineString"}:
        raise ProximityError(Text("error", "{label}: barriers must be lines (a river, a road); found {types}",
                                  {"label": label, "types": ", ".join(sorted(kinds)) or "nothing"}))
    lines = shapely.union_all(frame.geometry.values)
    if shapely.get_num_coordinates(lines) > MAX_BARRIER_VERTICES:
        raise ProximityError(Text("error", "{label}: barriers of more than {limit} vertices are refused; simplify "
                                  "them first", {"label": label, "limit": f"{MAX_BARRIER_VERTICES:,}"}))
    return lines


def _season(value, label: str, crossing: str) -> str:
    word = "" if pd.isna(value) else str(value).strip().lower()
    if word not in SEASONS:
        raise ProximityError(Text("error", "{label}: crossing {crossing}: season {value} is not one of all_year, "
                                  "dry_only, unknown", {"label": label, "crossing": crossing, "value": repr(value)}))
    return SEASONS[word]


def _crossing_name(names: list[str], crossing: str) -> str:
    """The banks' common name ('Kidira–Diboli bridge' from '…, Senegal bank …' and '…, Mali bank …')."""
    if len(names) == 1:
        return names[0]
    common = os.path.commonprefix(names)
    common = re.sub(r"[\s,;(–-]+\w*$", "", common) if common not in names else common
    return common.strip(" ,;(–-") or crossing


def read_crossings(frame: gpd.GeoDataFrame, label: str) -> list[Crossing]:
    """Crossings from a point layer: features sharing a ``crossing`` value are its banks (two at most); without
    that column each point is a crossing of its own. ``season``: all_year, dry_only or unknown (the default)."""
    if len(frame) and not (frame.geom_type == "Point").all():
        raise ProximityError(Text("error", "{label}: crossings must be points", {"label": label}))
    ids = service_labels(frame)["id"].to_numpy()
    groups = frame["crossing"].astype("string").fillna(pd.Series(ids, index=frame.index)).to_numpy() \
        if "crossing" in frame.columns else ids
    names = frame["name"].astype("string") if "name" in frame.columns else pd.Series(groups, index=frame.index)
    crossings = []
    for group in dict.fromkeys(groups):
        rows = np.flatnonzero(groups == group)
        if len(rows) > 2:
            raise ProximityError(Text("error", "{label}: crossing {crossing} has {count} points; give one, or one "
                                      "on each bank", {"label": label, "crossing": group, "count": len(rows)}))
        seasons = {_season(v, label, group) for v in (frame["season"].iloc[rows] if "season" in frame.columns
                                                       else [None])}
        if len(seasons) > 1:
            raise ProximityError(Text("error", "{label}: the banks of crossing {crossing} give different seasons",
                                      {"label": label, "crossing": group}))
        points = tuple((float(p.x), float(p.y)) for p in frame.geometry.iloc[rows])
        bank_names = [str(n) for n in names.iloc[rows].fillna(str(group))]
        crossings.append(Crossing(str(group), _crossing_name(bank_names, str(group)), seasons.pop(), points))
    if len(crossings) > MAX_CROSSINGS:
        raise ProximityError(Text("error", "{label}: at most {limit} crossings, got {count}",
                                  {"label": label, "limit": MAX_CROSSINGS, "count": len(crossings)}))
    return crossings


def routes(communities: gpd.GeoDataFrame, services: gpd.GeoDataFrame, setup: BarrierSetup | None, scenario: str,
           max_distance_km: float | None, same_country: bool) -> gpd.GeoDataFrame:
    """``nearest_services``' columns under a scenario, plus ``crossing`` (the crossing's name, where one is used)."""
    if setup is None or scenario == "none":
        found = nearest_services(communities, services, max_distance_km=max_distance_km, same_country=same_country)
        found["crossing"] = pd.array([pd.NA] * len(found), dtype="string")
        return found
    open_now = setup.open_in(scenario)
    barrier = Barrier(setup.lines, open_now, setup.tolerance_m)
    labels = service_labels(services)
    max_m = None if max_distance_km is None else max_distance_km * 1000
    c_lon, c_lat = communities.geometry.x.to_numpy(), communities.geometry.y.to_numpy()
    s_lon, s_lat = services.geometry.x.to_numpy(), services.geometry.y.to_numpy()
    index = np.full(len(communities), -1, dtype=np.int64)
    distance = np.full(len(communities), np.nan)
    used = np.full(len(communities), -1, dtype=np.int64)
    if same_country:
        c_country = communities["country"].astype("string").to_numpy()
        for country in pd.unique(c_country[~pd.isna(c_country)]):
            rows = np.flatnonzero(c_country == country)
            own = np.flatnonzero(labels["country"].to_numpy() == country)
            if own.size:
                found = nearest_across(c_lon[rows], c_lat[rows], s_lon[own], s_lat[own], barrier, max_m)
                index[rows] = np.where(found.index >= 0, own[np.maximum(found.index, 0)], -1)
                distance[rows], used[rows] = found.distance_m, found.crossing
    else:
        found = nearest_across(c_lon, c_lat, s_lon, s_lat, barrier, max_m)
        index, distance, used = found.index, found.distance_m, found.crossing
    result = communities.copy()
    for column in ("id", "name", "country"):  # -1 (none in reach) takes <NA>
        result[f"service_{column}"] = pd.array(labels[column].to_numpy(), dtype="string").take(index, allow_fill=True)
    result["distance_m"] = np.round(distance, 1)
    names = np.array([c.name for c in open_now] + [None], dtype=object)
    result["crossing"] = pd.array(names[np.where(used >= 0, used, len(open_now))], dtype="string")
    return result


# --- walking time -------------------------------------------------------------------------------------------

HOUR_MIN = 60


def walk_minutes(distance_m, kmh: float = WALK_KMH, detour: float = WALK_DETOUR) -> pd.Series:
    """Estimated walking time in whole minutes: distance × detour ÷ speed. AccessMod-style travel time needs
    roads and land cover; where there are none this is the stated approximation."""
    minutes = pd.Series(distance_m, dtype="Float64") / 1000 * detour / kmh * 60
    return minutes.round(0).astype("Int64")


WALK_BANDS = ("within one hour's walk", "over one hour's walk")


def walk_band(minutes: pd.Series) -> pd.Series:
    """The walking band of each community: within or over one hour's walk, or no service in reach."""
    minutes = pd.Series(minutes, dtype="Int64")
    band = np.where(minutes.isna().to_numpy(), coverage.NO_SERVICE,
                    np.where(minutes.fillna(0).to_numpy() <= HOUR_MIN, WALK_BANDS[0], WALK_BANDS[1]))
    return pd.Series(band, index=minutes.index, dtype="string")


def within_hour(banded: pd.DataFrame, column: str = "walk_min") -> list[dict]:
    """Communities (and known population) within one hour's walk of a service, by country."""
    population = coverage.population_of(banded)
    countries = banded["country"].astype("string").fillna("?") if "country" in banded.columns \
        else pd.Series("all", index=banded.index)
    within = (banded[column] <= HOUR_MIN).fillna(False).to_numpy(dtype=bool)
    rows = []
    for country in sorted(countries.unique()):
        mask = (countries == country).to_numpy() & within
        rows.append({"country": country, "communities": int(mask.sum()),
                     "population": coverage.known_total(population[mask], int(mask.sum())),
                     "unknown_population": int(mask.sum() - population[mask].notna().sum())})
    return rows


# --- the scenarios side by side ----------------------------------------------------------------------------

CHANGED_SHOWN = 500
SCENARIO_COLUMNS = ("service_id", "service_name", "service_country", "distance_m", "crossing", "band", "walk_min",
                    "walk_band")


def _banded(communities, services, setup, scenario, bands_km, max_km, same_country, walk):
    found = coverage.with_bands(routes(communities, services, setup, scenario, max_km, same_country), bands_km)
    found["walk_min"] = walk_minutes(found["distance_m"], *walk)
    found["walk_band"] = walk_band(found["walk_min"]).to_numpy()
    return found


def changes(before: pd.DataFrame, after: pd.DataFrame) -> pd.Series:
    """Whether each community's nearest service or band differs between two scenarios."""
    service = before["service_id"].astype("string").fillna("") != after["service_id"].astype("string").fillna("")
    return (service | (before["band"].to_numpy() != after["band"].to_numpy())).astype(bool)


def _side(result: pd.DataFrame, i: int, scenario: str) -> dict:
    """One community's service, distance, band and crossing under ``scenario``."""
    p = "" if scenario == "none" else f"{scenario}_"

    def value(column):
        found = result[f"{p}{column}"].iloc[i]
        return None if pd.isna(found) else found

    distance = value("distance_m")
    return {"service": value("service_name"), "distance_m": None if distance is None else float(distance),
            "band": value("band"), "crossing": value("crossing")}


def _changed_rows(result: pd.DataFrame, before: str, after: str, mask: np.ndarray) -> list[dict]:
    population = coverage.population_of(result)
    rows = []
    def known(column, i):
        return None if column not in result or pd.isna(result[column].iloc[i]) else str(result[column].iloc[i])

    for i in np.flatnonzero(mask)[:CHANGED_SHOWN]:
        rows.append({"row": int(i) + 1, "name": known("name", i), "country": known("country", i),
                     "population": None if pd.isna(population.iloc[i]) else int(population.iloc[i]),
                     before: _side(result, i, before), after: _side(result, i, after)})
    return rows


def add_scenarios(result: gpd.GeoDataFrame, communities: gpd.GeoDataFrame, services: gpd.GeoDataFrame,
                  setup: BarrierSetup, bands_km: Sequence[float], max_km: float | None, same_country_only: bool,
                  cross_none: dict | None, walk: tuple[float, float]) -> dict:
    """Adds ``dry_…`` and ``wet_…`` columns (service, distance, crossing, band, walk_min) to ``result`` (today's
    straight-line analysis) and returns each scenario's summary, cross-border effect and changed communities."""
    with_country = "country" in communities.columns and "country" in services.columns
    document = {"assumptions": setup.describe(), "none": {
        "summary": coverage.coverage_summary(result, bands_km), "cross_border": cross_none,
        "within_hour_walk": within_hour(result)}}
    result["crossing"] = pd.array([pd.NA] * len(result), dtype="string")
    previous = "none"
    for scenario in ("dry", "wet"):
        anywhere = _banded(communities, services, setup, scenario, bands_km, max_km, False, walk)
        cross = None
        if with_country:
            own = _banded(communities, services, setup, scenario, bands_km, max_km, True, walk)
            cross = coverage.compare_own_and_any(own, anywhere, bands_km)[1]
        chosen = own if (same_country_only and with_country) else anywhere
        for column in SCENARIO_COLUMNS:
            result[f"{scenario}_{column}"] = chosen[column].to_numpy()
        from_none = changes(result, chosen).to_numpy()
        entry = {"summary": coverage.coverage_summary(chosen, bands_km), "cross_border": cross,
                 "within_hour_walk": within_hour(chosen), "unreachable": int(chosen["service_id"].isna().sum()),
                 "changed_from_none": int(from_none.sum()),
                 "changed": _changed_rows(result, "none", scenario, from_none)}
        if previous != "none":
            before = result[[f"{previous}_{c}" for c in SCENARIO_COLUMNS]].rename(columns=lambda c: c.split("_", 1)[1])
            from_previous = changes(before, chosen).to_numpy()
            entry[f"changed_from_{previous}"] = int(from_previous.sum())
            entry[f"changed_rows_from_{previous}"] = _changed_rows(result, previous, scenario, from_previous)
        document[scenario] = entry
        previous = scenario
    return document

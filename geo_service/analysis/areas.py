"""Results by administrative area: every community carries the names and p-codes of the area it falls in, and
the summary groups by any level the boundaries give.

Boundaries in the OCHA COD-AB manner carry every level in each polygon (``ADM0_PCODE``, ``ADM1_FR``,
``ADM2_PCODE``, …): those columns are kept, as ``admin_adm1_fr`` and so on, and each digit is a level. Any
other polygon layer (the bundled ``regions``) gives one level, ``area``, from its ``name`` and ``code`` (or
``id``) columns.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from geo_service.analysis import coverage
from geo_service.analysis.nearest import ProximityError
from geo_service.i18n import Text

PREFIX = "admin_"
_COD = re.compile(r"^adm(\d)_(pcode|fr|en|pt|name|ref)$", re.IGNORECASE)
_NAME_ORDER = ("fr", "en", "name", "pt", "ref")  # which name of a level the summary shows first
OUTSIDE = "outside the areas given"
MAX_AREAS = 20_000


@dataclass
class AdminAreas:
    frame: gpd.GeoDataFrame  # polygons, with the kept columns under their output names (without PREFIX)
    levels: dict[str, tuple[str, str | None]]  # level → (its code column, its name column)
    label: str


def read_areas(frame: gpd.GeoDataFrame, label: str) -> AdminAreas:
    """The polygons and the columns that name them, or a clear error."""
    kinds = set(frame.geom_type.dropna())
    if not kinds or not kinds <= {"Polygon", "MultiPolygon"}:
        raise ProximityError(Text("error", "{label}: administrative areas must be polygons; found {types}",
                                  {"label": label, "types": ", ".join(sorted(kinds)) or "nothing"}))
    if len(frame) > MAX_AREAS:
        raise ProximityError(Text("error", "{label}: at most {limit} areas, got {count}",
                                  {"label": label, "limit": f"{MAX_AREAS:,}", "count": f"{len(frame):,}"}))
    cod = {c: c.lower() for c in frame.columns if c != frame.geometry.name and _COD.match(str(c))}
    levels: dict[str, tuple[str, str | None]] = {}
    if any(name.endswith("_pcode") for name in cod.values()):
        kept = frame[[*cod, frame.geometry.name]].rename(columns=cod)
        for name in sorted(cod.values()):
            level = name.split("_")[0]
            if f"{level}_pcode" in kept.columns:
                names = [f"{level}_{n}" for n in _NAME_ORDER if f"{level}_{n}" in kept.columns]
                levels[level] = (f"{level}_pcode", names[0] if names else None)
    else:
        code = next((c for c in ("code", "pcode", "id") if c in frame.columns), None)
        name = next((c for c in ("name", "nom", "name_fr") if c in frame.columns), None)
        if code is None and name is None:
            raise ProximityError(Text("error", "{label}: the areas need ADMn_PCODE columns (as OCHA's COD-AB), or "
                                      "a name or code column", {"label": label}))
        columns = {c: f"area_{'code' if c == code else 'name'}" for c in (code, name) if c is not None}
        kept = frame[[*columns, frame.geometry.name]].rename(columns=columns)
        levels["area"] = ("area_code" if code else "area_name", "area_name" if name else None)
    for column in kept.columns:
        if column != kept.geometry.name:
            kept[column] = kept[column].astype("string")
    return AdminAreas(gpd.GeoDataFrame(kept, geometry=kept.geometry.name, crs=frame.crs), levels, label)


def assign(points: gpd.GeoSeries, areas: AdminAreas) -> tuple[pd.DataFrame, int]:
    """For each point, the columns of the area it falls in (NA outside every area); where areas overlap, the
    smallest holding it. Also how many points fell in more than one."""
    polygons = areas.frame
    hits = polygons.sindex.query(points.values, predicate="intersects")  # (point, area) pairs: boundaries count
    columns = [c for c in polygons.columns if c != polygons.geometry.name]
    out = pd.DataFrame({c: pd.array([pd.NA] * len(points), dtype="string") for c in columns}, index=points.index)
    if hits.shape[1] == 0:
        return out, 0
    area_size = shapely.area(polygons.geometry.values)[hits[1]]  # in square degrees: only to rank a point's areas
    order = np.lexsort((area_size, hits[0]))
    point, area = hits[0][order], hits[1][order]
    first = np.r_[True, point[1:] != point[:-1]]
    overlapping = int((np.bincount(point, minlength=len(points)) > 1).sum())
    for column in columns:
        values = out[column].to_numpy(dtype=object)
        values[point[first]] = polygons[column].to_numpy(dtype=object)[area[first]]
        out[column] = pd.array(values, dtype="string")
    return out, overlapping


def choose_level(areas: AdminAreas, level: str | None) -> str:
    """The level asked for, or the finest the boundaries give."""
    if level is None or level == "":
        return sorted(areas.levels)[-1]
    level = level.strip().lower()
    if level not in areas.levels:
        raise ProximityError(Text("error", "{label}: no level {level}; the areas give {levels}",
                                  {"label": areas.label, "level": repr(level), "levels": ", ".join(sorted(areas.levels))}))
    return level


def summary_by_area(banded: pd.DataFrame, areas: AdminAreas, level: str, bands_km: Sequence[float]) -> list[dict]:
    """Communities and known population by area of ``level`` and band (communities outside every area apart)."""
    code_column, name_column = areas.levels[level]
    codes = banded[PREFIX + code_column].astype("string")
    names = banded[PREFIX + name_column].astype("string") if name_column else codes
    population = coverage.population_of(banded)
    labels = [*coverage.band_labels(bands_km), coverage.NO_SERVICE]
    rows = []
    keys = pd.DataFrame({"code": codes.fillna(""), "name": names.fillna("")}).drop_duplicates()
    for code, name in sorted(keys.itertuples(index=False), key=lambda k: (k[0] == "", k[0], k[1])):
        in_area = (codes.fillna("") == code) & (names.fillna("") == name)
        for band in labels:
            mask = (in_area & (banded["band"] == band)).to_numpy()
            if band == coverage.NO_SERVICE and not mask.any():
                continue
            rows.append({"code": code or None, "name": name or (None if code else OUTSIDE), "band": band,
                         "communities": int(mask.sum()),
                         "population": coverage.known_total(population[mask], int(mask.sum())),
                         "unknown_population": int(mask.sum() - population[mask].notna().sum())})
    return rows


def add_areas(result: gpd.GeoDataFrame, areas: AdminAreas, level: str | None, bands_km: Sequence[float]) -> tuple[dict, list]:
    """Adds the ``admin_…`` columns to ``result``; returns the summary by the chosen level, and notes."""
    found, overlapping = assign(result.geometry, areas)
    for column in found.columns:
        result[PREFIX + column] = found[column].to_numpy()
    chosen = choose_level(areas, level)
    notes = []
    outside = int(found.isna().all(axis=1).sum())
    if outside:
        notes.append(Text("note", "{label}: {count} communities fall in none of the areas",
                          {"label": areas.label, "count": outside}))
    if overlapping:
        notes.append(Text("note", "{label}: {count} communities fall in more than one area; the smallest is used",
                          {"label": areas.label, "count": overlapping}))
    document = {"layer": areas.label, "levels": sorted(areas.levels), "level": chosen,
                "columns": [PREFIX + c for c in found.columns],
                "summary": summary_by_area(result, areas, chosen, bands_km)}
    return document, notes

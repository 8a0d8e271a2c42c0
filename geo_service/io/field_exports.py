"""Field survey exports read as they come: KoboToolbox, ODK Central/Briefcase, HXL-tagged tables.

Finds a table's location however the survey tool exported its geopoint:
split columns (Kobo ``_<question>_latitude``/``_longitude``/``_precision``,
ODK ``<question>-Latitude``/``-Longitude``/``-Accuracy``, each with or
without group prefixes ``group/``, ``group-``, ``group.``), the raw geopoint
column (``"lat lon altitude accuracy"``), Kobo's ``_geolocation``
(``[lat, lon]``), HXL hashtags (``#geo+lat``, ``#geo+lon``) or plain
latitude/longitude names. The columns of one geopoint question count once;
two questions (a home and a school location) are a choice the user makes,
and the error lists the file's columns and the parameters to set. Written
here because no library reads these export conventions.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from geo_service.i18n import N_, Text
from geo_service.io.bounds import IngestError

LAT_NAMES = ("lat", "latitude", "y", "lat_dd", "latitude_dd", "lat_wgs84", "gps_latitude")
LON_NAMES = ("lon", "lng", "long", "longitude", "x", "lon_dd", "longitude_dd", "lon_wgs84", "gps_longitude")
_NUMBER = r"-?[0-9]+(?:\.[0-9]+)?"
_GEOPOINT = re.compile(rf"^\s*({_NUMBER})\s+({_NUMBER})(?:\s+({_NUMBER}))?(?:\s+({_NUMBER}))?\s*$")
_GEOLOCATION = re.compile(rf"^\s*\[\s*({_NUMBER})\s*,\s*({_NUMBER})\s*\]\s*$")
_SPLIT = re.compile(r"^(?P<question>.*?)[_\-](?P<part>latitude|longitude|precision|accuracy)$")
HXL_ROLES = {"#geo+lat": "lat", "#geo+lon": "lon", "#loc+name": "name", "#population": "population",
             "#country+code": "country", "#country": "country", "#country+name": "country"}


class ColumnChoiceError(IngestError):
    """The location is in more than one place (or none): the user chooses; ``details`` lists the columns."""

    code = "ColumnChoiceNeeded"


@dataclass
class Location:
    """Where a table's points are, and what was read to find them."""

    lat: pd.Series
    lon: pd.Series
    accuracy_m: pd.Series | None
    kind: str  # split, geopoint, geolocation, hxl or named (plain latitude/longitude columns)
    columns: list[str] = field(default_factory=list)

    @property
    def plain(self) -> bool:
        """Plain latitude/longitude columns: they become the geometry (a survey's own columns are kept)."""
        return self.kind in ("named", "hxl")


def plain(name: str) -> str:
    """A header compared loosely: no accents, lower case, punctuation and spaces as underscores."""
    text = unicodedata.normalize("NFKD", str(name)).encode("ascii", "ignore").decode().lower()
    return re.sub(r"[^a-z0-9]+", "_", text).strip("_")


def question_of(column: str) -> str:
    """The question a column belongs to, without its group prefix or Kobo's leading underscore."""
    return re.split(r"[/.]", column)[-1].split("-")[-1].lstrip("_").lower() or column.lower()


def strip_hxl_row(table: pd.DataFrame) -> tuple[pd.DataFrame, dict[str, str]]:
    """Drop an HXL hashtag row under the header; return the roles it gives (column → lat, lon, name, …)."""
    if table.empty:
        return table, {}
    first = table.iloc[0].dropna().astype(str).str.strip()
    tagged = first[first.str.startswith("#")]
    if first.empty or len(tagged) < max(1, len(first) // 2):
        return table, {}
    roles = {}
    for column, tag in tagged.items():
        normalised = re.sub(r"\s+", "", tag.lower())
        for prefix, role in HXL_ROLES.items():
            if normalised == prefix or normalised.startswith(prefix + "+"):
                roles.setdefault(column, role)
                break
    return table.iloc[1:].reset_index(drop=True), roles


def numbers(values: pd.Series, decimal_comma: bool) -> pd.Series:
    """Text cells as numbers (a decimal comma read as a point when ``decimal_comma``); others become NA."""
    text = values.astype("string").str.strip()
    if decimal_comma:
        text = text.str.replace(",", ".", regex=False)
    return pd.to_numeric(text, errors="coerce")


def _all_match(values: pd.Series, pattern: re.Pattern) -> bool:
    """Every non-empty value matches (a sample first: most columns fail on their first values)."""
    present = values.dropna().astype(str)
    present = present[present.str.strip() != ""]
    if not len(present) or not present.head(20).str.match(pattern).all():
        return False
    return bool(present.str.match(pattern).all())


@dataclass
class _Candidate:
    question: str
    kind: str  # split, geopoint, geolocation, hxl, named
    columns: tuple[str, ...]

    def describe(self) -> str:
        return " + ".join(self.columns)


def _candidates(table: pd.DataFrame, roles: dict[str, str]) -> list[_Candidate]:
    columns = [str(c) for c in table.columns]
    found: list[_Candidate] = []
    hxl = {role: column for column, role in roles.items() if role in ("lat", "lon")}
    if len(hxl) == 2:
        found.append(_Candidate("hxl", "hxl", (hxl["lat"], hxl["lon"])))
    split: dict[str, dict[str, str]] = {}
    for column in columns:
        match = _SPLIT.match(column.lower())
        if match:
            split.setdefault(match["question"], {})[match["part"]] = column
    for prefix, parts in split.items():
        if "latitude" in parts and "longitude" in parts:
            accuracy = parts.get("precision") or parts.get("accuracy")
            found.append(_Candidate(question_of(prefix), "split",
                                    (parts["latitude"], parts["longitude"]) + ((accuracy,) if accuracy else ())))
    lowered = {plain(c): c for c in columns}
    lat = next((lowered[n] for n in LAT_NAMES if n in lowered), None)
    lon = next((lowered[n] for n in LON_NAMES if n in lowered), None)
    if lat and lon and not any(lat in c.columns for c in found):
        found.append(_Candidate("latitude/longitude", "named", (lat, lon)))
    for column in columns:
        if plain(column) == "geolocation" and _all_match(table[column], _GEOLOCATION):
            found.append(_Candidate("_geolocation", "geolocation", (column,)))
        elif _all_match(table[column], _GEOPOINT) and not any(column in c.columns for c in found):
            found.append(_Candidate(question_of(column), "geopoint", (column,)))
    return found


def has_location(table: pd.DataFrame) -> bool:
    """Whether any column of the table (after an HXL row) looks like a location."""
    table, roles = strip_hxl_row(table)
    return bool(_candidates(table, roles))


def _choose(found: list[_Candidate]) -> list[_Candidate]:
    """One candidate per question (split columns preferred to the raw geopoint of the same question)."""
    if any(c.kind == "hxl" for c in found):
        return [c for c in found if c.kind == "hxl"]
    by_question: dict[str, _Candidate] = {}
    for candidate in found:
        kept = by_question.get(candidate.question)
        if kept is None or (kept.kind == "geopoint" and candidate.kind == "split"):
            by_question[candidate.question] = candidate
    chosen = list(by_question.values())
    if len(chosen) > 1:  # Kobo adds _geolocation for the first geopoint question: the same place again
        chosen = [c for c in chosen if c.kind != "geolocation"]
    return chosen


def _read(table: pd.DataFrame, candidate: _Candidate, decimal_comma: bool) -> Location:
    if candidate.kind in ("geopoint", "geolocation"):
        pattern = _GEOPOINT if candidate.kind == "geopoint" else _GEOLOCATION
        parts = table[candidate.columns[0]].astype("string").str.extract(pattern)
        lat, lon = pd.to_numeric(parts[0], errors="coerce"), pd.to_numeric(parts[1], errors="coerce")
        accuracy = pd.to_numeric(parts[3], errors="coerce") if candidate.kind == "geopoint" else None
    else:
        lat = numbers(table[candidate.columns[0]], decimal_comma)
        lon = numbers(table[candidate.columns[1]], decimal_comma)
        accuracy = numbers(table[candidate.columns[2]], decimal_comma) if len(candidate.columns) > 2 else None
    return Location(lat, lon, accuracy, candidate.kind, list(candidate.columns))


def _explicit(table: pd.DataFrame, filename: str, lat_col: str | None, lon_col: str | None,
              geopoint_col: str | None) -> _Candidate:
    columns = [str(c) for c in table.columns]

    def find(wanted: str) -> str:
        lowered = {c.strip().lower(): c for c in columns}
        if wanted in columns or wanted.strip().lower() in lowered:
            return wanted if wanted in columns else lowered[wanted.strip().lower()]
        raise ColumnChoiceError(Text("error", "{file}: no column {name}; columns: {columns}",
                                     {"file": filename, "name": repr(wanted), "columns": ", ".join(columns)}),
                                details={"columns": columns})

    if geopoint_col:
        column = find(geopoint_col)
        kind = "geolocation" if _all_match(table[column], _GEOLOCATION) else "geopoint"
        return _Candidate(question_of(column), kind, (column,))
    lowered = {plain(c): c for c in columns}
    lat = find(lat_col) if lat_col else next((lowered[n] for n in LAT_NAMES if n in lowered), None)
    lon = find(lon_col) if lon_col else next((lowered[n] for n in LON_NAMES if n in lowered), None)
    if lat is None or lon is None:
        missing = N_("error", "no latitude column found") if lat is None else N_("error", "no longitude column found")
        raise ColumnChoiceError(Text("error", "{file}: {missing}; name it (lat_col, lon_col). Columns of the file: "
                                     "{columns}", {"file": filename, "missing": Text.of(missing, {}),
                                                   "columns": ", ".join(columns)}),
                                details={"columns": columns, "parameters": ["lat_col", "lon_col", "geopoint_col"]})
    return _Candidate("chosen", "named", (lat, lon))


def locate(table: pd.DataFrame, filename: str, *, roles: dict[str, str] | None = None, lat_col: str | None = None,
           lon_col: str | None = None, geopoint_col: str | None = None, decimal_comma: bool = False) -> Location:
    """The points of a table, found as described above, or a ColumnChoiceError that lists the columns."""
    if lat_col or lon_col or geopoint_col:
        return _read(table, _explicit(table, filename, lat_col, lon_col, geopoint_col), decimal_comma)
    chosen = _choose(_candidates(table, roles or {}))
    columns = [str(c) for c in table.columns]
    details = {"columns": columns, "parameters": ["lat_col", "lon_col", "geopoint_col"]}
    if len(chosen) == 1:
        return _read(table, chosen[0], decimal_comma)
    if not chosen:
        raise ColumnChoiceError(Text(
            "error", "{file}: no location found: no latitude and longitude columns, no geopoint column (\"lat lon "
            "altitude accuracy\") and no _geolocation. Choose the columns (lat_col and lon_col, or geopoint_col). "
            "Columns of the file: {columns}", {"file": filename, "columns": ", ".join(columns)}), details=details)
    details["candidates"] = [{"question": c.question, "columns": list(c.columns)} for c in chosen]
    raise ColumnChoiceError(Text(
        "error", "{file}: {count} possible locations ({locations}); choose one (lat_col and lon_col, or "
        "geopoint_col). Columns of the file: {columns}",
        {"file": filename, "count": len(chosen), "locations": "; ".join(c.describe() for c in chosen),
         "columns": ", ".join(columns)}), details=details)


def accuracy_flags(accuracy_m: pd.Series | None, threshold_m: float) -> tuple[pd.Series | None, int]:
    """Rows whose recorded GPS accuracy is worse than ``threshold_m`` (kept, flagged), and how many."""
    if accuracy_m is None:
        return None, 0
    imprecise = (accuracy_m > threshold_m).fillna(False).astype(bool)
    return imprecise, int(np.count_nonzero(imprecise))

"""Checks that bound the work an uploaded file can cause, made before GDAL materialises it.

GDAL reads what a file says it holds: a GeoPackage view is computed, a zipped
Shapefile unpacked, every sparse property made a column of every feature. So
each format is first inspected with cheap, bounded reads of its own structure
(JSON parsed once with strict hooks, CSV rows counted as a stream, SQLite
catalogue tables, zip directory and Shapefile/DBF headers), and a file over a
limit is refused whole with the limit named. Written here because no library
offers these pre-read checks for the formats together; the readers stay GDAL's.
"""

from __future__ import annotations

import csv
import io
import json
import math
from typing import Any

import numpy as np
import shapely

from geo_service.config import InputLimits
from geo_service.errors import InvalidParameterError, PayloadTooLargeError
from geo_service.i18n import N_, Text

INT64_MAX = 2**63 - 1


class IngestError(InvalidParameterError):
    """A file that cannot be read as a layer, with the reason and what to do."""

    code = "InvalidInput"


def listed(labels: list, limit: int = 5) -> str | Text:
    shown = ", ".join(str(v) for v in labels[:limit])
    if len(labels) <= limit:
        return shown
    return Text("list", "{items} and {more} more", {"items": shown, "more": len(labels) - limit})


UNITS = {"features": N_("unit", "features"), "properties (columns)": N_("unit", "properties (columns)"),
         "values (features × properties)": N_("unit", "values (features × properties)"),
         "coordinate positions": N_("unit", "coordinate positions"),
         "coordinate positions in one feature": N_("unit", "coordinate positions in one feature"),
         "MB": N_("unit", "MB"), "MB once unpacked": N_("unit", "MB once unpacked")}


def about(count: int) -> Text:
    return Text("count", "about {n}", {"n": f"{count:,}"})


def at_least(count: int) -> Text:
    return Text("count", "at least {n}", {"n": f"{count:,}"})


def over_limit(filename: str, unit: str, count: int | float | Text, limit: int, setting: str) -> PayloadTooLargeError:
    """413 naming what was counted, the limit and its setting: ``x.csv: 60,001 features, more than the 50,000 …``."""
    shown = count if isinstance(count, Text) else f"{count:,.1f}" if isinstance(count, float) else f"{count:,}"
    return PayloadTooLargeError(Text(
        "error", "{file}: {count} {unit}, more than the {limit} accepted ({setting}); the file was refused whole. "
        "Split it, or ask the server's operator to raise the limit",
        {"file": filename, "count": shown, "unit": Text.of(UNITS[unit], {}), "setting": f"GEO_SERVICE_{setting}",
         "limit": f"{limit:,}{' MB' if unit.startswith('MB') else ''}"}),
        details={"limit": f"GEO_SERVICE_{setting}", "allowed": limit})


def check_counts(filename: str, limits: InputLimits, *, features: int | None = None,
                 properties: int | None = None, vertices: int | None = None,
                 feature_vertices: int | None = None, approximate: bool = False) -> None:
    """Refuse counts over the limits (``approximate``: the counts are lower bounds read from headers)."""
    def shown(count: int):
        return about(count) if approximate else count

    if features is not None and features > limits.features:
        raise over_limit(filename, "features", shown(features), limits.features, "MAX_FEATURES")
    if properties is not None and properties > limits.properties:
        raise over_limit(filename, "properties (columns)", properties, limits.properties, "MAX_PROPERTIES")
    if features is not None and properties is not None and features * properties > limits.cells:
        raise over_limit(filename, "values (features × properties)", shown(features * properties),
                         limits.cells, "MAX_CELLS")
    if vertices is not None and vertices > limits.vertices:
        raise over_limit(filename, "coordinate positions", shown(vertices), limits.vertices, "MAX_VERTICES")
    if feature_vertices is not None and feature_vertices > limits.feature_vertices:
        raise over_limit(filename, "coordinate positions in one feature", shown(feature_vertices),
                         limits.feature_vertices, "MAX_FEATURE_VERTICES")


def check_frame(frame, filename: str, limits: InputLimits) -> None:
    """The exact counts of a frame GDAL has read (a second net behind the pre-read checks)."""
    counts = shapely.get_num_coordinates(frame.geometry.values) if len(frame) else np.zeros(1, dtype=int)
    check_counts(filename, limits, features=len(frame), properties=len(frame.columns) - 1,
                 vertices=int(counts.sum()), feature_vertices=int(counts.max()))


# --- GeoJSON -------------------------------------------------------------------------------------

def _no_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict:
    seen: set[str] = set()
    for key, _ in pairs:
        if key in seen:
            raise IngestError(Text("error", "the key {key} appears twice in one object; readers disagree on which "
                                   "one counts (GDAL would import both), so the file is refused: remove one",
                                   {"key": repr(key)}))
        seen.add(key)
    return dict(pairs)


def _no_constant(name: str) -> None:
    raise IngestError(Text("error", "the value {name} is not valid JSON (GeoJSON has no NaN or Infinity): "
                           "write null for an unknown value", {"name": name}))


def _bounded_int(text: str) -> int:
    if len(text.lstrip("-")) > 19 or abs(value := int(text)) > INT64_MAX:
        raise IngestError(Text("error", "the whole number {number} is larger than 64 bits and would not stay a "
                               "whole number; write it as text (in quotes) if it is a code",
                               {"number": text[:30] + ("…" if len(text) > 30 else "")}))
    if value <= -10**18:  # GDAL's GeoJSON reader takes a negative of 19 digits for a decimal (15-17 digits kept)
        raise IngestError(Text("error", "the whole number {number} has 19 digits and a minus sign: GDAL would read "
                               "it as a decimal and lose its last digits; write it as text (in quotes) if it is a "
                               "code", {"number": text}))
    return value


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise IngestError(Text("error", "the number {number} is too large for a double-precision number",
                               {"number": text[:30]}))
    return value


def parse_json(data: bytes, filename: str) -> Any:
    """JSON parsed strictly: UTF-8, no duplicate keys, no NaN/Infinity, integers within 64 bits, bounded depth."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise IngestError(Text("error", "{file}: cannot read as GeoJSON: not valid UTF-8 (byte {byte}); GeoJSON "
                               "is always UTF-8", {"file": filename, "byte": exc.start})) from None
    try:
        return json.loads(text, object_pairs_hook=_no_duplicate_keys, parse_constant=_no_constant,
                          parse_int=_bounded_int, parse_float=_finite_float)
    except IngestError as exc:
        raise IngestError(Text("error", "{file}: {problem}", {"file": filename, "problem": exc.text or exc.message})) from None
    except RecursionError:
        raise IngestError(Text("error", "{file}: the JSON is nested too deeply to be GeoJSON",
                               {"file": filename})) from None
    except json.JSONDecodeError as exc:
        raise IngestError(Text("error", "{file}: cannot read as GeoJSON: not valid JSON ({problem})",
                               {"file": filename, "problem": str(exc)})) from None


def _count_positions(coords: Any) -> int:
    """Positions in a coordinates array of any depth (iterative: depth is bounded by the parser)."""
    count, stack = 0, [coords]
    while stack:
        item = stack.pop()
        if isinstance(item, list) and item and not isinstance(item[0], list):
            count += 1
        elif isinstance(item, list):
            stack.extend(item)
    return count


def geojson_counts(document: Any, filename: str, limits: InputLimits) -> None:
    """Features, distinct property names, positions (in all and per feature) of a parsed FeatureCollection."""
    features = document.get("features") if isinstance(document, dict) else None
    if not isinstance(features, list):
        return  # the structure check names this
    check_counts(filename, limits, features=len(features))
    names: set[str] = set()
    total = 0
    for feature in features:
        if not isinstance(feature, dict):
            continue
        properties = feature.get("properties")
        if isinstance(properties, dict):
            names.update(properties)
            if len(names) > limits.properties:
                raise over_limit(filename, "properties (columns)", at_least(len(names)), limits.properties,
                                 "MAX_PROPERTIES")
        geometry = feature.get("geometry")
        positions = _count_positions(geometry.get("coordinates")) if isinstance(geometry, dict) else 0
        total += positions
        check_counts(filename, limits, vertices=total, feature_vertices=positions)
    check_counts(filename, limits, features=len(features), properties=len(names) + 1)


# --- CSV -----------------------------------------------------------------------------------------

def decode_text(data: bytes, filename: str) -> str:
    """UTF-8, or Windows-1252 as French Excel saves; a file mixing the two is refused (it would turn to mojibake)."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    utf8_lines, other_lines = [], []
    for number, line in enumerate(data.split(b"\n"), start=1):
        if line.isascii():
            continue
        try:
            line.decode("utf-8")
            utf8_lines.append(number)
        except UnicodeDecodeError:
            other_lines.append(number)
    if utf8_lines:
        raise IngestError(Text("error", "{file}: the file mixes UTF-8 (lines {utf8}) with another encoding (lines "
                               "{other}); accented names would be garbled. Save it again in one encoding (in Excel: "
                               "CSV UTF-8)", {"file": filename, "utf8": listed(utf8_lines),
                                              "other": listed(other_lines)}))
    try:
        return data.decode("cp1252")
    except UnicodeDecodeError:
        raise IngestError(Text("error", "{file}: the file is neither UTF-8 nor Windows-1252 text",
                               {"file": filename})) from None


def scan_csv(text: str, sep: str, filename: str, limits: InputLimits) -> None:
    """Rows and columns counted as a stream (nothing kept), so an oversized table is refused before parsing."""
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=sep)
    try:
        header = next(reader, [])
        width = len(header)
        # lat and lon columns become the geometry; the others are properties
        check_counts(filename, limits, properties=max(width - 2, 0) + 1)
        too_long: list[int] = []
        rows = 0
        for number, record in enumerate(reader, start=2):
            rows += 1
            if rows > limits.features:  # counting stops here: the rest of the file is never read
                raise over_limit(filename, "features", at_least(rows), limits.features, "MAX_FEATURES")
            if len(record) > width:
                too_long.append(number)
    except csv.Error as exc:
        raise IngestError(Text("error", "{file}: cannot read as a table: {problem}",
                               {"file": filename, "problem": str(exc)})) from None
    if too_long:
        raise IngestError(Text("error", "{file}: rows {rows} have more fields than the header's {width} (is a value "
                               "holding the separator {sep} without quotes?)",
                               {"file": filename, "rows": listed(too_long), "width": width, "sep": repr(sep)}))
    check_counts(filename, limits, features=rows, properties=max(width - 2, 0) + 1)

"""A GeoJSON FeatureCollection read once, feature by feature, into the frame GDAL would give.

Why by hand: GDAL's GeoJSON driver reads a document twice (once for the
fields, once for the features) and quietly accepts what the service refuses
(duplicate keys, 64-bit overflows), so an import used to parse a file three
times: strictly in Python, then with GDAL, then its stored copy with GDAL
again (about 100 s for 1,000,000 points). No library reads GeoJSON strictly
and feature by feature while counting. Here Python's C JSON scanner decodes
one feature at a time (objects kept as tuples of pairs, so a repeated key is
seen), the counts are checked as the features come (a file over a limit stops
at the first feature past it, before the rest is read) and the properties go
straight into columns, typed as GDAL types them (through ``read_frame``).

Only plain documents take this way: features with string ids or none, property
values that are text, numbers, booleans or null with one kind per column
(whole numbers and decimals make decimals), 2-D geometries, no ``crs``. For
anything else ``read_plain`` answers None and the caller goes the long way
(the strict check, then GDAL), which names every problem and keeps GDAL's
conversions (lists, dates, mixed columns): the two ways give the same frame
(``tests/test_geojson_stream.py``).
"""

from __future__ import annotations

import gc
import heapq
import json
import re
from collections.abc import Iterable
from itertools import repeat
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from shapely.geometry import shape

from geo_service.config import InputLimits
from geo_service.io.bounds import INT64_MAX, at_least, check_counts, over_limit
from geo_service.io.geojson_rules import _DEPTH, GEOMETRY_TYPES, _positions, geometry_problems

__all__ = ["NotPlain", "plain_frame", "read_plain", "typed_column"]

_SPACE = re.compile(r"[ \t\n\r]*")
# Where an escaped NUL or an escaped half of a UTF-16 surrogate pair may be (``_refused_escape`` decides):
# a pattern that starts with a literal is searched for at C speed
_ESCAPE = re.compile(r"\\u(?:0000|[dD][89a-fA-F][0-9a-fA-F]{2})")
_LOW_HALF = re.compile(r"\\u[dD][c-fC-F][0-9a-fA-F]{2}")
_AFTER_ITEM = re.compile(r"[ \t\n\r]*([,\]])[ \t\n\r]*")
_TOP_KEYS = frozenset({"type", "features", "bbox", "name"})
_FEATURE_KEYS = frozenset({"type", "id", "properties", "geometry", "bbox"})
_GEOMETRY_KEYS = frozenset({"type", "coordinates", "bbox"})
# What GDAL reads as a date, a time or a date-time field (then turned back into text by read_frame)
_DATE_LIKE = re.compile(r"\d{4}[-/]\d{1,2}[-/]\d{1,2}|\d{1,2}:\d{1,2}")


class NotPlain(Exception):
    """The document needs the long way (it may be fine; the long way says what is wrong if it is not)."""


def _refuse_constant(name: str) -> None:
    raise NotPlain


# A JSON object comes as a tuple of (key, value) pairs, an array as a list: the two stay apart
_DECODER = json.JSONDecoder(object_pairs_hook=tuple, parse_constant=_refuse_constant)


class _Columns:
    """Property values gathered column by column, padded with None where a feature lacks one.

    Most files give every feature the same keys in the same order: those rows are kept as tuples of
    values and turned into columns at the end in one transposition; the first feature that differs
    turns the rows so far into columns and the rest is gathered key by key. GDAL then orders the columns
    as every feature's keys allow, the earliest name first where they do not say (``_ordered``).
    """

    def __init__(self, filename: str, limits: InputLimits | None) -> None:
        self.filename, self.limits = filename, limits
        self.keys: tuple | None = None
        self.rows: list[tuple] = []
        self.values: dict[str, list] | None = None
        self.follows: set[tuple[str, str]] = set()  # (a, b): some feature has key b right after key a

    def add(self, row: int, pairs: tuple) -> None:
        if self.values is None:
            keys, values = tuple(zip(*pairs)) or ((), ())
            if keys == self.keys:
                self.rows.append(values)
                return
            if self.keys is None and row == 0 and len(set(keys)) == len(keys):
                self.keys = keys
                self._counted(len(keys))
                self.rows.append(values)
                return
            self.values = {key: list(column) for key, column in zip(self.keys or (), zip(*self.rows))} \
                if self.rows else {key: [] for key in self.keys or ()}
            self.follows.update(zip(self.keys or (), (self.keys or ())[1:]))
            self.rows = []
        self._add(row, pairs)
        self.follows.update(zip((key for key, _ in pairs), (key for key, _ in pairs[1:])))

    def _add(self, row: int, pairs: tuple) -> None:
        values = self.values
        for key, value in pairs:
            column = values.get(key)
            if column is None:
                column = values[key] = [None] * row
                self._counted(len(values))
            elif len(column) > row:
                raise NotPlain  # the same key twice in one feature's properties
            elif len(column) < row:
                column.extend(repeat(None, row - len(column)))
            column.append(value)

    def _counted(self, names: int) -> None:
        if self.limits is not None and names > self.limits.properties:
            raise over_limit(self.filename, "properties (columns)", at_least(names), self.limits.properties,
                             "MAX_PROPERTIES")

    def names(self) -> int:
        return len(self.values) if self.values is not None else len(self.keys or ())

    def frame_columns(self, rows: int) -> dict[str, Any]:
        """The typed columns; each gathered list is let go once typed (the rows' tuples before that)."""
        if self.values is None:
            order, values = list(self.keys or ()), dict(zip(self.keys or (), map(list, zip(*self.rows))))
            self.rows = []
        else:
            order, values = _ordered(self.values, self.follows), self.values
            self.values = {}
        columns = {}
        for key in order:
            column = values.pop(key, [])
            column.extend(repeat(None, rows - len(column)))
            columns[key] = typed_column(column)
        return columns


def _ordered(names: Iterable[str], follows: set[tuple[str, str]]) -> list[str]:
    """The order GDAL gives the fields of features whose keys differ: each feature's order kept, and among
    names free to come next, the smallest first (a topological sort; keys in opposite orders: the long way)."""
    before = {name: 0 for name in names}
    for _, later in follows:
        before[later] += 1
    ready = [name for name, count in before.items() if count == 0]
    heapq.heapify(ready)
    after: dict[str, list[str]] = {}
    for first, later in follows:
        after.setdefault(first, []).append(later)
    order = []
    while ready:
        name = heapq.heappop(ready)
        order.append(name)
        for later in after.get(name, ()):
            before[later] -= 1
            if before[later] == 0:
                heapq.heappush(ready, later)
    if len(order) != len(before):
        raise NotPlain
    return order


def typed_column(values: list) -> Any:
    """One property column as GDAL and ``read_frame`` type it."""
    kinds = set(map(type, values))
    has_null = type(None) in kinds
    kinds.discard(type(None))
    if not kinds or kinds == {str}:
        present = [v for v in values if v is not None] if has_null else values
        if present and _DATE_LIKE.match(present[0]) and all(_DATE_LIKE.match(v) for v in present):
            raise NotPlain  # GDAL makes it a date, time or date-time field
        return pd.array(values, dtype="str")
    if kinds == {bool}:
        return np.array(values, dtype=object if has_null else bool)
    if kinds == {int}:
        try:  # through numpy when nothing is missing: ten times faster from a list
            whole = pd.array(values if has_null else np.array(values, dtype=np.int64), dtype="Int64")
        except (OverflowError, TypeError, ValueError):
            raise NotPlain from None  # beyond 64 bits: refused by the strict check, with its message
        if whole.min() <= -10**18:
            raise NotPlain  # GDAL reads a negative whole number of 19 digits as a decimal
        return whole
    if kinds == {int, float} and any(type(v) is int and not -10**18 < v <= INT64_MAX for v in values):
        raise NotPlain
    if kinds == {float} or kinds == {int, float}:
        column = np.array(values, dtype=float)  # None becomes NaN, as GDAL's null
        if np.isinf(column).any():
            raise NotPlain  # a number beyond double precision: refused by the strict check
        return column
    raise NotPlain  # mixed kinds, lists or objects: GDAL converts them


class _Geometries:
    """Points kept as coordinates (made in one vectorised call), other geometries made one by one."""

    def __init__(self) -> None:
        self.xs: list = []
        self.ys: list = []
        self.point_rows: list[int] = []
        self.others: dict[int, Any] = {}
        self.positions = 0

    def add(self, row: int, pairs: Any) -> int:
        """Keep one feature's geometry; return its number of positions."""
        if type(pairs) is tuple and len(pairs) == 2:  # the usual point: {"type": "Point", "coordinates": [x, y]}
            (first, kind), (second, coordinates) = pairs
            if first == "type" and kind == "Point" and second == "coordinates":
                return self._point(row, coordinates)
        if type(pairs) is not tuple:  # no geometry (or not an object): the strict check names the feature
            raise NotPlain
        geometry = dict(pairs)
        if len(geometry) != len(pairs) or not geometry.keys() <= _GEOMETRY_KEYS:
            raise NotPlain
        kind, coordinates = geometry.get("type"), geometry.get("coordinates")
        if kind == "Point":
            return self._point(row, coordinates)
        if kind not in GEOMETRY_TYPES or geometry_problems(geometry, structure_only=True):
            raise NotPlain
        positions = list(_positions(coordinates, _DEPTH[kind]))
        if any(len(position) != 2 for position in positions):
            raise NotPlain  # 3-D: the long way
        self.others[row] = shape(geometry)
        return len(positions)

    def _point(self, row: int, coordinates: Any) -> int:
        if type(coordinates) is not list or len(coordinates) != 2:
            raise NotPlain  # 3-D, empty or malformed: the long way
        self.xs.append(coordinates[0])
        self.ys.append(coordinates[1])
        self.point_rows.append(row)
        return 1

    def array(self, rows: int) -> np.ndarray:
        xs, ys = self.xs, self.ys
        if not set(map(type, xs)) | set(map(type, ys)) <= {int, float}:
            raise NotPlain
        try:
            x, y = np.array(xs, dtype=float), np.array(ys, dtype=float)
        except OverflowError:
            raise NotPlain from None
        if not (np.isfinite(x).all() and np.isfinite(y).all() and (np.abs(x) <= 180).all()
                and (np.abs(y) <= 90).all()):
            raise NotPlain
        points = shapely.points(x, y)
        if len(points) == rows:
            return points
        geometries = np.empty(rows, dtype=object)
        geometries[np.array(self.point_rows, dtype=np.int64)] = points
        for row, geometry in self.others.items():
            geometries[row] = geometry
        return geometries


def _space(text: str, at: int) -> int:
    return _SPACE.match(text, at).end()


class _Reader:
    def __init__(self, text: str, filename: str, limits: InputLimits | None) -> None:
        self.text, self.filename, self.limits = text, filename, limits
        self.columns = _Columns(filename, limits)
        self.geometries = _Geometries()
        self.ids: list | None = None
        self.rows = 0

    def document(self) -> dict:
        """The top-level members other than ``features``, whose features are read on the way."""
        text, at = self.text, _space(self.text, 0)
        if text[at:at + 1] != "{":
            raise NotPlain
        members: dict = {}
        at = _space(text, at + 1)
        while text[at:at + 1] != "}":
            key, at = _DECODER.raw_decode(text, at)
            at = _space(text, at)
            if type(key) is not str or key in members or text[at:at + 1] != ":":
                raise NotPlain
            at = _space(text, at + 1)
            if key == "features":
                at, members[key] = self.features(at), None
            else:
                members[key], at = _DECODER.raw_decode(text, at)
            at = _space(text, at)
            if text[at:at + 1] == ",":
                at = _space(text, at + 1)
            elif text[at:at + 1] != "}":
                raise NotPlain
        if _space(text, at + 1) != len(text):
            raise NotPlain
        return members

    def features(self, at: int) -> int:
        text, scan, after, feature = self.text, _DECODER.scan_once, _AFTER_ITEM.match, self.feature
        if text[at:at + 1] != "[":
            raise NotPlain
        at = _space(text, at + 1)
        if text[at:at + 1] == "]":
            return at + 1
        while True:  # the loop every feature goes through: kept to the calls it needs
            try:
                pairs, at = scan(text, at)
            except StopIteration:
                raise NotPlain from None
            feature(pairs)
            separator = after(text, at)
            if separator is None:
                raise NotPlain
            at = separator.end()
            if separator.group(1) == "]":
                return at

    def feature(self, pairs: Any) -> None:
        row, limits = self.rows, self.limits
        if limits is not None and row >= limits.features:
            raise over_limit(self.filename, "features", at_least(row + 1), limits.features, "MAX_FEATURES")
        if type(pairs) is not tuple:
            raise NotPlain
        feature = dict(pairs)
        if len(feature) != len(pairs) or feature.get("type") != "Feature" or not feature.keys() <= _FEATURE_KEYS:
            raise NotPlain
        self._id(row, feature)
        properties = feature.get("properties")
        if properties is not None and type(properties) is not tuple:
            raise NotPlain
        self.columns.add(row, properties or ())
        if limits is not None and (row + 1) * (self.columns.names() + 1) > limits.cells:
            raise over_limit(self.filename, "values (features × properties)",
                             at_least((row + 1) * (self.columns.names() + 1)), limits.cells, "MAX_CELLS")
        positions = self.geometries.add(row, feature.get("geometry"))
        self.geometries.positions += positions
        if limits is not None and (positions > 1 or self.geometries.positions > limits.vertices):
            check_counts(self.filename, limits, vertices=self.geometries.positions, feature_vertices=positions)
        self.rows = row + 1

    def _id(self, row: int, feature: dict) -> None:
        """String ids on every feature, or on none (GDAL reads other ids differently: see the module)."""
        if "id" in feature:
            if type(feature["id"]) is not str or (self.ids is None and row > 0):
                raise NotPlain
            if self.ids is None:
                self.ids = []
            self.ids.append(feature["id"])
        elif self.ids is not None:
            raise NotPlain

    def frame(self) -> gpd.GeoDataFrame:
        rows = self.rows
        if self.limits is not None:
            check_counts(self.filename, self.limits, features=rows, properties=self.columns.names() + 1)
        columns = self.columns.frame_columns(rows)
        geometries = self.geometries.array(rows) if rows else np.array([], dtype=object)
        return plain_frame(columns, self.ids, geometries, rows)


def plain_frame(columns: dict[str, Any], ids: list[str] | None, geometries: np.ndarray,
                rows: int) -> gpd.GeoDataFrame:
    """The frame of a plain document from its typed columns (``typed_column``), its ids and geometries."""
    names = [*columns, *(["id"] if ids is not None else [])]
    if len({name.lower() for name in names}) != len(names):
        raise NotPlain  # names equal but for case ("a", "A"; "id", "ID"): GDAL's fields ignore case
    if ids is not None:
        if "id" in columns or len(set(ids)) != rows:
            raise NotPlain  # an id twice, or ids both on the features and in their properties
        columns = {"id": pd.array(ids, dtype="str"), **columns}
    return gpd.GeoDataFrame(columns, geometry=gpd.GeoSeries(geometries, crs="EPSG:4326"),
                            index=pd.RangeIndex(rows))


def _refused_escape(text: str) -> bool:
    """Whether the document escapes a NUL, or half of a surrogate pair alone (GDAL would cut or replace the
    text; the long way refuses it with a message)."""
    paired = -1  # where the low half of the last pair starts
    for match in _ESCAPE.finditer(text):
        start = backslash = match.start()
        while backslash and text[backslash - 1] == "\\":
            backslash -= 1
        if (start - backslash) % 2:
            continue  # "\\u0000": an escaped backslash, then text
        code = int(match.group()[2:], 16)  # noqa: FURB166 (the prefix is "\\u", not "0x")
        if code == 0:
            return True
        if code < 0xDC00:  # a high half: its low half must follow at once
            if not _LOW_HALF.match(text, match.end()):
                return True
            paired = match.end()
        elif start != paired:
            return True
    return False


def read_plain(data: bytes | str, filename: str, limits: InputLimits | None = None) -> gpd.GeoDataFrame | None:
    """The document (its bytes, or its text already decoded) as a GeoDataFrame in EPSG:4326, or None when it
    is not plain (see the module).

    With ``limits``, a document over one is refused (413) at the first feature past it.
    """
    try:
        text = data.decode("utf-8-sig") if isinstance(data, bytes) else data
    except UnicodeDecodeError:
        return None
    if _refused_escape(text):
        return None  # refused by the long way, with its message
    reader = _Reader(text, filename, limits)
    collecting = gc.isenabled()
    gc.disable()  # millions of lists and tuples, none in a cycle: the collector would only rescan them (-20 %)
    try:
        members = reader.document()
        if members.get("type") != "FeatureCollection" or "features" not in members \
                or not members.keys() <= _TOP_KEYS:
            return None
        return reader.frame()
    except (NotPlain, ValueError, RecursionError, OverflowError, TypeError):
        return None  # ValueError covers json.JSONDecodeError and whole numbers of thousands of digits
    finally:
        if collecting:
            gc.enable()

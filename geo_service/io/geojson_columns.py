"""Property values gathered into columns and typed as GDAL types them, for the one-pass reader and the
writer of plain layers (``geojson_stream``, ``geojson_writer``): both give the frame GDAL and ``read_frame``
would give for the same document."""

from __future__ import annotations

import heapq
import re
from collections.abc import Iterable
from itertools import repeat
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow as pa

from geo_service.config import InputLimits
from geo_service.io.bounds import INT64_MAX, at_least, over_limit

__all__ = ["Columns", "NotPlain", "plain_frame", "typed_column"]

# What GDAL reads as a date, a time or a date-time field (then turned back into text by read_frame)
DATE_LIKE = re.compile(r"\d{4}[-/]\d{1,2}[-/]\d{1,2}|\d{1,2}:\d{1,2}")

class NotPlain(Exception):
    """The document needs the long way (it may be fine; the long way says what is wrong if it is not)."""


class Columns:
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
        self.tail: list[list] = []  # columns of later rows with the same keys, read beside (``geojson_stream``)

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
            order = list(self.keys or ())
            values = dict(zip(order, map(list, zip(*self.rows)))) if self.rows else {key: [] for key in order}
            for column, later in zip(values.values(), self.tail):
                column.extend(later)
            self.rows, self.tail = [], []
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
        if present and DATE_LIKE.match(present[0]) and all(DATE_LIKE.match(v) for v in present):
            raise NotPlain  # GDAL makes it a date, time or date-time field
        return texts(values)
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


def texts(values: list) -> pd.api.extensions.ExtensionArray:
    """Texts (None where missing) as the ``str`` column pandas makes of them, through Arrow: three times
    faster from a list than ``pd.array(values, dtype="str")``, and the same array."""
    return pd.array(pa.array(values, type=pa.large_string()), dtype="str")


def _id_column(ids: list) -> Any:
    """Text ids as a text column; whole-number ids (all of them, the reader has seen) as nullable integers,
    as ``io.ogr`` reads them from a document GDAL read."""
    if not ids or type(ids[0]) is str:
        return texts(ids)
    if min(ids) < -(2**63) or max(ids) >= 2**63:
        raise NotPlain  # beyond 64 bits: the long way refuses the document and says why
    return pd.array(ids, dtype="Int64")


def plain_frame(columns: dict[str, Any], ids: list[str] | list[int] | None, geometries: np.ndarray,
                rows: int, *, unique_ids: bool = False) -> gpd.GeoDataFrame:
    """The frame of a plain document from its typed columns (``typed_column``), its ids and geometries
    (``unique_ids``: the caller has seen that no id comes twice)."""
    names = [*columns, *(["id"] if ids is not None else [])]
    if len({name.lower() for name in names}) != len(names):
        raise NotPlain  # names equal but for case ("a", "A"; "id", "ID"): GDAL's fields ignore case
    if ids is not None:
        if "id" in columns or not (unique_ids or len(set(ids)) == rows):
            raise NotPlain  # an id twice, or ids both on the features and in their properties
        columns = {"id": _id_column(ids), **columns}
    return gpd.GeoDataFrame(columns, geometry=gpd.GeoSeries(geometries, crs="EPSG:4326"),
                            index=pd.RangeIndex(rows))

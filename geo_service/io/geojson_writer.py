"""A point layer written as GDAL's RFC 7946 GeoJSON writer writes it, byte for byte, without GDAL.

Why by hand: writing a layer of 1,000,000 points through GDAL took 30 s
(json-c builds an object tree per feature), and reading the file back to know
what its readers will get took 24 s more. No library writes GDAL's exact
bytes; and the bytes must stay GDAL's, so that a layer's version (the hash of
its file) does not depend on which way it was written. The rules below are
GDAL's (``ogrgeojsonwriter.cpp``, ``OGRFormatDouble`` in ``ogrutils.cpp``):

- coordinates: ``%.7f``, then GDAL's "intelliround" of a run of five 0s or
  9s before the last digit, then the trailing zeros taken off (one kept);
- decimals in properties: ``%.17g``, or the first of ``%.16g``/``%.15g``/
  ``%.14g`` whose decimals hold no run of six 0s or 9s; ``.0`` added to a
  whole number;
- text: json-c's escapes (the same set as Python's ``json``, ``/`` left
  alone), written as UTF-8;
- json-c's spacing: ``{ "a": 1 }``, ``[ 1, 2 ]``, one feature per line.

As the numbers are formatted here, the values a reader gets back are known
without reading the file: each decimal and coordinate is the float of its text.
The frame returned is built by the reader's own typing (``geojson_columns``), so it is the
frame ``read_plain`` gives for the file (``tests/test_geojson_writer.py`` checks
both against GDAL on generated frames).

Only plain point layers take this way: every geometry a 2-D point, text or whole-number ids
(unique) or none, columns of text, whole numbers, decimals or booleans (with
missing values). ``write_plain`` answers None for anything else and the store
writes through GDAL as before.

In a command (one thread, two cores: ``forked``), the later half of a large layer is formatted by a forked
child at the same time and its bytes written after the first half's (the same bytes: ``tests/test_forked.py``).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from json.encoder import encode_basestring  # C: json-c's escapes, non-ASCII kept
from typing import BinaryIO

import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import shapely

from geo_service import forked
from geo_service.io.geojson_columns import DATE_LIKE, NotPlain, plain_frame, typed_column

__all__ = ["write_plain"]

_CHUNK = 65_536  # features formatted, written and let go at a time
SPLIT_FEATURES = 150_000  # a layer of at least this many features has its later half formatted beside
# the child's own memory by feature of its half: the pages of the values it reads are copied at the fork's
# first write (counts of references), and its part's bytes (1.2 GB for 500,000 points of 12 values, measured)
CHILD_BYTES_PER_FEATURE = 2_500
_HEAD = b'{\n"type": "FeatureCollection",\n"features": [\n'
_TAIL = b"\n]\n}\n"


def _roundup(digits: str) -> str:
    """GDAL's ``roundup``: one added to the last digit of a decimal text, carried to the left."""
    negative = digits.startswith("-")
    chars = list(digits[1:] if negative else digits)
    for pos in range(len(chars) - 1, -1, -1):
        if chars[pos] == ".":
            continue
        if chars[pos] != "9":
            chars[pos] = chr(ord(chars[pos]) + 1)
            break
        chars[pos] = "0"
        if pos == 0:
            chars.insert(0, "1")
    return ("-" if negative else "") + "".join(chars)


def _intelliround(text: str) -> str:
    """GDAL's ``intelliround`` for 7 decimals: a run of five 0s (or 9s) before the last digit is taken as
    binary noise (its longer-run branches need more decimals than 7 and never apply)."""
    if len(text) <= 10:
        return text
    tail = text[-6:-1]
    if tail == "00000":
        return text[:-1]
    if tail == "99999":
        return _roundup(text[:-6])
    return text


def coordinate_text(value: float) -> str:
    """One coordinate as GDAL writes it with 7 decimals."""
    return coordinate_texts([value])[0]


def coordinate_texts(values: list[float]) -> list[str]:
    """Coordinates as GDAL writes them with 7 decimals (lists at a time: a million points in about a second)."""
    texts = list(map("%.7f".__mod__, values))
    rounded = [_intelliround(t) if len(t) > 10 and t[-6:-1] in _NOISE else t for t in texts]
    stripped = [t.rstrip("0") for t in rounded]
    return [t + "0" if t[-1] == "." else t for t in stripped]


_NOISE = frozenset({"00000", "99999"})
_RUN = re.compile(r"\..*?(?:000000|999999)")  # a run of six 0s or 9s after the point


def real_text(value: float) -> str:
    """One decimal property as GDAL writes it (``OGR_json_double_with_significant_figures_to_string``)."""
    text = "%.17g" % value  # noqa: UP031 (printf's formats, as GDAL's)
    if ("000000" in text or "999999" in text) and _RUN.search(text):
        for figures in (16, 15, 14):
            shorter = "%.*g" % (figures, value)  # noqa: UP031
            if "." in shorter and not _RUN.search(shorter):
                text = shorter
                break
    if "." not in text and "e" not in text:
        text += ".0"
    return text


def real_texts(numbers: np.ndarray) -> tuple[list[str], np.ndarray]:
    """Decimals (NaN where missing) as GDAL writes them, each distinct value formatted once, and the values a
    reader gets back from those texts."""
    texts = np.full(len(numbers), "null", dtype=object)
    back = np.full(len(numbers), np.nan)
    zero = numbers == 0
    texts[zero] = np.where(np.signbit(numbers[zero]), "-0.0", "0.0")  # one value to np.unique, two texts
    back[zero] = numbers[zero]
    other = ~zero & ~np.isnan(numbers)
    distinct, where = np.unique(numbers[other], return_inverse=True)
    formatted = [real_text(value) for value in distinct.tolist()]
    texts[other] = np.array(formatted, dtype=object)[where]
    back[other] = decimals(formatted)[where]
    return texts.tolist(), back


def decimals(texts: list[str]) -> np.ndarray:
    """The floats of decimal texts, as a JSON reader gets them: Arrow parses them correctly rounded (as
    Python's ``float`` does), four times faster than NumPy from a list."""
    return pc.cast(pa.array(texts, type=pa.string()), pa.float64()).to_numpy()


def _texts(values: list, write: Callable[[object], str], missing: bool) -> list[str]:
    if not missing:
        return list(map(write, values))
    return ["null" if value is None else write(value) for value in values]


def _bool_text(value: bool) -> str:
    return "true" if value else "false"


class _Column:
    """One property column: its values (None where missing; decimals as an array, NaN where missing), how one
    is written, and what a reader gets back (decimals: the float of their text; other values as they are)."""

    def __init__(self, name: str, values: list | np.ndarray, write: Callable[[object], str] | None,
                 series: pd.Series) -> None:
        self.name, self.values, self.write = name, values, write
        self.decimal = write is None
        self.missing = not self.decimal and None in values
        self.back: list[np.ndarray] = []
        self.typed = None if self.decimal else _as_typed(series)
        if self.typed is None and not self.decimal:
            self.typed = typed_column(values)  # raises NotPlain for dates, overlong numbers

    def texts(self, start: int, stop: int) -> list[str]:
        if not self.decimal:
            return _texts(self.values[start:stop], self.write, self.missing)
        texts, back = real_texts(self.values[start:stop])
        self.back.append(back)
        return texts

    def read_back(self):
        """The column as a reader of the file types it."""
        if not self.decimal:
            return self.typed
        back = np.concatenate(self.back)
        if not np.isnan(back).all():
            return back  # what typed_column makes of these floats (with None for NaN), without a list
        return typed_column(np.where(np.isnan(back), None, back).tolist())


_TEXT = pd.StringDtype("pyarrow", na_value=np.nan)  # the "str" columns typed_column makes


def _as_typed(series: pd.Series):
    """The column itself when it is already what ``typed_column`` makes of its values (texts that do not
    look like dates, whole numbers a reader keeps whole, booleans with none missing); else None."""
    dtype = series.dtype
    if dtype == _TEXT:
        first = series.first_valid_index()
        return series.array if first is None or not DATE_LIKE.match(series[first]) else None
    if dtype == "Int64" and series.notna().any() and series.min() > -10**18:
        return series.array
    if dtype == np.bool_:
        return series.to_numpy()
    return None


def _plain_values(series: pd.Series) -> tuple[list | np.ndarray, Callable[[object], str] | None] | None:
    """A column's values (None where missing) and how to write one (decimals: their array and None); None
    when the column is not plain (GDAL converts or skips some of its values)."""
    dtype = series.dtype
    missing = series.isna().to_numpy()
    if dtype.kind == "f":
        numbers = series.to_numpy(dtype=float, na_value=np.nan)
        if dtype != np.float64 or np.isinf(numbers).any():
            return None  # float32 is written with 8 figures; GDAL skips infinities
        return numbers, None
    if dtype.kind in "iu" or str(dtype) in {"Int8", "Int16", "Int32", "Int64", "UInt8", "UInt16", "UInt32"}:
        if dtype.kind == "u" and dtype.itemsize == 8:
            return None  # beyond 64-bit signed: GDAL makes them decimals
        return _objects(series, missing), str
    if dtype.kind == "b" or str(dtype) == "boolean":
        return _objects(series, missing), _bool_text
    if dtype == object or isinstance(dtype, pd.StringDtype):
        values = _objects(series, missing)
        kinds = set(map(type, values)) - {type(None)}
        if kinds <= {str}:
            if "\x00" in "".join(filter(None, values)):
                return None  # GDAL cuts a text at NUL
            return values, encode_basestring
        if kinds == {bool}:
            return values, _bool_text
    return None


def _objects(series: pd.Series, missing: np.ndarray) -> list:
    values = series.astype(object).tolist()
    if missing.any():
        values = [None if gone else value for value, gone in zip(values, missing.tolist())]
    return values


def _points(frame: gpd.GeoDataFrame) -> tuple[np.ndarray, np.ndarray] | None:
    geometries = frame.geometry.values
    if len(geometries) and not (shapely.get_type_id(geometries) == 0).all():
        return None  # lines, polygons, missing geometries: GDAL's writer
    if shapely.has_z(geometries).any() or shapely.is_empty(geometries).any():
        return None
    x, y = shapely.get_x(geometries), shapely.get_y(geometries)
    if not (np.isfinite(x).all() and np.isfinite(y).all()):
        return None
    return x, y


def _ids(frame: gpd.GeoDataFrame) -> list[str] | list[int] | None | bool:
    """The features' ids (text, or whole numbers), None without an ``id`` column, False when they are not
    plain."""
    if "id" not in frame.columns:
        return None
    found = _plain_values(frame["id"])
    if found is None or found[1] not in (encode_basestring, str):
        return False
    ids = found[0]
    if any(v is None for v in ids) or len(set(ids)) != len(ids):
        return False
    return ids


def _columns(frame: gpd.GeoDataFrame) -> list[_Column] | None:
    names = [name for name in frame.columns if name not in {"id", frame.geometry.name}]
    if len({name.lower() for name in [*names, "id"]}) != len(names) + 1 or not all(
            isinstance(name, str) for name in names):
        return None  # names equal but for case: GDAL's fields ignore case
    columns = []
    for name in names:
        found = _plain_values(frame[name])
        if found is None or "\x00" in name:
            return None
        try:
            columns.append(_Column(name, *found, frame[name]))
        except (NotPlain, UnicodeEncodeError):
            return None  # dates, whole numbers GDAL reads as decimals, half a surrogate pair: GDAL's writer
    return columns


def _template(ids: list[str] | None, columns: list[_Column]) -> str:
    """One feature's line with a ``%s`` for each value (json-c's spacing; a name's % doubled)."""
    names = [encode_basestring(column.name).replace("%", "%%") + ": %s" for column in columns]
    properties = "{ " + ", ".join(names) + " }" if names else "{ }"
    return ('{ "type": "Feature", ' + ('"id": %s, ' if ids is not None else "") + '"properties": ' + properties
            + ', "geometry": { "type": "Point", "coordinates": [ %s, %s ] } }')


def _chunks(write: Callable[[bytes], object], template: str, ids: list[str] | None, columns: list[_Column],
            x: np.ndarray, y: np.ndarray, begin: int, end: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """Features ``begin`` to ``end`` (a multiple of ``_CHUNK`` apart from the last) formatted and written
    chunk by chunk; their coordinates as a reader gets them."""
    back = []
    for start in range(begin, max(end, begin + 1), _CHUNK):
        stop = min(start + _CHUNK, end)
        xs, ys = coordinate_texts(x[start:stop].tolist()), coordinate_texts(y[start:stop].tolist())
        values = [column.texts(start, stop) for column in columns]
        if ids is not None:
            values.insert(0, list(map(str if type(ids[0]) is int else encode_basestring, ids[start:stop])))
        body = ",\n".join(map(template.__mod__, zip(*values, xs, ys)))
        write((_HEAD if start == 0 else b",\n") + body.encode("utf-8") + (_TAIL if stop == len(x) else b""))
        back.append((decimals(xs), decimals(ys)))
    return back


def _part(template: str, ids: list[str] | None, columns: list[_Column], x: np.ndarray, y: np.ndarray,
          begin: int) -> tuple:
    """In a forked child: the bytes of features ``begin`` to the end, their coordinates and each decimal
    column as a reader gets them."""
    parts: list[bytes] = []
    back = _chunks(parts.append, template, ids, columns, x, y, begin, len(x))
    return b"".join(parts), back, [column.back for column in columns]


def _write(handle: BinaryIO, ids: list[str] | None, columns: list[_Column], x: np.ndarray,
           y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The document written chunk by chunk (the later chunks of a large layer formatted by a forked child
    beside, when the process may fork: ``forked``); its coordinates as a reader gets them."""
    template = _template(ids, columns)
    split = len(x) if len(x) < SPLIT_FEATURES else (len(x) // 2 // _CHUNK + 1) * _CHUNK
    if split < len(x) and not forked.available(memory=CHILD_BYTES_PER_FEATURE * (len(x) - split)):
        split = len(x)
    child = forked.Beside(_part, template, ids, columns, x, y, split) if split < len(x) else None
    try:
        back = _chunks(handle.write, template, ids, columns, x, y, 0, split)
    except BaseException:
        if child is not None:
            child.cancel()
        raise
    if child is not None:
        part = child.result()
        if part is None:  # the child failed: the part is formatted here (and any error raised here)
            back += _chunks(handle.write, template, ids, columns, x, y, split, len(x))
        else:
            data, later, column_backs = part[0]
            handle.write(data)
            back += later
            for column, column_back in zip(columns, column_backs):
                column.back += column_back
    return np.concatenate([xs for xs, _ in back]), np.concatenate([ys for _, ys in back])


def write_plain(frame: gpd.GeoDataFrame, handle: BinaryIO) -> gpd.GeoDataFrame | None:
    """Write ``frame`` (EPSG:4326) to ``handle`` as GDAL would; return the frame its readers get, or None,
    with nothing left written, when the frame is not a plain point layer. (The store hashes the file it
    fsynced for the version, as it does for GDAL's.)"""
    if not len(frame):
        return None  # a file without features has no fields: its reader's frame has no columns
    points = _points(frame)
    ids = _ids(frame)
    columns = _columns(frame) if points is not None and ids is not False else None
    if columns is None:
        return None
    start = handle.tell()
    try:
        x, y = _write(handle, ids, columns, *points)
        same = np.array_equal(x, points[0]) and np.array_equal(y, points[1])  # already 7 decimals at most
        geometries = frame.geometry.values.to_numpy() if same else shapely.points(x, y)
        typed = {column.name: column.read_back() for column in columns}
        return plain_frame(typed, ids, geometries, len(frame), unique_ids=True)  # _ids saw them unique
    except (UnicodeEncodeError, NotPlain):  # half a surrogate pair in a text; GDAL's writer says what it does
        handle.seek(start)
        handle.truncate()
        return None

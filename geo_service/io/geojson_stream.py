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
straight into columns, typed as GDAL types them (``geojson_columns``).

Only plain documents take this way: features with string ids, whole-number ids or none, property
values that are text, numbers, booleans or null with one kind per column
(whole numbers and decimals make decimals), 2-D geometries, no ``crs``. For
anything else ``read_plain`` answers None and the caller goes the long way
(the strict check, then GDAL), which names every problem and keeps GDAL's
conversions (lists, dates, mixed columns): the two ways give the same frame
(``tests/test_geojson_stream.py``).

In a command (one thread, two cores: ``forked``), the later features of a large document are read by a
forked child at the same time, if the document has one feature per line; the child's part is taken only
where it continues the reader's exactly (``_Reader._join``), else read here (``tests/test_forked.py``).
"""

from __future__ import annotations

import gc
import json
import re
from typing import Any

import geopandas as gpd
import numpy as np
import shapely
from shapely.geometry import shape

from geo_service import forked
from geo_service.config import InputLimits
from geo_service.io.bounds import at_least, check_counts, over_limit
from geo_service.io.geojson_columns import Columns, NotPlain, plain_frame
from geo_service.io.geojson_rules import _DEPTH, GEOMETRY_TYPES, _positions, geometry_problems

__all__ = ["read_plain"]

_SPACE = re.compile(r"[ \t\n\r]*")
# Where an escaped NUL or an escaped half of a UTF-16 surrogate pair may be (``_refused_escape`` decides):
# a pattern that starts with a literal is searched for at C speed
_ESCAPE = re.compile(r"\\u(?:0000|[dD][89a-fA-F][0-9a-fA-F]{2})")
_LOW_HALF = re.compile(r"\\u[dD][c-fC-F][0-9a-fA-F]{2}")
_AFTER_ITEM = re.compile(r"[ \t\n\r]*([,\]])[ \t\n\r]*")
_LINE_OBJECT = re.compile(r"\n[ \t\r]*\{")
# A document of at least this many characters has its later features read by a forked child beside the
# reader (``forked``), when the process may fork: 64 MB is about 170,000 points of a dozen properties.
SPLIT_CHARS = 64 * 2**20
CHILD_SHARE = 0.4  # the child also turns its rows into columns and pickles them
CHILD_BYTES_PER_CHAR = 4  # the child's own memory by character of its part (0.5 GB for 150 MB, measured)
_TOP_KEYS = frozenset({"type", "features", "bbox", "name"})
_FEATURE_KEYS = frozenset({"type", "id", "properties", "geometry", "bbox"})
_ID_TYPES = (str, int)  # ``type(x) in``: a boolean is not a whole-number id
_GEOMETRY_KEYS = frozenset({"type", "coordinates", "bbox"})


def _refuse_constant(name: str) -> None:
    raise NotPlain


# A JSON object comes as a tuple of (key, value) pairs, an array as a list: the two stay apart
_DECODER = json.JSONDecoder(object_pairs_hook=tuple, parse_constant=_refuse_constant)


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


def _usual(pairs: Any) -> tuple | None:
    """(id, property names, property values, coordinates) of a feature written as GDAL and most tools write
    it (type, a text or whole-number id, properties, a point, in that order), taken apart in one go; None for
    any other."""
    if type(pairs) is not tuple or len(pairs) != 4:
        return None
    try:
        (k0, v0), (k1, ident), (k2, properties), (k3, geometry) = pairs
        if type(properties) is not tuple or type(geometry) is not tuple:
            return None
        (g0, kind), (g1, coordinates) = geometry
        keys, values = zip(*properties)
    except ValueError:  # another number of members
        return None
    if (k0 == "type" and v0 == "Feature" and k1 == "id" and type(ident) in _ID_TYPES and k2 == "properties"
            and k3 == "geometry" and g0 == "type" and kind == "Point" and g1 == "coordinates"
            and type(coordinates) is list and len(coordinates) == 2):
        return ident, keys, values, coordinates
    return None


class _Reader:
    def __init__(self, text: str, filename: str, limits: InputLimits | None) -> None:
        self.text, self.filename, self.limits = text, filename, limits
        self.columns = Columns(filename, limits)
        self.geometries = _Geometries()
        self.ids: list | None = None
        self.id_type: type | None = None  # str or int: the ids of a plain document are all of one kind
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
        text = self.text
        if text[at:at + 1] != "[":
            raise NotPlain
        at = _space(text, at + 1)
        if text[at:at + 1] == "]":
            return at + 1
        split = _split(text, at) if len(text) - at >= SPLIT_CHARS else None
        if split is not None and not forked.available(memory=CHILD_BYTES_PER_CHAR * (len(text) - split)):
            split = None
        if split is None:
            return self.items(at)[0]
        child = forked.Beside(_rest, text, split, self.filename, self.limits)
        try:
            at, ended = self.items(at, split)
        except BaseException:
            child.cancel()
            raise
        if not ended and at == split:  # the features before the child's part are read; the part starts one
            joined = self._join(child.result())
            if joined is not None:
                return joined
        else:
            child.cancel()  # the document ended before, or the split fell inside a feature
        return at if ended else self.items(at)[0]

    def items(self, at: int, stop: int | None = None) -> tuple[int, bool]:
        """The features from ``at`` (the start of one) to the end of the array (the position after it, and
        True); with ``stop``, up to the first feature that starts there or after (its position, and False)."""
        text, scan, after, feature = self.text, _DECODER.scan_once, _AFTER_ITEM.match, self.feature
        stop = len(text) if stop is None else stop
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
                return at, True
            if at >= stop:
                return at, False

    def _join(self, part: tuple | None) -> int | None:
        """The child's features added after this reader's, if they continue them as a sequential read would
        (the same property names in the same order, ids on all or none, points) and stay within the limits;
        else None, and nothing is added."""
        if part is None:
            return None
        end, count, ids, keys, values, xs, ys, positions = part[0]
        geometries, limits, total = self.geometries, self.limits, self.rows + count
        if not (self.columns.values is None and keys == self.columns.keys and count
                and (ids is None) == (self.ids is None) and (ids is None or type(ids[0]) is self.id_type)):
            return None
        if limits is not None and (total > limits.features or total * (len(keys) + 1) > limits.cells
                                   or geometries.positions + positions > limits.vertices):
            return None  # the sequential read names the first feature past the limit
        self.columns.tail = values
        if ids is not None:
            self.ids.extend(ids)
        geometries.point_rows.extend(range(self.rows, total))
        geometries.xs.extend(xs)
        geometries.ys.extend(ys)
        geometries.positions += positions
        self.rows = total
        return end

    def feature(self, pairs: Any) -> None:
        row, limits = self.rows, self.limits
        if limits is not None and row >= limits.features:
            raise over_limit(self.filename, "features", at_least(row + 1), limits.features, "MAX_FEATURES")
        if self.ids is not None and self.columns.values is None:
            usual = _usual(pairs)
            if usual is not None and usual[1] == self.columns.keys and type(usual[0]) is self.id_type:
                self._keep_usual(row, usual)
                return
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

    def _keep_usual(self, row: int, usual: tuple) -> None:
        """What ``feature`` does, for a feature with an id of the first one's kind, the first feature's keys and
        a 2-D point."""
        ident, keys, values, coordinates = usual
        limits, geometries = self.limits, self.geometries
        self.ids.append(ident)
        self.columns.rows.append(values)
        if limits is not None and (row + 1) * (len(keys) + 1) > limits.cells:
            raise over_limit(self.filename, "values (features × properties)", at_least((row + 1) * (len(keys) + 1)),
                             limits.cells, "MAX_CELLS")
        geometries.xs.append(coordinates[0])
        geometries.ys.append(coordinates[1])
        geometries.point_rows.append(row)
        geometries.positions += 1
        if limits is not None and geometries.positions > limits.vertices:
            check_counts(self.filename, limits, vertices=geometries.positions, feature_vertices=1)
        self.rows = row + 1

    def _id(self, row: int, feature: dict) -> None:
        """Ids on every feature, or on none; all text or all whole numbers (GDAL makes whole-number ids its
        feature numbers and a mixture text: the long way reads them from the document, ``io.ogr``)."""
        if "id" in feature:
            ident = feature["id"]
            if self.ids is None:
                if row > 0 or type(ident) not in _ID_TYPES:
                    raise NotPlain
                self.ids, self.id_type = [], type(ident)
            elif type(ident) is not self.id_type:
                raise NotPlain
            self.ids.append(ident)
        elif self.ids is not None:
            raise NotPlain

    def frame(self) -> gpd.GeoDataFrame:
        rows = self.rows
        if self.limits is not None:
            check_counts(self.filename, self.limits, features=rows, properties=self.columns.names() + 1)
        columns = self.columns.frame_columns(rows)
        geometries = self.geometries.array(rows) if rows else np.array([], dtype=object)
        return plain_frame(columns, self.ids, geometries, rows)


def _split(text: str, start: int) -> int | None:
    """Where the child's part may start: the first line that opens an object past ``CHILD_SHARE`` of the
    features (a feature, if the document has one feature per line; the reader checks that it is)."""
    found = _LINE_OBJECT.search(text, start + int((len(text) - start) * (1 - CHILD_SHARE)))
    return found.end() - 1 if found else None


def _rest(text: str, start: int, filename: str, limits: InputLimits | None) -> tuple:
    """In the child: the features from ``start`` to the end of the array, as ``_Reader._join`` takes them."""
    reader = _Reader(text, filename, limits)
    end, _ = reader.items(start)
    geometries, columns = reader.geometries, reader.columns
    if columns.values is not None or geometries.others or len(geometries.xs) != reader.rows:
        raise NotPlain  # not the usual rows of points: the parent reads them itself
    values = list(map(list, zip(*columns.rows)))  # as columns: quicker to pickle, and the parent's pass is shorter
    return end, reader.rows, reader.ids, columns.keys, values, geometries.xs, geometries.ys, geometries.positions


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

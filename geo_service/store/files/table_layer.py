"""A large layer as an Arrow table in a file that every worker of a host memory-maps: opening it costs
nothing, pages come from the operating system's shared page cache, and a request converts to pandas only
the rows it sends.

Beside the layer's own columns (Arrow types, with pandas' metadata so that they come back with the same
dtypes) the table holds each geometry as WKB, its bounds (a point's west and south edges only: it is its
own east and north), an index of the rows sorted by west edge (a bbox query looks only at the rows whose
west edge falls in a band, then checks the rest) and, when the layer has its own ids, a hash of each id in
sorted order with the rows in that order (a feature is found by NumPy's binary search). Row numbers are
32-bit where they fit. A worker's resident memory counts every page of the file it has touched (and the
kernel maps a fault's neighbours with it), so every column the table need not hold is left out.
GeoParquet or FlatGeobuf would need decoding into each worker's memory, and FlatGeobuf reorders features;
Arrow's IPC file is read in place, which is what lets a million-point layer serve from a few tens of MB
per worker.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
import struct
from collections.abc import Mapping, Sequence

import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import shapely
from pyproj import CRS

from geo_service.store import expressions as ex
from geo_service.store.base import Bbox, unknown_property
from geo_service.store.cql_frame import LayerView
from geo_service.store.features import feature_texts, no_feature, texts_once, usable_ids
from geo_service.store.frame_layer import equals_mask, feature_text, geometry_texts, layer_bounds

GEOMETRY, MINX, MINY, MAXX, MAXY = "__geometry", "__minx", "__miny", "__maxx", "__maxy"
BY_WEST, SORTED_WEST, OGC_ID = "__by_west", "__sorted_west", "__ogc_id"
SORTED_ID_HASH, BY_ID_HASH = "__sorted_id_hash", "__by_id_hash"
FORMAT = 3  # the table's layout; a table of another one is not read (it is written again from the GeoJSON)
GEOJSON = "__geojson"  # lines and polygons: each geometry's GeoJSON text, written once with the table
_TEXT_BATCH = 4096  # geometries written as text at a time
META_KEY = b"geo-service"
WIDE_SHARE = 8  # a bbox band holding more than 1/8 of the rows is checked in one pass over all of them
_FEW_ROWS = 4  # read value by value rather than as a table


_POINT_WKB = struct.Struct("<5s2d")  # little-endian WKB of a 2-D point: byte order, type 1, x, y
_POINT_HEAD = b"\x01\x01\x00\x00\x00"


def _wkb_texts(wkbs: list[bytes | None]) -> list[str]:
    """Each WKB geometry's GeoJSON text as ``geometry_texts`` writes it. A 2-D point's is written straight
    from its 21 bytes (a feature by id spent more on shapely's per-call costs than on the rest of its
    work); anything else (missing, empty, 3-D, not a point) goes through ``geometry_texts``."""
    texts: list[str | None] = [None] * len(wkbs)
    rest = []
    for i, wkb in enumerate(wkbs):
        if wkb is not None and len(wkb) == _POINT_WKB.size:
            head, x, y = _POINT_WKB.unpack(wkb)
            if head == _POINT_HEAD and math.isfinite(x) and math.isfinite(y):
                texts[i] = f'{{"type":"Point","coordinates":[{x!r},{y!r}]}}'
                continue
        rest.append(i)
    if rest:
        others = geometry_texts(shapely.from_wkb(np.array([wkbs[i] for i in rest], dtype=object)))
        for i, text in zip(rest, others):
            texts[i] = text
    return texts


def to_table(frame: gpd.GeoDataFrame) -> pa.Table:
    """The layer as the Arrow table ``TableLayer`` reads (ArrowInvalid/ArrowTypeError if a column cannot
    be held, e.g. mixed types in one column; ValueError if a column's name could clash with the table's own)."""
    if any(str(name).startswith("__") for name in frame.columns):
        raise ValueError("a column name starts with __, as the table's own columns do")
    geometry = frame.geometry
    table = pa.Table.from_pandas(frame.drop(columns=[geometry.name]), preserve_index=False)
    geoms = geometry.to_numpy()
    bounds = shapely.bounds(geoms)
    positions = np.int32 if len(frame) < 2**31 else np.int64  # row numbers: half the bytes where they fit
    west = np.argsort(bounds[:, 0], kind="stable").astype(positions)
    points = bool(len(frame)) and bool((shapely.get_type_id(geoms) == 0).all())
    columns = {GEOMETRY: pa.array(shapely.to_wkb(geoms), type=pa.binary()), MINX: bounds[:, 0], MINY: bounds[:, 1],
               BY_WEST: west, SORTED_WEST: bounds[west, 0]}
    if not points:  # a point is its own east and north edges
        columns[MAXX], columns[MAXY] = bounds[:, 2], bounds[:, 3]
        # a page of 100 polygons of 500 positions took 0.16 s to write as text; now it is read
        columns[GEOJSON] = pa.array([text for start in range(0, len(geoms), _TEXT_BATCH)
                                     for text in geometry_texts(geoms[start:start + _TEXT_BATCH])],
                                    type=pa.large_string())
    numbered = not usable_ids(frame)
    if not numbered:
        ids = frame["id"].astype(str).tolist()
        hashes = np.fromiter(map(id_hash, ids), dtype=np.uint64, count=len(ids))
        by_hash = np.argsort(hashes, kind="stable").astype(positions)
        kind = table.schema.field("id").type
        if not (pa.types.is_string(kind) or pa.types.is_large_string(kind)):  # text ids are read from their column
            columns[OGC_ID] = pa.array(ids, type=pa.string())
        columns[SORTED_ID_HASH], columns[BY_ID_HASH] = hashes[by_hash], by_hash
    for name, values in columns.items():
        table = table.append_column(name, pa.array(values) if isinstance(values, np.ndarray) else values)
    widths = bounds[:, 2] - bounds[:, 0]
    meta = {"columns": list(frame.columns), "geometry": geometry.name, "numbered": numbered,
            "crs": frame.crs.to_json() if frame.crs else None, "bounds": layer_bounds(frame),
            "max_width": float(np.nanmax(widths)) if len(frame) and not np.isnan(widths).all() else 0.0,
            "points": points, "format": FORMAT}
    return table.replace_schema_metadata({**(table.schema.metadata or {}), META_KEY: json.dumps(meta)})


def id_hash(feature_id: str) -> int:
    """A feature id's 64-bit hash, the same in every process (Python's own hash of a str is not): the table's
    id index is these hashes sorted, searched by NumPy (a binary search over the ids themselves in Python was
    20 Arrow values made and compared, half the work of finding a feature). 0.7 s for a million ids."""
    return int.from_bytes(hashlib.blake2b(feature_id.encode("utf-8", "surrogatepass"), digest_size=8).digest(),
                          "little")


class TableLayer:
    """One version of a layer read from its Arrow table (see the module's docstring)."""

    def __init__(self, table: pa.Table, version: str) -> None:
        meta = json.loads(table.schema.metadata[META_KEY])
        if meta.get("format") != FORMAT:
            raise ValueError(f"a table of layout {meta.get('format', 1)}, not {FORMAT}")
        self.version = version
        self.count = table.num_rows
        self.bounds = tuple(np.nan if v is None else v for v in meta["bounds"])
        self._columns, self._geometry, self._numbered = meta["columns"], meta["geometry"], meta["numbered"]
        self._crs = CRS.from_json(meta["crs"]) if meta["crs"] else None
        self._max_width, self._points = meta["max_width"], meta["points"]
        self.property_names = [c for c in self._columns if c != self._geometry]
        self._table = table
        names = set(table.column_names)
        self._texts_kept = GEOJSON in names  # lines and polygons; points' are written from WKB
        self._ids = OGC_ID if OGC_ID in names else "id"  # the ids as text: their own column when they are text
        self._properties = table.select(self.property_names)
        self._arrays: dict[str, pa.Array] = {}
        self._types: dict[str, str] | None = None
        # columns whose Arrow values are the JSON values the OGC API sends (see _plain_texts)
        self._plain_columns = all(pa.types.is_integer(f.type) or pa.types.is_floating(f.type) or
                                  pa.types.is_boolean(f.type) or pa.types.is_string(f.type) or
                                  pa.types.is_large_string(f.type) or pa.types.is_null(f.type)
                                  for f in self._properties.schema)

    def _column(self, name: str) -> pa.Array:
        """One column as an Array: a view of the mapped file, kept (looking it up again cost a feature by id as
        much as reading its values); a copy, not kept, if the column is in several chunks."""
        array = self._arrays.get(name)
        if array is None:
            column = self._table.column(name)
            if column.num_chunks != 1:  # the table is written as one batch: not expected
                return column.combine_chunks()
            array = self._arrays[name] = column.chunk(0)
        return array

    def _array(self, name: str) -> np.ndarray:
        """A numeric column as a NumPy view of the mapped file (no copy)."""
        return self._column(name).to_numpy()

    # --- rows
    def rows(self, positions: Sequence[int], columns: Sequence[str] | None = None) -> gpd.GeoDataFrame:
        positions = np.asarray(positions, dtype=np.int64)
        properties = self._properties if columns is None else self._properties.select(list(columns))
        return self._frame(properties.take(positions), self._table.column(GEOMETRY).take(positions),
                           pd.Index(positions), columns)

    def frame(self) -> gpd.GeoDataFrame:
        return self._frame(self._properties, self._table.column(GEOMETRY), pd.RangeIndex(self.count), None)

    # --- what the table gives back (``sidecar`` checks it against the frame it wrote)
    @property
    def crs(self):
        return self._crs

    def property_frame(self) -> pd.DataFrame:
        return self._properties.to_pandas()

    def wkb(self) -> pa.ChunkedArray:
        return self._table.column(GEOMETRY)

    def _frame(self, properties: pa.Table, wkb: pa.ChunkedArray, index: pd.Index,
               columns: Sequence[str] | None) -> gpd.GeoDataFrame:
        data = properties.to_pandas()
        data.index = index
        geometry = gpd.GeoSeries(shapely.from_wkb(wkb.to_numpy(zero_copy_only=False)), index=index,
                                 crs=self._crs, name=self._geometry)
        data[self._geometry] = geometry
        order = self._columns if columns is None else [c for c in self._columns if c in columns or
                                                      c == self._geometry]
        return gpd.GeoDataFrame(data[order], geometry=self._geometry, crs=self._crs)

    # --- queries
    def positions(self, bbox: Bbox | None, filters: Mapping[str, str]) -> np.ndarray:
        found = np.arange(self.count) if bbox is None else self._bbox_positions(bbox)
        for name, value in filters.items():
            found = found[self._equals(name, value)[found]]
        return found

    def _bbox_positions(self, bbox: Bbox) -> np.ndarray:
        west, south, east, north = bbox
        sorted_west = self._array(SORTED_WEST)
        start = np.searchsorted(sorted_west, west - self._max_width, side="left")
        stop = np.searchsorted(sorted_west, east, side="right")
        minx, miny = self._array(MINX), self._array(MINY)
        maxx, maxy = (minx, miny) if self._points else (self._array(MAXX), self._array(MAXY))
        if (stop - start) * WIDE_SHARE > self.count:
            found = np.flatnonzero((minx <= east) & (maxx >= west) & (miny <= north) & (maxy >= south))
        else:
            candidates = self._array(BY_WEST)[start:stop]
            keep = (maxx[candidates] >= west) & (miny[candidates] <= north) & (maxy[candidates] >= south)
            found = np.sort(candidates[keep]).astype(np.int64)
        if not self._points and len(found):  # bounds overlap; the shapes themselves must intersect
            shapes = shapely.from_wkb(self._table.column(GEOMETRY).take(found).to_numpy(zero_copy_only=False))
            found = found[shapely.intersects(shapes, shapely.box(*bbox))]
        return found

    def _equals(self, name: str, value: str) -> np.ndarray:
        """Like ``frame_layer.equals_mask``, computed by Arrow on the mapped column for numbers and text."""
        if name not in self.property_names:
            raise unknown_property(name, self.property_names)
        column = self._properties.column(name)
        kind = column.type
        if pa.types.is_integer(kind) or pa.types.is_floating(kind):
            try:
                number = float(value)
            except ValueError:
                return np.zeros(self.count, dtype=bool)
            return pc.equal(column, pa.scalar(number)).fill_null(False).to_numpy(zero_copy_only=False)
        if pa.types.is_string(kind) or pa.types.is_large_string(kind):
            return pc.equal(column, pa.scalar(value, kind)).fill_null(False).to_numpy(zero_copy_only=False)
        return equals_mask(self._properties.select([name]).to_pandas()[name], value)

    def property_types(self) -> dict[str, str]:
        if self._types is None:  # once per version: every items request asks (2 ms on 12 columns)
            dtypes = self._properties.slice(0, 0).to_pandas().dtypes  # pandas' own types, from the metadata
            kinds = {name: ex.property_type(dtypes[name]) for name in self.property_names}
            self._types = {name: kind for name, kind in kinds.items() if kind}
        return dict(self._types)

    def view(self) -> LayerView:
        def shapes(positions: np.ndarray) -> np.ndarray:
            return shapely.from_wkb(self._table.column(GEOMETRY).take(positions).to_numpy(zero_copy_only=False))

        return LayerView(self.count, lambda name: self._properties.select([name]).to_pandas()[name],
                         self._bbox_positions, shapes,
                         lambda: self._table.column(GEOMETRY).is_null().to_numpy(zero_copy_only=False))

    def point_coordinates(self, positions: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
        if not self._points:
            return None
        return self._array(MINX)[positions], self._array(MINY)[positions]  # a point is its own bounds

    # --- the OGC API's view (FeatureSource)
    def features(self) -> TableLayer:
        return self

    def texts(self, positions) -> list[str]:
        positions = list(positions)
        if self._plain_columns:
            return self._plain_texts(positions)
        return texts_once(positions, self._frame_texts)

    def _frame_texts(self, positions: list[int]) -> list[str]:
        frame = self.rows(positions)
        if self._numbered:  # as features.serialise numbers them: from 1 in the layer's order
            frame = frame.drop(columns=[c for c in ("id",) if c in frame.columns])
            frame.insert(0, "id", [str(p + 1) for p in positions])
        return feature_texts(frame)

    def _plain_texts(self, positions: list[int]) -> list[str]:
        """``texts`` for a layer of numbers, text and booleans, straight from Arrow's Python values: a page
        of a few features no longer builds a GeoDataFrame (12 ms for one feature, most of a request)."""
        rows, geometries = self._python_rows(positions, GEOJSON if self._texts_kept else GEOMETRY)
        geometry_texts = geometries if self._texts_kept else _wkb_texts(geometries)
        texts = []
        for position, row, geometry in zip(positions, rows, geometry_texts):
            feature_id = str(position + 1) if self._numbered else row["id"]
            properties = {k: None if isinstance(v, float) and not math.isfinite(v) else v
                          for k, v in row.items() if k != "id"}
            texts.append(feature_text(feature_id, properties, geometry))
        return texts

    def _python_rows(self, positions: list[int], geometry: str) -> tuple[list[dict], list]:
        """These rows' properties and one geometry column as Python values. A few rows are read value by
        value (a feature by id: 8 µs where a one-row table's to_pylist takes 40); a page's rows as a slice
        (no copy) when they follow each other, else with Arrow's take."""
        if len(positions) <= _FEW_ROWS:
            arrays = [self._column(name) for name in self.property_names]
            shapes = self._column(geometry)
            return ([{name: array[p].as_py() for name, array in zip(self.property_names, arrays)} for p in positions],
                    [shapes[p].as_py() for p in positions])
        if positions == list(range(positions[0], positions[0] + len(positions))):
            properties = self._properties.slice(positions[0], len(positions))
            shapes = self._table.column(geometry).slice(positions[0], len(positions))
        else:
            taken = pa.array(positions, type=pa.int64())
            properties, shapes = self._properties.take(taken), self._table.column(geometry).take(taken)
        return properties.to_pylist(), shapes.to_pylist()

    def text(self, feature_id: str) -> str:
        return self.texts([self.position(feature_id)])[0]

    def position(self, feature_id: str) -> int:
        if self._numbered:
            if re.fullmatch(r"[1-9][0-9]{0,18}", feature_id) and int(feature_id) <= self.count:
                return int(feature_id) - 1
            raise no_feature(feature_id)
        hashes, order, ids = self._array(SORTED_ID_HASH), self._array(BY_ID_HASH), self._column(self._ids)
        wanted = np.uint64(id_hash(feature_id))
        at = int(np.searchsorted(hashes, wanted))
        while at < self.count and hashes[at] == wanted:  # two ids may share a hash: the id itself decides
            position = int(order[at])
            if ids[position].as_py() == feature_id:
                return position
            at += 1
        raise no_feature(feature_id)

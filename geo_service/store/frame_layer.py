"""One version of a layer as the files backend serves it: counts, bounds, bbox and property queries, rows.

Two kinds answer alike: ``FrameLayer`` holds the parsed GeoDataFrame in the worker (small layers, and any
layer whose columns an Arrow table cannot hold exactly), ``table_layer.TableLayer`` reads a memory-mapped
Arrow file shared by every worker of the host (large layers).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Protocol

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from shapely.geometry import box

from geo_service import tiles
from geo_service.store import expressions as ex
from geo_service.store.base import Bbox, plain_page, unknown_property
from geo_service.store.cql_frame import LayerView, selected, sorted_positions
from geo_service.store.features import FeatureSource, feature_texts, no_feature, texts_once, usable_ids


class LayerData(Protocol):
    version: str
    count: int
    bounds: Bbox  # NaNs for an empty layer
    property_names: list[str]

    def frame(self) -> gpd.GeoDataFrame:
        """The whole layer (the caller's own copy)."""

    def rows(self, positions: Sequence[int], columns: Sequence[str] | None = None) -> gpd.GeoDataFrame:
        """The features at ``positions`` (indexed by position), with only ``columns`` if given."""

    def positions(self, bbox: Bbox | None, filters: Mapping[str, str]) -> np.ndarray:
        """Positions, in the layer's order, of the features intersecting ``bbox`` whose properties equal
        ``filters``."""

    def features(self) -> FeatureSource: ...

    def property_types(self) -> dict[str, str]:
        """Queryable properties and their types (``expressions.property_type``)."""

    def view(self) -> LayerView:
        """The layer as ``cql_frame`` evaluates filters and sorts over it."""

    def point_coordinates(self, positions: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
        """Longitudes and latitudes of the features at ``positions`` if the layer is all points, else None."""


def page_positions(layer: LayerData, *, bbox: Bbox | None = None, limit: int | None = None, offset: int = 0,
                   filters: Mapping[str, str] | None = None, where: ex.Expression | None = None,
                   sortby: Sequence[ex.SortKey] = ()) -> tuple[np.ndarray, int]:
    """``Store.query_positions`` over one version of a layer: the positions (its order, or ``sortby``'s) of one
    page of the features intersecting ``bbox`` whose properties equal ``filters`` and for which ``where``
    holds, and how many matched in all."""
    plain = plain_page(layer.count, bbox=bbox, limit=limit, offset=offset, filters=filters, where=where,
                       sortby=sortby)
    if plain is not None:  # no list of all first
        return np.asarray(plain[0], dtype=np.int64), plain[1]
    stop = None if limit is None else offset + limit
    matched = layer.positions(bbox, filters or {})
    if where is not None or sortby:
        view = layer.view()
        if where is not None:
            matched = matched[selected(view, where)[matched]]
        matched = sorted_positions(view, matched, sortby)
    return matched[offset:stop], int(matched.size)


def draw_tile(layer: LayerData, layer_id: str, z: int, x: int, y: int) -> bytes:
    """One vector tile of the features near it, with only the columns a tile carries."""
    positions = layer.positions(tiles.lonlat_bounds(z, x, y), {})
    if (coordinates := layer.point_coordinates(positions)) is not None:  # thinned before any row is made
        positions = positions[tiles.thin_point_positions(*coordinates, z, x, y)]
    columns = [c for c in tiles.TILE_PROPERTIES if c in layer.property_names]
    return tiles.encode_tile(layer.rows(positions, columns), layer_id, z, x, y)


KEPT_VALUES = 1_000_000  # a layer of up to this many values (features × columns) keeps them as Python values
_NUMBER = re.compile(r"-?[0-9][0-9.]*(?:e[-+]?[0-9]+)?")  # a number in GEOS's GeoJSON (nothing else has digits)


def geometry_texts(geometries: np.ndarray) -> list[str]:
    """Each geometry's GeoJSON text ("null" if missing) as ``json`` writes it: GEOS writes the structure and
    Python the numbers, in one pass for a page. Why by hand: GEOS writes 17 significant digits
    (-12.102579800000001 where json writes -12.1025798), and decoding its text to encode it again was
    0.19 s of a 0.23 s page of 100 polygons of 500 positions."""
    texts = shapely.to_geojson(geometries)
    present = ~shapely.is_missing(geometries)
    out = np.full(len(geometries), "null", dtype=object)
    if not present.any():
        return out.tolist()
    numbers = list(map(repr, shapely.get_coordinates(geometries[present]).ravel().tolist()))
    parts = _NUMBER.split("\x00".join(texts[present]))  # NUL: in no GeoJSON text
    if len(parts) != len(numbers) + 1:  # 3-D (the coordinates above are 2-D): decoded and encoded again
        out[present] = [json.dumps(json.loads(text), separators=(",", ":")) for text in texts[present]]
        return out.tolist()
    spliced = [""] * (2 * len(numbers) + 1)
    spliced[0::2], spliced[1::2] = parts, numbers
    out[present] = "".join(spliced).split("\x00")
    return out.tolist()


def feature_text(feature_id, properties: dict, geometry: str, default: Callable | None = None) -> str:
    """One GeoJSON Feature text as the OGC API sends it, its geometry's text (``geometry_texts``) put in last."""
    text = json.dumps({"id": feature_id, "type": "Feature", "properties": properties}, ensure_ascii=False,
                      separators=(",", ":"), default=default)
    return f'{text[:-1]},"geometry":{geometry}}}'


class FrameFeatures:
    """A layer held as a frame, ready to be sent feature by feature: its rows with the ids the OGC API gives
    (the layer's own, or numbers from 1 in file order), and an index of those ids. Features are written as
    GeoJSON only when a page asks for them, so a worker's first request costs a copy of the layer, not the
    serialisation of every feature. A small layer keeps its values as Python values, made on first use: a
    feature by id of a 10,000-point layer took 2.4 ms through pandas (selecting the row, finding what is
    missing, column by column), most of a request."""

    def __init__(self, frame: gpd.GeoDataFrame, version: str) -> None:
        if not usable_ids(frame):  # features numbered from 1 in file order
            frame = frame.drop(columns=[c for c in ("id",) if c in frame.columns])
            frame.insert(0, "id", [str(i + 1) for i in range(len(frame))])
        self.version, self.frame = version, frame
        self.ids = pd.Index(frame["id"].astype(str))
        self._kept: tuple | None = None

    def texts(self, positions) -> list[str]:
        positions = [int(p) for p in positions]
        if self.frame.size > KEPT_VALUES:
            return texts_once(positions, lambda unique: feature_texts(self.frame.iloc[unique]))
        names, columns, geometries, points = self._values()
        if points is not None:  # as geometry_texts writes them, without its per-call costs (a feature by id)
            shapes = [f'{{"type":"Point","coordinates":[{points[0][p]!r},{points[1][p]!r}]}}' for p in positions]
        else:
            shapes = geometry_texts(geometries[positions])
        ids, properties = columns[0], columns[1:]
        return [feature_text(ids[p], {name: column[p] for name, column in zip(names, properties)}, shape,
                             _json_default) for p, shape in zip(positions, shapes)]

    def _values(self) -> tuple[list[str], list[list], np.ndarray, tuple[list, list] | None]:
        """The names of the properties, the id column and each property's values as ``json`` writes them
        (missing and non-finite numbers as None), the geometries, and their longitudes and latitudes if all
        are 2-D points: made once (two threads may both make them; either is kept)."""
        if self._kept is None:
            from geo_service.io.writers import json_values  # GDAL: loaded by the backends that hold frames

            frame = self.frame
            names = [c for c in frame.columns if c not in ("id", frame.geometry.name)]
            columns = [json_values(frame[name]) for name in ["id", *names]]
            geometries = np.asarray(frame.geometry.values)
            self._kept = names, columns, geometries, _plain_points(geometries)
        return self._kept

    def position(self, feature_id: str) -> int:
        try:
            return int(self.ids.get_loc(feature_id))
        except KeyError:
            raise no_feature(feature_id) from None

    def text(self, feature_id: str) -> str:
        return self.texts([self.position(feature_id)])[0]


def _plain_points(geometries: np.ndarray) -> tuple[list, list] | None:
    """Longitudes and latitudes (Python floats) if every geometry is a 2-D point with finite coordinates."""
    if not len(geometries) or not (shapely.get_type_id(geometries) == 0).all() or shapely.has_z(geometries).any():
        return None
    xs, ys = shapely.get_x(geometries), shapely.get_y(geometries)
    return (xs.tolist(), ys.tolist()) if np.isfinite(xs).all() and np.isfinite(ys).all() else None


def _json_default(value: object) -> object:
    from geo_service.io.writers import json_default  # GDAL: as above

    return json_default(value)


class Snapshot:
    """``base.LayerSnapshot`` of a version held by this process: every answer from the same ``LayerData``."""

    def __init__(self, layer: LayerData, layer_id: str) -> None:
        self.layer, self.version, self.property_names = layer, layer.version, list(layer.property_names)
        self.layer_id = layer_id

    def tile(self, z: int, x: int, y: int) -> bytes:
        return draw_tile(self.layer, self.layer_id, z, x, y)

    def confirm(self) -> None:
        """Nothing: the file was looked at for this request."""

    def property_types(self) -> dict[str, str]:
        return self.layer.property_types()

    def features(self) -> FeatureSource:
        return self.layer.features()

    def page(self, **query) -> tuple[list[str], int]:
        positions, matched = page_positions(self.layer, **query)
        return self.layer.features().texts(positions), matched


def layer_bounds(frame: gpd.GeoDataFrame) -> Bbox:
    return tuple(float(v) for v in frame.total_bounds) if len(frame) else (np.nan,) * 4


class FrameLayer:
    """A layer held as a GeoDataFrame, queried through its STRtree."""

    def __init__(self, frame: gpd.GeoDataFrame, version: str) -> None:
        self._frame = frame
        self.version = version
        self.count = len(frame)
        self.bounds = layer_bounds(frame)
        self.property_names = [c for c in frame.columns if c != frame.geometry.name]
        self._features: FrameFeatures | None = None
        self._points: bool | None = None  # all points: found on first use
        self._types: dict[str, str] | None = None

    def frame(self) -> gpd.GeoDataFrame:
        return self._frame.copy()

    def rows(self, positions: Sequence[int], columns: Sequence[str] | None = None) -> gpd.GeoDataFrame:
        frame = self._frame if columns is None else self._frame[[*columns, self._frame.geometry.name]]
        return frame.iloc[positions].copy()

    def positions(self, bbox: Bbox | None, filters: Mapping[str, str]) -> np.ndarray:
        frame = self._frame
        mask = np.ones(len(frame), dtype=bool)
        if bbox is not None:
            hits = frame.sindex.query(box(*bbox), predicate="intersects")
            mask[:] = False
            mask[hits] = True
        for name, value in filters.items():
            if name not in self.property_names:
                raise unknown_property(name, self.property_names)
            mask &= equals_mask(frame[name], value)
        return np.flatnonzero(mask)

    def point_coordinates(self, positions: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
        if self._points is None:
            self._points = bool(self.count) and bool((shapely.get_type_id(self._frame.geometry.values) == 0).all())
        if not self._points:
            return None
        geoms = np.asarray(self._frame.geometry.values)[positions]
        return shapely.get_x(geoms), shapely.get_y(geoms)

    def property_types(self) -> dict[str, str]:
        if self._types is None:  # once per version: every items request asks
            kinds = {name: ex.property_type(self._frame[name].dtype) for name in self.property_names}
            self._types = {name: kind for name, kind in kinds.items() if kind}
        return dict(self._types)

    def view(self) -> LayerView:
        frame = self._frame
        geometries = np.asarray(frame.geometry.values)
        return LayerView(self.count, lambda name: frame[name].reset_index(drop=True),
                         lambda bounds: frame.sindex.query(box(*bounds)), lambda positions: geometries[positions],
                         lambda: shapely.is_missing(geometries))

    def features(self) -> FrameFeatures:
        """The OGC API's view of the frame, made on first use."""
        if self._features is None:
            self._features = FrameFeatures(self._frame, self.version)
        return self._features


def equals_mask(column: pd.Series, value: str) -> np.ndarray:
    """Mask of the rows whose value equals the text ``value`` (numbers compared as numbers)."""
    if pd.api.types.is_numeric_dtype(column) and not pd.api.types.is_bool_dtype(column):
        try:
            number = float(value)
        except ValueError:
            return np.zeros(len(column), dtype=bool)
        return (column == number).fillna(False).to_numpy(dtype=bool)
    return (column.astype("string") == value).fillna(False).to_numpy(dtype=bool)

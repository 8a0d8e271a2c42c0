"""Vector tiles of a layer (OGC API – Tiles, WebMercatorQuad, Mapbox Vector Tiles): pure builders.

A tile holds the features intersecting it, in tile coordinates (4096 units a side, y down), clipped
with a small buffer, lines and outlines simplified to the tile's resolution, and points thinned to one
per 1/512 of the tile (two per screen pixel of a 256-pixel tile: nothing visible is lost, and a zoomed-out
tile of a million points stays small: the grid is coarsened until a tile holds at most MAX_TILE_POINTS).
Properties are the feature's id and names; a client asks the
items API for the rest. Encoding is mapbox-vector-tile's (the reference Python encoder).
"""

from __future__ import annotations

import math
from functools import cache
from typing import TYPE_CHECKING

import numpy as np
import shapely

from geo_service.errors import NotFoundError
from geo_service.i18n import Text
from geo_service.mvt_points import point_tile

if TYPE_CHECKING:
    import geopandas as gpd
    from pyproj import Transformer

TMS_ID = "WebMercatorQuad"
TMS_URI = "http://www.opengis.net/def/tilematrixset/OGC/1.0/WebMercatorQuad"
EPSG_3857 = "http://www.opengis.net/def/crs/EPSG/0/3857"
MVT = "application/vnd.mapbox-vector-tile"
MAX_ZOOM = 22
EXTENT = 4096  # tile units a side
BUFFER = 64  # tile units drawn beyond each edge, so lines and symbols join across tiles
POINT_GRID = 512  # one point kept per cell of this grid per tile (finer than a 256-pixel tile's pixels)
MAX_TILE_POINTS = 4000  # a dense tile is thinned on a coarser grid until it holds no more than this
ORIGIN = 20037508.342789244  # half the Web Mercator world, metres
TILE_PROPERTIES = ("id", "name", "name_fr")


@cache
def _mercator() -> Transformer:
    """Longitude/latitude to Web Mercator metres (pyproj is imported by the first tile, not with the app)."""
    from pyproj import Transformer

    return Transformer.from_crs(4326, 3857, always_xy=True)


def tile_bounds(z: int, x: int, y: int) -> tuple[float, float, float, float]:
    """The tile's bounds in Web Mercator metres (minx, miny, maxx, maxy); 404 for a tile that does not exist."""
    if not (0 <= z <= MAX_ZOOM and 0 <= x < 2**z and 0 <= y < 2**z):
        raise NotFoundError(Text("error", "no such tile"))
    size = 2 * ORIGIN / 2**z
    return -ORIGIN + x * size, ORIGIN - (y + 1) * size, -ORIGIN + (x + 1) * size, ORIGIN - y * size


def lonlat_bounds(z: int, x: int, y: int, buffer: float = BUFFER / EXTENT) -> tuple[float, float, float, float]:
    """The tile's bounds (with its buffer) in longitude/latitude, for the store's bbox query."""
    minx, miny, maxx, maxy = tile_bounds(z, x, y)
    pad = (maxx - minx) * buffer

    def lon(mx: float) -> float:
        return max(-180.0, min(180.0, math.degrees(mx / 6378137.0)))

    def lat(my: float) -> float:
        return math.degrees(2 * math.atan(math.exp(max(-ORIGIN, min(ORIGIN, my)) / 6378137.0)) - math.pi / 2)

    return lon(minx - pad), lat(miny - pad), lon(maxx + pad), lat(maxy + pad)


def _units(z: int, x: int, y: int):
    """The function taking longitude/latitude pairs to this tile's units (Web Mercator scaled to EXTENT,
    y down): one transformation for shapes and for point coordinates, so both give the same numbers."""
    minx, miny, maxx, maxy = tile_bounds(z, x, y)
    scale = EXTENT / (maxx - minx)
    mercator = _mercator()

    def to_units(xy: np.ndarray) -> np.ndarray:
        mx, my = mercator.transform(xy[:, 0], xy[:, 1])
        return np.column_stack(((np.asarray(mx) - minx) * scale, (maxy - np.asarray(my)) * scale))

    return to_units


def _to_tile(geometries: np.ndarray, z: int, x: int, y: int) -> np.ndarray:
    """The geometries in tile units, clipped with the buffer."""
    geoms = shapely.transform(geometries, _units(z, x, y))
    geoms = shapely.clip_by_rect(geoms, -BUFFER, -BUFFER, EXTENT + BUFFER, EXTENT + BUFFER)
    return shapely.simplify(geoms, 1.0)  # one tile unit: below what any screen shows


def _thin_points(geoms: np.ndarray) -> np.ndarray:
    """Positions of the points to keep: the first of each grid cell (features in file order), on a grid
    coarse enough that at most MAX_TILE_POINTS remain."""
    firsts = _no_cells()
    _mark(firsts, shapely.get_coordinates(geoms), np.arange(len(geoms)))
    return _coarsened(firsts)


# The first point of each cell is found in a table of the cells of the finest grid over the buffered tile
# (a tile of a million points takes no memory for its points beyond a chunk of them), and the coarser grids'
# from it: a cell of grid n/2 is four cells of grid n, floor(floor(t) / 2) being floor(t / 2). The table
# reaches _OFFSET cells beyond each edge (the buffer needs POINT_GRID * BUFFER / EXTENT = 8), a multiple of
# 2**5, so that the five halvings down to a grid of 16 keep whole cells.
_OFFSET = 32
_SIDE = POINT_GRID + 2 * _OFFSET
_NONE = np.iinfo(np.int64).max
_CHUNK = 1 << 16  # points transformed at a time


def _no_cells() -> np.ndarray:
    return np.full(_SIDE * _SIDE, _NONE, dtype=np.int64)


def _mark(firsts: np.ndarray, xy: np.ndarray, positions: np.ndarray) -> None:
    """Record in ``firsts`` the smallest position of the points (tile units) inside the buffered tile, per
    cell (an edge of the buffer is outside, as for ``clip_by_rect``)."""
    inside = ((xy > -BUFFER) & (xy < EXTENT + BUFFER)).all(axis=1)
    cells = np.floor(xy[inside] * (POINT_GRID / EXTENT)).astype(np.int64) + _OFFSET
    np.minimum.at(firsts, cells[:, 0] * _SIDE + cells[:, 1], positions[inside])


def _coarsened(firsts: np.ndarray) -> np.ndarray:
    """The sorted positions kept: the cells' firsts on the finest grid that leaves at most MAX_TILE_POINTS
    (or on a grid of 16)."""
    grid, table = POINT_GRID, firsts.reshape(_SIDE, _SIDE)
    while True:
        kept = table[table != _NONE]
        if len(kept) <= MAX_TILE_POINTS or grid <= 16:
            return np.sort(kept)
        side = table.shape[0] // 2
        table = table.reshape(side, 2, side, 2).min(axis=(1, 3))
        grid //= 2


def thin_point_positions(lon: np.ndarray, lat: np.ndarray, z: int, x: int, y: int) -> np.ndarray:
    """Of points given by their coordinates (in the layer's order), the positions of those a tile keeps,
    as ``encode_tile`` would choose them from all of them: inside the buffered tile (its edge is outside,
    as for ``clip_by_rect``), then thinned. A store finds them from its coordinate columns (or a memory map
    of them), so a tile of a million points converts only the few thousand it keeps; they are looked at a
    chunk at a time, those outside the tile's bounds in degrees left out before any transformation."""
    to_units, firsts = _units(z, x, y), _no_cells()
    west, south, east, north = lonlat_bounds(z, x, y)
    for start in range(0, len(lon), _CHUNK):
        chunk_lon, chunk_lat = np.asarray(lon[start:start + _CHUNK]), np.asarray(lat[start:start + _CHUNK])
        near = np.flatnonzero((chunk_lon >= west) & (chunk_lon <= east) & (chunk_lat >= south) & (chunk_lat <= north))
        if len(near):
            _mark(firsts, to_units(np.column_stack((chunk_lon[near], chunk_lat[near]))), near + start)
    return _coarsened(firsts)


def _wound(geoms: np.ndarray) -> np.ndarray:
    """Polygons as mapbox-vector-tile's winding check leaves them, for the whole tile at once: coordinates
    rounded (half to even, as Python's round), the exterior counter-clockwise in tile units (clockwise on
    screen), holes the other way; an invalid result kept as it is, other geometries untouched. The library
    does this polygon by polygon in Python (1.4 s of a 3.9 s tile of 621 polygons of 500 positions)."""
    polygons = np.isin(shapely.get_type_id(geoms), (3, 6)) & ~shapely.is_empty(geoms)
    wound = geoms.copy()
    wound[polygons] = shapely.orient_polygons(shapely.transform(geoms[polygons], np.round), exterior_cw=False)
    return wound


def encode_tile(frame: gpd.GeoDataFrame, layer_id: str, z: int, x: int, y: int) -> bytes:
    """The features of ``frame`` (EPSG:4326, already those near the tile) as one MVT tile, one layer."""
    values = {}
    for name in (c for c in TILE_PROPERTIES if c in frame.columns):
        column = frame[name].astype(object)
        values[name] = column.where(column.notna(), None).tolist()  # NaN and pandas' NA: missing
    return encode_features(np.asarray(frame.geometry.values), values, layer_id, z, x, y)


def encode_features(geometries: np.ndarray, values: dict[str, list], layer_id: str, z: int, x: int,
                    y: int) -> bytes:
    """What ``encode_tile`` draws, from the geometries (EPSG:4326) and their TILE_PROPERTIES values (None
    where missing): no frame, so the PostGIS backend draws a point tile without pandas."""
    import mapbox_vector_tile

    if len(geometries) == 0:
        return mapbox_vector_tile.encode([{"name": layer_id, "features": []}])
    geoms = _wound(_to_tile(geometries, z, x, y))
    keep = ~shapely.is_empty(geoms) & ~shapely.is_missing(geoms)
    positions = np.flatnonzero(keep)
    points = bool(len(positions)) and bool((shapely.get_type_id(geoms[positions]) == 0).all())
    if points:  # thinned, then written in one pass (mvt_points)
        positions = positions[_thin_points(geoms[positions])]
    kept = positions.tolist()
    properties = []
    for row in kept:
        found = {name: column[row] for name, column in values.items()}
        properties.append({k: v if isinstance(v, (int, float, bool)) else str(v) for k, v in found.items()
                           if v is not None and not (isinstance(v, float) and math.isnan(v))})
    if points:
        xy = shapely.get_coordinates(geoms[positions])
        return point_tile(layer_id, xy[:, 0], xy[:, 1], properties, EXTENT)
    features = [{"geometry": geoms[position], "properties": found}  # shapely: no WKB round trip
                for position, found in zip(kept, properties)]
    return mapbox_vector_tile.encode([{"name": layer_id, "features": features}],
                                     default_options={"y_coord_down": True, "extents": EXTENT,
                                                      "check_winding_order": False})  # done by _wound


def tile_matrix_set() -> dict:
    """The WebMercatorQuad definition (OGC Two Dimensional Tile Matrix Set 2.0), zooms 0 to MAX_ZOOM."""
    matrices = []
    for z in range(MAX_ZOOM + 1):
        cell = 2 * ORIGIN / 256 / 2**z
        matrices.append({"id": str(z), "scaleDenominator": cell / 0.00028, "cellSize": cell,
                         "cornerOfOrigin": "topLeft", "pointOfOrigin": [-ORIGIN, ORIGIN],
                         "tileWidth": 256, "tileHeight": 256, "matrixWidth": 2**z, "matrixHeight": 2**z})
    return {"id": TMS_ID, "title": "Google Maps Compatible for the World", "uri": TMS_URI, "crs": EPSG_3857,
            "orderedAxes": ["E", "N"], "wellKnownScaleSet": "http://www.opengis.net/def/wkss/OGC/1.0/GoogleMapsCompatible",
            "tileMatrices": matrices}

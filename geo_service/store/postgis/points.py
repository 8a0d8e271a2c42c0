"""Point tiles of PostGIS layers, drawn as the files backend draws them, from coordinates kept on the host's disk.

``ST_AsMVT`` draws a tile from every point near it, each one transformed and clipped before the thinning:
a cold z8 tile of a 1M-point layer (300,000 points) took 3.1 s, and the map's first view on PostGIS waited
10.5 s for its first tile. Instead, the first point tile of a layer version reads the layer's coordinates
once, by ranges of the table's disk pages (about a second at 1M points), into a file of this host's cache (16 bytes a
point) named by the table and the version (``DownloadCache``: one builder per host, the others wait, the
least recently used files pruned) that every worker memory-maps. A tile then picks its points with the files backend's
own code (``tiles.thin_point_positions``, so the tile is the files backend's bytes), and reads the
properties of the points it keeps (at most ``tiles.MAX_TILE_POINTS``) by primary key.

A layer with any geometry other than a point (a multi-point among its points), or a tile column that is
not text, a whole number, a decimal or a boolean, keeps ``ST_AsMVT`` (None here); so does a host whose
cache folder cannot be written.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import shapely
from psycopg import sql
from psycopg.rows import tuple_row

from geo_service import tiles
from geo_service.store.downloads import DownloadCache
from geo_service.store.postgis.read import at_positions, plain_dtypes
from geo_service.store.postgis.tables import LAYERS, POSITION, at_version

if TYPE_CHECKING:
    import geopandas as gpd

MAX_BYTES = 2**30  # the cache folder: 16 bytes a point, so the current versions of 60 million points
_MAPPED = 8  # coordinate files a process keeps mapped
_RANGE = 200_000  # positions written at a time
_PAGES = 2048  # disk pages of the table read at a time (16 MB)
RETRY_S = 60.0  # after the cache folder could not be written, tiles are drawn by ST_AsMVT this long


class _Replaced(Exception):
    """The layer was replaced while its coordinates were being read."""


class PointTiles:
    def __init__(self, directory: Path) -> None:
        self.cache = DownloadCache(directory, MAX_BYTES)
        self._mapped: OrderedDict[Path, np.ndarray | None] = OrderedDict()
        self._unusable_until = 0.0

    def tile(self, connection, row: dict, layer_id: str, z: int, x: int, y: int) -> bytes | None:
        """The tile of the layer at ``row``'s version, or None if ST_AsMVT must draw it (see the module);
        ``connection`` is the store's pooled-connection context manager."""
        names = [name for name, _ in row["columns"] or []]
        columns = [c for c in tiles.TILE_PROPERTIES if c in names]
        if not plain_dtypes(row, columns):
            return None
        try:
            lonlat = self._coordinates(connection, row)
        except _Replaced:
            return None
        if lonlat is None:
            return None
        lon, lat = lonlat[:, 0], lonlat[:, 1]
        kept = tiles.thin_point_positions(lon, lat, z, x, y)  # a chunk of the map at a time
        with connection() as conn, conn.transaction():
            if not at_version(conn, row["id"], row["version"]):
                return None
            values = _rows(conn, row, columns, kept)
        geometries = shapely.points(lon[kept], lat[kept])
        return tiles.encode_features(geometries, dict(zip(columns, values)), layer_id, z, x, y)

    def remember(self, table: str, version: str, frame: gpd.GeoDataFrame) -> None:
        """Keep the coordinates of a version this host has just written (its first tile then reads none)."""
        geoms = frame.geometry.to_numpy()
        if len(geoms) and (shapely.get_type_id(geoms) == 0).all():
            lonlat = np.column_stack([shapely.get_x(geoms), shapely.get_y(geoms)]).astype("<f8")
            self.cache.get(_key(table, version), lambda: [lonlat.tobytes()], gzip_too=False)

    def _coordinates(self, connection, row: dict) -> np.ndarray | None:
        """The layer's (lon, lat) by position (NaN for an empty point), mapped from the cache; None for a
        layer that is not all points, or when the cache cannot be written."""
        if time.monotonic() < self._unusable_until:
            return None
        key = _key(row["table_name"], row["version"])
        cached = self.cache.get(key, lambda: _build(connection, row), gzip_too=False)
        if cached is None:  # the folder cannot be written (logged): not tried again for a while
            self._unusable_until = time.monotonic() + RETRY_S
            return None
        if cached.path not in self._mapped:
            # an empty file records a layer that is not all points
            size = cached.path.stat().st_size
            lonlat = np.memmap(cached.path, dtype="<f8", mode="r").reshape(-1, 2) if size else None
            self._mapped[cached.path] = lonlat
            while len(self._mapped) > _MAPPED:
                self._mapped.popitem(last=False)
        self._mapped.move_to_end(cached.path)
        return self._mapped[cached.path]


def _build(connection, row: dict) -> Iterator[bytes]:
    """The cache file: the coordinates as (lon, lat) little-endian doubles by position, or nothing for a layer
    that is not all points. The table is read in ranges of its disk pages (its rows are in map order, not
    by position: ``postgis.write.spatial_order``), each placed at its rows' positions."""
    table, g = sql.Identifier(LAYERS, row["table_name"]), sql.Identifier(row["geometry_column"])
    pos = sql.Identifier(POSITION)
    every = sql.SQL("SELECT count(*) > 0 AND bool_and(coalesce(GeometryType({g}) = 'POINT', false)), "
                    "pg_relation_size(min(tableoid)) / current_setting('block_size')::int FROM {t}")
    ranged = sql.SQL("SELECT string_agg(int4send({p}), ''), string_agg(float8send(coalesce(ST_X({g}), 'NaN')), ''), "
                     "string_agg(float8send(coalesce(ST_Y({g}), 'NaN')), '') FROM {t} "
                     "WHERE ctid >= %s::tid AND ctid < %s::tid")  # a TID range scan: only those pages
    lonlat = np.full((row["feature_count"], 2), np.nan, dtype="<f8")
    with connection() as conn, conn.transaction():  # one snapshot for all the ranges
        if not at_version(conn, row["id"], row["version"]):
            raise _Replaced()
        cur = conn.cursor(row_factory=tuple_row)
        points, pages = cur.execute(every.format(g=g, t=table)).fetchone()
        if not points:
            return
        for start in range(0, pages, _PAGES):
            pages_read = (f"({start},0)", f"({start + _PAGES},0)")
            positions, lon, lat = cur.execute(ranged.format(p=pos, g=g, t=table), pages_read).fetchone()
            index = np.frombuffer(positions or b"", ">i4")
            lonlat[index, 0] = np.frombuffer(lon or b"", ">f8")  # the three lists of one scan: in the same order
            lonlat[index, 1] = np.frombuffer(lat or b"", ">f8")
    for start in range(0, len(lonlat), _RANGE):
        yield lonlat[start:start + _RANGE].tobytes()


def _key(table: str, version: str) -> str:
    return f"points-{table}-{version}.f8"


def _rows(conn, row: dict, columns: list[str], positions: np.ndarray) -> list[list]:
    """The values of ``columns`` at ``positions``, in that order (one list per column)."""
    if not columns or not len(positions):
        return [[] for _ in columns]
    query, params = at_positions(row, sql.SQL(", ").join(sql.Identifier("t", name) for name in columns), positions)
    found = conn.cursor(row_factory=tuple_row).execute(query, params).fetchall()
    return [list(column) for column in zip(*found)] if found else [[] for _ in columns]

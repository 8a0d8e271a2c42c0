"""Small tile sets built by the tests: MBTiles and PMTiles, raster (PNG) or vector (MVT), over the border area."""

from __future__ import annotations

import gzip
import io
import math
import sqlite3
from pathlib import Path

import mapbox_vector_tile
import shapely
from PIL import Image
from pmtiles.tile import Compression, TileType, zxy_to_tileid
from pmtiles.writer import Writer

WEST, SOUTH, EAST, NORTH = -12.9, 12.2, -10.9, 15.0


def tile_xy(lon: float, lat: float, z: int) -> tuple[int, int]:
    n = 2**z
    x = int((lon + 180) / 360 * n)
    y = int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n)
    return x, y


def area_tiles(zooms) -> list[tuple[int, int, int]]:
    tiles = []
    for z in zooms:
        x0, y0 = tile_xy(WEST, NORTH, z)
        x1, y1 = tile_xy(EAST, SOUTH, z)
        tiles += [(z, x, y) for x in range(x0, x1 + 1) for y in range(y0, y1 + 1)]
    return tiles


def png(colour: tuple[int, int, int]) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (256, 256), colour).save(out, "PNG")
    return out.getvalue()


def mvt_water() -> bytes:
    """One vector tile whose "water" layer covers the whole tile (gzipped, as tile sets store them)."""
    square = shapely.box(0, 0, 4096, 4096)
    data = mapbox_vector_tile.encode([{"name": "water", "features": [{"geometry": square.wkt, "properties": {}}]}])
    return gzip.compress(data, mtime=0)


def write_mbtiles(path: Path, tiles: dict[tuple[int, int, int], bytes], fmt: str, name: str, attribution: str) -> Path:
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE metadata (name TEXT, value TEXT)")
        db.execute("CREATE TABLE tiles (zoom_level INTEGER, tile_column INTEGER, tile_row INTEGER, tile_data BLOB)")
        zooms = sorted({z for z, _, _ in tiles})
        db.executemany("INSERT INTO metadata VALUES (?, ?)", [
            ("name", name), ("format", fmt), ("attribution", attribution), ("minzoom", str(zooms[0])),
            ("maxzoom", str(zooms[-1])), ("bounds", f"{WEST},{SOUTH},{EAST},{NORTH}")])
        db.executemany("INSERT INTO tiles VALUES (?, ?, ?, ?)",
                       [(z, x, 2**z - 1 - y, data) for (z, x, y), data in tiles.items()])  # TMS rows
    return path


def write_pmtiles(path: Path, tiles: dict[tuple[int, int, int], bytes], tile_type: TileType, name: str,
                  attribution: str) -> Path:
    with open(path, "wb") as handle:
        writer = Writer(handle)
        for (z, x, y), data in sorted(tiles.items(), key=lambda item: zxy_to_tileid(*item[0])):
            writer.write_tile(zxy_to_tileid(z, x, y), data)
        writer.finalize({
            "tile_type": tile_type,
            "tile_compression": Compression.GZIP if tile_type == TileType.MVT else Compression.NONE,
            "min_lon_e7": int(WEST * 1e7), "min_lat_e7": int(SOUTH * 1e7),
            "max_lon_e7": int(EAST * 1e7), "max_lat_e7": int(NORTH * 1e7),
            "center_zoom": 6, "center_lon_e7": int((WEST + EAST) / 2 * 1e7),
            "center_lat_e7": int((SOUTH + NORTH) / 2 * 1e7),
        }, {"name": name, "attribution": attribution})
    return path

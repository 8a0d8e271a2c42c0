"""Offline base maps: the MBTiles and PMTiles files of the base-maps folder, described and read tile by tile.

Field teams carry tile sets made with QField, ODK or the HOT export tool; the
service lists every ``*.mbtiles`` and ``*.pmtiles`` file of
``GEO_SERVICE_BASEMAPS_DIR`` in the map's layer control and serves its tiles
at ``/basemaps/<name>/<z>/<x>/<y>.<format>``. A file that cannot be read is
left out of the list (and said in the log), never a reason for a page to fail.
MBTiles is SQLite (read with the standard library, read-only); PMTiles is read
with the ``pmtiles`` package of its authors (Protomaps).
"""

from __future__ import annotations

import logging
import re
import sqlite3
import struct
import threading
import zlib
from dataclasses import dataclass
from pathlib import Path

from pmtiles.reader import MmapSource, Reader

# The online base map: OpenStreetMap's own tiles (here, not in maps.py, so the app's security headers can name
# their origin without importing folium).
OSM_TILES = "https://tile.openstreetmap.org/{z}/{x}/{y}.png"
OSM_ATTRIBUTION = '&copy; <a href="https://www.openstreetmap.org/copyright">OpenStreetMap</a> contributors'
from pmtiles.tile import Compression, TileType

from geo_service.errors import NotFoundError
from geo_service.i18n import Text

log = logging.getLogger(__name__)
# What reading a damaged or truncated tile set raises (SQLite, the PMTiles directory, its gzipped metadata).
UNREADABLE = (OSError, EOFError, sqlite3.Error, struct.error, zlib.error, ValueError, IndexError, KeyError)
NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")
MAX_ZOOM = 24
RASTER_FORMATS = {"png": "image/png", "jpg": "image/jpeg", "jpeg": "image/jpeg", "webp": "image/webp"}
VECTOR_FORMATS = {"pbf": "application/vnd.mapbox-vector-tile", "mvt": "application/vnd.mapbox-vector-tile"}
PMTILES_TYPES = {TileType.PNG: "png", TileType.JPEG: "jpg", TileType.WEBP: "webp", TileType.MVT: "pbf"}


@dataclass(frozen=True)
class BaseMap:
    name: str  # the file's stem: its URL segment
    path: Path
    kind: str  # "mbtiles" or "pmtiles"
    title: str
    attribution: str
    format: str  # png, jpg, webp or pbf
    minzoom: int
    maxzoom: int
    bounds: tuple[float, float, float, float] | None  # west, south, east, north
    compressed: bool = False  # tiles stored gzipped (vector tiles usually are)

    @property
    def media_type(self) -> str:
        return RASTER_FORMATS.get(self.format) or VECTOR_FORMATS.get(self.format, "application/octet-stream")

    @property
    def vector(self) -> bool:
        return self.format in VECTOR_FORMATS


@dataclass(frozen=True)
class BaseMapView:
    """A base map as the page's script needs it."""

    name: str
    title: str
    attribution: str
    url: str  # with {z}/{x}/{y}
    minzoom: int
    maxzoom: int
    bounds: tuple[float, float, float, float] | None
    vector: bool

    def config(self, lang: str) -> dict:
        bounds = None if self.bounds is None else [[self.bounds[1], self.bounds[0]], [self.bounds[3], self.bounds[2]]]
        return {"name": self.name, "title": Text("basemap_local", "{title} (offline base map)",
                                                 {"title": self.title}).render(lang),
                "attribution": self.attribution, "url": self.url, "minzoom": self.minzoom,
                "maxzoom": self.maxzoom, "bounds": bounds, "vector": self.vector}


def _bounds(raw) -> tuple[float, float, float, float] | None:
    try:
        values = [float(v) for v in (raw.split(",") if isinstance(raw, str) else raw)]
    except (TypeError, ValueError, AttributeError):
        return None
    if len(values) != 4 or not (-180 <= values[0] < values[2] <= 180 and -90 <= values[1] < values[3] <= 90):
        return None
    return values[0], values[1], values[2], values[3]


def _zoom(raw, default: int) -> int:
    try:
        value = int(raw)
    except (TypeError, ValueError):
        return default
    return min(max(value, 0), MAX_ZOOM)


def _read_mbtiles(path: Path) -> BaseMap:
    with _connect(path) as db:
        meta = dict(db.execute("SELECT name, value FROM metadata").fetchall())
    fmt = str(meta.get("format", "png")).lower()
    if fmt not in RASTER_FORMATS and fmt not in VECTOR_FORMATS:
        raise ValueError(f"tile format {fmt!r} is not one a browser draws")
    return BaseMap(path.stem, path, "mbtiles", str(meta.get("name") or path.stem), str(meta.get("attribution") or ""),
                   fmt, _zoom(meta.get("minzoom"), 0), _zoom(meta.get("maxzoom"), 18), _bounds(meta.get("bounds")),
                   compressed=fmt in VECTOR_FORMATS)


def _read_pmtiles(path: Path) -> BaseMap:
    with open(path, "rb") as handle:
        reader = Reader(MmapSource(handle))
        header = reader.header()
        meta = reader.metadata()
    fmt = PMTILES_TYPES.get(header["tile_type"])
    if fmt is None:
        raise ValueError("unknown tile type")
    bounds = (header["min_lon_e7"] / 1e7, header["min_lat_e7"] / 1e7, header["max_lon_e7"] / 1e7,
              header["max_lat_e7"] / 1e7)
    return BaseMap(path.stem, path, "pmtiles", str(meta.get("name") or path.stem), str(meta.get("attribution") or ""),
                   fmt, _zoom(header["min_zoom"], 0), _zoom(header["max_zoom"], 18), _bounds(bounds),
                   compressed=header["tile_compression"] == Compression.GZIP)


def _connect(path: Path) -> sqlite3.Connection:
    return sqlite3.connect(f"file:{path}?mode=ro", uri=True, check_same_thread=False)


def discover(folder: Path | None) -> list[BaseMap]:
    """Every readable tile set of the folder."""
    if folder is None or not folder.is_dir():
        return []
    found = []
    for path in sorted(folder.iterdir()):
        suffix = path.suffix.lower()
        if suffix not in (".mbtiles", ".pmtiles") or not NAME.fullmatch(path.stem) or not path.is_file():
            continue
        try:
            found.append(_read_mbtiles(path) if suffix == ".mbtiles" else _read_pmtiles(path))
        except UNREADABLE as exc:  # json.JSONDecodeError is a ValueError
            log.warning("base map %s left out: %s", path.name, exc)
    return sorted(found, key=lambda base: base.title.casefold())  # listed by title, as the reader sees them


def read_tile(base: BaseMap, z: int, x: int, y: int) -> bytes | None:
    """The tile's bytes as stored (gzipped if ``base.compressed``), or None where the set has none."""
    if not (0 <= z <= MAX_ZOOM and 0 <= x < 2**z and 0 <= y < 2**z):
        raise NotFoundError(Text("error", "no such tile"))
    try:
        if base.kind == "mbtiles":
            with _connect(base.path) as db:  # MBTiles rows count from the south (TMS)
                row = db.execute("SELECT tile_data FROM tiles WHERE zoom_level=? AND tile_column=? AND tile_row=?",
                                 (z, x, 2**z - 1 - y)).fetchone()
            return None if row is None else bytes(row[0])
        with open(base.path, "rb") as handle:
            return Reader(MmapSource(handle)).get(z, x, y)
    except UNREADABLE as exc:  # replaced or damaged since it was listed
        log.warning("base map %s: tile %s/%s/%s unreadable: %s", base.path.name, z, x, y, exc)
        raise NotFoundError(Text("error", "no such tile")) from None


class BaseMaps:
    """The base-maps folder, looked at again when it changes (a file dropped in shows on the next page)."""

    def __init__(self, folder: Path | None) -> None:
        self.folder = folder
        self._key: object = None
        self._maps: dict[str, BaseMap] = {}
        self._lock = threading.Lock()

    def _state(self) -> object:
        if self.folder is None or not self.folder.is_dir():
            return None
        return tuple((p.name, p.stat().st_mtime_ns, p.stat().st_size) for p in sorted(self.folder.iterdir())
                     if p.suffix.lower() in (".mbtiles", ".pmtiles"))

    def all(self) -> list[BaseMap]:
        key = self._state()  # a listing of a few files: cheap next to reading a tile
        with self._lock:
            if key != self._key:
                self._maps = {base.name: base for base in discover(self.folder)}
                self._key = key
            return list(self._maps.values())

    def get(self, name: str) -> BaseMap:
        for base in self.all():
            if base.name == name:
                return base
        raise NotFoundError(Text("error", "no base map {value}", {"value": repr(name)}))

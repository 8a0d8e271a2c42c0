"""Layer download formats: one registry (GeoJSON, GeoPackage, zipped Shapefile, KML, CSV) naming each
format's writer in ``io.writers``.

The registry loads no GDAL or pandas: a route names formats, checks one and sends a stored document without
them; the writers are imported when a file is first written.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from geo_service.errors import InvalidParameterError, NotFoundError
from geo_service.i18n import N_, Text
from geo_service.lazy import LazyModule

if TYPE_CHECKING:
    import geopandas as gpd

MAX_PRECISION = 7  # decimals of a degree kept in the stored files (about 1 cm)
writers = LazyModule("geo_service.io.writers")


@dataclass(frozen=True)
class WriteOptions:
    precision: int | None = None
    excel: bool = False  # CSV: UTF-8 with BOM so Excel detects the encoding


@dataclass(frozen=True)
class Format:
    key: str  # the URL extension: /layers/<id>.<key>
    media_type: str
    marked_title: tuple[str, str]  # (context, English), marked for translation
    writer: str  # its function in io.writers: (frame, layer id, WriteOptions) -> bytes

    @property
    def title(self) -> str:
        return self.marked_title[1]

    def title_in(self, lang: str) -> str:
        return Text.of(self.marked_title, {}).render(lang)

    def filename(self, layer_id: str) -> str:
        return f"{layer_id}.{self.key}"

    def write(self, frame: gpd.GeoDataFrame, layer_id: str, options: WriteOptions) -> bytes:
        return getattr(writers, self.writer)(frame, layer_id, options)


def parse_precision(raw: str | None) -> int | None:
    """``precision`` query argument: decimals of a degree, 0 to 7, or None for the stored values."""
    if raw is None or raw == "":
        return None
    if not re.fullmatch(r"[0-9]{1,2}", raw) or int(raw) > MAX_PRECISION:
        raise InvalidParameterError(Text("error", "precision must be a whole number from 0 to {maximum}, got {value}",
                                         {"maximum": MAX_PRECISION, "value": repr(raw)}))
    return int(raw)


FORMATS: dict[str, Format] = {f.key: f for f in (
    Format("geojson", "application/geo+json", N_("download format", "GeoJSON (RFC 7946)"), "write_geojson"),
    Format("gpkg", "application/geopackage+sqlite3", N_("download format", "GeoPackage"), "write_gpkg"),
    Format("shp.zip", "application/zip", N_("download format", "Shapefile (zipped, with .prj and .cpg)"),
           "write_shp_zip"),
    Format("kml", "application/vnd.google-earth.kml+xml", N_("download format", "KML (Google Earth)"), "write_kml"),
    Format("csv", "text/csv", N_("download format", "CSV (lon/lat for points, WKT otherwise)"), "write_csv"),
)}


def get_format(key: str) -> Format:
    try:
        return FORMATS[key]
    except KeyError:
        raise NotFoundError(Text("error", "no download format {value}; formats: {allowed}",
                                 {"value": repr(key), "allowed": ", ".join(FORMATS)})) from None


def write(frame: gpd.GeoDataFrame, layer_id: str, key: str, options: WriteOptions | None = None) -> bytes:
    """The layer serialised in format ``key`` (a FORMATS key)."""
    return get_format(key).write(frame, layer_id, options or WriteOptions())

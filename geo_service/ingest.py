"""Reads users' files (GeoJSON, CSV/TSV, GeoPackage, zipped Shapefile, KML) into EPSG:4326 frames.

Every refusal is an ``IngestError`` that names the file and, where it can,
the row or feature, and says what to do. Spreadsheets saved by French Excel
(semicolons, decimal commas, Windows-1252) are read as they come.
"""

from __future__ import annotations

import csv
import io
import json
import warnings
import tempfile
import zipfile
from pathlib import Path, PurePosixPath

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
from pyogrio.errors import CRSError, DataLayerError, DataSourceError, FeatureError, GeometryError

from geo_service.config import Extent
from geo_service.errors import InvalidParameterError
from geo_service.geojson_rules import document_problems

WGS84 = "EPSG:4326"
LAT_NAMES = ("lat", "latitude", "y", "lat_dd", "latitude_dd", "lat_wgs84")
LON_NAMES = ("lon", "lng", "long", "longitude", "x", "lon_dd", "longitude_dd", "lon_wgs84")
ZIP_MAX_MEMBERS = 64
ZIP_MAX_UNCOMPRESSED = 500 * 2**20
SUFFIXES = {".geojson": "geojson", ".json": "geojson", ".csv": "csv", ".tsv": "csv", ".txt": "csv",
            ".gpkg": "gpkg", ".zip": "shp.zip", ".kml": "kml"}


class IngestError(InvalidParameterError):
    """A file that cannot be read as a layer, with the reason and what to do."""

    code = "InvalidInput"


def _rows(labels: list, limit: int = 5) -> str:
    shown = ", ".join(str(v) for v in labels[:limit])
    return shown + (f" and {len(labels) - limit} more" if len(labels) > limit else "")


def kind_of(filename: str) -> str:
    suffix = Path(filename.lower()).suffix
    if suffix not in SUFFIXES:
        raise IngestError(f"{filename}: unknown file type {suffix or '(none)'}; use GeoJSON, CSV/TSV, "
                          "GeoPackage (.gpkg), a zipped Shapefile (.zip) or KML")
    return SUFFIXES[suffix]


def _decode(data: bytes) -> str:
    for encoding in ("utf-8-sig", "cp1252"):  # Excel in French saves Windows-1252
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise IngestError("the file is neither UTF-8 nor Windows-1252 text")


def _find_column(columns: list[str], wanted: str | None, names: tuple[str, ...], what: str, filename: str) -> str:
    lowered = {c.strip().lower(): c for c in columns}
    if wanted:
        if wanted in columns:
            return wanted
        if wanted.lower() in lowered:
            return lowered[wanted.lower()]
        raise IngestError(f"{filename}: no column {wanted!r}; columns: {', '.join(columns)}")
    for name in names:
        if name in lowered:
            return lowered[name]
    raise IngestError(f"{filename}: no {what} column found (looked for {', '.join(names)}); "
                      f"columns: {', '.join(columns)}. Name it, e.g. with --lat-col/--lon-col")


def _numbers(column: pd.Series, decimal_comma: bool) -> pd.Series:
    text = column.astype("string").str.strip()
    if decimal_comma:
        text = text.str.replace(",", ".", regex=False)
    return pd.to_numeric(text, errors="coerce")


def read_csv(data: bytes, filename: str, lat_col: str | None = None, lon_col: str | None = None) -> gpd.GeoDataFrame:
    """A CSV/TSV table with coordinate columns as points; the file's row numbers appear in errors."""
    text = _decode(data)
    if not text.strip():
        raise IngestError(f"{filename}: the file is empty")
    try:
        dialect = csv.Sniffer().sniff(text[:20000], delimiters=",;\t|")
        sep = dialect.delimiter
    except csv.Error:
        sep = "\t" if filename.lower().endswith(".tsv") else ","
    try:
        records = list(csv.reader(io.StringIO(text, newline=""), delimiter=sep))
    except csv.Error as exc:
        raise IngestError(f"{filename}: cannot read as a table: {exc}") from None
    width = len(records[0]) if records else 0
    too_long = [number for number, record in enumerate(records[1:], start=2) if len(record) > width]
    if too_long:
        raise IngestError(f"{filename}: rows {_rows(too_long)} have more fields than the header's {width} "
                          f"(is a value holding the separator {sep!r} without quotes?)")
    try:
        # index_col=False: a row with extra fields must not turn the first columns into an index.
        table = pd.read_csv(io.StringIO(text), sep=sep, dtype=str, keep_default_na=False, na_values=[""],
                            index_col=False).reset_index(drop=True)
    except (pd.errors.ParserError, ValueError) as exc:
        raise IngestError(f"{filename}: cannot read as a table: {exc}") from None
    columns = [str(c) for c in table.columns]
    lat_name = _find_column(columns, lat_col, LAT_NAMES, "latitude", filename)
    lon_name = _find_column(columns, lon_col, LON_NAMES, "longitude", filename)
    decimal_comma = sep == ";"
    lat, lon = _numbers(table[lat_name], decimal_comma), _numbers(table[lon_name], decimal_comma)
    bad = table.index[lat.isna() | lon.isna() | ~np.isfinite(lat.fillna(0)) | ~np.isfinite(lon.fillna(0))]
    if len(bad):
        raise IngestError(f"{filename}: rows {_rows([i + 2 for i in bad])} have no numeric {lat_name}/{lon_name} "
                          "(row numbers count the header as row 1)")
    frame = table.drop(columns=[lat_name, lon_name])
    return gpd.GeoDataFrame(frame, geometry=gpd.points_from_xy(lon, lat), crs=WGS84)


def _check_zip(data: bytes, filename: str) -> None:
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile:
        raise IngestError(f"{filename}: not a valid zip archive") from None
    members = archive.infolist()
    if len(members) > ZIP_MAX_MEMBERS:
        raise IngestError(f"{filename}: {len(members)} files in the archive; at most {ZIP_MAX_MEMBERS}")
    if sum(m.file_size for m in members) > ZIP_MAX_UNCOMPRESSED:
        raise IngestError(f"{filename}: the archive unpacks to more than {ZIP_MAX_UNCOMPRESSED // 2**20} MB")
    for member in members:
        path = PurePosixPath(member.filename.replace("\\", "/"))
        if path.is_absolute() or ".." in path.parts:
            raise IngestError(f"{filename}: the archive holds an unsafe path {member.filename!r}")
    if not any(m.filename.lower().endswith(".shp") for m in members):
        raise IngestError(f"{filename}: no .shp file in the archive (zip the .shp, .shx, .dbf and .prj together)")


def check_geojson_structure(data: bytes, filename: str) -> None:
    """Our own reading of an uploaded GeoJSON first: GDAL would quietly null what it cannot parse."""
    try:
        document = json.loads(data.decode("utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise IngestError(f"{filename}: cannot read as geojson: not valid UTF-8 JSON ({exc})") from None
    problems = document_problems(document, structure_only=True, limit=5)
    if problems:
        raise IngestError(f"{filename}: not usable GeoJSON: {'; '.join(problems)}", details={"problems": problems})


def read_gis(data: bytes, filename: str, kind: str) -> tuple[gpd.GeoDataFrame, list[str]]:
    """GeoJSON, GeoPackage, zipped Shapefile or KML through GDAL, from a private temporary copy.

    GDAL's warnings (values it could not read, …) come back as notes.
    """
    if kind == "shp.zip":
        _check_zip(data, filename)
    if kind == "geojson":
        check_geojson_structure(data, filename)
    suffix = {"geojson": ".geojson", "gpkg": ".gpkg", "shp.zip": ".zip", "kml": ".kml"}[kind]
    with tempfile.TemporaryDirectory(prefix="geo-service-upload-") as tmp:
        path = Path(tmp) / f"upload{suffix}"
        path.write_bytes(data)
        source = f"/vsizip/{path}" if kind == "shp.zip" else path
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                frame = pyogrio.read_dataframe(source, datetime_as_string=True)
            except (DataSourceError, DataLayerError, FeatureError, GeometryError, CRSError) as exc:
                message = str(exc).replace(str(path), filename)
                raise IngestError(f"{filename}: cannot read as {kind}: {message}") from None
    if not isinstance(frame, gpd.GeoDataFrame) or frame.geometry is None:
        raise IngestError(f"{filename}: the file has no geometry")
    notes = sorted({f"{filename}: GDAL: {w.message}".replace(str(path), filename) for w in caught})
    return frame, notes


def to_wgs84(frame: gpd.GeoDataFrame, filename: str) -> tuple[gpd.GeoDataFrame, list[str]]:
    """Reproject a declared CRS; refuse coordinates that are clearly not degrees when none is declared."""
    notes: list[str] = []
    if frame.crs is None:
        xmin, ymin, xmax, ymax = frame.total_bounds if len(frame) else (0, 0, 0, 0)
        if not (-180 <= xmin and xmax <= 180 and -90 <= ymin and ymax <= 90):
            raise IngestError(f"{filename}: coordinates reach {xmin:.0f}, {ymin:.0f} … {xmax:.0f}, {ymax:.0f}: these "
                              "are not degrees and the file declares no CRS. Export it as WGS84 (EPSG:4326) "
                              "or include its .prj")
        return frame.set_crs(WGS84), notes
    if frame.crs.to_epsg() != 4326:
        notes.append(f"reprojected from {frame.crs.to_string()} to EPSG:4326")
        frame = frame.to_crs(WGS84)
    bounds = frame.geometry.bounds
    beyond = frame.index[(bounds["minx"] < -180) | (bounds["maxx"] > 180) | (bounds["miny"] < -90) | (bounds["maxy"] > 90)]
    if len(beyond):
        raise IngestError(f"{filename}: features {_rows([int(i) + 1 for i in beyond])} have coordinates outside "
                          "longitude -180..180 / latitude -90..90: they are not WGS84 degrees. If they are in a "
                          "projected CRS, export the file with that CRS declared")
    return frame, notes


def check_geometries_present(frame: gpd.GeoDataFrame, filename: str) -> None:
    missing = frame.index[frame.geometry.isna() | frame.geometry.is_empty]
    if len(missing):
        raise IngestError(f"{filename}: features {_rows([int(i) + 1 for i in missing])} have no geometry")


def check_extent(frame: gpd.GeoDataFrame, extent: Extent, filename: str) -> None:
    """Refuse points outside the service's area, suggesting swapped columns when that would fit."""
    points = frame.geometry.representative_point()
    lon, lat = points.x.to_numpy(), points.y.to_numpy()
    outside = ~extent.contains(lon, lat)
    if not outside.any():
        return
    rows = [int(i) + 1 for i in np.flatnonzero(outside)]
    message = (f"{filename}: {int(outside.sum())} of {len(frame)} features lie outside the service's area "
               f"({extent.describe()}): features {_rows(rows)}")
    if extent.contains(lat[outside], lon[outside]).all():
        message += ". Swapping latitude and longitude would put them inside: are the two columns swapped?"
    else:
        message += "."
    raise IngestError(message + " If these places are right, allow points outside the area explicitly.")


def read_upload(data: bytes, filename: str, *, lat_col: str | None = None, lon_col: str | None = None,
                extent: Extent | None = Extent(), max_features: int | None = None) -> tuple[gpd.GeoDataFrame, list[str]]:
    """The file as a GeoDataFrame in EPSG:4326, and notes on what was changed (e.g. reprojection)."""
    kind = kind_of(filename)
    if not data:
        raise IngestError(f"{filename}: the file is empty")
    if kind == "csv":
        frame, notes = read_csv(data, filename, lat_col, lon_col), []
    else:
        frame, notes = read_gis(data, filename, kind)
    frame = frame.reset_index(drop=True)  # messages count features by position, from 1
    if len(frame) == 0:
        raise IngestError(f"{filename}: the file has no features")
    if max_features is not None and len(frame) > max_features:
        raise IngestError(f"{filename}: {len(frame)} features; at most {max_features} are accepted")
    check_geometries_present(frame, filename)
    frame, reprojected = to_wgs84(frame, filename)
    notes += reprojected
    if extent is not None:
        check_extent(frame, extent, filename)
    return frame, notes


"""Reads users' files (GeoJSON, CSV/TSV, GeoPackage, zipped Shapefile, KML) into EPSG:4326 frames.

Every refusal is an ``IngestError`` (or a 413 for a file over a limit) that
names the file and, where it can, the row or feature, and says what to do.
Each file is inspected and counted (``bounds``) before GDAL reads it.
Spreadsheets saved by French Excel (semicolons, decimal commas,
Windows-1252) are read as they come.
"""

from __future__ import annotations

import csv
import io
import json
import re
import tempfile
import warnings
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyogrio.errors import CRSError, DataLayerError, DataSourceError, FeatureError, GeometryError

from geo_service.config import Extent, InputLimits
from geo_service.io.bounds import (IngestError, check_frame, decode_text, geojson_counts, listed, over_limit,
                                   parse_json, scan_csv)
from geo_service.io.containers import inspect_gpkg, inspect_shapefile_zip
from geo_service.io.field_exports import accuracy_flags, locate, numbers, strip_hxl_row
from geo_service.io.geojson_rules import document_problems
from geo_service.io.geojson_stream import read_plain
from geo_service.io.ogr import read_frame, with_feature_ids
from geo_service.io.workbook import read_workbook
from geo_service.i18n import Text

__all__ = ["IngestError", "read_upload", "kind_of"]

WGS84 = "EPSG:4326"
SUFFIXES = {".geojson": "geojson", ".json": "geojson", ".csv": "csv", ".tsv": "csv", ".txt": "csv",
            ".xlsx": "xlsx", ".gpkg": "gpkg", ".zip": "shp.zip", ".kml": "kml"}


def kind_of(filename: str) -> str:
    suffix = Path(filename.lower()).suffix
    if suffix not in SUFFIXES:
        raise IngestError(Text("error", "{file}: unknown file type {suffix}; use GeoJSON, CSV/TSV, Excel (.xlsx), "
                               "GeoPackage (.gpkg), a zipped Shapefile (.zip) or KML",
                               {"file": filename, "suffix": suffix or "(none)"}))
    return SUFFIXES[suffix]


_WHOLE = r"-?(?:0|[1-9][0-9]{0,17})"  # no leading zeros: "007" is a code, kept as text


def typed_columns(table: pd.DataFrame, decimal_comma: bool) -> pd.DataFrame:
    """Columns whose every value is a whole number become nullable integers, decimals become floats;
    anything else (codes with leading zeros, mixed text) stays text as written."""
    decimal = r"-?[0-9]+(?:[.,][0-9]+)?" if decimal_comma else r"-?[0-9]+(?:\.[0-9]+)?"
    for column in table.columns:
        values = table[column].dropna().astype("string").str.strip()
        if values.empty or not values.head(20).str.fullmatch(decimal).all():
            continue  # a sample first: most text columns show it in their first values
        if values.str.fullmatch(_WHOLE).all():
            table[column] = pd.to_numeric(table[column].str.strip()).astype("Int64")
        elif values.str.fullmatch(decimal).all() and not values.str.fullmatch(r"-?0[0-9]+").any():
            table[column] = numbers(table[column], decimal_comma)
    return table


def _separator(text: str, filename: str) -> str:
    try:
        return csv.Sniffer().sniff(text[:20000], delimiters=",;\t|").delimiter
    except csv.Error:
        return "\t" if filename.lower().endswith(".tsv") else ","


@dataclass(frozen=True)
class ColumnChoice:
    """Where the user says the location is (all None: found from the file), and the GPS accuracy bound."""

    lat_col: str | None = None
    lon_col: str | None = None
    geopoint_col: str | None = None
    accuracy_threshold_m: float = 100.0


def table_points(table: pd.DataFrame, filename: str, choice: ColumnChoice, decimal_comma: bool,
                 first_row: int = 2) -> tuple[gpd.GeoDataFrame, list[str]]:
    """A table of text cells as points: every column kept (typed), the location found as
    ``field_exports.locate`` says, rows with an imprecise GPS fix flagged, not dropped."""
    table, roles = strip_hxl_row(table)
    if roles:
        first_row += 1
    location = locate(table, filename, roles=roles, lat_col=choice.lat_col, lon_col=choice.lon_col,
                      geopoint_col=choice.geopoint_col, decimal_comma=decimal_comma)
    lat, lon = location.lat, location.lon
    plain_columns = location.plain
    bad = table.index[lat.isna() | lon.isna() | ~np.isfinite(lat.fillna(0)) | ~np.isfinite(lon.fillna(0))]
    if len(bad):
        where = "/".join(location.columns) if plain_columns else " + ".join(location.columns)
        raise IngestError(Text("error", "{file}: rows {rows} have no numeric {where} (row numbers count the header "
                               "as row 1)", {"file": filename, "rows": listed([i + first_row for i in bad]),
                                             "where": where}))
    notes = [] if plain_columns else [Text("note", "{file}: location read from {columns}",
                                           {"file": filename, "columns": " + ".join(location.columns)})]
    frame = typed_columns(table.drop(columns=location.columns) if plain_columns else table.copy(), decimal_comma)
    imprecise, count = accuracy_flags(location.accuracy_m, choice.accuracy_threshold_m)
    if imprecise is not None:
        frame["location_accuracy_m"] = location.accuracy_m.to_numpy()
        frame["location_imprecise"] = imprecise.to_numpy()
        if count:
            notes.append(Text("note", "{file}: {count} rows have a GPS accuracy worse than {metres} m; they are kept "
                              "and flagged (location_imprecise)",
                              {"file": filename, "count": count, "metres": f"{choice.accuracy_threshold_m:g}"}))
    frame.attrs["roles"] = {role: column for column, role in roles.items() if role not in ("lat", "lon")}
    return gpd.GeoDataFrame(frame, geometry=gpd.points_from_xy(lon, lat), crs=WGS84), notes


def read_csv(data: bytes, filename: str, choice: ColumnChoice = ColumnChoice(),
             limits: InputLimits = InputLimits()) -> tuple[gpd.GeoDataFrame, list[str]]:
    """A CSV/TSV table (`,`, `;`, tab or `|`) as points; the file's row numbers appear in errors."""
    text = decode_text(data, filename)
    if not text.strip():
        raise IngestError(Text("error", "{file}: the file is empty", {"file": filename}))
    sep = _separator(text, filename)
    scan_csv(text, sep, filename, limits)  # rows and columns counted before pandas builds anything
    try:
        # index_col=False: a row with extra fields must not turn the first columns into an index.
        table = pd.read_csv(io.StringIO(text), sep=sep, dtype=str, keep_default_na=False, na_values=[""],
                            index_col=False).reset_index(drop=True)
    except (pd.errors.ParserError, ValueError) as exc:
        raise IngestError(Text("error", "{file}: cannot read as a table: {problem}",
                               {"file": filename, "problem": str(exc)})) from None
    return table_points(table, filename, choice, decimal_comma=sep == ";")


def read_xlsx(data: bytes, filename: str, choice: ColumnChoice = ColumnChoice(),
              limits: InputLimits = InputLimits()) -> tuple[gpd.GeoDataFrame, list[str]]:
    """An Excel workbook's sheet as points: the first sheet whose header has a location, else the first."""
    table, sheet, others = read_workbook(data, filename, limits)
    points, notes = table_points(table, filename, choice, decimal_comma=False)
    if others:
        notes.insert(0, Text("note", "{file}: sheet {sheet} read (the workbook also has {others})",
                             {"file": filename, "sheet": repr(sheet), "others": ", ".join(map(repr, others))}))
    return points, notes


# An escaped NUL (after an even number of backslashes: not a backslash written out before "u0000")
_NUL = re.compile(r"(?<!\\)(?:\\\\)*\\u0000")


def check_geojson(data: bytes, filename: str, limits: InputLimits = InputLimits()) -> bytes:
    """Our own strict reading of an uploaded GeoJSON first: GDAL would quietly null, merge or
    materialise what it cannot parse (NaN, duplicate keys, sparse properties). Returns the document
    written again as UTF-8 for GDAL, which reads some characters beyond U+FFFF (those whose code point
    ends in D800-DFFF) as U+FFFD when they come as two escaped UTF-16 surrogates, as ``json.dumps``
    writes them."""
    return _checked_geojson(data, filename, limits)[0]


def _checked_geojson(data: bytes, filename: str, limits: InputLimits) -> tuple[bytes, list]:
    """``check_geojson``'s document, and its features as parsed (their ids, which GDAL does not give)."""
    document = parse_json(data, filename)
    problems = document_problems(document, structure_only=True, limit=5)
    if problems:
        raise IngestError(Text("error", "{file}: not usable GeoJSON: {problems}", {"file": filename, "problems": problems}),
                          details={"problems": [str(p) for p in problems]})
    geojson_counts(document, filename, limits)
    if _NUL.search(data.decode("utf-8-sig")):
        raise IngestError(Text("error", "{file}: a text holds the NUL character (\\u0000), where GDAL would cut it "
                               "short: remove it", {"file": filename}))
    try:
        return json.dumps(document, ensure_ascii=False).encode("utf-8"), document.get("features")
    except UnicodeEncodeError as exc:
        raise IngestError(Text("error", "{file}: a text holds half of a UTF-16 surrogate pair ({code}), which is "
                               "not a character: export the file again as UTF-8",
                               {"file": filename, "code": f"\\u{ord(exc.object[exc.start]):04x}"})) from None


def read_gis(data: bytes, filename: str, kind: str,
             limits: InputLimits = InputLimits()) -> tuple[gpd.GeoDataFrame, list[str]]:
    """GeoJSON, GeoPackage, zipped Shapefile or KML through GDAL, from a private temporary copy.

    Each is inspected and counted first; GDAL's warnings (values it could not read, …) come back as notes.
    """
    features = None  # a GeoJSON document's, as parsed
    if kind == "shp.zip":
        inspect_shapefile_zip(data, filename, limits)
    if kind == "geojson":
        plain = read_plain(data, filename, limits)  # one pass; None: the long way below says what GDAL makes of it
        if plain is not None:
            return plain, []
        data, features = _checked_geojson(data, filename, limits)
    suffix = {"geojson": ".geojson", "gpkg": ".gpkg", "shp.zip": ".zip", "kml": ".kml"}[kind]
    with tempfile.TemporaryDirectory(prefix="geo-service-upload-") as tmp:
        path = Path(tmp) / f"upload{suffix}"
        path.write_bytes(data)
        layer = inspect_gpkg(path, filename, limits) if kind == "gpkg" else None
        source = f"/vsizip/{path}" if kind == "shp.zip" else path
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                frame = read_frame(source, layer=layer)
            except (DataSourceError, DataLayerError, FeatureError, GeometryError, CRSError) as exc:
                message = str(exc).replace(str(path), filename).replace(tmp, "")
                raise IngestError(Text("error", "{file}: cannot read as {kind}: {problem}",
                                       {"file": filename, "kind": kind, "problem": message})) from None
        notes = sorted({f"{filename}: GDAL: {w.message}".replace(str(path), filename).replace(tmp, "")
                        for w in caught})
    if not isinstance(frame, gpd.GeoDataFrame) or frame.geometry is None:
        raise IngestError(Text("error", "{file}: the file has no geometry", {"file": filename}))
    if kind == "geojson":
        frame, as_text = with_feature_ids(frame, features=features)
        if as_text:
            notes.append(Text("note", "{file}: the ids mix whole numbers and text: all are kept as text",
                              {"file": filename}))
    return frame, notes


def to_wgs84(frame: gpd.GeoDataFrame, filename: str) -> tuple[gpd.GeoDataFrame, list[str]]:
    """Reproject a declared CRS; refuse coordinates that are clearly not degrees when none is declared."""
    notes: list[str] = []
    if frame.crs is None:
        xmin, ymin, xmax, ymax = frame.total_bounds if len(frame) else (0, 0, 0, 0)
        if not (-180 <= xmin and xmax <= 180 and -90 <= ymin and ymax <= 90):
            raise IngestError(Text("error", "{file}: coordinates reach {low} … {high}: these are not degrees and the "
                                   "file declares no CRS. Export it as WGS84 (EPSG:4326) or include its .prj",
                                   {"file": filename, "low": f"{xmin:.0f}, {ymin:.0f}", "high": f"{xmax:.0f}, {ymax:.0f}"}))
        return frame.set_crs(WGS84), notes
    if frame.crs.to_epsg() != 4326:
        notes.append(Text("note", "{file}: reprojected from {crs} to EPSG:4326",
                          {"file": filename, "crs": frame.crs.to_string()}))
        frame = frame.to_crs(WGS84)
    bounds = frame.geometry.bounds
    beyond = frame.index[(bounds["minx"] < -180) | (bounds["maxx"] > 180) | (bounds["miny"] < -90) | (bounds["maxy"] > 90)]
    if len(beyond):
        raise IngestError(Text("error", "{file}: features {rows} have coordinates outside longitude -180..180 / "
                               "latitude -90..90: they are not WGS84 degrees. If they are in a projected CRS, export "
                               "the file with that CRS declared",
                               {"file": filename, "rows": listed([int(i) + 1 for i in beyond])}))
    return frame, notes


def check_geometries_present(frame: gpd.GeoDataFrame, filename: str) -> None:
    missing = frame.index[frame.geometry.isna() | frame.geometry.is_empty]
    if len(missing):
        raise IngestError(Text("error", "{file}: features {rows} have no geometry",
                               {"file": filename, "rows": listed([int(i) + 1 for i in missing])}))


def check_extent(frame: gpd.GeoDataFrame, extent: Extent, filename: str) -> None:
    """Refuse points outside the service's area, suggesting swapped columns when that would fit."""
    geometries = frame.geometry.to_numpy()
    # a point is its own representative point (point_on_surface took 0.1 s over 100,000 points)
    points = geometries if (shapely.get_type_id(geometries) == 0).all() else shapely.point_on_surface(geometries)
    lon, lat = shapely.get_x(points), shapely.get_y(points)
    outside = ~extent.contains(lon, lat)
    if not outside.any():
        return
    rows = [int(i) + 1 for i in np.flatnonzero(outside)]
    values = {"file": filename, "count": int(outside.sum()), "total": len(frame), "area": extent.describe(),
              "rows": listed(rows)}
    if extent.contains(lat[outside], lon[outside]).all():
        raise IngestError(Text("error", "{file}: {count} of {total} features lie outside the service's area ({area}): "
                               "features {rows}. Swapping latitude and longitude would put them inside: are the two "
                               "columns swapped? If these places are right, allow points outside the area "
                               "explicitly.", values))
    raise IngestError(Text("error", "{file}: {count} of {total} features lie outside the service's area ({area}): "
                           "features {rows}. If these places are right, allow points outside the area explicitly.",
                           values))


def read_upload(data: bytes, filename: str, *, columns: ColumnChoice = ColumnChoice(),
                extent: Extent | None = Extent(),
                limits: InputLimits = InputLimits()) -> tuple[gpd.GeoDataFrame, list[str]]:
    """The file as a GeoDataFrame in EPSG:4326, and notes on what was changed (e.g. reprojection).

    A file over any of ``limits`` is refused whole (413) before it is built in memory.
    """
    kind = kind_of(filename)
    if not data:
        raise IngestError(Text("error", "{file}: the file is empty", {"file": filename}))
    if len(data) > limits.upload_bytes:
        raise over_limit(filename, "MB", len(data) / 2**20, limits.upload_mb, "MAX_UPLOAD_MB")
    if kind in ("csv", "xlsx"):
        reader = read_csv if kind == "csv" else read_xlsx
        frame, notes = reader(data, filename, columns, limits)
    else:
        frame, notes = read_gis(data, filename, kind, limits)
    frame = frame.reset_index(drop=True)  # messages count features by position, from 1
    if len(frame) == 0:
        raise IngestError(Text("error", "{file}: the file has no features", {"file": filename}))
    check_frame(frame, filename, limits)
    check_geometries_present(frame, filename)
    frame, reprojected = to_wgs84(frame, filename)
    notes += reprojected
    if extent is not None:
        check_extent(frame, extent, filename)
    return frame, notes

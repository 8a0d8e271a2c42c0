"""The writers of the download formats (``io.formats`` names them): GeoJSON by hand, GeoPackage, zipped
Shapefile and KML through GDAL, CSV with lon/lat or WKT."""

from __future__ import annotations

import csv
import io
import json
import tempfile
import zipfile
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import shapely

from geo_service.io.csv_text import csv_text
from geo_service.io.formats import MAX_PRECISION, WriteOptions

SHAPEFILE_NAME_LIMIT = 10
DBF_TEXT_LIMIT_BYTES = 254  # a DBF text field holds at most 254 bytes
# Cells that spreadsheets read as formulas (OWASP CSV injection): prefixed with a quote.
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def round_coordinates(frame: gpd.GeoDataFrame, precision: int) -> gpd.GeoDataFrame:
    """A copy with every coordinate rounded to ``precision`` decimals (for display, not analysis)."""
    rounded = frame.copy()
    rounded[frame.geometry.name] = shapely.transform(frame.geometry.values, lambda xy: np.round(xy, precision))
    return rounded


def geojson_bytes(frame: gpd.GeoDataFrame, precision: int | None = None) -> bytes:
    """The features as an RFC 7946 FeatureCollection; the ``id`` column becomes the feature id.

    Written here rather than with ``GeoDataFrame.to_json``, which builds a dict per feature through
    pandas' row iteration: 100,000 communities took 13 s that way, and take under a second with the
    geometries encoded by GEOS in one call and the properties by one ``json.dumps`` per feature.
    """
    if precision is not None:
        frame = round_coordinates(frame, precision)
    as_id = "id" in frame.columns and frame["id"].is_unique and not frame["id"].isna().any()  # RFC 7946: no null id
    names = [c for c in frame.columns if c != frame.geometry.name and not (as_id and c == "id")]
    columns = [json_values(frame[name]) for name in names]
    geometries = shapely.to_geojson(frame.geometry.values).tolist() if len(frame) else []
    heads = ([f'{{"id":{json.dumps(v, ensure_ascii=False, default=json_default)},' for v in json_values(frame["id"])]
             if as_id else ["{"] * len(frame))
    rows = zip(*columns) if names else [()] * len(frame)
    parts = []
    for head, row, geometry in zip(heads, rows, geometries):
        properties = json.dumps(dict(zip(names, row)), ensure_ascii=False, separators=(",", ":"), default=json_default)
        parts.append(f'{head}"type":"Feature","properties":{properties},"geometry":{geometry or "null"}}}')
    return ('{"type":"FeatureCollection","features":[' + ",".join(parts) + "]}").encode("utf-8")


def json_values(column: pd.Series) -> list:
    """A column's values as JSON-ready Python values: missing and non-finite numbers become None."""
    values = column.tolist()
    missing = column.isna().to_numpy()
    if pd.api.types.is_float_dtype(column):
        missing = missing | ~np.isfinite(column.to_numpy(dtype=float, na_value=np.nan))
    if missing.any():
        values = [None if gone else value for value, gone in zip(values, missing)]
    return values


def json_default(value: object) -> object:
    """What json cannot write by itself: numpy scalars, dates and times (ISO 8601)."""
    if isinstance(value, np.generic):
        return value.item()
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value)


def write_geojson(frame: gpd.GeoDataFrame, layer_id: str, options: WriteOptions) -> bytes:
    return geojson_bytes(frame, options.precision)


def _ogr_bytes(frame: gpd.GeoDataFrame, filename: str, **kwargs) -> tuple[Path, tempfile.TemporaryDirectory]:
    tmp = tempfile.TemporaryDirectory(prefix="geo-service-")
    path = Path(tmp.name) / filename
    pyogrio.write_dataframe(frame, path, **kwargs)
    return path, tmp


def _geometry_type(frame: gpd.GeoDataFrame) -> str | None:
    # An empty layer (e.g. a bbox with no match) still needs a declared geometry type.
    return None if len(frame) else "Unknown"


def write_gpkg(frame: gpd.GeoDataFrame, layer_id: str, options: WriteOptions) -> bytes:
    path, tmp = _ogr_bytes(frame, f"{layer_id}.gpkg", layer=layer_id, driver="GPKG",
                           geometry_type=_geometry_type(frame))
    with tmp:
        return path.read_bytes()


def shapefile_names(columns: list[str]) -> dict[str, str]:
    """Unique DBF field names of at most 10 characters (the format's limit), in column order."""
    names: dict[str, str] = {}
    used: set[str] = set()
    for column in columns:
        candidate = column[:SHAPEFILE_NAME_LIMIT]
        counter = 1
        while candidate.lower() in used:
            suffix = f"_{counter}"
            candidate = column[: SHAPEFILE_NAME_LIMIT - len(suffix)] + suffix
            counter += 1
        used.add(candidate.lower())
        names[column] = candidate
    return names


def fit_dbf_text(value: object) -> object:
    """Text cut to the DBF limit at a character boundary, ending with an ellipsis when cut."""
    if not isinstance(value, str) or len(value.encode("utf-8")) <= DBF_TEXT_LIMIT_BYTES:
        return value
    ellipsis = "…"
    room = DBF_TEXT_LIMIT_BYTES - len(ellipsis.encode("utf-8"))
    return value.encode("utf-8")[:room].decode("utf-8", "ignore") + ellipsis


def write_shp_zip(frame: gpd.GeoDataFrame, layer_id: str, options: WriteOptions) -> bytes:
    columns = [c for c in frame.columns if c != frame.geometry.name]
    names = shapefile_names(columns)
    renamed = frame.rename(columns=names)
    cut: set[str] = set()
    for column in columns:
        fitted = renamed[names[column]].map(fit_dbf_text, na_action="ignore")
        if not fitted.equals(renamed[names[column]]):
            cut.add(column)
            renamed[names[column]] = fitted
    path, tmp = _ogr_bytes(renamed, f"{layer_id}.shp", driver="ESRI Shapefile",
                           layer_options={"ENCODING": "UTF-8"}, geometry_type=_geometry_type(frame))
    with tmp:
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
            for suffix in (".shp", ".shx", ".dbf", ".prj", ".cpg"):
                archive.write(path.with_suffix(suffix), f"{layer_id}{suffix}")
            mapping = io.StringIO()
            writer = csv.writer(mapping)
            writer.writerow(["property", "shapefile_field", "values_cut_to_254_bytes"])
            writer.writerows((neutralise_formula(column), neutralise_formula(name), "yes" if column in cut else "no")
                             for column, name in names.items())
            archive.writestr(f"{layer_id}_fields.csv", mapping.getvalue())
        return buffer.getvalue()


def write_kml(frame: gpd.GeoDataFrame, layer_id: str, options: WriteOptions) -> bytes:
    dataset_options = {"NameField": "name"} if "name" in frame.columns else {}
    path, tmp = _ogr_bytes(frame, f"{layer_id}.kml", driver="KML", layer=layer_id,
                           dataset_options=dataset_options, geometry_type=_geometry_type(frame))
    with tmp:
        return path.read_bytes()


def neutralise_formula(value: object) -> object:
    """A text cell that a spreadsheet would run as a formula gets a leading apostrophe."""
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


def neutralised(column: pd.Series) -> pd.Series:
    """``neutralise_formula`` on a whole column at once (non-text values are left as they are)."""
    starts = column.str.startswith(FORMULA_PREFIXES) if pd.api.types.is_string_dtype(column) else None
    if starts is None:
        return column.map(neutralise_formula, na_action="ignore")
    formula = starts.fillna(False).astype(bool).to_numpy()
    if not formula.any():
        return column
    column = column.astype(object).copy()
    column[formula] = ["'" + value for value in column[formula]]
    return column


def csv_frame(frame: gpd.GeoDataFrame, precision: int | None = None) -> pd.DataFrame:
    """Properties plus lon/lat columns for a point layer, or a WKT ``geometry`` column otherwise."""
    geometry = frame.geometry
    table = pd.DataFrame(frame.drop(columns=geometry.name))
    if len(frame) and (geometry.geom_type == "Point").all():
        lon, lat = geometry.x.to_numpy(), geometry.y.to_numpy()
        table["lon"] = np.round(lon, precision) if precision is not None else lon
        table["lat"] = np.round(lat, precision) if precision is not None else lat
    else:
        table["geometry"] = shapely.to_wkt(geometry.values, rounding_precision=precision or MAX_PRECISION,
                                           trim=True)
    return table


def write_csv(frame: gpd.GeoDataFrame, layer_id: str, options: WriteOptions) -> bytes:
    table = csv_frame(frame, options.precision)
    table = table.rename(columns={c: neutralise_formula(str(c)) for c in table.columns})
    for column in table.columns:
        if table[column].dtype == object or pd.api.types.is_string_dtype(table[column]):
            table[column] = neutralised(table[column])
    text = csv_text(table)  # the usual columns: the bytes pandas writes, about four times sooner
    if text is None:
        text = table.to_csv(index=False, lineterminator="\r\n")
    return text.encode("utf-8-sig" if options.excel else "utf-8")

"""Hostile and careless uploads, each built by the tests themselves (no file is shipped)."""

from __future__ import annotations

import io
import json
import sqlite3
import struct
import zipfile
from pathlib import Path

import geopandas as gpd
import pyogrio
from shapely.geometry import MultiPoint, Point

from geo_service.io.formats import write as write_format


def points_frame(count: int = 2, **columns) -> gpd.GeoDataFrame:
    data = {"id": [f"p{i}" for i in range(count)], "name": [f"P{i}" for i in range(count)], **columns}
    return gpd.GeoDataFrame(data, geometry=[Point(-12.2 + i * 1e-3, 14.4) for i in range(count)], crs="EPSG:4326")


def feature_collection(*features) -> dict:
    return {"type": "FeatureCollection", "features": list(features)}


def point_feature(fid=None, lon=-12.2, lat=14.4, **props) -> dict:
    feature = {"type": "Feature", "properties": props, "geometry": {"type": "Point", "coordinates": [lon, lat]}}
    if fid is not None:
        feature["id"] = fid
    return feature


def gpkg_with_view(tmp: Path, recursive: bool = True) -> bytes:
    """A GeoPackage whose only feature layer is a SQL view (recursive: it would count for ever)."""
    path = tmp / f"view-{'recursive' if recursive else 'join'}.gpkg"
    pyogrio.write_dataframe(points_frame(), path, layer="base", driver="GPKG")
    with sqlite3.connect(path) as db:
        body = ("WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n) SELECT b.* FROM base b, n"
                if recursive else "SELECT a.* FROM base a, base b, base c")
        db.execute(f"CREATE VIEW trap AS {body}")
        db.execute("DELETE FROM gpkg_contents")  # the view is the only layer a reader sees
        db.execute("INSERT INTO gpkg_contents (table_name, data_type, identifier, srs_id) "
                   "VALUES ('trap', 'features', 'trap', 4326)")
        db.execute("UPDATE gpkg_geometry_columns SET table_name = 'trap'")
    return path.read_bytes()


def gpkg_with_sql(tmp: Path, name: str, *statements: str) -> bytes:
    """A plain GeoPackage layer ``base``, changed by ``statements`` run on its SQLite file."""
    path = tmp / f"{name}.gpkg"
    pyogrio.write_dataframe(points_frame(), path, layer="base", driver="GPKG")
    with sqlite3.connect(path) as db:
        for statement in statements:
            db.execute(statement)
    return path.read_bytes()


def gpkg_with_generated_column(tmp: Path) -> bytes:
    return gpkg_with_sql(tmp, "generated", "ALTER TABLE base ADD COLUMN blob_bomb BLOB GENERATED ALWAYS AS "
                                           "(zeroblob(1000000000)) VIRTUAL")


def gpkg_with_trigger(tmp: Path) -> bytes:
    return gpkg_with_sql(tmp, "trigger", "CREATE TABLE log (x)",
                         "CREATE TRIGGER spy AFTER UPDATE ON base BEGIN INSERT INTO log VALUES (1); END")


def shapefile_zip(frame: gpd.GeoDataFrame, layer: str = "x", drop: tuple[str, ...] = (),
                  replace: dict[str, bytes] | None = None, symlink: str | None = None) -> bytes:
    """A zipped Shapefile of ``frame``, with members dropped, replaced, or one stored as a symbolic link."""
    parts = zipfile.ZipFile(io.BytesIO(write_format(frame, layer, "shp.zip")))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name in parts.namelist():
            suffix = Path(name).suffix
            if suffix in drop:
                continue
            if symlink == suffix:
                info = zipfile.ZipInfo(name)
                info.external_attr = (0o120777 << 16)  # S_IFLNK: the member is a link to another path
                archive.writestr(info, "/etc/passwd")
                continue
            archive.writestr(name, (replace or {}).get(suffix, parts.read(name)))
    return buffer.getvalue()


def dbf_with_fewer_records(frame: gpd.GeoDataFrame) -> bytes:
    """The .dbf says it holds one record less than the .shp has shapes."""
    parts = zipfile.ZipFile(io.BytesIO(write_format(frame, "x", "shp.zip")))
    dbf = bytearray(parts.read("x.dbf"))
    records = struct.unpack("<I", dbf[4:8])[0]
    dbf[4:8] = struct.pack("<I", records - 1)
    return shapefile_zip(frame, replace={".dbf": bytes(dbf)})


def multipoint_zip(points: int) -> bytes:
    """One MultiPoint feature of ``points`` positions, zipped (compresses very well)."""
    geometry = MultiPoint([(-12.2 + (i % 1000) * 1e-4, 14.4 + (i // 1000) * 1e-4) for i in range(points)])
    frame = gpd.GeoDataFrame({"id": ["m"]}, geometry=[geometry], crs="EPSG:4326")
    return shapefile_zip(frame)


def zip_bomb(unpacked_mb: int) -> bytes:
    """A valid Shapefile beside a member of zeros that unpacks to ``unpacked_mb`` MB."""
    data = shapefile_zip(points_frame())
    buffer = io.BytesIO(data)
    with zipfile.ZipFile(buffer, "a", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("padding.txt", b"\0" * (unpacked_mb * 2**20))
    return buffer.getvalue()


def sparse_geojson(properties: int, features: int = 2) -> bytes:
    """Each feature has its own property names: GDAL would make a column of each, for every feature."""
    per = max(properties // features, 1)
    return json.dumps(feature_collection(*(
        point_feature(f"f{f}", **{f"p{f}_{i}": 1 for i in range(per)}) for f in range(features)))).encode()


def wide_csv(columns: int) -> bytes:
    header = ",".join(["lat", "lon"] + [f"c{i}" for i in range(columns)])
    row = ",".join(["14.4", "-12.2"] + ["1"] * columns)
    return f"{header}\n{row}\n".encode()


def long_csv(rows: int) -> bytes:
    return ("id,lat,lon\n" + "".join(f"r{i},14.4,-12.2\n" for i in range(rows))).encode()


def compact_csv(rows: int) -> bytes:
    """Rows of coordinates only: 2 million of them make 22 MB, under the 25 MB upload limit."""
    return b"lat,lon\n" + b"14.4,-12.2\n" * rows


def kml_without_ids() -> bytes:
    placemarks = "".join(
        f"<Placemark><name>Village {i}</name><Point><coordinates>-12.{i},14.4</coordinates></Point></Placemark>"
        for i in (1, 2))
    return (f'<?xml version="1.0" encoding="UTF-8"?><kml xmlns="http://www.opengis.net/kml/2.2"><Document>'
            f"{placemarks}</Document></kml>").encode()

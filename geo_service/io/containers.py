"""GeoPackages and zipped Shapefiles inspected before GDAL reads them: their structure, counted cheaply.

A GeoPackage's SQLite catalogue is read read-only with a progress budget
(views, virtual tables, generated columns and non-standard triggers are
refused: they would run SQL when read); a zip's directory, the .shx index and
the .dbf header give a Shapefile's counts without unpacking the shapes. See
bounds.py for the limits and the reasons.
"""

from __future__ import annotations

import io
import sqlite3
import stat
import struct
import zipfile
from pathlib import Path, PurePosixPath

import numpy as np

from geo_service.config import InputLimits
from geo_service.i18n import Text
from geo_service.io.bounds import IngestError, check_counts, listed, over_limit

ZIP_MAX_MEMBERS = 64


# --- GeoPackage ----------------------------------------------------------------------------------

def _sqlite_budget(steps: int = 2_000_000):
    """A progress handler that ends any statement after about ``steps`` × 1,000 virtual-machine steps."""
    remaining = [steps]

    def handler() -> int:
        remaining[0] -= 1
        return 1 if remaining[0] < 0 else 0
    return handler


# Triggers the GeoPackage standard (spatial index, tiles, metadata) and GDAL (feature counts) create.
_STANDARD_TRIGGERS = ("rtree_", "gpkg_", "trigger_insert_feature_count_", "trigger_delete_feature_count_")


def inspect_gpkg(path: Path, filename: str, limits: InputLimits) -> str:
    """The GeoPackage's first feature table, after refusing views, virtual tables and computed columns.

    A view or a generated column is computed when read: a small file could make
    GDAL run any SQL for any time. Only plain tables are read, and their rows
    and columns are counted first.
    """
    try:
        connection = sqlite3.connect(f"file:{path}?mode=ro&immutable=1", uri=True)
    except sqlite3.Error:
        raise IngestError(Text("error", "{file}: not a readable GeoPackage (SQLite) file", {"file": filename})) from None
    connection.set_progress_handler(_sqlite_budget(), 1000)
    try:
        try:
            tables = connection.execute(
                "SELECT c.table_name, m.type, m.sql FROM gpkg_contents c LEFT JOIN sqlite_master m "
                "ON m.name = c.table_name WHERE c.data_type = 'features' ORDER BY c.table_name").fetchall()
        except sqlite3.DatabaseError:
            raise IngestError(Text("error", "{file}: not a GeoPackage (no readable gpkg_contents table)",
                                   {"file": filename})) from None
        if not tables:
            raise IngestError(Text("error", "{file}: the GeoPackage holds no feature table", {"file": filename}))
        computed = [name for name, kind, sql in tables
                    if kind != "table" or (sql or "").lstrip().upper().startswith("CREATE VIRTUAL")]
        if computed:
            raise IngestError(Text("error", "{file}: layers {names} are SQL views or virtual tables; only plain "
                                   "feature tables are read (in QGIS: Export › Save Features As… a new GeoPackage)",
                                   {"file": filename, "names": listed(computed)}))
        triggers = [name for (name,) in connection.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'")
                    if not name.startswith(_STANDARD_TRIGGERS)]
        if triggers:
            raise IngestError(Text("error", "{file}: the GeoPackage holds SQL triggers {names} of its own; export "
                                   "the layer to a new GeoPackage (QGIS: Save Features As…)",
                                   {"file": filename, "names": listed(triggers)}))
        name = tables[0][0]
        columns = connection.execute("SELECT name, hidden FROM pragma_table_xinfo(?)", (name,)).fetchall()
        generated = [column for column, hidden in columns if hidden in (2, 3)]
        if generated:
            raise IngestError(Text("error", "{file}: columns {names} of {table} are computed (generated columns); "
                                   "export the layer to a new GeoPackage with plain columns",
                                   {"file": filename, "names": listed(generated), "table": repr(name)}))
        rows = connection.execute(f'SELECT count(*) FROM "{name.replace(chr(34), chr(34) * 2)}"').fetchone()[0]
    except sqlite3.OperationalError as exc:
        if "interrupted" in str(exc):
            raise IngestError(Text("error", "{file}: reading the GeoPackage's tables took too long; it was stopped",
                                   {"file": filename})) from None
        raise IngestError(Text("error", "{file}: not a readable GeoPackage ({problem})",
                               {"file": filename, "problem": str(exc)})) from None
    finally:
        connection.close()
    check_counts(filename, limits, features=rows, properties=len(columns) - 1)
    return name


# --- zipped Shapefile ----------------------------------------------------------------------------

def check_archive(archive: zipfile.ZipFile, filename: str, limits: InputLimits,
                  max_members: int = ZIP_MAX_MEMBERS) -> list[zipfile.ZipInfo]:
    """Member count and unpacked size from the zip directory, before anything is unpacked."""
    members = archive.infolist()
    if len(members) > max_members:
        raise IngestError(Text("error", "{file}: {count} files in the archive; at most {limit}",
                               {"file": filename, "count": len(members), "limit": max_members}))
    unpacked = sum(m.file_size for m in members)
    if unpacked > limits.unpacked_mb * 2**20:
        raise over_limit(filename, "MB once unpacked", unpacked / 2**20, limits.unpacked_mb, "MAX_UNPACKED_MB")
    return members


def _member_map(archive: zipfile.ZipFile, filename: str, limits: InputLimits) -> dict[str, zipfile.ZipInfo]:
    members = check_archive(archive, filename, limits)
    by_suffix: dict[str, list[zipfile.ZipInfo]] = {}
    for member in members:
        path = PurePosixPath(member.filename.replace("\\", "/"))
        if path.is_absolute() or ".." in path.parts:
            raise IngestError(Text("error", "{file}: the archive holds an unsafe path {path}",
                                   {"file": filename, "path": repr(member.filename)}))
        if stat.S_ISLNK(member.external_attr >> 16):
            raise IngestError(Text("error", "{file}: {path} is a symbolic link, not a file; zip the files themselves",
                                   {"file": filename, "path": repr(member.filename)}))
        by_suffix.setdefault(path.suffix.lower(), []).append(member)
    shp = by_suffix.get(".shp", [])
    if len(shp) != 1:
        if not shp:
            raise IngestError(Text("error", "{file}: no .shp file in the archive; zip one layer's .shp, .shx, .dbf "
                                   "and .prj together", {"file": filename}))
        raise IngestError(Text("error", "{file}: {count} .shp files in the archive; zip one layer's .shp, .shx, "
                               ".dbf and .prj together", {"file": filename, "count": len(shp)}))
    stem = PurePosixPath(shp[0].filename.replace("\\", "/")).with_suffix("").as_posix().lower()
    found = {".shp": shp[0]}
    for suffix in (".shx", ".dbf"):
        match = [m for m in by_suffix.get(suffix, [])
                 if PurePosixPath(m.filename.replace("\\", "/")).with_suffix("").as_posix().lower() == stem]
        if not match:
            raise IngestError(Text("error", "{file}: the archive has {shp} but no {suffix} beside it; a Shapefile "
                                   "needs its .shp, .shx and .dbf (and .prj) together",
                                   {"file": filename, "shp": shp[0].filename, "suffix": suffix}))
        found[suffix] = match[0]
    return found


def _shx_records(archive: zipfile.ZipFile, member: zipfile.ZipInfo, filename: str,
                 limits: InputLimits) -> tuple[int, int, int]:
    """Record count, shape type and the largest record's content length (bytes) from the .shx index."""
    records = (member.file_size - 100) // 8
    check_counts(filename, limits, features=records)
    data = archive.read(member)
    if len(data) < 100 or (len(data) - 100) % 8:
        raise IngestError(Text("error", "{file}: the .shx index is damaged ({size} bytes)",
                               {"file": filename, "size": len(data)}))
    shape_type = struct.unpack("<i", data[32:36])[0]
    lengths = np.frombuffer(data, dtype=">i4", offset=100)[1::2] if records else np.zeros(1, dtype=">i4")
    return records, shape_type, int(lengths.max()) * 2


_POINT_TYPES = {1, 11, 21}
_MULTIPOINT_TYPES = {8, 18, 28}
_POSITION_BYTES = {0: 16, 1: 32, 2: 24}  # by shape type // 10: XY, XYZM, XYM


def _position_estimate(shape_type: int, shp_size: int, records: int, largest: int) -> tuple[int, int]:
    """Positions in all and in the largest record, from byte sizes (headers and part indexes taken as
    small: the estimate is slightly high, never far off)."""
    if shape_type in _POINT_TYPES:
        return records, 1
    header = 40 if shape_type in _MULTIPOINT_TYPES else 44  # type, box, counts
    size = _POSITION_BYTES.get(shape_type // 10, 16)
    return max(shp_size - 100 - records * (8 + header), 0) // size, max(largest - header, 0) // size


def _dbf_header(archive: zipfile.ZipFile, member: zipfile.ZipInfo, filename: str) -> tuple[int, int]:
    with archive.open(member) as handle:
        head = handle.read(32)
    if len(head) < 32:
        raise IngestError(Text("error", "{file}: the .dbf table is damaged ({size} bytes)",
                               {"file": filename, "size": len(head)}))
    records, header_length = struct.unpack("<IH", head[4:10])
    return records, max(header_length - 33, 0) // 32


def inspect_shapefile_zip(data: bytes, filename: str, limits: InputLimits) -> None:
    """Zip directory, .shx index and .dbf header read without unpacking the shapes."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile:
        raise IngestError(Text("error", "{file}: not a valid zip archive", {"file": filename})) from None
    with archive:
        members = _member_map(archive, filename, limits)
        records, shape_type, largest = _shx_records(archive, members[".shx"], filename, limits)
        dbf_records, fields = _dbf_header(archive, members[".dbf"], filename)
        if dbf_records != records:
            raise IngestError(Text("error", "{file}: the .dbf has {rows} records for {shapes} shapes; attributes "
                                   "would be matched to the wrong shapes or dropped. Export the layer again",
                                   {"file": filename, "rows": dbf_records, "shapes": records}))
        total, largest_positions = _position_estimate(shape_type, members[".shp"].file_size, records, largest)
        check_counts(filename, limits, features=records, properties=fields + 1, vertices=total,
                     feature_vertices=largest_positions, approximate=True)

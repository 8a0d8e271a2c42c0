"""Checks that bound the work an uploaded file can cause, made before GDAL materialises it.

GDAL reads what a file says it holds: a GeoPackage view is computed, a zipped
Shapefile unpacked, every sparse property made a column of every feature. So
each format is first inspected with cheap, bounded reads of its own structure
(JSON parsed once with strict hooks, CSV rows counted as a stream, SQLite
catalogue tables, zip directory and Shapefile/DBF headers), and a file over a
limit is refused whole with the limit named. Written here because no library
offers these pre-read checks for the formats together; the readers stay GDAL's.
"""

from __future__ import annotations

import csv
import io
import json
import math
import sqlite3
import stat
import struct
import zipfile
from pathlib import Path, PurePosixPath
from typing import Any

import numpy as np
import shapely

from geo_service.config import InputLimits
from geo_service.errors import InvalidParameterError, PayloadTooLargeError
from geo_service.i18n import N_, Text

INT64_MAX = 2**63 - 1
ZIP_MAX_MEMBERS = 64


class IngestError(InvalidParameterError):
    """A file that cannot be read as a layer, with the reason and what to do."""

    code = "InvalidInput"


def listed(labels: list, limit: int = 5) -> str:
    shown = ", ".join(str(v) for v in labels[:limit])
    return shown + (f" and {len(labels) - limit} more" if len(labels) > limit else "")


UNITS = {"features": N_("unit", "features"), "properties (columns)": N_("unit", "properties (columns)"),
         "values (features × properties)": N_("unit", "values (features × properties)"),
         "coordinate positions": N_("unit", "coordinate positions"),
         "coordinate positions in one feature": N_("unit", "coordinate positions in one feature"),
         "MB": N_("unit", "MB"), "MB once unpacked": N_("unit", "MB once unpacked")}


def about(count: int) -> Text:
    return Text("count", "about {n}", {"n": f"{count:,}"})


def at_least(count: int) -> Text:
    return Text("count", "at least {n}", {"n": f"{count:,}"})


def over_limit(filename: str, unit: str, count: int | float | Text, limit: int, setting: str) -> PayloadTooLargeError:
    """413 naming what was counted, the limit and its setting: ``x.csv: 60,001 features, more than the 50,000 …``."""
    shown = count if isinstance(count, Text) else f"{count:,.1f}" if isinstance(count, float) else f"{count:,}"
    return PayloadTooLargeError(Text(
        "error", "{file}: {count} {unit}, more than the {limit} accepted ({setting}); the file was refused whole. "
        "Split it, or ask the server's operator to raise the limit",
        {"file": filename, "count": shown, "unit": Text.of(UNITS[unit], {}), "setting": f"GEO_SERVICE_{setting}",
         "limit": f"{limit:,}{' MB' if unit.startswith('MB') else ''}"}),
        details={"limit": f"GEO_SERVICE_{setting}", "allowed": limit})


def check_counts(filename: str, limits: InputLimits, *, features: int | None = None,
                 properties: int | None = None, vertices: int | None = None,
                 feature_vertices: int | None = None, approximate: bool = False) -> None:
    """Refuse counts over the limits (``approximate``: the counts are lower bounds read from headers)."""
    def shown(count: int):
        return about(count) if approximate else count

    if features is not None and features > limits.features:
        raise over_limit(filename, "features", shown(features), limits.features, "MAX_FEATURES")
    if properties is not None and properties > limits.properties:
        raise over_limit(filename, "properties (columns)", properties, limits.properties, "MAX_PROPERTIES")
    if features is not None and properties is not None and features * properties > limits.cells:
        raise over_limit(filename, "values (features × properties)", shown(features * properties),
                         limits.cells, "MAX_CELLS")
    if vertices is not None and vertices > limits.vertices:
        raise over_limit(filename, "coordinate positions", shown(vertices), limits.vertices, "MAX_VERTICES")
    if feature_vertices is not None and feature_vertices > limits.feature_vertices:
        raise over_limit(filename, "coordinate positions in one feature", shown(feature_vertices),
                         limits.feature_vertices, "MAX_FEATURE_VERTICES")


def check_frame(frame, filename: str, limits: InputLimits) -> None:
    """The exact counts of a frame GDAL has read (a second net behind the pre-read checks)."""
    counts = shapely.get_num_coordinates(frame.geometry.values) if len(frame) else np.zeros(1, dtype=int)
    check_counts(filename, limits, features=len(frame), properties=len(frame.columns) - 1,
                 vertices=int(counts.sum()), feature_vertices=int(counts.max()))


# --- GeoJSON -------------------------------------------------------------------------------------

def _no_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict:
    seen: set[str] = set()
    for key, _ in pairs:
        if key in seen:
            raise IngestError(f"the key {key!r} appears twice in one object; readers disagree on which one "
                              "counts (GDAL would import both), so the file is refused: remove one")
        seen.add(key)
    return dict(pairs)


def _no_constant(name: str) -> None:
    raise IngestError(f"the value {name} is not valid JSON (GeoJSON has no NaN or Infinity): "
                      "write null for an unknown value")


def _bounded_int(text: str) -> int:
    if len(text.lstrip("-")) > 19 or abs(value := int(text)) > INT64_MAX:
        raise IngestError(f"the whole number {text[:30]}{'…' if len(text) > 30 else ''} is larger than 64 bits "
                          "and would not stay a whole number; write it as text (in quotes) if it is a code")
    return value


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise IngestError(f"the number {text[:30]} is too large for a double-precision number")
    return value


def parse_json(data: bytes, filename: str) -> Any:
    """JSON parsed strictly: UTF-8, no duplicate keys, no NaN/Infinity, integers within 64 bits, bounded depth."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise IngestError(f"{filename}: cannot read as geojson: not valid UTF-8 (byte {exc.start}); "
                          "GeoJSON is always UTF-8") from None
    try:
        return json.loads(text, object_pairs_hook=_no_duplicate_keys, parse_constant=_no_constant,
                          parse_int=_bounded_int, parse_float=_finite_float)
    except IngestError as exc:
        raise IngestError(f"{filename}: {exc.message}") from None
    except RecursionError:
        raise IngestError(f"{filename}: the JSON is nested too deeply to be GeoJSON") from None
    except json.JSONDecodeError as exc:
        raise IngestError(f"{filename}: cannot read as geojson: not valid JSON ({exc})") from None


def _count_positions(coords: Any) -> int:
    """Positions in a coordinates array of any depth (iterative: depth is bounded by the parser)."""
    count, stack = 0, [coords]
    while stack:
        item = stack.pop()
        if isinstance(item, list) and item and not isinstance(item[0], list):
            count += 1
        elif isinstance(item, list):
            stack.extend(item)
    return count


def geojson_counts(document: Any, filename: str, limits: InputLimits) -> None:
    """Features, distinct property names, positions (in all and per feature) of a parsed FeatureCollection."""
    features = document.get("features") if isinstance(document, dict) else None
    if not isinstance(features, list):
        return  # the structure check names this
    check_counts(filename, limits, features=len(features))
    names: set[str] = set()
    total = 0
    for feature in features:
        if not isinstance(feature, dict):
            continue
        properties = feature.get("properties")
        if isinstance(properties, dict):
            names.update(properties)
            if len(names) > limits.properties:
                raise over_limit(filename, "properties (columns)", at_least(len(names)), limits.properties,
                                 "MAX_PROPERTIES")
        geometry = feature.get("geometry")
        positions = _count_positions(geometry.get("coordinates")) if isinstance(geometry, dict) else 0
        total += positions
        check_counts(filename, limits, vertices=total, feature_vertices=positions)
    check_counts(filename, limits, features=len(features), properties=len(names) + 1)


# --- CSV -----------------------------------------------------------------------------------------

def decode_text(data: bytes, filename: str) -> str:
    """UTF-8, or Windows-1252 as French Excel saves; a file mixing the two is refused (it would turn to mojibake)."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    utf8_lines, other_lines = [], []
    for number, line in enumerate(data.split(b"\n"), start=1):
        if line.isascii():
            continue
        try:
            line.decode("utf-8")
            utf8_lines.append(number)
        except UnicodeDecodeError:
            other_lines.append(number)
    if utf8_lines:
        raise IngestError(Text("error", "{file}: the file mixes UTF-8 (lines {utf8}) with another encoding (lines "
                               "{other}); accented names would be garbled. Save it again in one encoding (in Excel: "
                               "CSV UTF-8)", {"file": filename, "utf8": listed(utf8_lines),
                                              "other": listed(other_lines)}))
    try:
        return data.decode("cp1252")
    except UnicodeDecodeError:
        raise IngestError(f"{filename}: the file is neither UTF-8 nor Windows-1252 text") from None


def scan_csv(text: str, sep: str, filename: str, limits: InputLimits) -> None:
    """Rows and columns counted as a stream (nothing kept), so an oversized table is refused before parsing."""
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=sep)
    try:
        header = next(reader, [])
        width = len(header)
        # lat and lon columns become the geometry; the others are properties
        check_counts(filename, limits, properties=max(width - 2, 0) + 1)
        too_long: list[int] = []
        rows = 0
        for number, record in enumerate(reader, start=2):
            rows += 1
            if rows > limits.features:  # counting stops here: the rest of the file is never read
                raise over_limit(filename, "features", at_least(rows), limits.features, "MAX_FEATURES")
            if len(record) > width:
                too_long.append(number)
    except csv.Error as exc:
        raise IngestError(f"{filename}: cannot read as a table: {exc}") from None
    if too_long:
        raise IngestError(f"{filename}: rows {listed(too_long)} have more fields than the header's {width} "
                          f"(is a value holding the separator {sep!r} without quotes?)")
    check_counts(filename, limits, features=rows, properties=max(width - 2, 0) + 1)


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
        raise IngestError(f"{filename}: not a readable GeoPackage (SQLite) file") from None
    connection.set_progress_handler(_sqlite_budget(), 1000)
    try:
        try:
            tables = connection.execute(
                "SELECT c.table_name, m.type, m.sql FROM gpkg_contents c LEFT JOIN sqlite_master m "
                "ON m.name = c.table_name WHERE c.data_type = 'features' ORDER BY c.table_name").fetchall()
        except sqlite3.DatabaseError:
            raise IngestError(f"{filename}: not a GeoPackage (no readable gpkg_contents table)") from None
        if not tables:
            raise IngestError(f"{filename}: the GeoPackage holds no feature table")
        computed = [name for name, kind, sql in tables
                    if kind != "table" or (sql or "").lstrip().upper().startswith("CREATE VIRTUAL")]
        if computed:
            raise IngestError(f"{filename}: layers {listed(computed)} are SQL views or virtual tables; only plain "
                              "feature tables are read (in QGIS: Export › Save Features As… a new GeoPackage)")
        triggers = [name for (name,) in connection.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'")
                    if not name.startswith(_STANDARD_TRIGGERS)]
        if triggers:
            raise IngestError(f"{filename}: the GeoPackage holds SQL triggers {listed(triggers)} of its own; export "
                              "the layer to a new GeoPackage (QGIS: Save Features As…)")
        name = tables[0][0]
        columns = connection.execute("SELECT name, hidden FROM pragma_table_xinfo(?)", (name,)).fetchall()
        generated = [column for column, hidden in columns if hidden in (2, 3)]
        if generated:
            raise IngestError(f"{filename}: columns {listed(generated)} of {name!r} are computed (generated "
                              "columns); export the layer to a new GeoPackage with plain columns")
        rows = connection.execute(f'SELECT count(*) FROM "{name.replace(chr(34), chr(34) * 2)}"').fetchone()[0]
    except sqlite3.OperationalError as exc:
        if "interrupted" in str(exc):
            raise IngestError(f"{filename}: reading the GeoPackage's tables took too long; it was stopped") from None
        raise IngestError(f"{filename}: not a readable GeoPackage ({exc})") from None
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
        raise IngestError(f"{filename}: {len(members)} files in the archive; at most {max_members}")
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
            raise IngestError(f"{filename}: the archive holds an unsafe path {member.filename!r}")
        if stat.S_ISLNK(member.external_attr >> 16):
            raise IngestError(f"{filename}: {member.filename!r} is a symbolic link, not a file; zip the files "
                              "themselves")
        by_suffix.setdefault(path.suffix.lower(), []).append(member)
    shp = by_suffix.get(".shp", [])
    if len(shp) != 1:
        raise IngestError(f"{filename}: {'no' if not shp else len(shp)} .shp files in the archive; zip one layer's "
                          ".shp, .shx, .dbf and .prj together")
    stem = PurePosixPath(shp[0].filename.replace("\\", "/")).with_suffix("").as_posix().lower()
    found = {".shp": shp[0]}
    for suffix in (".shx", ".dbf"):
        match = [m for m in by_suffix.get(suffix, [])
                 if PurePosixPath(m.filename.replace("\\", "/")).with_suffix("").as_posix().lower() == stem]
        if not match:
            raise IngestError(f"{filename}: the archive has {shp[0].filename} but no {suffix} beside it; a "
                              "Shapefile needs its .shp, .shx and .dbf (and .prj) together")
        found[suffix] = match[0]
    return found


def _shx_records(archive: zipfile.ZipFile, member: zipfile.ZipInfo, filename: str,
                 limits: InputLimits) -> tuple[int, int, int]:
    """Record count, shape type and the largest record's content length (bytes) from the .shx index."""
    records = (member.file_size - 100) // 8
    check_counts(filename, limits, features=records)
    data = archive.read(member)
    if len(data) < 100 or (len(data) - 100) % 8:
        raise IngestError(f"{filename}: the .shx index is damaged ({len(data)} bytes)")
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
        raise IngestError(f"{filename}: the .dbf table is damaged ({len(head)} bytes)")
    records, header_length = struct.unpack("<IH", head[4:10])
    return records, max(header_length - 33, 0) // 32


def inspect_shapefile_zip(data: bytes, filename: str, limits: InputLimits) -> None:
    """Zip directory, .shx index and .dbf header read without unpacking the shapes."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile:
        raise IngestError(f"{filename}: not a valid zip archive") from None
    with archive:
        members = _member_map(archive, filename, limits)
        records, shape_type, largest = _shx_records(archive, members[".shx"], filename, limits)
        dbf_records, fields = _dbf_header(archive, members[".dbf"], filename)
        if dbf_records != records:
            raise IngestError(f"{filename}: the .dbf has {dbf_records} records for {records} shapes; attributes "
                              "would be matched to the wrong shapes or dropped. Export the layer again")
        total, largest_positions = _position_estimate(shape_type, members[".shp"].file_size, records, largest)
        check_counts(filename, limits, features=records, properties=fields + 1, vertices=total,
                     feature_vertices=largest_positions, approximate=True)

"""One layer file: RFC 7946 GeoJSON in GDAL's bytes (plain point layers written by ``io.geojson_writer``, others by GDAL),
written to a temporary file, checked and renamed; read in one pass when plain, else through GDAL."""

from __future__ import annotations

import io
import logging
import os
import shutil
import tempfile
from pathlib import Path

import geopandas as gpd
import numpy as np
import pyogrio
from pyogrio.errors import DataLayerError, DataSourceError

from geo_service.errors import InvalidParameterError, LayerDataError
from geo_service.i18n import Text
from geo_service.io.bounds import listed
from geo_service.io.geojson_rules import frame_problems
from geo_service.io.geojson_stream import read_plain
from geo_service.io.geojson_writer import write_plain
from geo_service.io.ogr import may_mix_ids, read_frame, with_feature_ids
from geo_service.store.fileops import commit, hide_path, probe_storage, storage_error, temporary_path

WGS84 = "EPSG:4326"
# GDAL's RFC 7946 mode: WGS84 only, right-hand winding, no crs member, 7 decimals (~1 cm).
_GEOJSON_OPTIONS = {"RFC7946": "YES", "WRITE_NAME": "NO"}








def _checked(tmp: Path, shown: Path, allowed_types: frozenset[str] | None, refusal: str) -> gpd.GeoDataFrame:
    """The temporary file read back as every reader will read it, checked against RFC 7946 and the layer's
    geometry types, and fsynced; the parsed frame is returned so the store need not parse the file again."""
    try:
        parsed = read_geojson(tmp)
    except LayerDataError:
        raise LayerDataError(f"{shown.name}: {refusal}: GDAL cannot read it back") from None
    _refuse_problems(parsed, shown, allowed_types, refusal)
    with open(tmp, "rb+") as handle:
        os.fsync(handle.fileno())
    return parsed


def _refuse_problems(parsed: gpd.GeoDataFrame, shown: Path, allowed_types: frozenset[str] | None,
                     refusal: str) -> None:
    problems = [str(p) for p in frame_problems(parsed, allowed_types=allowed_types)]
    if problems:
        raise LayerDataError(f"{shown.name}: {refusal}: {'; '.join(problems[:5])}", details={"problems": problems})


def _refuse_missing_ids(frame: gpd.GeoDataFrame, shown: Path) -> None:
    """An id column with empty cells is refused: GDAL's writer would give those features the id 0 or ""
    (a GeoJSON id cannot be null), an id that was never in the data."""
    if "id" not in frame.columns:
        return
    rows = np.flatnonzero(frame["id"].isna().to_numpy(dtype=bool)) + 1
    if rows.size:
        raise LayerDataError(Text("error", "{file}: features {rows} have an empty id: give each feature an id, "
                                  "or leave the id column out to have them numbered",
                                  {"file": shown.name, "rows": listed(rows.tolist())}))


def _written_plain(tmp: Path, shown: Path, frame: gpd.GeoDataFrame,
                   allowed_types: frozenset[str] | None) -> gpd.GeoDataFrame | None:
    """A plain point layer written to ``tmp`` without GDAL, in GDAL's bytes (``io.geojson_writer``), checked
    and fsynced; the frame its readers get. None, with ``tmp`` not made, for any other frame."""
    with open(tmp, "wb") as handle:
        written = write_plain(frame, handle)
        if written is not None:
            handle.flush()
            os.fsync(handle.fileno())
    if written is None:
        tmp.unlink()
        return None
    _refuse_problems(written, shown, allowed_types, "refused to write")
    return written


def _holds_json_values(frame: gpd.GeoDataFrame) -> bool:
    """Whether a column holds lists or objects (read by GDAL from JSON arrays or objects): pyogrio hands them
    to GDAL as JSON text, which GDAL's AUTODETECT_JSON_STRINGS turns back into JSON. For any other frame
    that option only turns text that looks like JSON into JSON, so it is switched off."""
    for name in frame.columns:
        if name != frame.geometry.name and frame[name].dtype == object:
            if any(isinstance(value, (list, dict, tuple, np.ndarray)) for value in frame[name].dropna()):
                return True
    return False


def write_with_gdal(frame: gpd.GeoDataFrame, path: Path) -> None:
    """``frame`` written at ``path`` by GDAL's RFC 7946 GeoJSON writer (the bytes ``io.geojson_writer`` makes
    for plain point layers)."""
    options = dict(_GEOJSON_OPTIONS)
    if "id" in frame.columns:
        options["ID_FIELD"] = "id"
    if not _holds_json_values(frame):
        options["AUTODETECT_JSON_STRINGS"] = "NO"  # else GDAL writes the text "[1, 2]" as an array
    # through Arrow: the same bytes as the row-by-row writer (checked on every bundled layer), in half the time
    pyogrio.write_dataframe(frame, path, driver="GeoJSON", layer_options=options, use_arrow=True)


def write_temporary(path: Path, frame: gpd.GeoDataFrame,
                    allowed_types: frozenset[str] | None = None) -> tuple[Path, gpd.GeoDataFrame]:
    """Write ``frame`` beside ``path`` as checked, fsynced RFC 7946 GeoJSON; return the temporary file and
    the frame read back from it (what a reader of the file gets).

    On any failure the temporary file is removed and ``path`` is untouched.
    """
    if frame.crs is None or not frame.crs.equals(WGS84):
        raise InvalidParameterError(
            f"layers are stored in {WGS84} (WGS84 longitude/latitude); got {frame.crs}: reproject first")
    _refuse_missing_ids(frame, Path(path))
    tmp = temporary_path(Path(path))
    try:
        parsed = _written_plain(tmp, path, frame, allowed_types)
        if parsed is not None:
            return tmp, parsed
        write_with_gdal(frame, tmp)
        return tmp, _checked(tmp, path, allowed_types, "refused to write")
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise storage_error(exc, path.stem) from None
    except (DataSourceError, DataLayerError, ValueError, TypeError) as exc:
        tmp.unlink(missing_ok=True)
        probe_storage(path.parent, path.stem)  # GDAL reports a full disk as "Cannot write feature"
        raise LayerDataError(
            f"{path.name}: could not write the layer ({hide_path(exc, tmp)}); the previous version is kept") from exc
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def document_bytes(layer_id: str, frame: gpd.GeoDataFrame,
                   allowed_types: frozenset[str] | None = None) -> tuple[bytes, gpd.GeoDataFrame]:
    """The frame as a layer file's bytes, written and checked exactly as a layer file is (for stores that keep
    the document elsewhere), and the frame read back from them."""
    with tempfile.TemporaryDirectory(prefix="geo-service-") as folder:
        tmp, parsed = write_temporary(Path(folder) / f"{layer_id}.geojson", frame, allowed_types)
        return tmp.read_bytes(), parsed


def copy_temporary(source: Path, path: Path,
                   allowed_types: frozenset[str] | None = None) -> tuple[Path, gpd.GeoDataFrame]:
    """A checked, fsynced copy of a saved version beside ``path``, byte for byte (for a rollback), and its
    parsed frame."""
    tmp = temporary_path(Path(path))
    try:
        shutil.copyfile(source, tmp)
        return tmp, _checked(tmp, source, allowed_types, "the saved version is not a valid layer")
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise storage_error(exc, path.stem) from None
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise




def write_geojson_atomic(path: Path, frame: gpd.GeoDataFrame,
                         allowed_types: frozenset[str] | None = None) -> gpd.GeoDataFrame:
    """Write ``frame`` as RFC 7946 GeoJSON at ``path``, replacing any old file atomically; return the frame
    read back from it."""
    tmp, parsed = write_temporary(Path(path), frame, allowed_types)
    commit(tmp, Path(path))
    return parsed


def _text(path: Path) -> str:
    """A file's text, its bytes let go at once (one copy of a large layer in memory, not two); "" when it
    cannot be read (GDAL then says why)."""
    try:
        return path.read_bytes().decode("utf-8-sig")
    except (OSError, UnicodeDecodeError):
        return ""


def read_geojson(path: Path, data: bytes | None = None) -> gpd.GeoDataFrame:
    """Read one GeoJSON file (or its bytes, already read) into a GeoDataFrame in EPSG:4326: in one pass when
    the document is plain (``io.geojson_stream``), else with GDAL."""
    plain = read_plain(data if data is not None else _text(path), path.name)
    if plain is not None:
        return plain
    try:
        frame = read_frame(io.BytesIO(data) if data is not None else path)
    except (DataSourceError, DataLayerError) as exc:
        raise LayerDataError(f"{path.name}: cannot read as GeoJSON: {hide_path(exc, path)}") from exc
    if "id" not in frame.columns or may_mix_ids(frame):
        frame, as_text = with_feature_ids(frame, data if data is not None else path.read_bytes())
        if as_text:
            logging.getLogger(__name__).warning("%s: its ids mix whole numbers and text: all are served as text",
                                                path.name)
    if frame.crs is None:
        frame = frame.set_crs(WGS84)
    return frame

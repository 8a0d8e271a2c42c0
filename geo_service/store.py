"""The layer store: the only module that reads or writes layer files.

Reads are cached per layer and invalidated when the file changes (a replace
renames a new file into place, so its inode, size or mtime differ). Writes go
to a temporary file in the same folder, are checked, fsynced and renamed over
the old file, so a reader sees either the old layer or the new one.
"""

from __future__ import annotations

import fcntl
import hashlib
import io
import json
import os
import secrets
import shutil
import threading
import time
from collections.abc import Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
from pyogrio.errors import DataSourceError, DataLayerError
from shapely.geometry import box

from geo_service.catalogue import Catalogue, Layer, load_catalogue
from geo_service.errors import InvalidParameterError, LayerDataError, NotFoundError, VersionConflictError
from geo_service.geojson_rules import document_problems

WGS84 = "EPSG:4326"
# GDAL's RFC 7946 mode: WGS84 only, right-hand winding, no crs member, 7 decimals (~1 cm).
_GEOJSON_OPTIONS = {"RFC7946": "YES", "WRITE_NAME": "NO"}


@dataclass(frozen=True)
class QueryResult:
    """Features of one page of a query and how many matched in all."""

    features: gpd.GeoDataFrame
    number_matched: int


@dataclass(frozen=True)
class LayerSummary:
    layer: Layer
    feature_count: int
    bounds: tuple[float, float, float, float]
    version: str


@dataclass
class _Cached:
    stat_key: tuple[int, int, int]
    frame: gpd.GeoDataFrame
    version: str


def write_geojson_atomic(path: Path, frame: gpd.GeoDataFrame, allowed_types: frozenset[str] | None = None) -> None:
    """Write ``frame`` as RFC 7946 GeoJSON at ``path``, replacing any old file atomically.

    The new file is checked against RFC 7946 (and ``allowed_types``) before it
    replaces the old one; on any failure the old file is left as it was.
    """
    if frame.crs is None or not frame.crs.equals(WGS84):
        raise InvalidParameterError(
            f"layers are stored in {WGS84} (WGS84 longitude/latitude); got {frame.crs}: reproject first"
        )
    path = Path(path)
    tmp = path.with_name(f".{path.stem}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
    options = dict(_GEOJSON_OPTIONS)
    if "id" in frame.columns:
        options["ID_FIELD"] = "id"
    try:
        pyogrio.write_dataframe(frame, tmp, driver="GeoJSON", layer_options=options)
        with open(tmp, "rb+") as handle:
            problems = document_problems(json.load(handle), allowed_types=allowed_types)
            if problems:
                raise LayerDataError(f"{path.name}: refused to write: {'; '.join(problems[:5])}",
                                     details={"problems": problems})
            os.fsync(handle.fileno())
        os.replace(tmp, path)
        _fsync_dir(path.parent)
    except (DataSourceError, DataLayerError, OSError, ValueError, TypeError) as exc:
        raise LayerDataError(
            f"{path.name}: could not write the layer ({_hide_path(exc, tmp)}); the previous version is kept") from exc
    finally:
        tmp.unlink(missing_ok=True)


def _digest(data: bytes) -> str:
    """A layer version: the content hash of its file (the same in every process)."""
    return hashlib.sha256(data).hexdigest()[:20]


def _hide_path(exc: Exception, path: Path) -> str:
    """The error's text with the server's folder taken out (messages reach clients)."""
    return str(exc).replace(str(path.parent), "").replace("'/", "'")


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def read_geojson(path: Path, data: bytes | None = None) -> gpd.GeoDataFrame:
    """Read one GeoJSON file (or its bytes, already read) into a GeoDataFrame in EPSG:4326."""
    try:
        frame = pyogrio.read_dataframe(io.BytesIO(data) if data is not None else path, datetime_as_string=True)
    except (DataSourceError, DataLayerError) as exc:
        raise LayerDataError(f"{path.name}: cannot read as GeoJSON: {_hide_path(exc, path)}") from exc
    if frame.crs is None:
        frame = frame.set_crs(WGS84)
    return frame


@dataclass(frozen=True)
class SavedVersion:
    """A previous version of a layer kept in the history folder."""

    version: str
    saved_at: str  # UTC, ISO 8601
    path: Path


class LayerStore:
    """Access to the layers named in the catalogue, by id only.

    Writes take a per-layer lock file (flock), so writers in several processes
    or threads check the version and replace the file one at a time. Each
    replaced version is kept in ``.history/<id>/`` (the newest ``history_keep``).
    """

    def __init__(self, layers_dir: Path, catalogue: Catalogue | None = None, history_keep: int = 10) -> None:
        self.layers_dir = Path(layers_dir)
        self.history_keep = history_keep
        self._fixed_catalogue = catalogue
        self._catalogue: Catalogue | None = catalogue
        self._catalogue_key: tuple | None = None
        self._cache: dict[str, _Cached] = {}
        self._lock = threading.Lock()
        if catalogue is None:
            self.catalogue  # load now: a broken catalogue is an error at start, not at the first request
        self._remove_stale_temporaries()

    def _remove_stale_temporaries(self, older_than_s: float = 3600) -> None:
        """Temporary files left by a writer that was killed mid-write (never the live layers)."""
        limit = time.time() - older_than_s
        for tmp in self.layers_dir.glob(".*.tmp"):
            try:
                if tmp.stat().st_mtime < limit:
                    tmp.unlink()
            except OSError:
                pass  # another process removed it first

    @property
    def catalogue_path(self) -> Path:
        return self.layers_dir / "catalogue.json"

    @property
    def catalogue(self) -> Catalogue:
        """The catalogue, reloaded when its file changes (another worker may have added a layer)."""
        if self._fixed_catalogue is not None:
            return self._fixed_catalogue
        try:
            st = self.catalogue_path.stat()
            key = (st.st_ino, st.st_mtime_ns, st.st_size)
        except FileNotFoundError:
            key = None
        if self._catalogue is None or key != self._catalogue_key:
            self._catalogue = load_catalogue(self.catalogue_path)
            self._catalogue_key = key
        return self._catalogue

    @contextmanager
    def write_lock(self, name: str):
        """An exclusive lock across threads and processes for writes to one layer (or the catalogue)."""
        lock_dir = self.layers_dir / ".locks"
        lock_dir.mkdir(exist_ok=True)
        with open(lock_dir / f"{name}.lock", "a+") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def path_for(self, layer_id: str) -> Path:
        """The file of a catalogue layer; ids come from the catalogue, never from a path."""
        return self.layers_dir / self.catalogue.get(layer_id).filename

    def _load(self, layer_id: str) -> _Cached:
        path = self.path_for(layer_id)
        try:
            st = path.stat()
        except FileNotFoundError:
            raise LayerDataError(f"{path.name}: layer file is missing") from None
        key = (st.st_ino, st.st_mtime_ns, st.st_size)
        with self._lock:
            cached = self._cache.get(layer_id)
            if cached is not None and cached.stat_key == key:
                return cached
        data = path.read_bytes()
        frame = read_geojson(path, data)  # parse the bytes that are hashed: version and content agree
        cached = _Cached(key, frame, _digest(data))
        with self._lock:
            self._cache[layer_id] = cached
        return cached

    def read(self, layer_id: str) -> gpd.GeoDataFrame:
        """The whole layer as a GeoDataFrame (a copy: callers may change it)."""
        return self._load(layer_id).frame.copy()

    def version(self, layer_id: str) -> str:
        """A content hash of the layer file, usable as an ETag."""
        return self._load(layer_id).version

    def read_document(self, layer_id: str) -> dict:
        """The layer file parsed as plain JSON (for checks that GDAL would hide)."""
        path = self.path_for(layer_id)
        try:
            return json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise LayerDataError(f"{path.name}: layer file is missing") from None
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise LayerDataError(f"{path.name}: not valid JSON: {exc}") from None

    def query_positions(
        self,
        layer_id: str,
        *,
        bbox: tuple[float, float, float, float] | None = None,
        limit: int | None = None,
        offset: int = 0,
        filters: Mapping[str, str] | None = None,
    ) -> tuple[np.ndarray, int]:
        """Row positions (file order) of one page of matching features, and how many matched in all.

        Features intersecting ``bbox`` (found through the layer's STRtree) whose
        properties equal ``filters``.
        """
        if offset < 0:
            raise InvalidParameterError(f"offset must be 0 or more, got {offset}")
        if limit is not None and limit < 0:
            raise InvalidParameterError(f"limit must be 0 or more, got {limit}")
        frame = self._load(layer_id).frame
        mask = np.ones(len(frame), dtype=bool)
        if bbox is not None:
            minx, miny, maxx, maxy = bbox
            if minx > maxx or miny > maxy:
                raise InvalidParameterError(f"bbox {bbox} has its minimum above its maximum")
            hits = frame.sindex.query(box(minx, miny, maxx, maxy), predicate="intersects")
            mask[:] = False
            mask[hits] = True
        for name, value in (filters or {}).items():
            mask &= _equals(frame, name, value)
        matched = np.flatnonzero(mask)
        stop = None if limit is None else offset + limit
        return matched[offset:stop], int(matched.size)

    def query(self, layer_id: str, **kwargs) -> QueryResult:
        """Like ``query_positions``, returning the features themselves."""
        positions, number_matched = self.query_positions(layer_id, **kwargs)
        return QueryResult(self._load(layer_id).frame.iloc[positions].copy(), number_matched)

    def property_names(self, layer_id: str) -> list[str]:
        frame = self._load(layer_id).frame
        return [c for c in frame.columns if c != frame.geometry.name]

    def current_version(self, layer_id: str) -> str | None:
        """The version of the file on disk now (None if there is none), read without the cache."""
        path = self.path_for(layer_id)
        try:
            return _digest(path.read_bytes())
        except FileNotFoundError:
            return None

    def replace(self, layer_id: str, frame: gpd.GeoDataFrame, expected_version: str | None = None) -> str:
        """Replace a layer's file atomically with ``frame`` (EPSG:4326) and return the new version.

        With ``expected_version``, the write happens only if the layer is still at that
        version (``VersionConflictError`` otherwise). The old file goes to the history.
        """
        layer = self.catalogue.get(layer_id)
        path = self.path_for(layer_id)
        with self.write_lock(layer_id):
            current = self.current_version(layer_id)
            if expected_version is not None and expected_version != current:
                raise VersionConflictError(
                    f"{layer_id} is at version {current}, not {expected_version}: reload it and apply your change again",
                    details={"current_version": current})
            if current is not None:
                self._save_history(layer_id, path, current)
            write_geojson_atomic(path, frame, layer.allowed_geometry_types)
        with self._lock:
            self._cache.pop(layer_id, None)
        return self.current_version(layer_id) or ""

    def _history_dir(self, layer_id: str) -> Path:
        return self.layers_dir / ".history" / self.catalogue.get(layer_id).id

    def _save_history(self, layer_id: str, path: Path, version: str) -> None:
        directory = self._history_dir(layer_id)
        directory.mkdir(parents=True, exist_ok=True)
        stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S%fZ")
        target = directory / f"{stamp}-{version}.geojson"
        tmp = target.with_suffix(".tmp")
        shutil.copyfile(path, tmp)
        os.replace(tmp, target)
        for old in self.history(layer_id)[self.history_keep:]:
            old.path.unlink(missing_ok=True)

    def history(self, layer_id: str) -> list[SavedVersion]:
        """Previous versions of a layer, newest first."""
        directory = self._history_dir(layer_id)
        saved = []
        for path in sorted(directory.glob("*.geojson"), reverse=True) if directory.is_dir() else []:
            stamp, _, version = path.stem.partition("-")
            when = datetime.strptime(stamp, "%Y%m%dT%H%M%S%fZ").replace(tzinfo=timezone.utc)
            saved.append(SavedVersion(version, when.isoformat(timespec="seconds"), path))
        return saved

    def rollback(self, layer_id: str, version: str | None = None) -> SavedVersion:
        """Restore a previous version (the newest one by default); the current one goes to the history."""
        saved = self.history(layer_id)
        if not saved:
            raise NotFoundError(f"{layer_id} has no previous version to go back to")
        chosen = saved[0] if version is None else next((v for v in saved if v.version.startswith(version)), None)
        if chosen is None:
            raise NotFoundError(f"{layer_id} has no saved version {version!r}; saved: "
                                f"{', '.join(v.version for v in saved)}")
        self.replace(layer_id, read_geojson(chosen.path))
        return chosen

    def add_layer(self, entry: dict, frame: gpd.GeoDataFrame) -> None:
        """A new layer: its file first, then its catalogue entry (so the catalogue never names a missing file)."""
        from geo_service.catalogue import parse_catalogue

        with self.write_lock("catalogue"):
            document = json.loads(self.catalogue_path.read_text(encoding="utf-8"))
            if any(existing["id"] == entry["id"] for existing in document["layers"]):
                raise InvalidParameterError(f"a layer {entry['id']!r} exists already")
            document["layers"].append(entry)
            catalogue = parse_catalogue(document, origin="new catalogue entry")
            layer = catalogue.get(entry["id"])
            write_geojson_atomic(self.layers_dir / layer.filename, frame, layer.allowed_geometry_types)
            tmp = self.catalogue_path.with_name(f".catalogue.{os.getpid()}.{secrets.token_hex(4)}.tmp")
            try:
                tmp.write_text(json.dumps(document, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
                with open(tmp, "rb+") as handle:
                    os.fsync(handle.fileno())
                os.replace(tmp, self.catalogue_path)
                _fsync_dir(self.layers_dir)
            finally:
                tmp.unlink(missing_ok=True)

    def summary(self, layer_id: str) -> LayerSummary:
        cached = self._load(layer_id)
        frame = cached.frame
        bounds = tuple(float(v) for v in frame.total_bounds) if len(frame) else (np.nan,) * 4
        return LayerSummary(self.catalogue.get(layer_id), len(frame), bounds, cached.version)

    def summaries(self) -> list[LayerSummary]:
        return [self.summary(layer_id) for layer_id in self.catalogue.ids]


def _equals(frame: gpd.GeoDataFrame, name: str, value: str) -> np.ndarray:
    """Mask of rows whose property ``name`` equals the text ``value`` (numbers compared as numbers)."""
    if name not in frame.columns or name == frame.geometry.name:
        allowed = ", ".join(c for c in frame.columns if c != frame.geometry.name)
        raise InvalidParameterError(f"unknown property {name!r}; properties of this layer: {allowed}")
    column = frame[name]
    if pd.api.types.is_numeric_dtype(column) and not pd.api.types.is_bool_dtype(column):
        try:
            number = float(value)
        except ValueError:
            return np.zeros(len(frame), dtype=bool)
        return (column == number).fillna(False).to_numpy(dtype=bool)
    return (column.astype("string") == value).fillna(False).to_numpy(dtype=bool)

"""The file store: layers as RFC 7946 GeoJSON files named in ``catalogue.json`` (large ones served from the
Arrow tables ``sidecar`` keeps beside them, read by ``table_layer``).

Reads are cached per layer and invalidated when the file changes (a replace
renames a new file into place, so its inode, size or mtime differ). A layer
whose file is missing, unreadable or too large is *unavailable*: its own URLs
answer 503 and the health check names it, while every other layer serves on.
Writes go to a temporary file in the same folder, are checked, fsynced and
renamed over the old file, so a reader sees either the old layer or the new one.
"""

from __future__ import annotations

import fcntl
import json
import os
import secrets
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import numpy as np

from geo_service.catalogue import Catalogue, load_catalogue
from geo_service.errors import (
    CatalogueError,
    GeoServiceError,
    InvalidParameterError,
    LayerUnavailableError,
    VersionConflictError,
)
from geo_service.store.base import (
    LayerState,
    LayerSummary,
    QueryResult,
    missing_layer,
    oversized_layer,
    unreadable_layer,
)
from geo_service.store.features import FeatureSource
from geo_service.store.fileops import commit, digest, file_digest, fsync_dir, storage_error
from geo_service.store.files.sidecar import TableSidecars
from geo_service.store.frame_layer import FrameLayer, LayerData, Snapshot, page_positions
from geo_service.store.geojson_file import copy_temporary, read_geojson, write_geojson_atomic, write_temporary
from geo_service.store.history import History, SavedVersion

DEFAULT_MAX_LAYER_MB = 512


@dataclass
class _Cached:
    stat_key: tuple[int, int, int]
    layer: LayerData | None
    problem: str | None = None


class LayerStore:
    """The file backend of ``base.Store``: the layers named in the catalogue, by id only.

    Writes take a per-layer lock file (flock), so writers in several processes
    or threads check the version and replace the file one at a time. Each
    replaced version is kept in ``.history/<id>/`` (the newest ``history_keep``,
    plus pinned ones).
    """

    def __init__(self, layers_dir: Path, catalogue: Catalogue | None = None, history_keep: int = 10,
                 max_layer_mb: int = DEFAULT_MAX_LAYER_MB, sidecars: TableSidecars | None = None) -> None:
        self.layers_dir = Path(layers_dir)
        self.catalogue_path = self.layers_dir / "catalogue.json"
        self._paths: dict[str, Path] = {}  # a layer file's path by its name (joining one each request cost 4 µs)
        # large layers as Arrow tables, per version, mapped by every worker: nothing parsed at start
        self.sidecars = sidecars or TableSidecars(self.layers_dir / ".cache" / "tables")
        self.history_keep = history_keep
        self.max_layer_bytes = max_layer_mb * 2**20
        self._fixed_catalogue = catalogue
        self._catalogue: Catalogue | None = catalogue
        self._catalogue_key: tuple | None = None
        self.catalogue_problem: str | None = None
        self._cache: dict[str, _Cached] = {}
        self._lock = threading.Lock()
        if catalogue is None:
            self.catalogue  # load now: a broken catalogue is an error at start, not at the first request

    @property
    def catalogue(self) -> Catalogue:
        """The catalogue, reloaded when its file changes (another worker may have added a layer).

        A catalogue broken while serving (truncated, edited by hand) does not take the
        service down: the last good one stays in use and ``catalogue_problem`` says why.
        """
        if self._fixed_catalogue is not None:
            return self._fixed_catalogue
        try:
            st = os.stat(self.catalogue_path)
            key = (st.st_ino, st.st_mtime_ns, st.st_size)
        except OSError:
            key = None
        if self._catalogue is None or key != self._catalogue_key:
            try:
                self._catalogue = load_catalogue(self.catalogue_path)
                self.catalogue_problem = None
            except CatalogueError as exc:
                if self._catalogue is None:
                    raise
                self.catalogue_problem = exc.message
            self._catalogue_key = key
        return self._catalogue

    @contextmanager
    def write_lock(self, name: str):
        """An exclusive lock across threads and processes for writes to one layer (or the catalogue)."""
        lock_dir = self.layers_dir / ".locks"
        try:
            lock_dir.mkdir(exist_ok=True)
            handle = open(lock_dir / f"{name}.lock", "a+")
        except OSError as exc:
            raise storage_error(exc, name) from None
        with handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def path_for(self, layer_id: str) -> Path:
        """The file of a catalogue layer; ids come from the catalogue, never from a path."""
        filename = self.catalogue.get(layer_id).filename
        path = self._paths.get(filename)
        if path is None:
            path = self._paths[filename] = self.layers_dir / filename
        return path

    def _read_layer(self, layer_id: str, path: Path) -> tuple[tuple[int, int, int], LayerData]:
        """The layer file's stat key and its data: the recorded table of that very file if there is one,
        else the file hashed and parsed (or its table for that version opened)."""
        try:
            handle = open(path, "rb")
        except FileNotFoundError:
            raise missing_layer(layer_id) from None
        with handle:  # key and bytes from one open file: a replace meanwhile cannot mix two versions
            st = os.fstat(handle.fileno())
            key = (st.st_ino, st.st_mtime_ns, st.st_size)
            if st.st_size > self.max_layer_bytes:
                raise oversized_layer(layer_id, st.st_size, self.max_layer_bytes)
            if st.st_size >= self.sidecars.min_bytes:
                version = self.sidecars.recorded_version(layer_id, key)
                found = self.sidecars.open(layer_id, version, quiet=True) if version else None
                if found is not None:
                    return key, found
            data = handle.read()
        version = digest(data)

        def parse() -> gpd.GeoDataFrame:
            try:
                return read_geojson(path, data)  # parse the bytes that are hashed: version and content agree
            except GeoServiceError:
                raise unreadable_layer(layer_id) from None

        return key, self.sidecars.layer(layer_id, version, key, parse)

    def _load(self, layer_id: str) -> LayerData:
        path = self.path_for(layer_id)
        try:
            st = os.stat(path)
        except FileNotFoundError:
            raise missing_layer(layer_id) from None
        key = (st.st_ino, st.st_mtime_ns, st.st_size)
        with self._lock:
            cached = self._cache.get(layer_id)
        if cached is None or cached.stat_key != key:
            try:
                cached = _Cached(*self._read_layer(layer_id, path))
            except LayerUnavailableError as exc:
                cached = _Cached(key, None, exc.message)  # not parsed again until the file changes
            with self._lock:
                self._cache[layer_id] = cached
        if cached.problem is not None:
            raise LayerUnavailableError(cached.problem)
        return cached.layer

    def read(self, layer_id: str) -> gpd.GeoDataFrame:
        """The whole layer as a GeoDataFrame (a copy: callers may change it)."""
        return self._load(layer_id).frame()

    def features(self, layer_id: str) -> FeatureSource:
        """The layer's features as the OGC API sends them (shared by all requests for this version)."""
        return self._load(layer_id).features()

    def feature_text(self, layer_id: str, feature_id: str) -> str:
        return self.features(layer_id).text(feature_id)

    def tile(self, layer_id: str, z: int, x: int, y: int) -> bytes:
        return self.snapshot(layer_id).tile(z, x, y)

    def version(self, layer_id: str) -> str:
        """A content hash of the layer file, usable as an ETag."""
        return self._load(layer_id).version

    def file_bytes(self, layer_id: str) -> bytes:
        """The layer's file as stored (a saved analysis keeps the version it measured)."""
        path = self.path_for(layer_id)
        try:
            return path.read_bytes()
        except FileNotFoundError:
            raise missing_layer(layer_id) from None

    def document_chunks(self, layer_id: str, version: str, size: int | None = None) -> Iterator[bytes]:
        """The layer's file in chunks (an open file keeps its content if the layer is replaced meanwhile)."""
        try:
            handle = open(self.path_for(layer_id), "rb")
        except FileNotFoundError:
            raise missing_layer(layer_id) from None
        with handle:
            yield from iter(lambda: handle.read(size or 8 * 2**20), b"")

    def read_document(self, layer_id: str) -> dict:
        """The layer file parsed as plain JSON (for checks that GDAL would hide)."""
        path = self.path_for(layer_id)
        try:
            return json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise LayerUnavailableError(f"{path.name}: layer file is missing") from None
        except (json.JSONDecodeError, UnicodeDecodeError, RecursionError) as exc:
            raise LayerUnavailableError(f"{path.name}: not valid JSON: {str(exc)[:200]}") from None

    def query_positions(self, layer_id: str, **query) -> tuple[np.ndarray, int]:
        """Row positions (file order, or ``sortby``'s) of one page of matching features, and how many matched
        in all (``frame_layer.page_positions``)."""
        return page_positions(self._load(layer_id), **query)

    def snapshot(self, layer_id: str, remembered: bool = False) -> Snapshot:
        """The layer's version being served, for a request that asks it several things (one look at the file,
        which costs no more than remembering it)."""
        return Snapshot(self._load(layer_id), layer_id)

    def query(self, layer_id: str, **kwargs) -> QueryResult:
        """Like ``query_positions``, returning the features themselves."""
        positions, number_matched = self.query_positions(layer_id, **kwargs)
        return QueryResult(self._load(layer_id).rows(positions), number_matched)

    def current_version(self, layer_id: str) -> str | None:
        """The version of the file on disk now (None if there is none), read without the cache."""
        try:
            return file_digest(self.path_for(layer_id))
        except FileNotFoundError:
            return None

    def _remove_temporaries(self, path: Path) -> None:
        """Temporary files of writers of this layer that died mid-write (we hold its lock: none is live)."""
        for tmp in self.layers_dir.glob(f".{path.stem}.*.tmp"):
            tmp.unlink(missing_ok=True)

    def replace(self, layer_id: str, frame: gpd.GeoDataFrame, expected_version: str | None = None) -> str:
        """Replace a layer's file atomically with ``frame`` (EPSG:4326) and return the new version."""
        return self.write(layer_id, frame, expected_version)[0]

    def write(self, layer_id: str, frame: gpd.GeoDataFrame,
              expected_version: str | None = None) -> tuple[str, bool]:
        """Replace a layer's file atomically; return its version and whether the content changed.

        With ``expected_version``, the write happens only if the layer is still at that
        version (``VersionConflictError`` otherwise). The old file goes to the history.
        Writing the same content again changes nothing (no new version, no history entry).
        """
        layer = self.catalogue.get(layer_id)
        path = self.path_for(layer_id)
        return self._swap(layer_id, lambda: write_temporary(path, frame, layer.allowed_geometry_types),
                          expected_version)

    def _swap(self, layer_id: str, make_temporary, expected_version: str | None) -> tuple[str, bool]:
        """Under the layer's lock: check the version, write the new file beside the old, keep the old
        one in the history and rename the new one into place (or change nothing if they are the same)."""
        path = self.path_for(layer_id)
        history = self._history(layer_id)
        with self.write_lock(layer_id):
            self._remove_temporaries(path)
            history.remove_temporaries()
            current = self.current_version(layer_id)
            if expected_version is not None and expected_version != current:
                raise VersionConflictError(
                    f"{layer_id} is at version {current}, not {expected_version}: reload it and apply your change again",
                    details={"current_version": current})
            tmp, parsed = make_temporary()
            try:
                new = file_digest(tmp)
                if new == current:
                    return current, False
                if current is not None:
                    history.save(path, current)
                commit(tmp, path)
            finally:
                tmp.unlink(missing_ok=True)
            self._keep_parsed(layer_id, path, new, parsed)
        return new, True

    def _keep_parsed(self, layer_id: str, path: Path, version: str, parsed: gpd.GeoDataFrame) -> None:
        """A file just written was read back to check it: that parse is what the next read needs (and, for a
        large layer, its Arrow table), so the layer is not parsed again."""
        st = path.stat()
        if st.st_size > self.max_layer_bytes:
            return  # too large to serve: the next read reports it, as in every other process
        key = (st.st_ino, st.st_mtime_ns, st.st_size)
        layer = None
        if st.st_size >= self.sidecars.min_bytes:
            layer = self.sidecars.save(layer_id, version, parsed)
            if layer is not None:  # the record only serves to open a table
                self.sidecars.remember(layer_id, key, version)
        with self._lock:
            self._cache[layer_id] = _Cached(key, layer or FrameLayer(parsed, version))

    def _history(self, layer_id: str) -> History:
        return History(self.layers_dir / ".history" / self.catalogue.get(layer_id).id, self.history_keep)

    def history(self, layer_id: str) -> list[SavedVersion]:
        """Previous versions of a layer, newest first."""
        return self._history(layer_id).versions()

    def rollback(self, layer_id: str, version: str | None = None) -> SavedVersion:
        """Restore a previous version byte for byte (the newest one by default); the current one goes to
        the history."""
        chosen = self._history(layer_id).find(version)
        allowed = self.catalogue.get(layer_id).allowed_geometry_types
        self._swap(layer_id, lambda: copy_temporary(chosen.path, self.path_for(layer_id), allowed), None)
        return chosen

    def pin(self, layer_id: str, version: str, pinned: bool = True) -> SavedVersion:
        """Keep a saved version however many writes follow (or, with ``pinned=False``, let it age out)."""
        with self.write_lock(layer_id):
            return self._history(layer_id).set_pinned(version, pinned)

    def add_layer(self, entry: dict, frame: gpd.GeoDataFrame) -> None:
        """A new layer: its file first, then its catalogue entry (so the catalogue never names a missing file)."""
        from geo_service.catalogue import parse_catalogue

        with self.write_lock("catalogue"):
            for tmp in self.layers_dir.glob(".catalogue.*.tmp"):
                tmp.unlink(missing_ok=True)
            document = json.loads(self.catalogue_path.read_text(encoding="utf-8"))
            if any(existing["id"] == entry["id"] for existing in document["layers"]):
                raise InvalidParameterError(f"a layer {entry['id']!r} exists already")
            document["layers"].append(entry)
            catalogue = parse_catalogue(document, origin="new catalogue entry")
            layer = catalogue.get(entry["id"])
            path = self.layers_dir / layer.filename
            parsed = write_geojson_atomic(path, frame, layer.allowed_geometry_types)
            tmp = self.catalogue_path.with_name(f".catalogue.{os.getpid()}.{secrets.token_hex(4)}.tmp")
            try:
                tmp.write_text(json.dumps(document, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
                with open(tmp, "rb+") as handle:
                    os.fsync(handle.fileno())
                os.replace(tmp, self.catalogue_path)
                fsync_dir(self.layers_dir)
            except OSError as exc:
                raise storage_error(exc, "catalogue") from None
            finally:
                tmp.unlink(missing_ok=True)
            self._keep_parsed(layer.id, path, file_digest(path), parsed)

    def summary(self, layer_id: str) -> LayerSummary:
        layer = self._load(layer_id)
        return LayerSummary(self.catalogue.get(layer_id), layer.count, layer.bounds, layer.version)

    def states(self) -> list[LayerState]:
        """Every catalogue layer with its summary, or the reason it is unavailable."""
        states = []
        for layer in self.catalogue.layers:
            try:
                states.append(LayerState(layer, self.summary(layer.id), None))
            except LayerUnavailableError as exc:
                states.append(LayerState(layer, None, exc.message))
        return states

    def summaries(self) -> list[LayerSummary]:
        """The summaries of the layers that are available (unavailable ones are in ``states``)."""
        return [state.summary for state in self.states() if state.summary is not None]


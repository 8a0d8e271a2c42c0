"""The PostGIS backend of ``base.Store``, chosen by ``GEO_SERVICE_DATABASE_URL``.

A layer is kept twice in one database, always in the same transaction: as its RFC 7946 GeoJSON document
(in ``geo_service.documents``, whose SHA-256 is the version, exactly as in the files backend, so a layer
moved between backends keeps its versions and ETags; the history is the older documents) and as a typed
table with a GiST index in ``geo_layers`` (what bbox, property filters and paging run on, in SQL, and
what QGIS sees). Every answer about versions comes from the database, never from a cache of this process,
so any number of processes and hosts share it; a write locks the layer's catalogue row, checks
If-Match's version and replaces document and table in one transaction.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import psycopg

from geo_service.catalogue import Catalogue, parse_catalogue
from geo_service.errors import (
    ConfigError,
    GeoServiceError,
    LayerNotFoundError,
    LayerUnavailableError,
    VersionConflictError,
)
from geo_service.lazy import LazyModule
from geo_service.store.base import (
    LayerState,
    LayerSummary,
    QueryResult,
    changed_while_read,
    missing_layer,
    oversized_layer,
    unreadable_layer,
)
from geo_service.store.fileops import digest
from geo_service.store.history import SavedVersion, choose
from geo_service.store.postgis.connections import Pooled, Single, unreachable
from geo_service.store.postgis.documents import (
    DocumentGone,
    document_parts,
    insert_document,
    rechunked,
)
from geo_service.store.postgis.features import Replaced, SQLFeatures, feature_by_id
from geo_service.store.postgis.history import prune, saved_versions, set_pinned
from geo_service.store.postgis.points import PointTiles
from geo_service.store.postgis.read import read_table, readable
from geo_service.store.postgis.schema import create_schema
from geo_service.store.postgis.tables import (
    LAYERS,
    META,
    check_schema_version,
    insert_catalogue_entry,
    record_version,
    table_name,
)

if TYPE_CHECKING:
    import geopandas as gpd

_ROW = f"SELECT * FROM {META}.layers WHERE id = %s"
_CATALOGUE_CHECK_S = 1.0

# GDAL, pandas and Arrow: only a write or a whole-layer read needs them, so a server that answers from SQL
# never imports them (see the package's docstring)
geojson_file = LazyModule("geo_service.store.geojson_file")
postgis_write = LazyModule("geo_service.store.postgis.write")


class PostGISStore:
    """Layers in PostgreSQL/PostGIS (see the module's docstring). A connection pool per server process; one
    connection for a command (``pooled=False``)."""

    def __init__(self, url: str, *, history_keep: int = 10, max_layer_mb: int = 512, pool_size: int = 8,
                 table_min_mb: float = 8, points_dir: Path | None = None, create: bool = False,
                 pooled: bool = True) -> None:
        self.url = url
        self._point_tiles = PointTiles(points_dir) if points_dir is not None else None
        self.table_min_bytes = table_min_mb * 2**20  # a layer at least this big is read from its table, not kept
        self.history_keep = history_keep
        self.max_layer_bytes = max_layer_mb * 2**20
        self.pool_size = pool_size
        self.catalogue_problem: str | None = None
        self.pooled = pooled
        self._connections: Pooled | Single | None = None
        self._lock = threading.Lock()
        self._catalogue: tuple[int, Catalogue, float] | None = None  # generation, catalogue, when checked
        self._frames: dict[str, tuple[str, gpd.GeoDataFrame]] = {}
        self.remembered: dict[str, dict] = {}  # layer id: its row as this process read it last
        if create:  # `db init`: the schema now, the layers next
            try:
                create_schema(self)
            except BaseException:
                self.close()
                raise
        else:  # a database without the schema, or with another release's, is an error at start
            try:
                self.catalogue
                check_schema_version(self._one(f"SELECT schema_version FROM {META}.state")["schema_version"])
            finally:  # no connection or pool thread is left for gunicorn's master to fork (geo_service.serving)
                self.close()

    # --- connections (postgis.connections)
    def connection(self):
        """A connection (autocommit; writes open their own transaction), from the process's pool or the
        command's one connection."""
        with self._lock:
            if self._connections is None:  # each kind opens its own again in a forked process
                self._connections = Pooled(self.url, self.pool_size) if self.pooled else Single(self.url)
            connections = self._connections
        return connections.connection()

    def close(self) -> None:
        with self._lock:
            if self._connections is not None:
                self._connections.close()
            self._connections = None

    def _one(self, query, params=(), binary: bool = False) -> dict | None:
        with self.connection() as conn:
            return conn.execute(query, params, binary=binary).fetchone()

    # --- the catalogue
    @property
    def catalogue(self) -> Catalogue:
        """The catalogue table, parsed again when another process has changed it.

        Its generation is read at most once a second (the catalogue is asked for many times a request);
        a layer id this copy does not know, or a set of layers that differs from the table's, reads it
        again at once, so a layer added through another host is served everywhere straight away."""
        cached = self._catalogue
        if cached is not None and time.monotonic() - cached[2] < _CATALOGUE_CHECK_S:
            return cached[1]
        return self._reload_catalogue()

    def _reload_catalogue(self) -> Catalogue:
        try:
            state = self._one(f"SELECT generation FROM {META}.state")
        except psycopg.errors.UndefinedTable:
            raise ConfigError("the database has no geo-service schema: run `geo-service db init` first") from None
        cached = self._catalogue
        if cached is not None and cached[0] == state["generation"]:
            self._catalogue = (cached[0], cached[1], time.monotonic())
            return cached[1]
        entries = self.entries()
        if not entries:
            raise ConfigError("the database has no layers: run `geo-service db init` to load the bundled ones")
        catalogue = parse_catalogue({"catalogue_version": 1, "layers": entries}, origin="database catalogue")
        self._catalogue = (state["generation"], catalogue, time.monotonic())
        return catalogue

    def _layer(self, layer_id: str):
        """The catalogue's layer, looking again in the table before answering that it does not exist."""
        try:
            return self.catalogue.get(layer_id)
        except LayerNotFoundError:
            return self._reload_catalogue().get(layer_id)

    def path_for(self, layer_id: str) -> str:
        return f"{LAYERS}.{table_name(self._layer(layer_id).id)}"

    # --- reading
    def _summary_of(self, row: dict) -> LayerSummary:
        layer = self._layer(row["id"])
        if row["version"] is None:
            raise missing_layer(layer.id)
        if row["size"] > self.max_layer_bytes:
            raise oversized_layer(layer.id, row["size"], self.max_layer_bytes)
        bounds = tuple(row["bounds"]) if row["bounds"] else (np.nan,) * 4
        return LayerSummary(layer, row["feature_count"], bounds, row["version"])

    def _row(self, layer_id: str) -> dict:
        layer = self._layer(layer_id)  # unknown ids: the catalogue's 404
        row = self._one(_ROW, (layer.id,))
        if row is None:  # gone since the catalogue was read
            self._reload_catalogue().get(layer_id)
            raise missing_layer(layer_id)
        return row

    def summary(self, layer_id: str) -> LayerSummary:
        return self._summary_of(self._row(layer_id))

    def states(self) -> list[LayerState]:
        catalogue = self.catalogue
        with self.connection() as conn:
            rows = {r["id"]: r for r in conn.execute(f"SELECT * FROM {META}.layers")}
        if set(rows) != set(catalogue.ids):  # a layer added through another process
            catalogue = self._reload_catalogue()
        states = []
        for layer in catalogue.layers:
            try:
                states.append(LayerState(layer, self._summary_of(rows[layer.id]), None))
            except LayerUnavailableError as exc:
                states.append(LayerState(layer, None, exc.message))
        return states

    def summaries(self) -> list[LayerSummary]:
        return [state.summary for state in self.states() if state.summary is not None]

    def version(self, layer_id: str) -> str:
        return self.summary(layer_id).version

    def current_version(self, layer_id: str) -> str | None:
        return self._row(layer_id)["version"]

    def _document(self, layer_id: str, version: str) -> bytes:
        return b"".join(self.document_chunks(layer_id, version))

    def document_chunks(self, layer_id: str, version: str, size: int | None = None) -> Iterator[bytes]:
        """A version's document, one stored part at a time (see postgis.documents)."""
        parts = document_parts(self.connection, layer_id, version)
        if parts is None:
            raise missing_layer(layer_id)
        try:
            yield from parts if size is None else rechunked(parts, size)
        except DocumentGone:
            raise changed_while_read(layer_id) from None

    def _frame(self, layer_id: str, version: str | None = None) -> gpd.GeoDataFrame:
        """The layer at ``version`` (the current one by default), parsed from its document; a small layer is
        kept, per version, in this process (a large one would hold each worker's memory: it is let go)."""
        version = version or self.version(layer_id)
        cached = self._frames.get(layer_id)
        if cached is None or cached[0] != version:
            data = self._document(layer_id, version)
            try:
                frame = geojson_file.read_geojson(Path(f"{layer_id}.geojson"), data)
            except GeoServiceError:
                raise unreadable_layer(layer_id) from None
            if len(data) >= self.table_min_bytes:
                return frame
            cached = (version, frame)
            self._frames[layer_id] = cached
        return cached[1]

    def read(self, layer_id: str) -> gpd.GeoDataFrame:
        row = self._row(layer_id)
        frame = self._from_table(row)
        return frame if frame is not None else self._frame(layer_id, row["version"]).copy()

    def _from_table(self, row: dict, positions: np.ndarray | None = None) -> gpd.GeoDataFrame | None:
        """A large layer of plain columns (or its rows at ``positions``) from its table (postgis.read); None for
        any other layer, or if it has been replaced since ``row`` was read."""
        if row["version"] is None or row["size"] < self.table_min_bytes or not readable(row):
            return None
        with self.connection() as conn:
            return read_table(conn, row, positions)

    def file_bytes(self, layer_id: str) -> bytes:
        return self._document(layer_id, self.version(layer_id))

    def read_document(self, layer_id: str) -> dict:
        return json.loads(self.file_bytes(layer_id))

    def features(self, layer_id: str) -> SQLFeatures:
        row = self._row(layer_id)
        self._summary_of(row)
        self.remembered[layer_id] = row
        return SQLFeatures(self, row)

    def feature_text(self, layer_id: str, feature_id: str) -> str:
        return feature_by_id(self, layer_id, feature_id)

    def snapshot(self, layer_id: str, remembered: bool = False) -> SQLFeatures:
        """The layer's row read now; or, ``remembered``, the row this process read last, not yet confirmed
        (``SQLFeatures``: no round trip before the request's own statement, which answers the version)."""
        if remembered and (row := self.remembered.get(layer_id)) is not None:
            self._layer(layer_id)  # unknown ids: the catalogue's 404
            return SQLFeatures(self, row, confirmed=False)
        return self.features(layer_id)

    def tile(self, layer_id: str, z: int, x: int, y: int) -> bytes:
        return self.snapshot(layer_id).tile(z, x, y)

    def _positions(self, layer_id: str, **query) -> tuple[dict, np.ndarray, int]:
        """The layer's row (its version) and a page's positions and match count, from one snapshot: asked again
        of the new version if the layer is replaced in between."""
        for _ in range(3):
            source = self.features(layer_id)
            try:
                return source.row, *source.positions(**query)
            except Replaced:
                continue
        raise unreachable()

    def query_positions(self, layer_id: str, **query) -> tuple[np.ndarray, int]:
        """Bbox (GiST index), property filters, ``where`` and ``sortby`` (in SQL) and the page are answered by
        one statement."""
        _, positions, matched = self._positions(layer_id, **query)
        return positions, matched

    def query(self, layer_id: str, **kwargs) -> QueryResult:
        row, positions, matched = self._positions(layer_id, **kwargs)
        frame = self._from_table(row, positions)  # None if replaced since: then the version's document
        if frame is None:
            frame = self._frame(layer_id, row["version"]).iloc[positions].copy()
        return QueryResult(frame, matched)

    # --- writing
    def write(self, layer_id: str, frame: gpd.GeoDataFrame, expected_version: str | None = None) -> tuple[str, bool]:
        layer = self._layer(layer_id)
        data, parsed = geojson_file.document_bytes(layer.id, frame, layer.allowed_geometry_types)
        return self.commit_document(layer.id, data, expected_version, parsed=parsed)

    def replace(self, layer_id: str, frame: gpd.GeoDataFrame, expected_version: str | None = None) -> str:
        return self.write(layer_id, frame, expected_version)[0]

    def commit_document(self, layer_id: str, data: bytes, expected_version: str | None, conn=None,
                        parsed: gpd.GeoDataFrame | None = None) -> tuple[str, bool]:
        """Make ``data`` the layer's current document and table, if still at ``expected_version``
        (``parsed``: ``data`` already parsed by the files backend, which reads it the same way)."""
        new = digest(data)
        frame = parsed if parsed is not None else geojson_file.read_geojson(Path(f"{layer_id}.geojson"), data)
        with self._transaction(conn) as cur:
            current = cur.execute(f"SELECT version FROM {META}.layers WHERE id = %s FOR UPDATE",
                                  (layer_id,)).fetchone()["version"]
            if expected_version is not None and expected_version != current:
                raise VersionConflictError(
                    f"{layer_id} is at version {current}, not {expected_version}: reload it and apply your change again",
                    details={"current_version": current})
            if new == current:
                return current, False
            insert_document(cur, layer_id, new, data)
            if current is not None:  # the replaced version joins the history (pinned if it is the first)
                cur.execute(f"UPDATE {META}.documents SET saved_at = clock_timestamp(), pinned = NOT EXISTS ("
                            f"SELECT 1 FROM {META}.documents WHERE layer_id = %s AND saved_at IS NOT NULL) "
                            "WHERE layer_id = %s AND version = %s AND saved_at IS NULL",
                            (layer_id, layer_id, current))
            record_version(cur, layer_id, new, len(data), postgis_write.write_table(cur, layer_id, frame))
            prune(cur, layer_id, new, self.history_keep)
        if self._point_tiles is not None:  # a cache keyed by the version: harmless if a caller's transaction rolls back
            self._point_tiles.remember(table_name(layer_id), new, frame)
        return new, True

    @contextmanager
    def _transaction(self, conn=None):
        if conn is not None:  # inside a caller's transaction
            with conn.cursor() as cur:
                yield cur
            return
        with self.connection() as conn, conn.transaction(), conn.cursor() as cur:
            yield cur

    def add_layer(self, entry: dict, frame: gpd.GeoDataFrame) -> None:
        catalogue = parse_catalogue({"catalogue_version": 1, "layers": [*self.entries(), entry]},
                                    origin="new catalogue entry")
        layer = catalogue.get(entry["id"])
        data, parsed = geojson_file.document_bytes(layer.id, frame, layer.allowed_geometry_types)
        with self.connection() as conn, conn.transaction():
            insert_catalogue_entry(conn, entry)
            self.commit_document(layer.id, data, None, conn, parsed)

    def entries(self) -> list[dict]:
        """The catalogue entries, in order, as written in catalogue.json."""
        with self.connection() as conn:
            return [r["entry"] for r in conn.execute(f"SELECT entry FROM {META}.layers ORDER BY position")]

    # --- history (postgis.history)
    def history(self, layer_id: str) -> list[SavedVersion]:
        layer = self._layer(layer_id)
        with self.connection() as conn:
            return saved_versions(conn, layer.id)

    def rollback(self, layer_id: str, version: str | None = None) -> SavedVersion:
        chosen = choose(self.history(layer_id), version, layer_id)
        self.commit_document(layer_id, self._document(layer_id, chosen.version), None)
        return chosen

    def pin(self, layer_id: str, version: str, pinned: bool = True) -> SavedVersion:
        chosen = choose(self.history(layer_id), version, layer_id)
        with self._transaction() as cur:
            set_pinned(cur, layer_id, chosen.version, pinned, self.history_keep)
        return SavedVersion(chosen.version, chosen.saved_at, None, pinned)


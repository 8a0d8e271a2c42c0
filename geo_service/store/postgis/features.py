"""A PostGIS layer's features as the OGC API sends them, written as GeoJSON by PostGIS one page at a time."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import psycopg

from geo_service import tiles
from geo_service.lazy import LazyModule
from geo_service.store.base import StaleSnapshot, changed_while_read, plain_page
from geo_service.store.cql_sql import QUERY_TYPES
from geo_service.store.features import FeatureSource, no_feature
from geo_service.store.postgis.connections import prepared_rows
from geo_service.store.postgis.tables import (
    at_version,
    feature_by_id_query,
    feature_position_query,
    feature_texts_query,
    page_query,
    page_texts_query,
    tile_query,
)

if TYPE_CHECKING:
    from geo_service.store.postgis import PostGISStore

frame_layer = LazyModule("geo_service.store.frame_layer")  # pandas: only for a version replaced mid-request

# A statement prepared for a table that has been replaced since (other columns) fails with one of these.
_TABLE_REPLACED = (psycopg.errors.UndefinedTable, psycopg.errors.UndefinedColumn, psycopg.errors.FeatureNotSupported)


class SQLFeatures:
    """The features of one version, written as GeoJSON by PostGIS: a page reads only its own rows. It is also
    the version's ``LayerSnapshot``: its properties come from the layer's row, read once, and a page of a query
    is one statement (``page_texts_query``), which answers the layer's version too.

    A snapshot made from the row this process read last (``confirmed`` False: no round trip to make it) is
    confirmed by the first statement that answers that version; one that answers another raises
    ``StaleSnapshot``, for the request to be asked again of the layer's row read anew."""

    def __init__(self, store: PostGISStore, row: dict, confirmed: bool = True) -> None:
        self.store, self.row, self.version = store, row, row["version"]
        self.property_names = [name for name, _ in row["columns"] or []]
        self.confirmed = confirmed

    def confirm(self) -> None:
        """Nothing once a statement of this request has answered this version; else the layer's version read
        now (``StaleSnapshot`` if it is another)."""
        if not self.confirmed:
            row = self.store._row(self.row["id"])
            if row["version"] != self.version:
                raise StaleSnapshot()
            self.confirmed = True

    def _moved_on(self) -> None:
        """A statement answered another version: a remembered row is stale (``StaleSnapshot``); a row read for
        this request was replaced since, and the caller answers from this version's own document."""
        if not self.confirmed:
            raise StaleSnapshot()

    def property_types(self) -> dict[str, str]:
        return {name: QUERY_TYPES[kind] for name, kind in self.row["columns"] or [] if kind in QUERY_TYPES}

    def features(self) -> FeatureSource:
        return self

    def page(self, **query) -> tuple[list[str], int]:
        if (plain := plain_page(self.row["feature_count"], **query)) is not None:
            return self.texts(plain[0]), plain[1]
        answer = self._answer(page_texts_query(self.row, **query))
        if answer is None:  # replaced since this object was made
            self._moved_on()
            return frame_layer.Snapshot(self._frame_layer(), self.row["id"]).page(**query)
        self.confirmed = True
        return answer["texts"], int(answer["count"])

    def tile(self, z: int, x: int, y: int) -> bytes:
        """This version's tile: of a point layer, as the files backend draws it (postgis.points); of any other,
        by PostGIS (ST_AsMVT) from the indexed table, in a statement that answers the version too."""
        store, row = self.store, self.row
        if store._point_tiles is not None:
            drawn = store._point_tiles.tile(store.connection, row, row["id"], z, x, y)
            if drawn is not None:
                return drawn
        answer = self._answer(tile_query(row, row["id"], z, x, y, tiles.TILE_PROPERTIES, tiles.EXTENT,
                                         tiles.BUFFER, tiles.MAX_TILE_POINTS))
        if answer is None:  # replaced since this object was made: rare
            return frame_layer.Snapshot(self._frame_layer(), row["id"]).tile(z, x, y)
        return bytes(answer["tile"] or b"")

    def positions(self, **query) -> tuple[np.ndarray, int]:
        """``Store.query_positions`` on this version (``Replaced`` if the layer is no longer at it)."""
        if (plain := plain_page(self.row["feature_count"], **query)) is not None:
            return np.asarray(plain[0], dtype=np.int64), plain[1]
        answer = self._answer(page_query(self.row, **query))
        if answer is None:
            raise Replaced()
        return np.asarray(answer["array"], dtype=np.int64), int(answer["count"])

    def _answer(self, statement) -> dict | None:
        """The one row of a statement that also answers the layer's version: None if that is another.

        Its values come in PostgreSQL's binary format: a page's texts are one array, which the text format
        writes quoted, each '"' escaped, and psycopg reads back unescaped (a bbox page of 2,000 polygons of
        500 positions: the worker's CPU 1.20 -> 0.88 ms); a tile's bytes come as they are, not in hex."""
        try:
            answer = self.store._one(*statement, binary=True)
        except _TABLE_REPLACED:
            return None
        return answer if answer is not None and answer["version"] == self.version else None

    def _run(self, query, params) -> list[dict] | None:
        """Rows of ``query`` if the layer is still at this version (one snapshot), else None."""
        with self.store.connection() as conn, conn.transaction():
            if not at_version(conn, self.row["id"], self.version):
                return None
            return conn.execute(query, params).fetchall()

    def _frame_layer(self):
        """This version parsed from its document, when the layer has been replaced since this object was made
        (rare): a small layer only; a large one would take seconds and its whole size in memory, so the
        request is refused, to be asked again."""
        if self.row["size"] >= self.store.table_min_bytes:
            raise changed_while_read(self.row["id"])
        return frame_layer.FrameLayer(self.store._frame(self.row["id"], self.version), self.version)

    def _parsed(self) -> FeatureSource:
        return self._frame_layer().features()

    def texts(self, positions) -> list[str]:
        positions = [int(p) for p in positions]
        with self.store.connection() as conn:  # one statement: its rows and the version from one snapshot
            rows = conn.execute(*feature_texts_query(self.row, positions)).fetchall()
        if not rows or rows[0]["version"] != self.version:  # replaced since this object was made
            self._moved_on()
            return self._parsed().texts(positions)
        self.confirmed = True
        by_position = {r["pos"]: r["text"] for r in rows}
        return [by_position[p] for p in positions]

    def position(self, feature_id: str) -> int:
        rows = self._run(*feature_position_query(self.row, feature_id))
        if rows is None:
            return self._parsed().position(feature_id)
        if not rows:
            raise no_feature(feature_id)
        return rows[0]["pos"]

    def text(self, feature_id: str) -> str:
        text = _feature_at_version(self.store, self.row, feature_id)
        return text if text is not None else self._parsed().text(feature_id)  # None: replaced since


def _feature_at_version(store: PostGISStore, row: dict, feature_id: str) -> str | None:
    """The text of the feature with this id if the layer is still at ``row``'s version (NotFoundError if it has
    no such feature), else None: one statement answers the version and the feature (``feature_by_id_query``)."""
    try:
        with store.connection() as conn:
            answer = prepared_rows(conn, *feature_by_id_query(row, feature_id))
    except _TABLE_REPLACED:
        return None
    if not answer or answer[0][0] != row["version"]:
        return None
    text = answer[0][1]
    if text is None:
        raise no_feature(feature_id)
    return text


def feature_by_id(store: PostGISStore, layer_id: str, feature_id: str) -> str:
    """A feature by id in one statement: with the SQL of the layer's row this process read last
    (``PostGISStore.remembered``), the row itself is not read first (a second round trip, a fifth of the
    request). The statement answers the version along with the feature; another version (the layer replaced,
    removed, or its columns changed) is answered as before, from the layer's row read again."""
    row = store.remembered.get(layer_id)
    if row is not None and (text := _feature_at_version(store, row, feature_id)) is not None:
        return text
    return store.features(layer_id).text(feature_id)  # the row read again, with its checks


class Replaced(Exception):
    """The layer changed between reading its row and running the page query: run it again."""

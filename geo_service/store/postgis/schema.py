"""The PostGIS backend's schema set up, or brought up to this release's (``geo-service db init``)."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import psycopg

from geo_service.store.postgis.documents import move_whole_documents
from geo_service.store.postgis.tables import (
    DDL,
    META,
    SCHEMA_VERSION,
    check_schema_version,
)

if TYPE_CHECKING:
    from geo_service.store.postgis import PostGISStore

log = logging.getLogger(__name__)


def create_schema(store: PostGISStore) -> None:
    """Create the schema, or upgrade an earlier release's (idempotent; refuses a newer release's)."""
    with store.connection() as conn, conn.transaction():
        conn.execute(f"SELECT pg_advisory_xact_lock(hashtext('{META}'))")  # two hosts initialising at once
        if conn.execute("SELECT to_regclass(%s) IS NOT NULL AS here", (f"{META}.state",)).fetchone()["here"]:
            found = conn.execute(f"SELECT schema_version FROM {META}.state").fetchone()
            if found is not None and found["schema_version"] > SCHEMA_VERSION:
                check_schema_version(found["schema_version"])
        conn.execute(DDL)
        _fast_compression(conn)
    with store.connection() as conn:  # schema 1's whole documents into parts, one per transaction
        move_whole_documents(conn)
    _record_dtypes(store)
    with store.connection() as conn:
        conn.execute(f"UPDATE {META}.state SET schema_version = %s", (SCHEMA_VERSION,))


def _fast_compression(conn) -> None:
    """Documents stored compressed with LZ4 where the server has it (PostgreSQL 14 and later built with it, as
    Debian's is): a 1M-point document (375 MB) took 3.9 s to store with the default (pglz), 0.8 s with LZ4,
    in 75 MB instead of 63. Parts already stored keep theirs; either is read back the same."""
    try:
        with conn.transaction():  # a savepoint: a server without it keeps pglz
            conn.execute(f"ALTER TABLE {META}.document_parts ALTER COLUMN bytes SET COMPRESSION lz4")
    except (psycopg.errors.FeatureNotSupported, psycopg.errors.SyntaxError) as exc:
        log.info("documents are stored with PostgreSQL's default compression: %s", exc)


def _record_dtypes(store: PostGISStore) -> None:
    """Schema 1's layers get the record of their columns' dtypes (postgis.read), from one parse each."""
    with store.connection() as conn:
        rows = conn.execute(f"SELECT id, version FROM {META}.layers WHERE version IS NOT NULL AND dtypes IS NULL"
                            ).fetchall()
    for row in rows:
        frame = store._frame(row["id"], row["version"])
        dtypes = [str(frame[name].dtype) for name in frame.columns if name != frame.geometry.name]
        with store.connection() as conn:  # unless replaced meanwhile (the new version has its own)
            conn.execute(f"UPDATE {META}.layers SET dtypes = %s WHERE id = %s AND version = %s",
                         (psycopg.types.json.Jsonb(dtypes), row["id"], row["version"]))

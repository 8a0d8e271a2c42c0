"""The PostGIS backend's schema set up, or brought up to this release's (``geo-service db init``)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import psycopg

from geo_service.store.postgis_documents import move_whole_documents
from geo_service.store.postgis_tables import (
    DDL,
    META,
    SCHEMA_VERSION,
    check_schema_version,
)

if TYPE_CHECKING:
    from geo_service.store.postgis import PostGISStore


def create_schema(store: PostGISStore) -> None:
    """Create the schema, or upgrade an earlier release's (idempotent; refuses a newer release's)."""
    with store.connection() as conn, conn.transaction():
        conn.execute(f"SELECT pg_advisory_xact_lock(hashtext('{META}'))")  # two hosts initialising at once
        if conn.execute("SELECT to_regclass(%s) IS NOT NULL AS here", (f"{META}.state",)).fetchone()["here"]:
            found = conn.execute(f"SELECT schema_version FROM {META}.state").fetchone()
            if found is not None and found["schema_version"] > SCHEMA_VERSION:
                check_schema_version(found["schema_version"])
        conn.execute(DDL)
    with store.connection() as conn:  # schema 1's whole documents into parts, one per transaction
        move_whole_documents(conn)
    _record_dtypes(store)
    with store.connection() as conn:
        conn.execute(f"UPDATE {META}.state SET schema_version = %s", (SCHEMA_VERSION,))


def _record_dtypes(store: PostGISStore) -> None:
    """Schema 1's layers get the record of their columns' dtypes (postgis_read), from one parse each."""
    with store.connection() as conn:
        rows = conn.execute(f"SELECT id, version FROM {META}.layers WHERE version IS NOT NULL AND dtypes IS NULL"
                            ).fetchall()
    for row in rows:
        frame = store._frame(row["id"], row["version"])
        dtypes = [str(frame[name].dtype) for name in frame.columns if name != frame.geometry.name]
        with store.connection() as conn:  # unless replaced meanwhile (the new version has its own)
            conn.execute(f"UPDATE {META}.layers SET dtypes = %s WHERE id = %s AND version = %s",
                         (psycopg.types.json.Jsonb(dtypes), row["id"], row["version"]))

"""The PostGIS backend's stored GeoJSON documents, kept in parts of ``PART_BYTES``.

A document is the layer's version (its SHA-256) and the whole-layer download. Held as one ``bytea`` it was
compressed as one TOAST value, so any slice of it meant decompressing it from the start: a download read in
64 MB slices took 11 s and 320 MB of a worker's memory at 1M points, and smaller slices took longer (each
one decompresses everything before it). Each part is its own row, compressed on its own, so a download
reads one part at a time: the worker holds a part, the database decompresses each byte once.

A database written before the parts (schema 1) keeps each document in ``documents.document``: the service
refuses to start on it until ``db init`` has moved them into parts (``move_whole_documents``).
"""

from __future__ import annotations

from collections.abc import Iterator

from geo_service.store.postgis.tables import META


class DocumentGone(Exception):
    """The version's document was removed from the history while it was being read."""


PART_BYTES = 8 * 2**20  # a download holds about three copies of one part at a time (libpq, psycopg, gzip)


def insert_document(cur, layer_id: str, version: str, data: bytes, saved_at=None, pinned: bool = False) -> None:
    """Store ``data`` as the document of ``version`` (``saved_at``: in the history since then), unless that
    version is already stored (a version is its bytes' digest, so the stored one is the same)."""
    added = cur.execute(f"INSERT INTO {META}.documents (layer_id, version, saved_at, pinned) VALUES (%s, %s, %s, %s) "
                        "ON CONFLICT DO NOTHING RETURNING version", (layer_id, version, saved_at, pinned)).fetchone()
    if added is not None:
        _insert_parts(cur, layer_id, version, data)


def _insert_parts(cur, layer_id: str, version: str, data: bytes) -> None:
    part_bytes, view = PART_BYTES, memoryview(data)  # slices without copies
    cur.executemany(f"INSERT INTO {META}.document_parts (layer_id, version, part, bytes) VALUES (%s, %s, %s, %s)",
                    [(layer_id, version, number, view[start:start + part_bytes])
                     for number, start in enumerate(range(0, max(len(data), 1), part_bytes))])


def document_parts(connection, layer_id: str, version: str) -> Iterator[bytes] | None:
    """The stored document's parts, in order, each read by its own query (a version never changes, and no
    connection is held between parts); None if the version is not stored."""
    with connection() as conn:
        row = conn.execute(f"SELECT count(p.part) AS parts FROM {META}.documents d LEFT JOIN {META}.document_parts p "
                           "USING (layer_id, version) WHERE d.layer_id = %s AND d.version = %s GROUP BY d.version",
                           (layer_id, version)).fetchone()
    if row is None:
        return None
    return (_part(connection, layer_id, version, number) for number in range(row["parts"]))


def rechunked(parts: Iterator[bytes], size: int) -> Iterator[bytes]:
    """The same bytes in chunks of ``size`` (the last one shorter)."""
    pending = bytearray()
    for part in parts:
        pending += part
        while len(pending) >= size:
            yield bytes(pending[:size])
            del pending[:size]
    if pending:
        yield bytes(pending)


def _part(connection, layer_id: str, version: str, number: int) -> bytes:
    with connection() as conn:  # in binary: a text answer would be the bytes hex-encoded, twice their size
        row = conn.cursor(binary=True).execute(
            f"SELECT bytes FROM {META}.document_parts WHERE layer_id = %s AND version = %s AND part = %s",
            (layer_id, version, number)).fetchone()
    if row is None:  # pruned between two parts (ten newer versions written meanwhile)
        raise DocumentGone
    return bytes(row["bytes"])


def move_whole_documents(conn) -> int:
    """Move schema 1's whole documents into parts, one document per transaction; returns how many moved."""
    moved = 0
    while True:
        with conn.transaction():
            row = conn.cursor(binary=True).execute(
                f"SELECT layer_id, version, document FROM {META}.documents WHERE document IS NOT NULL "
                "LIMIT 1 FOR UPDATE").fetchone()
            if row is None:
                return moved
            data = bytes(row["document"])
            with conn.cursor() as cur:
                cur.execute(f"UPDATE {META}.documents SET document = NULL WHERE layer_id = %s AND version = %s",
                            (row["layer_id"], row["version"]))
                _insert_parts(cur, row["layer_id"], row["version"], data)
        moved += 1

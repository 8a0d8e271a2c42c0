"""How a PostGIS store reaches its database: a pool per process for a server, one connection for a command.

A command (``layers import``, ``db export`` …) runs one thing at a time; a pool would start threads for it,
and a process with threads does not fork (``forked``), so a command's large import could not use the second
core. Both kinds give autocommit connections with dict rows, configured alike.
"""

from __future__ import annotations

import itertools
import os
import threading
import weakref
from collections.abc import Sequence
from contextlib import contextmanager

import psycopg
from psycopg import pq
from psycopg.rows import dict_row
from psycopg_pool import ConnectionPool, PoolTimeout

from geo_service.errors import LayerUnavailableError
from geo_service.i18n import Text

__all__ = ["Pooled", "Single", "prepared_rows", "unreachable"]


def _configure(conn) -> None:
    conn.execute("SET jit = off")  # compiling costs more than these short queries take (600 ms on a tile)


def unreachable() -> LayerUnavailableError:
    return LayerUnavailableError(Text("error", "the layers database cannot be reached; tell the server's operator"))


class Pooled:
    """A connection pool, opened at first use; a forked worker gets its own."""

    def __init__(self, url: str, size: int) -> None:
        self.url, self.size = url, size
        self._pool: ConnectionPool | None = None
        self._pid = 0
        self._lock = threading.Lock()

    @contextmanager
    def connection(self):
        with self._lock:
            if self._pool is None or self._pid != os.getpid():
                self._pool = ConnectionPool(self.url, min_size=1, max_size=self.size, open=False,
                                            kwargs={"autocommit": True, "row_factory": dict_row},
                                            configure=_configure, name="geo-service")
                self._pool.open(wait=False)
                self._pid = os.getpid()
            pool = self._pool
        # getconn and putconn, not the pool's connection(): its ``with conn`` commits, a round of psycopg's
        # locks for nothing on autocommit connections (a transaction is a ``conn.transaction()`` block, which
        # ends itself), and that was 4 of the 11 µs a connection's checkout cost. putconn rolls back and
        # warns of a connection left in a transaction.
        try:
            conn = pool.getconn(timeout=5)
        except (psycopg.OperationalError, PoolTimeout):
            raise unreachable() from None
        try:
            yield conn
        except psycopg.OperationalError:
            raise unreachable() from None
        finally:
            pool.putconn(conn)

    def close(self) -> None:
        with self._lock:
            if self._pool is not None and self._pid == os.getpid():
                self._pool.close()
            self._pool = None


class Single:
    """One connection, opened at first use and kept; a use inside another gets a connection of its own for
    its time (as a pool would give it), so it never joins the other's transaction."""

    def __init__(self, url: str) -> None:
        self.url = url
        self._conn: psycopg.Connection | None = None
        self._pid = 0  # a forked process opens its own, and never closes the one it inherited
        self._busy = False

    def _open(self) -> psycopg.Connection:
        conn = psycopg.connect(self.url, autocommit=True, row_factory=dict_row, connect_timeout=5)
        _configure(conn)
        return conn

    @contextmanager
    def connection(self):
        try:
            if self._busy:
                with self._open() as conn:
                    yield conn
                return
            if self._conn is None or self._conn.closed or self._conn.broken or self._pid != os.getpid():
                self._conn, self._pid = self._open(), os.getpid()
            self._busy = True
            try:
                yield self._conn
            finally:
                self._busy = False
        except psycopg.OperationalError:
            raise unreachable() from None

    def close(self) -> None:
        if self._conn is not None and self._pid == os.getpid():
            self._conn.close()
        self._conn = None


class _Prepared:
    """What one connection has prepared for prepared_rows (SQL text: name), and its client encoding."""

    def __init__(self, conn: psycopg.Connection) -> None:
        self.names: dict[str, bytes] = {}
        self.encoding = conn.info.encoding


_PREPARED: weakref.WeakKeyDictionary[psycopg.Connection, _Prepared] = weakref.WeakKeyDictionary()
_NAMES = itertools.count()  # never a name twice in a process: one the server still holds is never reused
_MAX_PREPARED = 64  # a connection's statements, deallocated together past this (layers replaced many times)
_NO_SUCH_STATEMENT = b"26000"  # invalid_sql_statement_name: the server forgot it (psycopg's DEALLOCATE ALL)


def prepared_rows(conn: psycopg.Connection, query: str, params: Sequence[str]) -> list[tuple[str | None, ...]]:
    """The rows of ``query`` (placeholders ``$1``, ``$2`` …), values as text, through libpq's prepared statements.

    Written over psycopg's own libpq layer (``psycopg.pq``) for the hottest read, a feature by id: psycopg's
    cursor (preparing, adapting, building rows) cost 46 µs a statement on top of its own round trip (74 µs
    over TCP here). The statement is prepared on each connection the first time it runs there, under a name
    of its own (psycopg's statements are left alone; its DEALLOCATE ALL after a DROP or a rollback is seen
    as a statement to prepare again). libpq lets other threads run while it waits, as psycopg does. Errors
    are psycopg's (``psycopg.errors``)."""
    prepared = _PREPARED.get(conn)
    if prepared is None:
        prepared = _PREPARED[conn] = _Prepared(conn)
    values = [value.encode(prepared.encoding) for value in params]
    for _ in range(2):  # once more if the server forgot the statement
        result = conn.pgconn.exec_prepared(_prepared_name(conn, prepared, query), values)
        if result.error_field(pq.DiagnosticField.SQLSTATE) != _NO_SUCH_STATEMENT:
            break
        del prepared.names[query]
    _check(conn, result, pq.ExecStatus.TUPLES_OK)
    encoding = prepared.encoding
    return [tuple(None if (value := result.get_value(row, column)) is None else value.decode(encoding)
                  for column in range(result.nfields)) for row in range(result.ntuples)]


def _prepared_name(conn: psycopg.Connection, prepared: _Prepared, query: str) -> bytes:
    name = prepared.names.get(query)
    if name is not None:
        return name
    if len(prepared.names) >= _MAX_PREPARED:
        for old in prepared.names.values():
            result = conn.pgconn.exec_(b"DEALLOCATE " + old)
            if result.error_field(pq.DiagnosticField.SQLSTATE) != _NO_SUCH_STATEMENT:
                _check(conn, result, pq.ExecStatus.COMMAND_OK)
        prepared.names.clear()
    name = f"geo_service_{next(_NAMES)}".encode()
    _check(conn, conn.pgconn.prepare(name, query.encode(), None), pq.ExecStatus.COMMAND_OK)
    prepared.names[query] = name
    return name


def _check(conn: psycopg.Connection, result: pq.abc.PGresult, expected: pq.ExecStatus) -> None:
    if result.status == expected:
        return
    if conn.pgconn.status != pq.ConnStatus.OK:  # the server went away: as psycopg's cursor says it
        raise psycopg.OperationalError(conn.pgconn.error_message.decode(errors="replace"))
    raise psycopg.errors.error_from_result(result, encoding=conn.info.encoding)

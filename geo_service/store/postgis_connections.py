"""How a PostGIS store reaches its database: a pool per process for a server, one connection for a command.

A command (``layers import``, ``db export`` …) runs one thing at a time; a pool would start threads for it,
and a process with threads does not fork (``forked``), so a command's large import could not use the second
core. Both kinds give autocommit connections with dict rows, configured alike.
"""

from __future__ import annotations

import os
import threading
from contextlib import contextmanager

import psycopg
from psycopg.rows import dict_row
from psycopg_pool import ConnectionPool, PoolTimeout

from geo_service.errors import LayerUnavailableError
from geo_service.i18n import Text

__all__ = ["Pooled", "Single", "unreachable"]


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
        try:
            with pool.connection(timeout=5) as conn:
                yield conn
        except (psycopg.OperationalError, PoolTimeout):
            raise unreachable() from None

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

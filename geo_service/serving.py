"""Production serving with gunicorn: threaded workers that slow clients cannot hold, and a log without secrets.

gunicorn's sync workers give each connection a whole process until its request
has arrived, so a handful of clients sending one header every few seconds stop
the server. gunicorn's ``gthread`` workers hand a connection to a thread once
its first bytes arrive; this worker goes further, because gunicorn has no
setting for it: the request head (request line and headers) is read in the
worker's event loop, without a thread, and must be complete within
``HEAD_TIMEOUT_S`` (a client trickling one header every few seconds is cut off
without ever holding a thread). Every blocking read in a thread then waits at
most ``READ_TIMEOUT_S`` for the next packet.
Bodies themselves may be slow (a field office's upload over a poor link): the
endpoints that read large bodies do so while holding a host-wide slot
(``geo_service.slots``), so slow bodies cannot pile up.

The access log is gunicorn's, with tokens redacted, written by the worker's
event loop a second at a time (as nginx's ``access_log … buffer= flush=``)
rather than by each request's thread: written line by line, through the
logging module, it was a tenth of a worker's time on a feature by id, and each
write let another thread take the GIL mid-request.

The app is made once, in gunicorn's master, before the workers are forked
(``--preload``): a worker starts with the app ready and the libraries it
imported, instead of each worker importing them again (with two workers on two
cores, the start took 6.5 s where one import takes 2 s); their memory pages
are shared until written. The libraries only some requests need (pandas,
GDAL, Arrow, pyproj, folium on PostGIS) are imported by a worker's first such
request (``geo_service.lazy``). The app holds no thread or database connection
when the master forks: ``PostGISStore`` lets its pool go after its checks at
start, and each worker opens its own.
"""

from __future__ import annotations

import atexit
import errno
import logging
import re
import selectors
import shutil
import socket
import sys
import time
import traceback
from collections import deque
from functools import partial
from pathlib import Path

from gunicorn.glogging import Logger
from gunicorn.workers.gthread import TConn, ThreadWorker

READ_TIMEOUT_S = 10.0
HEAD_TIMEOUT_S = 10.0
LINGER_S, LINGER_BYTES = 2.0, 64 * 1024  # gunicorn's close_graceful: how long and how much a close reads
MAX_LINGERING = 1024  # connections closing at once in a worker, beyond which they are closed without waiting
ACCESS_FLUSH_S = 1.0  # the access log's lines are written at least this often …
ACCESS_FLUSH_LINES = 512  # … or as soon as this many are waiting
THREADS_PER_WORKER = 16
_SECRET_IN_QUERY = re.compile(r"((?:^|[?&])(?:token|access_token|api_key|apikey|key)=)[^&\s]*", re.IGNORECASE)


class TimedSocket(socket.socket):
    """A client socket on which 'blocking' means 'for at most READ_TIMEOUT_S per read', and on which
    reads stop at ``head_deadline`` (monotonic seconds) while one is set."""

    __slots__ = ("head_deadline",)

    def setblocking(self, flag: bool) -> None:
        self.settimeout(READ_TIMEOUT_S if flag else 0.0)

    def recv(self, size: int, flags: int = 0) -> bytes:
        deadline = getattr(self, "head_deadline", None)
        if deadline is not None and self.gettimeout() != 0.0:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError("the request head did not arrive in time")
            self.settimeout(min(READ_TIMEOUT_S, remaining))
        return super().recv(size, flags)


class _HeadDeadline:
    """gunicorn's HTTP/1 parser, with a deadline on the socket while a request head is parsed."""

    def __init__(self, parser, sock: TimedSocket) -> None:
        self._parser = parser
        self._sock = sock

    def __iter__(self):
        return self

    def __next__(self):
        self._sock.head_deadline = time.monotonic() + HEAD_TIMEOUT_S
        try:
            return next(self._parser)
        finally:
            self._sock.head_deadline = None
            if self._sock.gettimeout() != 0.0:
                self._sock.settimeout(READ_TIMEOUT_S)

    def __getattr__(self, name: str):
        return getattr(self._parser, name)


class TimedConn(TConn):
    """A connection whose request head may have been read already by the event loop (``head``)."""

    def __init__(self, *args, linger=None) -> None:
        super().__init__(*args)
        self.head = bytearray()
        self.head_deadline = 0.0
        self.linger = linger  # the worker's lingering close, in its event loop
        self.drained = 0  # bytes read from the client while lingering

    def hand_over_head(self) -> None:
        """Give the bytes read by the event loop to the parser (before or after it exists)."""
        if self.parser is not None and self.head:
            self.parser.unreader.unread(bytes(self.head))
            self.head = bytearray()

    def init(self) -> None:
        super().init()
        if not self.is_http2 and isinstance(self.sock, TimedSocket) and not isinstance(self.parser, _HeadDeadline):
            self.parser = _HeadDeadline(self.parser, self.sock)
        self.hand_over_head()

    def close(self, graceful: bool = False) -> None:
        if graceful and self.linger is not None:  # gunicorn asks for it in the worker's event loop
            self.linger(self)
        else:
            super().close(graceful)


class BoundedThreadWorker(ThreadWorker):
    """gunicorn's threaded worker: request heads read in the event loop, then TimedSocket reads in threads."""

    MAX_HEAD_BYTES = 64 * 1024

    def init_process(self) -> None:
        self.reading_heads: dict[TimedConn, None] = {}  # insertion-ordered: oldest deadline first
        self.lingering: dict[TimedConn, float] = {}  # closing connections (_linger): their deadlines
        self.tls = self.cfg.is_ssl
        # Each listener's socket kind and address, asked once: per connection they were 3 % of the worker's
        # time on a feature by id (socket's enum conversions, gunicorn's settings lookups).
        self.listening: dict[object, tuple] = {}
        self.log_buffered = isinstance(self.log, RedactingLogger) and self.log.buffer_access()
        super().init_process()

    def accept(self, listener):  # gunicorn's own, with the accepted socket re-wrapped
        try:
            client, address = listener.accept()
        except OSError as exc:
            if exc.errno in (errno.EAGAIN, errno.ECONNABORTED, errno.EWOULDBLOCK):
                return
            raise
        kind = self.listening.get(listener)
        if kind is None:
            kind = self.listening[listener] = (int(client.family), int(client.type), client.proto,
                                               listener.getsockname())
        client = TimedSocket(kind[0], kind[1], kind[2], fileno=client.detach())
        self.nr_conns += 1
        conn = TimedConn(self.cfg, client, address, kind[3], linger=self._linger)
        if self.tls:  # TLS must be unwrapped by a thread first (terminate TLS at a proxy instead)
            client.setblocking(True)
            self.enqueue_req(conn)
            return
        self._read_head(conn)

    def _read_head(self, conn: TimedConn) -> None:
        conn.sock.setblocking(False)
        conn.head_deadline = time.monotonic() + HEAD_TIMEOUT_S
        self.reading_heads[conn] = None
        self.poller.register(conn.sock, selectors.EVENT_READ, partial(self._on_head_readable, conn))

    def _unwatch(self, sock) -> None:
        try:
            self.poller.unregister(sock)
        except (OSError, KeyError, ValueError):  # not registered, or closed already
            pass

    def _drop(self, conn: TimedConn) -> None:
        self.reading_heads.pop(conn, None)
        self._unwatch(conn.sock)
        self.nr_conns -= 1
        conn.close()

    def _linger(self, conn: TimedConn) -> None:
        """gunicorn's graceful close (RFC 9112 section 9.6: send FIN, then read what the client still sends
        until it closes, at most ``LINGER_S`` and ``LINGER_BYTES``, so that a late packet does not reset the
        answer), waiting in the event loop. gunicorn's own blocked the loop up to 2 s a connection: while a
        client that had its answer kept its socket open, the worker accepted and answered nobody else."""
        sock = conn.sock
        if len(self.lingering) >= MAX_LINGERING:  # a flood of such clients: close at once
            conn.linger = None
            conn.close()
            return
        try:
            sock.shutdown(socket.SHUT_WR)
            sock.setblocking(False)
            self.poller.register(sock, selectors.EVENT_READ, partial(self._on_linger_readable, conn))
        except (OSError, KeyError, ValueError):
            conn.linger = None
            conn.close()
            return
        self.lingering[conn] = time.monotonic() + LINGER_S

    def _on_linger_readable(self, conn: TimedConn, sock) -> None:
        try:
            data = conn.sock.recv(65536)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            data = b""
        conn.drained += len(data)
        if not data or conn.drained >= LINGER_BYTES:
            self._end_linger(conn)

    def _end_linger(self, conn: TimedConn) -> None:
        self.lingering.pop(conn, None)
        self._unwatch(conn.sock)
        conn.linger = None
        conn.close()

    def _on_head_readable(self, conn: TimedConn, sock) -> None:
        try:
            data = conn.sock.recv(self.MAX_HEAD_BYTES)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            data = b""
        conn.head += data
        if not data or len(conn.head) > self.MAX_HEAD_BYTES:
            self._drop(conn)
            return
        if b"\r\n\r\n" not in conn.head:
            return
        self.reading_heads.pop(conn, None)
        self.poller.unregister(conn.sock)
        conn.data_ready = True
        conn.hand_over_head()  # a kept-alive connection has its parser already
        self.enqueue_req(conn)

    def on_client_socket_readable(self, conn, client):
        """A kept-alive connection's next request: its head too is read without a thread."""
        self.poller.unregister(client)
        self.keepalived_conns.remove(conn)
        self._read_head(conn)

    def murder_pending(self):  # once every turn of the event loop (at least once a second)
        super().murder_pending()
        now = time.monotonic()
        for conn in [c for c in self.reading_heads if c.head_deadline < now]:
            self._drop(conn)
        while self.lingering:  # oldest deadline first
            conn, deadline = next(iter(self.lingering.items()))
            if deadline >= now:
                break
            self._end_linger(conn)
        if self.log_buffered:
            self.log.flush_access(now)

    def run(self) -> None:
        try:
            super().run()
        finally:  # threads still answering write theirs at exit (RedactingLogger.buffer_access)
            if self.log_buffered:
                self.log.flush_access()


def redact(text: str | None) -> str | None:
    """A URL or query string with any token-like parameter's value replaced."""
    return _SECRET_IN_QUERY.sub(r"\1[redacted]", text) if text and "=" in text else text


# What gunicorn's atoms other than headers and environ variables are made of.
_ATOM_ENVIRON = ("REMOTE_ADDR", "REQUEST_METHOD", "RAW_URI", "SERVER_PROTOCOL", "PATH_INFO", "QUERY_STRING",
                 "HTTP_REFERER", "HTTP_USER_AGENT", "HTTP_AUTHORIZATION")


class RedactingLogger(Logger):
    """The access log, with tokens sent in URLs replaced (they are refused, but still arrive); in a worker that
    asks for it (``buffer_access``), its lines are kept and written together by ``flush_access``."""

    _pending: deque[str] | None = None
    _flushed = 0.0

    def atoms(self, resp, req, environ, request_time):
        log_format = self.cfg.access_log_format
        if "}i" in log_format or "}e" in log_format:
            atoms = super().atoms(resp, req, environ, request_time)
        else:  # a format without request headers or environ variables (the default): an atom for each of them,
            # each escaped, was most of a line's cost (a tenth of a feature by id's)
            environ = {key: environ[key] for key in _ATOM_ENVIRON if key in environ}
            if "}o" not in log_format:  # nor response headers
                resp = _Sent(resp.status, getattr(resp, "sent", None))
            atoms = super().atoms(resp, (), environ, request_time)
        for key in ("r", "q"):
            atoms[key] = redact(atoms.get(key))
        return atoms

    def buffer_access(self) -> bool:
        """Keep the access log's lines for ``flush_access`` instead of writing each at once, if the log is
        gunicorn's own stream or file (one line per record; another handler, e.g. syslog, gets its records as
        before). Lines still waiting are written when the process exits. True if they are kept."""
        handlers = self.access_log.handlers
        if not self.access_log_enabled or not handlers or not all(
                type(h) in (logging.StreamHandler, logging.FileHandler) and h.formatter is not None
                and h.formatter._fmt == self.access_fmt for h in handlers):
            return False
        self._pending, self._flushed = deque(), time.monotonic()
        atexit.register(self.flush_access)
        return True

    def access(self, resp, req, environ, request_time):
        if self._pending is None or not self.access_log_enabled:
            return super().access(resp, req, environ, request_time)
        try:  # the line logging would write: gunicorn's format with the atoms (Logger.access)
            line = self.cfg.access_log_format % self.atoms_wrapper_class(self.atoms(resp, req, environ,
                                                                                     request_time))
        except Exception:  # noqa: BLE001 - as gunicorn's Logger.access: a line that fails is reported, not raised
            self.error(traceback.format_exc())
            return
        self._pending.append(line)

    def flush_access(self, now: float | None = None) -> None:
        """Write the lines kept so far, in one record; with ``now`` (monotonic seconds), only if the oldest may
        have waited ``ACCESS_FLUSH_S`` or ``ACCESS_FLUSH_LINES`` are waiting. One thread calls it at a time
        (the worker's event loop, then at exit); requests' threads only append."""
        pending = self._pending
        if not pending or (now is not None and now - self._flushed < ACCESS_FLUSH_S
                           and len(pending) < ACCESS_FLUSH_LINES):
            return
        self._flushed = time.monotonic() if now is None else now
        lines = [pending.popleft() for _ in range(len(pending))]
        try:
            self.access_log.info("%s", "\n".join(lines))
        except Exception:  # noqa: BLE001 - as gunicorn's Logger.access
            self.error(traceback.format_exc())

    def reopen_files(self):
        self.flush_access()  # the lines so far, to the file they were logged for
        super().reopen_files()


class _Sent:
    """A response as the access log's atoms see it when its format names no response header."""

    __slots__ = ("headers", "sent", "status")

    def __init__(self, status, sent) -> None:
        self.status, self.sent, self.headers = status, sent, ()


def gunicorn_command(host: str, port: int, workers: int, timeout_s: int) -> list[str]:
    gunicorn = shutil.which("gunicorn") or str(Path(sys.executable).with_name("gunicorn"))
    return [gunicorn, "--preload", "--workers", str(workers), "--threads", str(THREADS_PER_WORKER),
            "--worker-class", "geo_service.serving.BoundedThreadWorker",
            "--logger-class", "geo_service.serving.RedactingLogger",
            "--bind", f"{host}:{port}", "--timeout", str(timeout_s), "--graceful-timeout", "30",
            "--keep-alive", "5", "--limit-request-fields", "60", "--access-logfile", "-",
            "geo_service.app:create_app()"]

"""gunicorn's threaded worker, bounded: a request head is read by the event loop within a deadline, reads in
threads wait at most a timeout, and a connection closing after its answer is waited for by the event loop
without blocking it."""

from __future__ import annotations

import errno
import selectors
import socket
import time
from functools import partial

from gunicorn.http.body import LengthReader
from gunicorn.workers.gthread import TConn, ThreadWorker

from geo_service.serving.access_log import RedactingLogger
from geo_service.serving.threads import Threads

READ_TIMEOUT_S = 10.0
HEAD_TIMEOUT_S = 10.0
LINGER_S, LINGER_BYTES = 2.0, 64 * 1024  # gunicorn's close_graceful: how long and how much a close reads
MAX_LINGERING = 1024  # connections closing at once in a worker, beyond which they are closed without waiting


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

    def accept(self, listener):  # gunicorn's own, with the accepted socket made a TimedSocket at once
        try:  # the descriptor only: socket.accept would wrap it in a socket object of its own first
            fd, address = listener._accept()
        except OSError as exc:
            if exc.errno in (errno.EAGAIN, errno.ECONNABORTED, errno.EWOULDBLOCK):
                return
            raise
        kind = self.listening.get(listener)
        if kind is None:
            kind = self.listening[listener] = (int(listener.family), int(listener.type), listener.proto,
                                               listener.getsockname())
        client = TimedSocket(kind[0], kind[1], kind[2], fileno=fd)
        self.nr_conns += 1
        conn = TimedConn(self.cfg, client, address, kind[3], linger=self._linger)
        if self.tls:  # TLS must be unwrapped by a thread first (terminate TLS at a proxy instead)
            client.setblocking(True)
            self.enqueue_req(conn)
            return
        self._read_head(conn)

    def get_thread_pool(self) -> Threads:
        return Threads(self.cfg.threads, self.handle, self._handled)

    def enqueue_req(self, conn) -> None:
        self.tpool.submit(conn)

    def _handled(self, conn, result) -> None:  # in the thread that answered: the rest in the event loop
        self.method_queue.defer(self.finish_request, conn, result)

    def _read_head(self, conn: TimedConn) -> None:
        """Read the request head in the event loop: what has arrived already at once (a client most often sends
        its request with its connection, and a kept-alive one is readable), the rest as it comes."""
        conn.sock.setblocking(False)
        conn.head_deadline = time.monotonic() + HEAD_TIMEOUT_S
        self.reading_heads[conn] = None
        arrived = self._head_arrived(conn)
        if arrived is None:
            self.poller.register(conn.sock, selectors.EVENT_READ, partial(self._on_head_readable, conn))
        else:
            self._head_done(conn, arrived)

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
            _close_now(conn)
            return
        try:
            sock.shutdown(socket.SHUT_WR)
            sock.setblocking(False)
            # A client that asked for the close and sent its whole request sends nothing more: unless it has
            # sent something after all, its connection is closed at once (as nginx's lingering_close does).
            drained = self._drained(conn)
            if drained or (drained is None and asked_to_close(conn)):
                _close_now(conn)
                return
            self.poller.register(sock, selectors.EVENT_READ, partial(self._on_linger_readable, conn))
        except (OSError, KeyError, ValueError):
            _close_now(conn)
            return
        self.lingering[conn] = time.monotonic() + LINGER_S

    @staticmethod
    def _drained(conn: TimedConn) -> bool | None:
        """Read what a lingering client still sends: True once it has closed or sent ``LINGER_BYTES``, None if
        it has sent nothing since the last read."""
        data = _received(conn.sock, 65536)
        if data is None:
            return None
        conn.drained += len(data)
        return not data or conn.drained >= LINGER_BYTES

    def _on_linger_readable(self, conn: TimedConn, sock) -> None:
        if self._drained(conn):
            self._end_linger(conn)

    def _end_linger(self, conn: TimedConn) -> None:
        self.lingering.pop(conn, None)
        self._unwatch(conn.sock)
        _close_now(conn)

    def _head_arrived(self, conn: TimedConn) -> bool | None:
        """Read what the client has sent of its request head: None while it is incomplete, True once it is
        complete, False if the client closed or the head is too large (the connection is then dropped)."""
        data = _received(conn.sock, self.MAX_HEAD_BYTES)
        if data is None:
            return None
        conn.head += data
        if not data or len(conn.head) > self.MAX_HEAD_BYTES:
            return False
        return True if b"\r\n\r\n" in conn.head else None

    def _on_head_readable(self, conn: TimedConn, sock) -> None:
        arrived = self._head_arrived(conn)
        if arrived is not None:
            self._unwatch(conn.sock)
            self._head_done(conn, arrived)

    def _head_done(self, conn: TimedConn, complete: bool) -> None:
        if not complete:
            self._drop(conn)
            return
        self.reading_heads.pop(conn, None)
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


def _received(sock: socket.socket, size: int) -> bytes | None:
    """What a non-blocking socket holds, up to ``size`` bytes: None if nothing yet, empty if the client closed
    (or the connection failed)."""
    try:
        return sock.recv(size)
    except (BlockingIOError, InterruptedError):
        return None
    except OSError:
        return b""


def _close_now(conn: TimedConn) -> None:
    """Close without lingering (``TimedConn.close`` would linger while ``conn.linger`` is set)."""
    conn.linger = None
    conn.close()


def asked_to_close(conn: TimedConn) -> bool:
    """Whether the connection's last request asked for the connection to be closed after it (``Connection:
    close``, or HTTP/1.0 without keep-alive) and was read whole: its body (of a known length) and nothing after."""
    mesg = getattr(conn.parser, "mesg", None)
    reader = getattr(getattr(mesg, "body", None), "reader", None)
    if conn.is_http2 or type(reader) is not LengthReader or reader.length:
        return False
    unreader = conn.parser.unreader
    if unreader.buf.getvalue():  # read ahead already: another request, pipelined
        return False
    for name, value in mesg.headers:
        if name == "CONNECTION":
            return "close" in (token.strip(" \t") for token in value.lower().split(","))
    return mesg.version < (1, 1)

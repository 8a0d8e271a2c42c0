"""gunicorn's access log with tokens redacted, its lines written together by the worker's event loop."""

from __future__ import annotations

import atexit
import logging
import re
import time
import traceback
from collections import deque

from gunicorn.glogging import Logger

ACCESS_FLUSH_S = 1.0  # the access log's lines are written at least this often …
ACCESS_FLUSH_LINES = 512  # … or as soon as this many are waiting
_SECRET_IN_QUERY = re.compile(r"((?:^|[?&])(?:token|access_token|api_key|apikey|key)=)[^&\s]*", re.IGNORECASE)

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

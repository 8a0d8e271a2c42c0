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

Modules: ``worker`` (the worker, its event loop and lingering close), ``threads`` (the threads that answer
requests), ``access_log`` (the redacted, buffered access log).
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

THREADS_PER_WORKER = 16


def gunicorn_command(host: str, port: int, workers: int, timeout_s: int) -> list[str]:
    gunicorn = shutil.which("gunicorn") or str(Path(sys.executable).with_name("gunicorn"))
    return [gunicorn, "--preload", "--workers", str(workers), "--threads", str(THREADS_PER_WORKER),
            "--worker-class", "geo_service.serving.worker.BoundedThreadWorker",
            "--logger-class", "geo_service.serving.access_log.RedactingLogger",
            "--bind", f"{host}:{port}", "--timeout", str(timeout_s), "--graceful-timeout", "30",
            "--keep-alive", "5", "--limit-request-fields", "60", "--access-logfile", "-",
            "geo_service.app:create_app()"]

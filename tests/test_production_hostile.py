"""Attacks on the production server (gunicorn, in its own process): nothing stalls it, nothing is lost.

Each attack runs while a monitor keeps asking /api/health; the health answers
must all come within 2 s, every attack must get its 4xx, and no worker may
grow past the stated memory bound or be replaced.
"""

from __future__ import annotations

import datetime
import http.client
import json
import re
import shutil
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
import uuid

import pytest

from tests import hostile_files as hf
from tests.conftest import BUNDLED_LAYERS, REPO
from tests.production import production_server

TOKEN = "a-long-test-token-0123456789"
WORKER_PEAK_MB = 1024  # stated in the README: one worker's memory under any refused upload
HEALTH_WITHIN_S = 2.0


def post_multipart(url: str, fields: dict, files: dict, headers: dict | None = None) -> tuple[int, dict]:
    boundary = uuid.uuid4().hex
    parts = []
    for name, value in fields.items():
        parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode())
    for name, (data, filename) in files.items():
        parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; filename="{filename}"\r\n'
                     f"Content-Type: application/octet-stream\r\n\r\n".encode() + data + b"\r\n")
    body = b"".join(parts) + f"--{boundary}--\r\n".encode()
    request = urllib.request.Request(url, data=body, method="POST", headers={
        "Content-Type": f"multipart/form-data; boundary={boundary}", **(headers or {})})
    return _send(request)


def _send(request) -> tuple[int, dict]:
    try:
        with urllib.request.urlopen(request, timeout=300) as response:
            return response.status, json.loads(response.read() or b"{}")
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"{}")


def put_raw(url: str, data: bytes, headers: dict) -> tuple[int, dict]:
    return _send(urllib.request.Request(url, data=data, method="PUT", headers=headers))


class HealthMonitor(threading.Thread):
    """Asks /api/health every 0.1 s until stopped; keeps the slowest answer and any failure."""

    def __init__(self, server) -> None:
        super().__init__(daemon=True)
        self.server = server
        self.stop = threading.Event()
        self.slowest = 0.0
        self.failures: list[str] = []
        self.answers = 0

    def run(self) -> None:
        while not self.stop.is_set():
            try:
                status, _, seconds = self.server.get("/api/health", timeout=10)
                self.slowest = max(self.slowest, seconds)
                self.answers += 1
                if status != 200:
                    self.failures.append(f"status {status}")
            except OSError as error:
                self.failures.append(repr(error))
            self.stop.wait(0.1)


@pytest.fixture(scope="module")
def layers_copy(tmp_path_factory):
    target = tmp_path_factory.mktemp("production") / "layers"
    shutil.copytree(BUNDLED_LAYERS, target)
    return target


@pytest.fixture(scope="module")
def server(layers_copy):
    with production_server(layers_copy, workers=2, GEO_SERVICE_TOKEN=TOKEN) as running:
        yield running


def attacks(tmp_path) -> list[tuple[str, callable, int]]:
    """(name, send() -> (status, document), expected status), each built here."""
    auth = {"Authorization": f"Bearer {TOKEN}"}

    def proximity(data, filename):
        return lambda url: post_multipart(f"{url}/api/proximity", {"services": "health_centres"},
                                          {"communities_file": (data, filename)})

    def replace(data, filename):
        def send(url):
            etag = json.loads(urllib.request.urlopen(f"{url}/api/layers/communities").read())["version"]
            return put_raw(f"{url}/api/layers/communities?filename={filename}", data, {**auth, "If-Match": etag})
        return send

    return [
        ("recursive view", proximity(hf.gpkg_with_view(tmp_path), "v.gpkg"), 400),
        ("cross-join view", proximity(hf.gpkg_with_view(tmp_path, recursive=False), "c.gpkg"), 400),
        ("zip bomb (300 MB unpacked)", proximity(hf.zip_bomb(300), "b.zip"), 413),
        ("10,000 sparse properties", proximity(hf.sparse_geojson(10_000, features=100), "s.geojson"), 413),
        ("100,000 properties", proximity(hf.sparse_geojson(100_000, features=1), "p.geojson"), 413),
        ("100,000 CSV columns", proximity(hf.wide_csv(100_000), "w.csv"), 413),
        ("a million points in one feature, zipped", proximity(hf.multipoint_zip(1_000_000), "m.zip"), 413),
        ("2 million CSV rows (22 MB), anonymous", proximity(hf.compact_csv(2_000_000), "r.csv"), 413),
        ("2 million CSV rows (22 MB), token", replace(hf.compact_csv(2_000_000), "r.csv"), 413),
        ("nested 100,000 deep", replace(b"[" * 100_000 + b"]" * 100_000, "n.geojson"), 400),
    ]


def test_hostile_uploads_stall_nothing_and_stay_within_memory(server, layers_copy, tmp_path):
    before = {p.name: p.read_bytes() for p in layers_copy.glob("*.geojson")}
    workers = server.worker_pids()
    monitor = HealthMonitor(server)
    monitor.start()
    cases = attacks(tmp_path)
    results = {name: send(server.url) for name, send, _ in cases}  # one attacker, one request at a time
    monitor.stop.set()
    monitor.join()
    for name, _, expected in cases:
        status, document = results[name]
        assert status == expected, (name, document)
        assert document.get("description") and "/tmp" not in document["description"], name
    assert monitor.failures == [] and monitor.answers > 0
    assert monitor.slowest < HEALTH_WITHIN_S, f"slowest health answer {monitor.slowest:.2f} s"
    peaks = server.peak_rss_mb()
    assert max(peaks.values()) < WORKER_PEAK_MB, peaks
    assert server.worker_pids() == workers  # none killed by a timeout or the OOM killer
    assert {p.name: p.read_bytes() for p in layers_copy.glob("*.geojson")} == before


def test_one_client_runs_one_analysis_at_a_time(server, tmp_path):
    """A burst of uploads from one address: one is worked on, the others are told to come back."""
    data = hf.gpkg_with_view(tmp_path, recursive=False)
    results = []

    def send():
        results.append(post_multipart(f"{server.url}/api/proximity", {"services": "health_centres"},
                                      {"communities_file": (data, "c.gpkg")}))

    threads = [threading.Thread(target=send) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    statuses = sorted(status for status, _ in results)
    assert set(statuses) <= {400, 503} and 400 in statuses, statuses
    busy = [doc for status, doc in results if status == 503]
    assert all("wait for it to finish" in doc["description"] or "try again" in doc["description"] for doc in busy)


def test_slow_clients_hold_no_worker(server):
    """Many connections sending their headers a line every second: others are served at once."""
    slow = []
    for _ in range(len(server.worker_pids()) * 20):  # far more than workers × 2
        connection = socket.create_connection((server.url.split("//")[1].split(":")[0],
                                               int(server.url.rsplit(":", 1)[1])))
        connection.sendall(b"GET /api/health HTTP/1.1\r\nHost: localhost\r\n")
        slow.append(connection)
    stop = threading.Event()

    def trickle():
        while not stop.wait(1.0):
            for connection in slow:
                try:
                    connection.sendall(b"X-Slow: 1\r\n")
                except OSError:
                    pass

    trickler = threading.Thread(target=trickle, daemon=True)
    trickler.start()
    try:
        for _ in range(8):
            for path in ("/api/health", "/layers/border.geojson"):
                status, _, seconds = server.get(path, timeout=10)
                assert status == 200 and seconds < HEALTH_WITHIN_S, (path, seconds)
            time.sleep(0.5)
    finally:
        stop.set()
        trickler.join()
        for connection in slow:
            connection.close()


def _until_closed(connection: socket.socket) -> bytes:
    data = b""
    while chunk := connection.recv(65536):
        data += chunk
    return data


def test_clients_that_never_close_hold_no_worker(server):
    """After an answer that closes the connection while the client may still be sending (here: bytes after its
    request), the server waits up to 2 s for the client to close its end too (so that a late packet cannot reset
    the answer). Clients that never close must not hold a worker meanwhile: gunicorn's own worker waited in its
    event loop, one such client after another."""
    address = (server.url.split("//")[1].split(":")[0], int(server.url.rsplit(":", 1)[1]))
    held = [socket.create_connection(address, timeout=60) for _ in range(len(server.worker_pids()) * 10)]
    try:
        started = time.monotonic()
        for connection in held:
            connection.sendall(b"GET /api/health HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\nmore")
        answers = [_until_closed(connection) for connection in held]  # each ends with the server's FIN
        status, _, seconds = server.get("/api/health", timeout=60)
        elapsed = time.monotonic() - started
    finally:
        for connection in held:
            connection.close()
    assert all(answer.startswith(b"HTTP/1.1 200 ") for answer in answers)
    assert status == 200 and seconds < HEALTH_WITHIN_S, seconds
    # Waiting in turn, the last of each worker's ten answers would come after nine waits of 2 s.
    assert elapsed < 5 * HEALTH_WITHIN_S, f"{len(held)} answers and a health check took {elapsed:.1f} s"


@pytest.mark.parametrize(("request_bytes", "read_body", "closes_at_once"), [
    (b"GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n", False, True),
    (b"GET / HTTP/1.1\r\nHost: a\r\nConnection: Keep-Alive, CLOSE\r\n\r\n", False, True),
    (b"GET / HTTP/1.0\r\n\r\n", False, True),
    (b"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", False, False),  # the server chose to close
    (b"GET / HTTP/1.1\r\nHost: a\r\n\r\n", False, False),
    (b"GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\nGET /next", False, False),  # pipelined
    (b"POST / HTTP/1.1\r\nHost: a\r\nConnection: close\r\nContent-Length: 4\r\n\r\nbody", False, False),
    (b"POST / HTTP/1.1\r\nHost: a\r\nConnection: close\r\nContent-Length: 4\r\n\r\nbody", True, True),
    (b"POST / HTTP/1.1\r\nHost: a\r\nConnection: close\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
     True, False),  # the end of a chunked body is not known from the reader: linger
])
def test_a_connection_is_closed_at_once_only_when_the_client_sends_nothing_more(request_bytes, read_body,
                                                                                closes_at_once):
    """After an answer that ends the connection, the worker closes it outright (as nginx does) only when the
    client asked for the close and its whole request has been read, with nothing after it; otherwise it waits
    for the client's own close (``test_clients_that_never_close_hold_no_worker``)."""
    from types import SimpleNamespace

    from gunicorn import http
    from gunicorn.config import Config

    from geo_service.serving.worker import asked_to_close

    ours, theirs = socket.socketpair()
    with ours, theirs:
        theirs.sendall(request_bytes)
        theirs.shutdown(socket.SHUT_WR)
        parser = http.get_parser(Config(), ours, ("127.0.0.1", 1))
        request = next(parser)
        if read_body:
            request.body.read()
        assert asked_to_close(SimpleNamespace(parser=parser, is_http2=False)) is closes_at_once


def test_chunked_over_limit_upload_is_413_and_the_layer_is_kept(server, layers_copy):
    before = (layers_copy / "communities.geojson").read_bytes()
    etag = json.loads(urllib.request.urlopen(f"{server.url}/api/layers/communities").read())["version"]
    host, port = server.url.split("//")[1].split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=120)
    body = hf.long_csv(3_000_000)  # about 55 MB: over the 51 MB body limit of a token holder
    chunks = (body[i:i + 2**20] for i in range(0, len(body), 2**20))
    try:
        connection.request("PUT", "/api/layers/communities?filename=big.csv", body=chunks, encode_chunked=True,
                           headers={"Authorization": f"Bearer {TOKEN}", "If-Match": etag})
        response = connection.getresponse()
        status, document = response.status, json.loads(response.read())
    except (BrokenPipeError, ConnectionResetError):
        pytest.fail("the server closed the connection instead of answering 413")
    finally:
        connection.close()
    assert status == 413 and document["code"] == "PayloadTooLarge", document
    assert (layers_copy / "communities.geojson").read_bytes() == before


def test_a_token_in_the_url_is_refused_and_never_logged(server):
    status, body, _ = server.get(f"/api/layers?token={TOKEN}")
    assert status == 400 and b"Authorization" in body
    time.sleep(0.2)  # the access log line is written after the response; wait for it below
    deadline = time.monotonic() + 10
    while "token=[redacted]" not in server.output() and time.monotonic() < deadline:
        time.sleep(0.1)
    log = server.output()
    assert "token=[redacted]" in log and TOKEN not in log


def _access_logger(logger_class, path, log_format: str | None = None, monkeypatch=None):
    """A gunicorn Logger writing the access log to ``path``; with ``monkeypatch``, the log has only that
    handler for the test (it is one logging.Logger for the process, to which pytest adds its own)."""
    from gunicorn.config import Config

    config = Config()
    config.set("accesslog", str(path))
    if log_format:
        config.set("access_log_format", log_format)
    logger = logger_class(config)
    if monkeypatch is not None:
        monkeypatch.setattr(logger.access_log, "handlers",
                            [h for h in logger.access_log.handlers if getattr(h, "_gunicorn", False)])
    return logger


def _log_one(logger) -> None:
    """One request, as gunicorn's worker hands it to the access log."""
    from types import SimpleNamespace

    environ = {"REQUEST_METHOD": "GET", "RAW_URI": f"/api/layers?token={TOKEN}&x=1", "PATH_INFO": "/api/layers",
               "QUERY_STRING": f"token={TOKEN}&x=1", "SERVER_PROTOCOL": "HTTP/1.1", "REMOTE_ADDR": "10.1.2.3",
               "HTTP_REFERER": "http://example.invalid/carte", "HTTP_USER_AGENT": 'QGIS/32200 "quoted"',
               "HTTP_AUTHORIZATION": "Basic YWdlbnQ6c2VjcmV0", "wsgi.input": object(), "HTTP_X_SEEN": "yes"}
    response = SimpleNamespace(status="400 BAD REQUEST", sent=231, headers=[("Content-Type", "application/json")])
    request = SimpleNamespace(headers=[("USER-AGENT", environ["HTTP_USER_AGENT"]), ("X-SEEN", "yes")])
    logger.access(response, request, environ, datetime.timedelta(microseconds=2500))


def _without_times(path) -> str:
    return re.sub(r"\[\d{2}/\w{3}/\d{4}:[\d:]+ [+-]\d{4}\]", "[time]", path.read_text(encoding="utf-8"))


def _access_lines(logger_class, tmp_path, log_format: str | None = None, count: int = 1) -> str:
    """The access log lines ``logger_class`` writes for ``count`` requests, the time stamps left out."""
    path = tmp_path / f"{logger_class.__name__}-{uuid.uuid4().hex}.log"
    logger = _access_logger(logger_class, path, log_format)
    for _ in range(count):
        _log_one(logger)
    logger.close_on_exec()
    for handler in logger.access_log.handlers:
        handler.close()
    return _without_times(path)


FORMATS = [None, '%(h)s "%(r)s" %({x-seen}i)s %({user-agent}i)s %(D)s %({content-type}o)s']


@pytest.mark.parametrize("log_format", FORMATS)
def test_the_access_log_is_gunicorn_s_with_tokens_redacted(tmp_path, log_format):
    from gunicorn.glogging import Logger

    from geo_service.serving.access_log import RedactingLogger

    ours, stock = _access_lines(RedactingLogger, tmp_path, log_format), _access_lines(Logger, tmp_path, log_format)
    assert TOKEN in stock and TOKEN not in ours
    assert ours == stock.replace(TOKEN, "[redacted]") and ours.count("\n") == 1
    assert ("agent" in ours) is (log_format is None) and ('\\"quoted\\"' in ours)
    assert ("application/json" in ours) is (log_format is not None)


@pytest.mark.parametrize("log_format", FORMATS)
def test_a_worker_s_access_log_lines_are_written_together(tmp_path, log_format, monkeypatch):
    """In a worker, lines are kept, then written by its event loop once a second, or at once when
    ``ACCESS_FLUSH_LINES`` are waiting: the same lines as gunicorn's own, in order."""
    from gunicorn.glogging import Logger

    from geo_service.serving import access_log

    monkeypatch.setattr(access_log, "ACCESS_FLUSH_LINES", 5)
    # first: each gunicorn Logger sets its own handler on the process's one access log
    stock = _access_lines(Logger, tmp_path, log_format, count=1).replace(TOKEN, "[redacted]")
    path = tmp_path / "access.log"
    logger = _access_logger(access_log.RedactingLogger, path, log_format, monkeypatch)
    assert logger.buffer_access()
    for _ in range(3):
        _log_one(logger)
    logger.flush_access(time.monotonic())  # less than a second since the last write, and only 3 lines
    assert path.read_text() == ""
    logger.flush_access(time.monotonic() + access_log.ACCESS_FLUSH_S)
    assert _without_times(path) == stock * 3
    for _ in range(5):
        _log_one(logger)
    logger.flush_access(time.monotonic())  # not a second yet, but 5 lines
    assert _without_times(path) == stock * 8
    for handler in logger.access_log.handlers:
        handler.close()


def test_a_worker_s_access_log_is_written_before_it_exits(tmp_path):
    from gunicorn.glogging import Logger

    path = tmp_path / "access.log"
    code = ("import sys; from tests.test_production_hostile import _access_logger, _log_one; "
            "from geo_service.serving.access_log import RedactingLogger; "
            "logger = _access_logger(RedactingLogger, sys.argv[1]); assert logger.buffer_access(); _log_one(logger)")
    subprocess.run([sys.executable, "-c", code, str(path)], check=True, cwd=REPO, timeout=120)
    assert _without_times(path) == _access_lines(Logger, tmp_path).replace(TOKEN, "[redacted]")


def test_an_access_log_of_other_handlers_is_written_at_once(tmp_path, monkeypatch):
    """A log configuration of one's own (syslog, JSON, a queue): each request is its record, at once."""
    import logging.handlers
    import queue

    from geo_service.serving.access_log import RedactingLogger

    logger = _access_logger(RedactingLogger, tmp_path / "access.log")
    records = queue.SimpleQueue()
    monkeypatch.setattr(logger.access_log, "handlers", [logging.handlers.QueueHandler(records)])  # a shared logger
    assert not logger.buffer_access()
    _log_one(logger)
    assert "[redacted]" in records.get_nowait().getMessage()


def test_one_broken_layer_under_a_running_server(tmp_path):
    layers = tmp_path / "layers"
    shutil.copytree(BUNDLED_LAYERS, layers)
    with production_server(layers, workers=2) as running:
        assert running.get("/api/health")[0] == 200
        (layers / "rivers.geojson").unlink()
        communities = layers / "communities.geojson"
        communities.write_bytes(communities.read_bytes()[:1000])
        status, body, _ = running.get("/api/health")
        assert status == 503
        assert set(json.loads(body)["unavailable"]) == {"rivers", "communities"}
        for path in ("/", "/?lang=fr", "/proximity", "/api/layers", "/ogc/collections", "/ogc/api",
                     "/ogc/collections/border/items", "/layers/health_centres.geojson", "/layers/border.gpkg"):
            for _ in range(4):  # every worker
                assert running.get(path)[0] == 200, path
        assert running.get("/layers/rivers.geojson")[0] == 503

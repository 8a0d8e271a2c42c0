"""Bounded load test of the production server (gunicorn) on loopback: mixed requests, fixed duration.

    .venv/bin/python bench/load_test.py [--seconds 30] [--connections 4] [--workers 2] [--hostile]

Serves a temporary copy of the bundled layers with ``geo-service serve --production``
on 127.0.0.1 and drives it with wrk, which rotates through: the map page, a map asset,
a layer's GeoJSON, CSV and GeoPackage downloads, OGC items (a page, a bbox query, one
feature) and the proximity API. Reports throughput, p50/p99 latency, errors (non-2xx
answers and socket errors), whether any worker died or restarted, and each worker's
memory (RSS) sampled every second: start, end and peak.

With ``--hostile`` the same normal mix runs twice on one server, first quiet,
then beside hostile traffic from other threads: oversized and bomb uploads
(a recursive GeoPackage view, a zip bomb, sparse and wide files, a 22 MB CSV
of 2 million rows) sent one after another, and slow clients holding 100
connections that send a header line every second. The figures of the normal
requests are compared (goal: p99 at most 2× the quiet run, no normal error, no
worker killed); the hostile requests' answers are counted by status.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import click

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from tests import hostile_files  # noqa: E402  (the same hostile files the tests build)
PATHS = [
    "/",
    "/assets/leaflet/dist/leaflet.js",
    "/layers/health_centres.geojson?precision=6",
    "/layers/communities.csv",
    "/layers/border.gpkg",
    "/ogc/collections/health_centres/items?limit=50",
    "/ogc/collections/health_centres/items?bbox=-12.5,14,-12,14.8&limit=100",
    "/ogc/collections/communities/items/geonames_2249892",
    "/api/proximity?communities=communities&services=health_centres",
]
LUA = """
local paths = {%s}
local i = 0
request = function()
  i = i + 1
  return wrk.format("GET", paths[(i %% #paths) + 1])
end
""" % ", ".join(f'"{p}"' for p in PATHS)


def children(pid: int) -> list[int]:
    try:
        return sorted(int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split())
    except FileNotFoundError:
        return []


def rss_mb(pid: int) -> float:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return float("nan")
    return int(re.search(r"VmRSS:\s+(\d+) kB", status).group(1)) / 1024


def wait_for(url: str, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except OSError:
            time.sleep(0.3)
    raise SystemExit(f"{url} did not answer")


def run_wrk(base: str, script: Path, seconds: int, connections: int) -> dict:
    out = subprocess.run(["wrk", "-t", str(min(connections, 2)), "-c", str(connections), "-d", f"{seconds}s",
                          "--latency", "-s", str(script), base + "/"], capture_output=True, text=True,
                         check=True).stdout

    def millis(label: str) -> float:
        value, unit = re.search(rf"^\s+{label}%\s+([\d.]+)(us|ms|s)\s*$", out, re.M).groups()
        return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]

    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    socket_errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    return {"requests": int(re.search(r"(\d+) requests in", out).group(1)),
            "throughput": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),
            "p50": millis("50"), "p99": millis("99"),
            "errors": (int(non_2xx.group(1)) if non_2xx else 0)
            + (sum(int(v) for v in socket_errors.groups()) if socket_errors else 0)}


class Hostile:
    """Hostile traffic in background threads until stopped: bad uploads in turn, and slow clients."""

    def __init__(self, base: str, tmp: Path, slow_clients: int = 100) -> None:
        self.base = base
        self.stop = threading.Event()
        self.statuses: dict[str, dict[int, int]] = {}
        self.slow_clients = slow_clients
        self.slow_dropped = 0
        self.uploads = [
            ("recursive view", hostile_files.gpkg_with_view(tmp), "v.gpkg"),
            ("zip bomb", hostile_files.zip_bomb(300), "b.zip"),
            ("sparse GeoJSON", hostile_files.sparse_geojson(10_000, features=100), "s.geojson"),
            ("100,000 columns", hostile_files.wide_csv(100_000), "w.csv"),
            ("22 MB CSV", hostile_files.compact_csv(2_000_000), "r.csv"),
            ("a million points", hostile_files.multipoint_zip(1_000_000), "m.zip"),
        ]
        self.threads = [threading.Thread(target=self._upload, daemon=True),
                        threading.Thread(target=self._slow, daemon=True)]

    def __enter__(self) -> "Hostile":
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop.set()
        for thread in self.threads:
            thread.join()

    def _upload(self) -> None:
        import uuid
        while not self.stop.is_set():
            for name, data, filename in self.uploads:
                boundary = uuid.uuid4().hex
                body = (f'--{boundary}\r\nContent-Disposition: form-data; name="services"\r\n\r\nhealth_centres\r\n'
                        f'--{boundary}\r\nContent-Disposition: form-data; name="communities_file"; '
                        f'filename="{filename}"\r\n\r\n').encode() + data + f"\r\n--{boundary}--\r\n".encode()
                request = urllib.request.Request(self.base + "/api/proximity", data=body, method="POST", headers={
                    "Content-Type": f"multipart/form-data; boundary={boundary}"})
                try:
                    with urllib.request.urlopen(request, timeout=120) as response:
                        status = response.status
                except urllib.error.HTTPError as error:
                    status = error.code
                except OSError:
                    status = 0  # connection closed: counted apart
                counts = self.statuses.setdefault(name, {})
                counts[status] = counts.get(status, 0) + 1
                if self.stop.is_set():
                    return

    def _slow(self) -> None:
        import socket
        host, port = self.base.split("//")[1].split(":")
        held: list = []
        while not self.stop.wait(1.0):
            while len(held) < self.slow_clients:
                connection = socket.create_connection((host, int(port)))
                connection.sendall(b"GET /api/health HTTP/1.1\r\nHost: localhost\r\n")
                held.append(connection)
            for connection in list(held):
                try:
                    connection.sendall(b"X-Slow: 1\r\n")
                except OSError:  # cut off by the server's deadline on request heads: open another
                    self.slow_dropped += 1
                    held.remove(connection)
                    connection.close()
        for connection in held:
            connection.close()


@click.command()
@click.option("--seconds", default=30, show_default=True, help="Duration of the load (each run).")
@click.option("--connections", default=4, show_default=True, help="Concurrent connections of the normal mix.")
@click.option("--workers", default=2, show_default=True, help="gunicorn worker processes.")
@click.option("--port", default=5311, show_default=True)
@click.option("--hostile", is_flag=True, help="Run the normal mix again beside hostile traffic and compare.")
def main(seconds: int, connections: int, workers: int, port: int, hostile: bool) -> None:
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is needed: apt-get install wrk")
    with tempfile.TemporaryDirectory() as tmp:
        layers = Path(tmp) / "layers"
        shutil.copytree(ROOT / "layers", layers)
        script = Path(tmp) / "mix.lua"
        script.write_text(LUA, encoding="utf-8")
        server = subprocess.Popen([str(Path(sys.executable).with_name("geo-service")), "--layers-dir", str(layers),
                                   "serve", "--production", "--workers", str(workers), "--port", str(port)],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                                  env={**os.environ, "GEO_SERVICE_LAYERS_DIR": str(layers)})
        base = f"http://127.0.0.1:{port}"
        runs: dict[str, dict] = {}
        try:
            wait_for(base + "/api/health")
            for path in PATHS:  # warm every worker's caches a little and check each request works
                with urllib.request.urlopen(base + path, timeout=30) as response:
                    assert response.status == 200, path
            pids = children(server.pid)
            samples: dict[int, list[float]] = {pid: [] for pid in pids}
            stop = threading.Event()

            def sample() -> None:
                while not stop.is_set():
                    for pid in pids:
                        samples[pid].append(rss_mb(pid))
                    stop.wait(1.0)

            sampler = threading.Thread(target=sample, daemon=True)
            sampler.start()
            runs["quiet"] = run_wrk(base, script, seconds, connections)
            attack = None
            if hostile:
                with Hostile(base, Path(tmp)) as attack:
                    time.sleep(2)  # the slow clients are connected before the measurement starts
                    runs["hostile"] = run_wrk(base, script, seconds, connections)
            stop.set()
            sampler.join()
            after = children(server.pid)
        finally:
            server.terminate()
            _, log = server.communicate(timeout=30)

    click.echo(f"{seconds} s a run, {connections} connections, {workers} gunicorn workers × 16 threads, "
               f"{len(PATHS)} request kinds in turn")
    click.echo("| run | requests | throughput (req/s) | p50 (ms) | p99 (ms) | errors |")
    click.echo("|---|---|---|---|---|---|")
    for name, figures in runs.items():
        click.echo(f"| {name} | {figures['requests']:,} | {figures['throughput']:.1f} | {figures['p50']:.1f} | "
                   f"{figures['p99']:.1f} | {figures['errors']} |")
    if "hostile" in runs:
        click.echo(f"normal p99 beside hostile traffic: {runs['hostile']['p99'] / runs['quiet']['p99']:.2f}× the "
                   "quiet run (goal: at most 2×)")
        for name, counts in attack.statuses.items():
            click.echo(f"  hostile {name}: " + ", ".join(f"{n} × {status}" for status, n in sorted(counts.items())))
        click.echo(f"  slow clients: {attack.slow_clients} held open; {attack.slow_dropped} cut off by the head "
                   "deadline and reopened")
    # A worker that died is replaced under a new pid; "Worker exiting" also appears at the normal shutdown.
    crashed = set(pids) != set(after) or "WORKER TIMEOUT" in log or "SIGKILL" in log
    click.echo(f"workers: {'restarted or died' if crashed else 'same processes throughout, none died'}")
    for pid, values in samples.items():
        thirds = [values[min(len(values) - 1, i * len(values) // 3)] for i in range(3)] + [values[-1]]
        click.echo(f"  worker {pid}: RSS at 0, 1/3, 2/3, end: {', '.join(f'{v:.0f}' for v in thirds)} MB; "
                   f"peak {max(values):.0f} MB ({len(values)} samples)")


if __name__ == "__main__":
    main()

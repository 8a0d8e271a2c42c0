"""Bounded load test of the production server (gunicorn) on loopback: mixed requests, fixed duration.

    .venv/bin/python bench/load_test.py [--seconds 30] [--connections 4] [--workers 2]

Serves a temporary copy of the bundled layers with ``geo-service serve --production``
on 127.0.0.1 and drives it with wrk, which rotates through: the map page, a map asset,
a layer's GeoJSON, CSV and GeoPackage downloads, OGC items (a page, a bbox query, one
feature) and the proximity API. Reports throughput, p50/p99 latency, errors (non-2xx
answers and socket errors), whether any worker died or restarted, and each worker's
memory (RSS) sampled every second: start, end and peak.
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
import urllib.request
from pathlib import Path

import click

ROOT = Path(__file__).resolve().parent.parent
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


@click.command()
@click.option("--seconds", default=30, show_default=True, help="Duration of the load.")
@click.option("--connections", default=4, show_default=True, help="Concurrent connections.")
@click.option("--workers", default=2, show_default=True, help="gunicorn worker processes.")
@click.option("--port", default=5311, show_default=True)
def main(seconds: int, connections: int, workers: int, port: int) -> None:
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
            out = subprocess.run(["wrk", "-t", str(min(connections, 2)), "-c", str(connections), "-d", f"{seconds}s",
                                  "--latency", "-s", str(script), base + "/"], capture_output=True, text=True,
                                 check=True).stdout
            stop.set()
            sampler.join()
            after = children(server.pid)
        finally:
            server.terminate()
            _, log = server.communicate(timeout=30)

    def millis(label: str) -> float:
        value, unit = re.search(rf"^\s+{label}%\s+([\d.]+)(us|ms|s)\s*$", out, re.M).groups()
        return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]

    requests = int(re.search(r"(\d+) requests in", out).group(1))
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    socket = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    click.echo(f"{seconds} s, {connections} connections, {workers} gunicorn workers, {len(PATHS)} request kinds in turn")
    throughput = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    click.echo(f"requests: {requests:,}; throughput {throughput:.1f} req/s; "
               f"latency p50 {millis('50'):.1f} ms, p99 {millis('99'):.1f} ms")
    click.echo(f"errors: non-2xx {int(non_2xx.group(1)) if non_2xx else 0}, socket "
               f"{sum(int(v) for v in socket.groups()) if socket else 0}")
    # A worker that died is replaced under a new pid; "Worker exiting" also appears at the normal shutdown.
    crashed = set(pids) != set(after) or "WORKER TIMEOUT" in log
    click.echo(f"workers: {'restarted or died' if crashed else 'same processes throughout, none died'}")
    for pid, values in samples.items():
        thirds = [values[min(len(values) - 1, i * len(values) // 3)] for i in range(3)] + [values[-1]]
        click.echo(f"  worker {pid}: RSS at 0, 1/3, 2/3, end: {', '.join(f'{v:.0f}' for v in thirds)} MB; "
                   f"peak {max(values):.0f} MB ({len(values)} samples)")


if __name__ == "__main__":
    main()

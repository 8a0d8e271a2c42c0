"""Cold start of the production server: from launching `serve --production --workers 2` to the first answer
of an items page of a layer (the time a restarted host takes to serve again), N runs, median. Issue 12's
goals, for a 1M point layer: 2 s on files, 1 s on PostGIS.

The items page is asked for every 10 ms from the launch (refused connections retried), so the figure is the
server's own, not a health check's polling interval.

    .venv/bin/python bench/cold_start.py LAYERS_DIR LAYER_ID [--runs 5] [--database-url URL]

Run it with PYTHONPATH set to another checkout to measure that code on the same machine in the same session.
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def first_answer(layers: Path, layer: str, database_url: str | None) -> tuple[float, float]:
    """Seconds from launch to the first items page answered, and that request's own time."""
    port = _free_port()
    env = {**os.environ, "GEO_SERVICE_LAYERS_DIR": str(layers)}
    if database_url:
        env["GEO_SERVICE_DATABASE_URL"] = database_url
    command = [str(Path(sys.executable).with_name("geo-service")), "serve", "--production", "--host", "127.0.0.1",
               "--port", str(port), "--workers", "2"]
    url = f"http://127.0.0.1:{port}/ogc/collections/{layer}/items?limit=10"
    started = time.monotonic()
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        while True:
            if process.poll() is not None:
                raise SystemExit(f"the server stopped (exit {process.returncode})")
            asked = time.monotonic()
            try:
                with urllib.request.urlopen(url, timeout=600) as response:
                    assert response.status == 200
                    response.read()
                    done = time.monotonic()
                    return done - started, done - asked
            except (ConnectionRefusedError, urllib.error.URLError) as exc:
                if isinstance(exc, urllib.error.HTTPError):
                    raise
                time.sleep(0.01)
    finally:
        process.terminate()
        process.wait(30)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("layers", type=Path)
    parser.add_argument("layer")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--database-url", default=None, help="serve from PostGIS (loaded beforehand: db init)")
    args = parser.parse_args()
    totals, firsts = [], []
    for _ in range(args.runs):
        total, first = first_answer(args.layers, args.layer, args.database_url)
        totals.append(total)
        firsts.append(first)
    backend = "PostGIS" if args.database_url else "files"
    print(f"{backend}: launch to first items page of {args.layer}: median {statistics.median(totals):.2f} s of "
          f"{args.runs} (runs {', '.join(f'{t:.2f}' for t in totals)}); the answering request itself: median "
          f"{statistics.median(firsts) * 1000:.0f} ms")


if __name__ == "__main__":
    main()

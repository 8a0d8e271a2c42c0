"""Throughput and latency of our OGC API – Features against pygeoapi 0.21, on the same layer and load.

    .venv/bin/python bench/ogc_vs_pygeoapi.py [--workers 2] [--seconds 10] [--connections 4]

Both services serve the same generated layer (5,000 points with a few
properties in the border area, seeded) on 127.0.0.1 under gunicorn with the
same number of worker processes. pygeoapi is installed in its own virtual
environment (bench/.venv-pygeoapi, made on first run). wrk drives each with
the same bounded load (fixed duration and connection count) on three
requests: /items?limit=1000, a bbox query, a single feature. Prints requests
per second, p50/p99 latency and the ratio ours/pygeoapi for each.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import click
import numpy as np

ROOT = Path(__file__).resolve().parent.parent
PYGEOAPI_VENV = ROOT / "bench" / ".venv-pygeoapi"
PYGEOAPI_VERSION = "0.21.0"
BBOX = "-12.4,13.8,-11.6,14.6"
COUNT = 5000


def write_layer(directory: Path) -> Path:
    rng = np.random.default_rng(20250220)
    lon, lat = rng.uniform(-13.0, -10.5, COUNT), rng.uniform(12.0, 15.5, COUNT)
    features = [{
        "type": "Feature", "id": f"p{i}",
        "properties": {"id": f"p{i}", "name": f"Point {i}", "country": "ML" if x > -12.2 else "SN",
                       "population": int(rng.integers(100, 50000)), "source": "synthetic (bench)"},
        "geometry": {"type": "Point", "coordinates": [round(float(x), 6), round(float(y), 6)]},
    } for i, (x, y) in enumerate(zip(lon, lat))]
    path = directory / "points.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}), encoding="utf-8")
    catalogue = {"catalogue_version": 1, "layers": [{
        "id": "points", "title": {"en": "Points", "fr": "Points"},
        "description": {"en": "Synthetic benchmark points", "fr": "Points synthétiques"},
        "geometry_type": "Point", "licence": "CC0-1.0", "attribution": "synthetic",
        "sources": [{"name": "bench", "citation": "bench/ogc_vs_pygeoapi.py", "licence": "CC0-1.0"}],
        "method": "generated", "updated": "2026-01-01", "style": {"color": "#000000"}}]}
    (directory / "catalogue.json").write_text(json.dumps(catalogue), encoding="utf-8")
    return path


def ensure_pygeoapi() -> Path:
    python = PYGEOAPI_VENV / "bin" / "python"
    if not python.exists():
        click.echo(f"creating {PYGEOAPI_VENV} with pygeoapi {PYGEOAPI_VERSION} …")
        subprocess.run([sys.executable, "-m", "venv", str(PYGEOAPI_VENV)], check=True)
        subprocess.run([str(python), "-m", "pip", "install", "-q", f"pygeoapi=={PYGEOAPI_VERSION}", "gunicorn"],
                       check=True)
    return PYGEOAPI_VENV / "bin"


def pygeoapi_config(directory: Path, data: Path, port: int) -> Path:
    url = "https://example.org"
    config = f"""
server:
  bind: {{host: 127.0.0.1, port: {port}}}
  url: http://127.0.0.1:{port}
  mimetype: application/json; charset=UTF-8
  encoding: utf-8
  languages: [en-US]
  limits: {{default_items: 10, max_items: 10000}}
  map: {{url: "https://tile.openstreetmap.org/{{z}}/{{x}}/{{y}}.png", attribution: OpenStreetMap}}
logging: {{level: ERROR}}
metadata:
  identification: {{title: bench, description: bench, keywords: [bench], keywords_type: theme,
                    terms_of_service: {url}, url: {url}}}
  license: {{name: CC0, url: {url}}}
  provider: {{name: bench, url: {url}}}
  contact: {{name: bench, position: bench, address: x, city: x, stateorprovince: x, postalcode: x, country: x,
            phone: x, fax: x, email: bench@example.org, url: {url}, hours: x, instructions: x, role: pointOfContact}}
resources:
  points:
    type: collection
    title: points
    description: synthetic benchmark points
    keywords: [points]
    links: []
    extents:
      spatial: {{bbox: [-13, 11.5, -10, 16], crs: "http://www.opengis.net/def/crs/OGC/1.3/CRS84"}}
    providers:
      - {{type: feature, name: GeoJSON, data: {data}, id_field: id}}
"""
    path = directory / "pygeoapi.yml"
    path.write_text(config, encoding="utf-8")
    return path


def wait_for(url: str, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.3)
    raise SystemExit(f"server at {url} did not start")


def fetch_json(url: str) -> dict:
    with urllib.request.urlopen(url, timeout=60) as response:
        return json.load(response)


# A different bbox on every request: no response cache can help (seeded, so both services see the same list).
RANDOM_BBOX_LUA = """
math.randomseed(7)
request = function()
  local x = -13.0 + math.random() * 2.0
  local y = 12.0 + math.random() * 3.0
  return wrk.format("GET", string.format("%s/collections/points/items?f=json&limit=1000&bbox=%.5f,%.5f,%.5f,%.5f",
                                         os.getenv("PREFIX"), x, y, x + 0.8, y + 0.8))
end
"""


def run_wrk(url: str, seconds: int, connections: int, script: Path | None = None, prefix: str = "") -> dict:
    cmd = ["wrk", "-t", str(min(connections, 2)), "-c", str(connections), "-d", f"{seconds}s", "--latency"]
    if script is not None:
        cmd += ["-s", str(script)]
    out = subprocess.run(cmd + [url], capture_output=True, text=True, check=True,
                         env={**os.environ, "PREFIX": prefix}).stdout

    def millis(label: str) -> float:
        value, unit = re.search(rf"^\s+{label}%\s+([\d.]+)(us|ms|s)\s*$", out, re.M).groups()
        return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]

    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return {"rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)), "p50_ms": millis("50"),
            "p99_ms": millis("99"), "non_2xx": int(errors.group(1)) if errors else 0}


def start(cmd: list[str], env: dict) -> subprocess.Popen:
    return subprocess.Popen(cmd, env={**os.environ, **env}, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


@click.command()
@click.option("--workers", default=2, show_default=True, help="gunicorn worker processes for each service.")
@click.option("--seconds", default=10, show_default=True, help="Duration of each wrk run.")
@click.option("--connections", default=4, show_default=True, help="Concurrent connections.")
def main(workers: int, seconds: int, connections: int) -> None:
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is needed: apt-get install wrk")
    pygeoapi_bin = ensure_pygeoapi()
    ours_bin = Path(sys.executable).parent
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp)
        data = write_layer(directory)
        config = pygeoapi_config(directory, data, 5302)
        openapi = directory / "openapi.yml"
        env = {"PYGEOAPI_CONFIG": str(config), "PYGEOAPI_OPENAPI": str(openapi)}
        subprocess.run([str(pygeoapi_bin / "pygeoapi"), "openapi", "generate", str(config),
                        "--output-file", str(openapi)], env={**os.environ, **env}, check=True,
                       capture_output=True)
        servers = {
            "geo-service": start([str(ours_bin / "gunicorn"), "-w", str(workers), "-b", "127.0.0.1:5301",
                                  "geo_service.app:create_app()"], {"GEO_SERVICE_LAYERS_DIR": str(directory)}),
            "pygeoapi": start([str(pygeoapi_bin / "gunicorn"), "-w", str(workers), "-b", "127.0.0.1:5302",
                               "pygeoapi.flask_app:APP"], env),
        }
        hosts = {"geo-service": ("http://127.0.0.1:5301", "/ogc"), "pygeoapi": ("http://127.0.0.1:5302", "")}
        bases = {name: host + prefix for name, (host, prefix) in hosts.items()}
        try:
            for name, base in bases.items():
                wait_for(f"{base}/collections/points/items?limit=1&f=json")
            paths = {
                "items limit=1000": "/collections/points/items?f=json&limit=1000",
                "bbox query": f"/collections/points/items?f=json&limit=1000&bbox={BBOX}",
                "single feature": "/collections/points/items/p1234?f=json",
            }
            for label, path in paths.items():  # both must answer the same before we time them
                answers = [fetch_json(base + path) for base in bases.values()]
                counts = [len(a["features"]) if "features" in a else a["id"] for a in answers]
                if counts[0] != counts[1]:
                    raise SystemExit(f"{label}: the services disagree ({counts})")
                click.echo(f"{label}: both return {counts[0]}{' features' if isinstance(counts[0], int) else ''}")
            click.echo(f"\n{workers} workers each, {connections} connections, {seconds} s per run (wrk)\n")
            click.echo(f"{'query':18} {'service':12} {'req/s':>10} {'p50 ms':>9} {'p99 ms':>9} {'non-2xx':>8}")
            for label, path in paths.items():
                results = {name: run_wrk(base + path, seconds, connections) for name, base in bases.items()}
                for name, r in results.items():
                    click.echo(f"{label:18} {name:12} {r['rps']:10.1f} {r['p50_ms']:9.2f} {r['p99_ms']:9.2f} "
                               f"{r['non_2xx']:8d}")
                ratio = results["geo-service"]["rps"] / results["pygeoapi"]["rps"]
                click.echo(f"{label:18} {'ratio':12} {ratio:9.1f}x\n")
            script = directory / "random_bbox.lua"
            script.write_text(RANDOM_BBOX_LUA, encoding="utf-8")
            label = "random bbox"
            results = {name: run_wrk(host + "/", seconds, connections, script, prefix=prefix)
                       for name, (host, prefix) in hosts.items()}
            for name, r in results.items():
                click.echo(f"{label:18} {name:12} {r['rps']:10.1f} {r['p50_ms']:9.2f} {r['p99_ms']:9.2f} "
                           f"{r['non_2xx']:8d}")
            click.echo(f"{label:18} {'ratio':12} {results['geo-service']['rps'] / results['pygeoapi']['rps']:9.1f}x"
                       "  (every request different: no response cache)")
        finally:
            for process in servers.values():
                process.terminate()
                process.wait(10)


if __name__ == "__main__":
    main()

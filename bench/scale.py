"""National-size layers on both store backends: the production server (gunicorn, 2 workers) on a synthetic
point layer of N features, files backend and PostGIS side by side in one run.

    .venv/bin/python bench/scale.py [--sizes 10000,100000,1000000] [--requests 300] [--imports]
    .venv/bin/python bench/scale.py --shape polygons --sizes 2000

Per backend and size it prints: loading the layer (files: the store's atomic GeoJSON write, as `layers
import` ends; PostGIS: `db init`'s load of that file: parse, COPY, index), the time from starting the
server to the first answer of an items page of the big layer (cold), each worker's resident memory after
the run, the median and p99 latency and throughput of varied items pages (offsets across the layer), bbox
queries, a deep offset and features by id (4 client threads; each request is a different one, so the
response cache does not answer them), the full GeoJSON download (first and second time), a z8 tile (cold,
then warm), and `layers import` of the layer's GeoJSON as a new layer. Then the same workload on QGIS
Server 3.22 (Debian's qgis-server: two qgis_mapserver processes on a GeoPackage of the layer written by
`ogr2ogr`; bench/qgis_server.py; a dash where it has no figure or is not installed). The points are seeded
random positions over the border area with 12 properties (integers, reals, text, a boolean). PostgreSQL is
a throwaway cluster started here (tests/pg_cluster.py). With ``--imports`` it measures only how the layer
gets in (store write, `db init`, `layers import` on both backends with its peak memory, ``ogr2ogr``).

Goals (issue 12), for the 1M layer: cold first request <= 2 s and <= 400 MB a worker on files, <= 1 s and
<= 200 MB on PostGIS; a z8 tile <= 50 ms warm; warm items and bbox at least as fast as before; `layers
import` <= 30 s.
"""

from __future__ import annotations

import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import click
import geopandas as gpd
import numpy as np
import shapely

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from geo_service.store import LayerStore  # noqa: E402
from bench import qgis_server  # noqa: E402
from tests.conftest import BUNDLED_LAYERS, catalogue_entry  # noqa: E402
from tests.pg_cluster import Cluster  # noqa: E402
from tests.production import production_server  # noqa: E402

WEST, SOUTH, EAST, NORTH = -12.8, 12.3, -10.6, 15.2
QGIS_BUDGET_S = 60  # per kind of request on QGIS Server, whose deep offsets take seconds each at 1M


VERTICES = 500  # of each polygon of the polygon layer


def polygons(rng: np.random.Generator, count: int) -> np.ndarray:
    """``count`` star-shaped polygons of ``VERTICES`` positions (the ring closed) around random centres,
    0.01-0.05 degrees across, their angles increasing (counter-clockwise, as RFC 7946 wants)."""
    angles = np.sort(rng.uniform(0, 2 * np.pi, (count, VERTICES - 1)), axis=1)
    radii = rng.uniform(0.005, 0.025, (count, 1)) * rng.uniform(0.6, 1.0, (count, VERTICES - 1))
    centres = np.column_stack([rng.uniform(WEST + 0.03, EAST - 0.03, count), rng.uniform(SOUTH + 0.03, NORTH - 0.03, count)])
    ring = np.stack([centres[:, :1] + radii * np.cos(angles), centres[:, 1:] + radii * np.sin(angles)], axis=2)
    return shapely.polygons(np.concatenate([ring, ring[:, :1]], axis=1))


def synthetic(count: int, seed: int = 12, shape: str = "points") -> gpd.GeoDataFrame:
    """The bench layer: ``count`` seeded random points (or polygons) over the border area, 12 properties."""
    rng = np.random.default_rng(seed)
    if shape == "polygons":
        geometry = polygons(rng, count)
    else:
        geometry = gpd.points_from_xy(rng.uniform(WEST, EAST, count), rng.uniform(SOUTH, NORTH, count))
    frame = gpd.GeoDataFrame({
        "id": [f"p{i}" for i in range(count)],
        "name": [f"Point {i}" for i in range(count)],
        "country": rng.choice(["ML", "SN"], count),
        "population": rng.integers(50, 20000, count),
        "households": rng.integers(5, 3000, count),
        "distance_km": rng.uniform(0, 120, count).round(2),
        "elevation_m": rng.uniform(20, 600, count).round(1),
        "surveyed": rng.random(count) < 0.5,
        "source": "bench/scale.py synthetic points",
        "category": rng.choice(["village", "hamlet", "camp"], count),
        "code": [f"C{i % 997:03d}" for i in range(count)],
        "year": rng.integers(1990, 2026, count),
    }, geometry=geometry, crs="EPSG:4326")
    return frame


def timed(server, paths: list[str], threads: int = 4, budget_s: float | None = None) -> dict:
    """Send ``paths`` from ``threads`` clients; with ``budget_s``, the requests not started by then are left
    out (a server taking seconds a request would otherwise hold the run for an hour)."""
    started = time.monotonic()

    def one(path):
        if budget_s is not None and time.monotonic() - started > budget_s:
            return None
        status, body, seconds = server.get(path, timeout=300)
        assert status == 200, (path, status, body[:300])
        return seconds

    with ThreadPoolExecutor(threads) as pool:
        times = sorted(t for t in pool.map(one, paths) if t is not None)
    wall = time.monotonic() - started
    return {"median_ms": statistics.median(times) * 1000, "p99_ms": times[max(0, int(len(times) * 0.99) - 1)] * 1000,
            "per_s": len(times) / wall, "count": len(times)}


def workload(count: int, requests: int, base: str = "/ogc/collections/big/items",
             feature=lambda n: f"p{n}") -> dict[str, list[str]]:
    rng = random.Random(5)
    boxes = []
    for _ in range(requests):
        lon, lat = rng.uniform(WEST, EAST - 0.1), rng.uniform(SOUTH, NORTH - 0.1)
        boxes.append(f"{base}?bbox={lon:.4f},{lat:.4f},{lon + 0.1:.4f},{lat + 0.1:.4f}&limit=50")
    return {
        "items": [f"{base}?limit=100&offset={rng.randrange(0, max(1, count - 100))}" for _ in range(requests)],
        "bbox": boxes,
        "deep offset": [f"{base}?limit=10&offset={count - 10 - i}" for i in range(requests)],
        "by id": [f"{base}/{feature(rng.randrange(count))}" for _ in range(requests)],
    }


def measure_qgis(work: Path, count: int, requests: int) -> dict:
    """The same workload on QGIS Server (bench/qgis_server.py) over a GeoPackage of the layer; its feature
    ids are the GeoPackage's row numbers (from 1, in the layer's order)."""
    if not qgis_server.available():
        return {}
    gpkg, project = work / "big.gpkg", work / "bench.qgs"
    qgis_server.write_project(gpkg, project)
    figures: dict = {}
    with qgis_server.qgis_servers(project) as (server, firsts):
        figures["start to first items"] = f"{firsts[0]:.1f} s (process start to the first page)"
        figures["other worker's first page"] = f"{firsts[1]:.1f} s (its own start)"
        for name, paths in workload(count, requests, "/wfs3/collections/big/items", lambda n: n + 1).items():
            result = timed(server, paths, budget_s=QGIS_BUDGET_S)
            figures[name] = f"median {result['median_ms']:.1f} ms, p99 {result['p99_ms']:.1f} ms, " \
                            f"{result['per_s']:.1f}/s" + ("" if result["count"] == len(paths) else
                                                         f" ({result['count']} requests in {QGIS_BUDGET_S} s)")
        figures["worker peak memory"] = ", ".join(f"{mb:.0f} MB" for mb in sorted(server.peak_rss_mb().values()))
    return figures


def imported(layers: Path, work: Path, count: int, database_url: str | None = None) -> str:
    """``geo-service layers import`` of the big layer's GeoJSON as a new layer (limits raised to fit)."""
    source = layers / "big.geojson"
    env = {**os.environ, "GEO_SERVICE_LAYERS_DIR": str(layers), "GEO_SERVICE_MAX_UPLOAD_MB": "4096",
           "GEO_SERVICE_MAX_FEATURES": str(count + 1), "GEO_SERVICE_MAX_CELLS": str(count * 20),
           "GEO_SERVICE_MAX_VERTICES": str(count * VERTICES + 1), "GEO_SERVICE_MAX_LAYER_MB": "4096"}
    if database_url:
        env["GEO_SERVICE_DATABASE_URL"] = database_url
    command = [str(Path(sys.executable).with_name("geo-service")), "layers", "import", str(source), "--id", "again",
               "--title", "Again", "--source", "bench/scale.py", "--licence", "CC0-1.0"]
    started = time.monotonic()
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(process.pid, 0)  # this process's own peak memory, not the largest child's so far
    seconds = time.monotonic() - started
    if os.waitstatus_to_exitcode(status) != 0:
        raise RuntimeError(f"layers import failed: {process.stderr.read().decode()[-2000:]}")
    return f"{seconds:.1f} s ({usage.ru_maxrss / 1024:.0f} MB peak)"


def geopackage(layers: Path, work: Path) -> str:
    """``ogr2ogr`` writing the layer's GeoJSON as the GeoPackage QGIS Server reads."""
    started = time.monotonic()
    subprocess.run(["ogr2ogr", "-f", "GPKG", str(work / "big.gpkg"), str(layers / "big.geojson")], check=True,
                   capture_output=True)
    return f"{time.monotonic() - started:.1f} s (ogr2ogr to GeoPackage)"


def measure(layers: Path, count: int, requests: int, env: dict) -> dict:
    figures: dict = {}
    started = time.monotonic()
    with production_server(layers, workers=2, health_timeout=900, **env) as server:
        ready = time.monotonic() - started
        status, _, first = server.get("/ogc/collections/big/items?limit=10", timeout=600)
        assert status == 200
        figures["start to first items"] = f"{ready + first:.1f} s (server up {ready:.1f} s, first page {first:.2f} s)"
        seconds = [server.get(f"/ogc/collections/big/items?limit=10&offset={i + 1}", timeout=600)[2]
                   for i in range(4)]  # the other worker's first page comes among these
        figures["other worker's first page"] = f"{max(seconds):.2f} s"
        for name, paths in workload(count, requests).items():
            result = timed(server, paths)
            figures[name] = f"median {result['median_ms']:.1f} ms, p99 {result['p99_ms']:.1f} ms, " \
                            f"{result['per_s']:.0f}/s"
        downloads = [server.get("/layers/big.geojson", timeout=900)[2] for _ in range(2)]
        figures["full download"] = f"{downloads[0]:.1f} s, then {downloads[1]:.1f} s"
        tile = "/ogc/collections/big/tiles/WebMercatorQuad/8/117/119"
        tiles = [server.get(tile, timeout=600)[2] for _ in range(3)]
        figures["z8 tile"] = f"{tiles[0] * 1000:.0f} ms cold, {min(tiles[1:]) * 1000:.1f} ms warm"
        rss = server.peak_rss_mb()
        figures["worker peak memory"] = ", ".join(f"{mb:.0f} MB" for mb in sorted(rss.values()))
        figures["worker memory now (Pss, of it mapped files)"] = ", ".join(
            f"{pss:.0f} MB ({mapped:.0f})" for pss, mapped in sorted(server.shared_mb().values()))
    return figures


def imports_only(cluster: Cluster, count: int, shape: str) -> None:
    """Only the ways a layer of ``count`` points (or polygons) gets in: store write, `db init`, `layers import`
    on each backend and ``ogr2ogr`` to a GeoPackage, one after the other on the same file."""
    work = Path(tempfile.mkdtemp(prefix="geo-scale-"))
    layers = work / "layers"
    shutil.copytree(BUNDLED_LAYERS, layers, ignore=shutil.ignore_patterns(".*"))
    started = time.monotonic()
    LayerStore(layers).add_layer(catalogue_entry("big", KINDS[shape]), synthetic(count, shape=shape))
    rows = {"store write (files)": f"{time.monotonic() - started:.1f} s"}
    url = cluster.new_database()
    from geo_service.store.postgis import PostGISStore
    from geo_service.store.transfer import load_folder

    started = time.monotonic()
    store = PostGISStore(url, create=True)
    load_folder(store, layers)
    store.close()
    rows["`db init` (PostGIS)"] = f"{time.monotonic() - started:.1f} s"
    rows["`layers import` (files)"] = imported(layers, work, count)
    rows["`layers import` (PostGIS)"] = imported(layers, work, count, url)
    rows["`ogr2ogr` to GeoPackage"] = geopackage(layers, work).split(" (")[0]
    print(f"\n## {heading(count, shape)}: imports\n| | time |\n|---|---|")
    for key, value in rows.items():
        print(f"| {key} | {value} |")
    sys.stdout.flush()
    cluster.drop_database(url)
    shutil.rmtree(work, ignore_errors=True)


KINDS = {"points": "Point", "polygons": "Polygon"}


def heading(count: int, shape: str) -> str:
    return f"{count:,} points" if shape == "points" else f"{count:,} polygons of {VERTICES} positions"


@click.command()
@click.option("--sizes", default="10000,100000,1000000", show_default=True)
@click.option("--requests", default=300, show_default=True, help="requests per query kind")
@click.option("--imports", "only_imports", is_flag=True, help="measure only how layers get in")
@click.option("--shape", type=click.Choice(sorted(KINDS)), default="points", show_default=True,
              help=f"the layer's features: points, or polygons of {VERTICES} positions")
def main(sizes: str, requests: int, only_imports: bool, shape: str) -> None:
    cluster = Cluster().start()
    if only_imports:
        try:
            for count in [int(s) for s in sizes.split(",")]:
                imports_only(cluster, count, shape)
        finally:
            cluster.stop()
        return
    try:
        for count in [int(s) for s in sizes.split(",")]:
            work = Path(tempfile.mkdtemp(prefix="geo-scale-"))
            layers = work / "layers"
            shutil.copytree(BUNDLED_LAYERS, layers, ignore=shutil.ignore_patterns(".*"))
            frame = synthetic(count, shape=shape)
            started = time.monotonic()
            LayerStore(layers).add_layer(catalogue_entry("big", KINDS[shape]), frame)
            files_load = time.monotonic() - started
            del frame
            url = cluster.new_database()
            from geo_service.store.postgis import PostGISStore
            from geo_service.store.transfer import load_folder

            started = time.monotonic()
            store = PostGISStore(url, create=True, max_layer_mb=4096)
            load_folder(store, layers)
            store.close()
            pg_load = time.monotonic() - started
            env = {"GEO_SERVICE_MAX_LAYER_MB": "4096"}  # each backend its own download cache (same versions)
            results = {
                "files": {"load the layer": f"{files_load:.1f} s",
                          **measure(layers, count, requests, {**env, "GEO_SERVICE_DOWNLOADS_DIR": str(work / "f")})},
                "postgis": {"load the layer": f"{pg_load:.1f} s (db init of all layers)",
                            **measure(layers, count, requests, {**env, "GEO_SERVICE_DOWNLOADS_DIR": str(work / "p"),
                                                                "GEO_SERVICE_DATABASE_URL": url})},
            }
            results["files"]["`layers import` of its GeoJSON"] = imported(layers, work, count)
            results["postgis"]["`layers import` of its GeoJSON"] = imported(layers, work, count, url)
            results["qgis"] = {"load the layer": geopackage(layers, work), **measure_qgis(work, count, requests)}
            print(f"\n## {heading(count, shape)}")
            print("| | files | PostGIS | QGIS Server 3.22 |\n|---|---|---|---|")
            for key in results["files"]:
                print(f"| {key} | {results['files'][key]} | {results['postgis'][key]} | "
                      f"{results['qgis'].get(key, '—')} |")
            sys.stdout.flush()
            cluster.drop_database(url)
            shutil.rmtree(work, ignore_errors=True)
    finally:
        cluster.stop()


if __name__ == "__main__":
    main()

"""Nearest-service analysis at scale: 1,000,000 communities × 10,000 services, against sjoin_nearest.

    .venv/bin/python bench/proximity_bench.py [--communities 1000000] [--services 10000] [--runs 5]

Synthetic, seeded points in lon −13..−10, lat 11.5..16. Reports, in one run:
- ours: median (and min/max) of the runs, from lon/lat arrays to (service index, metres on WGS84),
  and the peak memory of the process doing it (above the inputs, and in all);
- geopandas ``sjoin_nearest`` in UTM 28N (EPSG:32628) on the same points, with its peak memory;
- correctness: the services chosen for a 2,000-community sample against a brute-force minimum of
  Geod.inv over every service, and how far UTM distances are from geodesic ones.
Each method runs in its own process so that peak memories do not mix.
"""

from __future__ import annotations

import json
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

import click
import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def inputs(n: int, m: int, seed: int = 42):
    rng = np.random.default_rng(seed)
    return (rng.uniform(-13, -10, n), rng.uniform(11.5, 16, n), rng.uniform(-13, -10, m), rng.uniform(11.5, 16, m))


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux reports KiB


def child_ours(n: int, m: int, runs: int) -> dict:
    from geo_service.analysis.nearest import nearest

    c_lon, c_lat, s_lon, s_lat = inputs(n, m)
    before = peak_mb()
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        found = nearest(c_lon, c_lat, s_lon, s_lat)
        times.append(time.perf_counter() - t0)
    np.save("/tmp/geo_service_bench_ours.npy", found.index[:, 0])
    return {"times_s": times, "peak_above_inputs_mb": peak_mb() - before, "peak_mb": peak_mb()}


def child_sjoin(n: int, m: int, runs: int) -> dict:
    import geopandas as gpd

    c_lon, c_lat, s_lon, s_lat = inputs(n, m)
    before = peak_mb()
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        communities = gpd.GeoDataFrame(geometry=gpd.points_from_xy(c_lon, c_lat), crs="EPSG:4326").to_crs(32628)
        services = gpd.GeoDataFrame(geometry=gpd.points_from_xy(s_lon, s_lat), crs="EPSG:4326").to_crs(32628)
        joined = gpd.sjoin_nearest(communities, services, distance_col="distance_m")
        joined = joined[~joined.index.duplicated()]  # sjoin_nearest returns every tie
        times.append(time.perf_counter() - t0)
    np.save("/tmp/geo_service_bench_sjoin.npy", joined["index_right"].to_numpy())
    np.save("/tmp/geo_service_bench_sjoin_m.npy", joined["distance_m"].to_numpy())
    return {"times_s": times, "peak_above_inputs_mb": peak_mb() - before, "peak_mb": peak_mb()}


def run_child(name: str, n: int, m: int, runs: int) -> dict:
    out = subprocess.run([sys.executable, __file__, "--child", name, "--communities", str(n), "--services", str(m),
                          "--runs", str(runs)], capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def check_sample(n: int, m: int, sample: int) -> dict:
    from geo_service.analysis.nearest import GEOD

    c_lon, c_lat, s_lon, s_lat = inputs(n, m)
    ours = np.load("/tmp/geo_service_bench_ours.npy")
    sjoin = np.load("/tmp/geo_service_bench_sjoin.npy")
    sjoin_m = np.load("/tmp/geo_service_bench_sjoin_m.npy")
    rows = np.random.default_rng(1).choice(n, size=sample, replace=False)
    wrong_ours = wrong_sjoin = 0
    worst_utm = 0.0
    for row in rows:
        d = np.asarray(GEOD.inv(np.full(m, c_lon[row]), np.full(m, c_lat[row]), s_lon, s_lat)[2])
        best = int(np.lexsort((np.arange(m), np.round(d, 6)))[0])
        wrong_ours += int(ours[row] != best and d[ours[row]] > d[best] + 1e-6)
        wrong_sjoin += int(sjoin[row] != best and d[sjoin[row]] > d[best] + 1e-6)
        if d[best] > 0:
            worst_utm = max(worst_utm, abs(sjoin_m[row] - d[sjoin[row]]) / d[sjoin[row]])
    return {"wrong_ours": wrong_ours, "wrong_sjoin": wrong_sjoin, "worst_utm_error_pct": 100 * worst_utm}


@click.command()
@click.option("--communities", "n", default=1_000_000, show_default=True)
@click.option("--services", "m", default=10_000, show_default=True)
@click.option("--runs", default=5, show_default=True)
@click.option("--sample", default=2000, show_default=True, help="Communities checked against brute force.")
@click.option("--child", type=click.Choice(["ours", "sjoin"]), default=None, hidden=True)
def main(n: int, m: int, runs: int, sample: int, child: str | None) -> None:
    if child:
        click.echo(json.dumps((child_ours if child == "ours" else child_sjoin)(n, m, runs)))
        return
    ours = run_child("ours", n, m, runs)
    sjoin = run_child("sjoin", n, m, runs)
    check = check_sample(n, m, sample)
    median_ours, median_sjoin = statistics.median(ours["times_s"]), statistics.median(sjoin["times_s"])
    click.echo(f"{n:,} communities × {m:,} services, {runs} runs each, one machine, one run of this script")
    for label, r in (("ours (ECEF k-d tree + Geod)", ours), ("sjoin_nearest, UTM 28N", sjoin)):
        click.echo(f"{label:30} median {statistics.median(r['times_s']):6.3f} s (min {min(r['times_s']):.3f}, "
                   f"max {max(r['times_s']):.3f}); peak memory {r['peak_above_inputs_mb']:.0f} MB above inputs, "
                   f"{r['peak_mb']:.0f} MB process")
    click.echo(f"speed-up over sjoin_nearest: {median_sjoin / median_ours:.1f}×")
    click.echo(f"brute-force check of {sample:,} communities: ours wrong {check['wrong_ours']}, "
               f"sjoin_nearest wrong {check['wrong_sjoin']}; worst UTM distance error "
               f"{check['worst_utm_error_pct']:.3f} %")


if __name__ == "__main__":
    main()

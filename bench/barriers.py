"""Time of the barrier-aware nearest service (analysis/barriers.py) at the size issue 14 names: 100,000
communities × 1,000 services × 20 crossings, with the bundled Falémé (layers/rivers.geojson) as the barrier.
Points are drawn at random over the corridor on both banks; each crossing is a pair of bank points 300 m
either side of a point of the river. Prints the median of 3 and how many routes use a crossing.

    .venv/bin/python bench/barriers.py [--communities 100000] [--services 1000] [--crossings 20]
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

import geopandas as gpd
import numpy as np

from geo_service.analysis.barriers import Barrier, Crossing, nearest_across
from geo_service.analysis.nearest import nearest

RIVERS = Path(__file__).resolve().parent.parent / "layers" / "rivers.geojson"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--communities", type=int, default=100_000)
    parser.add_argument("--services", type=int, default=1000)
    parser.add_argument("--crossings", type=int, default=20)
    args = parser.parse_args()
    rng = np.random.default_rng(11)
    faleme = gpd.read_file(RIVERS).set_index("id").geometry["faleme"]

    def points(n):
        return rng.uniform(-12.6, -11.0, n), rng.uniform(12.3, 14.8, n)

    crossings = []
    for i, at in enumerate(np.sort(rng.uniform(0.05, 0.95, args.crossings))):
        here = faleme.interpolate(at, normalized=True)
        offset = 300 / 111_320
        crossings.append(Crossing(f"x{i}", f"x{i}", "all_year", ((here.x - offset, here.y), (here.x + offset, here.y))))
    barrier = Barrier(faleme, crossings)
    c_lon, c_lat = points(args.communities)
    s_lon, s_lat = points(args.services)
    times, plain = [], []
    for _ in range(3):
        start = time.perf_counter()
        routes = nearest_across(c_lon, c_lat, s_lon, s_lat, barrier)
        times.append(time.perf_counter() - start)
        start = time.perf_counter()
        nearest(c_lon, c_lat, s_lon, s_lat)
        plain.append(time.perf_counter() - start)
    print(f"barrier-aware nearest, {args.communities:,} communities × {args.services:,} services × "
          f"{args.crossings} crossings: median {statistics.median(times):.2f} s of 3 "
          f"(runs {', '.join(f'{t:.2f}' for t in times)}; goal 3 s)")
    print(f"  without barriers in the same run: median {statistics.median(plain):.2f} s; "
          f"ratio {statistics.median(times) / statistics.median(plain):.1f}×")
    print(f"  routes through a crossing: {int((routes.crossing >= 0).sum()):,}; "
          f"unreachable: {int((routes.index < 0).sum()):,}")


if __name__ == "__main__":
    main()

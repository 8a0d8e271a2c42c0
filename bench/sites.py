"""Time of the site suggestion (analysis/sites.py) at the size issue 14 names: 5,000 candidate sites ×
5,000 communities, k = 5, with a few existing services; points drawn at random over the Kayes–Kédougou
corridor (the timing depends on how many pairs are within reach, not on names). Prints the median of 3.

    .venv/bin/python bench/sites.py [--communities 5000] [--candidates 5000] [--k 5] [--within-km 10]
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np

from geo_service.analysis.sites import suggest_sites


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--communities", type=int, default=5000)
    parser.add_argument("--candidates", type=int, default=5000)
    parser.add_argument("--services", type=int, default=50)
    parser.add_argument("--k", type=int, default=5)
    parser.add_argument("--within-km", type=float, default=10)
    args = parser.parse_args()
    rng = np.random.default_rng(7)

    def points(n):
        return rng.uniform(-12.6, -11.0, n), rng.uniform(12.3, 15.0, n)

    c_lon, c_lat = points(args.communities)
    population = rng.integers(100, 20_000, args.communities).astype(float)
    s_lon, s_lat = points(args.services)
    cand_lon, cand_lat = points(args.candidates)
    times = []
    for _ in range(3):
        start = time.perf_counter()
        found = suggest_sites(c_lon, c_lat, population, s_lon, s_lat, cand_lon, cand_lat, args.k,
                              args.within_km * 1000)
        times.append(time.perf_counter() - start)
    print(f"{args.candidates:,} candidates × {args.communities:,} communities, k = {args.k}, "
          f"within {args.within_km:g} km: median {statistics.median(times):.2f} s of 3 "
          f"({', '.join(f'{t:.2f}' for t in times)}); newly covered {found.newly_covered:,.0f} of "
          f"{found.uncovered_before:,.0f} uncovered people")


if __name__ == "__main__":
    main()

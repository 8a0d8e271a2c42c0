"""Cold start of the production server: from `serve --production --workers 2` to the first answer of an items
page of a layer (the time a restarted host takes to serve again), N runs, median. Issue 12's goals, for a 1M
point layer: 2 s on files, 1 s on PostGIS.

    .venv/bin/python bench/cold_start.py LAYERS_DIR LAYER_ID [--runs 5]

Run it with PYTHONPATH set to another checkout to measure that code on the same machine in the same session.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from tests.production import production_server  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("layers", type=Path)
    parser.add_argument("layer")
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    totals, firsts = [], []
    for _ in range(args.runs):
        started = time.monotonic()
        with production_server(args.layers, workers=2, health_timeout=900) as server:
            ready = time.monotonic() - started
            status, _, first = server.get(f"/ogc/collections/{args.layer}/items?limit=10", timeout=600)
            assert status == 200
        totals.append(ready + first)
        firsts.append(first)
    print(f"start to first items page of {args.layer}: median {statistics.median(totals):.2f} s of {args.runs} "
          f"(runs {', '.join(f'{t:.2f}' for t in totals)}); the page itself: median "
          f"{statistics.median(firsts) * 1000:.0f} ms")


if __name__ == "__main__":
    main()

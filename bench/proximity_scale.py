"""A large proximity analysis end to end through the production server (gunicorn, 2 workers): N synthetic
communities uploaded as CSV against the bundled health facilities, answered as a JSON page, as CSV and as
GeoParquet.

    .venv/bin/python bench/proximity_scale.py [--sizes 10000,100000] [--runs 3]

For each size and output it prints the median (and the range) of ``runs`` requests, from sending the upload
to the last byte of the answer, and the answer's size. The communities are seeded random points over the
border area with a name, a country and a population. Goal (issue 12): 100,000 communities answered in
under 3 s as CSV or as a JSON page, the serialisation no longer the larger part.
"""

from __future__ import annotations

import statistics
import sys
import time
import urllib.request
import uuid
from pathlib import Path

import click
import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from tests.conftest import BUNDLED_LAYERS  # noqa: E402
from tests.production import production_server  # noqa: E402

TOKEN = "bench-" + "t" * 32


def communities_csv(count: int, seed: int = 3) -> bytes:
    rng = np.random.default_rng(seed)
    return pd.DataFrame({"name": [f"Point {i}" for i in range(count)], "country": rng.choice(["ML", "SN"], count),
                         "population": rng.integers(50, 5000, count), "lat": rng.uniform(12.5, 15.0, count).round(5),
                         "lon": rng.uniform(-12.6, -10.8, count).round(5)}).to_csv(index=False).encode()


def post(url: str, data: bytes, output: str) -> tuple[float, int]:
    boundary = uuid.uuid4().hex
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"communities_file\"; filename=\"c.csv\"\r\n"
            f"Content-Type: text/csv\r\n\r\n").encode() + data + f"\r\n--{boundary}--\r\n".encode()
    query = "services=health_centres" + ("" if output == "json" else f"&format={output}")
    request = urllib.request.Request(f"{url}/api/proximity?{query}", data=body, method="POST", headers={
        "Content-Type": f"multipart/form-data; boundary={boundary}", "Authorization": f"Bearer {TOKEN}"})
    started = time.monotonic()
    with urllib.request.urlopen(request, timeout=600) as response:
        size = len(response.read())
    return time.monotonic() - started, size


@click.command()
@click.option("--sizes", default="10000,100000", show_default=True)
@click.option("--runs", default=3, show_default=True)
def main(sizes: str, runs: int) -> None:
    env = {"GEO_SERVICE_TOKEN": TOKEN, "GEO_SERVICE_MAX_UPLOAD_MB": "100", "GEO_SERVICE_ANALYSIS_SECONDS": "600"}
    with production_server(BUNDLED_LAYERS, workers=2, health_timeout=120, **env) as server:
        print("| communities | output | median | range | answer |\n|---|---|---|---|---|")
        for count in [int(s) for s in sizes.split(",")]:
            data = communities_csv(count)
            for output in ("json", "csv", "parquet"):
                measured = [post(server.url, data, output) for _ in range(runs)]
                times = [t for t, _ in measured]
                print(f"| {count:,} | {output} | {statistics.median(times):.2f} s | {min(times):.2f}–{max(times):.2f} s "
                      f"| {measured[0][1] / 2**20:.1f} MB |")
                sys.stdout.flush()


if __name__ == "__main__":
    main()

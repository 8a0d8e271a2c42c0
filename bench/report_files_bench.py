"""Time and memory to produce the XLSX workbook and the PDF report of a large proximity analysis.

    .venv/bin/python bench/report_files_bench.py [--communities 10000] [--services 350] [--runs 5]

Synthetic, seeded communities (with names, countries, populations, some unknown)
and facilities in the border area; the analysis runs once, then each output is
built ``--runs`` times in one process. Prints the median (min–max) seconds of
each and the process's peak memory after each. Goal: each under 5 s for
10,000 communities × 350 facilities on this machine.
"""

from __future__ import annotations

import resource
import statistics
import sys
import time
from pathlib import Path

import click
import geopandas as gpd
import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from geo_service.analysis.pdf_report import pdf_bytes  # noqa: E402
from geo_service.analysis.workbook import excel_csv_bytes, xlsx_bytes  # noqa: E402
from geo_service.analysis.inputs import AnalysisInput, normalise  # noqa: E402
from geo_service.analysis.report import run_analysis  # noqa: E402
from geo_service.store import LayerStore  # noqa: E402


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def points(n: int, kind: str, rng) -> AnalysisInput:
    lon, lat = rng.uniform(-12.9, -11.0, n), rng.uniform(12.4, 15.0, n)
    population = rng.integers(50, 20_000, n).astype(float)
    population[rng.random(n) < 0.2] = np.nan  # a fifth unknown
    frame = gpd.GeoDataFrame({"id": [f"{kind}{i}" for i in range(n)], "name": [f"{kind} {i}" for i in range(n)],
                              "country": np.where(lon < -12.2, "SN", "ML"), "population": population,
                              "_uuid": [f"uuid-{kind}-{i}" for i in range(n)]},
                             geometry=gpd.points_from_xy(lon, lat), crs="EPSG:4326")
    own = frame.drop(columns="geometry")
    frame, notes = normalise(frame, kind)
    return AnalysisInput(frame, kind, notes, own)


@click.command()
@click.option("--communities", default=10_000, show_default=True)
@click.option("--services", default=350, show_default=True)
@click.option("--runs", default=5, show_default=True)
def main(communities: int, services: int, runs: int) -> None:
    rng = np.random.default_rng(11)
    report = run_analysis(points(communities, "community", rng), points(services, "facility", rng),
                          bands_km=(5, 10, 20))
    store = LayerStore(ROOT / "layers")  # the border and rivers drawn on the PDF's map
    click.echo(f"{communities:,} communities × {services:,} facilities; peak memory after the analysis "
               f"{peak_mb():.0f} MB")
    outputs = {"xlsx (fr)": lambda: xlsx_bytes(report, "fr", store=store),
               "csv for Excel (fr)": lambda: excel_csv_bytes(report, "fr"),
               "pdf (fr)": lambda: pdf_bytes(report, store, "fr")}
    for name, build in outputs.items():
        times, size = [], 0
        for _ in range(runs):
            started = time.perf_counter()
            size = len(build())
            times.append(time.perf_counter() - started)
        click.echo(f"{name}: median {statistics.median(times):.2f} s (min {min(times):.2f}, max {max(times):.2f}, "
                   f"{runs} runs), {size / 1024:.0f} KiB; peak memory so far {peak_mb():.0f} MB")


if __name__ == "__main__":
    main()

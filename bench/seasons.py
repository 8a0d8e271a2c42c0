"""How much the Falémé changes the answer: communities whose nearest service, distance band or cross-border
effect changes between today's straight lines, the dry season and the wet season, with the bundled rivers
(the Falémé) and crossings. Run on the bundled layers and, for a realistic density, on the OpenStreetMap
villages and WHO/KEMRI facilities in ../shared/data/samples (read from there, never copied here).

    .venv/bin/python bench/seasons.py [--samples ../shared/data/samples]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from geo_service.analysis.inputs import AnalysisInput, from_layer, normalise
from geo_service.analysis.report import run_analysis
from geo_service.analysis.scenarios import BarrierSetup, barrier_lines, read_crossings
from geo_service.store import LayerStore

ROOT = Path(__file__).resolve().parent.parent


def from_file(path: Path) -> AnalysisInput:
    import geopandas as gpd

    frame, notes = normalise(gpd.read_file(path), path.name)
    return AnalysisInput(frame, path.name, notes)


def moved(report, scenario: str) -> tuple[int, int, int]:
    """Communities whose service, band, or cross-border effect (moves_closer) differs from today's."""
    r = report.results
    service = (r["service_id"].astype("string").fillna("") != r[f"{scenario}_service_id"].astype("string").fillna(""))
    band = r["band"] != r[f"{scenario}_band"]
    return int(service.sum()), int(band.sum()), report.scenarios[scenario]["changed_from_none"]


def describe(label: str, communities: AnalysisInput, services: AnalysisInput, setup: BarrierSetup) -> None:
    start = time.perf_counter()
    report = run_analysis(communities, services, bands_km=(5, 10, 20), barriers=setup)
    seconds = time.perf_counter() - start
    s = report.scenarios
    print(f"{label}: {len(report.results)} communities × {len(report.services)} facilities ({seconds:.2f} s)")
    for scenario in ("dry", "wet"):
        service, band, either = moved(report, scenario)
        cross = s[scenario]["cross_border"]["communities_moving_closer"] if s[scenario]["cross_border"] else None
        print(f"  {scenario}: nearest service changes for {service}, band for {band} (either: {either}); "
              f"no service in reach: {s[scenario]['unreachable']}; cross-border care moves {cross} closer "
              f"(today {s['none']['cross_border']['communities_moving_closer'] if s['none']['cross_border'] else None})")
    print(f"  wet against dry: {s['wet']['changed_from_dry']} change")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--samples", type=Path, default=ROOT.parent / "shared" / "data" / "samples")
    args = parser.parse_args()
    store = LayerStore(ROOT / "layers")
    setup = BarrierSetup(barrier_lines(store.read("rivers"), "rivers", ("faleme",)),
                         read_crossings(store.read("crossings"), "crossings"), "rivers:faleme", "crossings")
    describe("bundled communities → health_centres", from_layer(store, "communities"),
             from_layer(store, "health_centres"), setup)
    villages = args.samples / "osm_places_25km.geojson"
    facilities = args.samples / "who_kemri_facilities_kayes_kedougou_tambacounda.geojson"
    if villages.exists() and facilities.exists():
        describe("OSM villages within 25 km → WHO/KEMRI facilities", from_file(villages), from_file(facilities), setup)
        describe("OSM villages within 25 km → bundled health_centres", from_file(villages),
                 from_layer(store, "health_centres"), setup)
    else:
        print(f"samples not found under {args.samples}: bundled layers only")


if __name__ == "__main__":
    main()

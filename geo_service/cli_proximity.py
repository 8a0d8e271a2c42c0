"""``geo-service proximity``: how far communities are from services, under barriers and seasons; and
``geo-service proximity sites``: where new centres would cover the most people."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from geo_service.analysis import defaults
from geo_service.cli_common import _columns, _store, column_options
from geo_service.config import Settings

if TYPE_CHECKING:
    from geo_service.store import Store


def _analysis_input(settings: Settings, store: Store, value: str, allow_outside: bool, columns):
    from geo_service.analysis.inputs import from_layer, from_upload

    path = Path(value)
    if value in store.catalogue and not path.exists():
        return from_layer(store, value)
    if path.is_file():
        return from_upload(path.read_bytes(), path.name, None if allow_outside else settings.extent,
                           settings.limits, columns)
    raise click.BadParameter(f"{value!r} is neither a layer ({', '.join(store.catalogue.ids)}) nor a file")


def _layer_or_file(store: Store, value: str | None) -> tuple[str | None, tuple[bytes, str] | None]:
    """(layer, None) for a layer of the store (``rivers:faleme`` chooses features), else (None, file)."""
    from geo_service.analysis.scenarios import split_selection

    if value is None:
        return None, None
    path = Path(value)
    if split_selection(value)[0] in store.catalogue and not path.exists():
        return value, None
    if path.is_file():
        return None, (path.read_bytes(), path.name)
    raise click.BadParameter(f"{value!r} is neither a layer ({', '.join(store.catalogue.ids)}) nor a file")


def _barriers(settings: Settings, store: Store, barriers: str | None, crossings: str | None, wet_unknown: str,
              tolerance_m: float):
    from geo_service.analysis.inputs import load_barriers

    barrier_layer, barrier_file = _layer_or_file(store, barriers)
    crossing_layer, crossing_file = _layer_or_file(store, crossings)
    request = _request(barriers=barrier_layer, barriers_file=barrier_file,
                       crossings=crossing_layer, crossings_file=crossing_file, wet_unknown_open=wet_unknown == "open",
                       crossing_tolerance_m=tolerance_m)
    return load_barriers(store, request, None, settings.limits)  # a river may reach past the service's area


def _request(**fields):
    """A proximity request holding only ``fields`` (the loaders of barriers and areas read it)."""
    from geo_service.analysis.inputs import ProximityRequest
    from geo_service.io.ingest import ColumnChoice

    base = {"communities": None, "services": None, "communities_file": None, "services_file": None, "bands_km": (),
            "max_distance_km": None, "same_country_only": False, "allow_outside": False, "columns": ColumnChoice(),
            "output": "json"}
    return ProximityRequest(**{**base, **fields})


def _areas(settings: Settings, store: Store, admin: str | None, admin_level: str | None):
    from geo_service.analysis.inputs import load_areas

    layer, upload = _layer_or_file(store, admin)
    return load_areas(store, _request(admin=layer, admin_file=upload, admin_level=admin_level), None, settings.limits)


def barrier_options(command):
    """--barriers, --crossings, --wet-unknown and --crossing-tolerance-m."""
    options = [
        click.option("--barriers", default=None, metavar="LAYER[:ID,…]|FILE",
                     help="Lines that only crossings let a route through, e.g. rivers:faleme. With barriers, the "
                          "analysis sets today's straight lines beside the dry and the wet season."),
        click.option("--crossings", default=None, metavar="LAYER|FILE",
                     help="Points where a barrier can be crossed (one, or one per bank, grouped by a 'crossing' "
                          "column; 'season': all_year, dry_only, unknown) [default: the crossings layer]."),
        click.option("--wet-unknown", type=click.Choice(["closed", "open"]), default="closed", show_default=True,
                     help="Whether a crossing of unknown season is open in the wet season."),
        click.option("--crossing-tolerance-m", type=click.FloatRange(0, 10_000), default=defaults.CROSSING_TOLERANCE_M,
                     show_default=True, help="Within this distance of a crossing's points a leg to it may meet "
                                             "the barrier line (the line's own accuracy)."),
    ]
    for option in reversed(options):
        command = option(command)
    return command


@click.group(invoke_without_command=True)
@click.option("--communities", help="Layer id or file (GeoJSON, CSV/XLSX incl. KoboToolbox and ODK exports, GPKG, "
                                    "zipped SHP, KML).")
@click.option("--services", help="Layer id or file of the services (e.g. health_centres).")
@click.option("--out", "out_path", type=click.Path(dir_okay=False, path_type=Path),
              help="Results: .csv, .geojson, .parquet, .xlsx (a workbook of every table) or .pdf (a one-page report).")
@click.option("--lang", type=click.Choice(["en", "fr"]), default="en", show_default=True,
              help="Language of the .xlsx and .pdf (and of the CSV with --excel).")
@click.option("--excel", is_flag=True, help="CSV for Excel (in French: ';' and decimal commas).")
@click.option("--walk-kmh", type=click.FloatRange(0.5, 20), default=defaults.WALK_KMH, show_default=True,
              help="Walking speed of the estimated walking time (AccessMod's flat bare-soil example).")
@click.option("--walk-detour", type=click.FloatRange(1, 3), default=defaults.WALK_DETOUR, show_default=True,
              help="Path length against the straight line, for the walking time (circuity about 1.2).")
@click.option("--bands", default="5,10,20", show_default=True, help="Distance band thresholds in km.")
@click.option("--max-km", type=float, default=None, help="Ignore services farther than this (km).")
@click.option("--same-country-only", is_flag=True, help="Only services in the community's own country count.")
@click.option("--allow-outside", is_flag=True, help="Accept points outside the service's area.")
@barrier_options
@click.option("--admin", default=None, metavar="LAYER|FILE",
              help="Administrative areas (e.g. OCHA COD-AB boundaries with ADMn_PCODE columns, or regions): each "
                   "community gets its area's names and p-codes, and the summary groups by --admin-level.")
@click.option("--admin-level", default=None, help="adm1, adm2, … (default: the finest the areas give).")
@click.option("--population", "population_raster", type=click.Path(dir_okay=False, exists=True, path_type=Path),
              default=None, help="A gridded population raster (GeoTIFF: WorldPop, HDX): unknown populations are "
                                 "estimated from it, and its people counted by band.")
@click.option("--population-radius-km", type=click.FloatRange(0.05, 20), default=1.0, show_default=True,
              help="An unknown population: the raster's people within this distance.")
@column_options
@click.pass_context
def proximity(ctx: click.Context, communities: str | None, services: str | None, out_path: Path | None, **options):
    """How far each community is from the nearest service (geodesic, WGS84), by band and country; with
    --barriers, in the dry and the wet season too. `proximity sites` suggests new sites."""
    if ctx.invoked_subcommand is not None:
        return
    for name, value in (("--communities", communities), ("--services", services), ("--out", out_path)):
        if value is None:
            raise click.UsageError(f"give {name}")
    run_proximity(ctx.obj, communities, services, out_path, **options)


def run_proximity(settings: Settings, communities: str, services: str, out_path: Path, *, bands: str,
                  max_km: float | None, same_country_only: bool, allow_outside: bool, lang: str, excel: bool,
                  walk_kmh: float, walk_detour: float, barriers: str | None, crossings: str | None,
                  wet_unknown: str, crossing_tolerance_m: float, admin: str | None, admin_level: str | None,
                  population_raster: Path | None, population_radius_km: float, **column_choice) -> None:
    from geo_service.analysis.coverage import parse_bands
    from geo_service.analysis.pdf_report import pdf_bytes
    from geo_service.analysis.report import (
        csv_bytes,
        geojson_result_bytes,
        parquet_result_bytes,
        run_analysis,
        summary_lines,
    )
    from geo_service.analysis.workbook import excel_csv_bytes, xlsx_bytes

    store = _store(settings)
    writers = {".csv": lambda r: out_path.write_bytes(excel_csv_bytes(r, lang, walk_kmh) if excel else csv_bytes(r)),
               ".xlsx": lambda r: out_path.write_bytes(xlsx_bytes(r, lang, walk_kmh, store=store)),
               ".pdf": lambda r: out_path.write_bytes(pdf_bytes(r, store, lang, walk_kmh)),
               ".geojson": lambda r: out_path.write_bytes(geojson_result_bytes(r)),
               ".json": lambda r: out_path.write_bytes(geojson_result_bytes(r)),
               ".parquet": lambda r: out_path.write_bytes(parquet_result_bytes(r))}
    if out_path.suffix.lower() not in writers:
        raise click.BadParameter(f"--out must end in {', '.join(writers)}", param_hint="--out")
    columns = _columns(**column_choice)
    inputs = [_analysis_input(settings, store, v, allow_outside, columns) for v in (communities, services)]
    setup = _barriers(settings, store, barriers, crossings, wet_unknown, crossing_tolerance_m)
    areas = _areas(settings, store, admin, admin_level)
    count = len(inputs[0].frame)
    with click.progressbar(length=count, label=f"measuring {count:,} communities",
                           hidden=count < 10_000) as bar:
        report = run_analysis(*inputs, bands_km=parse_bands(bands), max_distance_km=max_km,
                              same_country_only=same_country_only, progress=bar.update, barriers=setup,
                              walk_kmh=walk_kmh, walk_detour=walk_detour, areas=areas, admin_level=admin_level,
                              grid_source=None if population_raster is None else (population_raster,
                                                                                  population_raster.name),
                              radius_km=population_radius_km)
    writers[out_path.suffix.lower()](report)
    click.echo("\n".join(summary_lines(report)))
    click.echo(f"wrote {out_path} ({len(report.results):,} communities)")


@proximity.command("sites")
@click.option("--communities", required=True, help="Point layer id of the communities.")
@click.option("--services", required=True, help="Point layer id of the existing services.")
@click.option("--candidates", default=None, help="Point layer id of the candidate sites [default: the communities].")
@click.option("--k", "k", type=click.IntRange(1, 50), default=1, show_default=True, help="How many new sites.")
@click.option("--within-km", type=click.FloatRange(0, 500, min_open=True), default=None,
              help="Coverage distance [default 5 km, unless --within-walk-min].")
@click.option("--within-walk-min", type=click.FloatRange(0, 6000, min_open=True), default=None,
              help="Coverage as walking time (with --walk-kmh and --walk-detour), instead of --within-km.")
@click.option("--walk-kmh", type=click.FloatRange(0.5, 20), default=defaults.WALK_KMH, show_default=True)
@click.option("--walk-detour", type=click.FloatRange(1, 3), default=defaults.WALK_DETOUR, show_default=True)
@click.option("--scenario", type=click.Choice(["none", "dry", "wet"]), default="none", show_default=True,
              help="With --barriers: which season's crossings are open.")
@barrier_options
@click.option("--json", "as_json", is_flag=True, help="Print the answer as the API's JSON.")
@click.pass_obj
def sites_command(settings: Settings, communities: str, services: str, candidates: str | None, k: int,
                  within_km: float | None, within_walk_min: float | None, walk_kmh: float, walk_detour: float,
                  scenario: str, barriers: str | None, crossings: str | None, wet_unknown: str,
                  crossing_tolerance_m: float, as_json: bool) -> None:
    """Where k new centres would cover the most people not yet within reach (optimal, PuLP/CBC)."""
    import json

    from geo_service.analysis.sites import coverage_km, sites_document

    store = _store(settings)
    within = coverage_km(within_km, within_walk_min, walk_kmh, walk_detour)
    setup = _barriers(settings, store, barriers, crossings, wet_unknown, crossing_tolerance_m)
    found = sites_document(store, communities, services, candidates, k, within, setup, scenario)
    if as_json:
        click.echo(json.dumps(found, ensure_ascii=False, indent=1))
        return
    unit = "people" if found["weighted_by_population"] else "communities (populations unknown: each counts once)"
    click.echo(f"{k} new site(s) within {within:g} km ({found['scenario']}): {found['newly_covered']:,.0f} {unit} "
               f"newly covered; {found['uncovered_before']:,.0f} were beyond reach")
    for site in found["sites"]:
        click.echo(f"  {site['rank']}. {site['name'] or site['id'] or '(unnamed)'} ({site['lat']:.5f}, "
                   f"{site['lon']:.5f}): {site['newly_covered']:,.0f}")

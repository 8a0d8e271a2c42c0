"""Runs a whole proximity analysis and shapes its report: JSON document, result table, file outputs."""

from __future__ import annotations

import io
import json
import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from geo_service.analysis import areas as admin
from geo_service.analysis import coverage, population, scenarios
from geo_service.analysis.inputs import AnalysisInput
from geo_service.analysis.levels import LEVELS, facility_levels
from geo_service.analysis.nearest import ProximityError, nearest_services
from geo_service.i18n import N_, Text, text_of
from geo_service.io.formats import WriteOptions
from geo_service.io.formats import write as write_format
from geo_service.io.writers import geojson_bytes

UNDERSERVED_SHOWN = 100
NO_LEVEL = {"first_contact": N_("note", "{label}: no first-contact facility: that level is left empty"),
            "referral": N_("note", "{label}: no referral facility: that level is left empty")}
KEPT_COLUMNS = ("row", "label", "id", "name", "country", "population", "population_estimated", "location_accuracy_m",
                "location_imprecise")
INPUT_PREFIX = "input_"  # the input's own columns, so none can collide with the analysis's
RESULT_COLUMNS = ("service_id", "service_name", "service_country", "distance_m", "walk_min", "walk_band", "band",
                  "first_contact_service_name", "first_contact_distance_m", "referral_service_name",
                  "referral_distance_m",
                  "own_country_service", "own_country_distance_m", "own_country_band", "moves_closer",
                  *(f"{s}_{c}" for s in ("dry", "wet") for c in scenarios.SCENARIO_COLUMNS))


@dataclass
class ProximityReport:
    results: gpd.GeoDataFrame  # one row per community, with its service, distance and band
    services: gpd.GeoDataFrame
    bands_km: tuple[float, ...]
    summary: list[dict]
    cross_border: dict | None
    histogram: dict
    underserved: gpd.GeoDataFrame
    notes: list[str] = field(default_factory=list)
    inputs: dict = field(default_factory=dict)
    community_columns: pd.DataFrame | None = None  # the communities' own columns, by row (1 = first)
    scenarios: dict | None = None  # with barriers: none/dry/wet side by side (analysis.scenarios)
    walk: dict = field(default_factory=dict)  # the walking-time model and who is within an hour's walk
    areas: dict | None = None  # with administrative areas: the summary by the chosen level
    population_grid: dict | None = None  # with a population raster: its people by band and scenario


def run_analysis(communities: AnalysisInput, services: AnalysisInput, *, bands_km: Sequence[float],
                 max_distance_km: float | None = None, same_country_only: bool = False,
                 progress: Callable[[int], None] | None = None, service_types: Sequence[str] = (),
                 levels: bool = False, barriers: scenarios.BarrierSetup | None = None,
                 walk_kmh: float = scenarios.WALK_KMH, walk_detour: float = scenarios.WALK_DETOUR,
                 areas: admin.AdminAreas | None = None, admin_level: str | None = None,
                 grid_source: tuple | None = None, radius_km: float = 1.0) -> ProximityReport:
    if max_distance_km is not None and not max_distance_km > 0:
        raise ProximityError(Text("error", "the maximum distance must be a positive number of km, got {value}",
                                  {"value": max_distance_km}))
    notes = communities.notes + services.notes
    grid = None
    if grid_source is not None:  # first: the estimated populations count in every summary
        grid, communities, note = with_grid(communities, grid_source, bands_km, radius_km)
        notes.append(note)
    if service_types:
        services = select_types(services, service_types)
        notes.append(Text("note", "{label}: facilities of type {types} only ({count})",
                          {"label": services.label, "types": ", ".join(service_types), "count": len(services.frame)}))
    result, cross, more = measure(communities, services, bands_km, max_distance_km, same_country_only, progress)
    notes += more
    if "population" not in result.columns:
        notes.append(Text("note", "{label}: no population column: populations are unknown",
                          {"label": communities.label}))
    if levels:
        notes += nearest_by_level(result, communities, services, max_distance_km)
    result["walk_min"] = scenarios.walk_minutes(result["distance_m"], walk_kmh, walk_detour)
    result["walk_band"] = scenarios.walk_band(result["walk_min"]).to_numpy()
    side_by_side = None
    if barriers is not None:
        notes += barriers.notes
        side_by_side = scenarios.add_scenarios(result, communities.frame, services.frame, barriers, bands_km,
                                               max_distance_km, same_country_only, cross, (walk_kmh, walk_detour))
    grid_people = None if grid is None else population.grid_summary(grid, services.frame, barriers, bands_km,
                                                                    (walk_kmh, walk_detour), radius_km)
    by_area = None
    if areas is not None:
        by_area, more = admin.add_areas(result, areas, admin_level, bands_km)
        notes += more
    result = with_row_labels(result)
    return ProximityReport(
        results=result, services=services.frame, bands_km=tuple(bands_km),
        summary=coverage.coverage_summary(result, bands_km), cross_border=cross,
        histogram=coverage.distance_histogram(result["distance_m"].to_numpy(dtype=float), bands_km),
        underserved=coverage.underserved(result, bands_km), notes=notes,
        inputs={"communities": communities.label, "services": services.label, "bands_km": list(bands_km),
                "max_distance_km": max_distance_km, "same_country_only": same_country_only},
        community_columns=communities.columns, scenarios=side_by_side, areas=by_area, population_grid=grid_people,
        walk={"kmh": walk_kmh, "detour": walk_detour, "hour_km": round(walk_kmh / walk_detour, 2),
              "within_hour_walk": scenarios.within_hour(result)},
    )


def measure(communities: AnalysisInput, services: AnalysisInput, bands_km: Sequence[float],
            max_distance_km: float | None, same_country_only: bool, progress: Callable[[int], None] | None):
    """Each community's nearest service and band, with the cross-border comparison where both have countries."""
    notes = []
    both_have_country = "country" in communities.frame.columns and "country" in services.frame.columns

    def banded(same_country: bool, report_progress: bool) -> gpd.GeoDataFrame:
        found = nearest_services(communities.frame, services.frame, max_distance_km=max_distance_km,
                                 same_country=same_country, progress=progress if report_progress else None)
        return coverage.with_bands(found, bands_km)

    cross = None
    if both_have_country:  # each variant measured once: the result is one side of the comparison
        own, anywhere = banded(True, same_country_only), banded(False, not same_country_only)
        compared, cross = coverage.compare_own_and_any(own, anywhere, bands_km)
        result = own if same_country_only else anywhere
        for column in ("own_country_service", "own_country_distance_m", "own_country_band", "moves_closer"):
            result[column] = compared[column].to_numpy()
    else:
        result = banded(same_country_only, True)
        notes.append(Text("note", "no 'country' column in both inputs: the cross-border comparison is left out"))
    return result, cross, notes


def with_grid(communities: AnalysisInput, grid_source: tuple, bands_km: Sequence[float], radius_km: float):
    """The grid read over the analysis area, and the communities with their unknown populations estimated."""
    source, label = grid_source
    frame = communities.frame
    bounds = population.analysis_bounds(frame.geometry.x.to_numpy(), frame.geometry.y.to_numpy(),
                                        max(bands_km[-1], radius_km))
    grid = population.open_grid(source, label, bounds)
    filled, note = population.fill_unknown(frame, grid, radius_km, communities.label)
    return grid, AnalysisInput(filled, communities.label, communities.notes, communities.columns), note


def select_types(services: AnalysisInput, types: Sequence[str]) -> AnalysisInput:
    """Only the facilities whose ``type`` is one of ``types`` (compared without case or surrounding spaces)."""
    if "type" not in services.frame.columns:
        raise ProximityError(Text("error", "{label}: choosing facility types needs a 'type' column",
                                  {"label": services.label}))
    wanted = {t.strip().lower() for t in types}
    kept = services.frame[services.frame["type"].astype("string").str.strip().str.lower().isin(wanted)]
    if kept.empty:
        found = sorted(services.frame["type"].dropna().astype(str).unique())
        raise ProximityError(Text("error", "{label}: no facility of type {wanted}; types: {found}",
                                  {"label": services.label, "wanted": ", ".join(types), "found": ", ".join(found)}))
    return AnalysisInput(kept, services.label, services.notes, services.columns)


def nearest_by_level(result: gpd.GeoDataFrame, communities: AnalysisInput, services: AnalysisInput,
                     max_distance_km: float | None) -> list[str]:
    """Adds the nearest first-contact and the nearest referral facility (name, metres) beside the nearest."""
    if "type" not in services.frame.columns:
        raise ProximityError(Text("error", "{label}: the nearest facility of each level needs a 'type' column",
                                  {"label": services.label}))
    level = facility_levels(services.frame["type"])
    notes = []
    for name in LEVELS:
        subset = services.frame[(level == name).fillna(False).to_numpy()]
        if subset.empty:
            notes.append(Text.of(NO_LEVEL[name], {"label": services.label}))
            result[f"{name}_service_name"] = pd.array([pd.NA] * len(result), dtype="string")
            result[f"{name}_distance_m"] = float("nan")
            continue
        found = nearest_services(communities.frame, subset, max_distance_km=max_distance_km)
        result[f"{name}_service_name"] = found["service_name"].to_numpy()
        result[f"{name}_distance_m"] = found["distance_m"].to_numpy()
    unknown = int(level.isna().sum())
    if unknown:
        notes.append(Text("note", "{label}: {count} facilities have no type and count for neither level",
                          {"label": services.label, "count": unknown}))
    return notes


def with_row_labels(result: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """``row``: the community's place in its input (1 = first), stable for joining back; ``label``: its name,
    or for an unnamed one its row and coordinates, so that every community can be found on the map."""
    result = result.copy()
    result["row"] = range(1, len(result) + 1)
    names = (result["name"].astype("string").str.strip() if "name" in result.columns
             else pd.Series(pd.NA, index=result.index, dtype="string"))
    unnamed = (names.isna() | (names == "")).to_numpy()
    labels = names.astype(object).to_numpy(copy=True)
    if unnamed.any():  # made only for the rows that need one
        points = result.geometry.values[unnamed]
        labels[unnamed] = [f"#{row} ({y:.5f}, {x:.5f})" for row, x, y in
                           zip(np.flatnonzero(unnamed) + 1, shapely.get_x(points), shapely.get_y(points))]
    result["label"] = pd.array(labels, dtype="string")
    return result


def table(frame: gpd.GeoDataFrame, own: pd.DataFrame | None = None) -> gpd.GeoDataFrame:
    """The per-community table that is shown and downloaded: identity columns, the analysis columns, then
    the input's own columns (``own``, by row) prefixed ``input_``."""
    kept = [c for c in KEPT_COLUMNS if c in frame.columns]
    analysis = [c for c in RESULT_COLUMNS if c in frame.columns] + \
        [c for c in frame.columns if str(c).startswith(admin.PREFIX)]
    out = gpd.GeoDataFrame(frame[kept + analysis], geometry=frame.geometry, crs=frame.crs)
    if "population" not in out.columns:
        out.insert(len(kept), "population", pd.NA)
    out["population"] = pd.to_numeric(out["population"], errors="coerce").astype("Int64")
    if own is not None and "row" in frame.columns:
        joined = own.iloc[frame["row"].to_numpy() - 1].set_axis(frame.index)
        for column in joined.columns:
            out[f"{INPUT_PREFIX}{column}"] = joined[column]
    return out


def report_document(report: ProximityReport, include_features: bool = True, lang: str = "en", offset: int = 0,
                    limit: int | None = None) -> dict:
    """Everything the page and the JSON API show; with ``include_features``, the result rows ``offset`` to
    ``offset + limit`` as GeoJSON (with ``numberMatched``, all rows, and ``numberReturned``) and the services."""
    document = report_summaries(report, lang)
    if include_features:
        document.update({name: json.loads(text) for name, text in report_features(report, offset, limit).items()})
    return document


def report_json(report: ProximityReport, dumps: Callable[[dict], str], lang: str = "en", offset: int = 0,
                limit: int | None = None, extra: dict | None = None) -> bytes:
    """``report_document`` as JSON bytes, its GeoJSON written once: the features' text goes into the answer as
    it is, where decoding it to encode it again was a third of a 100,000-row answer's time."""
    texts = report_features(report, offset, limit)
    token = secrets.token_hex(16)  # a placeholder no value of the document can hold
    document = {**report_summaries(report, lang), **(extra or {}), **{name: f"{token}:{name}" for name in texts}}
    out = dumps(document)
    for name, text in texts.items():
        placeholder = json.dumps(f"{token}:{name}")
        if out.count(placeholder) != 1:  # dumps wrote the placeholder other than json does: a bug, not input
            raise RuntimeError(f"placeholder of {name} written {out.count(placeholder)} times")
        out = out.replace(placeholder, text, 1)
    return out.encode("utf-8")


def report_features(report: ProximityReport, offset: int = 0, limit: int | None = None) -> dict[str, str]:
    """The result rows ``offset`` to ``offset + limit`` and the services, as GeoJSON texts."""
    rows = report.results.iloc[offset:None if limit is None else offset + limit]
    results = geojson_bytes(table(rows, report.community_columns), precision=6).decode("utf-8")
    counts = f'{{"numberMatched":{len(report.results)},"numberReturned":{len(rows)},'
    services = report.services
    cols = [c for c in ("id", "name", "country", "type") if c in services.columns]
    return {"results": counts + results[1:],
            "services": geojson_bytes(gpd.GeoDataFrame(services[cols], geometry=services.geometry, crs=services.crs),
                                      precision=6).decode("utf-8")}


def report_summaries(report: ProximityReport, lang: str = "en") -> dict:
    """The report's summaries, tables and notes (``report_document`` without the features)."""
    document = {
        "inputs": report.inputs,
        "bands": coverage.band_labels(report.bands_km) + [coverage.NO_SERVICE],
        "summary": report.summary,
        "cross_border": report.cross_border,
        "histogram": report.histogram,
        "underserved": json.loads(table(report.underserved).drop(columns="geometry").head(UNDERSERVED_SHOWN)
                                  .to_json(orient="records", force_ascii=False)),
        "underserved_total": int(len(report.underserved)),
        "notes": [text_of(note, lang) for note in report.notes],
        "units": {"distance_m": "metres, geodesic on the WGS84 ellipsoid",
                  "walk_min": "minutes, estimated: distance × detour ÷ walking speed"},
        "walk": report.walk,
    }
    if report.scenarios is not None:
        document["scenarios"] = report.scenarios
    if report.areas is not None:
        document["areas"] = report.areas
    if report.population_grid is not None:
        document["population_grid"] = report.population_grid
    return document


def csv_bytes(report: ProximityReport, excel: bool = False) -> bytes:
    """The results as CSV (formula-safe); an unknown population reads ``unknown``, never 0."""
    frame = table(report.results, report.community_columns)
    frame["population"] = frame["population"].astype("string").fillna("unknown")
    return write_format(frame, "proximity", "csv", WriteOptions(excel=excel, precision=6))


def geojson_result_bytes(report: ProximityReport) -> bytes:
    return geojson_bytes(table(report.results, report.community_columns))


def parquet_result_bytes(report: ProximityReport) -> bytes:
    """The results as GeoParquet: every row, types kept (whole numbers stay whole, unknown stays null)."""
    buffer = io.BytesIO()
    table(report.results, report.community_columns).to_parquet(buffer, index=False)
    return buffer.getvalue()


def _population(value) -> str:
    return "unknown" if value is None else f"{value:,}"


def summary_lines(report: ProximityReport) -> list[str]:
    """The printed summary: communities and population by country and band, cross-border effect, worst off."""
    lines = [f"{report.inputs['communities']} → nearest of {report.inputs['services']} "
             f"(geodesic metres on WGS84; bands {', '.join(f'{b:g}' for b in report.bands_km)} km)"]
    lines.append(f"{'country':8} {'band':22} {'communities':>11} {'population':>12} {'unknown pop.':>12}")
    for row in report.summary:
        lines.append(f"{row['country']:8} {row['band']:22} {row['communities']:11d} "
                     f"{_population(row['population']):>12} {row['unknown_population']:12d}")
    if report.cross_border:
        cross = report.cross_border
        lines.append(f"cross-border care: {cross['communities_moving_closer']} of {cross['communities']} communities "
                     f"move into a closer band (population {_population(cross['population_moving_closer'])}, "
                     f"{cross['unknown_population_moving_closer']} of unknown population)")
        lines += [f"  {m['from_band']} → {m['to_band']}: {m['communities']}" for m in cross["moves"]]
    worst = table(report.underserved).head(10)
    if len(worst):
        lines.append(f"underserved (beyond {report.bands_km[-1]:g} km): {len(report.underserved)}; most populous:")
        for row in worst.itertuples():
            km = "none in reach" if pd.isna(row.distance_m) else f"{row.distance_m / 1000:.1f} km"
            population = "unknown" if pd.isna(row.population) else f"{int(row.population):,}"
            name = "(unnamed)" if pd.isna(row.name) else row.name
            lines.append(f"  {name} ({getattr(row, 'country', '?')}): {km}, population {population}")
    within = sum(row["communities"] for row in report.walk.get("within_hour_walk", []))
    lines.append(f"within one hour's walk ({report.walk['hour_km']:g} km at {report.walk['kmh']:g} km/h, detour "
                 f"{report.walk['detour']:g}): {within} of {len(report.results)} communities")
    lines += scenario_lines(report.scenarios)
    if report.population_grid:
        grid = report.population_grid
        lines.append(f"people in the grid {grid['assumptions']['grid']} (area {grid['assumptions']['area']}): "
                     f"{grid['assumptions']['people_in_area']:,}")
        for scenario in ("none", "dry", "wet"):
            if scenario in grid:
                bands = ", ".join(f"{b['band']}: {b['people']:,}" for b in grid[scenario]["bands"])
                lines.append(f"  {scenario}: {bands}; within an hour's walk: {grid[scenario]['within_hour_walk']:,}")
    if report.areas:
        lines.append(f"by area ({report.areas['layer']}, level {report.areas['level']}): communities, of which "
                     f"beyond {report.bands_km[-1]:g} km or with no service")
        far = {coverage.band_labels(report.bands_km)[-1], coverage.NO_SERVICE}
        totals: dict[tuple, list[int]] = {}
        for row in report.areas["summary"]:
            counts = totals.setdefault((row["code"], row["name"]), [0, 0])
            counts[0] += row["communities"]
            counts[1] += row["communities"] if row["band"] in far else 0
        lines += [f"  {code or ''} {name or ''}: {n}, {beyond}".rstrip() for (code, name), (n, beyond) in totals.items()]
    lines += [f"note: {n}" for n in report.notes]
    return lines


def scenario_lines(scenarios: dict | None) -> list[str]:
    """The seasons side by side, for the printed summary."""
    if not scenarios:
        return []
    open_now = scenarios["assumptions"]["crossings_open"]
    lines = [f"barriers {scenarios['assumptions']['barriers']}, crossings {scenarios['assumptions']['crossings']}:"]
    for name, title in (("dry", "dry season"), ("wet", "wet season")):
        entry = scenarios[name]
        cross = entry["cross_border"]
        lines.append(f"  {title} (open: {', '.join(open_now[name]) or 'none'}): {entry['changed_from_none']} "
                     f"communities change nearest service or band from today's straight lines"
                     + (f", {entry['changed_from_dry']} from the dry season" if "changed_from_dry" in entry else "")
                     + f"; {entry['unreachable']} with no service in reach"
                     + (f"; cross-border care moves {cross['communities_moving_closer']} closer" if cross else ""))
    return lines

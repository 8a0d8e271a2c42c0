"""The tables of a proximity report as a person reads them: headers and values in English or French.

The data keeps its own values (band labels, ISO codes, numbers); only what is
shown (headers, band words, yes/no, 'unknown') is translated here, for the
XLSX, the CSV for Excel and the printed page alike.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import pandas as pd

from geo_service.analysis.areas import OUTSIDE
from geo_service.analysis.coverage import NO_SERVICE
from geo_service.analysis.report import INPUT_PREFIX, ProximityReport, table
from geo_service.analysis.report_text import text
from geo_service.i18n import text_of

WALK_WORDS = {"within one hour's walk": "within_hour", "over one hour's walk": "over_hour"}  # scenarios.WALK_BANDS
WALK_KMH_DEFAULT = 5.0  # the analysis's default walking speed (analysis/scenarios.py WALK_KMH)


def band_text(label: object, lang: str) -> object:
    """'over 20 km' → 'plus de 20 km', 'no service in reach' → 'aucun service à portée' (others as they are)."""
    if not isinstance(label, str):
        return label
    if label == NO_SERVICE:
        return text("no_service", lang)
    if label in WALK_WORDS:
        return text(WALK_WORDS[label], lang)
    if label.startswith("over "):
        return f"{text('over', lang)} {label[5:]}"
    return label


def communities_table(report: ProximityReport, lang: str, walk_kmh: float = WALK_KMH_DEFAULT) -> pd.DataFrame:
    """One row per community: who, where, the nearest facility, distance, band, walking time, then the
    input's own columns; headers in ``lang``."""
    frame = table(report.results, report.community_columns)  # walk_min: measured by the analysis itself
    frame["lat"] = frame.geometry.y.round(6)
    frame["lon"] = frame.geometry.x.round(6)
    frame = pd.DataFrame(frame.drop(columns=frame.geometry.name))
    for column in ("band", "own_country_band", "dry_band", "wet_band", "walk_band", "dry_walk_band", "wet_walk_band"):
        if column in frame.columns:
            frame[column] = frame[column].map(lambda v: band_text(v, lang))
    if "moves_closer" in frame.columns:
        frame["moves_closer"] = frame["moves_closer"].map(
            lambda v: None if pd.isna(v) else text("yes" if v else "no", lang))
    return frame.rename(columns=lambda c: header(c, lang))


def header(column: str, lang: str) -> str:
    if column.startswith(INPUT_PREFIX):
        return column  # the survey's own name, prefixed: it must stay recognisable to join back
    return text(f"col_{column}", lang, default=column)


def summary_table(report: ProximityReport, lang: str) -> pd.DataFrame:
    rows = [{header("country", lang): r["country"], header("band", lang): band_text(r["band"], lang),
             text("communities", lang): r["communities"], header("population", lang): r["population"],
             text("unknown_population", lang): r["unknown_population"]} for r in report.summary]
    return pd.DataFrame(rows)


def underserved_table(report: ProximityReport, lang: str) -> pd.DataFrame:
    shown = ["row", "label", "country", "population", "distance_m", "service_name"]
    frame = table(report.underserved)
    frame = pd.DataFrame(frame[[c for c in shown if c in frame.columns]])
    return frame.rename(columns=lambda c: header(c, lang))


def cross_border_table(report: ProximityReport, lang: str) -> pd.DataFrame:
    if not report.cross_border:
        return pd.DataFrame({text("note", lang): [text("no_cross_border", lang)]})
    return pd.DataFrame([{text("from_band", lang): band_text(m["from_band"], lang),
                          text("to_band", lang): band_text(m["to_band"], lang),
                          text("communities", lang): m["communities"]} for m in report.cross_border["moves"]])


def input_names(report: ProximityReport, store, lang: str) -> dict[str, str]:
    """The inputs as a reader knows them: a layer's title in ``lang``, or the uploaded file's name."""
    names = {}
    for role in ("communities", "services"):
        label = report.inputs[role]
        known = store is not None and label in store.catalogue
        names[role] = store.catalogue.get(label).title.get(lang) if known else label
    return names


def method_lines(report: ProximityReport, lang: str, walk_kmh: float, sources: Sequence[str] = (),
                 store=None) -> list[str]:
    """What was analysed and how, in plain words (the XLSX's last sheet and the printed page's note)."""
    bands = ", ".join(f"{b:g}" for b in report.bands_km)
    walk = report.walk or {"kmh": walk_kmh, "detour": 1.0, "hour_km": walk_kmh}
    lines = [text("method_distance", lang), text("method_bands", lang).format(bands=bands),
             text("method_unknown", lang),
             text("method_walk", lang).format(kmh=f"{walk['kmh']:g}", detour=f"{walk['detour']:g}",
                                              hour_km=f"{walk['hour_km']:g}"),
             text("method_inputs", lang).format(**input_names(report, store, lang))]
    if report.scenarios:
        given = report.scenarios["assumptions"]
        lines.append(text("method_barriers", lang).format(
            barriers=given["barriers"], crossings=given["crossings"] or "—",
            tolerance=f"{given['crossing_tolerance_m']:g}",
            unknown=text("unknown_open" if given["wet_unknown_open"] else "unknown_closed", lang)))
    lines += [f"{text('source', lang)}: {s}" for s in sources]
    return lines + [f"{text('note', lang)}: {text_of(n, lang)}" for n in report.notes]


def is_missing(value: object) -> bool:
    return value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value))


def areas_table(report: ProximityReport, lang: str) -> pd.DataFrame:
    """The summary by administrative area (the chosen level): area code and name, band, communities, population."""
    rows = [{text("area_code", lang): r["code"], text("area_name", lang): r["name"] if r["code"] or r["name"] != OUTSIDE
             else text("outside", lang), header("band", lang): band_text(r["band"], lang),
             text("communities", lang): r["communities"], header("population", lang): r["population"],
             text("unknown_population", lang): r["unknown_population"]} for r in report.areas["summary"]]
    return pd.DataFrame(rows)


def grid_table(report: ProximityReport, lang: str) -> pd.DataFrame:
    """The people of the population grid by band, today and in each season."""
    grid = report.population_grid
    names = [s for s in ("none", "dry", "wet") if s in grid]
    bands = list(dict.fromkeys(b["band"] for s in names for b in grid[s]["bands"]))
    rows = [{header("band", lang): band_text(band, lang),
             **{text(f"season_{s}", lang): next((b["people"] for b in grid[s]["bands"] if b["band"] == band), 0)
                for s in names}} for band in bands]
    rows.append({header("band", lang): text("seasons_hour_people", lang),
                 **{text(f"season_{s}", lang): grid[s]["within_hour_walk"] for s in names}})
    return pd.DataFrame(rows)


def seasons_table(report: ProximityReport, lang: str) -> pd.DataFrame:
    """Today, the dry and the wet season side by side: communities by band, then what changes."""
    scenarios = report.scenarios
    names = {s: text(f"season_{s}", lang) for s in ("none", "dry", "wet")}
    counts: dict[tuple[str, str], dict[str, int]] = {}
    for scenario in ("none", "dry", "wet"):
        for row in scenarios[scenario]["summary"]:
            counts.setdefault((row["country"], row["band"]), {})[names[scenario]] = row["communities"]
    rows = [{header("country", lang): country, header("band", lang): band_text(band, lang),
             **{names[s]: cells.get(names[s], 0) for s in ("none", "dry", "wet")}}
            for (country, band), cells in counts.items()]
    open_now = scenarios["assumptions"]["crossings_open"]

    def total(entry, key):
        return sum(r["communities"] for r in entry[key])

    extra = [
        (text("seasons_open", lang), {"dry": ", ".join(open_now["dry"]) or "—",
                                      "wet": ", ".join(open_now["wet"]) or "—"}),
        (text("seasons_changed", lang), {s: scenarios[s]["changed_from_none"] for s in ("dry", "wet")}),
        (text("seasons_unreachable", lang), {s: scenarios[s]["unreachable"] for s in ("dry", "wet")}),
        (text("seasons_hour", lang), {s: total(scenarios[s], "within_hour_walk") for s in ("none", "dry", "wet")}),
        (text("seasons_moving", lang), {s: (scenarios[s]["cross_border"] or {}).get("communities_moving_closer")
                                        for s in ("none", "dry", "wet")}),
    ]
    for label, cells in extra:
        rows.append({header("country", lang): label, header("band", lang): "",
                     **{names[s]: cells.get(s, "") for s in ("none", "dry", "wet")}})
    return pd.DataFrame(rows)

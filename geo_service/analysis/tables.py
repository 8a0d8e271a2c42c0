"""The tables of a proximity report as a person reads them: headers and values in English or French.

The data keeps its own values (band labels, ISO codes, numbers); only what is
shown (headers, band words, yes/no, 'unknown') is translated here, for the
XLSX, the CSV for Excel and the printed page alike.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import pandas as pd

from geo_service.analysis.report_text import text
from geo_service.i18n import text_of
from geo_service.analysis.coverage import NO_SERVICE
from geo_service.analysis.report import INPUT_PREFIX, ProximityReport, table

WALK_KMH_DEFAULT = 5.0  # WHO/Sphere: about one hour's walk for 5 km on a straight line


def band_text(label: object, lang: str) -> object:
    """'over 20 km' → 'plus de 20 km', 'no service in reach' → 'aucun service à portée' (others as they are)."""
    if not isinstance(label, str):
        return label
    if label == NO_SERVICE:
        return text("no_service", lang)
    if label.startswith("over "):
        return f"{text('over', lang)} {label[5:]}"
    return label


def walk_minutes(distance_m: pd.Series, walk_kmh: float) -> pd.Series:
    """Walking time at ``walk_kmh`` along the straight line, whole minutes (an estimate: paths are longer)."""
    minutes = distance_m.astype("Float64") / 1000 / walk_kmh * 60
    return minutes.round(0).astype("Int64")


def communities_table(report: ProximityReport, lang: str, walk_kmh: float = WALK_KMH_DEFAULT) -> pd.DataFrame:
    """One row per community: who, where, the nearest facility, distance, band, walking time, then the
    input's own columns; headers in ``lang``."""
    frame = table(report.results, report.community_columns)
    frame.insert(frame.columns.get_loc("distance_m") + 1, "walk_minutes", walk_minutes(frame["distance_m"], walk_kmh))
    frame["lat"] = frame.geometry.y.round(6)
    frame["lon"] = frame.geometry.x.round(6)
    frame = pd.DataFrame(frame.drop(columns=frame.geometry.name))
    for column in ("band", "own_country_band"):
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
    lines = [text("method_distance", lang), text("method_bands", lang).format(bands=bands),
             text("method_unknown", lang),
             text("method_walk", lang).format(kmh=f"{walk_kmh:g}", hour_km=f"{walk_kmh:g}"),
             text("method_inputs", lang).format(**input_names(report, store, lang))]
    lines += [f"{text('source', lang)}: {s}" for s in sources]
    return lines + [f"{text('note', lang)}: {text_of(n, lang)}" for n in report.notes]


def is_missing(value: object) -> bool:
    return value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value))

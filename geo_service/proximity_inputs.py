"""Inputs of a proximity analysis: a catalogue layer or an uploaded file, as points with
``name``, ``country`` (ISO alpha-2) and ``population`` columns where the data has them."""

from __future__ import annotations

from dataclasses import dataclass, field

import geopandas as gpd
import pandas as pd

from geo_service.errors import LayerNotFoundError
from geo_service.ingest import Extent, read_upload
from geo_service.proximity import ProximityError
from geo_service.store import LayerStore

CANONICAL = {
    "name": ("name", "nom", "village", "localite", "localité", "community", "facility", "nom_structure"),
    "country": ("country", "pays", "iso2", "country_code", "iso_a2", "countrycode"),
    "population": ("population", "pop", "habitants", "population_total", "pop_total"),
}
COUNTRY_NAMES = {"mali": "ML", "senegal": "SN", "sénégal": "SN", "guinea": "GN", "guinée": "GN",
                 "guinee": "GN", "mauritania": "MR", "mauritanie": "MR"}


@dataclass
class AnalysisInput:
    frame: gpd.GeoDataFrame
    label: str  # the layer id or the file name
    notes: list[str] = field(default_factory=list)


def normalise(frame: gpd.GeoDataFrame, label: str) -> tuple[gpd.GeoDataFrame, list[str]]:
    """Canonical column names, ISO country codes, numeric populations (unknown stays unknown), points."""
    notes: list[str] = []
    frame = frame.copy()
    lowered = {str(c).strip().lower(): c for c in frame.columns if c != frame.geometry.name}
    for canonical, names in CANONICAL.items():
        if canonical in frame.columns:
            continue
        found = next((lowered[n] for n in names if n in lowered), None)
        if found is None and canonical == "country":  # e.g. country_by_osm_borders: one column, not two
            near = [original for name, original in lowered.items() if "country" in name or "pays" in name]
            found = near[0] if len(near) == 1 else None
        if found is not None:
            frame = frame.rename(columns={found: canonical})
            notes.append(f"{label}: column {found!r} read as {canonical}")
    if "country" in frame.columns:
        text = frame["country"].astype("string").str.strip()
        frame["country"] = text.str.lower().map(COUNTRY_NAMES).fillna(text.str.upper())
    if "population" in frame.columns:
        raw = frame["population"]
        numbers = pd.to_numeric(raw.astype("string").str.replace(" ", "", regex=False).str.replace(",", ".", regex=False),
                                errors="coerce")
        odd = int((numbers.isna() & raw.notna() & (raw.astype("string").str.strip() != "")).sum())
        if odd:
            notes.append(f"{label}: {odd} population values are not numbers and count as unknown")
        frame["population"] = numbers
    if len(frame) and not (frame.geom_type == "Point").all():
        others = sorted(set(frame.geom_type) - {"Point"})
        frame = frame.set_geometry(frame.geometry.representative_point())
        notes.append(f"{label}: {', '.join(others)} features replaced by a point inside each")
    return frame, notes


def from_layer(store: LayerStore, layer_id: str) -> AnalysisInput:
    try:
        frame = store.read(layer_id)
    except LayerNotFoundError as exc:
        raise ProximityError(exc.message) from None
    frame, notes = normalise(frame, layer_id)
    return AnalysisInput(frame, layer_id, notes)


def from_upload(data: bytes, filename: str, extent: Extent | None, **csv_columns) -> AnalysisInput:
    frame, notes = read_upload(data, filename, extent=extent, **csv_columns)
    frame, more = normalise(frame, filename)
    return AnalysisInput(frame, filename, notes + more)

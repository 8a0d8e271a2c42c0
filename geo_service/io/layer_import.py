"""Checks an imported file against a layer's rules and prepares what the store writes.

The rules, each refusing with a message that names the features: readable,
has geometry, WGS84 degrees (reprojected when a CRS is declared), inside the
service's area unless allowed, valid geometries (repaired with make_valid
when asked), unique ids, one geometry family (the catalogue's, for an
existing layer), a size limit. Every feature leaves with a ``source``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from geo_service.catalogue import GEOMETRY_FAMILIES, Layer
from geo_service.config import Extent, InputLimits
from geo_service.i18n import Text
from geo_service.io.bounds import listed as _listed
from geo_service.io.geojson_rules import TYPE_NAMES
from geo_service.io.ingest import ColumnChoice, IngestError, read_upload
from geo_service.store import Store

LAYER_ID = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
_FAMILY_OF = {kind: family for family, kinds in GEOMETRY_FAMILIES.items() for kind in kinds}


@dataclass(frozen=True)
class ImportOptions:
    columns: ColumnChoice = field(default_factory=ColumnChoice)
    allow_outside: bool = False
    repair: bool = False
    source: str | None = None
    limits: InputLimits = field(default_factory=InputLimits)


@dataclass
class PreparedImport:
    frame: gpd.GeoDataFrame
    geometry_type: str  # the family: Point, LineString or Polygon
    notes: list[str] = field(default_factory=list)


def check_layer_id(layer_id: str) -> str:
    if not LAYER_ID.match(layer_id or ""):
        raise IngestError(Text("error", "layer id {value} must match ^[a-z][a-z0-9_]*$ (lower-case letters, digits, "
                               "underscores; a letter first; at most 64 characters)", {"value": repr(layer_id)}))
    return layer_id


def check_geometries(frame: gpd.GeoDataFrame, filename: str, repair: bool) -> tuple[gpd.GeoDataFrame, list[str]]:
    invalid = ~shapely.is_valid(frame.geometry.values)
    if not invalid.any():
        return frame, []
    rows = [int(i) + 1 for i in frame.index[invalid]]
    reasons = [shapely.is_valid_reason(g) for g in frame.geometry.values[invalid][:3]]
    if not repair:
        raise IngestError(Text("error", "{file}: features {rows} have invalid geometries ({reasons}). Fix them, or "
                               "import with repair to apply shapely make_valid",
                               {"file": filename, "rows": _listed(rows), "reasons": "; ".join(reasons)}))
    repaired = frame.copy()
    repaired.loc[invalid, repaired.geometry.name] = shapely.make_valid(frame.geometry.values[invalid])
    return repaired, [f"{filename}: repaired invalid geometries of features {_listed(rows)} with make_valid"]


def check_family(frame: gpd.GeoDataFrame, filename: str, layer: Layer | None) -> str:
    # each geometry type named and mapped once (naming a million points one by one took 0.5 s)
    type_ids, where = np.unique(shapely.get_type_id(frame.geometry.values), return_inverse=True)
    mapped = [_FAMILY_OF.get(kind, kind) for kind in TYPE_NAMES[type_ids + 1]]
    families = pd.Series(np.array(mapped, dtype=object)[where], index=frame.index)
    if layer is not None:
        wrong = frame.index[families != layer.geometry_type]
        if len(wrong):
            kinds = sorted(set(frame.geom_type[wrong]))
            raise IngestError(Text("error", "{file}: features {rows} are {kinds}; layer {layer} holds {kind} features "
                                   "only", {"file": filename, "rows": _listed([int(i) + 1 for i in wrong]),
                                            "kinds": ", ".join(kinds), "layer": repr(layer.id),
                                            "kind": layer.geometry_type}))
        return layer.geometry_type
    counts = families.value_counts()
    if len(counts) > 1:
        minority = families[families != counts.index[0]]
        raise IngestError(Text("error", "{file}: mixed geometry types ({kinds}); features {rows} are not {kind}. "
                               "Import each type as its own layer",
                               {"file": filename, "kinds": ", ".join(counts.index), "kind": counts.index[0],
                                "rows": _listed([int(i) + 1 for i in minority.index])}))
    family = counts.index[0]
    if family not in GEOMETRY_FAMILIES:
        raise IngestError(Text("error", "{file}: geometry type {kind} cannot be a layer (use points, lines or "
                               "polygons)", {"file": filename, "kind": family}))
    return family


def check_ids(frame: gpd.GeoDataFrame, filename: str) -> list[str]:
    """Refuse duplicate or partly missing ids; an id column empty everywhere (KML placemarks have one)
    gets ids numbered from 1 in file order, as the map and the OGC API number features without one."""
    if "id" not in frame.columns:
        return []
    ids = frame["id"].astype("string").str.strip().replace("", pd.NA)
    if ids.isna().all():
        frame["id"] = [str(number) for number in range(1, len(frame) + 1)]
        return [f"{filename}: the features have no id; they are numbered 1 to {len(frame)} in file order"]
    missing = frame.index[ids.isna()]
    if len(missing):
        raise IngestError(Text("error", "{file}: features {rows} have an empty id",
                               {"file": filename, "rows": _listed([int(i) + 1 for i in missing])}))
    duplicated = sorted(set(ids[ids.duplicated()]))
    if duplicated:
        raise IngestError(Text("error", "{file}: duplicate ids {ids}: each feature needs its own id",
                               {"file": filename, "ids": _listed(duplicated)}))
    return []


def prepare_import(data: bytes, filename: str, layer: Layer | None, extent: Extent,
                   options: ImportOptions = ImportOptions()) -> PreparedImport:
    """The file as a frame ready for ``Store.replace`` or ``add_layer``, or an ``IngestError``."""
    frame, notes = read_upload(data, filename, columns=options.columns,
                               extent=None if options.allow_outside else extent, limits=options.limits)
    if frame.geometry.name != "geometry":
        frame = frame.rename_geometry("geometry")
    frame, repaired = check_geometries(frame, filename, options.repair)
    family = check_family(frame, filename, layer)
    numbered = check_ids(frame, filename)
    if "id" in frame.columns and not pd.api.types.is_integer_dtype(frame["id"]):
        frame["id"] = frame["id"].astype("string")  # whole-number ids stay whole numbers
    source = options.source or f"imported from {filename} on {date.today().isoformat()}"
    if "source" not in frame.columns:
        frame["source"] = source
    else:
        empty = frame["source"].isna() | (frame["source"].astype("string").str.strip() == "")
        frame.loc[empty, "source"] = source
    return PreparedImport(frame, family, notes + repaired + numbered)


def new_catalogue_entry(layer_id: str, prepared: PreparedImport, filename: str, title: str | None,
                        licence: str | None, source: str | None) -> dict:
    """A catalogue entry for a layer created by an import (says plainly what is not known)."""
    name = title or layer_id.replace("_", " ").capitalize()
    return {
        "id": layer_id,
        "title": {"en": name, "fr": name},
        "description": {"en": f"Imported from {filename}.", "fr": f"Importé depuis {filename}."},
        "geometry_type": prepared.geometry_type,
        "licence": licence or "not stated by the importer",
        "attribution": source or f"imported from {filename}",
        "sources": [{"name": source or filename, "citation": f"file {filename} imported on {date.today().isoformat()}",
                     "licence": licence or "not stated by the importer"}],
        "method": "Imported with geo-service layers import / PUT /api/layers; checked and reprojected to EPSG:4326.",
        "updated": date.today().isoformat(),
        "style": {"color": "#444444", "marker": "circle"} if prepared.geometry_type == "Point" else {"color": "#444444"},
    }


@dataclass(frozen=True)
class ImportOutcome:
    layer_id: str
    version: str
    created: bool
    features: int
    notes: list[str]
    changed: bool = True  # False when the file held exactly the layer's current content


def import_layer(store: Store, layer_id: str, data: bytes, filename: str, extent: Extent,
                 options: ImportOptions = ImportOptions(), *, title: str | None = None, licence: str | None = None,
                 replace: bool = False, expected_version: str | None = None) -> ImportOutcome:
    """Check a file and write it as layer ``layer_id``: a new layer, or (with ``replace``) a new version."""
    check_layer_id(layer_id)
    exists = layer_id in store.catalogue
    if exists and not replace:
        raise IngestError(Text("error", "layer {value} exists already: replace it explicitly (its current version is "
                               "kept in the history)", {"value": repr(layer_id)}))
    prepared = prepare_import(data, filename, store.catalogue.get(layer_id) if exists else None, extent, options)
    changed = True
    if exists:
        version, changed = store.write(layer_id, prepared.frame, expected_version)
        if not changed:
            prepared.notes.append(f"{filename}: same content as the current version; nothing was changed")
    else:
        store.add_layer(new_catalogue_entry(layer_id, prepared, filename, title, licence, options.source),
                        prepared.frame)
        version = store.current_version(layer_id) or ""
    return ImportOutcome(layer_id, version, not exists, len(prepared.frame), prepared.notes, changed)

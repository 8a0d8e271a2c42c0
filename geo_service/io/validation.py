"""Checks a layers folder: catalogue schema, every layer file present, RFC 7946, provenance."""

from __future__ import annotations

from pathlib import Path

from geo_service.errors import GeoServiceError
from geo_service.io.geojson_rules import document_problems
from geo_service.store import LayerStore, Store

LOCATION_ACCURACY = frozenset({"surveyed", "digitised", "approximate"})


def provenance_problems(document: dict) -> list[str]:
    """Features without a ``source``, or with a ``location_accuracy`` outside the vocabulary."""
    problems = []
    for index, feature in enumerate(document.get("features", []), start=1):
        props = feature.get("properties") or {}
        label = f"feature {index} (id {feature.get('id')!r})"
        if not str(props.get("source") or "").strip():
            problems.append(f"{label}: has no 'source' property")
        accuracy = props.get("location_accuracy")
        if accuracy is not None and accuracy not in LOCATION_ACCURACY:
            problems.append(f"{label}: location_accuracy {accuracy!r} is not one of {', '.join(sorted(LOCATION_ACCURACY))}")
    return problems


def validate_layers_dir(layers_dir: Path) -> list[str]:
    """Every problem of the folder, each starting with the file it concerns; empty when all is well."""
    try:
        store = LayerStore(layers_dir)
    except GeoServiceError as exc:
        return [exc.message]
    problems = validate_store(store)
    known = {layer.filename for layer in store.catalogue.layers}
    for extra in sorted(Path(layers_dir).glob("*.geojson")):
        if extra.name not in known:
            problems.append(f"{extra}: not in the catalogue (add an entry with its source and licence)")
    return problems


def validate_store(store: Store) -> list[str]:
    """Every problem of a store's layers (either backend), each starting with where the layer lives."""
    problems: list[str] = []
    for layer in store.catalogue.layers:
        where = store.path_for(layer.id)
        try:
            document = store.read_document(layer.id)
        except GeoServiceError as exc:
            problems.append(f"{where}: {exc.message}")
            continue
        found = [str(p) for p in document_problems(document, allowed_types=layer.allowed_geometry_types)]
        if not found and not document.get("features"):
            found = ["has no features"]
        found += provenance_problems(document) if not found else []
        problems.extend(f"{where}: {p}" for p in found)
    return problems

"""Loads the layer catalogue (layers/catalogue.json), validates it and returns frozen dataclasses."""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path
from types import MappingProxyType
from typing import Any, Mapping

import jsonschema

from geo_service.errors import CatalogueError, LayerNotFoundError
from geo_service.i18n import Text

LANGUAGES = ("en", "fr")
# Geometry types a catalogue ``geometry_type`` admits: the type and its Multi* form.
GEOMETRY_FAMILIES = {
    "Point": frozenset({"Point", "MultiPoint"}),
    "LineString": frozenset({"LineString", "MultiLineString"}),
    "Polygon": frozenset({"Polygon", "MultiPolygon"}),
}


@dataclass(frozen=True)
class Localised:
    en: str
    fr: str

    def get(self, lang: str) -> str:
        return self.fr if lang == "fr" else self.en


@dataclass(frozen=True)
class Source:
    name: str
    licence: str
    registry: str | None = None
    package: str | None = None
    version: str | None = None
    citation: str | None = None

    def describe(self) -> str:
        """One line naming the source: package and version, or the citation."""
        if self.package:
            return f"{self.name} ({self.registry} {self.package} {self.version})"
        return f"{self.name} ({self.citation})"


@dataclass(frozen=True)
class Layer:
    id: str
    title: Localised
    description: Localised
    geometry_type: str
    licence: str
    attribution: str
    sources: tuple[Source, ...]
    method: str
    updated: str
    style: Mapping[str, Any]

    @property
    def filename(self) -> str:
        return f"{self.id}.geojson"

    @property
    def allowed_geometry_types(self) -> frozenset[str]:
        return GEOMETRY_FAMILIES[self.geometry_type]

    def to_document(self) -> dict[str, Any]:
        """The entry as plain JSON-able data, as written in the catalogue."""
        return {
            "id": self.id,
            "title": {"en": self.title.en, "fr": self.title.fr},
            "description": {"en": self.description.en, "fr": self.description.fr},
            "geometry_type": self.geometry_type,
            "licence": self.licence,
            "attribution": self.attribution,
            "sources": [
                {k: v for k, v in vars(s).items() if v is not None} for s in self.sources
            ],
            "method": self.method,
            "updated": self.updated,
            "style": dict(self.style),
        }


@dataclass(frozen=True)
class Catalogue:
    layers: tuple[Layer, ...]

    @property
    def ids(self) -> tuple[str, ...]:
        return tuple(layer.id for layer in self.layers)

    def get(self, layer_id: str) -> Layer:
        for layer in self.layers:
            if layer.id == layer_id:
                return layer
        raise LayerNotFoundError(
            Text("error", "no layer {value}; known layers: {known}", {"value": repr(layer_id), "known": ", ".join(self.ids)}),
            details={"layer": layer_id},
        )

    def __contains__(self, layer_id: object) -> bool:
        return layer_id in self.ids


@lru_cache(maxsize=1)
def catalogue_schema() -> dict[str, Any]:
    text = resources.files("geo_service.schemas").joinpath("catalogue.schema.json").read_text("utf-8")
    return json.loads(text)


def _where(error: jsonschema.ValidationError) -> str:
    path = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in error.absolute_path)
    return path.lstrip(".") or "(top level)"


def parse_catalogue(document: Any, *, origin: str = "catalogue") -> Catalogue:
    """Validate a catalogue document against the schema and build the dataclasses."""
    validator = jsonschema.Draft202012Validator(catalogue_schema())
    errors = sorted(validator.iter_errors(document), key=lambda e: list(e.absolute_path))
    if errors:
        problems = [f"{origin}: {_where(e)}: {e.message}" for e in errors[:10]]
        raise CatalogueError("; ".join(problems), details={"problems": problems})
    layers = tuple(_build_layer(entry) for entry in document["layers"])
    ids = [layer.id for layer in layers]
    duplicates = sorted({i for i in ids if ids.count(i) > 1})
    if duplicates:
        raise CatalogueError(f"{origin}: duplicate layer ids: {', '.join(duplicates)}")
    return Catalogue(layers)


def _build_layer(entry: dict[str, Any]) -> Layer:
    return Layer(
        id=entry["id"],
        title=Localised(**entry["title"]),
        description=Localised(**entry["description"]),
        geometry_type=entry["geometry_type"],
        licence=entry["licence"],
        attribution=entry["attribution"],
        sources=tuple(Source(**s) for s in entry["sources"]),
        method=entry["method"],
        updated=entry["updated"],
        style=MappingProxyType(dict(entry["style"])),
    )


def load_catalogue(path: Path) -> Catalogue:
    """Read and validate the catalogue file at ``path``."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise CatalogueError(f"{path.name}: catalogue file not found") from None
    except OSError as exc:
        raise CatalogueError(f"{path.name}: cannot read catalogue: {exc.strerror}") from None
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        raise CatalogueError(f"{path.name}: not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})") from None
    return parse_catalogue(document, origin=path.name)

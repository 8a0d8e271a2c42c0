"""OGC API – Features Part 3 queryables: what a collection's ``filter`` and ``sortby`` may name, as JSON Schema."""

from __future__ import annotations

from collections.abc import Mapping

from geo_service.catalogue import Layer
from geo_service.ogc.cql import GEOMETRY

QUERYABLES_REL = "http://www.opengis.net/def/rel/ogc/1.0/queryables"
SCHEMA_JSON = "application/schema+json"
# catalogue geometry types → the OGC geometry formats of JSON Schema (a Multi* family keeps its type)
_GEOMETRY_FORMATS = {"Point": "geometry-point-or-multipoint", "LineString": "geometry-linestring-or-multilinestring",
                     "Polygon": "geometry-polygon-or-multipolygon"}


def queryables_document(layer: Layer, types: Mapping[str, str], href: str, lang: str = "en") -> dict:
    """The collection's queryables: each property a filter may compare, with its type, and the geometry."""
    properties: dict[str, dict] = {name: {"title": name, "type": kind} for name, kind in types.items()}
    properties[GEOMETRY] = {"title": GEOMETRY, "format": _GEOMETRY_FORMATS.get(layer.geometry_type, "geometry-any"),
                            "x-ogc-role": "primary-geometry"}
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": href,
        "type": "object",
        "title": layer.title.get(lang),
        "properties": properties,
        "additionalProperties": False,
    }

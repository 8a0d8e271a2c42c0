"""OGC API – Features Part 3 queryables and Part 5 schema: a collection's properties as JSON Schema (what
``filter`` and ``sortby`` may name; what each feature holds), titled in the reader's language."""

from __future__ import annotations

from collections.abc import Mapping

from geo_service.catalogue import Layer
from geo_service.i18n import N_, Text
from geo_service.ogc.cql import GEOMETRY

QUERYABLES_REL = "http://www.opengis.net/def/rel/ogc/1.0/queryables"
SCHEMA_JSON = "application/schema+json"
# catalogue geometry types → the OGC geometry formats of JSON Schema (a Multi* family keeps its type)
_GEOMETRY_FORMATS = {"Point": "geometry-point-or-multipoint", "LineString": "geometry-linestring-or-multilinestring",
                     "Polygon": "geometry-polygon-or-multipolygon"}


# Titles of the bundled layers' properties; any other property is titled by its name.
TITLES = {
    "id": N_("property", "Identifier"), "name": N_("property", "Name"), "name_fr": N_("property", "Name in French"),
    "country": N_("property", "Country (ISO code)"), "countries": N_("property", "Countries (ISO codes)"),
    "population": N_("property", "Population"), "population_source": N_("property", "Source of the population"),
    "source": N_("property", "Source"), "location_accuracy": N_("property", "Accuracy of the location"),
    "location_note": N_("property", "About the location"), "length_km": N_("property", "Length (km)"),
    "length_method": N_("property", "How the length was measured"),
    "from_tripoint": N_("property", "From the tripoint"), "to_tripoint": N_("property", "To the tripoint"),
    "other_figures": N_("property", "Other published figures"), "admin_level": N_("property", "Administrative level"),
    "code": N_("property", "Code"), "area_km2": N_("property", "Area (km²)"), "kind": N_("property", "Kind"),
    "launched": N_("property", "Launched"), "note": N_("property", "Note"), "type": N_("property", "Type"),
    "coordinate_method": N_("property", "How the coordinates were found"),
    "distance_to_border_km": N_("property", "Distance to the border (km)"),
    GEOMETRY: N_("property", "Geometry"),
}


def property_title(name: str, lang: str) -> str:
    return Text.of(TITLES[name], {}).render(lang) if name in TITLES else name


def queryables_document(layer: Layer, types: Mapping[str, str], href: str, lang: str = "en") -> dict:
    """The collection's queryables: each property a filter may compare, with its type, and the geometry."""
    properties: dict[str, dict] = {name: {"title": property_title(name, lang), "type": kind}
                                   for name, kind in types.items()}
    properties[GEOMETRY] = {"title": property_title(GEOMETRY, lang), "format": _GEOMETRY_FORMATS.get(layer.geometry_type, "geometry-any"),
                            "x-ogc-role": "primary-geometry"}
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": href,
        "type": "object",
        "title": layer.title.get(lang),
        "properties": properties,
        "additionalProperties": False,
    }


def schema_document(layer: Layer, names: list[str], types: Mapping[str, str], href: str, lang: str = "en") -> dict:
    """Part 5: the schema of the collection's features: every property (a date-time or mixed column as text),
    ``id`` in the role of the features' identifier, and the geometry."""
    properties: dict[str, dict] = {}
    for name in names:
        entry = {"title": property_title(name, lang), "type": types.get(name, "string")}
        if name == "id":
            entry["x-ogc-role"] = "id"
        properties[name] = entry
    properties[GEOMETRY] = {"title": property_title(GEOMETRY, lang),
                            "format": _GEOMETRY_FORMATS.get(layer.geometry_type, "geometry-any"),
                            "x-ogc-role": "primary-geometry"}
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", "$id": href, "type": "object",
            "title": layer.title.get(lang), "description": layer.description.get(lang), "properties": properties}

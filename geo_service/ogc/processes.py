"""OGC API – Processes (Part 1: Core, JSON, OGC process description): the proximity analysis as a process.

Pure documents and the mapping of an execute request to the proximity request's fields: each input
(communities, services) is a layer id, an inline GeoJSON FeatureCollection (``{"value": …}``), or a link
(``{"href": …}``) to one of this service's own layers — the service fetches nothing from elsewhere (it may
run offline, and a server that fetches what it is told to is a way into the network behind it).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence

from geo_service.errors import InvalidParameterError
from geo_service.i18n import N_, Text

PROCESS_ID = "proximity"
PROCESSES_REL = "http://www.opengis.net/def/rel/ogc/1.0/processes"
EXECUTE_REL = "http://www.opengis.net/def/rel/ogc/1.0/execute"
RESULTS_REL = "http://www.opengis.net/def/rel/ogc/1.0/results"
CONFORMANCE = [
    "http://www.opengis.net/spec/ogcapi-processes-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-processes-1/1.0/conf/ogc-process-description",
    "http://www.opengis.net/spec/ogcapi-processes-1/1.0/conf/json",
]
INPUTS = ("communities", "services", "bands", "max_km", "same_country_only", "service_types", "levels", "barriers",
          "crossings", "wet_unknown", "crossing_tolerance_m", "walk_kmh", "walk_detour", "admin", "admin_level")
_OWN_LAYER = re.compile(r"/(?:layers/([a-z][a-z0-9_]*)\.geojson|ogc/collections/([a-z][a-z0-9_]*)(?:/items)?)$")
TEXTS = {
    "title": N_("process", "Distance to health facilities"),
    "description": N_("process", "For every community: the nearest health facility and its straight-line "
                                 "distance in metres on the WGS84 ellipsoid, distance bands, who is underserved, "
                                 "and what care across the border changes. The same analysis as /api/proximity."),
    "communities": N_("process", "Communities: a layer id, a GeoJSON FeatureCollection of points, or a link to "
                                 "one of this service's layers"),
    "services": N_("process", "Health facilities: a layer id, a GeoJSON FeatureCollection of points, or a link "
                              "to one of this service's layers"),
    "bands": N_("process", "Distance bands, in km"),
    "max_km": N_("process", "Distances past this many km count as out of reach"),
    "same_country_only": N_("process", "Only facilities in the community's own country"),
    "service_types": N_("process", "Only facilities of these types"),
    "levels": N_("process", "Also the nearest facility of each level of care"),
    "barriers": N_("process", "Barrier lines (rivers) that only crossings let a route through: a line layer id "
                              "(rivers:faleme chooses features), or GeoJSON; the answer then sets the dry and the "
                              "wet season beside today's straight lines"),
    "crossings": N_("process", "Crossings of the barriers: a point layer id (default: crossings) or GeoJSON"),
    "wet_unknown": N_("process", "Whether a crossing of unknown season is open in the wet season"),
    "crossing_tolerance_m": N_("process", "Within this many metres of a crossing's points a route to it may meet "
                                          "the barrier line (the line's accuracy)"),
    "walk_kmh": N_("process", "Walking speed of the estimated walking time, km/h"),
    "walk_detour": N_("process", "Path length against the straight line, for the walking time"),
    "admin": N_("process", "Administrative areas to summarise by: a polygon layer id or GeoJSON (e.g. OCHA COD-AB "
                           "boundaries with ADMn_PCODE columns)"),
    "admin_level": N_("process", "The level the summary by area groups by (adm1, adm2, …; default: the finest)"),
    "report": N_("process", "The analysis: each community with its nearest facility and distance, and the "
                            "summaries"),
}


def _say(key: str, lang: str) -> str:
    return Text.of(TEXTS[key], {}).render(lang)


def _link(href: str, rel: str, media_type: str = "application/json", title: str | None = None) -> dict:
    link = {"href": href, "rel": rel, "type": media_type}
    if title:
        link["title"] = title
    return link


def process_summary(base: str, lang: str) -> dict:
    return {"id": PROCESS_ID, "title": _say("title", lang), "description": _say("description", lang),
            "version": "1.0.0", "jobControlOptions": ["sync-execute", "async-execute"],
            "outputTransmission": ["value"],
            "links": [_link(f"{base}/processes/{PROCESS_ID}", "self"),
                      _link(f"{base}/processes/{PROCESS_ID}/execution", EXECUTE_REL)]}


def processes_document(base: str, lang: str) -> dict:
    return {"processes": [process_summary(base, lang)], "links": [_link(f"{base}/processes", "self")]}


def process_document(base: str, layer_ids: Sequence[str], lang: str) -> dict:
    """The process description: its inputs (each with a JSON Schema) and its output."""
    layer_input = {"oneOf": [{"type": "string", "enum": list(layer_ids)},
                             {"type": "object", "contentMediaType": "application/geo+json"}]}
    inputs = {
        "communities": {"schema": layer_input},
        "services": {"schema": layer_input},
        "bands": {"schema": {"type": "array", "items": {"type": "number", "exclusiveMinimum": 0}},
                  "minOccurs": 0},
        "max_km": {"schema": {"type": "number", "exclusiveMinimum": 0, "maximum": 20000}, "minOccurs": 0},
        "same_country_only": {"schema": {"type": "boolean", "default": False}, "minOccurs": 0},
        "service_types": {"schema": {"type": "array", "items": {"type": "string"}}, "minOccurs": 0},
        "levels": {"schema": {"type": "boolean", "default": False}, "minOccurs": 0},
        "barriers": {"schema": {"oneOf": [{"type": "string"},
                                          {"type": "object", "contentMediaType": "application/geo+json"}]},
                     "minOccurs": 0},
        "crossings": {"schema": layer_input, "minOccurs": 0},
        "wet_unknown": {"schema": {"type": "string", "enum": ["closed", "open"], "default": "closed"}, "minOccurs": 0},
        "crossing_tolerance_m": {"schema": {"type": "number", "minimum": 0, "maximum": 10000, "default": 600},
                                 "minOccurs": 0},
        "walk_kmh": {"schema": {"type": "number", "minimum": 0.5, "maximum": 20, "default": 5}, "minOccurs": 0},
        "walk_detour": {"schema": {"type": "number", "minimum": 1, "maximum": 3, "default": 1.2}, "minOccurs": 0},
        "admin": {"schema": layer_input, "minOccurs": 0},
        "admin_level": {"schema": {"type": "string", "pattern": "^[A-Za-z0-9_]+$"}, "minOccurs": 0},
    }
    for name, entry in inputs.items():
        entry["title"] = _say(name, lang)
        entry.setdefault("minOccurs", 1)
        entry["maxOccurs"] = 1
    return {**process_summary(base, lang), "inputs": inputs,
            "outputs": {"report": {"title": _say("report", lang),
                                   "schema": {"type": "object", "contentMediaType": "application/json"}}}}


def execute_fields(body: bytes, layer_ids: Sequence[str]) -> tuple[dict[str, str], dict[str, tuple[bytes, str]]]:
    """An execute request's JSON as the proximity request's fields and files."""
    try:
        document = json.loads(body)
    except (ValueError, RecursionError):
        raise InvalidParameterError(Text("error", "the execute request is not JSON")) from None
    inputs = document.get("inputs") if isinstance(document, dict) else None
    if not isinstance(inputs, dict):
        raise InvalidParameterError(Text("error", "the execute request needs an inputs object"))
    unknown = sorted(set(inputs) - set(INPUTS))
    if unknown:
        raise InvalidParameterError(Text("error", "unknown inputs {names}; this process takes {allowed}",
                                         {"names": ", ".join(unknown), "allowed": ", ".join(INPUTS)}))
    values: dict[str, str] = {}
    files: dict[str, tuple[bytes, str]] = {}
    for role in ("communities", "services", "barriers", "crossings", "admin"):
        if role in inputs:
            _layer_input(role, inputs[role], layer_ids, values, files)
    for name in ("bands", "service_types"):
        if name in inputs:
            items = inputs[name]
            if not isinstance(items, list) or not all(isinstance(v, (str, int, float)) for v in items):
                raise InvalidParameterError(Text("error", "input {name} must be an array", {"name": name}))
            values[name] = ",".join(str(v) for v in items)
    for name in ("max_km", "same_country_only", "levels", "wet_unknown", "crossing_tolerance_m", "walk_kmh",
                 "walk_detour", "admin_level"):
        if name in inputs:
            value = inputs[name]
            values[name] = ("true" if value else "false") if isinstance(value, bool) else str(value)
    return values, files


def _layer_input(role: str, given, layer_ids: Sequence[str], values: dict, files: dict) -> None:
    if isinstance(given, str):
        values[role] = given
    elif isinstance(given, Mapping) and "href" in given:
        match = _OWN_LAYER.search(str(given["href"]).split("?")[0])
        layer_id = match and (match.group(1) or match.group(2))
        if not layer_id or layer_id not in layer_ids:
            raise InvalidParameterError(Text("error", "input {role}: links may name this service's layers only "
                                             "(…/layers/<id>.geojson or …/ogc/collections/<id>)", {"role": role}))
        values[role] = layer_id
    elif isinstance(given, Mapping) and given.get("type") == "FeatureCollection":
        files[f"{role}_file"] = (json.dumps(given).encode("utf-8"), f"{role}.geojson")
    elif isinstance(given, Mapping) and isinstance(given.get("value"), Mapping):
        files[f"{role}_file"] = (json.dumps(given["value"]).encode("utf-8"), f"{role}.geojson")
    else:
        raise InvalidParameterError(Text("error", "input {role} must be a layer id, a GeoJSON FeatureCollection "
                                         "or a link to one of this service's layers", {"role": role}))


def job_document(base: str, job_id: str) -> dict:
    """A job's status: the service runs a job before it answers, so a job it knows is done."""
    return {"jobID": job_id, "processID": PROCESS_ID, "type": "process", "status": "successful",
            "progress": 100,
            "links": [_link(f"{base}/jobs/{job_id}", "self"),
                      _link(f"{base}/jobs/{job_id}/results", RESULTS_REL)]}

"""POST /api/proximity/sites: where new health centres would cover the most people (analysis/sites.py).

The inputs are those of /api/proximity: layers or files (communities, services, and candidate sites, by default
the communities), barriers and crossings with a ``scenario``, and a population grid for unknown populations.
"""

from __future__ import annotations

import math

from flask import Blueprint, jsonify, request

from geo_service.errors import InvalidParameterError
from geo_service.i18n import LANGUAGES, Text, choose_language, text_of
from geo_service.lazy import LazyModule
from geo_service.params import parse_int, reject_unknown, single_values
from geo_service.web.context import get_settings, get_slots, get_store
from geo_service.web.guard import is_token_holder, request_limits

bp = Blueprint("sites", __name__)
# the analysis (pandas, pyproj, PuLP) is imported by the first request that runs one, not with the app
analysis = LazyModule("geo_service.analysis.sites")
inputs = LazyModule("geo_service.analysis.inputs")
reporting = LazyModule("geo_service.analysis.report")
OWN_FIELDS = {"candidates", "k", "within_km", "within_walk_min", "scenario"}
SHARED_FIELDS = {"communities", "services", "walk_kmh", "walk_detour", "barriers", "crossings", "wet_unknown",
                 "crossing_tolerance_m", "population_radius_km", "allow_outside", "lat_col", "lon_col",
                 "geopoint_col", "gps_accuracy_m", "lang"}
FILES = {"communities_file", "services_file", "candidates_file", "barriers_file", "crossings_file", "population_file"}


@bp.post("/api/proximity/sites")
def sites():
    uploads = request.mimetype == "multipart/form-data"
    client = (request.remote_addr or "unknown") if uploads and not is_token_holder() else None
    with get_slots().slot(client=client):  # as /api/proximity: the host's analysis slots, a client's own
        values = single_values(request.form.to_dict(flat=False) or request.args.to_dict(flat=False))
        files = {name: (upload.read(), upload.filename or name) for name, upload in request.files.items()
                 if upload.filename}
        reject_unknown(set(values) | set(files), OWN_FIELDS | SHARED_FIELDS | FILES)
        return jsonify(_answer(values, files))


def _answer(values: dict, files: dict) -> dict:
    settings, store = get_settings(), get_store()
    parsed = inputs.parse_request({k: v for k, v in values.items() if k in SHARED_FIELDS},
                           {k: v for k, v in files.items() if k != "candidates_file"})
    within_km = _number(values, "within_km", 0, 500) if values.get("within_km") else None
    walk_min = _number(values, "within_walk_min", 0, 6000) if values.get("within_walk_min") else None
    within = analysis.coverage_km(within_km, walk_min, parsed.walk_kmh, parsed.walk_detour)
    k = parse_int(values.get("k"), "k", default=1, minimum=1)
    if values.get("candidates"):
        store.catalogue.get(values["candidates"])  # 404 for an unknown layer, before any work
    extent = None if parsed.allow_outside else settings.extent
    communities, services = inputs.load_inputs(store, parsed, extent, request_limits())
    notes = communities.notes + services.notes
    if parsed.population_file is not None:
        _, communities, note = reporting.with_grid(communities, parsed.population_file, (within,),
                                                   parsed.population_radius_km)
        notes.append(note)
    candidates = communities.frame
    if values.get("candidates") or "candidates_file" in files:
        candidates = inputs.frame_of(store, values.get("candidates"), files.get("candidates_file"), extent,
                              request_limits())[0]
    setup = inputs.load_barriers(store, parsed, None, request_limits())  # a river may reach past the service's area
    scenario = values.get("scenario") or ("dry" if setup is not None else "none")
    answer = analysis.sites_answer(communities.frame, services.frame, candidates, k, within, setup, scenario)
    lang = choose_language(parsed.lang, request.accept_languages.best_match(LANGUAGES))
    answer["notes"] = [text_of(n, lang) for n in notes + (setup.notes if setup else [])]
    return answer


def _number(values: dict, name: str, low: float, high: float) -> float:
    try:
        number = float(values[name])
    except ValueError:
        number = math.nan
    if not low < number <= high:
        raise InvalidParameterError(Text("error", "{name} must be a number above {low} and at most {high}, got {value}",
                                         {"name": name, "low": f"{low:g}", "high": f"{high:g}",
                                          "value": repr(values[name])}))
    return number

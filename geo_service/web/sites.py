"""POST /api/proximity/sites: where new health centres would cover the most people (analysis/sites.py)."""

from __future__ import annotations

import math

from flask import Blueprint, jsonify, request

from geo_service.analysis.inputs import load_barriers, parse_request
from geo_service.analysis.sites import coverage_km, sites_document
from geo_service.errors import InvalidParameterError
from geo_service.i18n import Text
from geo_service.params import parse_int, reject_unknown, single_values
from geo_service.web.context import get_slots, get_store

bp = Blueprint("sites", __name__)
FIELDS = {"communities", "services", "candidates", "k", "within_km", "within_walk_min", "walk_kmh", "walk_detour",
          "barriers", "crossings", "scenario", "wet_unknown", "crossing_tolerance_m", "lang"}


@bp.post("/api/proximity/sites")
def sites():
    values = single_values(request.form.to_dict(flat=False) or request.args.to_dict(flat=False))
    reject_unknown(values, FIELDS)
    for role in ("communities", "services"):
        if not values.get(role):
            raise InvalidParameterError(Text("error", "give {role}: a point layer id", {"role": role}))
    within_km = _number(values, "within_km", 0, 500) if values.get("within_km") else None
    walk_min = _number(values, "within_walk_min", 0, 6000) if values.get("within_walk_min") else None
    request_fields = parse_request({"communities": values["communities"], "services": values["services"],
                                    **{k: v for k, v in values.items() if k in BARRIER_FIELDS}}, {})
    within = coverage_km(within_km, walk_min, request_fields.walk_kmh, request_fields.walk_detour)
    k = parse_int(values.get("k"), "k", default=1, minimum=1)
    store = get_store()
    for role in ("communities", "services", "candidates"):
        if values.get(role):
            store.catalogue.get(values[role])  # 404 for an unknown layer, before any work
    setup = load_barriers(store, request_fields, None)
    scenario = values.get("scenario") or ("dry" if setup is not None else "none")
    with get_slots().slot(client=None):  # layers only: the host's analysis slots, as /api/proximity
        return jsonify(sites_document(store, values["communities"], values["services"], values.get("candidates"),
                                      k, within, setup, scenario))


BARRIER_FIELDS = {"barriers", "crossings", "wet_unknown", "crossing_tolerance_m", "walk_kmh", "walk_detour"}


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

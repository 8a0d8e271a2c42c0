"""POST /api/proximity/sites: where new health centres would cover the most people (analysis/sites.py)."""

from __future__ import annotations

import math

from flask import Blueprint, jsonify, request

from geo_service.analysis.sites import sites_document
from geo_service.errors import InvalidParameterError
from geo_service.i18n import Text
from geo_service.params import parse_int, reject_unknown, single_values
from geo_service.web.context import get_slots, get_store

bp = Blueprint("sites", __name__)
FIELDS = {"communities", "services", "candidates", "k", "within_km", "lang"}


@bp.post("/api/proximity/sites")
def sites():
    values = single_values(request.form.to_dict(flat=False) or request.args.to_dict(flat=False))
    reject_unknown(values, FIELDS)
    for role in ("communities", "services"):
        if not values.get(role):
            raise InvalidParameterError(Text("error", "give {role}: a point layer id", {"role": role}))
    try:
        within_km = float(values.get("within_km", "5"))
    except ValueError:
        within_km = math.nan
    if not 0 < within_km <= 500:
        raise InvalidParameterError(Text("error", "within_km must be a number of km between 0 and 500"))
    k = parse_int(values.get("k"), "k", default=1, minimum=1)
    store = get_store()
    for role in ("communities", "services", "candidates"):
        if values.get(role):
            store.catalogue.get(values[role])  # 404 for an unknown layer, before any work
    with get_slots().slot(client=None):  # layers only: the host's analysis slots, as /api/proximity
        return jsonify(sites_document(store, values["communities"], values["services"], values.get("candidates"),
                                      k, within_km))

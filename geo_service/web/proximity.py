"""The proximity page and its JSON API (POST or GET /api/proximity)."""

from __future__ import annotations

import json

from flask import Blueprint, Response, jsonify, render_template, request, url_for

from geo_service.coverage import DEFAULT_BANDS_KM
from geo_service.i18n import messages
from geo_service.proximity_inputs import load_inputs, parse_request
from geo_service.proximity_report import csv_bytes, geojson_result_bytes, report_document, run_analysis
from geo_service.slots import Deadline
from geo_service.web.context import get_settings, get_slots, get_store, request_language
from geo_service.web.guard import is_token_holder, request_limits
from geo_service.web.page_map import page_map

bp = Blueprint("proximity", __name__)
PAGE_MESSAGE_KEYS = (
    "prox_run", "prox_running", "prox_error", "prox_summary", "prox_cross_border", "prox_histogram",
    "prox_underserved", "prox_notes", "prox_download_csv", "prox_download_geojson", "country", "band",
    "communities", "population", "unknown", "unknown_population", "prox_moves", "prox_from", "prox_to",
    "prox_moving_closer", "prox_beyond", "prox_no_service", "prox_distance", "prox_service", "prox_own_service",
    "prox_km", "prox_over", "field_name",
)


@bp.get("/proximity")
def page():
    lang = request_language()
    t = messages(lang)
    store = get_store()
    context_layers = [store.catalogue.get(i) for i in ("border",) if i in store.catalogue]
    config = {"messages": {k: t[k] for k in PAGE_MESSAGE_KEYS}, "api": url_for("proximity.api"), "lang": lang}
    return render_template("proximity/page.html", lang=lang, t=t, map=page_map(context_layers, lang),
                           layers=store.catalogue.layers, bands=",".join(f"{b:g}" for b in DEFAULT_BANDS_KM),
                           config_json=json.dumps(config, ensure_ascii=False))


@bp.route("/api/proximity", methods=["GET", "POST"])
def api():
    """One analysis: at most ``analysis_slots`` at once on the host (one per anonymous client), within
    ``analysis_seconds``, on uploads within the requester's limits."""
    settings = get_settings()
    holder = is_token_holder()
    with get_slots().slot(client=None if holder else (request.remote_addr or "unknown")):
        deadline = Deadline(settings.analysis_seconds)
        values = {k: v for k, v in request.values.items()}
        files = {name: (upload.read(), upload.filename or name) for name, upload in request.files.items()
                 if upload.filename}
        parsed = parse_request(values, files)
        communities, services = load_inputs(get_store(), parsed, settings.extent, request_limits(), deadline)
        report = run_analysis(communities, services, bands_km=parsed.bands_km,
                              max_distance_km=parsed.max_distance_km, same_country_only=parsed.same_country_only,
                              progress=lambda _: deadline.check("measuring distances"))
        deadline.check("measuring distances")
        return _answer(report, parsed.output)  # built inside the slot: a large answer is work too


def _answer(report, output: str) -> Response:
    if output == "csv":
        return Response(csv_bytes(report), mimetype="text/csv",
                        headers={"Content-Disposition": 'attachment; filename="proximity.csv"'})
    if output == "geojson":
        return Response(geojson_result_bytes(report), mimetype="application/geo+json",
                        headers={"Content-Disposition": 'attachment; filename="proximity.geojson"'})
    return jsonify(report_document(report))


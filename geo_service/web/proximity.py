"""The proximity page and its JSON API (POST or GET /api/proximity)."""

from __future__ import annotations

import json

from flask import Blueprint, Response, jsonify, render_template, request, url_for

from geo_service.coverage import DEFAULT_BANDS_KM
from geo_service.i18n import messages
from geo_service.proximity_inputs import load_inputs, parse_request
from geo_service.proximity_report import csv_bytes, geojson_result_bytes, report_document, run_analysis
from geo_service.web.context import get_settings, get_store, request_language
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
    values = {k: v for k, v in request.values.items()}
    files = {name: (upload.read(), upload.filename or name) for name, upload in request.files.items()
             if upload.filename}
    parsed = parse_request(values, files)
    settings = get_settings()
    communities, services = load_inputs(get_store(), parsed, settings.extent, settings.max_features)
    report = run_analysis(communities, services, bands_km=parsed.bands_km, max_distance_km=parsed.max_distance_km,
                          same_country_only=parsed.same_country_only)
    if parsed.output == "csv":
        return Response(csv_bytes(report), mimetype="text/csv",
                        headers={"Content-Disposition": 'attachment; filename="proximity.csv"'})
    if parsed.output == "geojson":
        return Response(geojson_result_bytes(report), mimetype="application/geo+json",
                        headers={"Content-Disposition": 'attachment; filename="proximity.geojson"'})
    return jsonify(report_document(report))


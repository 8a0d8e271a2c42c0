"""The proximity page and its JSON API (POST or GET /api/proximity)."""

from __future__ import annotations

import json

from flask import Blueprint, Response, current_app, render_template, request, url_for

from geo_service.coverage import DEFAULT_BANDS_KM
from geo_service.i18n import LANGUAGES, choose_language, messages
from geo_service.proximity_inputs import load_inputs, parse_request
from geo_service.proximity_report import csv_bytes, geojson_result_bytes, report_document, run_analysis
from geo_service.analysis.workbook import excel_csv_bytes, xlsx_bytes
from geo_service.slots import Deadline
from geo_service.web.context import get_cache, get_settings, get_slots, get_store, request_language
from geo_service.web.guard import is_token_holder, request_limits
from geo_service.web.page_map import page_map

bp = Blueprint("proximity", __name__)
PAGE_MESSAGE_KEYS = (
    "prox_run", "prox_running", "prox_error", "prox_summary", "prox_cross_border", "prox_histogram",
    "prox_underserved", "prox_notes", "prox_download_csv", "prox_download_geojson", "prox_download_xlsx",
    "prox_download_pdf", "country", "band",
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
    """One analysis, within ``analysis_seconds``, on uploads within the requester's limits.

    Analyses run in one of the host's ``analysis_slots``; one with uploads from an anonymous
    client also takes one of that client's ``client_slots``. An analysis of the service's own
    layers is cached per layer version: asked again (or shared as a link), it costs nothing.
    """
    settings = get_settings()
    uploads = request.mimetype == "multipart/form-data"  # known from the header, before any body is read
    client = (request.remote_addr or "unknown") if uploads and not is_token_holder() else None
    if not uploads:
        values = {k: v for k, v in request.values.items()}
        parsed = parse_request(values, {})
        key = _cache_key(parsed, values)
        if key is not None:
            body = get_cache().response(key + (request_language(),), lambda: _run(parsed, settings, client))
            return _response(body, parsed.output)
    with get_slots().slot(client=client):
        values = {k: v for k, v in request.values.items()}
        files = {name: (upload.read(), upload.filename or name) for name, upload in request.files.items()
                 if upload.filename}
        parsed = parse_request(values, files)
        return _response(_encode(_analyse(parsed, settings), parsed), parsed.output)


def _cache_key(parsed, values: dict) -> tuple | None:
    """Both inputs are layers: the answer depends only on their versions and the request's fields."""
    store = get_store()
    if parsed.communities not in store.catalogue or parsed.services not in store.catalogue:
        return None  # the analysis itself says what is wrong
    return ("proximity", store.version(parsed.communities), store.version(parsed.services),
            tuple(sorted(values.items())))


def _run(parsed, settings, client) -> bytes:
    with get_slots().slot(client=client):
        return _encode(_analyse(parsed, settings), parsed)


def _analyse(parsed, settings):
    deadline = Deadline(settings.analysis_seconds)
    communities, services = load_inputs(get_store(), parsed, settings.extent, request_limits(), deadline)
    report = run_analysis(communities, services, bands_km=parsed.bands_km, max_distance_km=parsed.max_distance_km,
                          same_country_only=parsed.same_country_only,
                          progress=lambda _: deadline.check("measuring distances"))
    deadline.check("measuring distances")
    return report


def _encode(report, parsed) -> bytes:
    """The answer's bytes in the request's language, built inside the slot: a large answer is work too."""
    lang = choose_language(parsed.lang, request.accept_languages.best_match(LANGUAGES))
    if parsed.output == "csv":
        return excel_csv_bytes(report, lang, parsed.walk_kmh) if parsed.excel else csv_bytes(report)
    if parsed.output == "geojson":
        return geojson_result_bytes(report)
    if parsed.output == "xlsx":
        return xlsx_bytes(report, lang, parsed.walk_kmh, _sources(parsed, lang), get_store())
    if parsed.output == "pdf":
        from geo_service.analysis.pdf_report import pdf_bytes
        return pdf_bytes(report, get_store(), lang, parsed.walk_kmh, _sources(parsed, lang))
    return current_app.json.dumps(report_document(report)).encode("utf-8")


def _sources(parsed, lang: str) -> list[str]:
    """The catalogue's sources of the layers analysed (files are named in the report's inputs)."""
    store = get_store()
    layers = [store.catalogue.get(i) for i in (parsed.communities, parsed.services) if i and i in store.catalogue]
    return [f"{layer.title.get(lang)}: {source.describe()} ({source.licence})" for layer in layers
            for source in layer.sources]


_MEDIA = {"csv": ("text/csv", "proximity.csv"), "geojson": ("application/geo+json", "proximity.geojson"),
          "xlsx": ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "proximity.xlsx"),
          "pdf": ("application/pdf", "proximity.pdf")}


def _response(body: bytes, output: str) -> Response:
    if output in _MEDIA:
        media_type, filename = _MEDIA[output]
        return Response(body, mimetype=media_type,
                        headers={"Content-Disposition": f'attachment; filename="{filename}"'})
    return Response(body, mimetype="application/json")

"""The proximity page and its JSON API (POST or GET /api/proximity)."""

from __future__ import annotations

import json

from flask import Blueprint, Response, current_app, render_template, request, url_for

from geo_service.errors import GeoServiceError
from geo_service.i18n import LANGUAGES, Text, choose_language, messages
from geo_service.lazy import LazyModule
from geo_service.params import reject_unknown, single_values
from geo_service.slots import Deadline
from geo_service.web.context import (
    get_cache,
    get_results,
    get_settings,
    get_slots,
    get_store,
    request_language,
)
from geo_service.web.guard import is_token_holder, request_limits
from geo_service.web.page_map import page_map
from geo_service.web.urls import external_url

bp = Blueprint("proximity", __name__)
# the analysis (pandas, GDAL, pyproj) is imported by the first request that runs one, not with the app
coverage = LazyModule("geo_service.analysis.coverage")
inputs = LazyModule("geo_service.analysis.inputs")
reporting = LazyModule("geo_service.analysis.report")
scenarios = LazyModule("geo_service.analysis.scenarios")
writers = LazyModule("geo_service.io.writers")
ROLES = ("communities", "services")
MEASURING = Text("stage", "measuring distances")
PAGE_MESSAGE_KEYS = (
    "prox_run", "prox_running", "prox_error", "prox_summary", "prox_cross_border", "prox_histogram",
    "prox_underserved", "prox_notes", "prox_download_csv", "prox_download_geojson", "prox_download_xlsx",
    "prox_download_pdf", "prox_permalink", "prox_first_contact", "prox_referral", "prox_pick_title",
    "prox_pick_intro", "prox_pick_lat", "prox_pick_lon", "prox_pick_geopoint", "prox_pick_run", "prox_walk",
    "prox_estimate", "country", "band",
    "communities", "population", "unknown", "unknown_population", "prox_moves", "prox_from", "prox_to",
    "prox_moving_closer", "prox_beyond", "prox_no_service", "prox_distance", "prox_service", "prox_own_service",
    "prox_km", "prox_over", "field_name", "field_type", "prox_legend", "prox_line", "prox_partial",
    "prox_seasons", "prox_today", "prox_dry", "prox_wet", "prox_open_crossings", "prox_changed", "prox_within_hour",
    "prox_unreachable", "prox_via", "prox_by_area", "prox_area", "prox_outside", "prox_grid_people",
    "prox_estimated", "prox_sites", "prox_sites_intro", "prox_sites_k", "prox_sites_within", "prox_sites_walk",
    "prox_sites_scenario", "prox_sites_run", "prox_sites_newly", "prox_sites_total", "prox_sites_unweighted",
    "prox_sites_people", "prox_sites_communities", "colon", "prox_barrier_line", "prox_crossing_all_year",
    "prox_crossing_other",
)
MAX_LISTED_FEATURES = 20  # a line layer's features offered one by one as barriers, up to this many


def barrier_choices(store, lang: str) -> list[tuple[str, str]]:
    """The barriers the form offers: each line layer, and each of its features (by id) when there are few."""
    choices = []
    for layer in store.catalogue.layers:
        if layer.geometry_type != "LineString" or layer.id == "border":
            continue
        title = layer.title.get(lang)
        try:  # a layer is read only when it is small enough to list: the page stays cheap to draw
            if 1 < store.summary(layer.id).feature_count <= MAX_LISTED_FEATURES:
                frame = store.read(layer.id)
                if "id" in frame.columns:
                    names = frame["name_fr"] if lang == "fr" and "name_fr" in frame.columns \
                        else frame.get("name", frame["id"])
                    choices += [(f"{layer.id}:{fid}", f"{name} ({title})") for fid, name in zip(frame["id"], names)]
        except GeoServiceError:
            continue  # an unavailable layer is not offered
        choices.append((layer.id, title))
    return choices


@bp.get("/proximity")
def page(result: str | None = None):
    """The form and the map; with ``result`` (a saved analysis's API URL) the page opens on that result."""
    lang = request_language()
    t = messages(lang)
    store = get_store()
    context_layers = [store.catalogue.get(i) for i in ("border",) if i in store.catalogue]
    config = {"messages": {k: t[k] for k in PAGE_MESSAGE_KEYS}, "api": url_for("proximity.api"),
              "sites_api": url_for("sites.sites"), "lang": lang, "layers": list(store.catalogue.ids),
              "items": url_for("ogc.items", layer_id="LAYER_ID"),
              "result": result}
    return render_template("proximity/page.html", lang=lang, t=t, map=page_map(context_layers, lang, extra_js=("layout.js", "proximity_parts.js", "proximity.js")),
                           layers=store.catalogue.layers, bands=",".join(f"{b:g}" for b in coverage.DEFAULT_BANDS_KM),
                           barriers=barrier_choices(store, lang),
                           config_json=json.dumps(config, ensure_ascii=False))


@bp.get("/proximity/r/<result_id>")
def result_page(result_id: str):
    """A saved analysis, reopened from its permanent link (in the language of the request)."""
    get_results().open(result_id)  # 404 for an unknown or expired id
    return page(result=url_for("proximity.result_api", result_id=result_id))


@bp.route("/api/proximity", methods=["GET", "POST"])
def api():
    """One analysis, within ``analysis_seconds``, on uploads within the requester's limits.

    Analyses run in one of the host's ``analysis_slots``; one with uploads from an anonymous
    client also takes one of that client's ``client_slots``. An analysis of the service's own
    layers is cached per layer version: asked again, it costs nothing. With ``save=true`` the
    analysis is kept behind a permanent link, which the answer's ``links`` give.
    """
    settings = get_settings()
    uploads = request.mimetype == "multipart/form-data"  # known from the header, before any body is read
    client = (request.remote_addr or "unknown") if uploads and not is_token_holder() else None
    if not uploads:
        values = {k: v for k, v in request.values.items()}
        parsed = inputs.parse_request(values, {})
        key = _cache_key(parsed, values)
        if key is not None and not parsed.save:
            body = get_cache().response(key + (request_language(),), lambda: _run(parsed, settings, client))
            return _response(body, parsed.output)
    with get_slots().slot(client=client):
        values = {k: v for k, v in request.values.items()}
        files = {name: (upload.read(), upload.filename or name) for name, upload in request.files.items()
                 if upload.filename}
        parsed = inputs.parse_request(values, files)
        report = _analyse(parsed, settings)
        links = _result_links(_save(parsed, values, files)) if parsed.save else None
        return _response(_encode(report, parsed, links), parsed.output)


@bp.get("/api/proximity/r/<result_id>")
def result_api(result_id: str):
    """A saved analysis in any output (``format``, ``lang``, ``excel``): measured again from its own inputs."""
    results = get_results()
    saved = results.open(result_id)
    asked = single_values(request.args.to_dict(flat=False))
    reject_unknown(asked, inputs.PRESENTATION_FIELDS - {"save"})
    files = {role: results.read(saved, role) for role in saved.files}
    parsed = inputs.parse_request({**saved.parameters, **asked}, files)
    lang = choose_language(parsed.lang, request.accept_languages.best_match(LANGUAGES))
    key = ("result", result_id, parsed.output, parsed.excel, lang, parsed.offset, parsed.limit)
    body = get_cache().response(key, lambda: _run(parsed, get_settings(), None, _result_links(result_id)))
    return _response(body, parsed.output)


def _save(parsed, values: dict, files: dict) -> str:
    """Keep the inputs as analysed: the uploads as sent, and each layer's file at this version."""
    parameters = {k: v for k, v in values.items() if k not in inputs.PRESENTATION_FIELDS and k not in ROLES}
    stored = dict(files)
    store = get_store()
    for role in ROLES:
        layer_id = getattr(parsed, role)
        if layer_id:
            stored[f"{role}_file"] = (store.file_bytes(layer_id), f"{layer_id}.geojson")
    if parsed.barriers:  # only the features chosen, kept as they were
        layer_id, ids = scenarios.split_selection(parsed.barriers)
        frame = store.read(layer_id)
        chosen = frame[frame["id"].astype(str).isin(ids)] if ids else frame
        stored["barriers_file"] = (writers.geojson_bytes(chosen), f"{layer_id}.geojson")
        parameters.pop("barriers")
    if parsed.admin:
        stored["admin_file"] = (store.file_bytes(parsed.admin), f"{parsed.admin}.geojson")
        parameters.pop("admin")
    if (parsed.barriers or parsed.barriers_file) and not parsed.crossings_file:
        layer_id = parsed.crossings or "crossings"
        if layer_id in store.catalogue:
            stored["crossings_file"] = (store.file_bytes(layer_id), f"{layer_id}.geojson")
        parameters.pop("crossings", None)
    parameters["allow_outside"] = "true"  # the inputs passed the area check when they were analysed
    return get_results().save(parameters, stored)


def _result_links(result_id: str) -> list[dict]:
    return [{"rel": "alternate", "type": "text/html", "title": "This result on a map (permanent link)",
             "href": external_url("proximity.result_page", result_id=result_id)},
            {"rel": "self", "type": "application/json", "title": "This result as JSON (permanent link)",
             "href": external_url("proximity.result_api", result_id=result_id)}]


def _cache_key(parsed, values: dict) -> tuple | None:
    """Both inputs are layers: the answer depends only on their versions and the request's fields."""
    store = get_store()
    layers = [parsed.communities, parsed.services]
    if parsed.barriers:
        layers += [scenarios.split_selection(parsed.barriers)[0], parsed.crossings or "crossings"]
    if parsed.admin:
        layers.append(parsed.admin)
    if any(layer not in store.catalogue for layer in layers):
        return None  # the analysis itself says what is wrong
    return ("proximity", *(store.version(layer) for layer in layers), tuple(sorted(values.items())))


def _run(parsed, settings, client, links: list[dict] | None = None) -> bytes:
    with get_slots().slot(client=client):
        return _encode(_analyse(parsed, settings), parsed, links)


def _analyse(parsed, settings):
    deadline = Deadline(settings.analysis_seconds)
    communities, services = inputs.load_inputs(get_store(), parsed, settings.extent, request_limits(), deadline)
    # rivers and boundaries may reach past the service's area: only the communities and services are held to it
    barriers = inputs.load_barriers(get_store(), parsed, None, request_limits())
    areas = inputs.load_areas(get_store(), parsed, None, request_limits())
    report = reporting.run_analysis(communities, services, bands_km=parsed.bands_km,
                                    max_distance_km=parsed.max_distance_km,
                                    same_country_only=parsed.same_country_only,
                                    progress=lambda _: deadline.check(MEASURING),
                                    service_types=parsed.service_types, levels=parsed.levels, barriers=barriers,
                                    walk_kmh=parsed.walk_kmh, walk_detour=parsed.walk_detour, areas=areas,
                                    admin_level=parsed.admin_level, grid_source=parsed.population_file,
                                    radius_km=parsed.population_radius_km)
    deadline.check(MEASURING)
    return report


def _encode(report, parsed, links: list[dict] | None = None) -> bytes:
    """The answer's bytes in the request's language, built inside the slot: a large answer is work too."""
    lang = choose_language(parsed.lang, request.accept_languages.best_match(LANGUAGES))
    from geo_service.analysis.workbook import (  # XlsxWriter only for the files
        excel_csv_bytes,
        xlsx_bytes,
    )

    if parsed.output == "csv":
        return excel_csv_bytes(report, lang, parsed.walk_kmh) if parsed.excel else reporting.csv_bytes(report)
    if parsed.output == "geojson":
        return reporting.geojson_result_bytes(report)
    if parsed.output == "parquet":
        return reporting.parquet_result_bytes(report)
    if parsed.output == "xlsx":
        return xlsx_bytes(report, lang, parsed.walk_kmh, _sources(parsed, lang), get_store())
    if parsed.output == "pdf":
        from geo_service.analysis.pdf_report import pdf_bytes
        return pdf_bytes(report, get_store(), lang, parsed.walk_kmh, _sources(parsed, lang))
    return reporting.report_json(report, current_app.json.dumps, lang=lang, offset=parsed.offset,
                                 limit=parsed.limit, extra={"links": links} if links else None)


def _sources(parsed, lang: str) -> list[str]:
    """The catalogue's sources of the layers analysed (files are named in the report's inputs)."""
    store = get_store()
    layers = [store.catalogue.get(i) for i in (parsed.communities, parsed.services) if i and i in store.catalogue]
    return [f"{layer.title.get(lang)}: {source.describe()} ({source.licence})" for layer in layers
            for source in layer.sources]


_MEDIA = {"csv": ("text/csv", "proximity.csv"), "geojson": ("application/geo+json", "proximity.geojson"),
          "parquet": ("application/vnd.apache.parquet", "proximity.parquet"),
          "xlsx": ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "proximity.xlsx"),
          "pdf": ("application/pdf", "proximity.pdf")}


def _response(body: bytes, output: str) -> Response:
    if output in _MEDIA:
        media_type, filename = _MEDIA[output]
        return Response(body, mimetype=media_type,
                        headers={"Content-Disposition": f'attachment; filename="{filename}"'})
    return Response(body, mimetype="application/json")

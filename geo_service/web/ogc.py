"""OGC API – Features routes under /ogc: thin adapters over geo_service.ogc and the caches."""

from __future__ import annotations

import dataclasses
import functools
import json

from flask import Blueprint, Response, render_template, request
from werkzeug.datastructures import MIMEAccept
from werkzeug.http import parse_accept_header

from geo_service.errors import GeoServiceError
from geo_service.feature_cache import response_tag
from geo_service.i18n import messages
from geo_service.ogc import features as ogc
from geo_service.ogc.crs import CRS84, feature_texts_in
from geo_service.ogc.openapi import openapi_document
from geo_service.ogc.preview import geometry_summary, svg_preview
from geo_service.ogc.queryables import SCHEMA_JSON, queryables_document, schema_document
from geo_service.store.base import LayerSnapshot, StaleSnapshot
from geo_service.store.features import feature_etag
from geo_service.web.caching import conditional
from geo_service.web.context import get_cache, get_store, request_language
from geo_service.web.urls import ogc_base

bp = Blueprint("ogc", __name__, url_prefix="/ogc")


def _format(f: str | None) -> str:
    return ogc.negotiate(f, _best_type(request.environ.get("HTTP_ACCEPT", "")))


@functools.lru_cache(maxsize=256)
def _best_type(accept: str) -> str | None:
    """The media type of ours an Accept header prefers, worked out once per header value: clients send the
    same few, and werkzeug's parse took 13 µs for ``*/*`` and 29 µs for a browser's, at every request."""
    return parse_accept_header(accept, MIMEAccept).best_match([ogc.JSON, ogc.GEOJSON, ogc.HTML])


def _json(document: dict | str | bytes, media_type: str = ogc.JSON) -> Response:
    body = document if isinstance(document, (str, bytes)) else json.dumps(document, ensure_ascii=False)
    response = Response(body, mimetype=media_type)
    if isinstance(document, dict) and isinstance(document.get("links"), list):
        response.headers["Link"] = ogc.link_header(document["links"])
    response.add_etag()
    return conditional(response)


def _items_page(layer_id: str, features: list[dict], matched: int, links: list[dict]) -> Response:
    layer = get_store().catalogue.get(layer_id)
    colour = str(layer.style.get("color", "#1f6feb"))
    return _html("ogc/items.html", layer=layer, features=features, matched=matched, links=links,
                 preview=svg_preview(features, colour, layer.title.get(request_language())),
                 summaries=[geometry_summary(f.get("geometry")) for f in features])


def _html(template: str, **context) -> Response:
    lang = request_language()
    response = Response(render_template(template, lang=lang, t=messages(lang), **context), mimetype="text/html")
    response.add_etag()
    return conditional(response)


def _simple_format(allow_crs: bool = False) -> str:
    """json or html for a request whose only parameters are f (and lang, crs)."""
    return _format(ogc.parse_simple_query(request.args.to_dict(flat=False), allow_crs=allow_crs))


def _respond(document: dict, title: str, fmt: str, media_type: str = ogc.JSON) -> Response:
    if fmt == "html":
        return _html("ogc/document.html", title=title, document=document)
    return _json(document, media_type)


def _link_lang(fmt: str) -> str | None:
    """The language HTML pages' links carry (JSON documents' links stay plain)."""
    return request_language() if fmt == "html" else None


@bp.get("/")
def landing():
    lang = request_language()
    t = messages(lang)
    fmt = _simple_format()
    document = ogc.landing_document(ogc_base(), t["site_title"], t["ogc_description"], fmt, lang, _link_lang(fmt))
    return _respond(document, t["site_title"], fmt)


@bp.get("/conformance")
def conformance():
    return _respond(ogc.conformance_document(), messages(request_language())["conformance"], _simple_format())


@bp.get("/api")
def api():
    store = get_store()
    layers = {s.layer.id: store.snapshot(s.layer.id) for s in store.summaries()}
    properties = {layer_id: layer.property_names for layer_id, layer in layers.items()}
    fmt = _simple_format()
    # The JSON definition stays in English for clients; its HTML view speaks the reader's language.
    types = {layer_id: layer.property_types() for layer_id, layer in layers.items()}
    document = openapi_document(store.catalogue, properties, ogc_base(), request_language() if fmt == "html" else "en",
                                types)
    return _respond(document, "OpenAPI", fmt, ogc.OPENAPI_JSON)


@bp.get("/collections")
def collections():
    fmt = _simple_format()
    document = ogc.collections_document(get_store().summaries(), ogc_base(), request_language(), fmt, _link_lang(fmt))
    return _respond(document, messages(request_language())["layers"], fmt)


@bp.get("/collections/<layer:layer_id>")
def collection(layer_id: str):
    fmt = _simple_format()
    document = ogc.collection_document(get_store().summary(layer_id), ogc_base(), request_language(), fmt,
                                       _link_lang(fmt))
    return _respond(document, document["title"], fmt)


@bp.get("/collections/<layer:layer_id>/queryables")
def queryables(layer_id: str):
    fmt = _simple_format()
    store = get_store()
    href = f"{ogc_base()}/collections/{layer_id}/queryables"
    document = queryables_document(store.catalogue.get(layer_id), store.snapshot(layer_id).property_types(), href,
                                   request_language())
    return _respond(document, document["title"], fmt, SCHEMA_JSON)


@bp.get("/collections/<layer:layer_id>/schema")
def schema(layer_id: str):
    fmt = _simple_format()
    store = get_store()
    layer = store.snapshot(layer_id)
    document = schema_document(store.catalogue.get(layer_id), layer.property_names, layer.property_types(),
                               f"{ogc_base()}/collections/{layer_id}/schema", request_language())
    return _respond(document, document["title"], fmt, SCHEMA_JSON)


@bp.get("/collections/<layer:layer_id>/items")
def items(layer_id: str):
    return _on_current_version(layer_id, _items)


def _on_current_version(layer_id: str, answer):
    """``answer(layer_id, snapshot)`` of the version this process saw last (on PostGIS no round trip before the
    page's own statement, which answers the version), asked again of the version read now if that has moved
    on, or if the request is refused while the remembered version might not be the current one (a property
    added since)."""
    store = get_store()
    layer = store.snapshot(layer_id, remembered=True)
    try:
        return answer(layer_id, layer)
    except StaleSnapshot:
        pass
    except GeoServiceError:
        try:
            layer.confirm()
        except StaleSnapshot:
            pass
        else:
            raise
    return answer(layer_id, store.snapshot(layer_id))


def _items(layer_id: str, layer: LayerSnapshot) -> Response:
    cache = get_cache()
    query = ogc.parse_items_query(request.args.to_dict(flat=False), layer.property_names, layer.property_types())
    fmt = _format(query.f)
    lang = request_language()
    if fmt == "html":  # the page's links keep its language
        query = dataclasses.replace(query, lang=lang)
    base = ogc_base()

    def page(crs: str = query.crs) -> tuple[list[str], int]:
        texts, matched = layer.page(**query.store_arguments())
        return feature_texts_in(ogc.select_members(texts, query.properties, query.skip_geometry), crs), matched

    if fmt == "html":
        texts, matched = page(CRS84)  # the page's map is drawn in CRS84
        links = ogc.items_links(layer_id, base, query, matched, "html", lang)
        return _items_page(layer_id, [json.loads(text) for text in texts], matched, links)

    def build() -> bytes:  # the Link header's value, a newline (which it cannot hold), the body
        texts, matched = page()
        links = ogc.items_links(layer_id, base, query, matched, lang=lang)
        body = ogc.items_text(texts, matched, links).encode("utf-8")
        return ogc.link_header(links).encode("latin-1") + b"\n" + body

    # The links' titles are in the reader's language: it is part of the key.
    cached = cache.response(("items", layer_id, layer.version, base, query.query_string(), lang), build)
    layer.confirm()  # a cached page: its version checked (built: its statement answered it)
    link, body = cached.split(b"\n", 1)
    response = Response(body, mimetype=ogc.GEOJSON,
                        headers={"Content-Crs": f"<{query.crs}>", "Link": link.decode("latin-1")})
    response.set_etag(response_tag(layer.version, base, query.query_string(), lang))
    return conditional(response)


@bp.get("/collections/<layer:layer_id>/items/<feature_id>")
def item(layer_id: str, feature_id: str):
    fmt = _simple_format(allow_crs=True)
    crs = ogc.parse_crs(request.args.get("crs")) if fmt == "json" else CRS84
    stored = get_store().feature_text(layer_id, feature_id)
    text = feature_texts_in([stored], crs)[0]
    links = ogc.feature_links(layer_id, feature_id, ogc_base(), fmt, request_language(), _link_lang(fmt))
    if fmt == "html":
        return _items_page(layer_id, [{**json.loads(text), "links": links}], 1, links)
    response = Response(ogc.feature_with_links(text, links), mimetype=ogc.GEOJSON,
                        headers={"Content-Crs": f"<{crs}>", "Link": ogc.link_header(links)})
    if crs == CRS84:  # the feature's own ETag, which If-Match names to replace, update or delete it (Part 4)
        response.set_etag(feature_etag(stored))
    else:
        response.add_etag()
    return conditional(response)

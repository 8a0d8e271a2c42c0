"""OGC API – Features documents (landing page, conformance, collections, items, features) and their links.

Nothing here knows Flask: each builder takes the base URL of the API and
plain data, and returns a JSON-able document (or GeoJSON text for items).
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Sequence
from urllib.parse import quote

from geo_service.i18n import N_, Text
from geo_service.ogc.crs import CRS84
from geo_service.ogc.crs import SUPPORTED as SUPPORTED_CRS
from geo_service.ogc.processes import CONFORMANCE as PROCESSES_CONFORMANCE
from geo_service.ogc.processes import PROCESSES_REL
from geo_service.ogc.query import (  # noqa: F401 (the routes' one import of the OGC API)
    LIMIT_DEFAULT,
    LIMIT_MAX,
    ItemsQuery,
    negotiate,
    parse_crs,
    parse_items_query,
    parse_simple_query,
    select_members,
)
from geo_service.ogc.queryables import QUERYABLES_REL, SCHEMA_JSON
from geo_service.store import LayerSummary

CONFORMANCE_CLASSES = [
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/oas30",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/html",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson",
    "http://www.opengis.net/spec/ogcapi-features-2/1.0/conf/crs",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/queryables",
    "http://www.opengis.net/spec/ogcapi-features-4/1.0/conf/create-replace-delete",
    "http://www.opengis.net/spec/ogcapi-features-4/1.0/conf/update",
    "http://www.opengis.net/spec/ogcapi-features-4/1.0/conf/features",
    "http://www.opengis.net/spec/ogcapi-features-5/1.0/conf/schemas",
    "http://www.opengis.net/spec/ogcapi-features-5/1.0/conf/core-roles-features",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/queryables-query-parameters",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/filter",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/features-filter",
    "http://www.opengis.net/spec/cql2/1.0/conf/cql2-text",
    "http://www.opengis.net/spec/cql2/1.0/conf/cql2-json",
    "http://www.opengis.net/spec/cql2/1.0/conf/basic-cql2",
    "http://www.opengis.net/spec/cql2/1.0/conf/advanced-comparison-operators",
    "http://www.opengis.net/spec/cql2/1.0/conf/case-insensitive-comparison",
    "http://www.opengis.net/spec/cql2/1.0/conf/basic-spatial-functions",
    "http://www.opengis.net/spec/cql2/1.0/conf/spatial-functions",
    *PROCESSES_CONFORMANCE,
    "http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/tileset",
    "http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/tilesets-list",
    "http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/geodata-tilesets",
    "http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/mvt",
]
SCHEMA_REL = "http://www.opengis.net/def/rel/ogc/1.0/schema"
TILESETS_REL = "http://www.opengis.net/def/rel/ogc/1.0/tilesets-vector"
JSON = "application/json"
GEOJSON = "application/geo+json"
HTML = "text/html"
OPENAPI_JSON = "application/vnd.oai.openapi+json;version=3.0"
_URL_SAFE = ":/?#[]@!$&'()*+,;=%-._~"  # a URL's reserved and unreserved characters: kept as they are

# Link titles, in the reader's language.
TITLES = {
    "document": N_("link", "This document"),
    "collection_self": N_("link", "This collection"),
    "collections": N_("link", "The collections"),
    "page": N_("link", "This page"),
    "feature": N_("link", "This feature"),
    "api": N_("link", "The API definition (OpenAPI 3.0)"),
    "api_doc": N_("link", "The API documentation"),
    "conformance": N_("link", "Conformance classes implemented"),
    "data": N_("link", "The feature collections"),
    "items_json": N_("link", "The features as GeoJSON"),
    "items_html": N_("link", "The features as HTML"),
    "collection": N_("link", "The collection"),
    "next": N_("link", "Next page"),
    "prev": N_("link", "Previous page"),
    "tiles": N_("link", "The features as vector tiles"),
    "queryables": N_("link", "The properties a filter may use"),
    "schema": N_("link", "The schema of the features"),
    "processes": N_("link", "The processes (analyses) this service runs"),
}
AS_JSON = N_("link", "{title} as JSON")
AS_HTML = N_("link", "{title} as HTML")


@functools.lru_cache(maxsize=256)  # the catalogues do not change while the service runs
def _title(key: str, lang: str) -> str:
    return Text.of(TITLES[key], {}).render(lang)


def _link(href: str, rel: str, media_type: str, title: str) -> dict:
    return {"href": href, "rel": rel, "type": media_type, "title": title}


def _with_lang(href: str, lang: str | None) -> str:
    return f"{href}{'&' if '?' in href else '?'}lang={lang}" if lang else href


def _self_links(href: str, current: str, key: str, lang: str, json_type: str = JSON,
                link_lang: str | None = None) -> list[dict]:
    """self + alternate links for the JSON and HTML forms of one resource."""
    joiner = "&" if "?" in href else "?"
    as_json, as_html = _alternate_titles(key, lang)
    json_link = _link(f"{href}{joiner}f=json", "self" if current == "json" else "alternate", json_type, as_json)
    html_link = _link(_with_lang(f"{href}{joiner}f=html", link_lang), "self" if current == "html" else "alternate",
                      HTML, as_html)
    return [json_link, html_link]


@functools.lru_cache(maxsize=256)  # a few keys × the languages; translations do not change while serving
def _alternate_titles(key: str, lang: str) -> tuple[str, str]:
    title = _title(key, lang)
    return Text.of(AS_JSON, {"title": title}).render(lang), Text.of(AS_HTML, {"title": title}).render(lang)


def landing_document(base: str, title: str, description: str, current: str = "json", lang: str = "en",
                     link_lang: str | None = None) -> dict:
    """``link_lang``: carried by the links to HTML pages (the reader's choice of language)."""
    return {
        "title": title,
        "description": description,
        "links": _self_links(base, current, "document", lang, link_lang=link_lang) + [
            _link(f"{base}/api", "service-desc", OPENAPI_JSON, _title("api", lang)),
            _link(_with_lang(f"{base}/api?f=html", link_lang), "service-doc", HTML, _title("api_doc", lang)),
            _link(f"{base}/conformance", "conformance", JSON, _title("conformance", lang)),
            _link(f"{base}/collections", "data", JSON, _title("data", lang)),
            _link(f"{base}/processes", PROCESSES_REL, JSON, _title("processes", lang)),
        ],
    }


def conformance_document() -> dict:
    return {"conformsTo": list(CONFORMANCE_CLASSES)}


def collection_document(summary: LayerSummary, base: str, lang: str = "en", current: str = "json",
                        link_lang: str | None = None) -> dict:
    layer = summary.layer
    href = f"{base}/collections/{layer.id}"
    return {
        "id": layer.id,
        "title": layer.title.get(lang),
        "description": layer.description.get(lang),
        "itemType": "feature",
        "crs": list(SUPPORTED_CRS),
        "storageCrs": CRS84,
        "extent": {"spatial": {"bbox": [list(summary.bounds)], "crs": CRS84}},
        "license": layer.licence,
        "attribution": layer.attribution,
        "links": _self_links(href, current, "collection_self", lang, link_lang=link_lang) + [
            _link(f"{href}/items?f=json", "items", GEOJSON, _title("items_json", lang)),
            _link(_with_lang(f"{href}/items?f=html", link_lang), "items", HTML, _title("items_html", lang)),
            _link(f"{href}/tiles", TILESETS_REL, JSON, _title("tiles", lang)),
            _link(f"{href}/queryables", QUERYABLES_REL, SCHEMA_JSON, _title("queryables", lang)),
            _link(f"{href}/schema", SCHEMA_REL, SCHEMA_JSON, _title("schema", lang)),
            *license_links(layer.licence),
        ],
    }


_SPDX = re.compile(r"\b[A-Za-z][A-Za-z0-9]*(?:-[A-Za-z]+)*-[0-9][A-Za-z0-9.+-]*")  # CC-BY-4.0, ODbL-1.0, LGPL-3.0-or-later


def license_links(licence: str) -> list[dict]:
    """``license`` links to the SPDX page of each licence named in the catalogue's licence text."""
    return [_link(f"https://spdx.org/licenses/{spdx}.html", "license", HTML, spdx)
            for spdx in dict.fromkeys(_SPDX.findall(licence))]


def collections_document(summaries: Sequence[LayerSummary], base: str, lang: str = "en",
                         current: str = "json", link_lang: str | None = None) -> dict:
    return {
        "links": _self_links(f"{base}/collections", current, "collections", lang, link_lang=link_lang),
        "collections": [collection_document(s, base, lang, link_lang=link_lang) for s in summaries],
    }


def items_links(layer_id: str, base: str, query: ItemsQuery, number_matched: int, current: str = "json",
                lang: str = "en") -> list[dict]:
    href = f"{base}/collections/{layer_id}/items"
    page = _title("page", lang)
    fmt = current if current == "html" else "json"
    media = HTML if fmt == "html" else GEOJSON
    links = [
        _link(f"{href}?{query.query_string(f='json')}", "self" if current == "json" else "alternate", GEOJSON,
              Text.of(AS_JSON, {"title": page}).render(lang)),
        _link(f"{href}?{query.query_string(f='html')}", "self" if current == "html" else "alternate", HTML,
              Text.of(AS_HTML, {"title": page}).render(lang)),
        _link(f"{base}/collections/{layer_id}", "collection", JSON, _title("collection", lang)),
        _link(f"{base}/collections/{layer_id}/queryables", QUERYABLES_REL, SCHEMA_JSON, _title("queryables", lang)),
    ]
    if query.offset + query.limit < number_matched:
        links.append(_link(f"{href}?{query.query_string(offset=query.offset + query.limit, f=fmt)}",
                           "next", media, _title("next", lang)))
    if query.offset > 0:
        links.append(_link(f"{href}?{query.query_string(offset=max(0, query.offset - query.limit), f=fmt)}",
                           "prev", media, _title("prev", lang)))
    return links


def link_header(links: Sequence[dict]) -> str:
    """RFC 8288 ``Link`` header value of a document's links (href, rel, type: titles stay in the body, as
    header values are Latin-1)."""
    return ", ".join(f'<{quote(link["href"], safe=_URL_SAFE)}>; rel="{link["rel"]}"; type="{link["type"]}"'
                     for link in links)


def items_text(features: Sequence[str], number_matched: int, links: list[dict]) -> str:
    """A FeatureCollection page from features already serialised as GeoJSON text (fast paging)."""
    head = json.dumps({"type": "FeatureCollection", "numberMatched": number_matched,
                       "numberReturned": len(features), "links": links}, ensure_ascii=False)
    return head[:-1] + ',"features":[' + ",".join(features) + "]}"


def feature_links(layer_id: str, feature_id: str, base: str, current: str = "json", lang: str = "en",
                  link_lang: str | None = None) -> list[dict]:
    href = f"{base}/collections/{layer_id}/items/{feature_id}"
    return _self_links(href, current, "feature", lang, GEOJSON, link_lang=link_lang) + [
        _link(f"{base}/collections/{layer_id}", "collection", JSON, _title("collection", lang)),
    ]


def feature_with_links(feature_text: str, links: list[dict]) -> str:
    """A feature already serialised as GeoJSON text, with its links (no decoding and encoding again)."""
    return f'{feature_text[:-1]},"links":{json.dumps(links, ensure_ascii=False, separators=(",", ":"))}}}'


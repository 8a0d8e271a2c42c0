"""OGC API – Features Part 1 (Core, GeoJSON, HTML, OpenAPI 3.0): pure document builders and query parsers.

Nothing here knows Flask: each builder takes the base URL of the API and
plain data, and returns a JSON-able document (or GeoJSON text for items).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from urllib.parse import urlencode

from geo_service.errors import InvalidParameterError
from geo_service.params import Bbox, parse_bbox, parse_int, reject_unknown, single_values
from geo_service.store import LayerSummary

CONFORMANCE_CLASSES = [
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/oas30",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/html",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson",
]
CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
JSON = "application/json"
GEOJSON = "application/geo+json"
HTML = "text/html"
OPENAPI_JSON = "application/vnd.oai.openapi+json;version=3.0"
LIMIT_DEFAULT = 10
LIMIT_MAX = 10_000
OUTPUT_FORMATS = ("json", "html")
ITEMS_PARAMETERS = frozenset({"f", "bbox", "bbox-crs", "crs", "limit", "offset", "datetime"})
# RFC 3339 instant, or an interval with open ends ("..") or empty ends.
_INSTANT = r"\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2}))?"
_DATETIME = re.compile(rf"^({_INSTANT}|({_INSTANT}|\.\.)?/({_INSTANT}|\.\.)?)$")


def parse_output_format(raw: str | None) -> str | None:
    if raw is None:
        return None
    if raw not in OUTPUT_FORMATS:
        raise InvalidParameterError(f"f must be one of {', '.join(OUTPUT_FORMATS)}, got {raw!r}")
    return raw


def negotiate(f: str | None, accept_best: str | None) -> str:
    """``json`` or ``html``: the ``f`` parameter wins, then the Accept header (JSON when undecided)."""
    if f is not None:
        return f
    return "html" if accept_best == HTML else "json"


@dataclass(frozen=True)
class ItemsQuery:
    bbox: Bbox | None = None
    limit: int = LIMIT_DEFAULT
    offset: int = 0
    filters: Mapping[str, str] = field(default_factory=dict)
    f: str | None = None
    datetime: str | None = None

    def query_string(self, offset: int | None = None, f: str | None = None) -> str:
        """Canonical query string (stable order), e.g. for next/prev links and cache keys."""
        params: list[tuple[str, str]] = []
        if f or self.f:
            params.append(("f", f or self.f))
        if self.bbox is not None:
            params.append(("bbox", ",".join(repr(v) for v in self.bbox)))
        if self.datetime is not None:
            params.append(("datetime", self.datetime))
        params.append(("limit", str(self.limit)))
        params.append(("offset", str(self.offset if offset is None else offset)))
        params.extend(sorted(self.filters.items()))
        return urlencode(params)


def parse_items_query(args: Mapping[str, list[str]], property_names: Sequence[str]) -> ItemsQuery:
    """Validate the query of /collections/{id}/items; property names are equality filters."""
    values = single_values(args)
    reject_unknown(values, ITEMS_PARAMETERS | set(property_names))
    for name in ("bbox-crs", "crs"):  # Part 2 parameters; CRS84 is the only CRS served
        if values.get(name) not in (None, CRS84):
            raise InvalidParameterError(f"{name} must be {CRS84} (the only CRS served), got {values[name]!r}")
    when = values.get("datetime")
    if when is not None and not _DATETIME.match(when):
        raise InvalidParameterError(f"datetime must be an RFC 3339 instant or interval, got {when!r}")
    return ItemsQuery(
        bbox=parse_bbox(values["bbox"]) if "bbox" in values else None,
        limit=parse_int(values.get("limit"), "limit", default=LIMIT_DEFAULT, minimum=1, maximum=LIMIT_MAX),
        offset=parse_int(values.get("offset"), "offset", default=0, minimum=0),
        filters={k: v for k, v in values.items() if k not in ITEMS_PARAMETERS},
        f=parse_output_format(values.get("f")),
        datetime=when,
    )


def parse_simple_query(args: Mapping[str, list[str]], allow_crs: bool = False) -> str | None:
    """The query of the landing page, conformance, collections, one collection or one feature: ``f``, ``lang``."""
    values = single_values(args)
    reject_unknown(values, {"f", "lang", "crs"} if allow_crs else {"f", "lang"})
    if values.get("crs") not in (None, CRS84):
        raise InvalidParameterError(f"crs must be {CRS84} (the only CRS served), got {values['crs']!r}")
    return parse_output_format(values.get("f"))


def _link(href: str, rel: str, media_type: str, title: str) -> dict:
    return {"href": href, "rel": rel, "type": media_type, "title": title}


def _self_links(href: str, current: str, title: str, json_type: str = JSON) -> list[dict]:
    """self + alternate links for the JSON and HTML forms of one resource."""
    joiner = "&" if "?" in href else "?"
    json_link = _link(f"{href}{joiner}f=json", "self" if current == "json" else "alternate", json_type,
                      f"{title} as JSON")
    html_link = _link(f"{href}{joiner}f=html", "self" if current == "html" else "alternate", HTML,
                      f"{title} as HTML")
    return [json_link, html_link]


def landing_document(base: str, title: str, description: str, current: str = "json") -> dict:
    return {
        "title": title,
        "description": description,
        "links": _self_links(base, current, "This document") + [
            _link(f"{base}/api", "service-desc", OPENAPI_JSON, "The API definition (OpenAPI 3.0)"),
            _link(f"{base}/api?f=html", "service-doc", HTML, "The API documentation"),
            _link(f"{base}/conformance", "conformance", JSON, "Conformance classes implemented"),
            _link(f"{base}/collections", "data", JSON, "The feature collections"),
        ],
    }


def conformance_document() -> dict:
    return {"conformsTo": list(CONFORMANCE_CLASSES)}


def collection_document(summary: LayerSummary, base: str, lang: str = "en", current: str = "json") -> dict:
    layer = summary.layer
    href = f"{base}/collections/{layer.id}"
    return {
        "id": layer.id,
        "title": layer.title.get(lang),
        "description": layer.description.get(lang),
        "itemType": "feature",
        "crs": [CRS84],
        "storageCrs": CRS84,
        "extent": {"spatial": {"bbox": [list(summary.bounds)], "crs": CRS84}},
        "license": layer.licence,
        "attribution": layer.attribution,
        "links": _self_links(href, current, "This collection") + [
            _link(f"{href}/items?f=json", "items", GEOJSON, "The features as GeoJSON"),
            _link(f"{href}/items?f=html", "items", HTML, "The features as HTML"),
        ],
    }


def collections_document(summaries: Sequence[LayerSummary], base: str, lang: str = "en",
                         current: str = "json") -> dict:
    return {
        "links": _self_links(f"{base}/collections", current, "The collections"),
        "collections": [collection_document(s, base, lang) for s in summaries],
    }


def items_links(layer_id: str, base: str, query: ItemsQuery, number_matched: int, current: str = "json") -> list[dict]:
    href = f"{base}/collections/{layer_id}/items"
    links = [
        _link(f"{href}?{query.query_string(f='json')}", "self" if current == "json" else "alternate", GEOJSON,
              "This page as GeoJSON"),
        _link(f"{href}?{query.query_string(f='html')}", "self" if current == "html" else "alternate", HTML,
              "This page as HTML"),
        _link(f"{base}/collections/{layer_id}", "collection", JSON, "The collection"),
    ]
    if query.offset + query.limit < number_matched:
        links.append(_link(f"{href}?{query.query_string(offset=query.offset + query.limit, f='json')}",
                           "next", GEOJSON, "Next page"))
    if query.offset > 0:
        links.append(_link(f"{href}?{query.query_string(offset=max(0, query.offset - query.limit), f='json')}",
                           "prev", GEOJSON, "Previous page"))
    return links


def items_text(features: Sequence[str], number_matched: int, links: list[dict]) -> str:
    """A FeatureCollection page from features already serialised as GeoJSON text (fast paging)."""
    head = json.dumps({"type": "FeatureCollection", "numberMatched": number_matched,
                       "numberReturned": len(features), "links": links}, ensure_ascii=False)
    return head[:-1] + ',"features":[' + ",".join(features) + "]}"


def feature_document(feature_text: str, layer_id: str, feature_id: str, base: str, current: str = "json") -> dict:
    document = json.loads(feature_text)
    href = f"{base}/collections/{layer_id}/items/{feature_id}"
    document["links"] = _self_links(href, current, "This feature", GEOJSON) + [
        _link(f"{base}/collections/{layer_id}", "collection", JSON, "The collection"),
    ]
    return document


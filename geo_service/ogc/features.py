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
from geo_service.i18n import LANGUAGES, N_, Text
from geo_service.ogc.cql import parse_filter
from geo_service.ogc.queryables import QUERYABLES_REL, SCHEMA_JSON
from geo_service.params import (
    Bbox,
    parse_bbox,
    parse_flag,
    parse_int,
    reject_unknown,
    single_values,
)
from geo_service.store import LayerSummary
from geo_service.store.expressions import Expression, SortKey

CONFORMANCE_CLASSES = [
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/oas30",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/html",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/queryables",
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
    "http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/tileset",
    "http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/tilesets-list",
    "http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/geodata-tilesets",
    "http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/mvt",
]
TILESETS_REL = "http://www.opengis.net/def/rel/ogc/1.0/tilesets-vector"
CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
JSON = "application/json"
GEOJSON = "application/geo+json"
HTML = "text/html"
OPENAPI_JSON = "application/vnd.oai.openapi+json;version=3.0"
LIMIT_DEFAULT = 10
LIMIT_MAX = 10_000
OUTPUT_FORMATS = ("json", "html")
ITEMS_PARAMETERS = frozenset({"f", "bbox", "bbox-crs", "crs", "limit", "offset", "datetime", "lang", "filter",
                              "filter-lang", "filter-crs", "sortby", "properties", "skipGeometry"})
MAX_SORT_KEYS = 10
# RFC 3339 instant, or an interval with open ends ("..") or empty ends.
_INSTANT = r"\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2}))?"
_DATETIME = re.compile(rf"^({_INSTANT}|({_INSTANT}|\.\.)?/({_INSTANT}|\.\.)?)$")


def parse_output_format(raw: str | None) -> str | None:
    if raw is None:
        return None
    if raw not in OUTPUT_FORMATS:
        raise InvalidParameterError(Text("error", "f must be one of {allowed}, got {value}",
                                         {"allowed": ", ".join(OUTPUT_FORMATS), "value": repr(raw)}))
    return raw


def parse_language(raw: str | None) -> str | None:
    """``lang``: one of the languages of the pages (en, fr), or absent."""
    if raw is not None and raw not in LANGUAGES:
        raise InvalidParameterError(Text("error", "lang must be one of {allowed}, got {value}",
                                         {"allowed": ", ".join(LANGUAGES), "value": repr(raw)}))
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
    lang: str | None = None  # kept in the links, so every page of a French reading stays French
    where: Expression | None = None  # the parsed filter (Part 3)
    sortby: tuple[SortKey, ...] = ()
    properties: tuple[str, ...] | None = None  # the properties each feature carries (None: all)
    skip_geometry: bool = False
    # the query's own words for filter, filter-lang, filter-crs, sortby, properties and skipGeometry, which the
    # next and previous links repeat
    passed: tuple[tuple[str, str], ...] = ()

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
        params.extend(self.passed)
        if self.lang:
            params.append(("lang", self.lang))
        return urlencode(params)


def parse_items_query(args: Mapping[str, list[str]], property_names: Sequence[str],
                      types: Mapping[str, str] | None = None) -> ItemsQuery:
    """Validate the query of /collections/{id}/items; property names are equality filters, ``types`` (the
    queryables: name → type) what ``filter`` and ``sortby`` may name."""
    values = single_values(args)
    reject_unknown(values, ITEMS_PARAMETERS | set(property_names))
    types = dict(types or {})
    for name in ("bbox-crs", "crs"):  # Part 2 parameters; CRS84 is the only CRS served
        if values.get(name) not in (None, CRS84):
            raise InvalidParameterError(Text("error", "{name} must be {crs} (the only CRS served), got {value}",
                                             {"name": name, "crs": CRS84, "value": repr(values[name])}))
    when = values.get("datetime")
    if when is not None and not _DATETIME.match(when):
        raise InvalidParameterError(Text("error", "datetime must be an RFC 3339 instant or interval, got {value}",
                                         {"value": repr(when)}))
    if "filter" not in values and ("filter-lang" in values or "filter-crs" in values):
        raise InvalidParameterError(Text("error", "filter-lang and filter-crs go with a filter"))
    where = None if "filter" not in values else \
        parse_filter(values["filter"], values.get("filter-lang"), values.get("filter-crs"), types)
    passed = tuple((k, values[k]) for k in ("filter", "filter-lang", "filter-crs", "sortby", "properties",
                                            "skipGeometry") if k in values)
    return ItemsQuery(
        bbox=parse_bbox(values["bbox"]) if "bbox" in values else None,
        limit=parse_int(values.get("limit"), "limit", default=LIMIT_DEFAULT, minimum=1, maximum=LIMIT_MAX),
        offset=parse_int(values.get("offset"), "offset", default=0, minimum=0),
        filters={k: v for k, v in values.items() if k not in ITEMS_PARAMETERS},
        f=parse_output_format(values.get("f")),
        datetime=when,
        lang=parse_language(values.get("lang")),
        where=where,
        sortby=parse_sortby(values.get("sortby"), types),
        properties=parse_properties(values.get("properties"), property_names),
        skip_geometry=parse_flag(values.get("skipGeometry"), "skipGeometry"),
        passed=passed,
    )


def parse_sortby(raw: str | None, types: Mapping[str, str]) -> tuple[SortKey, ...]:
    """``sortby``: comma-separated queryables, each optionally prefixed by ``+`` (ascending) or ``-``."""
    if raw is None:
        return ()
    keys = []
    for part in raw.split(","):
        part = part.strip()
        name = part[1:] if part[:1] in "+-" else part
        if name not in types:
            raise InvalidParameterError(Text("error", "sortby names {name}, which is not a queryable of this "
                                             "collection; its queryables: {allowed}",
                                             {"name": repr(name), "allowed": ", ".join(types)}))
        keys.append(SortKey(name, part.startswith("-")))
    if len(keys) > MAX_SORT_KEYS or len({k.name for k in keys}) != len(keys):
        raise InvalidParameterError(Text("error", "sortby takes at most {limit} different properties",
                                         {"limit": MAX_SORT_KEYS}))
    return tuple(keys)


def parse_properties(raw: str | None, property_names: Sequence[str]) -> tuple[str, ...] | None:
    """``properties``: the comma-separated properties each feature keeps (empty: none)."""
    if raw is None:
        return None
    names = tuple(name.strip() for name in raw.split(",") if name.strip())
    unknown = [name for name in names if name not in property_names]
    if unknown:
        raise InvalidParameterError(Text("error", "properties names {name}, which this collection does not have; "
                                         "its properties: {allowed}",
                                         {"name": repr(unknown[0]), "allowed": ", ".join(property_names)}))
    return names


def select_members(texts: Sequence[str], properties: Sequence[str] | None, skip_geometry: bool) -> list[str]:
    """Feature texts with only ``properties`` (all if None) and without their geometry if ``skip_geometry``."""
    if properties is None and not skip_geometry:
        return list(texts)
    out = []
    for text in texts:
        feature = json.loads(text)
        if properties is not None and feature.get("properties") is not None:
            feature["properties"] = {k: v for k, v in feature["properties"].items() if k in properties}
        if skip_geometry:
            feature["geometry"] = None
        out.append(json.dumps(feature, ensure_ascii=False, separators=(",", ":")))
    return out


def parse_simple_query(args: Mapping[str, list[str]], allow_crs: bool = False) -> str | None:
    """The query of the landing page, conformance, collections, one collection or one feature: ``f``, ``lang``."""
    values = single_values(args)
    reject_unknown(values, {"f", "lang", "crs"} if allow_crs else {"f", "lang"})
    parse_language(values.get("lang"))
    if values.get("crs") not in (None, CRS84):
        raise InvalidParameterError(Text("error", "{name} must be {crs} (the only CRS served), got {value}",
                                         {"name": "crs", "crs": CRS84, "value": repr(values["crs"])}))
    return parse_output_format(values.get("f"))


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
}
AS_JSON = N_("link", "{title} as JSON")
AS_HTML = N_("link", "{title} as HTML")


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
    title = _title(key, lang)
    json_link = _link(f"{href}{joiner}f=json", "self" if current == "json" else "alternate", json_type,
                      Text.of(AS_JSON, {"title": title}).render(lang))
    html_link = _link(_with_lang(f"{href}{joiner}f=html", link_lang), "self" if current == "html" else "alternate",
                      HTML, Text.of(AS_HTML, {"title": title}).render(lang))
    return [json_link, html_link]


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
        "crs": [CRS84],
        "storageCrs": CRS84,
        "extent": {"spatial": {"bbox": [list(summary.bounds)], "crs": CRS84}},
        "license": layer.licence,
        "attribution": layer.attribution,
        "links": _self_links(href, current, "collection_self", lang, link_lang=link_lang) + [
            _link(f"{href}/items?f=json", "items", GEOJSON, _title("items_json", lang)),
            _link(_with_lang(f"{href}/items?f=html", link_lang), "items", HTML, _title("items_html", lang)),
            _link(f"{href}/tiles", TILESETS_REL, JSON, _title("tiles", lang)),
            _link(f"{href}/queryables", QUERYABLES_REL, SCHEMA_JSON, _title("queryables", lang)),
        ],
    }


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
    ]
    if query.offset + query.limit < number_matched:
        links.append(_link(f"{href}?{query.query_string(offset=query.offset + query.limit, f=fmt)}",
                           "next", media, _title("next", lang)))
    if query.offset > 0:
        links.append(_link(f"{href}?{query.query_string(offset=max(0, query.offset - query.limit), f=fmt)}",
                           "prev", media, _title("prev", lang)))
    return links


def items_text(features: Sequence[str], number_matched: int, links: list[dict]) -> str:
    """A FeatureCollection page from features already serialised as GeoJSON text (fast paging)."""
    head = json.dumps({"type": "FeatureCollection", "numberMatched": number_matched,
                       "numberReturned": len(features), "links": links}, ensure_ascii=False)
    return head[:-1] + ',"features":[' + ",".join(features) + "]}"


def feature_document(feature_text: str, layer_id: str, feature_id: str, base: str, current: str = "json",
                     lang: str = "en", link_lang: str | None = None) -> dict:
    document = json.loads(feature_text)
    href = f"{base}/collections/{layer_id}/items/{feature_id}"
    document["links"] = _self_links(href, current, "feature", lang, GEOJSON, link_lang=link_lang) + [
        _link(f"{base}/collections/{layer_id}", "collection", JSON, _title("collection", lang)),
    ]
    return document


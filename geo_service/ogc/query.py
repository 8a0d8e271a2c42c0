"""OGC API – Features query parameters: the items query (paging, bbox, datetime, Part 3's filter and sortby,
property selection) and the simple ``f``/``lang`` queries, each checked whole before any work."""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from urllib.parse import urlencode

from shapely.geometry import MultiPolygon, box

from geo_service.errors import InvalidParameterError
from geo_service.i18n import LANGUAGES, Text
from geo_service.ogc.cql import check_filter_options, parse_filter
from geo_service.ogc.crs import CRS84, bbox_area, check_crs
from geo_service.params import (
    Bbox,
    parse_bbox,
    parse_flag,
    parse_int,
    reject_unknown,
    single_values,
)
from geo_service.store.expressions import (
    Expression,
    Logic,
    Search,
    SortKey,
    Spatial,
    fold,
)

HTML = "text/html"
LIMIT_DEFAULT = 10
LIMIT_MAX = 10_000
OUTPUT_FORMATS = ("json", "html")
ITEMS_PARAMETERS = frozenset({"f", "bbox", "bbox-crs", "crs", "limit", "offset", "datetime", "lang", "filter",
                              "filter-lang", "filter-crs", "sortby", "properties", "skipGeometry", "q"})
MAX_TERMS = 20
MAX_SORT_KEYS = 10
# RFC 3339 instant, or an interval with open ends ("..") or empty ends.
_INSTANT = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}([Tt][0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?([Zz]|[+-][0-9]{2}:[0-9]{2}))?")


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
    crs: str = CRS84  # of the features sent (Part 2)
    bbox_crs: str = CRS84
    # the query's own words for filter, filter-lang, filter-crs, sortby, properties and skipGeometry, which the
    # next and previous links repeat
    passed: tuple[tuple[str, str], ...] = ()

    def store_arguments(self) -> dict:
        """What the store's ``query_positions`` is asked: a bbox across the antimeridian becomes a filter on its
        two halves."""
        bbox, where = self.bbox, self.where
        if bbox is not None and self.bbox_crs != CRS84:
            spatial = Spatial("intersects", bbox_area(bbox, self.bbox_crs))
            bbox, where = None, spatial if where is None else Logic("and", (spatial, where))
        elif bbox is not None and bbox[0] > bbox[2]:
            halves = MultiPolygon([box(bbox[0], bbox[1], 180, bbox[3]), box(-180, bbox[1], bbox[2], bbox[3])])
            spatial = Spatial("intersects", halves)
            bbox, where = None, spatial if where is None else Logic("and", (spatial, where))
        return {"bbox": bbox, "limit": self.limit, "offset": self.offset, "filters": self.filters, "where": where,
                "sortby": self.sortby}

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
    crs, bbox_crs = (check_crs(values.get(name, CRS84), name) for name in ("crs", "bbox-crs"))
    when = values.get("datetime")
    if when is not None and not _valid_datetime(when):
        raise InvalidParameterError(Text("error", "datetime must be an RFC 3339 instant or interval, got {value}",
                                         {"value": repr(when)}))
    if "filter" not in values:  # filter-lang and filter-crs alone change nothing, but must be right
        check_filter_options(values.get("filter-lang"), values.get("filter-crs"))
    where = None if "filter" not in values else \
        parse_filter(values["filter"], values.get("filter-lang"), values.get("filter-crs"), types)
    if "q" in values:
        search = parse_q(values["q"], types)
        where = search if where is None else Logic("and", (where, search))
    passed = tuple((k, values[k]) for k in ("crs", "bbox-crs", "filter", "filter-lang", "filter-crs", "sortby",
                                            "properties", "skipGeometry", "q") if k in values)
    return ItemsQuery(
        bbox=None if "bbox" not in values else
        parse_bbox(values["bbox"], across_antimeridian=True) if bbox_crs == CRS84 else _projected_bbox(values["bbox"]),
        bbox_crs=bbox_crs,
        crs=crs,
        limit=parse_int(values.get("limit"), "limit", default=LIMIT_DEFAULT, minimum=1, maximum=LIMIT_MAX),
        offset=parse_int(values.get("offset"), "offset", default=0, minimum=0),
        filters=_typed_filters({k: v for k, v in values.items() if k not in ITEMS_PARAMETERS}, types),
        f=parse_output_format(values.get("f")),
        datetime=when,
        lang=parse_language(values.get("lang")),
        where=where,
        sortby=parse_sortby(values.get("sortby"), types),
        properties=parse_properties(values.get("properties"), property_names),
        skip_geometry=parse_flag(values.get("skipGeometry"), "skipGeometry"),
        passed=passed,
    )


def parse_q(raw: str, types: Mapping[str, str]) -> Search:
    """``q``: comma-separated search terms, any of which found in any text property selects a feature,
    whatever the case and accents (``kedougou`` finds Kédougou)."""
    terms = tuple(dict.fromkeys(fold(term.strip()) for term in raw.split(",") if term.strip()))
    if not terms or len(terms) > MAX_TERMS:
        raise InvalidParameterError(Text("error", "q takes 1 to {limit} comma-separated search terms",
                                         {"limit": MAX_TERMS}))
    return Search(terms, tuple(name for name, kind in types.items() if kind == "string"))


def _typed_filters(filters: dict[str, str], types: Mapping[str, str]) -> dict[str, str]:
    """Equality filters (``population=13551``), each value of its queryable's type: a number for a number."""
    for name, value in filters.items():
        kind = types.get(name)
        try:
            number = float(value) if kind in ("integer", "number") else None
        except ValueError:
            number = math.nan
        if number is not None and not (math.isfinite(number) and (kind == "number" or number.is_integer())):
            raise InvalidParameterError(Text("error", "{name} holds {kind} values; {value} is not one",
                                             {"name": name, "kind": kind, "value": repr(value)}))
    return filters


def _projected_bbox(raw: str) -> Bbox:
    """A bbox in another CRS than CRS84: four finite numbers, each minimum at most its maximum."""
    try:
        values = [float(part) for part in raw.split(",")]
    except ValueError:
        values = []
    if len(values) != 4 or not all(math.isfinite(v) for v in values) or values[0] > values[2] or \
            values[1] > values[3]:
        raise InvalidParameterError(Text("error", "bbox in bbox-crs must be 4 finite numbers, each minimum at most "
                                         "its maximum, got {value}", {"value": repr(raw)}))
    return tuple(values)


def _valid_datetime(raw: str) -> bool:
    """An RFC 3339 date or date-time (T and Z in either case; a leap second allowed), or an interval of two,
    either end open (``..`` or empty), the start not after the end."""
    ends = raw.split("/")
    if len(ends) > 2 or (len(ends) == 2 and all(e in ("", "..") for e in ends)):
        return False
    instants = []
    for end in ends:
        if len(ends) == 2 and end in ("", ".."):
            continue
        if not _INSTANT.fullmatch(end):
            return False
        text = end.upper().replace("Z", "+00:00")
        text = text[:17] + "59" + text[19:] if text[17:19] == "60" else text  # 23:59:60: a leap second
        try:
            instant = datetime.fromisoformat(text)
        except ValueError:  # 2018-13-45, 25:00 …
            return False
        instants.append(instant if instant.tzinfo else instant.replace(tzinfo=UTC))
    return len(instants) < 2 or instants[0] <= instants[1]


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
    """The query of the landing page, conformance, collections, one collection or one feature: ``f``, ``lang``
    (and ``crs`` for one feature: see ``parse_crs``)."""
    values = single_values(args)
    reject_unknown(values, {"f", "lang", "crs"} if allow_crs else {"f", "lang"})
    parse_language(values.get("lang"))
    parse_crs(values.get("crs"))
    return parse_output_format(values.get("f"))


def parse_crs(raw: str | None) -> str:
    """``crs``: one of the CRSs the features are served in (CRS84 by default)."""
    return CRS84 if raw is None else check_crs(raw, "crs")



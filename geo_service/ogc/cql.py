"""OGC API – Features Part 3: ``filter`` in CQL2 text or JSON, parsed by pygeofilter and checked against
a layer's queryables into ``store.expressions`` (which each store evaluates: pandas or SQL).

What is taken: basic CQL2 (comparisons, AND/OR/NOT, IS NULL), advanced comparison (LIKE, BETWEEN, IN),
CASEI, and the spatial operators on ``geometry`` with a WKT or BBOX literal, in ``filter-crs``.
Two properties of one type may be compared with each other. Everything else (arithmetic, temporal
operators, other functions) is refused with a 400 that says which part, never evaluated halfway.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping

import shapely
from shapely.geometry import box

from geo_service.errors import InvalidParameterError
from geo_service.i18n import Text
from geo_service.ogc.crs import CRS84, check_crs
from geo_service.store import expressions as ex

LANGUAGES = ("cql2-text", "cql2-json", "cql-text")  # cql-text: GDAL's draft name (see cql_text)
GEOMETRY = "geometry"  # the queryable that stands for a feature's geometry
MAX_FILTER_CHARS = 20_000  # a filter is a query, not a data upload (request lines are capped anyway)
MAX_NODES = 1_000
MAX_DEPTH = 64
MAX_VERTICES = 10_000

def _error(message: Text) -> InvalidParameterError:
    return InvalidParameterError(message)


def parse_filter(raw: str, language: str | None, filter_crs: str | None,
                 types: Mapping[str, str]) -> ex.Expression:
    """``raw`` in ``language`` (cql2-text by default), its geometries in ``filter_crs`` (CRS84 by default),
    checked against ``types`` (property name → JSON Schema type)."""
    # pygeofilter and its Lark grammar only with a filter to parse: building the cql2-text parser alone takes
    # half a second, which every worker would otherwise spend at start
    from lark.exceptions import LarkError
    from pygeofilter.parsers.cql2_json import parse as parse_cql2_json

    from geo_service.ogc.cql_text import parse_text
    from geo_service.ogc.cql_tree import Converter

    language, crs = check_filter_options(language, filter_crs)
    if len(raw) > MAX_FILTER_CHARS:
        raise _error(Text("error", "filter is {count} characters long, over the {limit} this server reads",
                          {"count": len(raw), "limit": MAX_FILTER_CHARS}))
    try:
        if language == "cql2-json":
            tree = parse_cql2_json(_standard_json(raw))
        else:
            tree = parse_text(raw, ilike=language == "cql-text")
    except InvalidParameterError:
        raise
    except RecursionError:
        raise _error(Text("error", "filter is nested too deeply")) from None
    except (LarkError, ValueError, TypeError, KeyError, IndexError, AttributeError) as error:  # the parsers' own
        first_line = str(error).strip().splitlines()[0][:200] if str(error).strip() else type(error).__name__
        raise _error(Text("error", "filter is not valid {language}: {reason}",
                          {"language": language, "reason": first_line})) from None
    return Converter(types, crs).convert(tree)


def check_filter_options(language: str | None, filter_crs: str | None) -> tuple[str, str]:
    """``filter-lang`` and ``filter-crs``, checked (with their defaults)."""
    language = language or "cql2-text"
    if language not in LANGUAGES:
        raise _error(Text("error", "filter-lang must be one of {allowed}, got {value}",
                          {"allowed": ", ".join(LANGUAGES), "value": repr(language)}))
    return language, check_crs(filter_crs or CRS84, "filter-crs")


def _standard_json(raw: str) -> dict:
    """CQL2 JSON as pygeofilter 0.4 reads it: its ``bbox`` literal takes (x1, x2, y1, y2) and its ``between``
    a [low, high] pair, where CQL2 1.0 has [minx, miny, maxx, maxy] and three arguments."""
    try:
        document = json.loads(raw)
    except ValueError as error:
        raise _error(Text("error", "filter is not valid {language}: {reason}",
                          {"language": "cql2-json", "reason": str(error)})) from None

    def walk(node):
        if isinstance(node, list):
            return [walk(item) for item in node]
        if not isinstance(node, dict):
            return node
        if set(node) == {"bbox"} and isinstance(node["bbox"], list) and len(node["bbox"]) in (4, 6):
            corners = node["bbox"] if len(node["bbox"]) == 4 else [node["bbox"][i] for i in (0, 1, 3, 4)]
            return shapely.geometry.mapping(box(*_numbers(corners)))
        node = {key: walk(value) for key, value in node.items()}
        if node.get("op") == "between" and isinstance(node.get("args"), list) and len(node["args"]) == 3:
            node["args"] = [node["args"][0], node["args"][1:]]
        return node

    if not isinstance(document, dict):
        raise _error(Text("error", "filter is not valid {language}: {reason}",
                          {"language": "cql2-json", "reason": "not an object"}))
    return walk(document)


def _numbers(items) -> list[float]:
    if not all(isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) for v in items):
        raise _error(Text("error", "a bbox in the filter must hold finite numbers"))
    return [float(v) for v in items]

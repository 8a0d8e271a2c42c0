"""``expressions`` as SQL over a layer's PostGIS table: the same selection and order as ``cql_frame`` gives
in memory (three-valued logic is SQL's own; text compared by code point with ``COLLATE "C"``; missing values
sort last). Values go in as parameters (``params``, in the order of their placeholders), names as quoted
identifiers."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import shapely
from psycopg import sql

from geo_service.store import expressions as ex

# PostgreSQL column kinds (postgis.write.column_kind) and the type a filter queries them as.
QUERY_TYPES = {"text": ex.STRING, "bigint": ex.INTEGER, "double precision": ex.NUMBER, "boolean": ex.BOOLEAN}
_FUNCTIONS = {op: f"ST_{op.capitalize()}" for op in ex.SPATIAL if op != "disjoint"}
_C = sql.SQL(' COLLATE "C"')


def where_sql(node: ex.Expression, kinds: Mapping[str, str], geometry: str, params: list) -> sql.Composable:
    """The condition, for a WHERE clause over the layer's table; its values are appended to ``params``."""
    if isinstance(node, ex.Logic):
        joiner = sql.SQL(" AND " if node.op == "and" else " OR ")
        return sql.SQL("({})").format(joiner.join([where_sql(item, kinds, geometry, params) for item in node.items]))
    if isinstance(node, ex.Not):
        return sql.SQL("(NOT {})").format(where_sql(node.item, kinds, geometry, params))
    if isinstance(node, ex.Constant):
        return sql.SQL("TRUE" if node.value else "FALSE")
    if isinstance(node, ex.Spatial):
        return _spatial(node, sql.Identifier(geometry), params)
    if isinstance(node, ex.Search):
        return _search(node, params)
    if isinstance(node, ex.CompareProperties):
        return sql.SQL("({} {} {})").format(_column(node.name, kinds, node.casei), sql.SQL(node.op),
                                            _column(node.other, kinds, node.casei))
    if isinstance(node, ex.IsNull):
        return sql.SQL("({} IS NULL)").format(sql.Identifier(node.name))
    column = _column(node.name, kinds, getattr(node, "casei", False))
    text = kinds[node.name] == "text"
    if isinstance(node, ex.Compare):
        return sql.SQL("({} {} {})").format(column, sql.SQL(node.op), _value(node.value, text, node.casei, params))
    if isinstance(node, ex.Between):
        low, high = _value(node.low, text, False, params), _value(node.high, text, False, params)
        return sql.SQL("({c} >= {low} AND {c} <= {high})").format(c=column, low=low, high=high)
    if isinstance(node, ex.In):
        return sql.SQL("({} IN ({}))").format(
            column, sql.SQL(", ").join([_value(v, text, node.casei, params) for v in node.values]))
    params.append(canonical_like(node.pattern.lower() if node.casei else node.pattern))
    return sql.SQL("({} LIKE %s ESCAPE '\\')").format(column)


def _column(name: str, kinds: Mapping[str, str], casei: bool) -> sql.Composable:
    column = sql.Identifier(name)
    if kinds[name] != "text":
        return column
    if casei:  # case folded by ICU whatever the database's locale (C folds only ASCII), as Python folds it
        return sql.SQL('(lower({} COLLATE "und-x-icu"){})').format(column, _C)
    return sql.SQL("({}{})").format(column, _C)


def _value(value: ex.Value, text: bool, casei: bool, params: list) -> sql.Composable:
    if isinstance(value, bool) and not text:
        return sql.SQL("TRUE" if value else "FALSE")
    params.append(value.lower() if casei and isinstance(value, str) else value)
    return sql.SQL("%s")


def _search(node: ex.Search, params: list) -> sql.Composable:
    """Any term within any of the text columns, both folded as ``expressions.fold`` folds them."""
    found = []
    for name in node.names:
        for term in node.terms:
            params.extend([ex.FOLD_FROM, ex.FOLD_TO, term])
            found.append(sql.SQL('coalesce(strpos(translate(lower({} COLLATE "und-x-icu"), %s, %s), %s) > 0, false)')
                         .format(sql.Identifier(name)))
    return sql.SQL("({})").format(sql.SQL(" OR ").join(found) if found else sql.SQL("FALSE"))


def canonical_like(pattern: str) -> str:
    """A CQL2 LIKE pattern as PostgreSQL's LIKE reads it with ``ESCAPE '\\'`` (the same wildcards; a trailing
    backslash, an error there, stands for itself as in ``cql_frame``)."""
    out = []
    for kind, text in ex.like_parts(pattern):
        out.append({"any": "%", "one": "_"}.get(kind) or (f"\\{text}" if text in "%_\\" else text))
    return "".join(out)


def _spatial(node: ex.Spatial, geometry: sql.Composable, params: list) -> sql.Composable:
    params.append(shapely.to_wkb(node.geometry))
    literal = sql.SQL("ST_GeomFromWKB(%s, 4326)")
    if node.op == "disjoint":
        return sql.SQL("(NOT ST_Intersects({}, {}))").format(geometry, literal)
    return sql.SQL("{}({}, {})").format(sql.SQL(_FUNCTIONS[node.op]), geometry, literal)


def order_sql(keys: Sequence[ex.SortKey], kinds: Mapping[str, str], position: str) -> sql.Composable:
    """ORDER BY terms: each key, missing values last either way, then the layer's order."""
    terms = [sql.SQL("{} {} NULLS LAST").format(_column(key.name, kinds, False),
                                                sql.SQL("DESC" if key.descending else "ASC")) for key in keys]
    return sql.SQL(", ").join([*terms, sql.Identifier(position)])

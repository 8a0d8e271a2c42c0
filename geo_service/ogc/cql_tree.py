"""pygeofilter's parse tree of a CQL2 filter to ``store.expressions``, checking names, types and sizes on the
way (``ogc.cql`` imports this only when there is a filter to parse)."""

from __future__ import annotations

import math
from collections.abc import Mapping

import shapely
from pygeofilter import ast, values
from shapely.errors import GEOSException
from shapely.geometry import box, shape

from geo_service.errors import InvalidParameterError
from geo_service.i18n import Text
from geo_service.ogc.cql import (
    GEOMETRY,
    MAX_DEPTH,
    MAX_NODES,
    MAX_VERTICES,
    _error,
    _numbers,
)
from geo_service.ogc.crs import geometry_to_crs84
from geo_service.store import expressions as ex

_COMPARISONS = {ast.Equal: "=", ast.NotEqual: "<>", ast.LessThan: "<", ast.LessEqual: "<=",
                ast.GreaterThan: ">", ast.GreaterEqual: ">="}
_FLIPPED = {"=": "=", "<>": "<>", "<": ">", "<=": ">=", ">": "<", ">=": "<="}
_SPATIAL = {ast.GeometryIntersects: "intersects", ast.GeometryDisjoint: "disjoint", ast.GeometryWithin: "within",
            ast.GeometryContains: "contains", ast.GeometryEquals: "equals", ast.GeometryTouches: "touches",
            ast.GeometryCrosses: "crosses", ast.GeometryOverlaps: "overlaps"}
_SPATIAL_FLIPPED = {"within": "contains", "contains": "within"}



class Converter:
    """pygeofilter's tree to ``expressions``, checking names, types and sizes on the way."""

    def __init__(self, types: Mapping[str, str], crs: str) -> None:
        self.types, self.crs, self.nodes = types, crs, 0

    def convert(self, node, depth: int = 0) -> ex.Expression:
        self.nodes += 1
        if self.nodes > MAX_NODES:
            raise _error(Text("error", "filter has more than {limit} terms", {"limit": MAX_NODES}))
        if depth > MAX_DEPTH:  # the stores evaluate expressions recursively
            raise _error(Text("error", "filter is nested too deeply"))
        if isinstance(node, (ast.And, ast.Or)):  # a chain of ANDs (or ORs) is one node, however long
            items, stack = [], [node]
            while stack:
                item = stack.pop()
                if type(item) is type(node):
                    stack += [item.rhs, item.lhs]
                else:
                    items.append(self.convert(item, depth + 1))
            return ex.Logic("and" if isinstance(node, ast.And) else "or", tuple(items))
        if isinstance(node, ast.Not):
            return ex.Not(self.convert(node.sub_node, depth + 1))
        if isinstance(node, bool):
            return ex.Constant(node)
        if isinstance(node, ast.Include):
            return ex.Constant(not node.not_)
        if type(node) in _COMPARISONS:
            return self._comparison(_COMPARISONS[type(node)], node.lhs, node.rhs)
        if type(node) in _SPATIAL:
            return self._spatial(_SPATIAL[type(node)], node.lhs, node.rhs)
        negated = getattr(node, "not_", False)
        if isinstance(node, ast.IsNull):
            result = ex.IsNull(self._name(node.lhs)[0])
        elif isinstance(node, ast.Like):
            name, casei = self._name(node.lhs, string=True)
            pattern, literal_casei = self._unwrap(node.pattern)
            result = ex.Like(name, self._typed(name, pattern, "LIKE"), casei or literal_casei or node.nocase)
        elif isinstance(node, ast.Between):
            name, _ = self._name(node.lhs)
            result = ex.Between(name, self._typed(name, node.low, "BETWEEN"), self._typed(name, node.high, "BETWEEN"))
        elif isinstance(node, ast.In):
            name, casei = self._name(node.lhs)
            items = [self._unwrap(item) for item in node.sub_nodes]
            self.nodes += len(items)
            result = ex.In(name, tuple(self._typed(name, value, "IN") for value, _ in items),
                           casei or any(c for _, c in items))
        else:
            raise _unsupported(node)
        return ex.Not(result) if negated else result

    def _unwrap(self, node) -> tuple[object, bool]:
        """A literal, and whether it was given as CASEI(literal)."""
        if isinstance(node, ast.Function) and node.name == "lower" and len(node.arguments) == 1:
            return node.arguments[0], True
        return node, False

    def _name(self, node, string: bool = False) -> tuple[str, bool]:
        node, casei = self._unwrap(node)
        if isinstance(node, ast.Node) and not isinstance(node, ast.Attribute):
            raise _unsupported(node)
        if not isinstance(node, ast.Attribute):
            raise _error(Text("error", "filter compares {part}; put a property on one side and a value on the other",
                              {"part": _describe(node)}))
        if node.name not in self.types:
            raise _error(Text("error", "filter names {name}, which is not a queryable of this collection; its "
                              "queryables: {allowed}",
                              {"name": repr(node.name), "allowed": ", ".join([*self.types, GEOMETRY])}))
        if (casei or string) and self.types[node.name] != ex.STRING:
            raise _error(Text("error", "{name} holds {kind} values: CASEI and LIKE apply to text",
                              {"name": node.name, "kind": self.types[node.name]}))
        return node.name, casei

    def _typed(self, name: str, value, where: str) -> ex.Value:
        kind = self.types[name]
        fits = {ex.STRING: isinstance(value, str), ex.BOOLEAN: isinstance(value, bool),
                ex.INTEGER: isinstance(value, (int, float)) and not isinstance(value, bool),
                ex.NUMBER: isinstance(value, (int, float)) and not isinstance(value, bool)}.get(kind, False)
        if not fits:
            raise _error(Text("error", "{name} holds {kind} values; {value} (in {where}) is not one",
                              {"name": name, "kind": kind, "value": _describe(value), "where": where}))
        if isinstance(value, float) and not math.isfinite(value):
            raise _error(Text("error", "filter values must be finite numbers, got {value}", {"value": repr(value)}))
        return value

    def _comparison(self, op: str, lhs, rhs) -> ex.Compare:
        left, right = self._unwrap(lhs)[0], self._unwrap(rhs)[0]
        if isinstance(left, ast.Attribute) and isinstance(right, ast.Attribute):
            return self._properties(op, lhs, rhs)
        if not isinstance(left, ast.Attribute) and isinstance(right, ast.Attribute):  # 5 < population
            lhs, rhs, op = rhs, lhs, _FLIPPED[op]
        name, casei = self._name(lhs)
        value, literal_casei = self._unwrap(rhs)
        return ex.Compare(op, name, self._typed(name, value, op), casei or literal_casei)

    def _properties(self, op: str, lhs, rhs) -> ex.CompareProperties:
        (name, casei), (other, other_casei) = self._name(lhs), self._name(rhs)
        kinds = {self.types[name], self.types[other]}
        if len(kinds) > 1 and kinds != {ex.INTEGER, ex.NUMBER}:
            raise _error(Text("error", "filter compares {part}, which hold values of different types",
                              {"part": f"{name} with {other}"}))
        return ex.CompareProperties(op, name, other, casei or other_casei)

    def _spatial(self, op: str, lhs, rhs) -> ex.Spatial:
        if not (isinstance(lhs, ast.Attribute) and lhs.name == GEOMETRY):
            lhs, rhs, op = rhs, lhs, _SPATIAL_FLIPPED.get(op, op)
        if not (isinstance(lhs, ast.Attribute) and lhs.name == GEOMETRY):
            raise _error(Text("error", "spatial operators in a filter compare {name} with a geometry",
                              {"name": GEOMETRY}))
        return ex.Spatial(op, self._geometry(rhs))

    def _geometry(self, node):
        try:
            if isinstance(node, values.Geometry):
                geometry = shape(node.geometry)
            elif isinstance(node, ast.Function) and node.name.lower() == "bbox" and len(node.arguments) in (4, 6):
                corners = node.arguments if len(node.arguments) == 4 else [node.arguments[i] for i in (0, 1, 3, 4)]
                geometry = box(*_numbers(corners))
            else:
                raise _error(Text("error", "spatial operators in a filter compare {name} with a geometry",
                                  {"name": GEOMETRY}))
        except InvalidParameterError:
            raise
        except (ValueError, TypeError, KeyError, IndexError, AttributeError, GEOSException):  # malformed coordinates
            raise _error(Text("error", "a geometry in the filter is malformed")) from None
        coordinates = shapely.get_coordinates(geometry)
        if len(coordinates) > MAX_VERTICES:
            raise _error(Text("error", "a geometry in the filter has more than {limit} vertices",
                              {"limit": MAX_VERTICES}))
        if not (coordinates.size == 0 or (abs(coordinates) < 1e9).all()):
            raise _error(Text("error", "a geometry in the filter has coordinates that are not finite"))
        return geometry_to_crs84(geometry, self.crs)


def _unsupported(node) -> InvalidParameterError:
    return _error(Text("error", "filter uses {part}, which this server does not evaluate (it takes comparisons, "
                       "LIKE, BETWEEN, IN, IS NULL, CASEI, AND/OR/NOT and spatial operators on geometry)",
                       {"part": _describe(node)}))


def _describe(node) -> str:
    if isinstance(node, ast.Function):
        return f"{node.name.upper()}()"
    if isinstance(node, ast.Attribute):
        return f"property {node.name}"
    if isinstance(node, (str, int, float, bool)):
        return repr(node)
    return type(node).__name__

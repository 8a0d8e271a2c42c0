"""``expressions`` evaluated over a layer in memory (a GeoDataFrame or a mapped Arrow table), one column at
a time with pandas' nullable booleans (Kleene logic, as SQL's) and shapely's vectorised predicates; and the
order ``sortby`` asks for, as PostgreSQL's ``COLLATE "C" … NULLS LAST`` gives it."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import shapely

from geo_service.store import expressions as ex

_OPS: dict[str, Callable] = {"=": lambda a, b: a == b, "<>": lambda a, b: a != b, "<": lambda a, b: a < b,
                             "<=": lambda a, b: a <= b, ">": lambda a, b: a > b, ">=": lambda a, b: a >= b}
_PREDICATES = {"intersects": shapely.intersects, "within": shapely.within, "contains": shapely.contains,
               "equals": shapely.equals, "touches": shapely.touches, "crosses": shapely.crosses,
               "overlaps": shapely.overlaps}


@dataclass(frozen=True)
class LayerView:
    """What the evaluation needs of a layer: its size, a column as a Series (0..count-1), the positions of the
    features whose bounds meet a box (an index answers it), the shapes at some positions, and the mask of the
    features without a geometry."""

    count: int
    column: Callable[[str], pd.Series]
    near: Callable[[tuple[float, float, float, float]], np.ndarray]
    shapes: Callable[[np.ndarray], np.ndarray]
    absent: Callable[[], np.ndarray]


def selected(view: LayerView, expression: ex.Expression) -> np.ndarray:
    """Mask of the features for which ``expression`` is true (unknown counts as not true)."""
    return _evaluate(view, expression).fillna(False).to_numpy(dtype=bool)


def _evaluate(view: LayerView, node: ex.Expression) -> pd.arrays.BooleanArray:
    if isinstance(node, ex.Logic):
        results = [_evaluate(view, item) for item in node.items]
        out = results[0]
        for other in results[1:]:
            out = (out & other) if node.op == "and" else (out | other)
        return out
    if isinstance(node, ex.Not):
        return ~_evaluate(view, node.item)
    if isinstance(node, ex.Constant):
        return pd.array(np.full(view.count, node.value), dtype="boolean")
    if isinstance(node, ex.Spatial):
        return _spatial(view, node)
    if isinstance(node, ex.Search):
        found = np.zeros(view.count, dtype=bool)
        for name in node.names:
            found |= _search(view.column(name), node.terms)
        return pd.array(found, dtype="boolean")
    if isinstance(node, ex.CompareProperties):
        left, right = view.column(node.name), view.column(node.other)
        result = _OPS[node.op](_comparable(left, node.casei), _comparable(right, node.casei))
        out = pd.array(np.asarray(pd.Series(result).fillna(False), dtype=bool), dtype="boolean")
        out[(left.isna() | right.isna()).to_numpy()] = pd.NA
        return out
    column = view.column(node.name)
    missing = column.isna().to_numpy()
    if isinstance(node, ex.IsNull):
        return pd.array(missing, dtype="boolean")
    values = _comparable(column, getattr(node, "casei", False))
    if isinstance(node, ex.Compare):
        result = _OPS[node.op](values, _literal(node.value, node.casei))
    elif isinstance(node, ex.Between):
        result = (values >= node.low) & (values <= node.high)
    elif isinstance(node, ex.In):
        result = values.isin([_literal(v, node.casei) for v in node.values])
    else:  # Like
        pattern = re.compile(like_regex(_literal(node.pattern, node.casei)), re.DOTALL)
        result = values.map(lambda text: bool(pattern.fullmatch(text)), na_action="ignore")
    out = pd.array(np.asarray(pd.Series(result).fillna(False), dtype=bool), dtype="boolean")
    out[missing] = pd.NA
    return out


def _search(column: pd.Series, terms: tuple[str, ...]) -> np.ndarray:
    """Where any (folded) term is within the folded text. Why in two parts: folding every text in Python
    took 10 s over 1M rows; Arrow lower-cases and searches the ASCII texts (for which folding is lower-casing),
    and only the others are folded one by one, as ``expressions.fold`` folds them."""
    texts = pa.array(column.astype("string"), from_pandas=True)  # Arrow's own strings: no copy
    lowered = pc.utf8_lower(texts)
    found = np.zeros(len(texts), dtype=bool)
    for term in terms:
        found |= pc.match_substring(lowered, term).fill_null(False).to_numpy(zero_copy_only=False)
    other = pc.not_equal(pc.binary_length(texts), pc.utf8_length(texts)).fill_null(False)
    for position in np.flatnonzero(other.to_numpy(zero_copy_only=False)):
        folded = ex.fold(texts[position].as_py())
        found[position] = any(term in folded for term in terms)
    return found


def _comparable(column: pd.Series, casei: bool) -> pd.Series:
    if pd.api.types.is_bool_dtype(column) or pd.api.types.is_numeric_dtype(column):
        return column
    text = column.astype("string")
    return text.str.lower() if casei else text


def _literal(value, casei: bool):
    return value.lower() if casei and isinstance(value, str) else value


def like_regex(pattern: str) -> str:
    return "".join({"any": ".*", "one": "."}.get(kind, re.escape(text)) for kind, text in ex.like_parts(pattern))


def _spatial(view: LayerView, node: ex.Spatial) -> pd.arrays.BooleanArray:
    """Only the features whose bounds meet the literal's are tested (none of the others can intersect it)."""
    candidates = view.near(tuple(node.geometry.bounds))
    hits = np.zeros(view.count, dtype=bool)
    op = "intersects" if node.op == "disjoint" else node.op
    hits[candidates] = _PREDICATES[op](view.shapes(candidates), node.geometry)
    out = pd.array(~hits if node.op == "disjoint" else hits, dtype="boolean")
    out[view.absent()] = pd.NA  # a feature without geometry is neither inside nor outside anything
    return out


def sorted_positions(view: LayerView, positions: np.ndarray, keys: Sequence[ex.SortKey]) -> np.ndarray:
    """``positions`` in the order of ``keys`` (missing values last in either direction), ties in layer order."""
    if not keys or len(positions) < 2:
        return positions
    frame = pd.DataFrame({f"k{i}": _comparable(view.column(key.name).iloc[positions], False).reset_index(drop=True)
                          for i, key in enumerate(keys)})
    frame["__position"] = positions
    order = frame.sort_values([*(f"k{i}" for i in range(len(keys))), "__position"],
                              ascending=[*(not key.descending for key in keys), True],
                              na_position="last", kind="stable")
    return order["__position"].to_numpy()

"""What a store can be asked to select and sort by: a small, checked expression tree (CQL2's basic,
advanced-comparison and spatial operators) that each backend evaluates its own way — pandas/shapely over
a frame or an Arrow table, SQL in PostGIS.

The OGC layer parses CQL2 text or JSON (pygeofilter) into these nodes after checking every property and
value against the layer's types, so a backend never meets a name it does not have or a value of the wrong
type. Logic is three-valued, as in SQL and CQL2: a comparison with a missing value is unknown, ``NOT``
of unknown is unknown, and only features whose filter is true are selected.
"""

from __future__ import annotations

from dataclasses import dataclass

from shapely.geometry.base import BaseGeometry

# Property types, as the queryables and the schema name them (JSON Schema types).
STRING, INTEGER, NUMBER, BOOLEAN = "string", "integer", "number", "boolean"
COMPARISONS = ("=", "<>", "<", "<=", ">", ">=")
# CQL2 spatial operators, each true when the feature's geometry stands so to the literal geometry.
SPATIAL = ("intersects", "disjoint", "within", "contains", "equals", "touches", "crosses", "overlaps")
Value = str | int | float | bool


@dataclass(frozen=True)
class Compare:
    op: str  # one of COMPARISONS
    name: str
    value: Value
    casei: bool = False  # CASEI(name) = CASEI('text'): compared without regard to case


@dataclass(frozen=True)
class CompareProperties:
    """``name op other``: two properties of the same type compared feature by feature."""

    op: str
    name: str
    other: str
    casei: bool = False


@dataclass(frozen=True)
class Like:
    """``name LIKE pattern``: ``%`` any run of characters, ``_`` one character, ``\\`` escapes the next."""

    name: str
    pattern: str
    casei: bool = False


@dataclass(frozen=True)
class Between:
    name: str
    low: Value
    high: Value


@dataclass(frozen=True)
class In:
    name: str
    values: tuple[Value, ...]
    casei: bool = False


@dataclass(frozen=True)
class IsNull:
    name: str


@dataclass(frozen=True)
class Spatial:
    op: str  # one of SPATIAL
    geometry: BaseGeometry  # in CRS84 (longitude, latitude)


@dataclass(frozen=True)
class Not:
    item: Expression


@dataclass(frozen=True)
class Logic:
    op: str  # "and" or "or"
    items: tuple[Expression, ...]


@dataclass(frozen=True)
class Search:
    """Free text (``q``): true when any of ``terms`` (already ``fold``-ed) is within any of the text properties
    ``names``, compared ``fold``-ed; a missing text holds nothing (never unknown)."""

    terms: tuple[str, ...]
    names: tuple[str, ...]


@dataclass(frozen=True)
class Constant:
    value: bool


Expression = Compare | CompareProperties | Like | Between | In | IsNull | Spatial | Not | Logic | Constant | Search


@dataclass(frozen=True)
class SortKey:
    name: str
    descending: bool = False


def property_type(dtype) -> str | None:
    """The type a column of this pandas dtype is queried as (None: not queryable, e.g. a date-time)."""
    import pandas as pd  # only where a frame is at hand

    if pd.api.types.is_bool_dtype(dtype):
        return BOOLEAN
    if pd.api.types.is_integer_dtype(dtype):
        return INTEGER
    if pd.api.types.is_float_dtype(dtype):
        return NUMBER
    if pd.api.types.is_datetime64_any_dtype(dtype):
        return None
    return STRING


def _fold_table() -> tuple[str, str]:
    """Letters of Latin-1 and Latin Extended-A/B with their base letter (é → e, Ç → C, ő → o): those whose
    Unicode decomposition is one letter and accents. Others (ø, ß, œ) stay as they are."""
    import unicodedata

    pairs = []
    for code in range(0xC0, 0x250):
        char = chr(code)
        base = "".join(c for c in unicodedata.normalize("NFKD", char) if not unicodedata.combining(c))
        if len(base) == 1 and base != char:
            pairs.append((char, base))
    return "".join(a for a, _ in pairs), "".join(b for _, b in pairs)


# Why a table rather than Unicode normalisation alone: SQL's translate() takes the same table, so free-text
# search folds alike in pandas and in PostgreSQL (whose unaccent rules differ: œ → oe there).
FOLD_FROM, FOLD_TO = _fold_table()
_FOLD = str.maketrans(FOLD_FROM, FOLD_TO)


def fold(text: str) -> str:
    """Text as free-text search compares it: lower case, accents off (``Kédougou`` → ``kedougou``)."""
    return text.lower().translate(_FOLD)


def names_in(expression: Expression) -> set[str]:
    """The property names an expression reads."""
    if isinstance(expression, Logic):
        return set().union(*(names_in(item) for item in expression.items))
    if isinstance(expression, Not):
        return names_in(expression.item)
    if isinstance(expression, CompareProperties):
        return {expression.name, expression.other}
    return {expression.name} if hasattr(expression, "name") else set()


def like_parts(pattern: str) -> list[tuple[str, str]]:
    """A LIKE pattern as ``(kind, text)`` parts: ``("any", "")`` for ``%``, ``("one", "")`` for ``_``,
    ``("text", c)`` for a literal character (escaped or plain)."""
    parts, escaped = [], False
    for char in pattern:
        if escaped:
            parts.append(("text", char))
            escaped = False
        elif char == "\\":
            escaped = True
        elif char == "%":
            parts.append(("any", ""))
        elif char == "_":
            parts.append(("one", ""))
        else:
            parts.append(("text", char))
    if escaped:  # a trailing backslash stands for itself
        parts.append(("text", "\\"))
    return parts

"""CQL2 filters and sortby (OGC API – Features Part 3): the parser's checks, hand-computed selections on every
backend, and a property test that the store selects what a plain row-by-row evaluation of the same
expression selects, whether the filter came as CQL2 text or CQL2 JSON."""

from __future__ import annotations

import json
import random

import pytest
import shapely
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from shapely.geometry import Point, box, shape

from geo_service.errors import InvalidParameterError
from geo_service.ogc.cql import parse_filter
from geo_service.store import expressions as ex
from tests.conftest import TEST_LAYERS, feature, point, write_layers

SITES = {"name": "string", "country": "string", "population": "integer", "source": "string", "note": "string"}
LABELS = ["a", "A", "ab", "aB", "b", "é", "É", "éa", "N'D", "z%", "_u", "", "x\\y"]


def _mixed_features() -> list[dict]:
    """Points on a half-degree grid (so some lie on the edges of the boxes below), with missing values."""
    rng = random.Random(7)
    rows = []
    for i in range(60):
        props = {"label": rng.choice([*LABELS, None]), "count": rng.choice([-3, -1, 0, 1, 2, 5, 40, None]),
                 "score": rng.choice([-1.5, 0.0, 0.25, 2.0, 7.75, None]), "flag": rng.random() < 0.5}
        lon, lat = -13 + 0.5 * rng.randrange(0, 7), 13 + 0.5 * rng.randrange(0, 5)
        rows.append(feature(f"m{i}", point(lon, lat), **props))
    return rows


MIXED = _mixed_features()
MIXED_TYPES = {"id": "string", "label": "string", "count": "integer", "score": "number", "flag": "boolean", "source": "string"}


@pytest.fixture
def layers_dir(tmp_path):
    return write_layers(tmp_path / "layers", {**TEST_LAYERS, "mixed": ("Point", MIXED)})


def _ids(store, layer_id: str, text: str | None = None, sortby=(), **query) -> list[str]:
    types = store.snapshot(layer_id).property_types()
    where = None if text is None else parse_filter(text, query.pop("lang", None), query.pop("crs", None), types)
    positions, _ = store.query_positions(layer_id, where=where, sortby=sortby, **query)
    return [json.loads(t)["id"] for t in store.features(layer_id).texts(positions)]


# --- the parser -------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("text", "expected"), [
    ("population > 5", ex.Compare(">", "population", 5)),
    ("5 < population", ex.Compare(">", "population", 5)),
    ("name = 'N''Diaye'", ex.Compare("=", "name", "N'Diaye")),
    ("CASEI(name) = casei('KAYES')", ex.Compare("=", "name", "KAYES", casei=True)),
    ("NOT ((population IS NULL))", ex.Not(ex.IsNull("population"))),
    ("population NOT BETWEEN 1 AND 3", ex.Not(ex.Between("population", 1, 3))),
    ("country IN ('ML', 'SN') AND name LIKE 'K%'",
     ex.Logic("and", (ex.In("country", ("ML", "SN")), ex.Like("name", "K%")))),
    ("S_WITHIN(POINT(-12 14), geometry)", ex.Spatial("contains", Point(-12, 14))),
])
def test_cql2_text_is_read_into_expressions(text, expected):
    assert parse_filter(text, None, None, SITES) == expected


def test_cql2_json_bbox_and_between_are_read_as_cql2_1_0_writes_them():
    raw = {"op": "and", "args": [
        {"op": "between", "args": [{"property": "population"}, 1, 5]},
        {"op": "s_intersects", "args": [{"property": "geometry"}, {"bbox": [-12, 14, -11, 15]}]}]}
    parsed = parse_filter(json.dumps(raw), "cql2-json", None, SITES)
    assert parsed.items[0] == ex.Between("population", 1, 5)
    assert parsed.items[1].geometry.equals(box(-12, 14, -11, 15))  # minx, miny, maxx, maxy


def test_filter_crs_takes_each_crs_in_its_own_axis_order():
    epsg = "http://www.opengis.net/def/crs/EPSG/0/"
    lat_lon = parse_filter("S_INTERSECTS(geometry, POINT(14.45 -12.2))", None, f"{epsg}4326", SITES)
    assert lat_lon.geometry.equals_exact(Point(-12.2, 14.45), 1e-12)
    utm = parse_filter("S_INTERSECTS(geometry, POINT(300000 1600000))", None, f"{epsg}32628", SITES)
    assert utm.geometry.x == pytest.approx(-16.8559, abs=1e-3) and utm.geometry.y == pytest.approx(14.4653, abs=1e-3)


@pytest.mark.parametrize(("text", "lang", "message"), [
    ("colour = 'red'", None, "not a queryable"),
    ("population = 'many'", None, "holds integer values"),
    ("CASEI(population) = 5", None, "apply to text"),
    ("population + 1 > 5", None, "does not evaluate"),
    ("name = population", None, "different types"),
    ("5 = 5", None, "put a property on one side"),
    ("name LIKE", None, "not valid cql2-text"),
    ("{", "cql2-json", "not valid cql2-json"),
    ('{"op": "frobnicate", "args": []}', "cql2-json", "not valid cql2-json"),
    ('{"op": "s_intersects", "args": [{"property": "geometry"}, {"bbox": [0, 0, "x", 1]}]}', "cql2-json",
     "finite numbers"),
    ("population = 1", "ecql", "filter-lang must be one of"),
    ("name ILIKE 'k%'", None, "not valid cql2-text"),  # ILIKE is GDAL's draft dialect, not CQL2
    ("x" * 30_000, None, "characters long"),
    ("(" * 15_000 + "population = 1" + ")" * 15_000, None, "characters long"),
    (" OR ".join(["population=1"] * 1_100), None, "more than 1000 terms"),
])
def test_bad_filters_are_refused_with_the_reason(text, lang, message):
    with pytest.raises(InvalidParameterError, match=message):
        parse_filter(text, lang, None, SITES)


@pytest.mark.parametrize("deep", ["NOT " * 4_000 + "population = 1", "(" * 9_000 + "population = 1" + ")" * 9_000,
                                  '{"op":"not","args":[' * 800 + '{"op": "isNull", "args": [{"property": "name"}]}'
                                  + "]}" * 800])
def test_deep_nesting_within_the_size_limit_is_read_or_refused_never_a_crash(deep):
    language = "cql2-json" if deep.startswith("{") else "cql2-text"
    try:  # read (the parser is not recursive) or refused whole; no RecursionError or other error escapes
        expression = parse_filter(deep, language, None, SITES)
    except InvalidParameterError as error:
        assert "nested too deeply" in str(error) or "more than" in str(error)
    else:
        assert ex.names_in(expression) <= {"population", "name"}


# --- hand-computed selections, every backend ----------------------------------------------------------------

@pytest.mark.parametrize(("text", "ids"), [
    ("country = 'ML' AND population > 100", ["kayes"]),
    ("NOT (population > 100)", ["hostile"]),  # Diboli's population is unknown: neither above 100 nor not
    ("population IS NULL", ["diboli"]),
    ("name LIKE 'K%'", ["kidira", "kayes"]),
    ("CASEI(name) LIKE 'k%'", ["kidira", "kayes"]),
    ("name LIKE '_ayes'", ["kayes"]),
    ("country IN ('SN') OR population BETWEEN 1 AND 10", ["kidira", "hostile"]),
    ("S_INTERSECTS(geometry, BBOX(-12.3, 14.4, -12.1, 14.5))", ["kidira", "diboli"]),
    ("S_DISJOINT(geometry, BBOX(-12.3, 14.4, -12.1, 14.5))", ["kayes", "hostile"]),
    ("S_WITHIN(geometry, POLYGON((-12 13.5, -11 13.5, -11 14, -12 14, -12 13.5)))", ["hostile"]),
])
def test_filters_select_the_same_features_on_every_backend(open_test_store, text, ids):
    assert _ids(open_test_store(), "sites", text) == ids


def test_sortby_orders_with_missing_values_last_and_pages_follow_it(open_test_store):
    store = open_test_store()
    assert _ids(store, "sites", sortby=(ex.SortKey("population", True),)) == ["kayes", "kidira", "hostile", "diboli"]
    assert _ids(store, "sites", sortby=(ex.SortKey("population"),)) == ["hostile", "kidira", "kayes", "diboli"]
    by_name = _ids(store, "sites", sortby=(ex.SortKey("name"),))
    assert by_name == ["hostile", "diboli", "kayes", "kidira"]  # "<img…" before "D…": by code point
    assert _ids(store, "sites", "country = 'ML'", sortby=(ex.SortKey("name", True),), limit=1, offset=1) == ["diboli"]


# --- the property test: the store against a row-by-row evaluation ----------------------------------------------

def _oracle(node, props: dict, geometry) -> bool | None:
    """Three-valued evaluation of one feature, written plainly (None: unknown)."""
    if isinstance(node, ex.Logic):
        values = [_oracle(item, props, geometry) for item in node.items]
        if node.op == "and":
            return False if False in values else (None if None in values else True)
        return True if True in values else (None if None in values else False)
    if isinstance(node, ex.Not):
        value = _oracle(node.item, props, geometry)
        return None if value is None else not value
    if isinstance(node, ex.Constant):
        return node.value
    if isinstance(node, ex.Spatial):
        if geometry is None:
            return None
        op = "intersects" if node.op == "disjoint" else node.op
        hit = getattr(shapely, op)(geometry, node.geometry)
        return bool(not hit if node.op == "disjoint" else hit)
    if isinstance(node, ex.CompareProperties):
        a, b = props.get(node.name), props.get(node.other)
        if a is None or b is None:
            return None
        a, b = (a.lower(), b.lower()) if node.casei else (a, b)
        return {"=": a == b, "<>": a != b, "<": a < b, "<=": a <= b, ">": a > b, ">=": a >= b}[node.op]
    value = props.get(node.name)
    if isinstance(node, ex.IsNull):
        return value is None
    if value is None:
        return None
    fold = (lambda v: v.lower() if isinstance(v, str) else v) if getattr(node, "casei", False) else (lambda v: v)
    if isinstance(node, ex.Compare):
        a, b = fold(value), fold(node.value)
        return {"=": a == b, "<>": a != b, "<": a < b, "<=": a <= b, ">": a > b, ">=": a >= b}[node.op]
    if isinstance(node, ex.Between):
        return node.low <= value <= node.high
    if isinstance(node, ex.In):
        return fold(value) in [fold(v) for v in node.values]
    return _like(fold(value), fold(node.pattern))


def _like(text: str, pattern: str) -> bool:
    parts = ex.like_parts(pattern)

    def match(i: int, j: int) -> bool:
        if j == len(parts):
            return i == len(text)
        kind, char = parts[j]
        if kind == "any":
            return any(match(k, j + 1) for k in range(i, len(text) + 1))
        return i < len(text) and (kind == "one" or text[i] == char) and match(i + 1, j + 1)

    return match(0, 0)


def _quote(value) -> str:
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, str):
        return "'" + value.replace("'", "''") + "'"
    return repr(value)


def _text(node) -> str:
    """CQL2 text of an expression."""
    def prop(name, casei=False):
        return f"CASEI({name})" if casei else name

    def lit(value, casei=False):
        return f"CASEI({_quote(value)})" if casei else _quote(value)

    if isinstance(node, ex.Logic):
        return "(" + f" {node.op.upper()} ".join(_text(item) for item in node.items) + ")"
    if isinstance(node, ex.Not):
        return f"NOT ({_text(node.item)})"
    if isinstance(node, ex.Spatial):
        return f"S_{node.op.upper()}(geometry, {shapely.to_wkt(node.geometry, rounding_precision=-1)})"
    if isinstance(node, ex.CompareProperties):
        return f"{prop(node.name, node.casei)} {node.op} {prop(node.other, node.casei)}"
    if isinstance(node, ex.IsNull):
        return f"{node.name} IS NULL"
    if isinstance(node, ex.Compare):
        return f"{prop(node.name, node.casei)} {node.op} {lit(node.value, node.casei)}"
    if isinstance(node, ex.Between):
        return f"{node.name} BETWEEN {_quote(node.low)} AND {_quote(node.high)}"
    if isinstance(node, ex.In):
        return f"{prop(node.name, node.casei)} IN ({', '.join(lit(v, node.casei) for v in node.values)})"
    return f"{prop(node.name, node.casei)} LIKE {lit(node.pattern, node.casei)}"


def _json(node) -> dict:
    """CQL2 JSON of an expression."""
    def prop(name, casei=False):
        return {"op": "casei", "args": [{"property": name}]} if casei else {"property": name}

    def lit(value, casei=False):
        return {"op": "casei", "args": [value]} if casei else value

    if isinstance(node, ex.Logic):
        return {"op": node.op, "args": [_json(item) for item in node.items]}
    if isinstance(node, ex.Not):
        return {"op": "not", "args": [_json(node.item)]}
    if isinstance(node, ex.Spatial):
        return {"op": f"s_{node.op}", "args": [{"property": "geometry"}, shapely.geometry.mapping(node.geometry)]}
    if isinstance(node, ex.CompareProperties):
        return {"op": node.op, "args": [prop(node.name, node.casei), prop(node.other, node.casei)]}
    if isinstance(node, ex.IsNull):
        return {"op": "isNull", "args": [{"property": node.name}]}
    if isinstance(node, ex.Compare):
        return {"op": node.op, "args": [prop(node.name, node.casei), lit(node.value, node.casei)]}
    if isinstance(node, ex.Between):
        return {"op": "between", "args": [{"property": node.name}, node.low, node.high]}
    if isinstance(node, ex.In):
        return {"op": "in", "args": [prop(node.name, node.casei), [lit(v, node.casei) for v in node.values]]}
    return {"op": "like", "args": [prop(node.name, node.casei), lit(node.pattern, node.casei)]}


def _one_store(open_test_store):
    """One store for all of a property test's examples (the fixture lives as long as the test function)."""
    if not hasattr(open_test_store, "store"):
        open_test_store.store = open_test_store()
    return open_test_store.store


NUMBERS = st.sampled_from([-3, -1, 0, 1, 2, 5, 40, -1.5, 0.25, 7.75])
TEXTS = st.sampled_from(LABELS)
PATTERNS = st.lists(st.sampled_from(["a", "A", "é", "%", "_", "b", "'", "z\\%"]), max_size=4).map("".join)
SHAPES = st.one_of(
    st.tuples(st.integers(0, 6), st.integers(0, 4), st.integers(1, 4), st.integers(1, 3)).map(
        lambda t: box(-13 + 0.5 * t[0], 13 + 0.5 * t[1], -13 + 0.5 * (t[0] + t[2]), 13 + 0.5 * (t[1] + t[3]))),
    st.tuples(st.integers(0, 6), st.integers(0, 4)).map(lambda t: Point(-13 + 0.5 * t[0], 13 + 0.5 * t[1])),
)
LEAVES = st.one_of(
    st.builds(ex.Compare, st.sampled_from(ex.COMPARISONS), st.sampled_from(["count", "score"]), NUMBERS),
    st.builds(ex.Compare, st.sampled_from(ex.COMPARISONS), st.just("label"), TEXTS, st.booleans()),
    st.builds(ex.Compare, st.sampled_from(["=", "<>"]), st.just("flag"), st.booleans()),
    st.builds(ex.Like, st.just("label"), PATTERNS, st.booleans()),
    st.builds(lambda name, a, b: ex.Between(name, min(a, b), max(a, b)), st.sampled_from(["count", "score"]),
              NUMBERS, NUMBERS),
    st.builds(ex.In, st.just("label"), st.lists(TEXTS, min_size=1, max_size=4).map(tuple), st.booleans()),
    st.builds(ex.IsNull, st.sampled_from(["label", "count", "score"])),
    st.builds(ex.CompareProperties, st.sampled_from(ex.COMPARISONS), st.sampled_from(["count", "score"]),
              st.sampled_from(["count", "score"])),
    st.builds(ex.CompareProperties, st.sampled_from(ex.COMPARISONS), st.just("label"), st.just("source"),
              st.booleans()),
    st.builds(ex.Spatial, st.sampled_from(["intersects", "disjoint", "within", "touches", "equals"]), SHAPES),
)
EXPRESSIONS = st.recursive(LEAVES, lambda inner: st.one_of(
    st.builds(ex.Not, inner),
    st.builds(ex.Logic, st.sampled_from(["and", "or"]), st.lists(inner, min_size=2, max_size=3).map(tuple)),
), max_leaves=6)


@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(expression=EXPRESSIONS, encoding=st.sampled_from(["cql2-text", "cql2-json"]))
def test_store_selects_what_a_row_by_row_evaluation_selects(open_test_store, expression, encoding):
    store = _one_store(open_test_store)
    raw = _text(expression) if encoding == "cql2-text" else json.dumps(_json(expression))
    assert store.snapshot("mixed").property_types() == MIXED_TYPES
    got = _ids(store, "mixed", raw, lang=encoding)
    expected = [f["id"] for f in MIXED if _oracle(expression, f["properties"], shape(f["geometry"])) is True]
    assert got == expected, raw


@settings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck))
@given(keys=st.lists(st.builds(ex.SortKey, st.sampled_from(["label", "count", "score", "flag"]), st.booleans()),
                     min_size=1, max_size=3, unique_by=lambda k: k.name),
       page=st.integers(1, 25))
def test_sortby_and_paging_visit_every_feature_once_in_order(open_test_store, keys, page):
    store = _one_store(open_test_store)
    seen = []
    for offset in range(0, len(MIXED), page):
        seen += _ids(store, "mixed", sortby=tuple(keys), limit=page, offset=offset)
    assert sorted(seen) == sorted(f["id"] for f in MIXED) and len(set(seen)) == len(MIXED)
    rows = list(enumerate(MIXED))  # layer order: the last tie-break
    for key in reversed(keys):  # a stable sort per key, the last key first: missing values last either way
        present = [r for r in rows if r[1]["properties"][key.name] is not None]
        missing = [r for r in rows if r[1]["properties"][key.name] is None]
        present.sort(key=lambda r: r[1]["properties"][key.name], reverse=key.descending)
        rows = present + missing
    assert seen == [f["id"] for _, f in rows]


# --- q: free text --------------------------------------------------------------------------------------------

def test_q_finds_any_term_in_any_text_property_whatever_the_case(open_test_store):
    from geo_service.ogc.query import parse_q

    store = open_test_store()
    types = store.snapshot("sites").property_types()
    for raw, ids in (("kidira", ["kidira"]), ("KAYES, diboli", ["diboli", "kayes"]), ("onerror", ["hostile"]),
                     ("nowhere", [])):
        positions, _ = store.query_positions("sites", where=parse_q(raw, types))
        assert [json.loads(t)["id"] for t in store.features("sites").texts(positions)] == ids, raw


@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
@given(terms=st.lists(st.sampled_from(["a", "A", "é", "É", "e", "ea", "N'", "%", "_", "\\", "b"]), min_size=1,
                      max_size=3))
def test_q_folds_accents_alike_on_every_backend(open_test_store, terms):
    from geo_service.ogc.query import parse_q

    store = _one_store(open_test_store)
    search = parse_q(",".join(terms), store.snapshot("mixed").property_types())
    expected = [f["id"] for f in MIXED
                if any(ex.fold(t) in ex.fold(str(v)) for t in terms for k, v in f["properties"].items()
                       if v is not None and MIXED_TYPES.get(k) == "string") or any(
                           ex.fold(t) in ex.fold(f["id"]) for t in terms)]
    positions, _ = store.query_positions("mixed", where=search)
    assert [json.loads(t)["id"] for t in store.features("mixed").texts(positions)] == expected

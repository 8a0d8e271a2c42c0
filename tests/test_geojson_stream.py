"""The one-pass GeoJSON reader gives exactly the frame of the long way (the strict check, then GDAL), or
steps aside; and it stops at the first feature past a limit."""

from __future__ import annotations

import io
import json
import warnings

import pandas as pd
import pytest
import shapely
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from geo_service.config import InputLimits
from geo_service.errors import GeoServiceError, PayloadTooLargeError
from geo_service.io.geojson_stream import _refused_escape, read_plain
from geo_service.io.ingest import check_geojson, read_upload
from geo_service.io.ogr import read_frame, with_feature_ids
from tests.conftest import BUNDLED_LAYERS


def long_way(data: bytes, limits: InputLimits | None = None):
    """What the importer does with any other document: the strict check, then GDAL on the document it
    writes again (None when the check refuses the file)."""
    try:
        again = check_geojson(data, "x.geojson", limits or InputLimits())
    except GeoServiceError:
        return None
    with warnings.catch_warnings():  # GDAL's notes (e.g. "several features with id = 5") are not the point here
        warnings.simplefilter("ignore")
        return with_feature_ids(read_frame(io.BytesIO(again)), again)[0]


def assert_same(fast, slow) -> None:
    assert list(fast.columns) == list(slow.columns)
    pd.testing.assert_frame_equal(pd.DataFrame(fast.drop(columns="geometry")),
                                  pd.DataFrame(slow.drop(columns="geometry")), check_exact=True)
    assert fast.crs == slow.crs and fast.geometry.name == slow.geometry.name
    assert fast.index.equals(slow.index)
    assert shapely.equals_identical(fast.geometry.values, slow.geometry.values).all()


def document(features: list, **members) -> bytes:
    return json.dumps({"type": "FeatureCollection", **members, "features": features}, ensure_ascii=False).encode()


def point(x=-11.5, y=14.4) -> dict:
    return {"type": "Point", "coordinates": [x, y]}


def feature(properties=None, geometry=None, **members) -> dict:
    return {"type": "Feature", **members, "properties": properties, "geometry": geometry or point()}


SQUARE = {"type": "Polygon", "coordinates": [[[-12, 13], [-11, 13], [-11, 14], [-12, 14], [-12, 13]]]}
PLAIN = {
    "text, numbers, booleans": [feature({"name": "Kayes é", "n": 3, "share": 0.25, "ok": True}),
                                feature({"name": "Diboli", "n": 2**40, "share": 1, "ok": False})],
    "nulls in every kind": [feature({"name": None, "n": 1, "share": None, "ok": True, "none": None}),
                            feature({"name": "x", "n": None, "share": 2.5, "ok": None, "none": None})],
    "sparse properties": [feature({"a": 1}), feature({"b": "x"}), feature(None), feature({"a": 3, "c": 1.5})],
    "string ids": [feature({"a": 1}, id="p2"), feature({"a": 2}, id="p1")],
    "whole-number ids": [feature({"a": 1}, id=5), feature({"a": 2}, id=-7), feature({"a": 3}, id=2**63 - 1)],
    "whole-number ids, polygons": [feature({"k": "p"}, SQUARE, id=0), feature({"k": "q"}, SQUARE, id=12)],
    "id as a property": [feature({"id": "q", "a": 1}), feature({"id": "r", "a": 2})],
    "no properties at all": [feature({}), feature(None)],
    "lines, polygons and points": [feature({"k": "l"}, {"type": "LineString", "coordinates": [[-12, 13], [-11, 14]]}),
                                   feature({"k": "p"}, SQUARE), feature({"k": "pt"}),
                                   feature({"k": "mp"}, {"type": "MultiPoint", "coordinates": [[-12, 13]]})],
    "text that looks like dates in part": [feature({"s": "2024-01-05"}), feature({"s": "hier"})],
    "codes with leading zeros": [feature({"code": "007"}), feature({"code": "12"})],
    "whole coordinates": [feature(None, point(-12, 14))],
}
NOT_PLAIN = {  # each goes the long way, which keeps GDAL's reading (or refuses the file)
    "a feature without geometry": [{"type": "Feature", "properties": {"a": 1}, "geometry": None}],
    "number and text ids": [feature({"a": 1}, id=5), feature({"a": 2}, id="7")],
    "text then number ids": [feature({"a": 1}, id="x"), feature({"a": 2}, id=7)],
    "boolean ids": [feature({"a": 1}, id=True), feature({"a": 2}, id=False)],
    "an id beyond 64 bits": [feature({"a": 1}, id=5), feature({"a": 2}, id=2**63)],
    "ids on some features": [feature({"a": 1}, id="x"), feature({"a": 2})],
    "ids twice": [feature({"a": 1}, id="x"), feature({"a": 2}, id="x")],
    "ids also in properties": [feature({"id": "q"}, id="x")],
    "numbers and text in one column": [feature({"a": 1}), feature({"a": "x"})],
    "booleans and numbers": [feature({"a": True}), feature({"a": 1})],
    "lists": [feature({"a": [1, 2]})],
    "objects": [feature({"a": {"b": 1}})],
    "dates": [feature({"s": "2024-01-05"}), feature({"s": "2024/02/05"})],
    "times": [feature({"s": "10:00:00"})],
    "3-D points": [feature(None, {"type": "Point", "coordinates": [-11.5, 14.4, 30]})],
    "outside degrees": [feature(None, point(300, 14))],
    "a position of text": [feature(None, {"type": "Point", "coordinates": ["-11", 14]})],
    "a geometry collection": [feature(None, {"type": "GeometryCollection", "geometries": []})],
    "an open ring": [feature(None, {"type": "Polygon", "coordinates": [[[-12, 13], [-11, 13], [-11, 14], [-12, 14]]]})],
}
RAW_NOT_PLAIN = {
    "a repeated property": b'{"type":"FeatureCollection","features":[{"type":"Feature","properties":{"a":1,"a":2},'
                           b'"geometry":{"type":"Point","coordinates":[-11.5,14.4]}}]}',
    "a repeated member": b'{"type":"FeatureCollection","type":"FeatureCollection","features":[]}',
    "NaN": b'{"type":"FeatureCollection","features":[{"type":"Feature","properties":{"a":NaN},'
           b'"geometry":{"type":"Point","coordinates":[-11.5,14.4]}}]}',
    "a number beyond doubles": b'{"type":"FeatureCollection","features":[{"type":"Feature","properties":{"a":1e400},'
                               b'"geometry":{"type":"Point","coordinates":[-11.5,14.4]}}]}',
    "a number beyond 64 bits": b'{"type":"FeatureCollection","features":[{"type":"Feature","properties":'
                               b'{"a":99999999999999999999},"geometry":{"type":"Point","coordinates":[-11.5,14.4]}}]}',
    "a legacy crs": document([feature({"a": 1})], crs={"type": "name", "properties": {"name": "EPSG:4326"}}),
    "a trailing comma": b'{"type":"FeatureCollection","features":[{"type":"Feature","properties":{},'
                        b'"geometry":{"type":"Point","coordinates":[-11.5,14.4]}},]}',
    "text after the document": document([feature({"a": 1})]) + b" x",
    "not UTF-8": document([feature({"a": "\xe9"})]).replace(b"\xc3\xa9", b"\xe9"),
    "arrays shaped like objects": b'{"type":"FeatureCollection","features":[{"type":"Feature","properties":'
                                  b'[["a",1]],"geometry":[["type","Point"],["coordinates",[-11.5,14.4]]]}]}',
    "an escaped NUL": document([feature({"a": "x\u0000y"})]),
    "half a surrogate pair": document([feature({"a": "x"})]).replace(b'"x"', b'"\\ud83d"'),
    "a single feature": json.dumps(feature({"a": 1})).encode(),
}


@pytest.mark.parametrize("name", PLAIN)
def test_plain_documents_read_as_gdal_reads_them(name):
    data = document(PLAIN[name])
    fast = read_plain(data, "x.geojson", InputLimits())
    assert fast is not None, name
    assert_same(fast, long_way(data))


@pytest.mark.parametrize("name", [*NOT_PLAIN, *RAW_NOT_PLAIN])
def test_other_documents_go_the_long_way(name):
    data = RAW_NOT_PLAIN[name] if name in RAW_NOT_PLAIN else document(NOT_PLAIN[name])
    assert read_plain(data, "x.geojson", InputLimits()) is None


def test_bundled_layers_read_as_gdal_reads_them():
    plain = []
    for path in sorted(BUNDLED_LAYERS.glob("*.geojson")):
        fast = read_plain(path.read_bytes(), path.name)
        if fast is not None:  # patrol_bases has a column of dates: GDAL makes it a date field
            assert_same(fast, read_frame(path))
            plain.append(path.stem)
    assert len(plain) >= 5, plain


# Beyond U+FFFF: Adlam letters (written for Pulaar), and a Latin Extended-G letter whose code point ends in
# D800-DFFF, which GDAL reads as U+FFFD when it comes as two escaped UTF-16 surrogates (as json.dumps writes it)
ADLAM = "\U0001E900\U0001E922 \U0001DF04"


@pytest.mark.parametrize("other", [{}, {"list": [1]}])  # plain, then the long way (a list)
def test_characters_beyond_u_ffff_written_as_escapes_are_kept(other):
    """json.dumps writes such a character as two escaped UTF-16 surrogates: the import keeps it."""
    data = json.dumps({"type": "FeatureCollection", "features": [feature({"name": ADLAM, **other})]}).encode()
    assert b"\\ud83a" in data and b"\\ud837\\udf04" in data
    frame, _ = read_upload(data, "x.geojson")
    assert frame["name"].tolist() == [ADLAM]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert read_frame(io.BytesIO(data))["name"].tolist() != [ADLAM]  # what GDAL would have kept


def test_a_negative_whole_number_gdal_would_make_a_decimal_is_refused():
    data = document([feature({"n": 1}), feature({"n": 2})]).replace(b'"n": 2', b'"n": -1000000000000000001')
    with pytest.raises(GeoServiceError, match="-1000000000000000001 has 19 digits and a minus sign"):
        read_upload(data, "x.geojson")
    assert read_upload(data.replace(b"-1000000000000000001", b"-999999999999999999"),
                       "x.geojson")[0]["n"].tolist() == [1, -999999999999999999]


@pytest.mark.parametrize("text, message", [("x\u0000y", "NUL character"), ("\ud83d", "surrogate pair \\(\\\\ud83d\\)")])
def test_text_gdal_would_cut_or_replace_is_refused(text, message):
    data = document([feature({"a": "x"})]).replace(b'"x"', json.dumps(text).encode().replace(b"\\\\", b"\\"))
    with pytest.raises(GeoServiceError, match=message):
        read_upload(data, "x.geojson")


_ESCAPES = st.lists(st.sampled_from(["\\", "\\\\", "\\u0000", "\\u0041", "\\ud83d", "\\uD800", "\\udbff",
                                      "\\ude00", "\\uDC00", "\\udfff", "u0000", "ud83d", "a", "é"]), max_size=12)


@settings(max_examples=300, deadline=None)
@given(_ESCAPES)
def test_escapes_gdal_would_cut_or_replace_are_found_wherever_they_are(parts):
    """The scan for an escaped NUL or half a surrogate pair agrees with the decoded text itself."""
    literal = '"' + "".join(parts) + '"'
    try:
        decoded = json.loads(literal)
    except json.JSONDecodeError:
        return  # an odd backslash before the closing quote: not a string
    lone = any(0xD800 <= ord(c) <= 0xDFFF for c in decoded)
    assert _refused_escape(literal) == ("\x00" in decoded or lone)


def test_spacing_and_member_order_do_not_matter():
    features = PLAIN["text, numbers, booleans"]
    compact = json.dumps({"features": features, "type": "FeatureCollection"}, separators=(",", ":")).encode()
    spaced = json.dumps({"type": "FeatureCollection", "features": features}, indent=3).encode()
    bom = b"\xef\xbb\xbf" + spaced
    reference = read_plain(document(features), "x.geojson")
    for data in (compact, spaced, bom):
        assert_same(read_plain(data, "x.geojson"), reference)


def test_a_file_over_the_feature_limit_stops_at_the_first_feature_past_it():
    good = document([feature({"a": i}) for i in range(4)])
    broken = good[:good.rindex(b"}]}")] + b"}, {this is not JSON"  # past the limit: never read
    with pytest.raises(PayloadTooLargeError, match="at least 4 features, more than the 3"):
        read_plain(broken, "x.geojson", InputLimits(features=3))
    assert read_plain(broken, "x.geojson", InputLimits(features=10)) is None  # read to the end: not JSON


@pytest.mark.parametrize("limits, features, message", [
    (InputLimits(properties=3), [feature({"a": 1}), feature({"b": 1, "c": 2, "d": 3})],
     "at least 4 properties \\(columns\\), more than the 3"),
    (InputLimits(cells=7), [feature({"a": 1, "b": 2})] * 2 + [feature({"c": 1})],
     "values \\(features × properties\\), more than the 7"),
    (InputLimits(cells=8), [feature({"a": 1})] * 5, "at least 10 values \\(features × properties\\)"),
    # features with text ids and the same keys take the reader's shortest way: the same limits hold there
    (InputLimits(cells=8), [feature({"a": 1}, id=f"p{i}") for i in range(5)], "at least 10 values \\(features"),
    (InputLimits(vertices=3), [feature({"a": 1}, id=f"p{i}") for i in range(5)],
     "4 coordinate positions, more than the 3"),
    (InputLimits(vertices=5), [feature(None, SQUARE)] * 2, "coordinate positions, more than the 5"),
    (InputLimits(feature_vertices=4), [feature(None, SQUARE)], "positions in one feature, more than the 4"),
])
def test_other_limits_stop_the_read(limits, features, message):
    with pytest.raises(PayloadTooLargeError, match=message):
        read_plain(document(features), "x.geojson", limits)


scalars = st.one_of(st.none(), st.booleans(), st.integers(-2**63, 2**63 - 1), st.integers(-10**30, 10**30),
                    st.floats(allow_nan=False), st.text(max_size=6),
                    st.sampled_from(["2024-01-05", "12:30", "007", "", "é", "\u0000", "\\"]))
columns = st.sampled_from(["a", "b", "id", "A", ""])
geometries = st.one_of(
    st.builds(point, st.floats(-13, -10), st.floats(11, 16)),
    st.builds(point, st.integers(-190, 190), st.integers(-95, 95)),
    st.just(SQUARE), st.just({"type": "LineString", "coordinates": [[-12, 13], [-11, 14.5]]}),
)
features = st.builds(lambda properties, geometry, fid: {**feature(properties, geometry), **fid},
                     st.one_of(st.none(), st.dictionaries(columns, scalars, max_size=4)), geometries,
                     st.one_of(st.just({}), st.builds(lambda v: {"id": v}, st.one_of(st.text(max_size=3),
                                                                                      st.integers(-3, 3)))))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(features, min_size=1, max_size=6), st.sampled_from([None, 1, 3]))
def test_any_document_reads_as_the_long_way_reads_it(items, indent):
    """Whenever the one-pass reader answers, the long way accepts the file and gives the same frame."""
    data = json.dumps({"type": "FeatureCollection", "features": items}, indent=indent).encode()
    fast = read_plain(data, "x.geojson", InputLimits())
    if fast is not None:
        slow = long_way(data)
        try:
            assert slow is not None
            assert_same(fast, slow)
        except AssertionError:
            print("DATA", data)
            raise

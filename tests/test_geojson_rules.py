"""RFC 7946 checks on hand-made documents."""

import json

import pytest

from geo_service.io.geojson_rules import document_problems, geometry_problems

CCW = [[0, 0], [1, 0], [1, 1], [0, 1], [0, 0]]


def fc(*features, **extra):
    return {"type": "FeatureCollection", "features": list(features), **extra}


def feat(geometry, fid=None):
    f = {"type": "Feature", "properties": {}, "geometry": geometry}
    if fid is not None:
        f["id"] = fid
    return f


def test_a_good_document_has_no_problems():
    doc = fc(feat({"type": "Polygon", "coordinates": [CCW]}, 1), feat({"type": "Point", "coordinates": [-12, 14]}, 2))
    assert document_problems(doc) == []


@pytest.mark.parametrize("geometry, expected", [
    (None, "has no geometry"),
    ({"type": "Circle", "coordinates": [0, 0]}, "geometry type 'Circle'"),
    ({"type": "Point", "coordinates": [500000, 1600000]}, "outside longitude"),
    ({"type": "Point", "coordinates": [float("nan"), 1]}, "not finite"),
    ({"type": "Point", "coordinates": ["1", 2]}, "not a number"),
    ({"type": "Point", "coordinates": [1]}, "not a list of 2 or 3 numbers"),
    ({"type": "LineString", "coordinates": [[0, 0]]}, "fewer than 2 positions"),
    ({"type": "Polygon", "coordinates": [list(reversed(CCW))]}, "clockwise"),
    ({"type": "Polygon", "coordinates": [CCW[:-1] + [[0, 0.5]]]}, "not closed"),
    ({"type": "Polygon", "coordinates": [[[0, 0], [1, 1], [0, 0]]]}, "at least 4"),
    ({"type": "Polygon", "coordinates": [[[0, 0], [1, 1], [1, 0], [0, 1], [0, 0]]]}, "invalid: Self-intersection"),
    ({"type": "Polygon", "coordinates": [CCW, CCW]}, "hole 1 is counterclockwise"),
    ({"type": "MultiPolygon", "coordinates": [[list(reversed(CCW))]]}, "polygon 0: exterior ring is clockwise"),
])
def test_geometry_problems(geometry, expected):
    problems = [str(p) for p in geometry_problems(geometry)]
    assert any(expected in p for p in problems), problems


def test_crs_member_and_duplicate_ids_and_types():
    point = {"type": "Point", "coordinates": [-12, 14]}
    doc = fc(feat(point, "a"), feat(point, "a"), crs={"type": "name"})
    problems = [str(p) for p in document_problems(doc, allowed_types={"LineString"})]
    assert any("'crs' member" in p for p in problems)
    assert any(p.startswith("feature 2 (id 'a'): duplicate feature id") for p in problems)
    assert any("geometry type Point is not allowed here (LineString)" in p for p in problems)


@pytest.mark.parametrize("doc", [[], {"type": "Feature"}, {"type": "FeatureCollection", "features": {}}])
def test_not_a_feature_collection(doc):
    assert document_problems(doc)


def test_problem_list_is_bounded():
    bad = feat({"type": "Point", "coordinates": [999, 0]})
    problems = [str(p) for p in document_problems(fc(*[bad] * 100), limit=5)]
    assert len(problems) == 6 and problems[-1].startswith("…")


# --- the same rules on a file as GDAL reads it back (frame_problems) ------------------------------

CW_HOLE = [[0.2, 0.2], [0.2, 0.8], [0.8, 0.8], [0.8, 0.2], [0.2, 0.2]]


@pytest.mark.parametrize("geometry, expected", [
    ({"type": "Point", "coordinates": [500000, 1600000]}, "outside longitude"),
    ({"type": "Polygon", "coordinates": [list(reversed(CCW))]}, "wound against"),
    ({"type": "Polygon", "coordinates": [CCW, list(reversed(CW_HOLE))]}, "wound against"),
    ({"type": "MultiPolygon", "coordinates": [[CCW], [[[2, 0], [2, 1], [3, 1], [3, 0], [2, 0]]]]}, "wound against"),
    ({"type": "Polygon", "coordinates": [[[0, 0], [1, 1], [1, 0], [0, 1], [0, 0]]]}, "invalid: Self-intersection"),
    ({"type": "LineString", "coordinates": [[0, 0], [0, 0]]}, "invalid: Too few points"),
])
def test_frame_problems_find_what_the_document_rules_find(tmp_path, geometry, expected):
    from geo_service.io.geojson_rules import frame_problems
    from geo_service.store.geojson_file import read_geojson

    good = {"type": "Polygon", "coordinates": [CCW, CW_HOLE]}
    doc = fc(feat(good, "a"), feat(geometry, "b"), feat({"type": "Point", "coordinates": [-12, 14]}, "c"))
    path = tmp_path / "layer.geojson"
    path.write_text(json.dumps(doc))
    problems = [str(p) for p in frame_problems(read_geojson(path))]
    assert len(problems) == 1 and problems[0].startswith("feature 2 (id 'b'): ") and expected in problems[0]
    assert len(document_problems(doc)) >= 1  # the document walk refuses the same file


def test_frame_problems_name_types_not_allowed_and_duplicate_ids(tmp_path):
    from geo_service.io.geojson_rules import frame_problems
    from geo_service.store.geojson_file import read_geojson

    point = {"type": "Point", "coordinates": [-12, 14]}
    line = {"type": "LineString", "coordinates": [[-12, 14], [-11, 14]]}
    path = tmp_path / "layer.geojson"
    path.write_text(json.dumps(fc(feat(point, "a"), feat(line, "b"), feat(point, "a"))))
    problems = [str(p) for p in frame_problems(read_geojson(path), allowed_types={"Point", "MultiPoint"})]
    assert problems == ["feature 2 (id 'b'): geometry type LineString is not allowed here (MultiPoint, Point)",
                        "feature 3 (id 'a'): duplicate feature id"]
    assert frame_problems(read_geojson(path).iloc[:1]) == []


def test_frame_problems_are_bounded(tmp_path):
    from geo_service.io.geojson_rules import frame_problems
    from geo_service.store.geojson_file import read_geojson

    path = tmp_path / "layer.geojson"
    path.write_text(json.dumps(fc(*(feat({"type": "Point", "coordinates": [400, 0]}, str(i)) for i in range(50)))))
    problems = frame_problems(read_geojson(path), limit=5)
    assert len(problems) == 6 and str(problems[-1]) == "… further problems not listed"

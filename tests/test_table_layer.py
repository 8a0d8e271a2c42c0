"""A layer served from its memory-mapped Arrow table answers exactly as the same layer held in memory:
rows, dtypes, bbox and property queries, feature texts and ids, on points, lines and polygons."""

from __future__ import annotations

import json

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from shapely.geometry import (
    GeometryCollection,
    LineString,
    MultiLineString,
    MultiPoint,
    MultiPolygon,
    Point,
    Polygon,
    box,
)

from geo_service.errors import NotFoundError
from geo_service.store import frame_layer
from geo_service.store.features import feature_texts
from geo_service.store.frame_layer import FrameLayer
from geo_service.store.geojson_file import read_geojson
from geo_service.store.files import table_layer
from geo_service.store.files.sidecar import TableSidecars
from tests.conftest import BUNDLED_LAYERS


def points(count: int = 400, ids: str = "own") -> gpd.GeoDataFrame:
    rng = np.random.default_rng(3)
    frame = gpd.GeoDataFrame({
        "name": [None if i % 17 == 0 else f"Lieu {i} é" for i in range(count)],
        "population": pd.array([None if i % 11 == 0 else int(i * 7) for i in range(count)], dtype="Int64"),
        "households": np.arange(count, dtype="int64") % 13,
        "share": [np.nan if i % 9 == 0 else np.inf if i % 23 == 5 else i / 8 for i in range(count)],
        "surveyed": np.arange(count) % 3 == 0,
        "country": rng.choice(["ML", "SN"], count),
    }, geometry=gpd.points_from_xy(rng.uniform(-12.5, -11, count).round(3), rng.uniform(12.5, 15, count).round(3)),
        crs="EPSG:4326")
    if ids == "own":
        frame.insert(0, "id", [f"v{i:04d}" for i in range(count)][::-1])
    elif ids == "numbers":
        frame.insert(0, "id", np.arange(count) * 3 + 1)
    elif ids == "repeated":  # not usable as ids: features are numbered
        frame.insert(0, "id", [f"x{i % 5}" for i in range(count)])
    return frame


def shapes() -> gpd.GeoDataFrame:
    geometries = [box(-12 + i * 0.1, 13, -11.95 + i * 0.1, 13.05 + i * 0.02) for i in range(10)]
    geometries += [LineString([(-12 + i * 0.1, 14), (-11.5 + i * 0.1, 14.6)]) for i in range(10)]
    geometries += [Polygon([(-12, 12.5), (-11, 12.5), (-11, 13.5), (-11.9, 13.5), (-11.9, 12.6), (-12, 12.6)])]
    return gpd.GeoDataFrame({"kind": ["box"] * 10 + ["line"] * 10 + ["L"], "rank": range(21)},
                            geometry=geometries, crs="EPSG:4326")


def multi_part(z: bool = False) -> gpd.GeoDataFrame:
    """Multi-part shapes with coordinates GEOS writes with 17 figures (-12.1025798), or 3-D lines."""
    if z:
        geometries = [LineString([(-12.1025798 + i, 14.3355595, 250.5), (-11.5, 14.6, 1e-7 * i)]) for i in range(6)]
    else:
        geometries = [MultiPolygon([box(-12.1025798, 13 + i * 0.1, -12.0, 13.05 + i * 0.1), box(-11, 13, -10.9, 13.1)])
                      for i in range(3)]
        geometries += [MultiLineString([[(-12.1025798, 14.3355595), (-11.5, 14.6)], [(-11, 14), (-10.5, 14.2)]]),
                       MultiPoint([(-12.1025798, 14.3355595), (-11.0000001, 14.0000001)]),
                       GeometryCollection([Point(-12.1025798, 14.3355595), LineString([(-11, 14), (-10.5, 14.2)])])]
    return gpd.GeoDataFrame({"rank": range(len(geometries))}, geometry=geometries, crs="EPSG:4326")


def bundled(name: str) -> gpd.GeoDataFrame:
    path = BUNDLED_LAYERS / f"{name}.geojson"
    return read_geojson(path, path.read_bytes())


def odd_points() -> gpd.GeoDataFrame:
    """Points whose GeoJSON is not two plain numbers: empty, 3-D, -0.0, very small and large, 17 figures."""
    geometries = [Point(-0.0, 0.0), Point(), Point(-12.1025798, 14.3355595, 250.5), Point(1e-300, -1.5e300),
                  Point(-12.102579800000001, 14.3355595), Point(-12, 14), Point(5e-324, 0.1 + 0.2)]
    return gpd.GeoDataFrame({"rank": range(len(geometries))}, geometry=geometries, crs="EPSG:4326")


FRAMES = {
    "own ids": lambda: points(),
    "odd points": odd_points,
    "number ids": lambda: points(ids="numbers"),
    "repeated ids": lambda: points(ids="repeated"),
    "no ids": lambda: points(ids=None),
    "empty": lambda: points(0),
    "lines and polygons": shapes,
    "multi-part shapes": multi_part,
    "3-D lines": lambda: multi_part(z=True),
    **{name: (lambda name=name: bundled(name)) for name in ("border", "regions", "rivers", "communities",
                                                             "health_centres")},
}


@pytest.fixture(params=sorted(FRAMES))
def pair(request, tmp_path):
    frame = FRAMES[request.param]()
    table = TableSidecars(tmp_path).save("layer", "v1", frame)
    assert table is not None, "the table was not kept"
    return FrameLayer(frame, "v1"), table


def boxes(frame: gpd.GeoDataFrame) -> list[tuple]:
    west, south, east, north = frame.total_bounds if len(frame) else (-12, 13, -11, 14)
    rng = np.random.default_rng(8)
    found = [(west, south, east, north), (-180, -90, 180, 90), (10, 10, 11, 11), (west, south, west, south)]
    for _ in range(40):
        x, y = rng.uniform(west, east), rng.uniform(south, north)
        size = rng.choice([0.01, 0.1, 0.5])
        found.append((x, y, x + size, y + size))
    if len(frame):  # boxes that touch a feature's edge only
        x0, y0, x1, y1 = frame.geometry.iloc[len(frame) // 2].bounds
        found += [(x1, y1, x1 + 1, y1 + 1), (x0 - 1, y0 - 1, x0, y0)]
    return found


def test_the_whole_layer_and_its_rows_come_back_exactly(pair):
    held, mapped = pair
    assert (mapped.count, mapped.property_names) == (held.count, held.property_names)
    np.testing.assert_array_equal(mapped.bounds, held.bounds)
    got, expected = mapped.frame(), held.frame()
    assert got.equals(expected) and got.dtypes.equals(expected.dtypes) and got.crs == expected.crs
    picks = [held.count - 1, 0, held.count // 2] if held.count else []
    for columns in (None, held.property_names[:2]):
        got, expected = mapped.rows(picks, columns), held.rows(picks, columns)
        assert got.equals(expected) and got.dtypes.equals(expected.dtypes) and list(got.index) == picks


def test_bbox_and_property_queries_find_the_same_features(pair):
    held, mapped = pair
    frame = held.frame()
    for bbox in boxes(frame):
        assert mapped.positions(bbox, {}).tolist() == held.positions(bbox, {}).tolist(), bbox
    values = {name: [str(v) for v in frame[name].dropna().unique()[:3]] + ["none of them", "1", "1.0", "True"]
              for name in held.property_names}
    for name, tried in values.items():
        for value in tried:
            expected = held.positions(None, {name: value}).tolist()
            assert mapped.positions(None, {name: value}).tolist() == expected, (name, value)
            wide = boxes(frame)[0]
            assert mapped.positions(wide, {name: value}).tolist() == held.positions(wide, {name: value}).tolist()
    with pytest.raises(Exception, match="unknown property 'nope'"):
        mapped.positions(None, {"nope": "1"})


def test_feature_texts_and_ids_are_those_the_ogc_api_sent_before(pair):
    held, mapped = pair
    source, table = held.features(), mapped.features()
    every = list(range(held.count))
    assert table.texts(every) == source.texts(every)
    for position in every[:: max(1, held.count // 40)] + every[-1:]:  # one feature, read value by value
        assert table.texts([position]) == source.texts([position])
    scattered = every[::-7] + [p for p in every[1:3] if p not in every[::-7]]  # a bbox's rows: taken, not sliced
    assert table.texts(scattered) == source.texts(scattered)
    assert table.texts(scattered[:3]) == source.texts(scattered[:3])
    twice = scattered[:2] + scattered[:1]  # one feature named twice keeps its id, and so do the others
    assert table.texts(twice) == [source.texts([p])[0] for p in twice]
    for text in source.texts(every[:: max(1, held.count // 25)]):
        feature_id = str(json.loads(text)["id"])
        assert table.position(feature_id) == source.position(feature_id)
    for missing in ("0", "01", "-1", str(held.count + 1), "v9999", "", "é", "1" * 40):
        with pytest.raises(NotFoundError):
            source.position(missing)
        with pytest.raises(NotFoundError):
            table.position(missing)


def in_memory_only() -> gpd.GeoDataFrame:
    """Columns only a layer held in memory has: numbers mixed with text, dates, large nullable integers."""
    frame = points(50)
    frame["when"] = pd.date_range("2025-02-20", periods=50, freq="D")
    frame["mixed"] = [1 if i % 2 else "one" for i in range(50)]
    frame["big"] = pd.array([None if i % 4 == 0 else 2**60 + i for i in range(50)], dtype="Int64")
    return frame


def plain_odd_points() -> gpd.GeoDataFrame:
    """``odd_points`` that are all 2-D and not empty: written from their coordinates kept as Python floats."""
    frame = odd_points()
    return frame[~frame.geometry.is_empty & ~frame.geometry.has_z]


@pytest.mark.parametrize("name", [*sorted(FRAMES), "in memory only", "2-D odd points"])
def test_a_layer_in_memory_writes_its_features_as_the_geojson_download_does(name, monkeypatch):
    """Feature texts from the values a small layer keeps are those of its frame written whole by the
    GeoJSON writer, feature by feature; a layer too large to keep them gives the same."""
    frame = {"in memory only": in_memory_only, "2-D odd points": plain_odd_points}.get(name, FRAMES.get(name))()
    features = FrameLayer(frame, "v1").features()
    expected = feature_texts(features.frame)  # the whole layer, as a download writes it
    every = list(range(len(frame)))
    scattered = every[::-3] + [p for p in every[1:2] if p not in every[::-3]]  # a bbox's rows
    assert features.texts(every) == expected
    assert features.texts(scattered) == [expected[p] for p in scattered]
    assert [features.text(str(json.loads(text)["id"])) for text in expected[:5]] == expected[:5]
    twice = scattered[:2] + scattered[:1]
    assert features.texts(twice) == [expected[p] for p in twice]
    monkeypatch.setattr(frame_layer, "KEPT_VALUES", 0)
    assert FrameLayer(frame, "v1").features().texts(scattered) == [expected[p] for p in scattered]
    assert FrameLayer(frame, "v1").features().texts(twice) == [expected[p] for p in twice]


@pytest.mark.parametrize("column, values", [("mixed", [1 if i % 2 else "one" for i in range(20)]),  # numbers and text
                                            ("__minx", list(range(20)))])  # a name the table uses itself
def test_a_layer_arrow_cannot_hold_is_served_from_memory(tmp_path, caplog, column, values):
    frame = points(20)
    frame[column] = values
    sidecars = TableSidecars(tmp_path, min_bytes=0)
    assert sidecars.save("layer", "v1", frame) is None and "no table kept" in caplog.text
    layer = sidecars.layer("layer", "v1", (1, 1, 10**6), lambda: frame)  # (inode, mtime, size)
    assert isinstance(layer, FrameLayer) and layer.frame().equals(frame)
    assert layer.positions(None, {column: "1"}).tolist() == [i for i, v in enumerate(values) if str(v) == "1"]
    assert not list(tmp_path.glob("*.arrow"))


def test_points_on_the_edge_of_a_box_are_in_it(tmp_path):
    frame = gpd.GeoDataFrame({"id": ["a", "b"]}, geometry=[Point(-12, 13), Point(-11, 14)], crs="EPSG:4326")
    mapped = TableSidecars(tmp_path).save("layer", "v1", frame)
    assert mapped.positions((-12, 13, -11, 14), {}).tolist() == [0, 1]
    assert mapped.positions((-11, 14, -10, 15), {}).tolist() == [1]
    assert mapped.positions((-11.5, 13.5, -11.2, 13.8), {}).tolist() == []


def test_a_column_arrow_gives_back_otherwise_is_served_from_memory(tmp_path, caplog):
    """Whole numbers with gaps in an object column come back from Arrow as decimals: the table is not kept."""
    frame = points(20)
    frame["count"] = pd.Series([None if i % 3 else i for i in range(20)], dtype=object)
    assert TableSidecars(tmp_path, min_bytes=0).save("layer", "v1", frame) is None
    assert "do not survive an Arrow table" in caplog.text and not list(tmp_path.glob("*.arrow"))
    assert TableSidecars(tmp_path, min_bytes=0).save("layer", "v1", points(20)) is not None  # plain columns: kept


def test_ids_that_share_a_hash_are_told_apart_by_the_id_itself(tmp_path, monkeypatch):
    frame = points(60)
    monkeypatch.setattr(table_layer, "id_hash", lambda feature_id: len(feature_id) % 2)  # every id collides
    mapped = TableSidecars(tmp_path).save("layer", "v1", frame)
    for position in (0, 17, 59):
        assert mapped.position(frame["id"].iloc[position]) == position
    for missing in ("v9999", "v00", ""):
        with pytest.raises(NotFoundError):
            mapped.position(missing)


def test_a_table_of_an_older_layout_is_written_again_from_the_geojson(tmp_path, monkeypatch, caplog):
    frame = points(30)
    sidecars = TableSidecars(tmp_path, min_bytes=0)
    monkeypatch.setattr(table_layer, "FORMAT", 1)
    assert sidecars.save("layer", "v1", frame) is not None
    monkeypatch.undo()
    parsed = []
    assert sidecars.open("layer", "v1", quiet=True) is None  # a load's first look: the recorded version's table
    layer = sidecars.layer("layer", "v1", (1, 1, 10**6), lambda: parsed.append(1) or frame)
    assert parsed == [1]  # the old table was not read: parsed, kept again
    assert caplog.text.count("cannot be read") == 1  # said once, though looked for twice
    assert layer.position(frame["id"].iloc[5]) == 5
    assert sidecars.open("layer", "v1") is not None

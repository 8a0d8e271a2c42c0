"""The writer of plain point layers makes GDAL's bytes exactly, and the frame it says a reader gets is the
frame read from those bytes; anything else is left to GDAL, with nothing written."""

from __future__ import annotations

import io
import warnings

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from geo_service.io.geojson_stream import read_plain
from geo_service.io.geojson_writer import write_plain
from geo_service.store import LayerStore
from geo_service.store.geojson_file import write_with_gdal
from tests.conftest import BUNDLED_LAYERS
from tests.test_geojson_stream import assert_same


def gdal_bytes(frame: gpd.GeoDataFrame, tmp_path) -> bytes:
    path = tmp_path / f"gdal-{np.random.default_rng().integers(1 << 30)}.geojson"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        write_with_gdal(frame, path)
    data = path.read_bytes()
    path.unlink()
    return data


def ours(frame: gpd.GeoDataFrame):
    handle = io.BytesIO()
    written = write_plain(frame, handle)
    return handle.getvalue(), written


def assert_as_gdal(frame: gpd.GeoDataFrame, tmp_path) -> None:
    data, written = ours(frame)
    assert written is not None, "a plain point layer"
    expected = gdal_bytes(frame, tmp_path)
    assert data == expected  # so the layer's version (the file's hash) is the same either way
    assert_same(written, read_plain(expected, "x.geojson"))


def points(xs, ys) -> np.ndarray:
    return shapely.points(np.asarray(xs, dtype=float), np.asarray(ys, dtype=float))


def frame_of(columns: dict, xs, ys) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(columns, geometry=points(xs, ys), crs="EPSG:4326")


# Values on GDAL's rounding edges: runs of 0s and 9s before the last of 7 decimals, ends of the range,
# halves, negative zero, and decimals whose 17 figures hold a run (26823.000000000004, 0.1 + 0.2)
EDGE_X = [-12.1000001, 12.1000001, -12.1999999, 123.4999991, -0.0, -1e-9, 0.0, 179.99999999, -179.999999951,
          12.00000004, -9.99999995, 99.99999996, 180.0, -180.0, 1e-7, 5e-8, 45.00000005, -11.83108]
EDGE_Y = [0.0, -0.0, 89.9999999, -89.99999995, 14.44057, 1e-300, -45.5, 12.34567895, 90.0, -90.0, 0.00000049,
          13.7833830000001, 22.2999999, 1.0, -1.0, 33.3333333, 60.00000001, 14.2]
EDGE_REALS = [26823.000000000004, 0.1 + 0.2, 1 / 3, 1e20, 1e-7, 123456789012345678.0, 5.0, -0.0, 0.0, 1e300,
              -1e-300, 69.53, 557.8, 2.5e-5, 1e16, 1e15 + 0.3, 0.000001, 999999.9999999, 1.0000000000000002,
              8.565000000000017, 1813.649999999964, 0.017944099999999644]  # the last three: 14 figures


def test_values_on_gdal_rounding_edges_are_written_as_gdal_writes_them(tmp_path):
    rng = np.random.default_rng(7)
    n = 4000
    base = rng.integers(-1799999999, 1799999999, n) / 1e7
    noise = rng.choice([0, 1e-12, -1e-12, 4e-8, -4e-8, 5e-8, -5e-8, 4.9999e-8, 9.99e-8, 1e-9, 1e-10], n)
    xs = np.clip(np.concatenate([EDGE_X, base + noise]), -180, 180)[:n]
    ys = np.concatenate([EDGE_Y, rng.uniform(-90, 90, n)])[:n]
    reals = np.concatenate([EDGE_REALS, rng.normal(0, 1, n) * 10.0 ** rng.integers(-30, 30, n)])[:n]
    assert_as_gdal(frame_of({"id": [f"p{i}" for i in range(n)], "v": reals}, xs, ys), tmp_path)


def test_every_kind_of_plain_column_with_missing_values(tmp_path):
    n = 7
    frame = frame_of({
        "name": ["Kayes é", "a/b", 'q"uote\\', "tab\tnew\nline\x01\x7f", None, "日本", "🙂 Adlam 𞤀"],
        "count": pd.array([1, None, -(10**18) + 1, 2**63 - 1, 0, -5, 7], dtype="Int64"),
        "whole": np.arange(n, dtype=np.int64) * 12345678901,
        "small": np.arange(n, dtype=np.int32),
        "share": [0.25, np.nan, 1.0, -0.0, 1e-5, 3.3, 2.0],
        "ok": [True, False, True, True, False, False, True],
        "maybe": [True, None, False, True, None, False, True],
        "empty": [None] * n,
        "nothing": [np.nan] * n,
        "100% sure": ["x"] * n,
        "text": pd.array(["a", None, "b", "c", "d", "e", "f"], dtype="str"),
    }, EDGE_X[:n], EDGE_Y[:n])
    assert_as_gdal(frame, tmp_path)
    assert_as_gdal(frame.drop(columns=["name"]).assign(id=[f"f{i}" for i in range(n)]), tmp_path)
    assert_as_gdal(frame.drop(columns=["name"]).assign(id=pd.array([7, -(10**18) - 1, 0, 2**63 - 1, 12, 5, 6][:n],
                                                                     dtype="Int64")), tmp_path)
    assert_as_gdal(frame[["geometry"]].assign(id=np.arange(n) * 3), tmp_path)
    assert_as_gdal(frame[["geometry"]], tmp_path)  # "properties": { }


@pytest.mark.parametrize("layer", ["health_centres", "communities"])
def test_a_bundled_point_layer_is_written_again_byte_for_byte(layer):
    data = (BUNDLED_LAYERS / f"{layer}.geojson").read_bytes()
    written, result = ours(read_plain(data, "x.geojson"))
    assert result is not None and written == data


def _not_plain() -> dict:
    n = 3
    plain = {"name": ["a", "b", "c"]}
    xs, ys = [-11.0, -11.5, -12.0], [14.0, 14.5, 15.0]
    square = shapely.box(-12, 13, -11, 14)
    return {
        "polygons": gpd.GeoDataFrame(plain, geometry=[square] * n, crs="EPSG:4326"),
        "3-D points": gpd.GeoDataFrame(plain, geometry=shapely.points(xs, ys, [1, 2, 3]), crs="EPSG:4326"),
        "a missing geometry": gpd.GeoDataFrame(plain, geometry=[shapely.Point(0, 0), None, shapely.Point(1, 1)],
                                               crs="EPSG:4326"),
        "an empty point": gpd.GeoDataFrame(plain, geometry=[shapely.Point(), shapely.Point(0, 0), shapely.Point(1, 1)],
                                           crs="EPSG:4326"),
        "an id twice": frame_of({"id": ["a", "a", "b"]}, xs, ys),
        "a missing id": frame_of({"id": ["a", None, "b"]}, xs, ys),
        "float32": frame_of({"v": np.array([1.5, 2.5, 3.5], dtype=np.float32)}, xs, ys),
        "an infinity": frame_of({"v": [1.0, np.inf, 2.0]}, xs, ys),
        "dates as text": frame_of({"d": ["2025-02-20", "2025-03-01", None]}, xs, ys),
        "datetimes": frame_of({"d": pd.to_datetime(["2025-02-20", "2025-03-01", "2025-03-02"])}, xs, ys),
        "uint64": frame_of({"v": np.array([1, 2, 2**64 - 1], dtype=np.uint64)}, xs, ys),
        "a 19-digit negative number": frame_of({"v": [1, 2, -(10**18)]}, xs, ys),
        "a NUL in a text": frame_of({"t": ["a", "b\x00c", "d"]}, xs, ys),
        "lists": frame_of({"t": [[1, 2], [3], []]}, xs, ys),
        "texts and numbers mixed": frame_of({"t": ["a", 1, None]}, xs, ys),
        "names equal but for case": frame_of({"a": [1, 2, 3], "A": [4, 5, 6]}, xs, ys),
        "an id column named ID": frame_of({"ID": ["a", "b", "c"]}, xs, ys),
        "no features": frame_of({"name": []}, [], []),
    }


@pytest.mark.parametrize("case", sorted(_not_plain()))
def test_a_layer_that_is_not_plain_is_left_to_gdal_with_nothing_written(case):
    written, result = ours(_not_plain()[case])
    assert result is None and written == b""


def test_half_a_surrogate_pair_in_a_text_leaves_nothing_written_after_what_was_there():
    frame = frame_of({"t": pd.Series(["a", "\ud83d", "b"], dtype=object)}, [-11.0, -11.5, -12.0], [14.0, 14.5, 15.0])
    handle = io.BytesIO(b"kept")
    handle.seek(4)
    assert write_plain(frame, handle) is None
    assert handle.getvalue() == b"kept"


def test_the_store_writes_a_plain_point_layer_without_gdal_and_anything_else_with_it(tmp_path, monkeypatch):
    import shutil

    layers = tmp_path / "layers"
    shutil.copytree(BUNDLED_LAYERS, layers, ignore=shutil.ignore_patterns(".*"))
    store = LayerStore(layers)
    centres = store.read("health_centres")
    regions = store.read("regions")
    calls = []
    from geo_service.store import geojson_file

    real = geojson_file.write_with_gdal
    monkeypatch.setattr(geojson_file, "write_with_gdal", lambda frame, path: (calls.append(1), real(frame, path)))
    changed = centres.assign(name=centres["name"] + " (vérifié)")
    store.replace("health_centres", changed)
    assert calls == []
    assert (layers / "health_centres.geojson").read_bytes() == gdal_bytes(changed, tmp_path)
    assert_same(store.read("health_centres"), read_plain((layers / "health_centres.geojson").read_bytes(), "x"))
    store.replace("regions", regions.assign(note="x"))
    assert calls == [1]


TEXTS = st.one_of(st.none(), st.text(max_size=12))
REALS = st.one_of(st.none(), st.floats(allow_infinity=False), st.sampled_from(EDGE_REALS))
WHOLE = st.one_of(st.none(), st.integers(-(10**18) + 1, 2**63 - 1))
COLUMN = st.sampled_from(["text", "real", "whole", "bool"])


@st.composite
def point_layers(draw):
    n = draw(st.integers(1, 12))
    xs = draw(st.lists(st.one_of(st.floats(-180, 180), st.sampled_from(EDGE_X)), min_size=n, max_size=n))
    ys = draw(st.lists(st.one_of(st.floats(-90, 90), st.sampled_from(EDGE_Y)), min_size=n, max_size=n))
    columns = {}
    ids = draw(st.sampled_from(["none", "text", "whole"]))
    if ids == "text":
        columns["id"] = draw(st.lists(st.text(max_size=6), min_size=n, max_size=n, unique=True))
    elif ids == "whole":
        columns["id"] = pd.array(draw(st.lists(st.integers(-(2**63), 2**63 - 1), min_size=n, max_size=n, unique=True)),
                                 dtype="Int64")
    names = draw(st.lists(st.text(min_size=1, max_size=6).filter(lambda name: "\x00" not in name),
                          max_size=4, unique_by=str.lower))
    for name in names:
        if name.lower() == "id":
            continue
        kind = draw(COLUMN)
        if kind == "text":
            columns[name] = draw(st.lists(TEXTS, min_size=n, max_size=n))
        elif kind == "real":
            columns[name] = np.array([np.nan if v is None else v for v in draw(st.lists(REALS, min_size=n, max_size=n))])
        elif kind == "whole":
            values = draw(st.lists(WHOLE, min_size=n, max_size=n))
            columns[name] = pd.array(values, dtype="Int64")
        else:
            columns[name] = draw(st.lists(st.one_of(st.none(), st.booleans()), min_size=n, max_size=n))
    return frame_of(columns, xs, ys)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                    HealthCheck.function_scoped_fixture])
@given(point_layers())
def test_any_plain_point_layer_is_written_as_gdal_writes_it(tmp_path, frame):
    data, written = ours(frame)
    if written is None:
        assert data == b""  # left to GDAL (a NUL in a text, a date-like column)
        return
    assert_as_gdal(frame, tmp_path)

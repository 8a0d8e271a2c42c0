"""A large PostGIS layer read from its table: the same frame, row for row and type for type, as the parse of
its stored document; other layers parsed as before; a large parse never kept in the worker."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from shapely.geometry import Point

from geo_service.store import postgis as postgis_module
from geo_service.store.geojson_file import read_geojson
from tests.conftest import catalogue_entry, postgis_store, write_layers

TEXT = st.one_of(st.none(), st.text(st.characters(blacklist_categories=["Cs"], blacklist_characters="\x00"),
                                    max_size=5))
WHOLE = st.one_of(st.none(), st.integers(-10**17, 2**63 - 1))
DECIMAL = st.one_of(st.none(), st.floats(allow_nan=False, allow_infinity=False, width=64))


@pytest.fixture
def large(database_url, tmp_path, monkeypatch):
    """A store for which every layer counts as large (read from its table), and a count of those reads."""
    calls = []
    real = postgis_module.read_table

    def counted(conn, row, positions=None):
        frame = real(conn, row, positions)
        calls.append(frame is not None)
        return frame

    monkeypatch.setattr(postgis_module, "read_table", counted)
    store = postgis_store(database_url, write_layers(tmp_path / "layers"), table_min_mb=0)
    yield store, calls
    store.close()


def _parsed(store, layer_id: str) -> gpd.GeoDataFrame:
    return read_geojson(Path(f"{layer_id}.geojson"), store.file_bytes(layer_id))


def _same(got: gpd.GeoDataFrame, expected: gpd.GeoDataFrame) -> None:
    assert list(got.columns) == list(expected.columns) and got.geometry.name == expected.geometry.name
    assert got.crs == expected.crs
    pd.testing.assert_frame_equal(pd.DataFrame(got.drop(columns=got.geometry.name)),
                                  pd.DataFrame(expected.drop(columns=expected.geometry.name)), check_exact=True)
    pd.testing.assert_index_equal(got.index, expected.index, exact=True)
    assert shapely.equals_identical(got.geometry.values._data, expected.geometry.values._data).all()


@st.composite
def plain_frames(draw):
    rows = draw(st.integers(1, 8))
    columns = {"id": [f"f{i}" for i in range(rows)], "source": ["tests"] * rows}
    for number, values in enumerate(draw(st.lists(st.sampled_from([TEXT, WHOLE, DECIMAL, st.booleans()]),
                                                  max_size=4))):
        columns[f"c{number}"] = draw(st.lists(values, min_size=rows, max_size=rows))
    xs = draw(st.lists(st.floats(-12.5, -11.0), min_size=rows, max_size=rows))
    return gpd.GeoDataFrame(columns, geometry=[Point(x, 14.2) for x in xs], crs="EPSG:4326")


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(plain_frames())
def test_a_large_layer_read_from_its_table_is_its_documents_parse(large, frame):
    store, calls = large
    store.write("sites", read_geojson(Path("f.geojson"), _document(frame)))
    calls.clear()
    expected = _parsed(store, "sites")
    _same(store.read("sites"), expected)
    positions = np.array([len(expected) - 1, 0])
    _same(store.query("sites", bbox=(-13, 14, -10, 15), limit=2).features, expected.iloc[[0, 1][:len(expected)]])
    _same(store._from_table(store._row("sites"), positions), expected.iloc[positions])
    assert calls and all(calls)  # from the table, not from the document


def _document(frame: gpd.GeoDataFrame) -> bytes:
    from geo_service.io.writers import geojson_bytes

    return geojson_bytes(frame)


def test_other_layers_are_parsed_and_a_large_parse_is_not_kept(large):
    store, calls = large
    dated = gpd.GeoDataFrame({"id": ["a", "b"], "seen": ["2025-02-20", "2025-03-01"], "open": [True, None],
                              "source": ["tests"] * 2}, geometry=[Point(-12, 14.2), Point(-11.9, 14.3)],
                             crs="EPSG:4326")
    store.add_layer(catalogue_entry("dated", "Point"), dated)
    calls.clear()
    _same(store.read("dated"), _parsed(store, "dated"))
    assert not calls  # a date column and a boolean with a gap: parsed from the document
    assert "dated" not in store._frames  # large (threshold 0 here): let go after the request

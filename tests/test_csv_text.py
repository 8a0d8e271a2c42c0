"""``csv_text`` writes the bytes pandas writes, for every kind of column it takes, and hands back the rest."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from geo_service.io.csv_text import csv_text

TEXTS = st.one_of(st.none(), st.text(alphabet=st.sampled_from(list('ab ,"\r\n;\'é\t=-') + ["\u00a0", "🌍"]),
                                      max_size=6))
FLOATS = st.one_of(st.floats(allow_nan=True, allow_infinity=True),
                   st.sampled_from([0.1, -0.0, 1e16, 1e-5, 123456.789, 5.0, 1e300, 2.5e-308]))


def _expected(table: pd.DataFrame) -> str:
    return table.to_csv(index=False, lineterminator="\r\n")


@st.composite
def tables(draw):
    rows = draw(st.integers(0, 6))
    kinds = draw(st.lists(st.sampled_from(["float", "int", "Int64", "bool", "boolean", "string", "str", "object"]),
                          min_size=2, max_size=5))
    columns = {}
    for number, kind in enumerate(kinds):
        name = draw(st.sampled_from(["name", "a,b", 'say "hi"', "é", f"c{number}"])) + str(number)
        if kind == "float":
            columns[name] = pd.Series(draw(st.lists(FLOATS, min_size=rows, max_size=rows)), dtype="float64")
        elif kind == "int":
            columns[name] = pd.Series(draw(st.lists(st.integers(-2**63, 2**63 - 1), min_size=rows, max_size=rows)),
                                      dtype="int64")
        elif kind in ("Int64", "boolean"):
            values = st.integers(-2**63, 2**63 - 1) if kind == "Int64" else st.booleans()
            columns[name] = pd.array(draw(st.lists(st.one_of(st.none(), values), min_size=rows, max_size=rows)),
                                     dtype=kind)
        elif kind == "bool":
            columns[name] = pd.Series(draw(st.lists(st.booleans(), min_size=rows, max_size=rows)), dtype=bool)
        else:
            texts = draw(st.lists(TEXTS, min_size=rows, max_size=rows))
            dtype = {"string": "string", "str": "str", "object": object}[kind]
            columns[name] = pd.Series(texts, dtype=dtype)
    return pd.DataFrame(columns)


@settings(max_examples=300, deadline=None)
@given(tables())
def test_the_same_bytes_as_pandas(table):
    assert csv_text(table) == _expected(table)


def test_a_table_of_other_kinds_is_left_to_pandas():
    float32 = pd.DataFrame({"a": np.array([0.1], dtype="float32"), "b": ["x"]})
    dates = pd.DataFrame({"a": pd.to_datetime(["2025-02-20"]), "b": ["x"]})
    mixed = pd.DataFrame({"a": pd.Series(["x", 1], dtype=object), "b": ["x", "y"]})
    one = pd.DataFrame({"a": [""]})
    for table in (float32, dates, mixed, one):
        assert csv_text(table) is None


@pytest.mark.parametrize("rows", [0, 1, 1000])
def test_row_counts(rows):
    table = pd.DataFrame({"x": np.arange(rows, dtype=float) / 3, "name": [f"v{i}" for i in range(rows)]})
    assert csv_text(table) == _expected(table)

"""Fuzzing the importer: any GeoJSON-ish or CSV-ish input imports or fails with GeoServiceError, nothing else."""

import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from geo_service.config import Extent
from geo_service.errors import GeoServiceError
from geo_service.io.layer_import import prepare_import

numbers = st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.integers(-10**6, 10**6),
                    st.floats(-13, -10), st.floats(11, 16))
scalars = st.one_of(st.none(), st.booleans(), numbers, st.text(max_size=12))
json_values = st.recursive(scalars, lambda inner: st.one_of(st.lists(inner, max_size=4),
                                                            st.dictionaries(st.text(max_size=6), inner, max_size=4)),
                           max_leaves=12)
positions = st.lists(numbers, min_size=0, max_size=4)
geometries = st.one_of(
    st.none(), json_values,
    st.fixed_dictionaries({"type": st.sampled_from(["Point", "LineString", "Polygon", "MultiPoint", "Nope"]),
                           "coordinates": st.one_of(positions, st.lists(positions, max_size=5),
                                                    st.lists(st.lists(positions, max_size=5), max_size=2))}),
)
features = st.fixed_dictionaries({"type": st.sampled_from(["Feature", "feature", "X"]), "geometry": geometries,
                                  "properties": st.one_of(st.none(), st.dictionaries(st.text(max_size=8), scalars,
                                                                                     max_size=4))})
documents = st.one_of(json_values, st.fixed_dictionaries({
    "type": st.sampled_from(["FeatureCollection", "Feature", "Point"]),
    "features": st.lists(features, max_size=5)}))


def attempt(data: bytes, filename: str) -> None:
    try:
        prepared = prepare_import(data, filename, None, Extent())
    except GeoServiceError:
        return
    assert len(prepared.frame) > 0 and prepared.frame.crs.to_epsg() == 4326


@settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
@given(documents)
def test_geojson_fuzz(document):
    attempt(json.dumps(document, allow_nan=True).encode(), "fuzz.geojson")


@settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.lists(st.lists(st.one_of(st.text(max_size=8), numbers.map(str)), min_size=1, max_size=5), max_size=6),
       st.sampled_from([",", ";", "\t"]), st.sampled_from([["lat", "lon"], ["name", "lat", "lon"], ["x", "y", "=cmd"],
                                                          ["Latitude", "Longitude"], []]))
def test_csv_fuzz(rows, sep, header):
    text = "\n".join(sep.join(row) for row in ([header] if header else []) + rows)
    attempt(text.encode(), "fuzz.csv")


@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.binary(max_size=300), st.sampled_from(["f.geojson", "f.csv", "f.gpkg", "f.zip", "f.kml"]))
def test_binary_fuzz(data, filename):
    attempt(data, filename)

"""One way to read a vector file through GDAL (pyogrio): whole numbers stay whole numbers.

GDAL reports integer fields as integers, but numpy has no missing integer, so
pyogrio's default turns an integer column with one null into floats (26823 →
26823.0 on the next write). Reading through Arrow with a types mapper gives
pandas' nullable Int64 instead, which pyogrio writes back as integers.
"""

from __future__ import annotations

import warnings
from datetime import date, time
from os import PathLike

import geopandas as gpd
import pandas as pd
import pyarrow as pa
import pyogrio

_INTEGERS = {kind: pd.Int64Dtype() for kind in (pa.int8(), pa.int16(), pa.int32(), pa.int64(),
                                                 pa.uint8(), pa.uint16(), pa.uint32())}


def read_frame(source: str | PathLike | object, layer: str | None = None) -> gpd.GeoDataFrame:
    """The layer as a GeoDataFrame with nullable integer columns; dates stay text as written."""
    with warnings.catch_warnings():
        # GDAL's own notes are collected by callers that want them; pyogrio's Arrow notice is not one.
        warnings.filterwarnings("ignore", message=".*arrow.*", category=UserWarning)
        frame = pyogrio.read_dataframe(source, layer=layer, use_arrow=True, datetime_as_string=True,
                                       arrow_to_pandas_kwargs={"types_mapper": _INTEGERS.get})
    for column in frame.columns:  # Arrow gives Date and Time fields as Python objects: keep them as written
        if frame[column].dtype == object:
            sample = frame[column].dropna()
            if len(sample) and isinstance(sample.iloc[0], (date, time)):
                frame[column] = frame[column].map(lambda v: v.isoformat(), na_action="ignore").astype("string")
    return frame

"""One way to read a vector file through GDAL (pyogrio): whole numbers stay whole numbers.

GDAL reports integer fields as integers, but numpy has no missing integer, so
pyogrio's default turns an integer column with one null into floats (26823 →
26823.0 on the next write). Reading through Arrow with a types mapper gives
pandas' nullable Int64 instead, which pyogrio writes back as integers.
"""

from __future__ import annotations

import json
import logging
import warnings
from datetime import date, time
from os import PathLike

import geopandas as gpd
import pandas as pd
import pyarrow as pa
import pyogrio

_IDS_MAX_BYTES = 64 * 2**20
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


def with_feature_ids(frame: gpd.GeoDataFrame, data: bytes | None = None, *,
                     features: list | None = None) -> tuple[gpd.GeoDataFrame, bool]:
    """``frame`` read by GDAL from a GeoJSON document, with the features' ids as its ``id`` column; and whether
    whole-number ids became text (when text ids come with them: a column has one type).

    GDAL makes whole-number feature ids (``"id": 10``) its FIDs, which pyogrio does not return: they were
    lost (the features then numbered 1 to N). Text ids GDAL gives as a column itself; so does a property
    named ``id``, which is left as it is. Written here because neither GDAL nor pyogrio says whether the
    FIDs came from the document (they are 0 to N-1 either way when its ids are). With an ``id`` column,
    ``data`` is parsed only to tell whether whole numbers were among text ids: pass it only when
    ``may_mix_ids`` (``store.geojson_file.read_geojson`` does). The ids come from the
    document's ``features`` when the caller parsed it already; else ``data`` is parsed again for them, so only
    up to ``_IDS_MAX_BYTES`` (about ten times that in memory): a larger one keeps GDAL's reading, its features
    numbered, and says so in the log (plain documents, whatever their ids, never come here: ``geojson_stream``)."""
    if "id" in frame.columns:  # text ids (or a property "id"): GDAL made text of any whole number among them
        if features is None and data is not None and len(data) <= _IDS_MAX_BYTES:  # the caller saw may_mix_ids
            features = json.loads(data).get("features")
        return frame, isinstance(features, list) and _mixed_ids(features)
    if features is None:
        if data is None or b'"id"' not in data:
            return frame, False
        if len(data) > _IDS_MAX_BYTES:
            logging.getLogger(__name__).warning("a GeoJSON document of %d MB with whole-number ids: its features "
                                                "are numbered instead (ids are read up to %d MB)", len(data) >> 20,
                                                _IDS_MAX_BYTES >> 20)
            return frame, False
        features = json.loads(data).get("features")
    if not isinstance(features, list) or len(features) != len(frame):
        return frame, False
    ids = [feature.get("id") if isinstance(feature, dict) else None for feature in features]
    if all(value is None for value in ids):
        return frame, False
    as_text = False
    if all(value is None or (type(value) is int) for value in ids):
        column = pd.array(ids, dtype="Int64")
    else:
        as_text = any(type(value) is int for value in ids)
        column = pd.array([None if value is None else str(value) for value in ids], dtype="string")
    frame = frame.copy()
    frame.insert(0, "id", column)
    return frame, as_text


def may_mix_ids(frame: gpd.GeoDataFrame) -> bool:
    """Whether the ``id`` column GDAL made could hold whole numbers that were text only among text ids: the
    document must be read to tell (a text id may be written with digits too)."""
    ids = frame["id"]
    return ids.dtype != "Int64" and bool(ids.astype("string").str.fullmatch(r"-?\d+").any())


def _mixed_ids(features: list) -> bool:
    """Whether the features' ids are whole numbers and text."""
    kinds = {type(feature.get("id")) for feature in features if isinstance(feature, dict)}
    return int in kinds and str in kinds

"""One feature created, replaced, updated or deleted (OGC API – Features Part 4), as a new version of its
layer: the feature is read by the same rules as an imported file (RFC 7946, the service's area, limits,
valid geometry of the layer's family, an id of its own, a source), the layer is written whole through
``Store.write`` (atomic, the previous version kept in the history, so any edit can be rolled back), and a
layer changed meanwhile by someone else is read again and the edit applied to it, unless the edited
feature itself changed (its ETag, ``If-Match``).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

import geopandas as gpd
import pandas as pd

from geo_service.config import Extent, InputLimits
from geo_service.errors import (
    GeoServiceError,
    InvalidParameterError,
    NotFoundError,
    VersionConflictError,
)
from geo_service.i18n import Text
from geo_service.io.ingest import read_upload
from geo_service.io.layer_import import check_family, check_geometries, check_ids
from geo_service.store import Store
from geo_service.store.features import feature_etag

ATTEMPTS = 3  # a layer changed by someone else between reading and writing is read again, this many times


class FeatureExistsError(GeoServiceError):
    """A feature created with the id of one the layer has."""

    status = 409
    code = "Conflict"


@dataclass(frozen=True)
class Edit:
    """What an edit left: the feature's id, its ETag (None once deleted), the layer's new version."""

    feature_id: str
    etag: str | None
    version: str


def current_etag(store: Store, layer_id: str, feature_id: str) -> str:
    source = store.features(layer_id)
    return feature_etag(source.text(feature_id))


def load_json(body: bytes) -> object:
    """The request body as JSON, or a 400."""
    try:
        return json.loads(body)
    except (ValueError, RecursionError):
        raise InvalidParameterError(Text("error", "the body is not JSON: send one GeoJSON Feature")) from None


def _row(store: Store, layer_id: str, document: object, extent: Extent | None,
         limits: InputLimits) -> gpd.GeoDataFrame:
    """The feature as one row, read once by the rules of an imported file (``extent``: the service's area, or
    None where the geometry is the layer's own, unchanged)."""
    if not isinstance(document, dict) or document.get("type") != "Feature":
        raise InvalidParameterError(Text("error", "the body must be one GeoJSON Feature"))
    collection = json.dumps({"type": "FeatureCollection", "features": [document]}).encode("utf-8")
    frame, _ = read_upload(collection, "feature.geojson", extent=extent, limits=limits)
    if frame.geometry.name != "geometry":
        frame = frame.rename_geometry("geometry")
    frame, _ = check_geometries(frame, "feature", repair=False)
    check_family(frame, "feature", store.catalogue.get(layer_id))
    if "id" in frame.columns:  # the id member, not a property, names the feature
        frame = frame.drop(columns="id")
    given = document.get("id")
    frame.insert(0, "id", pd.array([None if given in (None, "") else given], dtype=object))
    return frame


def _with_ids(frame: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """A layer whose features are numbered (no id of their own) keeps those numbers as ids from its first
    edit, so deleting one feature does not renumber the others."""
    if "id" not in frame.columns:
        frame.insert(0, "id", pd.array([str(number) for number in range(1, len(frame) + 1)], dtype="string"))
    return frame


def _ids(frame: gpd.GeoDataFrame) -> pd.Series:
    """The features' ids as the OGC API writes them in URLs."""
    return frame["id"].astype("string")


def _typed_id(frame: gpd.GeoDataFrame, value) -> object:
    """An id of the layer's own id type: whole numbers stay numbers in a layer of numbered ids."""
    if pd.api.types.is_integer_dtype(frame["id"]):
        text = str(value)
        if not text.lstrip("-").isdigit():
            raise InvalidParameterError(Text("error", "this layer's ids are whole numbers; {id} is not one",
                                             {"id": repr(value)}))
        return int(text)
    return str(value)


def _combine(frame: gpd.GeoDataFrame, row: gpd.GeoDataFrame, position: int | None) -> gpd.GeoDataFrame:
    """``frame`` with ``row`` in place of the feature at ``position`` (appended when None)."""
    if len(row):
        row = row.copy()
        row["id"] = pd.array([_typed_id(frame, row["id"].iloc[0])], dtype=frame["id"].dtype)
    before = frame.iloc[:position] if position is not None else frame
    after = frame.iloc[position + 1:] if position is not None else frame.iloc[0:0]
    parts = [part for part in (before, row, after) if len(part)]
    combined = pd.concat(parts, ignore_index=True) if parts else frame.iloc[0:0]
    return gpd.GeoDataFrame(combined, geometry="geometry", crs=frame.crs)


def _edit(store: Store, layer_id: str, change: Callable[[gpd.GeoDataFrame], tuple[gpd.GeoDataFrame, str]],
          feature_id: str | None, if_match: str | None) -> Edit:
    for _ in range(ATTEMPTS):
        version = store.version(layer_id)
        if feature_id is not None and if_match is not None and current_etag(store, layer_id, feature_id) != if_match:
            raise VersionConflictError(Text("error", "feature {id} has changed since you read it (If-Match): "
                                               "read it again and apply your change to it", {"id": feature_id}))
        frame, edited = change(_with_ids(store.read(layer_id)))
        check_ids(frame, "layer")
        try:
            new_version, _ = store.write(layer_id, frame, expected_version=version)
        except VersionConflictError:
            continue  # another edit landed in between: apply this one to the new version
        source = store.features(layer_id)
        try:
            etag = feature_etag(source.text(edited))
        except GeoServiceError:
            etag = None  # deleted
        return Edit(edited, etag, new_version)
    raise VersionConflictError(Text("error", "layer {layer} is being changed by others: try again",
                                     {"layer": layer_id}))


def _position(frame: gpd.GeoDataFrame, feature_id: str) -> int:
    found = (_ids(frame) == feature_id).fillna(False).to_numpy().nonzero()[0]
    if not len(found):
        raise NotFoundError(Text("error", "no feature {id} in this layer", {"id": feature_id}))
    return int(found[0])


def _sourced(row: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    if "source" not in row.columns or pd.isna(row["source"].iloc[0]) or not str(row["source"].iloc[0]).strip():
        row["source"] = f"added through the OGC API on {date.today().isoformat()}"
    return row


def create_feature(store: Store, layer_id: str, document: object, extent: Extent, limits: InputLimits) -> Edit:
    """A new feature; without an id it is given one (the next number in a layer of numbered ids)."""
    row = _sourced(_row(store, layer_id, document, extent, limits))

    def change(frame):
        if row["id"].isna().all():
            numbers = pd.api.types.is_integer_dtype(frame["id"])
            row["id"] = [int(frame["id"].max() or 0) + 1 if numbers and len(frame) else
                         1 if numbers else uuid.uuid4().hex[:16]]
        new_id = str(row["id"].iloc[0])
        if (_ids(frame) == new_id).fillna(False).any():
            raise FeatureExistsError(Text("error", "feature {id} exists already: replace it with PUT",
                                            {"id": new_id}))
        return _combine(frame, row, None), new_id

    return _edit(store, layer_id, change, None, None)


def replace_feature(store: Store, layer_id: str, feature_id: str, document: object, extent: Extent | None,
                    limits: InputLimits, if_match: str | None) -> Edit:
    if isinstance(document, dict):
        document = {**document, "id": feature_id}
    row = _sourced(_row(store, layer_id, document, extent, limits))
    return _edit(store, layer_id, lambda frame: (_combine(frame, row, _position(frame, feature_id)), feature_id),
                 feature_id, if_match)


def update_feature(store: Store, layer_id: str, feature_id: str, patch: object, extent: Extent,
                   limits: InputLimits, if_match: str | None) -> Edit:
    """A JSON merge patch (RFC 7396) of the feature: given properties replace theirs, ``null`` removes one,
    a given geometry replaces the feature's."""
    if not isinstance(patch, dict) or not set(patch) <= {"type", "properties", "geometry"} or \
            not isinstance(patch.get("properties", {}), dict):
        raise InvalidParameterError(Text("error", "a PATCH body is a partial GeoJSON Feature: properties and/or "
                                         "geometry"))
    source = store.features(layer_id)
    current = json.loads(source.text(feature_id))
    properties = {**(current.get("properties") or {}), **patch.get("properties", {})}
    merged = {"type": "Feature", "id": feature_id, "geometry": patch.get("geometry", current.get("geometry")),
              "properties": {k: v for k, v in properties.items() if v is not None}}
    area = extent if "geometry" in patch else None  # a new place must be in the area; the old one stays
    return replace_feature(store, layer_id, feature_id, merged, area, limits, if_match)


def delete_feature(store: Store, layer_id: str, feature_id: str, if_match: str | None) -> Edit:
    def change(frame):
        position = _position(frame, feature_id)
        return _combine(frame, frame.iloc[0:0], position), feature_id

    return _edit(store, layer_id, change, feature_id, if_match)

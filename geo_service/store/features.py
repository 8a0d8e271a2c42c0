"""A layer's features as the OGC API sends them: GeoJSON Feature texts by position, and positions by id.

Both backends give one (``Store.features``): the files backend from its parsed frame, PostGIS from SQL
(so a worker never parses a whole layer to answer a page). Ids are the layer's own ``id`` property when
it is present, unique and never empty, else numbers from 1 in the layer's order.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from typing import TYPE_CHECKING, Protocol

from geo_service.errors import NotFoundError
from geo_service.i18n import Text

if TYPE_CHECKING:
    import geopandas as gpd


def no_feature(feature_id: str) -> NotFoundError:
    return NotFoundError(Text("error", "no feature {value} in this collection", {"value": repr(feature_id)}))


class FeatureSource(Protocol):
    version: str

    def texts(self, positions) -> list[str]:
        """GeoJSON Feature texts of the features at ``positions`` (the layer's order), in that order."""

    def position(self, feature_id: str) -> int:
        """The position of the feature with this id (NotFoundError if there is none)."""

    def text(self, feature_id: str) -> str:
        """The GeoJSON Feature text of the feature with this id (NotFoundError if there is none)."""


def feature_etag(text: str) -> str:
    """A feature's ETag: the hash of its GeoJSON as the OGC API sends it (the same in every worker)."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:20]


def usable_ids(frame: gpd.GeoDataFrame) -> bool:
    return "id" in frame.columns and frame["id"].is_unique and not frame["id"].isna().any()


def feature_texts(frame: gpd.GeoDataFrame) -> list[str]:
    """One GeoJSON Feature text per row of ``frame`` (its ``id`` column is the feature id)."""
    from geo_service.io.writers import geojson_bytes  # GDAL: loaded by the backends that hold frames

    features = json.loads(geojson_bytes(frame))["features"]
    return [json.dumps(f, ensure_ascii=False, separators=(",", ":")) for f in features]


def texts_once(positions: list[int], write: Callable[[list[int]], list[str]]) -> list[str]:
    """``write``'s texts for ``positions`` with each position written once: the GeoJSON writer keeps a row's
    ``id`` as the feature id only when the rows it is given have unique ids, so a page that named one
    feature twice would have lost the id of every feature on it."""
    unique = list(dict.fromkeys(positions))
    if len(unique) == len(positions):
        return write(positions)
    by_position = dict(zip(unique, write(unique)))
    return [by_position[p] for p in positions]

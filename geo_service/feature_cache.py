"""Layers ready to be sent per version (rows and an id index), and a bounded cache of responses.

A page of items writes only its own features, and a repeated request (same
layer version, same query) is answered from memory.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass

import geopandas as gpd
import pandas as pd

from geo_service.errors import NotFoundError
from geo_service.i18n import Text
from geo_service.io.formats import geojson_bytes
from geo_service.store import Store


def response_tag(version: str, *parts: object) -> str:
    """An ETag for one layer version and request: the same in every worker process (unlike ``hash()``),
    and made of header-safe characters only."""
    digest = hashlib.sha256(repr(parts).encode("utf-8")).hexdigest()[:12]
    return f"{version}-{digest}"


@dataclass(frozen=True)
class SerialisedLayer:
    """A layer ready to be sent feature by feature: its rows with the ids the OGC API gives, and an index of
    those ids. Features are written as GeoJSON only when a page asks for them, so a worker's first request
    costs a copy of the layer, not the serialisation of every feature (48 s for a million points)."""

    version: str
    frame: gpd.GeoDataFrame  # with an "id" column: the layer's own, or numbers from 1 in file order
    ids: pd.Index

    def texts(self, positions) -> list[str]:
        """GeoJSON Feature texts of the features at ``positions`` (the layer's order), in that order."""
        features = json.loads(geojson_bytes(self.frame.iloc[list(positions)]))["features"]
        return [json.dumps(f, ensure_ascii=False, separators=(",", ":")) for f in features]

    def position(self, feature_id: str) -> int:
        try:
            return int(self.ids.get_loc(feature_id))
        except KeyError:
            raise NotFoundError(Text("error", "no feature {value} in this collection",
                                     {"value": repr(feature_id)})) from None


def serialise_layer(store: Store, layer_id: str) -> SerialisedLayer:
    version = store.version(layer_id)
    frame = store.read(layer_id)
    if "id" not in frame.columns or not frame["id"].is_unique or frame["id"].isna().any():
        # Without a usable id column, features are numbered from 1 in file order.
        frame = frame.drop(columns=[c for c in ("id",) if c in frame.columns])
        frame.insert(0, "id", [str(i + 1) for i in range(len(frame))])
    return SerialisedLayer(version, frame, pd.Index(frame["id"].astype(str)))


class ResponseCache:
    """Thread-safe LRU of serialised responses and layers, bounded in entries and bytes."""

    def __init__(self, store: Store, max_entries: int = 512, max_bytes: int = 64 * 2**20) -> None:
        self.store = store
        self.max_entries = max_entries
        self.max_bytes = max_bytes
        self._layers: dict[str, SerialisedLayer] = {}
        self._responses: OrderedDict[Hashable, bytes] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()

    def layer(self, layer_id: str) -> SerialisedLayer:
        version = self.store.version(layer_id)
        cached = self._layers.get(layer_id)
        if cached is None or cached.version != version:
            cached = serialise_layer(self.store, layer_id)
            with self._lock:
                self._layers[layer_id] = cached
        return cached

    def response(self, key: Hashable, build: Callable[[], bytes]) -> bytes:
        """The cached bytes for ``key`` (which must include the layer version), built once."""
        with self._lock:
            body = self._responses.get(key)
            if body is not None:
                self._responses.move_to_end(key)
                return body
        body = build()
        if len(body) <= self.max_bytes // 4:
            with self._lock:
                if key not in self._responses:
                    self._responses[key] = body
                    self._bytes += len(body)
                while len(self._responses) > self.max_entries or self._bytes > self.max_bytes:
                    _, dropped = self._responses.popitem(last=False)
                    self._bytes -= len(dropped)
        return body

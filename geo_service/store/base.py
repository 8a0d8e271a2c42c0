"""The store interface: what everything above the store may ask of it, and the values it answers with.

The OGC API, downloads, the map, proximity inputs, imports, history and If-Match
use only ``Store``; a backend (today ``files.LayerStore``: GeoJSON files named
in ``catalogue.json``) implements it. ``tests/test_store_contract.py`` holds
the behaviour every backend must show. Versions are opaque strings that change
exactly when a layer's content does; they are the ETags of the HTTP layer.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from geo_service.catalogue import Catalogue, Layer
from geo_service.errors import InvalidParameterError, LayerUnavailableError
from geo_service.i18n import Text
from geo_service.store.expressions import Expression, SortKey
from geo_service.store.features import FeatureSource
from geo_service.store.history import SavedVersion

if TYPE_CHECKING:  # only named in annotations: the interface loads neither (see the package's docstring)
    import geopandas as gpd
    import numpy as np

Bbox = tuple[float, float, float, float]


@dataclass(frozen=True)
class QueryResult:
    """Features of one page of a query and how many matched in all."""

    features: gpd.GeoDataFrame
    number_matched: int


@dataclass(frozen=True)
class LayerSummary:
    layer: Layer
    feature_count: int
    bounds: Bbox
    version: str


@dataclass(frozen=True)
class LayerState:
    """How one catalogue layer is doing: ``ok`` with its summary, or ``unavailable`` with the reason."""

    layer: Layer
    summary: LayerSummary | None
    problem: str | None

    @property
    def available(self) -> bool:
        return self.summary is not None


def check_page(bbox: Bbox | None, limit: int | None, offset: int) -> None:
    """The query arguments every backend refuses alike, before any work."""
    if offset < 0:
        raise InvalidParameterError(f"offset must be 0 or more, got {offset}")
    if limit is not None and limit < 0:
        raise InvalidParameterError(f"limit must be 0 or more, got {limit}")
    if bbox is not None and (bbox[0] > bbox[2] or bbox[1] > bbox[3]):
        raise InvalidParameterError(f"bbox {bbox} has its minimum above its maximum")


def plain_page(count: int, *, bbox: Bbox | None = None, limit: int | None = None, offset: int = 0, filters=None,
               where=None, sortby=()) -> tuple[range, int] | None:
    """A page's arguments checked (``check_page``); then, for a page that asks nothing but a range of a layer of
    ``count`` features, its positions and match count (known without a query), else None."""
    check_page(bbox, limit, offset)
    if bbox is not None or filters or where is not None or sortby:
        return None
    stop = count if limit is None else min(count, offset + limit)
    return range(min(offset, stop), stop), count


def missing_layer(layer_id: str) -> LayerUnavailableError:
    return LayerUnavailableError(Text("error", "layer {layer}: its file is missing; restore it with "
                                      "`geo-service layers rollback` or a backup", {"layer": layer_id}))


def unreadable_layer(layer_id: str) -> LayerUnavailableError:
    return LayerUnavailableError(Text("error", "layer {layer}: its file cannot be read as GeoJSON (damaged or "
                                      "truncated); restore it with `geo-service layers rollback`", {"layer": layer_id}))


def oversized_layer(layer_id: str, size: int, limit: int) -> LayerUnavailableError:
    return LayerUnavailableError(Text("error", "layer {layer}: its file is {mb} MB, over the {limit} MB this "
                                      "server loads (GEO_SERVICE_MAX_LAYER_MB)",
                                      {"layer": layer_id, "mb": f"{size / 2**20:,.0f}", "limit": limit // 2**20}))


def changed_while_read(layer_id: str) -> LayerUnavailableError:
    return LayerUnavailableError(Text("error", "layer {layer} changed while it was being read: try again",
                                      {"layer": layer_id}))


def unknown_property(name: str, allowed: list[str]) -> InvalidParameterError:
    return InvalidParameterError(Text("error", "unknown property {name}; properties of this layer: {allowed}",
                                      {"name": repr(name), "allowed": ", ".join(allowed)}))


class StaleSnapshot(Exception):
    """A snapshot of the version this process saw last (``Store.snapshot(remembered=True)``) met another
    version of the layer: the request is to be asked again of a snapshot read now."""


class LayerSnapshot(Protocol):
    """One version of a layer, for a request that asks it several things: every answer is of ``version``,
    and the backend is asked as little as it can be (PostGIS: the layer's row once, then one statement a page)."""

    version: str
    property_names: list[str]

    def property_types(self) -> dict[str, str]:
        """The properties a filter or sort may name, with their types (``expressions.STRING`` …)."""

    def features(self) -> FeatureSource: ...

    def page(self, *, bbox: Bbox | None = None, limit: int | None = None, offset: int = 0,
             filters: Mapping[str, str] | None = None, where: Expression | None = None,
             sortby: Sequence[SortKey] = ()) -> tuple[list[str], int]:
        """The Feature texts (``FeatureSource.texts``) of ``Store.query_positions``'s page, and how many matched."""

    def tile(self, z: int, x: int, y: int) -> bytes:
        """As ``Store.tile``, of this version (its ETag names the version)."""

    def confirm(self) -> None:
        """Nothing if this is the layer's current version as far as this request has seen; else
        ``StaleSnapshot`` (a remembered snapshot no answer has confirmed yet is checked now)."""


class Store(Protocol):
    """Layers by id: read, query, replace with a version check, history. Errors are GeoServiceErrors:
    an unknown id is LayerNotFoundError (404), a layer that cannot be read LayerUnavailableError (503),
    a stale ``expected_version`` VersionConflictError (409)."""

    catalogue_problem: str | None  # why the catalogue could not be reloaded (the last good one serves)

    @property
    def catalogue(self) -> Catalogue: ...

    # --- reading
    def states(self) -> list[LayerState]:
        """Every catalogue layer, available or not (one unreadable layer never hides the others)."""

    def summaries(self) -> list[LayerSummary]:
        """The available layers' summaries."""

    def summary(self, layer_id: str) -> LayerSummary: ...

    def version(self, layer_id: str) -> str:
        """The version being served."""

    def current_version(self, layer_id: str) -> str | None:
        """The version stored now, read past any cache (None if the layer has no data yet)."""

    def read(self, layer_id: str) -> gpd.GeoDataFrame:
        """The whole layer, EPSG:4326 (a copy: callers may change it)."""

    def query_positions(self, layer_id: str, *, bbox: Bbox | None = None, limit: int | None = None,
                        offset: int = 0, filters: Mapping[str, str] | None = None,
                        where: Expression | None = None, sortby: Sequence[SortKey] = ()) -> tuple[np.ndarray, int]:
        """Positions of one page of features intersecting ``bbox`` whose properties equal ``filters`` and for
        which ``where`` is true (``expressions``: three-valued, as SQL), and how many matched in all. Pages
        follow ``sortby`` (text by code point, missing values last either way), ties in the layer's order."""

    def query(self, layer_id: str, **kwargs) -> QueryResult:
        """Like ``query_positions``, with the features themselves."""

    def tile(self, layer_id: str, z: int, x: int, y: int) -> bytes:
        """One Mapbox Vector Tile (WebMercatorQuad) of the layer, drawn as ``tiles.encode_tile`` describes."""

    def features(self, layer_id: str) -> FeatureSource:
        """The current version's features as the OGC API sends them (texts by position, positions by id)."""

    def feature_text(self, layer_id: str, feature_id: str) -> str:
        """The current version's feature with this id as the OGC API sends it (``features(…).text``)."""

    def snapshot(self, layer_id: str, remembered: bool = False) -> LayerSnapshot:
        """The current version, to ask several things of (an items request: its properties, then a page).
        ``remembered``: the version this process saw last may do until an answer shows otherwise (its
        answers raise ``StaleSnapshot`` then; ``confirm`` before trusting what no answer has shown)."""

    def file_bytes(self, layer_id: str) -> bytes:
        """The layer as RFC 7946 GeoJSON bytes, exactly as versioned (a saved analysis keeps them)."""

    def document_chunks(self, layer_id: str, version: str, size: int | None = None) -> Iterator[bytes]:
        """``file_bytes`` of that version in chunks, for a download written to disk without holding it whole:
        of ``size`` bytes (the last one shorter), or of the backend's own size when None."""

    def read_document(self, layer_id: str) -> dict:
        """The layer as a parsed GeoJSON document, for checks that a GIS reader would hide."""

    def path_for(self, layer_id: str) -> object:
        """Where the layer lives, for messages (a file path, a table name)."""

    # --- writing
    def write(self, layer_id: str, frame: gpd.GeoDataFrame,
              expected_version: str | None = None) -> tuple[str, bool]:
        """Replace a layer atomically, if still at ``expected_version``; the old version goes to the
        history. Returns the version and whether the content changed (the same content writes nothing)."""

    def replace(self, layer_id: str, frame: gpd.GeoDataFrame, expected_version: str | None = None) -> str: ...

    def add_layer(self, entry: dict, frame: gpd.GeoDataFrame) -> None:
        """A new layer: its data, then its catalogue entry."""

    # --- history
    def history(self, layer_id: str) -> list[SavedVersion]:
        """Previous versions, newest first."""

    def rollback(self, layer_id: str, version: str | None = None) -> SavedVersion:
        """Restore a previous version exactly (the newest by default); the current one goes to the history."""

    def pin(self, layer_id: str, version: str, pinned: bool = True) -> SavedVersion: ...

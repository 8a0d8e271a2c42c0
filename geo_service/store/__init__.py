"""The one interface everything reads and writes layers through (base.Store): GeoJSON files in a folder
(``files``) or PostGIS (``postgis``).

A backend's module is imported when it is first used, not with this package: a PostGIS server never loads
the files backend's GDAL, pandas and Arrow, so it starts sooner and its workers stay smaller.
"""

from __future__ import annotations

from importlib import import_module
from pathlib import Path
from typing import TYPE_CHECKING

from geo_service.store.base import LayerState, LayerSummary, QueryResult, Store
from geo_service.store.history import SavedVersion
from geo_service.store.results import ResultStore, SavedResult

if TYPE_CHECKING:
    from geo_service.store.files import LayerStore
    from geo_service.store.geojson_file import WGS84, read_geojson, write_geojson_atomic

_LAZY = {"LayerStore": "geo_service.store.files", "WGS84": "geo_service.store.geojson_file",
         "read_geojson": "geo_service.store.geojson_file", "write_geojson_atomic": "geo_service.store.geojson_file"}


def __getattr__(name: str):
    """The files backend's names, imported on first use (PEP 562)."""
    if name in _LAZY:
        return getattr(import_module(_LAZY[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def open_results(settings) -> ResultStore:
    """Saved analyses (``GEO_SERVICE_RESULTS_DIR``, by default ``.results`` in the layers folder)."""
    return ResultStore(settings.results_dir or settings.layers_dir / ".results", settings.results_max_mb,
                       settings.results_max_days)


def points_dir(settings) -> Path:
    """Where a PostGIS host keeps its point layers' coordinates for tiles (postgis.points)."""
    return Path(settings.layers_dir) / ".cache" / "points"


def open_store(settings, *, command: bool = False) -> Store:
    """The store the settings name: PostGIS when ``database_url`` is set, else the layers folder. A command's
    PostGIS store holds one connection, a server's a pool per process (``postgis.connections``)."""
    if settings.database_url:
        from geo_service.store.postgis import PostGISStore

        return PostGISStore(settings.database_url, history_keep=settings.history_keep,
                            max_layer_mb=settings.max_layer_mb, pool_size=settings.database_pool,
                            table_min_mb=settings.table_min_mb,
                            points_dir=points_dir(settings), pooled=not command)
    from geo_service.store.files import LayerStore
    from geo_service.store.files.sidecar import TableSidecars

    tables = TableSidecars(Path(settings.layers_dir) / ".cache" / "tables", min_bytes=settings.table_min_mb * 2**20)
    return LayerStore(settings.layers_dir, history_keep=settings.history_keep, max_layer_mb=settings.max_layer_mb,
                      sidecars=tables)


__all__ = ["WGS84", "LayerState", "LayerStore", "LayerSummary", "QueryResult", "ResultStore", "SavedResult",
           "SavedVersion", "Store", "open_results", "open_store", "read_geojson", "write_geojson_atomic"]

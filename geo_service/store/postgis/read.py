"""A large PostGIS layer read whole from its table, as the frame its document's parse gives.

Parsing the stored GeoJSON of a million points took 19 s and 2 GB in the worker that needed the whole layer
(a GeoPackage download, an analysis of the layer); its typed table reads in a few seconds, in batches. The
table gives back exactly the parse's frame when each column was one of the plain reader's types (text,
whole numbers, decimals, booleans with none missing: ``geojson_columns.typed_column``), which the write
records per column (``layers.dtypes``). Any other layer, or a table written before that record, is parsed
from its document as before.
"""

from __future__ import annotations

import gc
from typing import TYPE_CHECKING

import numpy as np
import shapely
from psycopg import sql
from psycopg.rows import tuple_row

from geo_service.lazy import LazyModule
from geo_service.store.postgis.tables import LAYERS, POSITION, at_version

if TYPE_CHECKING:
    import geopandas as gpd

# a frame read from a table needs them; a server that answers from SQL alone never imports them
geopandas = LazyModule("geopandas")
pd = LazyModule("pandas")

BATCH = 50_000  # rows fetched at a time: the Python values of one batch, not of the layer, at once
_READERS = {  # the recorded dtype -> the column as the plain reader types it (None: missing)
    "str": lambda values: pd.array(values, dtype="str"),
    "Int64": lambda values: pd.array(values, dtype="Int64"),
    "float64": lambda values: np.array(values, dtype=float),
    "bool": lambda values: np.array(values, dtype=bool),
}


def readable(row: dict) -> bool:
    """Whether the table gives back the layer's frame exactly (see the module)."""
    return plain_dtypes(row, [name for name, _ in row["columns"] or []])


def plain_dtypes(row: dict, names: list[str]) -> bool:
    """Whether the table gives back these columns' values exactly as the layer's parse has them."""
    dtypes = row.get("dtypes")
    if dtypes is None or len(dtypes) != len(row["columns"] or []):
        return False
    recorded = {name: dtype for (name, _), dtype in zip(row["columns"], dtypes)}
    return all(recorded.get(name) in _READERS for name in names)


def at_positions(row: dict, selected: sql.Composable, positions) -> tuple[sql.Composable, list]:
    """The query of ``selected`` (columns of the table aliased ``t``) for the rows at ``positions``, in that
    order, and its parameters."""
    query = sql.SQL("SELECT {s} FROM unnest(%s::integer[]) WITH ORDINALITY AS w(pos, n) JOIN {t} t ON {p} = w.pos "
                    "ORDER BY w.n").format(s=selected, t=sql.Identifier(LAYERS, row["table_name"]),
                                           p=sql.Identifier("t", POSITION))
    return query, [[int(p) for p in positions]]


def read_table(conn, row: dict, positions: np.ndarray | None = None) -> gpd.GeoDataFrame | None:
    """The layer's frame from its table (only the rows at ``positions``, in that order, indexed by them), if it
    is still at ``row``'s version (else None), in one snapshot."""
    names = [name for name, _ in row["columns"] or []]
    selected = sql.SQL(", ").join([*(sql.Identifier("t", name) for name in names),
                                   sql.SQL("ST_AsBinary({})").format(sql.Identifier("t", row["geometry_column"]))])
    table, pos = sql.Identifier(LAYERS, row["table_name"]), sql.Identifier("t", POSITION)
    if positions is None:
        query, params = sql.SQL("SELECT {s} FROM {t} t ORDER BY {p}").format(s=selected, t=table, p=pos), []
    else:
        query, params = at_positions(row, selected, positions)
    collecting = gc.isenabled()
    gc.disable()  # millions of values, none in a cycle: the collector would only rescan them (a third of the time)
    try:
        return _read(conn, row, names, query, params, positions)
    finally:
        if collecting:
            gc.enable()


def _read(conn, row: dict, names: list[str], query, params: list, positions) -> gpd.GeoDataFrame | None:
    with conn.transaction():
        if not at_version(conn, row["id"], row["version"]):
            return None
        values: list[list] = [[] for _ in range(len(names) + 1)]
        with conn.cursor(name="geo_service_read", binary=True, row_factory=tuple_row) as cur:
            cur.execute(query, params)
            while batch := cur.fetchmany(BATCH):
                for column, taken in zip(values, zip(*batch)):
                    column.extend(taken)
    columns = {name: _READERS[dtype](column) for name, dtype, column in zip(names, row["dtypes"], values)}
    count = len(values[-1])
    geometries = shapely.from_wkb(np.array(values[-1], dtype=object)) if count else np.array([], dtype=object)
    index = pd.RangeIndex(count) if positions is None else pd.RangeIndex(row["feature_count"]).take(positions)
    return geopandas.GeoDataFrame(columns, geometry=geopandas.GeoSeries(geometries, index=index, crs="EPSG:4326"),
                                  index=index)

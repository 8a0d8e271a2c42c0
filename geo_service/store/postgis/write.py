"""A layer's table written from its frame: typed columns, COPY, a GiST index, then renamed over the old one.

Apart from the SQL the backend reads with (``postgis.tables``): only a write needs pandas and shapely's
WKB here, and a server that only reads never imports it.
"""

from __future__ import annotations

import secrets

import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pa_csv
import shapely
from psycopg import sql

from geo_service.store.features import usable_ids
from geo_service.store.postgis.tables import LAYERS, POSITION, table_name


def column_kind(series: pd.Series) -> str:
    if pd.api.types.is_bool_dtype(series):
        return "boolean"
    if pd.api.types.is_integer_dtype(series):
        return "bigint"
    if pd.api.types.is_float_dtype(series):
        return "double precision"
    if isinstance(series.dtype, pd.DatetimeTZDtype):
        return "timestamptz"
    if pd.api.types.is_datetime64_any_dtype(series):
        return "timestamp"
    return "text"


def _values(series: pd.Series, kind: str) -> list:
    """A column's values for COPY, missing ones as None (a column with none missing, or of strings, is taken
    as it is: the Python pass over every value is what a 1M-row COPY spent most of its preparation on)."""
    missing = series.isna().to_numpy()
    values = series.tolist()
    if kind == "text" and not isinstance(series.dtype, pd.StringDtype):
        return [None if gone else str(value) for value, gone in zip(values, missing)]
    if missing.any():
        return [None if gone else value for value, gone in zip(values, missing)]
    return values


_ARROW_KINDS = {"boolean": pa.types.is_boolean, "bigint": pa.types.is_integer,
                "double precision": pa.types.is_float64,  # float32 would be written with its own shortest text
                "text": lambda kind: pa.types.is_string(kind) or pa.types.is_large_string(kind)}
_CSV_ROWS = 100_000  # rows turned into CSV and sent at a time


def _arrow_rows(frame: gpd.GeoDataFrame, properties: list[str], kinds: list[str],
                wkb: pa.LargeStringArray) -> pa.Table | None:
    """The rows as an Arrow table (missing values and NaN null), when every column is booleans, whole
    numbers, decimals or texts that Arrow holds as such; else None (the rows are sent one by one)."""
    columns = {"_": pa.array(np.arange(len(frame), dtype=np.int64))}
    for index, (name, kind) in enumerate(zip(properties, kinds)):
        check = _ARROW_KINDS.get(kind)
        if check is None:
            return None
        try:
            column = pa.Array.from_pandas(frame[name])
        except (pa.ArrowException, TypeError, ValueError):
            return None
        if not (check(column.type) or pa.types.is_null(column.type)):
            return None
        columns[f"c{index}"] = column
    columns["g"] = wkb
    return pa.table(columns)


def _hex_wkb(geometry: gpd.GeoSeries) -> pa.LargeStringArray:
    """Each geometry as hexadecimal WKB (missing ones null), the text COPY gives PostGIS. Shapely's own hex
    output took 1.5 s for a million points: here the WKB's bytes are written as hex in one call, each text
    spanning twice its WKB's bytes (0.9 s in all)."""
    binary = pa.array(shapely.to_wkb(geometry.values._data), type=pa.large_binary())
    validity, offsets, data = binary.buffers()
    ends = np.frombuffer(offsets, dtype=np.int64)[binary.offset:binary.offset + len(binary) + 1]
    text = memoryview(data)[ends[0]:ends[-1]].hex().encode("ascii") if data is not None else b""
    return pa.LargeStringArray.from_buffers(len(binary), pa.py_buffer((ends - ends[0]) * 2), pa.py_buffer(text),
                                            validity, binary.null_count)


def _copy_csv(cur, copy_sql: sql.Composed, table: pa.Table, order: np.ndarray) -> None:
    """COPY in CSV written by Arrow, the rows in ``order``: every value quoted but the missing ones, which
    PostgreSQL reads as NULL (a quoted empty text stays an empty text). Sending 1,000,000 rows one by one
    through psycopg took about 6 s of Python; Arrow writes the same rows as CSV in C++."""
    options = pa_csv.WriteOptions(include_header=False, quoting_style="all_valid")
    with cur.copy(sql.SQL("{} WITH (FORMAT csv)").format(copy_sql)) as copy:
        for start in range(0, max(table.num_rows, 1), _CSV_ROWS):
            sink = pa.BufferOutputStream()  # taken a part at a time: the server reads the one before meanwhile
            pa_csv.write_csv(table.take(order[start:start + _CSV_ROWS]), sink, options)
            copy.write(sink.getvalue())


def spatial_order(geometry: gpd.GeoSeries) -> np.ndarray:
    """The rows along a Hilbert curve through their bounding boxes' centres (missing and empty geometries
    last), the order they are written to disk in: features near each other on the map share pages, so a
    bbox query reads a few tens of pages instead of one per feature it finds (a 0.1° box of a million
    points: 4.6 ms, then 2.3 ms). The layer's own order is the position column."""
    order = np.arange(len(geometry))
    present = ~(geometry.isna() | geometry.is_empty).to_numpy()
    if present.sum() < 2:
        return order
    distance = geometry[present].hilbert_distance().to_numpy()  # geopandas: on a 2^16 grid over the bounds
    return np.concatenate([order[present][np.argsort(distance, kind="stable")], order[~present]])


def _geometry_column(names: list[str]) -> str:
    name = "geom"
    while name in names or name == POSITION:
        name += "_"
    return name


def write_table(cur, layer_id: str, frame: gpd.GeoDataFrame) -> dict:
    """Replace the layer's table by ``frame``'s rows (inside the caller's transaction): a new table is
    filled with COPY and indexed, then takes the old one's name. Returns what the catalogue row records."""
    properties = [c for c in frame.columns if c != frame.geometry.name]
    kinds = [column_kind(frame[name]) for name in properties]
    geometry = _geometry_column(properties)
    final, fresh = table_name(layer_id), f"new_{secrets.token_hex(6)}"
    columns = [sql.SQL("{} integer NOT NULL").format(sql.Identifier(POSITION))]
    columns += [sql.SQL("{} {}").format(sql.Identifier(name), sql.SQL(kind)) for name, kind in zip(properties, kinds)]
    columns.append(sql.SQL("{} geometry(Geometry, 4326)").format(sql.Identifier(geometry)))
    cur.execute(sql.SQL("CREATE TABLE {} ({})").format(sql.Identifier(LAYERS, fresh), sql.SQL(", ").join(columns)))
    names = [POSITION, *properties, geometry]
    copy_sql = sql.SQL("COPY {} ({}) FROM STDIN").format(sql.Identifier(LAYERS, fresh),
                                                          sql.SQL(", ").join(map(sql.Identifier, names)))
    # plain WKB: PostGIS gives a geometry without an SRID the column's (4326)
    wkb = _hex_wkb(frame.geometry)
    table = _arrow_rows(frame, properties, kinds, wkb)
    order = spatial_order(frame.geometry)
    if table is not None:
        _copy_csv(cur, copy_sql, table, order)
    else:
        data = [range(len(frame)), *(_values(frame[n], k) for n, k in zip(properties, kinds)), wkb.to_pylist()]
        rows = list(zip(*data))
        with cur.copy(copy_sql) as copy:
            for index in order.tolist():
                copy.write_row(rows[index])
    # the key's index built once from the rows, not kept up row by row through the COPY (the rows come in map
    # order, their positions in no order): a 1M-point table written in 7.5 s instead of 9.0
    cur.execute(sql.SQL("ALTER TABLE {} ADD PRIMARY KEY ({})").format(sql.Identifier(LAYERS, fresh),
                                                                       sql.Identifier(POSITION)))
    cur.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(sql.Identifier(LAYERS, final)))
    cur.execute(sql.SQL("ALTER TABLE {} RENAME TO {}").format(sql.Identifier(LAYERS, fresh), sql.Identifier(final)))
    cur.execute(sql.SQL("ALTER INDEX {} RENAME TO {}").format(sql.Identifier(LAYERS, f"{fresh}_pkey"),
                                                              sql.Identifier(f"{final}_pkey"[:63])))
    cur.execute(sql.SQL("CREATE INDEX {} ON {} USING gist ({})").format(
        sql.Identifier(f"{final}_geom_idx"[:63]), sql.Identifier(LAYERS, final), sql.Identifier(geometry)))
    own_ids = usable_ids(frame)
    if own_ids:  # a feature is asked for by its id
        cur.execute(sql.SQL("CREATE UNIQUE INDEX {} ON {} ((id::text))").format(
            sql.Identifier(f"{final}_id_idx"[:63]), sql.Identifier(LAYERS, final)))
    cur.execute(sql.SQL("ANALYZE {}").format(sql.Identifier(LAYERS, final)))
    bounds = [float(v) for v in frame.total_bounds] if len(frame) else None
    return {"feature_count": len(frame), "bounds": bounds, "columns": [list(p) for p in zip(properties, kinds)],
            "dtypes": [str(frame[name].dtype) for name in properties], "geometry_column": geometry,
            "own_ids": own_ids}

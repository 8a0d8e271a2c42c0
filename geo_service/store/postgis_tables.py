"""The PostGIS backend's SQL: its schema, one typed table per layer (GiST-indexed), and queries pushed into SQL.

Every statement is parameterised; table and column names are quoted with ``psycopg.sql.Identifier``.
Layer tables live in the ``geo_layers`` schema under the layer's id, so QGIS or ogr2ogr connected to
the database see them by name; the service's own bookkeeping is in ``geo_service``.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Mapping

import geopandas as gpd
import pandas as pd
import shapely
from psycopg import sql

from geo_service.store.base import unknown_property

META, LAYERS = "geo_service", "geo_layers"
POSITION = "__pos"  # the feature's position in the layer's GeoJSON (0-based): the files backend's row order
SCHEMA_VERSION = 1

DDL = f"""
CREATE EXTENSION IF NOT EXISTS postgis;
CREATE SCHEMA IF NOT EXISTS {META};
CREATE SCHEMA IF NOT EXISTS {LAYERS};
CREATE TABLE IF NOT EXISTS {META}.state (
    one boolean PRIMARY KEY DEFAULT true CHECK (one),
    schema_version integer NOT NULL,
    generation bigint NOT NULL DEFAULT 0  -- raised by every change to the catalogue
);
INSERT INTO {META}.state (schema_version) VALUES ({SCHEMA_VERSION}) ON CONFLICT DO NOTHING;
CREATE TABLE IF NOT EXISTS {META}.layers (
    id text PRIMARY KEY,
    position integer NOT NULL,
    entry jsonb NOT NULL,           -- the catalogue entry, as in catalogue.json
    table_name text NOT NULL UNIQUE,
    version text,                   -- the current version (NULL: no data yet)
    feature_count integer,
    bounds double precision[],
    size bigint,                    -- bytes of the current GeoJSON document
    columns jsonb,                  -- [[property, kind], ...] in the layer's order
    geometry_column text
);
CREATE TABLE IF NOT EXISTS {META}.documents (
    layer_id text NOT NULL REFERENCES {META}.layers (id) ON DELETE CASCADE,
    version text NOT NULL,
    document bytea NOT NULL,        -- the RFC 7946 GeoJSON whose SHA-256 is the version
    saved_at timestamptz,           -- when it was replaced (NULL: not in the history)
    pinned boolean NOT NULL DEFAULT false,
    PRIMARY KEY (layer_id, version)
);
"""


def table_name(layer_id: str) -> str:
    """The layer's table: its id (ids are ``[a-z][a-z0-9_]*``), shortened with a hash past PostgreSQL's 63 bytes."""
    if len(layer_id) <= 63:
        return layer_id
    return f"{layer_id[:54]}_{hashlib.sha256(layer_id.encode()).hexdigest()[:8]}"


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
    missing = series.isna().to_numpy()
    values = series.tolist()
    if kind == "text":
        return [None if gone else str(value) for value, gone in zip(values, missing)]
    return [None if gone else value for value, gone in zip(values, missing)]


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
    columns = [sql.SQL("{} integer PRIMARY KEY").format(sql.Identifier(POSITION))]
    columns += [sql.SQL("{} {}").format(sql.Identifier(name), sql.SQL(kind)) for name, kind in zip(properties, kinds)]
    columns.append(sql.SQL("{} geometry(Geometry, 4326)").format(sql.Identifier(geometry)))
    cur.execute(sql.SQL("CREATE TABLE {} ({})").format(sql.Identifier(LAYERS, fresh), sql.SQL(", ").join(columns)))
    names = [POSITION, *properties, geometry]
    copy_sql = sql.SQL("COPY {} ({}) FROM STDIN").format(sql.Identifier(LAYERS, fresh),
                                                          sql.SQL(", ").join(map(sql.Identifier, names)))
    wkb = shapely.to_wkb(shapely.set_srid(frame.geometry.values._data, 4326), hex=True, include_srid=True)
    data = [range(len(frame)), *(_values(frame[n], k) for n, k in zip(properties, kinds)), wkb.tolist()]
    with cur.copy(copy_sql) as copy:
        for row in zip(*data):
            copy.write_row(row)
    cur.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(sql.Identifier(LAYERS, final)))
    cur.execute(sql.SQL("ALTER TABLE {} RENAME TO {}").format(sql.Identifier(LAYERS, fresh), sql.Identifier(final)))
    cur.execute(sql.SQL("ALTER INDEX {} RENAME TO {}").format(sql.Identifier(LAYERS, f"{fresh}_pkey"),
                                                              sql.Identifier(f"{final}_pkey"[:63])))
    cur.execute(sql.SQL("CREATE INDEX {} ON {} USING gist ({})").format(
        sql.Identifier(f"{final}_geom_idx"[:63]), sql.Identifier(LAYERS, final), sql.Identifier(geometry)))
    cur.execute(sql.SQL("ANALYZE {}").format(sql.Identifier(LAYERS, final)))
    bounds = [float(v) for v in frame.total_bounds] if len(frame) else None
    return {"feature_count": len(frame), "bounds": bounds, "columns": [list(p) for p in zip(properties, kinds)],
            "geometry_column": geometry}


def _condition(name: str, kind: str, value: str) -> tuple[sql.Composable, list]:
    """``property = value`` as the files backend compares it: numbers as numbers, anything else as text."""
    column = sql.Identifier(name)
    if kind in ("bigint", "double precision"):
        try:
            number = float(value)
        except ValueError:
            return sql.SQL("FALSE"), []
        return sql.SQL("{} = %s").format(column), [number]
    if kind == "boolean":  # pandas writes booleans as True/False
        return sql.SQL("(CASE WHEN {} THEN 'True' ELSE 'False' END) = %s").format(column), [value]
    if kind == "timestamp":
        return sql.SQL("to_char({}, 'YYYY-MM-DD HH24:MI:SS') = %s").format(column), [value]
    if kind == "timestamptz":
        return sql.SQL("to_char({} AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS+00:00') = %s").format(column), [value]
    return sql.SQL("{} = %s").format(column), [value]


def page_query(row: Mapping, bbox, limit, offset, filters) -> tuple[sql.Composable, list]:
    """One statement that answers a page: how many features match and the positions of this page's."""
    kinds = dict(row["columns"])
    conditions, params = [sql.SQL("TRUE")], []
    geometry = sql.Identifier(row["geometry_column"])
    if bbox is not None:
        conditions.append(sql.SQL("{g} && ST_MakeEnvelope(%s, %s, %s, %s, 4326) "
                                  "AND ST_Intersects({g}, ST_MakeEnvelope(%s, %s, %s, %s, 4326))").format(g=geometry))
        params += [*bbox, *bbox]
    for name, value in (filters or {}).items():
        if name not in kinds:
            raise unknown_property(name, [c for c, _ in row["columns"]])
        condition, values = _condition(name, kinds[name], value)
        conditions.append(condition)
        params += values
    query = sql.SQL("WITH m AS (SELECT {pos} FROM {table} WHERE {where}) "
                    "SELECT (SELECT count(*) FROM m), ARRAY(SELECT {pos} FROM m ORDER BY {pos} LIMIT %s OFFSET %s)"
                    ).format(pos=sql.Identifier(POSITION), table=sql.Identifier(LAYERS, row["table_name"]),
                             where=sql.SQL(" AND ").join(conditions))
    return query, [*params, limit, offset]

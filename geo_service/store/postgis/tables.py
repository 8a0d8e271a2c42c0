"""The PostGIS backend's SQL: its schema, one typed table per layer (GiST-indexed), and queries pushed into SQL.

Every statement is parameterised; table and column names are quoted with ``psycopg.sql.Identifier``.
Layer tables live in the ``geo_layers`` schema under the layer's id, so QGIS or ogr2ogr connected to
the database see them by name; the service's own bookkeeping is in ``geo_service``.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Mapping

import psycopg
from psycopg import sql

from geo_service.errors import ConfigError, InvalidParameterError
from geo_service.store.base import unknown_property
from geo_service.store.cql_sql import order_sql, where_sql

META, LAYERS = "geo_service", "geo_layers"
POSITION = "__pos"  # the feature's position in the layer's GeoJSON (0-based): the files backend's row order
SCHEMA_VERSION = 2  # 2: documents in parts (postgis.documents)

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
    geometry_column text,
    own_ids boolean                 -- the "id" property is present, unique and never empty
);
-- schema 2: each column's pandas dtype as the layer's parse gives it (postgis.read)
ALTER TABLE {META}.layers ADD COLUMN IF NOT EXISTS dtypes jsonb;
CREATE TABLE IF NOT EXISTS {META}.documents (
    layer_id text NOT NULL REFERENCES {META}.layers (id) ON DELETE CASCADE,
    version text NOT NULL,
    document bytea,                 -- schema 1 only: the whole document (now in document_parts)
    saved_at timestamptz,           -- when it was replaced (NULL: not in the history)
    pinned boolean NOT NULL DEFAULT false,
    PRIMARY KEY (layer_id, version)
);
ALTER TABLE {META}.documents ALTER COLUMN document DROP NOT NULL;
CREATE TABLE IF NOT EXISTS {META}.document_parts (
    layer_id text NOT NULL,
    version text NOT NULL,
    part integer NOT NULL,          -- from 0: the parts in order are the RFC 7946 GeoJSON whose SHA-256 is the version
    bytes bytea NOT NULL,
    PRIMARY KEY (layer_id, version, part),
    FOREIGN KEY (layer_id, version) REFERENCES {META}.documents (layer_id, version) ON DELETE CASCADE
);
"""


def at_version(conn, layer_id: str, version: str) -> bool:
    """In a transaction just opened: make it one snapshot (REPEATABLE READ), and say whether the layer is
    still at ``version`` (a replaced layer's table may have other columns and rows)."""
    conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
    now = conn.execute(f"SELECT version FROM {META}.layers WHERE id = %s", (layer_id,)).fetchone()
    return now is not None and now["version"] == version


def check_schema_version(found: int) -> None:
    """A database set up by another release is refused at start, with what to do."""
    if found < SCHEMA_VERSION:
        raise ConfigError(f"the layers database was set up by an earlier release (schema {found}; this release "
                          f"uses {SCHEMA_VERSION}): run `geo-service db init` once to upgrade it")
    if found > SCHEMA_VERSION:
        raise ConfigError(f"the layers database was set up by a newer release (schema {found}; this release "
                          f"uses {SCHEMA_VERSION}): upgrade this host")


def record_version(cur, layer_id: str, version: str, size: int, recorded: dict) -> None:
    """Make ``version`` (a document of ``size`` bytes, its table written: ``write_table``'s record) current."""
    cur.execute(f"UPDATE {META}.layers SET version = %s, size = %s, feature_count = %s, bounds = %s, "
                "columns = %s, dtypes = %s, geometry_column = %s, own_ids = %s WHERE id = %s",
                (version, size, recorded["feature_count"], recorded["bounds"],
                 psycopg.types.json.Jsonb(recorded["columns"]), psycopg.types.json.Jsonb(recorded["dtypes"]),
                 recorded["geometry_column"], recorded["own_ids"], layer_id))


def table_name(layer_id: str) -> str:
    """The layer's table: its id (ids are ``[a-z][a-z0-9_]*``), shortened with a hash past PostgreSQL's 63 bytes."""
    if len(layer_id) <= 63:
        return layer_id
    return f"{layer_id[:54]}_{hashlib.sha256(layer_id.encode()).hexdigest()[:8]}"


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


def _matching(row: Mapping, bbox, filters, where, sortby) -> tuple[sql.Composable, list, sql.Composable]:
    """The rows a query matches (their positions and sort keys, as a statement), its parameters, and the
    page's order."""
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
    if where is not None:
        conditions.append(where_sql(where, kinds, row["geometry_column"], params))
    order = order_sql(sortby, kinds, POSITION)
    for key in sortby:
        if key.name not in kinds:
            raise unknown_property(key.name, [c for c, _ in row["columns"]])
    kept = sql.SQL(", ").join(map(sql.Identifier, dict.fromkeys([POSITION, *(key.name for key in sortby)])))
    matching = sql.SQL("SELECT {kept} FROM {table} WHERE {where}").format(
        kept=kept, table=sql.Identifier(LAYERS, row["table_name"]), where=sql.SQL(" AND ").join(conditions))
    return matching, params, order


def page_query(row: Mapping, bbox=None, limit=None, offset=0, filters=None, where=None,
               sortby=()) -> tuple[sql.Composable, list]:
    """One statement that answers a page: how many features match, the positions of this page's, and the
    layer's version in the same snapshot (the page is of ``row``'s version only if they are the same)."""
    matching, params, order = _matching(row, bbox, filters, where, sortby)
    query = sql.SQL("WITH m AS ({matching}) "
                    "SELECT (SELECT count(*) FROM m), ARRAY(SELECT {pos} FROM m ORDER BY {order} LIMIT %s OFFSET %s), "
                    "(SELECT version FROM {meta}.layers WHERE id = %s) AS version"
                    ).format(matching=matching, pos=sql.Identifier(POSITION), order=order, meta=sql.Identifier(META))
    return query, [*params, limit, offset, row["id"]]


def page_texts_query(row: Mapping, bbox=None, limit=None, offset=0, filters=None, where=None,
                     sortby=()) -> tuple[sql.Composable | str, list]:
    """``page_query`` with the page's Feature texts (``_feature_text``, in the page's order): a page in one
    statement, so one round trip and one snapshot."""
    if not filters and where is None and not sortby:  # the usual page: its SQL composed once per table
        corners = [*bbox, *bbox] if bbox is not None else []
        return _bbox_page_sql(_signature(row), bbox is not None), [*corners, limit, offset, row["id"]]
    return _page_texts(row, bbox, limit, offset, filters, where, sortby)


def _page_texts(row: Mapping, bbox, limit, offset, filters, where, sortby) -> tuple[sql.Composable, list]:
    matching, params, order = _matching(row, bbox, filters, where, sortby)
    query = sql.SQL(
        "WITH m AS ({matching}), p AS (SELECT ARRAY(SELECT {pos} FROM m ORDER BY {order} LIMIT %s OFFSET %s) AS a) "
        "SELECT (SELECT count(*) FROM m) AS count, ARRAY(SELECT {text} FROM unnest(p.a) WITH ORDINALITY u(pos, n) "
        "JOIN {table} t ON t.{pos} = u.pos ORDER BY u.n) AS texts, "
        "(SELECT version FROM {meta}.layers WHERE id = %s) AS version FROM p"
    ).format(matching=matching, pos=sql.Identifier(POSITION), order=order, text=_feature_text(row),
             table=sql.Identifier(LAYERS, row["table_name"]), meta=sql.Identifier(META))
    return query, [*params, limit, offset, row["id"]]


@functools.lru_cache(maxsize=64)
def _bbox_page_sql(signature: tuple, with_bbox: bool) -> str:
    """``page_texts_query``'s SQL for a page by bbox or by range alone, composed once per table (composing it
    cost a tenth of a millisecond a request)."""
    bbox = (0.0, 0.0, 0.0, 0.0) if with_bbox else None
    return _page_texts({**_row_of(signature), "id": None}, bbox, None, 0, None, None, ())[0].as_string(None)


def _signature(row: Mapping) -> tuple:
    """What a statement's SQL depends on in a layer's row (the key of the SQL composed once)."""
    return row["table_name"], tuple(map(tuple, row["columns"])), row["geometry_column"], row["own_ids"]


def _row_of(signature: tuple) -> dict:
    return dict(zip(("table_name", "columns", "geometry_column", "own_ids"), signature, strict=True))


def insert_catalogue_entry(conn, entry: dict) -> None:
    """A catalogue row without data (inside the caller's transaction); the catalogue's generation goes up."""
    conn.execute(f"SELECT generation FROM {META}.state FOR UPDATE")
    if conn.execute(f"SELECT 1 FROM {META}.layers WHERE id = %s", (entry["id"],)).fetchone():
        raise InvalidParameterError(f"a layer {entry['id']!r} exists already")
    conn.execute(f"INSERT INTO {META}.layers (id, position, entry, table_name) VALUES "
                 f"(%s, (SELECT coalesce(max(position), 0) + 1 FROM {META}.layers), %s, %s)",
                 (entry["id"], psycopg.types.json.Jsonb(entry), table_name(entry["id"])))
    conn.execute(f"UPDATE {META}.state SET generation = generation + 1")


def _feature_text(row: Mapping) -> sql.Composable:
    """The GeoJSON Feature text of row ``t``, as the files backend writes it: the id member (the layer's own
    ids, or numbers from 1), the other properties in the layer's order, the geometry with every significant
    digit."""
    names = [name for name, _ in row["columns"] if name != "id"]
    fid = sql.SQL("to_json(t.id)::text") if row["own_ids"] else \
        sql.SQL("to_json(({} + 1)::text)::text").format(sql.Identifier("t", POSITION))
    properties = sql.SQL(", ").join(sql.Identifier("t", name) for name in names)
    return sql.SQL(
        "'{{\"type\":\"Feature\",\"id\":' || {fid} || ',\"properties\":' || "
        "(SELECT row_to_json(p)::text FROM (SELECT {properties}) p) || ',\"geometry\":' || "
        "coalesce(ST_AsGeoJSON(t.{geom}, 15), 'null') || '}}'").format(
        fid=fid, properties=properties, geom=sql.Identifier(row["geometry_column"]))


def feature_texts_query(row: Mapping, positions: list[int]) -> tuple[str, list]:
    """GeoJSON Feature texts (``_feature_text``) of these positions, each row with the layer's version in the
    same snapshot (one row of NULLs but the version when none is found)."""
    return _texts_sql(_signature(row)), [positions, row["id"]]


@functools.lru_cache(maxsize=64)
def _texts_sql(signature: tuple) -> str:
    row = _row_of(signature)
    return sql.SQL("SELECT m.version, f.pos, f.text FROM {meta}.layers m LEFT JOIN LATERAL "
                   "(SELECT t.{pos} AS pos, {text} AS text FROM {table} t WHERE t.{pos} = ANY(%s)) f ON true "
                   "WHERE m.id = %s").format(
        meta=sql.Identifier(META), pos=sql.Identifier(POSITION), text=_feature_text(row),
        table=sql.Identifier(LAYERS, row["table_name"])).as_string(None)


def _by_id(row: Mapping, feature_id: str, placeholder: str = "%s") -> tuple[sql.Composable, object]:
    """The condition on row ``t`` that finds the feature with this id (own ids by their index; numbered ones by
    arithmetic), and its parameter."""
    if row["own_ids"]:
        return sql.SQL("t.id::text = ") + sql.SQL(placeholder), feature_id
    number = int(feature_id) if feature_id.isascii() and feature_id.isdigit() and feature_id[0] != "0" else 0
    return sql.SQL("t.{} = ").format(sql.Identifier(POSITION)) + sql.SQL(placeholder), number - 1


def feature_position_query(row: Mapping, feature_id: str) -> tuple[sql.Composable, list]:
    """The position of the feature with this id."""
    condition, value = _by_id(row, feature_id)
    return sql.SQL("SELECT t.{pos} AS pos FROM {table} t WHERE {condition}").format(
        pos=sql.Identifier(POSITION), table=sql.Identifier(LAYERS, row["table_name"]), condition=condition), [value]


def feature_by_id_query(row: Mapping, feature_id: str) -> tuple[str, list[str]]:
    """The layer's current version and the text of the feature with this id (NULL if there is none), in one
    statement: one snapshot for both, in one round trip (a transaction for each took 11). Its placeholders
    are ``$1`` and ``$2`` and its parameters text (``postgis.connections.prepared_rows``)."""
    _, value = _by_id(row, feature_id)
    return _by_id_sql(_signature(row)), [str(value), row["id"]]


@functools.lru_cache(maxsize=64)
def _by_id_sql(signature: tuple) -> str:
    """``feature_by_id_query``'s SQL for one table's columns, composed once (per request it cost as much
    as the rest of the route)."""
    row = _row_of(signature)
    table_name = row["table_name"]
    condition, _ = _by_id(row, "1", "$1")
    return sql.SQL(
        "SELECT m.version, f.text FROM {meta}.layers m LEFT JOIN LATERAL "
        "(SELECT {text} AS text FROM {table} t WHERE {condition}) f ON true WHERE m.id = $2").format(
        meta=sql.Identifier(META), text=_feature_text(row), table=sql.Identifier(LAYERS, table_name),
        condition=condition).as_string(None)


_GRIDS = (512, 256, 128, 64, 32, 16)  # tiles.POINT_GRID, coarsened as tiles._thin_points does


def tile_query(row: Mapping, layer_id: str, z: int, x: int, y: int, properties: tuple[str, ...],
               extent: int, buffer: int, max_points: int) -> tuple[sql.Composable, list]:
    """One MVT tile by ST_AsMVT, as ``tiles.encode_tile`` draws it, and the layer's version (one snapshot): the
    features near the tile (GiST index), in tile units clipped with the buffer, and a tile of points thinned to
    the first (in the layer's order) of each grid cell, on the finest grid that leaves at most ``max_points``."""
    names = [sql.Identifier(name) for name, _ in row["columns"] if name in properties]
    props = sql.SQL("").join(sql.SQL("{}, ").format(n) for n in names)
    finest = _GRIDS[0]  # coarser grids' cells are the finest grid's cells divided: counted from those
    choices = sql.SQL(" ").join(sql.SQL(
        "WHEN (SELECT count(*) FROM (SELECT DISTINCT floor(cx / {k}), floor(cy / {k}) FROM cells) s) <= {m} "
        "THEN {n}").format(k=sql.Literal(finest // n), m=sql.Literal(max_points), n=sql.Literal(n)) for n in _GRIDS)
    query = sql.SQL("""
        WITH env AS (SELECT ST_TileEnvelope(%(z)s, %(x)s, %(y)s) AS tile,
                            ST_Transform(ST_TileEnvelope(%(z)s, %(x)s, %(y)s, margin => %(margin)s), 4326) AS near),
        drawn AS (SELECT t.{pos} AS pos, {props}
                         ST_AsMVTGeom(ST_Transform(t.{geometry}, 3857), env.tile, %(extent)s, %(buffer)s, true) AS g
                  FROM {table} t, env WHERE t.{geometry} && env.near),
        kept AS (SELECT *, CASE WHEN GeometryType(g) = 'POINT' THEN ST_X(g) END AS gx,
                           CASE WHEN GeometryType(g) = 'POINT' THEN ST_Y(g) END AS gy
                 FROM drawn WHERE g IS NOT NULL AND NOT ST_IsEmpty(g)),
        cells AS (SELECT DISTINCT floor(gx * {finest} / %(extent)s) AS cx, floor(gy * {finest} / %(extent)s) AS cy
                  FROM kept WHERE gx IS NOT NULL),
        grid AS MATERIALIZED (  -- evaluated once; the coarser grids are counted only when the finer ones hold too many
            SELECT CASE WHEN NOT coalesce((SELECT bool_and(gx IS NOT NULL) FROM kept), false) THEN 0
                        {choices} ELSE 16 END AS n),
        celled AS (SELECT kept.*, CASE WHEN n = 0 THEN pos ELSE floor(gx * n / %(extent)s) END AS cx,
                                  CASE WHEN n = 0 THEN 0 ELSE floor(gy * n / %(extent)s) END AS cy
                   FROM kept, grid),
        thinned AS (SELECT DISTINCT ON (cx, cy) * FROM celled ORDER BY cx, cy, pos)
        SELECT (SELECT version FROM {meta}.layers WHERE id = %(id)s) AS version,
               (SELECT ST_AsMVT(m, %(layer)s, %(extent)s, 'g') FROM (SELECT {props} g FROM thinned ORDER BY pos) m)
               AS tile
    """).format(pos=sql.Identifier(POSITION), props=props, geometry=sql.Identifier(row["geometry_column"]),
                table=sql.Identifier(LAYERS, row["table_name"]), choices=choices,
                finest=sql.Literal(finest), meta=sql.Identifier(META))
    return query, {"z": z, "x": x, "y": y, "margin": buffer / extent, "extent": extent, "buffer": buffer,
                   "layer": layer_id, "id": row["id"]}

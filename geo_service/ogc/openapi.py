"""The OpenAPI 3.0 document of the service: OGC API – Features routes, downloads and the JSON API."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from geo_service import __version__
from geo_service.catalogue import Catalogue
from geo_service.i18n import N_, Text
from geo_service.io.formats import FORMATS, MAX_PRECISION
from geo_service.ogc.cql import LANGUAGES as FILTER_LANGUAGES
from geo_service.ogc.crs import SUPPORTED as SUPPORTED_CRS
from geo_service.ogc.features import (
    GEOJSON,
    HTML,
    JSON,
    LIMIT_DEFAULT,
    LIMIT_MAX,
    OPENAPI_JSON,
)

ERROR_REF = {"$ref": "#/components/responses/Error"}
_DAY = (r"([1-9][0-9]{3}|0[1-9][0-9]{2}|00[1-9][0-9]|000[1-9])-"  # year 0001 or later, then a day of its month
        r"((0[13578]|1[02])-(0[1-9]|[12][0-9]|3[01])|(0[469]|11)-(0[1-9]|[12][0-9]|30)|02-(0[1-9]|1[0-9]|2[0-9]))")
_INSTANT = rf"{_DAY}([Tt]([01][0-9]|2[0-3]):[0-5][0-9]:([0-5][0-9]|60)(\.[0-9]+)?([Zz]|[+-]([01][0-9]|2[0-3]):[0-5][0-9]))?"
# RFC 3339 instants and intervals (query._valid_datetime also checks the calendar and the order)
DATETIME_PATTERN = rf"^({_INSTANT}|{_INSTANT}/({_INSTANT}|\.\.)?|(\.\.)?/{_INSTANT})$"


def _param(name: str, where: str, schema: dict, description: str, required: bool = False, **extra) -> dict:
    """One parameter; a query parameter is a form field, a list in it comma-separated (not exploded)."""
    style = {"style": "form", "explode": False} if where == "query" else {}
    return {"name": name, "in": where, "required": required, "schema": schema, "description": description,
            **style, **extra}


F_PARAM = _param("f", "query", {"type": "string", "enum": ["json", "html"]},
                 "Output format; without it the Accept header decides (JSON by default).")
SIMPLE_PARAMS = [F_PARAM, _param("lang", "query", {"type": "string", "enum": ["en", "fr"]}, "Language of titles.")]
ITEMS_PARAMS = [
    F_PARAM,
    # OGC's own definition (4 to 6 numbers; the server takes 4 or 6), which ogctests checks word for word
    _param("bbox", "query", {"type": "array", "minItems": 4, "maxItems": 6, "items": {"type": "number"}},
           "minlon,minlat,maxlon,maxlat in bbox-crs (CRS84 degrees by default); minlon > maxlon crosses 180°"),
    _param("bbox-crs", "query", {"type": "string", "format": "uri", "enum": list(SUPPORTED_CRS),
                                 "default": SUPPORTED_CRS[0]},
           "CRS of bbox, in its own axis order (EPSG:4326: latitude first)"),
    _param("crs", "query", {"type": "string", "format": "uri", "enum": list(SUPPORTED_CRS),
                            "default": SUPPORTED_CRS[0]},
           "CRS of the features sent (OGC API – Features Part 2), in its own axis order"),
    # no "maximum": a larger limit is not an error, the page is capped (OGC API – Features 1.0, 7.15.3)
    _param("limit", "query", {"type": "integer", "minimum": 1, "maximum": 10**18 - 1, "default": LIMIT_DEFAULT},
           f"Features per page: default {LIMIT_DEFAULT}; more than {LIMIT_MAX} are sent {LIMIT_MAX} at a time."),
    _param("offset", "query", {"type": "integer", "minimum": 0, "maximum": 10**18 - 1, "default": 0},
           "Features to skip."),
    _param("datetime", "query", {"type": "string", "pattern": DATETIME_PATTERN},
           "RFC 3339 instant or interval; the collections have no time, so it filters nothing."),
    _param("filter", "query", {"type": "string", "minLength": 1},
           "CQL2 filter (OGC API – Features Part 3) over the collection's queryables, in filter-lang"),
    _param("filter-lang", "query", {"type": "string", "enum": list(FILTER_LANGUAGES), "default": "cql2-text"},
           "Encoding of filter; cql-text is the draft name GDAL's OAPIF driver sends (CQL2 text with ILIKE)"),
    _param("filter-crs", "query", {"type": "string", "enum": list(SUPPORTED_CRS), "default": SUPPORTED_CRS[0]},
           "CRS of the geometries in filter"),
    _param("sortby", "query", {"type": "array", "items": {"type": "string", "pattern": "^[+-]?[^,]+$"}},
           "Queryables to sort by, each optionally prefixed by + (ascending) or - (descending)"),
    _param("properties", "query", {"type": "array", "items": {"type": "string"}},
           "The properties each feature keeps"),
    _param("skipGeometry", "query", {"type": "boolean", "default": False}, "Features without their geometry"),
    _param("q", "query", {"type": "array", "minItems": 1, "maxItems": 20,
                          "items": {"type": "string", "minLength": 1, "pattern": "\\S"}},
           "Free text: features any of whose text properties holds any of these terms (case and accents aside)"),
]


SUMMARIES = {
    "landing": N_("api summary", "Landing page"),
    "conformance": N_("api summary", "Conformance classes"),
    "api": N_("api summary", "This API definition"),
    "collections": N_("api summary", "The feature collections"),
    "collection": N_("api summary", "{title}: description"),
    "items": N_("api summary", "{title}: features"),
    "item": N_("api summary", "{title}: one feature"),
    "download": N_("api summary", "Download a layer as {format}"),
    "health": N_("api summary", "Service health"),
    "catalogue": N_("api summary", "The layer catalogue"),
    "entry": N_("api summary", "One catalogue entry"),
    "tilesets": N_("api summary", "{title}: vector tile sets"),
    "queryables": N_("api summary", "{title}: the properties a filter may use"),
    "schema": N_("api summary", "{title}: the schema of its features"),
    "tile": N_("api summary", "{title}: one vector tile (Mapbox Vector Tile)"),
    "tms": N_("api summary", "The tile matrix sets"),
    "put": N_("api summary", "Create or replace a layer from a file (token holders)"),
    "processes": N_("api summary", "The processes (analyses) this service runs"),
    "process": N_("api summary", "One process: its inputs and outputs"),
    "execute": N_("api summary", "Run a process"),
    "job": N_("api summary", "A job's status"),
    "results": N_("api summary", "A job's results"),
    "create": N_("api summary", "{title}: add a feature (token holders)"),
    "replace": N_("api summary", "{title}: replace a feature (token holders, If-Match)"),
    "update": N_("api summary", "{title}: change some of a feature's properties or its geometry (token holders, "
                                "If-Match)"),
    "delete": N_("api summary", "{title}: delete a feature (token holders, If-Match)"),
}
MVT = "application/vnd.mapbox-vector-tile"
TILE_PARAMS = [
    {"name": name, "in": "path", "required": True, "schema": {"type": "integer", "minimum": 0, "maximum": maximum},
     "description": description}
    for name, maximum, description in (("tileMatrix", 22, "Zoom level"), ("tileRow", 4194303, "Row (y, from the north)"),
                                       ("tileCol", 4194303, "Column (x, from the west)"))
] + [{"name": "v", "in": "query", "required": False, "schema": {"type": "string"}, "style": "form", "explode": False,
      "description": "The layer version the tile is asked for (such a tile is cached for good)"}]


def _get(summary: str, parameters: list, content: Mapping[str, dict], tag: str) -> dict:
    return {"get": {"summary": summary, "tags": [tag], "parameters": parameters,
                    "responses": {"200": {"description": summary, "content": dict(content)},
                                  "400": ERROR_REF, "404": ERROR_REF}}}


def _json_or_html(schema_ref: str) -> dict:
    return {JSON: {"schema": {"$ref": schema_ref}}, HTML: {"schema": {"type": "string"}}}


def openapi_document(catalogue: Catalogue, properties: Mapping[str, Sequence[str]], ogc_url: str,
                     lang: str = "en", types: Mapping[str, Mapping[str, str]] | None = None) -> dict:
    """Every route with its parameters; per-collection item paths list that layer's property filters, typed
    by its queryables (``types``: layer → property → type), and the properties sortby may name.
    ``ogc_url``: the OGC API's landing page (the service's root is its parent).

    Summaries are in ``lang`` (for the HTML view); names, schemas and parameters are the same in every language.
    """
    def say(key: str, **values: str) -> str:
        return Text.of(SUMMARIES[key], values).render(lang)

    ids = list(catalogue.ids)
    layer_param = _param("layerId", "path", {"type": "string", "enum": ids}, "Layer id", required=True)
    # Paths are relative to the OGC API's root (``servers``), as OGC clients look them up: GDAL finds a
    # collection's filters under ``/collections/{id}/items``. The service's other routes name their own server.
    paths: dict[str, dict] = {
        "/": _get(say("landing"), SIMPLE_PARAMS, _json_or_html("#/components/schemas/Landing"), "OGC API"),
        "/conformance": _get(say("conformance"), SIMPLE_PARAMS,
                                 _json_or_html("#/components/schemas/Conformance"), "OGC API"),
        "/api": _get(say("api"), SIMPLE_PARAMS,
                         {OPENAPI_JSON: {"schema": {"type": "object"}}, HTML: {"schema": {"type": "string"}}},
                         "OGC API"),
        "/collections": _get(say("collections"), SIMPLE_PARAMS,
                                 _json_or_html("#/components/schemas/Collections"), "OGC API"),
    }
    for layer_id in ids:
        title = catalogue.get(layer_id).title.get(lang)
        kinds = (types or {}).get(layer_id, {})
        filters = [_param(name, "query", {"type": kinds.get(name) if kinds.get(name) in ("integer", "number")
                                          else "string"}, f"Features whose {name} equals this value")
                   for name in properties.get(layer_id, ())]
        sortby = _param("sortby", "query", {"type": "array", "items": {
            "type": "string", "enum": [f"{sign}{name}" for name in kinds for sign in ("", "+", "-")]}},
            "Queryables to sort by, each optionally prefixed by + (ascending) or - (descending)")
        base = f"/collections/{layer_id}"
        paths[base] = _get(say("collection", title=title), SIMPLE_PARAMS,
                           _json_or_html("#/components/schemas/Collection"), "OGC API")
        paths[f"{base}/items"] = _get(
            say("items", title=title), [p for p in ITEMS_PARAMS if p["name"] != "sortby"] + [sortby] + filters,
            {GEOJSON: {"schema": {"$ref": "#/components/schemas/FeatureCollection"}},
             HTML: {"schema": {"type": "string"}}}, "OGC API")
        paths[f"{base}/items"]["post"] = _feature_write(say("create", title=title), "201", False)
        paths[f"{base}/items/{{featureId}}"] = _get(
            say("item", title=title),
            [_param("featureId", "path", {"type": "string"}, "Feature id", required=True), *SIMPLE_PARAMS,
             ITEMS_PARAMS[3]],
            {GEOJSON: {"schema": {"$ref": "#/components/schemas/Feature"}}, HTML: {"schema": {"type": "string"}}},
            "OGC API")
        item = paths[f"{base}/items/{{featureId}}"]
        item["put"] = _feature_write(say("replace", title=title), "200", True)
        item["patch"] = _feature_write(say("update", title=title), "200", True, "application/merge-patch+json")
        item["delete"] = _feature_write(say("delete", title=title), "204", True, None)
        paths[f"{base}/queryables"] = _get(say("queryables", title=title), SIMPLE_PARAMS,
                                           {"application/schema+json": {"schema": {"type": "object"}},
                                            HTML: {"schema": {"type": "string"}}}, "OGC API")
        paths[f"{base}/schema"] = _get(say("schema", title=title), SIMPLE_PARAMS,
                                       {"application/schema+json": {"schema": {"type": "object"}},
                                        HTML: {"schema": {"type": "string"}}}, "OGC API")
        paths[f"{base}/tiles"] = _get(say("tilesets", title=title), SIMPLE_PARAMS,
                                      {JSON: {"schema": {"type": "object"}}}, "OGC API")
        paths[f"{base}/tiles/WebMercatorQuad/{{tileMatrix}}/{{tileRow}}/{{tileCol}}"] = _get(
            say("tile", title=title), TILE_PARAMS, {MVT: {"schema": {"type": "string", "format": "binary"}}},
            "OGC API")
    paths["/tileMatrixSets"] = _get(say("tms"), SIMPLE_PARAMS, {JSON: {"schema": {"type": "object"}}}, "OGC API")
    paths.update(_process_paths(say))
    for path, item in _service_paths(say, layer_param, lang).items():
        paths[path] = {**item, "servers": [{"url": ogc_url.removesuffix("/ogc")}]}  # outside the OGC API's root
    return {
        "openapi": "3.0.3",
        "info": {"title": "geo-service: Mali–Senegal border layers", "version": __version__,
                 "description": "OGC API – Features (Part 1) over the bundled layers, downloads and a JSON API.",
                 "license": {"name": "Data: see each collection's license and attribution"}},
        "servers": [{"url": ogc_url}],
        "paths": paths,
        "components": {"securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
                       "schemas": SCHEMAS, "responses": {"Error": {
            "description": "Error in the service's one JSON shape",
            "content": {JSON: {"schema": {"$ref": "#/components/schemas/Exception"}},
                        HTML: {"schema": {"type": "string"}}}}}},
    }


def _service_paths(say, layer_param: dict, lang: str) -> dict[str, dict]:
    """The downloads and the JSON API: routes of the service's root, not of the OGC API."""
    download_params = [
        layer_param,
        ITEMS_PARAMS[1],
        _param("precision", "query", {"type": "integer", "minimum": 0, "maximum": MAX_PRECISION},
               "Round coordinates to this many decimals."),
        _param("excel", "query", {"type": "boolean"}, "CSV only: UTF-8 with a byte-order mark for Excel."),
        SIMPLE_PARAMS[1],
    ]
    paths = {}
    for key, fmt in FORMATS.items():
        body = {"type": "object"} if "json" in fmt.media_type else {"type": "string", "format": "binary"}
        paths[f"/layers/{{layerId}}.{key}"] = _get(say("download", format=fmt.title_in(lang)), download_params,
                                                   {fmt.media_type: {"schema": body}}, "Downloads")
    paths["/api/health"] = _get(say("health"), [], {JSON: {"schema": {"type": "object"}}}, "API")
    paths["/api/layers"] = _get(say("catalogue"), [], {JSON: {"schema": {"type": "object"}}}, "API")
    paths["/api/layers/{layerId}"] = _get(say("entry"), [layer_param], {JSON: {"schema": {"type": "object"}}},
                                          "API")
    paths["/api/layers/{layerId}"]["put"] = _put_layer(say("put"))
    return paths


def _process_paths(say) -> dict[str, dict]:
    """OGC API – Processes: the proximity analysis."""
    obj = {JSON: {"schema": {"type": "object"}}}
    job_param = _param("jobId", "path", {"type": "string"}, "Job id", required=True)
    paths = {
        "/processes": _get(say("processes"), SIMPLE_PARAMS, obj, "OGC API – Processes"),
        "/processes/{processId}": _get(say("process"), [
            _param("processId", "path", {"type": "string", "enum": ["proximity"]}, "Process id", required=True),
            *SIMPLE_PARAMS], obj, "OGC API – Processes"),
        "/jobs/{jobId}": _get(say("job"), [job_param], obj, "OGC API – Processes"),
        "/jobs/{jobId}/results": _get(say("results"), [job_param], obj, "OGC API – Processes"),
    }
    paths["/processes/{processId}/execution"] = {"post": {
        "summary": say("execute"), "tags": ["OGC API – Processes"],
        "parameters": [
            _param("processId", "path", {"type": "string", "enum": ["proximity"]}, "Process id", required=True),
            _param("Prefer", "header", {"type": "string", "enum": ["respond-async", "respond-sync"]},
                   "respond-async: answer with a job (201) instead of the result")],
        "requestBody": {"required": True, "content": {JSON: {"schema": {
            "type": "object", "required": ["inputs"], "properties": {"inputs": {"type": "object"}}}}}},
        "responses": {"200": {"description": say("execute"), "content": obj},
                      "201": {"description": say("job"), "content": obj},
                      **{code: ERROR_REF for code in ("400", "404", "413", "503")}}}}
    return paths


def _feature_write(summary: str, success: str, one: bool, media_type: str | None = GEOJSON) -> dict:
    """A Part 4 operation (token holders): the feature in the body, If-Match with its ETag for an existing one."""
    params = [_param("featureId", "path", {"type": "string"}, "Feature id", required=True)] if one else []
    if one:
        params.append(_param("If-Match", "header", {"type": "string"}, "The feature's ETag, from GET", required=True))
    params.append(SIMPLE_PARAMS[1])
    operation = {"summary": summary, "tags": ["OGC API"], "security": [{"bearer": []}], "parameters": params,
                 "responses": {success: {"description": summary} if success == "204" else
                               {"description": summary, "content": {GEOJSON: {"schema": {
                                   "$ref": "#/components/schemas/Feature"}}}},
                               **{code: ERROR_REF for code in ("400", "401", "403", "404", "409", "412", "428")}}}
    if media_type:
        operation["requestBody"] = {"required": True, "content": {
            media_type: {"schema": {"$ref": "#/components/schemas/Feature"} if media_type == GEOJSON
                         else {"type": "object"}}}}
    return operation


def _put_layer(summary: str) -> dict:
    """The write API: create or replace a layer from a file (token holders only)."""
    text = {"type": "string"}
    params = [_param("layerId", "path", {"type": "string", "pattern": "^[a-z][a-z0-9_]*$"}, "Layer id",
                     required=True),
              _param("filename", "query", text, "The file's name (its extension says its format) for a raw body"),
              *(_param(name, "query", text, description) for name, description in (
                  ("title", "Title of a new layer"), ("source", "Where the data come from"),
                  ("licence", "Licence of a new layer"), ("lat_col", "Latitude column of a table"),
                  ("lon_col", "Longitude column of a table"), ("geopoint_col", "KoboToolbox/ODK geopoint column"),
                  ("gps_accuracy_m", "Largest GPS accuracy kept, in metres"))),
              _param("allow_outside", "query", {"type": "boolean"}, "Keep points outside the region"),
              _param("repair", "query", {"type": "boolean"}, "Repair invalid polygons")]
    return {"summary": summary, "tags": ["API"], "security": [{"bearer": []}], "parameters": params,
            "requestBody": {"required": True, "content": {
                "multipart/form-data": {"schema": {"type": "object", "required": ["file"],
                                                   "properties": {"file": {"type": "string", "format": "binary"}}}},
                "application/octet-stream": {"schema": {"type": "string", "format": "binary"}}}},
            "responses": {"200": {"description": "Replaced", "content": {JSON: {"schema": {"type": "object"}}}},
                          "201": {"description": "Created", "content": {JSON: {"schema": {"type": "object"}}}},
                          **{code: ERROR_REF for code in ("400", "401", "403", "409", "412", "413", "503")}}}


_LINK = {"type": "object", "required": ["href", "rel"],
         "properties": {"href": {"type": "string"}, "rel": {"type": "string"}, "type": {"type": "string"},
                        "title": {"type": "string"}}}
SCHEMAS = {
    "Link": _LINK,
    "Exception": {"type": "object", "required": ["code", "description", "status"],
                  "properties": {"code": {"type": "string"}, "description": {"type": "string"},
                                 "status": {"type": "integer"}, "details": {"type": "object"}}},
    "Landing": {"type": "object", "required": ["links"],
                "properties": {"title": {"type": "string"}, "description": {"type": "string"},
                               "links": {"type": "array", "items": {"$ref": "#/components/schemas/Link"}}}},
    "Conformance": {"type": "object", "required": ["conformsTo"],
                    "properties": {"conformsTo": {"type": "array", "items": {"type": "string"}}}},
    "Collection": {"type": "object", "required": ["id", "links"],
                   "properties": {"id": {"type": "string"}, "title": {"type": "string"},
                                  "description": {"type": "string"}, "itemType": {"type": "string"},
                                  "links": {"type": "array", "items": {"$ref": "#/components/schemas/Link"}}}},
    "Collections": {"type": "object", "required": ["links", "collections"],
                    "properties": {"links": {"type": "array", "items": {"$ref": "#/components/schemas/Link"}},
                                   "collections": {"type": "array",
                                                   "items": {"$ref": "#/components/schemas/Collection"}}}},
    "Feature": {"type": "object", "required": ["type", "geometry", "properties"],
                "properties": {"type": {"type": "string", "enum": ["Feature"]},
                               "id": {"oneOf": [{"type": "string"}, {"type": "integer"}]},
                               "geometry": {"type": "object", "nullable": True},
                               "properties": {"type": "object", "nullable": True}}},
    "FeatureCollection": {"type": "object", "required": ["type", "features"],
                          "properties": {"type": {"type": "string", "enum": ["FeatureCollection"]},
                                         "features": {"type": "array",
                                                      "items": {"$ref": "#/components/schemas/Feature"}},
                                         "numberMatched": {"type": "integer", "minimum": 0},
                                         "numberReturned": {"type": "integer", "minimum": 0},
                                         "links": {"type": "array",
                                                   "items": {"$ref": "#/components/schemas/Link"}}}},
}

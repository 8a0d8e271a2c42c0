"""OGC API – Tiles for every collection: vector tiles (MVT) in WebMercatorQuad, with their documents."""

from __future__ import annotations

from flask import Blueprint, Response, jsonify, request

from geo_service import tiles
from geo_service.errors import NotFoundError
from geo_service.feature_cache import response_tag
from geo_service.i18n import Text
from geo_service.ogc.query import parse_simple_query
from geo_service.params import reject_unknown, single_values
from geo_service.web.caching import conditional, keep_if_current
from geo_service.web.context import get_cache, get_store
from geo_service.web.urls import ogc_base

bp = Blueprint("tiles", __name__, url_prefix="/ogc")


def _check_tms(tms: str) -> None:
    if tms != tiles.TMS_ID:
        raise NotFoundError(Text("error", "no tile matrix set {value}; served: {known}",
                                 {"value": repr(tms), "known": tiles.TMS_ID}))


def _tile_template(layer_id: str) -> str:
    return f"{ogc_base()}/collections/{layer_id}/tiles/{tiles.TMS_ID}/{{tileMatrix}}/{{tileRow}}/{{tileCol}}"


def _tileset(layer_id: str) -> dict:
    layer = get_store().catalogue.get(layer_id)
    return {
        "title": layer.title.en, "dataType": "vector", "crs": tiles.EPSG_3857, "tileMatrixSetURI": tiles.TMS_URI,
        "layers": [{"id": layer_id, "dataType": "vector", "geometryType": layer.geometry_type.lower(),
                    "propertiesSchema": {"type": "object", "properties": {
                        name: {"type": "string"} for name in tiles.TILE_PROPERTIES}}}],
        "links": [
            {"rel": "self", "type": "application/json",
             "href": f"{ogc_base()}/collections/{layer_id}/tiles/{tiles.TMS_ID}"},
            {"rel": "http://www.opengis.net/def/rel/ogc/1.0/tiling-scheme", "type": "application/json",
             "href": f"{ogc_base()}/tileMatrixSets/{tiles.TMS_ID}"},
            {"rel": "item", "type": tiles.MVT, "templated": True, "href": _tile_template(layer_id)},
        ],
    }


@bp.get("/tileMatrixSets")
def tile_matrix_sets():
    parse_simple_query(request.args.to_dict(flat=False))
    return jsonify({"tileMatrixSets": [{"id": tiles.TMS_ID, "uri": tiles.TMS_URI, "links": [
        {"rel": "self", "type": "application/json", "href": f"{ogc_base()}/tileMatrixSets/{tiles.TMS_ID}"}]}]})


@bp.get("/tileMatrixSets/<tms>")
def tile_matrix_set(tms: str):
    parse_simple_query(request.args.to_dict(flat=False))
    _check_tms(tms)
    return jsonify(tiles.tile_matrix_set())


@bp.get("/collections/<layer:layer_id>/tiles")
def tilesets(layer_id: str):
    parse_simple_query(request.args.to_dict(flat=False))
    tileset = _tileset(layer_id)
    tileset["links"][0]["rel"] = "item"
    return jsonify({"tilesets": [tileset]})


@bp.get("/collections/<layer:layer_id>/tiles/<tms>")
def tileset(layer_id: str, tms: str):
    parse_simple_query(request.args.to_dict(flat=False))
    _check_tms(tms)
    return jsonify(_tileset(layer_id))


@bp.get("/collections/<layer:layer_id>/tiles/<tms>/<int:z>/<int:y>/<int:x>")
def tile(layer_id: str, tms: str, z: int, y: int, x: int):
    """One tile, built once per layer version (ETag), from the features the store finds in its bounds."""
    reject_unknown(single_values(request.args.to_dict(flat=False)), {"f", "v"})
    _check_tms(tms)
    tiles.tile_bounds(z, x, y)  # 404 for a tile outside the matrix
    snapshot = get_store().snapshot(layer_id)  # the version the ETag names is the one drawn
    etag = response_tag(snapshot.version, "tile", z, x, y)
    response = Response(get_cache().response(("tile", layer_id, etag), lambda: snapshot.tile(z, x, y)),
                        mimetype=tiles.MVT)
    response.set_etag(etag)
    keep_if_current(response, request.args.get("v"), snapshot.version)  # the map names the version
    return conditional(response)

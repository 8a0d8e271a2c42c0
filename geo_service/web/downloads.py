"""Layer downloads: /layers/<id>.geojson."""

from __future__ import annotations

from flask import Blueprint, Response, request

from geo_service.formats import geojson_bytes, parse_precision
from geo_service.web.context import get_store

bp = Blueprint("downloads", __name__)
GEOJSON = "application/geo+json"


@bp.get("/layers/<layer_id>.geojson")
def geojson(layer_id: str):
    store = get_store()
    precision = parse_precision(request.args.get("precision"))
    etag = f"{store.version(layer_id)}-p{precision}"
    if etag in request.if_none_match:
        return Response(status=304, headers={"ETag": f'"{etag}"'})
    response = Response(geojson_bytes(store.read(layer_id), precision), mimetype=GEOJSON)
    response.set_etag(etag)
    response.headers["Content-Disposition"] = f'attachment; filename="{layer_id}.geojson"'
    response.cache_control.no_cache = True  # revalidate with the ETag: layers can be replaced
    return response

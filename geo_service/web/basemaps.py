"""Offline base maps: their list (TileJSON) and their tiles, from the base-maps folder (see basemaps.py)."""

from __future__ import annotations

from flask import Blueprint, Response, jsonify, request, url_for

from geo_service.basemaps import BaseMap, BaseMapView, read_tile
from geo_service.errors import NotFoundError
from geo_service.i18n import Text
from geo_service.web.caching import conditional
from geo_service.web.context import get_basemaps

bp = Blueprint("basemaps", __name__, url_prefix="/basemaps")
ONE_WEEK_S = 7 * 24 * 3600


def tile_template(base: BaseMap) -> str:
    return url_for("basemaps.index") + f"/{base.name}/{{z}}/{{x}}/{{y}}.{base.format}"


def views() -> list[BaseMapView]:
    return [BaseMapView(b.name, b.title, b.attribution, tile_template(b), b.minzoom, b.maxzoom, b.bounds, b.vector)
            for b in get_basemaps().all()]


@bp.get("")
def index():
    """Every base map as TileJSON 3.0."""
    return jsonify([{"tilejson": "3.0.0", "name": b.title, "attribution": b.attribution, "format": b.format,
                     "tiles": [request.host_url.rstrip("/") + tile_template(b)], "minzoom": b.minzoom,
                     "maxzoom": b.maxzoom, **({"bounds": list(b.bounds)} if b.bounds else {})}
                    for b in get_basemaps().all()])


@bp.get("/<name>/<int:z>/<int:x>/<int:y>.<fmt>")
def tile(name: str, z: int, x: int, y: int, fmt: str):
    base = get_basemaps().get(name)
    if fmt != base.format:
        raise NotFoundError(Text("error", "base map {value} has {format} tiles", {"value": repr(name), "format": base.format}))
    data = read_tile(base, z, x, y)
    if data is None:  # outside the set's area or zooms: an empty answer, as tile servers give (not an error page)
        response = Response(status=204)
        response.cache_control.public = True
        response.cache_control.max_age = ONE_WEEK_S
        return response
    response = Response(data, mimetype=base.media_type)
    if base.compressed and data[:2] == b"\x1f\x8b":
        response.headers["Content-Encoding"] = "gzip"
    stat = base.path.stat()
    response.set_etag(f"{stat.st_mtime_ns:x}-{z}-{x}-{y}")
    response.cache_control.public = True
    response.cache_control.max_age = ONE_WEEK_S
    return conditional(response)

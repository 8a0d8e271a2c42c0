"""Serves the map's npm assets (Leaflet and its plugins) and the pages' bundles from the app itself: no CDN."""

from __future__ import annotations

import mimetypes

from flask import Blueprint, Response

from geo_service.assets import asset_file
from geo_service.web.caching import conditional, encoded, keep_for_good, request_encoding
from geo_service.web.context import get_bundles, get_settings

bp = Blueprint("assets", __name__, url_prefix="/assets")
ONE_WEEK_S = 7 * 24 * 3600


@bp.get("/bundle/<name>")
def bundle(name: str):
    """A page's stylesheet or script bundle: its name is a hash of its content, so it never changes."""
    found = get_bundles().get(name)
    encoding = request_encoding()
    response = encoded(found.encoded[encoding] if encoding else found.body, found.media_type, encoding)
    response.set_etag(found.digest)
    keep_for_good(response)
    return conditional(response)


@bp.get("/<package>/<path:filename>")
def asset(package: str, filename: str):
    path = asset_file(get_settings().assets_dir, package, filename)
    stat = path.stat()
    # Read whole (the files are small) so the response can be gzipped; see app.COMPRESS_STREAMS.
    response = Response(path.read_bytes(), mimetype=mimetypes.guess_type(path.name)[0] or "application/octet-stream")
    response.set_etag(f"{stat.st_mtime_ns:x}-{stat.st_size:x}")
    response.cache_control.public = True
    response.cache_control.max_age = ONE_WEEK_S
    return conditional(response)

"""Serves the map's npm assets (Leaflet and its plugins) from the app itself: no CDN."""

from __future__ import annotations

from flask import Blueprint, send_file

from geo_service.assets import asset_file
from geo_service.web.context import get_settings

bp = Blueprint("assets", __name__, url_prefix="/assets")
ONE_WEEK_S = 7 * 24 * 3600


@bp.get("/<package>/<path:filename>")
def asset(package: str, filename: str):
    path = asset_file(get_settings().assets_dir, package, filename)
    return send_file(path, max_age=ONE_WEEK_S, conditional=True)


def asset_url(npm_path: str) -> str:
    """URL of a file inside node_modules, e.g. ``leaflet/dist/leaflet.js``."""
    return f"/assets/{npm_path}"

"""HTML pages: the map with its side panel of layers."""

from __future__ import annotations

from flask import Blueprint, current_app, render_template, url_for

from geo_service.assets import localise_assets
from geo_service.formats import FORMATS
from geo_service.i18n import messages
from geo_service.maps import MapLayer, build_map, render_parts
from geo_service.web.assets import asset_url
from geo_service.web.security import with_nonce
from geo_service.web.context import get_store, request_language

bp = Blueprint("pages", __name__)
MAP_PRECISION = 6  # decimals for display: about 10 cm


@bp.get("/")
def index():
    lang = request_language()
    store = get_store()
    layers = [MapLayer(layer, url=url_for("downloads.download", layer_id=layer.id, fmt="geojson", precision=MAP_PRECISION))
              for layer in store.catalogue.layers]
    fmap = build_map(layers, lang, static_url=lambda name: url_for("static", filename=name),
                     localise=lambda m: localise_assets(m, asset_url))
    return render_template(
        "pages/map.html", lang=lang, t=messages(lang), summaries=store.summaries(), map=nonced(render_parts(fmap)),
        formats=FORMATS,
        proximity_url=url_for("proximity.page") if "proximity.page" in current_app.view_functions else None,
    )


def nonced(parts: dict[str, str]) -> dict[str, str]:
    """folium's head gets this request's CSP nonce on its inline scripts."""
    return {**parts, "head": with_nonce(parts["head"])}

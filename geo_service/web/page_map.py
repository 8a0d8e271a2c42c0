"""The folium map of a page: layers fetched from the app, local assets, this request's CSP nonce."""

from __future__ import annotations

from flask import url_for

from geo_service.assets import localise_assets
from geo_service.catalogue import Layer
from geo_service.maps import MapLayer, build_map, render_parts
from geo_service.web.assets import asset_url
from geo_service.web.security import with_nonce

MAP_PRECISION = 6  # decimals for display: about 10 cm


def page_map(layers: list[Layer], lang: str) -> dict[str, str]:
    """The map's head, body and script for a page template; each layer loads from its GeoJSON download."""
    items = [MapLayer(layer, url=url_for("downloads.download", layer_id=layer.id, fmt="geojson",
                                         precision=MAP_PRECISION)) for layer in layers]
    fmap = build_map(items, lang, static_url=lambda name: url_for("static", filename=name),
                     localise=lambda m: localise_assets(m, asset_url))
    parts = render_parts(fmap)
    return {**parts, "head": with_nonce(parts["head"])}

"""Writes the map as one self-contained HTML file (data and assets inlined) that opens offline."""

from __future__ import annotations

import json
import re

from branca.element import Element
from markupsafe import escape

from geo_service.assets import ASSETS_PREFIX, STATIC_PREFIX, inline_assets, local_file, localise_assets
from geo_service.config import Settings
from geo_service.i18n import messages
from geo_service.io.writers import geojson_bytes
from geo_service.maps import MapLayer, build_map
from geo_service.store import Store

EXPORT_PRECISION = 6


def export_map_html(store: Store, settings: Settings, lang: str) -> str:
    """The whole map page as one HTML string, with the data of every available layer embedded."""
    layers = [MapLayer(state.layer, data=json.loads(geojson_bytes(store.read(state.layer.id), EXPORT_PRECISION)))
              for state in store.states() if state.available]
    fmap = build_map(layers, lang, static_url=lambda name: STATIC_PREFIX + name,
                     localise=lambda m: localise_assets(m, lambda path: ASSETS_PREFIX + path))
    figure = fmap.get_root()
    figure.header.add_child(Element(f"<title>{escape(messages(lang)['site_title'])}</title>"), name="title")
    html = re.sub(r"<html(\s*)>", f'<html lang="{lang}">', figure.render(), count=1)  # readers, screen readers
    return inline_assets(html, lambda url: local_file(url, settings.assets_dir))

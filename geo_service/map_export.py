"""Writes the map as one self-contained HTML file (data and assets inlined) that opens offline."""

from __future__ import annotations

import json
import re
from pathlib import Path

from branca.element import Element
from markupsafe import escape

from geo_service.assets import asset_file, inline_assets, localise_assets
from geo_service.config import Settings
from geo_service.io.formats import geojson_bytes
from geo_service.i18n import messages
from geo_service.maps import MapLayer, build_map
from geo_service.store import LayerStore

STATIC_DIR = Path(__file__).resolve().parent / "static"
EXPORT_PRECISION = 6
_ASSETS_PREFIX = "/assets/"
_STATIC_PREFIX = "/static/"


def _resolver(settings: Settings):
    def resolve(url: str) -> Path:
        if url.startswith(_ASSETS_PREFIX):
            package, _, filename = url[len(_ASSETS_PREFIX):].partition("/")
            return asset_file(settings.assets_dir, package, filename)
        if url.startswith(_STATIC_PREFIX):
            return STATIC_DIR / Path(url[len(_STATIC_PREFIX):]).name
        raise ValueError(f"not a local asset: {url}")

    return resolve


def export_map_html(store: LayerStore, settings: Settings, lang: str) -> str:
    """The whole map page as one HTML string, with the data of every available layer embedded."""
    layers = [MapLayer(state.layer, data=json.loads(geojson_bytes(store.read(state.layer.id), EXPORT_PRECISION)))
              for state in store.states() if state.available]
    fmap = build_map(layers, lang, static_url=lambda name: _STATIC_PREFIX + name,
                     localise=lambda m: localise_assets(m, lambda path: _ASSETS_PREFIX + path))
    figure = fmap.get_root()
    figure.header.add_child(Element(f"<title>{escape(messages(lang)['site_title'])}</title>"), name="title")
    html = re.sub(r"<html(\s*)>", f'<html lang="{lang}">', figure.render(), count=1)  # readers, screen readers
    return inline_assets(html, _resolver(settings))

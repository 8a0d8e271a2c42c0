"""The folium map of a page: layers fetched from the app, two fingerprinted asset bundles, this request's CSP nonce."""

from __future__ import annotations

from collections.abc import Sequence

from flask import url_for
from markupsafe import escape

from geo_service.assets import (ASSETS_PREFIX, NPM_ASSETS, STATIC_PREFIX, VECTOR_RENDERER, bundle_head,
                                localise_assets)
from geo_service.catalogue import Layer
from geo_service.maps import EXTRA_SCRIPTS, EXTRA_STATIC, MapLayer, build_map, render_parts
from geo_service.web.basemaps import views as basemap_views
from geo_service.web.context import get_bundles, get_store
from geo_service.web.security import with_nonce


def page_map(layers: list[Layer], lang: str, extra_css: Sequence[str] = ("layout.css",),
             extra_js: Sequence[str] = ("layout.js",)) -> dict[str, str]:
    """The map's head, body and script for a page template.

    Each layer loads from its map view, named by the layer's version so that a browser keeps it until the
    layer changes; the head asks for those files at once (preload), in parallel with the scripts.
    ``extra_css``/``extra_js`` are the page's own files in static/, added to the bundles.
    """
    store = get_store()
    items = [MapLayer(layer, url=url_for("downloads.map_view", layer_id=layer.id, v=store.version(layer.id)))
             for layer in layers]
    basemaps = basemap_views()
    extras = get_bundles().bundle("js", [ASSETS_PREFIX + NPM_ASSETS[name] for name in EXTRA_SCRIPTS]
                                  + [STATIC_PREFIX + EXTRA_STATIC])
    fmap = build_map(items, lang, static_url=lambda name: STATIC_PREFIX + name,
                     localise=lambda m: localise_assets(m, lambda path: ASSETS_PREFIX + path), basemaps=basemaps,
                     extras_url=url_for("assets.bundle", name=extras.digest + ".js"))
    parts = render_parts(fmap)
    # The vector-tile renderer (40 KB) only on a server that has a vector base map.
    renderer = [ASSETS_PREFIX + VECTOR_RENDERER] if any(b.vector for b in basemaps) else []
    head, css, js = bundle_head(parts["head"], get_bundles(), [STATIC_PREFIX + n for n in extra_css],
                                renderer + [STATIC_PREFIX + n for n in extra_js])
    # The stylesheet in the page itself (about 7 kB gzipped): on a slow link the page shows after one
    # round trip instead of waiting for a stylesheet that shares the link with the scripts and data.
    # The script and data links come first, so that the browser asks for them before reading the style.
    links = [f'<script defer src="{url_for("assets.bundle", name=js.digest + ".js")}"></script>']
    links += [f'<link rel="preload" as="fetch" crossorigin="anonymous" href="{escape(item.url)}">' for item in items]
    links.append(f"<style>{css.body.decode('utf-8')}</style>")
    # Scripts are deferred: the map is built once they have run, when the document is parsed.
    script = f'document.addEventListener("DOMContentLoaded", function () {{\n{parts["script"]}\n}});'
    return {**parts, "head": "\n".join(links) + with_nonce(head), "script": script}

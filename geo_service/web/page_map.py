"""The folium map of a page: layers fetched from the app, two fingerprinted asset bundles, this request's CSP nonce."""

from __future__ import annotations

from collections.abc import Sequence

from flask import url_for
from markupsafe import escape

from geo_service.assets import ASSETS_PREFIX, NPM_ASSETS, STATIC_PREFIX, VECTOR_RENDERER, bundle_head, localise_assets
from geo_service.catalogue import Layer
from geo_service.tiles import TMS_ID
from geo_service.web.basemaps import views as basemap_views
from geo_service.web.context import get_bundles, get_settings, get_store
from geo_service.web.security import with_nonce


def _map_layer(store, layer: Layer, tiles_above: int):
    """A layer loads whole from its map view, named by its version (a browser keeps it until the layer
    changes); one with more than ``tiles_above`` features is drawn from vector tiles instead."""
    from geo_service.maps import MapLayer

    version = store.version(layer.id)
    count = store.summary(layer.id).feature_count
    if count > tiles_above:
        template = url_for("tiles.tile", layer_id=layer.id, tms=TMS_ID, z=0, y=0, x=0, v=version)
        return MapLayer(layer, tiles=template.replace("/0/0/0?", "/{z}/{y}/{x}?"), feature_count=count,
                        items=url_for("ogc.items", layer_id=layer.id))
    return MapLayer(layer, url=url_for("downloads.map_view", layer_id=layer.id, v=version), feature_count=count)


def page_map(layers: list[Layer], lang: str, extra_css: Sequence[str] = ("layout.css",),
             extra_js: Sequence[str] = ("layout.js",)) -> dict[str, str]:
    """The map's head, body and script for a page template.

    The head asks for the layers' map views at once (preload), in parallel with the scripts.
    ``extra_css``/``extra_js`` are the page's own files in static/, added to the bundles.
    """
    # folium (and branca) only when a page with a map is first drawn: half a second off every worker's start
    from geo_service.maps import EXTRA_SCRIPTS, EXTRA_STATIC, build_map, render_parts

    store = get_store()
    items = [_map_layer(store, layer, get_settings().map_tiles_above) for layer in layers]
    basemaps = basemap_views()
    extras = get_bundles().bundle("js", [ASSETS_PREFIX + NPM_ASSETS[name] for name in EXTRA_SCRIPTS]
                                  + [STATIC_PREFIX + EXTRA_STATIC])
    fmap = build_map(items, lang, static_url=lambda name: STATIC_PREFIX + name,
                     localise=lambda m: localise_assets(m, lambda path: ASSETS_PREFIX + path), basemaps=basemaps,
                     extras_url=url_for("assets.bundle", name=extras.digest + ".js"))
    parts = render_parts(fmap)
    # The vector-tile renderer (40 KB) only where a base map or a layer needs it.
    tiled = any(b.vector for b in basemaps) or any(item.tiles for item in items)
    renderer = [ASSETS_PREFIX + VECTOR_RENDERER] if tiled else []
    head, css, js = bundle_head(parts["head"], get_bundles(), [STATIC_PREFIX + n for n in extra_css],
                                renderer + [STATIC_PREFIX + n for n in extra_js])
    # The stylesheet in the page itself (about 7 kB gzipped): on a slow link the page shows after one
    # round trip instead of waiting for a stylesheet that shares the link with the scripts and data.
    # The script and data links come first, so that the browser asks for them before reading the style.
    links = [f'<script defer src="{url_for("assets.bundle", name=js.digest + ".js")}"></script>']
    links += [f'<link rel="preload" as="fetch" crossorigin="anonymous" href="{escape(item.url)}">'
              for item in items if item.url]
    links.append(f"<style>{css.body.decode('utf-8')}</style>")
    # Scripts are deferred: the map is built once they have run, when the document is parsed.
    script = f'document.addEventListener("DOMContentLoaded", function () {{\n{parts["script"]}\n}});'
    return {**parts, "head": "\n".join(links) + with_nonce(head), "script": script}

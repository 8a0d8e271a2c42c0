"""Builds the folium map of the catalogue layers: base layers, plugins, layer control, legend.

Folium draws the map, its controls and plugins. Layer data is loaded by our
``static/map.js`` (the ``ServiceLayers`` element below): folium's own remote
GeoJSON uses a synchronous request and needs the data at build time to style
it, and its popups insert property values as HTML. map.js fetches each layer
asynchronously from the app and builds popups as text nodes.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import folium
from branca.element import MacroElement
from folium.elements import JSCSSMixin
from jinja2 import Template
from jinja2.utils import htmlsafe_json_dumps

from geo_service.basemaps import OSM_ATTRIBUTION, OSM_TILES, BaseMapView
from geo_service.catalogue import Layer
from geo_service.i18n import messages, vocabulary
from geo_service.map_view import POPUP_FIELDS

# Map view: the border area with some margin (lat/lon).
DEFAULT_BOUNDS = [[12.2, -12.9], [15.0, -10.9]]


@dataclass(frozen=True)
class MapLayer:
    """One catalogue layer as the page needs it: where its data is (URL or inline)."""

    layer: Layer
    url: str | None = None
    data: Mapping[str, Any] | None = None
    tiles: str | None = None  # a {z}/{y}/{x} vector-tile URL: the layer is too big to send whole
    items: str | None = None  # with tiles: the OGC items URL a click asks for the feature under it
    feature_count: int | None = None


class ServiceLayers(JSCSSMixin, MacroElement):
    """Adds every catalogue layer to the map and the layer control, plus legend and search."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        geoService.addLayers({{ this._parent.get_name() }}, {{ this.layer_control.get_name() }},
                             {{ this.config_json }});
        {% endmacro %}
        """
    )

    def __init__(self, layer_control: folium.LayerControl, config: dict, script_url: Callable[[str], str],
                 css_url: str, inline_extras: bool) -> None:
        super().__init__()
        self._name = "ServiceLayers"
        self.layer_control = layer_control
        # <, >, & and ' as \u escapes: no property value can end the <script> element or read as HTML.
        self.config_json = str(htmlsafe_json_dumps(config, ensure_ascii=False))
        extras = [(name, "") for name in EXTRA_SCRIPTS] + [("geo_service_map_tools", script_url(EXTRA_STATIC))]
        self.default_js = [("markerclusterjs", ""), *(extras if inline_extras else []),
                           ("geo_service_map", script_url("map.js")),
                           ("geo_service_map_tiles", script_url("map_tiles.js"))]
        self.default_css = [("markerclustercss", ""), *[(name, "") for name in EXTRA_STYLES],
                            ("geo_service_map_css", css_url)]


# Plugins and tools the map can do without until its layers are drawn (their controls appear then): on
# a slow link, the page loads them after the data. Names as in assets.NPM_ASSETS.
EXTRA_SCRIPTS = ("Control.Fullscreen.js", "Control_locate_min_js", "Control_MousePosition_js")
EXTRA_STYLES = ("Control.FullScreen.css", "Control_locate_min_css", "Control_MousePosition_css")
EXTRA_STATIC = "map_tools.js"  # ours: measure, search, context labels


def control_options(t: Mapping[str, str], script_url: str | None) -> dict:
    """Options of the fullscreen, locate and coordinates controls (created by map.js), in the page's language."""
    return {
        "script": script_url,
        "fullscreen": {"position": "topleft", "title": t["fullscreen"], "titleCancel": t["fullscreen_exit"],
                       "forceSeparateButton": True},
        # The plugin's default icons come from Font Awesome, which the page does not load.
        "locate": {"strings": {"title": t["locate"], "metersUnit": t["metres"], "popup": t["locate_popup"],
                               "outsideMapBoundsMsg": t["locate_outside"]},
                   "icon": "gs-locate-icon", "iconLoading": "gs-locate-icon gs-locating"},
        "mouse": {"separator": " | ", "numDigits": 5, "prefix": t["coordinates"] + ":", "emptyString": ""},
    }


def layer_config(item: MapLayer, lang: str) -> dict:
    layer = item.layer
    return {
        "id": layer.id,
        "title": layer.title.get(lang),
        "geometry_type": layer.geometry_type,
        "style": dict(layer.style),
        "url": item.url,
        "data": item.data,
        "tiles": item.tiles,
        "items": item.items,
        "feature_count": item.feature_count,
        "attribution": layer.attribution,
        "label_length": layer.id == "border",  # the border is labelled with its measured length
    }


def build_map(layers: list[MapLayer], lang: str, static_url: Callable[[str], str],
              localise: Callable[[folium.Map], None] | None = None, basemaps: Sequence[BaseMapView] = (),
              extras_url: str | None = None) -> folium.Map:
    """The map with every layer, in ``lang``.

    ``static_url`` gives the URL of one of our static files; ``localise``
    rewrites the asset links of the finished map (see assets.py); ``basemaps``
    are the offline tile sets this server has (see basemaps.py); ``extras_url``
    is where the page loads the plugins of EXTRA_SCRIPTS once its layers are drawn
    (None: they are in the page from the start, as in the exported file).
    """
    t = messages(lang)
    # Zoom buttons and scale are added by map.js, with titles in the page's language and no miles.
    fmap = folium.Map(tiles=None, control_scale=False, prefer_canvas=True, zoom_control=False)
    fmap.fit_bounds(DEFAULT_BOUNDS)
    control = folium.LayerControl(collapsed=True)  # expands on hover or tap; the side panel lists layers too
    control.add_to(fmap)
    config = {
        "lang": lang,
        "messages": {key: t[key] for key in MAP_MESSAGE_KEYS},
        "base_layer": t["basemap_plain"],
        "tiles": {"url": OSM_TILES, "attribution": OSM_ATTRIBUTION, "name": t["basemap_osm"]},
        "popup_fields": list(POPUP_FIELDS),
        "vocabulary": vocabulary(lang),
        "basemaps": [base.config(lang) for base in basemaps],
        "controls": control_options(t, extras_url),
        "search_layers": [item.layer.id for item in layers if item.layer.geometry_type == "Point"],
        "layers": [layer_config(item, lang) for item in layers],
    }
    ServiceLayers(control, config, static_url, static_url("map.css"), inline_extras=extras_url is None).add_to(fmap)
    if localise is not None:
        localise(fmap)
    return fmap


MAP_MESSAGE_KEYS = (
    "legend", "loading", "load_failed", "search", "search_not_found", "approximate_legend",
    "field_name", "field_type", "field_country", "field_source", "field_location_accuracy",
    "field_location_note", "field_population", "field_distance_to_border_km", "field_length_km",
    "field_launched", "field_note", "field_admin_level", "field_area_km2", "field_coordinate_method",
    "unknown", "length_value", "zoom_in", "zoom_out", "attribution_toggle", "measure", "measure_hint",
    "measure_finish", "measure_clear", "measure_distance", "measure_area", "tiles_offline",
)


def render_parts(fmap: folium.Map) -> dict[str, str]:
    """The map's <head> links and styles, its <div>, and its script, for our own page template."""
    figure = fmap.get_root()
    figure.render()
    return {"head": figure.header.render(), "body": figure.html.render(), "script": figure.script.render()}

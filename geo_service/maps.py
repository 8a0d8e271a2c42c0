"""Builds the folium map of the catalogue layers: base layers, plugins, layer control, legend.

Folium draws the map, its controls and plugins. Layer data is loaded by our
``static/map.js`` (the ``ServiceLayers`` element below): folium's own remote
GeoJSON uses a synchronous request and needs the data at build time to style
it, and its popups insert property values as HTML. map.js fetches each layer
asynchronously from the app and builds popups as text nodes.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import folium
from branca.element import MacroElement
from folium import plugins
from folium.elements import JSCSSMixin
from jinja2 import Template
from jinja2.utils import htmlsafe_json_dumps

from geo_service.catalogue import Layer
from geo_service.i18n import messages

# Map view: the border area with some margin (lat/lon).
DEFAULT_BOUNDS = [[12.2, -12.9], [15.0, -10.9]]
OSM_TILES = "https://tile.openstreetmap.org/{z}/{x}/{y}.png"
OSM_ATTRIBUTION = '&copy; <a href="https://www.openstreetmap.org/copyright">OpenStreetMap</a> contributors'


@dataclass(frozen=True)
class MapLayer:
    """One catalogue layer as the page needs it: where its data is (URL or inline)."""

    layer: Layer
    url: str | None = None
    data: Mapping[str, Any] | None = None


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

    def __init__(self, layer_control: folium.LayerControl, config: dict, script_url: str, css_url: str) -> None:
        super().__init__()
        self._name = "ServiceLayers"
        self.layer_control = layer_control
        # <, >, & and ' as \u escapes: no property value can end the <script> element or read as HTML.
        self.config_json = str(htmlsafe_json_dumps(config, ensure_ascii=False))
        self.default_js = [
            ("markerclusterjs", ""), ("Leaflet.Search.js", ""), ("geo_service_map", script_url),
        ]
        self.default_css = [("markerclustercss", ""), ("markerclusterdefaultcss", ""), ("Leaflet.Search.css", ""),
                            ("geo_service_map_css", css_url)]


def layer_config(item: MapLayer, lang: str) -> dict:
    layer = item.layer
    return {
        "id": layer.id,
        "title": layer.title.get(lang),
        "geometry_type": layer.geometry_type,
        "style": dict(layer.style),
        "url": item.url,
        "data": item.data,
        "attribution": layer.attribution,
        "label_length": layer.id == "border",  # the border is labelled with its measured length
    }


def build_map(layers: list[MapLayer], lang: str, static_url: Callable[[str], str],
              localise: Callable[[folium.Map], None] | None = None) -> folium.Map:
    """The map with every layer, in ``lang``.

    ``static_url`` gives the URL of one of our static files; ``localise``
    rewrites the asset links of the finished map (see assets.py).
    """
    t = messages(lang)
    fmap = folium.Map(tiles=None, control_scale=True, prefer_canvas=True, zoom_control=True)
    fmap.fit_bounds(DEFAULT_BOUNDS)
    plugins.Fullscreen(title=t["fullscreen"], title_cancel=t["fullscreen_exit"]).add_to(fmap)
    plugins.MeasureControl(primary_length_unit="kilometers", secondary_length_unit="meters",
                           primary_area_unit="sqkilometers", localization=lang).add_to(fmap)
    plugins.MousePosition(separator=" | ", num_digits=5, prefix=t["coordinates"] + ":", empty_string="").add_to(fmap)
    # The plugin's default icons come from Font Awesome, which the page does not load.
    plugins.LocateControl(strings={"title": t["locate"]}, icon="gs-locate-icon",
                          iconLoading="gs-locate-icon gs-locating").add_to(fmap)
    control = folium.LayerControl(collapsed=True)  # expands on hover or tap; the side panel lists layers too
    control.add_to(fmap)
    config = {
        "lang": lang,
        "messages": {key: t[key] for key in MAP_MESSAGE_KEYS},
        "base_layer": t["basemap_plain"],
        "tiles": {"url": OSM_TILES, "attribution": OSM_ATTRIBUTION, "name": t["basemap_osm"]},
        "search_layers": [item.layer.id for item in layers if item.layer.geometry_type == "Point"],
        "layers": [layer_config(item, lang) for item in layers],
    }
    ServiceLayers(control, config, static_url("map.js"), static_url("map.css")).add_to(fmap)
    if localise is not None:
        localise(fmap)
    return fmap


MAP_MESSAGE_KEYS = (
    "legend", "loading", "load_failed", "search", "search_not_found", "approximate_legend",
    "field_name", "field_type", "field_country", "field_source", "field_location_accuracy",
    "field_location_note", "field_population", "field_distance_to_border_km", "field_length_km",
    "field_launched", "field_note", "field_admin_level", "field_area_km2", "field_coordinate_method",
    "accuracy_surveyed", "accuracy_digitised", "accuracy_approximate", "unknown", "border_label",
    "country_ML", "country_SN", "kind_patrol_base", "kind_border_post",
)


def render_parts(fmap: folium.Map) -> dict[str, str]:
    """The map's <head> links and styles, its <div>, and its script, for our own page template."""
    figure = fmap.get_root()
    figure.render()
    return {"head": figure.header.render(), "body": figure.html.render(), "script": figure.script.render()}

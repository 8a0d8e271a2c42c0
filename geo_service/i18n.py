"""Texts a person reads, in English and French, and the choice of language for a request.

The English text stays in the code, marked for extraction (``N_(context, text)``,
the context being the text's key); the French lives in a gettext catalogue,
``translations/fr/LC_MESSAGES/messages.po``, that a translator edits with any
PO editor. ``make translations`` extracts the marked texts and updates the
catalogue (Babel); a test fails on any text without a French translation.
Messages with values (notes, errors) are kept as a ``Text`` (context, English
template, values) and put in the reader's language only when shown.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from babel.messages.pofile import read_po

LANGUAGES = ("en", "fr")
DEFAULT_LANGUAGE = "en"
TRANSLATIONS_DIR = Path(__file__).resolve().parent / "translations"


def N_(context: str, text: str) -> tuple[str, str]:
    """Marks a text for extraction (Babel keyword ``N_:1c,2``); returns (context, English text)."""
    return context, text


@lru_cache(maxsize=None)
def catalogue(lang: str) -> Mapping[tuple[str | None, str], str]:
    """(context, English) → translation, read once from the language's PO file (none for English)."""
    path = TRANSLATIONS_DIR / lang / "LC_MESSAGES" / "messages.po"
    if lang == DEFAULT_LANGUAGE or not path.is_file():
        return {}
    with open(path, "rb") as handle:
        entries = read_po(handle, locale=lang)
    return {(message.context, message.id): message.string for message in entries
            if message.id and message.string and not message.fuzzy}


def translate(context: str | None, text: str, lang: str) -> str:
    return catalogue(lang).get((context, text), text)


@dataclass(frozen=True)
class Text:
    """A message with values, translated when shown: ``str()`` gives the English."""

    context: str
    template: str
    values: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def of(cls, marked: tuple[str, str], values: Mapping[str, Any]) -> Text:
        """From a pair marked with ``N_`` elsewhere (a table of messages)."""
        return cls(marked[0], marked[1], values)

    def render(self, lang: str = DEFAULT_LANGUAGE) -> str:
        values = {key: _shown(value, lang) for key, value in self.values.items()}
        return translate(self.context, self.template, lang).format(**values)

    def __str__(self) -> str:
        return self.render()


def _shown(value: Any, lang: str) -> Any:
    """A value put into a message: a Text translated, a list of them joined with "; "."""
    if isinstance(value, Text):
        return value.render(lang)
    if isinstance(value, (list, tuple)) and any(isinstance(item, Text) for item in value):
        return "; ".join(text_of(item, lang) for item in value)
    return value


def text_of(message: Any, lang: str) -> str:
    """A note or message in ``lang``: a Text is translated, anything else shown as it is."""
    return message.render(lang) if isinstance(message, Text) else str(message)


MESSAGES: Mapping[str, str] = dict([  # key → English; French in translations/fr/LC_MESSAGES/messages.po
    N_('site_title', "Mali–Senegal border: layers and services"),
    N_('layers', "Layers"),
    N_('layer', "Layer"),
    N_('features', "Features"),
    N_('geometry', "Geometry"),
    N_('lat_lon', "Latitude, longitude"),
    N_('schema_name', "Property"),
    N_('schema_title', "Title"),
    N_('schema_type', "Type"),
    N_('vertices', "Vertices"),
    N_('bounds_lat_lon', "From (lat., lon.) to (lat., lon.)"),
    N_('preview_caption', "The features of this page, north up; hover or tap a shape for its id."),
    N_('source', "Source"),
    N_('licence', "Licence"),
    N_('method', "How it was made"),
    N_('metadata', "Metadata (JSON)"),
    N_('switch_language', "Français"),
    N_('error', "Error"),
    N_('back_home', "Back to the layers"),
    N_('layer_unavailable', "This layer cannot be shown right now: its data is missing or damaged. The operator has been told by the health check; the other layers are not affected."),
    N_('map', "Map"),
    N_('prox_title', "Distance to health facilities"),
    N_('prox_intro', "For every community: the nearest health facility and its straight-line distance in metres on the WGS84 ellipsoid, distance bands, who is underserved, and what care across the border changes."),
    N_('prox_communities', "Communities"),
    N_('prox_services', "Health facilities"),
    N_('prox_layer', "a layer of the service"),
    N_('prox_or_file', "or your file (KoboToolbox or ODK export in CSV or Excel, CSV with latitude/longitude, GeoJSON, GeoPackage, zipped Shapefile, KML)"),
    N_('prox_bands', "Distance bands (km)"),
    N_('prox_max_km', "Ignore health facilities farther than (km, optional)"),
    N_('prox_same_country', "Only health facilities in the community's own country"),
    N_('prox_allow_outside', "Accept points outside the border area"),
    N_('prox_run', "Run the analysis"),
    N_('prox_running', "Measuring…"),
    N_('prox_error', "The analysis could not run"),
    N_('prox_summary', "Communities and population by distance band"),
    N_('prox_cross_border', "What care across the border changes"),
    N_('prox_histogram', "Distance to the nearest health facility"),
    N_('prox_underserved', "Underserved communities (beyond the last band), most populous first"),
    N_('prox_notes', "Notes"),
    N_('prox_download_csv', "Download CSV"),
    N_('prox_download_geojson', "Download GeoJSON"),
    N_('prox_download_xlsx', "Workbook (XLSX)"),
    N_('prox_partial', "The map shows the first {shown} of {total} communities; the tables count all of them and the downloads hold every row."),
    N_('prox_permalink', "Permanent link to this result (to share or reopen):"),
    N_('prox_pick_title', "Where is the location in your file?"),
    N_('prox_pick_intro', 'The file has no clear latitude and longitude, or more than one place that could be the location. Choose its columns: a latitude and a longitude column, or one geopoint column ("lat lon altitude accuracy", as KoboToolbox and ODK export it).'),
    N_('prox_pick_lat', "Latitude column"),
    N_('prox_pick_lon', "Longitude column"),
    N_('prox_pick_geopoint', "or one geopoint column"),
    N_('prox_pick_run', "Run with these columns"),
    N_('prox_walk', "Walking time"),
    N_('prox_estimate', "estimate"),
    N_('prox_levels', "Also the nearest first-contact facility and the nearest referral facility (referral centre, hospital), side by side"),
    N_('prox_first_contact', "Nearest first-contact facility"),
    N_('prox_referral', "Nearest referral facility"),
    N_('prox_download_pdf', "Printable report (PDF)"),
    N_('prox_walk_kmh', "Walking speed for the estimated walking time (km/h)"),
    N_('prox_walk_hint', "Walking time = distance × detour ÷ speed: an estimate where no roads or land cover are known. At 5 km/h with paths 1.2 times the straight line, about 4.2 km in a straight line is one hour's walk."),
    N_('prox_walk_detour', "Detour: paths against the straight line"),
    N_('prox_barriers', "Rivers as barriers (crossed only at a crossing)"),
    N_('prox_barriers_none', "none: straight lines"),
    N_('prox_barriers_hint', "With a river, the result sets today's straight lines beside the dry season (every crossing open) and the wet season (crossings open all year only)."),
    N_('prox_crossings', "Crossings"),
    N_('prox_wet_unknown', "Count crossings of unknown season as open in the wet season"),
    N_('prox_seasons', "Dry and wet season"),
    N_('prox_today', "today (straight lines)"),
    N_('prox_dry', "dry season"),
    N_('prox_wet', "wet season"),
    N_('prox_open_crossings', "crossings open"),
    N_('prox_changed', "Communities whose nearest facility or band changes"),
    N_('prox_within_hour', "within one hour's walk"),
    N_('prox_unreachable', "no facility in reach"),
    N_('prox_via', "via"),
    N_('prox_barrier_line', "Barrier (river)"),
    N_('prox_crossing_all_year', "Crossing open in the wet season too"),
    N_('prox_crossing_other', "Crossing closed in the wet season (as counted here)"),
    N_('prox_admin', "Administrative areas (optional)"),
    N_('prox_grid', "Population grid (optional)"),
    N_('prox_sites', "Where would new health centres help most?"),
    N_('prox_sites_intro', "The sites (among the communities) that would bring the most people not yet in reach within reach: the best choice, not a rule of thumb (maximal covering, solved exactly)."),
    N_('prox_sites_k', "New centres"),
    N_('prox_sites_within', "Within (km)"),
    N_('prox_sites_walk', "or within (minutes' walk)"),
    N_('prox_sites_scenario', "Season"),
    N_('prox_sites_run', "Suggest sites"),
    N_('prox_sites_newly', "newly within reach"),
    N_('prox_sites_total', "In all, newly within reach"),
    N_('prox_sites_unweighted', "Some populations are unknown: each community counts once."),
    N_('prox_sites_people', "people"),
    N_('prox_sites_communities', "communities"),
    N_('prox_grid_file', "a GeoTIFF of people per cell (WorldPop, HDX)"),
    N_('prox_grid_radius', "An unknown population: the grid's people within (km)"),
    N_('prox_grid_hint', "Communities without a population get the grid's people within that distance, marked as estimated; the grid's own people are counted by band around the communities."),
    N_('prox_grid_people', "People in the population grid"),
    N_('prox_estimated', "estimated from the grid"),
    N_('prox_admin_level', "Level to summarise by"),
    N_('prox_admin_file', "or a file of polygons (GeoJSON, GeoPackage, zipped Shapefile, KML)"),
    N_('prox_admin_hint', "Boundaries such as OCHA's COD-AB (ADM1_PCODE, ADM2_FR, …): each community gets its area's names and p-codes; the summary groups by the level given (adm1, adm2, …; by default the finest)."),
    N_('prox_by_area', "By administrative area"),
    N_('prox_area', "Area"),
    N_('prox_outside', "outside the areas given"),
    N_('prox_moves', "Moves into a closer band"),
    N_('prox_from', "own country only"),
    N_('prox_to', "any country"),
    N_('prox_moving_closer', "communities move into a closer band; population"),
    N_('prox_beyond', "beyond the chart"),
    N_('prox_no_service', "no service in reach"),
    N_('prox_distance', "Distance"),
    N_('prox_service', "Nearest health facility"),
    N_('prox_own_service', "Nearest in own country"),
    N_('prox_km', "km"),
    N_('prox_over', "over"),
    N_('country', "Country"),
    N_('band', "Band"),
    N_('communities', "Communities"),
    N_('population', "Population"),
    N_('unknown_population', "of unknown population"),
    N_('ogc_description', "OGC API – Features over the Mali–Senegal border layers: border, regions, patrol base, health facilities, rivers and communities."),
    N_('properties', "Properties"),
    N_('matched', "Features matched"),
    N_('links', "Links"),
    N_('download', "Download"),
    N_('proximity_link', "Distance to health services"),
    N_('basemap_plain', "Plain background (offline)"),
    N_('basemap_osm', "OpenStreetMap tiles (online)"),
    N_('fullscreen', "Full screen"),
    N_('fullscreen_exit', "Exit full screen"),
    N_('coordinates', "Lat | Lon"),
    N_('locate', "Show my location"),
    N_('legend', "Legend"),
    N_('loading', "Loading layers…"),
    N_('load_failed', "Could not load layer"),
    N_('search', "Search a place by name"),
    N_('search_not_found', "Not found"),
    N_('approximate_legend', "Dashed outline: approximate location"),
    N_('field_name', "Name"),
    N_('field_type', "Type"),
    N_('field_country', "Country"),
    N_('field_source', "Source"),
    N_('field_location_accuracy', "Location accuracy"),
    N_('field_location_note', "About the location"),
    N_('field_population', "Population"),
    N_('field_distance_to_border_km', "Distance to the border (km)"),
    N_('field_length_km', "Length (km, geodesic)"),
    N_('field_launched', "Launched"),
    N_('field_note', "Note"),
    N_('field_admin_level', "Administrative level"),
    N_('field_area_km2', "Area (km²)"),
    N_('field_coordinate_method', "Coordinate method"),
    N_('unknown', "unknown"),
    N_('length_value', "{km} km, measured (geodesic)"),
    N_('zoom_in', "Zoom in"),
    N_('zoom_out', "Zoom out"),
    N_('attribution_toggle', "Sources of the map: tap to show or fold"),
    N_('measure', "Measure a distance or an area"),
    N_('measure_hint', "Tap the map at each point; three points or more give an area."),
    N_('measure_finish', "Finish"),
    N_('measure_clear', "Clear"),
    N_('measure_distance', "Distance"),
    N_('measure_area', "Area"),
    N_('tiles_offline', "The online map cannot be reached (no connection?). The layers still work."),
    N_('locate_popup', "You are within {distance} {unit} of this point"),
    N_('locate_outside', "You seem to be outside the map's area"),
    N_('metres', "metres"),
    N_('show_panel', "Layers and downloads"),
    N_('conformance', "Conformance"),
    N_('colon', ":"),  # French sets a space before it: " :"
    N_('extent', "Extent (longitude, latitude)"),
    N_('paths', "Paths"),
    N_('prox_legend', "Distance to the nearest service"),
    N_('prox_line', "Community to its nearest service"),
    N_('data_sources', "Sources and licences of every layer are listed beside the map."),
])


# The data's own words, shown in the reader's language on pages; the stored data stays as published.
# Values not listed (names, notes, sources) are shown as they are.
VOCABULARY: Mapping[str, Mapping[str, tuple[str, str]]] = {
    "country": {"ML": N_("country", "Mali"), "SN": N_("country", "Senegal")},
    "location_accuracy": {
        "surveyed": N_("location accuracy", "surveyed (GPS)"),
        "digitised": N_("location accuracy", "digitised"),
        "approximate": N_("location accuracy", "approximate"),
    },
    "kind": {"patrol_base": N_("kind", "joint patrol base"), "border_post": N_("kind", "border post")},
    "type": {  # health facility types of the WHO/KEMRI list (some published in French already)
        "Clinic": N_("facility type", "Clinic"),
        "Community Health Centre": N_("facility type", "Community Health Centre"),
        "Health Centre": N_("facility type", "Health Centre"),
        "Hospital": N_("facility type", "Hospital"),
        "Referral Health Centre": N_("facility type", "Referral Health Centre"),
        "Hôpital Régional": N_("facility type", "Regional hospital"),
        "Poste de Santé": N_("facility type", "Health post"),
    },
    "coordinate_method": {
        "Combination": N_("coordinate method", "Combination"),
        "GPS": N_("coordinate method", "GPS"),
        "Google Earth": N_("coordinate method", "Google Earth"),
        "Other": N_("coordinate method", "Other"),
    },
    "admin_level": {
        "admin-1 (region)": N_("admin level", "admin-1 (region)"),
        "admin-1 (region, created 2008)": N_("admin level", "admin-1 (region, created 2008)"),
        "admin-1, boundaries before the 2016 reform (includes the Nioro and Kita cercles)":
            N_("admin level", "admin-1, boundaries before the 2016 reform (includes the Nioro and Kita cercles)"),
        "admin-2 (cercle), 2017; no open polygon of the post-2016 Nioro region is known":
            N_("admin level", "admin-2 (cercle), 2017; no open polygon of the post-2016 Nioro region is known"),
    },
}


@lru_cache(maxsize=None)
def vocabulary(lang: str) -> Mapping[str, Mapping[str, str]]:
    """field → published value → the value as a reader of ``lang`` sees it (only where it differs)."""
    shown = {name: {value: translate(context, text, lang) for value, (context, text) in words.items()}
             for name, words in VOCABULARY.items()}
    return {name: {value: text for value, text in words.items() if text != value} for name, words in shown.items()}


def choose_language(requested: str | None, accept_best: str | None) -> str:
    """The page language: an explicit ``lang`` wins, then the browser's Accept-Language."""
    if requested in LANGUAGES:
        return requested
    if accept_best in LANGUAGES:
        return accept_best
    return DEFAULT_LANGUAGE


@lru_cache(maxsize=None)
def messages(lang: str) -> Mapping[str, str]:
    """Every page text by key, in ``lang`` (English where the catalogue has no translation)."""
    return {key: translate(key, english, lang) for key, english in MESSAGES.items()}

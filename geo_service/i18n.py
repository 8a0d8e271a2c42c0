"""English and French texts of the pages, and the choice of language for a request."""

from __future__ import annotations

from collections.abc import Mapping

LANGUAGES = ("en", "fr")
DEFAULT_LANGUAGE = "en"

MESSAGES: Mapping[str, Mapping[str, str]] = {
    "en": {
        "site_title": "Mali–Senegal border: layers and services",
        "layers": "Layers",
        "layer": "Layer",
        "features": "Features",
        "geometry": "Geometry",
        "source": "Source",
        "licence": "Licence",
        "method": "How it was made",
        "metadata": "Metadata (JSON)",
        "switch_language": "Français",
        "error": "Error",
        "back_home": "Back to the layers",
        "map": "Map",
        "download": "Download",
        "proximity_link": "Distance to health services",
        "basemap_plain": "Plain background (offline)",
        "basemap_osm": "OpenStreetMap tiles (online)",
        "fullscreen": "Full screen",
        "fullscreen_exit": "Exit full screen",
        "coordinates": "Lat | Lon",
        "locate": "Show my location",
        "legend": "Legend",
        "loading": "Loading layers…",
        "load_failed": "Could not load layer",
        "search": "Search a place by name",
        "search_not_found": "Not found",
        "approximate_legend": "Dashed outline: approximate location",
        "field_name": "Name",
        "field_type": "Type",
        "field_country": "Country",
        "field_source": "Source",
        "field_location_accuracy": "Location accuracy",
        "field_location_note": "About the location",
        "field_population": "Population",
        "field_distance_to_border_km": "Distance to the border (km)",
        "field_length_km": "Length (km, geodesic)",
        "field_launched": "Launched",
        "field_note": "Note",
        "field_admin_level": "Administrative level",
        "field_area_km2": "Area (km²)",
        "field_coordinate_method": "Coordinate method",
        "accuracy_surveyed": "surveyed (GPS)",
        "accuracy_digitised": "digitised",
        "accuracy_approximate": "approximate",
        "unknown": "unknown",
        "border_label": "Mali–Senegal border: {km} km (measured, geodesic)",
        "country_ML": "Mali",
        "country_SN": "Senegal",
        "kind_patrol_base": "joint patrol base",
        "kind_border_post": "border post",
        "data_sources": "Sources and licences of every layer are listed beside the map.",
    },
    "fr": {
        "site_title": "Frontière Mali–Sénégal : couches et services",
        "layers": "Couches",
        "layer": "Couche",
        "features": "Entités",
        "geometry": "Géométrie",
        "source": "Source",
        "licence": "Licence",
        "method": "Méthode",
        "metadata": "Métadonnées (JSON)",
        "switch_language": "English",
        "error": "Erreur",
        "back_home": "Retour aux couches",
        "map": "Carte",
        "download": "Télécharger",
        "proximity_link": "Distance aux services de santé",
        "basemap_plain": "Fond simple (hors ligne)",
        "basemap_osm": "Tuiles OpenStreetMap (en ligne)",
        "fullscreen": "Plein écran",
        "fullscreen_exit": "Quitter le plein écran",
        "coordinates": "Lat | Lon",
        "locate": "Afficher ma position",
        "legend": "Légende",
        "loading": "Chargement des couches…",
        "load_failed": "Impossible de charger la couche",
        "search": "Chercher un lieu par son nom",
        "search_not_found": "Introuvable",
        "approximate_legend": "Contour en tirets : position approximative",
        "field_name": "Nom",
        "field_type": "Type",
        "field_country": "Pays",
        "field_source": "Source",
        "field_location_accuracy": "Précision de la position",
        "field_location_note": "À propos de la position",
        "field_population": "Population",
        "field_distance_to_border_km": "Distance à la frontière (km)",
        "field_length_km": "Longueur (km, géodésique)",
        "field_launched": "Lancement",
        "field_note": "Remarque",
        "field_admin_level": "Niveau administratif",
        "field_area_km2": "Superficie (km²)",
        "field_coordinate_method": "Méthode de relevé",
        "accuracy_surveyed": "relevée (GPS)",
        "accuracy_digitised": "numérisée",
        "accuracy_approximate": "approximative",
        "unknown": "inconnue",
        "border_label": "Frontière Mali–Sénégal : {km} km (mesurés, géodésique)",
        "country_ML": "Mali",
        "country_SN": "Sénégal",
        "kind_patrol_base": "base de patrouille conjointe",
        "kind_border_post": "poste frontière",
        "data_sources": "Les sources et licences de chaque couche sont indiquées à côté de la carte.",
    },
}


def choose_language(requested: str | None, accept_best: str | None) -> str:
    """The page language: an explicit ``lang`` wins, then the browser's Accept-Language."""
    if requested in LANGUAGES:
        return requested
    if accept_best in LANGUAGES:
        return accept_best
    return DEFAULT_LANGUAGE


def messages(lang: str) -> Mapping[str, str]:
    return MESSAGES.get(lang, MESSAGES[DEFAULT_LANGUAGE])

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

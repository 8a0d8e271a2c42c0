"""Accessors for the objects the app factory puts in ``app.extensions``."""

from __future__ import annotations

from functools import lru_cache

from flask import current_app, request
from werkzeug.datastructures import LanguageAccept
from werkzeug.http import parse_accept_header

from geo_service.assets import Bundles
from geo_service.basemaps import BaseMaps
from geo_service.config import Settings
from geo_service.feature_cache import ResponseCache
from geo_service.i18n import LANGUAGES, choose_language
from geo_service.slots import SlotLimiter
from geo_service.store import ResultStore, Store
from geo_service.store.downloads import DownloadCache

SLOTS_KEY = "geo_service.slots"
RESULTS_KEY = "geo_service.results"
SETTINGS_KEY = "geo_service.settings"
STORE_KEY = "geo_service.store"
CACHE_KEY = "geo_service.cache"
BUNDLES_KEY = "geo_service.bundles"
BASEMAPS_KEY = "geo_service.basemaps"
DOWNLOADS_KEY = "geo_service.downloads"


def get_store() -> Store:
    return current_app.extensions[STORE_KEY]


def get_cache() -> ResponseCache:
    return current_app.extensions[CACHE_KEY]


def get_basemaps() -> BaseMaps:
    return current_app.extensions[BASEMAPS_KEY]


def get_downloads() -> DownloadCache:
    return current_app.extensions[DOWNLOADS_KEY]


def get_bundles() -> Bundles:
    return current_app.extensions[BUNDLES_KEY]


def get_results() -> ResultStore:
    return current_app.extensions[RESULTS_KEY]


def get_slots() -> SlotLimiter:
    return current_app.extensions[SLOTS_KEY]


def get_settings() -> Settings:
    return current_app.extensions[SETTINGS_KEY]


LANG_COOKIE = "lang"


_LANGUAGE_KEY = "geo_service.language"


def request_language() -> str:
    """``?lang=`` wins, then the language the reader chose before (a cookie), then the browser's.

    Decided once a request (routes, links and the after-request hook ask for it); the query string and the
    cookies are parsed only when they can name a language (werkzeug's ``get`` of a missing key raises and
    catches an exception)."""
    environ = request.environ
    lang = environ.get(_LANGUAGE_KEY)
    if lang is None:
        lang = environ[_LANGUAGE_KEY] = _request_language(environ)
    return lang


def chosen_language() -> str | None:
    """The language ``?lang=`` names, if it names one."""
    query = request.environ.get("QUERY_STRING", "")
    if "lang" not in query and "%" not in query:
        return None
    chosen = request.args.get("lang")
    return chosen if chosen in LANGUAGES else None


def cookie_language() -> str | None:
    """The language the reader chose before (the cookie), if any."""
    if LANG_COOKIE not in request.environ.get("HTTP_COOKIE", ""):
        return None
    chosen = request.cookies.get(LANG_COOKIE)
    return chosen if chosen in LANGUAGES else None


def _request_language(environ: dict) -> str:
    return chosen_language() or cookie_language() or _accepted_language(environ.get("HTTP_ACCEPT_LANGUAGE", ""))


@lru_cache(maxsize=256)  # a few browsers' headers make most requests (parsing one each time cost 8 µs)
def _accepted_language(header: str) -> str:
    return choose_language(None, parse_accept_header(header, LanguageAccept).best_match(LANGUAGES))

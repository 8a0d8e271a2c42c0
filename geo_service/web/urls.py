"""One place that builds absolute URLs: from GEO_SERVICE_BASE_URL when set, never from an untrusted Host."""

from __future__ import annotations

from functools import lru_cache

from flask import request, url_for

from geo_service.web.context import get_settings


def external_base() -> str:
    """The public root of the service, without a trailing slash (script root not included)."""
    return get_settings().base_url or request.host_url.rstrip("/")


def ogc_base() -> str:
    """The public URL of the OGC API's landing page, without a trailing slash (links are built on it).

    Built once for each root the service is reached at (url_for and the request's host were 5 % of a
    worker's time on a feature by id); the Host header has been checked before any route (guard.py)."""
    environ = request.environ
    return _ogc_base(get_settings().base_url, environ.get("wsgi.url_scheme"), environ.get("HTTP_HOST"),
                     environ.get("SERVER_NAME"), environ.get("SERVER_PORT"), environ.get("SCRIPT_NAME"))


@lru_cache(maxsize=64)  # the key holds the Host header: bounded, as many hosts as a client cares to send
def _ogc_base(*root_of_request) -> str:  # what url_for builds an external URL from (werkzeug's get_host)
    return external_url("ogc.landing").rstrip("/")


def external_url(endpoint: str, **values) -> str:
    base = get_settings().base_url
    if base is None:
        return url_for(endpoint, _external=True, **values)
    return base + url_for(endpoint, **values).removeprefix(request.script_root)

"""Security headers on every response, a per-request CSP nonce for inline scripts, and the write token."""

from __future__ import annotations

import re
import secrets

from flask import Flask, request

from geo_service.basemaps import OSM_TILES
from geo_service.errors import AuthenticationError, WritesDisabledError
from geo_service.i18n import Text
from geo_service.web.context import SETTINGS_KEY
from geo_service.web.guard import is_token_holder

TILE_ORIGIN = re.match(r"https://[^/]+", OSM_TILES).group(0)
_INLINE_SCRIPT = re.compile(r"<script>")


_NONCE_KEY = "geo_service.csp_nonce"  # the request's nonce, in its WSGI environ (SecurityHeaders reads it)


def csp_nonce() -> str:
    environ = request.environ
    nonce = environ.get(_NONCE_KEY)
    if nonce is None:
        nonce = environ[_NONCE_KEY] = secrets.token_urlsafe(16)
    return nonce


def with_nonce(html: str) -> str:
    """Give folium's inline <script> blocks this request's nonce, so the CSP lets them run."""
    return _INLINE_SCRIPT.sub(f'<script nonce="{csp_nonce()}">', html)


def content_security_policy(nonce: str | None) -> str:
    # Inline scripts need this request's nonce, so injected markup cannot run; nothing may eval.
    scripts = f"'self' 'nonce-{nonce}'" if nonce else "'self'"
    return "; ".join([
        "default-src 'self'",
        f"script-src {scripts}",
        "style-src 'self' 'unsafe-inline'",  # Leaflet positions map panes with inline styles
        f"img-src 'self' data: blob: {TILE_ORIGIN}",
        "connect-src 'self'",
        "font-src 'self' data:",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ])


_PLAIN_CSP = content_security_policy(None)
_FIXED_HEADERS = [("X-Content-Type-Options", "nosniff"), ("Referrer-Policy", "same-origin"),
                  ("X-Frame-Options", "DENY"), ("Permissions-Policy", "geolocation=(self), camera=(), microphone=()")]
_READ_METHODS = ("GET", "HEAD", "OPTIONS")
_READ_PATHS = ("/ogc", "/layers/", "/api/")
_EXPOSED = "ETag, Link, Content-Crs, Content-Disposition, Content-Length"
_PREFLIGHT = [("Access-Control-Allow-Methods", "GET, HEAD"),
              ("Access-Control-Allow-Headers", "Accept, Accept-Language, If-None-Match, Range"),
              ("Access-Control-Max-Age", "86400")]


class SecurityHeaders:
    """WSGI middleware: the security headers on every response, and CORS headers on reads (GET, HEAD and their
    preflight) of the OGC API, downloads and JSON API, open to ``read_origins`` (any with ``*``: the layers are
    public data); writes never are. The headers are fixed strings added as the response starts: as Flask hooks
    they went through werkzeug's checks one by one, a tenth of a feature by id's time in the app. A page whose
    inline scripts carry a nonce (``csp_nonce``) gets a policy naming it."""

    def __init__(self, app, read_origins: tuple[str, ...]) -> None:
        self.app = app
        self.read_origins = read_origins
        self.any_origin = "*" in read_origins

    def __call__(self, environ, start_response):
        def start(status, headers, exc_info=None):
            nonce = environ.get(_NONCE_KEY)
            csp = content_security_policy(nonce) if nonce else _PLAIN_CSP
            cors = self.cors_headers(environ, headers)  # first: it may add Origin to the response's Vary
            return start_response(status, [*headers, ("Content-Security-Policy", csp), *_FIXED_HEADERS, *cors],
                                  exc_info)

        return self.app(environ, start)

    def cors_headers(self, environ, headers: list[tuple[str, str]]) -> list[tuple[str, str]]:
        """The CORS headers of a response; ``headers`` (the response's own) get Origin added to their Vary when
        the answer depends on the requester's origin."""
        method = environ.get("REQUEST_METHOD")
        if method not in _READ_METHODS or not self.read_origins or not environ.get("PATH_INFO", "").startswith(
                _READ_PATHS):
            return []
        if self.any_origin:
            allowed = [("Access-Control-Allow-Origin", "*")]
        else:
            _vary_on_origin(headers)
            origin = environ.get("HTTP_ORIGIN")
            if origin not in self.read_origins:
                return []
            allowed = [("Access-Control-Allow-Origin", origin)]
        allowed.append(("Access-Control-Expose-Headers", _EXPOSED))
        return allowed + _PREFLIGHT if method == "OPTIONS" else allowed


def _vary_on_origin(headers: list[tuple[str, str]]) -> None:
    for i, (name, value) in enumerate(headers):
        if name.lower() == "vary":
            if "origin" not in (token.strip().lower() for token in value.split(",")):
                headers[i] = (name, f"{value}, Origin")
            return
    headers.append(("Vary", "Origin"))


def require_token(token: str | None) -> None:
    """Writes need ``Authorization: Bearer <GEO_SERVICE_TOKEN>``, compared in constant time."""
    if not token:
        raise WritesDisabledError(Text("error", "writes are disabled on this server: set GEO_SERVICE_TOKEN to enable "
                                       "them"))
    if not is_token_holder():
        raise AuthenticationError(Text("error", "missing or wrong token: send Authorization: Bearer <token>"))


def register(app: Flask) -> None:
    app.wsgi_app = SecurityHeaders(app.wsgi_app, app.extensions[SETTINGS_KEY].read_origins)
    app.jinja_env.globals["csp_nonce"] = csp_nonce

"""Security headers on every response, a per-request CSP nonce for inline scripts, and the write token."""

from __future__ import annotations

import re
import secrets

from flask import Flask, Response, g, request

from geo_service.basemaps import OSM_TILES
from geo_service.errors import AuthenticationError, WritesDisabledError
from geo_service.i18n import Text
from geo_service.web.context import get_settings
from geo_service.web.guard import is_token_holder

TILE_ORIGIN = re.match(r"https://[^/]+", OSM_TILES).group(0)
_INLINE_SCRIPT = re.compile(r"<script>")


def csp_nonce() -> str:
    if "csp_nonce" not in g:
        g.csp_nonce = secrets.token_urlsafe(16)
    return g.csp_nonce


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
_FIXED_HEADERS = (("X-Content-Type-Options", "nosniff"), ("Referrer-Policy", "same-origin"),
                  ("X-Frame-Options", "DENY"), ("Permissions-Policy", "geolocation=(self), camera=(), microphone=()"))


def add_headers(response: Response) -> Response:
    """The security headers, added (no route sets them itself, so nothing needs replacing: setting them one by
    one was 15 µs of every request)."""
    nonce = g.get("csp_nonce")
    response.headers.add("Content-Security-Policy", content_security_policy(nonce) if nonce else _PLAIN_CSP)
    response.headers.extend(_FIXED_HEADERS)
    return response


_READ_PATHS = ("/ogc", "/layers/", "/api/")
_EXPOSED = "ETag, Link, Content-Crs, Content-Disposition, Content-Length"


def add_cors_headers(response: Response) -> Response:
    """Reads (GET, HEAD and their preflight) of the OGC API, downloads and JSON API are open to the origins of
    GEO_SERVICE_READ_ORIGINS (any by default: the layers are public data); writes never are."""
    origins = get_settings().read_origins
    if request.method not in ("GET", "HEAD", "OPTIONS") or not origins:
        return response
    if not request.path.removeprefix(request.script_root).startswith(_READ_PATHS):
        return response
    origin = request.headers.get("Origin")
    if "*" in origins:
        response.headers["Access-Control-Allow-Origin"] = "*"
    elif origin in origins:
        response.headers["Access-Control-Allow-Origin"] = origin
        response.vary.add("Origin")
    else:
        response.vary.add("Origin")
        return response
    response.headers["Access-Control-Expose-Headers"] = _EXPOSED
    if request.method == "OPTIONS":
        response.headers["Access-Control-Allow-Methods"] = "GET, HEAD"
        response.headers["Access-Control-Allow-Headers"] = "Accept, Accept-Language, If-None-Match, Range"
        response.headers["Access-Control-Max-Age"] = "86400"
    return response


def require_token(token: str | None) -> None:
    """Writes need ``Authorization: Bearer <GEO_SERVICE_TOKEN>``, compared in constant time."""
    if not token:
        raise WritesDisabledError(Text("error", "writes are disabled on this server: set GEO_SERVICE_TOKEN to enable "
                                       "them"))
    if not is_token_holder():
        raise AuthenticationError(Text("error", "missing or wrong token: send Authorization: Bearer <token>"))


def _add_all(response: Response) -> Response:
    return add_cors_headers(add_headers(response))


def register(app: Flask) -> None:
    app.after_request(_add_all)  # one hook: Flask asks each hook whether it is a coroutine, every request
    app.jinja_env.globals["csp_nonce"] = csp_nonce

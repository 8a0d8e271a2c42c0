"""Security headers on every response, a per-request CSP nonce for inline scripts, and the write token."""

from __future__ import annotations

import re
import secrets

from flask import Flask, Response, g

from geo_service.errors import AuthenticationError, WritesDisabledError
from geo_service.i18n import Text
from geo_service.maps import OSM_TILES
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


def add_headers(response: Response) -> Response:
    response.headers["Content-Security-Policy"] = content_security_policy(g.get("csp_nonce"))
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "same-origin"
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["Permissions-Policy"] = "geolocation=(self), camera=(), microphone=()"
    return response


def require_token(token: str | None) -> None:
    """Writes need ``Authorization: Bearer <GEO_SERVICE_TOKEN>``, compared in constant time."""
    if not token:
        raise WritesDisabledError(Text("error", "writes are disabled on this server: set GEO_SERVICE_TOKEN to enable "
                                       "them"))
    if not is_token_holder():
        raise AuthenticationError(Text("error", "missing or wrong token: send Authorization: Bearer <token>"))


def register(app: Flask) -> None:
    app.after_request(add_headers)
    app.jinja_env.globals["csp_nonce"] = csp_nonce

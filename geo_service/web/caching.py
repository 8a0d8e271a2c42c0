"""Responses browsers may keep: named by a content hash or a layer version, compressed once, sent as asked."""

from __future__ import annotations

from flask import Response, request

from geo_service.assets import choose_encoding

ONE_YEAR_S = 365 * 24 * 3600


def keep_for_good(response: Response) -> None:
    """The URL names its content (a hash, a version): it never changes, so a browser need never ask again."""
    response.cache_control.public = True
    response.cache_control.max_age = ONE_YEAR_S
    response.cache_control.immutable = True


def keep_if_current(response: Response, asked: str | None, current: str) -> None:
    """Kept for good when the URL names the current version (``?v=``), else revalidated with its ETag."""
    if asked == current:
        keep_for_good(response)
    else:
        response.cache_control.no_cache = True


def request_encoding() -> str | None:
    """The best encoding of assets.ENCODINGS this request accepts, or None."""
    return choose_encoding(lambda name: name in request.accept_encodings)


def encoded(body: bytes, media_type: str, encoding: str | None) -> Response:
    """A response of bytes already compressed with ``encoding`` (or plain), varying on Accept-Encoding."""
    response = Response(body, mimetype=media_type)
    if encoding:
        response.headers["Content-Encoding"] = encoding
    response.vary.add("Accept-Encoding")
    return response

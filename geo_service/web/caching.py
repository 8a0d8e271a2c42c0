"""Responses browsers may keep: named by a content hash or a layer version, compressed once, sent as asked."""

from __future__ import annotations

from flask import Response, request

from geo_service.assets import choose_encoding

ONE_YEAR_S = 365 * 24 * 3600
# what makes a GET or HEAD conditional (If-Range only counts with a Range)
_CONDITIONS = ("HTTP_IF_NONE_MATCH", "HTTP_IF_MATCH", "HTTP_IF_MODIFIED_SINCE", "HTTP_IF_UNMODIFIED_SINCE",
               "HTTP_RANGE")


def conditional(response: Response, accept_ranges: bool = False, complete_length: int | None = None) -> Response:
    """The response made conditional to the request (304, 412, 206) by werkzeug when the request has a condition
    or a range. Without one werkzeug would only add a Date header, which the HTTP server writes itself (gunicorn
    drops the application's): 30 µs of a 0.5 ms feature by id."""
    environ = request.environ
    if any(name in environ for name in _CONDITIONS):
        return response.make_conditional(request, accept_ranges=accept_ranges, complete_length=complete_length)
    if accept_ranges:
        response.accept_ranges = "bytes"
    return response


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

"""Checks made on every request before a route runs: Host, origin of writes, tokens in URLs, body size.

A body with a Content-Length over the limit is refused before a byte of it is
read. A chunked body has no length: werkzeug's own limit would stop reading it
silently at the limit, and a truncated file would be taken for a whole one. So
its stream is wrapped to raise a 413 the moment it passes the limit; it is
read lazily by the route, inside the route's slot, like any other body.
"""

from __future__ import annotations

import hmac
import re

from flask import Flask, request

from geo_service.config import InputLimits
from geo_service.errors import ForbiddenError, InvalidParameterError, PayloadTooLargeError
from geo_service.i18n import Text
from geo_service.web.context import get_settings

UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
TOKEN_PARAMETERS = frozenset({"token", "access_token", "api_key", "apikey", "key"})
_HOST = re.compile(r"^([A-Za-z0-9](?:[A-Za-z0-9.-]{0,251}[A-Za-z0-9])?|\[[0-9A-Fa-f:.]{2,45}\])(:[0-9]{1,5})?$")
_CHUNK = 2**16


def is_token_holder() -> bool:
    """The request carries the server's write token (constant-time comparison)."""
    token = get_settings().token
    header = request.headers.get("Authorization", "")
    given = header[len("Bearer "):] if header.startswith("Bearer ") else ""
    return bool(token) and hmac.compare_digest(given.encode("utf-8"), token.encode("utf-8"))


def request_limits() -> InputLimits:
    """Token holders get the server's limits; anyone else the (smaller) anonymous ones."""
    settings = get_settings()
    return settings.limits if is_token_holder() else settings.anonymous_limits


def body_limit_bytes(limits: InputLimits) -> int:
    """Two files (a proximity request's communities and services) plus the form's fields."""
    return 2 * limits.upload_bytes + 2**20


def check_host() -> None:
    if not _HOST.match(request.host or ""):
        raise InvalidParameterError(Text("error", "the request's Host header is not a valid host name"))


def check_origin() -> None:
    """Writes from another web site's pages are refused (a page could make its visitors upload)."""
    if request.method not in UNSAFE_METHODS:
        return
    settings = get_settings()
    origin = request.headers.get("Origin")
    own = {request.host_url.rstrip("/")} | ({_origin_of(settings.base_url)} if settings.base_url else set())
    if origin is not None and origin != "null" and (origin in own or origin in settings.allowed_origins):
        return
    if origin is None and request.headers.get("Sec-Fetch-Site", "same-origin") in ("same-origin", "none"):
        return  # not sent by a browser on behalf of another site (curl, GDAL, QGIS, scripts)
    raise ForbiddenError(Text("error", "requests that change or analyse data are not accepted from other web sites' "
                              "pages; the operator can allow an origin with GEO_SERVICE_ALLOWED_ORIGINS"))


def _origin_of(url: str) -> str:
    match = re.match(r"^(https?://[^/]+)", url)
    return match.group(1) if match else url


def check_no_token_in_url() -> None:
    named = sorted(TOKEN_PARAMETERS & set(request.args))
    if named:
        raise InvalidParameterError(Text("error", "do not put a token in the URL ({names}=…): URLs are written to "
                                         "logs and browser histories. Send it as Authorization: Bearer <token>",
                                         {"names": ", ".join(named)}))


class BoundedInput:
    """A request body stream that raises a 413 as soon as more than ``limit`` bytes have been read."""

    def __init__(self, stream, limit: int) -> None:
        self._stream = stream
        self._limit = limit
        self._count = 0

    def _counted(self, data: bytes) -> bytes:
        self._count += len(data)
        if self._count > self._limit:
            raise _too_large(self._limit)
        return data

    def read(self, size: int | None = -1) -> bytes:
        return self._counted(self._stream.read() if size is None or size < 0 else self._stream.read(size))

    def readline(self, size: int | None = -1) -> bytes:
        return self._counted(self._stream.readline() if size is None or size < 0 else self._stream.readline(size))

    def __iter__(self):
        while line := self.readline(_CHUNK):
            yield line


def bound_body() -> None:
    """Refuse a body whose length is over the limit; make a chunked one fail loudly at the limit."""
    if request.method not in UNSAFE_METHODS:
        return
    limit = body_limit_bytes(request_limits())
    length = request.content_length
    if length is not None:
        if length > limit:
            raise _too_large(limit)
        request.max_content_length = limit
        return
    environ = request.environ
    if environ.get("wsgi.input_terminated"):  # chunked; without it werkzeug reads no body at all
        environ["wsgi.input"] = BoundedInput(environ["wsgi.input"], limit)


def _too_large(limit: int) -> PayloadTooLargeError:
    return PayloadTooLargeError(Text("error", "the request body is larger than this server's limit of {mb} MB; "
                                     "nothing was read or changed", {"mb": limit // 2**20}),
                                details={"limit_bytes": limit})


def register(app: Flask) -> None:
    @app.before_request
    def guard() -> None:
        check_host()
        check_no_token_in_url()
        check_origin()
        bound_body()

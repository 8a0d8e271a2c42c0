"""One error path: JSON in the canonical shape for API requests, an HTML page otherwise."""

from __future__ import annotations

from flask import Flask, jsonify, render_template, request
from werkzeug.exceptions import HTTPException, MethodNotAllowed

from geo_service.errors import GeoServiceError, HTTPStatusError, ServiceBusyError
from geo_service.i18n import N_, Text, messages
from geo_service.web.context import request_language

_HTTP_CODES = {400: "InvalidParameterValue", 404: "NotFound", 405: "MethodNotAllowed", 413: "PayloadTooLarge"}
# The framework's own answers, in the reader's language.
_HTTP_TEXTS = {
    400: Text("error", "the request could not be understood"),
    404: Text("error", "nothing is at this address; check the link, or start from the map"),
    405: N_("error", "this address does not accept {method} requests"),
}


def wants_json() -> bool:
    """JSON for the APIs (unless HTML is asked for), HTML for browsers elsewhere."""
    f = request.args.get("f")
    if f in ("json", "html"):
        return f == "json"
    if request.path.startswith("/api/"):
        return True
    if request.path.startswith("/ogc"):  # an API: JSON unless the client prefers HTML
        return request.accept_mimetypes.best_match(["application/json", "text/html"]) != "text/html"
    return request.accept_mimetypes.best_match(["text/html", "application/json"]) == "application/json"


def _respond(error: GeoServiceError):
    lang = request_language()
    if wants_json():
        response = jsonify(error.to_document(lang))
    else:
        # The page links home with the script root only: URL building may be what failed (a bad Host).
        response = render_template("error.html", error=error, lang=lang, t=messages(lang),
                                   home=f"{request.script_root}/?lang={lang}")
    headers = {"Retry-After": str(error.retry_after_s)} if isinstance(error, ServiceBusyError) else {}
    return response, error.status, headers


def _from_http(exc: HTTPException) -> GeoServiceError:
    status = exc.code or 500
    if status == 413:
        limit_mb = (request.max_content_length or 0) // 2**20
        return HTTPStatusError(Text("error", "the upload is larger than the limit of {mb} MB; nothing was read or changed",
                                    {"mb": limit_mb}), 413, "PayloadTooLarge")
    if exc.name == "Bad Request" and type(exc).__name__ == "BadHost":
        return HTTPStatusError(Text("error", "the request's Host header is not a valid host name"), 400,
                               "InvalidParameterValue")
    message = _HTTP_TEXTS[status] if status in _HTTP_TEXTS else (exc.description or exc.name)
    if status == 405:
        message = Text.of(_HTTP_TEXTS[405], {"method": request.method})
    return HTTPStatusError(message, status, _HTTP_CODES.get(status, exc.name.replace(" ", "")))


def register(app: Flask) -> None:
    app.register_error_handler(GeoServiceError, _respond)
    def http_error(exc: HTTPException):
        response, status, headers = _respond(_from_http(exc))
        allowed = exc.valid_methods if isinstance(exc, MethodNotAllowed) else None
        if allowed:  # RFC 9110: a 405 lists the methods the address does accept
            headers["Allow"] = ", ".join(allowed)
        return response, status, headers

    app.register_error_handler(HTTPException, http_error)

    @app.errorhandler(MemoryError)
    def out_of_memory(exc: MemoryError):
        app.logger.error("out of memory on %s", request.path)
        return _respond(ServiceBusyError(Text("error", "the server ran out of memory for this request; nothing was "
                                              "changed. Try a smaller file"), retry_after_s=30))

    @app.errorhandler(Exception)
    def unexpected(exc: Exception):
        # Logged with its trace for the operator; the client sees no trace or path.
        app.logger.exception("unhandled error on %s", request.path)
        return _respond(GeoServiceError(Text("error", "internal error; the server log has the details")))

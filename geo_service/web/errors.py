"""One error path: JSON in the canonical shape for API requests, an HTML page otherwise."""

from __future__ import annotations

from flask import Flask, current_app, jsonify, render_template, request
from werkzeug.exceptions import HTTPException

from geo_service.errors import GeoServiceError, HTTPStatusError
from geo_service.i18n import messages
from geo_service.web.context import request_language

_HTTP_CODES = {400: "InvalidParameterValue", 404: "NotFound", 405: "MethodNotAllowed", 413: "PayloadTooLarge"}


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
    if wants_json():
        response = jsonify(error.to_document())
    else:
        lang = request_language()
        response = render_template("error.html", error=error, lang=lang, t=messages(lang))
    return response, error.status


def _from_http(exc: HTTPException) -> GeoServiceError:
    status = exc.code or 500
    if status == 413:
        limit_mb = (current_app.config.get("MAX_CONTENT_LENGTH") or 0) // 2**20
        return HTTPStatusError(f"the upload is larger than the limit of {limit_mb} MB", 413, "PayloadTooLarge")
    return HTTPStatusError(exc.description or exc.name, status, _HTTP_CODES.get(status, exc.name.replace(" ", "")))


def register(app: Flask) -> None:
    app.register_error_handler(GeoServiceError, _respond)
    app.register_error_handler(HTTPException, lambda exc: _respond(_from_http(exc)))

    @app.errorhandler(Exception)
    def unexpected(exc: Exception):
        # Logged with its trace for the operator; the client sees no trace or path.
        app.logger.exception("unhandled error on %s", request.path)
        return _respond(GeoServiceError("internal error; the server log has the details"))

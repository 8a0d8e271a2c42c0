"""JSON API: health and layer metadata."""

from __future__ import annotations

import math

from flask import Blueprint, jsonify, request, url_for

from geo_service import __version__
from geo_service.store import LayerSummary
from geo_service.errors import InvalidParameterError, PreconditionRequiredError
from geo_service.layer_import import ImportOptions, import_layer
from geo_service.params import parse_flag, reject_unknown, single_values
from geo_service.web.context import get_settings, get_store
from geo_service.web.security import require_token

bp = Blueprint("api", __name__, url_prefix="/api")


def summary_document(summary: LayerSummary) -> dict:
    doc = summary.layer.to_document()
    doc["feature_count"] = summary.feature_count
    doc["bbox"] = None if any(math.isnan(v) for v in summary.bounds) else list(summary.bounds)
    doc["version"] = summary.version
    doc["links"] = [{"rel": "self", "type": "application/json",
                     "href": url_for("api.layer", layer_id=summary.layer.id, _external=True)}]
    return doc


@bp.get("/health")
def health():
    store = get_store()
    counts = {s.layer.id: s.feature_count for s in store.summaries()}
    return jsonify(status="ok", version=__version__, layers=counts)


@bp.get("/layers")
def layers():
    return jsonify(layers=[summary_document(s) for s in get_store().summaries()])


@bp.get("/layers/<layer_id>")
def layer(layer_id: str):
    summary = get_store().summary(layer_id)
    response = jsonify(summary_document(summary))
    response.set_etag(summary.version)  # send it back in If-Match to replace the layer
    return response


@bp.put("/layers/<layer_id>")
def put_layer(layer_id: str):
    """Create or replace a layer from a file: multipart field ``file``, or the raw body with ``?filename=``."""
    settings = get_settings()
    require_token(settings.token)
    store = get_store()
    exists = layer_id in store.catalogue
    expected = None
    if exists:
        if not request.if_match:
            raise PreconditionRequiredError(
                f"{layer_id} exists: send If-Match with its current ETag (from GET /api/layers/{layer_id}) "
                "so that no one else's change is overwritten")
        if not request.if_match.star_tag:
            tags = list(request.if_match.as_set())
            if len(tags) != 1:
                raise InvalidParameterError("If-Match must name exactly one version")
            expected = tags[0]
    values = single_values(request.args.to_dict(flat=False))
    reject_unknown(values, PUT_PARAMETERS)
    if "file" in request.files:
        upload = request.files["file"]
        data, filename = upload.read(), upload.filename or values.get("filename", "")
    else:
        data, filename = request.get_data(), values.get("filename", "")
    if not filename:
        raise InvalidParameterError("name the file (multipart field 'file', or ?filename=… with a raw body) so "
                                    "its format is known")
    options = ImportOptions(lat_col=values.get("lat_col"), lon_col=values.get("lon_col"),
                            allow_outside=parse_flag(values.get("allow_outside"), "allow_outside"),
                            repair=parse_flag(values.get("repair"), "repair"), source=values.get("source"),
                            max_features=settings.max_features)
    outcome = import_layer(store, layer_id, data, filename, settings.extent, options, title=values.get("title"),
                           licence=values.get("licence"), replace=True, expected_version=expected)
    response = jsonify(id=outcome.layer_id, version=outcome.version, created=outcome.created,
                       features=outcome.features, notes=outcome.notes)
    response.status_code = 201 if outcome.created else 200
    response.set_etag(outcome.version)
    return response


PUT_PARAMETERS = {"filename", "title", "source", "licence", "lat_col", "lon_col", "allow_outside", "repair"}

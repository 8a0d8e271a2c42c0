"""JSON API: health, layer metadata, and layer writes (PUT, with a token)."""

from __future__ import annotations

import math
import re

from flask import Blueprint, jsonify, request

from geo_service import __version__
from geo_service.errors import InvalidParameterError, PreconditionRequiredError
from geo_service.i18n import Text, text_of
from geo_service.lazy import LazyModule
from geo_service.params import parse_flag, reject_unknown, single_values
from geo_service.store import LayerState, LayerSummary
from geo_service.web.context import get_settings, get_store, request_language
from geo_service.web.security import require_token
from geo_service.web.urls import external_url

bp = Blueprint("api", __name__, url_prefix="/api")
# the import code (pandas, GDAL) is imported by the first write, not with the app
inputs = LazyModule("geo_service.analysis.inputs")
layer_import = LazyModule("geo_service.io.layer_import")
PUT_PARAMETERS = {"filename", "title", "source", "licence", "lat_col", "lon_col", "geopoint_col", "gps_accuracy_m",
                  "allow_outside", "repair"}
# Every ETag the service sends for a layer starts with the layer's version; a compressing layer may add
# a content-coding suffix (flask-compress: "…:gzip"; Apache: "…-gzip").
_VERSION_IN_ETAG = re.compile(r"^([0-9a-f]{20})(?:[-:;].*)?$")


def summary_document(summary: LayerSummary) -> dict:
    doc = summary.layer.to_document()
    doc["status"] = "ok"
    doc["feature_count"] = summary.feature_count
    doc["bbox"] = None if any(math.isnan(v) for v in summary.bounds) else list(summary.bounds)
    doc["version"] = summary.version
    doc["links"] = [{"rel": "self", "type": "application/json",
                     "href": external_url("api.layer", layer_id=summary.layer.id)}]
    return doc


def state_document(state: LayerState) -> dict:
    if state.summary is not None:
        return summary_document(state.summary)
    doc = state.layer.to_document()
    doc.update(status="unavailable", problem=state.problem)
    return doc


def health_document(states: list[LayerState], catalogue_problem: str | None) -> tuple[dict, int]:
    """Per-layer status; 200 when everything serves, 503 (for a load balancer) when anything does not."""
    unavailable = {s.layer.id: s.problem for s in states if not s.available}
    healthy = not unavailable and catalogue_problem is None
    document = {"status": "ok" if healthy else "degraded", "version": __version__,
                "layers": {s.layer.id: s.summary.feature_count for s in states if s.available},
                "unavailable": unavailable}
    if catalogue_problem:
        document["catalogue"] = catalogue_problem
    return document, 200 if healthy else 503


@bp.get("/health")
def health():
    store = get_store()
    states = store.states()
    document, status = health_document(states, store.catalogue_problem)
    return jsonify(document), status


@bp.get("/layers")
def layers():
    return jsonify(layers=[state_document(s) for s in get_store().states()])


@bp.get("/layers/<layer_id>")
def layer(layer_id: str):
    summary = get_store().summary(layer_id)
    response = jsonify(summary_document(summary))
    response.set_etag(summary.version)  # send it back in If-Match to replace the layer
    return response


def expected_version(layer_id: str) -> str | None:
    """The version named by If-Match (strong or weak, of any representation), or None for ``*``."""
    if not request.if_match:
        raise PreconditionRequiredError(Text(
            "error", "{layer} exists: send If-Match with its current ETag (from GET /api/layers/{layer}) so that no "
            "one else's change is overwritten", {"layer": layer_id}))
    if request.if_match.star_tag:
        return None
    versions = set()
    for tag in request.if_match.as_set(include_weak=True):
        match = _VERSION_IN_ETAG.match(tag)
        versions.add(match.group(1) if match else tag)
    if len(versions) != 1:
        raise InvalidParameterError(Text("error", "If-Match must name exactly one version"))
    return versions.pop()


def uploaded_file(values: dict[str, str]) -> tuple[bytes, str]:
    """The multipart field ``file``, or else the raw body (whatever its Content-Type) with ``?filename=``."""
    if request.mimetype == "multipart/form-data":
        upload = request.files.get("file")
        if upload is None:
            raise InvalidParameterError(Text("error", "a multipart upload needs its file in the field 'file'"))
        return upload.read(), upload.filename or values.get("filename", "")
    return request.get_data(cache=False, parse_form_data=False), values.get("filename", "")


@bp.put("/layers/<layer_id>")
def put_layer(layer_id: str):
    """Create or replace a layer from a file: multipart field ``file``, or the raw body with ``?filename=``."""
    settings = get_settings()
    require_token(settings.token)
    store = get_store()
    values = single_values(request.args.to_dict(flat=False))
    reject_unknown(values, PUT_PARAMETERS)
    expected = expected_version(layer_id) if layer_id in store.catalogue else None
    data, filename = uploaded_file(values)
    if not filename:
        raise InvalidParameterError(Text("error", "name the file (multipart field 'file', or ?filename=… with a raw "
                                         "body) so its format is known"))
    options = layer_import.ImportOptions(columns=inputs.parse_column_choice(values),
                                         allow_outside=parse_flag(values.get("allow_outside"), "allow_outside"),
                                         repair=parse_flag(values.get("repair"), "repair"),
                                         source=values.get("source"), limits=settings.limits)
    # Token holders only; writes to one layer are serialised by its lock and bounded by the limits.
    outcome = layer_import.import_layer(store, layer_id, data, filename, settings.extent, options,
                                        title=values.get("title"), licence=values.get("licence"), replace=True,
                                        expected_version=expected)
    response = jsonify(id=outcome.layer_id, version=outcome.version, created=outcome.created,
                       features=outcome.features, notes=[text_of(n, request_language()) for n in outcome.notes],
                       changed=outcome.changed)
    response.status_code = 201 if outcome.created else 200
    response.set_etag(outcome.version)
    return response

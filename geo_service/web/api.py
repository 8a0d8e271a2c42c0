"""JSON API: health and layer metadata."""

from __future__ import annotations

import math

from flask import Blueprint, jsonify, url_for

from geo_service import __version__
from geo_service.store import LayerSummary
from geo_service.web.context import get_store

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
    return jsonify(summary_document(get_store().summary(layer_id)))

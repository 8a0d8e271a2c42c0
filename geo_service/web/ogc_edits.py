"""OGC API – Features Part 4 routes: create, replace, update and delete one feature (token holders; thin
adapters over ``io.feature_edits``). Replacing, updating and deleting need ``If-Match`` with the feature's
ETag (from GET …/items/{featureId}), as replacing a whole layer does, so no one's edit is overwritten."""

from __future__ import annotations

from flask import Blueprint, Response, request

from geo_service.errors import InvalidParameterError, PreconditionRequiredError
from geo_service.i18n import Text
from geo_service.lazy import LazyModule
from geo_service.ogc import features as ogc
from geo_service.ogc.query import parse_language
from geo_service.params import reject_unknown, single_values
from geo_service.web.context import get_settings, get_store
from geo_service.web.security import require_token
from geo_service.web.urls import ogc_base

bp = Blueprint("ogc_edits", __name__, url_prefix="/ogc")
edits = LazyModule("geo_service.io.feature_edits")  # pandas, GDAL: imported by the first edit
_JSON_TYPES = ("application/geo+json", "application/json", "application/merge-patch+json")


def _checked_request() -> None:
    """The token, then the query (only ``lang``) and the body's media type, before any work."""
    require_token(get_settings().token)
    values = single_values(request.args.to_dict(flat=False))
    reject_unknown(values, {"lang"})
    parse_language(values.get("lang"))
    if request.method != "DELETE" and request.mimetype not in _JSON_TYPES:
        raise InvalidParameterError(Text("error", "send the feature as application/geo+json (or application/json)"))


def _body() -> object:
    """The request's JSON, read only up to the upload limit."""
    settings = get_settings()
    data = request.get_data(cache=False)
    if len(data) > settings.limits.upload_bytes:
        raise InvalidParameterError(Text("error", "the feature is larger than {mb} MB",
                                         {"mb": settings.limits.upload_mb}))
    return edits.load_json(data)


def _if_match(feature_id: str) -> str | None:
    """The feature ETag named by If-Match (None for ``*``); required, as for a layer."""
    if not request.if_match:
        raise PreconditionRequiredError(Text(
            "error", "send If-Match with the feature's ETag (from GET …/items/{id}) so that no one else's change is "
            "overwritten", {"id": feature_id}))
    if request.if_match.star_tag:
        return None
    tags = request.if_match.as_set(include_weak=True)
    if len(tags) != 1:
        raise InvalidParameterError(Text("error", "If-Match must name exactly one ETag"))
    return tags.pop().split(":")[0].split("-")[0]  # a compressing server's suffix (…:gzip, …-gzip) aside


def _answer(layer_id: str, edit: edits.Edit, status: int) -> Response:
    source = get_store().features(layer_id)
    text = source.text(edit.feature_id)
    href = f"{ogc_base()}/collections/{layer_id}/items/{edit.feature_id}"
    response = Response(text, status=status, mimetype=ogc.GEOJSON, headers={"Location": href})
    response.set_etag(edit.etag)
    return response


@bp.post("/collections/<layer:layer_id>/items")
def create(layer_id: str):
    _checked_request()
    settings = get_settings()
    store = get_store()
    store.catalogue.get(layer_id)
    return _answer(layer_id, edits.create_feature(store, layer_id, _body(), settings.extent, settings.limits), 201)


@bp.put("/collections/<layer:layer_id>/items/<feature_id>")
def replace(layer_id: str, feature_id: str):
    _checked_request()
    settings = get_settings()
    store = get_store()
    store.features(layer_id).position(feature_id)  # 404 before anything else
    if_match = _if_match(feature_id)
    edit = edits.replace_feature(store, layer_id, feature_id, _body(), settings.extent, settings.limits, if_match)
    return _answer(layer_id, edit, 200)


@bp.patch("/collections/<layer:layer_id>/items/<feature_id>")
def update(layer_id: str, feature_id: str):
    _checked_request()
    settings = get_settings()
    store = get_store()
    store.features(layer_id).position(feature_id)
    if_match = _if_match(feature_id)
    edit = edits.update_feature(store, layer_id, feature_id, _body(), settings.extent, settings.limits, if_match)
    return _answer(layer_id, edit, 200)


@bp.delete("/collections/<layer:layer_id>/items/<feature_id>")
def delete(layer_id: str, feature_id: str):
    _checked_request()
    store = get_store()
    store.features(layer_id).position(feature_id)
    edits.delete_feature(store, layer_id, feature_id, _if_match(feature_id))
    return Response(status=204)

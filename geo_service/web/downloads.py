"""Layer downloads: /layers/<id>.<format> for every format of the registry, with bbox and precision."""

from __future__ import annotations

from flask import Blueprint, Response, request, send_file

from geo_service.assets import compress_once
from geo_service.feature_cache import response_tag
from geo_service.io import formats
from geo_service.ogc.query import parse_language
from geo_service.params import parse_bbox, parse_flag, reject_unknown, single_values
from geo_service.web.caching import conditional, encoded, keep_if_current, request_encoding
from geo_service.web.context import get_cache, get_downloads, get_store

bp = Blueprint("downloads", __name__)
DOWNLOAD_PARAMETERS = {"bbox", "precision", "excel", "lang"}  # lang: the language of an error page
STREAM_ABOVE_BYTES = 8 * 2**20
TEXT_FORMATS = frozenset({"geojson", "csv", "kml"})  # kept gzipped too: a tenth of the size on the wire


@bp.get("/layers/<layer:layer_id>.<fmt>")
def download(layer_id: str, fmt: str):
    store = get_store()
    store.catalogue.get(layer_id)  # unknown layer: 404 before anything else
    out = formats.get_format(fmt)
    args = single_values(request.args.to_dict(flat=False))
    reject_unknown(args, DOWNLOAD_PARAMETERS)
    parse_language(args.get("lang"))
    bbox = parse_bbox(args["bbox"]) if "bbox" in args else None
    options = formats.WriteOptions(precision=formats.parse_precision(args.get("precision")),
                                   excel=parse_flag(args.get("excel"), "excel"))
    version = store.version(layer_id)
    etag = response_tag(version, fmt, bbox, options)
    if etag in request.if_none_match:
        return Response(status=304, headers={"ETag": f'"{etag}"'})
    as_stored = fmt == "geojson" and bbox is None and options == formats.WriteOptions()

    def build() -> bytes:
        if as_stored:
            return b"".join(store.document_chunks(layer_id, version))
        frame = store.query(layer_id, bbox=bbox).features if bbox else store.read(layer_id)
        return formats.write(frame, layer_id, fmt, options)

    # the stored RFC 7946 document is the whole-layer GeoJSON: copied to the cache in chunks, never re-written
    to_disk = (lambda: store.document_chunks(layer_id, version)) if as_stored else build
    cached = None if bbox else get_downloads().get(f"{layer_id}-{etag}.{fmt}", to_disk, fmt in TEXT_FORMATS)
    if cached is not None:  # the whole layer: built once per version, then sent from disk, resumable
        zipped = cached.gzipped is not None and "gzip" in request.accept_encodings
        response = _file_response(cached.gzipped if zipped else cached.path, out.media_type,
                                  f"{etag}-gz" if zipped else etag)
        if zipped:
            response.headers["Content-Encoding"] = "gzip"
            response.vary.add("Accept-Encoding")
    else:  # a bbox extract (or no usable cache folder): from memory
        response = Response(get_cache().response(("download", layer_id, etag), build), mimetype=out.media_type)
        response.set_etag(etag)
    response.headers["Content-Disposition"] = f'attachment; filename="{out.filename(layer_id)}"'
    response.cache_control.no_cache = True  # revalidate with the ETag: layers can be replaced
    return response


@bp.get("/map/layers/<layer:layer_id>.geojson")
def map_view(layer_id: str):
    """The layer as the map draws it (see map_view). Pages ask for it with ``v=<layer version>``: that
    URL's answer never changes, so browsers keep it; any other ``v`` gets the current data, revalidated."""
    store = get_store()
    layer = store.catalogue.get(layer_id)
    args = single_values(request.args.to_dict(flat=False))
    reject_unknown(args, {"v", "lang"})
    version = store.version(layer_id)
    etag = response_tag(version, "map")
    # Compressed once, at the highest level, and kept: the same bytes go to every map page.
    encoding = request_encoding()
    body = get_cache().response(("map", layer_id, etag, encoding), lambda: _map_view(store, layer, encoding))
    response = encoded(body, formats.get_format("geojson").media_type, encoding)
    response.set_etag(etag)
    keep_if_current(response, args.get("v"), version)
    return conditional(response)


def _file_response(path, media_type: str, etag: str) -> Response:
    """A cached file: read whole when small (no file left open), streamed when large; ranges and
    If-None-Match answered either way."""
    if path.stat().st_size > STREAM_ABOVE_BYTES:
        return send_file(path, mimetype=media_type, etag=etag, conditional=True, max_age=0)
    body = path.read_bytes()
    response = Response(body, mimetype=media_type)
    response.set_etag(etag)
    return conditional(response, accept_ranges=True, complete_length=len(body))


def _map_view(store, layer, encoding: str | None) -> bytes:
    from geo_service.map_view import map_view_bytes  # pandas: loaded by the first map of a small layer

    body = map_view_bytes(store.read(layer.id), layer.geometry_type)
    return compress_once(body)[encoding] if encoding else body

"""The app factory: wires settings, the layer store, blueprints and error handlers."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import Flask
from flask.sessions import NullSession, SecureCookieSessionInterface
from flask_compress import Compress

from geo_service.assets import Bundles
from geo_service.basemaps import BaseMaps
from geo_service.config import Settings, settings_from_env
from geo_service.feature_cache import ResponseCache
from geo_service.slots import SlotLimiter
from geo_service.store import open_results, open_store
from geo_service.store.downloads import DownloadCache
from geo_service.web import (
    api,
    assets,
    basemaps,
    downloads,
    errors,
    guard,
    language,
    ogc,
    ogc_edits,
    ogc_processes,
    pages,
    proximity,
    security,
    sites,
    tiles,
)
from geo_service.web.context import (
    BASEMAPS_KEY,
    BUNDLES_KEY,
    CACHE_KEY,
    DOWNLOADS_KEY,
    RESULTS_KEY,
    SETTINGS_KEY,
    SLOTS_KEY,
    STORE_KEY,
)
from geo_service.web.converters import LayerIdConverter

# Responses gzipped for clients that accept it (text formats; GeoPackage and zip are left alone).
COMPRESSED_TYPES = [
    "text/html", "text/css", "text/csv", "text/javascript", "application/javascript", "application/json",
    "application/geo+json", "application/vnd.oai.openapi+json", "application/vnd.google-earth.kml+xml",
    "image/svg+xml", "application/vnd.mapbox-vector-tile",
]


class _NoSessions(SecureCookieSessionInterface):
    """The app keeps no session: every request shares one empty, read-only session (Flask made one per request)."""

    _none = NullSession()

    def open_session(self, app, request) -> NullSession:
        return self._none


class App(Flask):
    """Flask, with what it asked of every view and hook at every request asked once per function: whether it is
    a coroutine function (the app has none; inspect's answer was 3 % of a feature by id)."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._sync: dict = {}
        self.session_interface = _NoSessions()

    def ensure_sync(self, func):
        sync = self._sync.get(func)
        if sync is None:
            sync = self._sync[func] = super().ensure_sync(func)
        return sync


def create_app(config: Settings | Mapping[str, Any] | None = None) -> Flask:
    """Build the Flask app; ``config`` is a Settings, or overrides of the environment's settings."""
    if isinstance(config, Settings):
        settings = config
    else:
        settings = settings_from_env().with_overrides(**dict(config or {}))
    app = App(__name__, template_folder=str(settings.templates_dir))
    app.json.ensure_ascii = False
    app.url_map.converters["layer"] = LayerIdConverter
    # Streamed responses (send_file) are not compressed: flask-compress would leave their files open.
    app.config.update(COMPRESS_MIMETYPES=COMPRESSED_TYPES, COMPRESS_MIN_SIZE=1024, COMPRESS_ALGORITHM=["br", "gzip"],
                      COMPRESS_STREAMS=False)
    # No app-wide body limit: guard.bound_body sets each request's (it depends on the requester), and a
    # global one would make werkzeug cut chunked bodies short silently.
    app.config["MAX_CONTENT_LENGTH"] = None
    Compress(app)
    store = open_store(settings)
    app.extensions[SETTINGS_KEY] = settings
    app.extensions[STORE_KEY] = store
    app.extensions[RESULTS_KEY] = open_results(settings)
    app.extensions[CACHE_KEY] = ResponseCache()
    app.extensions[BUNDLES_KEY] = Bundles(settings.assets_dir)
    app.extensions[BASEMAPS_KEY] = BaseMaps(settings.basemaps_dir)
    app.extensions[DOWNLOADS_KEY] = DownloadCache(settings.downloads_dir or settings.layers_dir / ".cache" / "downloads",
                                                  settings.downloads_max_mb * 2**20)
    app.extensions[SLOTS_KEY] = SlotLimiter(settings.runtime_dir or settings.layers_dir / ".locks" / "slots",
                                            settings.analysis_slots, settings.client_slots,
                                            settings.slot_wait_seconds)
    app.register_blueprint(pages.bp)
    app.register_blueprint(api.bp)
    app.register_blueprint(downloads.bp)
    app.register_blueprint(assets.bp)
    app.register_blueprint(basemaps.bp)
    app.register_blueprint(ogc.bp)
    app.register_blueprint(ogc_edits.bp)
    app.register_blueprint(ogc_processes.bp)
    app.register_blueprint(sites.bp)
    app.register_blueprint(tiles.bp)
    app.register_blueprint(proximity.bp)
    guard.register(app)
    language.register(app)
    errors.register(app)
    security.register(app)
    return app

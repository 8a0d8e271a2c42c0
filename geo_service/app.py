"""The app factory: wires settings, the layer store, blueprints and error handlers."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import Flask

from geo_service.config import Settings, settings_from_env
from geo_service.store import LayerStore
from geo_service.web import api, assets, downloads, errors, pages
from geo_service.web.context import SETTINGS_KEY, STORE_KEY


def create_app(config: Settings | Mapping[str, Any] | None = None) -> Flask:
    """Build the Flask app; ``config`` is a Settings, or overrides of the environment's settings."""
    if isinstance(config, Settings):
        settings = config
    else:
        settings = settings_from_env().with_overrides(**dict(config or {}))
    app = Flask(__name__, template_folder=str(settings.templates_dir))
    app.json.ensure_ascii = False
    app.extensions[SETTINGS_KEY] = settings
    app.extensions[STORE_KEY] = LayerStore(settings.layers_dir)
    app.register_blueprint(pages.bp)
    app.register_blueprint(api.bp)
    app.register_blueprint(downloads.bp)
    app.register_blueprint(assets.bp)
    errors.register(app)
    return app

"""HTML pages: the map with its side panel of layers."""

from __future__ import annotations

from flask import Blueprint, current_app, render_template, url_for

from geo_service.formats import FORMATS
from geo_service.i18n import messages
from geo_service.web.context import get_store, request_language
from geo_service.web.page_map import page_map

bp = Blueprint("pages", __name__)


@bp.get("/")
def index():
    lang = request_language()
    store = get_store()
    return render_template(
        "pages/map.html", lang=lang, t=messages(lang), summaries=store.summaries(),
        map=page_map(list(store.catalogue.layers), lang), formats=FORMATS,
        proximity_url=url_for("proximity.page") if "proximity.page" in current_app.view_functions else None,
    )

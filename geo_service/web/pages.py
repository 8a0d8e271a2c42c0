"""HTML pages: the map with its side panel of layers."""

from __future__ import annotations

from flask import Blueprint, current_app, render_template, url_for

from geo_service.i18n import messages
from geo_service.io.formats import FORMATS
from geo_service.web.context import get_store, request_language
from geo_service.web.page_map import page_map

bp = Blueprint("pages", __name__)


@bp.get("/")
def index():
    lang = request_language()
    states = get_store().states()
    summaries = [s.summary for s in states if s.available]
    return render_template(
        "pages/map.html", lang=lang, t=messages(lang), summaries=summaries,
        unavailable=[s for s in states if not s.available],
        map=page_map([s.layer for s in summaries], lang), formats=FORMATS,
        proximity_url=url_for("proximity.page") if "proximity.page" in current_app.view_functions else None,
    )

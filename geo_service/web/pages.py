"""HTML pages."""

from __future__ import annotations

from flask import Blueprint, render_template

from geo_service.i18n import messages
from geo_service.web.context import get_store, request_language

bp = Blueprint("pages", __name__)


@bp.get("/")
def index():
    lang = request_language()
    return render_template("pages/index.html", summaries=get_store().summaries(), lang=lang, t=messages(lang))

"""The reader's language, remembered: a ``?lang=`` choice is kept in a cookie for the pages that follow."""

from __future__ import annotations

from flask import Flask, Response, request

from geo_service.i18n import vocabulary
from geo_service.web.context import LANG_COOKIE, chosen_language, cookie_language

ONE_YEAR_S = 365 * 86400


def remember_language(response: Response) -> Response:
    chosen = chosen_language()
    if chosen is not None and cookie_language() != chosen:
        response.set_cookie(LANG_COOKIE, chosen, max_age=ONE_YEAR_S, samesite="Lax", httponly=True,
                            secure=request.is_secure)
    if response.mimetype == "text/html":  # a page's language depends on these: shared caches must know
        response.vary.update(("Cookie", "Accept-Language"))
    return response


def shown_value(value: object, field: str, lang: str) -> object:
    """A property value as a reader of ``lang`` sees it: the data's own words translated (Jinja ``vocab``)."""
    return vocabulary(lang).get(field, {}).get(str(value), value)


def register(app: Flask) -> None:
    app.after_request(remember_language)
    app.jinja_env.filters["vocab"] = shown_value

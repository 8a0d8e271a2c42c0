"""The French catalogue: every marked text translated, none stale; notes follow the reader's language."""

import io
from pathlib import Path

from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from geo_service.app import create_app
from geo_service.i18n import TRANSLATIONS_DIR, messages
from tests.conftest import BUNDLED_LAYERS
from tests.test_field_exports import csv_bytes, kobo_rows

REPO = Path(__file__).resolve().parent.parent
KEYWORDS = {"N_": ((1, "c"), 2), "Text": ((1, "c"), 2), "_problem": ((1, "c"), 2)}  # as `make translations`


def extracted() -> set[tuple[str | None, str]]:
    found = set()
    for _, _, message, _, context in extract_from_dir(str(REPO / "geo_service"), method_map=[("**.py", "python")],
                                                       keywords=KEYWORDS):
        found.add((context, message))
    return found


def catalogue():
    with open(TRANSLATIONS_DIR / "fr" / "LC_MESSAGES" / "messages.po", "rb") as handle:
        return read_po(handle)


def test_every_text_has_a_french_translation_and_none_is_stale():
    entries = {(m.context, m.id): m for m in catalogue() if m.id}
    code = extracted()
    assert code - set(entries) == set(), "texts missing from the catalogue: run `make translations`"
    assert set(entries) - code == set(), "translations of texts the code no longer has: run `make translations`"
    untranslated = sorted(key for key, m in entries.items() if not m.string or m.fuzzy)
    assert untranslated == []


def test_translations_keep_their_placeholders():
    import re

    for message in catalogue():
        if message.id and message.string:
            assert set(re.findall(r"\{\w+", message.id)) == set(re.findall(r"\{\w+", message.string)), message.id


def test_page_texts_are_french_on_french_pages():
    english, french = messages("en"), messages("fr")
    assert set(english) == set(french)
    assert french["prox_title"] == "Distance aux établissements de santé" and english["prox_title"] != french["prox_title"]


def test_proximity_notes_follow_the_readers_language():
    client = create_app({"layers_dir": BUNDLED_LAYERS}).test_client()
    header, rows = kobo_rows()
    answers = {}
    for lang in ("fr", "en"):
        response = client.post(f"/api/proximity?lang={lang}", data={
            "communities_file": (io.BytesIO(csv_bytes(header, rows)), "enquete.csv"), "services": "health_centres"},
            content_type="multipart/form-data")
        answers[lang] = response.get_json()["notes"]
    assert "enquete.csv : colonne 'Nom du village' lue comme nom" in answers["fr"]
    assert "enquete.csv: column 'Nom du village' read as the name" in answers["en"]
    assert any(note.startswith("enquete.csv : position lue dans _localisation_latitude") for note in answers["fr"])


def test_field_workflow_errors_follow_the_readers_language():
    client = create_app({"layers_dir": BUNDLED_LAYERS}).test_client()
    from tests.test_field_exports import AMBIGUOUS

    def error(lang, data):
        response = client.post(f"/api/proximity?lang={lang}", data={"services": "health_centres", **data},
                               content_type="multipart/form-data")
        assert response.status_code in (400, 413)
        return response.get_json()["description"]

    empty = {"communities_file": (io.BytesIO(b""), "vide.csv")}
    assert error("fr", dict(empty)) == "vide.csv : le fichier est vide"
    assert error("en", {"communities_file": (io.BytesIO(b""), "vide.csv")}) == "vide.csv: the file is empty"
    assert error("fr", {"communities_file": (io.BytesIO(AMBIGUOUS), "deux.csv")}).startswith(
        "deux.csv : 2 positions possibles")
    far = b"nom,lat,lon\nParis,48.85,2.35\n"
    assert "sont hors de la zone du service" in error("fr", {"communities_file": (io.BytesIO(far), "loin.csv")})
    response = client.post("/api/proximity?lang=fr", data={"services": "health_centres"},
                           content_type="multipart/form-data")
    assert response.get_json()["description"] == "indiquez les localités : une couche du service ou un fichier"
    page = client.post("/api/proximity?lang=fr", data={"services": "health_centres"},
                       headers={"Accept": "text/html"}, content_type="multipart/form-data")
    assert "indiquez les localités" in page.get_data(as_text=True)


def test_the_chosen_language_is_remembered_for_the_pages_that_follow(layers_dir, make_app):
    client = make_app().test_client()
    first = client.get("/?lang=fr", headers={"Accept-Language": "en"})
    assert "lang=fr" in first.headers["Set-Cookie"] and "HttpOnly" in first.headers["Set-Cookie"]
    assert {"Cookie", "Accept-Language"} <= set(first.vary)
    ogc = client.get("/ogc/collections?f=html", headers={"Accept-Language": "en"})  # no lang in the link
    assert '<html lang="fr">' in ogc.get_data(as_text=True)
    back = client.get("/?lang=en")
    assert "lang=en" in back.headers["Set-Cookie"]
    assert '<html lang="en">' in client.get("/proximity").get_data(as_text=True)


def test_a_language_chosen_with_an_encoded_parameter_name_or_a_cookie_among_others_is_kept(layers_dir, make_app):
    client = make_app().test_client()
    assert '<html lang="fr">' in client.get("/?l%61ng=fr").get_data(as_text=True)  # as werkzeug decodes it
    client.set_cookie("other", "x")
    assert '<html lang="fr">' in client.get("/proximity", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert '<html lang="en">' in make_app().test_client().get("/?slang=fr").get_data(as_text=True)


def test_the_exported_map_declares_its_language(runner, tmp_path):
    out = tmp_path / "carte.html"
    assert runner(["map", "--out", str(out), "--lang", "fr"]).exit_code == 0
    assert '<html lang="fr">' in out.read_text(encoding="utf-8")[:300]


def test_busy_and_refused_answers_follow_the_readers_language(layers_dir, make_app):
    from geo_service.config import Settings

    late = create_app(Settings(layers_dir=layers_dir, analysis_seconds=-1.0)).test_client()
    doc = late.post("/api/proximity?lang=fr", data={"communities": "sites", "services": "sites"}).get_json()
    assert doc["description"].startswith("la requête a dépassé son temps imparti de -1 s (lecture des localités)")
    foreign = make_app().test_client().post(
        "/api/proximity?lang=fr", data={"communities": "sites", "services": "sites"},
        headers={"Origin": "https://evil.example"})
    assert foreign.status_code == 403 and "depuis les pages d'autres sites" in foreign.get_json()["description"]


def english_fragments() -> set[str]:
    """Pieces of the catalogue's English that a French page must not show: the text between placeholders
    of every entry whose French differs, at least two words long (a lone word may be a name or data)."""
    import re

    fragments = set()
    for message in catalogue():
        if not message.id or not message.string or message.string == message.id:
            continue
        for piece in re.split(r"\{\w+\}", message.id):
            piece = piece.strip(" :;,.()…")
            if len(piece) >= 8 and " " in piece and piece not in message.string:
                fragments.add(piece)
    return fragments


def visible_text(html: str) -> str:
    import re
    from html import unescape

    html = re.sub(r"<(script|style)\b.*?</\1>", " ", html, flags=re.S | re.I)
    return unescape(re.sub(r"<[^>]+>", " ", html))


FRENCH_PAGES = [  # (path, expected status): every page kind, and errors of each family
    ("/", 200), ("/proximity", 200), ("/ogc/", 200), ("/ogc/conformance", 200), ("/ogc/collections", 200),
    ("/ogc/api", 200), ("/ogc/collections/health_centres", 200), ("/ogc/collections/health_centres/items", 200),
    ("/ogc/collections/patrol_bases/items?limit=1&offset=1", 200), ("/nowhere", 404),
    ("/ogc/collections/nowhere", 404), ("/ogc/collections/health_centres/items/nothing", 404),
    ("/ogc/collections/health_centres/items?limit=x", 400), ("/ogc/collections/health_centres/items?bbox=1,2", 400),
    ("/ogc/collections/health_centres/items?colour=red", 400), ("/layers/border.geojson?precision=99", 400),
    ("/api/proximity?communities=communities&services=health_centres&bands=5,2", 400),
]


def test_french_pages_and_errors_show_no_english_from_the_catalogue():
    from html import unescape

    app = create_app({"layers_dir": BUNDLED_LAYERS})
    client = app.test_client()
    fragments = english_fragments()
    assert len(fragments) > 100  # the check has something to look for
    catalogue_ = app.extensions["geo_service.store"].catalogue
    data = [unescape(src.describe()) for layer in catalogue_.layers for src in layer.sources]  # as published
    data += [layer.attribution for layer in catalogue_.layers]
    store = app.extensions["geo_service.store"]
    for layer in catalogue_.layers:  # names of places and facilities, as published
        frame = store.read(layer.id)
        data += [str(v) for column in ("name", "source") if column in frame.columns for v in frame[column].dropna()]
    data.sort(key=len, reverse=True)  # the longest first: a name may hold a shorter one
    for path, status in FRENCH_PAGES:
        joiner = "&" if "?" in path else "?"
        response = client.get(f"{path}{joiner}lang=fr", headers={"Accept": "text/html"})
        assert response.status_code == status, path
        if response.is_json:  # the JSON API answers JSON whatever the Accept header: its message is French
            text = response.get_json()["description"]
        else:
            assert '<html lang="fr">' in response.get_data(as_text=True), path
            text = " ".join(visible_text(response.get_data(as_text=True)).split())
        for published in data:
            text = text.replace(" ".join(published.split()), " ")
        leaked = sorted(f for f in fragments if f in text)
        assert leaked == [], (path, leaked)


def test_the_map_script_gets_every_word_in_french():
    """The texts the map's script shows (controls, legend, measure, popups' data words) come from the page."""
    import json
    import re

    html = create_app({"layers_dir": BUNDLED_LAYERS}).test_client().get("/?lang=fr").get_data(as_text=True)
    config = json.loads(re.search(r"geoService\.addLayers\([^,]+,\s*[^,]+,\s*(\{.*\})\);", html).group(1))
    english = messages("en")
    untranslated = sorted(k for k, v in config["messages"].items() if v == english[k] and " " in v)
    assert untranslated == []
    assert config["vocabulary"]["type"]["Health Centre"] == "Centre de santé"
    assert config["vocabulary"]["country"]["SN"] == "Sénégal"
    assert config["controls"]["fullscreen"]["title"] == "Plein écran"

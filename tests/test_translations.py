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


def test_the_chosen_language_is_remembered_for_the_pages_that_follow(layers_dir):
    client = create_app({"layers_dir": layers_dir}).test_client()
    first = client.get("/?lang=fr", headers={"Accept-Language": "en"})
    assert "lang=fr" in first.headers["Set-Cookie"] and "HttpOnly" in first.headers["Set-Cookie"]
    assert {"Cookie", "Accept-Language"} <= set(first.vary)
    ogc = client.get("/ogc/collections?f=html", headers={"Accept-Language": "en"})  # no lang in the link
    assert '<html lang="fr">' in ogc.get_data(as_text=True)
    back = client.get("/?lang=en")
    assert "lang=en" in back.headers["Set-Cookie"]
    assert '<html lang="en">' in client.get("/proximity").get_data(as_text=True)


def test_the_exported_map_declares_its_language(runner, tmp_path):
    out = tmp_path / "carte.html"
    assert runner(["map", "--out", str(out), "--lang", "fr"]).exit_code == 0
    assert '<html lang="fr">' in out.read_text(encoding="utf-8")[:300]


def test_busy_and_refused_answers_follow_the_readers_language(layers_dir):
    from geo_service.config import Settings

    late = create_app(Settings(layers_dir=layers_dir, analysis_seconds=-1.0)).test_client()
    doc = late.post("/api/proximity?lang=fr", data={"communities": "sites", "services": "sites"}).get_json()
    assert doc["description"].startswith("la requête a dépassé son temps imparti de -1 s (lecture des localités)")
    foreign = create_app({"layers_dir": layers_dir}).test_client().post(
        "/api/proximity?lang=fr", data={"communities": "sites", "services": "sites"},
        headers={"Origin": "https://evil.example"})
    assert foreign.status_code == 403 and "depuis les pages d'autres sites" in foreign.get_json()["description"]

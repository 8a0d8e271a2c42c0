"""Outputs a health office uses: XLSX workbook, CSV for French Excel, a one-page A4 PDF; API and CLI alike."""

import io
import json

import pytest
from openpyxl import load_workbook
from pypdf import PdfReader

from geo_service.analysis.inputs import AnalysisInput
from geo_service.analysis.report import report_document, report_json, run_analysis
from geo_service.app import create_app
from tests.conftest import BUNDLED_LAYERS
from tests.test_field_exports import csv_bytes, kobo_rows
from tests.test_levels import DIBOLI, KAYES, KIDIRA, frame

SHEETS = {"fr": ["Localités", "Synthèse", "Mal desservies", "Transfrontalier", "Méthode et sources"],
          "en": ["Communities", "Summary", "Underserved", "Cross-border", "Method and sources"]}


@pytest.fixture(scope="module")
def client():
    return create_app({"layers_dir": BUNDLED_LAYERS}).test_client()


def analyse(client, fmt, lang, **fields):
    header, rows = kobo_rows()
    data = {"communities_file": (io.BytesIO(csv_bytes(header, rows)), "enquete.csv"), "services": "health_centres",
            "format": fmt, "lang": lang, **fields}
    response = client.post("/api/proximity", data=data, content_type="multipart/form-data")
    assert response.status_code == 200, response.get_data(as_text=True)[:300]
    return response


@pytest.mark.parametrize("lang", ["fr", "en"])
def test_xlsx_has_a_sheet_per_table_in_the_requests_language(client, lang):
    response = analyse(client, "xlsx", lang)
    assert response.headers["Content-Disposition"] == 'attachment; filename="proximity.xlsx"'
    workbook = load_workbook(io.BytesIO(response.data))
    assert workbook.sheetnames == SHEETS[lang]
    rows = list(workbook[SHEETS[lang][0]].values)
    header = rows[0]
    nearest = "établissement de santé le plus proche" if lang == "fr" else "nearest health facility"
    assert nearest in header and "input__uuid" in header and "input_Nom du village" in header
    kidira = dict(zip(header, rows[1]))
    assert kidira["population"] == 13551 and isinstance(kidira["population"], int)  # numbers stay numbers
    assert dict(zip(header, rows[2]))["population"] is None  # unknown stays empty, never 0
    walk = "temps de marche estimé (min)" if lang == "fr" else "walking time, estimate (min)"
    distance = kidira["distance (m, à vol d'oiseau)" if lang == "fr" else "distance (m, straight line)"]
    assert kidira[walk] == round(distance / 1000 * 1.2 / 5 * 60)  # the default detour and speed
    method = [row[0] for row in workbook[SHEETS[lang][4]].values]
    assert any(("ellipsoïde WGS84" if lang == "fr" else "WGS84 ellipsoid") in line for line in method if line)


def test_csv_for_french_excel(client):
    body = analyse(client, "csv", "fr", excel="true").data
    assert body.startswith("\ufeff".encode("utf-8"))
    lines = body.decode("utf-8-sig").splitlines()
    assert lines[0].startswith("ligne;localité;") and "input__uuid" in lines[0]
    kidira = lines[1].split(";")
    assert "14,45668" in kidira and "Kidira" in kidira  # decimal commas


@pytest.mark.parametrize("lang, title, method, band", [
    ("fr", "Distance aux établissements de santé", "ellipsoïde WGS84", "plus de 20 km"),
    ("en", "Distance to health facilities", "WGS84 ellipsoid", "0–5 km"),
])
def test_pdf_is_one_a4_page_in_the_requests_language(client, lang, title, method, band):
    response = client.get(f"/api/proximity?communities=communities&services=health_centres&format=pdf&lang={lang}")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    reader = PdfReader(io.BytesIO(response.data))
    assert len(reader.pages) == 1
    box = reader.pages[0].mediabox
    assert (round(float(box.width)), round(float(box.height))) == (595, 842)  # A4 in points
    page = " ".join(reader.pages[0].extract_text().split())
    assert title in page and method in page and band in page
    summary = client.get("/api/proximity?communities=communities&services=health_centres").get_json()["summary"]
    first = summary[0]
    assert f"{first['country']} 0–5 km {first['communities']}" in page  # the summary figures are printed


def test_cli_writes_xlsx_and_pdf_by_extension(runner, tmp_path):
    for suffix in (".xlsx", ".pdf"):
        out = tmp_path / f"report{suffix}"
        result = runner(["proximity", "--communities", "sites", "--services", "sites", "--out", str(out),
                         "--lang", "fr"])
        assert result.exit_code == 0, result.output
        assert out.read_bytes()[:4] in (b"PK\x03\x04", b"%PDF")
    assert load_workbook(tmp_path / "report.xlsx").sheetnames == SHEETS["fr"]


def test_the_json_answer_holds_the_report_document_with_the_features_written_once():
    """``report_json`` splices the GeoJSON texts into the answer: it must parse to ``report_document``, whatever
    the names hold (quotes, accents, text that looks like the placeholders)."""
    names = ['Kidira "centre"', "Sénédébou", '{"results": 1}']
    communities = AnalysisInput(frame([KIDIRA, KAYES, DIBOLI], name=names), "c")
    services = AnalysisInput(frame([DIBOLI, KAYES], name=["Poste de Diboli", "Hôpital de Kayes"],
                                   type=["Poste de Santé", "Hôpital Régional"]), "s")
    report = run_analysis(communities, services, bands_km=(5, 10, 20), levels=True)
    links = [{"rel": "self", "href": "/api/proximity/results/x"}]
    for offset, limit in ((0, None), (1, 1), (3, 10)):
        answer = json.loads(report_json(report, json.dumps, offset=offset, limit=limit, extra={"links": links}))
        assert answer == {**report_document(report, offset=offset, limit=limit), "links": links}
        assert answer["results"]["numberMatched"] == 3
        assert answer["results"]["numberReturned"] == len(answer["results"]["features"]) == min(3 - offset, limit or 3)
    assert [f["properties"]["name"] for f in json.loads(report_json(report, json.dumps))["results"]["features"]] == names

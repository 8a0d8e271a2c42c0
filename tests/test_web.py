"""Routes: health, layer metadata, the index page, and the one error path."""

import pytest

from tests.conftest import HOSTILE_NAME, assert_error_document


def test_health_reports_layer_counts(client):
    response = client.get("/api/health")
    assert response.status_code == 200
    assert response.get_json()["status"] == "ok"
    assert response.get_json()["layers"] == {"sites": 4, "roads": 1, "zones": 1}


def test_layers_metadata(client):
    layers = client.get("/api/layers").get_json()["layers"]
    assert [l["id"] for l in layers] == ["sites", "roads", "zones"]
    sites = layers[0]
    assert sites["feature_count"] == 4 and sites["licence"] == "CC0-1.0"
    assert sites["bbox"] == pytest.approx([-12.21659, 13.9, -11.44393, 14.457159])
    assert sites["links"][0]["href"].endswith("/api/layers/sites")
    assert client.get("/api/layers/sites").get_json()["title"]["fr"] == "Test sites (fr)"


def test_unknown_layer_is_a_404_in_the_canonical_shape(client):
    doc = assert_error_document(client.get("/api/layers/nope"), 404, "LayerNotFound")
    assert "known layers: sites, roads, zones" in doc["description"]


def test_unknown_path_and_method(client):
    assert_error_document(client.get("/api/nothing"), 404, "NotFound")
    assert_error_document(client.post("/api/health"), 405, "MethodNotAllowed")


def test_html_error_page_for_browsers(client):
    response = client.get("/nothing", headers={"Accept": "text/html"})
    assert response.status_code == 404 and response.mimetype == "text/html"
    assert b"Error 404" in response.data


def test_unexpected_errors_hide_traces_and_paths(layers_dir, make_app):
    app = make_app()

    @app.get("/api/boom")
    def boom():
        raise RuntimeError(f"secret path {layers_dir}")

    app.logger.disabled = True
    response = app.test_client().get("/api/boom")
    doc = assert_error_document(response, 500, "ServerError")
    assert str(layers_dir) not in response.get_data(as_text=True) and "Traceback" not in doc["description"]


@pytest.mark.files_only  # a damaged file on disk
def test_broken_layer_file_is_a_503_naming_the_layer_not_the_path(client, layers_dir):
    (layers_dir / "roads.geojson").write_text("{", encoding="utf-8")
    response = client.get("/api/layers/roads")
    doc = assert_error_document(response, 503, "LayerUnavailable")
    assert doc["description"].startswith("layer roads:") and str(layers_dir) not in doc["description"]


@pytest.mark.parametrize("headers, query, expected", [
    ({"Accept-Language": "fr-FR,fr;q=0.9"}, "", "Couches"),
    ({"Accept-Language": "en-GB"}, "", "Layers"),
    ({"Accept-Language": "fr"}, "?lang=en", "Layers"),
    ({}, "?lang=fr", "Couches"),
    ({}, "?lang=xx", "Layers"),
])
def test_index_language(client, headers, query, expected):
    response = client.get("/" + query, headers=headers)
    assert response.status_code == 200
    assert f"<h2>{expected}</h2>" in response.get_data(as_text=True)


@pytest.mark.files_only  # edits catalogue.json
def test_index_lists_layers_with_sources_and_escapes_text(layers_dir, make_app):
    import json

    cat = json.loads((layers_dir / "catalogue.json").read_text())
    cat["layers"][0]["title"]["en"] = HOSTILE_NAME
    (layers_dir / "catalogue.json").write_text(json.dumps(cat))
    html = make_app().test_client().get("/").get_data(as_text=True)
    assert HOSTILE_NAME not in html and "&lt;img src=x onerror=alert(1)&gt;" in html
    assert "hand-made test data (tests/conftest.py)" in html and "CC0-1.0" in html


def test_every_message_exists_in_both_languages():
    from geo_service.i18n import MESSAGES, messages
    from geo_service.maps import MAP_MESSAGE_KEYS

    assert set(messages("en")) == set(messages("fr")) == set(MESSAGES)
    assert set(MAP_MESSAGE_KEYS) <= set(MESSAGES)
    assert all(messages("fr")[k].strip() for k in MESSAGES)


def test_a_worker_starts_without_the_libraries_only_some_requests_need():
    """Every worker builds the app at start: folium (map pages), pygeofilter's CQL2 grammar (filters), XlsxWriter
    (workbooks), rasterio (population grids) and PuLP (site suggestion) wait for their first request."""
    import subprocess
    import sys

    code = ("import sys; from geo_service.app import create_app; from tests.conftest import BUNDLED_LAYERS; "
            "create_app({'layers_dir': BUNDLED_LAYERS}); print(sorted(sys.modules))")
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    for module in ("folium", "branca", "pygeofilter", "lark", "xlsxwriter", "rasterio", "pulp", "reportlab"):
        assert f"'{module}'" not in loaded, module
    assert "'geo_service.app'" in loaded

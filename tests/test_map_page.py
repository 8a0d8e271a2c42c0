"""The map page and its pieces without a browser: assets, GeoJSON endpoint, page weight, export."""

import json
import re

import folium
import pytest
from click.testing import CliRunner

from geo_service.assets import NPM_ASSETS, asset_file, inline_assets, localise_assets
from geo_service.catalogue import load_catalogue
from geo_service.cli import main as cli_main
from geo_service.config import bundled_dir
from geo_service.errors import ConfigError, NotFoundError
from geo_service.io.formats import parse_precision
from geo_service.io.writers import geojson_bytes
from geo_service.store import LayerStore
from tests.conftest import BUNDLED_LAYERS, HOSTILE_NAME, assert_error_document

NODE_MODULES = bundled_dir("node_modules")
LOCAL_URL = re.compile(r'(?:src|href)="([^"]+)"')


def test_every_folium_asset_is_local_or_dropped(client):
    html = client.get("/").get_data(as_text=True)
    urls = LOCAL_URL.findall(html)
    assert urls and not [u for u in urls if u.startswith(("http:", "https:", "//"))]
    for url in urls:
        if url.startswith(("/assets/", "/static/")):
            with client.get(url) as response:
                assert response.status_code == 200, url


def test_an_unknown_cdn_asset_is_an_error_not_a_silent_request():
    fmap = folium.Map(tiles=None)
    fmap.default_js = fmap.default_js + [("new_plugin", "https://cdn.example.invalid/new.js")]
    with pytest.raises(ConfigError, match="'new_plugin'.*has no local copy"):
        localise_assets(fmap, lambda path: "/assets/" + path)


def test_registry_points_at_installed_files():
    for name, path in NPM_ASSETS.items():
        assert (NODE_MODULES / path).is_file(), f"{name}: {path} missing: run `npm ci`"


@pytest.mark.parametrize("package, filename", [
    ("leaflet", "../../package.json"), ("leaflet", "package.json"), ("express", "index.js"),
    ("leaflet", "dist/../../leaflet-search/dist/leaflet-search.min.js"), ("..", "package.json"),
])
def test_asset_file_refuses_anything_outside_the_allowed_files(package, filename):
    with pytest.raises(NotFoundError):
        asset_file(NODE_MODULES, package, filename)


def test_assets_route(client):
    with client.get("/assets/leaflet/dist/leaflet.js") as response:
        assert response.status_code == 200 and "javascript" in response.mimetype
        assert response.cache_control.max_age > 0
    assert client.get("/assets/leaflet/../../package.json").status_code == 404


def test_inline_assets_embeds_scripts_styles_and_images(tmp_path):
    (tmp_path / "img").mkdir()
    (tmp_path / "img" / "dot.png").write_bytes(b"\x89PNG\r\n\x1a\n")
    (tmp_path / "a.css").write_text(".x{background:url(img/dot.png)} .y{background:url(data:,)}")
    (tmp_path / "a.js").write_text("var s = '</script>';")
    html = '<link rel="stylesheet" href="/a.css"/><script src="/a.js"></script>'
    out = inline_assets(html, lambda url: tmp_path / url.lstrip("/"))
    assert "url(data:image/png;base64," in out and "url(data:,)" in out
    assert "<\\/script>" in out and 'src="' not in out and "<link" not in out


@pytest.mark.parametrize("raw, expected", [(None, None), ("", None), ("0", 0), ("6", 6), ("7", 7)])
def test_parse_precision(raw, expected):
    assert parse_precision(raw) == expected


@pytest.mark.parametrize("raw", ["8", "-1", "six", "1e3", " 5"])
def test_parse_precision_refuses(raw):
    with pytest.raises(Exception, match="precision must be a whole number from 0 to 7"):
        parse_precision(raw)


def test_geojson_bytes_rounds_and_keeps_ids_and_nulls(layers_dir):
    frame = LayerStore(layers_dir).read("sites")
    doc = json.loads(geojson_bytes(frame, precision=2))
    assert [f["id"] for f in doc["features"]] == ["kidira", "diboli", "kayes", "hostile"]
    assert doc["features"][0]["geometry"]["coordinates"] == [-12.22, 14.46]
    assert doc["features"][1]["properties"]["population"] is None
    assert doc["features"][3]["properties"]["name"] == HOSTILE_NAME
    assert "crs" not in doc


def test_geojson_endpoint(client):
    response = client.get("/layers/sites.geojson")
    assert response.status_code == 200 and response.mimetype == "application/geo+json"
    assert response.headers["Content-Disposition"] == 'attachment; filename="sites.geojson"'
    assert len(response.get_json()["features"]) == 4
    again = client.get("/layers/sites.geojson", headers={"If-None-Match": response.headers["ETag"]})
    assert again.status_code == 304 and again.data == b""
    rounded = client.get("/layers/sites.geojson?precision=3")
    assert rounded.headers["ETag"] != response.headers["ETag"]
    assert rounded.get_json()["features"][0]["geometry"]["coordinates"] == [-12.217, 14.457]


def test_geojson_endpoint_errors(client):
    assert client.get("/layers/nope.geojson").status_code == 404
    response = client.get("/layers/sites.geojson?precision=99", headers={"Accept": "application/json"})
    assert_error_document(response, 400, "InvalidParameterValue")


def test_page_weight_without_layer_data_stays_small(app):
    app_client = app.test_client()
    html = app_client.get("/").data
    assert len(html) < 150_000
    bundled = __import__("geo_service.app", fromlist=["create_app"]).create_app({"layers_dir": BUNDLED_LAYERS})
    page = bundled.test_client().get("/").data
    assert len(page) < 150_000
    assert b'"features"' not in page  # data is fetched, not pasted into the page


def test_page_lists_layers_with_download_links_and_sources(client):
    html = client.get("/").get_data(as_text=True)
    for layer_id in ("sites", "roads", "zones"):
        assert f'href="/layers/{layer_id}.geojson"' in html
    assert "hand-made test data (tests/conftest.py)" in html and "CC0-1.0" in html
    assert HOSTILE_NAME not in html  # not even inside the map's script configuration


def test_cli_map_export_is_self_contained(tmp_path):
    out = tmp_path / "map.html"
    result = CliRunner().invoke(cli_main, ["--layers-dir", str(BUNDLED_LAYERS), "map", "--out", str(out), "--lang", "fr"])
    assert result.exit_code == 0, result.output
    html = out.read_text(encoding="utf-8")
    assert not re.search(r'<script src=|<link rel="stylesheet"', html)
    assert '"lang": "fr"' in html and "Frontière Mali–Sénégal" in html
    assert html.count('"type": "FeatureCollection"') + html.count('"type":"FeatureCollection"') == len(
        load_catalogue(BUNDLED_LAYERS / "catalogue.json").ids)


@pytest.mark.files_only  # a damaged file on disk
def test_the_export_leaves_out_an_unavailable_layer_and_says_so(runner, layers_dir, tmp_path):
    (layers_dir / "roads.geojson").unlink()
    out = tmp_path / "map.html"
    result = runner(["map", "--out", str(out)])
    assert result.exit_code == 0 and "left out: layer roads: its file is missing" in result.output
    assert "2 layers" in result.output and "Test zones" in out.read_text(encoding="utf-8")

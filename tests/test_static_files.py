"""Fast on slow links: one fingerprinted script bundle kept for a year, layer map views named by version."""

from __future__ import annotations

import gzip
import json
import re

import brotli

from geo_service.app import create_app
from geo_service.assets import build_bundle
from geo_service.map_view import MAP_FIELDS
from geo_service.catalogue import load_catalogue
from tests.conftest import BUNDLED_LAYERS

YEAR = "max-age=31536000"


def page_and_client():
    client = create_app({"layers_dir": BUNDLED_LAYERS}).test_client()
    return client.get("/").get_data(as_text=True), client


def test_the_page_loads_one_deferred_bundle_and_preloads_its_layers():
    html, client = page_and_client()
    scripts = re.findall(r"<script[^>]*\ssrc=\"([^\"]+)\"", html)
    assert len(scripts) == 1 and re.fullmatch(r"/assets/bundle/[0-9a-f]{16}\.js", scripts[0])
    assert re.search(r"<script defer src=\"/assets/bundle/", html)
    assert '<link rel="stylesheet"' not in html  # the style is in the page: painted after one round trip
    preloads = re.findall(r'<link rel="preload" as="fetch" crossorigin="anonymous" href="([^"]+)"', html)
    assert len(preloads) == len(load_catalogue(BUNDLED_LAYERS / "catalogue.json").ids) and all(p.startswith("/map/layers/") and "?v=" in p for p in preloads)
    assert "user-scalable=no" not in html


def test_the_bundle_is_immutable_and_gzipped_once():
    html, client = page_and_client()
    url = re.search(r"/assets/bundle/[0-9a-f]{16}\.js", html).group(0)
    plain = client.get(url)
    assert YEAR in plain.headers["Cache-Control"] and "immutable" in plain.headers["Cache-Control"]
    assert b"geoService" in plain.data and b"markerClusterGroup" in plain.data  # ours and the plugins, joined
    zipped = client.get(url, headers={"Accept-Encoding": "gzip, deflate"})
    assert zipped.headers["Content-Encoding"] == "gzip" and gzip.decompress(zipped.data) == plain.data
    assert "Accept-Encoding" in zipped.headers["Vary"]
    smaller = client.get(url, headers={"Accept-Encoding": "gzip, br"})  # browsers ask for br over HTTPS
    assert smaller.headers["Content-Encoding"] == "br" and brotli.decompress(smaller.data) == plain.data
    assert len(smaller.data) < len(zipped.data)
    assert client.get("/assets/bundle/0000000000000000.js").status_code == 404


def test_a_changed_file_gets_a_new_bundle_name(tmp_path):
    script = tmp_path / "a.js"
    script.write_text("var a = 1\n")
    first = build_bundle("js", [script])
    script.write_text("var a = 2\n")
    assert build_bundle("js", [script]).digest != first.digest
    assert build_bundle("js", [script]).body.endswith(b";")  # files end their statements when joined


def test_map_views_are_named_by_version_and_lighter_than_downloads():
    html, client = page_and_client()
    url = re.search(r'href="(/map/layers/border\.geojson\?v=[^"]+)"', html).group(1)
    view = client.get(url)
    assert YEAR in view.headers["Cache-Control"] and "immutable" in view.headers["Cache-Control"]
    stale = client.get("/map/layers/border.geojson?v=old")
    assert "no-cache" in stale.headers["Cache-Control"] and stale.data == view.data
    full = client.get("/layers/border.geojson")
    assert len(view.data) < len(full.data)
    document = json.loads(view.data)
    assert len(document["features"]) == len(json.loads(full.data)["features"])
    assert set(document["features"][0]["properties"]) <= set(MAP_FIELDS)
    decimals = {len(str(c).split(".")[1]) for c in re.findall(r"-?\d+\.\d+", json.dumps(document["features"][0]["geometry"]))}
    assert max(decimals) <= 4  # about 11 m: the source is simplified to 10 m
    points = json.loads(client.get("/map/layers/health_centres.geojson").data)
    coords = points["features"][0]["geometry"]["coordinates"]
    assert all(len(str(c).split(".")[-1]) <= 5 for c in coords)
    assert client.get("/map/layers/border.geojson?colour=red").status_code == 400

"""Offline base maps: MBTiles and PMTiles built here are listed, served tile by tile and drawn, offline;
with none, the map labels itself from the bundled data."""

from __future__ import annotations

import pytest
from pmtiles.tile import TileType

from geo_service.app import create_app
from geo_service.basemaps import discover, read_tile
from tests.conftest import BUNDLED_LAYERS
from tests.test_browser import LiveServer, Watched, browser, local_only  # noqa: F401  (fixture)
from tests.tilesets import area_tiles, mvt_water, png, write_mbtiles, write_pmtiles

RELIEF, PLAN = (200, 120, 200), (120, 200, 200)
WATER = (181, 208, 232)  # map.js's fill for a "water" layer


@pytest.fixture(scope="module")
def basemaps_dir(tmp_path_factory):
    folder = tmp_path_factory.mktemp("basemaps")
    tiles = area_tiles(range(5, 9))
    write_mbtiles(folder / "relief.mbtiles", {t: png(RELIEF) for t in tiles}, "png", "Relief test", "© test relief")
    write_pmtiles(folder / "plan.pmtiles", {t: png(PLAN) for t in tiles}, TileType.PNG, "Plan test", "© test plan")
    write_pmtiles(folder / "eau.pmtiles", {t: mvt_water() for t in tiles}, TileType.MVT, "Water test", "© test water")
    (folder / "broken.mbtiles").write_bytes(b"not a database")
    (folder / "notes.txt").write_text("not a tile set")
    return folder


def test_tile_sets_are_described_and_read_with_the_right_row_order(basemaps_dir, tmp_path):
    found = {b.name: b for b in discover(basemaps_dir)}
    assert sorted(found) == ["eau", "plan", "relief"]  # the broken file is left out, not fatal
    relief = found["relief"]
    assert (relief.title, relief.attribution, relief.format, relief.minzoom, relief.maxzoom) == (
        "Relief test", "© test relief", "png", 5, 8)
    assert found["eau"].vector and found["eau"].compressed and not found["plan"].vector
    # Each tile its own content: an MBTiles row flipped the wrong way (TMS) would return another tile.
    tiles = area_tiles([7])
    distinct = {t: png((t[1] % 256, t[2] % 256, 7)) for t in tiles}
    write_mbtiles(tmp_path / "grid.mbtiles", distinct, "png", "grid", "")
    write_pmtiles(tmp_path / "grid.pmtiles", distinct, TileType.PNG, "grid", "")
    for base in discover(tmp_path):
        for z, x, y in tiles:
            assert read_tile(base, z, x, y) == distinct[(z, x, y)], (base.kind, z, x, y)
        assert read_tile(base, 7, 0, 0) is None


def test_tiles_and_their_list_over_http(basemaps_dir):
    client = create_app({"layers_dir": BUNDLED_LAYERS, "basemaps_dir": basemaps_dir}).test_client()
    listing = client.get("/basemaps").get_json()
    assert {b["name"] for b in listing} == {"Relief test", "Plan test", "Water test"}
    relief = next(b for b in listing if b["name"] == "Relief test")
    assert relief["tilejson"] == "3.0.0" and relief["tiles"][0].endswith("/basemaps/relief/{z}/{x}/{y}.png")
    z, x, y = area_tiles([6])[0]
    tile = client.get(f"/basemaps/relief/{z}/{x}/{y}.png")
    assert tile.status_code == 200 and tile.mimetype == "image/png" and tile.data[:4] == b"\x89PNG"
    assert "max-age" in tile.headers["Cache-Control"]
    vector = client.get(f"/basemaps/eau/{z}/{x}/{y}.pbf")
    assert vector.headers["Content-Encoding"] == "gzip" and vector.mimetype == "application/vnd.mapbox-vector-tile"
    assert client.get("/basemaps/relief/6/0/0.png").status_code == 204  # outside the set: empty, not an error page
    assert client.get(f"/basemaps/relief/{z}/{x}/{y}.jpg").status_code == 404
    assert client.get(f"/basemaps/nowhere/{z}/{x}/{y}.png").status_code == 404
    assert client.get("/basemaps/relief/3/9/0.png").status_code == 404  # x beyond the zoom's grid
    assert client.get("/basemaps/..%2Frelief/6/0/0.png").status_code == 404


def pixel(page, selector: str) -> list[int]:
    """The colour at the centre of the first loaded tile (an <img> or a <canvas>)."""
    return page.evaluate("""(selector) => {
        const tile = [...document.querySelectorAll(selector)].find(t => t.width >= 256);
        const canvas = document.createElement('canvas');
        canvas.width = canvas.height = 8;
        const ctx = canvas.getContext('2d');
        ctx.drawImage(tile, tile.width / 2, tile.height / 2, 8, 8, 0, 0, 8, 8);
        return Array.from(ctx.getImageData(4, 4, 1, 1).data.slice(0, 3));
    }""", selector)


@pytest.mark.parametrize("lang", ["en", "fr"])
def test_base_maps_are_listed_and_drawn_offline(browser, basemaps_dir, lang):
    server = LiveServer(create_app({"layers_dir": BUNDLED_LAYERS, "basemaps_dir": basemaps_dir}))
    try:
        w = Watched(browser, locale="fr-FR" if lang == "fr" else "en-GB", viewport=(1366, 768))
        w.open(f"{server.url}/?lang={lang}")
        page = w.page
        page.hover(".leaflet-control-layers")
        labels = [t.strip() for t in page.locator(".leaflet-control-layers-base label").all_inner_texts()]
        suffix = "(fond de carte hors ligne)" if lang == "fr" else "(offline base map)"
        assert [f"Plan test {suffix}", f"Relief test {suffix}", f"Water test {suffix}"] == labels[1:4]
        for index, colour, selector in ((1, PLAN, "img.leaflet-tile-loaded"), (2, RELIEF, "img.leaflet-tile-loaded"),
                                        (3, WATER, "canvas.leaflet-tile")):
            page.hover(".leaflet-control-layers")
            page.locator(".leaflet-control-layers-base label").nth(index).click()
            page.wait_for_function("(s) => [...document.querySelectorAll(s)].some(t => t.width >= 256)", arg=selector)
            page.wait_for_function("""(c) => { const t = [...document.querySelectorAll('canvas.leaflet-tile')];
                return c !== 'canvas' || t.some(x => x.getContext('2d').getImageData(128, 128, 1, 1).data[3] > 0); }""",
                                   arg="canvas" if selector.startswith("canvas") else "img")
            assert all(abs(a - b) <= 2 for a, b in zip(pixel(page, selector), colour)), (labels[index], colour)
        assert "© test" in page.inner_text(".leaflet-control-attribution")
        assert local_only(w.requests, server.url) == [] and w.errors == []
        w.close()
    finally:
        server.stop()


def test_without_base_map_the_bundled_data_labels_the_map(browser):
    server = LiveServer(create_app({"layers_dir": BUNDLED_LAYERS}))
    try:
        w = Watched(browser, locale="fr-FR", viewport=(1366, 768))
        w.open(f"{server.url}/?lang=fr")
        page = w.page
        countries = page.locator(".gs-ctx-country").all_inner_texts()
        assert sorted(countries) == ["MALI", "SÉNÉGAL"]
        assert "Région de Kédougou" in page.locator(".gs-ctx-region").all_inner_texts()
        assert "Falémé" in page.locator(".gs-ctx-river").all_inner_texts()
        visible_towns = page.locator(".gs-ctx-town:visible").count()
        page.evaluate("geoServiceMap.map.setZoom(11, {animate: false})")
        assert page.locator(".gs-ctx-town:visible").count() > visible_towns or visible_towns > 0
        page.hover(".leaflet-control-layers")  # online tiles while offline: a notice says so, in French
        page.locator(".leaflet-control-layers-base label").last.click()
        page.wait_for_selector(".gs-offline")
        assert "injoignable" in page.inner_text(".gs-offline")
        page.hover(".leaflet-control-layers")
        page.locator(".leaflet-control-layers-base label").first.click()
        assert page.locator(".gs-offline").count() == 0 and page.locator(".gs-ctx-country").count() == 2
        w.close()
    finally:
        server.stop()


def test_a_tile_set_damaged_after_listing_gives_404_not_500(tmp_path):
    tiles = area_tiles([6])
    path = write_pmtiles(tmp_path / "plan.pmtiles", {t: png(PLAN) for t in tiles}, TileType.PNG, "Plan", "")
    client = create_app({"layers_dir": BUNDLED_LAYERS, "basemaps_dir": tmp_path}).test_client()
    z, x, y = tiles[0]
    assert client.get(f"/basemaps/plan/{z}/{x}/{y}.png").status_code == 200
    path.write_bytes(path.read_bytes()[:200])  # cut short, as a copy interrupted mid-way
    assert client.get(f"/basemaps/plan/{z}/{x}/{y}.png").status_code == 404
    assert client.get("/?lang=fr").status_code == 200  # the page still opens, without that base map

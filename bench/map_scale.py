"""The map page with a national-size point layer, in a real browser: the production server (gunicorn, 2
workers, files backend) on the bundled layers plus a synthetic point layer of N features (bench/scale.py's),
drawn as vector tiles; Debian's chromium through Playwright.

    .venv/bin/python bench/map_scale.py [--count 1000000] [--layers DIR] [--pans 6]

Per window size (1366×768 and a 390×844 phone, each a fresh browser context: nothing cached) it prints the
time from navigation to the first drawn tile of the big layer and to the page's load event, the median and
slowest redraw after a pan (the layer's tiles all drawn; each pan uncovers tiles never asked before, so the
server draws them cold), and the time from a click on a point to its popup. Screenshots of the popup go to
bench/out/. ``--layers`` keeps the layers folder (with the big layer and its table) for another run.

Goals (issue 12), for 1,000,000 points: first tiles within 3 s of page load, a pan redrawn within 300 ms,
a click on a point opens its popup.
"""

from __future__ import annotations

import json
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import click
from playwright.sync_api import sync_playwright

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bench.scale import synthetic  # noqa: E402
from geo_service.store import LayerStore  # noqa: E402
from tests.conftest import BUNDLED_LAYERS, catalogue_entry  # noqa: E402
from tests.production import production_server  # noqa: E402

CHROMIUM = dict(executable_path="/usr/bin/chromium",
                args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"])
DRAWN = ("() => [...document.querySelectorAll('canvas.leaflet-tile')].some(c => "
         "c.getContext('2d').getImageData(0, 0, c.width, c.height).data.some(v => v > 0))")
# Resolves with the milliseconds from ``move`` until every tile of the big layer in the view is drawn
# (Leaflet marks a tile loaded when protomaps-leaflet has painted it).
AFTER = """([move]) => new Promise((resolve, reject) => {
  const api = geoServiceMap, layer = api.state.groups.big, started = performance.now();
  new Function('map', move)(api.map);
  const check = () => {
    const shown = Object.values(layer._tiles).filter(t => t.current);
    if (shown.length && shown.every(t => t.loaded)) return resolve(performance.now() - started);
    if (performance.now() - started > 60000) return reject(new Error('the layer was not drawn in 60 s'));
    requestAnimationFrame(check);
  };
  requestAnimationFrame(check);
})"""


def prepare(layers: Path, count: int) -> None:
    if (layers / "big.geojson").is_file():
        print(f"reusing {layers}")
        return
    shutil.copytree(BUNDLED_LAYERS, layers, ignore=shutil.ignore_patterns(".*"), dirs_exist_ok=True)
    started = time.monotonic()
    LayerStore(layers).add_layer(catalogue_entry("big", "Point"), synthetic(count))
    print(f"layer of {count:,} points written in {time.monotonic() - started:.1f} s")


def one_window(browser, url: str, size: tuple[int, int], point: tuple[float, float], pans: int) -> dict:
    context = browser.new_context(viewport={"width": size[0], "height": size[1]}, locale="fr-FR")
    page = context.new_page()
    tile_requests = []
    page.on("request", lambda r: tile_requests.append(r.url) if "/collections/big/tiles/" in r.url else None)
    print(f"{size[0]}×{size[1]}…", flush=True)
    page.goto(url + "/?lang=fr", wait_until="commit")
    page.wait_for_function(DRAWN, polling="raf", timeout=120_000)
    first = page.evaluate("performance.now()")
    page.wait_for_load_state("load")
    loaded = page.evaluate("performance.getEntriesByType('navigation')[0].loadEventEnd")
    page.evaluate(AFTER, ["map.setView([14.8, -12.4], 11, {animate: false})"])
    redraws, fetched = [], []
    for i in range(pans):  # east and south in turn: each pan uncovers ground no tile was drawn for yet
        before = len(tile_requests)
        redraws.append(page.evaluate(AFTER, [f"map.panBy([{0 if i % 2 else 300}, {200 if i % 2 else 0}], "
                                             "{animate: false})"]))
        fetched.append(len(tile_requests) - before)
    lon, lat = point
    page.evaluate(AFTER, [f"map.setView([{lat}, {lon}], 14, {{animate: false}})"])
    x, y = page.evaluate(f"""() => {{ const map = geoServiceMap.map, r = map.getContainer().getBoundingClientRect();
        const p = map.latLngToContainerPoint([{lat}, {lon}]); return [r.x + p.x, r.y + p.y]; }}""")
    started = time.monotonic()
    page.mouse.click(x, y)
    page.wait_for_function("() => { const h = document.querySelector('.leaflet-popup-content h3');"
                           " return h && h.textContent === 'Point 0'; }", timeout=60_000)
    popup = time.monotonic() - started
    page.wait_for_function("() => getComputedStyle(document.querySelector('.leaflet-popup')).opacity === '1'",
                           timeout=10_000)  # the screenshot after Leaflet's fade-in, not halfway through it
    out = ROOT / "bench" / "out"
    out.mkdir(parents=True, exist_ok=True)
    shot = out / f"map_scale_{size[0]}x{size[1]}.png"
    page.screenshot(path=str(shot))
    context.close()
    return {"first tile drawn": f"{first / 1000:.2f} s after navigation (load event at {loaded / 1000:.2f} s)",
            "pan redrawn": f"median {statistics.median(redraws):.0f} ms, slowest {max(redraws):.0f} ms "
                           f"({pans} pans, {min(fetched)}–{max(fetched)} new tiles each)",
            "click to popup": f"{popup * 1000:.0f} ms (screenshot {shot.relative_to(ROOT)})"}


@click.command()
@click.option("--count", default=1_000_000, show_default=True)
@click.option("--layers", "layers_dir", type=click.Path(path_type=Path), default=None,
              help="layers folder to build (or reuse) instead of a temporary one")
@click.option("--pans", default=6, show_default=True)
@click.option("--database-url", default=None, metavar="URL",
              help="serve from this PostGIS database instead, loaded beforehand (`db init` of the layers folder)")
def main(count: int, layers_dir: Path | None, pans: int, database_url: str | None) -> None:
    temporary = layers_dir is None
    layers = Path(tempfile.mkdtemp(prefix="geo-map-scale-")) / "layers" if temporary else layers_dir
    try:
        prepare(layers, count)
        env = {"GEO_SERVICE_DATABASE_URL": database_url} if database_url else {}
        with production_server(layers, workers=2, health_timeout=900, **env) as server, sync_playwright() as play:
            status, body, _ = server.get("/ogc/collections/big/items/p0", timeout=600)
            assert status == 200, body[:300]
            point = tuple(json.loads(body)["geometry"]["coordinates"])
            browser = play.chromium.launch(**CHROMIUM)
            backend = "PostGIS" if database_url else "files backend"
            print(f"\n## the map with {count:,} points ({backend}, 2 workers)\n| | 1366×768 | 390×844 |\n|---|---|---|")
            results = [one_window(browser, server.url, size, point, pans) for size in ((1366, 768), (390, 844))]
            for name in results[0]:
                print(f"| {name} | {results[0][name]} | {results[1][name]} |")
            browser.close()
    finally:
        if temporary:
            shutil.rmtree(layers.parent, ignore_errors=True)


if __name__ == "__main__":
    main()

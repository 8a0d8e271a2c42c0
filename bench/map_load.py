"""Map page weight and load time in headless chromium, with the bundled layers and with 5,000 communities.

    .venv/bin/python bench/map_load.py [--runs 5]

Reports, per scenario: the HTML size of / (no layer data in it), the bytes
transferred for the whole page (HTML, scripts, styles, layer GeoJSON), and the
median time from navigation start until every layer is drawn. The 5,000
communities are synthetic points (seeded) in the border area, written to a
temporary copy of the layers folder; nothing in layers/ is touched.
"""

from __future__ import annotations

import json
import shutil
import statistics
import sys
import tempfile
import threading
from pathlib import Path

import click
import numpy as np
from playwright.sync_api import sync_playwright
from werkzeug.serving import make_server

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from geo_service.app import create_app  # noqa: E402

CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]


def synthetic_communities(path: Path, count: int, seed: int = 42) -> None:
    rng = np.random.default_rng(seed)
    lon = rng.uniform(-12.9, -10.9, count)
    lat = rng.uniform(12.2, 15.0, count)
    features = [{
        "type": "Feature", "id": f"synthetic_{i}",
        "properties": {"name": f"Synthetic place {i}", "country": "ML" if lo > -12.2 else "SN",
                       "population": int(rng.integers(100, 20000)), "source": "synthetic (bench/map_load.py)",
                       "location_accuracy": "approximate"},
        "geometry": {"type": "Point", "coordinates": [round(float(lo), 6), round(float(la), 6)]},
    } for i, (lo, la) in enumerate(zip(lon, lat))]
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}), encoding="utf-8")


def measure(browser, url: str, runs: int) -> dict:
    times, transferred = [], []
    for _ in range(runs):
        context = browser.new_context()  # a cold cache each run
        page = context.new_page()
        page.goto(url)
        page.wait_for_selector("html[data-layers-loaded]", state="attached", timeout=60000)
        times.append(page.evaluate("geoServiceMap.state.loadedMs"))
        transferred.append(page.evaluate("""() => performance.getEntriesByType('navigation')
            .concat(performance.getEntriesByType('resource')).reduce((n, e) => n + (e.transferSize || 0), 0)"""))
        counts = page.evaluate("geoServiceMap.state.counts")
        context.close()
    return {"median_ms": statistics.median(times), "min_ms": min(times), "max_ms": max(times),
            "transferred_bytes": int(statistics.median(transferred)), "counts": counts}


def serve(layers_dir: Path):
    server = make_server("127.0.0.1", 0, create_app({"layers_dir": layers_dir}), threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


@click.command()
@click.option("--runs", default=5, show_default=True, help="Page loads per scenario (median reported).")
@click.option("--communities", default=5000, show_default=True, help="Synthetic communities in the second scenario.")
def main(runs: int, communities: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        big = Path(tmp) / "layers"
        shutil.copytree(ROOT / "layers", big)
        synthetic_communities(big / "communities.geojson", communities)
        scenarios = {"bundled layers": ROOT / "layers", f"{communities} communities": big}
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
            for label, layers_dir in scenarios.items():
                server = serve(layers_dir)
                url = f"http://127.0.0.1:{server.server_port}/"
                html_bytes = len(create_app({"layers_dir": layers_dir}).test_client().get("/").data)
                result = measure(browser, url, runs)
                server.shutdown()
                click.echo(f"{label}: HTML {html_bytes / 1024:.1f} KiB; transferred {result['transferred_bytes'] / 1024:.0f} KiB; "
                           f"all layers drawn in {result['median_ms']:.0f} ms median of {runs} "
                           f"(min {result['min_ms']:.0f}, max {result['max_ms']:.0f}); "
                           f"communities drawn: {result['counts'].get('communities')}")
            browser.close()


if __name__ == "__main__":
    main()

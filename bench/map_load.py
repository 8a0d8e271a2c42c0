"""Map page weight and load time in headless chromium: bundled layers, 5,000 communities, slow links.

    .venv/bin/python bench/map_load.py [--runs 5] [--throttle 400:400] [--throttle 100:400]

Reports, per scenario: the HTML size of / (no layer data in it), the bytes
transferred for the whole page (HTML, scripts, styles, layer GeoJSON), and the
median times from navigation start to first paint and until every layer is
drawn. With ``--throttle KBIT:MS`` the bundled-layer page is also loaded over
a link emulated by chromium (download and upload KBIT kbit/s, MS ms latency),
then visited again in the same browser profile: the figure for the repeat visit
is how many requests still went to the network (a revalidation counts; a file
answered from the browser's cache does not). The 5,000 communities are
synthetic points (seeded) in the border area, written to a temporary copy of
the layers folder; nothing in layers/ is touched.

Goals (issue 11): at 400 kbit/s and 400 ms, first paint <= 1.5 s and all layers
drawn <= 3 s; a repeat visit makes no request for unchanged static files.
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
from werkzeug.serving import WSGIRequestHandler, make_server

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from geo_service.app import create_app  # noqa: E402

CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]
ENTRIES = "performance.getEntriesByType('navigation').concat(performance.getEntriesByType('resource'))"


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


def throttle(page, kbit: int, latency_ms: int) -> None:
    session = page.context.new_cdp_session(page)
    session.send("Network.enable")
    rate = kbit * 1000 / 8  # bytes per second
    session.send("Network.emulateNetworkConditions", {
        "offline": False, "latency": latency_ms, "downloadThroughput": rate, "uploadThroughput": rate})


def load(page, url: str) -> dict:
    page.goto(url)
    page.wait_for_selector("html[data-layers-loaded]", state="attached", timeout=180000)
    return page.evaluate(f"""() => ({{
        loaded: geoServiceMap.state.loadedMs,
        paint: (performance.getEntriesByName('first-contentful-paint')[0] || {{}}).startTime,
        transferred: {ENTRIES}.reduce((n, e) => n + (e.transferSize || 0), 0),
        network: {ENTRIES}.filter(e => e.transferSize > 0).map(e => e.name),
        requests: {ENTRIES}.length,
        counts: geoServiceMap.state.counts}})""")


def measure(browser, url: str, runs: int, link: tuple[int, int] | None = None) -> dict:
    firsts, repeats = [], []
    for _ in range(runs):
        context = browser.new_context()  # a cold cache each run
        page = context.new_page()
        if link:
            throttle(page, *link)
        firsts.append(load(page, url))
        if link:
            page.goto("about:blank")
            repeats.append(load(page, url))
        context.close()

    def median(key, results):
        return statistics.median(r[key] for r in results)

    summary = {"loaded_ms": median("loaded", firsts), "paint_ms": median("paint", firsts),
               "max_loaded_ms": max(r["loaded"] for r in firsts),
               "transferred_bytes": int(median("transferred", firsts)), "requests": median("requests", firsts),
               "counts": firsts[-1]["counts"]}
    if repeats:
        summary["repeat_network"] = repeats[-1]["network"]
        summary["repeat_loaded_ms"] = median("loaded", repeats)
        summary["repeat_transferred_bytes"] = int(median("transferred", repeats))
    return summary


class QuietHandler(WSGIRequestHandler):
    def log_request(self, *args, **kwargs) -> None:
        pass


def serve(layers_dir: Path):
    server = make_server("127.0.0.1", 0, create_app({"layers_dir": layers_dir}), threaded=True,
                         request_handler=QuietHandler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def report(label: str, result: dict, runs: int) -> None:
    click.echo(f"{label}: transferred {result['transferred_bytes'] / 1024:.0f} KiB in {result['requests']:.0f} requests; "
               f"first paint {result['paint_ms']:.0f} ms, all layers drawn {result['loaded_ms']:.0f} ms "
               f"(median of {runs}, slowest {result['max_loaded_ms']:.0f}); "
               f"communities drawn: {result['counts'].get('communities')}")
    if "repeat_network" in result:
        static = [u for u in result["repeat_network"] if "/static/" in u or "/assets/" in u]
        click.echo(f"  repeat visit: all layers drawn {result['repeat_loaded_ms']:.0f} ms, "
                   f"{result['repeat_transferred_bytes'] / 1024:.0f} KiB, {len(result['repeat_network'])} requests "
                   f"to the network, of which {len(static)} for static files")


def parse_link(raw: str) -> tuple[int, int]:
    kbit, _, latency = raw.partition(":")
    return int(kbit), int(latency or 0)


@click.command()
@click.option("--runs", default=5, show_default=True, help="Page loads per scenario (median reported).")
@click.option("--communities", default=5000, show_default=True, help="Synthetic communities in the second scenario.")
@click.option("--throttle", "links", multiple=True, default=["400:400", "100:400"], show_default=True,
              help="KBIT:LATENCY_MS of an emulated slow link for the bundled layers (repeatable).")
def main(runs: int, communities: int, links: tuple[str, ...]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        big = Path(tmp) / "layers"
        shutil.copytree(ROOT / "layers", big)
        synthetic_communities(big / "communities.geojson", communities)
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
            server = serve(ROOT / "layers")
            url = f"http://127.0.0.1:{server.server_port}/"
            html = create_app({"layers_dir": ROOT / "layers"}).test_client().get("/").data
            click.echo(f"HTML of / : {len(html) / 1024:.1f} KiB")
            report("bundled layers, loopback", measure(browser, url, runs), runs)
            for raw in links:
                kbit, latency = parse_link(raw)
                report(f"bundled layers, {kbit} kbit/s, {latency} ms", measure(browser, url, runs, (kbit, latency)), runs)
            server.shutdown()
            server = serve(big)
            report(f"{communities} communities, loopback",
                   measure(browser, f"http://127.0.0.1:{server.server_port}/", runs), runs)
            server.shutdown()
            browser.close()


if __name__ == "__main__":
    main()

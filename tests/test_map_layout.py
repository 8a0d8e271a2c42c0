"""The pages on a phone (390×844) and a laptop (1366×768), in English and French, measured in chromium.

Geometry, not presence: the legend folds on a phone, an opened popup lies inside the screen with nothing
over its centre, tables fold instead of scrolling sideways, the proximity page runs end to end on a phone;
and the tools: measuring (against pyproj's geodesic), accent-blind search, a repeat visit from the cache,
no console error and no 'unsafe-eval' on any page.
"""

from __future__ import annotations

import re

import pytest
from pyproj import Geod

from tests.test_browser import Watched, browser, bundled_server, local_only  # noqa: F401  (fixtures)

PHONE, LAPTOP = (390, 844), (1366, 768)
SIZES = [pytest.param(PHONE, id="phone"), pytest.param(LAPTOP, id="laptop")]
LANGS = [pytest.param("en", id="en"), pytest.param("fr", id="fr")]
LOCALES = {"en": "en-GB", "fr": "fr-FR"}


def watched(browser, size, lang):
    return Watched(browser, locale=LOCALES[lang], viewport=size)


def box(page, selector):
    return page.locator(selector).first.bounding_box()


def settled(page):
    """Wait until the map has stopped moving (Leaflet's auto-pan of a popup) and transitions are over."""
    page.wait_for_function("""() => { const map = geoServiceMap.map;
        return !(map._panAnim && map._panAnim._inProgress) && !map._animatingZoom
            && document.getAnimations().every(a => a.playState !== 'running'); }""")


def panel_height_below(page, pixels):
    # a function, not an expression: Playwright evaluates a bare expression with eval, which the CSP forbids
    page.wait_for_function(f"() => document.querySelector('.gs-panel').getBoundingClientRect().height < {pixels}")


def panel_height_above(page, pixels):
    page.wait_for_function(f"() => document.querySelector('.gs-panel').getBoundingClientRect().height > {pixels}")


def assert_popup_clear_and_inside(page, size):
    """The popup lies inside the viewport and the element at its centre belongs to it (nothing covers it)."""
    settled(page)
    rect = box(page, ".leaflet-popup-content-wrapper")
    assert rect["x"] >= 0 and rect["y"] >= 0, rect
    assert rect["x"] + rect["width"] <= size[0] and rect["y"] + rect["height"] <= size[1], rect
    x, y = rect["x"] + rect["width"] / 2, rect["y"] + rect["height"] / 2
    assert page.evaluate(f"document.elementFromPoint({x}, {y}).closest('.leaflet-popup') !== null")


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("size", SIZES)
def test_map_page_layout(browser, bundled_server, size, lang):
    w = watched(browser, size, lang)
    w.open(f"{bundled_server.url}/?lang={lang}")
    page = w.page
    assert page.evaluate("document.documentElement.scrollWidth") <= size[0]
    assert "user-scalable=no" not in page.content() and "maximum-scale" not in page.content()
    legend = page.locator("details.gs-legend")
    phone = size == PHONE
    assert legend.evaluate("d => d.open") is (not phone)  # folded on a phone, open on a laptop
    if phone:
        assert box(page, "details.gs-legend")["height"] < 50
        map_box = box(page, ".gs-map")
        assert map_box["height"] > 0.8 * size[1]  # the map takes the screen; the panel is a drawer
        assert box(page, ".gs-panel")["height"] < 60  # the drawer starts closed
        page.click(".gs-drawer-handle")
        panel_height_above(page, 0.5 * size[1])
        page.click(".gs-drawer-handle")
        panel_height_below(page, 60)
        page.click("details.gs-legend summary")
        legend_box = box(page, "details.gs-legend")
        assert legend_box["y"] >= 0 and legend_box["y"] + legend_box["height"] <= size[1]
    w.open_popup_of("health_centres", "Kidira Centre de Santé")
    assert_popup_clear_and_inside(page, size)
    if phone:
        assert legend.evaluate("d => d.open") is False  # a popup folds the legend out of its way
    handle = "Couches et téléchargements" if lang == "fr" else "Layers and downloads"
    assert page.inner_text(".gs-drawer-handle") == handle
    assert w.errors == [] and local_only(w.requests, bundled_server.url) == []
    w.close()


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("path", ["/ogc/collections/health_centres/items?f=html",
                                  "/ogc/collections?f=html", "/ogc/api?f=html", "/ogc/collections/nowhere?f=html"])
def test_html_pages_fit_a_phone(browser, bundled_server, path, lang):
    w = watched(browser, PHONE, lang)
    response = w.page.goto(f"{bundled_server.url}{path}&lang={lang}")
    assert response.status == (404 if "nowhere" in path else 200)
    assert w.page.evaluate("document.documentElement.scrollWidth") <= PHONE[0]
    assert w.page.evaluate("document.documentElement.lang") == lang
    assert w.errors == [] or response.status == 404 and all("404" in e for e in w.errors)
    w.close()


@pytest.mark.parametrize("lang", LANGS)
def test_proximity_page_runs_end_to_end_on_a_phone(browser, bundled_server, lang):
    words = {"fr": ("Distance au service le plus proche", "Centre de santé"),
             "en": ("Distance to the nearest service", "Health Centre")}[lang]
    w = watched(browser, PHONE, lang)
    w.open(f"{bundled_server.url}/proximity?lang={lang}")
    page = w.page
    assert box(page, ".gs-panel")["height"] > 0.5 * PHONE[1]  # the form is open in its drawer
    page.click("#proximity-form button[type=submit]")
    page.wait_for_selector("html[data-proximity=done]", state="attached", timeout=60000)
    results = box(page, "#proximity-results")
    assert 0 <= results["y"] < PHONE[1]  # scrolled into view, not left below the form
    panel_overflow = page.evaluate("(() => { const p = document.querySelector('.gs-panel');"
                                   " return p.scrollWidth - p.clientWidth; })()")
    assert panel_overflow <= 0  # tables fold into rows instead of widening the drawer
    assert words[0] in page.text_content(".gs-legend")  # one legend, the bands in it
    page.locator(".gs-row-link").first.click()
    page.wait_for_selector(".leaflet-popup-content h3")
    panel_height_below(page, 60)  # the drawer folded to show the map
    assert_popup_clear_and_inside(page, PHONE)
    # A service marker (the health facility a community goes to) opens its own popup, in the page's language.
    x, y, name = page.evaluate("""() => { const map = geoServiceMap.map;
        const service = geoServiceMap.proximityLayers.services.getLayers()
            .find(l => l.feature.properties.type === "Health Centre");
        map.closePopup();
        map.setView(service.getLatLng(), 13, {animate: false});
        const r = map.getContainer().getBoundingClientRect(), p = map.latLngToContainerPoint(service.getLatLng());
        return [r.x + p.x, r.y + p.y, service.feature.properties.name]; }""")
    page.mouse.click(x, y)
    page.wait_for_function("(name) => { const h = document.querySelector('.leaflet-popup-content h3');"
                           " return h && h.textContent === name; }", arg=name)
    assert words[1] in page.inner_text(".leaflet-popup-content")
    assert_popup_clear_and_inside(page, PHONE)
    assert w.errors == []
    w.close()


def test_measure_gives_distance_and_area_in_the_pages_language(browser, bundled_server):
    w = watched(browser, LAPTOP, "fr")
    w.open(f"{bundled_server.url}/?lang=fr")
    page = w.page
    page.click(".gs-measure .gs-tool-button")
    map_box = box(page, ".gs-map")
    for dx, dy in ((350, 250), (650, 260), (560, 520)):  # clear of the tools on the left
        page.mouse.click(map_box["x"] + dx, map_box["y"] + dy)
    text = page.inner_text(".gs-measure-readout")
    points = page.evaluate("geoServiceMap.measure.points().map(p => [p.lng, p.lat])")
    assert len(points) == 3
    lons, lats = [p[0] for p in points], [p[1] for p in points]
    area, _ = Geod(ellps="WGS84").polygon_area_perimeter(lons, lats)
    length = Geod(ellps="WGS84").line_length(lons, lats)

    def number(pattern):  # "Distance : 123,45 km" → 123.45 (French: comma, narrow spaces)
        found = re.search(pattern, text).group(1)
        return float(re.sub(r"[\s\u202f\u00a0]", "", found).replace(",", "."))

    assert abs(number(r"Distance : ([\d\s\u202f\u00a0,]+) km") * 1000 - length) / length < 0.01
    assert abs(number(r"Surface : ([\d\s\u202f\u00a0,]+) km²") * 1e6 - abs(area)) / abs(area) < 0.01
    assert "ha" in text and "," in text  # hectares too, French decimals
    page.click(".gs-measure-actions button:nth-child(1)")  # finish: clicks no longer measure
    page.mouse.click(map_box["x"] + 300, map_box["y"] + 300)
    assert len(page.evaluate("geoServiceMap.measure.points()")) == 3
    assert w.errors == []
    w.close()


def test_search_ignores_accents_and_case_and_shows_the_place_with_its_surroundings(browser, bundled_server):
    w = watched(browser, LAPTOP, "en")
    w.open(f"{bundled_server.url}/")
    page = w.page
    page.click(".gs-search .gs-tool-button")
    page.locator(".gs-search input").press_sequentially("KEDOUGOU", delay=20)
    picks = page.locator(".gs-search-pick").all_inner_texts()
    assert any(p.startswith("Kédougou") for p in picks), picks
    page.locator(".gs-search-pick", has_text="Kédougou").first.click()
    page.wait_for_selector(".leaflet-popup-content h3")
    assert page.inner_text(".leaflet-popup-content h3").startswith("Kédougou")
    zoom = page.evaluate("geoServiceMap.map.getZoom()")
    assert 9 <= zoom <= 13  # close enough to find it, far enough to see what is around
    page.click(".gs-search .gs-tool-button")  # the search closed on the choice: open it again
    page.locator(".gs-search input").fill("xyzzy")
    assert page.inner_text(".gs-search-results") == "Not found"
    w.close()


def test_a_repeat_visit_takes_scripts_and_layers_from_the_cache(browser, bundled_server):
    w = watched(browser, LAPTOP, "en")
    w.open(f"{bundled_server.url}/")
    w.page.goto("about:blank")
    w.open(f"{bundled_server.url}/")
    fetched = w.page.evaluate("""performance.getEntriesByType('resource')
        .filter(e => e.transferSize > 0).map(e => e.name)""")
    assert [u for u in fetched if "/assets/" in u or "/map/layers/" in u] == []
    w.close()


@pytest.mark.parametrize("path", ["/", "/proximity", "/ogc/?f=html", "/ogc/collections/communities?f=html",
                                  "/ogc/collections/communities/items?f=html"])
def test_no_console_error_and_no_eval_on_any_page(browser, bundled_server, path):
    w = watched(browser, LAPTOP, "en")
    response = w.page.goto(bundled_server.url + path)
    if path in ("/", "/proximity"):
        w.page.wait_for_selector("html[data-layers-loaded]", state="attached")
    csp = response.headers["content-security-policy"]
    assert "unsafe-eval" not in csp and "script-src 'self'" in csp
    assert w.errors == []
    w.close()


def ran_analysis(browser, bundled_server, size, lang, prepare=None):
    """The proximity page, the analysis run (after ``prepare(page)`` fills the form), and the watcher."""
    w = watched(browser, size, lang)
    w.open(f"{bundled_server.url}/proximity?lang={lang}")
    if prepare is not None:
        prepare(w.page)
    w.page.click("#proximity-form button[type=submit]")
    w.page.wait_for_selector("html[data-proximity=done]", state="attached", timeout=60000)
    return w


def panel_overflow(page) -> int:
    return page.evaluate("(() => { const p = document.querySelector('.gs-panel'); return p.scrollWidth - p.clientWidth; })()")


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("size", SIZES)
def test_the_faleme_as_a_barrier_sets_the_seasons_side_by_side(browser, bundled_server, size, lang):
    words = {"fr": ("Saison sèche et saison des pluies", "saison sèche", "par Kidira–Diboli bridge",
                    "Passage ouvert aussi en saison des pluies"),
             "en": ("Dry and wet season", "dry season", "via Kidira–Diboli bridge",
                    "Crossing open in the wet season too")}[lang]
    w = ran_analysis(browser, bundled_server, size, lang, lambda page: page.select_option("#barriers", "rivers:faleme"))
    page = w.page
    assert words[0] in page.inner_text("#proximity-results")
    assert panel_overflow(page) <= 0
    # the Falémé and the crossings drawn with the result, and in its legend
    page.wait_for_function("() => (geoServiceMap.proximityBarriers || {}).lines === 1"
                           " && (geoServiceMap.proximityCrossings || {}).points === 6")
    assert words[3] in page.text_content(".gs-legend")  # folded on a phone: its text is there all the same
    # Diboli's popup: Kidira's centre across the Falémé, through the bridge in both seasons
    page.evaluate("""() => { const map = geoServiceMap.map; let target = null;
        geoServiceMap.proximityLayers.communities.eachLayer(l => {
            if (l.feature.properties.name === "Diboli") target = l; });
        if (window.geoServiceDrawer && window.geoService.isSmallScreen()) window.geoServiceDrawer.close();
        map.setView(target.getLatLng(), 12, {animate: false}); target.openPopup(); }""")
    page.wait_for_selector(".leaflet-popup-content h3")
    popup = page.inner_text(".leaflet-popup-content")
    assert words[1] in popup and words[2] in popup
    assert_popup_clear_and_inside(page, size)
    assert w.errors == []
    w.close()


@pytest.mark.parametrize("lang", LANGS)
def test_the_results_by_administrative_area_on_a_phone(browser, bundled_server, lang):
    heading = {"fr": "Par zone administrative (area)", "en": "By administrative area (area)"}[lang]
    w = ran_analysis(browser, bundled_server, PHONE, lang, lambda page: page.select_option("#admin-layer", "regions"))
    text = w.page.inner_text("#proximity-results")
    assert heading in text and "Tambacounda Region (SN-TC)" in text
    assert panel_overflow(w.page) <= 0
    assert w.errors == []
    w.close()


@pytest.mark.parametrize("lang", LANGS)
def test_a_population_grid_on_the_page(browser, bundled_server, lang, tmp_path):
    from tests.test_population import _bundled_grid

    raster = tmp_path / "grid.tif"
    raster.write_bytes(_bundled_grid())
    words = {"fr": ("Personnes de la grille de population (640)", "estimée d'après la grille"),
             "en": ("People in the population grid (640)", "estimated from the grid")}[lang]
    def prepare(page):
        page.set_input_files("#population-file", str(raster))
        page.fill("input[name=population_radius_km]", "4")

    w = ran_analysis(browser, bundled_server, PHONE, lang, prepare)
    page = w.page
    assert words[0] in page.inner_text("#proximity-results")
    assert panel_overflow(page) <= 0
    page.evaluate("""() => { let target = null;
        geoServiceMap.proximityLayers.communities.eachLayer(l => {
            if (l.feature.properties.name === "Diboli") target = l; });
        if (window.geoServiceDrawer && window.geoService.isSmallScreen()) window.geoServiceDrawer.close();
        geoServiceMap.map.setView(target.getLatLng(), 12, {animate: false}); target.openPopup(); }""")
    page.wait_for_selector(".leaflet-popup-content h3")
    assert words[1] in page.inner_text(".leaflet-popup-content")
    assert w.errors == []
    w.close()


@pytest.mark.parametrize("lang", LANGS)
def test_site_suggestion_on_the_page(browser, bundled_server, lang):
    words = {"fr": ("Au total, nouvellement à portée\u00a0: 2 localités", "chaque localité compte pour une"),
             "en": ("In all, newly within reach: 2 communities", "each community counts once")}[lang]
    w = ran_analysis(browser, bundled_server, PHONE, lang)
    page = w.page
    page.fill(".gs-sites input[name=k]", "2")
    page.click(".gs-sites button")
    page.wait_for_selector("html[data-sites=done]", state="attached", timeout=60000)
    text = page.inner_text(".gs-sites")
    assert words[0] in text and words[1] in text
    assert panel_overflow(page) <= 0
    assert w.errors == []
    w.close()

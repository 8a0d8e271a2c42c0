"""OGC API – Tiles: vector tiles of every collection, their documents, and the map drawing a big layer from them."""

from __future__ import annotations

import math

import geopandas as gpd
import mapbox_vector_tile
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from shapely.geometry import Point

from geo_service.tiles import EXTENT, MAX_TILE_POINTS, encode_tile
from tests.test_browser import LiveServer, Watched, browser, local_only  # noqa: F401  (fixture)

TILES = "/ogc/collections/sites/tiles/WebMercatorQuad"


def tile_of(lon: float, lat: float, z: int) -> tuple[int, int]:
    n = 2**z
    return int((lon + 180) / 360 * n), int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n)


def decoded(data: bytes, layer: str = "sites") -> list[dict]:
    return mapbox_vector_tile.decode(data).get(layer, {"features": []})["features"]


def test_tile_documents(client):
    sets = client.get("/ogc/collections/sites/tiles").get_json()["tilesets"]
    item = next(link for link in sets[0]["links"] if link.get("templated"))
    assert item["href"].endswith(f"{TILES}/{{tileMatrix}}/{{tileRow}}/{{tileCol}}")
    assert item["type"] == "application/vnd.mapbox-vector-tile" and sets[0]["dataType"] == "vector"
    tms = client.get("/ogc/tileMatrixSets/WebMercatorQuad").get_json()
    assert [m["matrixWidth"] for m in tms["tileMatrices"][:4]] == [1, 2, 4, 8]
    assert tms["tileMatrices"][0]["scaleDenominator"] == pytest.approx(559082264.029, rel=1e-6)  # the standard's
    conformance = client.get("/ogc/conformance").get_json()["conformsTo"]
    assert "http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/mvt" in conformance
    links = client.get("/ogc/collections/sites").get_json()["links"]
    assert any(link["rel"].endswith("tilesets-vector") for link in links)
    assert client.get("/ogc/collections/sites/tiles/WorldCRS84Quad").status_code == 404


def test_a_tile_holds_the_features_inside_it_in_tile_units(client):
    z = 10
    x, y = tile_of(-12.21659, 14.45668, z)  # Kidira; Diboli is in the same tile
    response = client.get(f"{TILES}/{z}/{y}/{x}")
    assert response.status_code == 200 and response.mimetype == "application/vnd.mapbox-vector-tile"
    features = decoded(response.data)
    assert {f["properties"]["id"] for f in features} >= {"kidira", "diboli"}
    assert "kayes" not in {f["properties"]["id"] for f in features}  # 85 km east: another tile
    for feature in features:
        px, py = feature["geometry"]["coordinates"]
        assert 0 <= px <= EXTENT and 0 <= py <= EXTENT
    assert decoded(client.get(f"{TILES}/{z}/0/0").data) == []  # the Arctic: nothing
    assert client.get(f"{TILES}/{z}/{2**z}/0").status_code == 404  # beyond the matrix
    assert client.get(f"{TILES}/23/0/0").status_code == 404
    assert client.get(f"{TILES}/{z}/{y}/{x}?colour=red").status_code == 400


def test_tiles_follow_the_layer_version(layers_dir, make_app):
    app = make_app()
    client = app.test_client()
    store = app.extensions["geo_service.store"]
    z = 6
    x, y = tile_of(-12.0, 14.4, z)
    first = client.get(f"{TILES}/{z}/{y}/{x}?v={store.version('sites')}")
    assert "immutable" in first.headers["Cache-Control"]
    assert client.get(f"{TILES}/{z}/{y}/{x}", headers={"If-None-Match": first.headers["ETag"]}).status_code == 304
    store.write("sites", store.read("sites").iloc[:1])
    second = client.get(f"{TILES}/{z}/{y}/{x}")
    assert second.headers["ETag"] != first.headers["ETag"] and "no-cache" in second.headers["Cache-Control"]
    assert len(decoded(second.data)) == 1


def test_dense_points_are_thinned_at_low_zoom_and_kept_when_zoomed_in():
    rng = np.random.default_rng(3)
    lon, lat = rng.uniform(-12.5, -11.5, 30_000), rng.uniform(13.5, 14.5, 30_000)
    frame = gpd.GeoDataFrame({"id": [f"p{i}" for i in range(len(lon))]},
                             geometry=[Point(a, b) for a, b in zip(lon, lat)], crs="EPSG:4326")
    z = 5
    x, y = tile_of(-12.0, 14.0, z)
    assert 0 < len(decoded(encode_tile(frame, "p", z, x, y), "p")) <= MAX_TILE_POINTS
    few = frame.iloc[:50]
    z = 16
    x, y = tile_of(float(few.geometry.x.iloc[0]), float(few.geometry.y.iloc[0]), z)
    inside = few.cx[-12.6:-11.4, 13.4:14.6]
    kept = decoded(encode_tile(inside, "p", z, x, y), "p")
    assert [f["properties"]["id"] for f in kept] == ["p0"]  # the others lie in other tiles at this zoom


def test_the_map_draws_a_big_layer_from_tiles_and_a_click_opens_its_popup(browser, layers_dir, make_app):
    server = LiveServer(make_app({"map_tiles_above": 3}))  # sites (4) is "big"
    try:
        w = Watched(browser, viewport=(1366, 768))
        w.open(server.url + "/")
        page = w.page
        assert page.evaluate("geoServiceMap.state.counts.sites") == 4
        assert not any("/map/layers/sites.geojson" in url for url in w.requests)  # not sent whole
        page.evaluate("geoServiceMap.map.setView([14.45668, -12.21659], 13, {animate: false})")
        page.wait_for_function("() => [...document.querySelectorAll('canvas.leaflet-tile')].some(c => "
                               "c.getContext('2d').getImageData(0, 0, c.width, c.height).data.some(v => v > 0))")
        zooms = {int(url.split("/tiles/WebMercatorQuad/")[1].split("/")[0]) for url in w.requests
                 if "/tiles/WebMercatorQuad/" in url}
        assert max(zooms) >= 12, zooms  # the detail tiles of the view, not only the overview's
        x, y = page.evaluate("""() => { const map = geoServiceMap.map, r = map.getContainer().getBoundingClientRect();
            const p = map.latLngToContainerPoint([14.45668, -12.21659]); return [r.x + p.x, r.y + p.y]; }""")
        page.mouse.click(x, y)
        page.wait_for_function("() => { const h = document.querySelector('.leaflet-popup-content h3');"
                               " return h && h.textContent === 'Kidira'; }")
        assert local_only(w.requests, server.url) == [] and w.errors == []
        w.close()
    finally:
        server.stop()


@pytest.mark.parametrize("kind", ["frame", "table"])
def test_a_store_thins_points_before_making_rows_and_draws_the_same_tile(tmp_path, kind, monkeypatch):
    """The files backend picks a dense tile's points from their coordinates before converting any row
    (a chunk at a time: small chunks here); the tile is byte for byte the one drawn from every feature in
    it (edges, the buffer, file order)."""
    from geo_service import tiles

    monkeypatch.setattr(tiles, "_CHUNK", 7001)
    from geo_service.store import LayerStore
    from geo_service.store.files.sidecar import TableSidecars
    from tests.conftest import catalogue_entry, write_layers

    rng = np.random.default_rng(4)
    count = 30_000
    lon, lat = rng.uniform(-12.2, -11.6, count).round(4), rng.uniform(14.1, 14.7, count).round(4)
    z, x, y = 12, *tile_of(-11.9, 14.4, 12)
    west, south, east, north = tiles.lonlat_bounds(z, x, y)
    # On the buffer's edges (outside the tile, as clip_by_rect has it), each with a point just inside later in
    # the file, in the same grid cell: that one is drawn.
    nudge = (east - west) * 1e-5
    lon[:8] = [west, east, -11.9, -11.9, west + nudge, east - nudge, -11.9, -11.9]
    lat[:8] = [14.4, 14.4, north, south, 14.4, 14.4, north - nudge, south + nudge]
    frame = gpd.GeoDataFrame({"id": [f"p{i}" for i in range(count)], "name": [f"Point {i}" for i in range(count)],
                              "other": np.arange(count)}, geometry=gpd.points_from_xy(lon, lat), crs="EPSG:4326")
    store = LayerStore(write_layers(tmp_path / "layers"),
                       sidecars=TableSidecars(tmp_path / "tables", min_bytes=0 if kind == "table" else 10**12))
    store.add_layer(catalogue_entry("dense", "Point"), frame)
    for zoom, column, row in [(z, x, y), (8, *tile_of(-11.9, 14.4, 8)), (5, *tile_of(-11.9, 14.4, 5)),
                              (z, x + 1, y), (14, *tile_of(-12.0, 14.3, 14))]:
        everything = store.query("dense", bbox=tiles.lonlat_bounds(zoom, column, row)).features
        expected = encode_tile(everything[["id", "name", "geometry"]], "dense", zoom, column, row)
        assert store.tile("dense", zoom, column, row) == expected
        assert 0 < len(decoded(expected, "dense")) <= MAX_TILE_POINTS


def _shapes_for_winding() -> gpd.GeoDataFrame:
    """Polygons wound both ways, with holes, multi-polygons, lines and a point, and star-shaped polygons of
    500 positions (layers hold no geometry collections, which MVT cannot encode)."""
    from shapely.geometry import LineString, MultiPolygon, Polygon, box

    from bench.scale import polygons

    outer = [(-12.3, 14.1), (-11.7, 14.1), (-11.7, 14.6), (-12.3, 14.6)]
    hole = [(-12.1, 14.2), (-11.9, 14.2), (-11.9, 14.4), (-12.1, 14.4)]
    shapes = [Polygon(outer, [hole]), Polygon(outer[::-1], [hole[::-1]]), box(-12.05, 14.25, -11.95, 14.35, ccw=False),
              MultiPolygon([box(-12.2, 14.15, -12.15, 14.2), Polygon(outer[::-1])]),
              LineString([(-12.2, 14.2), (-11.8, 14.5)]), Point(-11.95, 14.45)]
    shapes += list(polygons(np.random.default_rng(9), 40))
    return gpd.GeoDataFrame({"id": [f"s{i}" for i in range(len(shapes))], "name": "shape"}, geometry=shapes,
                            crs="EPSG:4326")


def test_polygons_are_wound_for_the_whole_tile_as_the_library_winds_them_one_by_one(monkeypatch):
    """encode_tile rounds and orients every polygon of a tile in one vectorised call; the tile is byte for
    byte the one mapbox-vector-tile makes when it checks each polygon's winding itself."""
    from geo_service import tiles

    frame = _shapes_for_winding()
    keys = [(z, *tile_of(-12.0, 14.35, z)) for z in (5, 8, 10, 12, 14)]
    ours = [encode_tile(frame, "s", *key) for key in keys]
    library = mapbox_vector_tile.encode

    def winding_checked(layers, default_options=None, **kwargs):
        return library(layers, default_options={**default_options, "check_winding_order": True}, **kwargs)

    monkeypatch.setattr(tiles, "_wound", lambda geoms: geoms)
    monkeypatch.setattr(mapbox_vector_tile, "encode", winding_checked)
    assert ours == [encode_tile(frame, "s", *key) for key in keys]
    assert all(decoded(tile, "s") for tile in ours)


def test_tiny_polygons_are_wound_after_rounding_as_the_library_does():
    """Triangles a few tile units across, whose winding or area rounding to whole units can change: the
    vectorised winding gives the library's bytes for each."""
    from shapely.geometry import Polygon

    from geo_service.tiles import _wound

    rng = np.random.default_rng(21)
    corners = rng.uniform(0, 3, (300, 3, 2)) + rng.integers(0, 4000, (300, 1, 2))
    shapes = np.array([Polygon(triangle) for triangle in corners.tolist()], dtype=object)
    options = {"y_coord_down": True, "extents": EXTENT}

    def tile(geoms, check):
        features = [{"geometry": g, "properties": {"n": i}} for i, g in enumerate(geoms)]
        return mapbox_vector_tile.encode([{"name": "t", "features": features}],
                                         default_options={**options, "check_winding_order": check})

    assert tile(_wound(shapes), False) == tile(shapes, True)


_TILE_VALUES = st.one_of(st.text(max_size=8), st.booleans(), st.integers(-(2**63), 2**63 - 1),
                         st.floats(allow_nan=False, allow_infinity=False), st.sampled_from([0, 1, 1.0, True, False, -0.0]))


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.floats(-64, 4160), st.floats(-64, 4160),
                          st.dictionaries(st.sampled_from(["id", "name", "name_fr", "é", ""]), _TILE_VALUES,
                                          max_size=3)), max_size=30),
       st.text(min_size=1, max_size=6))
def test_a_point_tile_is_written_byte_for_byte_as_mapbox_vector_tile_writes_it(points, layer):
    """mvt_points writes a point tile in one pass: the library's bytes, whatever the properties (one value
    for 1 and 1.0, booleans apart, negative and 64-bit integers, halves rounded to even)."""
    from shapely.geometry import Point

    from geo_service.mvt_points import point_tile

    x = np.array([p[0] for p in points] + [0.5, 1.5, -2.5, 4095.5])
    y = np.array([p[1] for p in points] + [2.5, -0.5, 3.5, 7.5])
    properties = [p[2] for p in points] + [{}, {"id": 1}, {"id": 1.0}, {"id": True}]
    features = [{"geometry": Point(px, py), "properties": props} for px, py, props in zip(x, y, properties)]
    expected = mapbox_vector_tile.encode([{"name": layer, "features": features}],
                                         default_options={"y_coord_down": True, "extents": EXTENT})
    assert point_tile(layer, x, y, properties, EXTENT) == expected

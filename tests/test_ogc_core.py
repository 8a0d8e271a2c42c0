"""OGC API – Features Part 1 details clients rely on: Allow, Link, CORS, RFC 3339 datetimes, bboxes across the
antimeridian, license links, the HTML pages' map and coordinates, the API page's summaries."""

from __future__ import annotations

import re

import pytest

from geo_service.ogc.query import _valid_datetime
from tests.conftest import assert_error_document


def test_a_405_says_which_methods_the_address_takes(client):
    response = client.post("/ogc/collections")
    assert_error_document(response, 405, "MethodNotAllowed")
    assert set(response.headers["Allow"].split(", ")) == {"GET", "HEAD", "OPTIONS"}


def test_link_headers_repeat_the_documents_links(client):
    page = client.get("/ogc/collections/sites/items?limit=1&offset=1")
    links = {rel: href for href, rel in re.findall(r'<([^>]+)>; rel="([^"]+)"', page.headers["Link"])}
    assert links["next"].endswith("limit=1&offset=2") and links["prev"].endswith("limit=1&offset=0")
    body_links = {link["rel"]: link["href"] for link in page.get_json()["links"]}
    assert links == body_links
    again = client.get("/ogc/collections/sites/items?limit=1&offset=1")  # from the response cache: same header
    assert again.headers["Link"] == page.headers["Link"]
    assert 'rel="self"' in client.get("/ogc/collections/sites").headers["Link"]


def test_reads_are_open_to_other_origins_and_writes_are_not(client, make_app):
    read = client.get("/ogc/collections/sites/items", headers={"Origin": "https://ngo.example"})
    assert read.headers["Access-Control-Allow-Origin"] == "*"
    assert "Link" in read.headers["Access-Control-Expose-Headers"]
    preflight = client.options("/ogc/collections/sites/items", headers={
        "Origin": "https://ngo.example", "Access-Control-Request-Method": "GET"})
    assert preflight.headers["Access-Control-Allow-Methods"] == "GET, HEAD"
    assert "Access-Control-Allow-Origin" not in client.post("/api/layers", headers={"Origin": "https://x.example"}).headers
    assert "Access-Control-Allow-Origin" not in client.get("/").headers  # pages are not an API
    listed = make_app({"read_origins": ("https://ngo.example",)}).test_client()
    assert listed.get("/ogc/collections", headers={"Origin": "https://ngo.example"}).headers[
        "Access-Control-Allow-Origin"] == "https://ngo.example"
    other = listed.get("/ogc/collections", headers={"Origin": "https://other.example"})
    assert "Access-Control-Allow-Origin" not in other.headers
    assert [token.strip() for token in other.headers["Vary"].split(",")] == ["Accept-Encoding", "Origin"]


@pytest.mark.parametrize(("raw", "valid"), [
    ("2018-02-12", True), ("2018-02-12T23:20:50Z", True), ("2018-02-12t23:20:50z", True),
    ("2018-02-12T23:20:50.52+01:00", True), ("2016-12-31T23:59:60Z", True), ("../2018-02-12T00:00:00Z", True),
    ("2018-02-12T00:00:00Z/..", True), ("2018-02-12/", True), ("2017-01-01/2018-02-12", True),
    ("2018-13-45T00:00:00Z", False), ("2018-02-12T25:00:00Z", False), ("2018-02-12T23:20:50", False),
    ("../..", False), ("2019-01-01/2018-01-01", False), ("2018-2-12", False), ("a/b/c", False),
])
def test_datetime_is_rfc_3339(raw, valid):
    assert _valid_datetime(raw) is valid


def test_a_bbox_across_the_antimeridian_is_two_boxes(client):
    east_of_kayes = client.get("/ogc/collections/sites/items?bbox=-11.5,13,-11.4,15").get_json()
    across = client.get("/ogc/collections/sites/items?bbox=-11.5,13,-12.3,15").get_json()  # -11.5 → 180 → -12.3
    assert [f["id"] for f in east_of_kayes["features"]] == ["kayes"]
    assert [f["id"] for f in across["features"]] == ["kayes"]
    assert "bbox=-11.5%2C13.0%2C-12.3%2C15.0" in across["links"][0]["href"]


def test_collections_link_their_licences(client):
    collection = client.get("/ogc/collections/sites").get_json()
    assert {"href": "https://spdx.org/licenses/CC0-1.0.html", "rel": "license", "type": "text/html",
            "title": "CC0-1.0"} in collection["links"]


@pytest.mark.parametrize("lang", ["en", "fr"])
def test_html_items_show_a_map_and_where_each_feature_is(client, lang):
    page = client.get(f"/ogc/collections/sites/items?f=html&lang={lang}").data.decode()
    assert page.count("<circle ") == 4 and 'class="gs-preview"' in page
    assert "14.456680, -12.216590" in page  # Kidira: latitude, longitude
    zones = client.get(f"/ogc/collections/zones/items/z1?f=html&lang={lang}").data.decode()
    assert zones.count("<path ") == 1 and ("Vertices" if lang == "en" else "Sommets") in zones
    assert "&lt;img src=x onerror=alert(1)&gt;" in page  # a hostile id or name stays text
    assert "<img src=x" not in page


def test_the_api_page_lists_each_route_from_the_site_root_with_its_summary(client):
    page = client.get("/ogc/api?f=html&lang=fr").data.decode()
    rows = dict(re.findall(r"<code>GET ([^<]*)</code></td><td>([^<]*)<", page))
    assert rows["/ogc/collections"] and rows["/layers/{layerId}.csv"]
    assert rows["/ogc/collections/sites/queryables"].startswith("Test sites (fr)")


# --- Part 2: CRS ----------------------------------------------------------------------------------------------

EPSG = "http://www.opengis.net/def/crs/EPSG/0/"
CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"


@pytest.mark.parametrize("code", ["3857", "32628", "32629", "4326"])
def test_items_in_another_crs_are_pyprojs_transform_of_the_crs84_items(client, code):
    from pyproj import Transformer
    from shapely.geometry import shape

    plain = client.get("/ogc/collections/roads/items").get_json()["features"] + \
        client.get("/ogc/collections/sites/items").get_json()["features"]
    moved = client.get(f"/ogc/collections/roads/items?crs={EPSG}{code}")
    assert moved.headers["Content-Crs"] == f"<{EPSG}{code}>"
    moved = moved.get_json()["features"] + \
        client.get(f"/ogc/collections/sites/items?crs={EPSG}{code}").get_json()["features"]
    transformer = Transformer.from_crs("OGC:CRS84", f"EPSG:{code}")  # the target's own axis order
    for before, after in zip(plain, moved, strict=True):
        expected = [v for x, y in shape(before["geometry"]).coords for v in transformer.transform(x, y)]
        got = [v for xy in shape(after["geometry"]).coords for v in xy]
        tolerance = 1e-7 if code == "4326" else 0.01  # degrees (about 1 cm) or metres
        assert got == pytest.approx(expected, abs=tolerance)
        assert after["properties"] == before["properties"]
    if code == "4326":  # latitude first
        assert moved[-1]["geometry"]["coordinates"][0] == pytest.approx(13.9)
    one = client.get(f"/ogc/collections/sites/items/kayes?crs={EPSG}{code}")
    assert one.headers["Content-Crs"] == f"<{EPSG}{code}>"


def test_a_bbox_in_utm_selects_what_its_crs84_equivalent_selects(client):
    from pyproj import Transformer

    to_utm = Transformer.from_crs("OGC:CRS84", "EPSG:32628")
    for crs84_box in ((-12.3, 14.4, -12.1, 14.5), (-12.5, 13.5, -11, 15), (-11.5, 14.4, -11.4, 14.5)):
        west, south = to_utm.transform(crs84_box[0], crs84_box[1])
        east, north = to_utm.transform(crs84_box[2], crs84_box[3])
        # the UTM box holding the CRS84 box's corners: the test points lie well inside or well outside both
        utm = client.get(f"/ogc/collections/sites/items?bbox={west},{south},{east},{north}"
                         f"&bbox-crs={EPSG}32628").get_json()
        plain = client.get("/ogc/collections/sites/items?bbox=" + ",".join(map(str, crs84_box))).get_json()
        assert [f["id"] for f in utm["features"]] == [f["id"] for f in plain["features"]]
    lat_first = client.get(f"/ogc/collections/sites/items?bbox=14.4,-12.3,14.5,-12.1&bbox-crs={EPSG}4326").get_json()
    assert [f["id"] for f in lat_first["features"]] == ["kidira", "diboli"]


@pytest.mark.parametrize("url", [
    f"/ogc/collections/sites/items?crs={EPSG}2154", f"/ogc/collections/sites/items?bbox-crs={EPSG}2154",
    f"/ogc/collections/sites/items?bbox=1,2,0,3&bbox-crs={EPSG}32628", "/ogc/collections/sites/items/kayes?crs=x",
])
def test_unknown_or_misused_crs_are_refused(client, url):
    assert_error_document(client.get(url), 400, "InvalidParameterValue")


def test_a_bbox_without_width_or_height_in_another_crs_is_a_line_or_a_point(client):
    """Found by schemathesis: bbox=0,0,0,0 with bbox-crs=EPSG:32629 was a 500."""
    for bbox in ("0,0,0,0", "0,0,1,0", "200000,1500000,300000,1500000"):
        response = client.get(f"/ogc/collections/sites/items?bbox={bbox}&bbox-crs={EPSG}32629")
        assert response.status_code == 200 and response.get_json()["numberMatched"] == 0


# --- Part 5: schemas ------------------------------------------------------------------------------------------

def test_the_schema_types_each_property_and_titles_it_in_the_readers_language(client):
    collection = client.get("/ogc/collections/sites").get_json()
    href = next(link["href"] for link in collection["links"]
                if link["rel"] == "http://www.opengis.net/def/rel/ogc/1.0/schema")
    response = client.get(href.removeprefix("http://localhost") + "?lang=fr")
    assert response.mimetype == "application/schema+json"
    schema = response.get_json()
    assert schema["$id"] == href and schema["title"] == "Test sites (fr)"
    properties = schema["properties"]
    assert properties["population"] == {"title": "Population", "type": "integer"}
    assert properties["name"]["title"] == "Nom" and properties["note"]["type"] == "string"
    assert properties["id"]["x-ogc-role"] == "id"
    assert properties["geometry"] == {"title": "Géométrie", "format": "geometry-point-or-multipoint",
                                      "x-ogc-role": "primary-geometry"}
    english = client.get(href.removeprefix("http://localhost") + "?lang=en").get_json()["properties"]
    assert english["name"]["title"] == "Name"
    assert "http://www.opengis.net/spec/ogcapi-features-5/1.0/conf/schemas" in \
        client.get("/ogc/conformance").get_json()["conformsTo"]


def test_the_schema_and_queryables_pages_list_the_properties(client):
    page = client.get("/ogc/collections/sites/schema?f=html&lang=fr").data.decode()
    assert "<code>population</code>" in page and "Nom" in page and "(primary-geometry)" in page
    page = client.get("/ogc/collections/sites/queryables?f=html&lang=en").data.decode()
    assert "<code>population</code>" in page and "integer" in page

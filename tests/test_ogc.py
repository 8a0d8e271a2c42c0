"""OGC API – Features: documents, paging, filters, errors, negotiation, caching, and real clients."""

import subprocess
import sys
import time

import pyogrio
import pytest
from openapi_spec_validator import validate as validate_openapi

from geo_service.ogc import features as ogc
from geo_service.app import create_app
from geo_service.errors import InvalidParameterError
from geo_service.io.ogr import read_frame
from geo_service.params import parse_bbox
from geo_service.store import LayerStore
from tests.conftest import BUNDLED_LAYERS, assert_error_document

GEOJSON = "application/geo+json"


# --- pure parsers -----------------------------------------------------------

@pytest.mark.parametrize("raw, expected", [
    ("-12.5,14,-12,14.5", (-12.5, 14.0, -12.0, 14.5)),
    ("-12.5,14,0,-12,14.5,100", (-12.5, 14.0, -12.0, 14.5)),
    ("-180,-90,180,90", (-180.0, -90.0, 180.0, 90.0)),
])
def test_parse_bbox(raw, expected):
    assert parse_bbox(raw) == expected


@pytest.mark.parametrize("raw, message", [
    ("1,2,3", "4 numbers"), ("1,2,3,4,5", "4 numbers"), ("a,b,c,d", "numbers only"),
    ("nan,1,2,3", "finite"), ("1,inf,2,3", "finite"), ("0,-91,1,1", "latitudes must be between -90 and 90"),
    ("0,0,1,95", "latitudes"), ("-200,0,1,1", "longitudes"), ("0,10,1,5", "minimum latitude 10.0 is above"),
    ("10,0,-10,1", "antimeridian"), ("", "4 numbers"),
])
def test_parse_bbox_errors(raw, message):
    with pytest.raises(InvalidParameterError, match=message):
        parse_bbox(raw)


def args(**values):
    return {k: [v] for k, v in values.items()}


def test_parse_items_query_defaults_and_values():
    q = ogc.parse_items_query({}, ["name"])
    assert (q.bbox, q.limit, q.offset, dict(q.filters), q.f) == (None, 10, 0, {}, None)
    q = ogc.parse_items_query(args(limit="50000", offset="3", name="Kayes", f="html", datetime="2025-02-20/.."),
                              ["name"])
    assert (q.limit, q.offset, dict(q.filters), q.f) == (ogc.LIMIT_MAX, 3, {"name": "Kayes"}, "html")


@pytest.mark.parametrize("values, message", [
    (args(limit="-1"), "limit must be 1 or more"), (args(limit="0"), "limit must be 1 or more"),
    (args(limit="ten"), "limit must be a whole number"), (args(offset="-2"), "offset must be 0 or more"),
    (args(colour="red"), "unknown query parameter"), (args(f="xml"), "f must be one of json, html"),
    (args(crs="EPSG:3857"), "crs must be"), (args(**{"bbox-crs": "EPSG:4326"}), "bbox-crs must be"),
    (args(datetime="yesterday"), "RFC 3339"), ({"limit": ["1", "2"]}, "more than once"),
])
def test_parse_items_query_errors(values, message):
    with pytest.raises(InvalidParameterError, match=message):
        ogc.parse_items_query(values, ["name"])


def test_next_and_prev_links_keep_the_query():
    q = ogc.ItemsQuery(bbox=(-13.0, 12.0, -11.0, 15.0), limit=2, offset=2, filters={"country": "ML"})
    links = {l["rel"]: l["href"] for l in ogc.items_links("sites", "http://h/ogc", q, number_matched=5)}
    assert links["next"] == "http://h/ogc/collections/sites/items?f=json&bbox=-13.0%2C12.0%2C-11.0%2C15.0&limit=2&offset=4&country=ML"
    assert "offset=0" in links["prev"]
    last = {l["rel"] for l in ogc.items_links("sites", "http://h/ogc", ogc.ItemsQuery(limit=2, offset=4), 5)}
    assert "next" not in last and "prev" in last


# --- routes -----------------------------------------------------------------

def test_landing_conformance_and_collections(client):
    landing = client.get("/ogc/").get_json()
    rels = {l["rel"]: l for l in landing["links"]}
    assert {"self", "alternate", "service-desc", "service-doc", "conformance", "data"} <= set(rels)
    assert rels["service-desc"]["type"] == ogc.OPENAPI_JSON
    assert client.get("/ogc/conformance").get_json()["conformsTo"] == ogc.CONFORMANCE_CLASSES
    collections = client.get("/ogc/collections").get_json()["collections"]
    assert [c["id"] for c in collections] == ["sites", "roads", "zones"]
    sites = client.get("/ogc/collections/sites").get_json()
    assert sites["extent"]["spatial"]["bbox"][0] == pytest.approx([-12.21659, 13.9, -11.44393, 14.457159])
    assert sites["crs"][0] == ogc.CRS84 and sites["storageCrs"] == ogc.CRS84 and sites["itemType"] == "feature"
    assert any(l["rel"] == "items" and l["type"] == GEOJSON for l in sites["links"])


def test_items_paging_counts_and_links(client):
    page = client.get("/ogc/collections/sites/items?limit=3")
    assert page.mimetype == GEOJSON and page.headers["Content-Crs"] == f"<{ogc.CRS84}>"
    doc = page.get_json()
    assert (doc["numberMatched"], doc["numberReturned"]) == (4, 3)
    assert [f["id"] for f in doc["features"]] == ["kidira", "diboli", "kayes"]
    nxt = next(l["href"] for l in doc["links"] if l["rel"] == "next")
    second = client.get(nxt.replace("http://localhost", "")).get_json()
    assert [f["id"] for f in second["features"]] == ["hostile"]
    assert "next" not in {l["rel"] for l in second["links"]} and "prev" in {l["rel"] for l in second["links"]}


def test_items_filters_and_bbox(client):
    doc = client.get("/ogc/collections/sites/items?country=ML&bbox=-12.3,14.4,-12.1,14.5").get_json()
    assert [f["id"] for f in doc["features"]] == ["diboli"] and doc["numberMatched"] == 1
    assert client.get("/ogc/collections/sites/items?population=13551").get_json()["numberMatched"] == 1


def test_single_feature(client):
    doc = client.get("/ogc/collections/sites/items/kayes").get_json()
    assert doc["id"] == "kayes" and doc["properties"]["name"] == "Kayes"
    assert any(l["rel"] == "collection" for l in doc["links"])
    assert_error_document(client.get("/ogc/collections/sites/items/nope"), 404, "NotFound")


@pytest.mark.parametrize("url", [
    "/ogc/collections/sites/items?bbox=1,2,3", "/ogc/collections/sites/items?limit=-1",
    "/ogc/collections/sites/items?bbox=0,0,1,91", "/ogc/collections/sites/items?bbox=nan,0,1,1",
    "/ogc/collections/sites/items?limit=NaN", "/ogc/collections/sites/items?colour=red",
    "/ogc/collections?foo=bar", "/ogc/collections/sites/items?f=pdf",
])
def test_malformed_queries_are_400_in_the_canonical_shape(client, url):
    assert_error_document(client.get(url), 400, "InvalidParameterValue")


@pytest.mark.parametrize("url", ["/ogc/collections/nope", "/ogc/collections/nope/items",
                                 "/ogc/collections/Sites/items", "/ogc/nothing"])
def test_unknown_collections_are_404(client, url):
    assert_error_document(client.get(url), 404)


def test_json_or_html_by_f_and_accept(client):
    assert client.get("/ogc/collections?f=html").mimetype == "text/html"
    assert client.get("/ogc/collections", headers={"Accept": "text/html"}).mimetype == "text/html"
    assert client.get("/ogc/collections", headers={"Accept": "*/*"}).mimetype == "application/json"
    browser = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
    for _ in range(2):  # the second answered from the header values already worked out
        assert client.get("/ogc/collections", headers={"Accept": browser}).mimetype == "text/html"
    assert client.get("/ogc/collections", headers={"Accept": "application/json, text/html;q=0.5"}).mimetype == \
        "application/json"
    assert client.get("/ogc/collections", headers={"Accept": "text/html;q=0.5, application/geo+json"}).mimetype == \
        "application/json"
    html = client.get("/ogc/collections/sites/items?f=html").get_data(as_text=True)
    assert "Kidira" in html and "&lt;img src=x onerror=alert(1)&gt;" in html and "<img src=x" not in html
    error = client.get("/ogc/collections/sites/items?limit=-1", headers={"Accept": "text/html"})
    assert error.status_code == 400 and error.mimetype == "text/html"


def test_etag_304_and_gzip(client, open_test_store):
    first = client.get("/ogc/collections/sites/items?limit=2")
    again = client.get("/ogc/collections/sites/items?limit=2", headers={"If-None-Match": first.headers["ETag"]})
    assert again.status_code == 304
    store = open_test_store()  # another process's write
    store.replace("sites", store.read("sites").iloc[:1])
    changed = client.get("/ogc/collections/sites/items?limit=2", headers={"If-None-Match": first.headers["ETag"]})
    assert changed.status_code == 200 and changed.get_json()["numberMatched"] == 1  # cache follows the version
    bundled = create_app({"layers_dir": BUNDLED_LAYERS}).test_client()
    zipped = bundled.get("/ogc/collections/health_centres/items?limit=100", headers={"Accept-Encoding": "gzip"})
    assert zipped.headers["Content-Encoding"] == "gzip"


def test_openapi_document_is_valid_and_lists_every_route(client):
    response = client.get("/ogc/api")
    assert response.mimetype == "application/vnd.oai.openapi+json"
    document = response.get_json()
    validate_openapi(document)
    paths = set(document["paths"])
    for layer_id in ("sites", "roads", "zones"):
        assert {f"/collections/{layer_id}", f"/collections/{layer_id}/items",
                f"/collections/{layer_id}/items/{{featureId}}"} <= paths
    assert {"/", "/conformance", "/collections", "/api", "/layers/{layerId}.csv"} <= paths
    # OGC paths are relative to the API's root, as GDAL looks them up; the service's other routes say their own
    assert document["servers"] == [{"url": "http://localhost/ogc"}]
    assert document["paths"]["/layers/{layerId}.csv"]["servers"] == [{"url": "http://localhost"}]
    items = document["paths"]["/collections/sites/items"]["get"]
    assert {"bbox", "limit", "offset", "name", "country", "population"} <= {p["name"] for p in items["parameters"]}


# --- real clients -----------------------------------------------------------

@pytest.fixture(scope="module")
def live_bundled(tmp_path_factory):
    """The service in its own process: GDAL blocks in C while holding the GIL, so no in-process server."""
    port_file = tmp_path_factory.mktemp("server") / "port"
    code = (
        "import sys; from werkzeug.serving import make_server; from geo_service.app import create_app; "
        f"s = make_server('127.0.0.1', 0, create_app({{'layers_dir': r'{BUNDLED_LAYERS}'}}), threaded=True); "
        f"open(r'{port_file}', 'w').write(str(s.server_port)); s.serve_forever()"
    )
    process = subprocess.Popen([sys.executable, "-c", code], stderr=subprocess.DEVNULL)
    try:
        while not (port_file.exists() and port_file.read_text()):  # however long a busy machine takes
            assert process.poll() is None, "the server process ended before it listened"
            time.sleep(0.1)
        yield f"http://127.0.0.1:{port_file.read_text()}"
    finally:
        process.terminate()
        process.wait(10)


def test_gdal_oapif_client_reads_every_collection_like_the_file(live_bundled):
    """GDAL's OGC API – Features driver: the client QGIS uses."""
    store = LayerStore(BUNDLED_LAYERS)
    listed = [name for name, _ in pyogrio.list_layers(f"OAPIF:{live_bundled}/ogc")]
    assert listed == list(store.catalogue.ids)
    for layer_id in store.catalogue.ids:
        remote = read_frame(f"OAPIF:{live_bundled}/ogc", layer=layer_id)  # integers stay integers over OGC too
        local = store.read(layer_id)
        assert list(remote.columns) == list(local.columns), layer_id
        assert len(remote) == len(local)
        for a, b in zip(remote.geometry, local.geometry):
            assert a.equals_exact(b, 1e-9), layer_id
        props = [c for c in local.columns if c != "geometry"]
        assert remote[props].astype(str).values.tolist() == local[props].astype(str).values.tolist(), layer_id


def test_etags_are_the_same_in_every_worker_process_and_header_safe(client, layers_dir):
    url = "/ogc/collections/sites/items?limit=2&bbox=-13,14,-12,15"
    here = client.get(url).headers["ETag"]
    code = ("import sys; from geo_service.app import create_app; "
            f"print(create_app({{'layers_dir': r'{layers_dir}'}}).test_client().get('{url}').headers['ETag'])")
    other = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert other == here  # a per-process hash() would differ here
    download = client.get("/layers/sites.csv?bbox=-12.3,14.4,-12.1,14.5").headers["ETag"]
    assert " " not in download and "(" not in download

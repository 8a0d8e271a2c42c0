"""Malformed requests get a 4xx, never a 500; faults stay local; slots and time budgets end work cleanly."""

import io
import json
import subprocess
import sys
import textwrap

import pytest

from geo_service.app import create_app
from geo_service.config import InputLimits, Settings
from geo_service.errors import CatalogueError, ServiceBusyError
from geo_service.slots import Deadline, SlotLimiter
from tests import hostile_files as hf
from tests.conftest import assert_error_document

TOKEN = "a-long-test-token-0123456789"


@pytest.mark.parametrize("url", [
    "/ogc/collections/sites/items?limit=²", "/ogc/collections/sites/items?offset=²",
    "/layers/sites.geojson?precision=²", "/ogc/collections/sites/items?limit=1" + "0" * 400,
    "/layers/sites.geojson?precision=٣",
])
def test_unicode_digits_and_huge_numbers_are_400(client, url):
    assert_error_document(client.get(url, headers={"Accept": "application/json"}), 400, "InvalidParameterValue")


@pytest.mark.parametrize("accept", ["application/json", "text/html"])
def test_a_5000_character_host_is_a_400_in_both_forms(client, accept):
    response = client.get("/ogc/collections", headers={"Host": "a" * 5000, "Accept": accept})
    assert response.status_code == 400
    assert "Host header" in response.get_data(as_text=True)


def test_links_use_the_configured_base_url_not_the_host_header(layers_dir, make_app):
    client = make_app({"base_url": "https://geo.example.org/service"}).test_client()
    headers = {"Host": "evil.example"}
    for url in ("/ogc/collections?f=json", "/ogc/collections/sites/items?f=json", "/api/layers/sites", "/ogc/api"):
        text = client.get(url, headers=headers).get_data(as_text=True)
        assert "evil.example" not in text, url
        assert "https://geo.example.org/service" in text, url


def test_without_a_base_url_each_host_s_links_are_its_own(layers_dir, make_app):
    """The OGC API's root is built once per host a client reaches the service at (a cache), never shared."""
    client = make_app().test_client()
    for host in ("geo.example.org", "10.0.0.5:8080", "geo.example.org"):
        doc = client.get("/ogc/collections/sites/items/kayes?f=json", headers={"Host": host}).get_json()
        assert {link["href"].split("/ogc/")[0] for link in doc["links"]} == {f"http://{host}"}, host
    behind_a_prefix = client.get("/ogc/collections/sites/items/kayes?f=json",
                                 environ_overrides={"SCRIPT_NAME": "/geo"}).get_json()
    assert behind_a_prefix["links"][0]["href"].startswith("http://localhost/geo/ogc/collections/sites/items/kayes")


def test_tokens_in_the_query_string_are_refused(layers_dir, make_app):
    client = make_app({"token": TOKEN}).test_client()
    response = client.put(f"/api/layers/sites?filename=x.geojson&token={TOKEN}", data=b"{}")
    doc = assert_error_document(response, 400)
    assert "Authorization: Bearer" in doc["description"] and TOKEN not in doc["description"]
    assert client.get(f"/api/health?access_token={TOKEN}").status_code == 400


@pytest.mark.parametrize("headers, status", [
    ({"Origin": "https://evil.example"}, 403),
    ({"Sec-Fetch-Site": "cross-site"}, 403),
    ({"Origin": "http://localhost"}, 200),  # the page's own origin
    ({"Origin": "https://partner.example"}, 200),  # configured
    ({}, 200),  # curl, scripts, GIS clients
])
def test_cross_origin_analyses_are_refused_unless_allowed(layers_dir, headers, status, make_app):
    app = make_app({"allowed_origins": ("https://partner.example",)})
    response = app.test_client().post("/api/proximity", data={"communities": "sites", "services": "sites"},
                                      headers=headers)
    assert response.status_code == status, response.get_json()
    if status == 403:
        assert "GEO_SERVICE_ALLOWED_ORIGINS" in assert_error_document(response, 403, "Forbidden")["description"]


def test_chunked_body_over_the_limit_is_413_not_a_truncated_layer(layers_dir, make_app):
    from werkzeug.test import EnvironBuilder, run_wsgi_app

    app = make_app({"token": TOKEN, "max_upload_mb": 1})
    before = (layers_dir / "sites.geojson").read_bytes()
    etag = app.test_client().get("/api/layers/sites").headers["ETag"]
    body = hf.long_csv(200_000)  # 4 MB: over the 3 MB body limit (two 1 MB files and the form)
    builder = EnvironBuilder(method="PUT", path="/api/layers/sites", query_string={"filename": "x.csv"},
                             input_stream=io.BytesIO(body), headers={
                                 "Authorization": f"Bearer {TOKEN}", "If-Match": etag,
                                 "Transfer-Encoding": "chunked"})
    environ = builder.get_environ()
    environ.pop("CONTENT_LENGTH", None)  # a chunked request has no length…
    environ["wsgi.input_terminated"] = True  # …and the server says where it ends (gunicorn, werkzeug)
    body_iter, status, headers = run_wsgi_app(app, environ)  # as a WSGI server calls it (no client rebuild)
    response = app.response_class(b"".join(body_iter), status=status, headers=headers)
    doc = assert_error_document(response, 413, "PayloadTooLarge")
    assert "nothing was read or changed" in doc["description"]
    assert (layers_dir / "sites.geojson").read_bytes() == before


def test_anonymous_uploads_have_their_own_smaller_limits(layers_dir, make_app):
    app = make_app({"token": TOKEN,
                      "anonymous_limits": InputLimits(features=3)})
    data = {"communities_file": (io.BytesIO(hf.long_csv(10)), "v.csv"), "services": "sites"}
    anonymous = app.test_client().post("/api/proximity", data=data, content_type="multipart/form-data")
    assert "at least 4 features, more than the 3" in assert_error_document(anonymous, 413)["description"]
    data = {"communities_file": (io.BytesIO(hf.long_csv(10)), "v.csv"), "services": "sites"}
    holder = app.test_client().post("/api/proximity", data=data, content_type="multipart/form-data",
                                    headers={"Authorization": f"Bearer {TOKEN}"})
    assert holder.status_code == 200


def test_no_free_slot_is_a_503_with_retry_after(layers_dir, make_app):
    app = make_app({"analysis_slots": 1, "slot_wait_seconds": 0.3})
    limiter = app.extensions["geo_service.slots"]
    other = SlotLimiter(limiter.directory, limiter.total, limiter.per_client)  # as another worker would
    with other.slot(client="198.51.100.7"):
        response = app.test_client().post("/api/proximity", data={"communities": "sites", "services": "sites"})
        assert "running 1 analyses or uploads already" in assert_error_document(response, 503)["description"]
        assert response.headers["Retry-After"] == "10"
    assert app.test_client().post("/api/proximity", data={"communities": "sites", "services": "sites"}
                                  ).status_code == 200  # freed when its holder let go


def test_one_anonymous_client_holds_one_slot(layers_dir, make_app):
    app = make_app({"analysis_slots": 4, "client_slots": 1, "slot_wait_seconds": 0.3})
    limiter = app.extensions["geo_service.slots"]
    upload = {"communities_file": (io.BytesIO(hf.long_csv(3)), "v.csv"), "services": "sites"}
    with limiter.slot(client="127.0.0.1"):
        response = app.test_client().post("/api/proximity", data=upload, content_type="multipart/form-data")
        assert "you already have 1 analysis" in assert_error_document(response, 503)["description"]
        layers_only = app.test_client().post("/api/proximity", data={"communities": "sites", "services": "sites"})
        assert layers_only.status_code == 200  # an analysis of the service's own layers needs no client slot


def test_an_analysis_of_layers_is_cached_per_layer_version(open_test_store, make_app):
    app = make_app({"analysis_slots": 1, "slot_wait_seconds": 0.3})
    client = app.test_client()
    url = "/api/proximity?communities=sites&services=sites&format=csv"
    first = client.get(url)
    limiter = app.extensions["geo_service.slots"]
    with SlotLimiter(limiter.directory, 1, 1).slot(client=None):  # every slot taken: only the cache can answer
        again = client.get(url)
        assert again.status_code == 200 and again.data == first.data
        store = open_test_store()
        store.replace("sites", store.read("sites").iloc[:2])  # a new version is a new analysis...
        assert_error_document(client.get(url, headers={"Accept": "application/json"}), 503)  # ...needing a slot


def test_a_request_past_its_time_budget_ends_with_503(layers_dir):
    app = create_app(Settings(layers_dir=layers_dir, analysis_seconds=-1.0))
    response = app.test_client().post("/api/proximity", data={"communities": "sites", "services": "sites"})
    doc = assert_error_document(response, 503, "ServiceUnavailable")
    assert "time budget" in doc["description"] and response.headers["Retry-After"] == "30"


def test_deadline_checks_its_clock():
    now = [100.0]
    deadline = Deadline(5, clock=lambda: now[0])
    deadline.check("reading")
    now[0] = 105.5
    with pytest.raises(ServiceBusyError, match=r"time budget of 5 s \(reading\)"):
        deadline.check("reading")


@pytest.mark.files_only  # a damaged file on disk
def test_one_broken_layer_leaves_everything_else_serving(client, layers_dir):
    (layers_dir / "roads.geojson").unlink()
    (layers_dir / "zones.geojson").write_bytes((layers_dir / "zones.geojson").read_bytes()[:50])
    health = client.get("/api/health")
    assert health.status_code == 503
    doc = health.get_json()
    assert doc["status"] == "degraded" and set(doc["unavailable"]) == {"roads", "zones"}
    assert doc["layers"] == {"sites": 4}
    for url in ("/", "/?lang=fr", "/api/layers", "/ogc/collections", "/ogc/api", "/ogc/collections/sites/items",
                "/layers/sites.geojson", "/proximity"):
        assert client.get(url).status_code == 200, url
    layers = {d["id"]: d for d in client.get("/api/layers").get_json()["layers"]}
    assert layers["roads"]["status"] == "unavailable" and layers["sites"]["status"] == "ok"
    assert "cannot be shown right now" in client.get("/?lang=en").get_data(as_text=True)
    assert "ne peut pas être affichée pour le moment" in client.get("/?lang=fr").get_data(as_text=True)
    assert_error_document(client.get("/layers/roads.geojson", headers={"Accept": "application/json"}), 503,
                          "LayerUnavailable")
    collections = [c["id"] for c in client.get("/ogc/collections?f=json").get_json()["collections"]]
    assert collections == ["sites"]


@pytest.mark.files_only  # a damaged file on disk
def test_a_catalogue_broken_while_serving_keeps_the_last_good_one(client, layers_dir):
    assert client.get("/api/health").status_code == 200
    text = (layers_dir / "catalogue.json").read_text()
    (layers_dir / "catalogue.json").write_text(text[: len(text) // 2])
    health = client.get("/api/health")
    assert health.status_code == 503 and "catalogue.json: not valid JSON" in health.get_json()["catalogue"]
    assert str(layers_dir) not in health.get_data(as_text=True)
    assert client.get("/ogc/collections/sites/items").status_code == 200


@pytest.mark.files_only  # a damaged catalogue file
def test_a_truncated_catalogue_at_start_names_no_server_path(layers_dir, make_app):
    text = (layers_dir / "catalogue.json").read_text()
    (layers_dir / "catalogue.json").write_text(text[:40])
    with pytest.raises(CatalogueError) as caught:
        make_app()
    assert caught.value.message.startswith("catalogue.json: not valid JSON") and "/" not in caught.value.message


DISK_SCRIPT = textwrap.dedent("""
    import json, os, shutil, subprocess, sys
    from pathlib import Path
    mount = Path(sys.argv[1])
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=400k", "tmpfs", str(mount)], check=True)
    shutil.copytree(sys.argv[2], mount / "layers")
    from geo_service.app import create_app
    token = "a-long-test-token-0123456789"
    app = create_app({"layers_dir": mount / "layers", "token": token})
    client = app.test_client()
    def snapshot():
        return {str(p.relative_to(mount)): p.read_bytes() for p in sorted(mount.rglob("*"))
                if p.is_file() and p.name != "fill" and ".locks" not in p.parts and ".cache" not in p.parts}
    def put(body):
        etag = client.get("/api/layers/sites").headers["ETag"]
        r = client.put("/api/layers/sites?filename=x.geojson", data=body,
                       headers={"Authorization": "Bearer " + token, "If-Match": etag})
        return r.status_code, r.get_json()
    big = json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"name": "x" * 200, "n": i},
         "geometry": {"type": "Point", "coordinates": [-12.2, 14.4]}} for i in range(3000)]}).encode()
    results = {}
    before = snapshot()
    with open(mount / "fill", "wb") as fill:  # leave less room than the new layer needs
        free = shutil.disk_usage(mount).free
        fill.write(b"\\0" * max(free - 60_000, 0))
    results["full"] = put(big) + (snapshot() == before, sorted(p.name for p in mount.rglob("*.tmp")))
    (mount / "fill").unlink()
    subprocess.run(["mount", "-o", "remount,ro", str(mount)], check=True)
    results["read_only"] = put(big) + (snapshot() == before, [])
    print(json.dumps(results))
""")


def test_full_disk_and_read_only_folder_are_507_and_change_nothing(layers_dir, tmp_path):
    """A real tmpfs in a private mount namespace: filled up, then remounted read-only."""
    mount = tmp_path / "fs"
    mount.mkdir()
    run = subprocess.run(["unshare", "--user", "--map-root-user", "--mount", sys.executable, "-c", DISK_SCRIPT,
                          str(mount), str(layers_dir)], capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-2000:]
    results = json.loads(run.stdout.strip().splitlines()[-1])
    for case, reason in (("full", "disk holding the layers is full"), ("read_only", "not writable")):
        status, doc, unchanged, litter = results[case]
        assert status == 507 and doc["code"] == "InsufficientStorage", (case, doc)
        assert reason in doc["description"] and "nothing was changed" in doc["description"], doc
        assert "/tmp" not in doc["description"]
        assert unchanged and litter == [], case


def test_a_request_waits_briefly_for_a_slot_then_runs(layers_dir):
    """A burst is served in turn: the slot freed by one request is taken by the next, no 503."""
    import threading

    limiter = SlotLimiter(layers_dir / ".locks" / "slots", total=1, per_client=1, wait_s=30)
    holder = SlotLimiter(limiter.directory, 1, 1)
    released = threading.Event()
    entered = []

    def second():
        with limiter.slot("203.0.113.9"):
            entered.append(released.is_set())

    with holder.slot("203.0.113.9"):
        waiter = threading.Thread(target=second)
        waiter.start()
        waiter.join(0.3)
        assert waiter.is_alive() and entered == []  # still waiting: the slot is held
        released.set()
    waiter.join()
    assert entered == [True]  # it ran only once the first let go

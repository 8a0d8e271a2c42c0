"""PUT /api/layers/<id>: token, If-Match, concurrency; crash safety of replace; security headers."""

import hashlib
import json
import os
import random
import signal
import subprocess
import sys
import threading
import time

import pytest

from geo_service.app import create_app
from geo_service.store import LayerStore
from tests.conftest import assert_error_document

TOKEN = "a-long-test-token-0123456789"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


def geojson(*names, lon=-12.2):
    return json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"id": n, "name": n}, "geometry": {"type": "Point", "coordinates": [lon, 14.4]}}
        for n in names]}).encode()


@pytest.fixture
def writer(store_settings):
    app = create_app({**store_settings, "token": TOKEN})
    yield app.test_client()
    getattr(app.extensions["geo_service.store"], "close", lambda: None)()


def put(client, layer_id, body, headers=None, **query):
    query.setdefault("filename", "x.geojson")
    return client.put(f"/api/layers/{layer_id}", data=body, query_string=query, headers={**AUTH, **(headers or {})})


def test_writes_are_off_without_a_token(client, layers_dir):
    before = (layers_dir / "sites.geojson").read_bytes()
    response = client.put("/api/layers/sites?filename=x.geojson", data=geojson("a"), headers=AUTH)
    assert "GEO_SERVICE_TOKEN" in assert_error_document(response, 403, "WritesDisabled")["description"]
    assert (layers_dir / "sites.geojson").read_bytes() == before


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer wrong"}, {"Authorization": TOKEN}])
def test_wrong_or_missing_token(layers_dir, headers, make_app):
    client = make_app({"token": TOKEN}).test_client()
    response = client.put("/api/layers/sites?filename=x.geojson", data=geojson("a"), headers=headers)
    assert_error_document(response, 401, "Unauthorized")


def test_create_then_replace_with_if_match(writer, open_test_store):
    created = put(writer, "ngo_sites", geojson("a", "b"), title="NGO sites")
    assert created.status_code == 201 and created.get_json()["features"] == 2
    etag = writer.get("/api/layers/ngo_sites").headers["ETag"]
    assert etag == created.headers["ETag"]
    missing = put(writer, "ngo_sites", geojson("c"))
    assert "If-Match" in assert_error_document(missing, 428, "PreconditionRequired")["description"]
    replaced = put(writer, "ngo_sites", geojson("c"), headers={"If-Match": etag})
    assert replaced.status_code == 200 and replaced.headers["ETag"] != etag
    stale = put(writer, "ngo_sites", geojson("d"), headers={"If-Match": etag})
    assert_error_document(stale, 412, "PreconditionFailed")
    assert open_test_store().read("ngo_sites")["id"].tolist() == ["c"]
    assert len(open_test_store().history("ngo_sites")) == 1


def test_put_validation_errors_keep_the_layer(writer, layers_dir):
    etag = writer.get("/api/layers/sites").headers["ETag"]
    before = (layers_dir / "sites.geojson").read_bytes()
    far = put(writer, "sites", geojson("p", lon=2.35), headers={"If-Match": etag})
    assert "outside the service's area" in assert_error_document(far, 400)["description"]
    odd = put(writer, "sites", geojson("a"), headers={"If-Match": etag}, colour="red")
    assert_error_document(odd, 400, "InvalidParameterValue")
    unnamed = writer.put("/api/layers/sites", data=geojson("a"), headers={**AUTH, "If-Match": etag})
    assert "name the file" in assert_error_document(unnamed, 400)["description"]
    assert (layers_dir / "sites.geojson").read_bytes() == before


def test_put_multipart_file(writer):
    import io
    response = writer.put("/api/layers/clinics", data={"file": (io.BytesIO(b"id,lat,lon\nc,14.3,-12.1\n"), "c.csv")},
                          headers=AUTH, content_type="multipart/form-data")
    assert response.status_code == 201 and response.get_json()["created"] is True


def test_concurrent_writers_one_wins_per_version(writer, open_test_store):
    """Many threads write with the same If-Match; exactly one succeeds, the others get 412."""
    app = writer.application
    for round_number in range(4):
        etag = app.test_client().get("/api/layers/sites").headers["ETag"]
        statuses = []
        lock = threading.Lock()

        def attempt(i):
            response = put(app.test_client(), "sites", geojson(f"r{round_number}w{i}"), headers={"If-Match": etag})
            with lock:
                statuses.append((response.status_code, i))

        threads = [threading.Thread(target=attempt, args=(i,)) for i in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        codes = sorted(code for code, _ in statuses)
        assert codes == [200] + [412] * 7, codes
        winner = next(i for code, i in statuses if code == 200)
        assert open_test_store().read("sites")["id"].tolist() == [f"r{round_number}w{winner}"]
    assert len(open_test_store().history("sites")) == 4  # every accepted write kept its predecessor


WRITER = """
import os, sys, time
import geopandas as gpd, numpy as np
import pyogrio
from geo_service.store import LayerStore, fileops, geojson_file
store = LayerStore(sys.argv[1])
stop_at = sys.argv[2]  # "random", or the point inside a replace where this writer stops until killed
rng = np.random.default_rng(0)
frames = []
for tag in ("A", "B"):
    lon, lat = rng.uniform(-13, -11, 20000), rng.uniform(12, 15, 20000)
    frames.append(gpd.GeoDataFrame({"id": [f"{tag}{i}" for i in range(20000)], "name": tag, "source": "crash test"},
                                   geometry=gpd.points_from_xy(lon, lat), crs="EPSG:4326"))

def stop(point):
    print(point, flush=True)
    time.sleep(3600)  # the test kills this process here

real_write, real_replace, real_fsync_dir = pyogrio.write_dataframe, os.replace, fileops.fsync_dir
real_plain = geojson_file.write_plain
if stop_at == "mid-write":  # the disk as a kill leaves it while a layer is written: half a temporary file
    def write(frame, path, **options):  # GDAL's writer
        real_write(frame, path, **options)
        os.truncate(path, os.path.getsize(path) // 2)
        stop(stop_at)
    def write_plain(frame, handle):  # the writer of plain point layers (these frames)
        real_plain(frame, handle)
        handle.flush()
        os.truncate(handle.name, os.path.getsize(handle.name) // 2)
        stop(stop_at)
    geojson_file.pyogrio.write_dataframe = write
    geojson_file.write_plain = write_plain
elif stop_at == "before-rename":
    fileops.os.replace = lambda src, dst: stop(stop_at) if str(dst).endswith("sites.geojson") else real_replace(src, dst)
elif stop_at == "after-rename":
    fileops.fsync_dir = lambda directory: stop(stop_at)  # commit's, after the rename
print("ready", flush=True)
i = 0
while True:
    store.replace("sites", frames[i % 2])
    i += 1
"""


def _digest(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _run_writer(script, layers_dir, stop_at):
    process = subprocess.Popen([sys.executable, str(script), str(layers_dir), stop_at], stdout=subprocess.PIPE,
                               text=True)
    assert process.stdout.readline().strip() == "ready"
    return process


def _kill(process):
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    process.stdout.close()


@pytest.mark.parametrize("point, expected", [("mid-write", "old"), ("before-rename", "old"),
                                             ("after-rename", "new")])
def test_writer_killed_inside_a_replace_leaves_a_whole_layer(layers_dir, tmp_path, point, expected):
    """The writer stops itself at a point inside a replace and is killed there: no timing involved."""
    script = tmp_path / "writer.py"
    script.write_text(WRITER)
    path = layers_dir / "sites.geojson"
    before = path.read_bytes()
    process = _run_writer(script, layers_dir, point)
    assert process.stdout.readline().strip() == point  # it is inside the write now
    _kill(process)
    frame = LayerStore(layers_dir).read("sites")  # parses: never half-written
    if expected == "old":
        assert path.read_bytes() == before
        assert list(layers_dir.glob(".sites.*.tmp"))  # the dead writer's litter…
    else:
        assert len(frame) == 20000 and set(frame["name"]) == {"A"}
    LayerStore(layers_dir).replace("sites", frame.iloc[:3])
    assert not list(layers_dir.glob(".sites.*.tmp"))  # …is removed by the next writer at once


def test_writer_killed_at_random_moments_never_leaves_a_broken_layer(layers_dir, tmp_path):
    """Kills wherever they land (inside a write or between writes): the file is always a whole version."""
    script = tmp_path / "writer.py"
    script.write_text(WRITER)
    rng = random.Random(11)
    for _ in range(4):
        process = _run_writer(script, layers_dir, "random")
        time.sleep(rng.uniform(0.05, 1.0))
        _kill(process)
        frame = LayerStore(layers_dir).read("sites")
        assert len(frame) in (4, 20000)
        assert set(frame["name"]) <= {"A", "B", "Kidira", "Diboli", "Kayes", "<img src=x onerror=alert(1)>"}


def test_security_headers_on_every_response(client):
    for url in ("/", "/api/health", "/api/nope", "/ogc/collections", "/assets/leaflet/dist/leaflet.js",
                "/layers/sites.csv", "/proximity"):
        response = client.get(url)
        assert response.headers["X-Content-Type-Options"] == "nosniff", url
        assert response.headers["Referrer-Policy"] == "same-origin"
        csp = response.headers["Content-Security-Policy"]
        assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp and "object-src 'none'" in csp
        assert "https://tile.openstreetmap.org" in csp and "unsafe-inline" not in csp.split("script-src")[1].split(";")[0]
        response.close()


def test_inline_scripts_carry_the_requests_nonce(client):
    response = client.get("/")
    nonce = response.headers["Content-Security-Policy"].split("'nonce-")[1].split("'")[0]
    html = response.get_data(as_text=True)
    import re
    inline = re.findall(r"<script(?![^>]*\bsrc=)([^>]*)>", html)
    assert inline and all(f'nonce="{nonce}"' in attrs or 'type="application/json"' in attrs for attrs in inline)
    assert client.get("/").headers["Content-Security-Policy"] != response.headers["Content-Security-Policy"]

"""Fixtures: a temporary layers folder of small test layers, the app on it, a client and a CLI runner."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from click.testing import CliRunner

from geo_service.app import create_app
from geo_service.config import Settings
from geo_service.store import open_store
from geo_service.web.context import STORE_KEY
from geo_service.cli import main as cli_main

REPO = Path(__file__).resolve().parent.parent
BUNDLED_LAYERS = REPO / "layers"
HOSTILE_NAME = "<img src=x onerror=alert(1)>"


def catalogue_entry(layer_id: str, geometry_type: str) -> dict:
    return {
        "id": layer_id,
        "title": {"en": f"Test {layer_id}", "fr": f"Test {layer_id} (fr)"},
        "description": {"en": "A small test layer.", "fr": "Une petite couche de test."},
        "geometry_type": geometry_type,
        "licence": "CC0-1.0",
        "attribution": "geo-service tests",
        "sources": [{"name": "hand-made test data", "citation": "tests/conftest.py", "licence": "CC0-1.0"}],
        "method": "Written by the test fixture.",
        "updated": "2026-01-01",
        "style": {"color": "#123456"},
    }


def feature(fid: str, geometry: dict, **props) -> dict:
    props.setdefault("source", "tests")
    return {"type": "Feature", "id": fid, "properties": props, "geometry": geometry}


def point(lon: float, lat: float) -> dict:
    return {"type": "Point", "coordinates": [lon, lat]}


TEST_LAYERS = {
    "sites": ("Point", [
        feature("kidira", point(-12.21659, 14.45668), name="Kidira", country="SN", population=13551),
        feature("diboli", point(-12.200601, 14.457159), name="Diboli", country="ML", population=None),
        feature("kayes", point(-11.44393, 14.44776), name="Kayes", country="ML", population=194716),
        feature("hostile", point(-11.9, 13.9), name=HOSTILE_NAME, country="ML", population=5,
                note="=HYPERLINK(\"http://example.invalid\")"),
    ]),
    "roads": ("LineString", [
        feature("r1", {"type": "LineString", "coordinates": [[-12.2, 14.45], [-11.44, 14.45]]}, name="Road"),
    ]),
    "zones": ("Polygon", [
        feature("z1", {"type": "Polygon", "coordinates": [[[-12.5, 14.0], [-11.0, 14.0], [-11.0, 15.0],
                                                          [-12.5, 15.0], [-12.5, 14.0]]]}, name="Zone"),
    ]),
}


def write_layers(directory: Path, layers: dict = TEST_LAYERS) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    entries = []
    for layer_id, (geometry_type, features) in layers.items():
        entries.append(catalogue_entry(layer_id, geometry_type))
        (directory / f"{layer_id}.geojson").write_text(
            json.dumps({"type": "FeatureCollection", "features": features}), encoding="utf-8")
    (directory / "catalogue.json").write_text(
        json.dumps({"catalogue_version": 1, "layers": entries}, indent=1), encoding="utf-8")
    return directory


@pytest.fixture(scope="session", autouse=True)
def downloads_outside_the_repository(tmp_path_factory):
    """Whole-layer downloads are cached in the layers folder by default; tests of the bundled layers
    must not write into the repository's."""
    os.environ.setdefault("GEO_SERVICE_DOWNLOADS_DIR", str(tmp_path_factory.mktemp("downloads")))


@pytest.fixture(scope="session")
def pg_cluster():
    """A throwaway PostgreSQL/PostGIS cluster for the session (Debian's binaries, a temporary folder)."""
    from tests.pg_cluster import Cluster

    cluster = Cluster().start()
    yield cluster
    cluster.stop()


@pytest.fixture
def database_url(pg_cluster):
    """A new, empty PostGIS database for one test."""
    url = pg_cluster.new_database()
    yield url
    pg_cluster.drop_database(url)


def postgis_store(url: str, layers_dir: Path, **options):
    """A PostGIS store loaded from a layers folder, as ``geo-service db init`` does."""
    from geo_service.store.postgis import PostGISStore
    from geo_service.store.transfer import load_folder

    store = PostGISStore(url, create=True, **options)
    load_folder(store, layers_dir)
    return store


@pytest.fixture
def layers_dir(tmp_path: Path) -> Path:
    return write_layers(tmp_path / "layers")


def pytest_addoption(parser):
    parser.addoption("--store", choices=("files", "tables", "postgis"), default="files",
                     help="the store backend the app, client and runner fixtures use (postgis: a throwaway "
                          "cluster is started for the session and the test layers loaded as `db init` does; "
                          "tables: the files backend serving every layer from its Arrow table, as it serves "
                          "large ones)")


@pytest.fixture
def backend(request) -> str:
    return request.config.getoption("--store")


@pytest.fixture
def store_settings(request, backend, layers_dir: Path) -> dict:
    """Settings that put the app and CLI on the chosen backend, with the test layers in it."""
    if backend == "files":
        return {"layers_dir": layers_dir}
    if backend == "tables":
        return {"layers_dir": layers_dir, "table_min_mb": 0}
    url = request.getfixturevalue("database_url")
    postgis_store(url, layers_dir).close()
    return {"layers_dir": layers_dir, "database_url": url}


@pytest.fixture
def open_test_store(store_settings: dict):
    """Open the test layers' store on the chosen backend, as another process would: ``open_test_store()``,
    or with settings changed: ``open_test_store(history_keep=1)``."""
    opened = []

    def open_(**changes):
        store = open_store(Settings().with_overrides(**store_settings, **changes))
        opened.append(store)
        return store

    yield open_
    for store in opened:
        getattr(store, "close", lambda: None)()


def pytest_configure(config):
    config.addinivalue_line("markers", "files_only: about the files backend itself (damaged files on disk, "
                                       "the layers folder): not run with --store=postgis")


def pytest_collection_modifyitems(config, items):
    """With --store=postgis or tables, run the tests that go through the store fixtures (the others do not
    touch a backend; those about the files backend itself run on tables, not on PostGIS)."""
    backend = config.getoption("--store")
    if backend == "files":
        return
    chosen, left = [], []
    for item in items:
        uses_store = "store_settings" in getattr(item, "fixturenames", ())
        fits = backend == "tables" or not item.get_closest_marker("files_only")
        (chosen if uses_store and fits else left).append(item)
    if left:
        config.hook.pytest_deselected(items=left)
        items[:] = chosen


@pytest.fixture
def make_app(store_settings: dict):
    """``make_app({"token": …})``: an app on the test layers (either backend) with more settings."""
    made = []

    def make(settings: dict | None = None):
        made.append(create_app({**store_settings, **(settings or {})}))
        return made[-1]

    yield make
    for app in made:
        getattr(app.extensions[STORE_KEY], "close", lambda: None)()


@pytest.fixture
def app(store_settings: dict):
    app = create_app(store_settings)
    app.config.update(TESTING=True)
    yield app
    close = getattr(app.extensions[STORE_KEY], "close", None)
    if close:
        close()  # the database backend's connection pool


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(store_settings: dict):
    """Invoke the CLI on the test layers (the temporary folder, or the test database with --store=postgis):
    ``runner(["layers", "list"])``; ``layers=`` names another folder (files only)."""
    cli = CliRunner()

    def invoke(args: list[str], layers: Path | None = None):
        where = ["--layers-dir", str(layers or store_settings["layers_dir"])]
        if "database_url" in store_settings and layers is None:
            where += ["--database-url", store_settings["database_url"]]
        return cli.invoke(cli_main, [*where, *args], catch_exceptions=False)

    return invoke


def assert_error_document(response, status: int, code: str | None = None) -> dict:
    """Every JSON error has the one canonical shape: code, description, status."""
    assert response.status_code == status
    assert response.mimetype == "application/json"
    doc = response.get_json()
    assert set(doc) <= {"code", "description", "status", "details"}
    assert isinstance(doc["code"], str) and doc["code"]
    assert isinstance(doc["description"], str) and doc["description"]
    assert doc["status"] == status
    if code is not None:
        assert doc["code"] == code
    return doc

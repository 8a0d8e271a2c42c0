"""Fixtures: a temporary layers folder of small test layers, the app on it, a client and a CLI runner."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from click.testing import CliRunner

from geo_service.app import create_app
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


@pytest.fixture
def layers_dir(tmp_path: Path) -> Path:
    return write_layers(tmp_path / "layers")


@pytest.fixture
def app(layers_dir: Path):
    app = create_app({"layers_dir": layers_dir})
    app.config.update(TESTING=True)
    return app


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(layers_dir: Path):
    """Invoke the CLI on the temporary layers folder: ``runner(["layers", "list"])``."""
    cli = CliRunner()

    def invoke(args: list[str], layers: Path | None = None):
        return cli.invoke(cli_main, ["--layers-dir", str(layers or layers_dir), *args], catch_exceptions=False)

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

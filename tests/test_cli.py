"""The geo-service command line."""

import json

import pytest
from click.testing import CliRunner

from geo_service.cli import main
from tests.conftest import BUNDLED_LAYERS


def test_layers_list_on_the_bundled_layers_shows_all_with_counts():
    result = CliRunner().invoke(main, ["--layers-dir", str(BUNDLED_LAYERS), "layers", "list"])
    assert result.exit_code == 0, result.output
    rows = result.output.strip().splitlines()[1:]
    assert [r.split()[0] for r in rows] == ["border", "regions", "patrol_bases", "health_centres", "rivers",
                                            "communities", "crossings"]
    for row in rows:
        count = int(row.split("  ")[[i for i, c in enumerate(row.split("  ")) if c.strip().isdigit()][0]])
        assert count > 0, row


def test_layers_list_columns(runner):
    result = runner(["layers", "list"])
    assert result.exit_code == 0
    header, sites = result.output.splitlines()[:2]
    assert header.split() == ["ID", "TITLE", "FEATURES", "GEOMETRY", "SOURCE"]
    assert sites.split()[:5] == ["sites", "Test", "sites", "4", "Point"]
    assert "hand-made test data (tests/conftest.py)" in sites


def test_layers_show(runner):
    result = runner(["layers", "show", "sites"])
    assert result.exit_code == 0
    assert "features:    4 (Point)" in result.output
    assert "properties:  id, name, country, population" in result.output
    assert "licence:     CC0-1.0" in result.output


def test_show_unknown_layer_is_a_clear_error(runner):
    result = runner(["layers", "show", "../etc"])
    assert result.exit_code == 1
    assert "no layer '../etc'; known layers: sites, roads, zones" in result.output


def test_validate_passes_on_good_layers(runner):
    result = runner(["layers", "validate"])
    assert result.exit_code == 0 and result.output.startswith("ok: ")


@pytest.mark.files_only  # files in the layers folder
def test_validate_names_file_and_problem_for_a_broken_layer(runner, layers_dir):
    doc = json.loads((layers_dir / "zones.geojson").read_text())
    doc["features"][0]["geometry"]["coordinates"][0].reverse()  # clockwise exterior
    doc["crs"] = {"type": "name", "properties": {"name": "EPSG:32628"}}
    (layers_dir / "zones.geojson").write_text(json.dumps(doc))
    (layers_dir / "roads.geojson").unlink()
    result = runner(["layers", "validate"])
    assert result.exit_code == 1
    assert f"{layers_dir / 'zones.geojson'}: has a 'crs' member" in result.output
    assert f"{layers_dir / 'zones.geojson'}: feature 1 (id 'z1'): exterior ring is clockwise" in result.output
    assert f"{layers_dir / 'roads.geojson'}: roads.geojson: layer file is missing" in result.output
    assert "3 problem(s)" in result.output


@pytest.mark.files_only  # files in the layers folder
def test_validate_reports_missing_source_and_uncatalogued_files(runner, layers_dir):
    doc = json.loads((layers_dir / "roads.geojson").read_text())
    del doc["features"][0]["properties"]["source"]
    (layers_dir / "roads.geojson").write_text(json.dumps(doc))
    (layers_dir / "stray.geojson").write_text(json.dumps({"type": "FeatureCollection", "features": []}))
    result = runner(["layers", "validate"])
    assert result.exit_code == 1
    assert "roads.geojson: feature 1 (id 'r1'): has no 'source' property" in result.output
    assert "stray.geojson: not in the catalogue" in result.output


@pytest.mark.files_only  # files in the layers folder
def test_validate_names_file_and_problem_for_a_broken_catalogue(runner, layers_dir):
    cat = json.loads((layers_dir / "catalogue.json").read_text())
    del cat["layers"][1]["licence"]
    (layers_dir / "catalogue.json").write_text(json.dumps(cat))
    result = runner(["layers", "validate"])
    assert result.exit_code == 1
    assert "catalogue.json: layers[1]: 'licence' is a required property" in result.output
    assert str(layers_dir) in result.output  # the CLI, run by the operator, names the folder


def test_markdown_table_option(runner):
    result = runner(["layers", "list", "--markdown"])
    assert result.output.startswith("| Layer | What it is | Source | Licence | How it was made |")
    assert "| `sites` | **Test sites**. A small test layer." in result.output


def test_bad_env_setting_is_a_clear_error(monkeypatch, layers_dir):
    monkeypatch.setenv("GEO_SERVICE_PORT", "eighty")
    result = CliRunner().invoke(main, ["layers", "list"])
    assert result.exit_code == 1 and "GEO_SERVICE_PORT must be a whole number" in result.output


def test_the_command_line_lists_every_download_format_without_importing_them():
    """`serve --production` hands over to gunicorn without importing geopandas first: the command line knows
    the formats' keys from a module of its own, which must name exactly the formats there are."""
    import subprocess
    import sys

    from geo_service.io.format_keys import FORMAT_KEYS
    from geo_service.io.formats import FORMATS

    assert FORMAT_KEYS == tuple(FORMATS)
    loaded = subprocess.run([sys.executable, "-c", "import sys, geo_service.cli; print(sorted(sys.modules))"],
                            capture_output=True, text=True, check=True).stdout
    assert "'geopandas'" not in loaded and "'flask'" not in loaded and "'geo_service.cli'" in loaded

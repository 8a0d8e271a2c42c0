"""Settings from the environment and the error documents."""

from pathlib import Path

import pytest

from geo_service.config import bundled_dir, settings_from_env
from geo_service.errors import ConfigError, InvalidParameterError, LayerNotFoundError


def test_defaults_point_at_the_bundled_folders():
    settings = settings_from_env({})
    assert settings.layers_dir == bundled_dir("layers")
    assert (settings.layers_dir / "catalogue.json").is_file()
    assert (settings.templates_dir / "base.html").is_file()
    assert (settings.host, settings.port) == ("127.0.0.1", 5000)


def test_env_prefix_overrides(tmp_path):
    settings = settings_from_env({"GEO_SERVICE_LAYERS_DIR": str(tmp_path), "GEO_SERVICE_PORT": "8080",
                                  "GEO_SERVICE_HOST": "0.0.0.0", "LAYERS_DIR": "/ignored"})
    assert settings.layers_dir == Path(tmp_path)
    assert settings.catalogue_path == Path(tmp_path) / "catalogue.json"
    assert (settings.host, settings.port) == ("0.0.0.0", 8080)


@pytest.mark.parametrize("raw", ["http", "0", "70000", "-1"])
def test_bad_port_is_a_clear_error(raw):
    with pytest.raises(ConfigError, match="GEO_SERVICE_PORT"):
        settings_from_env({"GEO_SERVICE_PORT": raw})


def test_errors_carry_status_and_canonical_document():
    error = InvalidParameterError("limit must be 0 or more", details={"limit": -1})
    assert error.to_document() == {"code": "InvalidParameterValue", "description": "limit must be 0 or more",
                                   "status": 400, "details": {"limit": -1}}
    assert LayerNotFoundError("x").status == 404


def test_the_database_pool_is_a_whole_number_of_one_or_more():
    assert settings_from_env({}).database_pool == 8
    assert settings_from_env({"GEO_SERVICE_DATABASE_POOL": "3"}).database_pool == 3
    for raw in ("0", "x", "-2"):
        with pytest.raises(ConfigError, match="GEO_SERVICE_DATABASE_POOL"):
            settings_from_env({"GEO_SERVICE_DATABASE_POOL": raw})

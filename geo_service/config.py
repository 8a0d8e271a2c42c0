"""Settings with defaults, read from GEO_SERVICE_* environment variables."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from geo_service.errors import ConfigError

ENV_PREFIX = "GEO_SERVICE_"
_PACKAGE_DIR = Path(__file__).resolve().parent


def bundled_dir(name: str) -> Path:
    """Return a top-level data folder (``layers``, ``templates``) of the project.

    A wheel carries it inside the package (``_bundled/``); an editable
    install or a source checkout has it beside the package.
    """
    inside = _PACKAGE_DIR / "_bundled" / name
    if inside.is_dir():
        return inside
    return _PACKAGE_DIR.parent / name


@dataclass(frozen=True)
class Extent:
    """The area where the service's points are expected (lon/lat degrees)."""

    west: float = -18.0
    south: float = 10.0
    east: float = -8.0
    north: float = 17.5

    def contains(self, lon: Any, lat: Any) -> Any:
        return (lon >= self.west) & (lon <= self.east) & (lat >= self.south) & (lat <= self.north)

    def describe(self) -> str:
        return f"longitude {self.west} to {self.east}, latitude {self.south} to {self.north}"


@dataclass(frozen=True)
class Settings:
    """Everything the app and CLI can be configured with."""

    layers_dir: Path = field(default_factory=lambda: bundled_dir("layers"))
    templates_dir: Path = field(default_factory=lambda: bundled_dir("templates"))
    # npm packages of the map (package.json, installed by `npm ci`); served at /assets/
    assets_dir: Path = field(default_factory=lambda: bundled_dir("node_modules"))
    host: str = "127.0.0.1"
    port: int = 5000
    max_upload_mb: int = 25
    max_features: int = 200_000  # per imported layer
    history_keep: int = 10  # previous versions kept per layer
    token: str | None = field(default=None, repr=False)  # writes through the API are off without it
    # The area where uploaded points are expected; points outside are refused unless allowed.
    extent: Extent = field(default_factory=Extent)

    @property
    def catalogue_path(self) -> Path:
        return self.layers_dir / "catalogue.json"

    def with_overrides(self, **changes: object) -> Settings:
        """A copy with the given fields replaced (``None`` values are ignored)."""
        return replace(self, **{k: v for k, v in changes.items() if v is not None})


def _parse_port(raw: str) -> int:
    try:
        port = int(raw)
    except ValueError:
        raise ConfigError(f"{ENV_PREFIX}PORT must be a whole number, got {raw!r}") from None
    if not 1 <= port <= 65535:
        raise ConfigError(f"{ENV_PREFIX}PORT must be between 1 and 65535, got {port}")
    return port


def _parse_extent(raw: str) -> Extent:
    try:
        west, south, east, north = (float(v) for v in raw.split(","))
    except ValueError:
        raise ConfigError(f"{ENV_PREFIX}EXTENT must be west,south,east,north in degrees, got {raw!r}") from None
    if not (-180 <= west < east <= 180 and -90 <= south < north <= 90):
        raise ConfigError(f"{ENV_PREFIX}EXTENT is not a valid lon/lat box: {raw!r}")
    return Extent(west, south, east, north)


def settings_from_env(environ: Mapping[str, str] | None = None) -> Settings:
    """Build settings from ``GEO_SERVICE_LAYERS_DIR``, ``_TEMPLATES_DIR``, ``_ASSETS_DIR``, ``_HOST``, ``_PORT``."""
    env = os.environ if environ is None else environ
    changes: dict[str, object] = {}
    if raw := env.get(f"{ENV_PREFIX}LAYERS_DIR"):
        changes["layers_dir"] = Path(raw)
    if raw := env.get(f"{ENV_PREFIX}TEMPLATES_DIR"):
        changes["templates_dir"] = Path(raw)
    if raw := env.get(f"{ENV_PREFIX}ASSETS_DIR"):
        changes["assets_dir"] = Path(raw)
    if raw := env.get(f"{ENV_PREFIX}HOST"):
        changes["host"] = raw
    if raw := env.get(f"{ENV_PREFIX}PORT"):
        changes["port"] = _parse_port(raw)
    if raw := env.get(f"{ENV_PREFIX}MAX_UPLOAD_MB"):
        if not raw.isdigit() or int(raw) < 1:
            raise ConfigError(f"{ENV_PREFIX}MAX_UPLOAD_MB must be a whole number of MB, got {raw!r}")
        changes["max_upload_mb"] = int(raw)
    if raw := env.get(f"{ENV_PREFIX}TOKEN"):
        if len(raw) < 16:
            raise ConfigError(f"{ENV_PREFIX}TOKEN must be at least 16 characters")
        changes["token"] = raw
    for name in ("MAX_FEATURES", "HISTORY_KEEP"):
        if raw := env.get(f"{ENV_PREFIX}{name}"):
            if not raw.isdigit() or int(raw) < 1:
                raise ConfigError(f"{ENV_PREFIX}{name} must be a whole number of 1 or more, got {raw!r}")
            changes[name.lower()] = int(raw)
    if raw := env.get(f"{ENV_PREFIX}EXTENT"):
        changes["extent"] = _parse_extent(raw)
    return Settings().with_overrides(**changes)

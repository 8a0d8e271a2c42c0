"""Settings with defaults, read from GEO_SERVICE_* environment variables."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
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
class InputLimits:
    """How much one uploaded file may hold; checked while reading, before GDAL builds anything.

    Each bound keeps a worker's memory and time for one file within a stated
    budget (see the README): a file past any of them is refused whole.
    """

    upload_mb: int = 25  # the request body
    features: int = 200_000  # rows or features of one file / layer
    properties: int = 250  # columns (property names) of one file / layer
    cells: int = 10_000_000  # features × properties: a sparse file costs this much once stored
    vertices: int = 2_000_000  # coordinate positions of one file / layer
    feature_vertices: int = 500_000  # positions of one feature
    unpacked_mb: int = 200  # a zipped upload, unpacked

    @property
    def upload_bytes(self) -> int:
        return self.upload_mb * 2**20


@dataclass(frozen=True)
class Settings:
    """Everything the app and CLI can be configured with."""

    layers_dir: Path = field(default_factory=lambda: bundled_dir("layers"))
    templates_dir: Path = field(default_factory=lambda: bundled_dir("templates"))
    # npm packages of the map (package.json, installed by `npm ci`); served at /assets/
    assets_dir: Path = field(default_factory=lambda: bundled_dir("node_modules"))
    host: str = "127.0.0.1"
    port: int = 5000
    # Limits for token holders (imports) and for anyone (proximity uploads without a token).
    limits: InputLimits = field(default_factory=InputLimits)
    anonymous_limits: InputLimits = field(default_factory=lambda: InputLimits(upload_mb=10, features=50_000))
    history_keep: int = 10  # previous versions kept per layer (pinned ones come on top)
    max_layer_mb: int = 512  # a stored layer file larger than this is reported unavailable, not loaded
    # files backend: a layer file of at least this size is served from a memory-mapped Arrow table shared by
    # the workers of a host (layers/.cache/tables); smaller ones are parsed into each worker
    table_min_mb: int = 8
    token: str | None = field(default=None, repr=False)  # writes through the API are off without it
    # The area where uploaded points are expected; points outside are refused unless allowed.
    extent: Extent = field(default_factory=Extent)
    analysis_seconds: float = 60.0  # time budget of one proximity request, reading included
    analysis_slots: int = 2  # proximity requests and uploads running at once on one host
    client_slots: int = 1  # of those, how many one anonymous client may hold
    slot_wait_seconds: float = 5.0  # how long a request waits for a free slot before a 503
    base_url: str | None = None  # public URL of the service for links (else the request's Host)
    allowed_origins: tuple[str, ...] = ()  # other web origins allowed to POST/PUT (default: none)
    # web origins whose pages may read the OGC API, downloads and JSON API (GET/HEAD) in the browser:
    # ("*",) any (the data are public), () none
    read_origins: tuple[str, ...] = ("*",)
    runtime_dir: Path | None = None  # lock files of the slots (default: the layers folder's .locks)
    results_dir: Path | None = None  # saved analyses behind links (default: the layers folder's .results)
    results_max_mb: int = 500  # the results folder's size; the oldest results go first
    results_max_days: int = 90  # a saved result's life
    basemaps_dir: Path | None = None  # MBTiles/PMTiles files offered as offline base maps (default: none)
    downloads_dir: Path | None = None  # full-layer downloads kept per version (default: the layers folder's .cache)
    downloads_max_mb: int = 2048  # that folder's size; the least recently used files go first
    map_tiles_above: int = 20_000  # a layer with more features is drawn on the map as vector tiles
    # PostgreSQL/PostGIS holding the layers instead of the layers folder (postgresql://user@host/db)
    database_url: str | None = field(default=None, repr=False)
    database_pool: int = 8  # connections each worker process may hold to it

    def __post_init__(self) -> None:
        for name in ("layers_dir", "templates_dir", "assets_dir", "runtime_dir", "results_dir",
                     "basemaps_dir", "downloads_dir"):  # overrides may give str
            value = getattr(self, name)
            if value is not None and not isinstance(value, Path):
                object.__setattr__(self, name, Path(value))

    @property
    def catalogue_path(self) -> Path:
        return self.layers_dir / "catalogue.json"

    def with_overrides(self, **changes: object) -> Settings:
        """A copy with the given fields replaced (``None`` values are ignored).

        ``max_upload_mb`` and ``max_features`` change the token holders' limits
        (and the anonymous ones where those would be larger).
        """
        changes = {k: v for k, v in changes.items() if v is not None}
        limit_changes = {new: changes.pop(old) for old, new in (("max_upload_mb", "upload_mb"),
                                                                ("max_features", "features")) if old in changes}
        settings = replace(self, **changes)
        if limit_changes:
            limits = replace(settings.limits, **limit_changes)
            anonymous = replace(settings.anonymous_limits, **{
                name: min(getattr(settings.anonymous_limits, name), value) for name, value in limit_changes.items()})
            settings = replace(settings, limits=limits, anonymous_limits=anonymous)
        return settings


def parse_database_url(raw: str) -> str:
    """A libpq connection URL (``postgresql://user:password@host:port/database?options``)."""
    if not re.match(r"^postgres(ql)?://", raw.strip()):
        raise ConfigError(f"{ENV_PREFIX}DATABASE_URL must be a postgresql:// URL "
                          "(e.g. postgresql://geo@db.example.org/geo_service)")
    return raw.strip()


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


def _whole(name: str, raw: str) -> int:
    if not re.fullmatch(r"[0-9]+", raw) or int(raw) < 1:
        raise ConfigError(f"{ENV_PREFIX}{name} must be a whole number of 1 or more, got {raw!r}")
    return int(raw)


_ORIGIN = re.compile(r"^https?://[A-Za-z0-9.-]+(:[0-9]{1,5})?$")


def _parse_url(name: str, raw: str, *, origin: bool = False) -> str:
    value = raw.strip().rstrip("/")
    if origin and not _ORIGIN.match(value):
        raise ConfigError(f"{ENV_PREFIX}{name}: {raw!r} is not an origin like https://example.org")
    if not origin and not re.match(r"^https?://[A-Za-z0-9.-]+(:[0-9]{1,5})?(/[^\s?#]*)?$", value):
        raise ConfigError(f"{ENV_PREFIX}{name} must be an http(s) URL with no query, got {raw!r}")
    return value


def _limits_from_env(env: Mapping[str, str], prefix: str, base: InputLimits) -> InputLimits:
    """``GEO_SERVICE_<prefix>MAX_<FIELD>`` for each field of InputLimits (e.g. ``ANON_MAX_UPLOAD_MB``)."""
    changes = {}
    for item in fields(InputLimits):
        if raw := env.get(f"{ENV_PREFIX}{prefix}MAX_{item.name.upper()}"):
            changes[item.name] = _whole(f"{prefix}MAX_{item.name.upper()}", raw)
    return replace(base, **changes)


def settings_from_env(environ: Mapping[str, str] | None = None) -> Settings:
    """Build settings from the ``GEO_SERVICE_*`` variables listed in the README."""
    env = os.environ if environ is None else environ
    defaults = Settings()
    changes: dict[str, object] = {}
    for name in ("LAYERS_DIR", "TEMPLATES_DIR", "ASSETS_DIR", "RUNTIME_DIR", "RESULTS_DIR", "BASEMAPS_DIR",
                 "DOWNLOADS_DIR"):
        if raw := env.get(f"{ENV_PREFIX}{name}"):
            changes[name.lower()] = Path(raw)
    if raw := env.get(f"{ENV_PREFIX}HOST"):
        changes["host"] = raw
    if raw := env.get(f"{ENV_PREFIX}PORT"):
        changes["port"] = _parse_port(raw)
    if raw := env.get(f"{ENV_PREFIX}TOKEN"):
        if len(raw) < 16:
            raise ConfigError(f"{ENV_PREFIX}TOKEN must be at least 16 characters")
        changes["token"] = raw
    for name in ("HISTORY_KEEP", "ANALYSIS_SLOTS", "CLIENT_SLOTS", "MAX_LAYER_MB", "RESULTS_MAX_MB",
                 "RESULTS_MAX_DAYS", "DOWNLOADS_MAX_MB", "MAP_TILES_ABOVE", "TABLE_MIN_MB",
                 "DATABASE_POOL"):
        if raw := env.get(f"{ENV_PREFIX}{name}"):
            changes[name.lower()] = _whole(name, raw)
    for name in ("ANALYSIS_SECONDS", "SLOT_WAIT_SECONDS"):
        if raw := env.get(f"{ENV_PREFIX}{name}"):
            changes[name.lower()] = float(_whole(name, raw))
    if raw := env.get(f"{ENV_PREFIX}EXTENT"):
        changes["extent"] = _parse_extent(raw)
    if raw := env.get(f"{ENV_PREFIX}BASE_URL"):
        changes["base_url"] = _parse_url("BASE_URL", raw)
    if raw := env.get(f"{ENV_PREFIX}ALLOWED_ORIGINS"):
        changes["allowed_origins"] = tuple(_parse_url("ALLOWED_ORIGINS", o, origin=True)
                                           for o in raw.split(",") if o.strip())
    if (raw := env.get(f"{ENV_PREFIX}READ_ORIGINS")) is not None:
        words = [o.strip() for o in raw.split(",") if o.strip()]
        changes["read_origins"] = ("*",) if words == ["*"] else tuple(
            _parse_url("READ_ORIGINS", o, origin=True) for o in words)
    if raw := env.get(f"{ENV_PREFIX}DATABASE_URL"):
        changes["database_url"] = parse_database_url(raw)
    changes["limits"] = _limits_from_env(env, "", defaults.limits)
    changes["anonymous_limits"] = _limits_from_env(env, "ANON_", defaults.anonymous_limits)
    return defaults.with_overrides(**changes)

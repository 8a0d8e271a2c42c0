"""Full-layer downloads kept on disk, one file per layer version, format and options: built once, then streamed.

Writing a large layer as GeoPackage or GeoJSON takes seconds (a million points: half a minute), and a
download too large for the memory cache used to be rebuilt on every request. Each is now written once
into the cache folder (a temporary file renamed into place, under a lock, so two workers never build the
same file twice), with a gzipped copy for the text formats; every later request streams the file, and
ranges let an interrupted download resume. The folder is bounded: the least recently used files go first.
A replaced layer's files are never served again (its version is in their names) and age out.
"""

from __future__ import annotations

import fcntl
import gzip
import logging
import os
import re
import secrets
from collections.abc import Callable, Iterable
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)
SAFE_KEY = re.compile(r"[A-Za-z0-9_.-]{1,200}")


@dataclass(frozen=True)
class CachedDownload:
    path: Path
    gzipped: Path | None  # the same bytes gzipped (text formats), or None


class DownloadCache:
    def __init__(self, directory: Path, max_bytes: int) -> None:
        self.directory = directory
        self.max_bytes = max_bytes

    def get(self, key: str, build: Callable[[], bytes | Iterable[bytes]], gzip_too: bool) -> CachedDownload | None:
        """The cached file for ``key`` (a layer version and the request's options), built if missing.

        None when the folder cannot be written (full disk, read-only): the caller then answers from memory.
        """
        if not SAFE_KEY.fullmatch(key):
            raise ValueError(f"unsafe cache key {key!r}")
        path = self.directory / key
        zipped = path.with_name(path.name + ".gz") if gzip_too else None
        try:
            if not self._ready(path, zipped):
                self.directory.mkdir(parents=True, exist_ok=True)
                with open(self.directory / ".lock", "a+") as lock:
                    fcntl.flock(lock, fcntl.LOCK_EX)  # one builder per host; the others wait and then read
                    if not self._ready(path, zipped):
                        self._write(path, zipped, build())
                self.prune(keep={path, zipped})
            for used in (path, zipped):
                if used is not None:
                    os.utime(used)  # recently used: pruned last
        except OSError as exc:
            log.warning("download cache %s unusable: %s", self.directory, exc)
            return None
        return CachedDownload(path, zipped)

    @staticmethod
    def _ready(path: Path, zipped: Path | None) -> bool:
        return path.is_file() and (zipped is None or zipped.is_file())

    @staticmethod
    def _write(path: Path, zipped: Path | None, data: bytes | Iterable[bytes]) -> None:
        """Write the file (and its gzipped copy) from bytes or from chunks, so a large layer's document
        goes from the store to the disk without being held whole."""
        tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
        ztmp = tmp.with_name(tmp.name + ".gz")
        try:
            with ExitStack() as files:
                plain = files.enter_context(open(tmp, "wb"))
                packed = None if zipped is None else files.enter_context(gzip.GzipFile(
                    fileobj=files.enter_context(open(ztmp, "wb")), mode="wb", compresslevel=6, mtime=0))
                for chunk in [data] if isinstance(data, bytes) else data:
                    plain.write(chunk)
                    if packed is not None:
                        packed.write(chunk)
            if zipped is not None:
                os.replace(ztmp, zipped)
            os.replace(tmp, path)
        finally:
            for leftover in (tmp, tmp.with_name(tmp.name + ".gz")):
                leftover.unlink(missing_ok=True)

    def prune(self, keep: set = frozenset()) -> None:
        """Remove the least recently used files until the folder fits in ``max_bytes``."""
        files = sorted((p for p in self.directory.glob("*") if p.is_file() and not p.name.startswith(".")),
                       key=lambda p: p.stat().st_mtime)
        total = sum(p.stat().st_size for p in files)
        for old in files:
            if total <= self.max_bytes:
                break
            if old in keep:
                continue
            total -= old.stat().st_size
            old.unlink(missing_ok=True)

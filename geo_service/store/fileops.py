"""A layer file's bytes on disk: its version (content hash), temporary files renamed into place, and disk
failures as errors that name no server path. No GeoJSON here (``geojson_file``), so that the backends and
the history use it without loading GDAL."""

from __future__ import annotations

import errno
import hashlib
import os
import secrets
from pathlib import Path

from geo_service.errors import StorageError

_FULL = (errno.ENOSPC, errno.EDQUOT, errno.EFBIG)


def digest(data: bytes) -> str:
    """A layer version: the content hash of its file (the same in every process)."""
    return hashlib.sha256(data).hexdigest()[:20]


def file_digest(path: Path) -> str:
    sha = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(2**20), b""):
            sha.update(block)
    return sha.hexdigest()[:20]


def hide_path(exc: Exception, path: Path) -> str:
    """The error's text with the server's folder taken out (messages reach clients)."""
    return str(exc).replace(str(path.parent), "").replace("'/", "'")


def storage_error(exc: OSError, what: str) -> StorageError:
    """A disk or permission failure as a 507 that says which, with no server path."""
    if exc.errno in _FULL:
        reason = "the disk holding the layers is full"
    elif exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        reason = "the layers folder is not writable by the service"
    else:
        reason = f"the layers folder cannot be written ({exc.strerror or type(exc).__name__})"
    return StorageError(f"{what}: {reason}; nothing was changed. Tell the server's operator")


def fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def temporary_path(path: Path) -> Path:
    """Where a new version of ``path`` is written first (``.<stem>.<pid>.<random>.tmp``)."""
    return path.with_name(f".{path.stem}.{os.getpid()}.{secrets.token_hex(4)}.tmp")


def probe_storage(directory: Path, what: str, size: int = 2**16) -> None:
    """Raise the StorageError of the folder if a small write there fails now (full, read-only)."""
    probe = directory / f".probe.{os.getpid()}.{secrets.token_hex(4)}.tmp"
    try:
        with open(probe, "wb") as handle:
            handle.write(b"\0" * size)
            handle.flush()
            os.fsync(handle.fileno())
    except OSError as exc:
        raise storage_error(exc, what) from None
    finally:
        try:
            probe.unlink(missing_ok=True)
        except OSError:
            pass


def commit(tmp: Path, path: Path) -> None:
    """Rename the checked temporary file over the layer: readers see the old file or the new one."""
    try:
        os.replace(tmp, path)
        fsync_dir(path.parent)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise storage_error(exc, path.stem) from None

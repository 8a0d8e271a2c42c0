"""Saved analyses behind permanent, unguessable links: their inputs and parameters, bounded in size and age.

A saved result keeps what is needed to reproduce it exactly: the uploaded
files as they were sent, and for a layer of the service the layer's file at
the version analysed (a later change to the layer does not change the saved
result). Nothing lists the results: a result is reached only through its id
(128 random bits). Results older than ``max_days`` are gone (404) and removed;
when the folder passes ``max_mb``, the oldest are removed first.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

from geo_service.errors import NotFoundError, PayloadTooLargeError
from geo_service.i18n import Text
from geo_service.store.fileops import storage_error

RESULT_ID = re.compile(r"^[A-Za-z0-9_-]{22}$")
_SAFE_NAME = re.compile(r"[^A-Za-z0-9._-]+")


@dataclass(frozen=True)
class SavedResult:
    id: str
    created: float  # seconds since the epoch
    parameters: dict  # the request's fields (formats and languages aside)
    files: dict  # role → (stored file name, name the user gave it)

    def path(self, root: Path, role: str) -> Path:
        return root / self.id / self.files[role][0]


class ResultStore:
    """The results folder (``GEO_SERVICE_RESULTS_DIR``); one sub-folder a result, written atomically."""

    def __init__(self, directory: Path, max_mb: int = 500, max_days: int = 90) -> None:
        self.directory = Path(directory)
        self.max_bytes = max_mb * 2**20
        self.max_seconds = max_days * 86400

    def save(self, parameters: dict, files: dict[str, tuple[bytes, str]]) -> str:
        """Keep one analysis's inputs (role → (bytes, the user's file name)); return its new id."""
        size = sum(len(data) for data, _ in files.values())
        if size > self.max_bytes:
            raise PayloadTooLargeError(Text("error", "this analysis is too large to keep behind a link "
                                            "(the results folder holds at most {mb} MB)",
                                            {"mb": self.max_bytes // 2**20}))
        self.purge(room_for=size)
        result_id = secrets.token_urlsafe(16)
        tmp = self.directory / f".{result_id}.tmp"
        stored = {}
        try:
            tmp.mkdir(parents=True)
            for role, (data, filename) in files.items():
                name = f"{role}-{_SAFE_NAME.sub('_', filename)[-80:] or 'input'}"
                (tmp / name).write_bytes(data)
                stored[role] = [name, filename]
            meta = {"id": result_id, "created": time.time(), "parameters": parameters, "files": stored}
            (tmp / "result.json").write_text(json.dumps(meta, ensure_ascii=False), encoding="utf-8")
            os.replace(tmp, self.directory / result_id)
        except OSError as exc:
            shutil.rmtree(tmp, ignore_errors=True)
            raise storage_error(exc, "results") from None
        return result_id

    def open(self, result_id: str) -> SavedResult:
        """A saved result, or 404 (unknown, malformed or expired ids alike)."""
        if not RESULT_ID.match(result_id or ""):
            raise NotFoundError(Text("error", "no such result"))
        try:
            meta = json.loads((self.directory / result_id / "result.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            raise NotFoundError(Text("error", "no such result (results are kept for a limited time)")) from None
        if time.time() - meta["created"] > self.max_seconds:
            raise NotFoundError(Text("error", "this result has expired (results are kept for a limited time)"))
        return SavedResult(meta["id"], meta["created"], meta["parameters"], meta["files"])

    def read(self, result: SavedResult, role: str) -> tuple[bytes, str]:
        return result.path(self.directory, role).read_bytes(), result.files[role][1]

    def _entries(self) -> list[tuple[float, int, Path]]:
        entries = []
        for folder in self.directory.iterdir() if self.directory.is_dir() else []:
            if not RESULT_ID.match(folder.name):
                continue
            try:
                created = json.loads((folder / "result.json").read_text(encoding="utf-8"))["created"]
            except (OSError, ValueError, KeyError):
                created = 0.0  # damaged: oldest, removed first
            size = sum(f.stat().st_size for f in folder.iterdir() if f.is_file())
            entries.append((created, size, folder))
        return sorted(entries)

    def purge(self, room_for: int = 0, everything: bool = False) -> int:
        """Remove expired results, then the oldest until ``room_for`` more bytes fit; return how many."""
        removed, now = 0, time.time()
        entries = self._entries()
        total = sum(size for _, size, _ in entries)
        for created, size, folder in entries:
            if everything or now - created > self.max_seconds or total + room_for > self.max_bytes:
                shutil.rmtree(folder, ignore_errors=True)
                total -= size
                removed += 1
        for tmp in self.directory.glob(".*.tmp") if self.directory.is_dir() else []:
            if now - tmp.stat().st_mtime > 3600:  # a save interrupted more than an hour ago
                shutil.rmtree(tmp, ignore_errors=True)
        return removed

    def usage(self) -> tuple[int, int]:
        """How many results are kept and their size in bytes."""
        entries = self._entries()
        return len(entries), sum(size for _, size, _ in entries)

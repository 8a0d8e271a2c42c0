"""Previous versions of a layer, kept in ``.history/<id>/``: the newest few, plus pinned ones.

The first version ever replaced (the bundled or first imported original) is
pinned when it is saved, so no run of writes can push it out; ``layers pin``
and ``layers unpin`` change that. A version already kept is not copied again.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from geo_service.errors import NotFoundError
from geo_service.store.fileops import storage_error

_STAMP = "%Y%m%dT%H%M%S%fZ"
_PINNED = "-pinned"


@dataclass(frozen=True)
class SavedVersion:
    """A previous version of a layer kept in the history folder."""

    version: str
    saved_at: str  # UTC, ISO 8601
    path: Path | None  # the saved file (files backend; None where the version is kept in a database)
    pinned: bool = False


def choose(saved: list[SavedVersion], version: str | None, layer_id: str) -> SavedVersion:
    """The saved version a rollback or pin names: the newest by default, else the one ``version`` begins."""
    if not saved:
        raise NotFoundError(f"{layer_id} has no previous version to go back to")
    chosen = saved[0] if version is None else next((v for v in saved if v.version.startswith(version)), None)
    if chosen is None:
        raise NotFoundError(f"{layer_id} has no saved version {version!r}; saved: "
                            f"{', '.join(v.version for v in saved)}")
    return chosen


def saved_file_name(version: str, saved_at: datetime, pinned: bool) -> str:
    """The name a saved version has in the history folder (what ``_parse`` reads back)."""
    return f"{saved_at.astimezone(timezone.utc).strftime(_STAMP)}-{version}{_PINNED if pinned else ''}.geojson"


def _parse(path: Path) -> SavedVersion:
    stem, pinned = path.stem, path.stem.endswith(_PINNED)
    stamp, _, version = stem.removesuffix(_PINNED).partition("-")
    when = datetime.strptime(stamp, _STAMP).replace(tzinfo=timezone.utc)
    return SavedVersion(version, when.isoformat(timespec="seconds"), path, pinned)


class History:
    """The saved versions of one layer; callers hold the layer's write lock for every change."""

    def __init__(self, directory: Path, keep: int) -> None:
        self.directory = directory
        self.keep = keep

    def versions(self) -> list[SavedVersion]:
        """Newest first."""
        if not self.directory.is_dir():
            return []
        saved = []
        for path in self.directory.glob("*.geojson"):
            try:
                saved.append(_parse(path))
            except ValueError:
                continue  # not a file of ours
        return sorted(saved, key=lambda v: v.path.name.removesuffix(".geojson").removesuffix(_PINNED), reverse=True)

    def remove_temporaries(self) -> None:
        """Partial copies left by a writer that died or hit a full disk (safe: we hold the lock)."""
        for tmp in self.directory.glob("*.tmp") if self.directory.is_dir() else []:
            tmp.unlink(missing_ok=True)

    def save(self, layer_file: Path, version: str) -> None:
        """Copy the current file into the history (pinned if it is the first one) and prune the rest."""
        existing = self.versions()
        if any(v.version == version for v in existing):
            return  # that content is kept already
        target = self.directory / saved_file_name(version, datetime.now(timezone.utc), pinned=not existing)
        tmp = target.with_suffix(".tmp")
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(layer_file, tmp)
            os.replace(tmp, target)
        except OSError as exc:
            tmp.unlink(missing_ok=True)
            raise storage_error(exc, f"{layer_file.stem} (saving the current version to the history)") from None
        unpinned = [v for v in self.versions() if not v.pinned]
        for old in unpinned[self.keep:]:
            old.path.unlink(missing_ok=True)

    def find(self, version: str | None) -> SavedVersion:
        return choose(self.versions(), version, self.directory.name)

    def set_pinned(self, version: str, pinned: bool) -> SavedVersion:
        chosen = self.find(version)
        if chosen.pinned != pinned:
            stem = chosen.path.stem.removesuffix(_PINNED)
            target = chosen.path.with_name(f"{stem}{_PINNED if pinned else ''}.geojson")
            try:
                os.replace(chosen.path, target)
            except OSError as exc:
                raise storage_error(exc, self.directory.name) from None
            chosen = _parse(target)
        if not pinned:
            for old in [v for v in self.versions() if not v.pinned][self.keep:]:
                old.path.unlink(missing_ok=True)
        return chosen

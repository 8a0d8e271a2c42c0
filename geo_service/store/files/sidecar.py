"""Large layers kept as Arrow tables beside the layers folder, one file per layer version, memory-mapped by
every worker of the host (``table_layer.TableLayer``): a worker or a restarted server serves a
million-point layer at once, from the shared page cache, instead of parsing its GeoJSON into its own memory.

The GeoJSON file stays the source of truth. A table is named by the version (the file's content hash) it
was made from, so it can never be stale, and it is only a cache: a missing, damaged or unwritable one means
the GeoJSON is parsed as before, and a layer whose columns Arrow cannot hold exactly is served from memory
(``FrameLayer``). Small layers parse quickly and get none (``min_bytes``). To open a table without hashing
the GeoJSON, the version of the file is recorded with its inode, modification time and size (the same key
the in-process cache trusts); a file changed in any way has another key and is hashed again.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import secrets
from collections.abc import Callable
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pyarrow as pa

from geo_service.store.files.table_layer import GEOMETRY, TableLayer, to_table
from geo_service.store.frame_layer import FrameLayer, LayerData

log = logging.getLogger(__name__)
DEFAULT_MIN_BYTES = 8 * 2**20
StatKey = tuple[int, int, int]


def _same(back: TableLayer, written: pa.Table, frame: gpd.GeoDataFrame) -> bool:
    """Whether the table read back gives exactly ``frame``: the same columns, types and values, and the very
    WKB written (shapely reads its own WKB back identically, so the geometries are compared as bytes: decoding
    a million points to compare them took over a second)."""
    properties = back.property_frame()
    name = frame.geometry.name
    if back.crs != frame.crs:
        return False
    if not properties.equals(pd.DataFrame(frame.drop(columns=name)).reset_index(drop=True)) \
            or not properties.dtypes.equals(frame.drop(columns=name).dtypes) or not frame.index.equals(
                pd.RangeIndex(len(frame))):
        return False
    return back.wkb().equals(written.column(GEOMETRY))


class TableSidecars:
    def __init__(self, directory: Path, min_bytes: int = DEFAULT_MIN_BYTES) -> None:
        self.directory = Path(directory)
        self.min_bytes = min_bytes

    def layer(self, layer_id: str, version: str, key: StatKey,
              parse: Callable[[], gpd.GeoDataFrame]) -> LayerData:
        """The layer file (stat ``key``) at ``version``: its table, or ``parse()`` (then kept as a table, and
        the file's version recorded so the next start opens the table at once). Workers starting together
        take turns (a lock file per layer), so one parses and the others open its table."""
        if key[2] < self.min_bytes:
            return FrameLayer(parse(), version)
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            lock = open(self.directory / f".{layer_id}.lock", "a+")
        except OSError as exc:
            log.warning("layer %s: no folder for its table (%s)", layer_id, exc)
            return FrameLayer(parse(), version)
        with lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            found = self.open(layer_id, version)
            if found is None:
                frame = parse()
                found = self.save(layer_id, version, frame)
                if found is None:
                    return FrameLayer(frame, version)
            self.remember(layer_id, key, version)
            return found

    def _path(self, layer_id: str, version: str) -> Path:
        return self.directory / f"{layer_id}-{version}.arrow"

    def open(self, layer_id: str, version: str, quiet: bool = False) -> TableLayer | None:
        """The table of this version, or None; one that cannot be read is logged unless ``quiet`` (a first look
        that ``layer`` repeats, and reports, when it fails)."""
        path = self._path(layer_id, version)
        if not path.is_file():
            return None
        try:
            return TableLayer(pa.ipc.open_file(pa.memory_map(str(path))).read_all(), version)
        except Exception as exc:  # damaged, or written by another version of the service: parse instead
            if not quiet:
                log.warning("layer %s: its table %s cannot be read (%s); parsing the GeoJSON", layer_id, path.name,
                            exc)
            return None

    def save(self, layer_id: str, version: str, frame: gpd.GeoDataFrame) -> TableLayer | None:
        """Keep ``frame`` for this version (written to a temporary file, renamed into place; the layer's
        older tables removed) and return it opened. None if it cannot be kept: never fails otherwise."""
        path = self._path(layer_id, version)
        tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            table = to_table(frame).combine_chunks()
            with pa.OSFile(str(tmp), "wb") as sink, pa.ipc.new_file(sink, table.schema) as writer:
                writer.write_table(table)
            back = TableLayer(pa.ipc.open_file(pa.memory_map(str(tmp))).read_all(), version)
            if not _same(back, table, frame):  # kept only if it gives back exactly what the GeoJSON gave
                log.warning("layer %s: its columns do not survive an Arrow table; served from memory", layer_id)
                return None
            os.replace(tmp, path)
            for old in self.directory.glob(f"{layer_id}-*.arrow"):
                if old != path and old.name[len(layer_id) + 1:-len(".arrow")].isalnum():
                    old.unlink(missing_ok=True)  # a worker still mapping it keeps its pages until it moves on
            for old in (self.directory.parent / "frames").glob(f"{layer_id}-*.parquet"):
                if old.name[len(layer_id) + 1:-len(".parquet")].isalnum():
                    old.unlink(missing_ok=True)  # GeoParquet copies an earlier release kept, no longer read
            return back
        except Exception as exc:  # a full disk, a read-only folder, a column Arrow cannot hold
            log.warning("layer %s: no table kept (%s)", layer_id, exc)
            return None
        finally:
            tmp.unlink(missing_ok=True)

    # --- the version of a layer file, by its stat key
    def _record(self, layer_id: str) -> Path:
        return self.directory / f"{layer_id}.version.json"

    def recorded_version(self, layer_id: str, key: StatKey) -> str | None:
        try:
            record = json.loads(self._record(layer_id).read_text(encoding="utf-8"))
            return record["version"] if tuple(record["key"]) == tuple(key) else None
        except (OSError, ValueError, KeyError, TypeError):
            return None

    def remember(self, layer_id: str, key: StatKey, version: str) -> None:
        record = self._record(layer_id)
        tmp = record.with_name(f".{record.name}.{secrets.token_hex(4)}.tmp")
        try:
            tmp.write_text(json.dumps({"key": list(key), "version": version}), encoding="utf-8")
            os.replace(tmp, record)
        except OSError as exc:
            log.warning("layer %s: its version not recorded (%s); hashed at each start", layer_id, exc)
        finally:
            tmp.unlink(missing_ok=True)

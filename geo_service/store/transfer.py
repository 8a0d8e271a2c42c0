"""Moving layers between the backends: a layers folder into PostGIS (``db init``) and back (``db export``).

Documents are copied byte for byte, history included, so versions and ETags are the same on both sides
and a layer can go to the database and come back unchanged.
"""

from __future__ import annotations

import json
import os
from contextlib import ExitStack
from datetime import datetime
from pathlib import Path

from geo_service.errors import InvalidParameterError
from geo_service.store.fileops import digest, fsync_dir
from geo_service.store.files import LayerStore
from geo_service.store.history import saved_file_name
from geo_service.store.postgis import PostGISStore
from geo_service.store.postgis.documents import insert_document
from geo_service.store.postgis.tables import META, insert_catalogue_entry


def load_folder(store: PostGISStore, layers_dir: Path) -> tuple[list[str], list[str]]:
    """Load every layer of a folder not yet in the database, with its history; return (loaded, kept) ids.

    Layers already in the database are left as they are, so ``db init`` can run on every deployment."""
    files = LayerStore(layers_dir, max_layer_mb=store.max_layer_bytes // 2**20)  # the limit the database serves
    document = json.loads(files.catalogue_path.read_text(encoding="utf-8"))
    loaded, kept = [], []
    for entry in document["layers"]:
        layer_id = entry["id"]
        with store.connection() as conn, conn.transaction():
            if conn.execute(f"SELECT 1 FROM {META}.layers WHERE id = %s", (layer_id,)).fetchone():
                kept.append(layer_id)
                continue
            insert_catalogue_entry(conn, entry)
            for saved in reversed(files.history(layer_id)):  # oldest first
                data = saved.path.read_bytes()
                with conn.cursor() as cur:
                    insert_document(cur, layer_id, digest(data), data, datetime.fromisoformat(saved.saved_at),
                                    saved.pinned)
            data = files.file_bytes(layer_id)
            # the files backend's parse of these bytes (from its table when it has one: no second parse)
            parsed = files.read(layer_id) if files.version(layer_id) == digest(data) else None
            store.commit_document(layer_id, data, None, conn, parsed)
        loaded.append(layer_id)
    return loaded, kept


def export_folder(store: PostGISStore, target: Path) -> list[str]:
    """Write the database's layers, catalogue and history into an empty (or new) folder; return the ids."""
    target = Path(target)
    if target.exists() and any(target.iterdir()):
        raise InvalidParameterError(f"{target} is not empty: export into a new or empty folder")
    target.mkdir(parents=True, exist_ok=True)
    entries = store.entries()
    for entry in entries:
        layer_id = entry["id"]
        with store.connection() as conn:
            rows = conn.execute(f"SELECT d.version, d.saved_at, d.pinned, d.version = l.version AS current "
                                f"FROM {META}.documents d JOIN {META}.layers l ON l.id = d.layer_id "
                                "WHERE d.layer_id = %s", (layer_id,)).fetchall()
        for row in rows:
            paths = [target / f"{layer_id}.geojson"] if row["current"] else []
            if row["saved_at"] is not None:
                folder = target / ".history" / layer_id
                folder.mkdir(parents=True, exist_ok=True)
                paths.append(folder / saved_file_name(row["version"], row["saved_at"], row["pinned"]))
            _write_chunks(paths, store.document_chunks(layer_id, row["version"]))
    catalogue = target / "catalogue.json"
    catalogue.write_text(json.dumps({"catalogue_version": 1, "layers": entries}, ensure_ascii=False, indent=2) + "\n",
                         encoding="utf-8")
    for path in target.rglob("*"):
        if path.is_file():
            with open(path, "rb") as handle:
                os.fsync(handle.fileno())
    fsync_dir(target)
    return [entry["id"] for entry in entries]



def _write_chunks(paths: list[Path], chunks) -> None:
    """The same document into each path, one part at a time (a layer's document can be hundreds of MB)."""
    with ExitStack() as stack:
        handles = [stack.enter_context(open(path, "wb")) for path in paths]
        for chunk in chunks:
            for handle in handles:
                handle.write(chunk)

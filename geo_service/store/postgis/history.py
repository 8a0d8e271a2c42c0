"""A PostGIS layer's history: the replaced versions kept in ``documents`` (``saved_at`` set), pinned or pruned."""

from __future__ import annotations

from geo_service.store.history import SavedVersion
from geo_service.store.postgis.tables import META


def saved_versions(conn, layer_id: str) -> list[SavedVersion]:
    """The layer's saved versions, newest first."""
    rows = conn.execute(f"SELECT version, saved_at, pinned FROM {META}.documents WHERE layer_id = %s "
                        "AND saved_at IS NOT NULL ORDER BY saved_at DESC, version DESC", (layer_id,)).fetchall()
    return [SavedVersion(r["version"], r["saved_at"].isoformat(timespec="seconds"), None, r["pinned"]) for r in rows]


def prune(cur, layer_id: str, current: str, keep: int) -> None:
    """Keep the newest ``keep`` unpinned saved versions; older ones go (the current document stays, out of
    the history)."""
    cur.execute(f"SELECT version FROM {META}.documents WHERE layer_id = %s AND saved_at IS NOT NULL "
                "AND NOT pinned ORDER BY saved_at DESC, version DESC OFFSET %s", (layer_id, keep))
    for version in [r["version"] for r in cur.fetchall()]:
        if version == current:
            cur.execute(f"UPDATE {META}.documents SET saved_at = NULL WHERE layer_id = %s AND version = %s",
                        (layer_id, version))
        else:
            cur.execute(f"DELETE FROM {META}.documents WHERE layer_id = %s AND version = %s", (layer_id, version))


def set_pinned(cur, layer_id: str, version: str, pinned: bool, keep: int) -> None:
    """Pin a saved version (kept whatever the pruning) or let it go (pruned with the others if too old), with
    the layer locked."""
    current = cur.execute(f"SELECT version FROM {META}.layers WHERE id = %s FOR UPDATE", (layer_id,)).fetchone()
    cur.execute(f"UPDATE {META}.documents SET pinned = %s WHERE layer_id = %s AND version = %s",
                (pinned, layer_id, version))
    if not pinned and current is not None:
        prune(cur, layer_id, current["version"], keep)

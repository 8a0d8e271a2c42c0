"""A PostGIS layer's features as the OGC API sends them, written as GeoJSON by PostGIS one page at a time."""

from __future__ import annotations

from typing import TYPE_CHECKING

from geo_service.store.features import SerialisedLayer, no_feature, serialise
from geo_service.store.postgis_tables import (
    at_version,
    feature_by_id_query,
    feature_position_query,
    feature_texts_query,
)

if TYPE_CHECKING:
    from geo_service.store.postgis import PostGISStore


class SQLFeatures:
    """The features of one version, written as GeoJSON by PostGIS: a page reads only its own rows."""

    def __init__(self, store: PostGISStore, row: dict) -> None:
        self.store, self.row, self.version = store, row, row["version"]

    def _run(self, query, params) -> list[dict] | None:
        """Rows of ``query`` if the layer is still at this version (one snapshot), else None."""
        with self.store.connection() as conn, conn.transaction():
            if not at_version(conn, self.row["id"], self.version):
                return None
            return conn.execute(query, params).fetchall()

    def _parsed(self) -> SerialisedLayer:
        """This version parsed from its document (replaced since this object was made: rare)."""
        return serialise(self.store._frame(self.row["id"], self.version), self.version)

    def texts(self, positions) -> list[str]:
        positions = [int(p) for p in positions]
        rows = self._run(feature_texts_query(self.row), [positions])
        if rows is None:
            return self._parsed().texts(positions)
        by_position = {r["pos"]: r["text"] for r in rows}
        return [by_position[p] for p in positions]

    def position(self, feature_id: str) -> int:
        rows = self._run(*feature_position_query(self.row, feature_id))
        if rows is None:
            return self._parsed().position(feature_id)
        if not rows:
            raise no_feature(feature_id)
        return rows[0]["pos"]

    def text(self, feature_id: str) -> str:
        answer = self.store._one(*feature_by_id_query(self.row, feature_id))
        if answer is None or answer["version"] != self.version:  # replaced since this object was made
            parsed = self._parsed()
            return parsed.text(feature_id)
        if answer["text"] is None:
            raise no_feature(feature_id)
        return answer["text"]

"""Serialising layers for download: GeoJSON now; one registry of writers."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import shapely

from geo_service.errors import InvalidParameterError

MAX_PRECISION = 7  # decimals of a degree kept in the stored files (about 1 cm)


def parse_precision(raw: str | None) -> int | None:
    """``precision`` query argument: decimals of a degree, 0 to 7, or None for the stored values."""
    if raw is None or raw == "":
        return None
    if not raw.isdigit() or int(raw) > MAX_PRECISION:
        raise InvalidParameterError(f"precision must be a whole number from 0 to {MAX_PRECISION}, got {raw!r}")
    return int(raw)


def round_coordinates(frame: gpd.GeoDataFrame, precision: int) -> gpd.GeoDataFrame:
    """A copy with every coordinate rounded to ``precision`` decimals (for display, not analysis)."""
    rounded = frame.copy()
    rounded[frame.geometry.name] = shapely.transform(frame.geometry.values, lambda xy: np.round(xy, precision))
    return rounded


def geojson_bytes(frame: gpd.GeoDataFrame, precision: int | None = None) -> bytes:
    """The features as an RFC 7946 FeatureCollection; the ``id`` column becomes the feature id."""
    if precision is not None:
        frame = round_coordinates(frame, precision)
    if "id" in frame.columns and frame["id"].is_unique:
        text = frame.set_index("id").to_json(na="null", ensure_ascii=False, separators=(",", ":"))
    else:
        text = frame.to_json(na="null", drop_id=True, ensure_ascii=False, separators=(",", ":"))
    return text.encode("utf-8")

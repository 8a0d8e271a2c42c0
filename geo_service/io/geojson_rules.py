"""Checks a GeoJSON document against RFC 7946 and a layer's allowed geometry types.

Written here because the rules that matter most for interchange (no ``crs``
member, right-hand winding, longitude/latitude ranges) are not checked by the
GeoJSON JSON Schema or by GDAL when reading; shapely does the validity test.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator
from typing import Any

import shapely
from shapely.geometry import shape

GEOMETRY_TYPES = frozenset(
    {"Point", "MultiPoint", "LineString", "MultiLineString", "Polygon", "MultiPolygon"}
)
_MIN_POSITIONS = {"LineString": 2}
_RING_MIN = 4


def _position_problem(position: Any, degrees: bool = True) -> str | None:
    if not isinstance(position, list) or len(position) not in (2, 3):
        return f"position {position!r} is not a list of 2 or 3 numbers"
    if not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in position):
        return f"position {position!r} holds a value that is not a number"
    try:
        finite = all(math.isfinite(v) for v in position)
    except OverflowError:  # a whole number of hundreds of digits
        finite = False
    if not finite:
        return f"position {str(position)[:60]} is not finite"
    lon, lat = position[0], position[1]
    if degrees and (not -180 <= lon <= 180 or not -90 <= lat <= 90):
        return f"position {position!r} is outside longitude -180..180 / latitude -90..90 (not WGS84 degrees?)"
    return None


def _positions(coords: Any, depth: int) -> Iterator[Any]:
    """Yield every position of a coordinates array nested ``depth`` levels deep."""
    if depth == 0:
        yield coords
        return
    if not isinstance(coords, list):
        yield coords  # reported as a malformed position
        return
    for item in coords:
        yield from _positions(item, depth - 1)


_DEPTH = {"Point": 0, "MultiPoint": 1, "LineString": 1, "MultiLineString": 2, "Polygon": 2, "MultiPolygon": 3}


def _ring_problems(rings: list[Any]) -> Iterator[str]:
    for index, ring in enumerate(rings):
        if len(ring) < _RING_MIN:
            yield f"ring {index} has {len(ring)} positions; a linear ring needs at least 4"
            continue
        if ring[0] != ring[-1]:
            yield f"ring {index} is not closed (first and last positions differ)"
            continue
        ccw = shapely.LinearRing([p[:2] for p in ring]).is_ccw
        if index == 0 and not ccw:
            yield "exterior ring is clockwise; RFC 7946 asks for counterclockwise (right-hand rule)"
        elif index > 0 and ccw:
            yield f"hole {index} is counterclockwise; RFC 7946 asks for clockwise"


def geometry_problems(geometry: Any, *, structure_only: bool = False, degrees: bool = True) -> list[str]:
    """Problems of one geometry object, as short sentences (empty list when fine).

    ``structure_only`` leaves out ring orientation and validity (an import repairs
    or rewinds those); ``degrees=False`` skips the longitude/latitude ranges (a
    legacy ``crs`` member declares other units).
    """
    if geometry is None:
        return ["has no geometry"]
    if not isinstance(geometry, dict) or geometry.get("type") not in GEOMETRY_TYPES:
        kind = geometry.get("type") if isinstance(geometry, dict) else type(geometry).__name__
        return [f"geometry type {kind!r} is not one of {', '.join(sorted(GEOMETRY_TYPES))}"]
    if "crs" in geometry and not structure_only:
        return ["geometry has a 'crs' member, which RFC 7946 removed"]
    kind = geometry["type"]
    coords = geometry.get("coordinates")
    bad = [p for p in (_position_problem(pos, degrees) for pos in _positions(coords, _DEPTH[kind])) if p]
    if bad:
        return bad[:3]
    if kind in ("LineString", "MultiPoint", "MultiLineString", "Polygon", "MultiPolygon") and not coords:
        return [f"{kind} has no coordinates"]
    if structure_only:
        if kind == "Polygon":
            return [p for p in _ring_problems(coords) if "clockwise" not in p]
        return []
    problems: list[str] = []
    if kind == "LineString" and len(coords) < _MIN_POSITIONS["LineString"]:
        problems.append("line string has fewer than 2 positions")
    if kind == "Polygon":
        problems.extend(_ring_problems(coords))
    if kind == "MultiPolygon":
        for part, rings in enumerate(coords):
            problems.extend(f"polygon {part}: {p}" for p in _ring_problems(rings))
    if problems:
        return problems
    geom = shape(geometry)
    if geom.is_empty:
        return ["geometry is empty"]
    if not geom.is_valid:
        return [f"geometry is invalid: {shapely.is_valid_reason(geom)}"]
    return []


def document_problems(
    document: Any, *, allowed_types: Iterable[str] | None = None, limit: int = 20, structure_only: bool = False
) -> list[str]:
    """Problems of a FeatureCollection, each naming the feature (by index and id).

    ``structure_only`` checks what an import cannot fix (types, positions, rings)
    and accepts a legacy ``crs`` member, whose units GDAL reprojects.
    """
    if not isinstance(document, dict) or document.get("type") != "FeatureCollection":
        return ["top level is not a GeoJSON FeatureCollection"]
    problems: list[str] = []
    if "crs" in document and not structure_only:
        problems.append("has a 'crs' member, which RFC 7946 removed (coordinates must be WGS84 lon/lat)")
    degrees = not (structure_only and "crs" in document)
    features = document.get("features")
    if not isinstance(features, list):
        return problems + ["'features' is not a list"]
    allowed = frozenset(allowed_types) if allowed_types is not None else None
    seen_ids: set[Any] = set()
    for index, feature in enumerate(features, start=1):  # counted from 1, as people count
        label = f"feature {index}"
        if not isinstance(feature, dict) or feature.get("type") != "Feature":
            problems.append(f"{label}: not a GeoJSON Feature")
            continue
        if "id" in feature:
            fid = feature["id"]
            if not isinstance(fid, (str, int)) or isinstance(fid, bool):
                problems.append(f"{label}: its id is neither a string nor a number (RFC 7946 section 3.2)")
                continue
            label += f" (id {fid!r})"
            if fid in seen_ids:
                problems.append(f"{label}: duplicate feature id")
            seen_ids.add(feature["id"])
        if not isinstance(feature.get("properties"), (dict, type(None))):
            problems.append(f"{label}: 'properties' is not an object")
        problems.extend(f"{label}: {p}" for p in geometry_problems(feature.get("geometry"),
                                                                  structure_only=structure_only, degrees=degrees))
        geometry = feature.get("geometry")
        kind = geometry.get("type") if isinstance(geometry, dict) else None
        if allowed is not None and kind in GEOMETRY_TYPES and kind not in allowed:
            problems.append(f"{label}: geometry type {kind} is not allowed here ({', '.join(sorted(allowed))})")
        if len(problems) >= limit:
            problems.append("… further problems not listed")
            break
    return problems

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

from geo_service.i18n import Text

GEOMETRY_TYPES = frozenset(
    {"Point", "MultiPoint", "LineString", "MultiLineString", "Polygon", "MultiPolygon"}
)
_MIN_POSITIONS = {"LineString": 2}
_RING_MIN = 4


def _problem(context: str, template: str, **values: Any) -> Text:
    """A problem, translatable (extracted by the Babel keyword ``_problem:1c,2``)."""
    return Text(context, template, values)


def _position_problem(position: Any, degrees: bool = True) -> Text | None:
    if not isinstance(position, list) or len(position) not in (2, 3):
        return _problem("problem", "position {position} is not a list of 2 or 3 numbers", position=repr(position)[:60])
    if not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in position):
        return _problem("problem", "position {position} holds a value that is not a number", position=repr(position)[:60])
    try:
        finite = all(math.isfinite(v) for v in position)
    except OverflowError:  # a whole number of hundreds of digits
        finite = False
    if not finite:
        return _problem("problem", "position {position} is not finite", position=str(position)[:60])
    lon, lat = position[0], position[1]
    if degrees and (not -180 <= lon <= 180 or not -90 <= lat <= 90):
        return _problem("problem", "position {position} is outside longitude -180..180 / latitude -90..90 (not WGS84 degrees?)",
                        position=repr(position))
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


def _ring_problems(rings: list[Any]) -> Iterator[Text]:
    for index, ring in enumerate(rings):
        if len(ring) < _RING_MIN:
            yield _problem("problem", "ring {index} has {count} positions; a linear ring needs at least 4", index=index, count=len(ring))
            continue
        if ring[0] != ring[-1]:
            yield _problem("problem", "ring {index} is not closed (first and last positions differ)", index=index)
            continue
        ccw = shapely.LinearRing([p[:2] for p in ring]).is_ccw
        if index == 0 and not ccw:
            yield _problem("problem", "exterior ring is clockwise; RFC 7946 asks for counterclockwise (right-hand rule)")
        elif index > 0 and ccw:
            yield _problem("problem", "hole {index} is counterclockwise; RFC 7946 asks for clockwise", index=index)


def geometry_problems(geometry: Any, *, structure_only: bool = False, degrees: bool = True) -> list[Text]:
    """Problems of one geometry object, as short translatable sentences (empty list when fine).

    ``structure_only`` leaves out ring orientation and validity (an import repairs
    or rewinds those); ``degrees=False`` skips the longitude/latitude ranges (a
    legacy ``crs`` member declares other units).
    """
    if geometry is None:
        return [_problem("problem", "has no geometry")]
    if not isinstance(geometry, dict) or geometry.get("type") not in GEOMETRY_TYPES:
        kind = geometry.get("type") if isinstance(geometry, dict) else type(geometry).__name__
        return [_problem("problem", "geometry type {kind} is not one of {allowed}", kind=repr(kind),
                         allowed=", ".join(sorted(GEOMETRY_TYPES)))]
    if "crs" in geometry and not structure_only:
        return [_problem("problem", "geometry has a 'crs' member, which RFC 7946 removed")]
    kind = geometry["type"]
    coords = geometry.get("coordinates")
    bad = [p for p in (_position_problem(pos, degrees) for pos in _positions(coords, _DEPTH[kind])) if p]
    if bad:
        return bad[:3]
    if kind in ("LineString", "MultiPoint", "MultiLineString", "Polygon", "MultiPolygon") and not coords:
        return [_problem("problem", "{kind} has no coordinates", kind=kind)]
    if structure_only:
        if kind == "Polygon":
            return [p for p in _ring_problems(coords) if "clockwise" not in p.template]
        return []
    problems: list[Text] = []
    if kind == "LineString" and len(coords) < _MIN_POSITIONS["LineString"]:
        problems.append(_problem("problem", "line string has fewer than 2 positions"))
    if kind == "Polygon":
        problems.extend(_ring_problems(coords))
    if kind == "MultiPolygon":
        for part, rings in enumerate(coords):
            problems.extend(_problem("problem", "polygon {part}: {problem}", part=part, problem=p) for p in _ring_problems(rings))
    if problems:
        return problems
    geom = shape(geometry)
    if geom.is_empty:
        return [_problem("problem", "geometry is empty")]
    if not geom.is_valid:
        return [_problem("problem", "geometry is invalid: {reason}", reason=shapely.is_valid_reason(geom))]
    return []


def document_problems(
    document: Any, *, allowed_types: Iterable[str] | None = None, limit: int = 20, structure_only: bool = False
) -> list[Text]:
    """Problems of a FeatureCollection, each naming the feature (by index and id).

    ``structure_only`` checks what an import cannot fix (types, positions, rings)
    and accepts a legacy ``crs`` member, whose units GDAL reprojects.
    """
    if not isinstance(document, dict) or document.get("type") != "FeatureCollection":
        return [_problem("problem", "top level is not a GeoJSON FeatureCollection")]
    problems: list[Text] = []
    if "crs" in document and not structure_only:
        problems.append(_problem("problem", "has a 'crs' member, which RFC 7946 removed (coordinates must be WGS84 lon/lat)"))
    degrees = not (structure_only and "crs" in document)
    features = document.get("features")
    if not isinstance(features, list):
        return problems + [_problem("problem", "'features' is not a list")]
    allowed = frozenset(allowed_types) if allowed_types is not None else None
    seen_ids: set[Any] = set()
    for index, feature in enumerate(features, start=1):  # counted from 1, as people count
        label = _problem("problem", "feature {index}", index=index)
        if not isinstance(feature, dict) or feature.get("type") != "Feature":
            problems.append(_problem("problem", "{label}: not a GeoJSON Feature", label=label))
            continue
        if "id" in feature:
            fid = feature["id"]
            if not isinstance(fid, (str, int)) or isinstance(fid, bool):
                problems.append(_problem("problem", "{label}: its id is neither a string nor a number (RFC 7946 section 3.2)",
                                         label=label))
                continue
            label = _problem("problem", "feature {index} (id {id})", index=index, id=repr(fid))
            if fid in seen_ids:
                problems.append(_problem("problem", "{label}: duplicate feature id", label=label))
            seen_ids.add(feature["id"])
        if not isinstance(feature.get("properties"), (dict, type(None))):
            problems.append(_problem("problem", "{label}: 'properties' is not an object", label=label))
        problems.extend(_problem("problem", "{label}: {problem}", label=label, problem=p) for p in geometry_problems(feature.get("geometry"),
                                                                  structure_only=structure_only, degrees=degrees))
        geometry = feature.get("geometry")
        kind = geometry.get("type") if isinstance(geometry, dict) else None
        if allowed is not None and kind in GEOMETRY_TYPES and kind not in allowed:
            problems.append(_problem("problem", "{label}: geometry type {kind} is not allowed here ({allowed})", label=label,
                                     kind=kind, allowed=", ".join(sorted(allowed))))
        if len(problems) >= limit:
            problems.append(_problem("problem", "… further problems not listed"))
            break
    return problems

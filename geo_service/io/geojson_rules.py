"""Checks a GeoJSON document against RFC 7946 and a layer's allowed geometry types.

Written here because the rules that matter most for interchange (no ``crs``
member, right-hand winding, longitude/latitude ranges) are not checked by the
GeoJSON JSON Schema or by GDAL when reading; shapely does the validity test.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator
from typing import Any

import numpy as np
import pandas as pd
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
        if not isinstance(feature, dict) or feature.get("type") != "Feature":
            problems.append(_problem("problem", "{label}: not a GeoJSON Feature",
                                     label=_problem("problem", "feature {index}", index=index)))
            continue
        found = _feature_problems(feature, seen_ids, allowed, structure_only, degrees)
        if found:  # labels are made only for a feature with problems: most files have none
            fid = feature.get("id")
            label = (_problem("problem", "feature {index} (id {id})", index=index, id=repr(fid))
                     if isinstance(fid, (str, int)) and not isinstance(fid, bool)
                     else _problem("problem", "feature {index}", index=index))
            problems.extend(_problem("problem", "{label}: {problem}", label=label, problem=p) for p in found)
        if len(problems) >= limit:
            problems.append(_problem("problem", "… further problems not listed"))
            break
    return problems


def _feature_problems(feature: dict, seen_ids: set, allowed: frozenset[str] | None, structure_only: bool,
                      degrees: bool) -> list[Text]:
    found: list[Text] = []
    if "id" in feature:
        fid = feature["id"]
        if isinstance(fid, float):  # RFC 7946 allows it; GDAL would make it a decimal property, text would change it
            return [_problem("problem", "its id is a decimal number: give the features text or whole-number ids")]
        if not isinstance(fid, (str, int)) or isinstance(fid, bool):
            return [_problem("problem", "its id is neither a string nor a number (RFC 7946 section 3.2)")]
        if fid in seen_ids:
            found.append(_problem("problem", "duplicate feature id"))
        seen_ids.add(fid)
    if not isinstance(feature.get("properties"), (dict, type(None))):
        found.append(_problem("problem", "'properties' is not an object"))
    geometry = feature.get("geometry")
    found.extend(geometry_problems(geometry, structure_only=structure_only, degrees=degrees))
    kind = geometry.get("type") if isinstance(geometry, dict) else None
    if allowed is not None and kind in GEOMETRY_TYPES and kind not in allowed:
        found.append(_problem("problem", "geometry type {kind} is not allowed here ({allowed})", kind=kind,
                              allowed=", ".join(sorted(allowed))))
    return found


# GeoPandas's names of geometry types, by shapely's type id plus one (0: a missing geometry)
TYPE_NAMES = np.array(["", "Point", "LineString", "LinearRing", "Polygon", "MultiPoint", "MultiLineString",
                        "MultiPolygon", "GeometryCollection"], dtype=object)


def _ids_of(names: Iterable[str]) -> list[int]:
    return [index - 1 for index, name in enumerate(TYPE_NAMES) if name and name in set(names)]


def frame_problems(frame, *, allowed_types: Iterable[str] | None = None, limit: int = 20) -> list[Text]:
    """The same rules as ``document_problems``, on a layer file as GDAL read it back, array at a time.

    A file the service wrote itself (GDAL's RFC 7946 writer) is a FeatureCollection of Features with
    object properties and no ``crs``; what can still go wrong is in the geometries (an invalid or empty
    one, one made invalid by rounding to 7 decimals, a winding, a type the layer does not allow) and the
    ids. Checking those with shapely's vectorised functions takes about a second for a million points,
    where walking the parsed document feature by feature took well over a minute.
    """
    geometries = frame.geometry.values
    id_texts = frame["id"].astype("string") if "id" in frame.columns else None
    ids = id_texts.to_numpy() if id_texts is not None else None
    # shapely's type ids, compared as numbers (naming every row took 0.3 s for 1,000,000 points)
    type_ids = shapely.get_type_id(geometries)
    kinds = TYPE_NAMES[type_ids + 1]
    geojson = np.isin(type_ids, _ids_of(GEOMETRY_TYPES))
    found: dict[int, list[Text]] = {}

    def flag(rows, make) -> None:
        for row in np.flatnonzero(rows)[:limit]:
            found.setdefault(int(row), []).append(make(int(row)))

    missing = shapely.is_missing(geometries) | shapely.is_empty(geometries)
    flag(missing, lambda _: _problem("problem", "has no geometry"))
    flag(~missing & ~geojson, lambda row: _problem(
        "problem", "geometry type {kind} is not one of {allowed}", kind=repr(kinds[row]),
        allowed=", ".join(sorted(GEOMETRY_TYPES))))
    bounds = shapely.bounds(geometries)
    with np.errstate(invalid="ignore"):
        outside = ~missing & ~((bounds[:, 0] >= -180) & (bounds[:, 2] <= 180) & (bounds[:, 1] >= -90)
                               & (bounds[:, 3] <= 90))
    flag(outside, lambda row: _problem("problem", "coordinates are outside longitude -180..180 / latitude -90..90 "
                                       "(not WGS84 degrees?)"))
    invalid = ~missing & ~outside & ~shapely.is_valid(geometries)
    flag(invalid, lambda row: _problem("problem", "geometry is invalid: {reason}",
                                       reason=shapely.is_valid_reason(geometries[row])))
    flag(_wound_wrongly(geometries, ~missing & ~invalid), lambda _: _problem(
        "problem", "a ring is wound against RFC 7946's right-hand rule (exteriors counterclockwise, holes clockwise)"))
    if allowed_types is not None:
        allowed = list(allowed_types)
        flag(~missing & geojson & ~np.isin(type_ids, _ids_of(allowed)), lambda row: _problem(
            "problem", "geometry type {kind} is not allowed here ({allowed})", kind=kinds[row],
            allowed=", ".join(sorted(allowed))))
    if ids is not None:
        flag(id_texts.duplicated(keep="first").to_numpy() & ~pd.isna(ids), lambda _: _problem(
            "problem", "duplicate feature id"))
    problems = []
    for row in sorted(found):
        label = (_problem("problem", "feature {index} (id {id})", index=row + 1, id=repr(str(ids[row])))
                 if ids is not None and not pd.isna(ids[row]) else _problem("problem", "feature {index}", index=row + 1))
        problems.extend(_problem("problem", "{label}: {problem}", label=label, problem=p) for p in found[row])
        if len(problems) >= limit:
            problems.append(_problem("problem", "… further problems not listed"))
            break
    return problems


def _wound_wrongly(geometries: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """Which (multi)polygons have an exterior ring clockwise or a hole counterclockwise."""
    wrong = np.zeros(len(geometries), dtype=bool)
    polygonal = np.flatnonzero(rows & np.isin(shapely.get_type_id(geometries), (3, 6)))
    if not len(polygonal):
        return wrong
    parts, owner = shapely.get_parts(geometries[polygonal], return_index=True)
    rings, part = shapely.get_rings(parts, return_index=True)
    exterior = np.r_[True, part[1:] != part[:-1]]  # get_rings gives each polygon's exterior first
    bad = shapely.is_ccw(rings) != exterior
    wrong[polygonal[owner[part[bad]]]] = True
    return wrong

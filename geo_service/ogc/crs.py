"""The coordinate reference systems the OGC API takes coordinates in (Features Part 2 and Part 3's
``filter-crs``): their URIs, and conversion of geometries from them to CRS84 with pyproj."""

from __future__ import annotations

import json
from functools import cache
from typing import TYPE_CHECKING

import numpy as np
import shapely
from shapely.geometry.base import BaseGeometry

from geo_service.errors import InvalidParameterError
from geo_service.i18n import Text

if TYPE_CHECKING:  # pyproj is imported by the first request in another CRS: most requests are in CRS84
    from pyproj import CRS, Transformer

CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
EPSG = "http://www.opengis.net/def/crs/EPSG/0/"
# WGS 84 (latitude first, as EPSG defines it), Web Mercator, and the UTM zones of the region (28N west of
# 12°W, 29N east of it).
SUPPORTED = (CRS84, f"{EPSG}4326", f"{EPSG}3857", f"{EPSG}32628", f"{EPSG}32629")


def check_crs(uri: str, name: str) -> str:
    if uri not in SUPPORTED:
        raise InvalidParameterError(Text("error", "{name} must be one of {allowed}, got {value}",
                                         {"name": name, "allowed": ", ".join(SUPPORTED), "value": repr(uri)}))
    return uri


@cache
def _to_crs84(uri: str) -> Transformer:
    # Each CRS's own axis order (EPSG:4326 is latitude, longitude) to CRS84's longitude, latitude.
    from pyproj import CRS, Transformer

    return Transformer.from_crs(_crs(uri), CRS.from_user_input("OGC:CRS84"))


def geometry_to_crs84(geometry: BaseGeometry, uri: str) -> BaseGeometry:
    """``geometry`` given in ``uri``'s coordinates, in CRS84 (its vertices transformed; edges stay straight)."""
    return geometry if uri == CRS84 else _transformed(geometry, _to_crs84(uri))


def _transformed(geometry: BaseGeometry, transformer: Transformer) -> BaseGeometry:
    def transform(xy: np.ndarray) -> np.ndarray:
        x, y = transformer.transform(xy[:, 0], xy[:, 1])
        return np.column_stack([x, y])

    return shapely.transform(geometry, transform)


@cache
def _from_crs84(uri: str) -> Transformer:
    from pyproj import CRS, Transformer

    return Transformer.from_crs(CRS.from_user_input("OGC:CRS84"), _crs(uri))


def _crs(uri: str) -> CRS:
    from pyproj import CRS

    return CRS.from_user_input("OGC:CRS84" if uri == CRS84 else f"EPSG:{uri.removeprefix(EPSG)}")


def bbox_area(bbox: tuple[float, float, float, float], uri: str) -> BaseGeometry:
    """The area of a ``bbox`` given in ``uri``'s coordinates (its own axis order), as a CRS84 polygon: the box's
    edges are densified before they are transformed, so the area is the box's, not its corners' envelope."""
    west, south, east, north = bbox
    if max(map(abs, bbox)) > 1e8:  # past any coordinate of these CRSs (Web Mercator ends near 2e7 m)
        raise InvalidParameterError(Text("error", "bbox lies outside the area {crs} covers", {"crs": uri}))
    if east > west and north > south:
        area = shapely.segmentize(shapely.box(*bbox), max(east - west, north - south) / 64)
    else:  # a box without width or height is a line or a point
        area = shapely.LineString([(west, south), (east, north)]) if (west, south) != (east, north) \
            else shapely.Point(west, south)
    moved = geometry_to_crs84(area, uri)
    if not np.isfinite(shapely.get_coordinates(moved)).all():
        raise InvalidParameterError(Text("error", "bbox lies outside the area {crs} covers", {"crs": uri}))
    return moved


def feature_texts_in(texts: list[str], uri: str) -> list[str]:
    """GeoJSON feature texts (CRS84) with their coordinates in ``uri`` (its own axis order: EPSG:4326 is
    latitude first), every digit kept."""
    if uri == CRS84:
        return texts
    transformer = _from_crs84(uri)
    out = []
    for text in texts:
        feature = json.loads(text)
        if feature.get("geometry"):
            geometry = _transformed(shapely.geometry.shape(feature["geometry"]), transformer)
            feature["geometry"] = json.loads(shapely.to_geojson(geometry))
        out.append(json.dumps(feature, ensure_ascii=False, separators=(",", ":")))
    return out

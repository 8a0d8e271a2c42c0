"""A small map of a page of features for the OGC API's HTML pages: inline SVG drawn on the server, so it
shows without scripts or tiles, prints, and scales to a phone's width.

Why by hand: folium's maps need Leaflet and tiles, far too much for a list page; this is a projection of
at most a few thousand simplified vertices into one ``<svg>``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import shapely
from markupsafe import Markup, escape
from shapely.geometry import shape

WIDTH, HEIGHT = 640, 400  # the largest drawing, in CSS pixels
MAX_VERTICES = 20_000  # past this the shapes are simplified to the drawing's resolution


def _shapes(features: Sequence[dict]) -> list[tuple[str, object]]:
    out = []
    for feature in features:
        geometry = feature.get("geometry")
        if geometry:
            try:
                out.append((str(feature.get("id", "")), shape(geometry)))
            except (ValueError, TypeError, KeyError, AttributeError):
                continue
    return [(fid, g) for fid, g in out if not g.is_empty]


def svg_preview(features: Sequence[dict], colour: str = "#1f6feb", title: str = "") -> Markup:
    """An SVG drawing of the features' geometries (empty when none has one), north up, longitudes scaled
    by the cosine of the middle latitude so that shapes keep their proportions."""
    shapes = _shapes(features)
    if not shapes:
        return Markup("")
    minx, miny, maxx, maxy = shapely.total_bounds([g for _, g in shapes])
    span = max(maxx - minx, maxy - miny, 1e-4)
    minx, miny, maxx, maxy = minx - span * 0.05, miny - span * 0.05, maxx + span * 0.05, maxy + span * 0.05
    stretch = math.cos(math.radians((miny + maxy) / 2))
    width_deg, height_deg = (maxx - minx) * stretch, maxy - miny
    scale = min(WIDTH / width_deg, HEIGHT / height_deg)  # the drawing fits WIDTH × HEIGHT, proportions kept
    width, height = round(width_deg * scale), round(height_deg * scale)
    vertices = sum(len(shapely.get_coordinates(g)) for _, g in shapes)
    tolerance = span / WIDTH if vertices > MAX_VERTICES else 0.0

    def px(x: float, y: float) -> tuple[str, str]:
        return f"{(x - minx) * stretch * scale:.1f}", f"{(maxy - y) * scale:.1f}"

    def xy(x: float, y: float) -> str:
        return ",".join(px(x, y))

    parts = []
    for fid, geometry in shapes:
        if tolerance:
            geometry = shapely.simplify(geometry, tolerance)
        label = f"<title>{escape(fid)}</title>"
        for part in getattr(geometry, "geoms", [geometry]):
            if part.geom_type == "Point":
                cx, cy = px(part.x, part.y)
                parts.append(f'<circle cx="{cx}" cy="{cy}" r="4">{label}</circle>')
            elif part.geom_type == "LineString":
                points = " ".join(xy(x, y) for x, y in part.coords)
                parts.append(f'<polyline points="{points}" fill="none">{label}</polyline>')
            elif part.geom_type == "Polygon":
                rings = [part.exterior, *part.interiors]
                d = " ".join("M" + " L".join(xy(x, y) for x, y in ring.coords) + " Z" for ring in rings)
                parts.append(f'<path d="{d}" fill-rule="evenodd" fill-opacity="0.25">{label}</path>')
    return Markup(
        f'<svg class="gs-preview" viewBox="0 0 {width} {height}" style="max-width:{width}px" role="img" '
        f'aria-label="{escape(title)}" '
        f'xmlns="http://www.w3.org/2000/svg"><rect width="100%" height="100%" fill="#f6f8fa"/>'
        f'<g fill="{escape(colour)}" stroke="{escape(colour)}" stroke-width="1.5">{"".join(parts)}</g></svg>')


def geometry_summary(geometry: dict | None) -> dict | None:
    """A geometry for a table cell: a point's latitude and longitude, else its vertex count and box."""
    if not geometry:
        return None
    try:
        g = shape(geometry)
    except (ValueError, TypeError, KeyError, AttributeError):
        return None
    if g.is_empty:
        return None
    if g.geom_type == "Point":
        return {"point": f"{g.y:.6f}, {g.x:.6f}"}
    minx, miny, maxx, maxy = g.bounds
    return {"vertices": len(shapely.get_coordinates(g)),
            "box": f"{miny:.4f}, {minx:.4f} – {maxy:.4f}, {maxx:.4f}"}

"""Layers as the map draws them: fewer decimals, and only the properties that popups and labels show.

Every download keeps the full data. Points keep 5 decimals (about a metre, as
surveyed positions are); lines and outlines keep 4 (about 11 m), as fine as the
sources the bundled ones come from (the border is simplified to 10 m by its
package, the regions and rivers are coarser) and a quarter lighter to send.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the map page reads the names below without GDAL; only the layer's GeoJSON needs it
    import geopandas as gpd

POINT_PRECISION = 5
SHAPE_PRECISION = 4
# Properties a popup shows (in this order), then those the map reads for names and markers.
POPUP_FIELDS = (
    "type", "kind", "country", "population", "distance_to_border_km", "length_km", "area_km2",
    "admin_level", "launched", "coordinate_method", "note", "location_accuracy", "location_note", "source",
)
MAP_FIELDS = ("id", "name", "name_fr", *POPUP_FIELDS)


def map_view_bytes(frame: gpd.GeoDataFrame, geometry_type: str) -> bytes:
    """The layer's GeoJSON for the map page."""
    from geo_service.io.writers import geojson_bytes

    keep = [column for column in frame.columns if column in MAP_FIELDS or column == frame.geometry.name]
    return geojson_bytes(frame[keep], POINT_PRECISION if geometry_type == "Point" else SHAPE_PRECISION)

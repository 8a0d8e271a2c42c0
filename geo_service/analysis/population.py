"""Population where no census reaches: a gridded population raster (a GeoTIFF such as the WorldPop or HDX
census-cartography grids of Mali and Senegal), read with rasterio.

The grid does two things. A community whose population is unknown gets the people of the cells whose centres
lie within a radius of it (geodesic), marked as estimated. And the people of the grid itself are counted by
distance band and scenario: each populated cell's centre is measured to its nearest service like a community,
so the answer can say how many people live within 5, 10 or 20 km, or an hour's walk, of a service.

Only the analysis area is read: the box around the communities, widened by the last band. A box of more than
``MAX_CELLS`` cells is read at a coarser resolution with GDAL's ``sum`` resampling, which keeps the total; the
answer states the cell size used.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from geo_service.analysis.nearest import GEOD, ProximityError, ecef, nearest
from geo_service.i18n import Text

MAX_CELLS = 4_000_000
DEFAULT_RADIUS_KM = 1.0
_KM_PER_DEGREE = 111.32


@dataclass
class Grid:
    lon: np.ndarray  # centres (EPSG:4326) of the cells with people
    lat: np.ndarray
    people: np.ndarray
    cell_size: tuple[float, float]  # in the raster's own units, as read
    units: str
    coarsened: int  # 1: read as stored; n: n × n stored cells summed into one
    bounds: tuple[float, float, float, float]  # the area read, WGS84
    label: str

    def describe(self) -> dict:
        return {"grid": self.label, "cell_size": [round(v, 8) for v in self.cell_size], "units": self.units,
                "coarsened": self.coarsened, "area": [round(v, 5) for v in self.bounds],
                "people_in_area": round(float(self.people.sum()))}


def analysis_bounds(lon: np.ndarray, lat: np.ndarray, margin_km: float) -> tuple[float, float, float, float]:
    """The communities' box widened by ``margin_km`` on every side, in degrees."""
    south, north = float(np.min(lat)), float(np.max(lat))
    dlat = margin_km / _KM_PER_DEGREE
    dlon = margin_km / (_KM_PER_DEGREE * max(math.cos(math.radians(max(abs(south), abs(north)) + dlat)), 0.05))
    return (max(float(np.min(lon)) - dlon, -180.0), max(south - dlat, -90.0),
            min(float(np.max(lon)) + dlon, 180.0), min(north + dlat, 90.0))


def open_grid(source: bytes | Path, label: str, bounds: tuple[float, float, float, float]) -> Grid:
    """The populated cells of ``source`` (GeoTIFF bytes or a path) inside ``bounds`` (WGS84)."""
    import rasterio  # only with a grid: rasterio loads GDAL
    from rasterio.errors import RasterioError
    from rasterio.io import MemoryFile

    try:
        if isinstance(source, Path):
            with rasterio.open(source) as dataset:
                return _read(dataset, label, bounds)
        with MemoryFile(source) as memory, memory.open() as dataset:
            return _read(dataset, label, bounds)
    except RasterioError:
        raise ProximityError(Text("error", "{label}: not a raster GDAL can read (a GeoTIFF of people per cell is "
                                  "expected)", {"label": label})) from None


def _read(dataset, label: str, bounds) -> Grid:
    import rasterio
    from affine import Affine  # rasterio's own dependency
    from pyproj import Transformer
    from rasterio.enums import Resampling
    from rasterio.errors import WindowError
    from rasterio.warp import reproject, transform_bounds
    from rasterio.windows import Window, from_bounds

    if dataset.crs is None:
        raise ProximityError(Text("error", "{label}: the raster has no coordinate reference system",
                                  {"label": label}))
    west, south, east, north = transform_bounds("EPSG:4326", dataset.crs, *bounds, densify_pts=21)
    window = from_bounds(west, south, east, north, transform=dataset.transform).round_offsets().round_lengths()
    try:
        window = window.intersection(Window(0, 0, dataset.width, dataset.height))
    except WindowError:  # they do not meet
        raise ProximityError(Text("error", "{label}: the raster does not cover the communities", {"label": label})) \
            from None
    cells = int(window.width) * int(window.height)
    factor = max(1, math.ceil(math.sqrt(cells / MAX_CELLS)))
    shape = (max(1, int(window.height) // factor), max(1, int(window.width) // factor))
    # the window's own transform, scaled to the shape read (rasterio 1.4's window_transform still uses the ``*``
    # that affine 3 deprecates)
    transform = (dataset.transform @ Affine.translation(window.col_off, window.row_off)
                 @ Affine.scale(window.width / shape[1], window.height / shape[0]))
    if factor == 1:
        people = np.ma.filled(dataset.read(1, window=window, masked=True).astype("float64"), 0.0)
    else:  # GDAL's warper sums the cells into the coarser grid, reading the source in chunks of its own
        people = np.zeros(shape, dtype="float64")
        reproject(rasterio.band(dataset, 1), people, dst_transform=transform, dst_crs=dataset.crs,
                  dst_nodata=0.0, resampling=Resampling.sum)
    people[~np.isfinite(people) | (people < 0)] = 0.0  # WorldPop writes -99999 where no one is counted
    rows, cols = np.nonzero(people > 0)
    xs, ys = transform @ (cols + 0.5, rows + 0.5)
    if dataset.crs.to_epsg() != 4326:
        xs, ys = Transformer.from_crs(dataset.crs, "EPSG:4326", always_xy=True).transform(xs, ys)
    units = "degrees" if dataset.crs.is_geographic else (dataset.crs.linear_units or "units")
    return Grid(np.asarray(xs, float), np.asarray(ys, float), people[rows, cols], (abs(transform.a), abs(transform.e)),
                units, factor, bounds, label)


def estimate(c_lon, c_lat, grid: Grid, radius_m: float) -> np.ndarray:
    """The people of the cells whose centres lie within ``radius_m`` (geodesic) of each point."""
    from scipy.spatial import cKDTree  # here: scipy's import is slow

    out = np.zeros(len(c_lon))
    if len(grid.lon) == 0 or len(c_lon) == 0:
        return out
    tree = cKDTree(ecef(grid.lon, grid.lat))
    near = tree.query_ball_point(ecef(np.asarray(c_lon, float), np.asarray(c_lat, float)), r=radius_m)  # chord ≤ arc
    for i, cells in enumerate(near):
        if cells:
            cells = np.asarray(cells)
            metres = GEOD.inv(np.full(len(cells), c_lon[i]), np.full(len(cells), c_lat[i]), grid.lon[cells],
                              grid.lat[cells])[2]
            out[i] = grid.people[cells][np.asarray(metres) <= radius_m].sum()
    return out


def people_by_band(grid: Grid, distance_m: np.ndarray, bands_km, walk_min) -> dict:
    """The grid's people by distance band (the distance of each populated cell to its nearest service)."""
    from geo_service.analysis.coverage import NO_SERVICE, band_index, band_labels

    index = band_index(distance_m, bands_km)
    labels = band_labels(bands_km)
    rows = [{"band": label, "people": round(float(grid.people[index == i].sum()))} for i, label in enumerate(labels)]
    unreachable = float(grid.people[index < 0].sum())
    if unreachable:
        rows.append({"band": NO_SERVICE, "people": round(unreachable)})
    within_hour = np.nan_to_num(np.asarray(walk_min, dtype=float), nan=np.inf) <= 60
    return {"bands": rows, "within_hour_walk": round(float(grid.people[within_hour].sum())),
            "total": round(float(grid.people.sum()))}


def cell_distances(grid: Grid, s_lon, s_lat, barrier=None) -> np.ndarray:
    """Metres from each populated cell to its nearest service (under ``barrier`` if given); NaN: none."""
    if len(grid.lon) == 0:
        return np.zeros(0)
    if barrier is None:
        return nearest(grid.lon, grid.lat, s_lon, s_lat).distance_m[:, 0]
    from geo_service.analysis.barriers import nearest_across

    return nearest_across(grid.lon, grid.lat, s_lon, s_lat, barrier).distance_m


def fill_unknown(frame, grid: Grid, radius_km: float, label: str):
    """``frame`` with each unknown population estimated from the grid (``population_estimated`` says which),
    and a note."""
    import pandas as pd

    frame = frame.copy()
    known = pd.to_numeric(frame["population"], errors="coerce") if "population" in frame.columns \
        else pd.Series(np.nan, index=frame.index)
    unknown = known.isna().to_numpy()
    people = known.to_numpy(dtype=float, na_value=np.nan).copy()
    if unknown.any():
        points = frame.geometry.values[unknown]
        people[unknown] = np.round(estimate(np.asarray([p.x for p in points]), np.asarray([p.y for p in points]),
                                            grid, radius_km * 1000))
    frame["population"] = pd.array(people, dtype="Float64").round(0).astype("Int64")
    frame["population_estimated"] = unknown
    note = Text("note", "{label}: {count} unknown populations estimated from {grid}: the people within {radius} km",
                {"label": label, "count": int(unknown.sum()), "grid": grid.label, "radius": f"{radius_km:g}"})
    return frame, note


def grid_summary(grid: Grid, services, setup, bands_km, walk: tuple[float, float], radius_km: float) -> dict:
    """The grid's people by band and within an hour's walk: today's straight lines and, with barriers, each
    season's routes."""
    from geo_service.analysis.barriers import Barrier
    from geo_service.analysis.scenarios import walk_minutes

    s_lon, s_lat = services.geometry.x.to_numpy(), services.geometry.y.to_numpy()
    document = {"assumptions": {**grid.describe(), "radius_km": radius_km}}
    for scenario in ("none", "dry", "wet") if setup is not None else ("none",):
        barrier = None if scenario == "none" else Barrier(setup.lines, setup.open_in(scenario), setup.tolerance_m)
        distance = cell_distances(grid, s_lon, s_lat, barrier)
        document[scenario] = people_by_band(grid, distance, bands_km, walk_minutes(distance, *walk))
    return document

"""Nearest service when lines (rivers) are barriers that a route passes only at a crossing.

The model, stated so that "exact" has a meaning:

- A *leg* is the geodesic between two points; it is blocked when the straight segment between them (in
  longitude/latitude, which differs from the geodesic by metres at these distances) meets a barrier line.
- A *crossing* is one point, or one point on each bank (its border post or ferry terminal). Near its own
  points, within ``tolerance_m`` of them, a leg to or from that crossing may meet the barrier: the river line
  is only as exact as its map (World Data Bank II, 1:3 million), so a bank point can lie a few hundred
  metres on the wrong side of it.
- A route is either one unblocked leg from the community to the service, or: an unblocked leg to one point
  of a crossing, the crossing itself (the geodesic between its points), and an unblocked leg from its other
  point to the service. Its length is the sum. A route uses at most one crossing.

``nearest_across`` returns, for every community, the shortest route to any service under this model, equal
to the minimum over every service and every crossing (``tests/test_barriers.py`` checks it against that
brute force). No library here computes shortest paths with barriers on the ellipsoid without a raster or a
network, so this is written by hand over shapely's vectorised predicates and pyproj's geodesics.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import shapely
from shapely.geometry.base import BaseGeometry

from geo_service.analysis.defaults import CROSSING_TOLERANCE_M as DEFAULT_TOLERANCE_M
from geo_service.analysis.nearest import GEOD, ProximityError, ecef, nearest
from geo_service.i18n import Text

FIRST_CANDIDATES = 8  # direct candidates tried at once for a community whose nearest service is blocked
_M_PER_DEG = 111_320.0


@dataclass(frozen=True)
class Crossing:
    """A crossing of the barrier: its id and name, its season and its point(s), (lon, lat)."""

    id: str
    name: str
    season: str  # all_year, dry_only or unknown
    points: tuple[tuple[float, float], ...]  # one point, or one per bank

    @property
    def length_m(self) -> float:
        if len(self.points) == 1:
            return 0.0
        (lon1, lat1), (lon2, lat2) = self.points
        return float(GEOD.inv(lon1, lat1, lon2, lat2)[2])


@dataclass
class Routes:
    """For n communities: the service (-1 where none is reachable), the route's metres (NaN) and the crossing
    used (-1 for a direct route or none)."""

    index: np.ndarray
    distance_m: np.ndarray
    crossing: np.ndarray


def _disc(lon: float, lat: float, radius_m: float) -> BaseGeometry:
    """A disc of ``radius_m`` around a point, in degrees (an ellipse: a degree of longitude is shorter)."""
    circle = shapely.Point(lon, lat).buffer(radius_m / _M_PER_DEG, quad_segs=16)
    scale = 1 / max(np.cos(np.radians(lat)), 0.01)
    return shapely.affinity.scale(circle, xfact=scale, yfact=1.0, origin=(lon, lat))


class Barrier:
    """Barrier lines with, for each crossing, the same lines opened within ``tolerance_m`` of its points."""

    def __init__(self, lines: BaseGeometry, crossings: list[Crossing], tolerance_m: float = DEFAULT_TOLERANCE_M):
        self.lines = lines
        shapely.prepare(self.lines)
        self.crossings = crossings
        self.opened = []
        for crossing in crossings:
            holes = shapely.union_all([_disc(lon, lat, tolerance_m) for lon, lat in crossing.points])
            opened = shapely.difference(lines, holes) if tolerance_m > 0 else lines
            shapely.prepare(opened)
            self.opened.append(opened)

    def blocked(self, ax, ay, bx, by, crossing: int | None = None) -> np.ndarray:
        """Whether each leg (ax, ay) → (bx, by) meets the barrier (opened around ``crossing``'s points)."""
        start = np.column_stack([np.asarray(ax, float), np.asarray(ay, float)])
        end = np.column_stack(np.broadcast_arrays(np.asarray(bx, float), np.asarray(by, float)))
        end = np.broadcast_to(end, start.shape)
        legs = shapely.linestrings(np.stack([start, end], axis=1))
        return shapely.intersects(self.lines if crossing is None else self.opened[crossing], legs)

    def ways(self) -> list[tuple[int, tuple[float, float], tuple[float, float]]]:
        """Each way through each crossing: (crossing, entry point, exit point)."""
        out = []
        for k, crossing in enumerate(self.crossings):
            points = crossing.points
            out += [(k, points[0], points[-1])] + ([(k, points[1], points[0])] if len(points) == 2 else [])
        return out


def _geodesic(ax, ay, bx, by) -> np.ndarray:
    ax, ay, bx, by = np.broadcast_arrays(*(np.asarray(v, float) for v in (ax, ay, bx, by)))
    return np.asarray(GEOD.inv(ax, ay, bx, by)[2], dtype=float)


def _from_exits(barrier: Barrier, s_lon, s_lat):
    """For each way: the crossing's length plus the shortest unblocked leg from its exit to a service."""
    ways = barrier.ways()
    cost = np.full(len(ways), np.inf)
    service = np.full(len(ways), -1, dtype=np.int64)
    for w, (k, _entry, (x, y)) in enumerate(ways):
        metres = _geodesic(np.full(len(s_lon), x), np.full(len(s_lat), y), s_lon, s_lat)
        metres[barrier.blocked(np.full(len(s_lon), x), np.full(len(s_lat), y), s_lon, s_lat, k)] = np.inf
        if np.isfinite(metres).any():
            best = int(np.lexsort((np.arange(len(metres)), metres))[0])
            cost[w], service[w] = barrier.crossings[k].length_m + metres[best], best
    return ways, cost, service


def _direct(barrier: Barrier, c_lon, c_lat, s_lon, s_lat, rows: np.ndarray, k: int):
    """Among each row's k nearest services, the nearest unblocked one; and what a further one measures at least."""
    found = nearest(c_lon[rows], c_lat[rows], s_lon, s_lat, k=k)
    best = np.full(len(rows), np.inf)
    index = np.full(len(rows), -1, dtype=np.int64)
    for rank in range(found.index.shape[1]):
        open_rows = np.flatnonzero(~np.isfinite(best) & (found.index[:, rank] >= 0))
        if open_rows.size == 0:
            break
        chosen = found.index[open_rows, rank]
        free = ~barrier.blocked(c_lon[rows[open_rows]], c_lat[rows[open_rows]], s_lon[chosen], s_lat[chosen])
        best[open_rows[free]] = found.distance_m[open_rows[free], rank]
        index[open_rows[free]] = chosen[free]
    further = found.distance_m[:, -1] if k < len(s_lon) else np.full(len(rows), np.inf)
    return best, index, np.where(np.isfinite(best), np.inf, further)


def _through_crossings(barrier: Barrier, c_lon, c_lat, rows, bound, ways, way_cost, way_service):
    """The shortest route through a crossing for each row, looking only at ways that could beat ``bound``."""
    best = np.full(len(rows), np.inf)
    service = np.full(len(rows), -1, dtype=np.int64)
    used = np.full(len(rows), -1, dtype=np.int64)
    points = ecef(c_lon[rows], c_lat[rows])
    for w, (k, (x, y), _exit) in enumerate(ways):
        if not np.isfinite(way_cost[w]):
            continue
        chord = np.linalg.norm(points - ecef(np.array([x]), np.array([y])), axis=1)  # never longer than the geodesic
        maybe = np.flatnonzero(chord + way_cost[w] < np.minimum(bound, best))
        if maybe.size == 0:
            continue
        lon, lat = c_lon[rows[maybe]], c_lat[rows[maybe]]
        cost = _geodesic(lon, lat, x, y) + way_cost[w]
        better = (cost < np.minimum(bound[maybe], best[maybe])) & ~barrier.blocked(lon, lat, x, y, k)
        chosen = maybe[better]
        best[chosen], service[chosen], used[chosen] = cost[better], way_service[w], k
    return best, service, used


def nearest_across(c_lon, c_lat, s_lon, s_lat, barrier: Barrier, max_distance_m: float | None = None) -> Routes:
    """The shortest route (see the module's model) from each community to any service."""
    c_lon, c_lat = np.asarray(c_lon, float), np.asarray(c_lat, float)
    s_lon, s_lat = np.asarray(s_lon, float), np.asarray(s_lat, float)
    if len(s_lon) == 0:
        raise ProximityError(Text("error", "there are no services to measure to"))
    n = len(c_lon)
    first = nearest(c_lon, c_lat, s_lon, s_lat, k=1)
    index, distance = first.index[:, 0].copy(), first.distance_m[:, 0].copy()
    crossing = np.full(n, -1, dtype=np.int64)
    blocked = np.flatnonzero(barrier.blocked(c_lon, c_lat, s_lon[index], s_lat[index]))
    # A route through a crossing is never shorter than the direct distance to the nearest service, so only the
    # communities whose nearest service is blocked need more.
    if blocked.size:
        ways, way_cost, way_service = _from_exits(barrier, s_lon, s_lat)
        k = min(FIRST_CANDIDATES, len(s_lon))
        best, chosen, further = _direct(barrier, c_lon, c_lat, s_lon, s_lat, blocked, k)
        across, across_service, used = _through_crossings(barrier, c_lon, c_lat, blocked, best, ways, way_cost,
                                                          way_service)
        pending = np.flatnonzero(further < across)  # no unblocked service among the k nearest: look further
        while pending.size:
            k = min(k * 4, len(s_lon))
            more_best, more_chosen, more_further = _direct(barrier, c_lon, c_lat, s_lon, s_lat, blocked[pending], k)
            best[pending], chosen[pending], further[pending] = more_best, more_chosen, more_further
            pending = pending[more_further < across[pending]]
        direct_wins = best <= across  # a tie goes to the direct route
        index[blocked] = np.where(direct_wins, chosen, across_service)
        distance[blocked] = np.where(direct_wins, best, across)
        crossing[blocked] = np.where(direct_wins, -1, used)
    unreachable = ~np.isfinite(distance)
    if max_distance_m is not None:
        unreachable |= distance > max_distance_m
    index[unreachable], distance[unreachable], crossing[unreachable] = -1, np.nan, -1
    return Routes(index, distance, crossing)

"""Where new health centres would help most: the maximal covering location problem, solved exactly.

Given communities (with their populations where known), the existing services, candidate sites and a
coverage distance, choose the k sites that together cover the most people not yet within that distance
of a service. Coverage is geodesic (metres on the WGS84 ellipsoid, as ``nearest``): candidates come from
a k-d tree on earth-centred coordinates (a chord is never longer than its geodesic, so none is missed)
and are then measured exactly. The choice is an integer programme solved by PuLP with the CBC solver
(``pulp[cbc]``), so it is the optimum, not a heuristic; the chosen sites are then listed greedily, each
with the people it newly covers after the ones before it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from geo_service.analysis.nearest import ProximityError, _geodesic, ecef, nearest
from geo_service.i18n import Text

MAX_PAIRS = 20_000_000  # candidate–community pairs within reach: bounds the programme's size


@dataclass(frozen=True)
class Site:
    candidate: int  # position among the candidates
    newly_covered: float  # people (or communities) it covers that no site before it in the list does
    communities: tuple[int, ...]  # positions of those communities


@dataclass(frozen=True)
class Suggestion:
    sites: tuple[Site, ...]
    newly_covered: float  # in all
    already_covered: float  # within reach of an existing service
    uncovered_before: float
    weighted_by_population: bool  # False: every community counts once (some populations are unknown)


def _routed(c_lon, c_lat, rows, x, y, barrier, within_m: float) -> np.ndarray:
    """``rows`` (all within ``within_m`` of the site in a straight line) kept where a route under ``barrier``
    is within ``within_m`` too: an unblocked leg, or a way through a crossing (analysis/barriers.py)."""
    free = ~barrier.blocked(c_lon[rows], c_lat[rows], np.full(len(rows), x), np.full(len(rows), y))
    for k, (ex, ey), (fx, fy) in barrier.ways():
        left = np.flatnonzero(~free)
        if left.size == 0:
            break
        if barrier.blocked([fx], [fy], [x], [y], k)[0]:
            continue
        lon, lat = c_lon[rows[left]], c_lat[rows[left]]
        cost = (_geodesic(lon, lat, np.full(left.size, ex), np.full(left.size, ey)) + barrier.crossings[k].length_m
                + _geodesic(np.array([fx]), np.array([fy]), np.array([x]), np.array([y]))[0])
        ok = (cost <= within_m) & ~barrier.blocked(lon, lat, np.full(left.size, ex), np.full(left.size, ey), k)
        free[left[ok]] = True
    return rows[free]


def coverage(c_lon, c_lat, s_lon, s_lat, within_m: float, barrier=None) -> list[np.ndarray]:
    """For each site, the positions of the communities within ``within_m`` metres of it (geodesic; with a
    ``barrier``, along the shortest route the barrier allows)."""
    from scipy.spatial import (
        cKDTree,  # only here: scipy's import is slow, and most requests need no tree
    )

    if len(c_lon) == 0 or len(s_lon) == 0:
        return [np.zeros(0, dtype=np.int64) for _ in range(len(s_lon))]
    tree = cKDTree(ecef(c_lon, c_lat))
    near = tree.query_ball_point(ecef(s_lon, s_lat), r=within_m)
    if sum(len(rows) for rows in near) > MAX_PAIRS:
        raise ProximityError(Text("error", "too many community–site pairs within reach (over {limit}): choose a "
                                  "shorter distance or fewer candidates", {"limit": f"{MAX_PAIRS:,}"}))
    out = []
    for site, rows in enumerate(near):
        rows = np.asarray(sorted(rows), dtype=np.int64)
        if len(rows):
            d = _geodesic(c_lon[rows], c_lat[rows], np.full(len(rows), s_lon[site]), np.full(len(rows), s_lat[site]))
            rows = rows[d <= within_m]
        if barrier is not None and len(rows):
            rows = _routed(c_lon, c_lat, rows, s_lon[site], s_lat[site], barrier, within_m)
        out.append(rows)
    return out


def suggest_sites(c_lon, c_lat, population, s_lon, s_lat, cand_lon, cand_lat, k: int,
                  within_m: float, barrier=None) -> Suggestion:
    """The ``k`` candidate sites covering the most people not yet within ``within_m`` of a service.

    ``population``: one number per community, NaN where unknown; if any is unknown, each community counts
    once instead (and the suggestion says so)."""
    c_lon, c_lat = np.asarray(c_lon, float), np.asarray(c_lat, float)
    population = np.asarray(population, float)
    if k < 1:
        raise ProximityError(Text("error", "k must be 1 or more, got {value}", {"value": k}))
    if not within_m > 0:
        raise ProximityError(Text("error", "the coverage distance must be more than 0"))
    weighted = bool(len(population)) and not np.isnan(population).any()
    weights = population if weighted else np.ones(len(c_lon))
    covered = np.zeros(len(c_lon), dtype=bool)
    if len(s_lon) and barrier is not None:
        from geo_service.analysis.barriers import nearest_across

        found = nearest_across(c_lon, c_lat, np.asarray(s_lon, float), np.asarray(s_lat, float), barrier)
        covered = np.nan_to_num(found.distance_m, nan=np.inf) <= within_m
    elif len(s_lon):
        found = nearest(c_lon, c_lat, np.asarray(s_lon, float), np.asarray(s_lat, float))
        covered = found.distance_m[:, 0] <= within_m
    reach = [rows[~covered[rows]] for rows in coverage(c_lon, c_lat, np.asarray(cand_lon, float),
                                                       np.asarray(cand_lat, float), within_m, barrier)]
    chosen = _solve(reach, weights, k)
    return Suggestion(_in_order(chosen, reach, weights), float(weights[_union(reach, chosen)].sum()),
                      float(weights[covered].sum()), float(weights[~covered].sum()), weighted)


def _union(reach: list[np.ndarray], chosen: list[int]) -> np.ndarray:
    return np.unique(np.concatenate([reach[j] for j in chosen] or [np.zeros(0, dtype=np.int64)]))


def _solve(reach: list[np.ndarray], weights: np.ndarray, k: int) -> list[int]:
    """The optimal sites: maximise Σ wᵢ yᵢ with yᵢ ≤ Σ_{j reaches i} xⱼ, Σ xⱼ ≤ k, x binary, 0 ≤ y ≤ 1."""
    import pulp  # only here: an optional analysis

    useful = [j for j, rows in enumerate(reach) if len(rows)]
    if len(useful) <= k:
        return useful
    problem = pulp.LpProblem("sites", pulp.LpMaximize)
    x = {j: problem.add_variable(f"x{j}", cat="Binary") for j in useful}
    reached: dict[int, list[int]] = {}
    for j in useful:
        for i in reach[j]:
            reached.setdefault(int(i), []).append(j)
    y = {i: problem.add_variable(f"y{i}", lowBound=0, upBound=1) for i in reached}
    problem += pulp.lpSum(float(weights[i]) * y[i] for i in reached)
    for i, sites in reached.items():
        problem += y[i] <= pulp.lpSum(x[j] for j in sites)
    problem += pulp.lpSum(x.values()) <= k
    from cbcbox import cbc_bin_path  # CBC as PuLP 3.3 wants it: the wheel of pulp[cbc]

    status = problem.solve(pulp.COIN_CMD(path=cbc_bin_path(), msg=False))
    if pulp.LpStatus[status] != "Optimal":
        raise ProximityError(Text("error", "the site choice could not be solved ({status})",
                                  {"status": pulp.LpStatus[status]}))
    return [j for j in useful if x[j].value() > 0.5]


def _in_order(chosen: list[int], reach: list[np.ndarray], weights: np.ndarray) -> tuple[Site, ...]:
    """The chosen sites, each next the one adding the most (ties by candidate position)."""
    left, seen, order = list(chosen), np.zeros(len(weights), dtype=bool), []
    while left:
        gains = [float(weights[reach[j][~seen[reach[j]]]].sum()) for j in left]
        best = left[int(np.argmax(gains))]
        new = reach[best][~seen[reach[best]]]
        order.append(Site(best, float(weights[new].sum()), tuple(int(i) for i in new)))
        seen[new] = True
        left.remove(best)
    return tuple(order)


MAX_K = 50


def coverage_km(within_km: float | None, within_walk_min: float | None, walk_kmh: float, walk_detour: float) -> float:
    """The coverage distance: given in km, or as a walking time (distance = minutes × speed ÷ detour)."""
    if within_km is not None and within_walk_min is not None:
        raise ProximityError(Text("error", "give the coverage once: within_km or within_walk_min, not both"))
    if within_walk_min is None:
        return 5.0 if within_km is None else within_km
    return within_walk_min / 60 * walk_kmh / walk_detour


def _barrier_of(setup, scenario: str):
    """The barrier of a scenario: None for today's straight lines."""
    from geo_service.analysis.barriers import Barrier

    if scenario not in ("none", "dry", "wet"):
        raise ProximityError(Text("error", "scenario must be none, dry or wet, got {value}", {"value": repr(scenario)}))
    if setup is None:
        if scenario != "none":
            raise ProximityError(Text("error", "the dry and wet scenarios need barriers"))
        return None
    return None if scenario == "none" else Barrier(setup.lines, setup.open_in(scenario), setup.tolerance_m)


def sites_document(store, communities: str, services: str, candidates: str | None, k: int,
                   within_km: float, setup=None, scenario: str = "none") -> dict:
    """``suggest_sites`` over the store's point layers (candidates: the communities themselves by default)."""
    frames = {role: store.read(layer_id) for role, layer_id in
              (("communities", communities), ("services", services), ("candidates", candidates or communities))}
    return sites_answer(frames["communities"], frames["services"], frames["candidates"], k, within_km, setup, scenario)


def sites_answer(c, s, sites, k: int, within_km: float, setup=None, scenario: str = "none") -> dict:
    """``suggest_sites`` on point frames, as the JSON the API answers: the sites in order, with the communities
    each newly covers. With barriers (``setup``, analysis.scenarios) coverage follows the routes of the
    ``scenario``'s open crossings."""
    import pandas as pd  # only with frames at hand

    barrier = _barrier_of(setup, scenario)
    for role, frame in (("communities", c), ("services", s), ("candidates", sites)):
        if len(frame) and not (frame.geometry.geom_type == "Point").all():
            raise ProximityError(Text("error", "{role} must be a layer of points", {"role": role}))
    if not 1 <= k <= MAX_K:
        raise ProximityError(Text("error", "k must be between 1 and {limit}, got {value}",
                                  {"limit": MAX_K, "value": k}))
    population = pd.to_numeric(c["population"], errors="coerce").to_numpy(float) if "population" in c.columns \
        else np.full(len(c), np.nan)
    found = suggest_sites(c.geometry.x.to_numpy(), c.geometry.y.to_numpy(), population, s.geometry.x.to_numpy(),
                          s.geometry.y.to_numpy(), sites.geometry.x.to_numpy(), sites.geometry.y.to_numpy(), k,
                          within_km * 1000, barrier)

    def label(frame, position):
        row = frame.iloc[position]
        return {"id": None if "id" not in frame.columns or pd.isna(row.get("id")) else str(row["id"]),
                "name": None if "name" not in frame.columns or pd.isna(row.get("name")) else str(row["name"])}

    return {
        "sites": [{"rank": rank, **label(sites, site.candidate),
                   "lon": float(sites.geometry.x.iloc[site.candidate]),
                   "lat": float(sites.geometry.y.iloc[site.candidate]), "newly_covered": site.newly_covered,
                   "communities": [label(c, i)["id"] or label(c, i)["name"] for i in site.communities]}
                  for rank, site in enumerate(found.sites, start=1)],
        "newly_covered": found.newly_covered, "already_covered": found.already_covered,
        "uncovered_before": found.uncovered_before, "weighted_by_population": found.weighted_by_population,
        "within_km": round(within_km, 3), "k": k, "scenario": scenario,
        "barriers": None if setup is None else setup.describe(),
        "method": "maximal covering location problem, optimal (PuLP, CBC)",
    }

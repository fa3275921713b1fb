"""What the coverage engine derives from the campus: the guards' network, incident places, risk, candidate sites.

* :class:`GuardNetwork`: the campus graph as guards use it (running times
  between all nodes, walking times of the edges, paths).
* :func:`key_area_nodes`, :func:`risk_weights`: where incidents in each key
  area happen and how often, relative to the others.
* :class:`PostProblem`, :func:`post_problem`: where a post may go and what it
  reaches within the response standard (the maximal / set covering problem);
  :func:`advise_posts` solves it beside the current layout.
* :func:`camera_candidates`, :func:`recommend_cameras`: where a new camera may
  go and the ones that see the most of the key areas' blind spots.

The solvers are in :mod:`scenarios.coverage.placement`; every default number
is read from the settings table (:func:`twin.settings.value`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import geopandas as gpd
import networkx as nx
import numpy as np
import shapely
from scipy.sparse import csr_array
from scipy.sparse.csgraph import dijkstra

from scenarios.coverage.placement import CoverSolution, coverage_of, max_cover, mean_time, set_cover
from scenarios.schema import Coverage
from twin.campus import Campus
from twin.graph import node_arrays
from twin.settings import SETTINGS, value
from twin.viewshed import CameraCoverage, camera_viewsheds, density_of, density_range, grid_points, seen_counts

CAMERA_GRID = 4.0
"""Spacing of the blind-spot sample points that proposed cameras are scored on (m; a resolution, not a behaviour)."""
CAMERA_HEADINGS = 8
"""Headings tried at each candidate camera position (every 45°; a search resolution)."""
CANDIDATE_KINDS = ("junction", "gate", "door")
"""Graph nodes that may hold a new guard post (outdoor junctions, gates, building exits), besides current posts."""


class GuardNetwork:
    """The campus graph as guards use it: running times between all nodes, walking paths.

    Parameters
    ----------
    campus : Campus
        The loaded campus; guards may use every edge, roads included.
    settings : dict
        Overrides of the documented defaults (``guard_run_speed``, ``patrol_speed``, …).

    Attributes
    ----------
    names, index, xy, kind, outdoor
        The graph's nodes as arrays (:func:`twin.graph.node_arrays`); nodes are
        referred to by their position in ``names`` everywhere in the engine.
    run_time : ndarray, shape (n, n)
        Running time between every two nodes (s; inf when unconnected).
    """

    def __init__(self, campus: Campus, settings: dict[str, float] | None = None) -> None:
        s = settings or {}
        g = campus.graph
        self.graph = g
        nodes = node_arrays(g)
        self.names, self.index, self.xy, self.kind, self.outdoor = nodes.names, nodes.index, nodes.xy, nodes.kind, nodes.outdoor
        stair = value("walk_speed_mean", s) / value("stair_speed_down", s)
        self.run_speed = value("guard_run_speed", s)
        self.walk_speed = value("patrol_speed", s)
        rows, cols, run = [], [], []
        self.edge_len: dict[tuple[int, int], float] = {}
        self.edge_factor: dict[tuple[int, int], float] = {}
        for u, v, d in g.edges(data=True):
            i, j = self.index[u], self.index[v]
            f = stair if d["kind"] == "stair" else 1.0
            t = max(float(d["length"]), 1e-6) * f / self.run_speed
            rows += [i, j]
            cols += [j, i]
            run += [t, t]
            self.edge_len[(i, j)] = self.edge_len[(j, i)] = float(d["length"])
            self.edge_factor[(i, j)] = self.edge_factor[(j, i)] = f
        n = len(self.names)
        self.run_time = dijkstra(csr_array((run, (rows, cols)), shape=(n, n)), directed=False)
        self._paths: dict[tuple[int, int], list[int]] = {}

    def edge_run(self, i: int, j: int) -> float:
        """Running time along edge ``i``–``j`` (s)."""
        return self.edge_len[(i, j)] * self.edge_factor[(i, j)] / self.run_speed

    def edge_walk(self, i: int, j: int) -> float:
        """Walking (patrol) time along edge ``i``–``j`` (s)."""
        return self.edge_len[(i, j)] * self.edge_factor[(i, j)] / self.walk_speed

    def path(self, i: int, j: int) -> list[int]:
        """Node indices of the quickest path from ``i`` to ``j`` (both included)."""
        key = (i, j)
        if key not in self._paths:
            names = nx.shortest_path(self.graph, self.names[i], self.names[j], weight="length")
            self._paths[key] = [self.index[n] for n in names]
        return self._paths[key]

    def nearest(self, x: float, y: float, *, outdoor: bool = True) -> int:
        """The node nearest to ``(x, y)`` (outdoor nodes only by default)."""
        d = np.hypot(self.xy[:, 0] - x, self.xy[:, 1] - y)
        if outdoor and self.outdoor.any():
            d = np.where(self.outdoor, d, np.inf)
        return int(np.argmin(d))


def key_area_nodes(campus: Campus, net: GuardNetwork, settings: dict[str, float] | None = None) -> dict[str, list[int]]:
    """Graph nodes where incidents in each key area happen: the nodes inside it, else those within
    ``key_area_reach`` of it, else the nearest one."""
    reach = value("key_area_reach", settings)
    out: dict[str, list[int]] = {}
    for fid, geom in campus.of_kind("key_area").geometry.items():
        inside = np.flatnonzero(shapely.contains_xy(geom, net.xy[:, 0], net.xy[:, 1]))
        if len(inside) == 0:
            d = shapely.distance(geom, shapely.points(net.xy))
            inside = np.flatnonzero(d <= reach)
            if len(inside) == 0:
                inside = np.array([int(np.argmin(d))])
        out[str(fid)] = [int(i) for i in inside]
    return out


def risk_weights(campus: Campus, scenario: Coverage) -> dict[str, float]:
    """Relative incident rate of each key area: by id, else by category, from the scenario, else the settings."""
    ka = campus.of_kind("key_area")
    given = scenario.incidents.risk
    out = {}
    for fid, row in ka.iterrows():
        cat = str(row.get("category") or "other")
        if fid in given:
            out[str(fid)] = float(given[fid])
        elif cat in given:
            out[str(fid)] = float(given[cat])
        else:
            out[str(fid)] = value(f"risk.{cat}" if f"risk.{cat}" in SETTINGS else "risk.other", scenario.settings)
    return out


# --------------------------------------------------------------------------
# Guard posts: the covering problem on the campus
# --------------------------------------------------------------------------


@dataclass
class PostProblem:
    """Where a post may go, what it reaches within the standard, and what each incident place weighs."""

    demand: list[int]
    """Node index of each demand point."""
    weights: np.ndarray
    """Share of the incidents expected at each demand point (sums to 1)."""
    candidates: list[int]
    """Node index of each candidate post site."""
    labels: list[str]
    """Current post id at a candidate, else its node name."""
    times: np.ndarray
    """Response time from each candidate to each demand point, (demand, candidates) (s)."""
    standard: float

    @property
    def cover(self) -> np.ndarray:
        """Which candidates reach which demand points within the standard."""
        return self.times <= self.standard


def post_problem(campus: Campus, net: GuardNetwork, scenario: Coverage, nodes: dict[str, list[int]]) -> PostProblem:
    """The maximal/set covering problem of guard posts on the campus (see ``docs/coverage.md``)."""
    risk = risk_weights(campus, scenario)
    total = sum(risk.values()) or 1.0
    demand, w = [], []
    for ka, idx in nodes.items():
        for i in idx:
            demand.append(i)
            w.append(risk[ka] / total / len(idx))
    posts = campus.of_kind("post")
    labels: dict[int, str] = {}
    for pid, node in posts["node"].items():
        if isinstance(node, str) and node in net.index:
            labels.setdefault(net.index[node], str(pid))
    cands = list(labels)
    for i, k in enumerate(net.kind):
        if i in labels or k not in CANDIDATE_KINDS:
            continue
        if k == "door" and not net.graph.nodes[net.names[i]].get("exit"):
            continue
        cands.append(i)
        labels[i] = net.names[i]
    times = net.run_time[np.ix_(cands, demand)].T + response_delay(scenario.settings)
    return PostProblem(demand, np.asarray(w), cands, [labels[c] for c in cands], times, scenario.standard)


def response_delay(settings: dict[str, float] | None = None) -> float:
    """Seconds from an alarm to a guard setting off: call handling plus turnout (s)."""
    return value("call_handling", settings) + value("guard_turnout", settings)


def best_posts(problem: PostProblem, k: int, fixed: Sequence[int] = ()) -> CoverSolution:
    """The ``k`` posts (``fixed`` among them) that reach the most incident weight within the standard; ties: reached
    twice, then quickest on average.

    When one post alone reaches every incident place within the standard, covering at that standard decides
    nothing (every choice covers everything, twice): the posts are then placed by maximal covering at the tightest
    standard (whole seconds) at which no single post does, and the solution's ``method`` says so. Its covered and
    backup shares are at the scenario's standard.
    """
    cover, method = problem.cover, "maximal covering"
    if cover.size and cover.all(axis=0).any():
        tight = math.ceil(float(problem.times.max(axis=0).min())) - 1.0
        cover = problem.times <= tight
        best = problem.labels[int(np.argmin(problem.times.max(axis=0)))]
        method = (f"maximal covering at a tighter {tight:.0f} s standard: one post ({best}) reaches every incident place "
                  f"within the {problem.standard:.0f} s standard, so covering at it decides nothing")
    sol = max_cover(cover, problem.weights, k, fixed=fixed, times=problem.times)
    sol.covered, sol.backup = coverage_of(problem.cover, problem.weights, sol.chosen)
    sol.method = method
    return sol


@dataclass
class PostAdvice:
    """The best ``k`` posts beside the current ones, and the fewest posts that reach every place (:func:`advise_posts`)."""

    k: int
    best: CoverSolution
    """Maximal covering with ``k`` posts (candidate indices in ``best.chosen``)."""
    current: list[int]
    """Candidate indices of the current posts."""
    current_covered: float
    """Incident weight the current posts reach within the standard."""
    current_backup: float
    """Incident weight the current posts reach twice within the standard."""
    mean_response: float
    """Weighted mean response from the nearest of the best posts (s; inf when none)."""
    current_mean_response: float
    """The same from the current posts."""
    set_cover: CoverSolution
    """Set covering: the fewest posts that reach every reachable place."""
    uncoverable: list[int]
    """Demand points no candidate reaches within the standard."""


def advise_posts(problem: PostProblem, k: int, current: Sequence[int], sol: CoverSolution | None = None,
                 fixed: Sequence[int] = ()) -> PostAdvice:
    """Maximal covering with ``k`` posts, ``fixed`` among them (``sol`` when already solved), and set covering,
    beside the posts ``current``."""
    cover = problem.cover
    sol = sol or best_posts(problem, k, fixed)
    cur = coverage_of(cover, problem.weights, current)
    sc, uncoverable = set_cover(cover)
    return PostAdvice(k, sol, list(current), cur[0], cur[1], mean_time(problem.times, problem.weights, sol.chosen),
                      mean_time(problem.times, problem.weights, current), sc, uncoverable)


# --------------------------------------------------------------------------
# Cameras: where a new one may go, and the ones that see the most blind ground
# --------------------------------------------------------------------------


def camera_candidates(campus: Campus, net: GuardNetwork, fov: float, range_: float,
                      settings: dict[str, float] | None = None) -> gpd.GeoDataFrame:
    """Candidate new cameras: at outdoor nodes and just outside building corners near key areas, 8 headings each.

    Sites lie within ``camera_site_reach`` of a key area; a corner site stands
    ``camera_corner_offset`` out from the corner, away from the building's centre.
    """
    f = campus.features
    ka = shapely.union_all(campus.of_kind("key_area").geometry.to_numpy())
    near = ka.buffer(value("camera_site_reach", settings))
    offset = value("camera_corner_offset", settings)
    pts = [tuple(p) for p, out in zip(net.xy, net.outdoor, strict=True) if out and near.contains(shapely.Point(p))]
    for b in campus.of_kind("building").geometry:
        if not b.intersects(near):
            continue
        c = b.centroid
        for x, y in shapely.get_coordinates(b.exterior)[:-1] if b.geom_type == "Polygon" else []:
            dx, dy = x - c.x, y - c.y
            d = math.hypot(dx, dy) or 1.0
            q = (x + offset * dx / d, y + offset * dy / d)
            if near.contains(shapely.Point(q)):
                pts.append(q)
    pts = list(dict.fromkeys((round(x, 1), round(y, 1)) for x, y in pts))
    rows = [(x, y, h) for x, y in pts for h in np.arange(CAMERA_HEADINGS) * 360.0 / CAMERA_HEADINGS]
    if not rows:
        return gpd.GeoDataFrame({"heading": [], "fov": [], "range": []}, geometry=[], crs=f.crs)
    arr = np.array(rows)
    return gpd.GeoDataFrame({"heading": arr[:, 2], "fov": fov, "range": range_},
                            geometry=shapely.points(arr[:, :2]), crs=f.crs)


def _blind_points(cov: CameraCoverage, risk: dict[str, float]) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Sample points over the key areas' blind spots, their weight (risk ÷ area per grid cell) and key area."""
    pts, w, where = [], [], []
    for ka, a in cov.areas.items():
        p = grid_points(a.blind_spots, CAMERA_GRID)
        if len(p) == 0:
            continue
        pts.append(p)
        w.append(np.full(len(p), risk[ka] / max(a.area_m2, 1.0) * CAMERA_GRID**2))
        where += [ka] * len(p)
    if not pts:
        return np.empty((0, 2)), np.empty(0), []
    return np.vstack(pts), np.concatenate(w), where


def recommend_cameras(campus: Campus, net: GuardNetwork, scenario: Coverage, cov: CameraCoverage, n: int) -> gpd.GeoDataFrame:
    """The ``n`` cameras that see the most risk-weighted blind ground of the key areas (maximal covering).

    Returns a GeoDataFrame of the chosen cameras (``heading``, ``fov``, ``range``,
    ``gain_m2`` the blind area each newly sees, ``key_area``, ``view``).
    """
    empty = gpd.GeoDataFrame({"heading": [], "fov": [], "range": [], "gain_m2": [], "key_area": [], "view": []},
                             geometry=[], crs=campus.crs)
    if n <= 0:
        return empty
    points, weights, where = _blind_points(cov, risk_weights(campus, scenario))
    if len(points) == 0:
        return empty
    fov = value("camera_fov", scenario.settings)
    density = density_of(None, scenario.settings)
    rng = float(density_range(value("camera_pixels", scenario.settings), fov, density))
    cands = camera_candidates(campus, net, fov, rng, scenario.settings)
    if cands.empty:
        return empty
    views = camera_viewsheds(campus.features, cands, density=density, settings=scenario.settings)
    cover = np.zeros((len(points), len(cands)), dtype=bool)
    for j, v in enumerate(views.to_numpy()):
        if not v.is_empty:
            cover[:, j] = seen_counts(points, [v]) > 0
    useful = np.flatnonzero(cover.any(axis=0))
    if len(useful) == 0:
        return empty
    sol = max_cover(cover[:, useful], weights, n, backup=False)
    chosen = [int(useful[j]) for j in sol.chosen]
    seen_before = np.zeros(len(points), bool)
    gains, areas = [], []
    order = sorted(chosen, key=lambda j: -float(weights[cover[:, j]].sum()))
    out = cands.loc[cands.index[order]].copy()
    out["view"] = views.iloc[order].to_numpy()
    for j in order:
        new = cover[:, j] & ~seen_before
        seen_before |= cover[:, j]
        gains.append(float(new.sum() * CAMERA_GRID**2))
        kas = [where[i] for i in np.flatnonzero(new)]
        areas.append(max(set(kas), key=kas.count) if kas else "")
    out["gain_m2"] = gains
    out["key_area"] = areas
    out.index = [f"NEW-CAM-{i + 1}" for i in range(len(out))]
    return out


__all__ = ["CANDIDATE_KINDS", "GuardNetwork", "PostAdvice", "PostProblem", "advise_posts", "best_posts", "camera_candidates",
           "key_area_nodes", "post_problem", "recommend_cameras", "risk_weights"]

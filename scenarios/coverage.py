"""The coverage engine: guard posts, patrols and cameras against incidents (SimPy).

A ``coverage`` scenario (``docs/coverage.md``) asks three things of a layout of
guard posts, patrols and cameras:

1. **What the cameras see** (``twin/viewshed.py``): per key area the share
   seen and by how many cameras, its blind spots, the footway network seen.
2. **How fast a guard gets there.** Incidents arrive in the key areas (Poisson,
   weighted by each area's risk and an hourly profile, or a given list). The
   nearest free guard on duty, at a post or on patrol, is dispatched: after
   ``dispatch_delay`` s they run on the campus graph at ``guard_run_speed``
   (stairs slower), handle the incident, then walk back to their post or
   rejoin their patrol, and can be sent again on the way. Response time =
   waiting for a free guard + dispatch delay + running time.
3. **Where the next post or camera should go** (``scenarios/placement.py``):
   maximal covering of the key areas' incident weight by ``k`` posts within
   the response standard, set covering for the fewest posts that reach every
   key area, and the cameras to add that see the most of the blind spots. The
   recommended posts are then checked in the simulation with the same
   incidents (common random numbers).

Every guard is a SimPy process (a plain generator); a dispatch interrupts it.
Replication ``i`` draws from stream ``i`` of ``numpy.random.SeedSequence(seed)
.spawn``; inside it, incidents and handling times come from one child stream
and patrol orders from another, so two layouts run against the same incidents.
"""

from __future__ import annotations

import math
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import networkx as nx
import numpy as np
import shapely
import simpy
from scipy.sparse import csr_array
from scipy.sparse.csgraph import dijkstra

from scenarios.placement import CoverSolution, coverage_of, max_cover, mean_time, set_cover
from scenarios.schema import Coverage
from twin.viewshed import CameraCoverage, camera_coverage, camera_viewsheds, grid_points, seen_counts
from twin.campus import Campus
from twin.errors import Problem, ScenarioError
from twin.settings import SETTINGS

HOURLY_PROFILE = (
    1.2, 1.2, 1.0, 0.8, 0.6, 0.5, 0.5, 0.6, 0.8, 0.9, 1.0, 1.0,
    1.0, 1.0, 1.0, 1.0, 1.1, 1.2, 1.3, 1.4, 1.5, 1.6, 1.5, 1.4,
)
"""Relative incident rate by hour of the day (0-23), mean 1.04: quiet early morning, busiest in the
evening, as campus security logs usually show (modelling choice; give ``incidents.hourly`` to use your own)."""
CAMERA_GRID = 4.0
"""Spacing of the blind-spot sample points that proposed cameras are scored on (m)."""
CAMERA_HEADINGS = 8
"""Headings tried at each candidate camera position (every 45°)."""
CAMERA_SITE_REACH = 40.0
"""Candidate camera positions lie within this distance of a key area (m)."""
TAIL = 3600.0
"""The run goes on this long (s) after ``hours`` (with no new incidents), so incidents near the end are answered too."""
CANDIDATE_KINDS = ("junction", "gate", "door")
"""Graph nodes that may hold a new guard post (outdoor junctions, gates, building exits), besides current posts."""


def _s(name: str, overrides: dict[str, float]) -> float:
    return float(overrides.get(name, SETTINGS[name].default))


# --------------------------------------------------------------------------
# The network guards move on
# --------------------------------------------------------------------------


class GuardNetwork:
    """The campus graph as guards use it: running times between all nodes, walking paths.

    Parameters
    ----------
    campus : Campus
        The loaded campus; guards may use every edge, roads included.
    settings : dict
        Overrides of the documented defaults (``guard_run_speed``, ``patrol_speed``, …).
    """

    def __init__(self, campus: Campus, settings: dict[str, float] | None = None) -> None:
        s = settings or {}
        g = campus.graph
        self.graph = g
        self.names: list[str] = list(g.nodes)
        self.index = {n: i for i, n in enumerate(self.names)}
        self.xy = np.array([(g.nodes[n]["x"], g.nodes[n]["y"]) for n in self.names])
        self.kind = [g.nodes[n]["kind"] for n in self.names]
        self.outdoor = np.array([g.nodes[n].get("level") is None for n in self.names])
        stair = _s("walk_speed_mean", s) / _s("stair_speed_down", s)
        self.run_speed = _s("guard_run_speed", s)
        self.walk_speed = _s("patrol_speed", s)
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
        self._run = csr_array((run, (rows, cols)), shape=(n, n))
        self.run_time = dijkstra(self._run, directed=False)
        """Running time between every two nodes (s; inf when unconnected)."""
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
    reach = _s("key_area_reach", settings or {})
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
            out[str(fid)] = _s(f"risk.{cat}" if f"risk.{cat}" in SETTINGS else "risk.other", scenario.settings)
    return out


# --------------------------------------------------------------------------
# Placement problems on the campus
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
    delay = _s("dispatch_delay", scenario.settings)
    times = net.run_time[np.ix_(cands, demand)].T + delay
    return PostProblem(demand, np.asarray(w), cands, [labels[c] for c in cands], times, scenario.standard)


def _finite(x: float) -> float | None:
    """``x`` rounded to 0.1, or None when it is not finite (JSON has no infinity)."""
    return round(float(x), 1) if math.isfinite(x) else None


def best_posts(problem: PostProblem, k: int) -> CoverSolution:
    """The ``k`` posts that reach the most incident weight within the standard; ties: reached twice, then quickest on average."""
    return max_cover(problem.cover, problem.weights, k, times=problem.times)


def recommend_posts(problem: PostProblem, k: int, current: Sequence[int], sol: CoverSolution | None = None) -> dict[str, Any]:
    """Maximal covering with ``k`` posts and set covering, beside the current layout (candidate indices ``current``)."""
    cover = problem.cover
    sol = sol or best_posts(problem, k)
    cur = coverage_of(cover, problem.weights, current)
    sc, uncoverable = set_cover(cover)
    return {
        "k": k,
        "objective": "incident weight reached within the standard; ties: weight reached by two posts, then the least mean response",
        "posts": [problem.labels[j] for j in sol.chosen],
        "nodes": [int(problem.candidates[j]) for j in sol.chosen],
        "covered_share": round(sol.covered, 4),
        "backup_share": round(sol.backup, 4),
        "current_covered_share": round(cur[0], 4),
        "current_backup_share": round(cur[1], 4),
        "mean_response_s": _finite(mean_time(problem.times, problem.weights, sol.chosen)),
        "current_mean_response_s": _finite(mean_time(problem.times, problem.weights, current)),
        "status": sol.status,
        "set_cover": {
            "posts_needed": len(sc.chosen),
            "posts": [problem.labels[j] for j in sc.chosen],
            "uncoverable_points": len(uncoverable),
            "status": sc.status,
        },
        "candidates": len(problem.candidates),
        "demand_points": len(problem.demand),
    }


def camera_candidates(campus: Campus, net: GuardNetwork, fov: float, range_: float) -> gpd.GeoDataFrame:
    """Candidate new cameras: at outdoor nodes and just outside building corners near key areas, 8 headings each."""
    f = campus.features
    ka = shapely.union_all(campus.of_kind("key_area").geometry.to_numpy())
    near = ka.buffer(CAMERA_SITE_REACH)
    pts = [tuple(p) for p, out in zip(net.xy, net.outdoor, strict=True) if out and near.contains(shapely.Point(p))]
    for b in campus.of_kind("building").geometry:
        if not b.intersects(near):
            continue
        c = b.centroid
        for x, y in shapely.get_coordinates(b.exterior)[:-1] if b.geom_type == "Polygon" else []:
            dx, dy = x - c.x, y - c.y
            d = math.hypot(dx, dy) or 1.0
            q = (x + 1.5 * dx / d, y + 1.5 * dy / d)
            if near.contains(shapely.Point(q)):
                pts.append(q)
    pts = list(dict.fromkeys((round(x, 1), round(y, 1)) for x, y in pts))
    rows = [(x, y, h) for x, y in pts for h in np.arange(CAMERA_HEADINGS) * 360.0 / CAMERA_HEADINGS]
    if not rows:
        return gpd.GeoDataFrame({"heading": [], "fov": [], "range": []}, geometry=[], crs=f.crs)
    arr = np.array(rows)
    return gpd.GeoDataFrame({"heading": arr[:, 2], "fov": fov, "range": range_},
                            geometry=shapely.points(arr[:, :2]), crs=f.crs)


def recommend_cameras(campus: Campus, net: GuardNetwork, scenario: Coverage, cov: CameraCoverage, n: int) -> gpd.GeoDataFrame:
    """The ``n`` cameras that see the most risk-weighted blind ground of the key areas (maximal covering).

    Returns a GeoDataFrame of the chosen cameras (``heading``, ``fov``, ``range``,
    ``gain_m2`` the blind area each newly sees, ``key_area``, ``view``).
    """
    empty = gpd.GeoDataFrame({"heading": [], "fov": [], "range": [], "gain_m2": [], "key_area": [], "view": []},
                             geometry=[], crs=campus.crs)
    if n <= 0:
        return empty
    risk = risk_weights(campus, scenario)
    pts, w, where = [], [], []
    for ka, a in cov.areas.items():
        p = grid_points(a.blind_spots, CAMERA_GRID)
        if len(p) == 0:
            continue
        pts.append(p)
        w.append(np.full(len(p), risk[ka] / max(a.area_m2, 1.0) * CAMERA_GRID**2))
        where += [ka] * len(p)
    if not pts:
        return empty
    points, weights = np.vstack(pts), np.concatenate(w)
    fov = _s("camera_fov", scenario.settings)
    rng = _s("camera_range", scenario.settings)
    cands = camera_candidates(campus, net, fov, rng)
    if cands.empty:
        return empty
    views = camera_viewsheds(campus.features, cands)
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


# --------------------------------------------------------------------------
# The simulation
# --------------------------------------------------------------------------


@dataclass
class Guard:
    """One guard: at a post or on a patrol loop."""

    id: str
    kind: str
    """``post`` or ``patrol``."""
    home: int
    """Node of the post, or the patrol's first stop."""
    group: str
    """Post id, or ``patrol-N``."""
    rank: int
    """Number of this guard within its post (0, 1, …) or among all patrol guards."""
    stops: list[int] = field(default_factory=list)
    randomise: bool = False
    busy: bool = False
    at: int = 0
    moving: tuple[int, int, float, float] | None = None
    """(from node, to node, time set off, walking time of the edge) while walking."""
    plan: list[int] = field(default_factory=list)
    busy_s: float = 0.0
    staff: int = 1
    """Guards of this post (its ``staff``)."""
    proc: Any = None


@dataclass
class Incident:
    """One incident and how it was answered (times in s from the start)."""

    t: float
    node: int
    area: str
    handling: float
    guard: str | None = None
    guard_kind: str | None = None
    dispatched: float | None = None
    arrived: float | None = None

    @property
    def response(self) -> float | None:
        """Seconds from the alarm to a guard on site, or None when nobody came."""
        return None if self.arrived is None else self.arrived - self.t


@dataclass
class CoverageReplication:
    """What one replication produced."""

    index: int
    incidents: list[Incident]
    utilisation: dict[str, float]
    """Busy share of each guard's time on duty."""
    passes: dict[str, list[float]]
    """Times (s) a patrol passed each key area."""
    events: int


@dataclass
class Layout:
    """Where the guards are: posts (node, staff) and patrols."""

    posts: list[tuple[str, int, int]]
    """(post id, node index, guards)."""
    patrols: list[tuple[int, list[int], bool]]
    """(guards, stops (node indices), randomise)."""


class CoverageModel:
    """A coverage scenario prepared on a campus: network, key areas, cameras, layout.

    Parameters
    ----------
    campus : Campus
    scenario : Coverage
    source : str
        Scenario file name, for error messages.

    Raises
    ------
    ScenarioError
        For ids the campus does not have, naming the key.
    """

    def __init__(self, campus: Campus, scenario: Coverage, source: str = "scenario") -> None:
        self.campus = campus
        self.scenario = scenario
        self.source = source
        self.net = GuardNetwork(campus, scenario.settings)
        self.nodes = key_area_nodes(campus, self.net, scenario.settings)
        if not self.nodes:
            raise ScenarioError([Problem(source, "the campus has no key areas: a coverage scenario needs at least one",
                                         field="campus")])
        self.risk = risk_weights(campus, scenario)
        self._check(source)
        self.problem = post_problem(campus, self.net, scenario, self.nodes)
        self.scenario_posts = self._scenario_posts()
        self.layout = self._layout()
        self.delay = _s("dispatch_delay", scenario.settings)

    # ---- ids and layout

    def _check(self, source: str) -> None:
        sc = self.scenario
        f = self.campus.features
        problems = []
        posts = set(self.campus.of_kind("post").index)
        for i, p in enumerate(sc.posts or []):
            if p not in posts:
                problems.append(Problem(source, f"{p!r} is not a guard post of the campus", field=f"posts[{i}]"))
        for i, inc in enumerate(sc.incidents.given or []):
            if inc.where not in f.index and inc.where not in self.net.index:
                problems.append(Problem(source, f"{inc.where!r} is not a feature or graph node of the campus",
                                        field=f"incidents.given[{i}].where"))
        for i, p in enumerate(sc.patrols):
            for j, s in enumerate(p.route):
                if s not in f.index and s not in self.net.index:
                    problems.append(Problem(source, f"{s!r} is not a feature or graph node of the campus",
                                            field=f"patrols[{i}].route[{j}]"))
        cats = set(self.campus.of_kind("key_area").get("category", []))
        for k in sc.incidents.risk:
            if k not in self.nodes and k not in cats and f"risk.{k}" not in SETTINGS:
                problems.append(Problem(source, f"{k!r} is neither a key area nor a key-area category",
                                        field=f"incidents.risk.{k}"))
        for i, s in enumerate(sc.shifts):
            for p in s.posts:
                if p not in posts:
                    problems.append(Problem(source, f"{p!r} is not a guard post of the campus", field=f"shifts[{i}].posts.{p}"))
        if problems:
            raise ScenarioError(problems)

    def node_of(self, fid: str, rng: np.random.Generator | None = None) -> int:
        """The graph node of a feature id (a key area: one of its incident nodes) or of a node name."""
        if fid in self.nodes:
            idx = self.nodes[fid]
            if rng is None:
                c = self.campus.features.geometry[fid].centroid
                return min(idx, key=lambda i: math.hypot(self.net.xy[i, 0] - c.x, self.net.xy[i, 1] - c.y))
            return int(idx[int(rng.integers(len(idx)))])
        if fid in self.net.index and fid not in self.campus.features.index:
            return self.net.index[fid]
        row = self.campus.features.loc[fid]
        node = row.get("node")
        if isinstance(node, str) and node in self.net.index:
            return self.net.index[node]
        if fid in self.net.index:
            return self.net.index[fid]
        c = row.geometry.centroid
        return self.net.nearest(c.x, c.y)

    def _scenario_posts(self) -> list[tuple[str, int, int]]:
        posts = self.campus.of_kind("post")
        ids = self.scenario.posts if self.scenario.posts is not None else list(posts.index)
        out = []
        for pid in ids:
            staff = posts.at[pid, "staff"] if "staff" in posts else 1
            staff = int(staff) if staff == staff and staff is not None else 1
            out.append((str(pid), self.node_of(pid), max(staff, 1)))
        return out

    def near(self, node: int) -> str:
        """What a site is by or in: the nearest building, gate, key area or post, and how far (m)."""
        f = self.campus.features
        if not hasattr(self, "_landmarks"):
            lm = f[f["kind"].isin(["building", "gate", "post", "assembly"])]
            self._landmarks = (list(lm.index), lm.geometry.to_numpy(), list(lm["kind"]))
        ids, geoms, kinds = self._landmarks
        if not ids:
            return ""
        d = shapely.distance(geoms, shapely.Point(self.net.xy[node]))
        i = int(np.argmin(d))
        name = f.at[ids[i], "name"] if "name" in f and isinstance(f.at[ids[i], "name"], str) else ids[i]
        return f"at {kinds[i]} {name}" if d[i] < 0.5 else f"{d[i]:.0f} m from {kinds[i]} {name}"

    def staffed(self, chosen: Sequence[int], guards: int) -> list[tuple[str, int, int]]:
        """Posts at candidates ``chosen`` sharing ``guards`` guards: one each, the rest to the posts reaching the most weight."""
        cover = self.problem.cover
        reach = [float(self.problem.weights[cover[:, j]].sum()) for j in chosen]
        order = sorted(range(len(chosen)), key=lambda i: -reach[i])
        staff = [1] * len(chosen)
        for extra in range(max(guards - len(chosen), 0)):
            staff[order[extra % len(order)]] += 1
        return [(self.problem.labels[j], int(self.problem.candidates[j]), s) for j, s in zip(chosen, staff, strict=True)]

    def _layout(self) -> Layout:
        sc = self.scenario
        if sc.optimise_posts:
            guards = sum(s for _, _, s in self.scenario_posts)
            sol = best_posts(self.problem, sc.optimise_posts)
            self.optimised = sol
            posts = self.staffed(sol.chosen, guards)
        else:
            self.optimised = None
            posts = self.scenario_posts
        return Layout(posts, self._patrols())

    def _patrols(self) -> list[tuple[int, list[int], bool]]:
        out = []
        for i, p in enumerate(self.scenario.patrols):
            if p.route:
                stops = [self.node_of(s) for s in p.route]
            elif p.over == "covering":
                k = self.scenario.recommend_posts or len(self.scenario_posts) or 1
                stops = self.generated_route([self.problem.candidates[j] for j in best_posts(self.problem, k).chosen])
            else:
                stops = self.generated_route()
            for a, b in zip(stops, [*stops[1:], stops[0]], strict=True):
                if not math.isfinite(self.net.run_time[a, b]):
                    raise ScenarioError([Problem(self.source, f"no path from {self.net.names[a]!r} to {self.net.names[b]!r} "
                                                              "on the campus graph", field=f"patrols[{i}].route")])
            out.append((p.guards, stops, p.randomise))
        return out

    def generated_route(self, stops: Sequence[int] | None = None) -> list[int]:
        """A patrol loop through ``stops`` (default: every key area, at its node nearest the centroid),
        nearest neighbour first from the first post."""
        stops = list(stops) if stops is not None else [self.node_of(ka) for ka in self.nodes]
        start = self.scenario_posts[0][1] if self.scenario_posts else stops[0]
        route = [start]
        left = [s for s in stops if s != start]
        while left:
            nxt = min(left, key=lambda s: self.net.run_time[route[-1], s])
            route.append(nxt)
            left.remove(nxt)
        return route

    # ---- duty

    def on_duty(self, g: Guard, t: float) -> bool:
        """Whether guard ``g`` is on duty at time ``t`` (s from the start)."""
        shifts = self.scenario.shifts
        if not shifts:
            return True
        hour = (self.scenario.start_hour + t / 3600.0) % 24
        for s in shifts:
            inside = s.start <= hour < s.end if s.start <= s.end else (hour >= s.start or hour < s.end)
            if not inside:
                continue
            if g.kind == "post":
                return g.rank < s.posts.get(g.group, g.staff)
            return s.patrols is None or g.rank < s.patrols
        return False

    def shift_changes(self, horizon: float) -> list[float]:
        """Times (s) at which a shift starts, within the horizon."""
        out = []
        for s in self.scenario.shifts:
            first = ((s.start - self.scenario.start_hour) % 24) * 3600.0
            t = first
            while t < horizon:
                out.append(t)
                t += 86400.0
        return sorted(out)

    # ---- incidents

    def draw_incidents(self, rng: np.random.Generator) -> list[Incident]:
        """The incidents of one replication (Poisson by hour and key area, or the given list)."""
        sc = self.scenario
        horizon = sc.hours * 3600.0
        hand = sc.handling
        out: list[Incident] = []
        if sc.incidents.given is not None:
            for inc in sorted(sc.incidents.given, key=lambda i: i.at):
                if inc.at > horizon:
                    continue
                node = self.node_of(inc.where, rng)
                area = inc.where if inc.where in self.nodes else self.area_of(node)
                h = inc.handling if inc.handling is not None else float(max(hand.draw(rng, 1)[0], 0.0))
                out.append(Incident(inc.at, node, area, h))
            return out
        prof = np.asarray(sc.incidents.hourly or HOURLY_PROFILE, float)
        prof = prof / prof.mean() if prof.mean() > 0 else prof
        total = sum(self.risk.values())
        if total <= 0:
            return out
        areas = list(self.nodes)
        share = np.array([self.risk[a] / total for a in areas])
        n_hours = math.ceil(sc.hours)
        for h in range(n_hours):
            span = min(1.0, sc.hours - h)
            hour = int((sc.start_hour + h) % 24)
            lam = sc.incidents.per_day / 24.0 * prof[hour] * span * share
            counts = rng.poisson(lam)
            for a, c in zip(areas, counts.tolist(), strict=True):
                for _ in range(c):
                    t = (h + rng.uniform(0, span)) * 3600.0
                    idx = self.nodes[a]
                    out.append(Incident(t, int(idx[int(rng.integers(len(idx)))]), a, 0.0))
        out.sort(key=lambda i: i.t)
        hd = np.maximum(hand.draw(rng, len(out)), 0.0) if out else []
        for inc, h in zip(out, hd, strict=True):
            inc.handling = float(h)
        return out

    def area_of(self, node: int) -> str:
        """The key area whose incident nodes hold ``node``, or ``""``."""
        return next((a for a, idx in self.nodes.items() if node in idx), "")

    # ---- one replication

    def run(self, index: int, layout: Layout | None = None) -> CoverageReplication:
        """Run replication ``index`` (of ``layout``, by default the scenario's)."""
        layout = layout or self.layout
        child = np.random.SeedSequence(self.scenario.seed).spawn(index + 1)[index]
        inc_seq, patrol_seq = child.spawn(2)
        incidents = self.draw_incidents(np.random.default_rng(inc_seq))
        prng = np.random.default_rng(patrol_seq)
        net = self.net
        env = simpy.Environment()
        horizon = self.scenario.hours * 3600.0
        guards: list[Guard] = []
        for pid, node, staff in layout.posts:
            for r in range(staff):
                guards.append(Guard(f"{pid}#{r + 1}", "post", node, pid, r, at=node, staff=staff))
        rank = 0
        for k, (n, stops, rand) in enumerate(layout.patrols):
            for r in range(n):
                # stagger the guards of one patrol around the loop
                off = (r * len(stops)) // n
                st = stops[off:] + stops[:off]
                guards.append(Guard(f"patrol-{k + 1}#{r + 1}", "patrol", st[0], f"patrol-{k + 1}", rank, st, rand, at=st[0]))
                rank += 1
        waiting: list[Incident] = []
        passes: dict[str, list[float]] = defaultdict(list)
        area_nodes = {i: a for a, idx in self.nodes.items() for i in idx}
        counter = [0]

        def travel(g: Guard, target: int, now: float) -> float:
            if g.moving is None:
                return float(net.run_time[g.at, target])
            u, v, t0, w = g.moving
            f = min(max((now - t0) / w, 0.0), 1.0) if w > 0 else 1.0
            e = net.edge_run(u, v)
            return float(min(f * e + net.run_time[u, target], (1 - f) * e + net.run_time[v, target]))

        def dispatch() -> None:
            now = env.now
            while waiting:
                inc = waiting[0]
                free = [g for g in guards if not g.busy and self.on_duty(g, now)]
                if not free:
                    return
                times = [travel(g, inc.node, now) for g in free]
                best = int(np.argmin(times))
                if not math.isfinite(times[best]):
                    waiting.pop(0)  # nobody can reach it: left unanswered
                    continue
                waiting.pop(0)
                g = free[best]
                g.busy = True
                inc.guard, inc.guard_kind, inc.dispatched = g.id, g.kind, now
                g.proc.interrupt((inc, times[best]))

        def next_round(g: Guard) -> list[int]:
            stops = list(g.stops)
            if g.randomise and len(stops) > 2:
                stops = [stops[i] for i in prng.permutation(len(stops))]
            plan: list[int] = []
            cur = g.at
            for s in [*stops, stops[0]]:
                if s != cur:
                    plan += net.path(cur, s)[1:]
                    cur = s
            return plan

        def back_to_route(g: Guard) -> list[int]:
            nearest = min(g.stops, key=lambda s: net.run_time[g.at, s])
            i = g.stops.index(nearest)
            rest = g.stops[i:] + g.stops[:i]
            plan = net.path(g.at, nearest)[1:]
            cur = nearest
            for s in [*rest[1:], rest[0]]:
                if s != cur:
                    plan += net.path(cur, s)[1:]
                    cur = s
            return plan

        def guard(g: Guard):  # noqa: ANN202 - a SimPy process
            last_area = area_nodes.get(g.at, "")
            while True:
                try:
                    if g.kind == "patrol" and not g.plan:
                        g.plan = next_round(g)
                    if g.plan:
                        v = g.plan[0]
                        w = net.edge_walk(g.at, v)
                        g.moving = (g.at, v, env.now, w)
                        yield env.timeout(w)
                        counter[0] += 1
                        g.plan.pop(0)
                        g.at, g.moving = v, None
                        a = area_nodes.get(v, "")
                        if g.kind == "patrol" and a and a != last_area:
                            passes[a].append(env.now)
                        last_area = a
                    else:
                        yield env.event()  # at the post until dispatched
                except simpy.Interrupt as stop:
                    inc, run_s = stop.cause
                    g.moving = None
                    g.plan = []
                    t0 = env.now
                    yield env.timeout(self.delay + run_s)
                    inc.arrived = env.now
                    yield env.timeout(inc.handling)
                    counter[0] += 2
                    g.busy_s += min(env.now, horizon) - min(t0, horizon)
                    g.at = inc.node
                    last_area = area_nodes.get(g.at, "")
                    g.busy = False
                    g.plan = net.path(g.at, g.home)[1:] if g.kind == "post" else back_to_route(g)
                    later = env.timeout(0)  # dispatch from outside this process: it may be the one sent
                    later.callbacks.append(lambda _: dispatch())

        def arrivals():  # noqa: ANN202 - a SimPy process
            for inc in incidents:
                if inc.t > env.now:
                    yield env.timeout(inc.t - env.now)
                waiting.append(inc)
                dispatch()

        def shifts():  # noqa: ANN202 - a SimPy process
            for t in self.shift_changes(horizon + TAIL):
                if t > env.now:
                    yield env.timeout(t - env.now)
                dispatch()

        for g in guards:
            g.proc = env.process(guard(g))
        env.process(arrivals())
        env.process(shifts())
        env.run(until=horizon + TAIL)
        passes = {a: [t for t in ts if t <= horizon] for a, ts in passes.items()}
        util = {}
        samples = np.arange(0.0, horizon, 60.0)
        for g in guards:
            duty = sum(1 for t in samples if self.on_duty(g, t)) * 60.0
            util[g.id] = g.busy_s / duty if duty else 0.0
        return CoverageReplication(index, incidents, util, dict(passes), counter[0] + len(incidents))


# --------------------------------------------------------------------------
# Running and summarising
# --------------------------------------------------------------------------


def _stats(x: Sequence[float]) -> dict[str, float | None]:
    a = np.asarray(x, float)
    if len(a) == 0:
        return {"mean": None, "p50": None, "p90": None, "p95": None, "max": None}
    return {"mean": round(float(a.mean()), 1), "p50": round(float(np.percentile(a, 50)), 1),
            "p90": round(float(np.percentile(a, 90)), 1), "p95": round(float(np.percentile(a, 95)), 1),
            "max": round(float(a.max()), 1)}


def response_summary(reps: Sequence[CoverageReplication], standard: float, areas: Sequence[str]) -> dict[str, Any]:
    """Response times pooled over replications: overall and per key area, and the share within the standard."""
    allr: list[float] = []
    by: dict[str, list[float]] = defaultdict(list)
    n_by: dict[str, int] = defaultdict(int)
    unanswered = 0
    n = 0
    for r in reps:
        for inc in r.incidents:
            n += 1
            n_by[inc.area] += 1
            if inc.response is None:
                unanswered += 1
                continue
            allr.append(inc.response)
            by[inc.area].append(inc.response)
    within = sum(1 for x in allr if x <= standard) / n if n else None
    per = {}
    for a in areas:
        rs = by.get(a, [])
        per[a] = {"incidents": round(n_by.get(a, 0) / max(len(reps), 1), 2), "response_time_s": _stats(rs),
                  "within_standard": round(sum(1 for x in rs if x <= standard) / n_by[a], 4) if n_by.get(a) else None}
    return {"incidents": round(n / max(len(reps), 1), 2), "unanswered": round(unanswered / max(len(reps), 1), 2),
            "response_time_s": _stats(allr), "within_standard": round(within, 4) if within is not None else None,
            "by_key_area": per}


@dataclass
class CoverageOutcome:
    """All replications of a coverage scenario, the camera coverage and the recommendations."""

    scenario: Coverage
    source: str
    model: CoverageModel
    replications: list[CoverageReplication]
    cameras: CameraCoverage
    posts: dict[str, Any]
    new_cameras: gpd.GeoDataFrame
    checked: list[CoverageReplication]
    """The replications re-run with the recommended posts (same incidents)."""
    current: list[CoverageReplication]
    """For an optimised layout: the replications with the scenario's own posts (same incidents); else empty."""
    wall_s: float

    def summary(self) -> dict[str, Any]:
        """The JSON document of ``twin run --json`` for a coverage scenario."""
        sc = self.scenario
        m = self.model
        reps = self.replications
        areas = list(m.nodes)
        resp = response_summary(reps, sc.standard, areas)
        util: dict[str, list[float]] = defaultdict(list)
        for r in reps:
            for g, u in r.utilisation.items():
                util[g].append(u)
        util_mean = {g: round(float(np.mean(u)), 4) for g, u in util.items()}
        hours = sc.hours
        passes = {}
        for a in areas:
            counts = [len(r.passes.get(a, [])) for r in reps]
            gaps = []
            for r in reps:
                ts = [0.0, *sorted(r.passes.get(a, [])), hours * 3600.0]
                gaps.append(max(np.diff(ts)) / 60.0)
            passes[a] = {"per_hour": round(float(np.mean(counts)) / hours, 3),
                         "longest_gap_min": round(float(np.mean(gaps)), 1) if m.layout.patrols else None}
        by_hour = []
        for h in range(24):
            rs = [i.response for r in reps for i in r.incidents if int((sc.start_hour + i.t / 3600) % 24) == h]
            ok = [x for x in rs if x is not None]
            by_hour.append({"hour": h, "incidents": round(len(rs) / max(len(reps), 1), 2),
                            "p90_s": round(float(np.percentile(ok, 90)), 1) if ok else None,
                            "within_standard": round(sum(x <= sc.standard for x in ok) / len(rs), 4) if rs else None})
        checked = response_summary(self.checked, sc.standard, areas)
        posts = dict(self.posts)
        posts["simulated"] = {"response_time_s": checked["response_time_s"], "within_standard": checked["within_standard"]}
        out = {
            "scenario": sc.name or Path(self.source).stem,
            "kind": sc.kind,
            "campus": str(sc.campus),
            "campus_digest": m.campus.digest,
            "seed": sc.seed,
            "replications": len(reps),
            "hours": hours,
            "standard_s": sc.standard,
            "posts": [{"id": p, "node": m.net.names[n], "guards": s} for p, n, s in m.layout.posts],
            "patrol_guards": sum(n for n, _, _ in m.layout.patrols),
            "optimised_posts": sc.optimise_posts,
            "incidents": resp["incidents"],
            "unanswered": resp["unanswered"],
            "response_time_s": resp["response_time_s"],
            "within_standard": resp["within_standard"],
            "by_key_area": resp["by_key_area"],
            "by_hour": by_hour,
            "utilisation": util_mean,
            "utilisation_mean": round(float(np.mean(list(util_mean.values()))), 4) if util_mean else 0.0,
            "patrol_passes": passes,
            "camera_coverage": {a: c.as_dict() for a, c in self.cameras.areas.items()},
            "footway_seen_share": round(self.cameras.footway_share, 4),
            "cameras": int(len(self.cameras.views)),
            "recommended_posts": posts,
            "recommended_cameras": [
                {"id": str(i), "x": round(r.geometry.x, 1), "y": round(r.geometry.y, 1), "heading": float(r["heading"]),
                 "fov": float(r["fov"]), "range": float(r["range"]), "key_area": r["key_area"],
                 "gain_m2": round(float(r["gain_m2"]), 1)}
                for i, r in self.new_cameras.iterrows()
            ],
            "events_per_replication": round(float(np.mean([r.events for r in reps]))) if reps else 0,
            "wall_s": round(self.wall_s, 3),
        }
        if self.current:
            cur = response_summary(self.current, sc.standard, areas)
            out["scenario_posts_simulated"] = {"response_time_s": cur["response_time_s"], "within_standard": cur["within_standard"]}
        return out


def run_coverage(scenario: Coverage, *, source: str = "scenario", campus: Campus | None = None,
                 progress: Callable[[int], None] | None = None) -> CoverageOutcome:
    """Run a coverage scenario: cameras, every replication, the recommendations and their check in the simulation."""
    from twin.campus import load_campus

    t0 = time.perf_counter()
    campus = campus or load_campus(scenario.campus)
    model = CoverageModel(campus, scenario, source)
    reps = []
    for i in range(scenario.replications):
        reps.append(model.run(i))
        if progress:
            progress(i + 1)
    views = camera_viewsheds(campus.features)
    cams = camera_coverage(campus.features, views)
    k = scenario.recommend_posts or max(len(model.layout.posts), 1)
    own = model.scenario_posts
    current = [model.problem.candidates.index(n) for _, n, _ in own if n in model.problem.candidates]
    same = model.optimised is not None and k == scenario.optimise_posts
    posts = recommend_posts(model.problem, k, current, model.optimised if same else None)
    guards = sum(s for _, _, s in model.layout.posts)
    chosen = [model.problem.candidates.index(n) for n in posts["nodes"]]
    rec_layout = Layout(model.staffed(chosen, guards), model.layout.patrols)
    posts["layout"] = [{"id": p, "node": model.net.names[n], "guards": s, "x": round(float(model.net.xy[n, 0]), 1),
                        "y": round(float(model.net.xy[n, 1]), 1), "near": model.near(n)} for p, n, s in rec_layout.posts]
    checked = [model.run(i, rec_layout) for i in range(scenario.replications)]
    current_reps = []
    if scenario.optimise_posts:
        current_reps = [model.run(i, Layout(own, model.layout.patrols)) for i in range(scenario.replications)]
    new = recommend_cameras(campus, model.net, scenario, cams, scenario.new_cameras)
    return CoverageOutcome(scenario, source, model, reps, cams, posts, new, checked, current_reps, time.perf_counter() - t0)


__all__ = ["CoverageModel", "CoverageOutcome", "GuardNetwork", "Layout", "best_posts", "key_area_nodes", "post_problem",
           "recommend_cameras", "recommend_posts", "run_coverage"]

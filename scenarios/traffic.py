"""The traffic engine: pedestrians and vehicles at the gates, on alternative layouts (SimPy).

A ``traffic`` scenario (``docs/traffic.md``) runs one day, or part of one, on
the campus graph:

* **Vehicles** (cars, buses, deliveries, emergency vehicles) arrive at vehicle
  gates (Poisson, hourly rates), queue for the barrier (a SimPy resource with
  one server per lane, lognormal service: plate recognition and the arm) and
  drive on roads and shared lanes to their destination, park for a dwell
  time and drive out through the nearest vehicle gate. A queue longer than the
  street in front of the gate holds (``traffic.approach_length``) spills back
  onto the street; the run reports for how long.
* **Car-following** is Newell's (2002) simplified model on directed links (one
  lane per direction): vehicles leave a link in the order they entered it, a
  follower no earlier than ``tau + d / v`` after its leader (reaction time
  ``tau``, jam spacing ``d``, free speed ``v`` = the lower of the speed limit
  and the vehicle's desired speed), and a link holds at most ``length / d``
  vehicles: a full link blocks the links upstream of it (spill-back). So no
  vehicle ever passes another on a lane, by construction.
* **Pedestrians** arrive at pedestrian gates and follow a timetable of class
  changes between buildings. They walk the shortest way on footways, shared
  lanes and crossings; a share (``jaywalk``) also walks on roads. They have
  priority on crossings: a driver who finds someone on the crossing yields
  with probability ``compliance`` (waits until it is clear, then needs
  ``traffic.yield_restart`` s to move off; after ``traffic.yield_patience`` s
  of a steady stream of people they edge through), else drives through. A pedestrian
  who reaches the kerb while a vehicle is passing waits for it, then needs
  ``traffic.ped_restart`` s to step off.
* **Signals**: a crossing with ``signal = true`` runs a fixed cycle
  (``traffic.signal_cycle``): people step off only during the walk signal
  (``traffic.signal_walk``), an all-red clearance follows (the road's width at
  ``traffic.signal_clear_speed``), and vehicles pass only in the rest of the
  cycle (no one runs a red light).
* **Conflicts**: every crossing over a road is a conflict area, and shared
  lanes (and roads people walk on) are cut into areas of
  ``traffic.cell_length`` m. A pedestrian and a vehicle whose times in the
  same area are closer than ``traffic.pet_threshold`` (post-encroachment
  time, Allen et al. 1978; 0 when they are in it together) make a conflict,
  counted once per pedestrian, vehicle and crossing or lane, at the area and
  time of the smallest PET.
* **Layouts**: the same demand (common random numbers: replication ``i`` uses
  stream ``i`` of ``SeedSequence(seed).spawn``, split into a demand stream
  and a behaviour stream) runs on every layout of the scenario, so the
  layouts are compared side by side.
* **Closures** of roads at given times: vehicles re-route at the next junction,
  or wait where they are until the road opens; a vehicle that cannot reach
  its destination from the gate and never will turns back at the gate. No one
  vanishes: every vehicle and pedestrian ends the run in a counted state.
"""

from __future__ import annotations

import json
import math
import time
from collections import defaultdict, deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import shapely
import simpy
from scipy.sparse import csr_array
from scipy.sparse.csgraph import dijkstra

from scenarios.schema import LayoutOverride, Traffic
from twin.campus import Campus, load_campus
from twin.errors import CampusError, Problem, ScenarioError
from twin.read import GEOJSON_SUFFIXES, resolve_campus_path
from twin.settings import SETTINGS

VEHICLES = ("car", "bus", "delivery", "emergency")
WALK = ("footway", "shared", "crossing", "link")
"""Edge kinds everyone walks on (``link`` joins exits and gates to the paths)."""
DRIVE = ("road", "shared")
"""Edge kinds vehicles drive on (a crossing is the pedestrians' line over a road)."""
KMH = 1 / 3.6
HOUR = 3600.0
AS_IS = "as is"
"""Name of the only layout of a scenario without ``layouts``."""

# vehicle states at the end of a run
QUEUED, AT_BARRIER, DRIVING, PARKED, LEFT, TURNED_BACK, STUCK = range(7)
VEHICLE_STATES = ("queued at the gate", "at the barrier", "driving", "parked", "left", "turned back", "stuck")


def _s(name: str, overrides: dict[str, float]) -> float:
    return float(overrides.get(name, SETTINGS[name].default))


# --------------------------------------------------------------------------
# Layouts: campus files and overrides
# --------------------------------------------------------------------------


def layout_campuses(scenario: Traffic, source: str, base: Campus | None = None) -> dict[str, Campus]:
    """The campus of every layout of the scenario, by name (one, ``"as is"``, without ``layouts``).

    Raises
    ------
    ScenarioError
        Naming the layout key, for ids the campus does not have, overrides of a
        non-GeoJSON campus, or an added file that does not load.
    """
    base = base or load_campus(scenario.campus)
    if not scenario.layouts:
        return {AS_IS: base}
    return {name: _layout_campus(scenario, name, lo, source, base) for name, lo in scenario.layouts.items()}


def _layout_campus(scenario: Traffic, name: str, lo: LayoutOverride, source: str, base: Campus) -> Campus:
    folder = Path(source).parent
    key = f"layouts.{name}"
    own = (folder / lo.campus).resolve() if lo.campus is not None and not lo.campus.is_absolute() else lo.campus
    if not (lo.remove or lo.retag or lo.set or lo.add):
        if own is None:
            return base
        try:
            return load_campus(own)
        except CampusError as e:
            raise ScenarioError([Problem(source, f"layout campus does not load: {p}", field=f"{key}.campus") for p in e.problems]) from None
    try:
        src = resolve_campus_path(own if own is not None else scenario.campus)
    except CampusError:
        raise ScenarioError([Problem(source, f"no such campus {own}", field=f"{key}.campus")]) from None
    if src.suffix.lower() not in GEOJSON_SUFFIXES:
        raise ScenarioError([Problem(source, f"layout changes need a GeoJSON campus ({src.name} is not one); "
                                     "give the layout a campus file of its own instead", field=key)])
    doc = json.loads(src.read_text(encoding="utf-8"))
    feats = doc["features"]
    ids = {str((f.get("properties") or {}).get("id")) for f in feats}
    problems = [Problem(source, f"no feature {fid!r} in {src.name}", field=f"{key}.remove") for fid in lo.remove if fid not in ids]
    if lo.add is not None:
        add_path = (folder / lo.add).resolve() if not lo.add.is_absolute() else lo.add
        try:
            extra = json.loads(add_path.read_text(encoding="utf-8"))
            added = list(extra["features"])
        except (OSError, ValueError, KeyError, TypeError) as e:
            raise ScenarioError([Problem(source, f"cannot read {lo.add} as a GeoJSON FeatureCollection ({e})", field=f"{key}.add")]) from None
        if (extra.get("crs") or None) != (doc.get("crs") or None):
            problems.append(Problem(source, f"{lo.add} must be in the campus file's CRS", field=f"{key}.add"))
        dup = sorted({str((f.get("properties") or {}).get("id")) for f in added} & (ids - set(lo.remove)))
        if dup:
            problems.append(Problem(source, f"{lo.add} adds ids the campus already has: {', '.join(dup)}", field=f"{key}.add"))
    else:
        added = []
    known = (ids - set(lo.remove)) | {str((f.get("properties") or {}).get("id")) for f in added}
    problems += [Problem(source, f"no feature {fid!r} in {src.name}" + (f" or {lo.add}" if lo.add else ""), field=f"{key}.{what}")
                 for what, keys in (("retag", lo.retag), ("set", lo.set)) for fid in keys if fid not in known]
    if problems:
        raise ScenarioError(problems)
    out = []
    kept = [f for f in feats if str((f.get("properties") or {}).get("id")) not in lo.remove]
    for f in kept + added:
        p = dict(f.get("properties") or {})
        fid = str(p.get("id"))
        if fid in lo.retag:
            p["kind"] = lo.retag[fid]
        p.update(lo.set.get(fid, {}))
        out.append({**f, "properties": p})
    try:
        return load_campus(src, doc={**doc, "features": out})
    except CampusError as e:
        raise ScenarioError([Problem(source, f"layout does not load: {p}", field=key) for p in e.problems]) from None


# --------------------------------------------------------------------------
# The network: walking and driving graphs, conflict areas
# --------------------------------------------------------------------------


@dataclass
class Route:
    """A pedestrian's way: length (m), the crossings on it and the conflict cells it walks through."""

    length: float
    zones: list[tuple[float, int]]
    """(distance of the crossing's middle along the way (m), zone index), in order."""
    cells: np.ndarray
    """Cell index of every cell walked through, in order."""
    cell_from: np.ndarray
    """Distance (m) along the way where each cell is entered."""
    cell_to: np.ndarray
    """Distance (m) along the way where each cell is left."""


class Network:
    """The graphs one layout's traffic moves on, built once per layout.

    Nodes are numbered; vehicles move on directed ``links`` (one lane per
    direction; a one-way road has one link), people on the undirected walking
    graph. Conflict areas are ``zones`` (where a crossing meets a road: one per
    such node) and ``cells`` (pieces of shared lanes and roads).
    """

    def __init__(self, campus: Campus, scenario: Traffic, source: str = "scenario", layout: str = AS_IS) -> None:
        self.campus = campus
        self.scenario = scenario
        st = scenario.settings
        g = campus.graph
        self.cell_len = _s("traffic.cell_length", st)
        names = [n for n, d in g.nodes(data=True) if d["level"] is None or d["kind"] == "door"]
        self.names = names
        self.index = {n: i for i, n in enumerate(names)}
        self.xy = np.array([(g.nodes[n]["x"], g.nodes[n]["y"]) for n in names])
        ix = self.index
        # conflict cells on shared lanes and roads: edge -> (first cell, number of cells)
        self.edge_cells: dict[tuple[int, int], tuple[int, int, float]] = {}
        cell_xy, cell_edge, cell_kind = [], [], []
        self.edge_names: list[str] = []
        for u, v, d in g.edges(data=True):
            if d["kind"] not in DRIVE or u not in ix or v not in ix:
                continue
            n = max(1, math.ceil(d["length"] / self.cell_len - 1e-9))
            self.edge_cells[(ix[u], ix[v])] = (len(cell_xy), n, d["length"])
            geom = d.get("geometry") or shapely.LineString([self.xy[ix[u]], self.xy[ix[v]]])
            for k in range(n):
                p = geom.interpolate((k + 0.5) / n, normalized=True)
                cell_xy.append((p.x, p.y))
                cell_edge.append(len(self.edge_names))
                cell_kind.append(d["kind"])
            self.edge_names.append(str(d.get("feature", f"{u}-{v}")))
        # crossing zones: nodes where a crossing meets a road or shared lane
        zone_nodes, zone_w, zone_cw = [], [], []
        for n in names:
            if g.nodes[n]["level"] is not None:
                continue
            kinds = [(g.edges[n, m]["kind"], g.edges[n, m]) for m in g[n]]
            cross = [d for k, d in kinds if k == "crossing"]
            road = [d for k, d in kinds if k in DRIVE]
            if cross and road:
                zone_nodes.append(ix[n])
                zone_w.append(max(d["width"] for d in road))
                zone_cw.append(max(d["width"] for d in cross))
        self.zone_node = np.array(zone_nodes, dtype=int)
        self.zone_width = np.array(zone_w, dtype=float)
        self.zone_cross_width = np.array(zone_cw, dtype=float)
        self.zone_of = {n: z for z, n in enumerate(zone_nodes)}
        self.n_zones = len(zone_nodes)
        flags = campus.features["signal"].items() if "signal" in campus.features else ()
        signals = {str(fid) for fid, v in flags if v in (True, 1, "true")}
        self.zone_signal = np.array([any(str(g.edges[self.names[n], m].get("feature")) in signals for m in g[self.names[n]]
                                         if g.edges[self.names[n], m]["kind"] == "crossing") for n in zone_nodes], dtype=bool)
        # places: zones first, then cells; groups: one per zone, one per lane edge
        self.place_xy = np.vstack([self.xy[self.zone_node].reshape(-1, 2), np.array(cell_xy).reshape(-1, 2)])
        self.place_group = np.concatenate([np.arange(self.n_zones), self.n_zones + np.array(cell_edge, dtype=int)])
        self.place_kind = np.array(["crossing"] * self.n_zones + cell_kind, dtype=object)
        self.group_name = [self._zone_name(int(z)) for z in zone_nodes] + self.edge_names
        # walking graphs (with and without roads), and the length of every step on them
        self.road_penalty = _s("traffic.road_walk_penalty", st)
        self.walk, self.walk_road = self._walk_csr(g, road=False), self._walk_csr(g, road=True)
        self.step_len = {(ix[u], ix[v]): float(d["length"]) for u, v, d in g.edges(data=True) if u in ix and v in ix}
        self.step_len |= {(q, p): x for (p, q), x in self.step_len.items()}
        # driving links
        self._build_links(g)
        self._check_and_access(source, layout)
        self._ped_routes: dict[tuple[str, str, bool], Route | None] = {}
        self._trees: dict[tuple[str, bool], tuple[np.ndarray, np.ndarray]] = {}
        self._hops: dict[tuple[int, int], tuple[np.ndarray, np.ndarray]] = {}

    def _zone_name(self, node: int) -> str:
        g = self.campus.graph
        n = self.names[node]
        feats = sorted({str(g.edges[n, m].get("feature")) for m in g[n] if g.edges[n, m]["kind"] == "crossing"})
        return feats[0] if feats else n

    def _walk_csr(self, g: Any, *, road: bool) -> csr_array:
        kinds = (*WALK, "road") if road else WALK
        ix = self.index
        r, c, w = [], [], []
        for u, v, d in g.edges(data=True):
            if d["kind"] not in kinds or u not in ix or v not in ix:
                continue
            if g.nodes[u]["kind"] == "assembly" or g.nodes[v]["kind"] == "assembly":
                continue  # the area's node joins its paths at no length; walking through it would be a shortcut
            r += [ix[u], ix[v]]
            c += [ix[v], ix[u]]
            w += [max(d["length"], 1e-3) * (self.road_penalty if d["kind"] == "road" else 1.0)] * 2
        n = len(self.names)
        return csr_array((w, (r, c)), shape=(n, n))

    def _build_links(self, g: Any) -> None:
        """Directed links (one lane per direction) of roads and shared lanes."""
        ix = self.index
        a, b, length, limit, kind, feature = [], [], [], [], [], []
        for u, v, d in g.edges(data=True):
            if d["kind"] not in DRIVE or u not in ix or v not in ix:
                continue
            fwd = d.get("forward")
            for p, q in ((u, v), (v, u)):
                if fwd is not None and (p, q) != tuple(fwd):
                    continue
                a.append(ix[p])
                b.append(ix[q])
                length.append(max(float(d["length"]), 1.0))
                limit.append(float(d.get("speed_limit") or SETTINGS["speed_limit"].default) * KMH)
                kind.append(d["kind"])
                feature.append(str(d.get("feature", "")))
        self.link_a, self.link_b = np.array(a, dtype=int), np.array(b, dtype=int)
        self.link_len, self.link_limit = np.array(length), np.array(limit)
        self.link_kind, self.link_feature = kind, feature
        self.link_of = {(p, q): k for k, (p, q) in enumerate(zip(a, b, strict=True))}
        jam = _s("traffic.jam_spacing", self.scenario.settings)
        self.link_storage = np.maximum(1, np.floor(self.link_len / jam)).astype(int)
        self.drive_nodes = np.unique(np.concatenate([self.link_a, self.link_b])) if a else np.empty(0, int)

    # ---- places the scenario names ------------------------------------

    def _check_and_access(self, source: str, layout: str) -> None:
        sc = self.scenario
        g = self.campus.graph
        f = self.campus.features
        where = f" in layout {layout!r}" if layout != AS_IS else ""
        buildings = list(f.index[f.kind == "building"])
        occupants = {b: 0.0 for b in buildings}
        for _, d in g.nodes(data=True):
            if d["kind"] in ("room", "corridor", "floor") and d.get("building") in occupants:
                occupants[d["building"]] += d.get("occupants", 0)
        # exits of each building on the walking graph, and the road node nearest them
        doors: dict[str, list[int]] = defaultdict(list)
        for n, d in g.nodes(data=True):
            if d["kind"] == "door" and n in self.index and any(g.edges[n, m]["kind"] == "link" for m in g[n]):
                doors[d["building"]].append(self.index[n])
        self.doors = dict(doors)
        self.occupants = {b: n for b, n in occupants.items() if b in self.doors}
        self.park: dict[str, int] = {}
        if len(self.drive_nodes):
            tree = shapely.STRtree(shapely.points(self.xy[self.drive_nodes]))
            for b, ds in self.doors.items():
                (_, j), dist = tree.query_nearest(shapely.points(self.xy[ds]), return_distance=True)
                self.park[b] = int(self.drive_nodes[j[int(np.argmin(dist))]])
        gates = f[f.kind == "gate"]
        problems = []
        self.vgates = [str(gid) for gid in gates.index if gid in self.index and self.index[gid] in set(self.drive_nodes.tolist())]
        self.pgates = [str(gid) for gid in gates.index if gid in self.index and self.walk.indptr[self.index[gid] + 1] > self.walk.indptr[self.index[gid]]]

        def check(ids: Sequence[str], key: str, *, reach: dict[str, Any], gates_ok: Sequence[str], what: str) -> None:
            problems.extend(Problem(source, f"{i!r} is not {what}{where}", field=key) for i in ids if i not in reach and i not in gates_ok)

        for k, s in enumerate(sc.vehicles):
            if s.gate not in self.vgates:
                problems.append(Problem(source, f"{s.gate!r} is not a gate on a road{where} (vehicle gates: {', '.join(self.vgates) or 'none'})",
                                        field=f"vehicles[{k}].gate"))
            check(list(s.to), f"vehicles[{k}].to", reach=self.park, gates_ok=self.vgates, what="a building or vehicle gate reachable by road")
        for k, s in enumerate(sc.pedestrians):
            if s.gate not in self.pgates:
                problems.append(Problem(source, f"{s.gate!r} is not a gate on a footway{where} (pedestrian gates: {', '.join(self.pgates) or 'none'})",
                                        field=f"pedestrians[{k}].gate"))
            check(list(s.to), f"pedestrians[{k}].to", reach=self.doors, gates_ok=self.pgates, what="a building with exits or a pedestrian gate")
        for k, t in enumerate(sc.timetable):
            check(list(t.from_), f"timetable[{k}].from", reach=self.doors, gates_ok=self.pgates, what="a building with exits or a pedestrian gate")
            check(list(t.to), f"timetable[{k}].to", reach=self.doors, gates_ok=self.pgates, what="a building with exits or a pedestrian gate")
        feats = set(self.link_feature)
        for k, c in enumerate(sc.closures):
            if c.feature not in feats:
                problems.append(Problem(source, f"{c.feature!r} is not a road or shared lane{where}", field=f"closures[{k}].feature"))
        if problems:
            raise ScenarioError(problems)

    # ---- pedestrians ---------------------------------------------------

    def _ends(self, key: str) -> list[int]:
        return self.doors[key] if key in self.doors else [self.index[key]]

    def ped_route(self, origin: str, dest: str, jaywalk: bool) -> Route | None:
        """The shortest walk from ``origin`` to ``dest`` (building or gate ids); None when there is none."""
        k = (origin, dest, jaywalk)
        if k not in self._ped_routes:
            self._ped_routes[k] = self._route(origin, dest, jaywalk)
        return self._ped_routes[k]

    def _route(self, origin: str, dest: str, jaywalk: bool) -> Route | None:
        tk = (dest, jaywalk)
        if tk not in self._trees:
            dist, pred, _ = dijkstra(self.walk_road if jaywalk else self.walk, directed=False, indices=self._ends(dest),
                                     min_only=True, return_predecessors=True)
            self._trees[tk] = (dist, pred)
        dist, pred = self._trees[tk]
        starts = self._ends(origin)
        s = min(starts, key=lambda i: dist[i])
        if not np.isfinite(dist[s]):
            return None
        path = [s]
        while pred[path[-1]] >= 0:
            path.append(int(pred[path[-1]]))
        g = self.campus.graph
        on_crossing = [g.edges[self.names[p], self.names[q]]["kind"] == "crossing" for p, q in zip(path[:-1], path[1:], strict=True)]
        zones, cells, c_from, c_to = [], [], [], []
        at = 0.0
        for i, n in enumerate(path):
            if n in self.zone_of and ((i > 0 and on_crossing[i - 1]) or (i < len(on_crossing) and on_crossing[i])):
                zones.append((at, self.zone_of[n]))
            if i + 1 == len(path):
                break
            p, q = n, path[i + 1]
            length = self.step_len[(p, q)]
            key, rev = ((p, q), False) if (p, q) in self.edge_cells else ((q, p), True)
            if key in self.edge_cells:
                first, n, _ = self.edge_cells[key]
                ks = np.arange(n)
                cells.append(first + (n - 1 - ks if rev else ks))
                c_from.append(at + ks * length / n)
                c_to.append(at + (ks + 1) * length / n)
            at += length
        cat = (lambda xs, dt: np.concatenate(xs) if xs else np.empty(0, dt))
        return Route(at, zones, cat(cells, int), cat(c_from, float), cat(c_to, float))

    # ---- vehicles ------------------------------------------------------

    def closure_phases(self) -> tuple[list[float], list[frozenset[int]]]:
        """Times (s of the day) the set of closed links changes, and the closed links from each (phase 0 at the start)."""
        sc = self.scenario
        t0, t1 = sc.start * HOUR, sc.end * HOUR
        spans = []
        for c in sc.closures:
            links = [k for k, fname in enumerate(self.link_feature) if fname == c.feature]
            spans.append((t0 if c.start is None else c.start * HOUR, t1 + 1 if c.end is None else c.end * HOUR, links))
        cuts = sorted({t0, *(t for a, b, _ in spans for t in (a, b) if t0 < t < t1)})
        phases = [frozenset(k for a, b, ls in spans if a <= t < b for k in ls) for t in cuts]
        return cuts, phases

    def hops(self, closed: frozenset[int], phase: int, dest: int) -> tuple[np.ndarray, np.ndarray]:
        """Next node toward ``dest`` from every node (−9999: none) and the free time to it (s), with ``closed`` links shut."""
        key = (phase, dest)
        if key not in self._hops:
            keep = np.array([k not in closed for k in range(len(self.link_a))], dtype=bool)
            n = len(self.names)
            t = self.link_len / self.link_limit
            rev = csr_array((t[keep], (self.link_b[keep], self.link_a[keep])), shape=(n, n))
            dist, pred = dijkstra(rev, directed=True, indices=dest, return_predecessors=True)
            self._hops[key] = (pred, dist)
        pred, dist = self._hops[key]
        return pred, dist

    def emergency_times(self, closed: frozenset[int]) -> dict[str, dict[str, float | None]]:
        """Free drive time (s) of an emergency vehicle from each vehicle gate to each building's kerb."""
        st = self.scenario.settings
        v = _s("traffic.speed.emergency", st) * KMH
        fac = _s("traffic.emergency_factor", st)
        speed = np.minimum(v, np.where(np.array(self.link_kind) == "shared", 1.0, fac) * self.link_limit)
        keep = np.array([k not in closed for k in range(len(self.link_a))], dtype=bool)
        n = len(self.names)
        csr = csr_array(((self.link_len / speed)[keep], (self.link_a[keep], self.link_b[keep])), shape=(n, n))
        out: dict[str, dict[str, float | None]] = {}
        gates = [gt for gt in self.vgates if self.campus.graph.nodes[gt].get("mode") != "pedestrian"]
        if not gates:
            return out
        dist = dijkstra(csr, directed=True, indices=[self.index[gt] for gt in gates])
        for i, gt in enumerate(gates):
            out[gt] = {b: (round(float(dist[i, p]), 1) if np.isfinite(dist[i, p]) else None) for b, p in sorted(self.park.items())}
        return out


# --------------------------------------------------------------------------
# Demand: drawn once per replication, the same for every layout
# --------------------------------------------------------------------------


@dataclass
class Demand:
    """Every arrival of one replication, in time order within each kind (times in s of the day)."""

    veh_t: np.ndarray
    veh_gate: list[str]
    veh_class: list[str]
    veh_to: list[str]
    veh_service: np.ndarray
    veh_dwell: np.ndarray
    ped_t: np.ndarray
    ped_from: list[str]
    ped_to: list[str]
    ped_speed: np.ndarray
    ped_jaywalk: np.ndarray
    ped_entering: np.ndarray
    """True for people who come in through a gate (False: a timetable move inside the campus)."""


def _choose(rng: np.random.Generator, weights: dict[str, float], n: int, fallback: dict[str, float]) -> list[str]:
    w = weights or fallback
    keys = list(w)
    p = np.array([w[k] for k in keys], dtype=float)
    if p.sum() <= 0:
        p = np.ones(len(keys))
    return [keys[i] for i in rng.choice(len(keys), size=n, p=p / p.sum())] if n else []


def _poisson_times(rng: np.random.Generator, rate: Callable[[int], float], t0: float, t1: float) -> np.ndarray:
    """Arrival times (s) of a Poisson process with hourly rates (per hour, hour of the day) over [t0, t1)."""
    out = []
    h = math.floor(t0 / HOUR)
    while h * HOUR < t1:
        a, b = max(t0, h * HOUR), min(t1, (h + 1) * HOUR)
        n = rng.poisson(rate(h % 24) * (b - a) / HOUR)
        out.append(rng.uniform(a, b, n))
        h += 1
    return np.sort(np.concatenate(out)) if out else np.empty(0)


def draw_demand(scenario: Traffic, occupants: dict[str, float], rng: np.random.Generator) -> Demand:
    """Draw the vehicles and pedestrians of one replication; ``occupants`` weights buildings by default."""
    st = scenario.settings
    t0, t1 = scenario.start * HOUR, scenario.end * HOUR
    cv = _s("traffic.service_cv", st)
    vt, vg, vc, vto, vs, vd = [], [], [], [], [], []
    for s in scenario.vehicles:
        times = _poisson_times(rng, s.rate, t0, t1)
        n = len(times)
        vt.append(times)
        vg += [s.gate] * n
        vc += [s.vehicle] * n
        vto += _choose(rng, s.to, n, occupants)
        m = _s(f"traffic.service.{s.vehicle}", st)
        sig2 = math.log1p(cv * cv)
        vs.append(rng.lognormal(math.log(m) - sig2 / 2, math.sqrt(sig2), n))
        if s.dwell is not None:
            vd.append(s.dwell.draw(rng, n))
        else:
            dm = _s(f"traffic.dwell.{s.vehicle}", st)
            d2 = math.log1p(0.25)
            vd.append(rng.lognormal(math.log(dm) - d2 / 2, math.sqrt(d2), n))
    pt, pf, pto, pe = [], [], [], []
    for s in scenario.pedestrians:
        times = _poisson_times(rng, s.rate, t0, t1)
        pt.append(times)
        pf += [s.gate] * len(times)
        pto += _choose(rng, s.to, len(times), occupants)
        pe.append(np.ones(len(times), bool))
    for c in scenario.timetable:
        times = c.at * HOUR + rng.uniform(0, c.window, c.people) if c.window > 0 else np.full(c.people, c.at * HOUR)
        frm, to = _choose(rng, c.from_, c.people, occupants), _choose(rng, c.to, c.people, occupants)
        same = np.array([a == b for a, b in zip(frm, to, strict=True)], dtype=bool)
        keep = ~same & (times >= t0) & (times < t1)
        pt.append(times[keep])
        pf += [a for a, k in zip(frm, keep, strict=True) if k]
        pto += [b for b, k in zip(to, keep, strict=True) if k]
        pe.append(np.zeros(int(keep.sum()), bool))
    cat = (lambda xs: np.concatenate(xs) if xs else np.empty(0))
    ped_t = cat(pt)
    n = len(ped_t)
    order = np.argsort(ped_t, kind="stable")
    speed = np.maximum(scenario.speed.draw(rng, n), 0.1)
    jay = rng.random(n) < scenario.jaywalk
    veh_t = cat(vt)
    vorder = np.argsort(veh_t, kind="stable")
    return Demand(
        veh_t=veh_t[vorder], veh_gate=[vg[i] for i in vorder], veh_class=[vc[i] for i in vorder], veh_to=[vto[i] for i in vorder],
        veh_service=cat(vs)[vorder], veh_dwell=np.maximum(cat(vd)[vorder], 0.0) if len(vorder) else np.empty(0),
        ped_t=ped_t[order], ped_from=[pf[i] for i in order], ped_to=[pto[i] for i in order], ped_speed=speed[order],
        ped_jaywalk=jay[order], ped_entering=cat(pe).astype(bool)[order] if n else np.empty(0, bool),
    )


# --------------------------------------------------------------------------
# One run of one layout
# --------------------------------------------------------------------------


@dataclass
class TrafficReplication:
    """What one replication of one layout measured (times in s of the day)."""

    layout: str
    start: float
    end: float
    conflicts: np.ndarray
    """Structured: t, place, group, pet, ped, veh."""
    ped_departed: int
    ped_entered: int
    ped_arrived: int
    ped_walking: int
    ped_no_way: int
    ped_delay: np.ndarray
    """Waiting (s) of every pedestrian who arrived."""
    ped_time: np.ndarray
    veh_arrived: int
    veh_state: np.ndarray
    """State of every vehicle that arrived at a gate, at the end (``VEHICLE_STATES``)."""
    veh_delay: np.ndarray
    """Delay (s) of every finished drive: actual minus free time (barrier service and free driving)."""
    veh_free: np.ndarray
    queues: dict[str, tuple[np.ndarray, np.ndarray]]
    """Per gate: times (s) and queue lengths (vehicles waiting for the barrier) from then on."""
    storage: dict[str, int]
    emergency_trips: np.ndarray
    """Inbound drive times (s) of emergency vehicles, gate to destination, barrier included."""
    yields: int
    non_yields: int
    forced: int
    """Drivers who yielded but, out of patience, edged through people still crossing."""
    on_links: int = 0
    """Vehicles on the road links at the end (driving, queued on a link, or stuck at a closure)."""
    links: list[list[tuple[int, float, float]]] | None = None
    """With ``trace``: per link, (vehicle, entry time, exit time) in the order the vehicles left it."""


class _Run:
    """The mutable state of one run; every process receives it."""

    def __init__(self, net: Network, demand: Demand, rng: np.random.Generator, trace: bool) -> None:
        sc = net.scenario
        st = sc.settings
        self.net, self.d, self.rng = net, demand, rng
        self.env = simpy.Environment(initial_time=sc.start * HOUR)
        self.end = sc.end * HOUR
        self.tau = _s("traffic.reaction_time", st)
        self.jam = _s("traffic.jam_spacing", st)
        self.restart = _s("traffic.yield_restart", st)
        self.ped_restart = _s("traffic.ped_restart", st)
        self.patience = _s("traffic.yield_patience", st)
        self.cycle = _s("traffic.signal_cycle", st)
        self.walk = _s("traffic.signal_walk", st)
        self.clear_speed = _s("traffic.signal_clear_speed", st)
        self.length = {c: _s(f"traffic.length.{c}", st) for c in VEHICLES}
        self.speed = {c: _s(f"traffic.speed.{c}", st) * KMH for c in VEHICLES}
        nl = len(net.link_a)
        self.count = [0] * nl
        self.last_entry = [-math.inf] * nl
        self.last_exit = [-math.inf] * nl
        self.tail: list[simpy.Event | None] = [None] * nl
        self.waiters: list[deque[simpy.Event]] = [deque() for _ in range(nl)]
        self.trace: list[list[tuple[int, float, float]]] | None = [[] for _ in range(nl)] if trace else None
        self.ped_until = [-math.inf] * net.n_zones
        self.veh_until = [-math.inf] * net.n_zones
        self.cuts, self.phases = net.closure_phases()
        self.phase = 0
        self.change = self.env.event()
        n = len(demand.veh_t)
        self.state = np.full(n, QUEUED, dtype=np.int8)
        self.veh_delay: list[float] = []
        self.veh_free: list[float] = []
        self.emergency: list[float] = []
        self.yields = self.non_yields = self.forced = 0
        self.gates = {gt: simpy.Resource(self.env, capacity=max(1, int(net.campus.graph.nodes[gt].get("lanes") or 1)))
                      for gt in net.vgates}
        self.queue = {gt: 0 for gt in net.vgates}
        self.qlog: dict[str, list[tuple[float, int]]] = {gt: [(self.env.now, 0)] for gt in net.vgates}
        # occupancy intervals: place, t0, t1, who
        self.p_place: list[np.ndarray] = []
        self.p_t0: list[np.ndarray] = []
        self.p_t1: list[np.ndarray] = []
        self.p_who: list[np.ndarray] = []
        self.v_place: list[np.ndarray] = []
        self.v_t0: list[np.ndarray] = []
        self.v_t1: list[np.ndarray] = []
        self.v_who: list[np.ndarray] = []
        self.ped_done: list[tuple[float, float]] = []
        self.ped_departed = self.ped_walking = self.ped_no_way = 0

    # ---- closures -------------------------------------------------------

    def closures(self):  # noqa: ANN201 - a SimPy process
        """Switch closure phases at their times; vehicles waiting for a road to open are woken."""
        for p, t in enumerate(self.cuts[1:], start=1):
            yield self.env.timeout(t - self.env.now)
            self.phase = p
            old, self.change = self.change, self.env.event()
            old.succeed()

    def next_node(self, node: int, dest: int) -> int:
        """Next node toward ``dest`` in the current phase (−1: no way now)."""
        pred, _ = self.net.hops(self.phases[self.phase], self.phase, dest)
        return int(pred[node]) if pred[node] >= 0 else -1

    def may_open_later(self) -> bool:
        return self.phase + 1 < len(self.cuts)

    # ---- gates ------------------------------------------------------------

    def log_queue(self, gate: str, delta: int) -> None:
        self.queue[gate] += delta
        self.qlog[gate].append((self.env.now, self.queue[gate]))

    # ---- vehicles ---------------------------------------------------------

    def vehicles(self):  # noqa: ANN201
        d = self.d
        for k, t in enumerate(d.veh_t.tolist()):
            yield self.env.timeout(t - self.env.now)
            self.env.process(self.vehicle(k))

    def vehicle(self, k: int):  # noqa: ANN201
        """One vehicle: queue at the gate, the barrier, the drive in, the dwell, the drive out."""
        env, net, d = self.env, self.net, self.d
        cls = d.veh_class[k]
        gate = d.veh_gate[k]
        g0 = net.index[gate]
        target = d.veh_to[k]
        dest = net.park[target] if target in net.park else net.index[target]
        t_arr = env.now
        self.log_queue(gate, +1)
        with self.gates[gate].request() as req:
            yield req
            self.log_queue(gate, -1)
            self.state[k] = AT_BARRIER
            yield env.timeout(float(d.veh_service[k]))
            while self.next_node(g0, dest) < 0 and g0 != dest:
                if not self.may_open_later():
                    self.state[k] = TURNED_BACK
                    return
                yield self.change
            if g0 != dest:
                first = net.link_of[(g0, self.next_node(g0, dest))]
                v = self.free_speed(cls, first)
                yield from self.enter(first, self.tau + self.spacing(cls) / v)
        free = float(d.veh_service[k])
        free_drive = 0.0
        if g0 != dest:  # (a building may have its kerb at the gate)
            self.state[k] = DRIVING
            ok, free_drive = yield from self.drive(k, 0, first, dest)
            if not ok:
                return
        self.veh_delay.append(env.now - t_arr - free - free_drive)
        self.veh_free.append(free + free_drive)
        if cls == "emergency":
            self.emergency.append(env.now - t_arr)
        if target in net.vgates:
            self.state[k] = LEFT
            return
        self.state[k] = PARKED
        yield env.timeout(float(d.veh_dwell[k]))
        if net.names[dest] in self.gates:  # parked at a gate: out through it
            self.state[k] = LEFT
            return
        out = self.exit_gate(dest)
        while out < 0:
            if not self.may_open_later():
                return  # no way out, ever: it stays parked
            yield self.change
            out = self.exit_gate(dest)
        t_out = env.now
        first = net.link_of[(dest, self.next_node(dest, out))]
        v = self.free_speed(cls, first)
        yield from self.enter(first, self.tau + self.spacing(cls) / v)
        self.state[k] = DRIVING
        ok, free_drive = yield from self.drive(k, 1, first, out)
        if ok:
            self.veh_delay.append(env.now - t_out - free_drive)
            self.veh_free.append(free_drive)
            self.state[k] = LEFT

    def exit_gate(self, node: int) -> int:
        """The vehicle gate quickest to reach from ``node`` now (−1: none)."""
        best, best_t = -1, math.inf
        for gt in self.net.vgates:
            gi = self.net.index[gt]
            _, dist = self.net.hops(self.phases[self.phase], self.phase, gi)
            if dist[node] < best_t and gi != node:
                best, best_t = gi, dist[node]
        return best

    def free_speed(self, cls: str, link: int) -> float:
        v = self.speed[cls]
        lim = self.net.link_limit[link]
        if cls == "emergency" and self.net.link_kind[link] != "shared":
            lim *= _s("traffic.emergency_factor", self.net.scenario.settings)
        return min(v, lim)

    def spacing(self, cls: str) -> float:
        return self.jam + self.length[cls] - self.length["car"]

    def enter(self, link: int, h: float):  # noqa: ANN201
        """Wait for room on ``link`` (storage) and the entry headway ``h`` after the last vehicle in, then take it."""
        env = self.env
        storage = self.net.link_storage[link]
        while True:
            if self.count[link] >= storage:
                ev = env.event()
                self.waiters[link].append(ev)
                yield ev
                continue
            gap = self.last_entry[link] + h - env.now
            if gap > 1e-9:
                yield env.timeout(gap)
                continue
            break
        self.count[link] += 1
        self.last_entry[link] = env.now

    def leave(self, link: int, done: simpy.Event, who: int, t_in: float) -> None:
        self.count[link] -= 1
        self.last_exit[link] = self.env.now
        done.succeed()
        if self.trace is not None:
            self.trace[link].append((who, t_in, self.env.now))
        if self.waiters[link]:
            self.waiters[link].popleft().succeed()

    def drive(self, k: int, leg: int, link: int, dest: int):  # noqa: ANN201
        """Drive from the start of ``link`` (already entered) to node ``dest``; returns (arrived, free drive time s)."""
        env, net, d = self.env, self.net, self.d
        cls = d.veh_class[k]
        length = self.length[cls]
        who = 2 * k + leg
        free_total = 0.0
        while True:
            t_in = env.now
            leader = self.tail[link]
            mine = env.event()
            self.tail[link] = mine
            v = self.free_speed(cls, link)
            free = net.link_len[link] / v
            free_total += free
            yield env.timeout(free)
            if leader is not None and not leader.triggered:
                yield leader
            gap = self.last_exit[link] + self.tau + self.spacing(cls) / v - env.now
            if gap > 1e-9:
                yield env.timeout(gap)
            b = int(net.link_b[link])
            z = net.zone_of.get(b, -1)
            if z >= 0:
                yield from self.cross(z, who, length, v)
            if b == dest:
                self.record_cells(link, who, t_in, v, length)
                self.leave(link, mine, who, t_in)
                return True, free_total
            nxt = self.next_node(b, dest)
            while nxt < 0:
                if not self.may_open_later():
                    self.state[k] = STUCK
                    return False, free_total
                yield self.change
                nxt = self.next_node(b, dest)
            new = net.link_of[(b, nxt)]
            yield from self.enter(new, self.tau + self.spacing(cls) / self.free_speed(cls, new))
            self.record_cells(link, who, t_in, v, length)
            self.leave(link, mine, who, t_in)
            link = new

    def record_cells(self, link: int, who: int, t_in: float, v: float, length: float) -> None:
        """The vehicle's times in the conflict cells of ``link`` (free trajectory; the last cell until it left)."""
        net = self.net
        a, b = int(net.link_a[link]), int(net.link_b[link])
        key, rev = ((a, b), False) if (a, b) in net.edge_cells else ((b, a), True)
        first, n, elen = net.edge_cells[key]
        ks = np.arange(n)
        t0 = t_in + ks * elen / n / v
        t1 = np.minimum(t_in + ((ks + 1) * elen / n + length) / v, self.env.now + length / v)
        t1[-1] = max(t1[-1], self.env.now)
        self.v_place.append(net.n_zones + first + (n - 1 - ks if rev else ks))
        self.v_t0.append(t0)
        self.v_t1.append(t1)
        self.v_who.append(np.full(n, who))

    def cross(self, z: int, who: int, length: float, v: float):  # noqa: ANN201
        """A vehicle at a crossing: yield to people on it (with probability ``compliance``), then pass.

        A yielding driver waits until the crossing is clear and moves off ``yield_restart`` s later; one who
        has waited ``yield_patience`` s with people still coming edges through among them.
        """
        env = self.env
        if self.net.zone_signal[z]:  # wait for a green long enough to pass before the next walk signal
            # a driver stopped at the red moves off the start-up time after the green; the last one through is
            # clear of the crossing a pedestrian's start-up time before the next walk signal
            lo = self.walk + self.clearance(z) + self.restart
            w = self.signal_wait(z, lo, self.cycle - (self.net.zone_cross_width[z] + length) / v - self.ped_restart)
            if w > 0:
                yield env.timeout(w)
        yielding: bool | None = None
        give_up = env.now + self.patience
        while True:
            while self.ped_until[z] > env.now and env.now < give_up:
                if yielding is None:
                    yielding = bool(self.rng.random() < self.net.scenario.compliance)
                    if yielding:
                        self.yields += 1
                    else:
                        self.non_yields += 1
                if not yielding:
                    break
                yield env.timeout(min(self.ped_until[z], give_up) - env.now)
            if yielding and env.now < give_up:
                yield env.timeout(self.restart)
                if self.ped_until[z] > env.now:
                    continue
            break
        if yielding and self.ped_until[z] > env.now:
            self.forced += 1
        t1 = env.now + (self.net.zone_cross_width[z] + length) / v
        self.veh_until[z] = max(self.veh_until[z], t1)
        self.v_place.append(np.array([z]))
        self.v_t0.append(np.array([env.now]))
        self.v_t1.append(np.array([t1]))
        self.v_who.append(np.array([who]))

    # ---- pedestrians ------------------------------------------------------

    def pedestrians(self):  # noqa: ANN201
        d = self.d
        for p, t in enumerate(d.ped_t.tolist()):
            yield self.env.timeout(t - self.env.now)
            route = self.net.ped_route(d.ped_from[p], d.ped_to[p], bool(d.ped_jaywalk[p]))
            self.ped_departed += 1
            if route is None:
                self.ped_no_way += 1
                continue
            self.env.process(self.pedestrian(p, route))

    def signal_wait(self, z: int, lo: float, hi: float) -> float:
        """Seconds until the signal of zone ``z`` is in the part [lo, hi) of its cycle (0: it is now)."""
        phase = self.env.now % self.cycle
        if lo <= phase < hi:
            return 0.0
        return (lo - phase) % self.cycle

    def clearance(self, z: int) -> float:
        """All-red time of a signalised crossing after the pedestrians' walk (s): the road's width at the clearance speed."""
        return float(self.net.zone_width[z]) / self.clear_speed

    def pedestrian(self, p: int, route: Route):  # noqa: ANN201
        """One walk: free speed, waiting at the kerb of a crossing while a vehicle passes (or for the walk signal)."""
        env, net = self.env, self.net
        v = float(self.d.ped_speed[p])
        t_start = env.now
        self.ped_walking += 1
        base, at = env.now, 0.0  # the time the walk was at distance `at` with no waiting ahead
        waited = 0.0
        done_cells = 0
        for mid, z in route.zones:
            half = net.zone_width[z] / 2
            kerb = max(at, mid - half)
            done_cells = self._ped_cells(p, route, done_cells, kerb, base, at, v)
            yield env.timeout(max(0.0, base + (kerb - at) / v - env.now))
            if self.net.zone_signal[z]:
                w = self.signal_wait(z, 0.0, self.walk)
                if w > 0:
                    waited += w
                    yield env.timeout(w)
            if self.veh_until[z] > env.now:  # a vehicle is passing: wait until it is clear, then step off
                while self.veh_until[z] > env.now:
                    w = self.veh_until[z] - env.now
                    waited += w
                    yield env.timeout(w)
                waited += self.ped_restart
                yield env.timeout(self.ped_restart)
            t1 = env.now + (mid + half - kerb) / v
            self.ped_until[z] = max(self.ped_until[z], t1)
            self.p_place.append(np.array([z]))
            self.p_t0.append(np.array([env.now]))
            self.p_t1.append(np.array([t1]))
            self.p_who.append(np.array([p]))
            base, at = env.now, kerb
        self._ped_cells(p, route, done_cells, math.inf, base, at, v)
        yield env.timeout(max(0.0, base + (route.length - at) / v - env.now))
        self.ped_walking -= 1
        self.ped_done.append((waited, env.now - t_start))

    def _ped_cells(self, p: int, route: Route, done: int, upto: float, base: float, at: float, v: float) -> int:
        """Record the cells entered before distance ``upto``; return how many of the route's cells are recorded."""
        stop = int(np.searchsorted(route.cell_from, upto, side="left")) if np.isfinite(upto) else len(route.cells)
        if stop > done:
            sl = slice(done, stop)
            self.p_place.append(self.net.n_zones + route.cells[sl])
            self.p_t0.append(base + (route.cell_from[sl] - at) / v)
            self.p_t1.append(base + (route.cell_to[sl] - at) / v)
            self.p_who.append(np.full(stop - done, p))
        return max(done, stop)


def find_conflicts(net: Network, ped: tuple[np.ndarray, ...], veh: tuple[np.ndarray, ...], threshold: float) -> np.ndarray:
    """Pedestrian–vehicle pairs less than ``threshold`` s apart in a conflict area (PET), once per pair and group.

    ``ped`` and ``veh`` are (place, t0, t1, who) arrays. Returns a structured
    array (t, place, group, pet, ped, veh) at the place of each pair's smallest PET.
    """
    dtype = [("t", float), ("place", int), ("group", int), ("pet", float), ("ped", int), ("veh", int)]
    pp, p0, p1, pw = ped
    vp, v0, v1, vw = veh
    if not len(pp) or not len(vp):
        return np.empty(0, dtype=dtype)
    span = 1e7
    order = np.lexsort((v0, vp))
    vp, v0, v1, vw = vp[order], v0[order], v1[order], vw[order]
    vkey = vp * span + v0
    dmax = np.zeros(int(max(pp.max(), vp.max())) + 1)
    np.maximum.at(dmax, vp, v1 - v0)  # the longest vehicle interval of each place bounds how early a match can start
    lo = np.searchsorted(vkey, pp * span + p0 - threshold - dmax[pp], side="left")
    hi = np.searchsorted(vkey, pp * span + p1 + threshold, side="right")
    cnt = np.maximum(hi - lo, 0)
    total = int(cnt.sum())
    if total == 0:
        return np.empty(0, dtype=dtype)
    pi = np.repeat(np.arange(len(pp)), cnt)
    vi = np.repeat(lo - np.cumsum(cnt) + cnt, cnt) + np.arange(total)
    pet = np.maximum(0.0, np.maximum(v0[vi] - p1[pi], p0[pi] - v1[vi]))
    m = (pet < threshold) & (vp[vi] == pp[pi])
    pi, vi, pet = pi[m], vi[m], pet[m]
    group = net.place_group[pp[pi]]
    order = np.lexsort((pet, vw[vi], pw[pi], group))
    pi, vi, pet, group = pi[order], vi[order], pet[order], group[order]
    key = np.stack([group, pw[pi], vw[vi]], axis=1)
    first = np.ones(len(key), bool)
    first[1:] = np.any(key[1:] != key[:-1], axis=1)
    out = np.empty(int(first.sum()), dtype=dtype)
    out["t"] = np.maximum(p0[pi], v0[vi])[first]
    out["place"] = pp[pi][first]
    out["group"] = group[first]
    out["pet"] = pet[first]
    out["ped"] = pw[pi][first]
    out["veh"] = vw[vi][first]
    return np.sort(out, order="t")


def run_layout(net: Network, demand: Demand, rng: np.random.Generator, *, layout: str = AS_IS,
               trace: bool = False) -> TrafficReplication:
    """Run one replication of one layout with the given demand; ``rng`` drives the drivers' choices."""
    r = _Run(net, demand, rng, trace)
    env = r.env
    env.process(r.closures())
    env.process(r.vehicles())
    env.process(r.pedestrians())
    env.run(until=r.end)
    cat = (lambda xs, dt: np.concatenate(xs).astype(dt) if xs else np.empty(0, dt))
    ped = (cat(r.p_place, int), cat(r.p_t0, float), cat(r.p_t1, float), cat(r.p_who, int))
    veh = (cat(r.v_place, int), cat(r.v_t0, float), cat(r.v_t1, float), cat(r.v_who, int))
    conflicts = find_conflicts(net, ped, veh, _s("traffic.pet_threshold", net.scenario.settings))
    done = np.array(r.ped_done).reshape(-1, 2)
    arrived_veh = int(np.searchsorted(demand.veh_t, r.end, side="left"))
    queues = {gt: (np.array([t for t, _ in log]), np.array([q for _, q in log])) for gt, log in r.qlog.items()}
    approach = _s("traffic.approach_length", net.scenario.settings)
    jam = _s("traffic.jam_spacing", net.scenario.settings)
    return TrafficReplication(
        layout=layout, start=net.scenario.start * HOUR, end=r.end, conflicts=conflicts,
        ped_departed=r.ped_departed, ped_entered=int(demand.ped_entering[: r.ped_departed].sum()),
        ped_arrived=len(done), ped_walking=r.ped_walking, ped_no_way=r.ped_no_way,
        ped_delay=done[:, 0], ped_time=done[:, 1],
        veh_arrived=arrived_veh, veh_state=r.state[:arrived_veh].copy(),
        veh_delay=np.array(r.veh_delay), veh_free=np.array(r.veh_free), queues=queues,
        storage={gt: max(1, int(approach // jam)) for gt in net.vgates}, emergency_trips=np.array(r.emergency),
        yields=r.yields, non_yields=r.non_yields, forced=r.forced, on_links=int(sum(r.count)), links=r.trace,
    )


# --------------------------------------------------------------------------
# All layouts and replications, and what they add up to
# --------------------------------------------------------------------------


def queue_stats(times: np.ndarray, lengths: np.ndarray, t0: float, t1: float) -> dict[str, float]:
    """Time-weighted mean, p95 and max of a queue-length step function over [t0, t1]."""
    if not len(times):
        return {"mean": 0.0, "p95": 0.0, "max": 0.0}
    edges = np.append(np.clip(times, t0, t1), t1)
    dur = np.diff(edges)
    total = dur.sum()
    if total <= 0:
        return {"mean": 0.0, "p95": 0.0, "max": float(lengths.max())}
    order = np.argsort(lengths, kind="stable")
    cum = np.cumsum(dur[order]) / total
    p95 = float(lengths[order][min(int(np.searchsorted(cum, 0.95)), len(cum) - 1)])
    return {"mean": float((lengths * dur).sum() / total), "p95": p95, "max": float(lengths.max())}


def _mean(x: Sequence[float]) -> float:
    return float(np.mean(x)) if len(x) else 0.0


@dataclass
class TrafficOutcome:
    """Every layout's replications, and the figures ``twin run`` prints and reports."""

    scenario: Traffic
    source: str
    nets: dict[str, Network]
    runs: dict[str, list[TrafficReplication]]
    wall_s: float
    emergency: dict[str, dict[str, dict[str, float | None]]] = field(default_factory=dict)

    def layout_summary(self, name: str) -> dict[str, Any]:
        """The figures of one layout (means per replication)."""
        reps = self.runs[name]
        net = self.nets[name]
        hours = (self.scenario.end - self.scenario.start)
        n = len(reps)
        conflicts = [len(r.conflicts) for r in reps]
        by_kind: dict[str, float] = defaultdict(float)
        for r in reps:
            for kind, cnt in zip(*np.unique(net.place_kind[r.conflicts["place"]].astype(str), return_counts=True), strict=True):
                by_kind[str(kind)] += cnt / n
        hot = [{**{k: v for k, v in h.items() if k != "places"}, "conflicts": round(h["conflicts"] / n, 1),
                "per_hour": round(h["conflicts"] / n / hours, 2)} for h in hot_spots(net, [r.conflicts for r in reps])[:10]]
        gates = {}
        for gt in net.vgates:
            st = [queue_stats(*r.queues[gt], r.start, r.end) for r in reps]
            spill = [float(np.diff(np.append(np.clip(r.queues[gt][0], r.start, r.end), r.end))[r.queues[gt][1] > r.storage[gt]].sum())
                     for r in reps]
            gates[gt] = {"mean": round(_mean([s["mean"] for s in st]), 2), "p95": round(_mean([s["p95"] for s in st]), 1),
                         "max": max(s["max"] for s in st), "storage": reps[0].storage[gt], "spillback_s": round(_mean(spill), 1)}
        states = np.zeros(len(VEHICLE_STATES))
        for r in reps:
            states += np.bincount(r.veh_state, minlength=len(VEHICLE_STATES)) / n
        ped_delay = np.concatenate([r.ped_delay for r in reps]) if reps else np.empty(0)
        veh_delay = np.concatenate([r.veh_delay for r in reps]) if reps else np.empty(0)
        em = self.emergency.get(name, {})
        em_times = [t for row in em.values() for t in row.values() if t is not None]
        em_trips = np.concatenate([r.emergency_trips for r in reps]) if reps else np.empty(0)
        total_c = _mean(conflicts)
        return {
            "conflicts": round(total_c, 1),
            "conflicts_per_hour": round(total_c / hours, 2),
            "conflicts_by_kind": {k: round(v, 1) for k, v in sorted(by_kind.items())},
            "conflicts_per_replication": conflicts,
            "hot_spots": hot,
            "ped_delay_s": round(_mean(ped_delay), 2),
            "ped_delay_p95_s": round(float(np.percentile(ped_delay, 95)), 1) if len(ped_delay) else 0.0,
            "ped_travel_s": round(_mean(np.concatenate([r.ped_time for r in reps])), 1),
            "veh_delay_s": round(_mean(veh_delay), 2),
            "veh_delay_p95_s": round(float(np.percentile(veh_delay, 95)), 1) if len(veh_delay) else 0.0,
            "gate_queue_mean": round(max((g["mean"] for g in gates.values()), default=0.0), 2),
            "gate_queue_p95": max((g["p95"] for g in gates.values()), default=0.0),
            "gate_queue_max": max((g["max"] for g in gates.values()), default=0.0),
            "gates": gates,
            "emergency_access_s": round(_mean(em_times), 1),
            "emergency_access_max_s": max(em_times, default=0.0),
            "emergency_access": em,
            "emergency_trips": {"count": round(len(em_trips) / max(n, 1), 1), "mean_s": round(_mean(em_trips), 1)},
            "pedestrians": {"walks": round(_mean([r.ped_departed for r in reps]), 1),
                            "entered": round(_mean([r.ped_entered for r in reps]), 1),
                            "arrived": round(_mean([r.ped_arrived for r in reps]), 1),
                            "walking_at_end": round(_mean([r.ped_walking for r in reps]), 1),
                            "no_way": round(_mean([r.ped_no_way for r in reps]), 1)},
            "vehicles": {"arrived": round(_mean([r.veh_arrived for r in reps]), 1),
                         **{s.replace(" ", "_"): round(float(v), 1) for s, v in zip(VEHICLE_STATES, states, strict=True)}},
            "drivers_yielded": round(_mean([r.yields for r in reps]), 1),
            "drivers_did_not_yield": round(_mean([r.non_yields for r in reps]), 1),
            "drivers_forced_through": round(_mean([r.forced for r in reps]), 1),
        }

    def summary(self) -> dict[str, Any]:
        """The JSON document of ``twin run --json``."""
        sc = self.scenario
        first = next(iter(self.nets.values()))
        return {
            "scenario": sc.name or Path(self.source).stem,
            "kind": sc.kind,
            "campus": str(sc.campus),
            "campus_digest": first.campus.digest,
            "seed": sc.seed,
            "replications": sc.replications,
            "start_hour": sc.start,
            "end_hour": sc.end,
            "hours": round(sc.end - sc.start, 3),
            "compliance": sc.compliance,
            "jaywalk": sc.jaywalk,
            "pet_threshold_s": _s("traffic.pet_threshold", sc.settings),
            "layouts": {name: {"description": (sc.layouts[name].description if name in sc.layouts else ""),
                               "campus_digest": self.nets[name].campus.digest, **self.layout_summary(name)}
                        for name in self.runs},
            "wall_s": round(self.wall_s, 3),
        }


def hot_spots(net: Network, conflicts: Sequence[np.ndarray]) -> list[dict[str, Any]]:
    """Conflicts summed over runs by place (a crossing, or a shared lane or road feature), most first.

    Each entry: ``where`` (feature id), ``name`` (the feature's), ``kind``, ``conflicts`` (total), ``min_pet_s``, and ``x``, ``y``
    (metres, the mean of the conflicts' areas) and ``places`` (the area indices, for maps).
    """
    allc = np.concatenate(conflicts) if len(conflicts) else np.empty(0)
    out = []
    if not len(allc):
        return out
    names = np.array(net.group_name, dtype=object)[allc["group"]]
    for name in np.unique(names):
        sel = allc[names == name]
        places = np.unique(sel["place"])
        x, y = net.place_xy[sel["place"]].mean(axis=0)
        label = net.campus.features["name"].get(str(name)) if "name" in net.campus.features else None
        out.append({"where": str(name), "name": label if isinstance(label, str) else "", "kind": str(net.place_kind[places[0]]),
                    "conflicts": int(len(sel)),
                    "min_pet_s": round(float(sel["pet"].min()), 2), "x": round(float(x), 1), "y": round(float(y), 1),
                    "places": places.tolist()})
    return sorted(out, key=lambda h: (-h["conflicts"], h["where"]))


def hourly_counts(times: np.ndarray, start: float, end: float) -> tuple[np.ndarray, np.ndarray]:
    """Counts per clock hour over [start, end): (hour starts in h, counts)."""
    h0, h1 = math.floor(start / HOUR), math.ceil(end / HOUR)
    edges = np.arange(h0, h1 + 1) * HOUR
    counts, _ = np.histogram(times, bins=edges)
    return edges[:-1] / HOUR, counts


def run_traffic(scenario: Traffic, *, source: str = "scenario", campus: Campus | None = None,
                progress: Callable[[int], None] | None = None) -> TrafficOutcome:
    """Run every replication of every layout of ``scenario`` (the same demand on each layout).

    Parameters
    ----------
    campus : Campus, optional
        The scenario's campus, already loaded.
    progress : callable, optional
        Called with the number of (layout, replication) runs finished so far.
    """
    t_start = time.perf_counter()
    campuses = layout_campuses(scenario, source, campus)
    nets = {name: Network(c, scenario, source, name) for name, c in campuses.items()}
    runs: dict[str, list[TrafficReplication]] = {name: [] for name in nets}
    occupants = next(iter(nets.values())).occupants
    seqs = np.random.SeedSequence(scenario.seed).spawn(scenario.replications)
    done = 0
    for seq in seqs:
        demand_seq, behaviour_seq = seq.spawn(2)
        demand = draw_demand(scenario, occupants, np.random.default_rng(demand_seq))
        for name, net in nets.items():
            runs[name].append(run_layout(net, demand, np.random.default_rng(behaviour_seq), layout=name))
            done += 1
            if progress:
                progress(done)
    emergency = {name: net.emergency_times(net.closure_phases()[1][0]) for name, net in nets.items()}
    return TrafficOutcome(scenario, source, nets, runs, time.perf_counter() - t_start, emergency)

"""What the traffic engine derives from the campus: layouts, the Network (links, walking graphs, conflict areas), routes.

Each layout of a scenario is a campus variant (:mod:`twin.variants`); its
:class:`Network` numbers the outdoor nodes and doors, builds the directed
driving links (one lane per direction), the walking graphs (with and without
roads), the conflict areas (where walks cross lanes: one per lane coming
into a crossing point) and the lane edges people walk along (where they pass
vehicles), and checks every id the scenario names against them.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import shapely
from scipy.sparse import csr_array
from scipy.sparse.csgraph import dijkstra

from scenarios.schema import Traffic
from twin.campus import Campus, load_campus
from twin.errors import Problem, ScenarioError
from twin.graph import DRIVABLE, LINK, WALKABLE, node_arrays
from twin.settings import default, value
from twin.variants import campus_variants

VEHICLES = ("car", "bus", "delivery", "emergency")
WALK = (*WALKABLE, LINK)
"""Edge kinds everyone walks on (``link`` joins exits and gates to the paths)."""
KMH = 1 / 3.6
HOUR = 3600.0
AS_IS = "as is"
"""Name of the only layout of a scenario without ``layouts``."""


def layout_campuses(scenario: Traffic, source: str, base: Campus | None = None) -> dict[str, Campus]:
    """The campus of every layout of the scenario, by name (one, ``"as is"``, without ``layouts``).

    Each layout is a campus variant of ``base`` (:func:`twin.variants.campus_variant`); paths are relative to ``source``.

    Raises
    ------
    ScenarioError
        Naming the layout key, for ids the campus does not have, overrides of a
        non-GeoJSON campus, or an added file that does not load.
    """
    base = base or load_campus(scenario.campus)
    if not scenario.layouts:
        return {AS_IS: base}
    changes = {name: lo.model_dump(exclude={"description"}) for name, lo in scenario.layouts.items()}
    return campus_variants(base, changes, source=source, key="layouts")


@dataclass
class Route:
    """A pedestrian's way: length (m), the conflict areas it crosses and the lane edges it walks along."""

    length: float
    zones: list[tuple[float, int, int]]
    """(distance of the crossing point along the way (m), zone index, side), in order: the side is the node the
    walker comes from, or ``-1 - node`` for the node they go to (they start on the other side of it)."""
    edges: np.ndarray
    """Lane edge index (``Network.lane_edges``) of every shared lane or road edge walked along, in order."""
    edge_from: np.ndarray
    """Distance (m) along the way where each lane edge is entered."""
    edge_to: np.ndarray
    """Distance (m) along the way where each lane edge is left."""
    edge_dir: np.ndarray
    """+1 where the way walks the lane edge from its first node to its second, −1 the other way."""


class Network:
    """The graphs one layout's traffic moves on, built once per layout.

    Nodes are numbered; vehicles move on directed ``links`` (one lane per
    direction; a one-way road has one link), people on the undirected walking
    graph. Conflict areas are where pedestrian and vehicle paths cross: the
    ``zones`` (a node where a crossing meets a road or shared lane, marked; or
    a node of a shared lane or road that a walk crosses from one footway to
    another, unmarked), each cut into one conflict area per lane coming into it
    (the *places*). Shared lanes and roads people walk along are ``lane_edges``:
    there people and vehicles pass each other (passings), they do not cross.
    """

    def __init__(self, campus: Campus, scenario: Traffic, source: str = "scenario", layout: str = AS_IS) -> None:
        self.campus = campus
        self.scenario = scenario
        st = scenario.settings
        g = campus.graph
        nodes = node_arrays(g)
        keep = [i for i, kind in enumerate(nodes.kind) if nodes.outdoor[i] or kind == "door"]  # outdoors, and the doors
        names = [nodes.names[i] for i in keep]
        self.names = names
        self.index = {n: i for i, n in enumerate(names)}
        self.xy = nodes.xy[keep]
        ix = self.index
        # lane edges (shared lanes and roads), where people walking along meet vehicles: edge -> (index, length)
        self.lane_edge: dict[tuple[int, int], int] = {}
        self.lane_edge_len: list[float] = []
        self.lane_edge_width: list[float] = []
        self.lane_edge_kind: list[str] = []
        self.lane_edge_feature: list[str] = []
        for u, v, d in g.edges(data=True):
            if d["kind"] not in DRIVABLE or u not in ix or v not in ix:
                continue
            self.lane_edge[(ix[u], ix[v])] = len(self.lane_edge_len)
            self.lane_edge_len.append(float(d["length"]))
            self.lane_edge_width.append(float(d["width"]))
            self.lane_edge_kind.append(d["kind"])
            self.lane_edge_feature.append(str(d.get("feature", f"{u}-{v}")))
        self.lane_features = sorted(set(self.lane_edge_feature))
        """The shared lanes and roads by feature id: passings are counted once per feature."""
        self.lane_group = [self.lane_features.index(f) for f in self.lane_edge_feature]
        # zones: a crossing meets a road or shared lane (marked), or a lane node joins two or more footways (unmarked)
        zone_nodes, zone_w, zone_cw, zone_kind = [], [], [], []
        for n in names:
            if g.nodes[n]["level"] is not None:
                continue
            kinds = [(g.edges[n, m]["kind"], g.edges[n, m]) for m in g[n]]
            cross = [d for k, d in kinds if k == "crossing"]
            road = [d for k, d in kinds if k in DRIVABLE]
            foot = [d for k, d in kinds if k in WALK and k not in DRIVABLE]
            if road and (cross or len(foot) >= 2):
                zone_nodes.append(ix[n])
                zone_w.append(max(d["width"] for d in road))
                zone_cw.append(max(d["width"] for d in (cross or foot)))
                zone_kind.append("crossing" if cross else ("shared" if any(d["kind"] == "shared" for d in road) else "road"))
        self.zone_node = np.array(zone_nodes, dtype=int)
        self.zone_width = np.array(zone_w, dtype=float)
        """Width of the road at each zone (m): the crossing's length."""
        self.zone_cross_width = np.array(zone_cw, dtype=float)
        self.zone_kind = np.array(zone_kind, dtype=object)
        """``crossing`` (marked: drivers give way), ``shared`` (a shared lane: people have priority) or ``road`` (unmarked)."""
        self.zone_priority = self.zone_kind != "road"
        self.zone_of = {n: z for z, n in enumerate(zone_nodes)}
        self.n_zones = len(zone_nodes)
        flags = campus.features["signal"].items() if "signal" in campus.features else ()
        signals = {str(fid) for fid, v in flags if v in (True, 1, "true")}
        self.zone_signal = np.array([any(str(g.edges[self.names[n], m].get("feature")) in signals for m in g[self.names[n]]
                                         if g.edges[self.names[n], m]["kind"] == "crossing") for n in zone_nodes], dtype=bool)
        self.group_name = [self._zone_name(int(z)) for z in zone_nodes]
        # walking graphs (with and without roads), and the length of every step on them
        self.road_penalty = value("traffic.road_walk_penalty", st)
        self.walk, self.walk_road = self._walk_csr(g, road=False), self._walk_csr(g, road=True)
        self.step_len = {(ix[u], ix[v]): float(d["length"]) for u, v, d in g.edges(data=True) if u in ix and v in ix}
        self.step_len |= {(q, p): x for (p, q), x in self.step_len.items()}
        self.step_kind = {(ix[u], ix[v]): d["kind"] for u, v, d in g.edges(data=True) if u in ix and v in ix}
        self.step_kind |= {(q, p): x for (p, q), x in self.step_kind.items()}
        # driving links, and the lane places of the zones (one per link coming into a zone)
        self._build_links(g)
        self._build_places()
        self._check_and_access(source, layout)
        self._ped_routes: dict[tuple[str, str, bool], Route | None] = {}
        self._trees: dict[tuple[str, bool], tuple[np.ndarray, np.ndarray]] = {}
        self._hops: dict[tuple[int, int], tuple[np.ndarray, np.ndarray]] = {}

    def _build_places(self) -> None:
        """One conflict area (place) per lane coming into a zone: its zone, link, and its band across the road.

        A two-way road's lane is the half of the road on the driver's right (right-hand traffic), a one-way
        road's the whole road; ``place_lat`` is the lane's middle as a lateral offset from the road's
        centre line (m, positive to the driver's left) and ``place_half`` its half width (m).
        """
        zone_links: dict[int, list[int]] = defaultdict(list)
        for k, b in enumerate(self.link_b.tolist()):
            if b in self.zone_of:
                zone_links[self.zone_of[b]].append(k)
        two_way = {(a, b) for a, b in zip(self.link_a.tolist(), self.link_b.tolist(), strict=True)}
        zone, link, lat, half, unit = [], [], [], [], []
        self.place_of_link: dict[int, int] = {}
        for z in range(self.n_zones):
            w = float(self.zone_width[z])
            for k in zone_links.get(z, []):
                a, b = int(self.link_a[k]), int(self.link_b[k])
                d = self.xy[b] - self.xy[a]
                d = d / max(float(np.hypot(*d)), 1e-9)
                both = (b, a) in two_way
                self.place_of_link[k] = len(zone)
                zone.append(z)
                link.append(k)
                lat.append(-(w / 4) if both else 0.0)  # right-hand traffic
                half.append(w / 4 if both else w / 2)
                unit.append(d)
        self.place_zone = np.array(zone, dtype=int)
        self.place_link = np.array(link, dtype=int)
        self.place_lat = np.array(lat, dtype=float)
        self.place_half = np.array(half, dtype=float)
        self.place_dir = np.array(unit, dtype=float).reshape(-1, 2)
        self.zone_places = [np.flatnonzero(self.place_zone == z) for z in range(self.n_zones)]
        # what viewers read: a place's group is its zone, drawn at the zone's node
        self.place_group = self.place_zone
        self.place_xy = self.xy[self.zone_node[self.place_zone]].reshape(-1, 2) if len(zone) else np.empty((0, 2))
        self.place_kind = self.zone_kind[self.place_zone] if len(zone) else np.empty(0, dtype=object)

    def lane_band(self, place: int, side: int) -> tuple[float, float]:
        """Distances (m) from the kerb, along the crossing, where a walker from ``side`` (:attr:`Route.zones`) enters and leaves the lane of ``place``."""
        z = int(self.place_zone[place])
        node = self.xy[self.zone_node[z]]
        d = self.place_dir[place]
        p = (self.xy[side] - node) if side >= 0 else (node - self.xy[-1 - side])
        left = float(d[0] * p[1] - d[1] * p[0]) > 0  # the walker starts on the driver's left
        w = float(self.zone_width[z])
        lo, hi = self.place_lat[place] - self.place_half[place], self.place_lat[place] + self.place_half[place]
        return (w / 2 - hi, w / 2 - lo) if left else (w / 2 + lo, w / 2 + hi)

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
            if d["kind"] not in DRIVABLE or u not in ix or v not in ix:
                continue
            fwd = d.get("forward")
            for p, q in ((u, v), (v, u)):
                if fwd is not None and (p, q) != tuple(fwd):
                    continue
                a.append(ix[p])
                b.append(ix[q])
                length.append(max(float(d["length"]), 1.0))
                limit.append(float(d.get("speed_limit") or default("speed_limit")) * KMH)
                kind.append(d["kind"])
                feature.append(str(d.get("feature", "")))
        self.link_a, self.link_b = np.array(a, dtype=int), np.array(b, dtype=int)
        self.link_len, self.link_limit = np.array(length), np.array(limit)
        self.link_kind, self.link_feature = kind, feature
        self.link_of = {(p, q): k for k, (p, q) in enumerate(zip(a, b, strict=True))}
        jam = value("traffic.jam_spacing", self.scenario.settings)
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
            if d["kind"] == "door" and n in self.index and any(g.edges[n, m]["kind"] == LINK for m in g[n]):
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
        zones, edges, e_from, e_to, e_dir = [], [], [], [], []
        kind = [self.step_kind[(p, q)] for p, q in zip(path[:-1], path[1:], strict=True)]
        at = 0.0
        for i, n in enumerate(path):
            if n in self.zone_of and 0 < i < len(path) - 1:
                a, b = kind[i - 1], kind[i]
                if "crossing" in (a, b) or (a not in DRIVABLE and b not in DRIVABLE):
                    # the side the walker starts from: the node before, or (stepping onto a crossing from the road) the far side
                    zones.append((at, self.zone_of[n], path[i - 1] if a == "crossing" or b != "crossing" else -1 - path[i + 1]))
            if i + 1 == len(path):
                break
            p, q = n, path[i + 1]
            length = self.step_len[(p, q)]
            e = self.lane_edge.get((p, q), self.lane_edge.get((q, p), -1))
            if e >= 0:
                edges.append(e)
                e_from.append(at)
                e_to.append(at + length)
                e_dir.append(1 if (p, q) in self.lane_edge else -1)
            at += length
        return Route(at, zones, np.array(edges, int), np.array(e_from, float), np.array(e_to, float), np.array(e_dir, int))

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
        v = value("traffic.speed.emergency", st) * KMH
        fac = value("traffic.emergency_factor", st)
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

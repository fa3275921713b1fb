"""What the evacuation engine derives from the campus and the scenario, once, before any replication.

A :class:`Network` is the campus graph (outdoor paths contracted through plain
junctions, :func:`twin.graph.contract_paths`) as integer-indexed arrays: the
flow-limited :class:`Server` of every door, opening, gate, stair flight,
corridor and outdoor path; the spaces people stand in (rooms, corridors,
landings, floors, flights, path segments) with their areas and capacities;
where people start (each building's occupants shared out over its rooms) and
the ways out of each start space with the geometry to place people in it
(:meth:`Network.places`);
which nodes are blocked from the start and which a fire closes; and the route
search every replication uses (:meth:`Network.field`). Nothing here changes
between replications, so the network is built once and shipped to every
worker (``scenarios.replicate``).
"""

from __future__ import annotations

import math
from array import array
from collections import defaultdict
from weakref import WeakKeyDictionary

import cython
import networkx as nx
import numpy as np
import shapely
from shapely.geometry.base import BaseGeometry

from scenarios.evacuation.physics import CAPACITIES, Capacity, Physics
from scenarios.evacuation.queues import QueueLines, line_space
from scenarios.evacuation.search import RouteField, field, flat_adjacency
from scenarios.schema import Evacuation
from twin.campus import OCCUPIED, Campus
from twin.errors import Problem, ScenarioError
from twin.graph import (
    PATH_EDGES,
    SERVER_NODES,
    SPACE_NODES,
    contract_paths,
    fire_neighbourhood,
    node_arrays,
)

HOP = 1e-3
"""Tie-break added to every hop in route search (s), so routes never pass through a door node for nothing."""

_kept: WeakKeyDictionary[Campus, dict[tuple[str, object], object]] = WeakKeyDictionary()
"""Per campus (for as long as it lives), what its networks derive from its geometry alone, the same for every
scenario and never changed by them, so the live forecasts (a network per fire alarm) compute each once: the
contracted graph (``("graph", roads)``), and the queue places by door and space names and each space's grid
points by its name (``("queues", density_max)``)."""


def _contracted(campus: Campus, roads: bool) -> nx.Graph:
    """The campus graph (``roads``: with the roads, else the walk graph) with its outdoor paths contracted through
    plain junctions (:func:`twin.graph.contract_paths`), kept per campus."""
    kept = _kept.setdefault(campus, {})
    if ("graph", roads) not in kept:
        kept["graph", roads] = contract_paths(nx.Graph(campus.graph if roads else campus.walk_graph()))
    return kept["graph", roads]  # type: ignore[return-value]


@cython.cfunc
@cython.inline
@cython.returns(cython.Py_ssize_t)
@cython.locals(los=list, lo=cython.Py_ssize_t, hi=cython.Py_ssize_t, mid=cython.Py_ssize_t, k=cython.long, at=cython.long)
def _run_before(los: list[int], k: int) -> int:
    """The last index ``i`` with ``los[i] <= k`` (-1: none), ``los`` ascending: ``bisect_right(los, k) - 1``, as a
    loop the compiled engine runs in C (a call of ``bisect`` took ~700 instructions for its few probes)."""
    lo, hi = 0, len(los)
    while lo < hi:
        mid = (lo + hi) // 2
        at = los[mid]
        if k < at:
            hi = mid
        else:
            lo = mid + 1
    return lo - 1


class Server:
    """A flow-limited element passed at most ``rate`` persons/s.

    Time is cut into slots of ``1 / rate`` seconds and each passage takes one
    slot: someone arriving at ``t`` passes in the first free slot from ``t``
    on. People usually arrive in time order (first come, first served); when
    a person books ahead (outdoors, see ``scenarios.evacuation.engine``) a
    later booking for an earlier time still gets the earlier free slot, so
    booking ahead never holds up people who arrive before. The booked slots
    are kept as runs (``_los[i]`` to ``_his[i] - 1``, in order, apart): a
    queue books at the end of the last run, in O(1); a booking before it
    finds its run by bisection. A queue is one run however long it gets,
    where a table of booked slots (a union-find) held an entry per booking:
    1.15 million at 200,000 people.
    """

    def __init__(self, id: str, kind: str, rate: float, exit: bool = False, times: list[float] | None = None) -> None:
        self.id = id
        self.kind = kind
        self.rate = rate
        self.exit = exit
        self.passed = 0
        self.max_queue = 0.0
        self.max_wait = 0.0
        self.total_wait = 0.0
        self.until = 0.0
        """End of the last booked slot (s): nobody queues for someone arriving later."""
        self.times = times
        """Passage times (s), kept for exits only (``None`` elsewhere)."""
        self._los: list[int] = []
        self._his: list[int] = []
        self._hint = 0
        """The run :meth:`_run_at` found last: queries come in time order, and mostly find the same run again."""

    def __reduce__(self) -> tuple[type[Server], tuple[str, str, float, bool, list[float] | None], tuple[object, ...]]:
        """Pickled by value, alike whether this module is compiled or not (a network is shipped to workers)."""
        return Server, (self.id, self.kind, self.rate, self.exit, self.times), (
            self.passed, self.max_queue, self.max_wait, self.total_wait, self.until, self._los, self._his)

    def __setstate__(self, state: tuple[object, ...]) -> None:
        """Restore what ``__reduce__`` kept beyond the constructor's arguments."""
        self.passed, self.max_queue, self.max_wait, self.total_wait, self.until, self._los, self._his = state

    def fresh(self) -> Server:
        """The same element with nothing booked, for a new replication (exits keep their passage times)."""
        return Server(self.id, self.kind, self.rate, self.exit, times=[] if self.exit else None)

    def _book(self, k: int) -> int:
        """Book the first free slot at or after slot ``k``; return it.

        Each slot number read from the runs is held in a local first: compiled,
        the comparisons are then between C numbers, not a Python object each.
        """
        los, his = self._los, self._his
        hi = his[-1] if his else k - 1
        if k > hi:  # after every run: a new one
            los.append(k)
            his.append(k + 1)
            return k
        lo = los[-1]
        if k >= lo:  # in the last run, or just at its end: the slot after it (a queue)
            his[-1] = hi + 1
            return hi
        i = self._run_at(k)  # the run that starts at or before k
        if i >= 0:
            hi = his[i]
            if k <= hi:  # in run i, or just at its end: the slot after it
                his[i] = hi + 1
                nxt = los[i + 1]
                if hi + 1 == nxt:  # it now meets the next run
                    his[i] = his[i + 1]
                    del los[i + 1], his[i + 1]
                return hi
        nxt = los[i + 1]
        if k + 1 == nxt:  # free, just before the next run
            los[i + 1] = k
        else:
            los.insert(i + 1, k)
            his.insert(i + 1, k + 1)
        return k

    def _run_at(self, k: int) -> int:
        """The last run that starts at or before slot ``k`` (-1: none): the one found last time when it still is
        (checked), else by bisection."""
        los = self._los
        i = self._hint
        n = len(los)
        if 0 <= i < n:
            lo = los[i]
            if lo <= k:
                if i + 1 == n:
                    return i
                nxt = los[i + 1]
                if k < nxt:
                    return i
        i = self._hint = _run_before(los, k)
        return i

    def reserve(self, t: float) -> float:
        """Book a passage for someone arriving at ``t`` s; return the time they are through.

        A passage takes one slot, ``1 / rate`` s, even for someone alone: N
        people need N / rate seconds (the SFPE hydraulic model's N / F), so
        no run beats the flow lower bound.
        """
        rate = self.rate
        start = self._book(int(t * rate)) / rate
        if start > t:
            wait = start - t
            if wait > self.max_wait:
                self.max_wait = wait
                self.max_queue = wait * rate
            self.total_wait += wait
        else:
            start = t
        self.passed += 1
        end = start + 1 / rate
        if self.times is not None:
            self.times.append(end)
        if end > self.until:
            self.until = end
        return end

    def wait_at(self, t: float) -> float:
        """Wait (s) someone arriving at ``t`` would have: the booked slots ahead of them."""
        if t >= self.until:
            return 0.0
        k = int(t * self.rate)
        los, his = self._los, self._his
        lo = los[-1]
        if k >= lo:
            hi = his[-1]
        else:
            i = self._run_at(k)
            hi = his[i] if i >= 0 else k
        if k < hi:
            k = hi
        w = k / self.rate - t
        return w if w > 0.0 else 0.0


class Network:
    """An evacuation scenario prepared on a campus: graph arrays, servers, spaces, people, closures.

    Nodes, edges, servers and spaces are numbered; the per-node lists are in
    the order of ``names``, the per-edge lists in the order of ``e_ends``.

    Parameters
    ----------
    campus : Campus
        The loaded campus.
    scenario : Evacuation
        The validated scenario.
    source : str
        Scenario file name, for error messages.

    Raises
    ------
    ScenarioError
        For feature ids the campus does not have, naming the key.
    """

    def __init__(self, campus: Campus, scenario: Evacuation, source: str = "scenario") -> None:
        self.campus = campus
        self.scenario = scenario
        self.phys = Physics(scenario.settings, scenario.capacity)
        self.by_capacity = {m: Physics(scenario.settings, m) for m in CAPACITIES}
        """The physics of each capacity mode (the flow lower bound uses the measured one whatever the scenario's)."""
        self._check_ids(source)
        g = _contracted(campus, scenario.roads)
        self.graph = g
        nodes = node_arrays(g)
        self.names = nodes.names
        self.index = nodes.index
        self.kind = nodes.kind
        self.level = nodes.level
        self.building = nodes.building
        self.outdoor: list[bool] = nodes.outdoor.tolist()
        self.xy = nodes.xy
        self.node_xy: list[tuple[float, float]] = [(x, y) for x, y in self.xy.tolist()]
        """Per node, its point (m), as Python floats."""
        self._servers_and_spaces()
        self.assembly = [i for i, k in enumerate(self.kind) if k == "assembly"]
        self.is_assembly = [k == "assembly" for k in self.kind]
        self.building_nodes: dict[str, set[int]] = defaultdict(set)
        """Per building, its nodes (a nearest-exit route stays inside them)."""
        for i, b in enumerate(self.building):
            if b is not None:
                self.building_nodes[b].add(i)
        self.start = self._people()
        """Per person, the node they start at."""
        self.space_geom = self._space_geometry()
        """Per node of a space people stand in (room, corridor, floor, stair landing), its polygon (m)."""
        self.lines = QueueLines(self.names, self.xy, self.space_geom, self.phys.d_max,
                                _kept.setdefault(campus, {}).setdefault(("queues", self.phys.d_max), ({}, {})))
        """Where people line up before a door (:mod:`scenarios.evacuation.queues`)."""
        self.ways_on = self._ways_on()
        """Per start node, the ways out of its space: (next node, edge) pairs, in the order of :meth:`places`' distances."""
        self.assembly_of = self._assembly_of()
        """Per building of the people (None outdoors), the assembly areas they head for."""
        self._stair_directions()
        self.blocked_nodes = self._blocked()
        self._smoke()

    def _servers_and_spaces(self) -> None:
        """Number the servers (doors, openings, gates, flights, paths, corridors), spaces and edges."""
        g, nd, idx, phys = self.graph, self.graph.nodes, self.index, self.phys
        self.servers: list[Server] = []
        """The flow-limited elements, as built: each replication runs on fresh copies (``Server.fresh``)."""
        self.server_width: list[float] = []
        """Per server, its clear width (m)."""
        self.node_server = [-1] * len(self.names)
        for i, n in enumerate(self.names):
            if self.kind[i] in SERVER_NODES:
                w = float(nd[n].get("width") or phys.width_unknown)
                rate = phys.path_rate(w) if self.kind[i] == "gate" else phys.door_rate(w)
                self.node_server[i] = len(self.servers)
                self.servers.append(Server(n, self.kind[i], rate, exit=bool(nd[n].get("exit"))))
                self.server_width.append(w)
        # spaces: node spaces (rooms, corridors, stair landings, floors) and edge spaces (flights, paths)
        self.space_area: list[float] = []
        self.space_server: list[int] = []
        """Per space, the server people pass on entering it (corridors), else -1."""
        space_of_node: dict[str, int] = {}
        self.adj: list[list[tuple[int, int, float, float]]] = [[] for _ in self.names]
        """Per node: (neighbour, edge, cost there, cost back), costs as in ``edge_cost``."""
        self.e_len: list[float] = []
        self.e_space: list[int] = []
        self.e_server: list[int] = []
        self.e_stair: list[bool] = []
        self.e_kind: list[str] = []
        self.e_ends: list[tuple[int, int]] = []
        for u, v, d in g.edges(data=True):
            kind = d["kind"]
            length = float(d["length"])
            space, server = -1, -1
            if d.get("space") is not None:
                s = d["space"]
                if s not in space_of_node:
                    space_of_node[s] = len(self.space_area)
                    # a space's area; an edge shorter than 1 m still holds someone
                    self.space_area.append(float(nd[s].get("area") or d["width"] * max(length, 1.0)))
                    # a corridor passes at most its flow capacity, whichever doors people use
                    self.space_server.append(len(self.servers) if nd[s]["kind"] == "corridor" else -1)
                    if nd[s]["kind"] == "corridor":
                        self.servers.append(Server(s, "corridor", phys.path_rate(d["width"])))
                        self.server_width.append(float(d["width"]))
                space = space_of_node[s]
            elif kind == "stair" or kind in PATH_EDGES:
                space = len(self.space_area)
                self.space_area.append(float(d["width"]) * max(length, 1.0))
                self.space_server.append(-1)  # the edge's own server limits it
                rate = phys.stair_rate(d["width"]) if kind == "stair" else phys.path_rate(d["width"])
                server = len(self.servers)
                self.servers.append(Server(f"{u}~{v}", kind, rate))
                self.server_width.append(float(d["width"]))
            self.e_len.append(length)
            self.e_space.append(space)
            self.e_server.append(server)
            self.e_stair.append(kind == "stair")
            self.e_kind.append(kind)
            self.e_ends.append((idx[u], idx[v]))
        for e, (a, b) in enumerate(self.e_ends):
            ab, ba = self.edge_cost(e, a, b), self.edge_cost(e, b, a)
            self.adj[a].append((b, e, ab, ba))
            self.adj[b].append((a, e, ba, ab))
        self.adj_first, self.adj_node, self.adj_edge, self.adj_cost = flat_adjacency(self.adj)
        """``adj`` as flat arrays for the route search (:meth:`field`)."""
        self.node_space = [space_of_node.get(n, -1) for n in self.names]
        node_of_space = {sp: idx[n] for n, sp in space_of_node.items()}
        self.e_space_node = [node_of_space.get(sp, -1) for sp in self.e_space]
        """Per edge, the node of the space it crosses (-1 outdoors and on flights): closing a space closes its edges."""
        self.e_space_node_a = array("l", self.e_space_node)
        self.outdoor_flags = array("b", self.outdoor)
        self.node_server_a, self.e_server_a = array("l", self.node_server), array("l", self.e_server)
        self.e_a, self.e_b = array("l", [a for a, _ in self.e_ends]), array("l", [b for _, b in self.e_ends])
        """The same as flat arrays, for the route search (:meth:`field`, ``_Run.queues``)."""
        self.space_node = [node_of_space.get(sp, -1) for sp in range(len(self.space_area))]
        """Per space, its node (-1 for flights and paths)."""
        self.space_is_flight = [False] * len(self.space_area)
        """Per space, whether it is a stair flight (people coming off one merge with a floor's at the landing below)."""
        for e, sp in enumerate(self.e_space):
            if self.e_stair[e] and sp >= 0 and self.e_space_node[e] < 0:
                self.space_is_flight[sp] = True
        for i, sp in enumerate(self.node_space):
            # a landing stores people on its own area, not the stair core's footprint: the stair's width times the
            # walk across it to its doors (at least the two half-landings of stair_landing)
            if sp >= 0 and self.kind[i] == "stair":
                edges = [g.edges[n, m] for n, m in g.edges(self.names[i])]
                w = max((float(d["width"]) for d in edges if d["kind"] == "stair"), default=phys.get("stair_width"))
                across = max((float(d["length"]) for d in edges if d.get("space") == self.names[i]), default=0.0)
                self.space_area[sp] = min(self.space_area[sp], w * max(phys.get("stair_landing"), across))
        self.space_cap = [max(1.0, a * phys.d_max) for a in self.space_area]
        """Per space, the most people it holds (at ``density_max``; at least one)."""

    def rates(self, capacity: Capacity) -> list[float]:
        """Per server, its flow capacity (persons/s) in capacity mode ``capacity`` (flights in the direction people take)."""
        phys = self.by_capacity[capacity]
        out = []
        for s, w in zip(self.servers, self.server_width, strict=True):
            if s.kind == "stair":
                out.append(phys.stair_rate(w, up=s.id in self.flights_up))
            elif s.kind in ("gate", "corridor", *PATH_EDGES):
                out.append(phys.path_rate(w))
            else:
                out.append(phys.door_rate(w))
        return out

    def _stair_directions(self) -> None:
        """Set each flight's capacity for the direction people take on it: up where its upper landing is nearer safety.

        Decided once, on the free-flow routes to every assembly area with
        nothing closed; a flight's capacity going up is its capacity going
        down times ``Physics.stair_up_flow``.
        """
        dist = self.field(self.assembly, [False] * len(self.names))[0]
        self.flights_up: set[str] = set()
        """Flights people take upwards (their server ids)."""
        for e, (a, b) in enumerate(self.e_ends):
            s = self.e_server[e]
            if not self.e_stair[e] or s < 0:
                continue
            lo, hi = (a, b) if (self.level[a] or 0) < (self.level[b] or 0) else (b, a)
            if dist[hi] < dist[lo]:
                self.flights_up.add(self.servers[s].id)
        for s, rate in zip(self.servers, self.rates(self.scenario.capacity), strict=True):
            s.rate = rate

    def label(self, server: str) -> str:
        """A readable name for a server id: a door's id, or the feature of a flight or path."""
        if "~" not in server:
            return server
        u, v = server.split("~", 1)
        d = self.graph.edges[u, v]
        if d["kind"] == "stair":
            lo, hi = sorted((self.graph.nodes[u].get("level") or 0, self.graph.nodes[v].get("level") or 0))
            return f"{d.get('feature') or d.get('building')} flight L{lo}-L{hi}"
        return f"{d['feature']} ({u}-{v})" if d.get("feature") else server

    # -- inputs ---------------------------------------------------------------

    def _check_ids(self, source: str) -> None:
        f = self.campus.features
        sc = self.scenario
        problems = []
        closable = ("door", "stair", "room", "corridor", "gate")
        for i, fid in enumerate(sc.blocked):
            if fid not in f.index or f.at[fid, "kind"] not in closable:
                problems.append(Problem(source, f"{fid!r} is not a door, stair, room, corridor or gate of the campus", field=f"blocked[{i}]"))
        if sc.fire is not None:
            o = sc.fire.origin
            if o not in f.index or f.at[o, "kind"] not in ("room", "corridor", "detector"):
                problems.append(Problem(source, f"{o!r} is not a room, corridor or detector of the campus", field="fire.origin"))
            for sid in sc.fire.conditions:
                if sid not in self.campus.graph or self.campus.graph.nodes[sid].get("kind") not in SPACE_NODES:
                    problems.append(Problem(source, f"{sid!r} is not a room, corridor, stair landing (e.g. 'S1@2') or floor of the campus",
                                            field=f"fire.conditions.{sid}"))
        for b, a in sc.assembly.items():
            if b not in f.index or f.at[b, "kind"] != "building":
                problems.append(Problem(source, f"{b!r} is not a building of the campus", field=f"assembly.{b}"))
            if a != "nearest" and (a not in f.index or f.at[a, "kind"] != "assembly"):
                problems.append(Problem(source, f"{a!r} is not an assembly area of the campus", field=f"assembly.{b}"))
        for b in sc.occupancy.buildings:
            if b not in f.index or f.at[b, "kind"] != "building":
                problems.append(Problem(source, f"{b!r} is not a building of the campus", field=f"occupancy.buildings.{b}"))
        if problems:
            raise ScenarioError(problems)

    def _people(self) -> np.ndarray:
        """Where people start: each building's occupants × its occupancy fraction, shared out over its rooms.

        The building total is rounded once and shared by largest remainder
        (Hamilton's method), so 24 people asked for in a building of 2,248
        are 24, however thinly they spread over its rooms.
        """
        occ = self.scenario.occupancy
        blocked = set(self.scenario.blocked)
        g = self.campus.graph
        wanted: dict[str | None, list[tuple[int, float]]] = defaultdict(list)
        for i, n in enumerate(self.names):
            if self.kind[i] not in OCCUPIED or g.nodes[n].get("feature") in blocked:
                continue
            frac = occ.buildings.get(self.building[i], occ.default)
            wanted[self.building[i]].append((i, g.nodes[n].get("occupants", 0) * frac))
        per_node: dict[int, int] = {}
        for nodes in wanted.values():
            whole = {i: math.floor(x) for i, x in nodes}
            left = round(sum(x for _, x in nodes)) - sum(whole.values())
            for i, _ in sorted(nodes, key=lambda ix: (-(ix[1] - whole[ix[0]]), ix[0]))[:max(0, left)]:
                whole[i] += 1
            per_node.update(whole)
        return np.array([i for i in sorted(per_node) for _ in range(per_node[i])], dtype=int)

    def _space_geometry(self) -> dict[int, BaseGeometry]:
        """The polygon of every node space: a room's or corridor's feature, a landing's stair, a generated floor's footprint."""
        geom = self.campus.features.geometry
        nd = self.graph.nodes
        out: dict[int, BaseGeometry] = {}
        for i, n in enumerate(self.names):
            fid = nd[n].get("feature")
            if self.node_space[i] >= 0 and fid in geom.index:
                out[i] = geom[fid]
        return out

    def _ways_on(self) -> dict[int, list[tuple[int, int]]]:
        """Per start node, its ways on: every neighbour (a door of the room, a corridor's doors and stairs)."""
        return {u: [(v, e) for v, e, _, _ in self.adj[u]] for u in set(self.start.tolist())}

    def places(self, rng: np.random.Generator) -> tuple[np.ndarray, list[list[float]]]:
        """Where each person stands at the start, and their walk (m) to each of their space's ways on.

        A place is drawn uniformly over the polygon of the person's start
        space (room, corridor or generated floor), by rejection from its
        bounding box, from ``rng``: the same seed and replication give the
        same places. The walk to a way on (:attr:`ways_on`) is the straight
        line where it stays inside the space (always, in a convex room);
        where it does not (an L-shaped corridor), it is the walk through the
        space's node, the point the building graph joins all its doors at:
        the space's navigation graph is a star around that node.

        Returns
        -------
        xy : ndarray (n, 2)
            Places (m), one row per person in the order of :attr:`start`.
        walks : list of list of float
            Per person, the walk (m) to each of ``ways_on[start]``, in that order.
        """
        start = self.start
        xy = self.xy[start].astype(float)
        walks: list[list[float]] = [[] for _ in range(len(start))]
        if not len(start):
            return xy.reshape(0, 2), walks
        order = np.argsort(start, kind="stable")
        nodes, first = np.unique(start[order], return_index=True)
        for u, who in zip(nodes.tolist(), np.split(order, first[1:]), strict=True):
            ways = self.ways_on[u]
            poly = self.space_geom.get(u)
            if poly is not None and poly.area > 0:
                xy[who] = _sample(poly, len(who), rng)
            ends = self.xy[[v for v, _ in ways]]
            d = np.hypot(xy[who, None, 0] - ends[None, :, 0], xy[who, None, 1] - ends[None, :, 1])
            if poly is not None and poly.area < shapely.convex_hull(poly).area - 1e-6:
                lines = shapely.linestrings(np.stack([np.repeat(xy[who], len(ways), axis=0),
                                                      np.tile(ends, (len(who), 1))], axis=1))
                inside = shapely.covers(poly.buffer(1e-6), lines).reshape(d.shape)
                hub = np.hypot(*(xy[who] - self.xy[u]).T)[:, None] + np.array([self.e_len[e] for _, e in ways])[None, :]
                d = np.where(inside, d, hub)
            for k, row in zip(who.tolist(), d.tolist(), strict=True):
                walks[k] = row
        return xy, walks

    def warm(self) -> None:
        """Compute every queue line people could form in this network now (kept for the campus, ``_kept``): a
        forecast worker does this before the first alarm, so no forecast pays for it (0.1 s of CPU on the demo
        campus, 845 lines over 293 spaces; a forecast computes the few hundred it meets, 5-7 % of it)."""
        for e, ends in enumerate(self.e_ends):
            for u in ends:  # someone on edge e arriving at u, with the space beyond full (``_Run.line_place``)
                sn = line_space(u, self.e_space[e], self.space_node, self.space_is_flight)
                if sn >= 0 and self.lines.planned(sn):
                    self.lines.line(u, sn)

    def flight_end(self, landing: int) -> tuple[float, float]:
        """Where a flight arrives at stair landing node ``landing`` (m): one end of the stair's long axis, the other
        end on the next level (a switchback), so people on a flight are drawn along it, not on the landing's node."""
        poly = self.space_geom.get(landing)
        if poly is None or poly.area <= 0:
            return tuple(self.xy[landing].tolist())  # type: ignore[return-value]
        ring = np.asarray(shapely.minimum_rotated_rectangle(poly).exterior.coords)[:4]
        sides = [(ring[k] + ring[(k + 1) % 4]) / 2 for k in range(4)]
        a, b = (sides[0], sides[2]) if np.hypot(*(ring[1] - ring[0])) < np.hypot(*(ring[2] - ring[1])) else (sides[1], sides[3])
        end = a if (self.level[landing] or 0) % 2 == 0 else b
        c = np.asarray(poly.centroid.coords[0])
        x, y = (end + (c - end) * min(1.0, 0.5 / max(float(np.hypot(*(c - end))), 1e-9))).tolist()
        return x, y

    def _assembly_of(self) -> dict[str | None, tuple[int, ...]]:
        """The assembly areas the people of each building head for: the scenario's choice, else all (the nearest wins)."""
        out: dict[str | None, tuple[int, ...]] = {}
        for b in {self.building[i] for i in self.start.tolist()}:
            a = self.scenario.assembly.get(b or "", "nearest")
            out[b] = tuple(self.assembly) if a == "nearest" else (self.index[a],)
        return out

    def _blocked(self) -> list[int]:
        """Nodes closed from the start: those named in ``blocked``, and every landing of a blocked stair."""
        ids = set(self.scenario.blocked)
        feature = self.campus.graph.nodes
        return [i for i, n in enumerate(self.names)
                if n in ids or (self.kind[i] == "stair" and feature[n].get("feature") in ids)]

    def _smoke(self) -> None:
        """Where and when smoke spreads from the fire, and how much dose each space gives (the fire's tenability model).

        The room of origin is smoke-logged at the fire's ``start``; smoke then
        spreads ring by ring through doors and openings
        (:func:`twin.graph.fire_neighbourhood`, the rule the live map uses):
        ring ``k`` is smoke-logged ``k × spread_delay`` s after the start,
        with CO at ``fire_co_ppm × smoke_dilution^k`` and a temperature
        excess over ambient of ``(fire_temperature − ambient) ×
        smoke_dilution^k`` at head height. A space is untenable, and closes at
        its smoke time, where those conditions give a dose of
        ``tenability_fed`` within ``tenability_time`` (ISO 13571); smoke
        stops spreading where a ring's dose rate falls below 1 % of that. A
        flight takes the worse of its two landings. The scenario's
        ``fire.conditions`` (a table from a zone or CFD model: smoke time, CO,
        temperature per space) replace the model's for the spaces they name. Sets
        :attr:`fire_nodes`, :attr:`smoke_closures`, :attr:`space_smoke_at`,
        :attr:`space_fed_rate` and :attr:`fire_origin`.
        """
        n_sp = len(self.space_area)
        self.space_smoke_at = [math.inf] * n_sp
        """Per space, when smoke reaches it (s; inf: never)."""
        self.space_fed_rate = [0.0] * n_sp
        """Per space, the dose a person accrues there per second once it is smoke-logged (1/s)."""
        self.smoke_closures: list[tuple[float, int, str]] = []
        """The untenable spaces' nodes and when they close (s, node, why), in time order."""
        self.fire_nodes: tuple[list[int], list[int]] = ([], [])
        """Nodes closed at the fire's start (its room) and at ``start + spread_delay`` (the untenable first ring)."""
        self.fire_origin = -1
        """The node of the room of fire origin (-1: no fire)."""
        fire, phys = self.scenario.fire, self.phys
        if fire is None:
            return
        o = fire.origin
        if self.campus.features.at[o, "kind"] == "detector":
            o = self.campus.features.at[o, "node"]
        if o not in self.index:
            return
        self.fire_origin = self.index[o]
        amb, dil = phys.get("ambient_temperature"), phys.get("smoke_dilution")
        limit = phys.get("tenability_fed") / phys.get("tenability_time")
        node_at, node_rate = {}, {}
        ring, seen, k = [o], {o}, 0
        while ring:
            rate = phys.fed_rate(phys.get("fire_co_ppm") * dil**k, amb + (phys.get("fire_temperature") - amb) * dil**k)
            if rate < 0.01 * limit:
                break
            t = fire.start + k * fire.spread_delay
            for n in sorted(ring):
                i = self.index[n]
                node_at[i], node_rate[i] = t, rate
            nxt = {m for n in ring for m in fire_neighbourhood(self.graph, n)} - seen
            seen |= nxt
            ring, k = sorted(nxt), k + 1
        for sid, given in fire.conditions.items():  # the user's table replaces the model where it speaks
            i = self.index[sid]
            node_at[i], node_rate[i] = given.at, phys.fed_rate(given.co_ppm, given.temperature)
        self.smoke_closures = sorted((t, i, "fire" if i == self.fire_origin else "fire spread")
                                     for i, t in node_at.items() if node_rate[i] >= limit)
        for i, t in node_at.items():
            sp = self.node_space[i]
            if sp >= 0:
                self.space_smoke_at[sp], self.space_fed_rate[sp] = t, node_rate[i]
        for e, (a, b) in enumerate(self.e_ends):  # flights and other edge spaces: the worse end
            sp = self.e_space[e]
            if sp >= 0 and self.e_space_node[e] < 0 and (a in node_at or b in node_at):
                ends = [x for x in (a, b) if x in node_at]
                self.space_smoke_at[sp] = min(node_at[x] for x in ends)
                self.space_fed_rate[sp] = max(node_rate[x] for x in ends)
        self.fire_nodes = ([i for t, i, why in self.smoke_closures if why == "fire"],
                           [i for t, i, why in self.smoke_closures if why == "fire spread" and t == fire.start + fire.spread_delay])

    # -- routes ---------------------------------------------------------------

    def edge_cost(self, e: int, u: int, v: int) -> float:
        """Free-flow time (s) to walk edge ``e`` from ``u`` to ``v`` at unit free speed."""
        if self.e_stair[e]:
            down = (self.level[v] or 0) < (self.level[u] or 0)
            return self.e_len[e] / (self.phys.stair_down if down else self.phys.stair_up) + HOP
        return self.e_len[e] + HOP

    def field(self, targets: list[int], closed: list[bool], within: set[int] | None = None,
              penalty: array | None = None) -> RouteField:
        """Distances (s at unit speed) to the nearest target, the next hop and the edge to it, avoiding closed nodes
        (:func:`scenarios.evacuation.search.field` on this network; its parameters)."""
        return field(self.adj_first, self.adj_node, self.adj_edge, self.adj_cost, self.outdoor_flags,
                     self.e_space_node_a, targets, closed, within, penalty)


def _sample(poly: BaseGeometry, n: int, rng: np.random.Generator) -> np.ndarray:
    """``n`` points drawn uniformly over ``poly`` (m), by rejection from its bounding box."""
    minx, miny, maxx, maxy = poly.bounds
    shapely.prepare(poly)
    out = np.empty((0, 2))
    while len(out) < n:
        k = max(8, int(1.3 * (n - len(out)) * (maxx - minx) * (maxy - miny) / poly.area))
        pts = np.column_stack([rng.uniform(minx, maxx, k), rng.uniform(miny, maxy, k)])
        out = np.concatenate([out, pts[shapely.contains_xy(poly, pts[:, 0], pts[:, 1])]])
    return out[:n]

"""The evacuation engine: SimPy on the campus graph, mesoscopic.

Every person is a SimPy process (a plain generator) that waits out its
pre-movement time, then walks from node to node of the campus graph towards an
assembly area. Doors, openings, gates, stair flights and outdoor paths are
flow-limited servers (FIFO, ``rate`` persons/s); spaces (rooms, corridors,
stair landings and flights, floors, path segments) slow people by density and
refuse entry above ``density_max``, so queues form at bottlenecks and back up
into the spaces before them. Blocked parts and a spreading fire are closures
of nodes (no entry); routes are recomputed when a closure happens.

Physics: ``scenarios/physics.py``. Inputs: a loaded ``Campus`` and a validated
``Evacuation`` scenario. One ``Drill`` holds everything that does not change
between replications; ``Drill.run(i)`` runs replication ``i`` with its own
random stream spawned from the scenario's seed, so replications are
independent of the order and the process they run in.
"""

from __future__ import annotations

import heapq
import math
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

import networkx as nx
import numpy as np
import simpy

from scenarios.physics import Physics
from scenarios.schema import Evacuation
from twin.campus import OCCUPIED, PEDESTRIAN_EDGES, Campus
from twin.errors import Problem, ScenarioError

SERVER_NODES = ("door", "opening", "gate")
PATH_EDGES = ("footway", "shared", "crossing")
HOP = 1e-3
"""Tie-break added to every hop in route search (s), so routes never pass through a door node for nothing."""


def contract_paths(g: nx.Graph) -> nx.Graph:
    """Merge chains of outdoor path edges through junctions that join just two of them.

    A junction where only two walkable edges meet is no decision point; the
    merged edge keeps the summed length, the narrowest width (and kind), and
    in ``via`` the original node sequence for drawing. Changes ``g`` in place
    and returns it.
    """
    for n in list(g.nodes):
        d = g.nodes[n]
        if d["kind"] != "junction" or g.degree(n) != 2:
            continue
        (a, ea), (b, eb) = ((m, g.edges[n, m]) for m in g[n])
        if a == b or g.has_edge(a, b) or ea["kind"] not in PATH_EDGES or eb["kind"] not in PATH_EDGES:
            continue
        narrow = ea if ea["width"] <= eb["width"] else eb
        via_a = ea.get("via") or (a, n)
        via_b = eb.get("via") or (n, b)
        seq = (list(via_a) if via_a[-1] == n else list(reversed(via_a))) + \
              (list(via_b)[1:] if via_b[0] == n else list(reversed(via_b))[1:])
        g.add_edge(a, b, length=ea["length"] + eb["length"], width=narrow["width"], kind=narrow["kind"], level=None,
                   via=tuple(seq))
        g.remove_node(n)
    return g


@dataclass
class Server:
    """A flow-limited element passed at most ``rate`` persons/s, first come first served."""

    id: str
    kind: str
    rate: float
    exit: bool = False
    free_at: float = 0.0
    passed: int = 0
    max_queue: float = 0.0
    max_wait: float = 0.0
    total_wait: float = 0.0

    def reserve(self, t: float) -> float:
        """Book the next passage for someone arriving at ``t`` s; return the time they pass."""
        start = self.free_at if self.free_at > t else t
        wait = start - t
        if wait > 0:
            queue = wait * self.rate
            if queue > self.max_queue:
                self.max_queue = queue
            if wait > self.max_wait:
                self.max_wait = wait
            self.total_wait += wait
        self.free_at = start + 1.0 / self.rate
        self.passed += 1
        return start


@dataclass
class Replication:
    """What one replication produced (times in seconds)."""

    index: int
    occupants: int
    safe_times: np.ndarray
    trapped: int
    unfinished: int
    building_of: list[str]
    left_building: np.ndarray
    by_exit: dict[str, int]
    servers: list[dict[str, Any]]
    events: int
    max_speed: float
    min_premovement: float
    moves: list[tuple[int, str, float, float, int, int]] | None = None
    closures: list[tuple[float, str, str]] = field(default_factory=list)

    @property
    def evacuation_time(self) -> float:
        """Time the last person reached safety (s); 0 when nobody moved."""
        return float(self.safe_times.max()) if len(self.safe_times) else 0.0


class Drill:
    """An evacuation scenario prepared on a campus: graph, servers, spaces, people.

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
        self.phys = Physics(scenario.settings)
        self._check_ids(source)
        g = contract_paths(nx.Graph(campus.walk_graph()))
        self.graph = g
        self.names: list[str] = list(g.nodes)
        idx = {n: i for i, n in enumerate(self.names)}
        self.index = idx
        nd = g.nodes
        self.kind = [nd[n]["kind"] for n in self.names]
        self.level = [nd[n].get("level") for n in self.names]
        self.building = [nd[n].get("building") for n in self.names]
        self.outdoor = [lv is None for lv in self.level]
        self.xy = np.array([(nd[n]["x"], nd[n]["y"]) for n in self.names])
        # servers at nodes
        self.servers: list[Server] = []
        self.node_server = [-1] * len(self.names)
        for i, n in enumerate(self.names):
            if self.kind[i] in SERVER_NODES:
                w = float(nd[n].get("width") or 1.0)
                rate = self.phys.path_rate(w) if self.kind[i] == "gate" else self.phys.door_rate(w)
                self.node_server[i] = len(self.servers)
                self.servers.append(Server(n, self.kind[i], rate, exit=bool(nd[n].get("exit"))))
        # spaces: node spaces (rooms, corridors, stair landings, floors) and edge spaces (flights, paths)
        self.space_area: list[float] = []
        space_of_node: dict[str, int] = {}
        self.adj: list[list[tuple[int, int]]] = [[] for _ in self.names]
        self.e_len: list[float] = []
        self.e_space: list[int] = []
        self.e_server: list[int] = []
        self.e_stair: list[bool] = []
        self.e_kind: list[str] = []
        for u, v, d in g.edges(data=True):
            e = len(self.e_len)
            kind = d["kind"]
            length = float(d["length"])
            space, server = -1, -1
            if d.get("space") is not None:
                s = d["space"]
                if s not in space_of_node:
                    space_of_node[s] = len(self.space_area)
                    self.space_area.append(float(nd[s].get("area") or d["width"] * max(length, 1.0)))
                space = space_of_node[s]
            elif kind == "stair" or kind in PATH_EDGES:
                space = len(self.space_area)
                self.space_area.append(float(d["width"]) * max(length, 1.0))
                rate = self.phys.stair_rate(d["width"]) if kind == "stair" else self.phys.path_rate(d["width"])
                server = len(self.servers)
                self.servers.append(Server(f"{u}~{v}", kind, rate))
            self.e_len.append(length)
            self.e_space.append(space)
            self.e_server.append(server)
            self.e_stair.append(kind == "stair")
            self.e_kind.append(kind)
            self.adj[idx[u]].append((idx[v], e))
            self.adj[idx[v]].append((idx[u], e))
        self.node_space = [space_of_node.get(n, -1) for n in self.names]
        self.space_cap = [max(1.0, a * self.phys.d_max) for a in self.space_area]
        self.assembly = [i for i, k in enumerate(self.kind) if k == "assembly"]
        self._people()
        self.blocked_nodes = self._blocked()
        self.fire_nodes = self._fire_nodes()

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

    def _people(self) -> None:
        """Where people start: occupied nodes × occupancy fraction (rounded per node)."""
        occ = self.scenario.occupancy
        blocked = set(self.scenario.blocked)
        starts: list[int] = []
        g = self.campus.graph
        for i, n in enumerate(self.names):
            if self.kind[i] not in OCCUPIED or g.nodes[n].get("feature") in blocked:
                continue
            frac = occ.buildings.get(self.building[i], occ.default)
            starts += [i] * round(g.nodes[n].get("occupants", 0) * frac)
        self.start = np.array(starts, dtype=int)

    def _blocked(self) -> list[int]:
        ids = set(self.scenario.blocked)
        return [i for i, n in enumerate(self.names) if n in ids or self.campus.graph.nodes[n].get("feature") in ids and self.kind[i] != "floor"]

    def _fire_nodes(self) -> tuple[list[int], list[int]]:
        """Nodes the fire closes at its start, and its neighbourhood closed after the spread delay."""
        fire = self.scenario.fire
        if fire is None:
            return [], []
        o = fire.origin
        if self.campus.features.at[o, "kind"] == "detector":
            o = self.campus.features.at[o, "node"]
        if o not in self.index:
            return [], []
        origin = self.index[o]
        near: set[int] = set()
        for d, _ in self.adj[origin]:  # the room's doors …
            for s, _ in self.adj[d]:  # … and the spaces behind them
                if s != origin and self.kind[s] in ("room", "corridor", "stair", "floor"):
                    near.add(s)
        return [origin], sorted(near)

    # -- routes ---------------------------------------------------------------

    def edge_cost(self, e: int, u: int, v: int) -> float:
        """Free-flow time (s) to walk edge ``e`` from ``u`` to ``v`` at unit free speed."""
        if self.e_stair[e]:
            down = (self.level[v] or 0) < (self.level[u] or 0)
            return self.e_len[e] / (self.phys.stair_down if down else self.phys.stair_up) + HOP
        return self.e_len[e] + HOP

    def field(self, targets: list[int], closed: np.ndarray, within: set[int] | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Distances (s at unit speed) to the nearest target, the next hop and the edge to it, avoiding closed nodes.

        Parameters
        ----------
        targets : list of int
            Target node indices.
        closed : bool array
            Nodes nobody may enter.
        within : set of int, optional
            Restrict the search to these nodes (a building's, for nearest exits).
        """
        n = len(self.names)
        dist = np.full(n, np.inf)
        nxt = np.full(n, -1, dtype=int)
        nedge = np.full(n, -1, dtype=int)
        outdoor = self.outdoor
        heap = [(0.0, t) for t in targets if not closed[t]]
        for _, t in heap:
            dist[t] = 0.0
        heapq.heapify(heap)
        while heap:
            d, v = heapq.heappop(heap)
            if d > dist[v]:
                continue
            for u, e in self.adj[v]:
                if (within is not None and u not in within) or (outdoor[u] and not outdoor[v]):
                    continue  # nobody walks back into a building on the way out
                nd = d + self.edge_cost(e, u, v)
                if nd < dist[u]:
                    dist[u] = nd
                    nxt[u] = v
                    nedge[u] = e
                    if not closed[u]:  # a closed node can be left, not crossed
                        heapq.heappush(heap, (nd, u))
        return dist, nxt, nedge

    # -- one replication ------------------------------------------------------

    def run(self, index: int, *, record: bool = False) -> Replication:  # noqa: C901 - the engine loop is one piece
        """Run replication ``index``; with ``record`` keep every move for the replay viewer."""
        sc = self.scenario
        seq = np.random.SeedSequence(sc.seed).spawn(index + 1)[index]
        rng = np.random.default_rng(seq)
        n_people = len(self.start)
        pre = np.maximum(sc.premovement.draw(rng, n_people), 0.0)
        speed = np.maximum(sc.speed.draw(rng, n_people), 0.05)
        env = simpy.Environment()
        servers = [Server(s.id, s.kind, s.rate, s.exit) for s in self.servers]
        closed = np.zeros(len(self.names), dtype=bool)
        closed[self.blocked_nodes] = True
        count = [0] * len(self.space_area)
        node_space = self.node_space
        for i in self.start.tolist():
            if node_space[i] >= 0:
                count[node_space[i]] += 1
        ev_count = [0]
        cap = self.space_cap
        area = self.space_area
        waiting: dict[int, list[simpy.Event]] = defaultdict(list)
        phys = self.phys
        adaptive = sc.route == "adaptive"
        nearest_exit = sc.route == "nearest_exit"
        # targets per building
        assembly_of: dict[str | None, list[int]] = {}
        for b in {self.building[i] for i in self.start.tolist()}:
            a = sc.assembly.get(b or "", "nearest")
            assembly_of[b] = self.assembly if a == "nearest" else [self.index[a]]
        fields: dict[Any, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}
        bnodes: dict[str, set[int]] = defaultdict(set)
        for i, b in enumerate(self.building):
            if b is not None:
                bnodes[b].add(i)

        def get_field(key: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
            if key not in fields:
                if key[0] == "assembly":
                    fields[key] = self.field(list(key[1]), closed)
                else:  # ("exits", building)
                    exits = [i for i in bnodes[key[1]] if self.kind[i] == "door" and self.node_server[i] >= 0 and servers[self.node_server[i]].exit]
                    fields[key] = self.field(exits, closed, within=bnodes[key[1]])
            return fields[key]

        safe_t = np.full(n_people, np.nan)
        left_t = np.full(n_people, np.nan)
        trapped = [0]
        moves: list[tuple[int, str, float, float, int, int]] | None = [] if record else None
        closures: list[tuple[float, str, str]] = []
        e_len, e_space, e_server, e_stair = self.e_len, self.e_space, self.e_server, self.e_stair
        node_server, adj, level, kind = self.node_server, self.adj, self.level, self.kind
        is_assembly = np.zeros(len(self.names), dtype=bool)
        is_assembly[self.assembly] = True
        outdoor = np.array([lv is None for lv in level])

        def choose(u: int, key: Any, v_free: float) -> tuple[int, int]:
            """Next node and edge from ``u`` (-1 when no way is left)."""
            dist, nxt, nedge = get_field(key)
            if not adaptive:
                return int(nxt[u]), int(nedge[u])
            best, best_v, best_e = math.inf, -1, -1
            now = env.now
            for v, e in adj[u]:
                if closed[v] or not dist[v] < math.inf:
                    continue
                c = self.edge_cost(e, u, v) / v_free + dist[v] / v_free
                s = node_server[v] if node_server[v] >= 0 else e_server[e]
                if s >= 0 and servers[s].free_at > now:
                    c += servers[s].free_at - now
                sp = e_space[e]
                if sp >= 0 and count[sp] >= cap[sp]:
                    c += 1.0 / max(1e-6, servers[s].rate) if s >= 0 else 5.0
                if c < best:
                    best, best_v, best_e = c, v, e
            return best_v, best_e

        def person(p: int):  # noqa: ANN202 - a SimPy process
            u = int(self.start[p])
            v_free = float(speed[p])
            b = self.building[u]
            key: Any = ("exits", b) if nearest_exit and b is not None else ("assembly", tuple(assembly_of[b]))
            yield env.timeout(pre[p])
            ev_count[0] += 1
            if moves is not None:
                moves.append((p, "wait", 0.0, float(pre[p]), u, u))
            space = node_space[u]
            while True:
                if is_assembly[u]:
                    safe_t[p] = env.now
                    if space >= 0:
                        count[space] -= 1
                    return
                if key[0] == "exits" and outdoor[u]:
                    key = ("assembly", tuple(assembly_of[b]))
                v, e = choose(u, key, v_free)
                if v < 0 or (closed[v] and not is_assembly[v]):
                    if key[0] == "exits":  # no exit of the building left: head for safety any way
                        key = ("assembly", tuple(assembly_of[b]))
                        continue
                    trapped[0] += 1
                    if moves is not None:
                        moves.append((p, "trapped", env.now, env.now, u, u))
                    return
                sp = e_space[e]
                if sp >= 0 and sp != space and count[sp] >= cap[sp]:
                    ev = env.event()
                    waiting[sp].append(ev)
                    t0 = env.now
                    yield ev
                    ev_count[0] += 1
                    if moves is not None:
                        moves.append((p, "queue", t0, env.now, u, u))
                    continue
                t = env.now
                s1 = node_server[u]
                if s1 >= 0:
                    t = servers[s1].reserve(t)
                s2 = e_server[e]
                if s2 >= 0:
                    t = servers[s2].reserve(t)
                if t > env.now:
                    t0 = env.now
                    yield env.timeout(t - t0)
                    ev_count[0] += 1
                    if moves is not None:
                        moves.append((p, "queue", t0, t, u, u))
                if sp != space:
                    if space >= 0:
                        count[space] -= 1
                        if waiting[space] and count[space] < cap[space]:
                            waiting[space].pop(0).succeed()
                    if sp >= 0:
                        count[sp] += 1
                    space = sp
                f = phys.density_factor(count[sp] / area[sp]) if sp >= 0 else 1.0
                if e_stair[e]:
                    f *= phys.stair_down if (level[v] or 0) < (level[u] or 0) else phys.stair_up
                dt = e_len[e] / (v_free * f)
                t0 = env.now
                yield env.timeout(dt)
                ev_count[0] += 1
                if moves is not None:
                    moves.append((p, "walk", t0, env.now, u, v))
                if outdoor[v] and not outdoor[u] and np.isnan(left_t[p]):
                    left_t[p] = env.now
                u = v

        def close(nodes: list[int], why: str) -> None:
            for i in nodes:
                closed[i] = True
                closures.append((env.now, self.names[i], why))
            fields.clear()
            for evs in waiting.values():  # people waiting to enter a closed space look again
                while evs:
                    evs.pop(0).succeed()

        def fire():  # noqa: ANN202 - a SimPy process
            f = sc.fire
            origin, near = self.fire_nodes
            yield env.timeout(f.start)  # type: ignore[union-attr]
            close(origin, "fire")
            yield env.timeout(f.spread_delay)  # type: ignore[union-attr]
            close(near, "fire spread")

        for i in self.blocked_nodes:
            closures.append((0.0, self.names[i], "blocked"))
        if sc.fire is not None and self.fire_nodes[0]:
            env.process(fire())
        for p in range(n_people):
            env.process(person(p))
        env.run(until=sc.max_time)
        safe = safe_t[~np.isnan(safe_t)]
        unfinished = n_people - len(safe) - trapped[0]
        by_exit = {s.id: s.passed for s in servers if s.exit and s.passed}
        bott = [
            {"id": s.id, "kind": s.kind, "max_queue": round(s.max_queue, 1), "max_wait_s": round(s.max_wait, 1),
             "mean_wait_s": round(s.total_wait / s.passed, 2) if s.passed else 0.0, "passed": s.passed}
            for s in servers if s.max_wait > 0
        ]
        return Replication(
            index=index, occupants=n_people, safe_times=np.sort(safe), trapped=trapped[0], unfinished=unfinished,
            building_of=[self.building[i] or "" for i in self.start.tolist()], left_building=left_t,
            by_exit=by_exit, servers=bott, events=ev_count[0], max_speed=float(speed.max()) if n_people else 0.0,
            min_premovement=float(pre.min()) if n_people else 0.0, moves=moves, closures=closures,
        )

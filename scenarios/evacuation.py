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
from collections import defaultdict, deque
from dataclasses import dataclass, field
from typing import Any

import networkx as nx
import numpy as np
import simpy

from scenarios.physics import Physics
from scenarios.schema import Evacuation
from twin.campus import OCCUPIED, Campus
from twin.errors import Problem, ScenarioError

SERVER_NODES = ("door", "opening", "gate")
PATH_EDGES = ("footway", "shared", "crossing", "road")
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
                   via=tuple(seq), feature=narrow.get("feature"))
        g.remove_node(n)
    return g


@dataclass
class Server:
    """A flow-limited element passed at most ``rate`` persons/s.

    Time is cut into slots of ``1 / rate`` seconds and each passage takes one
    slot: someone arriving at ``t`` passes in the first free slot from ``t``
    on. People usually arrive in time order (first come, first served); when
    a person books ahead (outdoors, see ``Drill.run``) a later booking for an
    earlier time still gets the earlier free slot, so booking ahead never
    holds up people who arrive before. A union-find over slots keeps each
    booking near O(1).
    """

    id: str
    kind: str
    rate: float
    exit: bool = False
    passed: int = 0
    max_queue: float = 0.0
    max_wait: float = 0.0
    total_wait: float = 0.0
    until: float = 0.0
    """End of the last booked slot (s): nobody queues for someone arriving later."""
    times: list[float] | None = None
    """Passage times (s), kept for exits only (``None`` elsewhere)."""
    _next: dict[int, int] = field(default_factory=dict, repr=False)

    def _free(self, k: int) -> int:
        """The first free slot at or after slot ``k`` (union-find with path compression)."""
        nxt = self._next
        root = k
        while root in nxt:
            root = nxt[root]
        while k in nxt and nxt[k] != root:
            nxt[k], k = root, nxt[k]
        return root

    def reserve(self, t: float) -> float:
        """Book a passage for someone arriving at ``t`` s; return the time they are through.

        A passage takes one slot, ``1 / rate`` s, even for someone alone: N
        people need N / rate seconds (the SFPE hydraulic model's N / F), so
        no run beats the flow lower bound.
        """
        k = self._free(int(t * self.rate))
        self._next[k] = k + 1
        start = max(t, k / self.rate)
        wait = start - t
        if wait > 0:
            queue = wait * self.rate
            if queue > self.max_queue:
                self.max_queue = queue
            if wait > self.max_wait:
                self.max_wait = wait
            self.total_wait += wait
        self.passed += 1
        end = start + 1 / self.rate
        if self.times is not None:
            self.times.append(end)
        if end > self.until:
            self.until = end
        return end

    def wait_at(self, t: float) -> float:
        """Wait (s) someone arriving at ``t`` would have: the booked slots ahead of them."""
        if t >= self.until:
            return 0.0
        return max(0.0, self._free(int(t * self.rate)) / self.rate - t)


@dataclass
class Replication:
    """What one replication produced: per person and per exit (times in seconds)."""

    index: int
    premovement: np.ndarray
    """Per person, the pre-movement time drawn (s)."""
    speed: np.ndarray
    """Per person, the free walking speed drawn (m/s)."""
    safe_at: np.ndarray
    """Per person, when they reached an assembly area (NaN if they did not)."""
    trapped_at: np.ndarray
    """Per person, when they found every way out closed (NaN if they did not)."""
    building_of: list[str]
    left_building: np.ndarray
    """Per person, when they left their building (NaN if they did not)."""
    by_exit: dict[str, int]
    exit_times: dict[str, list[float]]
    """Times (s) people passed each building exit."""
    servers: list[dict[str, Any]]
    events: int
    moves: list[tuple[int, str, float, float, int, int]] | None = None
    closures: list[tuple[float, str, str]] = field(default_factory=list)

    @property
    def occupants(self) -> int:
        """People at the start."""
        return len(self.safe_at)

    @property
    def safe_times(self) -> np.ndarray:
        """Sorted times people reached safety (s)."""
        return np.sort(self.safe_at[~np.isnan(self.safe_at)])

    @property
    def trapped(self) -> int:
        """People with no way out left."""
        return int((~np.isnan(self.trapped_at)).sum())

    @property
    def unfinished(self) -> int:
        """People still on their way when the run stopped at ``max_time``."""
        return self.occupants - len(self.safe_times) - self.trapped

    @property
    def evacuation_time(self) -> float:
        """Time the last person reached safety (s); 0 when nobody moved."""
        return float(np.nanmax(self.safe_at)) if len(self.safe_times) else 0.0

    @property
    def max_speed(self) -> float:
        """The fastest free speed drawn (m/s)."""
        return float(self.speed.max()) if len(self.speed) else 0.0

    @property
    def min_premovement(self) -> float:
        """The shortest pre-movement time drawn (s)."""
        return float(self.premovement.min()) if len(self.premovement) else 0.0


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
        walk = campus.graph if scenario.roads else campus.walk_graph()
        g = contract_paths(nx.Graph(walk))
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
            e = len(self.e_len)
            kind = d["kind"]
            length = float(d["length"])
            space, server = -1, -1
            if d.get("space") is not None:
                s = d["space"]
                if s not in space_of_node:
                    space_of_node[s] = len(self.space_area)
                    self.space_area.append(float(nd[s].get("area") or d["width"] * max(length, 1.0)))
                    # a corridor passes at most its flow capacity, whichever doors people use
                    self.space_server.append(len(self.servers) if nd[s]["kind"] == "corridor" else -1)
                    if nd[s]["kind"] == "corridor":
                        self.servers.append(Server(s, "corridor", self.phys.path_rate(d["width"])))
                space = space_of_node[s]
            elif kind == "stair" or kind in PATH_EDGES:
                space = len(self.space_area)
                self.space_area.append(float(d["width"]) * max(length, 1.0))
                self.space_server.append(-1)  # the edge's own server limits it
                rate = self.phys.stair_rate(d["width"]) if kind == "stair" else self.phys.path_rate(d["width"])
                server = len(self.servers)
                self.servers.append(Server(f"{u}~{v}", kind, rate))
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
        self.node_space = [space_of_node.get(n, -1) for n in self.names]
        node_of_space = {sp: idx[n] for n, sp in space_of_node.items()}
        self.e_space_node = [node_of_space.get(sp, -1) for sp in self.e_space]
        """Per edge, the node of the space it crosses (-1 outdoors and on flights): closing a space closes its edges."""
        self.space_node = [node_of_space.get(sp, -1) for sp in range(len(self.space_area))]
        """Per space, its node (-1 for flights and paths)."""
        self.space_cap = [max(1.0, a * self.phys.d_max) for a in self.space_area]
        self.assembly = [i for i, k in enumerate(self.kind) if k == "assembly"]
        self._people()
        self.blocked_nodes = self._blocked()
        self.fire_nodes = self._fire_nodes()

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
        self.start = np.array([i for i in sorted(per_node) for _ in range(per_node[i])], dtype=int)

    def _blocked(self) -> list[int]:
        """Nodes closed from the start: those named in ``blocked``, and every landing of a blocked stair."""
        ids = set(self.scenario.blocked)
        feature = self.campus.graph.nodes
        return [i for i, n in enumerate(self.names)
                if n in ids or (self.kind[i] == "stair" and feature[n].get("feature") in ids)]

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
        for d, *_ in self.adj[origin]:  # the room's doors …
            for s, *_ in self.adj[d]:  # … and the spaces behind them
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

    def field(self, targets: list[int], closed: np.ndarray, within: set[int] | None = None,
              penalty: list[float] | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Distances (s at unit speed) to the nearest target, the next hop and the edge to it, avoiding closed nodes.

        Parameters
        ----------
        targets : list of int
            Target node indices.
        closed : bool array
            Nodes nobody may enter.
        within : set of int, optional
            Restrict the search to these nodes (a building's, for nearest exits).
        penalty : list of float, optional
            Extra cost per edge (m at unit speed), e.g. the queue ahead of it.
        """
        n = len(self.names)
        dist = np.full(n, np.inf)
        nxt = np.full(n, -1, dtype=int)
        nedge = np.full(n, -1, dtype=int)
        outdoor = self.outdoor
        space_node = self.e_space_node
        heap = [(0.0, t) for t in targets if not closed[t]]
        for _, t in heap:
            dist[t] = 0.0
        heapq.heapify(heap)
        while heap:
            d, v = heapq.heappop(heap)
            if d > dist[v]:
                continue
            for u, e, _, cost in self.adj[v]:
                if (within is not None and u not in within) or (outdoor[u] and not outdoor[v]):
                    continue  # nobody walks back into a building on the way out
                if space_node[e] >= 0 and closed[space_node[e]] and u != space_node[e]:
                    continue  # a closed room or corridor closes the walks across it; those in it may leave
                nd = d + cost + (penalty[e] if penalty is not None else 0.0)
                if nd < dist[u]:
                    dist[u] = nd
                    nxt[u] = v
                    nedge[u] = e
                    if not closed[u]:  # a closed node can be left, not crossed
                        heapq.heappush(heap, (nd, u))
        return dist, nxt, nedge

    # -- one replication ------------------------------------------------------

    def run(self, index: int, *, record: bool = False) -> Replication:  # noqa: C901, PLR0915 - the engine loop is one piece
        """Run replication ``index``; with ``record`` keep every move for the replay viewer."""
        sc = self.scenario
        seq = np.random.SeedSequence(sc.seed).spawn(index + 1)[index]
        rng = np.random.default_rng(seq)
        n_people = len(self.start)
        pre = np.maximum(sc.premovement.draw(rng, n_people), 0.0).tolist()
        speed = np.maximum(sc.speed.draw(rng, n_people), 0.05).tolist()
        start = self.start.tolist()
        env = simpy.Environment()
        timeout = env.timeout
        servers = [Server(s.id, s.kind, s.rate, s.exit, times=[] if s.exit else None) for s in self.servers]
        closed = [False] * len(self.names)
        for i in self.blocked_nodes:
            closed[i] = True
        count = [0] * len(self.space_area)
        node_space = self.node_space
        for i in start:
            if node_space[i] >= 0:
                count[node_space[i]] += 1
        ev_count = [0]
        heading = [0] * len(self.names)
        cap = self.space_cap
        area = self.space_area
        waiting: dict[int, deque[simpy.Event]] = defaultdict(deque)
        phys = self.phys
        d_free, sfpe_a = phys.d_free, phys.a
        f_norm = 1 - sfpe_a * d_free
        adaptive = sc.route == "adaptive"
        nearest_exit = sc.route == "nearest_exit"
        assembly_of: dict[str | None, tuple[int, ...]] = {}
        for b in {self.building[i] for i in start}:
            a = sc.assembly.get(b or "", "nearest")
            assembly_of[b] = tuple(self.assembly) if a == "nearest" else (self.index[a],)
        fields: dict[Any, tuple[list[float], list[int], list[int], dict[int, list[tuple[float, int, int]]]]] = {}
        bnodes: dict[str, set[int]] = defaultdict(set)
        for i, b in enumerate(self.building):
            if b is not None:
                bnodes[b].add(i)
        closed_arr = np.zeros(len(self.names), dtype=bool)

        def queues() -> list[float] | None:
            """Per edge, the queue ahead of it now as metres of walking (adaptive routing only)."""
            if not adaptive:
                return None
            now, v = env.now, phys.get("walk_speed_mean")
            wait = [sv.wait_at(now) * v for sv in servers]
            node_wait = [0.5 * wait[s] if s >= 0 else 0.0 for s in node_server]
            return [(wait[s] if s >= 0 else 0.0) + node_wait[a] + node_wait[b]
                    for s, (a, b) in zip(e_server, self.e_ends, strict=True)]

        def get_field(key: Any) -> tuple[list[float], list[int], list[int], dict[int, list[tuple[float, int, int]]]]:
            """Route field for ``key``: ("assembly", targets), ("exits", building) or ("inside", space, targets).

            ("inside", space, targets) is the way out for those caught in a
            room or corridor that closed around them: that one space is open
            to them, every other closure holds.
            """
            if key not in fields:
                closed_arr[:] = closed
                if key[0] == "assembly":
                    d, n, e = self.field(list(key[1]), closed_arr, penalty=queues())
                elif key[0] == "inside":
                    closed_arr[space_node[key[1]]] = False
                    d, n, e = self.field(list(key[2]), closed_arr, penalty=queues())
                else:
                    exits = [i for i in bnodes[key[1]] if self.kind[i] == "door" and self.node_server[i] >= 0
                             and servers[self.node_server[i]].exit]
                    d, n, e = self.field(exits, closed_arr, within=bnodes[key[1]], penalty=queues())
                fields[key] = (d.tolist(), n.tolist(), e.tolist(), {})
            return fields[key]

        safe_t = [math.nan] * n_people
        left_t = [math.nan] * n_people
        trapped_t = [math.nan] * n_people
        moves: list[tuple[int, str, float, float, int, int]] | None = [] if record else None
        closures: list[tuple[float, str, str]] = []
        e_len, e_space, e_server, e_stair = self.e_len, self.e_space, self.e_server, self.e_stair
        node_server, adj, level, e_space_node = self.node_server, self.adj, self.level, self.e_space_node
        space_server, space_node = self.space_server, self.space_node
        is_assembly = [False] * len(self.names)
        for i in self.assembly:
            is_assembly[i] = True
        outdoor = self.outdoor

        def wake(sp: int) -> None:
            """Let the first person waiting for a place in space ``sp`` look again, if there is one."""
            if waiting[sp] and count[sp] < cap[sp]:
                waiting[sp].popleft().succeed()

        # Where there is no choice to make: outdoors, a room's one door, a passage.
        no_choice = [not adaptive or outdoor[u] or len(adj[u]) <= 2 for u in range(len(self.names))]

        def choose(u: int, key: Any, v_free: float) -> tuple[int, int]:
            """Next node and edge from ``u`` (-1 when no way is left)."""
            dist, nxt, nedge, steps = fields.get(key) or get_field(key)
            if no_choice[u] or key[0] == "inside":
                return nxt[u], nedge[u]
            if u not in steps:  # the steps that bring you closer (no loops), best first when nothing queues
                here = dist[u]
                steps[u] = sorted(
                    (cost + dist[v], v, e) for v, e, cost, _ in adj[u]
                    if not closed[v] and dist[v] < here
                    and not (e_space_node[e] >= 0 and closed[e_space_node[e]] and u != e_space_node[e])
                )
            best, best_v, best_e = math.inf, -1, -1
            now = env.now
            for base, v, e in steps[u]:
                c = base / v_free
                if c >= best:
                    break  # queues only add: nothing further down can win
                s = node_server[v] if node_server[v] >= 0 else e_server[e]
                if s >= 0:  # the queue there now, and the people already on their way to it
                    sv = servers[s]
                    c += heading[v] / sv.rate
                    if now < sv.until:
                        c += sv.wait_at(now)
                sp = e_space[e]
                if sp >= 0 and count[sp] >= cap[sp]:
                    c += 1.0 / servers[s].rate if s >= 0 else 5.0
                if c < best:
                    best, best_v, best_e = c, v, e
            return best_v, best_e

        def outside(p: int, u: int, key: Any, v_free: float, t: float) -> float:
            """Walk from outdoor node ``u`` to the assembly area in one go; return the arrival time.

            Outdoors nothing is decided on the way, so the path servers are
            booked ahead at the times the person reaches them (first booked,
            first served) and the walk is one SimPy timeout.
            """
            _, nxt, nedge, _ = get_field(key)
            while not is_assembly[u]:
                v, e = nxt[u], nedge[u]
                if v < 0:
                    return -1.0
                s = e_server[e]
                t0 = servers[s].reserve(t) if s >= 0 else t
                t = t0 + e_len[e] / v_free
                if moves is not None:
                    moves.append((p, "walk", t0, t, u, v))
                s = node_server[v]  # a gate on the way
                if s >= 0:
                    t = servers[s].reserve(t)
                u = v
            return t

        def person(p: int):  # noqa: ANN202, C901 - a SimPy process
            u = start[p]
            v_free = speed[p]
            b = self.building[u]
            key: Any = ("exits", b) if nearest_exit and b is not None else ("assembly", assembly_of[b])
            yield timeout(pre[p])
            ev_count[0] += 1
            if moves is not None:
                moves.append((p, "wait", 0.0, pre[p], u, u))
            space = node_space[u]
            token = -1  # the space whose free place woke us; passed on if we do not take it
            while True:
                if outdoor[u]:
                    if space >= 0:
                        count[space] -= 1
                        wake(space)
                    if left_t[p] != left_t[p]:  # NaN: not out yet
                        left_t[p] = env.now
                    t = outside(p, u, ("assembly", assembly_of[b]), v_free, env.now)
                    if t < 0:
                        break
                    yield timeout(t - env.now)
                    ev_count[0] += 1
                    safe_t[p] = t
                    return
                v, e = choose(u, key, v_free)
                if v < 0 or (closed[v] and not (key[0] == "inside" and v == space_node[key[1]])):
                    if key[0] == "exits":  # no exit of the building left: head for safety any way
                        key = ("assembly", assembly_of[b])
                        continue
                    if key[0] != "inside" and space >= 0 and space_node[space] >= 0 and closed[space_node[space]]:
                        key = ("inside", space, assembly_of[b])  # the space closed around them: they may leave it
                        continue
                    break
                sp = e_space[e]
                if token >= 0 and token != sp:
                    wake(token)
                token = -1
                if sp >= 0 and sp != space and count[sp] >= cap[sp]:
                    ev = env.event()
                    waiting[sp].append(ev)
                    t0 = env.now
                    yield ev
                    ev_count[0] += 1
                    token = sp
                    if moves is not None:
                        moves.append((p, "queue", t0, env.now, u, u))
                    continue
                # One SimPy step covers: waiting for the flight or path ahead, walking
                # the edge, and queueing through the door at its end (booked ahead
                # for the arrival time, so the door still serves in arrival order).
                now = env.now
                s = e_server[e]
                t0 = servers[s].reserve(now) if s >= 0 else now
                if sp != space:
                    if sp >= 0 and space_server[sp] >= 0:
                        t0 = servers[space_server[sp]].reserve(t0)
                    if space >= 0:
                        count[space] -= 1
                        wake(space)
                    if sp >= 0:
                        count[sp] += 1
                    space = sp
                f = 1.0
                if sp >= 0:
                    dens = count[sp] / area[sp]
                    if dens > d_free:
                        f = max(0.05, (1 - sfpe_a * dens) / f_norm)
                if e_stair[e]:
                    f *= phys.stair_down if (level[v] or 0) < (level[u] or 0) else phys.stair_up
                t_arrive = t0 + e_len[e] / (v_free * f)
                s = node_server[v]
                t_through = servers[s].reserve(t_arrive) if s >= 0 else t_arrive
                if adaptive:
                    heading[v] += 1
                    yield timeout(t_through - now)
                    heading[v] -= 1
                else:
                    yield timeout(t_through - now)
                ev_count[0] += 1
                if moves is not None:
                    if t0 > now:
                        moves.append((p, "queue", now, t0, u, u))
                    moves.append((p, "walk", t0, t_arrive, u, v))
                    if t_through > t_arrive:
                        moves.append((p, "queue", t_arrive, t_through, v, v))
                u = v
                if (key[0] == "exits" and outdoor[u]) or (key[0] == "inside" and space != key[1]):
                    key = ("assembly", assembly_of[b])
            trapped_t[p] = env.now
            if moves is not None:
                moves.append((p, "trapped", env.now, env.now, u, u))

        def close(nodes: list[int], why: str) -> None:
            for i in nodes:
                closed[i] = True
                closures.append((env.now, self.names[i], why))
            fields.clear()
            for evs in waiting.values():  # people waiting to enter a closed space look again
                while evs:
                    evs.popleft().succeed()

        def fire():  # noqa: ANN202 - a SimPy process
            f = sc.fire
            origin, near = self.fire_nodes
            yield env.timeout(f.start)  # type: ignore[union-attr]
            close(origin, "fire")
            yield env.timeout(f.spread_delay)  # type: ignore[union-attr]
            close(near, "fire spread")

        def reroute():  # noqa: ANN202 - a SimPy process: adaptive routes see the queues as they grow
            while True:
                yield env.timeout(phys.get("reroute_interval"))
                fields.clear()

        if adaptive:
            env.process(reroute())
        for i in self.blocked_nodes:
            closures.append((0.0, self.names[i], "blocked"))
        if sc.fire is not None and self.fire_nodes[0]:
            env.process(fire())
        for p in range(n_people):
            env.process(person(p))
        env.run(until=sc.max_time)
        by_exit = {s.id: s.passed for s in servers if s.exit and s.passed}
        bott = [
            {"id": s.id, "kind": s.kind, "max_queue": round(s.max_queue, 1), "max_wait_s": round(s.max_wait, 1),
             "mean_wait_s": round(s.total_wait / s.passed, 2) if s.passed else 0.0, "passed": s.passed}
            for s in servers if s.passed
        ]
        return Replication(
            index=index, premovement=np.array(pre), speed=np.array(speed),
            safe_at=np.array(safe_t, dtype=float), trapped_at=np.array(trapped_t, dtype=float),
            building_of=[self.building[i] or "" for i in start], left_building=np.array(left_t, dtype=float),
            by_exit=by_exit, exit_times={s.id: s.times for s in servers if s.exit and s.times}, servers=bott,
            events=ev_count[0], moves=moves, closures=closures,
        )

"""The evacuation engine: SimPy processes on the campus network, mesoscopic, one replication at a time.

Every person is a plain generator (:meth:`_Run.person`) run by the
replication's SimPy environment itself (``scenarios/evacuation/calendar.py``:
no process object and no event per step, on a calendar queue). They stand
at a place of their own in their start space (drawn from the replication's
random stream, :meth:`Network.places`), wait out their pre-movement time,
choose a way out of the space from that place
(:meth:`_Run.first_way`), then walk from node to node of the campus graph
towards an assembly area. Doors, openings, gates, stair flights and
outdoor paths are flow-limited servers (FIFO, ``rate`` persons/s); spaces
(rooms, corridors, stair landings and flights, floors, path segments) slow
people by density and refuse entry above ``density_max``, so queues form at
bottlenecks and back up into the spaces before them. Blocked parts and a
spreading fire are closures of nodes (no entry); routes are recomputed when a
closure happens.

Physics: ``scenarios/evacuation/physics.py``. What is derived from the campus
once: ``scenarios/evacuation/network.py``. A :class:`Drill` is that network
plus ``run(i)``, which runs replication ``i`` with its own random stream
spawned from the scenario's seed, so replications are independent of the
order and the process they run in (``scenarios.replicate``).
"""

from __future__ import annotations

import gc
import math
from math import hypot
from array import array
from collections import defaultdict, deque
from collections.abc import Generator
from typing import Any

import cython
import numpy as np
import simpy

from scenarios.evacuation.calendar import Calendar, Person
from scenarios.evacuation.drawing import record_outdoors, record_step
from scenarios.evacuation.network import Network
from scenarios.evacuation.queues import line_space
from scenarios.evacuation.replication import Move, Replication

RouteKey = tuple[Any, ...]
"""What a route leads to: ("assembly", targets), ("exits", building) or ("inside", space, targets)."""
Route = tuple[list[float], list[int], list[int], list[list[tuple[float, int, int, int, int]] | None] | None]
"""A route field as lists (distance, next node, next edge per node) and, per node, the steps that lead closer (cost
at free flow, node, edge, server or -1, space or -1; None until asked for); None on an ("inside", ...) route."""


INF = cython.declare(cython.double, math.inf)
"""Infinity, as a C constant when compiled (``math.inf`` is a module attribute looked up at every use)."""


class Drill(Network):
    """An evacuation scenario prepared on a campus (a :class:`~scenarios.evacuation.network.Network`) that runs replications.

    This is the model :func:`scenarios.replicate.replicate` ships to local
    processes or Dask workers (campus included). Its ``scenario`` is read at
    the start of every replication, so a caller may swap in another
    pre-movement or speed distribution between runs (calibration does).
    """

    def run(self, index: int, *, record: bool = False) -> Replication:
        """Run replication ``index``; with ``record`` keep every move for the replay viewer.

        The cyclic garbage collector pauses meanwhile: a replication makes no
        reference cycles but one (the run and its people), freed when it
        ends, while the collections it would trigger rescan every live object
        of the process (each person's generator, and in a big process
        everything else): 8-13 % of a 20,000-person run, more in a test or
        server process.
        """
        collecting = gc.isenabled()
        gc.disable()
        try:
            return _Run(self, index, record=record).run()
        finally:
            if collecting:
                gc.enable()


class _Run:
    """One replication: its random draws, the state its SimPy processes share, and the processes.

    The network (``net``) is read only; everything that changes during the
    replication is here: fresh servers, which nodes are closed, how many
    people each space holds and who waits to enter it, the route fields
    (recomputed after every closure, and every ``reroute_interval`` on
    adaptive routes), and what each person did.
    """

    def __init__(self, net: Drill, index: int, *, record: bool = False) -> None:
        sc = net.scenario
        self.net = net
        self.index = index
        self.scenario = sc
        rng = np.random.default_rng(np.random.SeedSequence(sc.seed).spawn(index + 1)[index])
        n_people = len(net.start)
        pre = np.maximum(sc.premovement.draw(rng, n_people), 0.0)
        if net.fire_origin >= 0:  # the room of origin reacts at once; smoke reaching a space is a cue to leave it
            pre = np.where(net.start == net.fire_origin, pre * net.phys.get("fire_origin_premovement"), pre)
            smoke = np.array([net.space_smoke_at[s] if s >= 0 else np.inf for s in net.node_space])
            pre = np.minimum(pre, smoke[net.start]) if len(pre) else pre
        self.pre: list[float] = pre.tolist()
        self.speed: list[float] = np.maximum(sc.speed.draw(rng, n_people), net.phys.speed_floor).tolist()
        xy, self.walks = net.places(rng)
        self.start_x, self.start_y = array("d", xy[:, 0].tobytes()), array("d", xy[:, 1].tobytes())
        """Per person, their place in their start space (m), as C arrays read as Python floats (lists of pairs took
        21 MB more at 200,000 people)."""
        self.start: list[int] = net.start.tolist()
        self.env = Calendar(self.person)
        self.servers = [s.fresh() for s in net.servers]
        self.closed = [False] * len(net.names)
        for i in net.blocked_nodes:
            self.closed[i] = True
        self.count = [0] * len(net.space_area)
        """Per space, the people in it now."""
        for i in self.start:
            if net.node_space[i] >= 0:
                self.count[net.node_space[i]] += 1
        self.walking = [0] * len(net.space_area)
        """Per space, the people in it who are walking (out of pre-movement): the density that slows people."""
        self.waiting: list[deque[int]] = [deque() for _ in net.space_area]
        """Per space, the people waiting for a place in it, first come first served (on a flight: the floor's stream)."""
        self.waiting_stair: list[deque[int]] = [deque() for _ in net.space_area]
        """Per flight, the people coming off the flight above waiting for a place on it (the stair's stream)."""
        self.lined = [0] * len(net.names)
        """Per node, the people standing in line before it for a full space beyond (:meth:`line_place`)."""
        self.merged: dict[int, tuple[int, int]] = defaultdict(lambda: (0, 0))
        """Per flight, the places given so far to the floor's stream and to the stair's."""
        self.merge_floor = net.phys.get("stair_merge_floor")
        self.heading = [0] * len(net.names)
        """Per node, the people on their way to it now (adaptive routes see them coming)."""
        self.adaptive = sc.route == "adaptive"
        self.nearest_exit = sc.route == "nearest_exit"
        self.no_choice = [not self.adaptive or net.outdoor[u] or len(net.adj[u]) <= 2 for u in range(len(net.names))]
        """Nodes where there is no choice to make on the way (outdoors, a passage, or routes are not adaptive);
        the first choice, out of the start space, is always made (:meth:`first_way`)."""
        self.fields: dict[RouteKey, list[Route | None]] = {}
        """Per route key, a one-place list holding its route field now (None: to be searched again, after a closure or
        reroute); a person holds their key's list, and finds the route there at every step without hashing the key."""
        # the network's lists the per-step methods read, as the run's own fields (C fields of a C class when compiled,
        # where the network's are attributes of a Python object); the same lists, never changed
        self.phys = net.phys
        self.e_space, self.e_server, self.e_len, self.e_stair = net.e_space, net.e_server, net.e_len, net.e_stair
        self.node_server, self.level, self.adj, self.is_assembly = net.node_server, net.level, net.adj, net.is_assembly
        self.space_server, self.space_area, self.space_cap = net.space_server, net.space_area, net.space_cap
        self.e_space_node, self.space_node, self.space_is_flight = net.e_space_node, net.space_node, net.space_is_flight
        self.space_fed_rate, self.space_smoke_at = net.space_fed_rate, net.space_smoke_at
        self.node_xy, self.lines = net.node_xy, net.lines
        self.safe_at = [math.nan] * n_people
        self.left_at = [math.nan] * n_people
        self.trapped_at = [math.nan] * n_people
        self.smoky = net.fire_origin >= 0
        self.dose = [0.0] * n_people
        """Per person, the fractional effective dose accrued so far (ISO 13571)."""
        self.incap_at = [math.nan] * n_people
        self.incap_in = [""] * n_people
        self.moves: list[Move] | None = [] if record else None
        self.closures: list[tuple[float, str, str]] = []
        self.events = 0
        """Steps people took, each one entry of the SimPy queue (a measure of the work done)."""

    def run(self) -> Replication:
        """Start the processes, run until everyone is out or ``max_time``, and return what happened."""
        env, net, sc = self.env, self.net, self.scenario
        side = [self.reroute()] if self.adaptive else []
        for i in net.blocked_nodes:
            self.closures.append((0.0, net.names[i], "blocked"))
        if net.smoke_closures:
            side.append(self.fire())
        for g in side:
            env.process(g)
        env.start(self.pre)
        try:
            env.run(until=sc.max_time)
            self.events = env.steps
            return self.result()
        finally:  # let go of this run's people by hand (the garbage collector is paused)
            for g in side:
                g.close()
            env.stop()

    # -- routes ---------------------------------------------------------------

    def queues(self) -> array | None:
        """Per edge, the queue ahead of it now as metres of walking (adaptive routing only).

        A door's wait counts half on each of the two edges that meet at it,
        so a route through it pays it once.
        """
        if not self.adaptive:
            return None
        net, servers = self.net, self.servers
        now, speed = self.env.now, self.phys.walk_speed_mean
        wait_a = array("d", [0.0]) * len(servers)
        node_wait_a = array("d", [0.0]) * len(net.node_server_a)
        out_a = array("d", [0.0]) * len(net.e_server_a)
        wait, node_wait, out = wait_a, node_wait_a, out_a
        node_server, e_server, e_a, e_b = net.node_server_a, net.e_server_a, net.e_a, net.e_b
        for k in range(len(servers)):
            sv = servers[k]
            wait[k] = sv.wait_at(now) * speed
        for k in range(len(node_wait)):
            s = node_server[k]
            if s >= 0:
                node_wait[k] = 0.5 * wait[s]
        for k in range(len(out)):
            s = e_server[k]
            out[k] = (wait[s] if s >= 0 else 0.0) + node_wait[e_a[k]] + node_wait[e_b[k]]
        return out_a

    def route(self, key: RouteKey) -> Route:
        """Route field for ``key`` under the closures (and queues) of now; kept until the next closure or reroute.

        ("inside", space, targets) is the way out for those caught in a room
        or corridor that closed around them: that one space is open to them,
        every other closure holds.
        """
        held = self.held(key)
        if held[0] is None:
            net, closed = self.net, self.closed
            if key[0] == "assembly":
                d, n, e = net.field(list(key[1]), closed, penalty=self.queues())
            elif key[0] == "inside":
                closed = closed.copy()
                closed[net.space_node[key[1]]] = False
                d, n, e = net.field(list(key[2]), closed, penalty=self.queues())
            else:
                inside = net.building_nodes[key[1]]
                exits = [i for i in inside if net.kind[i] == "door" and net.node_server[i] >= 0
                         and self.servers[net.node_server[i]].exit]
                d, n, e = net.field(exits, closed, within=inside, penalty=self.queues())
            held[0] = (d, n, e, None if key[0] == "inside" else [None] * len(d))
        return held[0]

    def held(self, key: RouteKey) -> list[Route | None]:
        """The one-place list holding ``key``'s route field (``fields``)."""
        held = self.fields.get(key)
        return held if held is not None else self.fields.setdefault(key, [None])

    def forget(self) -> None:
        """Forget every route field (a closure, a reroute): each is searched again when next asked for."""
        for held in self.fields.values():
            held[0] = None

    def first_way(self, p: int, u: int, route: Route, v_free: float) -> tuple[int, int, float]:
        """Person ``p``'s way out of their start space ``u`` from their own place: (next node, edge, walk in m); -1 for none.

        Every way on whose route does not come back through the space is
        priced at the walk from the person's place to it plus the route's
        length from there (at the person's free speed). On ``shortest``
        routes that is the shortest walk from where they stand; on
        ``nearest_exit`` routes the nearest exit of the building from there;
        on ``adaptive`` routes the people already committed to each door
        (on their way to it or queueing) are added at its flow, the
        "locally quickest" rule (Thunderhead Engineering, *Pathfinder
        Technical Reference*, "locally quickest" door choice), so a crowd
        spreads over the doors by where people stand and how long each
        queue is when they set off.
        """
        dist, _, nedge, _ = route
        closed, adaptive, e_space, node_server = self.closed, self.adaptive, self.e_space, self.node_server
        best, best_v, best_e, best_w = INF, -1, -1, 0.0
        for (v, e), w in zip(self.net.ways_on[u], self.walks[p], strict=True):
            if closed[v]:
                continue
            on = dist[v]
            if nedge[v] >= 0 and e_space[nedge[v]] == e_space[e]:  # its route turns back: the best way on from it
                on = min([cost + dist[x] for x, f, cost, _ in self.adj[v] if e_space[f] != e_space[e] and not closed[x]],
                         default=INF)
            if on == INF:
                continue
            c = (w + on) / v_free
            if adaptive:
                s = node_server[v] if node_server[v] >= 0 else self.e_server[e]
                if s >= 0:
                    c += self.heading[v] / self.servers[s].rate
            if c < best:
                best, best_v, best_e, best_w = c, v, e, w
        return best_v, best_e, best_w

    def choose(self, u: int, route: Route, v_free: float, now: float, behind: int = -1) -> tuple[int, int]:
        """Next node and edge from ``u`` at time ``now`` s on ``route`` (-1 when no way is left); ``behind``: the space behind the door ``u`` being passed.

        Where there is a choice (adaptive routes, indoors, more than one way
        on, not on the way out of a space that closed around them), each
        step that brings the person closer is priced at its walk
        time plus the queue at its door, flight or path now, the people
        already heading there, and a full space behind it; the cheapest wins.
        Nobody who set out through a door (their route led on out of the
        space they came from when they chose it) goes back into that space
        while another way on is open (:meth:`onward`): a queue that grew
        elsewhere since they chose is not worth going back through it for.
        """
        dist, nxt, nedge, steps = route
        if steps is None:  # out of a space that closed around them: the shortest way
            return nxt[u], nedge[u]
        if self.no_choice[u]:
            e = nedge[u]
            return (nxt[u], e) if behind < 0 or e < 0 or self.e_space[e] != behind else self.onward(u, behind, route)
        closed = self.closed
        ways = steps[u]
        if ways is None:  # the steps that bring you closer (no loops), best first when nothing queues
            here = dist[u]
            e_space_node, node_server, e_server, e_space = self.e_space_node, self.node_server, self.e_server, self.e_space
            ways = steps[u] = sorted([
                (cost + dist[v], v, e, node_server[v] if node_server[v] >= 0 else e_server[e], e_space[e])
                for v, e, cost, _ in self.adj[u]
                if not closed[v] and dist[v] < here
                and not (e_space_node[e] >= 0 and closed[e_space_node[e]] and u != e_space_node[e])
            ])
        cap, servers, heading, count = self.space_cap, self.servers, self.heading, self.count
        best, best_v, best_e = INF, -1, -1
        for base, v, e, s, sp in ways:  # s: the server of the step (its door, flight or path); sp: its space
            c = base / v_free
            if c >= best:
                break  # queues only add: nothing further down can win
            if behind >= 0 and sp == behind:
                continue
            if s >= 0:  # the queue there now, and the people already on their way to it
                sv = servers[s]
                coming = heading[v]
                c += coming / sv.rate
                if now < sv.until:
                    c += sv.wait_at(now)
            if sp >= 0:
                there, room = count[sp], cap[sp]
                if there >= room:
                    c += 1.0 / sv.rate if s >= 0 else self.phys.full_space_penalty
            if c < best:
                best, best_v, best_e = c, v, e
        return (best_v, best_e) if best_v >= 0 or behind < 0 else self.onward(u, behind, route)

    def onward(self, u: int, behind: int, route: Route) -> tuple[int, int]:
        """The best way on from door ``u`` not back into the space ``behind`` it; back only when there is no other."""
        closed = self.closed
        dist, nxt, nedge, _ = route
        best, best_v, best_e = INF, nxt[u], nedge[u]
        for v, e, cost, _ in self.adj[u]:
            if self.e_space[e] != behind and not closed[v] and cost + dist[v] < best:
                best, best_v, best_e = cost + dist[v], v, e
        return best_v, best_e

    # -- people ---------------------------------------------------------------

    def wake(self, sp: int) -> None:
        """Let the first person waiting for a place in space ``sp`` look again, if there is one.

        On a flight where both a floor's stream (waiting on the landing) and
        the stair's stream (coming off the flight above) wait, the place goes
        to the stream furthest below its share of the places given so far:
        ``stair_merge_floor`` (0.5) for the floor's, the rest for the stair's
        (Boyce, Purser & Shields 2012 observed about 50:50).
        """
        floor, stair = self.waiting[sp], self.waiting_stair[sp]
        if not (floor or stair) or self.count[sp] >= self.space_cap[sp]:
            return
        if floor and stair:
            f, s = self.merged[sp]
            take_floor = f <= self.merge_floor * (f + s)
            self.merged[sp] = (f + take_floor, s + (not take_floor))
            self.env.resume((floor if take_floor else stair).popleft())
        elif floor or stair:
            self.env.resume((floor or stair).popleft())

    def line_place(self, p: int, u: int, space: int, t0: float, t1: float, frm: int,
                   v_free: float) -> tuple[float, float] | None:
        """Place person ``p``, just arrived at node ``u`` with the space beyond full, in line in ``space``; None: they stay at ``u``.

        A line forms before the node, filling ``space`` outwards from it
        (:meth:`QueueLines.place <scenarios.evacuation.queues.QueueLines.place>`): the ``k``-th person in line stands at
        its ``k``-th place, not on the node (``k``: the people in line there
        now); off a flight, the line forms on the landing they arrived at.
        Their last step (set off ``t0``, through ``t1`` (s), from node ``frm``, -1
        from their own place) ends at that place instead; where that would
        take more than their free speed ``v_free`` m/s, or the space has no
        plan, they stay at the node as before. Recording or not, the place
        is the same; the walk from it to the node is part of their next
        step.
        """
        sn = line_space(u, space, self.space_node, self.space_is_flight)
        if sn < 0 or not self.lines.planned(sn):
            return None
        qx, qy = self.lines.place(u, sn, self.lined[u])
        x0, y0 = self.node_xy[frm] if frm >= 0 else (self.start_x[p], self.start_y[p])
        if hypot(qx - x0, qy - y0) > v_free * (t1 - t0):
            return None
        self.lined[u] += 1
        moves = self.moves
        if moves is not None and moves and moves[-1][0] == p:  # its last segment ends at the place (as far as they get)
            m = moves[-1]
            d, reach = hypot(qx - m[6], qy - m[7]), v_free * (m[3] - m[2])
            f = 1.0 if d <= reach else reach / d
            moves[-1] = (*m[:8], m[6] + f * (qx - m[6]), m[7] + f * (qy - m[7]))
        return qx, qy

    def line_front(self, u: int, space: int, x: float, y: float, reach: float) -> tuple[float, float]:
        """Where someone in line at (``x``, ``y``) for node ``u`` is after edging ``reach`` m towards its front (m).

        The line moves up as the people ahead leave it; they walk up at most
        half of ``reach`` (their free speed times the wait) and no further
        than the front place.
        """
        fx, fy = self.lines.front(u, line_space(u, space, self.space_node, self.space_is_flight))
        d = hypot(fx - x, fy - y)
        f = min(1.0, 0.5 * reach / d) if d > 1e-9 else 1.0
        return x + f * (fx - x), y + f * (fy - y)

    def step(self, u: int, v: int, e: int, length: float, space: int, v_free: float, now: float) -> tuple[float, float, float]:
        """Book the walk of ``length`` m from ``u`` along edge ``e`` to ``v``, starting at ``now`` s from ``space``; return (set off, arrive, through).

        One SimPy step covers: waiting for the flight or path ahead, walking
        the edge (slowed by the density of the space it crosses, and on
        stairs), and queueing through the door at its end (booked ahead for
        the arrival time, so the door still serves in arrival order). The
        person leaves ``space`` for the edge's space when they set off.
        """
        servers, count, walking = self.servers, self.count, self.walking
        phys = self.phys
        sp = self.e_space[e]
        s = self.e_server[e]
        t0 = now
        if s >= 0:
            sv = servers[s]
            t0 = sv.reserve(now)
        if sp != space:
            if sp >= 0 and self.space_server[sp] >= 0:
                sv = servers[self.space_server[sp]]
                t0 = sv.reserve(t0)
            if space >= 0:
                count[space] -= 1
                walking[space] -= 1
                self.wake(space)
            if sp >= 0:
                count[sp] += 1
                walking[sp] += 1
        stair = ((self.level[v] or 0) > (self.level[u] or 0)) * 2 - 1 if self.e_stair[e] else 0
        speed = phys.speed(v_free, walking[sp] / self.space_area[sp] if sp >= 0 else 0.0, stair)
        t_arrive = t0 + length / speed
        s = self.node_server[v]
        t_through = t_arrive
        if s >= 0:
            sv = servers[s]
            t_through = sv.reserve(t_arrive)
        return t0, t_arrive, t_through

    def outside(self, p: int, u: int, key: RouteKey, v_free: float, t: float) -> float:
        """Walk person ``p`` from outdoor node ``u`` to the assembly area in one go; return the arrival time (-1: no way).

        Outdoors nothing is decided on the way, so the path servers are
        booked ahead at the times the person reaches them (first booked,
        first served), and nothing waits for the arrival: it is known now, and
        counts if it comes before the run's ``max_time``.
        """
        net, servers, moves = self.net, self.servers, self.moves
        _, nxt, nedge, _ = self.route(key)
        while not self.is_assembly[u]:
            v, e = nxt[u], nedge[u]
            if v < 0:
                return -1.0
            s = self.e_server[e]
            t0 = servers[s].reserve(t) if s >= 0 else t
            t = t0 + self.e_len[e] / v_free
            if moves is not None:
                record_outdoors(net, moves, p, (u, v, e), (t0, t), v_free)
            s = self.node_server[v]  # a gate on the way
            if s >= 0:
                t = servers[s].reserve(t)
            u = v
        return t

    @cython.locals(u=cython.long, v=cython.long, e=cython.long, space=cython.long, sp=cython.long, in_line=cython.long,
                   token=cython.long, first=cython.bint, set_off=cython.double, through=cython.double,
                   came_from=cython.long, passing=cython.bint, v_free=cython.double, x=cython.double, y=cython.double,
                   qx=cython.double, qy=cython.double, x0=cython.double, y0=cython.double, t0=cython.double,
                   t_arrive=cython.double, t_through=cython.double, now=cython.double, clock=cython.double,
                   length=cython.double, t=cython.double, outdoor=list, space_node=list, e_space=list, cap=list,
                   e_len=list, node_server=list, count=list, closed=list, held=list, smoky=cython.bint, k=cython.long,
                   route=tuple)
    def person(self, p: int) -> Person:  # noqa: C901 - one person's way out is one loop
        """The process of person ``p``, from the end of their pre-movement time: walk node to node to safety.

        It yields the seconds to their next step, or ``None`` to wait for a
        place, and is sent the time it resumes at (run by the
        :class:`~scenarios.evacuation.calendar.Calendar`).

        Indoors they take one step at a time, the first from their own place
        (:meth:`first_way`), the next from node to node (:meth:`choose`;
        :meth:`step` books each), waiting at the door of a full space; outdoors they walk on to the
        assembly area in one go (:meth:`outside`). They head for their
        building's nearest exit first on ``nearest_exit`` routes, and leave a
        room or corridor that closes around them; with no way left they are
        trapped.
        """
        net, env, moves, closed, count = self.net, self.env, self.moves, self.closed, self.count
        outdoor, space_node, e_space, cap = net.outdoor, net.space_node, net.e_space, net.space_cap
        e_len, node_server, smoky = net.e_len, net.node_server, self.smoky
        heading = self.heading if self.adaptive else None
        u = self.start[p]
        v_free = self.speed[p]
        b = net.building[u]
        to_assembly: RouteKey = ("assembly", net.assembly_of[b])
        key = ("exits", b) if self.nearest_exit and b is not None else to_assembly
        x, y = self.start_x[p], self.start_y[p]
        if moves is not None:
            moves.append((p, "wait", 0.0, self.pre[p], u, u, x, y, x, y))
        space = net.node_space[u]
        clock = env.now  # the time now (s): then the time each yield resumes at, which the calendar sends
        if self.smoky and self.exposed(p, u, space, 0.0, clock, x, y):
            return
        if space >= 0:
            self.walking[space] += 1
        in_line = -1  # the node before which they stand in line for a full space ahead (at (x, y))
        set_off, through, came_from = 0.0, 0.0, -1  # their last step: set off, through (s), from node (-1: their place)
        token = -1  # the space whose free place woke us; passed on if we do not take it
        first = True  # still in the start space, at their own place
        passing = False  # at a door they set out to pass (their route went on out of the space they came from)
        held = self.held(key)  # where the route of where they head is kept
        while True:
            now = clock
            route = held[0]  # the route now for where they head
            if route is None:
                route = self.route(key)
            if outdoor[u]:
                if space >= 0:
                    count[space] -= 1
                    self.walking[space] -= 1
                    self.wake(space)
                if self.left_at[p] != self.left_at[p]:  # NaN: not out yet
                    self.left_at[p] = now
                t = self.outside(p, u, to_assembly, v_free, now)
                if t < 0:
                    break
                if t < self.scenario.max_time:  # safe then (an event at max_time would not be run)
                    self.safe_at[p] = t
                return
            if first:
                v, e, length = self.first_way(p, u, route, v_free)
            else:
                v, e = self.choose(u, route, v_free, now, space if passing else -1)
                length = e_len[e]
            if v < 0 or (closed[v] and not (key[0] == "inside" and v == space_node[key[1]])):
                if key[0] == "exits":  # no exit of the building left: head for safety any way
                    key = to_assembly
                    held = self.held(key)
                    continue
                if key[0] != "inside" and space >= 0 and space_node[space] >= 0 and closed[space_node[space]]:
                    key = ("inside", space, net.assembly_of[b])  # the space closed around them: they may leave it
                    held = self.held(key)
                    continue
                if in_line >= 0:
                    self.lined[in_line] -= 1
                break
            sp = e_space[e]
            if token >= 0 and token != sp:
                self.wake(token)
            token = -1
            if sp >= 0 and sp != space and count[sp] >= cap[sp]:
                from_flight = space >= 0 and net.space_is_flight[space] and net.space_is_flight[sp]
                (self.waiting_stair if from_flight else self.waiting)[sp].append(p)
                t0 = now
                at = self.line_place(p, u, space, set_off, through, came_from, v_free) if not first and in_line != u else None
                if at is not None:
                    in_line = u
                    qx, qy = moves[-1][8:] if moves is not None else at
                    x, y = at
                else:
                    qx, qy = x, y
                if moves is not None:  # queued from now (to the end of the run, unless someone frees a place)
                    k = len(moves)
                    moves.append((p, "queue", t0, self.scenario.max_time, u, u, qx, qy, qx, qy))
                clock = yield None
                token = sp
                if in_line == u:  # the line moved up while they waited
                    x, y = self.line_front(u, space, x, y, (clock - t0) * v_free)
                if moves is not None:
                    moves[k] = (p, "queue", t0, clock, u, u, qx, qy, x, y)
                if self.smoky and self.exposed(p, u, space, t0, clock, x, y):
                    self.lined[u] -= in_line == u
                    return
                continue
            if in_line >= 0:  # from their place in the line to the door, then on
                self.lined[in_line] -= 1
                ux, uy = net.node_xy[u]
                length += hypot(ux - x, uy - y)
                in_line = -1
            t0, t_arrive, t_through = self.step(u, v, e, length, space, v_free, now)
            set_off, through, came_from = now, t_through, -1 if first else u
            if node_server[v] >= 0:
                on = route[2][v]
                passing = first or (on >= 0 and e_space[on] != sp)
            first = False
            behind, space = space, sp
            if heading is not None:
                heading[v] += 1
                clock = yield t_through - now
                heading[v] -= 1
            else:
                clock = yield t_through - now
            x0, y0 = x, y  # where the step started (a recording draws someone overcome on the way there)
            if moves is not None:
                x, y = record_step(net, self.servers, moves, p, (u, v, e), (x, y), (now, t0, t_arrive, t_through), v_free)
            if smoky and (self.exposed(p, u, behind, now, t0, x0, y0) or self.exposed(p, v, sp, t0, t_through, x, y)):
                return
            u = v
            if key is not to_assembly and ((key[0] == "exits" and outdoor[u]) or (key[0] == "inside" and space != key[1])):
                key = to_assembly
                held = self.held(key)
        if moves is not None:  # drawn trapped from now; in smoke, incapacitated from when their dose reaches 1
            moves.append((p, "trapped", clock, clock, u, u, x, y, x, y))
        if self.smoky and self.exposed(p, u, space, clock, self.scenario.max_time, x, y):  # trapped in smoke: the dose goes on
            return
        self.trapped_at[p] = clock

    def exposed(self, p: int, u: int, space: int, t0: float, t1: float, x: float, y: float) -> bool:
        """Add person ``p``'s dose for being in ``space`` from ``t0`` to ``t1`` s; True when it reaches 1 (they are incapacitated).

        The dose accrues at the space's rate once smoke has reached it
        (``Network.space_fed_rate``, ``space_smoke_at``). Someone
        incapacitated stays where they are (still counted in the space) and
        is recorded with the time the dose reached 1 and the space (or, on a
        flight, the node ``u`` they were heading for or leaving); a recording
        draws them at (``x``, ``y``) (m), where they stood or the end of the step
        they were taking, not on the space's node.
        """
        if space < 0 or t1 <= t0 or self.space_fed_rate[space] <= 0:
            return False
        rate = self.space_fed_rate[space]
        a = max(t0, self.space_smoke_at[space])
        if a >= t1:
            return False
        if self.dose[p] + rate * (t1 - a) < 1.0:
            self.dose[p] += rate * (t1 - a)
            return False
        t = a + (1.0 - self.dose[p]) / rate
        self.dose[p] = 1.0
        self.incap_at[p] = t
        node = self.space_node[space]
        self.incap_in[p] = self.net.names[node if node >= 0 else u]
        if self.moves is not None:
            self.moves.append((p, "incapacitated", t, t, u, u, x, y, x, y))
        return True

    # -- closures -------------------------------------------------------------

    def close(self, nodes: list[int], why: str) -> None:
        """Close ``nodes`` now: routes are searched again, and everyone waiting to enter a space looks again."""
        for i in nodes:
            self.closed[i] = True
            self.closures.append((self.env.now, self.net.names[i], why))
        self.forget()
        for ps in (*self.waiting, *self.waiting_stair):
            while ps:
                self.env.resume(ps.popleft())

    def fire(self) -> Generator[simpy.Event, Any, None]:
        """The fire's process: each untenable space closes when smoke reaches it (``Network.smoke_closures``)."""
        for t, i, why in self.net.smoke_closures:
            if t > self.env.now:
                yield self.env.timeout(t - self.env.now)
            self.close([i], why)

    def reroute(self) -> Generator[simpy.Event, Any, None]:
        """Adaptive routes' process: forget the route fields every ``reroute_interval``, so routes see the queues as they grow."""
        while True:
            yield self.env.timeout(self.net.phys.reroute_interval)
            self.forget()

    # -- result ---------------------------------------------------------------

    def result(self) -> Replication:
        """What this replication produced."""
        servers, net = self.servers, self.net
        by_exit = {s.id: s.passed for s in servers if s.exit and s.passed}
        bott = [
            {"id": s.id, "kind": s.kind, "max_queue": round(s.max_queue, 1), "max_wait_s": round(s.max_wait, 1),
             "mean_wait_s": round(s.total_wait / s.passed, 2) if s.passed else 0.0, "passed": s.passed}
            for s in servers if s.passed
        ]
        return Replication(
            index=self.index, premovement=np.array(self.pre), speed=np.array(self.speed), place=np.column_stack((self.start_x, self.start_y)),
            safe_at=np.array(self.safe_at, dtype=float), trapped_at=np.array(self.trapped_at, dtype=float),
            building_of=[net.building[i] or "" for i in self.start], left_building=np.array(self.left_at, dtype=float),
            by_exit=by_exit, exit_times={s.id: s.times for s in servers if s.exit and s.times}, servers=bott,
            events=self.events, moves=self.moves, closures=self.closures,
            dose=np.array(self.dose) if self.smoky else None,
            incapacitated_at=np.array(self.incap_at, dtype=float) if self.smoky else None,
            incapacitated_in=self.incap_in if self.smoky else None,
        )

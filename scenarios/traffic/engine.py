"""The traffic engine's SimPy processes: vehicles at the barriers and on the lanes, pedestrians, signals, conflicts.

:func:`run_layout` runs one replication of one layout with a given demand;
:class:`TrafficModel` is the prepared scenario the replication runner
(:mod:`scenarios.replicate`) ships to workers, and :func:`run` runs every
replication of every layout. The model behind it is described in
:mod:`scenarios.traffic`.
"""

from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import simpy

from scenarios.replicate import replicate
from scenarios.schema import Traffic
from scenarios.traffic.conflicts import find_conflicts, find_passings
from scenarios.traffic.demand import Demand, draw_demand
from scenarios.traffic.network import (
    AS_IS,
    HOUR,
    KMH,
    VEHICLES,
    Network,
    Route,
    layout_campuses,
)
from scenarios.traffic.outcome import (
    AT_BARRIER,
    DRIVING,
    LEFT,
    PARKED,
    QUEUED,
    STUCK,
    TURNED_BACK,
    TrafficOutcome,
    TrafficReplication,
)
from twin.campus import Campus
from twin.settings import value


class _Run:
    """The mutable state of one run; every process receives it."""

    def __init__(self, net: Network, demand: Demand, rng: np.random.Generator, trace: bool) -> None:
        sc = net.scenario
        st = sc.settings
        self.net, self.d, self.rng = net, demand, rng
        self.env = simpy.Environment(initial_time=sc.start * HOUR)
        self.end = sc.end * HOUR
        self.tau = value("traffic.reaction_time", st)
        self.jam = value("traffic.jam_spacing", st)
        self.restart = value("traffic.yield_restart", st)
        self.ped_restart = value("traffic.ped_restart", st)
        self.patience = value("traffic.yield_patience", st)
        self.cycle = value("traffic.signal_cycle", st)
        self.walk = value("traffic.signal_walk", st)
        self.clear_speed = value("traffic.signal_clear_speed", st)
        self.length = {c: value(f"traffic.length.{c}", st) for c in VEHICLES}
        self.speed = {c: value(f"traffic.speed.{c}", st) * KMH for c in VEHICLES}
        nl = len(net.link_a)
        self.count = [0] * nl
        self.last_entry = [-math.inf] * nl
        self.last_exit = [-math.inf] * nl
        self.tail: list[simpy.Event | None] = [None] * nl
        self.waiters: list[deque[simpy.Event]] = [deque() for _ in range(nl)]
        self.trace: list[list[tuple[int, float, float]]] | None = [[] for _ in range(nl)] if trace else None
        self.ped_until = [-math.inf] * net.n_zones
        self.veh_until = [-math.inf] * net.n_zones
        self.on_crossing: list[deque[tuple[float, float]]] = [deque() for _ in range(net.n_zones)]
        """Per zone: (seen, step-off) times of the people on it or about to step off it: seen is when drivers could
        first tell they meant to cross (``traffic.ped_intent_distance`` before the kerb)."""
        self.approach: list[deque[list]] = [deque() for _ in range(nl)]
        """Per link into a zone: [vehicle, time it reaches the zone at free speed (s), speed (m/s)], first in first."""
        self.intent = value("traffic.ped_intent_distance", st)
        self.zone_event = [self.env.event() for _ in range(net.n_zones)]
        """Per zone: succeeds when a vehicle has passed it (people waiting at the kerb look again)."""
        self.decisions: dict[tuple[int, int], bool] = {}
        """(vehicle, zone) -> whether its driver gives way there (drawn once)."""
        self.reaction = value("traffic.brake_reaction", st)
        self.decel = value("traffic.brake_decel", st)
        self.accel = value("traffic.accel", st)
        self.ped_start = value("traffic.ped_start_time", st)
        self.ped_red = value("traffic.ped_red_violation", st)
        self.driver_red = value("traffic.driver_red_violation", st)
        self.move_up = math.sqrt(2 * self.jam * (1 / self.accel + 1 / value("traffic.stop_decel", st))) + self.tau / 2
        """Seconds the barrier's place is taken after a stop: pulling away and the next vehicle pulling up one jam
        spacing from standstill to standstill (accelerating at ``traffic.accel``, braking at ``traffic.stop_decel``),
        the follower starting half a reaction time (``traffic.reaction_time``) after its leader: SUMO's Krauss
        follower with tau = 1 s takes 3.4 s where the bang-bang time is 2.9 s (tests/test_sumo.py)."""
        self.cuts, self.phases = net.closure_phases()
        self.phase = 0
        self.change = self.env.event()
        n = len(demand.veh_t)
        self.state = np.full(n, QUEUED, dtype=np.int8)
        self.veh_delay: list[float] = []
        self.veh_free: list[float] = []
        self.emergency: list[float] = []
        self.yields = self.non_yields = self.forced = self.no_stop = 0
        self.gates = {gt: simpy.Resource(self.env, capacity=max(1, int(net.campus.graph.nodes[gt].get("lanes") or 1)))
                      for gt in net.vgates}
        self.queue = {gt: 0 for gt in net.vgates}
        self.qlog: dict[str, list[tuple[float, int]]] = {gt: [(self.env.now, 0)] for gt in net.vgates}
        # times in the conflict areas: people per zone (zone, t0, t1, who) and per lane (place, t0, t1, zone record),
        # vehicles per lane (place, t0, t1, who, conflicting speed, edging through); on lane edges (edge, t0, t1, direction, who)
        self.pz: list[tuple[int, float, float, int]] = []
        self.pl: list[tuple[int, float, float, int]] = []
        self.vl: list[tuple[int, float, float, int, float, float]] = []
        self.pe: list[tuple[int, float, float, int, int]] = []
        self.ve: list[tuple[int, float, float, int, int]] = []
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
            yield env.timeout(float(d.veh_service[k]) + self.move_up)
            while self.next_node(g0, dest) < 0 and g0 != dest:
                if not self.may_open_later():
                    self.state[k] = TURNED_BACK
                    return
                yield self.change
            if g0 != dest:
                first = net.link_of[(g0, self.next_node(g0, dest))]
                v = self.free_speed(cls, first)
                yield from self.enter(first, self.tau + self.spacing(cls) / v)
        free = float(d.veh_service[k]) + self.move_up
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
            lim *= value("traffic.emergency_factor", self.net.scenario.settings)
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
            b = int(net.link_b[link])
            z = net.zone_of.get(b, -1)
            if z >= 0:
                self.approach[link].append([who, env.now + free, v])
            yield env.timeout(free)
            if leader is not None and not leader.triggered:
                yield leader
            gap = self.last_exit[link] + self.tau + self.spacing(cls) / v - env.now
            if gap > 1e-9:
                yield env.timeout(gap)
            if z >= 0:
                yield from self.cross(z, link, who, length, v, env.now > t_in + free + 1e-6)
            if b == dest:
                self.record_edge(link, who, t_in)
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
            self.record_edge(link, who, t_in)
            self.leave(link, mine, who, t_in)
            link = new

    def record_edge(self, link: int, who: int, t_in: float) -> None:
        """The vehicle's time on the lane edge of ``link`` (front at its start to front at its end), for passings."""
        net = self.net
        a, b = int(net.link_a[link]), int(net.link_b[link])
        e = net.lane_edge.get((a, b), -1)
        self.ve.append((e, t_in, self.env.now, 1, who) if e >= 0 else (net.lane_edge[(b, a)], t_in, self.env.now, -1, who))

    def first_seen(self, z: int) -> float:
        """When drivers could first see that the first of the people now on crossing point ``z`` meant to cross
        (inf: nobody is on it)."""
        q = self.on_crossing[z]
        while q and q[0][1] <= self.env.now:
            q.popleft()
        return min((t for t, _ in q), default=math.inf)

    def gives_way(self, who: int, z: int) -> bool:
        """Whether the driver of ``who`` gives way to people at ``z``: with probability ``compliance`` where people have
        priority (marked crossings, shared lanes, signals), never at an unmarked crossing point of a road. Drawn once."""
        key = (who, z)
        if key not in self.decisions:
            net = self.net
            self.decisions[key] = bool(net.zone_priority[z] or net.zone_signal[z]) and bool(self.rng.random() < net.scenario.compliance)
        return self.decisions[key]

    def stopping_time(self, v: float) -> float:
        """Seconds of notice a driver at speed ``v`` (m/s) needs to stop: reaction plus braking at ``traffic.brake_decel``."""
        return self.reaction + v / (2 * self.decel)

    def cross(self, z: int, link: int, who: int, length: float, v: float, held: bool):  # noqa: ANN201
        """A vehicle at crossing point ``z``: the signal, then give way to people on it, then pass.

        A driver gives way (:meth:`gives_way`) only where they can stop: they could see the first person now on
        the crossing mean to cross (walking towards it within ``traffic.ped_intent_distance``, or at its kerb) at
        least :meth:`stopping_time` before reaching it (or had stopped already). One who gives
        way waits until the crossing is clear and moves off ``yield_restart`` s later; after ``yield_patience`` s
        of people still coming they edge through. A driver already standing (queued behind one who gave way, or at
        a red) waits for people in their path whether or not they would have stopped for them. ``held``: the vehicle came to the crossing late (queued behind
        another), so it arrives slowly.
        """
        env, net = self.env, self.net
        stopped = held
        if net.zone_signal[z] and self.rng.random() >= self.driver_red:  # wait for a green long enough to pass
            # a driver stopped at the red moves off the start-up time after the green; the last one through is
            # clear of the crossing a pedestrian's start-up time before the next walk signal
            lo = self.walk + self.clearance(z) + self.restart
            w = self.signal_wait(z, lo, self.cycle - (net.zone_cross_width[z] + length) / v - self.ped_restart)
            if w > 0:
                stopped = True
                yield env.timeout(w)
        give_up = env.now + self.patience
        yielded = False
        while self.ped_until[z] > env.now and env.now < give_up:
            if not stopped and not self.gives_way(who, z):  # standing (queued, or at a red), nobody drives into people
                self.non_yields += 1
                break
            if not stopped and env.now - self.first_seen(z) < self.stopping_time(v):
                self.no_stop += 1  # too close to stop when they stepped on
                break
            stopped = yielded = True
            yield env.timeout(min(self.ped_until[z], give_up) - env.now)
            if env.now < give_up:
                yield env.timeout(self.restart)
        if yielded:
            self.yields += 1
            if self.ped_until[z] > env.now:
                self.forced += 1
        speed = min(v, math.sqrt(2 * self.accel * max(float(net.zone_cross_width[z]), 1.0))) if stopped else v
        t1 = env.now + (net.zone_cross_width[z] + length) / v
        self.veh_until[z] = max(self.veh_until[z], t1)
        q = self.approach[link]
        for i, rec in enumerate(q):
            if rec[0] == who:
                del q[i]
                break
        creep = yielded and self.ped_until[z] > env.now  # edging through people still crossing, at their pace
        self.vl.append((net.place_of_link[link], env.now, t1, who, speed, float(creep)))
        old, self.zone_event[z] = self.zone_event[z], env.event()
        old.succeed()

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
        """One walk: free speed, waiting at the kerb of each crossing point (:meth:`kerb`), then over it."""
        env, net = self.env, self.net
        v = float(self.d.ped_speed[p])
        t_start = env.now
        self.ped_walking += 1
        base, at = env.now, 0.0  # the time the walk was at distance `at` with no waiting ahead
        waited = 0.0
        done = 0
        for mid, z, side in route.zones:
            half = net.zone_width[z] / 2
            kerb = max(at, mid - half)
            done = self._ped_edges(p, route, done, kerb, base, at, v)
            yield env.timeout(max(0.0, base + (kerb - at) / v - env.now))
            t_kerb = env.now
            seen = t_kerb - min(self.intent, kerb - at) / v  # walking towards the kerb, in drivers' sight
            yield from self.kerb(z, v, seen)
            waited += env.now - t_kerb
            t1 = env.now + (mid + half - kerb) / v
            self.ped_until[z] = max(self.ped_until[z], t1)
            self.on_crossing[z].append((seen, t1))
            rec = len(self.pz)
            self.pz.append((z, env.now, t1, p))
            for place in net.zone_places[z].tolist():
                lo, hi = net.lane_band(place, side)
                self.pl.append((place, env.now + lo / v, env.now + hi / v, rec))
            base, at = env.now, kerb
        self._ped_edges(p, route, done, math.inf, base, at, v)
        yield env.timeout(max(0.0, base + (route.length - at) / v - env.now))
        self.ped_walking -= 1
        self.ped_done.append((waited, env.now - t_start))

    def kerb(self, z: int, v: float, seen: float):  # noqa: ANN201
        """A pedestrian (walking at ``v`` m/s, seen by drivers meaning to cross from ``seen``) at the kerb of crossing
        point ``z`` waits until they may step off.

        At a signal they wait for the walk signal (a share ``ped_red_violation`` cross on red at a gap instead).
        Elsewhere they step off at a gap (HCM 2010 ch. 19): when no vehicle will reach the crossing within the
        critical gap ``t_c = W / v + t_s`` (``W`` the road's width, ``t_s`` = ``traffic.ped_start_time``), or when
        every vehicle that would gives way and could stop since it saw them coming (drivers must let people who
        evidently mean to cross a zebra do so: StVO §26(1); UK Highway Code rule 195). They never step in front
        of a vehicle passing.
        """
        env, net = self.env, self.net
        if net.zone_signal[z] and self.rng.random() >= self.ped_red:
            w = self.signal_wait(z, 0.0, self.walk)
            if w > 0:
                yield env.timeout(w)
            while self.veh_until[z] > env.now:
                yield env.timeout(self.veh_until[z] - env.now)
            return
        t_c = float(net.zone_width[z]) / v + self.ped_start
        while True:
            if self.veh_until[z] > env.now:
                yield env.timeout(self.veh_until[z] - env.now)
                continue
            if net.zone_signal[z] and self.signal_wait(z, 0.0, self.walk) == 0.0:
                return  # the walk signal came while they waited
            if not any(self._blocks(z, k, t_c, seen) for k in net.place_link[net.zone_places[z]].tolist()):
                return
            yield self.zone_event[z]

    def _blocks(self, z: int, link: int, t_c: float, seen: float) -> bool:
        """Whether the first vehicle coming along ``link`` keeps a walker with critical gap ``t_c``, seen meaning to
        cross from ``seen``, at the kerb of ``z``."""
        q = self.approach[link]
        if not q:
            return False
        who, eta, v = q[0]
        t = eta - self.env.now
        if t >= t_c:
            return False
        green = self.net.zone_signal[z] and self.signal_wait(z, 0.0, self.walk) > 0.0  # it has a green: no giving way
        stops = (t <= 0 or eta - seen >= self.stopping_time(v)) and not green and self.gives_way(who, z)  # t <= 0: it is standing
        return not stops

    def _ped_edges(self, p: int, route: Route, done: int, upto: float, base: float, at: float, v: float) -> int:
        """Record the lane edges entered before distance ``upto``; return how many of the route's lane edges are recorded."""
        stop = int(np.searchsorted(route.edge_from, upto, side="left")) if np.isfinite(upto) else len(route.edges)
        for i in range(done, stop):
            self.pe.append((int(route.edges[i]), base + (route.edge_from[i] - at) / v, base + (route.edge_to[i] - at) / v,
                            int(route.edge_dir[i]), p))
        return max(done, stop)


def run_layout(net: Network, demand: Demand, rng: np.random.Generator, *, layout: str = AS_IS,
               trace: bool = False) -> TrafficReplication:
    """Run one replication of one layout with the given demand; ``rng`` drives the drivers' choices."""
    r = _Run(net, demand, rng, trace)
    env = r.env
    env.process(r.closures())
    env.process(r.vehicles())
    env.process(r.pedestrians())
    env.run(until=r.end)
    st = net.scenario.settings
    conflicts = find_conflicts(net, np.array(r.pz), np.array(r.pl), np.array(r.vl), pet_threshold=value("traffic.pet_threshold", st),
                               reaction=r.reaction, serious_decel=value("traffic.serious_decel", st), window=r.ped_start)
    width = {c: value(f"traffic.width.{c}", st) for c in VEHICLES}
    trip_width = np.repeat([width[c] for c in demand.veh_class], 2) if demand.veh_class else np.empty(0)
    passings = find_passings(net, np.array(r.pe), np.array(r.ve), trip_width, value("traffic.ped_width", st))
    done = np.array(r.ped_done).reshape(-1, 2)
    arrived_veh = int(np.searchsorted(demand.veh_t, r.end, side="left"))
    queues = {gt: (np.array([t for t, _ in log]), np.array([q for _, q in log])) for gt, log in r.qlog.items()}
    approach = value("traffic.approach_length", net.scenario.settings)
    jam = value("traffic.jam_spacing", net.scenario.settings)
    return TrafficReplication(
        layout=layout, start=net.scenario.start * HOUR, end=r.end, conflicts=conflicts, passings=passings,
        ped_departed=r.ped_departed, ped_entered=int(demand.ped_entering[: r.ped_departed].sum()),
        ped_arrived=len(done), ped_walking=r.ped_walking, ped_no_way=r.ped_no_way,
        ped_delay=done[:, 0], ped_time=done[:, 1],
        veh_arrived=arrived_veh, veh_state=r.state[:arrived_veh].copy(),
        veh_delay=np.array(r.veh_delay), veh_free=np.array(r.veh_free), queues=queues,
        storage={gt: max(1, int(approach // jam)) for gt in net.vgates}, emergency_trips=np.array(r.emergency),
        yields=r.yields, non_yields=r.non_yields, forced=r.forced, no_stop=r.no_stop, on_links=int(sum(r.count)), links=r.trace,
    )


@dataclass
class TrafficModel:
    """A traffic scenario prepared once for the replication runner: the network of every layout, campus included.

    Replication ``index`` takes stream ``index`` of ``SeedSequence(seed).spawn``
    and splits it in two: the first draws the demand, the second the drivers'
    choices. The same demand and the same behaviour stream run on every layout
    (common random numbers), so the layouts differ only by their layout. The
    model pickles, so it runs on local processes or a Dask cluster
    (:func:`scenarios.replicate.replicate`) with results identical to a serial run.
    """

    scenario: Traffic
    nets: dict[str, Network]
    """The network of every layout, by name, in the scenario's order."""

    @classmethod
    def prepare(cls, scenario: Traffic, campus: Campus, *, source: str = "scenario") -> TrafficModel:
        """Build every layout's campus (a variant of ``campus``; files relative to ``source``) and its network.

        Raises
        ------
        ScenarioError
            Naming the key of every id or layout change that does not fit the campus.
        """
        campuses = layout_campuses(scenario, source, campus)
        return cls(scenario, {name: Network(c, scenario, source, name) for name, c in campuses.items()})

    def run(self, index: int, *, trace: bool = False) -> dict[str, TrafficReplication]:
        """Run replication ``index`` on every layout; with ``trace``, each keeps its vehicles' passes per link."""
        seq = np.random.SeedSequence(self.scenario.seed).spawn(index + 1)[index]
        demand_seq, behaviour_seq = seq.spawn(2)
        occupants = next(iter(self.nets.values())).occupants
        demand = draw_demand(self.scenario, occupants, np.random.default_rng(demand_seq))
        return {name: run_layout(net, demand, np.random.default_rng(behaviour_seq), layout=name, trace=trace)
                for name, net in self.nets.items()}


def run(
    scenario: Traffic,
    campus: Campus,
    *,
    source: str = "scenario",
    workers: int | None = None,
    dask: str | None = None,
    progress: Callable[[int], None] | None = None,
) -> TrafficOutcome:
    """Run every replication of every layout of ``scenario`` (the same demand on each layout).

    Parameters
    ----------
    scenario : Traffic
        The scenario.
    campus : Campus
        The scenario's campus, already loaded; layouts are variants of it.
    source : str
        The scenario file: layout files are relative to it, and problems name it.
    workers : int, optional
        Local processes for replications; ``None`` is one per core, 1 runs here.
    dask : str, optional
        Address of a Dask distributed scheduler to run the replications on instead.
    progress : callable, optional
        Called with the number of replications (each on every layout) finished so far.

    Raises
    ------
    ScenarioError
        Naming the key of every id or layout change that does not fit the campus.
    """
    t_start = time.perf_counter()
    model = TrafficModel.prepare(scenario, campus, source=source)
    reps = replicate(model, scenario.replications, workers=workers, dask=dask, progress=progress)
    runs = {name: [r[name] for r in reps] for name in model.nets}
    emergency = {name: net.emergency_times(net.closure_phases()[1][0]) for name, net in model.nets.items()}
    return TrafficOutcome(scenario, source, model.nets, runs, time.perf_counter() - t_start, emergency)

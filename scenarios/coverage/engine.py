"""The coverage engine's SimPy processes: guards at posts and on patrol, incidents, dispatch, shifts.

:class:`CoverageModel` prepares a scenario on a campus once (network, key
areas, ids checked, the layout of posts and patrols); ``model.run(index,
layout=...)`` runs replication ``index``. Inside it a :class:`Dispatch` holds
the state of the one replication (clock, guards, waiting incidents, patrol
passes), and the processes are plain generator functions that receive it:
:func:`guard_process` (one per guard), :func:`arrivals` (the incidents) and
:func:`shift_starts` (a new shift may free guards for waiting incidents). A
dispatch interrupts the guard's process.

Replication ``i`` draws from stream ``i`` of ``numpy.random.SeedSequence(seed)
.spawn``; inside it, incidents and handling times come from one child stream
and patrol orders from another, so two layouts run against the same incidents
(common random numbers).
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import shapely
import simpy

from scenarios.coverage.network import GuardNetwork, best_posts, key_area_nodes, post_problem, response_delay, risk_weights
from scenarios.schema import Coverage
from twin.campus import Campus
from twin.errors import Problem, ScenarioError
from twin.settings import SETTINGS, value

HOURLY_PROFILE = (
    1.2, 1.2, 1.0, 0.8, 0.6, 0.5, 0.5, 0.6, 0.8, 0.9, 1.0, 1.0,
    1.0, 1.0, 1.0, 1.0, 1.1, 1.2, 1.3, 1.4, 1.5, 1.6, 1.5, 1.4,
)
"""Relative incident rate by hour of the day (0-23), mean 1.04: quiet early morning, busiest in the
evening, as campus security logs usually show (modelling choice; give ``incidents.hourly`` to use your own)."""
DUTY_STEP = 60.0
"""Time step (s) at which a guard's time on duty is sampled for their utilisation."""


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
    duty: tuple[int, ...] = ()
    """Per shift, how many of this post's guards are on duty (empty: as the shift's ``posts`` say)."""
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
    shift_staff: list[dict[str, int]] | None = None
    """Per shift of the scenario, guards on duty at each post (posts placed by the optimiser, which the shifts'
    ``posts`` cannot name); ``None``: as the shifts say."""

    def guards(self) -> list[Guard]:
        """One :class:`Guard` per guard of the layout, the guards of one patrol spread evenly around its loop."""
        out: list[Guard] = []
        for pid, node, staff in self.posts:
            duty = tuple(d.get(pid, 0) for d in self.shift_staff) if self.shift_staff is not None else ()
            for r in range(staff):
                out.append(Guard(f"{pid}#{r + 1}", "post", node, pid, r, at=node, staff=staff, duty=duty))
        rank = 0
        for k, (n, stops, rand) in enumerate(self.patrols):
            for r in range(n):
                off = (r * len(stops)) // n
                st = stops[off:] + stops[:off]
                out.append(Guard(f"patrol-{k + 1}#{r + 1}", "patrol", st[0], f"patrol-{k + 1}", rank, st, rand, at=st[0]))
                rank += 1
        return out


class CoverageModel:
    """A coverage scenario prepared on a campus: network, key areas, cameras, layout.

    It pickles (campus included), so :func:`scenarios.replicate.replicate` can
    run its replications in other processes or on a Dask cluster.

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
        self.area_at = {i: a for a, idx in self.nodes.items() for i in idx}
        """Key area of each incident node (patrol passes)."""
        self.risk = risk_weights(campus, scenario)
        self.problem = post_problem(campus, self.net, scenario, self.nodes)
        self._check(source)
        self.scenario_posts = self._scenario_posts()
        self.layout = self._layout()
        self.delay = response_delay(scenario.settings)
        self.tail = value("incident_tail", scenario.settings)

    # ---- ids and layout

    def _check(self, source: str) -> None:
        sc = self.scenario
        f = self.campus.features
        posts = set(self.campus.of_kind("post").index)

        def unknown(fid: str) -> bool:
            return fid not in f.index and fid not in self.net.index

        problems = [Problem(source, f"{p!r} is not a guard post of the campus", field=f"posts[{i}]")
                    for i, p in enumerate(sc.posts or []) if p not in posts]
        problems += [Problem(source, f"{inc.where!r} is not a feature or graph node of the campus",
                             field=f"incidents.given[{i}].where")
                     for i, inc in enumerate(sc.incidents.given or []) if unknown(inc.where)]
        problems += [Problem(source, f"{s!r} is not a feature or graph node of the campus", field=f"patrols[{i}].route[{j}]")
                     for i, p in enumerate(sc.patrols) for j, s in enumerate(p.route) if unknown(s)]
        cats = set(self.campus.of_kind("key_area").get("category", []))
        problems += [Problem(source, f"{k!r} is neither a key area nor a key-area category", field=f"incidents.risk.{k}")
                     for k in sc.incidents.risk if k not in self.nodes and k not in cats and f"risk.{k}" not in SETTINGS]
        problems += [Problem(source, f"{p!r} is not a guard post of the campus", field=f"shifts[{i}].posts.{p}")
                     for i, s in enumerate(sc.shifts) for p in s.posts if p not in posts]
        problems += [Problem(source, f"{p!r} is not a guard post of the campus with a graph node", field=f"pin_posts[{i}]")
                     for i, p in enumerate(sc.pin_posts) if p not in self.problem.labels]
        if sc.optimise_posts and len(sc.pin_posts) > sc.optimise_posts:
            problems.append(Problem(source, f"{len(sc.pin_posts)} posts pinned but only {sc.optimise_posts} placed",
                                    field="pin_posts"))
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

    def staffed(self, chosen: Sequence[int], guards: int, keep: dict[str, int] | None = None) -> list[tuple[str, int, int]]:
        """Posts at candidates ``chosen`` sharing ``guards`` guards.

        Posts in ``keep`` (post id -> guards: pinned posts) have their own guards first; the rest go one at a time in
        turn to the other posts (to all of them when every post is kept), starting with the posts that reach the most
        weight, so one each first when there are enough.
        """
        keep = keep or {}
        cover = self.problem.cover
        labels = [self.problem.labels[j] for j in chosen]
        staff = [0] * len(chosen)
        left = guards
        for i, pid in enumerate(labels):
            staff[i] = min(keep.get(pid, 0), left)
            left -= staff[i]
        reach = [float(self.problem.weights[cover[:, j]].sum()) for j in chosen]
        share = [i for i in range(len(chosen)) if labels[i] not in keep] or list(range(len(chosen)))
        order = sorted(share, key=lambda i: -reach[i])
        for g in range(left if order else 0):
            staff[order[g % len(order)]] += 1
        return [(pid, int(self.problem.candidates[j]), n) for pid, j, n in zip(labels, chosen, staff, strict=True)]

    def shift_totals(self) -> list[int]:
        """Post guards on duty in each shift with the scenario's own posts: what a compared layout has too."""
        return [sum(self._on_shift(s, pid, staff) for pid, _, staff in self.scenario_posts) for s in self.scenario.shifts]

    @staticmethod
    def _on_shift(shift: Any, pid: str, staff: int) -> int:
        return min(shift.posts.get(pid, staff), staff)

    def placed(self, chosen: Sequence[int]) -> Layout:
        """The layout with posts at candidates ``chosen``: the scenario's guards shared among them (pinned posts keep
        their own), in every shift as many on duty as at the scenario's own posts, and the scenario's patrols."""
        own = {pid: staff for pid, _, staff in self.scenario_posts if pid in self.scenario.pin_posts}
        posts = self.staffed(chosen, sum(s for _, _, s in self.scenario_posts), own)
        shifts = [{pid: n for pid, _, n in self.staffed(chosen, total, {p: self._on_shift(s, p, k) for p, k in own.items()})}
                  for s, total in zip(self.scenario.shifts, self.shift_totals(), strict=True)]
        return Layout([p for p in posts if p[2] > 0], self.patrols, shifts if self.scenario.shifts else None)

    def pinned(self) -> list[int]:
        """Candidate indices of the posts the scenario pins (``pin_posts``): every placement keeps them."""
        labels = self.problem.labels
        return [labels.index(p) for p in self.scenario.pin_posts]

    def _layout(self) -> Layout:
        sc = self.scenario
        self.patrols = self._patrols()
        if sc.optimise_posts:
            sol = best_posts(self.problem, sc.optimise_posts, fixed=self.pinned())
            self.optimised = sol
            return self.placed(sol.chosen)
        self.optimised = None
        return Layout(self.scenario_posts, self.patrols)

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
        for i, s in enumerate(shifts):
            inside = s.start <= hour < s.end if s.start <= s.end else (hour >= s.start or hour < s.end)
            if not inside:
                continue
            if g.kind == "post":
                return g.rank < (g.duty[i] if g.duty else s.posts.get(g.group, g.staff))
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

    def utilisation(self, guards: Sequence[Guard], horizon: float) -> dict[str, float]:
        """Busy share of each guard's time on duty up to ``horizon`` (duty sampled every :data:`DUTY_STEP`)."""
        samples = np.arange(0.0, horizon, DUTY_STEP)
        util = {}
        for g in guards:
            duty = sum(1 for t in samples if self.on_duty(g, t)) * DUTY_STEP
            util[g.id] = g.busy_s / duty if duty else 0.0
        return util

    # ---- incidents

    def draw_incidents(self, rng: np.random.Generator) -> list[Incident]:
        """The incidents of one replication (Poisson by hour and key area, or the given list)."""
        if self.scenario.incidents.given is not None:
            return self._given_incidents(rng)
        out = self._poisson_incidents(rng)
        hd = np.maximum(self.scenario.handling.draw(rng, len(out)), 0.0) if out else []
        for inc, h in zip(out, hd, strict=True):
            inc.handling = float(h)
        return out

    def _given_incidents(self, rng: np.random.Generator) -> list[Incident]:
        sc = self.scenario
        out = []
        for inc in sorted(sc.incidents.given or [], key=lambda i: i.at):
            if inc.at > sc.hours * 3600.0:
                continue
            node = self.node_of(inc.where, rng)
            area = inc.where if inc.where in self.nodes else self.area_of(node)
            h = inc.handling if inc.handling is not None else float(max(sc.handling.draw(rng, 1)[0], 0.0))
            out.append(Incident(inc.at, node, area, h))
        return out

    def _poisson_incidents(self, rng: np.random.Generator) -> list[Incident]:
        """Poisson arrivals hour by hour, shared among the key areas by risk, sorted by time (handling not drawn yet)."""
        sc = self.scenario
        prof = np.asarray(sc.incidents.hourly or HOURLY_PROFILE, float)
        prof = prof / prof.mean() if prof.mean() > 0 else prof
        total = sum(self.risk.values())
        out: list[Incident] = []
        if total <= 0:
            return out
        areas = list(self.nodes)
        share = np.array([self.risk[a] / total for a in areas])
        for h in range(math.ceil(sc.hours)):
            span = min(1.0, sc.hours - h)
            hour = int((sc.start_hour + h) % 24)
            counts = rng.poisson(sc.incidents.per_day / 24.0 * prof[hour] * span * share)
            for a, c in zip(areas, counts.tolist(), strict=True):
                for _ in range(c):
                    t = (h + rng.uniform(0, span)) * 3600.0
                    idx = self.nodes[a]
                    out.append(Incident(t, int(idx[int(rng.integers(len(idx)))]), a, 0.0))
        out.sort(key=lambda i: i.t)
        return out

    def area_of(self, node: int) -> str:
        """The key area whose incident nodes hold ``node``, or ``""``."""
        return next((a for a, idx in self.nodes.items() if node in idx), "")

    # ---- one replication

    def run(self, index: int, layout: Layout | None = None) -> CoverageReplication:
        """Run replication ``index`` (of ``layout``, by default the scenario's)."""
        child = np.random.SeedSequence(self.scenario.seed).spawn(index + 1)[index]
        inc_seq, patrol_seq = child.spawn(2)
        incidents = self.draw_incidents(np.random.default_rng(inc_seq))
        horizon = self.scenario.hours * 3600.0
        d = Dispatch(self, (layout or self.layout).guards(), np.random.default_rng(patrol_seq), horizon)
        for g in d.guards:
            g.proc = d.env.process(guard_process(d, g))
        d.env.process(arrivals(d, incidents))
        d.env.process(shift_starts(d, self.shift_changes(horizon + self.tail)))
        d.env.run(until=horizon + self.tail)
        passes = {a: [t for t in ts if t <= horizon] for a, ts in d.passes.items()}
        return CoverageReplication(index, incidents, self.utilisation(d.guards, horizon), passes, d.events + len(incidents))


# --------------------------------------------------------------------------
# One replication: the dispatcher's state and the processes
# --------------------------------------------------------------------------


class Dispatch:
    """The state of one replication: clock, guards, incidents waiting for a guard, patrol passes, event count."""

    def __init__(self, model: CoverageModel, guards: list[Guard], patrol_rng: np.random.Generator, horizon: float) -> None:
        self.model = model
        self.net = model.net
        self.env = simpy.Environment()
        self.guards = guards
        self.rng = patrol_rng
        self.horizon = horizon
        self.waiting: list[Incident] = []
        """Incidents waiting for a guard, first come first served."""
        self.passes: dict[str, list[float]] = defaultdict(list)
        self.events = 0

    def travel(self, g: Guard, target: int) -> float:
        """Running time (s) of guard ``g`` to node ``target`` from where they are now, mid-edge included."""
        net = self.net
        if g.moving is None:
            return float(net.run_time[g.at, target])
        u, v, t0, w = g.moving
        f = min(max((self.env.now - t0) / w, 0.0), 1.0) if w > 0 else 1.0
        e = net.edge_run(u, v)
        return float(min(f * e + net.run_time[u, target], (1 - f) * e + net.run_time[v, target]))

    def dispatch(self) -> None:
        """Send the nearest free guard on duty to each waiting incident, first come first served, while any is free."""
        now = self.env.now
        while self.waiting:
            inc = self.waiting[0]
            free = [g for g in self.guards if not g.busy and self.model.on_duty(g, now)]
            if not free:
                return
            times = [self.travel(g, inc.node) for g in free]
            best = int(np.argmin(times))
            self.waiting.pop(0)
            if not math.isfinite(times[best]):
                continue  # nobody can reach it: left unanswered
            g = free[best]
            g.busy = True
            inc.guard, inc.guard_kind, inc.dispatched = g.id, g.kind, now
            g.proc.interrupt((inc, times[best]))

    def _through(self, start: int, stops: Sequence[int]) -> list[int]:
        """Nodes walked from ``start`` through ``stops`` in turn (quickest paths)."""
        plan: list[int] = []
        cur = start
        for s in stops:
            if s != cur:
                plan += self.net.path(cur, s)[1:]
                cur = s
        return plan

    def next_round(self, g: Guard) -> list[int]:
        """The nodes of a patrol guard's next round (a new random order of the stops when the patrol is randomised)."""
        stops = list(g.stops)
        if g.randomise and len(stops) > 2:
            stops = [stops[i] for i in self.rng.permutation(len(stops))]
        return self._through(g.at, [*stops, stops[0]])

    def back_to_route(self, g: Guard) -> list[int]:
        """The nodes a patrol guard walks after an incident: to the nearest stop, then round the loop from there."""
        nearest = min(g.stops, key=lambda s: self.net.run_time[g.at, s])
        i = g.stops.index(nearest)
        rest = g.stops[i:] + g.stops[:i]
        return self.net.path(g.at, nearest)[1:] + self._through(nearest, [*rest[1:], rest[0]])

    def walk(self, g: Guard) -> Iterator[simpy.Event]:
        """Guard ``g`` walks the next edge of their plan."""
        v = g.plan[0]
        w = self.net.edge_walk(g.at, v)
        g.moving = (g.at, v, self.env.now, w)
        yield self.env.timeout(w)
        self.events += 1
        g.plan.pop(0)
        g.at, g.moving = v, None

    def respond(self, g: Guard, inc: Incident, run_s: float) -> Iterator[simpy.Event]:
        """Guard ``g`` answers ``inc``: dispatch delay, the run, handling; then heads back and may be sent again."""
        env = self.env
        g.moving = None
        g.plan = []
        t0 = env.now
        yield env.timeout(self.model.delay + run_s)
        inc.arrived = env.now
        yield env.timeout(inc.handling)
        self.events += 2
        g.busy_s += min(env.now, self.horizon) - min(t0, self.horizon)
        g.at = inc.node
        g.busy = False
        g.plan = self.net.path(g.at, g.home)[1:] if g.kind == "post" else self.back_to_route(g)
        later = env.timeout(0)  # dispatch from outside this process: it may be the one sent
        later.callbacks.append(lambda _: self.dispatch())


def guard_process(d: Dispatch, g: Guard) -> Iterator[simpy.Event]:
    """One guard: stands at the post or walks the patrol (counting passes of key areas) until dispatched."""
    last_area = d.model.area_at.get(g.at, "")
    while True:
        try:
            if g.kind == "patrol" and not g.plan:
                g.plan = d.next_round(g)
            if g.plan:
                yield from d.walk(g)
                a = d.model.area_at.get(g.at, "")
                if g.kind == "patrol" and a and a != last_area:
                    d.passes[a].append(d.env.now)
                last_area = a
            else:
                yield d.env.event()  # at the post until dispatched
        except simpy.Interrupt as stop:
            yield from d.respond(g, *stop.cause)
            last_area = d.model.area_at.get(g.at, "")


def arrivals(d: Dispatch, incidents: Sequence[Incident]) -> Iterator[simpy.Event]:
    """Incidents happen at their times and wait for a guard."""
    for inc in incidents:
        if inc.t > d.env.now:
            yield d.env.timeout(inc.t - d.env.now)
        d.waiting.append(inc)
        d.dispatch()


def shift_starts(d: Dispatch, times: Sequence[float]) -> Iterator[simpy.Event]:
    """At each shift start, guards coming on duty may take waiting incidents."""
    for t in times:
        if t > d.env.now:
            yield d.env.timeout(t - d.env.now)
        d.dispatch()


__all__ = ["HOURLY_PROFILE", "CoverageModel", "CoverageReplication", "Dispatch", "Guard", "Incident", "Layout", "arrivals",
           "guard_process", "shift_starts"]

"""What an evacuation run adds up to: the ``twin run --json`` summary, the flow lower bound, the recording.

An :class:`Outcome` holds every replication of one scenario and the drill
they ran on (:class:`~scenarios.evacuation.engine.Drill`: the network, and the
engine to run a replication again). Viewers and reports read these types and
never run the engine themselves.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import networkx as nx
import numpy as np

from scenarios.bound import evacuation_lower_bound
from scenarios.evacuation.engine import Drill
from scenarios.evacuation.replication import Replication
from scenarios.evacuation.network import HOP, Network
from scenarios.evacuation.physics import Capacity
from scenarios.schema import Evacuation
from twin.recording import campus_geometry, write_recording

__all__ = ["Drill", "Network", "Outcome", "Replication", "design_estimate", "lower_bound", "record"]
"""Also the types an outcome is made of (``Drill``, ``Network``, ``Replication``), for readers such as ``viz``."""


@dataclass
class Outcome:
    """All replications of one scenario, and what they add up to."""

    scenario: Evacuation
    source: str
    """The scenario file (or a label), for the summary's name and the recording."""
    drill: Drill
    replications: list[Replication]
    wall_s: float
    """Wall time of the whole run (s)."""

    @cached_property
    def lower_bound(self) -> dict[str, Any]:
        """The quickest-flow lower bound on the evacuation time (s), see :func:`lower_bound`; computed once."""
        return lower_bound(self.drill, self.replications)

    @cached_property
    def design_estimate(self) -> dict[str, Any]:
        """The design-capacity hydraulic estimate of the evacuation time (s), see :func:`design_estimate`; computed once."""
        return design_estimate(self.drill, self.replications)

    def fire_summary(self) -> dict[str, Any]:
        """The fire's toll, means over replications: ``exposed`` (any smoke dose), ``incapacitated`` (dose 1, never safe),
        where (space → people) and when (s), and the spaces smoke made untenable (node → s); zeros without a fire."""
        reps, drill = self.replications, self.drill
        n = len(reps)
        where: dict[str, float] = defaultdict(float)
        when = np.concatenate([r.incapacitated_at[~np.isnan(r.incapacitated_at)] for r in reps if r.incapacitated_at is not None]
                              or [np.zeros(0)])
        for r in reps:
            for s in r.incapacitated_in or ():
                if s:
                    where[s] += 1 / n
        doses = np.concatenate([r.dose for r in reps if r.dose is not None] or [np.zeros(0)])
        return {
            "exposed": round(float(np.mean([r.exposed for r in reps])), 1),
            "incapacitated": round(float(np.mean([r.incapacitated for r in reps])), 1),
            "incapacitated_where": {k: round(v, 1) for k, v in sorted(where.items(), key=lambda kv: (-kv[1], kv[0]))},
            "incapacitated_when_s": {"first": round(float(when.min()), 1), "p50": round(float(np.median(when)), 1),
                                     "last": round(float(when.max()), 1)} if len(when) else None,
            "max_dose": round(float(doses.max()), 3) if len(doses) else 0.0,
            "untenable": {drill.names[i]: round(t, 1) for t, i, _ in drill.smoke_closures},
        }

    def summary(self) -> dict[str, Any]:
        """The JSON document of ``twin run --json``."""
        reps = self.replications
        times = np.array([r.evacuation_time for r in reps])
        occ = reps[0].occupants
        by_exit: dict[str, float] = defaultdict(float)
        for r in reps:
            for k, v in r.by_exit.items():
                by_exit[k] += v / len(reps)
        by_building: dict[str, list[float]] = defaultdict(list)
        for r in reps:
            left = defaultdict(float)
            for b, t in zip(r.building_of, r.left_building, strict=True):
                if b and t == t:
                    left[b] = max(left[b], float(t))
            for b, t in left.items():
                by_building[b].append(t)
        worst: dict[str, dict[str, Any]] = {}
        for r in reps:
            for s in r.servers:
                w = worst.setdefault(s["id"], {"id": s["id"], "kind": s["kind"], "max_queue": 0.0, "max_wait_s": 0.0,
                                               "mean_wait_s": 0.0, "passed": 0.0})
                w["max_queue"] = max(w["max_queue"], s["max_queue"])
                w["max_wait_s"] = max(w["max_wait_s"], s["max_wait_s"])
                w["mean_wait_s"] += s["mean_wait_s"] / len(reps)
                w["passed"] += s["passed"] / len(reps)
        bottlenecks = sorted((w for w in worst.values() if w["max_wait_s"] >= 0.1),
                             key=lambda w: (-w["max_wait_s"], -w["max_queue"], w["id"]))[:10]
        for w in bottlenecks:
            w["id"] = self.drill.label(w["id"])
            w["mean_wait_s"] = round(w["mean_wait_s"], 1)
            w["passed"] = round(w["passed"], 1)
        bound = self.lower_bound
        sc = self.scenario
        return {
            "scenario": sc.name or Path(self.source).stem,
            "kind": sc.kind,
            "campus": str(sc.campus),
            "campus_digest": self.drill.campus.digest,
            "seed": sc.seed,
            "replications": len(reps),
            "route": sc.route,
            "occupants": occ,
            "evacuation_time_s": round(float(times.mean()), 1),
            "evacuation_time_stats": {
                "p50": round(float(np.percentile(times, 50)), 1), "p95": round(float(np.percentile(times, 95)), 1),
                "min": round(float(times.min()), 1), "max": round(float(times.max()), 1),
            },
            "safe": round(float(np.mean([len(r.safe_times) for r in reps])), 1),
            "trapped": round(float(np.mean([r.trapped for r in reps])), 1),
            **self.fire_summary(),
            "unfinished": round(float(np.mean([r.unfinished for r in reps])), 1),
            "capacity": sc.capacity,
            "lower_bound_s": bound["seconds"],
            "lower_bound": bound,
            "design_estimate_s": self.design_estimate["seconds"],
            "design_estimate": self.design_estimate,
            "by_exit": {k: round(v, 1) for k, v in sorted(by_exit.items())},
            "by_building": {b: round(float(np.mean(ts)), 1) for b, ts in sorted(by_building.items())},
            "bottlenecks": bottlenecks,
            "blocked": sorted(sc.blocked),
            "fire": sc.fire.model_dump() if sc.fire else None,
            "events_per_replication": round(float(np.mean([r.events for r in reps]))),
            "wall_s": round(self.wall_s, 3),
        }


def lower_bound(net: Network, reps: Sequence[Replication]) -> dict[str, Any]:
    """Quickest-flow lower bound on the evacuation time of the drill on ``net`` (s): no real crowd beats it.

    It is computed on the *measured* capacities (bottleneck flows from
    experiments, clear widths), whatever the scenario's capacity mode, so it
    bounds people, not only this engine. It counts the people who reached
    safety in every replication (the evacuation time is when the last of
    them arrived). Every simplification is a relaxation, so the bound stays
    valid: people move at the fastest free speed drawn in any replication,
    start at the earliest pre-movement time, may use any assembly area, and
    are slowed by nothing but the flow capacities of doors, stairs and paths
    (no density effects, no storage limits, no fire), and everyone may stand
    at a door of their start space (people start at their own places, some
    right by a door). Blocked parts are left out.
    """
    v_max = max((r.max_speed for r in reps), default=1.0)
    pre = min((r.min_premovement for r in reps), default=0.0)
    out = _quickest(net, reps, "measured", v_max, pre, at_doors=True)
    out["label"] = "flow lower bound: measured capacities, fastest free speed, earliest pre-movement"
    return out


def design_estimate(net: Network, reps: Sequence[Replication]) -> dict[str, Any]:
    """The design-capacity hydraulic estimate (s): SFPE capacities, everyone at the mean free speed after the median pre-movement.

    The hand calculation of the SFPE hydraulic model done exactly on the
    network (a quickest flow on the design capacities), as a fire engineer
    would estimate the evacuation time for a code submission. Not a bound:
    it ignores the spread of pre-movement and speeds, density and storage.
    """
    speed = float(np.mean([r.speed.mean() for r in reps])) if reps else net.phys.walk_speed_mean
    pre = float(np.median(np.concatenate([r.premovement for r in reps]))) if reps else 0.0
    out = _quickest(net, reps, "design", speed, pre, at_doors=False)
    out["label"] = "design hydraulic estimate: SFPE capacities, mean free speed, median pre-movement"
    return out


def _quickest(net: Network, reps: Sequence[Replication], capacity: Capacity, speed: float, pre: float, *,
              at_doors: bool) -> dict[str, Any]:
    """Pre-movement ``pre`` s plus the quickest flow of the people safe in every replication, on ``capacity`` capacities at ``speed`` m/s.

    With ``at_doors`` the walk out of a start space costs nothing (a bound: someone may stand by the door);
    without, it is the walk from the space's node (its centroid, about the mean walk).
    """
    rates = net.rates(capacity)
    starts = set(net.start.tolist())
    g = nx.DiGraph()
    blocked = set(net.blocked_nodes)

    def out(i: int) -> Any:
        return (i, "out") if net.node_server[i] >= 0 else i

    for i, s in enumerate(net.node_server):
        if s >= 0 and i not in blocked:
            g.add_edge(i, (i, "out"), transit=0.0, capacity=rates[s])
    for e, (a, b) in enumerate(net.e_ends):
        if a in blocked or b in blocked:
            continue
        s = net.e_server[e]
        cap = rates[s] if s >= 0 else math.inf
        for u, v in ((a, b), (b, a)):
            walk = 0.0 if at_doors and u in starts else (net.edge_cost(e, u, v) - HOP) / speed
            g.add_edge(out(u), v, transit=walk, capacity=cap)
    # Only people who reached safety in every replication: the evacuation time is the last of them,
    # and fewer people never need longer, so the bound stays below every replication's time.
    safe_everywhere = np.logical_and.reduce([~np.isnan(r.safe_at) for r in reps]) if reps else np.ones(len(net.start), bool)
    supply: dict[int, float] = defaultdict(float)
    for i in net.start[safe_everywhere].tolist():
        supply[i] += 1
    sinks = [i for i in net.assembly if i in g]
    reach = set()
    for t in sinks:
        reach |= nx.ancestors(g, t) | {t}
    supply = {i: n for i, n in supply.items() if i in reach}
    base = {"capacity": capacity, "premovement_s": round(pre, 1), "free_speed_m_s": round(speed, 3)}
    if not supply or not sinks:
        return {"seconds": 0.0, "method": "nobody can reach an assembly area", **base}
    res = evacuation_lower_bound(g, supply, sinks)
    return {"seconds": math.floor((pre + res.seconds) * 10) / 10, "method": res.method, "flow_limited_s": round(res.flow_limited_s, 1),
            "transit_limited_s": round(res.transit_limited_s, 1), **base}


def record(outcome: Outcome, path: str | Path, index: int = 0) -> Path:
    """Write replication ``index`` as a recording (``docs/recording.md``).

    A run keeps no moves, so the replication is run again keeping them
    (``Drill.run(index, record=True)``): it draws from its own random stream,
    so it is the very replication of the run, move for move. Costs one
    replication's time.
    """
    drill = outcome.drill
    rep = outcome.replications[index]
    if rep.moves is None:
        rep = drill.run(index, record=True)
    names = drill.names
    starts = drill.start.tolist()
    incap = rep.incapacitated_at if rep.incapacitated_at is not None else np.full(rep.occupants, np.nan)
    status = np.where(~np.isnan(rep.safe_at), "safe", np.where(~np.isnan(rep.trapped_at), "trapped",
                      np.where(~np.isnan(incap), "incapacitated", "unfinished")))
    level = drill.level
    place = rep.place.tolist()
    agents = [
        (a, names[starts[a]], drill.building[starts[a]], float(rep.premovement[a]), float(rep.speed[a]), str(status[a]),
         None if np.isnan(rep.safe_at[a]) else float(rep.safe_at[a]), *place[a], level[starts[a]])
        for a in range(rep.occupants)
    ]
    # a move is on the level of the node it starts from (a flight: its lower or upper landing), outdoors on none
    moves = [(a, st, t0, t1, names[u], names[v], x0, y0, x1, y1, drill.building[u], level[u])
             for a, st, t0, t1, u, v, x0, y0, x1, y1 in rep.moves or []]
    stats = {s["id"]: s for s in rep.servers}
    servers = [(s.id, s.kind, s.rate, stats.get(s.id, {}).get("passed", 0), stats.get(s.id, {}).get("max_queue", 0.0),
                stats.get(s.id, {}).get("max_wait_s", 0.0)) for s in drill.servers]
    events = [(t, why, node, None) for t, node, why in rep.closures]
    meta = {
        "kind": "simulation",
        "scenario": outcome.scenario.model_dump(mode="json"),
        "scenario_file": outcome.source,
        "campus": str(outcome.scenario.campus),
        "campus_digest": drill.campus.digest,
        "crs": drill.campus.crs.to_string(),
        "replication": index,
        "seed": outcome.scenario.seed,
        "evacuation_time_s": rep.evacuation_time,
    }
    graph = drill.graph.copy()  # with the junctions merged paths pass through, so viewers can draw them
    for *_, d in drill.graph.edges(data=True):
        for n in d.get("via") or ():
            if n not in graph:
                graph.add_node(n, **drill.campus.graph.nodes[n])
    return write_recording(path, metadata=meta, graph=graph, geometry=campus_geometry(drill.campus), agents=agents,
                           moves=moves, servers=servers, events=events)

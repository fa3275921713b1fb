"""What a traffic run measured: each replication of each layout, and the figures ``twin run`` prints and reports.

:class:`TrafficReplication` is one replication of one layout;
:class:`TrafficOutcome` holds every layout's replications and their networks,
and :meth:`TrafficOutcome.summary` is the JSON document of ``twin run
--json``. Viewers (``viz.traffic_report``) read only this module.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from scenarios.schema import Traffic
from scenarios.traffic.network import HOUR, Network
from twin.settings import value

__all__ = [
    "AT_BARRIER", "DRIVING", "LEFT", "PARKED", "QUEUED", "STUCK", "TURNED_BACK", "VEHICLE_STATES",
    "Network", "TrafficOutcome", "TrafficReplication", "hot_spots", "hourly_counts", "queue_stats",
]

# vehicle states at the end of a run
QUEUED, AT_BARRIER, DRIVING, PARKED, LEFT, TURNED_BACK, STUCK = range(7)
VEHICLE_STATES = ("queued at the gate", "at the barrier", "driving", "parked", "left", "turned back", "stuck")


@dataclass
class TrafficReplication:
    """What one replication of one layout measured (times in s of the day)."""

    layout: str
    start: float
    end: float
    conflicts: np.ndarray
    """Conflict events (``scenarios.traffic.conflicts.CONFLICT``): t, place, group, pet, tta, speed, serious, ped, peds, veh."""
    passings: np.ndarray
    """Passings on shared lanes and roads (``scenarios.traffic.conflicts.PASSING``): t, group, edge, speed, clearance, ped, veh."""
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
    no_stop: int
    """Drivers who would have given way but were too close to stop when people stepped on."""
    on_links: int = 0
    """Vehicles on the road links at the end (driving, queued on a link, or stuck at a closure)."""
    links: list[list[tuple[int, float, float]]] | None = None
    """With ``trace``: per link, (vehicle, entry time, exit time) in the order the vehicles left it."""


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
        conflicts = [int(r.conflicts["serious"].sum()) for r in reps]
        by_kind: dict[str, float] = defaultdict(float)
        for r in reps:
            serious = r.conflicts[r.conflicts["serious"]]
            for kind, cnt in zip(*np.unique(net.place_kind[serious["place"]].astype(str), return_counts=True), strict=True):
                by_kind[str(kind)] += int(cnt) / n
        hot = [{**{k: v for k, v in h.items() if k != "places"}, "conflicts": round(h["conflicts"] / n, 1),
                "events": round(h["events"] / n, 1), "per_hour": round(h["conflicts"] / n / hours, 2)}
               for h in hot_spots(net, [r.conflicts for r in reps])[:10]]
        lanes = {}
        allp = np.concatenate([r.passings for r in reps]) if reps else np.empty(0)
        for gi in np.unique(allp["group"]).tolist() if len(allp) else []:
            sel = allp[allp["group"] == gi]
            lanes[net.lane_features[gi]] = {"passings": round(len(sel) / n, 1), "per_hour": round(len(sel) / n / hours, 1),
                                            "speed_kmh": round(float(sel["speed"].mean()) * 3.6, 1),
                                            "clearance_min_m": round(float(sel["clearance"].min()), 2)}
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
            "conflict_events": round(_mean([int(np.isfinite(r.conflicts["tta"]).sum()) for r in reps]), 1),
            "pet_events": round(_mean([len(r.conflicts) for r in reps]), 1),
            "passings": round(_mean([len(r.passings) for r in reps]), 1),
            "passings_by_lane": lanes,
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
            "drivers_could_not_stop": round(_mean([r.no_stop for r in reps]), 1),
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
            "pet_threshold_s": value("traffic.pet_threshold", sc.settings),
            "serious_decel_ms2": value("traffic.serious_decel", sc.settings),
            "layouts": {name: {"description": (sc.layouts[name].description if name in sc.layouts else ""),
                               "campus_digest": self.nets[name].campus.digest, **self.layout_summary(name)}
                        for name in self.runs},
            "wall_s": round(self.wall_s, 3),
        }


def hot_spots(net: Network, conflicts: Sequence[np.ndarray]) -> list[dict[str, Any]]:
    """Conflict events summed over runs by crossing point, most serious conflicts first.

    Each entry: ``where`` (feature id), ``name`` (the feature's), ``kind``, ``conflicts`` (serious, total),
    ``events`` (all events, total), ``min_pet_s``, ``min_tta_s`` (None without a collision course), and ``x``,
    ``y`` (metres) and ``places`` (the lane areas' indices, for maps).
    """
    allc = np.concatenate(conflicts) if len(conflicts) else np.empty(0)
    out: list[dict[str, Any]] = []
    if not len(allc):
        return out
    for z in np.unique(allc["group"]).tolist():
        sel = allc[allc["group"] == z]
        name = net.group_name[z]
        x, y = net.xy[net.zone_node[z]]
        label = net.campus.features["name"].get(str(name)) if "name" in net.campus.features else None
        tta = sel["tta"][np.isfinite(sel["tta"])]
        out.append({"where": str(name), "name": label if isinstance(label, str) else "", "kind": str(net.zone_kind[z]),
                    "conflicts": int(sel["serious"].sum()), "events": len(sel),
                    "min_pet_s": round(float(sel["pet"].min()), 2), "min_tta_s": round(float(tta.min()), 2) if len(tta) else None,
                    "x": round(float(x), 1), "y": round(float(y), 1), "places": np.unique(sel["place"]).tolist()})
    return sorted(out, key=lambda h: (-h["conflicts"], -h["events"], h["where"]))


def hourly_counts(times: np.ndarray, start: float, end: float) -> tuple[np.ndarray, np.ndarray]:
    """Counts per clock hour over [start, end): (hour starts in h, counts)."""
    h0, h1 = math.floor(start / HOUR), math.ceil(end / HOUR)
    edges = np.arange(h0, h1 + 1) * HOUR
    counts, _ = np.histogram(times, bins=edges)
    return edges[:-1] / HOUR, counts

"""What the drill report derives from an evacuation outcome, and how it writes numbers.

Shared by the report's map (:mod:`viz.drill_map`) and its page
(:mod:`viz.report`): formatting of counts and times, the people per
building, the last person through each exit, the closures, the fire's toll
per space and the mean curves over replications.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from scenarios.evacuation.outcome import Network, Replication

CURVE_POINTS = 800
"""Samples of the time axis of the mean curves."""


# --------------------------------------------------------------------------
# Formatting
# --------------------------------------------------------------------------


def num(x: float, digits: int = 1) -> str:
    """A number with thousands separators, without decimals when it is whole."""
    x = float(x)
    if not math.isfinite(x):
        return "–"
    if x == round(x):
        return f"{x:,.0f}"
    return f"{x:,.{digits}f}"


def fixed(x: float) -> str:
    """A time for a table column (s): always one decimal, so the column lines up."""
    return f"{float(x):,.1f}"


def seconds(s: float) -> str:
    """Seconds as in the summary (one decimal), e.g. ``245.4 s``."""
    return f"{float(s):,.1f} s"


def clock(s: float) -> str:
    """Seconds as minutes and seconds, e.g. ``4 min 05 s``."""
    m, sec = divmod(round(float(s)), 60)
    return f"{m} min {sec:02d} s" if m else f"{sec} s"


# --------------------------------------------------------------------------
# What the replications add up to
# --------------------------------------------------------------------------


def feature_name(drill: Network, fid: str) -> str:
    """The ``name`` of feature ``fid``, or ``""``."""
    f = drill.campus.features
    if fid in f.index and "name" in f:
        name = f.at[fid, "name"]
        if isinstance(name, str):
            return name
    return ""


def building_occupants(reps: Sequence[Replication]) -> dict[str, float]:
    """People who started in each building, mean per replication (persons)."""
    out: dict[str, float] = {}
    for r in reps:
        ids, counts = np.unique(np.asarray([b for b in r.building_of if b], dtype=object), return_counts=True)
        for b, n in zip(ids.tolist(), counts.tolist(), strict=True):
            out[b] = out.get(b, 0.0) + n / len(reps)
    return out


def exit_last_times(reps: Sequence[Replication]) -> dict[str, float]:
    """When the last person passed each exit, mean over the replications that used it (s)."""
    last: dict[str, list[float]] = {}
    for r in reps:
        for door, times in r.exit_times.items():
            if times:
                last.setdefault(door, []).append(max(times))
    return {door: float(np.mean(ts)) for door, ts in last.items()}


def closures(drill: Network, reps: Sequence[Replication]) -> dict[str, tuple[float, str]]:
    """Closed graph nodes: node → (earliest time closed in any replication (s), why).

    Closures the scenario sets up (blocked parts, the fire and its spread)
    are included even when no replication ran long enough to reach them.
    """
    out: dict[str, tuple[float, str]] = {}
    planned: list[tuple[float, str, str]] = [(0.0, drill.names[i], "blocked") for i in drill.blocked_nodes]
    planned += [(t, drill.names[i], why) for t, i, why in drill.smoke_closures]  # the untenable spaces, each at its own time
    for t, node, why in [c for r in reps for c in r.closures] + planned:
        if node not in out or t < out[node][0]:
            out[node] = (float(t), why)
    return out


def spread(values: Iterable[float]) -> tuple[float, float, float]:
    """Mean, least and most of one figure over the replications (e.g. people incapacitated in each)."""
    v = np.asarray(list(values), dtype=float)
    return (float(v.mean()), float(v.min()), float(v.max())) if len(v) else (0.0, 0.0, 0.0)


def incapacitation_by_space(drill: Network, reps: Sequence[Replication]) -> list[dict[str, Any]]:
    """Where and when people were incapacitated (fire dose 1), the space with most first.

    One row per space (graph node) anyone was incapacitated in: ``node``,
    its feature's ``name``, ``level``, ``kind``, ``smoke_s`` (when smoke
    reached it, s; None if never), ``untenable_s`` (when it closed as
    untenable, s; None if it stayed tenable), ``count`` (people, mean per
    replication, as ``Outcome.summary()["incapacitated_where"]``) and the
    ``first``, ``p50`` and ``last`` times (s) over every replication's
    people there. Empty without a fire.
    """
    times: dict[str, list[float]] = {}
    for r in reps:
        if r.incapacitated_in is None or r.incapacitated_at is None:
            continue
        for node, t in zip(r.incapacitated_in, r.incapacitated_at.tolist(), strict=True):
            if node:
                times.setdefault(node, []).append(t)
    untenable = {drill.names[i]: t for t, i, _ in drill.smoke_closures}
    rows = []
    for node, ts in times.items():
        attrs = drill.graph.nodes[node]
        sp = drill.node_space[drill.index[node]]
        smoke = float(drill.space_smoke_at[sp]) if sp >= 0 and math.isfinite(drill.space_smoke_at[sp]) else None
        rows.append({"node": node, "name": feature_name(drill, attrs.get("feature") or node), "level": attrs.get("level"),
                     "kind": attrs.get("kind") or "", "smoke_s": smoke, "untenable_s": untenable.get(node),
                     "count": len(ts) / len(reps), "first": min(ts), "p50": float(np.median(ts)), "last": max(ts)})
    return sorted(rows, key=lambda row: (-row["count"], row["node"]))


def mean_count(times: Iterable[np.ndarray], grid: np.ndarray) -> np.ndarray:
    """Mean over replications of how many of each replication's times are ``<= grid``."""
    counts = [np.searchsorted(np.sort(t[np.isfinite(t)]), grid, side="right") for t in times]
    return np.mean(counts, axis=0) if counts else np.zeros_like(grid)


def end_time(reps: Sequence[Replication], summary: dict[str, Any]) -> float:
    """The end of the plots' time axis (s): the last arrival, at least the lower bound."""
    last = max((r.evacuation_time for r in reps), default=0.0)
    return max(last, float(summary.get("lower_bound_s") or 0.0), 60.0) * 1.02

"""What the drill report derives from an evacuation outcome, and how it writes numbers.

Shared by the report's map (:mod:`viz.drill_map`) and its page
(:mod:`viz.report`): formatting of counts and times, the people per
building, the last person through each exit, the closures and the mean
curves over replications.
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
    fire = drill.scenario.fire
    if fire is not None:
        origin, near = drill.fire_nodes
        planned += [(fire.start, drill.names[i], "fire") for i in origin]
        planned += [(fire.start + fire.spread_delay, drill.names[i], "fire spread") for i in near]
    for t, node, why in [c for r in reps for c in r.closures] + planned:
        if node not in out or t < out[node][0]:
            out[node] = (float(t), why)
    return out


def mean_count(times: Iterable[np.ndarray], grid: np.ndarray) -> np.ndarray:
    """Mean over replications of how many of each replication's times are ``<= grid``."""
    counts = [np.searchsorted(np.sort(t[np.isfinite(t)]), grid, side="right") for t in times]
    return np.mean(counts, axis=0) if counts else np.zeros_like(grid)


def end_time(reps: Sequence[Replication], summary: dict[str, Any]) -> float:
    """The end of the plots' time axis (s): the last arrival, at least the lower bound."""
    last = max((r.evacuation_time for r in reps), default=0.0)
    return max(last, float(summary.get("lower_bound_s") or 0.0), 60.0) * 1.02

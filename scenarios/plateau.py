"""Flow-limited exits: the stretch of an exit's curve at its steady peak flow, which tells a queue from a crowd.

``twin compare`` (:mod:`scenarios.calibrate`) classifies each exit's observed
curve with :func:`plateau`: an exit that queued discharges at its capacity
(its steady rate gives the door flow), one that never queued passes people as
they arrive (its curve gives the pre-movement).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from twin.settings import default


@dataclass(frozen=True)
class Plateau:
    """The longest unbroken stretch of an exit curve at its peak flow."""

    k0: int
    """First time step of the stretch (index into the steps of the curve)."""
    k1: int
    """Last time step of the stretch (inclusive)."""
    people: float
    """People through in the stretch."""
    share: float
    """Their share of everyone through the exit."""
    rate: float
    """Mean flow in the stretch (persons/s)."""
    flow_limited: bool
    """``share`` at least ``calibrate.plateau_share``: a queue discharging at the exit's capacity."""


def plateau(per_step: np.ndarray, step: float) -> Plateau | None:
    """Find the stretch of steady peak flow in people per time step; ``None`` for an exit nobody used.

    The peak is the highest mean over three consecutive steps (one noisy step
    does not make a peak); the stretch is the longest run of steps each at
    least ``calibrate.plateau_level`` × that peak. The exit is flow-limited
    when the stretch carries ``calibrate.plateau_share`` of its people and
    lasts ``calibrate.plateau_steps`` steps.
    """
    level = default("calibrate.plateau_level")
    share = default("calibrate.plateau_share")
    total = float(per_step.sum())
    if total <= 0:
        return None
    smooth = np.convolve(per_step, np.ones(3) / 3, mode="same") if len(per_step) >= 3 else per_step
    peak = float(smooth.max())
    high = per_step >= level * peak
    best = (0, 0, -1.0)
    k = 0
    while k < len(high):
        if high[k]:
            j = k
            while j + 1 < len(high) and high[j + 1]:
                j += 1
            n = float(per_step[k:j + 1].sum())
            if n > best[2]:
                best = (k, j, n)
            k = j + 1
        else:
            k += 1
    k0, k1, n = best
    # the steps at the ends are cut by the queue's start and end: the rate comes from the steps between
    inner = per_step[k0 + 1:k1] if k1 - k0 >= 2 else per_step[k0:k1 + 1]
    rate = float(inner.mean()) / step
    return Plateau(k0, k1, n, n / total, rate, n / total >= share and k1 - k0 + 1 >= default("calibrate.plateau_steps"))


def per_step(cum: np.ndarray) -> np.ndarray:
    """People per time step from a cumulative curve (people out by the end of each step)."""
    return np.diff(np.concatenate([[0.0], cum]))

"""How well drill data pins a fitted value: a conditional profile of the fit and an approximate 95 % interval.

``twin compare --calibrate`` (:func:`scenarios.calibrate.calibrate`) calls
:func:`profile` with the fit's residuals; see docs/recording.md, Calibration.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any

PROFILE_STEPS = (0.8, 0.95, 1.05, 1.2)
"""Multiples of a fitted value at which :func:`profile` evaluates the fit."""
CHI2_95 = 3.841
"""The 95 % point of chi-square with one degree of freedom: the rise in the scaled residuals that bounds the interval."""


def profile(sse: Callable[[dict[str, float]], float], best: dict[str, float], free: list[str], *,
            points: int) -> dict[str, dict[str, Any]]:
    """How well the data pins each fitted parameter: its profile and an approximate 95 % interval.

    Each parameter in ``free`` is moved to the multiples :data:`PROFILE_STEPS`
    of its fitted value with the others held at theirs, and the sum of
    squared residuals of the people per exit per time step, ``sse``, is
    scaled by the residual variance at the fit (``sse(best) / (points - len(free))``).
    The interval is where that rise stays under :data:`CHI2_95` (the
    least-squares likelihood-ratio interval), interpolated between the
    profile's points; a side where it never rises that far within ±20 % is
    open (``None``): the data does not pin the parameter there. Holding the
    other parameters fixed (a conditional profile) makes the interval narrower
    than a full profile would, and counts in successive steps are not quite
    independent, so read it as how sharply the data pins a value, not as an
    exact coverage.

    Returns
    -------
    dict
        Per parameter: ``ci95`` ([low, high], either None when open), ``profile`` ([[value, rise], …]) and
        ``relative_halfwidth`` (half the interval over the value; None when open).
    """
    s0 = sse(best)
    var = max(s0 / max(1, points - len(free)), 1e-9)
    out: dict[str, dict[str, Any]] = {}
    for name in free:
        rows = [(best[name], 0.0)]
        for m in PROFILE_STEPS:
            rows.append((best[name] * m, (sse({**best, name: best[name] * m}) - s0) / var))
        rows.sort()
        ends: list[float | None] = []
        for side in (-1, 1):
            seq = [r for r in rows if (r[0] - best[name]) * side >= 0]
            seq = seq if side > 0 else seq[::-1]
            end = None
            for (v0, r0), (v1, r1) in itertools.pairwise(seq):
                if r1 >= CHI2_95 > r0:
                    end = v0 + (CHI2_95 - r0) / (r1 - r0) * (v1 - v0)
                    break
            ends.append(end)
        lo, hi = ends
        out[name] = {"ci95": [None if lo is None else round(lo, 4), None if hi is None else round(hi, 4)],
                     "profile": [[round(v, 4), round(r, 2)] for v, r in rows],
                     "relative_halfwidth": None if lo is None or hi is None else round((hi - lo) / 2 / best[name], 4)}
    return out

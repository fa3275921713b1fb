"""Placement optimisation: maximal covering and set covering, solved exactly with HiGHS.

Both problems take a boolean *cover* matrix ``a[i, j]`` (candidate ``j``
reaches demand point ``i``: a guard post within the response standard, a
camera that sees the point) and demand weights ``w[i]``.

* **Maximal covering** (Church & ReVelle 1974): open ``k`` candidates to
  maximise the weight covered. Ties are broken by the weight covered *twice*
  (backup coverage, Hogan & ReVelle 1986): a second post within the standard
  still answers when the nearest guard is busy; remaining ties by the least
  weighted mean response time (p-median, Hakimi 1964). Every stage is an
  exact MILP that keeps the optimum of the stages before it.
* **Set covering** (Toregas et al. 1971): the fewest candidates that cover
  every coverable demand point.

The solver is HiGHS through ``scipy.optimize.milp`` (SciPy ≥ 1.9), a
maintained open-source MILP solver that ships inside SciPy's wheels, so
nothing else is installed. :func:`exhaustive_max_cover` enumerates every
choice and is there to check the solver on small instances.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy.optimize import Bounds, LinearConstraint, milp
from scipy.sparse import csr_array, hstack, identity


@dataclass
class CoverSolution:
    """A chosen set of candidates and what it covers."""

    chosen: list[int]
    """Indices of the chosen candidates, ascending."""
    covered: float
    """Weight covered at least once."""
    backup: float
    """Weight covered at least twice."""
    status: str
    """Solver status (``optimal`` or the solver's message)."""
    method: str = "maximal covering"
    """How the choice was made, as the summary states it."""


def coverage_of(cover: np.ndarray, weights: np.ndarray, chosen: Sequence[int]) -> tuple[float, float]:
    """Weight covered at least once and at least twice by the candidates ``chosen``."""
    w = np.asarray(weights, float)
    n = np.asarray(cover, bool)[:, list(chosen)].sum(axis=1) if len(chosen) else np.zeros(len(w), int)
    return float(w[n >= 1].sum()), float(w[n >= 2].sum())


P_MEDIAN_MAX = 400_000
"""Largest demand × candidate count for which the mean-response (p-median) tie-break is solved."""
TIME_LIMIT = 60.0
"""Seconds HiGHS may spend on one problem; past it the best solution found is used and its status says so."""


def _solve(c: np.ndarray, constraints: list[LinearConstraint], integrality: np.ndarray, ub: np.ndarray) -> tuple[np.ndarray, str]:
    options = {"disp": False, "mip_rel_gap": 0.0, "time_limit": TIME_LIMIT}
    res = milp(c, constraints=constraints, integrality=integrality, bounds=Bounds(np.zeros(len(c)), ub), options=options)
    if res.x is None and res.status in (2, 4):  # HiGHS's presolve can stumble on tiny, fully reducible models
        res = milp(c, constraints=constraints, integrality=integrality, bounds=Bounds(np.zeros(len(c)), ub),
                   options={**options, "presolve": False})
    if res.x is None:
        msg = f"the placement problem has no solution ({res.message})"
        raise ValueError(msg)
    return res.x, "optimal" if res.status == 0 else f"best found ({res.message})"


def max_cover(cover: np.ndarray, weights: np.ndarray, k: int, *, fixed: Sequence[int] = (), backup: bool = True,
              times: np.ndarray | None = None) -> CoverSolution:
    """Choose ``k`` candidates that cover the most demand weight (maximal covering).

    Parameters
    ----------
    cover : (n_demand, n_candidates) bool array
        ``cover[i, j]``: candidate ``j`` covers demand point ``i``.
    weights : (n_demand,) array
        Demand weight of each point (≥ 0).
    k : int
        Candidates to open (at most the number of candidates).
    fixed : sequence of int, keyword-only
        Candidates that must be among the ``k``.
    backup : bool, keyword-only
        Break ties among the best choices by the weight covered twice.
    times : (n_demand, n_candidates) array, keyword-only
        Then break the remaining ties by the least weighted mean time from the
        nearest chosen candidate (the p-median objective).

    Returns
    -------
    CoverSolution
    """
    a = csr_array(np.asarray(cover, bool).astype(float))
    w = np.asarray(weights, float)
    m, n = a.shape
    k = int(min(k, n))
    if k <= 0 or m == 0:
        return CoverSolution(sorted(fixed), *coverage_of(cover, w, list(fixed)), "optimal")
    # variables: y (n, binary), z (m, [0,1]) covered once, u (m, [0,1]) covered twice
    eye = identity(m, format="csr")
    zero_mn = csr_array((m, n))
    rows = [
        LinearConstraint(hstack([-a, eye, eye]), -np.inf, 0),  # z + u <= sum a y
        LinearConstraint(hstack([zero_mn, -eye, eye]), -np.inf, 0),  # u <= z
        LinearConstraint(hstack([csr_array(np.ones((1, n))), csr_array((1, 2 * m))]), k, k),
    ]
    lb_y = np.zeros(n)
    lb_y[list(fixed)] = 1
    if len(fixed):
        rows.append(LinearConstraint(hstack([identity(n, format="csr"), csr_array((n, 2 * m))]), lb_y, np.inf))
    integrality = np.concatenate([np.ones(n), np.zeros(2 * m)])
    ub = np.ones(n + 2 * m)
    ub_u = ub.copy()
    ub_u[n + m:] = 0  # stage 1: no backup variables
    c1 = np.concatenate([np.zeros(n), -w, np.zeros(m)])
    x, status = _solve(c1, rows, integrality, ub_u)
    best, _ = coverage_of(cover, w, [int(j) for j in np.flatnonzero(x[:n] > 0.5)])
    if backup:
        rows2 = [*rows, LinearConstraint(np.concatenate([np.zeros(n), w, np.zeros(m)])[None, :], best - 1e-6 * max(1.0, best), np.inf)]
        c2 = np.concatenate([np.zeros(n), np.zeros(m), -w])
        x, status2 = _solve(c2, rows2, integrality, ub)
        status = status if status != "optimal" else status2
    chosen = sorted(int(j) for j in np.flatnonzero(x[:n] > 0.5))
    covered, twice = coverage_of(cover, w, chosen)
    if times is not None and len(chosen) and m * n > P_MEDIAN_MAX:
        status = f"{status}; mean-response tie-break skipped ({m} x {n} > {P_MEDIAN_MAX:,} assignments)"
    elif times is not None and len(chosen):
        chosen, status3 = _quickest(np.asarray(cover, bool), w, k, np.asarray(times, float), covered, twice if backup else None,
                                    fixed)
        status = status if status != "optimal" else status3
        covered, twice = coverage_of(cover, w, chosen)
    return CoverSolution(chosen, covered, twice, status)


def mean_time(times: np.ndarray, weights: np.ndarray, chosen: Sequence[int]) -> float:
    """Weighted mean over demand points of the time from the nearest chosen candidate (the p-median objective)."""
    w = np.asarray(weights, float)
    if len(chosen) == 0:
        return float("inf") if len(w) else 0.0
    t = np.asarray(times, float)[:, list(chosen)].min(axis=1)
    return float((w * t).sum() / w.sum()) if w.sum() > 0 else 0.0


def _quickest(a: np.ndarray, w: np.ndarray, k: int, times: np.ndarray, covered: float, twice: float | None,
              fixed: Sequence[int]) -> tuple[list[int], str]:
    """Stage 3: among the choices as good on (covered, twice), the one with the least weighted mean time (p-median)."""
    m, n = a.shape
    finite = np.isfinite(times)
    big = (times[finite].max() if finite.any() else 1.0) * 10 + 1
    t = np.where(finite, times, big)
    af = a.astype(float)
    # variables: y (n), z (m), u (m), x (m*n, row-major: x[i, j] at i*n + j)
    nv = n + 2 * m + m * n
    ii, jj = np.meshgrid(np.arange(m), np.arange(n), indexing="ij")
    xcol = n + 2 * m + (ii * n + jj).ravel()
    eye = identity(m, format="csr")
    rows = [
        LinearConstraint(hstack([csr_array(-af), eye, eye, csr_array((m, m * n))]), -np.inf, 0),
        LinearConstraint(hstack([csr_array((m, n)), -eye, eye, csr_array((m, m * n))]), -np.inf, 0),
        LinearConstraint(csr_array((np.ones(n), (np.zeros(n, int), np.arange(n))), shape=(1, nv)), k, k),
        # every demand point is assigned once
        LinearConstraint(csr_array((np.ones(m * n), (ii.ravel(), xcol)), shape=(m, nv)), 1, 1),
        # only to an open candidate: x[i, j] - y[j] <= 0
        LinearConstraint(csr_array((np.concatenate([np.ones(m * n), -np.ones(m * n)]),
                                    (np.tile(np.arange(m * n), 2), np.concatenate([xcol, jj.ravel()]))), shape=(m * n, nv)),
                         -np.inf, 0),
    ]
    wz = np.zeros(nv)
    wz[n:n + m] = w
    rows.append(LinearConstraint(wz[None, :], covered - 1e-6 * max(1.0, covered), np.inf))
    ub = np.ones(nv)
    if twice is not None:
        wu = np.zeros(nv)
        wu[n + m:n + 2 * m] = w
        rows.append(LinearConstraint(wu[None, :], twice - 1e-6 * max(1.0, twice), np.inf))
    else:
        ub[n + m:n + 2 * m] = 0
    if len(fixed):
        lb = np.zeros(n)
        lb[list(fixed)] = 1
        rows.append(LinearConstraint(csr_array((np.ones(n), (np.arange(n), np.arange(n))), shape=(n, nv)), lb, np.inf))
    c = np.zeros(nv)
    c[n + 2 * m:] = (w[:, None] * t).ravel()
    integrality = np.zeros(nv)
    integrality[:n] = 1
    x, status = _solve(c, rows, integrality, ub)
    return sorted(int(j) for j in np.flatnonzero(x[:n] > 0.5)), status


def set_cover(cover: np.ndarray, *, cost: np.ndarray | None = None) -> tuple[CoverSolution, list[int]]:
    """The fewest candidates (least total ``cost``) that cover every coverable demand point (set covering).

    Returns
    -------
    CoverSolution, list of int
        The solution (its ``covered`` is the number of points covered) and the
        demand points no candidate covers, which are left out of the problem.
    """
    a = np.asarray(cover, bool)
    m, n = a.shape
    coverable = a.any(axis=1)
    uncovered = [int(i) for i in np.flatnonzero(~coverable)]
    if not coverable.any():
        return CoverSolution([], 0.0, 0.0, "optimal"), uncovered
    c = np.ones(n) if cost is None else np.asarray(cost, float)
    x, status = _solve(c, [LinearConstraint(csr_array(a[coverable].astype(float)), 1, np.inf)], np.ones(n), np.ones(n))
    chosen = sorted(int(j) for j in np.flatnonzero(x > 0.5))
    once, twice = coverage_of(a, np.ones(m), chosen)
    return CoverSolution(chosen, once, twice, status), uncovered


def exhaustive_max_cover(cover: np.ndarray, weights: np.ndarray, k: int) -> tuple[float, float, list[list[int]]]:
    """Every choice of ``k`` candidates, tried: the best (covered, backup) value and the choices reaching it.

    Only for small instances (it tries C(n, k) choices); the tests use it to
    check :func:`max_cover`.
    """
    n = np.asarray(cover).shape[1]
    best: tuple[float, float] = (-1.0, -1.0)
    argbest: list[list[int]] = []
    for combo in itertools.combinations(range(n), k):
        val = coverage_of(cover, weights, combo)
        key = (round(val[0], 9), round(val[1], 9))
        if key > best:
            best, argbest = key, [list(combo)]
        elif key == best:
            argbest.append(list(combo))
    return best[0], best[1], argbest


def exhaustive_set_cover(cover: np.ndarray) -> int:
    """The size of the smallest set of candidates covering every coverable point, by trying all sizes in turn."""
    a = np.asarray(cover, bool)
    a = a[a.any(axis=1)]
    n = a.shape[1]
    for k in range(n + 1):
        for combo in itertools.combinations(range(n), k):
            if a[:, list(combo)].any(axis=1).all():
                return k
    return n


__all__ = ["CoverSolution", "coverage_of", "exhaustive_max_cover", "exhaustive_set_cover", "max_cover", "mean_time", "set_cover"]

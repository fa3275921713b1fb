"""What a coverage run produced and its summary: response times, patrols, cameras, the recommendations.

:class:`CoverageOutcome` holds every replication (the scenario's layout, the
recommended posts and, when optimised, the scenario's own posts, all against
the same incidents), the camera coverage and the recommended posts and
cameras; :meth:`CoverageOutcome.summary` is the JSON document of ``twin run
--json`` (described in ``docs/coverage.md``).

This module imports no other part of the engine at run time, so reports and
viewers (``viz/coverage_report.py``) read outcomes without importing the
simulation.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from twin.viewshed import density_of, level_name

if TYPE_CHECKING:
    import geopandas as gpd

    from scenarios.coverage.engine import CoverageModel, CoverageReplication, Layout
    from scenarios.coverage.network import PostAdvice, PostProblem
    from scenarios.schema import Coverage
    from twin.viewshed import CameraCoverage

OBJECTIVE = "incident weight reached within the standard; ties: weight reached by two posts, then the least mean response"
"""The placement objective, as the summary states it."""


def _finite(x: float) -> float | None:
    """``x`` rounded to 0.1, or None when it is not finite (JSON has no infinity)."""
    return round(float(x), 1) if math.isfinite(x) else None


def _stats(x: Sequence[float]) -> dict[str, float | None]:
    a = np.asarray(x, float)
    if len(a) == 0:
        return {"mean": None, "p50": None, "p90": None, "p95": None, "max": None}
    return {"mean": round(float(a.mean()), 1), "p50": round(float(np.percentile(a, 50)), 1),
            "p90": round(float(np.percentile(a, 90)), 1), "p95": round(float(np.percentile(a, 95)), 1),
            "max": round(float(a.max()), 1)}


def response_summary(reps: Sequence[CoverageReplication], standard: float, areas: Sequence[str]) -> dict[str, Any]:
    """Response times pooled over replications: overall and per key area, and the share within the standard."""
    allr: list[float] = []
    by: dict[str, list[float]] = defaultdict(list)
    n_by: dict[str, int] = defaultdict(int)
    unanswered = 0
    n = 0
    for r in reps:
        for inc in r.incidents:
            n += 1
            n_by[inc.area] += 1
            if inc.response is None:
                unanswered += 1
                continue
            allr.append(inc.response)
            by[inc.area].append(inc.response)
    within = sum(1 for x in allr if x <= standard) / n if n else None
    per = {}
    for a in areas:
        rs = by.get(a, [])
        per[a] = {"incidents": round(n_by.get(a, 0) / max(len(reps), 1), 2), "response_time_s": _stats(rs),
                  "within_standard": round(sum(1 for x in rs if x <= standard) / n_by[a], 4) if n_by.get(a) else None}
    return {"incidents": round(n / max(len(reps), 1), 2), "unanswered": round(unanswered / max(len(reps), 1), 2),
            "response_time_s": _stats(allr), "within_standard": round(within, 4) if within is not None else None,
            "by_key_area": per}


def posts_summary(problem: PostProblem, advice: PostAdvice) -> dict[str, Any]:
    """The recommended posts beside the current ones, and set covering, as in ``recommended_posts`` of the summary."""
    sol, sc = advice.best, advice.set_cover
    return {
        "k": advice.k,
        "objective": OBJECTIVE,
        "posts": [problem.labels[j] for j in sol.chosen],
        "nodes": [int(problem.candidates[j]) for j in sol.chosen],
        "covered_share": round(sol.covered, 4),
        "backup_share": round(sol.backup, 4),
        "current_covered_share": round(advice.current_covered, 4),
        "current_backup_share": round(advice.current_backup, 4),
        "mean_response_s": _finite(advice.mean_response),
        "current_mean_response_s": _finite(advice.current_mean_response),
        "status": sol.status,
        "method": sol.method,
        "set_cover": {
            "posts_needed": len(sc.chosen),
            "posts": [problem.labels[j] for j in sc.chosen],
            "uncoverable_points": len(advice.uncoverable),
            "status": sc.status,
        },
        "candidates": len(problem.candidates),
        "demand_points": len(problem.demand),
    }


def utilisation_summary(reps: Sequence[CoverageReplication]) -> dict[str, float]:
    """Mean busy share of each guard's time on duty over the replications."""
    util: dict[str, list[float]] = defaultdict(list)
    for r in reps:
        for g, u in r.utilisation.items():
            util[g].append(u)
    return {g: round(float(np.mean(u)), 4) for g, u in util.items()}


def passes_summary(reps: Sequence[CoverageReplication], areas: Sequence[str], hours: float, patrols: bool) -> dict[str, Any]:
    """Patrol passes of each key area: per hour, and the mean longest gap between two (min; None without patrols)."""
    out = {}
    for a in areas:
        counts = [len(r.passes.get(a, [])) for r in reps]
        gaps = []
        for r in reps:
            ts = [0.0, *sorted(r.passes.get(a, [])), hours * 3600.0]
            gaps.append(max(np.diff(ts)) / 60.0)
        out[a] = {"per_hour": round(float(np.mean(counts)) / hours, 3),
                  "longest_gap_min": round(float(np.mean(gaps)), 1) if patrols else None}
    return out


def by_hour(reps: Sequence[CoverageReplication], sc: Coverage) -> list[dict[str, Any]]:
    """Per hour of the day: incidents per replication, the p90 response and the share within the standard."""
    out = []
    for h in range(24):
        rs = [i.response for r in reps for i in r.incidents if int((sc.start_hour + i.t / 3600) % 24) == h]
        ok = [x for x in rs if x is not None]
        out.append({"hour": h, "incidents": round(len(rs) / max(len(reps), 1), 2),
                    "p90_s": round(float(np.percentile(ok, 90)), 1) if ok else None,
                    "within_standard": round(sum(x <= sc.standard for x in ok) / len(rs), 4) if rs else None})
    return out


def cameras_summary(new: gpd.GeoDataFrame) -> list[dict[str, Any]]:
    """The recommended new cameras (position in the campus CRS, heading, field of view, the blind area each newly sees)."""
    return [{"id": str(i), "x": round(r.geometry.x, 1), "y": round(r.geometry.y, 1), "heading": float(r["heading"]),
             "fov": float(r["fov"]), "range": float(r["range"]), "key_area": r["key_area"], "gain_m2": round(float(r["gain_m2"]), 1)}
            for i, r in new.iterrows()]


@dataclass
class CoverageOutcome:
    """All replications of a coverage scenario, the camera coverage and the recommendations."""

    scenario: Coverage
    source: str
    model: CoverageModel
    replications: list[CoverageReplication]
    cameras: CameraCoverage
    advice: PostAdvice
    """Maximal covering with ``k`` posts beside the current posts, and set covering."""
    recommended: Layout
    """The recommended posts, staffed with the layout's guards, and the layout's patrols."""
    new_cameras: gpd.GeoDataFrame
    checked: list[CoverageReplication]
    """The replications re-run with the recommended posts (same incidents)."""
    current: list[CoverageReplication]
    """For an optimised layout: the replications with the scenario's own posts (same incidents); else empty."""
    wall_s: float

    def recommended_posts(self) -> dict[str, Any]:
        """``recommended_posts`` of the summary: the solution, its layout and its simulated response."""
        m = self.model
        net = m.net
        posts = posts_summary(m.problem, self.advice)
        posts["layout"] = [{"id": p, "node": net.names[n], "guards": s, "x": round(float(net.xy[n, 0]), 1),
                            "y": round(float(net.xy[n, 1]), 1), "near": m.near(n)} for p, n, s in self.recommended.posts]
        checked = response_summary(self.checked, self.scenario.standard, list(m.nodes))
        posts["simulated"] = {"response_time_s": checked["response_time_s"], "within_standard": checked["within_standard"]}
        return posts

    def summary(self) -> dict[str, Any]:
        """The JSON document of ``twin run --json`` for a coverage scenario."""
        sc = self.scenario
        m = self.model
        reps = self.replications
        areas = list(m.nodes)
        resp = response_summary(reps, sc.standard, areas)
        util = utilisation_summary(reps)
        out = {
            "scenario": sc.name or Path(self.source).stem,
            "kind": sc.kind,
            "campus": str(sc.campus),
            "campus_digest": m.campus.digest,
            "seed": sc.seed,
            "replications": len(reps),
            "hours": sc.hours,
            "standard_s": sc.standard,
            "posts": [{"id": p, "node": m.net.names[n], "guards": s} for p, n, s in m.layout.posts],
            "patrol_guards": sum(n for n, _, _ in m.layout.patrols),
            "optimised_posts": sc.optimise_posts,
            "incidents": resp["incidents"],
            "unanswered": resp["unanswered"],
            "response_time_s": resp["response_time_s"],
            "within_standard": resp["within_standard"],
            "by_key_area": resp["by_key_area"],
            "by_hour": by_hour(reps, sc),
            "utilisation": util,
            "utilisation_mean": round(float(np.mean(list(util.values()))), 4) if util else 0.0,
            "patrol_passes": passes_summary(reps, areas, sc.hours, bool(m.layout.patrols)),
            "camera_coverage": {a: c.as_dict() for a, c in self.cameras.areas.items()},
            "footway_seen_share": round(self.cameras.footway_share, 4),
            "cameras": int(len(self.cameras.views)),
            "camera_density": {"px_per_m": density_of(None, sc.settings), "level": level_name(density_of(None, sc.settings))},
            "camera_ranges": self.cameras.cameras,
            "recommended_posts": self.recommended_posts(),
            "recommended_cameras": cameras_summary(self.new_cameras),
            "events_per_replication": round(float(np.mean([r.events for r in reps]))) if reps else 0,
            "wall_s": round(self.wall_s, 3),
        }
        if self.current:
            cur = response_summary(self.current, sc.standard, areas)
            out["scenario_posts_simulated"] = {"response_time_s": cur["response_time_s"], "within_standard": cur["within_standard"]}
        return out


__all__ = ["CoverageOutcome", "posts_summary", "response_summary"]

"""Benchmark: the coverage scenario on the demo campus (viewsheds, one simulated day and month, the optimisers).

Run with ``.venv/bin/python benchmarks/bench_coverage.py``. Prints the wall time
of each step (median of a few runs): the viewsheds of all cameras and their
key-area coverage, one replication of 24 h and of 30 days, the guard
network's all-pairs running times, maximal covering for 2 and 11 posts (three
lexicographic stages), set covering, and the camera recommendation. Machines
here are shared and noisy: read medians.
"""

from __future__ import annotations

import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from scenarios.coverage.engine import CoverageModel  # noqa: E402
from scenarios.coverage.network import GuardNetwork, best_posts, recommend_cameras  # noqa: E402
from scenarios.coverage.placement import set_cover  # noqa: E402
from scenarios.schema import load_scenario  # noqa: E402
from twin.viewshed import camera_coverage, camera_viewsheds  # noqa: E402
from twin.campus import load_campus  # noqa: E402

SCENARIO = ROOT / "scenarios" / "demo" / "coverage-11-posts.toml"


def timed(label: str, f: Callable[[], Any], repeats: int = 3) -> Any:
    """Run ``f`` ``repeats`` times and print the median wall time."""
    times, out = [], None
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = f()
        times.append(time.perf_counter() - t0)
    print(f"{label:<52} {statistics.median(times):8.3f} s")
    return out


def main() -> None:
    sc = load_scenario(SCENARIO)
    campus = load_campus(sc.campus)
    n_cam = int((campus.features["kind"] == "camera").sum())
    views = timed(f"viewsheds of {n_cam} cameras", lambda: camera_viewsheds(campus.features))
    cov = timed("key-area coverage, blind spots, footways seen", lambda: camera_coverage(campus.features, views))
    timed("guard network (all-pairs running times)", lambda: GuardNetwork(campus, sc.settings))
    model = CoverageModel(campus, sc)
    rep = timed("one replication, 24 h", lambda: model.run(0))
    print(f"  {len(rep.incidents)} incidents, {rep.events:,} events")
    month = sc.model_copy(update={"hours": 24.0 * 30})
    model30 = CoverageModel(campus, month)
    rep = timed("one replication, 30 days", lambda: model30.run(0), repeats=1)
    print(f"  {len(rep.incidents)} incidents, {rep.events:,} events")
    p = model.problem
    print(f"  posts problem: {len(p.candidates)} candidate sites x {len(p.demand)} incident places")
    timed("maximal covering, k = 2", lambda: best_posts(p, 2), repeats=1)
    timed("maximal covering, k = 11", lambda: best_posts(p, 11), repeats=1)
    timed("set covering", lambda: set_cover(p.cover), repeats=1)
    timed("4 new cameras (candidates, viewsheds, covering)", lambda: recommend_cameras(campus, model.net, sc, cov, 4), repeats=1)


if __name__ == "__main__":
    main()

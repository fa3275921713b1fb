"""Benchmark: the flow lower bound on a campus-sized network (target: under 20 s).

Run with ``make bench``. The network is ``tests.helpers.flow_grid`` at its
default size: a 50 x 100 grid with holes (~5,000 nodes, ~15,000 arcs),
20,000 persons on 3,000 nodes, three assembly areas of six gates each (the
test suite checks the bound's properties on a small one). Prints the median
wall time of a few runs and its ratio to the target. Machines here are shared
and noisy: read the median and the ratio.
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))
sys.path.insert(0, str(ROOT))
from bench_load import _machine  # noqa: E402

from scenarios.bound import evacuation_lower_bound  # noqa: E402
from tests.helpers import flow_grid  # noqa: E402

TARGET_S = 20.0


def main(repeats: int = 3) -> None:
    """Time ``evacuation_lower_bound`` on the campus-sized grid ``repeats`` times."""
    g, supply, sinks = flow_grid()
    print(f"machine: {_machine()}")
    print(f"flow lower bound: grid of {g.number_of_nodes():,} nodes, {g.number_of_edges():,} arcs, "
          f"{sum(supply.values()):,.0f} persons on {len(supply):,} nodes, {len(sinks)} assembly areas")
    walls = []
    for _ in range(repeats):
        t = time.perf_counter()
        r = evacuation_lower_bound(g, supply, sinks)
        walls.append(time.perf_counter() - t)
    med = statistics.median(walls)
    ok = r.seconds >= r.transit_limited_s > 0 and r.seconds >= sum(supply.values()) / (18 * 2.6)
    print(f"  bound {r.seconds:.0f} s simulated time ({r.method}); valid: {'yes' if ok else 'NO'}")
    print(f"  wall: median {med:.2f} s, min {min(walls):.2f} s over {repeats} runs; "
          f"target {TARGET_S:.0f} s: {med / TARGET_S:.2f} x -> {'PASS' if med < TARGET_S else 'FAIL'}")


if __name__ == "__main__":
    main()

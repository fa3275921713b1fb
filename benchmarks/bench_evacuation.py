"""Benchmark: the campus-wide drill at 2k, 5k, 20k and 50k occupants (target: 20,000 under 2 s per replication).

Run with ``make bench``. For each population: wall time of one replication on
one core (median of a few), simulation events per second, peak Python memory
of the run (tracemalloc), and the growth of wall time with occupants (the
exponent of a log-log fit; N log N over this range is about 1.1). The flow
lower bound is timed separately: it is computed once per scenario, not per
replication. Machines here are shared and noisy: read medians and ratios.
"""

from __future__ import annotations

import math
import statistics
import sys
import time
import tracemalloc
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))
from bench_load import _machine  # noqa: E402

from scenarios.evacuation import Drill, lower_bound  # noqa: E402
from scenarios.schema import load_scenario  # noqa: E402
from twin.campus import load_campus  # noqa: E402

SCENARIO = ROOT / "scenarios" / "demo" / "campus-drill.toml"
POPULATIONS = (2_000, 5_000, 20_000, 50_000)
TARGET_S = 2.0


def main(repeats: int = 3) -> None:
    """Time the demo campus drill at each population, for shortest and adaptive routes."""
    base = load_scenario(SCENARIO)
    campus = load_campus(base.campus)
    design = campus.design_occupants
    print(f"machine: {_machine()}")
    print(f"scenario: {SCENARIO.relative_to(ROOT)} on a campus of {design:,} design occupants; one core, {repeats} runs each")
    for route in ("shortest", "adaptive"):
        rows = []
        for n in POPULATIONS:
            sc = base.model_copy(update={"route": route, "occupancy": base.occupancy.model_copy(update={"default": n / design, "buildings": {}})})
            drill = Drill(campus, sc)
            walls, events = [], 0
            for i in range(repeats):
                t = time.perf_counter()
                rep = drill.run(i)
                walls.append(time.perf_counter() - t)
                events = rep.events
            tracemalloc.start()
            drill.run(0)
            peak = tracemalloc.get_traced_memory()[1]
            tracemalloc.stop()
            wall = statistics.median(walls)
            rows.append((len(drill.start), wall, events, peak, rep.evacuation_time))
        print(f"\nroute = {route}")
        print(f"{'occupants':>10} {'wall s':>8} {'events':>9} {'events/s':>10} {'peak MB':>8} {'evac. time s':>13}")
        for n, wall, ev, peak, t in rows:
            print(f"{n:>10,} {wall:>8.3f} {ev:>9,} {ev / wall:>10,.0f} {peak / 2**20:>8.1f} {t:>13.0f}")
        ns = np.array([r[0] for r in rows], dtype=float)
        ws = np.array([r[1] for r in rows])
        slope = np.polyfit(np.log(ns), np.log(ws), 1)[0]
        nlogn = math.log(ns[-1] * math.log(ns[-1]) / (ns[0] * math.log(ns[0]))) / math.log(ns[-1] / ns[0])
        w20 = float(np.interp(20_000, ns, ws))
        print(f"growth: wall ~ N^{slope:.2f} (N log N over this range ~ N^{nlogn:.2f}) -> {'OK' if slope <= nlogn + 0.1 else 'WORSE than N log N'}")
        print(f"20,000 occupants: {w20:.2f} s per replication = {w20 / TARGET_S:.2f} x the {TARGET_S:.0f} s target -> {'MET' if w20 < TARGET_S else 'MISSED'}")
    sc = base.model_copy(update={"occupancy": base.occupancy.model_copy(update={"default": 20_000 / design, "buildings": {}})})
    drill = Drill(campus, sc)
    rep = drill.run(0)
    t = time.perf_counter()
    b = lower_bound(drill, [rep])
    print(f"\nflow lower bound at 20,000 occupants: {b['seconds']:.0f} s simulated-time bound, computed in {time.perf_counter() - t:.2f} s wall ({b['method']})")


if __name__ == "__main__":
    main()

"""Benchmark: a whole day (06:00-23:00) of demo-campus traffic, mixed and separated layouts.

Run with ``.venv/bin/python benchmarks/bench_traffic.py``. Prints the machine,
then the wall time (median of a few runs) of: building each layout (loading
the overrides, the graphs, the conflict areas), drawing one day's demand, one
replication of each layout (the SimPy run and the conflict search), and
``twin run``'s whole scenario (in one process, and a process per core); with
the day's vehicles, walks and conflicts, and the ratio of simulated to wall
time. Machines here are shared and noisy: read medians.
"""

from __future__ import annotations

import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from scenarios.schema import load_scenario  # noqa: E402
from scenarios import traffic  # noqa: E402
from scenarios.traffic.demand import draw_demand  # noqa: E402
from scenarios.traffic.engine import run_layout  # noqa: E402
from scenarios.traffic.network import Network, layout_campuses  # noqa: E402
from twin.campus import load_campus  # noqa: E402

SCENARIO = ROOT / "scenarios" / "demo" / "traffic-day.toml"


def timed(label: str, f: Callable[[], Any], repeats: int = 3) -> tuple[Any, float]:
    """Run ``f`` ``repeats`` times and print the median wall time; return the last result and the median."""
    times, out = [], None
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = f()
        times.append(time.perf_counter() - t0)
    med = statistics.median(times)
    print(f"{label:<58} {med:8.3f} s")
    return out, med


def main() -> None:
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
          f"{platform.system()} {platform.release()}")
    sc = load_scenario(SCENARIO)
    campus = load_campus(sc.campus)
    hours = sc.end - sc.start
    campuses, _ = timed("layouts (overrides applied, campus graphs)", lambda: layout_campuses(sc, str(SCENARIO), campus))
    nets, _ = timed("traffic networks (links, walking graphs, conflict areas)",
                    lambda: {n: Network(c, sc, str(SCENARIO), n) for n, c in campuses.items()})
    first = next(iter(nets.values()))
    d_seq, b_seq = np.random.SeedSequence(sc.seed).spawn(1)[0].spawn(2)
    demand, _ = timed("one day's demand", lambda: draw_demand(sc, first.occupants, np.random.default_rng(d_seq)))
    print(f"  {len(demand.veh_t):,} vehicles, {len(demand.ped_t):,} walks ({int(demand.ped_entering.sum()):,} through the gates)")
    for name, net in nets.items():
        rep, t = timed(f"one replication, {hours:g} h, layout {name}",
                       lambda net=net, name=name: run_layout(net, demand, np.random.default_rng(b_seq), layout=name))
        print(f"  {len(rep.conflicts):,} conflicts; simulated/wall = {hours * 3600 / t:,.0f}x")
    outcome, t = timed(f"twin run: {len(nets)} layouts x {sc.replications} replications, one process", lambda: traffic.run(
        sc, campus, source=str(SCENARIO), workers=1), repeats=1)
    s = outcome.summary()
    for name, lay in s["layouts"].items():
        print(f"  {name}: {lay['conflicts']:,.1f} conflicts ({lay['conflicts_per_hour']:.1f}/h), ped delay {lay['ped_delay_s']:.2f} s, "
              f"veh delay {lay['veh_delay_s']:.2f} s, gate queue max {lay['gate_queue_max']:g}, "
              f"emergency access {lay['emergency_access_s']:.1f} s")
    print(f"  per layout-day: {t / (len(nets) * sc.replications):.2f} s")
    timed(f"twin run: the same, a process per core ({os.cpu_count()} cores)",
          lambda: traffic.run(sc, campus, source=str(SCENARIO)), repeats=1)


if __name__ == "__main__":
    main()

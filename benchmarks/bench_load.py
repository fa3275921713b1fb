"""Benchmark: load the demo campus and build all its graphs (target: under 1 s).

Run with ``make bench``. Prints the machine, then cold and warm wall times
and the ratio to the target. These machines are shared and noisy: read the
median and the ratio, not one run.
"""

from __future__ import annotations

import os
import platform
import statistics
import time
from pathlib import Path

TARGET_S = 1.0
DEMO = Path(__file__).resolve().parent.parent / "maps" / "demo"


def _machine() -> str:
    cpu = platform.processor() or ""
    try:
        cpu = next(line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    return f"{platform.system()} {platform.machine()}, {os.cpu_count()} cores, {cpu}, Python {platform.python_version()}"


def main(repeats: int = 7) -> None:
    """Time ``load_campus`` on the demo campus ``repeats`` times."""
    t0 = time.perf_counter()
    from twin.campus import load_campus  # import cost counted once, separately

    t_import = time.perf_counter() - t0
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        campus = load_campus(DEMO)
        times.append(time.perf_counter() - t)
    med = statistics.median(times)
    s = campus.summary()
    print(f"machine: {_machine()}")
    print(f"demo campus: {s['buildings']} buildings, {s['rooms']} rooms, {s['doors']} doors, "
          f"{s['graph']['nodes']} nodes, {s['graph']['edges']} edges, {s['design_occupants']:,} design occupants")
    print(f"import twin: {t_import:.3f} s (once per process, not part of the target)")
    print(f"load + all graphs: first {times[0]:.3f} s, median {med:.3f} s, min {min(times):.3f} s over {repeats} runs")
    print(f"target {TARGET_S:.1f} s: median is {med / TARGET_S:.2f} x the target -> {'MET' if med < TARGET_S else 'MISSED'}")


if __name__ == "__main__":
    main()

"""Benchmark: the whole verification suite, ``twin verify`` (target: under 30 s).

Run with ``make bench``. Runs every case of ``scenarios/verify.py`` once (its
correctness is checked by the test suite) and prints the wall time, each
case's share and the ratio to the target. Machines here are shared and noisy:
read the ratio, not one run.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))
sys.path.insert(0, str(ROOT))
from bench_load import _machine  # noqa: E402

from scenarios.verify import cases, run_cases  # noqa: E402

TARGET_S = 30.0


def main() -> None:
    """Time the suite as a whole, then each case alone."""
    print(f"machine: {_machine()}")
    t = time.perf_counter()
    results = run_cases()
    wall = time.perf_counter() - t
    passed = sum(c.passed for c in results)
    print(f"verification suite: {len(results)} cases ({passed} pass) in {wall:.2f} s; "
          f"target {TARGET_S:.0f} s: {wall / TARGET_S:.2f} x -> {'PASS' if wall < TARGET_S else 'FAIL'}")
    for name in cases():
        t = time.perf_counter()
        run_cases(names=[name])
        print(f"  {name:<28} {time.perf_counter() - t:6.2f} s")


if __name__ == "__main__":
    main()

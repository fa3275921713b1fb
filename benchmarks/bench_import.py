"""Benchmark: import time of the building-plan importers on the test models (target: the IFC sample under 2 s).

The largest test model is the ArchiCAD sample ``AC20-FZK-Haus.ifc`` (2.5 MB,
read from ``<repo>/../shared/samples``); the IMDF archive and the DXF plans
of ``tests/data`` are timed too. Each import is the whole command: read,
triangulate or parse, place on Earth, check with the campus loader, write.
Run with ``make bench``. These machines are shared and noisy: read the
median and the ratio, not one run.
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path

TARGET_S = 2.0
ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT.parent / "shared" / "samples" / "AC20-FZK-Haus.ifc"
IMDF = ROOT / "tests" / "data" / "imdf" / "lecture-hall"
DXF = ROOT / "tests" / "data" / "dxf"

sys.path.insert(0, str(ROOT / "benchmarks"))
from bench_load import _machine  # noqa: E402


def _time(label: str, job, repeats: int) -> float:  # noqa: ANN001 - a callable writing into a folder
    times = []
    with tempfile.TemporaryDirectory() as tmp:
        for k in range(repeats):
            t = time.perf_counter()
            s = job(Path(tmp) / f"out{k}")
            times.append(time.perf_counter() - t)
    med = statistics.median(times)
    counts = ", ".join(f"{v} {k}" for k, v in s.counts.items())
    print(f"{label}: first {times[0]:.2f} s, median {med:.2f} s, min {min(times):.2f} s over {repeats} runs ({counts})")
    return med


def main(repeats: int = 5) -> None:
    t0 = time.perf_counter()
    from maps.dxf import import_dxf
    from maps.ifc import import_ifc
    from maps.imdf import import_imdf

    print(f"machine: {_machine()}")
    print(f"import the importers: {time.perf_counter() - t0:.2f} s (once per process, not part of the target)")
    if SAMPLE.exists():
        med = _time(f"IFC  {SAMPLE.name} ({SAMPLE.stat().st_size / 1e6:.1f} MB)", lambda out: import_ifc(SAMPLE, out), repeats)
        print(f"target {TARGET_S:.1f} s for the IFC sample: median is {med / TARGET_S:.2f} x the target -> "
              f"{'MET' if med < TARGET_S else 'MISSED'}")
    else:
        print(f"IFC sample not found at {SAMPLE}: skipped (the shared samples folder sits beside the repository)")
    _time(f"IMDF {IMDF.name}", lambda out: import_imdf(IMDF, out), repeats)
    _time("DXF  eng-ground.dxf + eng-first.dxf",
          lambda out: import_dxf([DXF / "eng-ground.dxf", DXF / "eng-first.dxf"], DXF / "eng.toml", out), repeats)


if __name__ == "__main__":
    main()

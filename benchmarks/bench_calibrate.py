"""Benchmark: recorded exercises and calibration (twin exercise, twin replay, twin compare --calibrate).

Run with ``make bench``. Prints:

* how long ``twin exercise`` takes to cut two hours of the demo campus's
  synthetic feed (with a fire alarm) into a 30-minute exercise recording;
* the exercise viewer's frames per second on the demo campus (1280×800,
  ``SDL_VIDEODRIVER=dummy``);
* the calibration of the five-halls drill of ``tests/test_compare.py``
  (pre-movement 45 ± 15 s, ``flow_door`` 1.1, drill seed 7, fitted with seed
  0) at 1, 2 and 4 replications per step: wall time, simulated replications
  and the error of each fitted value.

Machines here are shared and noisy: read the ratios.
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))
sys.path.insert(0, str(ROOT))
from bench_load import _machine  # noqa: E402

import pygame  # noqa: E402

from scenarios.calibrate import actual_exits, calibrate  # noqa: E402
from scenarios.schema import parse_scenario  # noqa: E402
from sensors.sources import synthetic_day  # noqa: E402
from sensors.store import EventStore  # noqa: E402
from tests.helpers import write  # noqa: E402
from tests.test_compare import ALARM, TRUTH, drill_to_store, five_halls  # noqa: E402
from twin.campus import load_campus  # noqa: E402
from sensors.exercise import record_exercise  # noqa: E402
from viz.replay import Replay  # noqa: E402
from viz.replay_app import ReplayApp  # noqa: E402

T0 = 1_772_352_000.0  # 2026-03-01 08:00 UTC
FRAMES = 60


def exercise_on_the_demo(tmp: Path) -> Path:
    """Two hours of the demo's synthetic feed with a fire alarm at 09:00, cut to 08:50-09:20."""
    demo = load_campus(ROOT / "maps" / "demo")
    events = synthetic_day(demo, seed=1, start=T0, duration=7200, interval=30, fire_at=3600)
    store = EventStore(tmp / "events.sqlite", campus_digest=demo.digest, campus_path=str(demo.source))
    store.append(events)
    store.close()
    t = time.perf_counter()
    done = record_exercise(tmp / "events.sqlite", demo, tmp / "exercise.sqlite", t_from=T0 + 3000, t_to=T0 + 4800)
    wall = time.perf_counter() - t
    print(f"twin exercise: {len(events):,} stored events replayed, {done['events']:,} in the window, "
          f"{len(done['buildings'])} buildings counted, {done['alarms']} alarms: {wall:.2f} s")
    return tmp / "exercise.sqlite"


def viewer_fps(path: Path) -> None:
    """Whole exercise frames drawn per second across the recording."""
    rec = Replay(path)
    pygame.font.init()
    app = ReplayApp(rec, size=(1280, 800))
    surface = pygame.Surface((1280, 800))
    times = []
    for k in range(FRAMES):
        t = rec.duration * k / (FRAMES - 1)
        s = time.perf_counter()
        app.draw(surface, rec.at(t))
        times.append(time.perf_counter() - s)
    med = statistics.median(times)
    print(f"exercise viewer (demo campus, {len(rec.occ_buildings)} counted buildings, 1280×800): "
          f"median frame {1000 * med:.1f} ms = {1 / med:.0f} fps")


def calibration(tmp: Path) -> None:
    """The five-halls drill recovered at 1, 2 and 4 replications per fit step."""
    campus_path = write(five_halls(), tmp / "campus.geojson")
    drill_to_store(campus_path, tmp / "halls.sqlite")
    campus = load_campus(campus_path)
    record_exercise(tmp / "halls.sqlite", campus, tmp / "halls-exercise.sqlite", t_from=ALARM - 60, t_to=ALARM + 900)
    actual, _, _ = actual_exits(tmp / "halls-exercise.sqlite", campus)
    plan = parse_scenario({"kind": "evacuation", "campus": str(campus_path), "seed": 0}, "plan")
    print(f"calibration, five halls ({sum(e.people for e in actual.values()):.0f} people), truth: pre-movement "
          f"{TRUTH['mean']:g} ± {TRUTH['sd']:g} s, flow_door {TRUTH['flow_door']:g}; plan 60 ± 30 s, 1.32")
    base = None
    for reps in (1, 2, 4):
        t = time.perf_counter()
        cal = calibrate(actual, plan, campus, replications=reps)
        wall = time.perf_counter() - t
        base = base or wall
        err = [100 * (cal.flow_door / TRUTH["flow_door"] - 1), 100 * (cal.premovement_mean / TRUTH["mean"] - 1),
               100 * (cal.premovement_sd / TRUTH["sd"] - 1)]
        print(f"  {reps} replication(s) per step: {wall:5.1f} s ({wall / base:.1f}× the 1-replication fit), "
              f"{cal.simulations} simulated replications; flow_door {cal.flow_door:.3f} ({err[0]:+.1f} %), "
              f"mean {cal.premovement_mean:.1f} s ({err[1]:+.1f} %), sd {cal.premovement_sd:.1f} s ({err[2]:+.1f} %)")


def main() -> None:
    """Run the three measurements."""
    print(f"machine: {_machine()}")
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        viewer_fps(exercise_on_the_demo(tmp))
        calibration(tmp)


if __name__ == "__main__":
    main()

"""Benchmark: replay frames per second drawing 20,000 people (target: 30 fps or more).

Run with ``make bench``. Records the demo campus drill with 20,000 occupants
(one replication), opens it as the viewer does, then times, over frames spread
across the whole run at 1280×800 with ``SDL_VIDEODRIVER=dummy``:

* ``Recording.at`` — everyone's position and state at time t;
* ``draw_dots`` — the people as dots (numpy writes into the pixel array);
* a whole frame — position query + cached campus background + closures +
  door-queue labels + dots + head counts + clock and counters, as the window
  draws it (without ``display.flip``, which depends on the screen);
* whole frames while **panning** (a 12 px drag every frame) and **zooming**
  (the wheel at the mouse, in then out), where the campus background is
  drawn again every frame, and with **one level's floor plan** shown, zoomed
  to the busiest building with its still-inside chart.

Machines here are shared and noisy: read medians.
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))
from bench_load import _machine  # noqa: E402

import pygame  # noqa: E402

from scenarios.evacuation import record, run  # noqa: E402
from scenarios.schema import load_scenario  # noqa: E402
from twin.campus import load_campus  # noqa: E402
from viz.replay import Replay  # noqa: E402
from viz.replay_app import ReplayApp, draw_dots  # noqa: E402

SCENARIO = ROOT / "scenarios" / "demo" / "campus-drill.toml"
PEOPLE = 20_000
SIZE = (1280, 800)
FRAMES = 120
TARGET_FPS = 30.0


def main() -> None:
    """Record a 20,000-person drill, then time the replay's frames."""
    base = load_scenario(SCENARIO)
    campus = load_campus(base.campus)
    design = campus.design_occupants
    sc = base.model_copy(update={"replications": 1,
                                 "occupancy": base.occupancy.model_copy(update={"default": PEOPLE / design, "buildings": {}})})
    print(f"machine: {_machine()}")
    with tempfile.TemporaryDirectory() as tmp:
        t = time.perf_counter()
        path = record(run(sc, campus, workers=1), Path(tmp) / "recording.sqlite")
        print(f"recorded {SCENARIO.name} at {PEOPLE / design:.3f} × design occupancy in {time.perf_counter() - t:.1f} s")
        t = time.perf_counter()
        rec = Replay(path)
        load = time.perf_counter() - t
        print(f"opened: {rec.n_agents:,} people, {rec.m_t0.size:,} moves, {rec.duration:.0f} s of drill, in {load:.2f} s"
              + (f" ({rec.note})" if rec.note else ""))
        pygame.font.init()
        surface = pygame.Surface(SIZE)
        app = ReplayApp(rec, size=SIZE)
        times = [rec.duration * k / (FRAMES - 1) for k in range(FRAMES)]
        app.draw(surface, rec.at(0.0))  # the campus background is drawn once per view
        at_s, dots_s, frame_s, drawn = [], [], [], []
        for tt in times:
            t0 = time.perf_counter()
            fr = rec.at(tt)
            t1 = time.perf_counter()
            drawn.append(draw_dots(surface, app.view, fr))
            t2 = time.perf_counter()
            app.playback.t = tt
            app.frame = rec.at(tt)
            app.draw(surface)
            t3 = time.perf_counter()
            at_s.append(t1 - t0)
            dots_s.append(t2 - t1)
            frame_s.append(t3 - t2)
        med = statistics.median(frame_s)
        p95 = sorted(frame_s)[int(0.95 * (len(frame_s) - 1))]
        fps = 1.0 / med
        print(f"frames: {FRAMES} across the run at {SIZE[0]}×{SIZE[1]}; people on screen per frame: up to {max(drawn):,}")
        print(f"  Recording.at   median {statistics.median(at_s) * 1e3:6.2f} ms")
        print(f"  draw_dots      median {statistics.median(dots_s) * 1e3:6.2f} ms")
        print(f"  whole frame    median {med * 1e3:6.2f} ms, p95 {p95 * 1e3:6.2f} ms  (static view)")
        print(f"replay: {fps:.0f} frames/s (median), {1 / p95:.0f} at p95; target {TARGET_FPS:.0f}: "
              f"{'met' if fps >= TARGET_FPS else 'NOT met'}")
        app.fit()
        app.view.zoom(3.0)  # most of the campus on screen, the big buildings as dots
        pan = _frames(app, surface, times, lambda k: app.view.pan(12 if (k // 30) % 2 == 0 else -12, 6 if k % 60 < 30 else -6))
        app.fit()
        zoom = _frames(app, surface, times, lambda k: app.view.zoom(1.06 if k % 40 < 20 else 1 / 1.06, at=(SIZE[0] * 0.4, SIZE[1] * 0.6)))
        busiest = max(rec.buildings, key=lambda b: int((rec.agent_building == b).sum()))
        level = min(int(v) for v in rec.node_level[rec.agent_start[rec.agent_building == busiest]])
        floor_app = ReplayApp(rec, size=SIZE, building=busiest, level=level)
        plan = _frames(floor_app, surface, times, lambda k: None)
        for name, ms in (("panning", pan), ("zooming", zoom), (f"{busiest} level {level} plan", plan)):
            m = statistics.median(ms)
            p = sorted(ms)[int(0.95 * (len(ms) - 1))]
            print(f"  whole frame    median {m * 1e3:6.2f} ms, p95 {p * 1e3:6.2f} ms  ({name}; {m / med:.1f} x the static frame; "
                  f"{1 / m:.0f} frames/s: {'met' if 1 / m >= TARGET_FPS else 'NOT met'})")


def _frames(app: ReplayApp, surface: pygame.Surface, times: list[float], move: Callable[[int], None]) -> list[float]:
    """Seconds per whole frame at ``times``, calling ``move(k)`` (a pan or zoom of the view) before frame ``k``."""
    out = []
    for k, tt in enumerate(times):
        t0 = time.perf_counter()
        move(k)
        app.playback.t = tt
        app.frame = app.rec.at(tt)
        app.draw(surface)
        out.append(time.perf_counter() - t0)
    return out


if __name__ == "__main__":
    main()

"""Forecasts off the serving process: the engine runs in clean worker processes (none of the server's files, so never
its store lock; below the server in CPU priority), superseded triggers are dropped, a dead worker is replaced, and the console says "forecast updating"
until the newer fire's forecast is in."""

from __future__ import annotations

import os
import signal
import time

import pytest

from scenarios.forecast import WORKER_NICE, Forecaster, make_forecast
from sensors.ingest import Ingestor
from sensors.store import EventStore
from tests.helpers import tiny, write
from twin.audit import AuditLog
from twin.campus import load_campus
from viz.live.view import Console

T0 = 1_772_352_000.0
"""2026-03-01 08:00 UTC: the events' clock."""


@pytest.fixture(scope="module")
def campus(tmp_path_factory):
    return load_campus(write(tiny(), tmp_path_factory.mktemp("c") / "tiny.geojson"))


@pytest.fixture
def live(campus, tmp_path):
    ing = Ingestor(campus, EventStore(tmp_path / "e.sqlite"))
    forecaster = Forecaster(ing, unmeasured_share=0.2)
    ing.subscribe(forecaster.on_events)
    yield ing, forecaster
    forecaster.stop()
    ing.close()


def fire(ts: float) -> dict:
    return {"sensor_id": "SD-R0a", "ts": ts, "kind": "fire", "state": "fire"}


def stored(ing: Ingestor) -> list[dict]:
    return [r["forecast"] for _, r in ing.store.events() if r["kind"] == "forecast"]


def same(a: dict, b: dict) -> bool:
    """Two forecast documents equal but for their timings."""
    drop = {"compute_s", "cpu_s", "latency_s"}
    return {k: v for k, v in a.items() if k not in drop} == {k: v for k, v in b.items() if k not in drop}


def _opened(pid: int) -> list[str]:
    """What process ``pid`` has open (empty without /proc); a descriptor closed while we read is skipped (a worker
    still starting up opens and closes its imports' files)."""
    if not os.path.isdir("/proc"):
        return []
    out = []
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            out.append(os.readlink(f"/proc/{pid}/fd/{fd}"))
        except FileNotFoundError:
            pass
    return out


def test_the_forecast_runs_in_a_worker_process_and_matches_one_run_in_process(live):
    ing, forecaster = live
    pid = forecaster.worker.process.pid
    assert pid != os.getpid() and forecaster.worker.alive
    # a clean process: none of the server's files, so never the store or its one-writer lock
    assert not [f for f in _opened(pid) if str(ing.store.path.parent) in f]
    ing.submit([{"sensor_id": "CAM1", "ts": T0 - 5, "kind": "count", "count": 4}, fire(T0)])
    assert forecaster.wait(60) and not forecaster.errors
    # below the serving process (the alarm path) in CPU priority
    assert os.getpriority(os.PRIO_PROCESS, pid) == min(19, os.getpriority(os.PRIO_PROCESS, 0) + WORKER_NICE)
    docs = stored(ing)  # each stored as it comes in: the campus forecast first, then the building's
    assert [d["scope"] for d in docs] == ["campus", "building"] and {d["trigger"]["ts"] for d in docs} == {T0}
    with ing.lock:
        here = make_forecast(ing.state, fire(T0), scope="campus", unmeasured_share=0.2)
    assert same(docs[0], here) and here["occupants"] > 0


def test_triggers_superseded_while_one_runs_are_dropped(live):
    ing, forecaster = live
    with ing.lock:  # the forecaster's thread takes the first trigger, then waits for the live state
        forecaster.trigger(fire(T0))
        deadline = time.monotonic() + 10
        while forecaster._pending is not None and time.monotonic() < deadline:
            time.sleep(0.005)
        forecaster.trigger(fire(T0 + 10))
        forecaster.trigger(fire(T0 + 20))  # supersedes T0 + 10 before it started
    assert forecaster.wait(60) and not forecaster.errors
    assert forecaster.dropped == 1 and forecaster.done == 2
    got = [(d["trigger"]["ts"], d["scope"]) for d in stored(ing)]
    assert got == [(T0, "campus"), (T0, "building"), (T0 + 20, "campus"), (T0 + 20, "building")]


def test_a_dead_worker_is_replaced_for_the_next_forecast(live):
    ing, forecaster = live
    old = forecaster.worker.process.pid
    os.kill(old, signal.SIGKILL)
    forecaster.worker.process.join(5)
    forecaster.trigger(fire(T0))
    assert forecaster.wait(60) and not forecaster.errors
    assert forecaster.worker.process.pid != old and len(stored(ing)) == 2


def test_the_console_says_forecast_updating_until_the_newer_fires_forecast_is_in(live):
    ing, forecaster = live
    console = Console(ing, AuditLog(ing.store.path))
    ing.submit([fire(T0)])
    assert forecaster.wait(60)
    assert '"forecast_updating":false' in console.render()
    pid = forecaster.worker.process.pid
    os.kill(pid, signal.SIGSTOP)  # the worker is busy (here: stopped) ...
    try:
        ing.submit([{**fire(T0 + 30), "state": "normal"}])
        ing.submit([fire(T0 + 60)])  # ... when the detector goes into fire again
        assert '"forecast_updating":true' in console.render()  # ingest and the view are not held up
    finally:
        os.kill(pid, signal.SIGCONT)
    assert forecaster.wait(60) and not forecaster.errors
    view = console.render()
    assert '"forecast_updating":false' in view and stored(ing)[-1]["trigger"]["ts"] == T0 + 60


def test_a_detector_repeating_its_fire_asks_for_no_new_forecast(live):
    """A Zigbee detector re-sends ``smoke: true`` with every battery or link report: no news, no forecast;
    the detector going into fire again after it restored is news."""
    ing, forecaster = live
    ing.submit([fire(T0)])
    assert forecaster.wait(60) and not forecaster.errors
    ing.submit([fire(T0 + 5)])
    ing.submit([fire(T0 + 9)])
    assert forecaster.wait(60) and forecaster.done == 1
    ing.submit([{**fire(T0 + 12), "state": "normal"}])
    ing.submit([fire(T0 + 15)])
    assert forecaster.wait(60) and not forecaster.errors and forecaster.done == 2


def _tb1_fire(demo) -> dict:
    """Forecast inputs: TB1 full, its west stair's neighbour room on fire."""
    doc = {"kind": "evacuation", "campus": str(demo.source), "name": "building forecast", "seed": 0, "route": "adaptive",
           "occupancy": {"default": 0.0, "buildings": {"TB1": 1.0}}, "blocked": [],
           "fire": {"origin": "TB1-L2-SD01", "start": 0, "spread_delay": 60}}
    return {"scope": "building", "scenario": doc, "trigger": {"sensor_id": "TB1-L2-SD01", "ts": T0}, "fire_building": "TB1",
            "origin_node": "TB1-L2-R01", "shares": {"TB1": 1.0}, "counted": {}, "assumed": {"TB1": 2248}, "unmeasured": ["TB1"],
            "hazards": [], "faulty_detectors": [], "read_s": 0.0}


def test_the_worker_warm_up_leaves_no_queue_line_for_a_forecast_to_compute(demo):
    """A worker makes every queue line people could form before the first alarm (``warm_up``): a forecast whose
    crowds queue all over a building (TB1 full, on fire) then computes none, and its result is the same."""
    from scenarios.evacuation.network import _kept
    from scenarios.forecast import run_forecast, warm_up

    cold = run_forecast(demo, _tb1_fire(demo))
    _kept.pop(demo, None)  # as a new worker process finds it
    warm_up(demo)
    (lines, grids), = [v for k, v in _kept[demo].items() if k[0] == "queues"]
    made = (len(lines), len(grids))
    assert made[0] > 800 and made[1] > 200  # the demo campus: 845 lines over 293 spaces
    warm = run_forecast(demo, _tb1_fire(demo))
    assert (len(lines), len(grids)) == made
    assert same(cold, warm)


def test_people_the_smoke_overcomes_are_counted_as_unable_to_get_out(demo):
    """TB1 full with its west stair's neighbour room on fire: the forecast's "cannot get out" counts those with no way
    left and those the smoke overcomes on the way (the engine keeps them apart; the operator needs both)."""
    from scenarios.forecast import run_forecast

    fc = run_forecast(demo, _tb1_fire(demo))
    assert fc["incapacitated"] > 0 and fc["trapped"] >= fc["incapacitated"]
    assert fc["trapped_by_building"]["TB1"] == fc["trapped"] == fc["occupants"] - fc["safe"]

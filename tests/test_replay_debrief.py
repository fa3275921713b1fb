"""The debrief replay of a recorded exercise: alarms, operator actions, forecasts on the timeline, counts per floor.

The exercise is tests/test_replay.py's (five halls evacuated, a fire alarm in B1 at 60 s of the recording),
with what a live session stores beside the events: the operator's acknowledge, note and clear in the store's
audit table (written by ``twin.audit.AuditLog``, as the live map does), a forecast event as the twin stores it,
and camera counts in B1.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
from pathlib import Path

import pytest

os.environ.setdefault("SDL_VIDEODRIVER", "dummy")

import pygame  # noqa: E402

import tests.test_replay as base  # noqa: E402
from tests.helpers import open_offline  # noqa: E402
from twin.audit import AuditLog  # noqa: E402
from viz.replay import Replay  # noqa: E402
from viz.replay_app import ReplayApp  # noqa: E402
from viz.replay_debrief import Debrief  # noqa: E402
from viz.replay_exercise import MARKER_RGB  # noqa: E402

exercise_path = base.exercise_path
"""tests/test_replay.py's recorded exercise."""
FORECAST = {"scope": "building", "building": "B1", "evacuation_time_s": 312.4, "building_clearance_s": 250.0, "trapped": 0,
            "bottlenecks": [{"id": "B1-D1", "kind": "door", "max_queue": 41.0}], "counted": 120, "assumed": 0, "compute_s": 0.8}


@pytest.fixture(scope="module")
def debrief_path(exercise_path: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("debrief") / "exercise.sqlite"
    shutil.copy(exercise_path, path)
    rec = Replay(path)
    t0, alarm = rec.meta["t0_epoch"], rec.alarms[0]
    doc = {"id": alarm["id"], "kind": "fire", "priority": 1, "since": t0 + alarm["t0"], "sensor_id": alarm["sensor_id"],
           "building": "B1", "node": alarm["node"]}
    log = AuditLog(path)
    try:
        log.append(user="alice", role="operator", action="ack", alarm=doc, note="wardens confirm; brigade called", ts=t0 + 105.0)
        log.append(user="bob", role="operator", action="note", alarm=doc, note="B1 counted empty", ts=t0 + 400.0)
        log.append(user="alice", role="operator", action="clear", alarm=doc, note=None, ts=t0 + 620.0)
    finally:
        log.close()
    con = sqlite3.connect(path)
    with con:
        event = {"sensor_id": "twin", "ts": t0 + 60.0, "kind": "forecast", "forecast": FORECAST}
        con.execute("INSERT INTO sensor_events VALUES (?, 'twin', 'forecast', NULL, NULL, ?)", (60.0, json.dumps(event)))
        for t, cam, n in ((30.0, "B1-CAM1", 40), (30.0, "B1-CAM2", 25), (200.0, "B1-CAM1", 12), (500.0, "B1-CAM2", 0)):
            con.execute("INSERT INTO sensor_events VALUES (?, ?, 'count', 'B1', 'B1/L0', ?)",
                        (t, cam, json.dumps({"sensor_id": cam, "ts": t0 + t, "kind": "count", "count": n})))
    con.close()
    return path


def test_debrief_reads_actions_forecasts_and_floor_counts(debrief_path: Path, exercise_path: Path) -> None:
    deb = Debrief(Replay(debrief_path))
    assert deb.missing == []
    kinds = [(m.t, m.kind, m.who) for m in deb.markers]
    assert kinds == [(60.0, "alarm", None), (60.8, "forecast", None), (105.0, "ack", "alice"), (400.0, "note", "bob"),
                     (620.0, "clear", "alice")]
    ack = deb.markers[2]
    assert ack.text() == "acknowledged B1-SD1:fire by alice: wardens confirm; brigade called"
    assert deb.forecast_at(60.0) is None and deb.forecast_at(100.0)[0] == pytest.approx(60.8)
    assert "everyone out in 5:12" in deb.markers[1].note and "B1 clear in 4:10" in deb.markers[1].note
    assert deb.next_marker(0.0) == 60.0 and deb.next_marker(105.0) == 400.0 and deb.next_marker(620.0) is None
    assert deb.prev_marker(400.0) == 105.0 and deb.prev_marker(60.0) is None
    assert [m.kind for m in deb.markers_until(400.0, 2)] == ["ack", "note"]
    assert deb.floors_at(10.0) == {} and deb.floors_at(30.0) == {"B1": {0: 65}}
    assert deb.floors_at(250.0) == {"B1": {0: 37}} and deb.floors_at(600.0) == {"B1": {0: 12}}
    # the exercise with no operator and no forecaster: the alarm only; a file from before the operator_actions
    # table says it holds no actions (it cannot know whether any were taken)
    bare = Debrief(Replay(exercise_path))
    assert [m.kind for m in bare.markers] == ["alarm"]
    con = sqlite3.connect(exercise_path)
    has_table = con.execute("SELECT 1 FROM sqlite_master WHERE name = 'operator_actions'").fetchone() is not None
    con.close()
    assert bare.missing == ([] if has_table else ["operator actions (acknowledge, note, clear)"])


def test_window_shows_the_debrief_and_jumps_between_markers(debrief_path: Path) -> None:
    rec = Replay(debrief_path)
    viewer = ReplayApp(rec, size=(1100, 700))
    key = lambda k: pygame.event.Event(pygame.KEYDOWN, key=k, unicode="", mod=0, scancode=0)  # noqa: E731
    for want in (60.0, 60.8, 105.0):
        viewer.handle(key(pygame.K_RIGHTBRACKET))
        assert viewer.playback.t == pytest.approx(want) and viewer.playback.paused
    viewer.handle(key(pygame.K_LEFTBRACKET))
    assert viewer.playback.t == pytest.approx(60.8)
    viewer.playback.t = 106.0
    viewer.selected = "B1"
    surface = pygame.Surface((1100, 700))
    viewer.draw(surface, rec.at(106.0))
    pix = pygame.surfarray.array3d(surface)
    bar = pix[8:1092, 700 - 19]  # just above the timeline: the marker ticks reach there
    for kind in ("alarm", "forecast", "ack", "note", "clear"):
        assert (bar == MARKER_RGB[kind]).all(axis=1).any(), kind
    forecast_box = pix[1100 - 470 - 8:1100 - 8, 8:12]
    assert (forecast_box == MARKER_RGB["forecast"]).all(axis=2).any()  # the forecast of that moment, framed in blue
    # a click on the bar jumps there
    for kind_ in (pygame.MOUSEBUTTONDOWN, pygame.MOUSEBUTTONUP):
        viewer.handle(pygame.event.Event(kind_, button=1, pos=(8 + (1100 - 16) // 2, 700 - 12)))
    assert viewer.playback.t == pytest.approx(rec.duration / 2, abs=1.0)


@pytest.mark.browser
def test_html_debrief_markers_log_and_forecast(browser: object, debrief_path: Path, tmp_path: Path) -> None:
    from viz.replay_html import write_replay_html

    page = write_replay_html(Replay(debrief_path), tmp_path / "debrief.html")
    seen = open_offline(browser, page, width=1366, height=768)
    tab = seen.page
    tab.wait_for_function("window.ctReplay !== undefined")
    assert tab.locator(".ct-marker").count() == 5
    tab.locator(".ct-marker[data-kind=ack]").click()
    assert tab.evaluate("window.ctReplay.clock.t") == 105
    assert "forecast made" in tab.text_content("#ct-forecast") and "everyone out in 5:12" in tab.text_content("#ct-forecast")
    log = tab.text_content("#ct-log")
    assert "acknowledged B1-SD1:fire by alice: wardens confirm; brigade called" in log and "bob" not in log
    tab.keyboard.press("]")
    assert tab.evaluate("window.ctReplay.clock.t") == 400 and "B1 counted empty" in tab.text_content("#ct-log")
    tab.keyboard.press("[")
    assert tab.evaluate("window.ctReplay.clock.t") == 105
    tab.evaluate("window.ctReplay.show(250)")
    assert tab.evaluate("window.ctReplay.floors('B1')") == {"0": 37}
    assert not seen.errors and not seen.remote
    tab.close()

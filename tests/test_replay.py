"""Replay: where everyone is at time t, the clock, the viewer driven by pygame events, export, PedPy; recorded exercises and their debrief."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
os.environ.setdefault("SDL_AUDIODRIVER", "dummy")

import pygame  # noqa: E402

from scenarios.evacuation import record, run  # noqa: E402
from scenarios.schema import parse_scenario  # noqa: E402
from tests.helpers import TINY, X0, Y0, newer_recording, open_offline, tiny, write  # noqa: E402
from twin.audit import AuditLog  # noqa: E402
from twin.campus import load_campus  # noqa: E402
from twin.cli import app  # noqa: E402
from viz.replay import QUEUED, SAFE, SPEEDS, STATE_NAMES, TRAPPED, WAITING, WALKING, Playback, Replay, View, write_pedpy  # noqa: E402
from viz.replay_app import STATE_COLOURS, ReplayApp, export_frames  # noqa: E402
from viz.replay_debrief import Debrief  # noqa: E402
from viz.replay_exercise import MARKER_RGB  # noqa: E402

runner = CliRunner()


@pytest.fixture(scope="module")
def rec_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tiny example: a blocked door (its room's people are trapped) and a fire upstairs."""
    sc = parse_scenario({"kind": "evacuation", "campus": str(TINY), "seed": 1, "replications": 1,
                         "blocked": ["D0b"], "fire": {"origin": "R1c", "start": 30, "spread_delay": 60}}, "x")
    return record(run(sc, load_campus(TINY), workers=1), tmp_path_factory.mktemp("rec") / "recording.sqlite")


@pytest.fixture(scope="module")
def rec(rec_path: Path) -> Replay:
    return Replay(rec_path)


def test_everyone_at_start_then_safe_or_trapped(rec: Replay) -> None:
    start = rec.at(0.0)
    assert (start.state == WAITING).all()
    # waiting people stand around their start room's node
    d = np.hypot(start.x - rec.node_xy[rec.agent_start, 0], start.y - rec.node_xy[rec.agent_start, 1])
    assert d.max() < 10
    end = rec.at(rec.duration)
    c = end.counts()
    assert c["safe"] + c["trapped"] + c["incapacitated"] == c["total"] == rec.n_agents == 130
    # the trapped (every way out closed) and the incapacitated (overcome by the fire's smoke) end where they stopped,
    # each shown as what they are
    assert c["trapped"] == int((rec.outcome == "trapped").sum()) > 0
    assert c["incapacitated"] == int((rec.outcome == "incapacitated").sum()) > 0
    assert c["safe"] == int((rec.outcome == "safe").sum())
    for t in np.linspace(0, rec.duration, 17):
        cc = rec.at(t).counts()
        assert sum(cc[s] for s in STATE_NAMES) == 130  # nobody lost
        assert cc["inside"] + cc["outside"] + cc["safe"] + cc["trapped"] + cc["incapacitated"] == 130


def test_a_walk_is_linear_along_its_edge(rec: Replay) -> None:
    walks = np.flatnonzero((rec.m_state == WALKING) & (rec.m_t1 - rec.m_t0 > 0.5) & (rec.m_u != rec.m_v))
    for k in walks[:20]:
        a = rec.m_agent[k]
        t = (rec.m_t0[k] + rec.m_t1[k]) / 2
        fr = rec.at(t)
        mid = (rec.node_xy[rec.m_u[k]] + rec.node_xy[rec.m_v[k]]) / 2
        if len(rec._poly_xy) and rec._poly_start[rec.m_poly[k] + 1] - rec._poly_start[rec.m_poly[k]] == 2:
            assert fr.state[a] == WALKING
            assert np.allclose([fr.x[a], fr.y[a]], mid, atol=1e-6)


def test_queues_and_closures(rec: Replay) -> None:
    busiest = max(np.linspace(0, rec.duration, 200), key=lambda t: rec.at(t).queues.sum())
    fr = rec.at(busiest)
    assert fr.queues.sum() == np.count_nonzero(fr.state == QUEUED) > 0
    assert rec.closures_at(0.0) == [(0.0, "blocked", "D0b")]
    # the fire spreads ring by ring: the corridor after one spread delay, the rooms and stair landing off it after two
    assert [c[:2] for c in rec.closures_at(rec.duration)] == [(0.0, "blocked"), (30.0, "fire"), (90.0, "fire spread"),
                                                               (150.0, "fire spread"), (150.0, "fire spread"), (150.0, "fire spread")]
    assert [c[2] for c in rec.closures_at(rec.duration)] == ["D0b", "R1c", "C1", "R1a", "R1b", "S1@1"]


def test_building_numbers(rec: Replay) -> None:
    n = rec.building_numbers("B1", rec.at(rec.duration))
    assert n["occupants"] == 130 and n["trapped"] + n["incapacitated"] == 6 and n["safe"] == 124 and n["left"] == 124
    assert n["trapped"] == 2 and n["inside_now"] == 6
    assert n["clearance_s"] is not None and 0 < n["clearance_s"] < rec.duration


def test_playback_clock() -> None:
    pb = Playback(100.0)
    assert pb.tick(2.0) == 2.0
    pb.faster()
    pb.faster()
    assert pb.speed == 4.0 and pb.tick(1.0) == 6.0
    for _ in range(20):
        pb.faster()
    assert pb.speed == SPEEDS[-1] == 64
    for _ in range(20):
        pb.slower()
    assert pb.speed == SPEEDS[0] == 0.25
    pb.seek(-50)
    assert pb.t == 0.0
    pb.end()
    assert pb.t == 100.0
    pb.tick(1.0)
    assert pb.paused and pb.t == 100.0
    pb.toggle()  # play at the end starts again
    assert not pb.paused and pb.t == 0.0
    with pytest.raises(ValueError, match="speed 3"):
        Playback(10.0, speed=3.0)


def test_view_zoom_keeps_the_point_under_the_mouse() -> None:
    v = View((800, 600))
    v.fit((0, 0, 100, 50))
    before = v.to_world(200, 150)
    v.zoom(2.0, at=(200, 150))
    assert np.allclose(v.to_world(200, 150), before)
    v.pan(10, 0)
    assert np.allclose(v.to_world(210, 150), before)
    v.levels = [0, 1]
    seen = []
    for _ in range(4):
        v.next_level()
        seen.append(v.level)
    assert seen == [0, 1, None, 0]


def _key(key: int, char: str = "") -> pygame.event.Event:
    return pygame.event.Event(pygame.KEYDOWN, key=key, unicode=char, mod=0, scancode=0)


def test_viewer_driven_by_pygame_events(rec: Replay) -> None:
    pygame.display.init()
    try:
        screen = pygame.display.set_mode((640, 400))
        viewer = ReplayApp(rec, size=(640, 400))
        pb = viewer.playback
        assert pb.t == 0 and pb.speed == 1.0 and not pb.paused
        viewer.step(1.0)
        assert pb.t == pytest.approx(1.0)

        pygame.event.post(_key(pygame.K_SPACE, " "))  # pause
        viewer.step(5.0)
        assert pb.paused and pb.t == pytest.approx(1.0)

        for _ in range(3):
            pygame.event.post(_key(pygame.K_RIGHT))  # seek +30 s
        pygame.event.post(_key(pygame.K_LEFT))  # -10 s
        fr = viewer.step(5.0)
        assert pb.t == pytest.approx(21.0) and fr.t == pytest.approx(21.0)

        pygame.event.post(_key(pygame.K_UP))
        pygame.event.post(_key(pygame.K_UP))  # ×4
        pygame.event.post(_key(pygame.K_SPACE, " "))  # play
        fr = viewer.step(0.5)
        assert pb.speed == 4.0 and not pb.paused and pb.t == pytest.approx(23.0)
        assert fr.counts() == rec.at(23.0).counts()

        pygame.event.post(_key(pygame.K_DOWN))  # ×2
        pygame.event.post(_key(pygame.K_END))
        fr = viewer.step(0.1)
        assert pb.speed == 2.0 and pb.t == rec.duration and pb.paused
        assert fr.counts()["safe"] + fr.counts()["trapped"] + fr.counts()["incapacitated"] == rec.n_agents
        pygame.event.post(_key(pygame.K_HOME))
        viewer.step(0.0)
        assert pb.t == 0.0

        pygame.event.post(_key(pygame.K_SLASH, "?"))
        pygame.event.post(_key(pygame.K_l, "l"))
        viewer.step(0.0)
        assert viewer.show_help and viewer.view.level == 0

        # zoom with the wheel, pan by dragging, click the building
        scale = viewer.view.scale
        pygame.event.post(pygame.event.Event(pygame.MOUSEWHEEL, x=0, y=2, flipped=False))
        viewer.step(0.0)
        assert viewer.view.scale == pytest.approx(scale * 1.44)
        viewer.view.fit(rec.bounds())
        cx = viewer.view.cx
        pygame.event.post(pygame.event.Event(pygame.MOUSEBUTTONDOWN, button=1, pos=(300, 200)))
        pygame.event.post(pygame.event.Event(pygame.MOUSEMOTION, pos=(340, 200), rel=(40, 0), buttons=(1, 0, 0)))
        pygame.event.post(pygame.event.Event(pygame.MOUSEBUTTONUP, button=1, pos=(340, 200)))
        viewer.step(0.0)
        assert viewer.view.cx == pytest.approx(cx - 40 / viewer.view.scale) and viewer.selected is None
        viewer.view.fit(rec.bounds())
        bx, by = viewer.view.to_screen(500010.0, 3377005.0)  # inside B1
        pygame.event.post(pygame.event.Event(pygame.MOUSEBUTTONDOWN, button=1, pos=(int(bx), int(by))))
        pygame.event.post(pygame.event.Event(pygame.MOUSEBUTTONUP, button=1, pos=(int(bx), int(by))))
        viewer.step(0.0)
        assert viewer.selected == "B1"

        pygame.event.post(_key(pygame.K_ESCAPE))  # closes the help first
        pygame.event.post(_key(pygame.K_ESCAPE))
        viewer.step(0.0)
        assert not viewer.show_help and not viewer.running

        viewer.playback.end()
        viewer.view.level = None
        viewer.draw(screen, rec.at(rec.duration))
        px = pygame.surfarray.array3d(screen).reshape(-1, 3)
        assert (px == STATE_COLOURS[SAFE]).all(axis=1).any()
        assert (px == STATE_COLOURS[TRAPPED]).all(axis=1).any()
    finally:
        pygame.display.quit()


def test_export_frames_and_gif(rec: Replay, tmp_path: Path) -> None:
    done = export_frames(rec, tmp_path, fps=5, speed=40, t_from=10, t_to=60, size=(320, 200))
    assert done["times"][0] == 10 and done["times"][-1] == 60 and len(done["frames"]) == 8
    assert all(p.exists() for p in done["frames"])
    from PIL import Image

    with Image.open(done["gif"]) as gif:
        assert gif.n_frames == 8
    with pytest.raises(ValueError, match="after"):
        export_frames(rec, tmp_path, t_from=50, t_to=10)


def test_the_recording_is_all_a_viewer_reads(tmp_path: Path) -> None:
    """Outlines, levels and their rooms come from the recording's geometry table: the campus file can be gone."""
    import shapely

    campus = write(tiny(), tmp_path / "campus.geojson")
    sc = parse_scenario({"kind": "evacuation", "campus": str(campus), "seed": 1, "replications": 1}, "x")
    path = record(run(sc, load_campus(campus), workers=1), tmp_path / "run" / "recording.sqlite")
    campus.unlink()
    rec = Replay(path)
    assert rec.version == 4 and rec.note is None
    assert [(o["kind"], o["id"]) for o in rec.outlines] == [("building", "B1"), ("assembly", "A1")]
    assert shapely.Polygon(rec.outlines[0]["xy"]).equals(shapely.box(X0, Y0, X0 + 20, Y0 + 10))
    assert [(s.id, s.level) for s in rec.shapes if s.kind == "level"] == [("B1/L0", 0), ("B1/L1", 1)]
    assert {s.id for s in rec.shapes if s.level == 1 and s.kind != "level"} == {"C1", "R1a", "R1b", "R1c", "S1"}
    assert rec.walkable(level=1).area == pytest.approx(200.0) and rec.walkable().area == pytest.approx(200.0)
    viewer = ReplayApp(rec, size=(640, 400))
    assert viewer.click(tuple(int(v) for v in viewer.view.to_screen(X0 + 10, Y0 + 5))) == "B1"


def test_a_version_1_recording_still_plays(rec_path: Path, tmp_path: Path) -> None:
    """A file from before the geometry table plays, its buildings drawn around their nodes, with a note to record it again."""
    old = tmp_path / "v1.sqlite"
    old.write_bytes(rec_path.read_bytes())
    con = sqlite3.connect(old)
    con.execute("DROP TABLE geometry")
    con.execute("UPDATE metadata SET value = '1' WHERE key = 'schema_version'")
    con.commit()
    con.close()
    rec = Replay(old)
    assert rec.version == 1 and rec.shapes == [] and [o["id"] for o in rec.outlines] == ["B1"]
    assert "record it again (twin run -o)" in rec.note
    assert rec.at(rec.duration).counts() == Replay(rec_path).at(rec.duration).counts()
    result = runner.invoke(app, ["replay", str(old), "--export", str(tmp_path / "f"), "--no-gif", "--fps", "1", "--speed", "64",
                                 "--size", "320x200"])
    assert result.exit_code == 0 and "no building outlines" in result.output


def test_pedpy_export(rec: Replay, tmp_path: Path) -> None:
    path = write_pedpy(rec, tmp_path / "traj.sqlite", fps=2)
    con = sqlite3.connect(path)
    meta = dict(con.execute("SELECT key, value FROM metadata"))
    assert meta["fps"] == "2" and meta["version"] == "2"
    rows = con.execute("SELECT frame, id, pos_x, pos_y, ori_x, ori_y FROM trajectory_data").fetchall()
    frames = {r[0] for r in rows}
    assert min(frames) == 0 and len({r[1] for r in rows}) == 130
    x0 = float(meta["origin_x"])
    fr = rec.at(10.0)
    got = {r[1]: r[2] for r in rows if r[0] == 20}
    agent = int(rec.agent_ids[0])
    assert got[agent] == pytest.approx(fr.x[0] - x0)
    con.close()
    part = write_pedpy(rec, tmp_path / "part.sqlite", fps=2, t_from=10, t_to=20)
    con = sqlite3.connect(part)
    assert con.execute("SELECT min(frame), max(frame) FROM trajectory_data").fetchone() == (20, 40)
    con.close()


def test_cli_replay(rec_path: Path, tmp_path: Path) -> None:
    result = runner.invoke(app, ["replay", str(rec_path), "--export", str(tmp_path / "frames"), "--fps", "2", "--speed", "64",
                                 "--size", "320x200", "--pedpy", str(tmp_path / "t.sqlite"), "--html", str(tmp_path / "r.html"), "--json"])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "frames" / "replay.gif").exists() and (tmp_path / "t.sqlite").exists() and (tmp_path / "r.html").exists()
    import json

    done = json.loads(result.stdout)
    assert done["people"] == 130 and done["export"]["times_s"][-1] == pytest.approx(done["duration_s"], abs=0.1)
    bad = runner.invoke(app, ["replay", str(tmp_path / "nope.sqlite")])
    assert bad.exit_code == 2 and "no such recording" in bad.output
    bad = runner.invoke(app, ["replay", str(rec_path), "--export", str(tmp_path / "f"), "--speed", "3"])
    assert bad.exit_code == 2 and "--speed 3" in bad.output
    bad = runner.invoke(app, ["replay", str(rec_path), "--from", "10"])
    assert bad.exit_code == 2 and "--from and --to go with" in bad.output
    newer = newer_recording(rec_path, tmp_path / "newer.sqlite")
    bad = runner.invoke(app, ["replay", str(newer), "--html", str(tmp_path / "x.html")])
    assert bad.exit_code == 2 and "newer" in bad.output and "Traceback" not in bad.output


@pytest.fixture(scope="module")
def page(rec: Replay, tmp_path_factory: pytest.TempPathFactory) -> Path:
    from viz.replay_html import write_replay_html

    return write_replay_html(rec, tmp_path_factory.mktemp("html") / "replay.html")


def test_html_replay_is_self_contained(page: Path) -> None:
    import re

    text = page.read_text(encoding="utf-8")
    assert not re.search(r"<(script|link)\b[^>]*\b(src|href)\s*=\s*[\"']?(https?:)?//", text, re.IGNORECASE)
    assert 'id="ct-time"' in text and 'id="ct-play"' in text and "ctReplay" in text


@pytest.mark.browser
def test_html_replay_plays_in_a_real_browser(browser: object, page: Path, rec: Replay) -> None:
    seen = open_offline(browser, page, width=1000, height=700)
    tab, errors, network = seen.page, seen.errors, seen.remote
    tab.wait_for_function("window.ctReplay !== undefined")
    for t in (0.0, 45.0, 80.0, rec.duration):
        tab.evaluate(f"window.ctReplay.show({t})")
        got = tab.evaluate("window.ctReplay.counts()")
        want = rec.at(t).counts()
        assert got == {s: want[s] for s in got}, t
    assert tab.text_content("#ct-n-trapped") == f"{rec.at(rec.duration).counts()['trapped']:,}" != "0"
    tab.keyboard.press("Home")
    tab.keyboard.press("ArrowRight")
    assert tab.evaluate("window.ctReplay.clock.t") == 10
    tab.keyboard.press("ArrowUp")
    tab.keyboard.press("Space")
    tab.wait_for_timeout(400)
    clock = tab.evaluate("window.ctReplay.clock")
    assert clock["playing"] and clock["speed"] == 16 and clock["t"] > 10
    dots = tab.evaluate("""() => { const c = document.getElementById('ct-dots'); const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
                                   let n = 0; for (let i = 3; i < d.length; i += 4) if (d[i]) n++; return n; }""")
    assert dots > 50
    assert not errors and not network
    tab.close()


def test_pedpy_reads_the_export(rec: Replay, tmp_path: Path) -> None:
    pedpy = pytest.importorskip("pedpy", reason="PedPy is not a dependency; pip install pedpy to run this check")
    path = write_pedpy(rec, tmp_path / "traj.sqlite", fps=4)
    traj = pedpy.load_trajectory_from_jupedsim_sqlite(trajectory_file=path)
    assert traj.frame_rate == 4 and traj.data["id"].nunique() == 130
    area = pedpy.load_walkable_area_from_jupedsim_sqlite(trajectory_file=path)
    assert area.polygon.area > 0


def test_window_loop_runs_headless(rec: Replay) -> None:
    viewer = ReplayApp(rec, size=(320, 200), speed=64.0)
    viewer.run(max_frames=5, fps=200)
    assert 0 < viewer.playback.t <= rec.duration and not pygame.display.get_init()


# --------------------------------------------------------------------------
# Recorded exercises: occupancy per building and alarms instead of dots
# --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def exercise_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Five halls evacuated (the drill of tests/test_compare.py), recorded from their door counts."""
    from tests.helpers import write
    from tests.test_compare import ALARM, drill_to_store, five_halls
    from twin.campus import load_campus
    from sensors.exercise import record_exercise

    d = tmp_path_factory.mktemp("exercise")
    campus = write(five_halls(), d / "campus.geojson")
    drill_to_store(campus, d / "events.sqlite")
    record_exercise(d / "events.sqlite", load_campus(campus), d / "exercise.sqlite", t_from=ALARM - 60, t_to=ALARM + 600)
    return d / "exercise.sqlite"


def _pixel(surface: pygame.Surface, viewer: ReplayApp, x: float, y: float) -> tuple[int, int, int]:
    """The colour drawn at a point given in the fixture's local metres."""
    from tests.helpers import X0, Y0

    px, py = viewer.view.to_screen(X0 + x, Y0 + y)
    return tuple(surface.get_at((int(px), int(py))))[:3]


def test_exercise_viewer_shows_occupancy_and_alarms(exercise_path: Path) -> None:
    from tests.helpers import X0, Y0

    rec = Replay(exercise_path)
    assert rec.is_exercise and rec.n_agents == 0 and rec.duration == 660 and rec.alarm_s == 60 and rec.note is None
    assert rec.occupancy_at(30) == {"B1": 300, "B2": 150, "B3": 150, "B4": 150, "B5": 150}
    assert sum(rec.occupancy_at(rec.duration).values()) == 0 and sum(rec.out_since_alarm(rec.duration).values()) == 900
    assert rec.alarms_at(30) == [] and [a["id"] for a in rec.alarms_at(61)] == ["B1-SD1:fire"]
    pygame.display.init()
    try:
        screen = pygame.display.set_mode((640, 400))
        viewer = ReplayApp(rec, size=(640, 400))
        pb = viewer.playback
        pygame.event.post(_key(pygame.K_SPACE, " "))
        for _ in range(6):
            pygame.event.post(_key(pygame.K_RIGHT))
        viewer.step(3.0)
        assert pb.paused and pb.t == pytest.approx(60.0)
        viewer.draw(screen)  # at the alarm every hall is full: the darkest shade
        assert _pixel(screen, viewer, 8, 15) == _pixel(screen, viewer, 58, 15) == viewer._shade[255]
        for _ in range(3):
            pygame.event.post(_key(pygame.K_UP))  # x8
        pygame.event.post(_key(pygame.K_SPACE, " "))
        viewer.step(10.0)
        assert pb.speed == 8.0 and pb.t == pytest.approx(140.0)
        # 80 s on, B1 (300 people behind a 1 m door) is still nearly full, the 6 m halls nearly empty
        viewer.draw(screen)
        b1, b2 = _pixel(screen, viewer, 8, 15), _pixel(screen, viewer, 58, 15)
        assert sum(b2) > sum(b1) + 150
        # the fire alarm is ringed in red at its room
        px = pygame.surfarray.array3d(screen).reshape(-1, 3)
        assert (px == (213, 0, 0)).all(axis=1).any()
        # click B1 for its numbers
        bx, by = viewer.view.to_screen(X0 + 8.0, Y0 + 15.0)
        pygame.event.post(pygame.event.Event(pygame.MOUSEBUTTONDOWN, button=1, pos=(int(bx), int(by))))
        pygame.event.post(pygame.event.Event(pygame.MOUSEBUTTONUP, button=1, pos=(int(bx), int(by))))
        viewer.step(0.0)
        assert viewer.selected == "B1"
        n = rec.exercise_numbers("B1", pb.t)
        assert n["at_alarm"] == 300 and n["design"] == 300 and n["alarms"] == ["fire"]
        assert n["people"] + n["out_since_alarm"] == 300 and 0 < n["out_since_alarm"] < 100
        pygame.event.post(_key(pygame.K_END))
        viewer.step(0.0)
        assert pb.t == rec.duration and pb.paused
        viewer.draw(screen)
        assert _pixel(screen, viewer, 8, 15) == viewer._shade[0]  # everyone out
        pygame.event.post(_key(pygame.K_HOME))
        viewer.step(0.0)
        assert pb.t == 0.0
    finally:
        pygame.display.quit()


def test_exercise_export_html_and_cli(exercise_path: Path, tmp_path: Path) -> None:
    result = runner.invoke(app, ["replay", str(exercise_path), "--export", str(tmp_path / "frames"), "--fps", "2", "--speed", "64",
                                 "--size", "640x400", "--html", str(tmp_path / "ex.html"), "--json"])
    assert result.exit_code == 0, result.output
    import json

    done = json.loads(result.stdout)
    assert done["kind"] == "exercise" and done["export"]["times_s"] == [0.0, 660.0] and done["export"]["frames"] == 22
    text = (tmp_path / "ex.html").read_text(encoding="utf-8")
    assert 'id="ct-n-in"' in text and 'id="ct-n-alarms"' in text
    bad = runner.invoke(app, ["replay", str(exercise_path), "--pedpy", str(tmp_path / "t.sqlite")])
    assert bad.exit_code == 2 and "not trajectories" in bad.output


@pytest.mark.browser
def test_exercise_html_replay_in_a_real_browser(browser: object, exercise_path: Path, tmp_path: Path) -> None:
    from viz.replay_html import write_replay_html

    rec = Replay(exercise_path)
    page = write_replay_html(rec, tmp_path / "ex.html")
    seen = open_offline(browser, page, width=1000, height=700)
    tab, errors = seen.page, seen.errors
    tab.wait_for_function("window.ctReplay !== undefined")
    for t in (0.0, 61.0, 120.0, 300.0, rec.duration):
        tab.evaluate(f"window.ctReplay.show({t})")
        got = tab.evaluate("window.ctReplay.counts()")
        assert got == {"in_buildings": sum(rec.occupancy_at(t).values()), "out_since_alarm": sum(rec.out_since_alarm(t).values()),
                       "alarms": len(rec.alarms_at(t))}, t
    tab.keyboard.press("Home")
    tab.keyboard.press("ArrowRight")
    assert tab.evaluate("window.ctReplay.clock.t") == 10
    assert tab.text_content("#ct-n-in") == "900"
    assert not errors and not seen.remote
    tab.close()


@pytest.mark.browser
def test_exercise_html_shows_campus_and_event_texts_as_text(browser: object, exercise_path: Path, tmp_path: Path) -> None:
    """A sensor or building named like markup appears as those characters: no element, no script runs."""
    from viz.replay_html import write_replay_html

    rec = Replay(exercise_path)
    evil = "<img src=x onerror=window.pwned=1>"
    rec.alarms = [{**a, "sensor_id": evil} for a in rec.alarms]
    rec.occ_buildings = [evil if b == "B1" else b for b in rec.occ_buildings]
    rec.design[evil] = rec.design["B1"]
    outlines = [{**o, "id": evil} if o["id"] == "B1" else o for o in rec.outlines]
    page = write_replay_html(rec, tmp_path / "evil.html", outlines=outlines)
    seen = open_offline(browser, page, width=1000, height=700)
    tab = seen.page
    tab.wait_for_function("window.ctReplay !== undefined")
    tab.evaluate("window.ctReplay.show(61)")
    assert evil in tab.text_content("#ct-alarm-list")
    assert evil in tab.text_content(".leaflet-marker-pane")
    assert tab.evaluate("document.querySelectorAll('img[src=x]').length") == 0
    assert tab.evaluate("window.pwned === undefined") and not seen.dialogs and not seen.errors
    tab.close()


# --------------------------------------------------------------------------
# The debrief: alarms, operator actions and forecasts on the timeline, counts per floor. The exercise above, with
# what a live session stores beside the events: the operator's acknowledge, note and clear in the store's audit
# table (written by twin.audit.AuditLog, as the live map does), a forecast event as the twin stores it, and
# camera counts in B1.
# --------------------------------------------------------------------------

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

"""Replays per building and level: floor plans, the level selector, head counts at campus zoom, who is still inside.

The tiny example (tests/test_replay.py's recording): building B1, 20 × 10 m, two levels, 65 people on each, a
blocked door (its room's people are trapped) and a fire upstairs.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

os.environ.setdefault("SDL_VIDEODRIVER", "dummy")

import pygame  # noqa: E402

import tests.test_replay as base  # noqa: E402
from tests.helpers import open_offline  # noqa: E402
from twin.cli import app  # noqa: E402
from viz.replay import BADGE_PX, INCAPACITATED, QUEUED, SAFE, TRAPPED, WAITING, WALKING, Replay  # noqa: E402
from viz.replay_app import STATE_COLOURS, ReplayApp, draw_dots  # noqa: E402
from viz.replay_floor import FLOOR_FILL, FLOOR_EDGE, hidden_people, small_buildings  # noqa: E402

runner = CliRunner()
rec_path = base.rec_path
rec = base.rec
"""tests/test_replay.py's recording of the tiny example, and its Replay."""


def test_inside_by_level_counts_who_is_still_inside(rec: Replay) -> None:
    times, per = rec.inside_by_level()
    assert times[0] == 0 and times[-1] == pytest.approx(rec.duration) and set(per) == {"B1"}
    levels = per["B1"]
    assert sorted(levels) == [0, 1]
    start_level = rec.node_level[rec.agent_start]
    assert [int(levels[lv][0]) for lv in (0, 1)] == [int((start_level == lv).sum()) for lv in (0, 1)] == [65, 65]
    # at the end only the trapped and the incapacitated are inside, on the level where they stopped
    end = rec.at(rec.duration)
    trapped = np.isin(end.state, (TRAPPED, INCAPACITATED))
    assert sum(int(c[-1]) for c in levels.values()) == int(trapped.sum()) > 0
    for lv, c in levels.items():
        assert int(c[-1]) == int((trapped & (end.level == lv)).sum())
    # at every sample: the level counts add up to the building's head count
    for k in range(0, times.size, 17):
        fr = rec.at(float(times[k]))
        heads = rec.heads(fr).get("B1", (0, 0))
        assert sum(int(c[k]) for c in levels.values()) == heads[0]
        assert heads[1] == int(((fr.state == QUEUED) & (rec.node_building[fr.node] == "B1")).sum())


def test_focus_names_what_the_recording_has(rec: Replay) -> None:
    assert rec.focus(None, None) is None
    assert rec.focus("B1", 1) == pytest.approx((500000.0, 3377000.0, 500020.0, 3377010.0))
    with pytest.raises(ValueError, match=r"--building 'B9'.*it has B1"):
        rec.focus("B9", None)
    with pytest.raises(ValueError, match=r"--level 7: building B1 has no level 7; it has 0, 1"):
        rec.focus("B1", 7)


def test_the_window_draws_one_level_and_switches_levels(rec: Replay) -> None:
    viewer = ReplayApp(rec, size=(640, 400), building="B1", level=1)
    assert viewer.view.level == 1 and viewer.selected == "B1"
    surface = pygame.Surface((640, 400))
    fr = rec.at(rec.duration)  # everyone out but the trapped: the plan shows
    viewer.playback.t = rec.duration
    viewer.draw(surface, fr)
    shapes = {(s.id, s.level): s.geom for s in rec.shapes}
    def colours_in(geom: object) -> set[tuple[int, int, int]]:
        ring = np.asarray(geom.exterior.coords)  # type: ignore[attr-defined]
        px, py = viewer.view.to_screen(ring[:, 0], ring[:, 1])
        pix = pygame.surfarray.array3d(surface)[int(px.min()) + 2:int(px.max()) - 1, int(py.min()) + 2:int(py.max()) - 1]
        return {tuple(c) for c in pix.reshape(-1, 3)}

    assert all(FLOOR_FILL["room"] in colours_in(shapes[(r, 1)]) for r in ("R1a", "R1b", "R1c"))
    assert FLOOR_FILL["room"] not in colours_in(shapes[("S1", 1)])
    assert {FLOOR_FILL["stair"], FLOOR_EDGE} <= colours_in(shapes[("S1", 1)])  # the stair with its treads
    assert FLOOR_FILL["corridor"] in colours_in(shapes[("C1", 1)])
    # the level buttons: all, L1, L0 (highest on top); a click shows that level, keys step through them
    assert [lv for lv in viewer.selector.options] == [None, 1, 0]
    viewer.click(viewer.selector.rects[2].center)
    assert viewer.view.level == 0
    viewer.click(viewer.selector.rects[0].center)
    assert viewer.view.level is None
    for key, char, want in ((pygame.K_PAGEDOWN, "", 1), (pygame.K_PAGEDOWN, "", 0), (pygame.K_PAGEUP, "", 1),
                            (pygame.K_0, "0", 0), (pygame.K_9, "9", 0), (pygame.K_l, "l", 1)):
        viewer.handle(pygame.event.Event(pygame.KEYDOWN, key=key, unicode=char, mod=0, scancode=0))
        assert viewer.view.level == want, (key, want)


def test_at_campus_zoom_a_building_shows_its_head_count(rec: Replay) -> None:
    viewer = ReplayApp(rec, size=(640, 400))
    surface = pygame.Surface((640, 400))
    t = 60.0
    fr = rec.at(t)
    assert not small_buildings(viewer.view, viewer._extent)  # 20 m wide at the fit scale: dots
    viewer.view.zoom(BADGE_PX / (20 * viewer.view.scale) * 0.5)
    assert small_buildings(viewer.view, viewer._extent) == {"B1"}
    hide = hidden_people(rec, fr, {"B1"})
    inside, _queued = rec.heads(fr)["B1"]
    assert int(hide.sum()) == inside > 0
    surface.fill((0, 0, 0))
    drawn = draw_dots(surface, viewer.view, fr, hide=hide)
    assert drawn == int(np.count_nonzero(~hide & ~np.isnan(fr.x)))  # only people outdoors and at the assembly area
    viewer.playback.t = t
    viewer.draw(surface, fr)
    label = viewer.font.render(f"B1 {inside:,}", True, (30, 30, 30))
    cx, cy = viewer.view.to_screen(*viewer._centre["B1"])
    box = pygame.surfarray.array3d(surface)[int(cx) - label.get_width() // 2:int(cx) + label.get_width() // 2, int(cy) - 8:int(cy) + 8]
    assert ((box == 255).all(axis=2)).mean() > 0.4  # the white label sits on the building
    drawn_here = {tuple(p) for p in box.reshape(-1, 3)}
    assert all(STATE_COLOURS[s] not in drawn_here for s in (WAITING, WALKING))  # no dots under the label


def test_cli_building_and_level_for_export_and_html(rec_path: Path, tmp_path: Path) -> None:
    res = runner.invoke(app, ["replay", str(rec_path), "--export", str(tmp_path / "frames"), "--no-gif", "--size", "320x200",
                              "--from", "0", "--to", "20", "--building", "B1", "--level", "1",
                              "--html", str(tmp_path / "r.html"), "--json"])
    assert res.exit_code == 0, res.output
    assert (tmp_path / "frames" / "frame_00000.png").exists() and '"focus":"B1"' in (tmp_path / "r.html").read_text()
    for args, want in ((["--building", "B9"], "no such building"), (["--level", "5"], "has no level 5")):
        bad = runner.invoke(app, ["replay", str(rec_path), "--html", str(tmp_path / "x.html"), *args])
        assert bad.exit_code == 2 and want in bad.output and "Traceback" not in bad.output


@pytest.mark.browser
def test_html_level_selector_head_counts_and_inside_chart(browser: object, rec: Replay, tmp_path: Path) -> None:
    from viz.replay_html import write_replay_html

    page = write_replay_html(rec, tmp_path / "levels.html", building="B1", level=0)
    seen = open_offline(browser, page, width=1000, height=700)
    tab = seen.page
    tab.wait_for_function("window.ctReplay !== undefined")
    t = 40.0
    tab.evaluate(f"window.ctReplay.show({t})")
    fr = rec.at(t)
    indoor = ~np.isnan(fr.level) & (fr.state != SAFE)
    for lv in (0, 1):
        tab.evaluate(f"window.ctReplay.setLevel({lv})")
        want = int(np.count_nonzero(~indoor | (fr.level == lv)))
        assert tab.evaluate("window.ctReplay.drawn()") == want, lv
        assert tab.input_value("#ct-level") == str(lv)
    tab.keyboard.press("l")  # 1 → all
    assert tab.evaluate("window.ctReplay.view.level") is None
    assert tab.is_visible("#ct-inside") and "B1: still inside per level" in tab.text_content("#ct-inside")
    tab.evaluate("window.ctReplay.select(null)")
    assert not tab.is_visible("#ct-inside")
    assert tab.evaluate("window.ctReplay.badges()") == []
    tab.evaluate("() => { const m = Object.values(window).find(v => v && v._leaflet_id && v.setZoom); m.setZoom(m.getZoom() - 4, {animate: false}); }")
    inside, queued = rec.heads(fr)["B1"]
    assert tab.evaluate("window.ctReplay.badges()") == [{"building": "B1", "inside": inside, "queued": queued}]
    assert not seen.errors and not seen.remote
    tab.close()

"""Camera counts in twin compare --calibrate: a synthetic feed drill whose only counted exit queued.

The door counts alone show the door flow but not when people set off; the
level cameras' counts give the pre-movement back within 10 %, and the people
the cameras saw who left by an exit without a sensor are in the fit.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from scenarios.calibrate import actual_exits, calibrate
from scenarios.camera_counts import actual_levels
from scenarios.feed_drill import DrillTruth, engine_drill
from scenarios.schema import parse_scenario
from sensors.exercise import record_exercise
from sensors.sources import synthetic_day
from sensors.store import EventStore
from tests.helpers import add, feature, point, write
from tests.test_feed_drill import hall
from twin.campus import load_campus
from twin.cli import app

T0 = 1_772_359_200.0  # 2026-03-01 10:00 UTC: classes are on
FIRE_AT = 600.0
TRUTH = DrillTruth(premovement_mean=90.0, premovement_sd=40.0, flow_door=1.0)
runner = CliRunner()


def tower(*, room_camera: bool = False) -> dict[str, Any]:
    """The feed tests' hall (``tests.test_feed_drill.hall``) as a three-storey block of 480 with one counted 1.2 m exit (it
    queues), one 1 m exit without a sensor and a camera counting each level; with ``room_camera`` one more camera with a
    zone of its own."""
    doc = hall()
    feature(doc, "H")["properties"].update(levels=3, occupants=480)
    doc["features"] = [f for f in doc["features"] if f["properties"]["id"] not in ("H-D2", "FW2")]  # one counted exit
    add(doc, point(2, 10), id="CAM-L2", kind="camera", building="H", level=2, heading=90, fov=90)
    if room_camera:
        add(doc, point(38, 18), id="CAM-LOBBY", kind="camera", building="H", level=0, heading=200, fov=90, zone="H-LOBBY")
    return doc


@pytest.fixture(scope="module")
def drill(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Two hours of the synthetic feed with the drill at 10:10 (cameras every 30 s), stored and cut as an exercise."""
    d = tmp_path_factory.mktemp("tower")
    path = write(tower(), d / "campus.geojson")
    campus = load_campus(path)
    day = synthetic_day(campus, seed=1, start=T0, duration=2 * 3600, interval=30, fire_at=FIRE_AT, fire_detector="SD1",
                        drill=engine_drill(campus, TRUTH, seed=3))
    st = EventStore(d / "events.sqlite", campus_digest=campus.digest, campus_path=str(path))
    st.append(day)
    st.close()
    record_exercise(d / "events.sqlite", campus, d / "exercise.sqlite", t_from=T0 + FIRE_AT - 60, t_to=T0 + FIRE_AT + 1800)
    plan = d / "plan.toml"
    plan.write_text('kind = "evacuation"\nname = "tower"\ncampus = "campus.geojson"\nseed = 0\nreplications = 1\n'
                    'premovement = {dist = "lognormal", mean = 60, sd = 30}\n')
    return {"dir": d, "campus": path, "exercise": d / "exercise.sqlite", "plan": plan}


def test_door_counts_alone_leave_the_premovement_unidentified(drill: dict[str, Path]) -> None:
    """The only counted exit queued from the start: its counts show the door flow, not when people set off."""
    campus = load_campus(drill["campus"])
    actual, alarm, meta = actual_exits(drill["exercise"], campus)
    assert list(actual) == ["H-D1"] and meta["drill_buildings"] == ["H"] and meta["all_clear_s"] > 600
    levels, notes = actual_levels(str(drill["exercise"]), campus, alarm_s=alarm, until_s=meta["all_clear_s"], buildings={"H"})
    assert sorted(levels) == [("H", 0), ("H", 1), ("H", 2)] and levels[("H", 2)].at_alarm > 100 and notes == []
    assert levels[("H", 2)].times[0] == 0.0 and levels[("H", 2)].until_empty()[1][-1] == 0
    # a camera with a zone of its own (a lobby) sees part of a level: named, not fitted
    lobby = load_campus(write(tower(room_camera=True), drill["dir"] / "lobby.geojson"))
    assert sorted(actual_levels(str(drill["exercise"]), lobby, alarm_s=alarm, until_s=meta["all_clear_s"], buildings={"H"})[0]) == sorted(levels)
    assert actual_levels(str(drill["exercise"]), lobby, alarm_s=alarm, until_s=meta["all_clear_s"], buildings={"H"})[1] == ["camera CAM-LOBBY counts zone H-LOBBY, part of level 0 of H: not fitted (only whole-level zones compare "
                     "with the simulation)"]
    plan = parse_scenario({"kind": "evacuation", "campus": str(drill["campus"]), "seed": 0}, "plan")
    cal = calibrate(actual, plan, campus, replications=1, uncertainty=False)
    assert cal.premovement_mean is None and cal.camera_levels == []
    assert any(w.startswith("pre-movement not identified") for w in cal.warnings)
    assert abs(cal.flow_door / TRUTH.flow_door - 1) < 0.10


def test_camera_counts_identify_the_premovement(drill: dict[str, Path]) -> None:
    """The must-show with cameras: twin compare --calibrate on the feed's drill gives back its pre-movement (90 ± 40 s)
    and door flow (1.0) within 10 %, from the plan's 60 ± 30 s, 1.32, with other random numbers (seed 0 vs 3)."""
    out = drill["dir"] / "compare"
    result = runner.invoke(app, ["compare", str(drill["exercise"]), str(drill["plan"]), "-o", str(out), "--calibrate", "--json",
                                 "--replications", "3"])
    assert result.exit_code == 0, result.output
    cal = json.loads(result.stdout)["calibration"]
    assert cal["identified"] == {"flow_door": True, "premovement": True}
    assert cal["camera_levels"] == ["H-L0", "H-L1", "H-L2"] and cal["camera_people"] >= 100 and cal["camera_weight"] == 1.0
    for key, want in (("flow_door", TRUTH.flow_door), ("premovement_mean_s", TRUTH.premovement_mean),
                      ("premovement_sd_s", TRUTH.premovement_sd)):
        assert abs(cal[key] / want - 1) < 0.10, (key, cal[key])
        lo, hi = cal["uncertainty"][key]["ci95"]
        assert lo is None or lo <= cal[key] <= (hi if hi is not None else cal[key])
    # the people the cameras saw leave by the exit without a sensor are in the fit
    assert any(w.startswith("building H: its cameras counted") and "H-D3" in w for w in cal["warnings"])
    assert not any(w.startswith("poor fit") for w in cal["warnings"])
    page = (out / "report.html").read_text(encoding="utf-8")
    assert "seen leaving levels by cameras" in page and "H-L2" in page

"""Recorded exercises, drill vs plan and calibration: the simulator's own drill, reported by door sensors, is recovered."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from scenarios.calibrate import actual_exits, calibrate, plateau
from scenarios.evacuation import Drill
from scenarios.schema import load_scenario, parse_scenario
from sensors.exercise import record_exercise
from sensors.store import EventStore
from tests.helpers import add, empty, line, newer_recording, open_offline, point, rect, write
from twin.campus import load_campus
from twin.cli import app
from twin.recording import open_recording

runner = CliRunner()
T0 = 1_772_323_200.0  # 2026-03-01 00:00 UTC
ALARM = T0 + 3600.0  # 01:00:00Z
REPORT_EVERY = 10.0
"""Door sensors report a tally every 10 s."""
TRUTH = {"mean": 45.0, "sd": 15.0, "flow_door": 1.1}


def five_halls(congested: int = 1, free: int = 4) -> dict[str, Any]:
    """Halls in a row on one footway: ``congested`` with 300 people behind a 1 m card door, ``free`` with 150 behind 6 m."""
    doc = empty()
    x = 0.0
    for k in range(congested + free):
        b = f"B{k + 1}"
        narrow = k < congested
        add(doc, rect(x, 0, x + 30, 20), id=b, kind="building", levels=1, use="teaching", occupants=300 if narrow else 150)
        add(doc, point(x + 15, 20), id=f"{b}-D1", kind="door", building=b, level=0, width=1.0 if narrow else 6.0, access="card")
        add(doc, line((x + 15, 20), (x + 15, 30)), id=f"FW-{b}", kind="footway", width=4)
        add(doc, point(x + 5, 5), id=f"{b}-SD1", kind="detector", type="smoke", building=b, level=0)
        x += 50
    add(doc, line((0, 30), (x, 30)), id="FW", kind="footway", width=8)
    add(doc, rect(x / 2 - 30, 40, x / 2 + 30, 80), id="A1", kind="assembly")
    add(doc, line((x / 2, 30), (x / 2, 40)), id="FW-A", kind="footway", width=8)
    return doc


def drill_to_store(campus_path: Path, store_path: Path, *, seed: int = 7, every: float = REPORT_EVERY) -> dict[str, list[float]]:
    """Run the drill with the TRUTH values and report it as door sensors would: people in beforehand,
    then out-counts per door every ``every`` s, and the fire alarm that starts it."""
    campus = load_campus(campus_path)
    sc = parse_scenario({"kind": "evacuation", "campus": str(campus_path), "seed": seed,
                         "premovement": {"dist": "lognormal", "mean": TRUTH["mean"], "sd": TRUTH["sd"]},
                         "settings": {"flow_door": TRUTH["flow_door"]}}, "truth")
    rep = Drill(campus, sc).run(0)
    events: list[dict[str, Any]] = [{"sensor_id": "B1-SD1", "ts": ALARM, "kind": "fire", "state": "fire"}]
    for door, times in rep.exit_times.items():
        events.append({"sensor_id": door, "ts": T0 + 600, "kind": "crossing", "direction": "in", "count": len(times)})
        step = np.ceil(np.asarray(times) / every).astype(int)
        for k, n in zip(*np.unique(step, return_counts=True), strict=True):
            events.append({"sensor_id": door, "ts": ALARM + every * int(k), "kind": "crossing", "direction": "out", "count": int(n)})
    st = EventStore(store_path, campus_digest=campus.digest, campus_path=str(campus_path))
    st.append(events)
    st.close()
    return rep.exit_times


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("drill")
    campus = write(five_halls(), d / "campus.geojson")
    drill_to_store(campus, d / "events.sqlite")
    plan = d / "plan.toml"
    plan.write_text('kind = "evacuation"\nname = "five halls"\ncampus = "campus.geojson"\nseed = 0\nreplications = 2\n'
                    'route = "shortest"\npremovement = {dist = "lognormal", mean = 60, sd = 30, max = 600}\n')
    return {"dir": d, "campus": campus, "store": d / "events.sqlite", "plan": plan}


@pytest.fixture(scope="module")
def exercise(site: dict[str, Path]) -> Path:
    out = site["dir"] / "exercise.sqlite"
    result = runner.invoke(app, ["exercise", str(site["store"]), "--campus", str(site["campus"]), "--from", "2026-03-01T00:59:00Z",
                                 "--to", "2026-03-01T01:12:00+00:00", "-o", str(out), "--json"])
    assert result.exit_code == 0, result.output
    done = json.loads(result.stdout)
    assert done["alarm_s"] == 60.0 and done["duration_s"] == 780 and done["buildings"] == ["B1", "B2", "B3", "B4", "B5"]
    return out


def test_exercise_recording_holds_events_occupancy_and_alarms(exercise: Path) -> None:
    con = open_recording(exercise)
    try:
        meta = dict((k, json.loads(v)) for k, v in con.execute("SELECT key, value FROM metadata"))
        assert meta["kind"] == "exercise" and meta["schema_version"] == 4 and meta["from"] == "2026-03-01T00:59:00Z"
        # before the alarm everyone is in (the door balances from before the window count), at the end nobody
        occ = dict(con.execute("SELECT building, count FROM occupancy WHERE t = 0"))
        assert occ == {"B1": 300, "B2": 150, "B3": 150, "B4": 150, "B5": 150}
        assert set(dict(con.execute("SELECT building, count FROM occupancy WHERE t = 780")).values()) == {0}
        alarms = con.execute("SELECT id, kind, t0, t1 FROM alarms").fetchall()
        assert alarms == [("B1-SD1:fire", "fire", 60.0, None)]
        fire = con.execute("SELECT t, kind, target FROM events").fetchall()
        assert fire[0] == (60.0, "fire", "B1/L0")
        out = sum(json.loads(b)["count"] for b, in con.execute("SELECT body FROM sensor_events WHERE kind = 'crossing'"))
        assert out == 900  # the 'in' tallies were before the window
    finally:
        con.close()


def test_exercise_cli_errors(site: dict[str, Path], tmp_path: Path) -> None:
    args = ["exercise", str(site["store"]), "--campus", str(site["campus"]), "-o", str(tmp_path / "x.sqlite")]
    bad = runner.invoke(app, [*args, "--from", "2026-03-01T01:00:00", "--to", "2026-03-01T01:10:00Z"])
    assert bad.exit_code == 2 and "--from" in bad.output and "UTC offset" in bad.output
    bad = runner.invoke(app, [*args, "--from", "yesterday", "--to", "2026-03-01T01:10:00Z"])
    assert bad.exit_code == 2 and "not ISO 8601" in bad.output
    bad = runner.invoke(app, [*args, "--from", "2026-03-01T01:10:00Z", "--to", "2026-03-01T01:00:00Z"])
    assert bad.exit_code == 2 and "must be after --from" in bad.output
    bad = runner.invoke(app, [*args, "--from", "2026-03-02T00:00:00Z", "--to", "2026-03-02T01:00:00Z"])
    span = "the store holds events from 2026-03-01T00:10:00Z to 2026-03-01T01:"
    assert bad.exit_code == 2 and "no events between" in bad.output and span in bad.output
    # a window before every event names the store's whole span too (the scan used to stop at the first event)
    bad = runner.invoke(app, [*args, "--from", "2026-02-28T00:00:00Z", "--to", "2026-02-28T01:00:00Z"])
    assert bad.exit_code == 2 and span in bad.output and "to 2026-03-01T00:10:00Z" not in bad.output
    other = write(five_halls(congested=2, free=0), tmp_path / "other.geojson")
    bad = runner.invoke(app, ["exercise", str(site["store"]), "--campus", str(other), "--from", "2026-03-01T00:59:00Z",
                              "--to", "2026-03-01T01:10:00Z", "-o", str(tmp_path / "x.sqlite")])
    assert bad.exit_code == 2 and "another campus" in bad.output
    junk = tmp_path / "junk.sqlite"
    sqlite3.connect(junk).execute("CREATE TABLE t (x)").connection.close()
    bad = runner.invoke(app, ["exercise", str(junk), "--campus", str(site["campus"]), "--from", "0", "--to", "10", "-o", str(tmp_path / "y.sqlite")])
    assert bad.exit_code == 2 and "not an event store" in bad.output and "Traceback" not in bad.output
    assert not (tmp_path / "x.sqlite").exists() and not (tmp_path / "y.sqlite").exists()


@pytest.fixture(scope="module")
def compared(site: dict[str, Path], exercise: Path) -> dict[str, Any]:
    """``twin compare EXERCISE PLAN --calibrate --json``, run once."""
    out = site["dir"] / "compare"
    result = runner.invoke(app, ["compare", str(exercise), str(site["plan"]), "-o", str(out), "--calibrate", "--json",
                                 "--replications", "3"])  # a quarter fewer runs than the default 4; still well within 10 %
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_calibration_recovers_the_drills_own_parameters(site: dict[str, Path], compared: dict[str, Any]) -> None:
    """The must-show: door counts of a simulated drill (seed 7) give back its pre-movement and door flow within 10 %,
    fitting with the plan's seed (0): the fit shares no random numbers with the drill."""
    out = site["dir"] / "compare"
    doc = compared
    cal = doc["calibration"]
    assert cal["identified"] == {"flow_door": True, "premovement": True} and not cal["warnings"]
    assert cal["flow_exits"] == ["B1-D1"]  # the 1 m door queued, the 6 m doors did not
    assert abs(cal["flow_door"] / TRUTH["flow_door"] - 1) < 0.10
    assert abs(cal["premovement_mean_s"] / TRUTH["mean"] - 1) < 0.10
    assert abs(cal["premovement_sd_s"] / TRUTH["sd"] - 1) < 0.10
    # each fitted value with its profile: the fit is its lowest point, and the counts pin every value within ±20 %
    for key in ("flow_door", "premovement_mean_s", "premovement_sd_s"):
        u = cal["uncertainty"][key]
        lo, hi = u["ci95"]
        assert lo is not None and hi is not None and lo <= cal[key] <= hi and len(u["profile"]) == 5
    # the plan (60 ± 30 s, 1.32 p/s/m) was off; the calibrated plan matches the drill much better
    tot = doc["figures"]["total"]
    assert tot["people_actual"] == tot["people_simulated"] == 900
    assert tot["calibrated_time_gap_s"] < tot["time_gap_s"] / 3
    assert doc["exits"]["B1-D1"]["flow_limited"] and not doc["exits"]["B2-D1"]["flow_limited"]
    # the calibrated scenario loads, with the fitted values and every other key of the plan
    written = Path(cal["written"])
    assert written == out / "calibrated.toml"
    sc = load_scenario(written)
    assert sc.name == "five halls" and sc.seed == 0 and sc.replications == 2 and sc.route == "shortest"
    assert sc.campus == site["campus"].resolve() and sc.premovement.max == 600
    assert sc.premovement.mean == pytest.approx(cal["premovement_mean_s"], abs=0.01)
    assert sc.settings["flow_door"] == pytest.approx(cal["flow_door"], abs=1e-3)
    page = (out / "report.html").read_text(encoding="utf-8")
    assert 'id="cr-plot-total"' in page and 'id="cr-calibration"' in page and "five halls" in page


@pytest.mark.browser
def test_compare_report_in_a_real_browser(browser: Any, compared: dict[str, Any]) -> None:
    seen = open_offline(browser, Path(compared["report"]).resolve())
    tab, errors, network = seen.page, seen.errors, seen.remote
    tab.wait_for_selector(".leaflet-interactive")
    for img in ("#cr-plot-total", "#cr-plot-buildings"):
        assert tab.evaluate(f"document.querySelector('{img}').naturalWidth") > 500
    assert tab.locator(".leaflet-interactive").count() >= 5 + 1 + 5  # halls, the assembly area, exit markers
    assert tab.text_content("#cr-figures").count("not identified") == 0
    first = tab.locator("#cr-buildings tbody tr td:first-child").all_text_contents()
    assert first == ["B1", "B2", "B3", "B4", "B5", "total"]
    assert "B1-D1" in tab.text_content("#cr-calibration")
    assert not errors and not network
    tab.close()


def test_unidentifiable_parameters_are_reported_not_made_up(tmp_path: Path) -> None:
    """Every exit queued: the counts show the door flow but not the pre-movement, which is kept and warned about.
    No exit queued: the reverse."""
    for congested, free, missing in ((2, 0, "pre-movement"), (0, 3, "door flow")):
        path = write(five_halls(congested, free), tmp_path / f"c{congested}{free}.geojson")
        drill_to_store(path, tmp_path / f"e{congested}{free}.sqlite")
        campus = load_campus(path)
        rec = tmp_path / f"x{congested}{free}.sqlite"
        record_exercise(tmp_path / f"e{congested}{free}.sqlite", campus, rec, t_from=ALARM - 60, t_to=ALARM + 900)
        actual, _, _ = actual_exits(rec, campus)
        plan = parse_scenario({"kind": "evacuation", "campus": str(path), "seed": 0}, "plan")
        cal = calibrate(actual, plan, campus, replications=2, uncertainty=missing == "pre-movement")
        assert len(cal.warnings) == 1 and cal.warnings[0].startswith(f"{missing} not identified")
        assert set(cal.uncertainty) == ({"flow_door"} if missing == "pre-movement" else set())
        if missing == "pre-movement":
            assert cal.premovement_mean is None and cal.premovement_sd is None
            assert abs(cal.flow_door / TRUTH["flow_door"] - 1) < 0.10
        else:
            assert cal.flow_door is None and cal.flow_exits == []
            assert abs(cal.premovement_mean / TRUTH["mean"] - 1) < 0.10


def test_plateau_tells_a_queue_from_a_crowd() -> None:
    queue = np.array([2, 8, 8, 7, 8, 8, 8, 7, 8, 8, 3], dtype=float)
    p = plateau(queue, 10.0)
    assert p is not None and p.flow_limited and p.rate == pytest.approx(0.78, abs=0.02)
    rng = np.random.default_rng(1)
    crowd = np.histogram(rng.lognormal(np.log(45), 0.33, 2000), bins=np.arange(0, 300, 10))[0].astype(float)
    q = plateau(crowd, 10.0)
    assert q is not None and not q.flow_limited and q.share < 0.8
    assert plateau(np.zeros(5), 10.0) is None


def test_compare_cli_errors(site: dict[str, Path], exercise: Path, tmp_path: Path) -> None:
    from scenarios.evacuation import record, run

    sc = load_scenario(site["plan"])
    sim = record(run(sc, load_campus(sc.campus), workers=1), tmp_path / "sim.sqlite")
    bad = runner.invoke(app, ["compare", str(sim), str(site["plan"]), "-o", str(tmp_path / "o")])
    assert bad.exit_code == 2 and "needs a recorded exercise" in bad.output
    other = write(five_halls(congested=2, free=0), tmp_path / "other.geojson")
    plan = tmp_path / "plan.toml"
    plan.write_text(f'kind = "evacuation"\ncampus = "{other}"\n')
    bad = runner.invoke(app, ["compare", str(exercise), str(plan), "-o", str(tmp_path / "o")])
    assert bad.exit_code == 2 and "another campus" in bad.output
    plan.write_text(f'kind = "evacuation"\ncampus = "{site["campus"]}"\nsed = 1\n')
    bad = runner.invoke(app, ["compare", str(exercise), str(plan)])
    assert bad.exit_code == 2 and "sed" in bad.output and "unknown key" in bad.output
    plan.write_text(f'kind = "evacuation"\ncampus = "{site["campus"]}"\n')
    bad = runner.invoke(app, ["compare", str(exercise), str(plan), "--alarm", "770", "-o", str(tmp_path / "o")])
    assert bad.exit_code == 2 and "no 'out' crossings at the exits of B1" in bad.output and "--buildings" in bad.output
    bad = runner.invoke(app, ["compare", str(exercise), str(plan), "--alarm", "900", "-o", str(tmp_path / "o")])
    assert bad.exit_code == 2 and "outside the recording, which holds 0 … 780 s" in bad.output
    bad = runner.invoke(app, ["replay", str(exercise), "--export", str(tmp_path / "f"), "--from", "900"])
    assert bad.exit_code == 2 and "outside the recording, which holds 0 … 780 s" in bad.output
    newer = newer_recording(exercise, tmp_path / "newer.sqlite", version=5)
    for cmd in (["compare", str(newer), str(plan)], ["replay", str(newer), "--html", str(tmp_path / "n.html")]):
        bad = runner.invoke(app, cmd)
        assert bad.exit_code == 2 and "recording schema 5 is newer than this Campus Twin reads (4)" in bad.output


def test_a_drill_the_model_cannot_explain_is_flagged(tmp_path: Path) -> None:
    """Half the people out in the first minute, half ten minutes later: no lognormal pre-movement fits that."""
    from scenarios.calibrate import ExitData

    path = write(five_halls(0, 2), tmp_path / "c.geojson")
    campus = load_campus(path)
    actual = {d: ExitData(d, b, np.array([40.0, 50.0, 600.0, 610.0]), np.array([40.0, 35.0, 40.0, 35.0]))
              for d, b in (("B1-D1", "B1"), ("B2-D1", "B2"))}
    plan = parse_scenario({"kind": "evacuation", "campus": str(path), "seed": 0}, "plan")
    cal = calibrate(actual, plan, campus, replications=1, uncertainty=False)
    assert cal.premovement_mean is not None
    assert any(w.startswith("poor fit of the pre-movement") for w in cal.warnings)


@given(st.lists(st.tuples(st.floats(0, 900), st.integers(1, 50)), min_size=1, max_size=40), st.floats(10, 300))
@settings(max_examples=60, deadline=None)
def test_curve_figures_are_consistent(events: list[tuple[float, int]], shift: float) -> None:
    """Curves only rise, t50 ≤ t90 ≤ t100, a curve is no distance from itself, and a copy ``shift`` s later is ``shift`` away."""
    from scenarios.calibrate import ExitData, quantile_times, time_gap

    e = ExitData("D", "B", np.array([t for t, _ in events]), np.array([n for _, n in events], dtype=float))
    grid = np.arange(1, 2000) * 1.0
    cum = e.cumulative(grid)
    assert np.all(np.diff(cum) >= 0) and cum[-1] == e.people
    q = quantile_times(cum, grid)
    assert q["t50_s"] <= q["t90_s"] <= q["t100_s"]
    assert time_gap(cum, cum, grid) == 0.0
    later = ExitData("D", "B", e.times + shift, e.counts).cumulative(grid)
    assert time_gap(cum, later, grid) == pytest.approx(shift, abs=1.0)  # the grid is 1 s


def test_coarse_tallies_set_the_time_step(tmp_path: Path) -> None:
    """Door sensors that report a tally every 30 s: the curves use 30 s steps, and the fit still recovers the drill."""
    from scenarios.calibrate import time_step

    path = write(five_halls(), tmp_path / "c.geojson")
    drill_to_store(path, tmp_path / "e.sqlite", every=30.0)
    campus = load_campus(path)
    record_exercise(tmp_path / "e.sqlite", campus, tmp_path / "x.sqlite", t_from=ALARM - 60, t_to=ALARM + 900)
    actual, _, _ = actual_exits(tmp_path / "x.sqlite", campus)
    assert time_step(actual) == 30.0
    # three replications per step: with two, the walk from each seat (people placed in their rooms) leaves enough
    # noise in the simulated curves that the sd lands 12 % off at 30 s steps; three give 3 %, four 2 %
    cal = calibrate(actual, parse_scenario({"kind": "evacuation", "campus": str(path), "seed": 0}, "plan"), campus, replications=3,
                    uncertainty=False)
    assert not cal.warnings and cal.flow_exits == ["B1-D1"]
    for got, want in ((cal.flow_door, TRUTH["flow_door"]), (cal.premovement_mean, TRUTH["mean"]), (cal.premovement_sd, TRUTH["sd"])):
        assert abs(got / want - 1) < 0.10

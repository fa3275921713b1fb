"""The synthetic feed plays a fire drill: people leave, counted by the site's door counters and level cameras;
the exercise cut from the store keeps the operators' actions and the forecasts."""

from __future__ import annotations

import shutil
import sqlite3
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from scenarios.feed_drill import DrillTruth, engine_drill
from sensors.drill import feed_store
from sensors.events import parse_event
from sensors.exercise import record_exercise
from sensors.ingest import Ingestor
from sensors.sources import synthetic_day
from sensors.store import EventStore
from tests.helpers import add, empty, line, point, rect, write
from twin.campus import Campus, load_campus
from twin.recording import Recording
from twin.registry import Registry

T0 = 1_772_359_200.0  # 2026-03-01 10:00 UTC: classes are on
FIRE_AT = 600.0
ALARM = FIRE_AT + 20  # the detector goes from pre-alarm to fire 20 s later


def hall() -> dict[str, Any]:
    """A two-storey teaching hall (generated interior) with two counted exits and one without a sensor, a camera per
    level, a smoke detector upstairs, a footway and an assembly area."""
    doc = empty()
    add(doc, rect(0, 0, 40, 20), id="H", kind="building", levels=2, use="teaching", occupants=240)
    add(doc, point(10, 20), id="H-D1", kind="door", building="H", level=0, width=1.2, counter=True)
    add(doc, point(30, 20), id="H-D2", kind="door", building="H", level=0, width=1.2, counter=True)
    add(doc, point(40, 10), id="H-D3", kind="door", building="H", level=0, width=1.0)
    for lv in (0, 1):
        add(doc, point(2, 10), id=f"CAM-L{lv}", kind="camera", building="H", level=lv, heading=90, fov=90)
    add(doc, point(20, 10), id="SD1", kind="detector", type="smoke", building="H", level=1)
    add(doc, line((10, 20), (10, 30)), id="FW1", kind="footway", width=3)
    add(doc, line((30, 20), (30, 30)), id="FW2", kind="footway", width=3)
    add(doc, line((40, 10), (50, 10), (50, 30)), id="FW3", kind="footway", width=3)
    add(doc, line((0, 30), (60, 30)), id="FW", kind="footway", width=4)
    add(doc, rect(20, 40, 40, 60), id="A1", kind="assembly")
    add(doc, line((30, 30), (30, 40)), id="FW-A", kind="footway", width=4)
    return doc


@pytest.fixture(scope="module")
def campus(tmp_path_factory: pytest.TempPathFactory) -> Campus:
    return load_campus(write(hall(), tmp_path_factory.mktemp("hall") / "campus.geojson"))


@pytest.fixture(scope="module")
def day(campus: Campus) -> list[dict[str, Any]]:
    model = engine_drill(campus, DrillTruth(premovement_mean=40.0, premovement_sd=15.0, flow_door=1.0), seed=3)
    return synthetic_day(campus, seed=2, start=T0, duration=3 * 3600, interval=30, fire_at=FIRE_AT, fire_detector="SD1",
                         drill=model)


def _in_out(events: list[dict[str, Any]], t0: float, t1: float) -> Counter[str]:
    n: Counter[str] = Counter()
    for e in events:
        if e["kind"] == "crossing" and e["sensor_id"].startswith("H-") and t0 <= e["ts"] - T0 < t1:
            n[e["direction"]] += e["count"]
    return n


def test_the_alarm_empties_the_building_through_its_counted_doors(campus: Campus, day: list[dict[str, Any]]) -> None:
    reg = Registry(campus)
    assert sorted(s.id for s in reg.by_type["door"]) == ["H-D1", "H-D2"]  # the counters; H-D3 has no sensor
    assert all(reg.check(e["sensor_id"], e["kind"]) is None and not isinstance(parse_event(e, now=T0 + 86_400), list)
               for e in day)
    inside = _in_out(day, 0, ALARM)
    people = inside["in"] - inside["out"]
    assert people > 100  # classes are on: the counters hold most of the 240 design occupants
    fire = next(e for e in day if e["kind"] == "fire" and e["state"] == "fire")
    clear = next(e for e in day if e["sensor_id"] == "SD1" and e["kind"] == "fire" and e["state"] == "normal")
    drill = _in_out(day, ALARM, clear["ts"] - T0)
    # nobody comes in during the drill; out through the counted doors: everyone but those who took the uncounted H-D3
    assert drill["in"] == 0 and 0.5 * people < drill["out"] <= people
    # the cameras follow the drill: each level holds people at the alarm and nobody before the all-clear
    for cam in ("CAM-L0", "CAM-L1"):
        counts = [(e["ts"] - fire["ts"], e["count"]) for e in day if e["sensor_id"] == cam and ALARM <= e["ts"] - T0 < clear["ts"] - T0]
        assert counts[0][1] > 0 and counts[-1][1] == 0
        assert max(n for t, n in counts if t > 300) < counts[0][1]
    # after the all-clear the counted people go back in through the doors they left by
    back = _in_out(day, clear["ts"] - T0, clear["ts"] - T0 + 400)
    assert back["in"] >= drill["out"]


def test_a_stored_drill_keeps_the_operators_actions_and_the_forecasts(campus: Campus, day: list[dict[str, Any]],
                                                                      tmp_path: Path) -> None:
    st = EventStore(tmp_path / "e.sqlite", campus_digest=campus.digest, campus_path=str(campus.source))
    ing = Ingestor(campus, st, clock=lambda: T0 + 86_400)
    fire = next(e for e in day if e["kind"] == "fire" and e["state"] == "fire")
    calls: list[int] = []
    done = feed_store(ing, day, settle=lambda: calls.append(1), operator="trainer", ack_after=40)
    # a forecast as the forecaster stores it (scenarios.forecast: at the fire's time, made latency_s later)
    fc = {"scope": "building", "building": "H", "evacuation_time_s": 410.0, "building_clearance_s": 380.0, "latency_s": 0.8}
    ing.submit([{"sensor_id": "twin", "ts": fire["ts"], "kind": "forecast", "forecast": fc}], allow_twin=True)
    stored = st.count()
    ing.close()
    assert done["stored"] == len(day) == stored - 1 and done["alarm"]["id"] == "SD1:fire"
    assert len(calls) >= 5  # the drill went in in steps
    assert [a["action"] for a in done["actions"]] == ["ack", "note", "clear"]
    rec_path = tmp_path / "x.sqlite"
    made = record_exercise(tmp_path / "e.sqlite", campus, rec_path, t_from=T0 + FIRE_AT - 60, t_to=T0 + 3 * 3600 - 1)
    assert made["operator_actions"] == 3 and made["forecasts"] == 1
    rec = Recording(rec_path)
    ack = rec.actions[0]
    assert (ack["action"], ack["user"], ack["alarm"], ack["t"], ack["alarm_t0"]) == ("ack", "trainer", "SD1:fire", 120.0, 80.0)
    assert "wardens" in ack["note"] and rec.actions[2]["action"] == "clear"
    assert rec.forecast_at(80.5) is None and rec.forecast_at(81.0)["building_clearance_s"] == 380.0
    assert rec.forecast_at(81.0, "campus") is None and [a["action"] for a in rec.actions_until(ack["t"])] == ["ack"]
    # a recording written before the two tables existed still reads: no actions, no forecasts
    old = tmp_path / "old.sqlite"
    shutil.copy(rec_path, old)
    con = sqlite3.connect(old)
    con.executescript("DROP TABLE operator_actions; DROP TABLE forecasts;")
    con.close()
    legacy = Recording(old)
    assert legacy.actions == [] and legacy.forecasts == [] and legacy.is_exercise and len(legacy.alarms) == len(rec.alarms)

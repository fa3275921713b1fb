"""The hazard ledger: findings and status moves (twin.hazards), the twin hazard commands, bad input, drills as inspected."""

from __future__ import annotations

import json
import sqlite3
import time
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from tests.helpers import TINY, add, line, point, rect, tiny, write
from twin.campus import load_campus
from twin.cli.main import app as cli
from twin.hazards import HazardError, HazardLedger

DAY = 86_400.0
PNG = b"\x89PNG\r\n\x1a\n" + b"\0" * 32


@pytest.fixture(scope="module")
def two_exits(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tiny example with a second exit (east, through the stair) and an assembly area beside it."""
    d = tiny()
    add(d, point(20, 5), id="EXIT-E", kind="door", building="B1", level=0, width=1.2)
    add(d, line((20, 5), (40, 5)), id="FW2", kind="footway")
    add(d, rect(40, -10, 60, 20), id="A2", kind="assembly")
    return write(d, tmp_path_factory.mktemp("campus") / "two-exits.geojson")


@pytest.fixture(scope="module")
def campus(two_exits: Path) -> Any:
    return load_campus(two_exits)


def _rows(path: Path) -> tuple[int, int, int]:
    db = sqlite3.connect(path)
    try:
        return tuple(db.execute(f"SELECT count(*) FROM {t}").fetchone()[0]  # type: ignore[return-value]
                     for t in ("hazard_findings", "hazard_moves", "hazard_photos"))
    finally:
        db.close()


def test_finding_moves_open_fixed_verified_with_who_and_when(tmp_path: Path, campus: Any) -> None:
    led = HazardLedger(tmp_path / "s.sqlite", campus)
    t0 = time.time() - 3 * DAY
    f = led.add(feature="EXIT-E", kind="blocked_exit", note="chained shut", by="olga", found_at=t0, photo=PNG)
    assert f["status"] == "open" and f["in_force"] and f["building"] == "B1" and f["level"] == 0
    assert f["due"] > time.strftime("%Y-%m-%d", time.gmtime(t0)) and not f["overdue"]
    assert (led.photos / f["photos"][0]).read_bytes() == PNG  # beside the store, named by content
    led.move(f["id"], "fixed", by="olga", ts=t0 + DAY)
    assert led.findings(in_force=True)[0]["status"] == "fixed"  # in force until verified
    g = led.move(f["id"], "verified", by="vera", role="verifier", note="door free")
    assert [(m["status"], m["by"]) for m in g["moves"]] == [("open", "olga"), ("fixed", "olga"), ("verified", "vera")]
    assert g["fixed_at"] == t0 + DAY and g["closed_at"] is not None and not g["in_force"]
    assert led.findings(in_force=True) == []
    assert [x["status"] for x in led.findings(as_of=t0 + DAY / 2)] == ["open"]  # the ledger as it stood then
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        led.db.execute("UPDATE hazard_moves SET status = 'open'")
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        led.db.execute("DELETE FROM hazard_findings")


def test_a_map_point_and_a_narrowed_corridor(tmp_path: Path, campus: Any) -> None:
    led = HazardLedger(tmp_path / "s.sqlite", campus)
    p = led.add(at=(500005.0, 3377005.0), building="B1", level=1, kind="extinguisher_missing", note="bracket empty", by="olga")
    assert (p["feature"], p["building"], p["level"]) == (None, "B1", 1)
    n = led.add(feature="C0", kind="narrowed", width=0.8, note="desks stored", by="olga")
    assert n["width"] == 0.8


@pytest.mark.parametrize(("kw", "field", "words"), [
    ({"feature": "NOPE"}, "feature", "no feature 'NOPE'"),
    ({"feature": "C0", "kind": "narrowed", "width": 2.5}, "width", "not narrower than 'C0' itself (2.00 m)"),
    ({"feature": "C0", "kind": "narrowed"}, "width", "needs the remaining clear width"),
    ({"due": "2001-01-01"}, "due", "due date 2001-01-01 is before the finding"),
    ({"due": "next week"}, "due", "write YYYY-MM-DD"),
    ({"kind": "wobbly"}, "kind", "unknown kind 'wobbly'"),
    ({"feature": "A1"}, "feature", "'A1' is a assembly"),
    ({"feature": "SD-R0a", "kind": "blocked_exit"}, "feature", "a blocked_exit finding goes on a door or stair"),
    ({"note": " "}, "note", "note saying what was found is missing"),
    ({"photo": b"GIF89a"}, "photo", "JPEG or PNG"),
    ({"role": "viewer"}, "role", "a viewer may not add a finding"),
])
def test_bad_findings_name_their_field_and_write_nothing(tmp_path: Path, campus: Any, kw: dict, field: str, words: str) -> None:
    led = HazardLedger(tmp_path / "s.sqlite", campus)
    args = {"feature": "EXIT-E", "kind": "blocked_exit", "note": "blocked", "by": "olga"} | kw
    with pytest.raises(HazardError) as e:
        led.add(**args)
    assert any(p.field == field and words in p.message for p in e.value.problems), e.value.problems
    assert _rows(led.path) == (0, 0, 0)
    assert not led.photos.exists()


def test_illegal_moves_and_roles_are_refused(tmp_path: Path, campus: Any) -> None:
    led = HazardLedger(tmp_path / "s.sqlite", campus)
    f = led.add(feature="EXIT-W", kind="door_not_closing", note="closer broken", by="olga")
    with pytest.raises(HazardError, match="is open: it cannot be verified"):
        led.move(f["id"], "verified", by="vera")
    led.move(f["id"], "fixed", by="olga")
    with pytest.raises(HazardError, match="an operator may not move a finding to verified"):
        led.move(f["id"], "verified", by="olga", role="operator")
    with pytest.raises(HazardError, match="a viewer may not move a finding to open"):
        led.move(f["id"], "open", by="val", role="viewer")
    with pytest.raises(HazardError, match="no finding 99"):
        led.move(99, "fixed", by="olga")
    led.move(f["id"], "open", by="vera", role="verifier", note="still sticks")  # the fix did not hold
    led.move(f["id"], "rejected", by="adam", role="admin")
    with pytest.raises(HazardError, match="is rejected: it cannot be fixed \\(it is closed\\)"):
        led.move(f["id"], "fixed", by="olga")
    assert _rows(led.path)[1] == 4


def test_a_store_of_another_campus_is_refused(tmp_path: Path, campus: Any) -> None:
    from sensors.store import EventStore

    EventStore(tmp_path / "s.sqlite", campus_digest=campus.digest).close()
    with pytest.raises(HazardError, match="belongs to another campus") as e:
        HazardLedger(tmp_path / "s.sqlite", load_campus(TINY))
    assert e.value.problems[0].field == "campus"
    HazardLedger(tmp_path / "bare.sqlite", campus).add(feature="D0a", kind="other", note="x", by="olga")
    with pytest.raises(HazardError, match="belongs to another campus"):  # no event store: the findings say
        HazardLedger(tmp_path / "bare.sqlite", load_campus(TINY), readonly=True)


def test_cli_add_list_fix_verify_and_clear_errors(tmp_path: Path, two_exits: Path) -> None:
    r = CliRunner()
    s = str(tmp_path / "s.sqlite")
    users = tmp_path / "users.json"
    from twin.auth import Users

    u = Users(users)
    u.add("olga", "operator", "correct-horse-1")
    u.add("vera", "verifier", "correct-horse-2")
    res = r.invoke(cli, ["hazard", "add", "--store", s, "--campus", str(two_exits), "--feature", "EXIT-E", "--kind",
                         "narrowed", "--width", "0.6", "--note", "boxes", "--by", "olga", "--users", str(users), "--json"])
    assert res.exit_code == 0, res.output
    fid = json.loads(res.stdout)["id"]
    res = r.invoke(cli, ["hazard", "add", "--store", s, "--feature", "EXIT-E", "--kind", "narrowed", "--width", "9",
                         "--due", "2001-01-01", "--note", "x", "--by", "olga"])
    assert res.exit_code == 2 and "Traceback" not in res.output
    assert "key 'width'" in res.stderr and "key 'due'" in res.stderr and "2 problems" in res.stderr
    res = r.invoke(cli, ["hazard", "verify", str(fid), "--store", s, "--by", "vera"])
    assert res.exit_code == 2 and "is open: it cannot be verified" in res.stderr
    res = r.invoke(cli, ["hazard", "fix", str(fid), "--store", s, "--by", "nobody", "--users", str(users)])
    assert res.exit_code == 2 and "no user 'nobody'" in res.stderr
    assert r.invoke(cli, ["hazard", "fix", str(fid), "--store", s, "--by", "olga", "--users", str(users)]).exit_code == 0
    res = r.invoke(cli, ["hazard", "verify", str(fid), "--store", s, "--by", "olga", "--users", str(users)])
    assert res.exit_code == 2 and "an operator may not move a finding to verified" in res.stderr
    assert r.invoke(cli, ["hazard", "verify", str(fid), "--store", s, "--by", "vera", "--users", str(users)]).exit_code == 0
    res = r.invoke(cli, ["hazard", "list", "--store", s, "--json"])
    assert [f["status"] for f in json.loads(res.stdout)] == ["verified"]
    assert json.loads(r.invoke(cli, ["hazard", "list", "--store", s, "--open", "--json"]).stdout) == []
    res = r.invoke(cli, ["hazard", "list", "--store", s, "--campus", str(TINY)])
    assert res.exit_code == 2 and "belongs to another campus" in res.stderr
    res = r.invoke(cli, ["hazard", "list", "--store", str(tmp_path / "none.sqlite")])
    assert res.exit_code == 2 and "no such file" in res.stderr


def _drill(r: CliRunner, path: Path, *extra: str) -> dict[str, Any]:
    res = r.invoke(cli, ["run", str(path), "--json", "-j", "1", *extra])
    assert res.exit_code == 0, res.output
    return json.loads(res.stdout)


def test_a_blocked_exit_changes_the_drill_until_verified(tmp_path: Path, two_exits: Path) -> None:
    r = CliRunner()
    base = tmp_path / "base.toml"
    base.write_text(f'kind = "evacuation"\ncampus = "{two_exits}"\nseed = 1\n')
    before = _drill(r, base)
    busiest = max(before["by_exit"], key=before["by_exit"].get)
    assert busiest == "EXIT-E"
    led = HazardLedger(tmp_path / "s.sqlite", load_campus(two_exits))
    f = led.add(feature=busiest, kind="blocked_exit", note="chained shut", by="olga")
    insp = tmp_path / "insp.toml"
    insp.write_text(base.read_text() + 'hazards = "s.sqlite"\n')
    blocked = _drill(r, insp)
    assert busiest not in blocked["by_exit"] and blocked["by_exit"]["EXIT-W"] == before["occupants"]
    assert blocked["evacuation_time_s"] != before["evacuation_time_s"] and blocked["trapped"] == 0
    assert blocked["hazards"]["blocked"] == [busiest]
    assert blocked["hazards"]["findings"][0]["effect"] == "EXIT-E closed: nobody passes"
    live = tmp_path / "live.toml"  # "open": the ledger of the store the server writes, given to twin run
    live.write_text(base.read_text() + 'hazards = "open"\n')
    assert _drill(r, live, "--store", str(tmp_path / "s.sqlite"))["by_exit"] == blocked["by_exit"]
    res = r.invoke(cli, ["run", str(live), "--json"])
    assert res.exit_code == 2 and "twin run --store" in res.stderr and "Traceback" not in res.output
    led.move(f["id"], "fixed", by="olga")
    assert _drill(r, insp)["by_exit"] == blocked["by_exit"]  # fixed is not yet verified
    led.move(f["id"], "verified", by="vera", role="verifier")
    after = _drill(r, insp)
    assert (after["evacuation_time_s"], after["by_exit"]) == (before["evacuation_time_s"], before["by_exit"])


def test_narrowed_and_faulty_findings_as_inspected(tmp_path: Path, two_exits: Path) -> None:
    from scenarios.hazards import as_inspected
    from scenarios.schema import parse_scenario

    c = load_campus(two_exits)
    led = HazardLedger(tmp_path / "s.sqlite", c)
    led.add(feature="EXIT-E", kind="narrowed", width=0.5, note="crates", by="olga")
    led.add(feature="SD-R0a", kind="detector_fault", note="fault light", by="olga")
    sc = parse_scenario({"kind": "evacuation", "campus": str(two_exits), "hazards": "s.sqlite"}, str(tmp_path / "x.toml"))
    got = as_inspected(sc, c, source=str(tmp_path / "x.toml"))
    assert got.campus.features.at["EXIT-E", "width"] == 0.5 and got.scenario.blocked == []
    effects = {f["kind"]: f["effect"] for f in got.findings}
    assert effects["narrowed"] == "EXIT-E narrowed from 1.20 m to 0.50 m"
    assert effects["detector_fault"].startswith("cannot raise an alarm; no working detector in R0a")
    missing = parse_scenario({"kind": "evacuation", "campus": str(two_exits), "hazards": "nope.sqlite"}, "x.toml")
    with pytest.raises(Exception, match="no such event store") as e:
        as_inspected(missing, c, source="x.toml")
    assert e.value.problems[0].field == "hazards"
    live = parse_scenario({"kind": "evacuation", "campus": str(two_exits), "hazards": "open"}, "x.toml")
    with pytest.raises(Exception, match="store of the running server"):
        as_inspected(live, c, source="x.toml")
    assert as_inspected(live, c, store=led.path).campus.features.at["EXIT-E", "width"] == 0.5


def test_synthetic_year_is_reproducible(tmp_path: Path, demo: Any) -> None:
    from sensors.sources import synthetic_findings

    end = 1767225600.0  # 2026-01-01T00:00Z
    counts = []
    for name in ("a", "b"):
        led = HazardLedger(tmp_path / f"{name}.sqlite", demo)
        n = synthetic_findings(led, year=2025, per_month=5, seed=3, now=end)
        counts.append((n, [(f["feature"], f["kind"], f["status"]) for f in led.findings()]))
    assert counts[0] == counts[1] and 30 < counts[0][0] < 100
    kinds = {k for _, k, _ in counts[0][1]}
    assert {"blocked_exit", "narrowed", "detector_fault"} <= kinds
    statuses = [s for _, _, s in counts[0][1]]
    assert statuses.count("verified") > len(statuses) / 2


def test_report_counts_the_closed_loop(tmp_path: Path, campus: Any) -> None:
    import datetime as dt

    from viz.hazard_report import hazard_summary

    led = HazardLedger(tmp_path / "s.sqlite", campus)
    jan = dt.datetime(2025, 1, 6, 10, tzinfo=dt.UTC).timestamp()
    for i, fix_days in enumerate((2, 4, 10, None)):  # the last is never fixed, and overdue
        f = led.add(feature="EXIT-W" if i % 2 else "D0a", kind="door_not_closing", note="closer", by="olga", found_at=jan + i * DAY)
        if fix_days is not None:
            led.move(f["id"], "fixed", by="olga", ts=jan + (i + fix_days) * DAY)
            led.move(f["id"], "verified", by="vera", role="verifier", ts=jan + (i + fix_days + 1) * DAY)
    s = hazard_summary(led.findings(), start=dt.date(2025, 1, 1), end=dt.date(2025, 3, 31), campus="tiny")
    t = s["totals"]
    assert (t["found"], t["fixed"], t["verified"], t["open"], t["overdue"]) == (4, 3, 3, 1, 1)
    assert t["fix_days_median"] == 4.0 and s["fix_days"] == [2.0, 4.0, 10.0]
    assert [(m["month"], m["found"], m["fixed"], m["in_force_at_end"], m["overdue_at_end"]) for m in s["monthly"]] == [
        ("2025-01", 4, 3, 1, 0), ("2025-02", 0, 0, 1, 1), ("2025-03", 0, 0, 1, 1)]
    assert s["by_building"]["B1"]["found"] == 4
    res = CliRunner().invoke(cli, ["hazard", "report", "--store", str(led.path), "-o", str(tmp_path / "r2"), "--from", "2025-01-01",
                                   "--to", "2025-03-31", "--json", "--campus", str(campus.source)])
    assert res.exit_code == 0, res.output
    doc = json.loads(res.stdout)
    assert doc["totals"] == t  # the command reports what hazard_summary computes
    files = {k: Path(v) for k, v in doc["files"].items()}
    page = files["report"].read_text()
    assert "4 found · 3 fixed" in page and "<script" not in page and page.count("data:image/png") == 5
    assert files["monthly"].read_text().splitlines()[1] == "2025-01,4,3,3,1,0,4.0,8.8"  # fixes of 2, 4 and 10 days
    assert files["by_kind"].read_text().splitlines()[1].startswith("door_not_closing,4,3,3,0,1,1,4.0,")
    bad = CliRunner().invoke(cli, ["hazard", "report", "--store", str(led.path), "-o", str(tmp_path / "r3"), "--from", "Jan",
                                   "--campus", str(campus.source)])
    assert bad.exit_code == 2 and "key '--from'" in bad.stderr and "YYYY-MM-DD" in bad.stderr


def test_live_state_and_forecast_follow_the_findings_in_force(tmp_path: Path, demo: Any) -> None:
    from scenarios.forecast import make_forecast
    from scenarios.hazards import rooms_without_detector
    from twin.state import LiveState

    led = HazardLedger(tmp_path / "s.sqlite", demo)
    led.add(feature="TB1-L0-X2", kind="blocked_exit", note="chained", by="olga")
    led.add(feature="TB1-L0-SD03", kind="detector_fault", note="fault light", by="olga")
    dark = rooms_without_detector(demo, ["TB1-L0-SD03"])
    assert list(dark.values()) == [["TB1-L0-SD03"]]
    state = LiveState(demo)
    state.set_hazards(led.findings(in_force=True))
    assert [b["node"] for b in state.blocked()] == ["TB1-L0-X2"] and len(state.snapshot()["hazards"]) == 2
    fire = {"sensor_id": "TB1-L2-SD01", "ts": 1_772_323_200.0, "kind": "fire", "state": "fire"}
    door = next((s.id for s in state.registry.by_type.get("door", []) if s.building == "TB1"), None)
    if door:  # TB1 counted at its doors (else assumed full): 400 people in it
        state.apply(1, {"sensor_id": door, "ts": fire["ts"] - 60, "kind": "crossing", "direction": "in", "count": 400})
    state.apply(2, fire)
    fc = make_forecast(state, fire, scope="building")
    assert fc["occupants"] > 0 and "TB1-L0-X2" in fc["blocked"] and all(r["exit"] != "TB1-L0-X2" for r in fc["routes"]["TB1"])
    assert fc["no_working_detector"] == sorted(dark) and {h["kind"] for h in fc["hazards"]} == {"blocked_exit", "detector_fault"}


def test_a_narrowed_exit_slows_the_live_forecast(tmp_path: Path, campus: Any) -> None:
    from scenarios.forecast import make_forecast
    from scenarios.hazards import narrowed_campus
    from twin.state import LiveState

    fire = {"sensor_id": "SD-R0a", "ts": 1_772_323_200.0, "kind": "fire", "state": "fire"}
    times = {}
    for width in (None, 0.3):
        led = HazardLedger(tmp_path / f"{width}.sqlite", campus)
        for exit_id in ("EXIT-E", "EXIT-W"):
            if width is not None:
                led.add(feature=exit_id, kind="narrowed", width=width, note="crates", by="olga")
        state = LiveState(campus)
        state.set_hazards(led.findings(in_force=True))
        state.apply(1, fire)
        fc = make_forecast(state, fire, scope="building")
        times[width] = fc["evacuation_time_s"]
    assert {h["width"] for h in fc["hazards"]} == {0.3}
    # two 0.3 m exits instead of 1.2 m ones: slower, and they are the worst bottlenecks, though most people now
    # take the building's third exit (287 s -> 471 s; before people chose their own doors it was 279 s -> 829 s)
    assert times[0.3] > 1.3 * times[None]
    assert fc["bottlenecks"][0]["id"] in ("EXIT-E", "EXIT-W")
    again = narrowed_campus(campus, state.hazards())
    assert again is narrowed_campus(campus, list(reversed(state.hazards())))  # built once, kept
    assert again.features.at["EXIT-E", "width"] == 0.3 and narrowed_campus(campus, []) is campus

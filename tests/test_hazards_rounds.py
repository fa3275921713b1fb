"""Inspection rounds (twin.hazard_rounds): the checklist from the campus, items marked ok or raised as findings, the monthly
schedule, `twin hazard round`, and the console's round routes with their roles."""

from __future__ import annotations

import json
import sqlite3
import time
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from tests.helpers import add, point, tiny, write
from twin.campus import load_campus
from twin.cli.main import app as cli
from twin.hazard_rounds import Rounds, checklist
from twin.hazards import HazardError, HazardLedger

DAY = 86_400.0
PNG = b"\x89PNG\r\n\x1a\n" + b"\0" * 32


def quick_users(path: Path, roles: dict[str, str]) -> Any:
    """A users file of ``name: role``, password ``<name>-password-1``, hashed at a low scrypt cost (the cost is kept in
    each hash, so logins check it as cheaply: the tests log in often, and hashing at the default cost takes ~0.3 s)."""
    from twin.auth import USERS_VERSION, Users, hash_password

    users = {n: {"role": r, "hash": hash_password(f"{n}-password-1", log2_n=8, p=1)} for n, r in roles.items()}
    path.write_text(json.dumps({"version": USERS_VERSION, "users": users}))
    return Users(path)


@pytest.fixture(scope="module")
def campus_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tiny example with a manual call point beside its smoke detector."""
    d = tiny()
    add(d, point(3, 3), id="MCP-0", kind="detector", type="manual_call_point", building="B1", level=0)
    return write(d, tmp_path_factory.mktemp("campus") / "rounds.geojson")


@pytest.fixture(scope="module")
def campus(campus_file: Path) -> Any:
    return load_campus(campus_file)


def test_the_checklist_comes_from_the_campus(campus: Any) -> None:
    items = [(i["level"], i["check"], i["feature"]) for i in checklist(campus, "B1")]
    assert items == [(None, "stair", "S1"), (0, "exit", "EXIT-W"), (0, "detector", "SD-R0a"), (0, "call_point", "MCP-0"),
                     (0, "extinguisher", "C0"), (1, "extinguisher", "C1")]
    assert checklist(campus, "NOPE") == []


def test_a_round_marks_items_ok_or_raises_findings_and_is_due_monthly(tmp_path: Path, campus: Any) -> None:
    led = HazardLedger(tmp_path / "s.sqlite", campus)
    rounds = Rounds(led)
    t0 = time.time() - 40 * DAY
    assert rounds.schedule()[0]["last_round"] is None  # never inspected: due today
    r = rounds.start("B1", by="olga", ts=t0)
    rounds.mark(r["id"], "EXIT-W", by="olga", ts=t0 + 60)
    with pytest.raises(HazardError) as e:  # the finding is refused: no check is stored either
        rounds.mark(r["id"], "C0", by="olga", kind="narrowed", width=9.0, note="desks", ts=t0 + 120)
    assert e.value.problems[0].field == "width" and rounds.get(r["id"])["marked"] == 1
    r = rounds.mark(r["id"], "C0", by="olga", kind="narrowed", width=0.9, note="desks", ts=t0 + 120)
    item = next(i for i in r["items"] if i["feature"] == "C0")
    assert item["result"] == "finding" and led.get(item["finding"])["width"] == 0.9
    for feature, field, words in (("EXIT-W", "feature", "already marked ok"), ("D0a", "feature", "not on the checklist"),
                                  ("S1", "ts", "started after")):
        with pytest.raises(HazardError) as e:
            rounds.mark(r["id"], feature, by="olga", ts=t0 - 1 if field == "ts" else t0 + 200)
        assert e.value.problems[0].field == field and words in e.value.problems[0].message
    with pytest.raises(HazardError, match="round 1 of B1 is not complete \\(2 of 6 items marked\\)"):
        rounds.start("B1", by="olga")
    with pytest.raises(HazardError, match="a viewer may not mark"):
        rounds.mark(r["id"], "S1", by="val", role="viewer")
    for name in ("S1", "SD-R0a", "MCP-0", "C1"):
        r = rounds.mark(r["id"], name, by="olga", ts=t0 + 300)
    assert r["complete"] and (r["ok"], r["findings"]) == (5, 1)
    s = rounds.schedule()[0]
    assert (s["building"], s["last_round"], s["last_findings"], s["overdue"]) == ("B1", 1, 1, True)  # 40 days > 30
    rounds.start("B1", by="olga")
    assert not rounds.schedule()[0]["overdue"]
    for bad, field in ((("NOPE",), "building"), (("FW1",), "building")):
        with pytest.raises(HazardError) as e:
            rounds.start(*bad, by="olga")
        assert e.value.problems[0].field == field
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        led.db.execute("DELETE FROM hazard_checks")


def test_cli_round_start_mark_show_schedule(tmp_path: Path, campus_file: Path) -> None:
    r = CliRunner()
    s = str(tmp_path / "s.sqlite")
    res = r.invoke(cli, ["hazard", "round", "start", "--store", s, "--campus", str(campus_file), "--building", "B1",
                         "--by", "olga", "--json"])
    assert res.exit_code == 0, res.output
    rid = str(json.loads(res.stdout)["id"])
    assert r.invoke(cli, ["hazard", "round", "mark", rid, "--store", s, "--feature", "EXIT-W", "--ok", "--by", "olga"]).exit_code == 0
    res = r.invoke(cli, ["hazard", "round", "mark", rid, "--store", s, "--feature", "SD-R0a", "--kind", "detector_fault",
                         "--note", "fault light on", "--by", "olga"])
    assert res.exit_code == 0 and "finding 1 (detector_fault)" in res.stdout
    res = r.invoke(cli, ["hazard", "round", "mark", rid, "--store", s, "--feature", "S1", "--by", "olga"])
    assert res.exit_code == 2 and "give --ok or --kind" in res.stderr
    res = r.invoke(cli, ["hazard", "round", "mark", "7", "--store", s, "--feature", "S1", "--ok", "--by", "olga"])
    assert res.exit_code == 2 and "key 'round': no inspection round 7" in res.stderr and "Traceback" not in res.output
    shown = json.loads(r.invoke(cli, ["hazard", "round", "show", rid, "--store", s, "--json"]).stdout)
    assert (shown["marked"], shown["findings"], shown["complete"]) == (2, 1, False)
    sched = json.loads(r.invoke(cli, ["hazard", "round", "schedule", "--store", s, "--json"]).stdout)
    assert [(b["building"], b["last_round"], b["last_complete"]) for b in sched] == [("B1", 1, False)]
    assert "not complete" in r.invoke(cli, ["hazard", "round", "schedule", "--store", s]).stdout


def test_console_rounds_photos_and_roles(tmp_path: Path, campus: Any) -> None:
    from sensors.ingest import Ingestor
    from sensors.store import EventStore
    from viz.live.app import create_app

    users = quick_users(tmp_path / "users.json", {"vic": "viewer", "olga": "operator"})
    ing = Ingestor(campus, EventStore(tmp_path / "e.sqlite", campus_digest=campus.digest))
    origin = {"Origin": "http://testserver"}
    try:
        with TestClient(create_app(ing, users=users)) as c:
            def log_in(name: str) -> dict[str, str]:
                res = c.post("/login", json={"username": name, "password": f"{name}-password-1"}, headers=origin)
                assert res.status_code == 200, res.text
                return origin | {"X-CSRF-Token": res.json()["csrf"]}

            h = log_in("vic")
            assert c.get("/api/hazards/rounds").json()["rounds"][0]["building"] == "B1"
            assert c.post("/api/hazards/rounds", json={"building": "B1"}, headers=h).status_code == 403
            assert c.post("/api/hazards/1/photo", content=PNG, headers=h).status_code == 403
            h = log_in("olga")
            assert c.post("/api/hazards/rounds", json={"building": "NOPE"}, headers=h).json()["problems"][0]["field"] == "building"
            rid = c.post("/api/hazards/rounds", json={"building": "B1"}, headers=h).json()["round"]["id"]
            res = c.post(f"/api/hazards/rounds/{rid}/mark", json={"feature": "EXIT-W", "kind": "blocked_exit",
                                                                  "note": "chairs"}, headers=h)
            assert res.status_code == 200 and res.json()["round"]["findings"] == 1
            assert [b["node"] for b in ing.state.blocked()] == ["EXIT-W"]  # raised in a round: on the live state at once
            assert c.post(f"/api/hazards/rounds/{rid}/mark", json={"feature": "EXIT-W"}, headers=h).status_code == 422
            assert c.post("/api/hazards/rounds/99/mark", json={"feature": "S1"}, headers=h).status_code == 404
            assert c.get(f"/api/hazards/rounds/{rid}").json()["round"]["marked"] == 1
            c.post(f"/api/hazards/rounds/{rid}/mark", json={"feature": "SD-R0a", "kind": "detector_fault", "note": "fault"},
                   headers=h)
            assert c.get("/api/hazards").json()["no_working_detector"] == ["R0a"]  # the panel says where no alarm can come from
            # a photo of the place: stored beside the store, named by its content, served to the panel
            fid = c.get(f"/api/hazards/rounds/{rid}").json()["round"]["items"][1]["finding"]
            res = c.post(f"/api/hazards/{fid}/photo", content=PNG, headers=h | {"Content-Type": "image/png"})
            assert res.status_code == 201, res.text
            name = res.json()["finding"]["photos"][0]
            got = c.get(f"/api/hazards/photos/{name}")
            assert got.content == PNG and got.headers["content-type"] == "image/png"
            bad = c.post(f"/api/hazards/{fid}/photo", content=b"GIF89a", headers=h)
            assert bad.status_code == 422 and bad.json()["problems"][0]["field"] == "photo"
            assert c.post("/api/hazards/99/photo", content=PNG, headers=h).status_code == 404
            assert c.get("/api/hazards/photos/..%2F..%2Fusers.json").status_code == 404
    finally:
        ing.close()

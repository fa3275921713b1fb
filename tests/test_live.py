"""The alarm workflow (ack, note, clear; latched alarms; audit; restart), the live view and its push, the demo feed."""

from __future__ import annotations

import json
import time

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from sensors.ingest import Ingestor
from sensors.sources import DemoFeed
from sensors.store import EventStore
from tests.helpers import tiny, write
from twin.audit import AuditLog
from twin.auth import Users
from twin.campus import load_campus
from twin.cli import app as cli
from twin.state import LiveState
from viz.live.app import create_app

KEY = "dev-key-7c1e"
ORIGIN = {"Origin": "http://testserver"}
DEVICE = {"Authorization": f"Bearer {KEY}"}


@pytest.fixture(scope="module")
def campus(tmp_path_factory):
    return load_campus(write(tiny(), tmp_path_factory.mktemp("c") / "tiny.geojson"))


@pytest.fixture(scope="module")
def users(tmp_path_factory):
    u = Users(tmp_path_factory.mktemp("u") / "users.json")
    u.add("olga", "operator", "olga-password-1")
    return u


class Live:
    """A server on one store, in process, logged in as olga; ``restart`` opens the same store again."""

    def __init__(self, campus, users, path):
        self.campus, self.users, self.path = campus, users, path
        self.client = None

    def start(self) -> TestClient:
        self.ing = Ingestor(self.campus, EventStore(self.path, campus_digest=self.campus.digest,
                                                    campus_path=str(self.campus.source)))
        self.client = TestClient(create_app(self.ing, users=self.users, device_keys=[KEY]))
        self.client.__enter__()
        r = self.client.post("/login", json={"username": "olga", "password": "olga-password-1"}, headers=ORIGIN)
        self.csrf = r.json()["csrf"]
        return self.client

    def stop(self) -> None:
        self.client.__exit__(None, None, None)
        self.ing.close()

    def post(self, *events):
        r = self.client.post("/api/events", json=list(events), headers=DEVICE)
        assert r.json()["accepted"] == len(events), r.text
        return r

    def act(self, alarm, action, **body):
        return self.client.post(f"/api/alarms/{alarm}/{action}", json=body, headers={**ORIGIN, "X-CSRF-Token": self.csrf})


@pytest.fixture
def live(campus, users, tmp_path):
    lv = Live(campus, users, tmp_path / "e.sqlite")
    lv.start()
    yield lv
    lv.stop()


def ev(sid, dt, kind, **kw):
    return {"sensor_id": sid, "ts": time.time() - 100 + dt, "kind": kind, **kw}


def test_ack_note_clear_workflow_survives_a_restart(live):
    live.post(ev("SD-R0a", 0, "fire", state="fire"))
    panel = live.client.get("/api/alarms").json()["alarms"]
    assert [(a["id"], a["active"], a["ack"]) for a in panel] == [("SD-R0a:fire", True, None)]
    since = panel[0]["since"]
    r = live.act("SD-R0a:fire", "clear", since=since)
    assert r.status_code == 409 and "still active" in r.json()["error"]  # only acknowledged while its source is active
    assert live.act("SD-R0a:fire", "ack", since=since + 5).status_code == 409  # the operator saw another instance
    assert live.act("nope:fire", "ack").status_code == 404
    t0 = time.time()
    r = live.act("SD-R0a:fire", "ack", since=since, note="guard sent to room R0a")
    assert r.status_code == 200 and r.json()["alarm"]["ack"]["user"] == "olga"
    assert live.act("SD-R0a:fire", "ack").status_code == 409 and "already acknowledged by olga" in live.act("SD-R0a:fire", "ack").text
    assert live.act("SD-R0a:fire", "note", text="x" * 2000).status_code == 422
    assert live.act("SD-R0a:fire", "note", text="smoke seen on camera").status_code == 200
    live.post(ev("SD-R0a", 30, "fire", state="normal"))  # the detector restores: the fire alarm latches
    a = live.client.get("/api/alarms").json()["alarms"][0]
    assert not a["active"] and a["restored"] is not None and [n["text"] for n in a["notes"]] == ["guard sent to room R0a", "smoke seen on camera"]
    assert live.client.get("/api/state").json()["alarms"] == []  # no active alarm, one on the panel

    live.stop()  # a restart shows the same panel: events + stored actions
    live.start()
    a2 = live.client.get("/api/alarms").json()["alarms"]
    assert [(x["id"], x["active"], x["ack"]["user"], len(x["notes"])) for x in a2] == [("SD-R0a:fire", False, "olga", 2)]
    r = live.act("SD-R0a:fire", "clear", since=since, note="false alarm: toaster")
    assert r.status_code == 200 and r.json()["alarm"] is None
    doc = live.client.get("/api/alarms").json()
    assert doc["alarms"] == [] and doc["history"][0]["alarm"] == "SD-R0a:fire" and doc["history"][0]["user"] == "olga"
    trail = live.client.get("/api/audit").json()["audit"]
    assert [(r["action"], r["user"], r["alarm"]) for r in trail] == [("ack", "olga", "SD-R0a:fire"), ("note", "olga", "SD-R0a:fire"),
                                                                   ("clear", "olga", "SD-R0a:fire")]
    assert all(t0 - 1 < r["ts"] < time.time() + 1 and r["since"] == since for r in trail)
    assert live.act("SD-R0a:fire", "ack").status_code == 404  # cleared: gone from the panel

    live.stop()
    live.start()
    assert live.client.get("/api/alarms").json()["alarms"] == []
    live.post(ev("SD-R0a", 60, "fire", state="fire"))  # the same detector again: a new instance, not acknowledged
    a3 = live.client.get("/api/alarms").json()["alarms"]
    assert a3[0]["since"] != since and a3[0]["ack"] is None and a3[0]["notes"] == []


def test_self_restoring_alarms_leave_the_panel_and_the_trail_is_append_only(live):
    live.post(ev("CAM1", 0, "alert", alert="crowding"), ev("CAM1", 1, "intrusion"))
    assert [a["kind"] for a in live.client.get("/api/alarms").json()["alarms"]] == ["intrusion", "alert:crowding"]
    live.post(ev("CAM1", 5, "alert", alert="crowding", active=False), ev("CAM1", 6, "intrusion", active=False))
    panel = live.client.get("/api/alarms").json()["alarms"]
    assert [(a["kind"], a["active"]) for a in panel] == [("intrusion", False)]  # crowding is not latching
    live.act("CAM1:intrusion", "clear")
    import sqlite3

    db = sqlite3.connect(live.path)
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        db.execute("DELETE FROM audit")
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        db.execute("UPDATE audit SET user = 'mallory'")
    db.close()


def test_twin_state_shows_the_panel_as_the_server_does(live):
    live.post(ev("SD-R0a", 0, "fire", state="fire"))
    live.act("SD-R0a:fire", "ack")
    r = CliRunner().invoke(cli, ["state", "--store", str(live.path), "--json"])
    assert r.exit_code == 0, r.output
    doc = json.loads(r.stdout)
    assert doc["panel"] == live.client.get("/api/state", params={"clock": "events"}).json()["panel"]
    assert doc["panel"][0]["ack"]["user"] == "olga"
    assert AuditLog(live.path, readonly=True).records()[0]["user"] == "olga"


def test_twin_state_reads_a_store_without_an_audit_table_and_leaves_it_unchanged(campus, tmp_path):
    store = EventStore(tmp_path / "plain.sqlite", campus_digest=campus.digest, campus_path=str(campus.source))
    store.append([ev("SD-R0a", 0, "fire", state="fire")])
    store.close()
    r = CliRunner().invoke(cli, ["state", "--store", str(tmp_path / "plain.sqlite"), "--json"])
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["panel"][0]["ack"] is None
    import sqlite3

    tables = {t for (t,) in sqlite3.connect(tmp_path / "plain.sqlite").execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert "audit" not in tables


def test_the_map_gets_a_new_alarm_pushed(live):
    live.post(ev("CAM1", 0, "count", count=7))
    with live.client.websocket_connect("/ws", headers=ORIGIN) as ws:
        first = json.loads(ws.receive_text())
        assert first["type"] == "view" and first["alarms"] == [] and first["events_applied"] == 1
        live.post({"sensor_id": "SD-R0a", "ts": time.time(), "kind": "fire", "state": "fire"})
        for _ in range(5):  # pushed, not polled: one of the next views carries it (latency: benchmarks/bench_alarm.py)
            v = json.loads(ws.receive_text())
            if v["alarms"]:
                break
        a = v["alarms"][0]
        assert a["id"] == "SD-R0a:fire" and a["covering"] == ["CAM1"] and a["building"] == "B1"
        assert v["strip"]["marks"][-1][1:] == ["SD-R0a:fire", "fire", 1, "start"]
        assert sum(m[2] for m in v["strip"]["minutes"]) == 1 and sum(m[1] for m in v["strip"]["minutes"]) == 2
        live.act("SD-R0a:fire", "ack")
        while True:
            v = json.loads(ws.receive_text())
            if v["alarms"][0]["ack"]:
                break
        assert v["audit"][-1]["user"] == "olga" and v["audit"][-1]["action"] == "ack"
    layout = live.client.get("/api/layout").json()
    assert set(layout["buildings"]) == {"B1"} and set(layout["sensors"]) >= {"SD-R0a", "CAM1"} and "CAM1" in layout["viewsheds"]


def test_the_strip_keeps_the_last_hour(campus, tmp_path):
    st = LiveState(campus)
    t0 = 1_800_000_000.0
    for k in range(0, 7200, 30):
        st.apply(k, {"sensor_id": "CAM1", "ts": t0 + k, "kind": "count", "count": 1})
    strip = st.strip()
    mins = [m[0] for m in strip["minutes"]]
    assert mins[-1] == (t0 + 7170) // 60 * 60 and mins[0] >= t0 + 7170 - 3600 - 60 and len(mins) <= 61
    assert all(n == 2 for _, n, _a in strip["minutes"][1:-1])


def test_demo_feed_backfills_an_hour_then_runs_live(campus, users, tmp_path):
    ing = Ingestor(campus, EventStore(tmp_path / "d.sqlite"))
    feed = DemoFeed(ing, fire_after=0.5, span=60.0, tick=0.05)
    with TestClient(create_app(ing, users=users, demo=feed)):
        n0 = ing.store.count()
        assert n0 > 30 and ing.state.clock <= time.time()  # the hour before the start
        deadline = time.time() + 30  # a wait, not a speed limit
        def fire() -> bool:
            return any(a["kind"] in ("pre_alarm", "fire") for a in ing.state.alarms())

        while not fire() and time.time() < deadline:
            time.sleep(0.05)
        assert fire()
        assert ing.store.count() > n0
    assert AuditLog(ing.store.path).records() == []
    ing.close()

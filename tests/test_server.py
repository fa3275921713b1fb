"""The ingest and state API in process, and the live CLI through Typer's runner (operator logins: tests/test_auth.py)."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from sensors.events import MAX_EVENT
from sensors.http import load_device_keys
from sensors.ingest import Ingestor
from sensors.store import EventStore
from tests.helpers import DEMO
from twin.auth import Users
from twin.cli import app
from viz.live.app import create_app

KEY = "k-3f9a1c"
AUTH = {"Authorization": f"Bearer {KEY}"}


@pytest.fixture(scope="module")
def users(tmp_path_factory):
    u = Users(tmp_path_factory.mktemp("users") / "users.json")
    u.add("olga", "operator", "olga-password-1")
    return u


@pytest.fixture
def client(demo, tmp_path, users):
    ing = Ingestor(demo, EventStore(tmp_path / "e.sqlite", campus_digest=demo.digest, campus_path=str(demo.source)))
    with TestClient(create_app(ing, users=users, device_keys=[KEY], max_body=256 * 1024)) as c:
        c.ingestor = ing
        r = c.post("/login", json={"username": "olga", "password": "olga-password-1"}, headers={"Origin": "http://testserver"})
        assert r.status_code == 200, r.text
        yield c
    ing.close()


def now(dt=0.0):
    return time.time() - 60 + dt


def test_no_request_without_a_valid_device_key_is_accepted(client):
    body = [{"sensor_id": "GATE-N", "ts": now(), "kind": "crossing", "direction": "in"}]
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": KEY}, {"Authorization": f"Basic {KEY}"},
                    {"Authorization": "Bearer "}):
        r = client.post("/api/events", json=body, headers=headers)
        assert r.status_code == 401, headers
        assert "device key" in r.json()["error"]
    assert client.ingestor.store.count() == 0
    assert client.post("/api/events", json=body, headers=AUTH).json()["accepted"] == 1


def test_a_body_is_split_stored_and_answered_off_the_event_loop(client, monkeypatch):
    """Decoding a batch and encoding its answer are most of a request's CPU: they run in a worker thread, so the
    event loop (other requests, the alarm posts among them, and the pushes to the maps) never waits for them."""
    import asyncio

    import sensors.http as http

    where: list[str] = []

    def in_loop() -> str:
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            return "worker thread"
        return "event loop"

    split = http.split_body
    monkeypatch.setattr(http, "split_body", lambda body: (where.append(in_loop()), split(body))[1])
    encode = http.JSONResponse.render
    monkeypatch.setattr(http.JSONResponse, "render", lambda self, content: (where.append(in_loop()), encode(self, content))[1])
    r = client.post("/api/events", json=[{"sensor_id": "GATE-N", "ts": now(), "kind": "crossing", "direction": "in"}], headers=AUTH)
    assert r.json()["accepted"] == 1 and where == ["worker thread", "worker thread"]


def test_malformed_events_rejected_with_reasons_valid_ones_kept(client):
    batch = [
        {"sensor_id": "GATE-N", "ts": now(), "kind": "crossing", "direction": "in", "count": 3, "seq": 1, "card": "0xBEEF"},
        {"sensor_id": "GATE-N", "ts": now(), "kind": "crossing", "direction": "in", "count": "three"},
        {"sensor_id": "NOPE-9", "ts": now(), "kind": "count", "count": 4},
        {"sensor_id": "CAM-01", "ts": now(), "kind": "count", "count": -2},
        {"sensor_id": "CAM-01", "ts": now(), "kind": "count", "count": 10**7},
        {"sensor_id": "CAM-01", "ts": time.time() + 7 * 86_400, "kind": "count", "count": 4},
        {"sensor_id": "TB1-L0-SD01", "ts": now(), "kind": "crossing", "direction": "in"},
        "not an object",
        {"sensor_id": "CAM-01", "ts": now(1), "kind": "count", "count": 17, "seq": 1},
        {"sensor_id": "GATE-N", "ts": now(), "kind": "crossing", "direction": "in", "count": 3, "seq": 1},
    ]
    r = client.post("/api/events", json=batch, headers=AUTH)
    assert r.status_code == 200
    doc = r.json()
    assert (doc["accepted"], doc["duplicate"], doc["rejected"]) == (2, 1, 7)
    res = doc["results"]
    assert [x["status"] for x in res] == ["accepted"] + ["rejected"] * 7 + ["accepted", "duplicate"]
    assert res[1]["field"] == "count" and "integer" in res[1]["reason"]
    assert res[2]["field"] == "sensor_id" and "unknown sensor 'NOPE-9'" in res[2]["reason"]
    assert res[3]["field"] == "count" and "greater than or equal to 0" in res[3]["reason"]
    assert res[4]["field"] == "count" and "less than or equal" in res[4]["reason"]
    assert res[5]["field"] == "ts" and "future" in res[5]["reason"]
    assert res[6]["field"] == "kind" and "detector cannot send 'crossing'" in res[6]["reason"]
    assert "JSON object" in res[7]["reason"]
    st = client.get("/api/state").json()
    assert st["occupancy"]["gate_balance"] == 3 and st["occupancy"]["zones"]["GATE-S-P"] == 17
    assert st["store"]["rejected:unknown_sensor"] == 1 and st["store"]["rejected:count"] == 3
    assert "BEEF" not in (client.ingestor.store.path.read_bytes() + Path(f"{client.ingestor.store.path}-wal").read_bytes()).decode("latin-1")


def test_ndjson_bad_lines_and_oversized(client):
    good = json.dumps({"sensor_id": "DORM1-D1", "ts": now(), "kind": "crossing", "direction": "in", "count": 2})
    huge = json.dumps({"sensor_id": "DORM1-D1", "ts": now(), "kind": "crossing", "direction": "in", "pad": "x" * MAX_EVENT})
    body = "\n".join([good, "{bad json", huge, good]) + "\n"
    r = client.post("/api/events", content=body, headers={**AUTH, "Content-Type": "application/x-ndjson"})
    res = r.json()["results"]
    assert [x["status"] for x in res] == ["accepted", "rejected", "rejected", "accepted"]
    assert "not valid JSON" in res[1]["reason"] and "bytes" in res[2]["reason"]
    r = client.post("/api/events", content="[" + ",".join([good] * 5000) + "]", headers=AUTH)
    assert r.status_code == 413 and "limit" in r.json()["error"]
    assert client.get("/api/state").json()["occupancy"]["buildings"]["DORM1"]["count"] == 4
    one = client.post("/api/events", content=good, headers=AUTH).json()
    assert one["accepted"] == 1
    r = client.post("/api/events", content="[{broken", headers=AUTH)  # cannot be split into events at all
    assert r.status_code == 400 and "never closed" in r.json()["error"]


def test_state_sensors_health_and_forecast_routes(client):
    assert client.get("/api/health").json()["ok"] is True
    sensors = client.get("/api/sensors").json()
    assert sensors["by_type"]["gate"] == 3 and len(sensors["sensors"]) == sum(sensors["by_type"].values())
    st = client.get("/api/state").json()
    assert st["events_applied"] == 0 and st["health"]["never_seen"] == len(sensors["sensors"])
    assert client.get("/api/forecast").json() == {}


def test_device_keys_from_file_and_environment(tmp_path):
    f = tmp_path / "keys"
    f.write_text("# gate controllers\ngate-north abc123\nxyz789\n\n")
    assert load_device_keys(f, env="k1, k2") == {"abc123", "xyz789", "k1", "k2"}
    assert load_device_keys(None, env="") == set()


# -- CLI ------------------------------------------------------------------------

runner = CliRunner()


def test_cli_state_replays_the_store(client):
    client.post("/api/events", json=[{"sensor_id": "POST-BASE", "ts": now(), "kind": "panic"},
                                     {"sensor_id": "DORM3-D2", "ts": now(), "kind": "crossing", "direction": "in", "count": 9}],
                headers=AUTH)
    path = client.ingestor.store.path
    r = runner.invoke(app, ["state", "--store", str(path), "--json"])
    assert r.exit_code == 0, r.output
    doc = json.loads(r.stdout)
    live = client.get("/api/state", params={"clock": "events"}).json()
    live.pop("store")
    assert doc == live
    later = doc["clock"] + 7200
    r = runner.invoke(app, ["state", "--store", str(path), "--json", "--now", str(later)])
    live = client.get("/api/state", params={"now": later}).json()
    live.pop("store")
    assert json.loads(r.stdout) == live and live["health"]["offline"] == 2  # silent for two hours
    wall = client.get("/api/state").json()
    assert wall["now"] >= time.time() - 5
    r = runner.invoke(app, ["state", "--store", str(path)])
    assert r.exit_code == 0 and "panic" in r.stdout and "DORM3" in r.stdout
    r = runner.invoke(app, ["state", "--store", str(path.parent / "missing.sqlite")])
    assert r.exit_code == 2 and "no such file" in r.output


def test_cli_feed_simulate_to_file_and_replay_over_http(demo, tmp_path, users):
    import uvicorn

    out = tmp_path / "day.ndjson"
    r = runner.invoke(app, ["feed", "simulate", str(DEMO), "-o", str(out), "--duration", "7200", "--interval", "600"])
    assert r.exit_code == 0, r.output
    lines = out.read_text().splitlines()
    assert len(lines) > 300
    ing = Ingestor(demo, EventStore(tmp_path / "e.sqlite"))
    from sensors.broker import free_port

    port = free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(ing, users=users, device_keys=[KEY]), host="127.0.0.1", port=port, log_level="error"))
    th = threading.Thread(target=server.run, daemon=True)
    th.start()
    try:
        while not server.started:
            time.sleep(0.02)
        r = runner.invoke(app, ["feed", "replay", str(out), "--to", f"http://127.0.0.1:{port}", "--key", KEY, "--batch", "100"])
        assert r.exit_code == 0, r.output
        res = json.loads(r.stdout)
        assert res["accepted"] == len(lines) == ing.store.count()
        r = runner.invoke(app, ["feed", "replay", str(out), "--to", f"http://127.0.0.1:{port}", "--key", "wrong"])
        assert r.exit_code == 2 and "401" in r.output
        r = runner.invoke(app, ["feed", "replay", str(out), "--to", "ftp://x"])
        assert r.exit_code == 2 and "mqtt://HOST:PORT or http://HOST:PORT" in r.output
    finally:
        server.should_exit = True
        th.join(10)
        ing.close()


def test_cli_live_commands_have_help():
    for cmd in (["serve"], ["state"], ["feed", "simulate"], ["feed", "replay"], ["user", "add"], ["user", "list"]):
        r = runner.invoke(app, [*cmd, "--help"])
        assert r.exit_code == 0 and "Usage" in r.output
    r = runner.invoke(app, ["feed", "simulate", str(DEMO)])
    assert r.exit_code == 2 and "--to" in r.output

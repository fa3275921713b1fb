"""Hostile and careless input against ingest, the store and the logins (issue 16): each was a crash, a loss or a lock-out."""

from __future__ import annotations

import json
import sqlite3
import threading
import time

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from sensors.events import MAX_EVENT, Rejected, decode_event, parse_event, split_events
from sensors.ingest import Ingestor
from sensors.mqtt import decode
from sensors.store import EventStore, StoreError
from tests.helpers import tiny, write
from twin.auth import Users
from twin.campus import load_campus
from twin.cli import app as cli
from viz.live.app import create_app
from viz.live.security import LOGIN_QUEUE, LOGIN_THREADS, Throttle

KEY = "k-hardening"
AUTH = {"Authorization": f"Bearer {KEY}"}
ORIGIN = {"Origin": "http://testserver"}
PASSWORDS = {"olga": "olga-password-1", "vera": "vera-password-1", "adam": "adam-password-1"}
NESTED = "[" * 1000 + "]" * 1000


def cam(n: int = 0, **kw) -> dict:
    return {"sensor_id": "CAM1", "ts": time.time() - 60 + n * 1e-3, "kind": "count", "count": n % 50, "seq": n, **kw}


@pytest.fixture(scope="module")
def campus(tmp_path_factory):
    return load_campus(write(tiny(), tmp_path_factory.mktemp("c") / "tiny.geojson"))


@pytest.fixture
def users_file(tmp_path):
    u = Users(tmp_path / "users.json")
    for name, role in (("olga", "operator"), ("vera", "viewer"), ("adam", "admin")):
        u.add(name, role, PASSWORDS[name])
    return u.path


@pytest.fixture
def server(campus, users_file, tmp_path):
    ing = Ingestor(campus, EventStore(tmp_path / "e.sqlite", campus_digest=campus.digest, campus_path=str(campus.source)))
    a = create_app(ing, users=Users(users_file), device_keys=[KEY], throttle=Throttle(limit=3, window=60, lock=30),
                   trusted_proxies=["10.0.0.2"])
    with TestClient(a) as c:
        c.ingestor = ing
        yield c
    ing.close()


def post(c: TestClient, body: str | bytes):
    return c.post("/api/events", content=body, headers=AUTH)


# -- 1-3: limits first, strict types, one bad event rejected alone, every answer encodable ----------------------------


def test_limits_come_before_parsing_and_reject_only_the_bad_event():
    assert "nested more than" in decode_event('{"a": ' + NESTED + "}").reason
    good = json.dumps(cam())
    raws = split_events(f"[{good}, {{\"sensor_id\": \"CAM1\", \"count\": {'9' * 5000}}}, {good}]".encode())
    assert raws[0]["sensor_id"] == raws[2]["sensor_id"] == "CAM1"
    assert isinstance(raws[1], Rejected) and "5,000 digits" in raws[1].reason
    big = json.dumps(cam(pad="x" * 40_000))
    raws = split_events(f"[{good},{big},{good}]".encode())
    assert isinstance(raws[1], Rejected) and f"{MAX_EVENT:,} bytes" in raws[1].reason and isinstance(raws[2], dict)
    assert isinstance(split_events(f"[{good},{NESTED},{good}]".encode())[1], Rejected)
    for body in (b'{"sensor_id": [', b"[1, 2", b"[1 2]", b"\xff\xfe", b"not json at all"):
        with pytest.raises(ValueError):
            split_events(body)
    assert "Infinity is not a JSON number" in decode_event('{"ts": Infinity}').reason


@pytest.mark.parametrize(("change", "field"), [
    ({"count": True}, "count"), ({"count": "12"}, "count"), ({"count": 12.0}, "count"), ({"seq": "7"}, "seq"),
    ({"seq": True}, "seq"), ({"kind": "alert", "alert": "crowding", "active": "false", "count": None}, "active"),
    ({"ts": 1e999}, "ts"),
])
def test_strict_types_and_finite_times(change, field):
    raw = {k: v for k, v in {**cam(), **change}.items() if v is not None}
    problems = parse_event(raw)
    assert isinstance(problems, list) and problems[0].field == field, problems
    if field == "ts":
        assert "not a finite number" in problems[0].message


def test_http_keeps_the_neighbours_of_a_bad_event_and_always_answers_json(server):
    good = [json.dumps(cam(n)) for n in range(4)]
    bodies = {
        "nested": f"[{good[0]},{NESTED},{good[1]}]",
        "digits": f"[{good[2]},{{\"sensor_id\":\"CAM1\",\"seq\":{'1' * 5000}}},{good[3]}]",
    }
    for name, body in bodies.items():
        r = post(server, body)
        assert r.status_code == 200, (name, r.text)
        assert [x["status"] for x in r.json()["results"]] == ["accepted", "rejected", "accepted"], name
    surrogate = '[' + json.dumps(cam(10)) + ', {"sensor_id": "CAM-\\ud800", "ts": 1772352000, "kind": "count", "count": 1}]'
    r = post(server, surrogate)
    assert r.status_code == 200 and r.json()["accepted"] == 1 and r.json()["rejected"] == 1
    assert r.json()["results"][1]["sensor_id"] == "CAM-\\ud800"  # echoed escaped, never unencodable
    assert post(server, surrogate).json()["duplicate"] == 1  # a retry stores nothing twice
    r = post(server, '{"sensor_id": [')
    assert r.status_code == 400 and "never closed" in r.json()["error"]
    r = post(server, b'{"sensor_id": "\xff"}')
    assert r.status_code == 400 and "UTF-8" in r.json()["error"]
    assert server.ingestor.store.count() == 5


# -- 9: damaged stores ---------------------------------------------------------------------------------------------


def _filled(campus, path, n=3000):
    st = EventStore(path, campus_digest=campus.digest, campus_path=str(campus.source))
    ing = Ingestor(campus, st)
    ing.submit([cam(i) for i in range(n)], source="test")
    ing.close()


def test_a_bad_stored_row_is_quarantined_not_a_crash(campus, tmp_path):
    path = tmp_path / "e.sqlite"
    _filled(campus, path, 20)
    db = sqlite3.connect(path)
    db.execute("INSERT INTO events(sensor_id, seq, ts, kind, body, received) VALUES ('CAM1', NULL, 1, 'count', '{bad', 0)")
    db.execute("INSERT INTO events(sensor_id, seq, ts, kind, body, received) VALUES ('NOPE', NULL, 2, 'count', ?, 0)",
               (json.dumps({"sensor_id": "NOPE", "ts": 1772352000.0, "kind": "count", "count": 3}),))
    db.commit()
    db.close()
    ing = Ingestor(campus, EventStore(path))
    assert ing.state.snapshot()["events_applied"] == 20
    assert sorted(ing.store.quarantined.values())[0].startswith("body is not JSON")
    assert "unknown sensor" in sorted(ing.store.quarantined.values())[1]
    ing.close()
    r = CliRunner().invoke(cli, ["state", "--store", str(path), "--json"])
    assert r.exit_code == 0, r.output
    r = CliRunner().invoke(cli, ["store", "check", str(path)])
    assert r.exit_code == 1 and "unknown sensor" in r.output and "body is not JSON" in r.output


def test_a_damaged_or_empty_store_is_a_clear_error(campus, tmp_path):
    path = tmp_path / "e.sqlite"
    _filled(campus, path)
    size = path.stat().st_size
    with path.open("r+b") as f:
        f.seek(size // 2 // 4096 * 4096)
        f.write(b"\x5a" * 4096)
    for args in (["state", "--store", str(path)], ["store", "check", str(path)]):
        r = CliRunner().invoke(cli, args)
        assert r.exit_code != 0 and isinstance(r.exception, SystemExit), r.output  # an exit, never a traceback
        assert "damaged" in r.output and "--new-store" in r.output, r.output
    empty = tmp_path / "empty.sqlite"
    empty.touch()
    with pytest.raises(StoreError, match="empty"):
        EventStore(empty)
    r = CliRunner().invoke(cli, ["state", "--store", str(empty)])
    assert r.exit_code == 2 and "empty (0 bytes)" in r.output
    assert empty.stat().st_size == 0  # refused, not silently made into a new store


def test_a_full_disk_answers_507_and_keeps_what_was_acknowledged(server):
    assert post(server, json.dumps(cam(1))).json()["accepted"] == 1
    db = server.ingestor.store.db
    pages = db.execute("PRAGMA page_count").fetchone()[0]
    db.execute(f"PRAGMA max_page_count = {pages}")
    r = post(server, json.dumps([cam(n) for n in range(2, 2000)]))
    assert r.status_code == 507 and "disk is full" in r.json()["error"]
    assert server.ingestor.store.count() == 1
    db.execute("PRAGMA max_page_count = 1073741823")
    assert post(server, json.dumps(cam(2))).json()["accepted"] == 1


def test_a_read_only_store_is_read_without_writing(campus, tmp_path):
    path = tmp_path / "e.sqlite"
    _filled(campus, path, 10)
    before = path.read_bytes()
    st = EventStore(path, readonly=True)
    assert st.count() == 10 and len(list(st.events())) == 10
    with pytest.raises(StoreError, match="readonly"):
        st.append([cam(99)])
    st.close()
    assert path.read_bytes() == before


# -- 7: one writer per store ----------------------------------------------------------------------------------------


def test_a_second_writer_on_one_store_is_refused_naming_the_first(campus, tmp_path):
    import os

    path = tmp_path / "e.sqlite"
    first = EventStore(path, exclusive=True)
    with pytest.raises(StoreError, match=f"pid {os.getpid()}"):
        EventStore(path, exclusive=True)
    r = CliRunner().invoke(cli, ["serve", str(campus.source), "--store", str(path), "--port", "1"])
    assert r.exit_code == 2 and f"already being written by pid {os.getpid()}" in r.output, r.output
    EventStore(path, readonly=True).close()  # readers are welcome
    first.close()
    EventStore(path, exclusive=True).close()  # and the lock goes with the writer


# -- 5-6: logins ------------------------------------------------------------------------------------------------------


def login(c, name, password=None, **headers):
    return c.post("/login", json={"username": name, "password": password or PASSWORDS[name]}, headers={**ORIGIN, **headers})


def test_users_file_changes_take_effect_at_the_next_login(server, users_file):
    other = Users(users_file)  # `twin user` in another process while the server runs
    other.add("nina", "viewer", "nina-password-1")
    assert login(server, "nina", "nina-password-1").status_code == 200
    other.remove("olga")
    assert login(server, "olga").status_code == 401


def test_throttling_locks_one_name_for_one_address_only(server):
    for _ in range(3):
        assert login(server, "olga", "guess-guess-1").status_code == 401
    r = login(server, "olga")
    assert r.status_code == 429 and int(r.headers["retry-after"]) > 0  # even the right password waits
    assert login(server, "vera").status_code == 200  # another user on the same shared machine
    for n in range(3):  # a forged X-Forwarded-For from an untrusted peer changes nothing
        assert login(server, "olga", **{"X-Forwarded-For": f"203.0.113.{n}"}).status_code == 429
    s = login(server, "adam").json()
    r = server.post("/api/users/olga/unlock", headers={**ORIGIN, "X-CSRF-Token": s["csrf"]})
    assert r.status_code == 200 and r.json()["unlocked_addresses"] == 1
    assert login(server, "olga").status_code == 200


def test_x_forwarded_for_is_believed_only_from_a_trusted_proxy(campus, users_file, tmp_path):
    t = Throttle(limit=2, window=60, lock=30)
    ing = Ingestor(campus, EventStore(tmp_path / "e.sqlite"))
    a = create_app(ing, users=Users(users_file), throttle=t, trusted_proxies=["testclient"])
    with TestClient(a) as c:
        for _ in range(2):
            login(c, "olga", "guess-guess-1", **{"X-Forwarded-For": "198.51.100.7"})
        assert login(c, "olga", **{"X-Forwarded-For": "198.51.100.7"}).status_code == 429
        assert login(c, "olga", **{"X-Forwarded-For": "198.51.100.8"}).status_code == 200  # the operator elsewhere
    ing.close()
    assert t.retry_after("olga", "198.51.100.7") > t.retry_after("olga", "testclient") == 0


def test_exponential_back_off():
    t = Throttle(limit=2, window=60, lock=10, lock_max=40)
    waits = []
    for _ in range(5):
        t.fail("olga", "a")
        waits.append(round(t.retry_after("olga", "a")))
    assert waits == [0, 10, 20, 40, 40]
    assert t.retry_after("olga", "b") == 0


def test_password_checks_never_hold_up_the_other_routes(server, monkeypatch):
    release = threading.Event()
    users = server.app.state.users
    monkeypatch.setattr(users, "authenticate", lambda name, password: release.wait(30) and None)
    answers: list[int] = []
    logins = [threading.Thread(target=lambda: answers.append(login(server, "olga", "x" * 12).status_code))
              for _ in range(45)]
    for t in logins:
        t.start()
    health: list[int] = []
    probe = threading.Thread(target=lambda: health.append(server.get("/api/health").status_code))
    refused = 45 - LOGIN_THREADS - LOGIN_QUEUE  # LOGIN_THREADS checks run, LOGIN_QUEUE wait, the rest are refused at once
    deadline = time.monotonic() + 20  # a loaded machine may take a while to start 45 threads
    while answers.count(429) < refused and time.monotonic() < deadline:
        time.sleep(0.05)
    probe.start()
    probe.join(20)  # with the logins on the shared thread pool this waits for all 45 password checks
    done_before_release = list(health)
    release.set()
    for t in logins:
        t.join(30)
    assert done_before_release == [200]
    assert answers.count(429) >= refused

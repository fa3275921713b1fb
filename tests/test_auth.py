"""Operator access: password hashes, the users file and `twin user`, sessions, CSRF/Origin, throttling, every route closed."""

from __future__ import annotations

import json
import os
import re
import time

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from starlette.routing import Mount, WebSocketRoute
from starlette.websockets import WebSocketDisconnect
from typer.testing import CliRunner

from sensors.ingest import Ingestor
from sensors.store import EventStore
from tests.helpers import tiny, write
from twin.auth import Users, UsersFileError, hash_password, verify_password
from twin.campus import load_campus
from twin.cli import app as cli
from viz.live.app import create_app
from viz.live.security import PUBLIC, Sessions, Throttle

KEY = "dev-key-7c1e"
ORIGIN = {"Origin": "http://testserver"}
PASSWORDS = {"olga": "olga-password-1", "vera": "vera-password-1", "adam": "adam-password-1"}
runner = CliRunner()


@pytest.fixture(scope="module")
def campus(tmp_path_factory):
    return load_campus(write(tiny(), tmp_path_factory.mktemp("c") / "tiny.geojson"))


@pytest.fixture(scope="module")
def users_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("u") / "users.json"
    u = Users(path)
    for name, role in (("olga", "operator"), ("vera", "viewer"), ("adam", "admin")):
        u.add(name, role, PASSWORDS[name])
    return path


@pytest.fixture
def server(campus, users_file, tmp_path):
    ing = Ingestor(campus, EventStore(tmp_path / "e.sqlite", campus_digest=campus.digest))
    a = create_app(ing, users=Users(users_file), device_keys=[KEY], throttle=Throttle(limit=3, window=60))
    with TestClient(a) as c:
        c.ingestor = ing
        yield c
    ing.close()


def login(c: TestClient, name: str, password: str | None = None) -> dict:
    r = c.post("/login", json={"username": name, "password": password or PASSWORDS[name]}, headers=ORIGIN)
    assert r.status_code == 200, r.text
    return r.json()


def test_scrypt_hashes_verify_and_keep_their_cost():
    h = hash_password("s3cret-passw0rd", log2_n=10, p=1)
    assert h.startswith("scrypt$10$8$1$") and "s3cret" not in h
    assert verify_password("s3cret-passw0rd", h)
    assert not verify_password("s3cret-passw0rD", h)
    assert hash_password("s3cret-passw0rd", log2_n=10, p=1) != h  # salted
    for bad in ("", "md5$abc", "scrypt$99$8$1$AA==$AA==", "scrypt$10$8$1$not-base64$@@"):
        assert not verify_password("x", bad)


def test_the_shipped_cost_hashes_and_verifies():
    """At the settings table's cost (the other tests add users at a lower one, tests/conftest.py)."""
    from twin.settings import default

    ln, p = int(default("auth.scrypt_log2_n")), int(default("auth.scrypt_p"))
    h = hash_password("s3cret-passw0rd")  # this module's own import: the shipped defaults
    assert h.startswith(f"scrypt${ln}$8${p}$")
    assert verify_password("s3cret-passw0rd", h) and not verify_password("s3cret-passw0rD", h)


def test_twin_user_add_list_role_passwd_remove(tmp_path, campus):
    f = tmp_path / "users.json"
    r = runner.invoke(cli, ["user", "add", "kim", "--role", "operator", "--users", str(f)], input="kim-password-1\n")
    assert r.exit_code == 0, r.output
    assert os.stat(f).st_mode & 0o777 == 0o600
    doc = json.loads(f.read_text())
    assert doc["users"]["kim"]["role"] == "operator" and "kim-password-1" not in f.read_text()
    r = runner.invoke(cli, ["user", "list", "--users", str(f), "--json"])
    assert [u["name"] for u in json.loads(r.stdout)] == ["kim"] and "hash" not in r.stdout
    for args, stdin, why in (
        (["user", "add", "kim", "--role", "operator"], "kim-password-2\n", "already exists"),
        (["user", "add", "lee", "--role", "boss"], "lee-password-1\n", "role 'boss'"),
        (["user", "add", "lee", "--role", "viewer"], "short\n", "too short"),
        (["user", "add", "<lee>", "--role", "viewer"], "lee-password-1\n", "user name"),
        (["user", "remove", "nobody"], "", "no user 'nobody'"),
    ):
        r = runner.invoke(cli, [*args, "--users", str(f)], input=stdin)
        assert r.exit_code == 2 and why in r.output, (args, r.output)
    assert runner.invoke(cli, ["user", "role", "kim", "--role", "admin", "--users", str(f)]).exit_code == 0
    old = json.loads(f.read_text())["users"]["kim"]["hash"]
    assert runner.invoke(cli, ["user", "passwd", "kim", "--users", str(f)], input="kim-password-9\n").exit_code == 0
    u = Users(f)
    assert u.users["kim"].role == "admin" and u.users["kim"].hash != old
    assert u.authenticate("kim", "kim-password-9") and not u.authenticate("kim", "kim-password-1")
    assert runner.invoke(cli, ["user", "remove", "kim", "--users", str(f)]).exit_code == 0
    assert Users(f).users == {}
    f.write_text("{not json")
    r = runner.invoke(cli, ["user", "list", "--users", str(f)])
    assert r.exit_code == 2 and "not a readable users file" in r.output
    r = runner.invoke(cli, ["serve", str(write(tiny(), tmp_path / "tiny.geojson")), "--store", str(tmp_path / "s.sqlite"),
                            "--users", str(f)])
    assert r.exit_code == 2 and "not a readable users file" in r.output
    assert Users(None).users == {} and Users(None).authenticate("kim", "kim-password-9") is None


def test_every_route_is_refused_without_a_login(server):
    """Iterates over the app's routes, so a route added later cannot be forgotten."""
    seen = 0
    for route in server.app.routes:
        path = re.sub(r"\{[^}]+\}", "x", getattr(route, "path", ""))
        if isinstance(route, WebSocketRoute):
            for headers in ({}, ORIGIN):
                with pytest.raises(WebSocketDisconnect), server.websocket_connect(path, headers=headers) as ws:
                    ws.receive_text()
            seen += 1
        elif isinstance(route, Mount):
            r = server.get(path + "/live.js", follow_redirects=False)
            assert r.status_code == 401, path
            seen += 1
        elif isinstance(route, APIRoute) or hasattr(route, "methods"):
            for method in sorted(route.methods - {"HEAD"}):
                r = server.request(method, path, headers=ORIGIN, follow_redirects=False)
                if (method, route.path) in PUBLIC:
                    continue
                assert r.status_code in (401, 303), (method, path, r.status_code)
                if r.status_code == 303:
                    assert r.headers["location"].startswith("/login"), path
                else:
                    assert "log in" in r.json()["error"]
                seen += 1
    assert seen >= 18
    assert server.get("/api/health").json() == {"ok": True}  # public, and says nothing else
    assert server.post("/api/events", json=[]).status_code == 401  # device key, not a login
    page = server.get("/login")
    assert "Log in" in page.text and "script-src" not in page.headers["content-security-policy"]  # default-src 'none': no script
    assert "&lt;script&gt;" in server.get("/login", params={"next": "/<script>"}).text


def test_login_cookie_flags_csrf_origin_and_logout(server):
    r = server.post("/login", data={"username": "olga", "password": PASSWORDS["olga"], "next": "//evil.example/"},
                    headers=ORIGIN, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/"  # never off-site
    cookie = r.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=strict" in cookie and "path=/" in cookie
    s = server.get("/api/session").json()
    assert s["user"] == "olga" and s["role"] == "operator" and len(s["csrf"]) > 30
    page = server.get("/")
    csp = page.headers["content-security-policy"]
    nonce = re.search(r"'nonce-([^']+)'", csp).group(1)
    assert "script-src 'nonce-" in csp and "frame-ancestors 'none'" in csp and page.headers["x-frame-options"] == "DENY"
    assert all(f'nonce="{nonce}"' in tag for tag in re.findall(r"<script\b[^>]*>", page.text))
    assert not re.search(r"<(script|link|img)\b[^>]*\b(src|href)=\"?(https?:)?//", page.text)  # nothing from the network
    assert s["csrf"] in page.text and server.get("/").headers["content-security-policy"] != csp  # a fresh nonce each time
    panic = [{"sensor_id": "SD-R0a", "ts": time.time(), "kind": "fire", "state": "fire"}]
    assert server.post("/api/events", json=panic, headers={"Authorization": f"Bearer {KEY}"}).json()["accepted"] == 1
    url = "/api/alarms/SD-R0a:fire/ack"
    assert server.post(url, json={}, headers=ORIGIN).status_code == 403  # no CSRF token
    assert server.post(url, json={}, headers={**ORIGIN, "X-CSRF-Token": "wrong"}).status_code == 403
    assert server.post(url, json={}, headers={"X-CSRF-Token": s["csrf"]}).status_code == 403  # no Origin
    r = server.post(url, json={}, headers={"Origin": "http://evil.example", "X-CSRF-Token": s["csrf"]})
    assert r.status_code == 403 and "Origin" in r.json()["error"]
    assert server.get("/api/audit").json()["audit"] == []  # nothing refused was stored
    assert server.post(url, json={}, headers={**ORIGIN, "X-CSRF-Token": s["csrf"]}).status_code == 200
    with pytest.raises(WebSocketDisconnect), server.websocket_connect("/ws", headers={"Origin": "http://evil.example"}) as ws:
        ws.receive_text()
    with server.websocket_connect("/ws", headers=ORIGIN) as ws:
        assert json.loads(ws.receive_text())["alarms"][0]["ack"]["user"] == "olga"
    # a device key opens no page; a login posts no events
    assert server.get("/api/state", headers={"Authorization": f"Bearer {KEY}"}, cookies={"twin_session": "x"}).status_code == 401
    assert server.post("/api/events", json=panic, headers={**ORIGIN, "X-CSRF-Token": s["csrf"]}).status_code == 401
    r = server.post("/login", json={"username": "olga", "password": PASSWORDS["olga"]}, headers={"Origin": "http://evil.example"})
    assert r.status_code == 403  # no login from another site's form
    assert server.post("/logout", headers={**ORIGIN, "X-CSRF-Token": s["csrf"]}).status_code == 200
    assert server.get("/api/state").status_code == 401


def test_roles_viewer_reads_operator_acts_admin_lists_users(server):
    server.post("/api/events", json=[{"sensor_id": "SD-R0a", "ts": time.time(), "kind": "fire", "state": "fire"}],
                headers={"Authorization": f"Bearer {KEY}"})
    s = login(server, "vera")
    assert server.get("/api/alarms").json()["alarms"][0]["kind"] == "fire"
    assert server.get("/api/state").status_code == 200 and server.get("/api/audit").status_code == 200
    for action in ("ack", "clear", "note"):
        r = server.post(f"/api/alarms/SD-R0a:fire/{action}", json={"text": "x"}, headers={**ORIGIN, "X-CSRF-Token": s["csrf"]})
        assert r.status_code == 403 and "viewer" in r.json()["error"]
    assert server.get("/api/users").status_code == 403
    s = login(server, "olga")
    assert server.get("/api/users").status_code == 403
    s = login(server, "adam")
    names = server.get("/api/users").json()["users"]
    assert [(u["name"], u["role"]) for u in names] == [("adam", "admin"), ("olga", "operator"), ("vera", "viewer")]
    assert "hash" not in json.dumps(names)
    r = server.post("/api/alarms/SD-R0a:fire/ack", json={}, headers={**ORIGIN, "X-CSRF-Token": s["csrf"]})
    assert r.status_code == 200 and r.json()["action"]["user"] == "adam"


def test_failed_logins_lock_the_name_for_the_address_only(server):
    for _ in range(3):
        r = server.post("/login", json={"username": "olga", "password": "guess-guess-1"}, headers=ORIGIN)
        assert r.status_code == 401 and r.json()["error"] == "wrong user name or password"
    r = server.post("/login", json={"username": "olga", "password": PASSWORDS["olga"]}, headers=ORIGIN)
    assert r.status_code == 429 and int(r.headers["retry-after"]) > 0  # even the right password waits
    r = server.post("/login", data={"username": "olga", "password": PASSWORDS["olga"]}, headers=ORIGIN)
    assert r.status_code == 429 and "too many failed logins" in r.text  # the login page says so too
    r = server.post("/login", json={"username": "vera", "password": PASSWORDS["vera"]}, headers=ORIGIN)
    assert r.status_code == 200  # another user on the same shared machine is not locked out (tests/test_hardening.py)


def test_sessions_end_when_the_user_is_removed_or_changes_role(users_file, tmp_path):
    f = tmp_path / "u.json"
    f.write_bytes(users_file.read_bytes())
    users = Users(f)
    sessions = Sessions(users)
    s = sessions.create(users.users["olga"])
    assert sessions.get(s.token) is s and sessions.get("forged") is None
    other = Users(f)  # `twin user` in another process
    other.set_role("olga", "viewer")
    sessions._checked = 0.0
    assert sessions.get(s.token) is None
    s2 = sessions.create(Users(f).users["vera"])
    other.remove("vera")
    sessions._checked = 0.0
    assert sessions.get(s2.token) is None
    s3 = sessions.create(Users(f).users["adam"])
    s3.seen -= sessions.idle + 1
    assert sessions.get(s3.token) is None  # idle too long
    with pytest.raises(UsersFileError, match="role"):
        other.add("zed", "root", "zed-password-1")


def test_docs_and_schema_behind_the_login_list_the_rest_api(server):
    assert server.get("/openapi.json").status_code == 401
    assert server.get("/docs", follow_redirects=False).status_code == 303
    login(server, "vera")
    paths = server.get("/openapi.json").json()["paths"]
    for p, m in (("/api/state", "get"), ("/api/alarms", "get"), ("/api/alarms/{alarm_id}/ack", "post"),
                 ("/api/alarms/{alarm_id}/clear", "post"), ("/api/audit", "get"), ("/api/events", "post")):
        assert m in paths[p], p
    assert "AlarmAction" in json.dumps(paths["/api/alarms/{alarm_id}/ack"])
    docs = server.get("/docs").text
    assert "/api/alarms/{alarm_id}/clear" in docs and "<script" not in docs

"""Schema-driven fuzz of the whole HTTP API (schemathesis) from the app's own OpenAPI document, in process.

Every operation of ``GET /openapi.json`` is called with generated parameters and bodies, as a logged-in admin with
the CSRF token and a device key: no answer is a 500 or holds a traceback, every 4xx and 5xx says why
(``{"error": ...}``), every status and body is one the document declares. ``make test`` tries three cases per
operation (not the login, whose password check is slow); ``make fuzz`` (``TWIN_FUZZ=1``) 300 per operation. The document itself is checked too: security schemes, the
ingest body, response models and the refusals.
"""

from __future__ import annotations

import time
from collections import Counter

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings

from sensors.ingest import Ingestor
from sensors.store import EventStore
from tests.helpers import FUZZ, tiny, write
from twin.auth import Users
from twin.campus import load_campus
from viz.live.app import create_app

KEY = "k-schema"
ORIGIN = "http://testserver"
TRIED: Counter[str] = Counter()
SPENT: dict[str, float] = {}
SKIP = {("POST", "/logout")}
"""Ends the session the other cases use (test_auth.py covers it)."""


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    campus = load_campus(write(tiny(), tmp_path_factory.mktemp("c") / "tiny.geojson"))
    users = Users(tmp_path_factory.mktemp("u") / "users.json")
    users.add("ada", "admin", "ada-password-1")
    ing = Ingestor(campus, EventStore(tmp_path_factory.mktemp("s") / "e.sqlite"))
    app = create_app(ing, users=users, device_keys=[KEY])
    with TestClient(app) as client:
        r = client.post("/login", json={"username": "ada", "password": "ada-password-1"}, headers={"Origin": ORIGIN})
        ing.submit([{"sensor_id": "SD-R0a", "ts": 1_772_352_000, "kind": "fire", "state": "fire"}])  # one alarm to act on
        yield app, r.cookies.get("twin_session"), r.json()["csrf"]
    ing.close()


SLOW = {("POST", "/login")}
"""Each case checks a password (scrypt, about 0.25 s): fuzzed only in ``make fuzz`` (test_auth.py covers logins)."""


def budget() -> settings:
    """Cases per operation: a few in ``make test``, many under ``TWIN_FUZZ=1``."""
    return settings(max_examples=300 if FUZZ else 3, deadline=None, derandomize=not FUZZ, database=None,
                    suppress_health_check=list(HealthCheck))


def check(case, cookie: str, csrf: str) -> None:
    """Call one generated case as the logged-in admin (and a device on ingest) and check the answer."""
    from schemathesis.specs.openapi.checks import response_schema_conformance, status_code_conformance

    TRIED[f"{case.method} {case.path}"] += 1
    case.headers = {**(case.headers or {}), "Origin": ORIGIN, "X-CSRF-Token": csrf}
    if case.path == "/api/events":
        case.headers["Authorization"] = f"Bearer {KEY}"
    case.cookies = {**(case.cookies or {}), "twin_session": cookie}
    r = case.call()
    assert r.status_code < 500 or r.status_code == 507, (case.method, case.path, r.status_code, r.text[:300])
    assert "Traceback" not in r.text
    if r.status_code >= 400:  # the reason: {"error": ...}, or the login form's alert when a form was posted
        html = "text/html" in str(r.headers.get("content-type"))
        assert ('role="alert">' in r.text and '"alert"></p>' not in r.text) if html else r.json()["error"], r.text
    case.validate_response(r, checks=[status_code_conformance, response_schema_conformance])


def test_every_operation_answers_with_a_reason_never_a_500(served):
    import schemathesis  # imported here: only the worker that runs this file pays its ~0.3 s

    app, cookie, csrf = served
    api = schemathesis.openapi.from_dict(app.openapi())
    api.app = app
    ops = [o.ok() for o in api.get_all_operations()]
    assert len(ops) >= 20
    failed: list[str] = []
    for op in ops:
        if (op.method.upper(), op.path) in SKIP or (not FUZZ and (op.method.upper(), op.path) in SLOW):
            continue

        @budget()
        @given(case=op.as_strategy())
        def run(case):
            check(case, cookie, csrf)

        t0 = time.perf_counter()
        try:
            run()
        except Exception as e:  # noqa: BLE001 - every operation is tried; the failures are listed together below
            failed.append(f"{op.method.upper()} {op.path}: {str(e)[-1500:]}")
        SPENT[f"{op.method.upper()} {op.path}"] = time.perf_counter() - t0
    assert not failed, "\n\n".join(failed)


def test_the_document_names_its_security_bodies_models_and_refusals(served):
    doc = served[0].openapi()
    assert set(doc["components"]["securitySchemes"]) == {"deviceKey", "session", "csrf"}
    assert doc["components"]["securitySchemes"]["deviceKey"]["scheme"] == "bearer"
    ingest = doc["paths"]["/api/events"]["post"]
    assert ingest["security"] == [{"deviceKey": []}] and set(ingest["requestBody"]["content"]) == {
        "application/json", "application/x-ndjson"}
    assert {"200", "400", "401", "413", "507"} <= set(ingest["responses"])
    assert ingest["responses"]["200"]["content"]["application/json"]["schema"]["$ref"].endswith("/IngestAnswer")
    ack = doc["paths"]["/api/alarms/{alarm_id}/ack"]["post"]
    assert ack["security"] == [{"session": [], "csrf": []}] and {"401", "403", "404", "409", "422", "507"} <= set(ack["responses"])
    assert {"401", "403", "429"} <= set(doc["paths"]["/login"]["post"]["responses"])
    assert doc["paths"]["/api/health"]["get"]["security"] == []
    codes = {c for ops in doc["paths"].values() for op in ops.values() for c in op["responses"]}
    assert {"401", "403", "413", "422", "429", "507"} <= codes


def test_an_id_too_large_for_the_store_is_a_422_not_a_500(served):
    """Found by this fuzz (make fuzz): an integer id over 2**63 reached SQLite in the hazard routes and answered 500."""
    app, cookie, csrf = served
    c = TestClient(app, cookies={"twin_session": cookie})  # the fixture's client runs the app's lifespan
    for method, path in (("GET", "/api/hazards/rounds/99999999999999999999"),
                         ("POST", "/api/hazards/99999999999999999999/verify")):
        r = c.request(method, path, json={} if method == "POST" else None, headers={"Origin": ORIGIN, "X-CSRF-Token": csrf})
        assert r.status_code == 422 and "too large" in r.json()["error"], (path, r.text)


def test_zz_report():
    """Cases tried per operation (failures are failures above)."""
    slow = ", ".join(f"{k} {v:.1f} s" for k, v in sorted(SPENT.items(), key=lambda kv: -kv[1])[:4])
    print(f"\nschema fuzz: {sum(TRIED.values()):,} cases over {len(TRIED)} operations in {sum(SPENT.values()):.1f} s "
          f"(slowest: {slow}), 0 server errors")

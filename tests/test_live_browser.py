"""The live security map in a real headless Chromium: log in, the map draws, an alarm arrives, acknowledge it, roles, escaping."""

from __future__ import annotations

import re
import threading
import time

import httpx
import pytest
import uvicorn

from scenarios.forecast import Forecaster
from sensors.broker import free_port
from sensors.ingest import Ingestor
from sensors.store import EventStore
from tests.helpers import feature, tiny, wait_for, write
from twin.auth import Users
from twin.campus import load_campus
from viz.live.app import create_app

pytestmark = pytest.mark.browser

KEY = "dev-key-7c1e"
XSS = "<img src=x onerror=alert(1)>"
HALL = "Hall <b>1</b>"


def run(app, port):
    """Serve ``app`` on loopback ``port`` in a thread; return the uvicorn server and its thread."""
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="error"))
    th = threading.Thread(target=server.run, daemon=True)
    th.start()
    while not server.started:
        time.sleep(0.02)
    return server, th


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """A live server on a tiny campus whose names are markup, with an operator and a viewer."""
    d = tmp_path_factory.mktemp("live")
    doc = tiny()
    feature(doc, "SD-R0a")["properties"]["name"] = XSS
    feature(doc, "B1")["properties"]["name"] = HALL
    campus = load_campus(write(doc, d / "campus.geojson"))
    users = Users(d / "users.json")
    users.add("alice", "operator", "alice-password-1")
    users.add("vic", "viewer", "vic-password-1")
    ing = Ingestor(campus, EventStore(d / "e.sqlite", campus_digest=campus.digest))
    forecaster = Forecaster(ing)  # as `twin serve` does: the map shows the forecast after a fire alarm
    ing.subscribe(forecaster.on_events)
    port = free_port()
    app = create_app(ing, users=users, device_keys=[KEY])
    server, th = run(app, port)
    info = {"base": f"http://127.0.0.1:{port}", "ing": ing, "app": app, "port": port, "server": server, "thread": th}
    yield info
    info["server"].should_exit = True
    info["thread"].join(10)
    forecaster.stop()
    ing.close()


def post(site, *events):
    r = httpx.post(site["base"] + "/api/events", json=list(events), headers={"Authorization": f"Bearer {KEY}"})
    assert r.json()["accepted"] == len(events), r.text


def log_in(context, site, name, password, *, width=1400, height=900):
    """A new ``width`` x ``height`` page in ``context`` (tests/conftest.py ``live_context``), logged in on the console as
    ``name``. The context's cookies are cleared first: the page starts with no session, as a new browser would."""
    context.clear_cookies()
    page = context.new_page()
    page.set_viewport_size({"width": width, "height": height})
    page.dialogs = []
    page.errors = []
    page.on("dialog", lambda dlg: (page.dialogs.append(dlg.message), dlg.dismiss()))
    page.on("pageerror", lambda e: page.errors.append(str(e)))
    page.goto(site["base"] + "/")
    assert "/login" in page.url  # nothing without a login
    page.fill("#username", name)
    page.fill("#password", password)
    page.click("button[type=submit]")
    page.wait_for_url(site["base"] + "/")
    page.locator("#ct-conn", has_text="LIVE").wait_for(timeout=30_000)  # (locators: the page's CSP forbids eval)
    return page


def animation(locator) -> str:
    """The CSS animation name of ``locator``'s element. A live push may redraw it between finding and reading it (a
    detached element has no computed style: ""), so it is read again until the element is in the page."""
    seen: list[str] = []
    wait_for(lambda: seen.append(locator.evaluate("e => e.isConnected ? getComputedStyle(e).animationName : ''")) or seen[-1],
             what="an element in the page")
    return seen[-1]


def test_operator_sees_an_alarm_and_acknowledges_it(live_context, site):
    """The alarm reaches the page by itself (how quickly: benchmarks/bench_alarm.py)."""
    page = log_in(live_context, site, "alice", "alice-password-1")
    # the map draws: the campus layers (Leaflet paths) and the live occupancy label of the building
    assert page.locator("path.ct-building").count() == 1 and page.locator("path.ct-footway").count() == 1
    assert page.locator("path.ct-assembly").count() == 1 and page.locator("path.ct-camera").count() == 1
    page.wait_for_selector(".ct-blabel")
    assert HALL in page.locator(".ct-blabel").first.text_content()

    post(site, {"sensor_id": "SD-R0a", "ts": time.time(), "kind": "fire", "state": "fire"})
    item = page.locator('#ct-alarm-list li[data-key="SD-R0a:fire"]')
    item.wait_for(timeout=30_000)  # waits, not speed limits: nothing reloads the page, the push brings it
    page.wait_for_selector("path.ct-alarm-marker.ct-flash", timeout=30_000)
    page.wait_for_selector(".ct-alarm-label", timeout=30_000)
    # unacknowledged, the card and the marker flash; with the system's reduced motion (these tests' browser:
    # tests/conftest.py) they stand out steadily
    marker = page.locator("path.ct-alarm-marker.ct-flash").first
    assert animation(item) == animation(marker) == "none"
    page.emulate_media(reduced_motion="no-preference")
    assert (animation(item), animation(marker)) == ("ct-blink", "ct-flash")
    page.emulate_media(reduced_motion="reduce")
    text = item.text_content()
    assert "FIRE" in text and XSS in text and HALL in text and "Not acknowledged" in text  # markup shown as text
    assert page.locator('img[src="x"]').count() == 0 and page.locator(".ct-blabel b b").count() == 0
    assert page.locator("path.ct-cam-on").count() == 1  # the camera that watches the detector's door
    assert "Cameras: Hall 1 west door (CAM1)" in text  # named, as on the campus file

    clicked = time.time()
    item.locator("button.ct-ack-btn").click()
    page.locator("#ct-alarm-list li", has_text="Acknowledged by alice").wait_for(timeout=30_000)
    shown = time.time()
    audit = page.locator("#ct-audit-list li").first.text_content()
    assert "alice (operator)" in audit and "acknowledged FIRE SD-R0a" in audit
    assert re.match(r"\d\d:\d\d:\d\d", audit)
    assert page.locator("path.ct-alarm-marker.ct-flash").count() == 0  # acknowledged: steady, no longer flashing
    trail = page.request.get(site["base"] + "/api/audit").json()["audit"]
    assert [(r["user"], r["action"], r["alarm"]) for r in trail] == [("alice", "ack", "SD-R0a:fire")]
    assert clicked - 1 <= trail[0]["ts"] <= shown + 1  # stamped when the operator acted (clocks to the second)

    page.locator("#ct-forecast-body", has_text="Everyone out in").wait_for(timeout=30_000)
    page.wait_for_selector("path.ct-blocked")  # the fire room, blocked
    assert page.dialogs == [] and page.errors == []
    page.close()


def test_a_viewer_sees_but_cannot_acknowledge(live_context, site):
    post(site, {"sensor_id": "CAM1", "ts": time.time(), "kind": "intrusion"})
    page = log_in(live_context, site, "vic", "vic-password-1")
    item = page.locator('#ct-alarm-list li[data-key="CAM1:intrusion"]')
    item.wait_for(timeout=30_000)
    assert "view only" in page.locator("#ct-user").text_content()
    assert page.locator("#ct-alarm-list button").count() == 0
    status = page.evaluate("""async () => {
        const csrf = document.querySelector('meta[name="ct-csrf"]').content;
        const r = await fetch('/api/alarms/CAM1:intrusion/ack', {method: 'POST', headers: {'Content-Type': 'application/json',
            'X-CSRF-Token': csrf}, body: '{}'});
        return r.status; }""")
    assert status == 403
    assert site["ing"].state.panel_alarm("CAM1:intrusion")["ack"] is None
    page.click("#ct-logout")
    page.wait_for_url(re.compile(r".*/login"))
    page.close()


def test_logged_out_browser_gets_no_page_api_or_websocket(live_context, site):
    live_context.clear_cookies()  # no session, as in a new browser
    page = live_context.new_page()
    for path in ("/", "/docs", "/api/state", "/api/alarms", "/api/audit", "/static/live.js", "/openapi.json"):
        r = page.goto(site["base"] + path)
        assert r.status == 401 or "/login" in page.url, path
    page.goto(site["base"] + "/login")
    opened = page.evaluate("""() => new Promise(done => {
        const ws = new WebSocket(location.origin.replace('http', 'ws') + '/ws');
        ws.onopen = () => done('open'); ws.onerror = () => done('refused'); ws.onclose = () => done('refused'); })""")
    assert opened == "refused"
    page.close()


def test_the_page_says_when_it_loses_the_server_and_comes_back_by_itself(live_context, site):
    page = log_in(live_context, site, "alice", "alice-password-1")
    site["server"].should_exit = True  # the server goes away (sessions live in the app, which stays)
    site["thread"].join(10)
    page.locator("#ct-conn", has_text="CONNECTION LOST").wait_for(timeout=30_000)
    stopped = page.locator("#ct-clock").text_content()
    time.sleep(1.2)
    assert page.locator("#ct-clock").text_content() == stopped  # a stale map never looks current
    site["server"], site["thread"] = run(site["app"], site["port"])
    page.locator("#ct-conn", has_text="LIVE").wait_for(timeout=30_000)
    post(site, {"sensor_id": "CAM1", "ts": time.time(), "kind": "alert", "alert": "crowding"})
    page.locator('#ct-alarm-list li[data-key="CAM1:crowding"]').wait_for(timeout=30_000)
    page.close()

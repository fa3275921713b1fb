"""The operator console at a laptop (1280 × 720) and a control-room screen (1920 × 1080), in a real headless Chromium.

On the demo campus (time zone Asia/Shanghai) during a fire in Teaching
Building 1: the map sits under the header and the header never wraps, labels
give way by priority, the live legend; the note goes with the button pressed,
keyboard shortcuts, the alarm sound toggle, the site's procedure, search; the
floor view; local times with the zone; the forecast card's counted and
assumed people.
"""

from __future__ import annotations

import time
from datetime import datetime
from zoneinfo import ZoneInfo

import httpx
import pytest

from scenarios.forecast import Forecaster
from sensors.broker import free_port
from sensors.ingest import Ingestor
from sensors.store import EventStore
from tests.test_live_browser import run
from twin.auth import Users
from viz.live.app import create_app
from viz.live.procedures import load_procedures

pytestmark = pytest.mark.browser

KEY = "dev-key-console"
SIZES = [(1280, 720), (1920, 1080)]
PROCEDURES = """
[kinds]
fire = "Confirm on the covering camera. Call the fire brigade."

[buildings.TB1]
fire = "Open the side exits of the lecture theatres on level 0."
"""


@pytest.fixture(scope="module")
def site(tmp_path_factory, demo):
    """A live server on the demo campus with a fire in TB1 and a panic button, counted cameras in TB1 (level 2: 37 people)."""
    d = tmp_path_factory.mktemp("console")
    users = Users(d / "users.json")
    users.add("alice", "operator", "alice-password-1")
    (d / "procedures.toml").write_text(PROCEDURES, encoding="utf-8")
    procs = load_procedures(d / "procedures.toml", set(demo.features.index[demo.features["kind"] == "building"]))
    ing = Ingestor(demo, EventStore(d / "e.sqlite", campus_digest=demo.digest))
    forecaster = Forecaster(ing)
    ing.subscribe(forecaster.on_events)
    port = free_port()
    server, th = run(create_app(ing, users=users, device_keys=[KEY], procedures=procs), port)
    base = f"http://127.0.0.1:{port}"
    now = time.time()
    counts = [{"sensor_id": f"CAM-1{i}", "ts": now - 5, "kind": "count", "count": n} for i, n in zip(range(1, 6), (120, 80, 37, 20, 10))]
    alarms = [{"sensor_id": "TB1-L2-SD01", "ts": now - 3, "kind": "fire", "state": "fire"},
              {"sensor_id": "TB2-L1-SDC4", "ts": now - 2, "kind": "fire", "state": "fault"}]
    r = httpx.post(base + "/api/events", json=counts + alarms, headers={"Authorization": f"Bearer {KEY}"})
    assert r.json()["accepted"] == len(counts) + len(alarms), r.text
    assert forecaster.wait(120)
    yield {"base": base, "fire_ts": now - 3, "ing": ing}
    server.should_exit = True
    th.join(10)
    forecaster.stop()
    ing.close()


@pytest.fixture(scope="module", params=SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def page(request, live_context, site):
    """The console at each size, each loaded afresh at its size in the one browser context (tests/conftest.py
    ``live_context``): alice logs in on the first size's page, the second opens in the same session (or logs in,
    when it runs alone)."""
    w, h = request.param
    if (w, h) == SIZES[0]:
        live_context.clear_cookies()  # no session from another test's server (on 127.0.0.1 too)
    pg = live_context.new_page()
    pg.set_viewport_size({"width": w, "height": h})  # before the console loads: it is drawn at this size
    pg.errors = []
    pg.on("pageerror", lambda e: pg.errors.append(str(e)))
    pg.goto(site["base"] + "/")
    if pg.locator("#username").count():  # the first size logs in; the second finds the session
        pg.fill("#username", "alice")
        pg.fill("#password", "alice-password-1")
        pg.click("button[type=submit]")
    pg.locator("#ct-conn", has_text="LIVE").wait_for(timeout=30_000)
    pg.locator('#ct-alarm-list li[data-key="TB1-L2-SD01:fire"]').wait_for(timeout=30_000)
    pg.locator("#ct-forecast-body", has_text="counted").wait_for(timeout=60_000)
    pg.size = (w, h)
    yield pg
    assert pg.errors == []
    pg.close()


def box(page, selector):
    return page.locator(selector).first.bounding_box()


def test_map_under_header_header_on_one_line_legend_and_labels(page):
    w, h = page.size
    head = box(page, "#ct-head")
    assert head["y"] == 0 and head["height"] <= 50
    assert box(page, ".folium-map")["y"] >= head["height"]  # the map starts under the header
    for sel in (".leaflet-control-zoom-in", ".leaflet-control-layers", "#ct-floors select"):
        b = box(page, sel)
        assert b["y"] >= head["height"] and b["y"] + b["height"] <= h, sel  # controls whole, none under the header
    # the header never wraps: every visible item on its one line, inside the window
    items = page.locator("#ct-head > *, #ct-summary > .ct-pill:not(.ct-pill-hidden)")
    for i in range(items.count()):
        b = items.nth(i).bounding_box()
        if b is not None and b["width"] > 0:
            assert b["y"] >= 0 and b["y"] + b["height"] <= head["height"] and b["x"] + b["width"] <= w + 0.5
    assert page.locator(".ct-alarm-pill").is_visible()  # the alarm pill never gives way
    # the live legend, not the planning map's
    assert page.locator("#ct-legend").count() == 0
    legend = page.locator("#ct-live-legend")
    legend.locator("summary").click() if legend.get_attribute("open") is None else None
    for text in ("P1 alarm", "camera covering an alarm", "forecast route", "forecast bottleneck", "not counted"):
        assert legend.get_by_text(text).first.is_visible(), text
    # labels: no two shown overlap; the alarm's label is shown; the hidden ones are counted on the map
    page.wait_for_function("!document.querySelector('.leaflet-zoom-anim')")  # (the map is not mid-zoom)
    rects = page.evaluate(SHOWN_LABELS)
    if any(overlap(a, b) for i, a in enumerate(rects) for b in rects[i + 1:]):  # a view arrived mid-measure: once more
        page.wait_for_timeout(1000)
        rects = page.evaluate(SHOWN_LABELS)
    assert any("ct-alarm-label" in r[4] for r in rects)
    for i, a in enumerate(rects):
        for b in rects[i + 1:]:
            assert not overlap(a, b), (a[4], b[4])
    hidden = page.locator(".ct-label-hidden").count()
    note = page.locator("#ct-hidden-labels")
    assert (note.text_content().startswith(f"{hidden} label") if hidden else note.is_hidden())


def overlap(a, b):
    return a[0] < b[2] and a[2] > b[0] and a[1] < b[3] and a[3] > b[1]


SHOWN_LABELS = """() => Array.from(document.querySelectorAll('.leaflet-tooltip-pane .leaflet-tooltip, .leaflet-pane .leaflet-tooltip'))
        .filter(e => !e.classList.contains('ct-label-hidden') && (e.classList.contains('ct-btip') || e.classList.contains('ct-gtip')
                 || e.classList.contains('ct-alarm-label')))
        .map(e => { const r = e.getBoundingClientRect(); const m = document.querySelector('.folium-map').getBoundingClientRect();
                    return [r.left, r.top, r.right, r.bottom, e.className, r.right > m.left && r.left < m.right && r.bottom > m.top && r.top < m.bottom]; })
        .filter(r => r[5])"""
"""Script: the labels shown on the map (buildings, gates, alarms) as [left, top, right, bottom, class, on the map]."""


def test_local_time_with_the_zone(page, site):
    assert "GMT+8" in page.locator("#ct-clock").text_content()
    assert page.locator("#ct-clock").get_attribute("title") == "Campus time: Asia/Shanghai"
    local = datetime.fromtimestamp(site["fire_ts"], ZoneInfo("Asia/Shanghai")).strftime("%H:%M:%S")
    assert f"since {local}" in page.locator('#ct-alarm-list li[data-key="TB1-L2-SD01:fire"]').text_content()


def test_forecast_card_counts_and_assumptions(page, site):
    card = page.locator("#ct-forecast-body").text_content()
    fc = site["ing"].state.forecasts()["campus"]
    assert fc["counted"] == 267 and fc["assumed"] == fc["occupants"] - 267  # TB1's cameras; every other building assumed full
    assert card.startswith("Teaching Building 1 (fire): out in")  # the building on fire leads
    assert f"{fc['counted']:,} counted + {fc['assumed']:,} assumed" in card and "taken as full" in card
    assert all(b["building"] == "TB1" for b in fc["bottlenecks"][:1])  # its own bottlenecks first


def test_alarm_workflow_note_keys_sound_procedure(page, site):
    fault = page.locator('#ct-alarm-list li[data-key="TB2-L1-SDC4:fire"]')
    fire = page.locator('#ct-alarm-list li[data-key="TB1-L2-SD01:fire"]')
    assert "Open the side exits" in fire.text_content() and "Call the fire brigade" in fire.text_content()  # building first
    page.locator("#ct-keys-btn").click()
    assert page.locator("#ct-keys").is_visible()
    page.keyboard.press("Escape")
    assert page.locator("#ct-keys").is_hidden()
    sound = page.locator("#ct-sound")
    if fire.locator(".ct-ack-btn").is_enabled():  # the first viewport acts; the second sees the result
        # sound: off in a new browser, the muted state stands out while alarms wait; on, the most urgent pattern plays
        assert sound.get_attribute("aria-pressed") == "false" and sound.text_content() == "SOUND OFF"
        page.keyboard.press("m")
        assert sound.get_attribute("aria-pressed") == "true"
        page.wait_for_function("document.getElementById('ct-sound').dataset.played !== undefined", timeout=10_000)
        assert sound.get_attribute("data-played").startswith("P1")  # the fire's two-tone, not the fault's beep
        # (left on: the second size's page, loaded afresh in this browser, finds it remembered)
        # keyboard: J selects, N types a note, A acknowledges with it
        page.locator("#ct-side h2").first.click()
        while "ct-selected" not in (fire.get_attribute("class") or ""):
            page.keyboard.press("j")
        page.keyboard.press("n")
        page.keyboard.type("brigade called 14:02")
        page.keyboard.press("Escape")
        page.keyboard.press("a")
        page.locator('#ct-alarm-list li[data-key="TB1-L2-SD01:fire"]', has_text="Acknowledged by alice").wait_for(timeout=30_000)
        # a note typed beside Acknowledge goes with that button
        fault.locator(".ct-note-input").fill("detector head dusty, maintenance called")
        fault.locator(".ct-ack-btn").click()
        page.locator('#ct-alarm-list li[data-key="TB2-L1-SDC4:fire"]', has_text="Acknowledged by alice").wait_for(timeout=30_000)
        assert fault.locator(".ct-note-input").input_value() == ""
    else:
        assert sound.get_attribute("aria-pressed") == "true"  # remembered in this browser: the first size's page turned it on
        page.keyboard.press("m")
        assert sound.get_attribute("aria-pressed") == "false"
    trail = page.request.get(site["base"] + "/api/audit").json()
    notes = {r["alarm"]: r["note"] for r in trail["audit"] if r["action"] == "ack"}
    assert notes == {"TB1-L2-SD01:fire": "brigade called 14:02", "TB2-L1-SDC4:fire": "detector head dusty, maintenance called"}
    assert trail["time_zone"] == "Asia/Shanghai" and all(r["local_time"].endswith("+08:00") for r in trail["audit"])


def test_search_and_floor_view(page, site):
    page.keyboard.press("/")
    page.keyboard.type("TB1-L2-R01")
    page.locator("#ct-search-hits li", has_text="TB1-L2-R01").first.wait_for()
    page.keyboard.press("Enter")
    page.locator("#ct-floors button.ct-level-on", has_text="L2").wait_for()
    assert page.locator("#ct-floors button.ct-level-on.ct-level-alarm").count() == 1  # the alarm's level is marked
    rooms = site["ing"].campus.features
    on_floor = ((rooms["kind"].isin(["room", "corridor"])) & (rooms["building"] == "TB1") & (rooms["level"] == 2)).sum()
    assert page.locator("path.ct-floor-room").count() == on_floor
    assert page.locator("path.ct-room-fire").count() == 1  # the room whose detector is in fire
    assert "37 people counted on this level" in page.locator("#ct-floor-info").text_content()
    page.locator("#ct-floors button", has_text="L0").click()
    page.locator("#ct-floors button.ct-level-on", has_text="L0").wait_for()
    assert page.locator("path.ct-room-fire").count() == 0
    page.keyboard.press("Escape")
    assert page.locator("path.ct-floor-room").count() == 0
    page.keyboard.press("f")  # the selected (or first waiting) alarm's floor
    assert page.locator("#ct-floors button.ct-level-on").count() == 1
    page.keyboard.press("Escape")

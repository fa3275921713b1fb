"""The hazard panel of the live console in a real headless Chromium: roles add, fix and verify findings; the wrong ones are refused;
an operator starts an inspection round and marks an item."""

from __future__ import annotations

import time
from typing import Any

import pytest

from sensors.broker import free_port
from sensors.ingest import Ingestor
from sensors.store import EventStore
from tests.helpers import tiny, write
from tests.test_hazards_rounds import quick_users
from tests.test_live_browser import log_in, run
from twin.campus import load_campus
from twin.hazards import HazardLedger
from viz.live.app import create_app

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """A live server on the tiny campus with a viewer, an operator and a verifier, an overdue finding and a detector in fault."""
    d = tmp_path_factory.mktemp("hz")
    campus = load_campus(write(tiny(), d / "campus.geojson"))
    users = quick_users(d / "users.json", {"vic": "viewer", "olga": "operator", "vera": "verifier"})
    store = EventStore(d / "e.sqlite", campus_digest=campus.digest)
    HazardLedger(store.path, campus).add(feature="D0c", kind="door_not_closing", note="lecture-room fire door held open",
                                         by="olga", found_at=time.time() - 45 * 86_400)  # due 30 days after: overdue
    HazardLedger(store.path, campus).add(feature="SD-R0a", kind="detector_fault", note="fault light on", by="olga")
    ing = Ingestor(campus, store)
    app = create_app(ing, users=users)
    server, th = run(app, free_port())
    yield {"base": f"http://127.0.0.1:{server.config.port}", "ing": ing}
    server.should_exit = True
    th.join(10)
    ing.close()


def test_roles_add_fix_and_verify_a_finding_on_the_console(live_context: Any, site: Any) -> None:
    ing = site["ing"]
    page = log_in(live_context, site, "olga", "olga-password-1")
    page.locator("#ct-hz-list .ct-hz-overdue", has_text="fire door held open").wait_for(timeout=30_000)
    assert "OVERDUE" in page.locator(".ct-hz-overdue").text_content()
    # an operator adds a blocked exit: stored, on the map, on the live state (the exit shows closed)
    page.locator("#ct-hz-add summary").click()
    page.fill("#ct-hz-feature", "EXIT-W")
    page.select_option("#ct-hz-kind", "blocked_exit")
    page.fill("#ct-hz-note", "chairs stacked against the exit")
    page.click("#ct-hz-submit")
    item = page.locator("#ct-hz-list .ct-hz-item", has_text="chairs stacked")
    item.wait_for(timeout=30_000)
    assert page.locator(".ct-hz-marker").count() == 3
    assert "3 in force · 1 overdue" in page.locator("#ct-hz-count").text_content()
    assert page.locator("#ct-hz-dark").text_content().startswith("No working detector in R0a")
    assert [b["node"] for b in ing.state.blocked()] == ["EXIT-W"]
    assert page.locator(".ct-hz-tip").text_content() == "EXIT-W closed"  # the exit shown closed on the map
    # a bad finding is refused with the field named, and nothing is stored
    page.fill("#ct-hz-feature", "EXIT-W")
    page.select_option("#ct-hz-kind", "narrowed")
    page.fill("#ct-hz-width", "5")
    page.fill("#ct-hz-note", "boxes")
    page.click("#ct-hz-submit")
    page.locator("#ct-hz-msg.ct-hz-bad", has_text="width: width 5 m is not narrower than 'EXIT-W'").wait_for(timeout=30_000)
    item.click()  # flies to the place and opens its popup
    page.locator(".ct-hz-pop", has_text="chairs stacked").wait_for(timeout=30_000)
    # an inspection round: the building is due; the operator starts one and marks its stair OK
    page.locator("#ct-hz-rounds summary").click()
    page.locator("#ct-hz-sched .ct-hz-sb", has_text="never inspected").locator("button[data-act=start]").click()
    page.locator("#ct-hz-check li[data-feature=S1] button[data-act=ok]").click()
    page.locator("#ct-hz-check h3", has_text="1 of 5 checked").wait_for(timeout=30_000)
    page.locator("#ct-hz-sched button[data-act=continue]").wait_for(timeout=30_000)  # the round is not complete
    # the operator fixes it but may not verify it
    item.locator("button[data-act=fix]").click()
    item.locator(".ct-hz-status", has_text="fixed").wait_for(timeout=30_000)
    assert item.locator("button[data-act=verify]").count() == 0
    fid = page.request.get(site["base"] + "/api/hazards").json()["findings"][-1]["id"]
    csrf = page.locator('meta[name="ct-csrf"]').get_attribute("content")
    r = page.request.post(f"{site['base']}/api/hazards/{fid}/verify", data={},
                          headers={"X-CSRF-Token": csrf, "Origin": site["base"]})
    assert r.status == 403 and "verifier" in r.json()["error"]
    page.close()
    # a viewer sees the panel but has no buttons and is refused by the API
    page = log_in(live_context, site, "vic", "vic-password-1")
    page.locator("#ct-hz-list .ct-hz-item", has_text="chairs stacked").wait_for(timeout=30_000)
    assert page.locator("#ct-hz-add").is_hidden() and page.locator("#ct-hz-list .ct-hz-act").count() == 0
    assert page.locator("#ct-hz-sched button[data-act=start]").count() == 0  # no round to start either
    csrf = page.locator('meta[name="ct-csrf"]').get_attribute("content")
    r = page.request.post(site["base"] + "/api/hazards", data={"feature": "D0a", "kind": "other", "note": "x"},
                          headers={"X-CSRF-Token": csrf, "Origin": site["base"]})
    assert r.status == 403
    page.close()
    # the verifier verifies it: closed, off the live state and the map
    page = log_in(live_context, site, "vera", "vera-password-1")
    item = page.locator("#ct-hz-list .ct-hz-item", has_text="chairs stacked")
    item.locator("button[data-act=verify]").click()
    item.locator(".ct-hz-status", has_text="verified").wait_for(timeout=30_000)
    assert ing.state.blocked() == [] and page.locator(".ct-hz-marker").count() == 2
    moves = page.request.get(site["base"] + "/api/hazards").json()["findings"][-1]["moves"]
    assert [(m["status"], m["by"], m["role"]) for m in moves] == [("open", "olga", "operator"), ("fixed", "olga", "operator"),
                                                                  ("verified", "vera", "verifier")]
    assert page.errors == [] and page.dialogs == []
    page.close()

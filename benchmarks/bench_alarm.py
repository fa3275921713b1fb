"""Benchmark: from an alarm to the operator's screen with nothing else running (targets: map view 0.5 s, browser page 1 s).

Run with ``make bench``. ``twin serve`` runs in its own process on the
documented tiny campus (``docs/examples/tiny.geojson``: one building, a smoke
detector, a camera), with an operator. Alarms are posted to
``POST /api/events`` one at a time (a camera's crowding alert, raised then
reset, ``ROUNDS`` times; then the detector's fire alarm) and timed from just
before the post to:

- a WebSocket map client: the first view that carries the alarm (target 0.5 s);
- a real headless Chromium (Debian's ``/usr/bin/chromium``) logged in to the
  live map: the alarm drawn in the alarm list, and for the fire alarm also
  the flashing marker and the building's alarm label (target 1 s).

The test suite checks that alarms arrive this way (``tests/test_live.py``,
``tests/test_live_browser.py``); ``bench_live.py`` measures the same under a
heavy feed. Machines here are shared and noisy: read medians and ratios.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))
sys.path.insert(0, str(ROOT))
from bench_load import _machine  # noqa: E402

import httpx  # noqa: E402

from sensors.broker import free_port  # noqa: E402

TINY = ROOT / "docs" / "examples" / "tiny.geojson"
CHROMIUM = Path("/usr/bin/chromium")
ROUNDS = 10
"""Crowding alerts raised (and reset) per client."""
WS_TARGET_S = 0.5
PAGE_TARGET_S = 1.0
KEY = "bench-device-key"
USER, PASSWORD = "alice", "bench-password-1"


def _post(base: str, event: dict) -> None:
    r = httpx.post(base + "/api/events", json=[{"ts": time.time(), **event}], headers={"Authorization": f"Bearer {KEY}"},
                   timeout=30)
    if r.json().get("accepted") != 1:
        msg = f"alarm not accepted: {r.text}"
        raise RuntimeError(msg)


def _crowding(active: bool) -> dict:
    return {"sensor_id": "CAM1", "kind": "alert", "alert": "crowding", "active": active}


FIRE = {"sensor_id": "SD-R0a", "kind": "fire", "state": "fire"}


def _views_until(ws, cond) -> float:  # noqa: ANN001
    """Read views until ``cond(view)``; the time it arrived (perf_counter)."""
    while True:
        view = json.loads(ws.recv(timeout=30))
        if cond(view):
            return time.perf_counter()


def _keys(view: dict) -> set[str]:
    return {a["id"] for a in view["alarms"] if a.get("active", True)}


def websocket_latencies(base: str, cookie: str) -> tuple[list[float], float]:
    """Crowding alert → view, ``ROUNDS`` times, then the fire alarm → view (s)."""
    from websockets.sync.client import connect

    url = base.replace("http://", "ws://") + "/ws"
    out = []
    with connect(url, additional_headers={"Cookie": cookie, "Origin": base}, max_size=None) as ws:
        ws.recv(timeout=30)  # the view at connection
        for _ in range(ROUNDS):
            t = time.perf_counter()
            _post(base, _crowding(True))
            out.append(_views_until(ws, lambda v: "CAM1:crowding" in _keys(v)) - t)
            _post(base, _crowding(False))
            _views_until(ws, lambda v: "CAM1:crowding" not in _keys(v))
        t = time.perf_counter()
        _post(base, FIRE)
        fire = _views_until(ws, lambda v: "SD-R0a:fire" in _keys(v)) - t
    return out, fire


def page_latencies(base: str) -> tuple[list[float], float] | None:
    """The same alarms into a logged-in live map in headless Chromium (s); ``None`` without Chromium."""
    if not CHROMIUM.exists():
        return None
    from playwright.sync_api import sync_playwright

    out = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox", "--disable-gpu"])
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 900})
            page.goto(base + "/")
            page.fill("#username", USER)
            page.fill("#password", PASSWORD)
            page.click("button[type=submit]")
            page.wait_for_url(base + "/")
            page.locator("#ct-conn", has_text="LIVE").wait_for(timeout=30_000)
            item = page.locator('#ct-alarm-list li[data-key="CAM1:crowding"]')
            for _ in range(ROUNDS):
                t = time.perf_counter()
                _post(base, _crowding(True))
                item.wait_for(timeout=30_000)
                out.append(time.perf_counter() - t)
                _post(base, _crowding(False))
                item.wait_for(state="detached", timeout=30_000)
            t = time.perf_counter()
            _post(base, FIRE)
            page.locator('#ct-alarm-list li[data-key="SD-R0a:fire"]').wait_for(timeout=30_000)
            page.wait_for_selector("path.ct-alarm-marker.ct-flash", timeout=30_000)
            page.wait_for_selector(".ct-alarm-label", timeout=30_000)
            fire = time.perf_counter() - t
        finally:
            browser.close()
    return out, fire


def _line(what: str, lat: list[float], fire: float, target: float) -> str:
    med = statistics.median(lat)
    worst = max([*lat, fire])
    return (f"  {what}: crowding alert median {med * 1000:.0f} ms, max {max(lat) * 1000:.0f} ms over {len(lat)}; "
            f"fire alarm {fire * 1000:.0f} ms; target {target * 1000:.0f} ms -> {'PASS' if worst < target else 'FAIL'}")


def main() -> None:
    """Start ``twin serve`` on the tiny campus, then time alarms to a WebSocket client and to a browser."""
    twin = str(Path(sys.executable).parent / "twin")
    print(f"machine: {_machine()}")
    print(f"alarm to screen: twin serve on {TINY.relative_to(ROOT)}, one alarm at a time, nothing else running")
    with tempfile.TemporaryDirectory(prefix="twin-bench-alarm-") as tmp:
        folder = Path(tmp)
        users = folder / "users.json"
        subprocess.run([twin, "user", "add", USER, "--role", "operator", "--users", str(users)], input=PASSWORD + "\n",
                       text=True, check=True, capture_output=True)
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        env = {**os.environ, "TWIN_DEVICE_KEYS": KEY}
        for run in ("websocket", "browser"):  # a fresh server (and store) for each client: the fire alarm latches
            store = folder / f"{run}.sqlite"
            server = subprocess.Popen([twin, "serve", str(TINY), "--store", str(store), "--users", str(users),
                                       "--port", str(port), "--no-forecast"], env=env, stderr=subprocess.PIPE, text=True)
            try:
                deadline = time.time() + 120
                while True:
                    try:
                        if httpx.get(base + "/api/health", timeout=1).status_code == 200:
                            break
                    except httpx.HTTPError:
                        pass
                    if time.time() > deadline or server.poll() is not None:
                        err = server.stderr.read() if server.poll() is not None else ""
                        msg = f"twin serve did not start: {err}"
                        raise RuntimeError(msg)
                    time.sleep(0.2)
                if run == "websocket":
                    r = httpx.post(base + "/login", json={"username": USER, "password": PASSWORD}, headers={"Origin": base})
                    lat, fire = websocket_latencies(base, f"twin_session={r.cookies['twin_session']}")
                    print(_line("WebSocket map view", lat, fire, WS_TARGET_S))
                else:
                    res = page_latencies(base)
                    if res is None:
                        print(f"  browser page: skipped ({CHROMIUM} missing: run `apt-get install -y chromium`)")
                    else:
                        print(_line("browser page", *res, PAGE_TARGET_S))
            finally:
                server.terminate()
                server.wait(30)


if __name__ == "__main__":
    main()

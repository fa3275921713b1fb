"""Camera snapshots through the server and stream links: a local HTTP server plays the cameras, serving JPEGs.

The console fetches ``snapshot_url`` with a timeout and passes the image on uncached (a browser needs no access to
the camera network); a camera answering an error, not an image or too late is refused with the reason; the alarm
card and the camera popup in a real browser show the snapshot and the stream link.
"""

from __future__ import annotations

import io
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeout
from fastapi.testclient import TestClient
from PIL import Image

from sensors.broker import free_port
from sensors.ingest import Ingestor
from sensors.store import EventStore
from tests.helpers import add, feature, point, tiny, write
from tests.test_live_browser import log_in, run
from twin.auth import Users
from twin.campus import load_campus
from twin.errors import CampusError
from viz.live import cameras
from viz.live.app import create_app

KEY = "k-cams"
ORIGIN = {"Origin": "http://testserver"}
STREAM = "rtsp://nvr.example/cam1"


def jpeg(colour: tuple[int, int, int], size: tuple[int, int] = (64, 48)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, colour).save(out, "JPEG")
    return out.getvalue()


SHOT = jpeg((200, 40, 40))


class Cameras(BaseHTTPRequestHandler):
    """``/cam1.jpg`` a JPEG, ``/broken`` 500, ``/text`` a text page, ``/slow`` a JPEG after 1 s."""

    def do_GET(self) -> None:
        if self.path == "/slow":
            time.sleep(1.0)
        if self.path == "/broken":
            self.send_error(500, "sensor board fault")
            return
        body, kind = (b"not a picture", "text/plain") if self.path == "/text" else (SHOT, "image/jpeg")
        self.send_response(200)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        """Quiet."""


@pytest.fixture(scope="module")
def cams():
    server = ThreadingHTTPServer(("127.0.0.1", 0), Cameras)
    th = threading.Thread(target=server.serve_forever, daemon=True)
    th.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


@pytest.fixture(scope="module")
def campus(cams, tmp_path_factory):
    doc = tiny()
    feature(doc, "CAM1")["properties"].update(snapshot_url=f"{cams}/cam1.jpg", stream_url=STREAM)
    for cid, path in (("CAM2", "/broken"), ("CAM3", "/slow"), ("CAM4", "/text"), ("CAM5", None)):
        add(doc, point(2, 5), id=cid, kind="camera", heading=90, fov=70, range=20,
            **({"snapshot_url": cams + path} if path else {}))
    return load_campus(write(doc, tmp_path_factory.mktemp("c") / "cams.geojson"))


@pytest.fixture(scope="module")
def users(tmp_path_factory):
    u = Users(tmp_path_factory.mktemp("u") / "users.json")
    u.add("vera", "viewer", "vera-password-1")
    return u


@pytest.fixture(scope="module")
def client(campus, users, tmp_path_factory):
    ing = Ingestor(campus, EventStore(tmp_path_factory.mktemp("s") / "e.sqlite"))
    with TestClient(create_app(ing, users=users, device_keys=[KEY])) as c:
        assert c.get("/api/cameras/CAM1/snapshot").status_code == 401  # no login, no picture
        c.post("/login", json={"username": "vera", "password": "vera-password-1"}, headers=ORIGIN)
        yield c
    ing.close()


def test_the_server_passes_the_cameras_snapshot_on_uncached(client):
    r = client.get("/api/cameras/CAM1/snapshot")
    assert r.status_code == 200 and r.content == SHOT and r.headers["content-type"] == "image/jpeg"
    assert r.headers["cache-control"] == "no-store"
    links = client.get("/api/layout").json()["cameras"]
    assert links["CAM1"] == {"snapshot": "/api/cameras/CAM1/snapshot", "stream": STREAM}
    assert "CAM5" not in links and set(links) == {"CAM1", "CAM2", "CAM3", "CAM4"}


def test_a_camera_that_fails_answers_late_or_is_unknown_is_refused_with_the_reason(client, monkeypatch):
    monkeypatch.setattr(cameras, "TIMEOUT_S", 0.3)
    for cid, status, words in (("CAM2", 502, "500"), ("CAM4", 502, "not an image"), ("CAM3", 504, "within 0.3 s"),
                               ("CAM5", 404, "no snapshot_url"), ("SD-R0a", 404, "no camera"), ("NOPE", 404, "no camera")):
        r = client.get(f"/api/cameras/{cid}/snapshot")
        assert r.status_code == status and words in r.json()["error"], (cid, r.text)


def test_a_snapshot_url_that_is_not_http_is_refused_at_load(tmp_path):
    doc = tiny()
    feature(doc, "CAM1")["properties"]["snapshot_url"] = "file:///etc/passwd"
    with pytest.raises(CampusError) as e:
        load_campus(write(doc, tmp_path / "bad.geojson"))
    assert [(p.feature, p.field) for p in e.value.problems] == [("CAM1", "snapshot_url")]


@pytest.mark.browser
def test_the_alarm_card_and_the_camera_popup_show_the_snapshot_and_the_stream(live_context, campus, users, tmp_path):
    ing = Ingestor(campus, EventStore(tmp_path / "e.sqlite"))
    port = free_port()
    server, th = run(create_app(ing, users=users, device_keys=[KEY]), port)
    base = f"http://127.0.0.1:{port}"
    try:
        r = httpx.post(base + "/api/events", json=[{"sensor_id": "SD-R0a", "ts": time.time(), "kind": "fire", "state": "fire"}],
                       headers={"Authorization": f"Bearer {KEY}"})
        assert r.json()["accepted"] == 1
        pg = log_in(live_context, {"base": base}, "vera", "vera-password-1", width=1366, height=768)
        errors = pg.errors
        shot = pg.locator("#ct-alarm-list figure.ct-camera img.ct-snap").first
        shot.wait_for(timeout=30_000)
        pg.wait_for_function("() => { const i = document.querySelector('figure.ct-camera img.ct-snap');"
                             " return i && i.complete && i.naturalWidth > 0; }", timeout=10_000)
        assert shot.evaluate("i => [i.naturalWidth, i.naturalHeight]") == [64, 48]
        link = pg.locator("#ct-alarm-list figure.ct-camera a.ct-stream").first
        assert link.get_attribute("href") == STREAM and link.get_attribute("rel") == "noopener noreferrer"
        pg.screenshot(path=str(tmp_path / "alarm-card-snapshot.png"))
        popup = pg.locator(".ct-cam-popup img.ct-snap")
        for _ in range(10):  # the covering camera's marker opens its popup (a live push may redraw it under the click)
            pg.locator("path.ct-cam-on").first.click(force=True)
            try:
                popup.wait_for(timeout=3_000)
                break
            except PlaywrightTimeout:
                continue
        popup.wait_for(timeout=3_000)
        assert errors == []
        pg.close()
    finally:
        server.should_exit = True
        th.join(10)
        ing.close()

"""Feeds other systems speak, through a real Mosquitto: Frigate NVR counts, Zigbee2MQTT / Home Assistant availability,
payloads without ``ts``, publishing back with Home Assistant discovery, and MQTT over TLS (and MQTT 5).

One broker for the module, with two extra TLS listeners (a certificate authority, server and client certificates
made here with the openssl command line): one that asks for a username and password, one that asks for a client
certificate. Every message is in the documented format of the system it stands for.
"""

from __future__ import annotations

import json
import os
import shutil
import ssl
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from sensors.adapters.frigate import Frigate
from sensors.adapters.zigbee import Zigbee2Mqtt
from sensors.broker import (
    INSTALL,
    Mosquitto,
    free_port,
    mosquitto_binary,
    start_mosquitto,
)
from sensors.ingest import Ingestor
from sensors.mqtt import Broker, MqttIngest
from sensors.store import EventStore
from tests.helpers import add, feature, point, tiny, wait_for, write

pytestmark = pytest.mark.mqtt

T0 = 1_780_000_000.0
"""The twin's clock in these tests (epoch s): events stamped on receipt carry exactly this."""



def _openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


def make_certs(folder: Path) -> dict[str, Path]:
    """A CA, a server certificate for 127.0.0.1 and a client certificate, all signed by the CA (P-256 keys)."""
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    (folder / "ca.ext").write_text("basicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign,cRLSign\n"
                                   "subjectKeyIdentifier=hash\n")
    _openssl("req", "-x509", *ec, "-keyout", "ca.key", "-out", "ca.pem", "-days", "2", "-subj", "/CN=twin test CA",
             "-extensions", "v3_ca", "-addext", "keyUsage=critical,keyCertSign,cRLSign", cwd=folder)
    for name, usage, san in (("server", "serverAuth", "subjectAltName=IP:127.0.0.1\n"), ("client", "clientAuth", "")):
        (folder / f"{name}.ext").write_text(f"basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\n"
                                            f"extendedKeyUsage={usage}\nsubjectKeyIdentifier=hash\n"
                                            f"authorityKeyIdentifier=keyid\n{san}")
        _openssl("req", *ec, "-keyout", f"{name}.key", "-out", f"{name}.csr", "-subj", f"/CN=twin test {name}", cwd=folder)
        _openssl("x509", "-req", "-in", f"{name}.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
                 "-out", f"{name}.pem", "-days", "2", "-extfile", f"{name}.ext", cwd=folder)
    return {n: folder / n for n in ("ca.pem", "server.pem", "server.key", "client.pem", "client.key")}


class Site:
    """The module's broker, its TLS ports and files."""

    def __init__(self, broker: Mosquitto, certs: dict[str, Path], tls_password: int, tls_cert: int) -> None:
        self.broker, self.certs, self.tls_password, self.tls_cert = broker, certs, tls_password, tls_cert

    @property
    def url(self) -> str:
        return self.broker.url

    def client(self, client_id: str = "") -> Any:
        """A plain MQTT 3.1.1 client of a device, connected, its loop running."""
        b = Broker.parse(self.url)
        c = b.client(client_id)
        b.connect(c, asynchronous=False)
        c.loop_start()
        return c


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Iterator[Site]:
    """Mosquitto with its plain listener, a TLS listener with a password file and one that requires a client certificate."""
    if mosquitto_binary() is None or shutil.which("openssl") is None:
        msg = f"mosquitto or openssl missing: run `{INSTALL} openssl`"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(msg)
        pytest.skip(msg)
    folder = tmp_path_factory.mktemp("tls")
    certs = make_certs(folder)
    subprocess.run(["mosquitto_passwd", "-b", "-c", str(folder / "passwd"), "twin", "s3cret"], check=True, capture_output=True)
    folder.joinpath("passwd").chmod(0o600)
    tls = f"cafile {certs['ca.pem']}\ncertfile {certs['server.pem']}\nkeyfile {certs['server.key']}\n"
    p1, p2 = free_port(), free_port()
    broker = start_mosquitto(listeners=(
        f"listener {p1} 127.0.0.1\n{tls}allow_anonymous false\npassword_file {folder / 'passwd'}\n"
        f"listener {p2} 127.0.0.1\n{tls}require_certificate true\nallow_anonymous true\n"))
    try:
        yield Site(broker, certs, p1, p2)
    finally:
        broker.stop()


@pytest.fixture(scope="module")
def campus(tmp_path_factory):
    """The tiny campus; CAM1 (outdoors) counts Frigate camera ``hall_west``, CAM2 (room R0a) its zone ``hall/stairs``."""
    from twin.campus import load_campus

    doc = tiny()
    feature(doc, "CAM1")["properties"]["frigate"] = "hall_west"
    add(doc, point(4, 8), id="CAM2", kind="camera", heading=0, fov=90, range=10, building="B1", level=0, frigate="hall/stairs")
    return load_campus(write(doc, tmp_path_factory.mktemp("c") / "campus.geojson"))


def stored(ing: Ingestor) -> list[dict[str, Any]]:
    """Every stored event record, in store order."""
    return [r for _, r in ing.store.events()]


def test_frigate_person_counts_become_camera_counts_and_nothing_else_is_read(site, campus, tmp_path):
    ing = Ingestor(campus, EventStore(tmp_path / "e.sqlite"), clock=lambda: T0)
    frigate = Frigate.from_campus(campus)
    assert frigate is not None and frigate.sources == {"hall_west": ["CAM1"], "hall/stairs": ["CAM2"]}
    m = MqttIngest(ing, site.url, client_id="twin-test-frigate", adapters=[frigate])
    m.start()
    nvr = site.client("frigate")
    try:
        assert m.wait_connected(30)  # a wait, not a speed limit
        face = {"type": "face", "id": "1607123955.475377-mxklsc", "name": "Alice Example", "score": 0.93,
                "camera": "hall_west", "timestamp": T0}
        event = {"type": "new", "before": {}, "after": {"id": "1607123955.475377-mxklsc", "camera": "hall_west",
                                                        "label": "person", "sub_label": ["Alice Example", 0.93],
                                                        "current_zones": ["stairs"]}}
        for topic, payload, retain in [
            ("frigate/available", "online", True),
            ("frigate/events", json.dumps(event), False),  # identity (sub_label): never subscribed
            ("frigate/tracked_object_update", json.dumps(face), False),  # face recognition: never subscribed
            ("frigate/hall_west/person/snapshot", b"\xff\xd8\xff\xe0 a JPEG of a person", True),  # never subscribed
            ("frigate/hall_west/person", "3", False),
            ("frigate/hall/stairs/person", "5", False),
            ("frigate/hall_west/car", "1", False),  # not people: never subscribed
            ("frigate/parking/person", "2", False),  # a Frigate camera no campus camera names: ignored
            ("frigate/hall/stairs/person", "lots", False),  # rejected, naming the field
            ("frigate/hall_west/person", "4", False),
        ]:
            nvr.publish(topic, payload, qos=1, retain=retain).wait_for_publish(5)
        wait_for(lambda: m.received >= 6, what="Frigate messages")  # 2 heartbeats, 3 counts, 1 rejected
        zones = ing.snapshot()["occupancy"]["zones"]
        assert sorted(zones.values()) == [4, 5]
        assert ing.state.status("CAM1") == ing.state.status("CAM2") == "ok"
        assert m.rejected == 1 and ing.store.count("rejected:count") == 1
        assert m.status()["adapters"] == [{"frigate": "frigate", "sources": 2, "unmapped": ["parking"]}]
        assert "frigate/stats" in frigate.subscriptions() and not any("event" in t or "snapshot" in t for t in frigate.subscriptions())
        rows = stored(ing)
        assert {r["kind"] for r in rows} == {"count", "heartbeat"} and len(rows) == 5
        assert all(r["stamped"] == "receipt" and r["ts"] == T0 for r in rows)
        # Frigate's stats (every stats_interval): camera hall_west delivers no frames, camera hall does
        stats = {"cameras": {"hall_west": {"camera_fps": 0.0, "process_fps": 0.0, "detection_fps": 0.0, "skipped_fps": 0.0},
                             "hall": {"camera_fps": 5.1, "process_fps": 5.1, "detection_fps": 1.2, "skipped_fps": 0.0}},
                 "detectors": {"cpu": {"inference_speed": 42.5}}, "service": {"uptime": 3600, "version": "0.14.1"}}
        nvr.publish("frigate/stats", json.dumps(stats), qos=1).wait_for_publish(5)
        wait_for(lambda: ing.state.status("CAM1") == "offline", what="a camera with no frames")
        assert ing.state.status("CAM2") == "ok" and sorted(ing.snapshot()["occupancy"]["zones"].values()) == [5]
        nvr.publish("frigate/available", "offline", qos=1, retain=True).wait_for_publish(5)
        wait_for(lambda: ing.state.status("CAM1") == ing.state.status("CAM2") == "offline", what="Frigate offline")
        assert ing.snapshot()["occupancy"]["zones"] == {}  # an offline camera's last count no longer counts
        data = ing.store.path.read_bytes() + Path(f"{ing.store.path}-wal").read_bytes()
        assert b"Alice" not in data and b"JPEG" not in data and b"\xff\xd8" not in data
    finally:
        nvr.publish("frigate/available", "", qos=1, retain=True).wait_for_publish(5)  # clear the retained messages
        nvr.publish("frigate/hall_west/person/snapshot", "", qos=1, retain=True).wait_for_publish(5)
        nvr.disconnect()
        nvr.loop_stop()
        m.stop()
        ing.close()


def test_zigbee2mqtt_and_home_assistant_availability_and_payloads_without_ts(site, campus, tmp_path):
    ing = Ingestor(campus, EventStore(tmp_path / "e.sqlite"), clock=lambda: T0)
    m = MqttIngest(ing, site.url, client_id="twin-test-z2m", adapters=[Zigbee2Mqtt(ing.registry.sensors)])
    m.start()
    dev = site.client("zigbee2mqtt")
    try:
        assert m.wait_connected(30)  # a wait, not a speed limit
        for topic, payload in [
            ("zigbee2mqtt/SD-R0a/availability", '{"state":"online"}'),  # Zigbee2MQTT's JSON form
            ("zigbee2mqtt/kitchen_lamp/availability", '{"state":"online"}'),  # not a campus sensor: ignored
            ("campus/CAM1/availability", "offline"),  # Home Assistant's plain form on the twin's own tree
            ("campus/SD-R0a/fire", '{"state": "fire", "panel_zone": "B1-L0"}'),  # no ts: stamped on receipt
            ("campus/CAM2/count", '{"count": 7, "ts": 1779999990}'),  # its own ts is kept
            ("campus/CAM2/availability", '{"state": "sleeping"}'),  # rejected by the status field
            ("campus/CAM1/availability", '{"state": "online"}'),
            ("zigbee2mqtt/SD-R0a", '{"battery": 97, "linkquality": 120}'),  # a report without smoke: alive
            ("zigbee2mqtt/kitchen_lamp", '{"state": "ON", "brightness": 200}'),  # not a campus sensor: ignored
        ]:
            dev.publish(topic, payload, qos=1).wait_for_publish(5)
        wait_for(lambda: m.received >= 7, what="availability and events")
        assert ing.state.status("CAM1") == "ok"
        assert [a["kind"] for a in ing.state.alarms()] == ["fire"]
        recs = {(r["sensor_id"], r["kind"]): r for r in stored(ing)}
        assert recs[("SD-R0a", "fire")]["ts"] == T0 and recs[("SD-R0a", "fire")]["stamped"] == "receipt"
        assert recs[("CAM2", "count")]["ts"] == 1779999990 and "stamped" not in recs[("CAM2", "count")]
        assert recs[("SD-R0a", "heartbeat")]["stamped"] == "receipt"
        assert len(stored(ing)) == 6  # SD-R0a heartbeat, CAM1 offline, fire, count, CAM1 online, SD-R0a report; no lamp
        assert m.rejected == 1 and ing.store.count("rejected:status") == 1
    finally:
        dev.disconnect()
        dev.loop_stop()
        m.stop()
        ing.close()


def test_a_zigbee2mqtt_smoke_detector_raises_and_restores_a_fire_alarm_and_reports_tamper_and_low_battery_as_faults(
        site, campus, tmp_path):
    """Zigbee2MQTT's own state messages of a smoke detector (its documented ``smoke``, ``tamper``, ``battery_low``
    exposes, the whole cached state on every report) through the real broker."""
    ing = Ingestor(campus, EventStore(tmp_path / "e.sqlite"), clock=lambda: T0)
    m = MqttIngest(ing, site.url, client_id="twin-test-z2m-smoke", adapters=[Zigbee2Mqtt(ing.registry.sensors)])
    m.start()
    dev = site.client("zigbee2mqtt-smoke")
    quiet = {"battery": 100, "battery_low": False, "linkquality": 120, "smoke": False, "tamper": False, "voltage": 3000}

    def report(state: dict[str, Any], device: str = "SD-R0a") -> None:
        n = m.received
        dev.publish(f"zigbee2mqtt/{device}", json.dumps(state), qos=1).wait_for_publish(5)
        wait_for(lambda: m.received > n, what=f"the report {state}")

    try:
        assert m.wait_connected(30)  # a wait, not a speed limit
        report(quiet)
        assert ing.state.status("SD-R0a") == "ok" and ing.state.alarms() == []
        report({**quiet, "smoke": True, "linkquality": 96})
        fire = ing.state.alarms()
        assert [(a["sensor_id"], a["kind"], a["since"]) for a in fire] == [("SD-R0a", "fire", T0)]
        assert ing.state.fires()[0]["detector"] == "SD-R0a"  # it blocks its room, as a panel's fire does
        report({**quiet, "smoke": True, "tamper": True, "battery_low": "garbled"})  # smoke wins over any fault flag
        assert ing.state.alarms() == fire  # the same alarm: a repeated report restarts nothing
        report(quiet)  # smoke gone: the fire alarm restores (and stays on the panel until an operator clears it)
        assert ing.state.alarms() == [] and ing.state.fires() == []
        assert [(a["kind"], a["active"]) for a in ing.state.panel()] == [("fire", False)]
        report({**quiet, "tamper": True})  # the cover is open
        assert ing.state.status("SD-R0a") == "fault"
        assert [a["kind"] for a in ing.state.alarms()] == ["fault"]
        report({**quiet, "battery_low": True})
        assert ing.state.status("SD-R0a") == "fault"
        report(quiet)
        assert ing.state.status("SD-R0a") == "ok" and ing.state.alarms() == []
        report({"battery": 99, "linkquality": 110})  # no smoke flag: a sign of life only
        report({"smoke": None, "linkquality": 110})  # smoke not known yet: a sign of life only
        report({**quiet, "smoke": "yes"})  # refused, naming the field
        report({**quiet, "smoke": True}, device="CAM1")  # a device named after a camera: a camera sends no fire
        fires = [(r["state"], r["ts"], r["stamped"]) for r in stored(ing) if r["kind"] == "fire"]
        assert fires == [(s, T0, "receipt") for s in ("normal", "fire", "fire", "normal", "fault", "fault", "normal")]
        assert [r["kind"] for r in stored(ing)][-2:] == ["heartbeat", "heartbeat"]
        assert m.rejected == 2 and ing.store.count("rejected:state") == ing.store.count("rejected:kind") == 1
        bad = Zigbee2Mqtt({"SD-R0a"}).decode("zigbee2mqtt/SD-R0a", b'{"smoke": "yes"}', T0)[0]
        assert bad.reason == "Zigbee2MQTT 'zigbee2mqtt/SD-R0a': smoke is 'yes', expected true or false"
    finally:
        dev.disconnect()
        dev.loop_stop()
        m.stop()
        ing.close()


class Watcher:
    """A client that records every message on some topics: (topic, JSON or text, retained flag)."""

    def __init__(self, site: Site, *topics: str) -> None:
        self.seen: list[tuple[str, Any, bool]] = []
        self.client = site.client()
        self.client.on_message = lambda c, u, msg: self.seen.append((msg.topic, _load(msg.payload), msg.retain))
        for t in topics:
            self.client.subscribe(t, qos=1)

    def last(self, topic: str) -> Any:
        return next((p for t, p, _ in reversed(self.seen) if t == topic), None)

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def _load(payload: bytes) -> Any:
    try:
        return json.loads(payload)
    except ValueError:
        return payload.decode()


def test_publishing_back_alarms_occupancy_forecasts_and_home_assistant_discovery(site, campus, tmp_path):
    from scenarios.forecast import make_forecast
    from sensors.adapters.publish import MqttPublisher

    ing = Ingestor(campus, EventStore(tmp_path / "e.sqlite"))
    pub = MqttPublisher(ing, site.url, client_id="twin-test-publish", interval=0.05)
    ing.subscribe(pub.on_events)
    live = Watcher(site, "campus/twin/#", "homeassistant/#")
    pub.start()
    late = None
    try:
        assert pub.wait_connected(30)  # a wait, not a speed limit
        t = time.time() - 60
        ing.submit([{"sensor_id": "CAM2", "ts": t, "kind": "count", "count": 7}])
        wait_for(lambda: (live.last("campus/twin/occupancy/B1") or {}).get("count") == 7, what="B1 occupancy")
        fire = {"sensor_id": "SD-R0a", "ts": t + 1, "kind": "fire", "state": "fire", "panel_zone": "B1-L0"}
        ing.submit([fire])
        for scope in ("building", "campus"):  # the forecasts twin serve's forecaster makes and stores on this alarm
            with ing.lock:
                forecast = make_forecast(ing.state, fire, scope=scope)
            ing.submit([{"sensor_id": "twin", "ts": t + 1, "kind": "forecast", "forecast": forecast}], source="forecast",
                       allow_twin=True)
        wait_for(lambda: live.last("campus/twin/forecast/campus") is not None, what="the campus forecast")
        ing.submit([{"sensor_id": "SD-R0a", "ts": t + 2, "kind": "fire", "state": "normal"}])
        wait_for(lambda: sum(tp == "campus/twin/alarm" for tp, _, _ in live.seen) == 2, what="alarm start and end")
        alarms = [p for tp, p, _ in live.seen if tp == "campus/twin/alarm"]
        assert [(a["event_type"], a["sensor_id"], a["building"]) for a in alarms] == [("fire", "SD-R0a", "B1"),
                                                                                    ("restored", "SD-R0a", "B1")]
        with ing.lock:
            stored_forecast = ing.state.snapshot()["forecasts"]["campus"]
        summary = live.last("campus/twin/forecast/campus")
        assert summary["evacuation_time_s"] == stored_forecast["evacuation_time_s"] > 0
        assert summary["counted"] == stored_forecast["counted"] and summary["trigger"]["sensor_id"] == "SD-R0a"
        # a subscriber arriving now (Home Assistant starting) gets the retained state and discovery, never an old alarm
        late = Watcher(site, "campus/twin/#", "homeassistant/#")
        wait_for(lambda: {"campus/twin/forecast/campus", "campus/twin/occupancy/B1", "campus/twin/publisher"}
                 <= {tp for tp, _, _ in late.seen} and sum(tp.startswith("homeassistant/") for tp, _, _ in late.seen) >= 5,
                 what="the retained state and discovery")
        retained = {tp: p for tp, p, r in late.seen if r}
        assert "campus/twin/alarm" not in {tp for tp, _, _ in late.seen}
        assert retained["campus/twin/occupancy/B1"]["count"] == 7 and retained["campus/twin/publisher"] == "online"
        configs = {tp: p for tp, p in retained.items() if tp.startswith("homeassistant/")}
        node = f"campus_twin_{campus.digest[:8]}"
        b1 = configs[f"homeassistant/sensor/{node}/B1_occupancy/config"]
        assert b1["name"] == "Hall 1 occupancy" and b1["state_topic"] == "campus/twin/occupancy/B1"
        assert b1["device"]["name"] == f"Campus Twin: {campus.features.attrs['name']}"
        assert b1["value_template"] == "{{ value_json.count }}" and b1["availability_topic"] == "campus/twin/publisher"
        event = configs[f"homeassistant/event/{node}/alarm/config"]
        assert event["state_topic"] == "campus/twin/alarm" and {"fire", "restored"} <= set(event["event_types"])
        assert len({c["unique_id"] for c in configs.values()}) == len(configs) == 5  # on site, B1, 2 forecasts, alarm
        for c in configs.values():  # each entity's state is on a topic the twin publishes
            assert c["state_topic"] in {tp for tp, _, _ in live.seen}, c["state_topic"]
        pub.stop()
        wait_for(lambda: live.last("campus/twin/publisher") == "offline", what="the publisher's offline")
    finally:
        pub.stop()
        live.close()
        if late is not None:
            late.close()
        ing.close()


def test_health_shows_the_publisher_link_what_it_published_and_a_lost_broker(campus, tmp_path):
    """``GET /api/health`` in process with the publisher on its own Mosquitto, which the test stops and restarts."""
    from fastapi.testclient import TestClient

    from sensors.adapters.publish import MqttPublisher
    from twin.auth import Users
    from viz.live.app import create_app

    users = Users(tmp_path / "users.json")
    users.add("olga", "operator", "olga-password-1")
    broker = start_mosquitto()
    ing = Ingestor(campus, EventStore(tmp_path / "e.sqlite"))
    pub = MqttPublisher(ing, broker.url, client_id="twin-test-publish-health", interval=0.05)
    ing.subscribe(pub.on_events)
    t = time.time() - 60
    try:
        with TestClient(create_app(ing, users=users, publisher=pub)) as c:
            before = time.time()
            pub.start()
            assert pub.wait_connected(30)  # a wait, not a speed limit
            ing.submit([{"sensor_id": "SD-R0a", "ts": t, "kind": "fire", "state": "fire"}])
            wait_for(lambda: pub.delivered == pub.published, what="every publication acknowledged")
            assert c.get("/api/health").json() == {"ok": True, "mqtt_publish": {"connected": True}}  # no login: up or not
            assert c.post("/login", json={"username": "olga", "password": "olga-password-1"},
                          headers={"Origin": "http://testserver"}).status_code == 200
            h = c.get("/api/health").json()["mqtt_publish"]
            assert h["broker"] == broker.url and h["connected"] is True and h["protocol"] == "3.1.1"
            assert h["published"] == h["delivered"] >= 7  # 5 discovery configs, online, the alarm (and occupancy)
            assert before <= h["last_publish"] <= time.time() and h["error_count"] == 0 and h["errors"] == []
            broker.halt()  # the broker goes away: reported down, with the error; what is published meanwhile waits
            wait_for(lambda: not c.get("/api/health").json()["mqtt_publish"]["connected"], what="the link reported down")
            ing.submit([{"sensor_id": "SD-R0a", "ts": t + 1, "kind": "fire", "state": "normal"}])
            h = c.get("/api/health").json()["mqtt_publish"]
            assert h["published"] > h["delivered"] and h["error_count"] >= 1
            assert any("lost" in e and str(broker.port) in e for e in h["errors"]), h["errors"]
            broker.restart()
            wait_for(lambda: c.get("/api/health").json()["mqtt_publish"]["connected"], timeout=60, what="the link back up")
            wait_for(lambda: pub.delivered >= pub.published, what="the restore sent after the reconnect")
    finally:
        pub.stop()
        ing.close()
        broker.stop()


def _counts(n: int, t0: float, sensor: str = "CAM2") -> list[dict[str, Any]]:
    return [{"sensor_id": sensor, "ts": t0 + i, "kind": "count", "count": i, "seq": i} for i in range(n)]


def _refused(url: str) -> str:
    """How the broker at ``url`` turns a client away: the TLS error, ``disconnected`` before any CONNACK, or ``connected``."""
    b = Broker.parse(url)
    c = b.client("twin-test-refused")
    seen: list[str] = []
    c.on_connect = lambda *a: seen.append("connected")
    c.on_disconnect = lambda *a: seen.append("disconnected")
    try:
        b.connect(c, asynchronous=False)
    except ssl.SSLError as e:
        return str(e)
    end = time.monotonic() + 30
    while not seen and time.monotonic() < end:
        c.loop(timeout=0.05)
    return seen[0] if seen else "no answer"


def test_mqtts_with_password_and_mqtt5_session_and_with_a_client_certificate(site, campus, tmp_path):
    from sensors.sources import publish

    ca, cert, key = site.certs["ca.pem"], site.certs["client.pem"], site.certs["client.key"]
    password_url = f"mqtts://twin:s3cret@127.0.0.1:{site.tls_password}?ca={ca}&version=5"
    cert_url = f"mqtts://127.0.0.1:{site.tls_cert}?ca={ca}&cert={cert}&key={key}"
    ing = Ingestor(campus, EventStore(tmp_path / "e.sqlite"))
    t = time.time() - 600
    try:
        m = MqttIngest(ing, password_url, client_id="twin-test-tls5")
        m.start()
        assert m.wait_connected(30) and m.status()["protocol"] == "5"  # a wait, not a speed limit
        m.stop()  # MQTT 5: the session (subscription and queue) outlives the connection
        assert publish(_counts(20, t), cert_url, client_id="tls-camera")["acknowledged_by_broker"] == 20
        m = MqttIngest(ing, password_url, client_id="twin-test-tls5")
        m.start()
        wait_for(lambda: ing.store.count() == 20, what="events queued while the twin was away")
        m.stop()
        assert sorted(ing.store.keys()) == [("CAM2", i) for i in range(20)]
        m = MqttIngest(ing, f"mqtts://twin:wrong@127.0.0.1:{site.tls_password}?ca={ca}", client_id="twin-test-refused")
        m.start()
        wait_for(lambda: m.problems.latest, what="the refusal")
        assert "Not authorized" in m.problems.latest[0] and not m.connected.is_set()
        m.stop()
        assert _refused(f"mqtts://127.0.0.1:{site.tls_cert}?ca={ca}") == "disconnected"  # no client certificate
        assert "CERTIFICATE_VERIFY_FAILED" in _refused(f"mqtts://twin:s3cret@127.0.0.1:{site.tls_password}?ca={cert}")  # not the CA
    finally:
        ing.close()


@pytest.mark.parametrize(("url", "problem"), [
    ("http://127.0.0.1:1883", "the scheme must be mqtt:// or mqtts://"),
    ("mqtt://127.0.0.1:1883?ca=/etc/hostname", "need mqtts://"),
    ("mqtts://127.0.0.1?ca=/nonexistent.pem", "ca='/nonexistent.pem' is not a file"),
    ("mqtts://127.0.0.1?cert=/etc/hostname", "needs both cert= and key="),
    ("mqtts://127.0.0.1?version=4", "expected 3.1.1 or 5"),
    ("mqtts://127.0.0.1?insecure=1", "unknown parameter 'insecure'"),
])
def test_a_broker_url_that_cannot_work_is_refused_naming_the_part(url, problem):
    with pytest.raises(ValueError, match=problem.replace("?", r"\?").replace(".", r"\.").replace("(", r"\(")):
        Broker.parse(url)


def test_broker_url_defaults_and_the_password_from_the_environment(monkeypatch):
    monkeypatch.setenv("TWIN_MQTT_PASSWORD", "from-env")
    b = Broker.parse("mqtts://ops@broker.campus.example")
    assert (b.host, b.port, b.tls, b.username, b.password, b.version) == ("broker.campus.example", 8883, True, "ops", "from-env", "3.1.1")
    assert Broker.parse("mqtt://u:p%40ss@h").password == "p@ss" and Broker.parse("h").port == 1883


def test_serve_refuses_a_bad_frigate_property_publish_without_a_broker_and_a_bad_bacnet_mapping(tmp_path):
    from typer.testing import CliRunner

    from twin.cli import app

    doc = tiny()
    feature(doc, "CAM1")["properties"]["frigate"] = "hall west/#"
    bad = write(doc, tmp_path / "campus.geojson")
    r = CliRunner().invoke(app, ["serve", str(bad), "--store", str(tmp_path / "e.sqlite"), "--mqtt", "mqtt://127.0.0.1:1"])
    assert r.exit_code == 2 and "CAM1" in r.output and "frigate" in r.output, r.output
    r = CliRunner().invoke(app, ["serve", str(bad), "--store", str(tmp_path / "e.sqlite"), "--publish"])
    assert r.exit_code == 2 and "--publish needs --mqtt" in r.output, r.output
    panel = tmp_path / "panel.toml"
    panel.write_text('[device]\naddress = "10.0.0.5"\n[[objects]]\nobject = "life-safety-point,1"\ndetector = "CAM1"\n')
    r = CliRunner().invoke(app, ["serve", str(tmp_path / "campus.geojson"), "--store", str(tmp_path / "e.sqlite"), "--bacnet", str(panel)])
    assert r.exit_code == 2 and "objects[0].detector: 'CAM1' is not a detector" in r.output, r.output


def test_the_frigate_and_zigbee2mqtt_decoders_never_raise():
    from hypothesis import given, settings
    from hypothesis import strategies as st

    from sensors.events import parse_event

    frigate = Frigate({"hall_west": ["CAM1"], "hall/stairs": ["CAM2"]})
    zigbee = Zigbee2Mqtt({"SD-R0a"})
    topics = st.sampled_from(["frigate/available", "frigate/stats", "frigate/hall_west/person", "frigate/hall/stairs/person", "frigate/x/person",
                              "zigbee2mqtt/SD-R0a/availability", "zigbee2mqtt/lamp/availability", "zigbee2mqtt/SD-R0a",
                              "frigate"]) | st.text(max_size=30)
    payloads = st.binary(max_size=64) | st.sampled_from([b"3", b"-1", b"99999999", b'{"state": 5}', b'{"state":"online"}', b"",
                                                         b'{"cameras": {"hall": {"camera_fps": true}}}', b'{"hall": 3}', b"[1]",
                                                         b'{"smoke": true}', b'{"smoke": 1, "tamper": []}',
                                                         b'{"smoke": false, "battery_low": "x"}'])

    @settings(max_examples=60, deadline=None, database=None)
    @given(topic=topics, payload=payloads)
    def check(topic: str, payload: bytes) -> None:
        for adapter in (frigate, zigbee):
            for r in adapter.decode(topic, payload, T0) or []:
                got = parse_event(r, now=T0)
                assert not isinstance(got, list) or all(p.message for p in got)

    check()

"""The MQTT feed against a real Mosquitto broker on a free loopback port (Debian's mosquitto; never downloaded)."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from sensors.broker import (
    INSTALL,
    Mosquitto,
    free_port,
    mosquitto_binary,
    start_mosquitto,
)
from sensors.ingest import Ingestor
from sensors.mqtt import MqttIngest
from sensors.sources import publish, synthetic_day
from sensors.store import EventStore
from tests.helpers import DEMO, ROOT, TINY, tiny, wait_for, write

pytestmark = pytest.mark.mqtt


@pytest.fixture(scope="module")
def broker() -> Iterator[Mosquitto]:
    """A Mosquitto of our own for this module.

    Skips when mosquitto is missing, except under ``CI=true``, where a missing broker fails the test instead.
    """
    if mosquitto_binary() is None:
        msg = f"mosquitto missing: run `{INSTALL}`"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(msg)
        pytest.skip(msg)
    b = start_mosquitto()
    try:
        yield b
    finally:
        b.stop()



GATE = """
import sys, time
import paho.mqtt.client as mqtt
c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="gate-north-controller")
c.will_set("campus/GATE-N/availability", "offline", qos=1, retain=True)
c.connect("127.0.0.1", int(sys.argv[1]), keepalive=5)
c.loop_start()
c.publish("campus/GATE-N/availability", "online", qos=1, retain=True).wait_for_publish(5)
print("up", flush=True)
time.sleep(60)
"""
"""A gate controller: says online (retained) with a last will of offline, then waits to be killed."""


def test_events_rejections_and_availability_through_mosquitto(broker, demo, tmp_path):
    import paho.mqtt.client as mqtt

    ing = Ingestor(demo, EventStore(tmp_path / "e.sqlite"))
    m = MqttIngest(ing, broker.url, client_id="twin-test-basic")
    m.start()
    seen: list[tuple[str, bytes, bool]] = []
    watcher = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="watcher")
    watcher.on_message = lambda c, u, msg: seen.append((msg.topic, msg.payload, msg.retain))
    watcher.connect("127.0.0.1", broker.port)
    watcher.subscribe("campus/twin/#", qos=1)
    watcher.loop_start()
    try:
        assert m.wait_connected(30)  # a wait, not a speed limit
        t = time.time() - 30
        pub = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="gate-north")
        pub.connect("127.0.0.1", broker.port)
        pub.loop_start()
        msgs = [
            ("campus/GATE-N/availability", "online"),
            ("campus/GATE-N/crossing", json.dumps({"ts": t, "direction": "in", "count": 4, "seq": 1, "card": "C0FFEE"})),
            ("campus/GATE-N/crossing", json.dumps({"ts": t, "direction": "in", "count": 4, "seq": 1})),  # duplicate
            ("campus/CAM-01/count", json.dumps({"ts": t, "count": 11})),
            ("campus/CAM-01/count", "{not json"),
            ("campus/CAM-01/count", json.dumps({"ts": t, "count": -5})),
            ("campus/NOBODY/count", json.dumps({"ts": t, "count": 1})),
            ("campus/CAM-01/crossing", json.dumps({"sensor_id": "GATE-N", "ts": t, "direction": "in"})),
            ("campus/events", json.dumps([{"sensor_id": "DORM1-D1", "ts": t, "kind": "crossing", "direction": "in", "count": 2, "seq": 7},
                                          {"sensor_id": "TB1-L0-SD01", "ts": t + 1, "kind": "fire", "state": "fire", "seq": 1}])),
        ]
        for topic, payload in msgs:
            pub.publish(topic, payload, qos=1).wait_for_publish(5)
        wait_for(lambda: m.received >= 10, what="all messages")
        st = ing.snapshot()
        assert st["store"]["events"] == 5  # availability, crossing, count, dorm crossing, fire
        assert st["store"]["duplicate"] == 1
        assert st["occupancy"]["gate_balance"] == 4 and st["occupancy"]["buildings"]["DORM1"]["count"] == 2
        assert st["alarms"][0]["kind"] == "fire"
        assert m.rejected == 4
        assert st["store"]["rejected:topic"] == 1 and st["store"]["rejected:unknown_sensor"] == 1
        wait_for(lambda: sum(1 for tp, _, _ in seen if tp == "campus/twin/rejected") >= 4, what="rejections published")
        reasons = [json.loads(p)["reason"] for tp, p, _ in seen if tp == "campus/twin/rejected"]
        assert any("not valid JSON" in r for r in reasons) and any("unknown sensor 'NOBODY'" in r for r in reasons)
        assert any("differ from the topic" in r for r in reasons)
        assert all(not retain for tp, _, retain in seen if tp == "campus/twin/rejected")  # alarms and rejections never retained
        assert ("campus/twin/availability", b"online") in [(tp, p) for tp, p, _ in seen]
        # the gate's last will marks it offline when it drops off: a gate controller process dies
        gate = subprocess.Popen([sys.executable, "-c", GATE, str(broker.port)], stdout=subprocess.PIPE, text=True)
        assert gate.stdout.readline().strip() == "up"
        wait_for(lambda: ing.state.status("GATE-N") == "ok", what="online")
        os.kill(gate.pid, signal.SIGKILL)
        gate.wait()
        wait_for(lambda: ing.state.status("GATE-N") == "offline", what="last will")
        assert ing.state.health()["problems"]["GATE-N"]["status"] == "offline"
        assert b"C0FFEE" not in ing.store.path.read_bytes() + Path(f"{ing.store.path}-wal").read_bytes()
    finally:
        m.stop()
        for c in (pub, watcher):
            c.disconnect()
            c.loop_stop()
        ing.close()


def test_events_published_while_the_twin_is_down_arrive_when_it_returns(broker, demo, tmp_path):
    events = synthetic_day(demo, seed=5, duration=3600, interval=600)
    ing = Ingestor(demo, EventStore(tmp_path / "e.sqlite"))
    m = MqttIngest(ing, broker.url, client_id="twin-test-session")
    m.start()
    assert m.wait_connected(30)  # a wait, not a speed limit
    m.stop()  # the broker keeps the session: subscription and queued QoS 1 messages
    res = publish(events, broker.url)
    assert res["acknowledged_by_broker"] == len(events)
    assert all(seq is None for _, seq in ing.store.keys())  # retained availability messages only
    m2 = MqttIngest(ing, broker.url, client_id="twin-test-session")
    m2.start()
    try:
        wait_for(lambda: sum(seq is not None for _, seq in ing.store.keys()) == len(events), what="queued events")
        assert sorted(k for k in ing.store.keys() if k[1] is not None) == sorted((e["sensor_id"], e["seq"]) for e in events)
    finally:
        m2.stop()
        ing.close()


def test_every_message_is_acknowledged_so_the_resumed_session_gets_none_again(broker, demo, tmp_path):
    """The PUBACKs (written together after each commit) reach the broker: the same session, resumed, is sent no message
    a second time (a missing PUBACK would come back as a redelivered duplicate, silently dropped by the store)."""
    events = synthetic_day(demo, seed=7, duration=3600, interval=600)
    ing = Ingestor(demo, EventStore(tmp_path / "e.sqlite"))
    m = MqttIngest(ing, broker.url, client_id="twin-test-acks")
    m.start()
    assert m.wait_connected(30)  # a wait, not a speed limit
    publish(events, broker.url)
    stored = lambda: sum(seq is not None for _, seq in ing.store.keys())  # noqa: E731 - not the retained availability
    wait_for(lambda: stored() == len(events), what="every event stored")
    m.stop()
    m2 = MqttIngest(ing, broker.url, client_id="twin-test-acks")
    m2.start()
    try:
        assert m2.wait_connected(30)
        publish([{**events[-1], "seq": 10**9}], broker.url)  # comes after any redelivery of the resumed session
        wait_for(lambda: stored() == len(events) + 1, what="the marker event")
        assert ing.store.count("duplicate") == 0
    finally:
        m2.stop()
        ing.close()


def _serve(store: Path, port: int, broker: Mosquitto) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "twin", "serve", str(DEMO), "--store", str(store), "--port", str(port),
                             "--mqtt", broker.url, "--client-id", "twin-test-sigkill", "--no-forecast"],
                            cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env={**os.environ, "TWIN_DEVICE_KEYS": "k"})


def _health(port: int) -> dict | None:
    import httpx

    try:
        return httpx.get(f"http://127.0.0.1:{port}/api/health", timeout=1).json()
    except Exception:  # noqa: BLE001 - not up yet
        return None


def _stored(store: Path) -> int:
    """Sensor events with a seq in the store (retained availability messages have none)."""
    try:
        with sqlite3.connect(f"file:{store}?mode=ro", uri=True, timeout=5) as db:
            return db.execute("SELECT count(*) FROM events WHERE seq IS NOT NULL").fetchone()[0]
    except sqlite3.Error:
        return 0


def test_sigkill_mid_stream_loses_nothing_and_stores_each_event_once(broker, demo, tmp_path):
    """An hour and a half of synthetic events (1,776) through Mosquitto; the ingest process is SIGKILLed mid-stream and
    restarted."""
    events = synthetic_day(demo, seed=11, duration=90 * 60, interval=900)  # counts every 15 min
    store = tmp_path / "live.sqlite"
    port = free_port()
    p = _serve(store, port, broker)
    try:
        wait_for(lambda: (_health(port) or {}).get("mqtt", {}).get("connected"), timeout=60, what="twin serve")
        from sensors.sources import paced

        result: dict = {}
        pub = threading.Thread(target=lambda: result.update(publish(paced(events, rate=600), broker.url, timeout=120)))
        pub.start()
        wait_for(lambda: _stored(store) > len(events) // 4, timeout=60, what="a quarter stored")
        os.kill(p.pid, signal.SIGKILL)
        p.wait()
        at_kill = _stored(store)
        assert at_kill < len(events), "the kill came after the stream ended"
        time.sleep(0.5)  # the publisher carries on while the twin is down
        p = _serve(store, port, broker)
        pub.join(120)
        assert result["acknowledged_by_broker"] == len(events)
        wait_for(lambda: _stored(store) >= len(events), timeout=120, what="every event stored")
        time.sleep(0.5)  # any redelivery still in flight lands as a duplicate, not a second row
        with sqlite3.connect(f"file:{store}?mode=ro", uri=True) as db:
            keys = db.execute("SELECT sensor_id, seq FROM events WHERE seq IS NOT NULL").fetchall()  # not retained availability
            dup = db.execute("SELECT n FROM counters WHERE name = 'duplicate'").fetchone()
        assert len(keys) == len(set(keys)) == len(events)
        assert set(keys) == {(e["sensor_id"], e["seq"]) for e in events}
        print(f"{len(events):,} events; SIGKILL at {at_kill:,} stored; redelivered duplicates dropped: {dup[0] if dup else 0}")
    finally:
        p.send_signal(signal.SIGINT)
        try:
            p.wait(10)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()


def test_cli_feed_simulate_publishes_through_mosquitto(broker, demo, tmp_path):
    from typer.testing import CliRunner

    from twin.cli import app

    ing = Ingestor(demo, EventStore(tmp_path / "e.sqlite"))
    m = MqttIngest(ing, broker.url, client_id="twin-test-cli")
    m.start()
    try:
        assert m.wait_connected(30)  # a wait, not a speed limit
        r = CliRunner().invoke(app, ["feed", "simulate", str(DEMO), "--to", broker.url, "--duration", "3600",
                                     "--interval", "600", "--rate", "5000", "--seed", "2"])
        assert r.exit_code == 0, r.output
        res = json.loads(r.stdout)
        assert res["acknowledged_by_broker"] == res["sent"] > 500
        wait_for(lambda: sum(seq is not None for _, seq in ing.store.keys()) == res["sent"], what="simulated events")
        r = CliRunner().invoke(app, ["serve", str(TINY), "--store", str(tmp_path / "x.sqlite"), "--mqtt", "http://nope"])
        assert r.exit_code == 2 and "mqtt://" in r.output
    finally:
        m.stop()
        ing.close()


def _own_broker() -> Mosquitto:
    """A broker for one test that restarts it or must not share it (skips like ``broker`` when mosquitto is missing)."""
    if mosquitto_binary() is None:
        msg = f"mosquitto missing: run `{INSTALL}`"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(msg)
        pytest.skip(msg)
    return start_mosquitto()


@pytest.fixture(scope="module")
def tiny_campus(tmp_path_factory):
    from twin.campus import load_campus

    return load_campus(write(tiny(), tmp_path_factory.mktemp("c") / "tiny.geojson"))


def _counts(n: int, t0: float) -> list[dict]:
    """``n`` camera counts with sequence numbers, stamped from ``t0`` on (no wall clock in the workload)."""
    return [{"sensor_id": "CAM1", "ts": t0 + i * 0.01, "kind": "count", "count": i % 40, "seq": i} for i in range(n)]


def test_one_deeply_nested_message_is_rejected_alone_and_never_blocks_its_batch(tiny_campus, tmp_path):
    """A burst of 400 good messages with one nested 1,000 levels deep: 400 stored, 1 rejected with its reason, all acknowledged."""
    import paho.mqtt.client as mqtt

    b = _own_broker()
    try:
        ing = Ingestor(tiny_campus, EventStore(tmp_path / "e.sqlite"))
        m = MqttIngest(ing, b.url, client_id="twin-test-nested")
        m.start()
        assert m.wait_connected()
        events = _counts(400, time.time() - 600)
        pub = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="burst")
        pub.connect("127.0.0.1", b.port)
        pub.loop_start()
        infos = [pub.publish("campus/CAM1/count", json.dumps(e), qos=1) for e in events[:200]]
        infos.append(pub.publish("campus/CAM1/count", "[" * 1000 + "]" * 1000, qos=1))
        infos += [pub.publish("campus/CAM1/count", json.dumps(e), qos=1) for e in events[200:]]
        for i in infos:
            i.wait_for_publish(10)
        wait_for(lambda: ing.store.count() == 400 and m.rejected == 1, what="400 stored, 1 rejected")
        assert ing.store.count("rejected:body") == 1 and not m.problems.latest
        pub.loop_stop()
        m.stop()
        ing.close()
    finally:
        b.stop()


def test_a_broker_restart_mid_stream_stores_every_event_exactly_once(tiny_campus, tmp_path):
    """The twin stops, the broker (persistence on, as sensors/broker.py configures it) restarts, the twin returns,
    while 3,000 events stream in: every event stored once."""
    b = _own_broker()
    try:
        ing = Ingestor(tiny_campus, EventStore(tmp_path / "e.sqlite"))
        m = MqttIngest(ing, b.url, client_id="twin-test-restart")
        m.start()
        assert m.wait_connected()
        events = _counts(3000, time.time() - 3600)
        from sensors.sources import paced

        result: dict = {}
        pub = threading.Thread(target=lambda: result.update(publish(paced(events, rate=1500), b.url, timeout=120,
                                                                    client_id="restart-publisher")))
        pub.start()
        wait_for(lambda: ing.store.count() > len(events) // 3, what="a third stored")
        m.stop()  # the twin goes down: what the broker takes from now on waits in the twin's session queue
        time.sleep(0.5)
        b.restart()  # ... which must survive the broker's restart (persistence)
        at_restart = ing.store.count()
        m = MqttIngest(ing, b.url, client_id="twin-test-restart")
        m.start()
        pub.join(120)
        wait_for(lambda: ing.store.count() >= len(events), timeout=60, what="every event stored")
        time.sleep(0.5)  # a redelivery still in flight lands as a duplicate, not a second row
        keys = ing.store.keys()
        assert len(keys) == len(set(keys)) == len(events), (len(keys), len(set(keys)))
        assert result["acknowledged_by_broker"] == len(events)
        print(f"broker restart: published {len(events):,}, stored {len(keys):,} (restart at {at_restart:,}), duplicates "
              f"{len(keys) - len(set(keys))}, lost {len(events) - len(set(keys))}, redeliveries dropped "
              f"{ing.store.count('duplicate')}")
        m.stop()
        ing.close()
    finally:
        b.stop()

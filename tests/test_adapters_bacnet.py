"""BACnet fire panels: a simulated BACnet/IP panel on loopback (bacpypes3) with a life-safety point and a
life-safety zone; the twin reads and subscribes to them (change of value) and their states become detector events."""

from __future__ import annotations

import asyncio
import importlib.util
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

if importlib.util.find_spec("bacpypes3") is None:  # imported in the simulated panel: only the worker that runs this
    pytest.skip("bacpypes3 is not installed", allow_module_level=True)  # file pays its ~0.3 s

from sensors.adapters.bacnet import (
    BacnetFeed,
    MappingError,
    detector_state,
    load_mapping,
)
from sensors.broker import free_port
from sensors.ingest import Ingestor
from sensors.store import EventStore
from tests.helpers import add, point, tiny, wait_for, write

T0 = 1_780_000_000.0



class Panel:
    """A fire panel's BACnet/IP interface: device 1001 on 127.0.0.1:PORT with life-safety point 1 and zone 1."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.loop = asyncio.new_event_loop()
        self.objects: dict[str, Any] = {}
        self.app: Any = None
        up = threading.Event()
        self.thread = threading.Thread(target=self._run, args=(up,), daemon=True)
        self.thread.start()
        assert up.wait(30), "the simulated panel did not start"

    def _run(self, up: threading.Event) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.run_until_complete(self._start())
        up.set()
        self.loop.run_forever()

    async def _start(self) -> None:
        from bacpypes3.app import Application
        from bacpypes3.local.cov import GenericCriteria
        from bacpypes3.local.device import DeviceObject
        from bacpypes3.local.networkport import NetworkPortObject
        from bacpypes3.local.object import Object
        from bacpypes3.object import LifeSafetyPointObject, LifeSafetyZoneObject

        class Point(Object, LifeSafetyPointObject):
            _cov_criteria = GenericCriteria

        class Zone(Object, LifeSafetyZoneObject):
            _cov_criteria = GenericCriteria

        common = {"presentValue": "quiet", "trackingValue": "quiet", "statusFlags": [0, 0, 0, 0], "eventState": "normal",
                  "reliability": "noFaultDetected", "outOfService": False, "mode": "on", "acceptedModes": ["on"],
                  "silenced": "unsilenced", "operationExpected": "none"}
        self.objects["point"] = Point(objectIdentifier=("lifeSafetyPoint", 1), objectName="R0a smoke", **common)
        self.objects["zone"] = Zone(objectIdentifier=("lifeSafetyZone", 1), objectName="Zone B1-L0", zoneMembers=[], **common)
        dev = DeviceObject(objectIdentifier=("device", 1001), objectName="panel", vendorIdentifier=999)
        net = NetworkPortObject(f"127.0.0.1/32:{self.port}", objectIdentifier=("network-port", 1), objectName="NetworkPort-1")
        self.app = Application.from_object_list([dev, net, *self.objects.values()])

    def set(self, name: str, **props: Any) -> None:
        """Change properties of an object, as the panel does when a detector alarms (COV notifications follow)."""
        from bacpypes3.basetypes import LifeSafetyState, StatusFlags

        def change() -> None:
            for k, v in props.items():
                setattr(self.objects[name], k, LifeSafetyState(v) if k == "presentValue" else StatusFlags(v))

        self.loop.call_soon_threadsafe(change)

    def close(self) -> None:
        def end() -> None:
            self.app.close()
            self.loop.stop()

        self.loop.call_soon_threadsafe(end)
        self.thread.join(5)


@pytest.fixture
def panel() -> Iterator[Panel]:
    p = Panel(free_port())
    try:
        yield p
    finally:
        p.close()


@pytest.fixture(scope="module")
def campus(tmp_path_factory):
    """The tiny campus with a second smoke detector on level 0 (room R0b)."""
    from twin.campus import load_campus

    doc = tiny()
    add(doc, point(12, 8), id="SD-R0b", kind="detector", type="smoke", building="B1", level=0, zone="B1-L0")
    return load_campus(write(doc, tmp_path_factory.mktemp("c") / "campus.geojson"))


def _mapping(tmp_path: Path, panel_port: int, **device: Any) -> Path:
    dev = {"address": f"127.0.0.1:{panel_port}", "local": f"127.0.0.1/32:{free_port()}", **device}
    lines = ["[device]", *(f"{k} = {v!r}".replace("'", '"') for k, v in dev.items()),
             "[[objects]]", 'object = "life-safety-point,1"', 'detector = "SD-R0a"',
             "[[objects]]", 'object = "life-safety-zone,1"', 'detector = ["SD-R0a", "SD-R0b"]']
    path = tmp_path / "panel.toml"
    path.write_text("\n".join(lines) + "\n")
    return path


def _offline(ing: Ingestor) -> list[str]:
    return [r["sensor_id"] for _, r in ing.store.events() if r["kind"] == "heartbeat" and r["status"] == "offline"]


def _fire_states(ing: Ingestor) -> list[tuple[str, str, bool]]:
    return [(r["sensor_id"], r["state"], r["stamped"] == "receipt" and r["ts"] == T0)
            for _, r in ing.store.events() if r["kind"] == "fire"]


def test_life_safety_point_and_zone_changes_reach_the_detectors_by_cov(panel, campus, tmp_path):
    ing = Ingestor(campus, EventStore(tmp_path / "e.sqlite"), clock=lambda: T0)
    mapping = load_mapping(_mapping(tmp_path, panel.port, poll_s=30), {"SD-R0a", "SD-R0b"})
    feed = BacnetFeed(ing, mapping)
    feed.start()
    try:
        assert feed.ready.wait(30), feed.problems.latest  # a wait, not a speed limit
        assert feed.states == {"life-safety-point,1": "normal", "life-safety-zone,1": "normal"}, feed.problems.latest
        panel.set("point", presentValue="alarm", statusFlags=[1, 0, 0, 0])  # the detector in R0a alarms
        wait_for(lambda: [a["sensor_id"] for a in ing.state.alarms()] == ["SD-R0a"], what="the fire alarm by COV")
        panel.set("zone", statusFlags=[0, 1, 0, 0])  # the zone's wiring faults
        wait_for(lambda: ing.state.status("SD-R0b") == "fault", what="the zone fault by COV")
        panel.set("point", presentValue="quiet", statusFlags=[0, 0, 0, 0])
        wait_for(lambda: len(_fire_states(ing)) == 7, what="the reset by COV")
        states = _fire_states(ing)
        assert sorted(states[:3]) == [("SD-R0a", "normal", True), ("SD-R0a", "normal", True), ("SD-R0b", "normal", True)]
        assert states[3:] == [  # after the first reads of the point and the zone
            ("SD-R0a", "fire", True),
            ("SD-R0a", "fault", True), ("SD-R0b", "fault", True),  # the zone applies to both its detectors
            ("SD-R0a", "normal", True),
        ], feed.problems.latest
        assert not feed.problems.latest
    finally:
        feed.stop()
        ing.close()


def test_polling_marks_the_detectors_offline_when_the_panel_stops_answering(campus, tmp_path):
    ing = Ingestor(campus, EventStore(tmp_path / "e.sqlite"), clock=lambda: T0)
    p = Panel(free_port())
    # a read unanswered for 1 s marks offline: 0.3 s was missed by a panel that was still up on a loaded machine, and
    # its detectors went offline and back before the panel closed
    feed = BacnetFeed(ing, load_mapping(_mapping(tmp_path, p.port, mode="poll", poll_s=0.1, timeout_s=1.0),
                                        {"SD-R0a", "SD-R0b"}))
    feed.start()
    try:
        assert feed.ready.wait(30)  # a wait, not a speed limit
        p.set("point", presentValue="pre-alarm")
        wait_for(lambda: feed.states["life-safety-point,1"] == "pre_alarm", what="the pre-alarm by polling")
        p.close()
        wait_for(lambda: set(feed.states.values()) == {"offline"} and ing.state.status("SD-R0a") == ing.state.status("SD-R0b") == "offline",
                 what="offline")
        assert sorted(set(_offline(ing))) == ["SD-R0a", "SD-R0b"]  # the point's detector, and the zone's two
        assert "no answer" in feed.problems.latest[-1]
    finally:
        feed.stop()
        ing.close()


@pytest.mark.parametrize(("pv", "flags", "state"), [
    ("quiet", [0, 0, 0, 0], "normal"), ("alarm", [1, 0, 0, 0], "fire"), ("fault-alarm", [1, 1, 0, 0], "fire"),
    ("pre-alarm", [0, 0, 0, 1], "pre_alarm"), ("quiet", [0, 1, 0, 0], "fault"), ("quiet", [0, 0, 0, 1], "disabled"),
    ("test-alarm", [0, 0, 0, 0], "test"), ("holdup", [0, 0, 0, 0], None),
])
def test_life_safety_states_map_to_detector_states(pv, flags, state):
    assert detector_state(pv, flags) == state


@pytest.mark.parametrize(("text", "problem"), [
    ('[device]\naddress = "10.0.0.5"\n[[objects]]\nobject = "analog-input,1"\ndetector = "SD-R0a"\n', "objects[0].object"),
    ('[device]\naddress = "10.0.0.5"\n[[objects]]\nobject = "life-safety-point,1"\ndetector = "SD-X"\n', "'SD-X' is not a detector"),
    ('[device]\naddress = "10.0.0.5"\nmode = "push"\n[[objects]]\n', "device.mode"),
    ('[device]\n[[objects]]\n', "device.address: missing"),
    ('[device]\naddress = "10.0.0.5"\npoll_s = 0\n', "device.poll_s"),
    ('[device\n', "not a TOML file"),
])
def test_a_bad_mapping_file_is_refused_naming_the_field(tmp_path, text, problem):
    path = tmp_path / "panel.toml"
    path.write_text(text)
    with pytest.raises(MappingError, match=problem.replace("[", r"\[").replace("]", r"\]")) as e:
        load_mapping(path, {"SD-R0a"})
    assert str(path) in str(e.value)


def test_health_shows_the_panel_link_subscriptions_latest_notification_and_errors(campus, tmp_path):
    """``GET /api/health`` in process: the bare probe says whether the panel answers, a login adds its figures."""
    from fastapi.testclient import TestClient

    from twin.auth import Users
    from viz.live.app import create_app

    users = Users(tmp_path / "users.json")
    users.add("olga", "operator", "olga-password-1")
    ing = Ingestor(campus, EventStore(tmp_path / "e.sqlite"), clock=lambda: T0)
    p = Panel(free_port())
    feed = BacnetFeed(ing, load_mapping(_mapping(tmp_path, p.port, poll_s=0.2, timeout_s=1.0), {"SD-R0a", "SD-R0b"}))
    feed.start()
    try:
        with TestClient(create_app(ing, users=users, bacnet=feed)) as c:
            assert feed.ready.wait(30), feed.problems.latest  # a wait, not a speed limit
            wait_for(lambda: feed.status()["subscribed"] == 2, what="both COV subscriptions confirmed")
            assert c.get("/api/health").json() == {"ok": True, "bacnet": {"connected": True}}  # no login: up or not
            p.set("point", presentValue="alarm", statusFlags=[1, 0, 0, 0])
            wait_for(lambda: feed.last_cov is not None, what="a COV notification")
            assert c.post("/login", json={"username": "olga", "password": "olga-password-1"},
                          headers={"Origin": "http://testserver"}).status_code == 200
            h = c.get("/api/health").json()["bacnet"]
            assert h["device"] == f"127.0.0.1:{p.port}" and h["mode"] == "cov" and h["connected"] is True
            assert (h["points"], h["subscribed"], h["last_cov"], h["last_read"]) == (2, 2, T0, T0)
            assert h["states"]["life-safety-point,1"] == "fire" and h["error_count"] == 0 and h["errors"] == []
            p.close()  # the panel stops answering: the next reads time out
            wait_for(lambda: not c.get("/api/health").json()["bacnet"]["connected"], what="the link reported down")
            h = c.get("/api/health").json()["bacnet"]
            assert h["error_count"] >= 2 and any("no answer" in e for e in h["errors"])
            assert set(h["states"].values()) == {"offline"}
    finally:
        feed.stop()
        ing.close()

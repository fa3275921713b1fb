"""Publishing back: the twin's alarms, occupancy and forecasts on MQTT, with Home Assistant discovery.

The topic tree (``campus/twin/…``, beside the ingest's ``availability`` and ``rejected``)::

    campus/twin/alarm                   each alarm start and end, JSON, QoS 1, never retained
    campus/twin/occupancy               people on site, JSON, retained
    campus/twin/occupancy/<building>    people in one counted building, JSON, retained
    campus/twin/forecast/<scope>        the latest evacuation forecast's summary (scope building or campus), retained
    campus/twin/publisher               online / offline, retained, this publisher's last will

and Home Assistant MQTT discovery (retained, under ``homeassistant/``; see
https://www.home-assistant.io/integrations/mqtt/#mqtt-discovery): a sensor per
building (people), one for people on site, one per forecast scope (seconds to
clear) and an ``event`` entity for the alarms, all on one device, with
``campus/twin/publisher`` as their availability. A Home Assistant or
building-management system that speaks MQTT discovery shows them with no
configuration.

Alarms are never retained: a retained alarm would fire again at every
reconnect. An alarm message's ``event_type`` is the alarm kind (``fire``,
``panic``, ``intrusion``, ``alert:crowding``…) when it starts and ``restored``
when its sensor restores it. Alarms already active when the publisher starts
are not announced again. Occupancy is published at most once per
``interval`` seconds and only what changed; a (re)connect publishes the
discovery and the whole current state. Counts and states only: a camera's
count, never who.

:meth:`MqttPublisher.status` is the publisher's link for ``GET /api/health``:
whether it is connected, what it has published and the broker has
acknowledged, when the broker last acknowledged one (``last_publish``) and
the latest errors (refused or failed connections, lost connections,
publications the client refused).
"""

from __future__ import annotations

import json
import logging
import re
import threading
import time
from typing import Any

from sensors.ingest import Ingestor
from sensors.mqtt import TWIN_TOPIC, Broker
from sensors.problems import Problems
from twin.state import PRIORITY

log = logging.getLogger("twin.publish")

ALARM_TOPIC = f"{TWIN_TOPIC}/alarm"
OCCUPANCY_TOPIC = f"{TWIN_TOPIC}/occupancy"
FORECAST_TOPIC = f"{TWIN_TOPIC}/forecast"
STATUS_TOPIC = f"{TWIN_TOPIC}/publisher"
DISCOVERY_PREFIX = "homeassistant"
"""Home Assistant's default discovery prefix."""
CLIENT_ID = "campus-twin-publish"
INTERVAL_S = 1.0
"""Least time between two occupancy publications (s): counts arrive every second or so per camera."""
ALARM_KINDS = frozenset({"fire", "intrusion", "panic", "alert"})
"""Event kinds that can start or end an alarm."""
FORECAST_FIELDS = ("scope", "building", "evacuation_time_s", "building_clearance_s", "occupants", "counted", "assumed",
                   "safe", "trapped")
"""What a forecast summary carries (with its trigger and its three worst bottlenecks)."""


def _slug(text: str) -> str:
    """An id Home Assistant takes in a discovery topic and a unique id."""
    return re.sub(r"[^A-Za-z0-9_-]", "_", text)


def forecast_summary(forecast: dict[str, Any], ts: float) -> dict[str, Any]:
    """The retained summary of a forecast document (``scenarios.forecast.make_forecast``), stamped with its event time."""
    doc = {k: forecast.get(k) for k in FORECAST_FIELDS}
    doc["trigger"] = forecast.get("trigger")
    doc["bottlenecks"] = [{k: b.get(k) for k in ("id", "building", "max_wait_s")} for b in forecast.get("bottlenecks", [])[:3]]
    doc["ts"] = ts
    return doc


class MqttPublisher:
    """Publishes the twin's state back to a broker; subscribe :meth:`on_events` to the ingestor.

    Parameters
    ----------
    ingestor : Ingestor
        The twin whose state is published.
    broker : Broker | str
        The broker (``mqtt[s]://…``, :class:`sensors.mqtt.Broker`).
    client_id : str
        This publisher's client id (not the ingest's).
    interval : float
        Least time between occupancy publications (s).
    discovery_prefix : str
        Home Assistant's discovery prefix.
    """

    def __init__(self, ingestor: Ingestor, broker: Broker | str, *, client_id: str = CLIENT_ID,
                 interval: float = INTERVAL_S, discovery_prefix: str = DISCOVERY_PREFIX) -> None:
        self.ingestor = ingestor
        self.broker = Broker.parse(broker) if isinstance(broker, str) else broker
        self.interval = interval
        self.discovery_prefix = discovery_prefix.strip("/")
        self.node = f"campus_twin_{ingestor.campus.digest[:8]}"
        self.client = self.broker.client(client_id)
        self.client.will_set(STATUS_TOPIC, "offline", qos=1, retain=True)
        self.client.max_queued_messages_set(0)
        self.client.on_connect = self._on_connect
        self.client.on_disconnect = self._on_disconnect
        self.client.on_publish = self._on_publish
        self.client.on_connect_fail = lambda client, userdata: self.problems.add(
            f"cannot connect to {self.broker.address} (address, port, TLS certificates?); retrying")
        self.connected = threading.Event()
        """Set while connected (the discovery and the current state are out); cleared when the connection drops."""
        self.published = 0
        """Messages handed to the client (QoS 1; while disconnected they wait in its queue)."""
        self.delivered = 0
        """Messages the broker acknowledged (PUBACK)."""
        self.last_publish: float | None = None
        """When the broker last acknowledged a message (epoch s, wall clock; ``None`` before the first)."""
        self.problems = Problems(log, "mqtt publish")
        """Refused, failed and lost connections, publications the client refused."""
        self._counting = threading.Lock()
        """Guards the counters, which the ingest threads, the occupancy thread and paho's network thread all move."""
        self._lock = threading.Lock()
        self._sent: dict[str, str] = {}
        """Retained topic → payload last published (occupancy is sent only when it changes)."""
        with ingestor.lock:
            self._active = {a["id"]: a for a in ingestor.state.alarms()}
        self._dirty = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._occupancy_loop, name="twin-mqtt-publish", daemon=True)

    def start(self) -> None:
        """Connect (retrying in the background) and start publishing."""
        self._thread.start()
        self.client.reconnect_delay_set(0.2, 5)
        self.broker.connect(self.client)
        self.client.loop_start()

    def stop(self) -> None:
        """Say offline and disconnect (again: nothing)."""
        self._stop.set()
        self._dirty.set()
        self._thread.join(timeout=5)
        if self.connected.is_set():
            info = self.client.publish(STATUS_TOPIC, "offline", qos=1, retain=True)
            self._count(info, STATUS_TOPIC)
            info.wait_for_publish(5)
        self.connected.clear()
        self.client.disconnect()
        self.client.loop_stop()

    def wait_connected(self, timeout: float = 10.0) -> bool:
        """Wait until connected and the discovery is out."""
        return self.connected.wait(timeout)

    def status(self) -> dict[str, Any]:
        """The publisher's link (JSON-ready, for ``GET /api/health``).

        ``connected``; ``published`` (handed to the client) and ``delivered``
        (acknowledged by the broker), so ``published - delivered`` is what
        waits in the client's queue, e.g. during an outage; ``last_publish``,
        when the broker last acknowledged one (epoch s, ``None`` before the
        first); ``error_count`` and the latest five ``errors``.
        """
        with self._counting:
            return {"broker": self.broker.address, "protocol": self.broker.version, "connected": self.connected.is_set(),
                    "published": self.published, "delivered": self.delivered, "last_publish": self.last_publish,
                    **self.problems.status()}

    # -- the ingest listener ----------------------------------------------------

    def on_events(self, records: list[dict[str, Any]]) -> None:
        """Publish alarm starts and ends and forecasts at once; mark occupancy for the next tick."""
        kinds = {r["kind"] for r in records}
        if kinds & ALARM_KINDS:
            self._alarms()
        for r in records:
            if r["kind"] == "forecast":
                scope = r["forecast"].get("scope", "campus")
                self._retain(f"{FORECAST_TOPIC}/{_slug(scope)}", forecast_summary(r["forecast"], r["ts"]))
        if kinds - ALARM_KINDS - {"forecast"}:
            self._dirty.set()

    def _alarms(self) -> None:
        with self.ingestor.lock:
            now = {a["id"]: a for a in self.ingestor.state.alarms()}
        with self._lock:
            started = [a for i, a in now.items() if i not in self._active]
            ended = [a for i, a in self._active.items() if i not in now]
            self._active = now
        for a in started:
            self._send(ALARM_TOPIC, {"event_type": a["kind"], "state": "active", **a}, retain=False)
        for a in ended:
            self._send(ALARM_TOPIC, {"event_type": "restored", "state": "restored", **a}, retain=False)

    # -- occupancy ------------------------------------------------------------------

    def _occupancy_loop(self) -> None:
        while not self._stop.is_set():
            self._dirty.wait()
            if self._stop.is_set():
                return
            self._dirty.clear()
            self._occupancy()
            self._stop.wait(self.interval)

    def _occupancy(self) -> None:
        with self.ingestor.lock:
            occ = self.ingestor.state.occupancy()
            ts = self.ingestor.state.now()
        stamp = {"ts": ts}  # the state clock (event time; None before the first event)
        self._retain(OCCUPANCY_TOPIC, {"on_site": occ["on_site"], "in_buildings": occ["in_buildings"]}, stamp=stamp)
        for b, v in occ["buildings"].items():
            self._retain(f"{OCCUPANCY_TOPIC}/{_slug(b)}", {"building": b, **{k: v[k] for k in ("count", "design", "source")}},
                         stamp=stamp)

    # -- publishing -----------------------------------------------------------------

    def _retain(self, topic: str, doc: dict[str, Any], *, stamp: dict[str, Any] | None = None) -> None:
        """Publish ``doc`` (with ``stamp`` added) retained when ``doc`` differs from what was last published there."""
        key = json.dumps(doc, sort_keys=True, default=str)
        with self._lock:
            if self._sent.get(topic) == key:
                return
            self._sent[topic] = key
        self._send(topic, {**doc, **(stamp or {})}, retain=True)

    def _send(self, topic: str, doc: dict[str, Any], *, retain: bool) -> None:
        self._count(self.client.publish(topic, json.dumps(doc, default=str), qos=1, retain=retain), topic)

    def _count(self, info: Any, topic: str) -> None:
        """Count a publication handed to the client; an error when the client refused it (not queued)."""
        import paho.mqtt.client as mqtt

        if info.rc in (mqtt.MQTT_ERR_SUCCESS, mqtt.MQTT_ERR_NO_CONN):  # NO_CONN: queued (QoS 1) until the reconnect
            with self._counting:
                self.published += 1
        else:
            self.problems.add(f"publish to {topic} refused by the client: {mqtt.error_string(info.rc)}")

    def _on_publish(self, client: Any, userdata: Any, mid: int, rc: Any = None, props: Any = None) -> None:
        with self._counting:
            self.delivered += 1
            self.last_publish = time.time()

    def _on_disconnect(self, client: Any, userdata: Any, flags: Any, rc: Any, props: Any = None) -> None:
        was = self.connected.is_set()
        self.connected.clear()
        if not self._stop.is_set() and getattr(rc, "is_failure", False):
            self.problems.add(f"connection to {self.broker.address} lost ({rc}); reconnecting" if was else
                        f"connection to {self.broker.address} closed ({rc}); retrying")

    def _on_connect(self, client: Any, userdata: Any, flags: Any, rc: Any, props: Any = None) -> None:
        if rc.is_failure:
            self.problems.add(f"connect refused by {self.broker.address}: {rc}")
            return
        for topic, config in self.discovery().items():
            self._count(client.publish(topic, json.dumps(config), qos=1, retain=True), topic)
        self._count(client.publish(STATUS_TOPIC, "online", qos=1, retain=True), STATUS_TOPIC)
        with self._lock:
            self._sent.clear()  # the broker may have lost retained state: send it all again
        with self.ingestor.lock:
            forecasts = dict(self.ingestor.state.snapshot()["forecasts"])
        for scope, f in forecasts.items():
            self._retain(f"{FORECAST_TOPIC}/{_slug(scope)}", forecast_summary(f, f.get("trigger", {}).get("ts")))
        self.connected.set()
        self._dirty.set()

    def discovery(self) -> dict[str, dict[str, Any]]:
        """Home Assistant discovery topic → config, for every entity the twin publishes."""
        campus = self.ingestor.campus
        f = campus.features
        name = campus.features.attrs.get("name") or campus.source.stem
        device = {"identifiers": [self.node], "name": f"Campus Twin: {name}", "manufacturer": "Campus Twin",
                  "model": "campus digital twin"}
        common = {"availability_topic": STATUS_TOPIC, "device": device, "origin": {"name": "Campus Twin"}}
        out: dict[str, dict[str, Any]] = {}

        def sensor(obj: str, name: str, topic: str, value: str, **extra: Any) -> None:
            out[f"{self.discovery_prefix}/sensor/{self.node}/{obj}/config"] = {
                "name": name, "unique_id": f"{self.node}_{obj}", "state_topic": topic, "json_attributes_topic": topic,
                "value_template": f"{{{{ value_json.{value} }}}}", "state_class": "measurement", **extra, **common}

        people = {"unit_of_measurement": "people", "icon": "mdi:account-group"}
        sensor("on_site", "People on site", OCCUPANCY_TOPIC, "on_site", **people)
        for b, props in zip(f.index[f["kind"] == "building"], f.loc[f["kind"] == "building", "properties"], strict=True):
            label = props.get("name") if isinstance(props, dict) and isinstance(props.get("name"), str) else str(b)
            sensor(f"{_slug(str(b))}_occupancy", f"{label} occupancy", f"{OCCUPANCY_TOPIC}/{_slug(str(b))}", "count", **people)
        for scope in ("building", "campus"):
            sensor(f"forecast_{scope}", f"Evacuation forecast ({scope})", f"{FORECAST_TOPIC}/{scope}", "evacuation_time_s",
                   unit_of_measurement="s", device_class="duration")
        out[f"{self.discovery_prefix}/event/{self.node}/alarm/config"] = {
            "name": "Alarm", "unique_id": f"{self.node}_alarm", "state_topic": ALARM_TOPIC,
            "event_types": [*sorted(PRIORITY), "restored"], "icon": "mdi:alarm-light", **common}
        return out

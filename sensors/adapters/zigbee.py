"""Zigbee2MQTT: a device's availability becomes the heartbeat of the sensor of that name, a smoke detector's state its fire state.

Zigbee2MQTT (https://www.zigbee2mqtt.io/guide/usage/mqtt_topics_and_messages.html)
publishes, under its ``base_topic`` (default ``zigbee2mqtt``), a retained
``zigbee2mqtt/<friendly_name>/availability`` message: ``{"state": "online"}``
or ``{"state": "offline"}`` (plain ``online`` / ``offline`` with
``legacy_availability_payload``). A device whose friendly name is a campus
sensor id (a detector, a key area's contact, a post's button) gives that
sensor's heartbeat, stamped on receipt; other devices on the same network
(lamps, plugs) are ignored, not rejected. Availability is retained and
changes rarely, so a device's own state message (``zigbee2mqtt/<friendly_name>``,
sent when it reports: battery, link quality…) is a sign of life too, keeping a
quiet detector from going silent past its expected interval.

A smoke detector's state message carries its IAS zone flags as JSON booleans
(https://www.zigbee2mqtt.io/devices/, e.g. ``{"smoke": true, "battery_low":
false, "tamper": false, "battery": 100, "linkquality": 120}``; with the default
``cache_state`` every report repeats the whole state). A message with a
boolean ``smoke`` is the detector's ``fire`` event, stamped on receipt:

- ``"smoke": true`` → ``fire`` (whatever else it says);
- otherwise ``"tamper": true`` or ``"battery_low": true`` → ``fault``;
- otherwise → ``normal`` (a fire alarm restores; a fault clears).

Every such message gives the device's current state, not a change, so a
repeated report changes nothing in the live state, and a message the store
could not take is decoded again on redelivery with the same result. A
``smoke`` that is not a boolean is rejected naming the flag; a message
without ``smoke`` (a device that is not a smoke detector, or a partial
report) is read as a sign of life only, so a tamper or battery report can
never turn a fire back into a fault. A ``fire`` from a device named after a
campus sensor that is not a detector is rejected by the registry, naming the
sensor's type.

The twin's own tree takes the same two payload forms on
``campus/<sensor_id>/availability`` (:func:`sensors.mqtt.availability`), as
Home Assistant's MQTT availability convention does.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from sensors.events import Rejected, decode_event, echo
from sensors.mqtt import availability

PREFIX = "zigbee2mqtt"
"""Zigbee2MQTT's default ``base_topic``."""


FAULT_FLAGS = ("tamper", "battery_low")
"""A smoke detector's flags (Zigbee IAS zone status bits) that make it ``fault`` while it sees no smoke."""


def smoke_state(doc: dict[str, Any]) -> str | Rejected | None:
    """The detector state a Zigbee2MQTT smoke detector's state message says, ``None`` when it carries no ``smoke``
    (or ``null``).

    ``fire`` when it sees smoke, else ``fault`` when tampered with or its battery is low, else ``normal``; a
    ``smoke`` or fault flag that is not a JSON boolean is :class:`~sensors.events.Rejected` (its reason names the
    flag; its field is the event's ``state``, which the flag would have set).
    """
    if doc.get("smoke") is None:  # no smoke flag, or not known yet (null)
        return None
    for key in ("smoke", *FAULT_FLAGS):  # smoke first: a garbled fault flag never hides a fire
        if doc.get(key) is not None and not isinstance(doc[key], bool):
            return Rejected(f"{key} is {echo(str(doc[key]), 40)!r}, expected true or false", "state")
        if doc.get("smoke") is True:
            return "fire"
    return "fault" if any(doc.get(k) is True for k in FAULT_FLAGS) else "normal"


class Zigbee2Mqtt:
    """Zigbee2MQTT availability as heartbeats and smoke detectors' states as fire events (a :class:`sensors.mqtt.TopicAdapter`).

    Parameters
    ----------
    sensors : collection of str
        The campus's sensor ids (devices of other names are ignored).
    prefix : str
        Zigbee2MQTT's ``base_topic``.
    """

    def __init__(self, sensors: Collection[str], *, prefix: str = PREFIX) -> None:
        self.sensors = frozenset(sensors)
        self.prefix = prefix.strip("/")

    def subscriptions(self) -> list[str]:
        """Availability, and the devices' state messages (as signs of life)."""
        return [f"{self.prefix}/+/availability", f"{self.prefix}/+"]

    def decode(self, topic: str, payload: bytes, now: float) -> list[Any] | None:
        """A heartbeat (or a smoke detector's fire event) for a device named as a campus sensor, ``[]`` for other
        devices, ``None`` off the prefix."""
        parts = topic.split("/")
        if parts[0] != self.prefix or not (len(parts) == 2 or (len(parts) == 3 and parts[2] == "availability")):
            return None
        sid = parts[1]
        if sid not in self.sensors or not payload.strip():
            return []
        if len(parts) == 3:
            return [availability(sid, payload, now)]
        doc = decode_event(payload) if payload.lstrip()[:1] == b"{" else None
        state = smoke_state(doc) if isinstance(doc, dict) else None
        if isinstance(state, Rejected):
            return [Rejected(f"Zigbee2MQTT {topic!r}: {state.reason}", state.field)]
        if state is not None:
            return [{"sensor_id": sid, "kind": "fire", "ts": now, "stamped": "receipt", "state": state}]
        return [{"sensor_id": sid, "kind": "heartbeat", "ts": now, "stamped": "receipt", "status": "online"}]  # alive

    def status(self) -> dict[str, Any]:
        """The base topic and how many sensors it may name."""
        return {"zigbee2mqtt": self.prefix, "sensors": len(self.sensors)}

"""Zigbee2MQTT availability: a device's ``online`` / ``offline`` becomes the heartbeat of the sensor of that name.

Zigbee2MQTT (https://www.zigbee2mqtt.io/guide/usage/mqtt_topics_and_messages.html)
publishes, under its ``base_topic`` (default ``zigbee2mqtt``), a retained
``zigbee2mqtt/<friendly_name>/availability`` message: ``{"state": "online"}``
or ``{"state": "offline"}`` (plain ``online`` / ``offline`` with
``legacy_availability_payload``). A device whose friendly name is a campus
sensor id (a detector, a key area's contact, a post's button) gives that
sensor's heartbeat, stamped on receipt; other devices on the same network
(lamps, plugs) are ignored, not rejected. Availability is retained and
changes rarely, so a device's own state message (``zigbee2mqtt/<friendly_name>``,
sent when it reports: battery, link quality…) is a heartbeat too, keeping a
quiet detector from going silent past its expected interval; what it says is
not read.

The twin's own tree takes the same two payload forms on
``campus/<sensor_id>/availability`` (:func:`sensors.mqtt.availability`), as
Home Assistant's MQTT availability convention does.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from sensors.mqtt import availability

PREFIX = "zigbee2mqtt"
"""Zigbee2MQTT's default ``base_topic``."""


class Zigbee2Mqtt:
    """Zigbee2MQTT availability as heartbeats (a :class:`sensors.mqtt.TopicAdapter`).

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
        """A heartbeat for a device named as a campus sensor, ``[]`` for other devices, ``None`` off the prefix."""
        parts = topic.split("/")
        if parts[0] != self.prefix or not (len(parts) == 2 or (len(parts) == 3 and parts[2] == "availability")):
            return None
        if parts[1] not in self.sensors or not payload.strip():
            return []
        if len(parts) == 2:  # the device reported: it is alive
            return [{"sensor_id": parts[1], "kind": "heartbeat", "ts": now, "stamped": "receipt", "status": "online"}]
        return [availability(parts[1], payload, now)]

    def status(self) -> dict[str, Any]:
        """The base topic and how many sensors it may name."""
        return {"zigbee2mqtt": self.prefix, "sensors": len(self.sensors)}

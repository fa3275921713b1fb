"""Adapters for what other systems already speak: Frigate NVR's MQTT counts, publishing back with Home Assistant
discovery, BACnet fire panels (docs/sensors.md, "Other systems").

Each turns another system's messages into the twin's events (or the twin's state into theirs); all events go
through the one ingest path (``sensors.ingest.Ingestor``). Counts and states only: no identities, no images.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sensors.mqtt import TopicAdapter
    from twin.campus import Campus


def topic_adapters(campus: Campus, *, frigate_prefix: str = "frigate", zigbee_prefix: str = "zigbee2mqtt") -> list[TopicAdapter]:
    """The adapters ``twin serve --mqtt`` subscribes for a campus: Frigate when its cameras name Frigate sources,
    and Zigbee2MQTT availability (and smoke detectors' states) for its sensors.

    Raises
    ------
    twin.errors.CampusError
        When a camera's ``frigate`` property is not a Frigate name.
    """
    from sensors.adapters.frigate import Frigate
    from sensors.adapters.zigbee import Zigbee2Mqtt
    from twin.registry import Registry

    frigate = Frigate.from_campus(campus, prefix=frigate_prefix)
    return [*([frigate] if frigate else []), Zigbee2Mqtt(Registry(campus).sensors, prefix=zigbee_prefix)]

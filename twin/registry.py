"""The sensor registry: every camera, gate, card door, detector, guard post and key area of a campus.

Each sensor is linked to its graph element (``node``: the room, corridor, door,
gate or outdoor node it watches), its building and level, its zone, the event
kinds it may send and how often it must be heard from. Events from a sensor
the registry does not know, or of a kind that sensor cannot send, are rejected.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from twin.campus import Campus

KINDS_BY_TYPE: dict[str, tuple[str, ...]] = {
    "camera": ("count", "alert", "intrusion", "heartbeat"),
    "gate": ("crossing", "heartbeat"),
    "door": ("crossing", "heartbeat"),
    "detector": ("fire", "heartbeat"),
    "post": ("panic", "heartbeat"),
    "key_area": ("intrusion", "heartbeat"),
}
"""Event kinds each type of sensor may send."""

EXPECTED_INTERVAL_S: dict[str, float] = {
    "camera": 120.0,
    "gate": 600.0,
    "door": 3600.0,
    "detector": 3600.0,
    "post": 3600.0,
    "key_area": 3600.0,
}
"""Silence longer than this (s, event time) marks a sensor offline. Cameras report counts every
minute; gates see traffic or heartbeat every few minutes; panels poll detectors hourly."""


@dataclass(frozen=True)
class Sensor:
    """One sensor and where it is on the campus graph."""

    id: str
    type: str
    """camera, gate, door (card reader), detector, post (one-button alarm), key_area (intrusion)."""
    node: str | None
    building: str | None
    level: int | None
    zone: str | None
    """Cameras: the zone whose people they count; detectors: the fire panel zone."""
    detector: str | None = None
    """Detectors: smoke, heat or manual_call_point."""

    @property
    def kinds(self) -> tuple[str, ...]:
        """Event kinds this sensor may send."""
        return KINDS_BY_TYPE[self.type]

    @property
    def interval(self) -> float:
        """Expected reporting interval (s)."""
        return EXPECTED_INTERVAL_S[self.type]

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return {"id": self.id, "type": self.type, "node": self.node, "building": self.building, "level": self.level,
                "zone": self.zone, "detector": self.detector}


def _s(v: Any) -> str | None:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return None
    return str(v)


def _flag(v: Any) -> bool:
    """A true boolean property (missing, NaN and false are false)."""
    return v is not None and v == v and bool(v)


def _i(v: Any) -> int | None:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return None
    return int(v)


class Registry:
    """The sensors of one campus, by id.

    Parameters
    ----------
    campus : Campus
        The loaded campus; sensors are its cameras, gates, card doors
        (``access = "card"``) and people counters at doors (``counter = true``),
        detectors, guard posts and key areas.
    """

    def __init__(self, campus: Campus) -> None:
        f = campus.features
        n = len(f)

        def column(name: str) -> list[Any]:
            """The column's values as a list (None throughout when the campus has no such column)."""
            return f[name].tolist() if name in f.columns else [None] * n

        self.sensors: dict[str, Sensor] = {}
        for fid, kind, access, counter, building, level, node, zone, typ in zip(
                f.index.tolist(), column("kind"), column("access"), column("counter"), column("building"), column("level"),
                column("node"), column("zone"), column("type"), strict=True):  # columns as lists: no Series per row
            if kind == "door" and _s(access) != "card" and not _flag(counter):
                continue
            if kind not in KINDS_BY_TYPE:
                continue
            building, level, node, zone = _s(building), _i(level), _s(node), _s(zone)
            if kind in ("door", "gate"):
                node = str(fid)
            if kind == "camera" and zone is None:
                zone = f"{building}-L{level}" if building is not None and level is not None else node
            self.sensors[str(fid)] = Sensor(str(fid), kind, node, building, level, zone, _s(typ) if kind == "detector" else None)
        self.by_type: dict[str, list[Sensor]] = {}
        for s in self.sensors.values():
            self.by_type.setdefault(s.type, []).append(s)
        self.card_buildings = sorted({s.building for s in self.by_type.get("door", []) if s.building})
        """Buildings whose occupancy is counted at doors (card readers or people counters)."""

    def __len__(self) -> int:
        return len(self.sensors)

    def __contains__(self, sid: object) -> bool:
        return sid in self.sensors

    def get(self, sid: str) -> Sensor | None:
        """The sensor with this id, or ``None``."""
        return self.sensors.get(sid)

    def check(self, sensor_id: str, kind: str) -> str | None:
        """Why an event of ``kind`` from ``sensor_id`` cannot be accepted, or ``None`` when it can."""
        s = self.sensors.get(sensor_id)
        if s is None:
            return f"unknown sensor {sensor_id!r}: not a camera, gate, card door, detector, post or key area of the campus"
        if kind not in s.kinds:
            return f"a {s.type} cannot send {kind!r} events (it sends: {', '.join(s.kinds)})"
        return None

    def summary(self) -> dict[str, int]:
        """Sensors per type."""
        return {t: len(v) for t, v in sorted(self.by_type.items())}

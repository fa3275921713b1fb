"""Frigate NVR: its MQTT person counts become the twin's camera counts.

Frigate (https://docs.frigate.video/integrations/mqtt/) publishes, under its
``topic_prefix`` (default ``frigate``)::

    frigate/available                  "online" / "offline" (retained): Frigate itself
    frigate/stats                      every stats_interval (default 60 s): per camera, frames per second
    frigate/<camera>/person            people its detector sees in the camera's frame now (an integer)
    frigate/<zone>/person              people in a Frigate zone (zone names are unique across cameras)
    frigate/<camera>/<zone>/person     the same per camera and zone, as some installs and bridges publish it

A camera feature of the campus file says which of these is its count with
the ``frigate`` property: ``"frigate": "lobby"`` takes ``frigate/lobby/person``
(a Frigate camera or zone called ``lobby``), ``"frigate": "lobby/stairs"``
takes ``frigate/lobby/stairs/person``. Several campus cameras may name the
same source; a Frigate name no camera names is ignored (and listed in
:meth:`Frigate.status`). Counts carry no time, so each is stamped on receipt
(``"stamped": "receipt"``). ``frigate/available`` becomes a heartbeat
(online / offline) of every mapped camera: when Frigate stops, no count comes.
Frigate publishes a count only when it changes, so a steady count would go
silent past a camera's expected interval; ``frigate/stats`` keeps it alive:
each stats message is a heartbeat of every mapped camera, ``offline`` for a
Frigate camera whose ``camera_fps`` is 0 (no frames from it).

Counts only, on purpose. The adapter subscribes to exactly the four topic
filters above (stats carry frame rates and process figures, nothing of people), so the broker never even sends it Frigate's other topics:
``frigate/events`` and ``frigate/tracked_object_update`` (which carry
``sub_label``, the name face recognition or a licence plate gave a person),
``frigate/<camera>/person/snapshot`` (a JPEG of a person) and the rest. No
image and no identity ever reaches the twin.
"""

from __future__ import annotations

import json
import logging
import re
from typing import Any

from sensors.events import MAX_CAMERA_COUNT, Rejected, echo
from twin.campus import Campus
from twin.errors import CampusError, Problem

log = logging.getLogger("twin.frigate")

PREFIX = "frigate"
"""Frigate's default ``topic_prefix``."""
OBJECT = "person"
"""The only object label read: people."""
PROPERTY = "frigate"
"""The camera property that names its Frigate source: ``CAMERA``, ``ZONE`` or ``CAMERA/ZONE``."""
_NAME = re.compile(r"^[^/#+\s]+(/[^/#+\s]+)?$")
MAX_UNMAPPED = 100
"""Most unmapped Frigate names remembered for the status."""
MAX_STATS = 1024 * 1024
"""Largest ``frigate/stats`` message read (bytes; about 1 KiB per camera)."""


def frigate_map(campus: Campus) -> dict[str, list[str]]:
    """Frigate source (``CAMERA`` or ``CAMERA/ZONE``) → campus camera ids, from the cameras' ``frigate`` property.

    Raises
    ------
    CampusError
        Naming the camera and the field when a value is not a Frigate name.
    """
    out: dict[str, list[str]] = {}
    problems = []
    f = campus.features
    for cid, props in zip(f.index[f["kind"] == "camera"], f.loc[f["kind"] == "camera", "properties"], strict=True):
        name = props.get(PROPERTY) if isinstance(props, dict) else None
        if name is None:
            continue
        if not isinstance(name, str) or not _NAME.match(name):
            problems.append(Problem(str(campus.source), f"expected a Frigate camera or zone name, or CAMERA/ZONE "
                                    f"(no spaces, '#' or '+'), got {echo(repr(name), 60)}", feature=str(cid), field=PROPERTY))
            continue
        out.setdefault(name, []).append(str(cid))
    if problems:
        raise CampusError(problems)
    return out


class Frigate:
    """Frigate's topics as camera counts and heartbeats (a :class:`sensors.mqtt.TopicAdapter`).

    Parameters
    ----------
    sources : dict
        Frigate source → campus camera ids (:func:`frigate_map`).
    prefix : str
        Frigate's ``topic_prefix``.
    """

    def __init__(self, sources: dict[str, list[str]], *, prefix: str = PREFIX) -> None:
        self.sources = sources
        self.prefix = prefix.strip("/")
        self.unmapped: set[str] = set()
        """Frigate names seen with no campus camera (a typo in the campus file shows here)."""

    @classmethod
    def from_campus(cls, campus: Campus, *, prefix: str = PREFIX) -> Frigate | None:
        """The adapter for a campus whose cameras name Frigate sources, else ``None``."""
        sources = frigate_map(campus)
        return cls(sources, prefix=prefix) if sources else None

    def subscriptions(self) -> list[str]:
        """Exactly the count and availability topics (never events, snapshots or face data)."""
        p = self.prefix
        return [f"{p}/available", f"{p}/stats", f"{p}/+/{OBJECT}", f"{p}/+/+/{OBJECT}"]

    def decode(self, topic: str, payload: bytes, now: float) -> list[Any] | None:
        """Raw events from one Frigate message; ``None`` for a topic outside Frigate's prefix."""
        parts = topic.split("/")
        if parts[0] != self.prefix:
            return None
        if parts[1:] == ["available"]:
            if not payload.strip():
                return []  # the retained message cleared
            status = payload[:32].decode("utf-8", errors="replace").strip().lower()
            return [{"sensor_id": cam, "kind": "heartbeat", "ts": now, "stamped": "receipt", "status": status}
                    for cams in self.sources.values() for cam in cams]
        if parts[1:] == ["stats"]:
            return self._stats(payload, now)
        if len(parts) not in (3, 4) or parts[-1] != OBJECT:
            return []  # a subscription never delivers these; nothing but counts is read
        source = "/".join(parts[1:-1])
        cams = self.sources.get(source)
        if cams is None:
            if source not in self.unmapped and len(self.unmapped) < MAX_UNMAPPED:
                self.unmapped.add(source)
                log.info("frigate: %r is on no campus camera (property %r); its counts are ignored", source, PROPERTY)
            return []
        text = payload[:16].decode("ascii", errors="replace").strip()
        if not text.isdigit() or int(text) > MAX_CAMERA_COUNT:
            return [Rejected(f"Frigate count on {echo(topic)!r} is {echo(text, 20)!r}, expected a whole number "
                             f"0-{MAX_CAMERA_COUNT:,}", "count")]
        return [{"sensor_id": cam, "kind": "count", "ts": now, "stamped": "receipt", "count": int(text)} for cam in cams]

    def _stats(self, payload: bytes, now: float) -> list[Any]:
        """Heartbeats from ``frigate/stats``: online per mapped camera, offline where its Frigate camera has no frames."""
        if len(payload) > MAX_STATS:
            return [Rejected(f"frigate/stats of {len(payload):,} bytes is over {MAX_STATS:,} bytes")]
        try:
            doc = json.loads(payload)
        except ValueError as e:  # includes a payload that is not UTF-8
            return [Rejected(f"frigate/stats is not JSON ({echo(str(e), 80)})")]
        if not isinstance(doc, dict):
            return [Rejected("frigate/stats is not a JSON object")]
        cameras = doc.get("cameras") if isinstance(doc.get("cameras"), dict) else doc  # before 0.12: at the top level
        out = []
        for source, cams in self.sources.items():
            stats = cameras.get(source.split("/")[0])  # none for a zone name: Frigate is up, so is its count
            fps = stats.get("camera_fps") if isinstance(stats, dict) else None
            down = isinstance(fps, int | float) and not isinstance(fps, bool) and fps <= 0
            status = "offline" if down else "online"
            out += [{"sensor_id": cam, "kind": "heartbeat", "ts": now, "stamped": "receipt", "status": status} for cam in cams]
        return out

    def status(self) -> dict[str, Any]:
        """Mapped sources and the Frigate names seen that no camera maps."""
        return {"frigate": self.prefix, "sources": len(self.sources), "unmapped": sorted(self.unmapped)}

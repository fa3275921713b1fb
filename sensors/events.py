"""The sensor event schema: one validated model per kind, and the parser that names the field.

Every event is a JSON object with ``sensor_id``, ``ts`` (ISO 8601 or epoch
seconds), ``kind``, an optional ``seq`` (per sensor, for deduplication) and the
fields of its kind. ``parse_event`` turns raw input into an ``Event`` or a list
of ``Problem`` naming the field and the reason; it never raises on bad input.

Privacy: a card reader may send ``card`` (the card id) with a crossing; it is
dropped here, at the edge, and never stored.
"""

from __future__ import annotations

import json
import math
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from twin.errors import Problem

MAX_CROSSING = 500
"""Most people one crossing event may count (a gate batch); more is absurd."""
MAX_CAMERA_COUNT = 20_000
"""Most people one camera may report in its zone."""
MAX_FUTURE_S = 300.0
"""Events stamped further ahead of the receiver's clock than this are rejected."""
MIN_TS = 946_684_800.0
"""2000-01-01T00:00:00Z: older timestamps are a sensor with an unset clock."""
MAX_ID = 128
"""Longest sensor id."""



def parse_time(text: str, what: str) -> float:
    """An ISO 8601 time with a UTC offset (``2026-03-01T10:00:00Z``) or epoch seconds, as epoch seconds.

    The one reading of times for events, stores and recordings.

    Raises
    ------
    ValueError
        Naming ``what`` (e.g. ``ts`` or ``--from``) and the reason.
    """
    try:
        return float(text)
    except ValueError:
        pass
    try:
        d = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        msg = f"{what} {text!r}: not ISO 8601 (e.g. 2026-03-01T10:00:00Z) or epoch seconds"
        raise ValueError(msg) from None
    if d.tzinfo is None:
        msg = f"{what} {text!r}: give the UTC offset (e.g. 2026-03-01T10:00:00Z or +08:00)"
        raise ValueError(msg)
    return d.timestamp()


class _Base(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=False)

    sensor_id: Annotated[str, Field(min_length=1, max_length=MAX_ID, pattern=r"^[A-Za-z0-9_.:\-]+$")]
    ts: float
    seq: Annotated[int, Field(ge=0, lt=2**63)] | None = None

    @field_validator("ts", mode="before")
    @classmethod
    def _ts(cls, v: Any) -> float:
        if isinstance(v, bool):
            msg = "expected ISO 8601 text or epoch seconds"
            raise ValueError(msg)
        if isinstance(v, int | float):
            t = float(v)
        elif isinstance(v, str):
            t = parse_time(v, "ts")
        else:
            msg = "expected ISO 8601 text or epoch seconds"
            raise ValueError(msg)
        if not math.isfinite(t) or t < MIN_TS:
            msg = f"timestamp {v!r} is before 2000-01-01 (sensor clock not set?)"
            raise ValueError(msg)
        return t


class Crossing(_Base):
    """People passing a gate or a card door: ``direction`` in/out, ``count`` people (card ids dropped)."""

    kind: Literal["crossing"]
    direction: Literal["in", "out"]
    count: Annotated[int, Field(ge=1, le=MAX_CROSSING)] = 1
    lane: Literal["pedestrian", "vehicle"] | None = None


class Count(_Base):
    """A camera's people count for its zone."""

    kind: Literal["count"]
    count: Annotated[int, Field(ge=0, le=MAX_CAMERA_COUNT)]


class Alert(_Base):
    """A camera analytics alert: crowding, intrusion into a closed area, line crossing; ``active`` false clears it."""

    kind: Literal["alert"]
    alert: Literal["crowding", "intrusion", "line_crossing"]
    active: bool = True


class Fire(_Base):
    """A fire detector or manual call point state, with the fire panel's zone."""

    kind: Literal["fire"]
    state: Literal["normal", "pre_alarm", "fire", "fault", "disabled", "test"]
    panel_zone: Annotated[str, Field(max_length=MAX_ID)] | None = None


class Intrusion(_Base):
    """An intrusion / infrared alarm; ``active`` false restores it."""

    kind: Literal["intrusion"]
    active: bool = True


class Panic(_Base):
    """A one-button (panic) alarm; ``active`` false resets it."""

    kind: Literal["panic"]
    active: bool = True


class Heartbeat(_Base):
    """A sensor saying it is alive (``online``) or, as its last will, that it is gone (``offline``)."""

    kind: Literal["heartbeat"]
    status: Literal["online", "offline"] = "online"


class Forecast(_Base):
    """An evacuation forecast the twin made from its live state (written by the twin, never by a sensor)."""

    kind: Literal["forecast"]
    forecast: dict[str, Any]


Event = Crossing | Count | Alert | Fire | Intrusion | Panic | Heartbeat | Forecast
SENSOR_KINDS = ("crossing", "count", "alert", "fire", "intrusion", "panic", "heartbeat")
"""Kinds a sensor may send (``forecast`` is the twin's own)."""
_MODELS: dict[str, type[_Base]] = {
    "crossing": Crossing, "count": Count, "alert": Alert, "fire": Fire, "intrusion": Intrusion,
    "panic": Panic, "heartbeat": Heartbeat, "forecast": Forecast,
}
_DROP = ("card", "card_id")
"""Identity fields a reader may send; dropped before validation, never stored."""


@dataclass(frozen=True)
class Outcome:
    """What became of one submitted event: ``accepted``, ``duplicate`` or ``rejected`` (with the reason)."""

    status: Literal["accepted", "duplicate", "rejected"]
    sensor_id: str | None = None
    seq: int | None = None
    reason: str | None = None
    field: str | None = None

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready, leaving out what is empty."""
        return {k: v for k, v in (("status", self.status), ("sensor_id", self.sensor_id), ("seq", self.seq),
                                  ("field", self.field), ("reason", self.reason)) if v is not None}


def _field(loc: tuple[Any, ...]) -> str:
    return ".".join(str(p) for p in loc)


def parse_event(raw: Any, *, source: str = "event", now: float | None = None, allow_twin: bool = False) -> Event | list[Problem]:
    """Validate one raw event (a decoded JSON value, or undecoded JSON bytes).

    Parameters
    ----------
    raw : Any
        The decoded JSON value (an object when it is right), or the raw bytes of one.
    source : str
        Where it came from (``HTTP event 3``, ``mqtt campus/CAM-01/count``), for the problems.
    now : float, optional
        The receiver's clock (epoch s); ``ts`` more than ``MAX_FUTURE_S`` ahead is rejected.
    allow_twin : bool
        Accept ``forecast`` events (only the twin itself writes them).

    Returns
    -------
    Event | list[Problem]
        The event, or every problem found, each naming its field.
    """
    if isinstance(raw, bytes):
        try:
            raw = json.loads(raw)
        except (ValueError, UnicodeDecodeError) as e:
            return [Problem(source, f"not valid JSON: {e}")]
    if not isinstance(raw, dict):
        return [Problem(source, f"an event is a JSON object, got {type(raw).__name__}")]
    kind = raw.get("kind")
    sid = raw.get("sensor_id") if isinstance(raw.get("sensor_id"), str) else None
    if kind is None:
        return [Problem(source, "missing required field", feature=sid, field="kind")]
    kinds = (*SENSOR_KINDS, "forecast") if allow_twin else SENSOR_KINDS
    if kind not in kinds:
        return [Problem(source, f"unknown kind {kind!r} (expected one of: {', '.join(kinds)})", feature=sid, field="kind")]
    doc = {k: v for k, v in raw.items() if k not in _DROP}
    model = _MODELS[kind]
    try:
        ev = model.model_validate(doc)
    except ValidationError as e:
        problems = []
        for err in e.errors():
            if err["type"] == "extra_forbidden":
                msg = f"unknown field for kind {kind!r}"
            elif err["type"] == "missing":
                msg = "missing required field"
            else:
                msg = err["msg"].removeprefix("Value error, ")
                if "input" in err and not isinstance(err["input"], dict | list):
                    msg += f" (got {err['input']!r})"
            problems.append(Problem(source, msg, feature=sid, field=_field(err["loc"]) or None))
        return problems
    limit = (time.time() if now is None else now) + MAX_FUTURE_S
    if ev.ts > limit:
        return [Problem(source, f"timestamp is {ev.ts - limit + MAX_FUTURE_S:.0f} s in the future (more than {MAX_FUTURE_S:.0f} s ahead of the twin's clock)",
                        feature=sid, field="ts")]
    return ev


def to_record(ev: Event) -> dict[str, Any]:
    """The event as stored: its validated fields with ``ts`` as epoch seconds, no ``None`` values."""
    return ev.model_dump(exclude_none=True)




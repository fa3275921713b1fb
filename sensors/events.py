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
import re
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
MAX_EVENT = 16 * 1024
"""Largest single event (bytes of JSON), in every body shape: a line, an array element, an MQTT payload."""
MAX_DEPTH = 16
"""Deepest nesting of objects and arrays in one event (an event is flat; a forecast nests three levels)."""
MAX_DIGITS = 40
"""Longest integer literal in an event (a 64-bit ``seq`` has 19 digits)."""
ECHO_MAX = 200
"""Longest text echoed back from the input in an answer (a sensor id, a field name, a reason)."""


@dataclass(frozen=True)
class Rejected:
    """A raw event the decoder already refused (too big, too deep, not JSON), in its place in the batch.

    :func:`parse_event` turns it into a problem with ``reason``; ``field`` names
    what was wrong when it is not the whole event (``topic`` for MQTT).
    """

    reason: str
    field: str | None = None


class BodyError(ValueError):
    """A request body or batch message that cannot be split into events at all (HTTP 400)."""


def _no_constant(name: str) -> Any:
    msg = f"{name} is not a JSON number"
    raise ValueError(msg)


def _int(text: str) -> int:
    if len(text.lstrip("-")) > MAX_DIGITS:
        msg = f"integer of {len(text.lstrip('-')):,} digits (at most {MAX_DIGITS})"
        raise ValueError(msg)
    return int(text)


_DECODER = json.JSONDecoder(parse_constant=_no_constant)
"""Decodes an event with no integer literal over ``MAX_DIGITS`` digits (the C scanner, no call per number)."""
_CHECKED = json.JSONDecoder(parse_int=_int, parse_constant=_no_constant)
"""Decodes an event that may hold one: each integer literal is checked (:func:`_int`)."""
_LONG_DIGITS = re.compile(rf"\d{{{MAX_DIGITS + 1}}}")
"""A run of digits longer than any integer allowed (in a string too: then the checked decoder is used needlessly)."""

_TOKEN = re.compile(r'"(?:[^"\\]|\\.)*"|[\[\]{}]|"')
"""A JSON string (skipped whole), a bracket, or an unterminated string's opening quote."""
_SCALAR = re.compile(r'[^\s,\]}]*')


def _extent(text: str, start: int) -> tuple[int, int]:
    """Where the JSON value starting at ``start`` ends, and how deep it nests (no parsing; brackets outside strings).

    Raises
    ------
    BodyError
        When the value is not closed before the end of ``text``.
    """
    c = text[start]
    if c not in "[{":
        m = _TOKEN.match(text, start) if c == '"' else _SCALAR.match(text, start)
        if m is None or m.group() == '"':
            msg = f"unterminated string at character {start}"
            raise BodyError(msg)
        return m.end(), 0
    depth = deepest = 0
    for m in _TOKEN.finditer(text, start):
        t = m.group()
        if t in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif t in "]}":
            depth -= 1
            if depth == 0:
                return m.end(), deepest
        elif t == '"':
            break
    msg = f"the JSON value starting at character {start} is never closed"
    raise BodyError(msg)


def decode_event(text: str | bytes) -> Any:
    """One event's JSON text as a value, or :class:`Rejected` saying why not; never raises.

    The limits come first (``MAX_EVENT`` bytes, ``MAX_DEPTH`` levels,
    ``MAX_DIGITS`` digits); ``NaN`` and ``Infinity`` are not JSON and are refused.
    """
    if isinstance(text, bytes):
        if len(text) > MAX_EVENT:
            return Rejected(f"event of {len(text):,} bytes is over the limit of {MAX_EVENT:,} bytes")
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError as e:
            return Rejected(f"not UTF-8 ({e.reason} at byte {e.start})")
    elif len(text) > MAX_EVENT // 4 and len(text.encode("utf-8", "surrogatepass")) > MAX_EVENT:
        return Rejected(f"event over the limit of {MAX_EVENT:,} bytes")
    text = text.strip()
    if not text:
        return Rejected("empty event")
    if text.count("{") + text.count("[") > MAX_DEPTH:  # brackets enough to nest too deep: measure the nesting
        try:
            _, depth = _extent(text, 0)
        except BodyError as e:
            return Rejected(f"not valid JSON: {e}")
        if depth > MAX_DEPTH:
            return Rejected(f"nested more than {MAX_DEPTH} levels deep")
    try:  # integers are checked one by one (_int) only when the text holds a run of digits long enough to break a limit
        return (_CHECKED if _LONG_DIGITS.search(text) else _DECODER).decode(text)
    except json.JSONDecodeError as e:
        try:  # an unclosed value is said so ("never closed"), as when the nesting was measured first
            _extent(text, 0)
        except BodyError as b:
            return Rejected(f"not valid JSON: {b}")
        return Rejected(f"not valid JSON: {e}")
    except ValueError as e:  # a number over the limits (_int, _no_constant)
        return Rejected(str(e))


def split_events(data: bytes) -> list[Any]:
    """A body of events as raw events: a JSON array, one JSON value, or NDJSON (one event a line).

    Each event is decoded on its own (:func:`decode_event`), so an event over
    a limit or not JSON becomes a :class:`Rejected` in its place and its
    neighbours are kept.

    Raises
    ------
    BodyError
        When the body cannot be split at all: not UTF-8, an array that is not
        closed or holds something between its elements, or text in which no
        line is a JSON value.
    """
    try:
        text = data.decode("utf-8").strip()
    except UnicodeDecodeError as e:
        msg = f"the body is not UTF-8 ({e.reason} at byte {e.start})"
        raise BodyError(msg) from None
    if not text:
        return []
    if text[0] == "[":
        return _array(text)
    try:
        end, _ = _extent(text, 0)
    except BodyError:
        end = -1
    if end == len(text):
        return [decode_event(text)]
    lines = [ln for ln in text.splitlines() if ln.strip()]
    raws = [decode_event(ln) for ln in lines]
    if all(isinstance(r, Rejected) and r.reason.startswith("not valid JSON") for r in raws):
        why = raws[0].reason if len(raws) == 1 else "no line is a JSON value"
        msg = f"the body is not JSON, a JSON array or NDJSON ({why})"
        raise BodyError(msg)
    return raws


def _array(text: str) -> list[Any]:
    """The elements of a JSON array body, each decoded alone."""
    out: list[Any] = []
    i = 1
    n = len(text)
    ws = " \t\r\n"
    while True:
        while i < n and text[i] in ws:
            i += 1
        if i < n and text[i] == "]" and not out:
            i += 1
            break
        if i >= n:
            msg = "the JSON array is never closed"
            raise BodyError(msg)
        end, depth = _extent(text, i)
        if end == i:
            msg = f"expected an event at character {i} of the JSON array, found {text[i]!r}"
            raise BodyError(msg)
        piece = text[i:end]
        if depth > MAX_DEPTH:
            out.append(Rejected(f"nested more than {MAX_DEPTH} levels deep"))
        elif end - i > MAX_EVENT // 4 and len(piece.encode("utf-8", "surrogatepass")) > MAX_EVENT:
            out.append(Rejected(f"event over the limit of {MAX_EVENT:,} bytes"))
        else:
            out.append(decode_event(piece))
        i = end
        while i < n and text[i] in ws:
            i += 1
        if i < n and text[i] == ",":
            i += 1
            continue
        if i < n and text[i] == "]":
            i += 1
            break
        msg = f"expected ',' or ']' at character {i} of the JSON array"
        raise BodyError(msg)
    if text[i:].strip():
        msg = f"text after the JSON array, at character {i}"
        raise BodyError(msg)
    return out


def echo(text: str, limit: int = ECHO_MAX) -> str:
    """Input text made safe to send back: lone surrogates escaped, at most ``limit`` characters."""
    safe = text.encode("utf-8", "backslashreplace").decode("utf-8")
    return safe if len(safe) <= limit else safe[: limit - 1] + "…"



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
    seq: Annotated[int, Field(ge=0, lt=2**63, strict=True)] | None = None
    stamped: Literal["receipt"] | None = None
    """``receipt``: the sensor sent no ``ts``; the adapter stamped the event with the twin's clock when it arrived."""

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
        if not math.isfinite(t):
            msg = f"timestamp {v!r} is not a finite number"
            raise ValueError(msg)
        if t < MIN_TS:
            msg = f"timestamp {v!r} is before 2000-01-01 (sensor clock not set?)"
            raise ValueError(msg)
        return t


class Crossing(_Base):
    """People passing a gate or a card door: ``direction`` in/out, ``count`` people (card ids dropped)."""

    kind: Literal["crossing"]
    direction: Literal["in", "out"]
    count: Annotated[int, Field(ge=1, le=MAX_CROSSING, strict=True)] = 1
    lane: Literal["pedestrian", "vehicle"] | None = None


class Count(_Base):
    """A camera's people count for its zone."""

    kind: Literal["count"]
    count: Annotated[int, Field(ge=0, le=MAX_CAMERA_COUNT, strict=True)]


class Alert(_Base):
    """A camera analytics alert: crowding, intrusion into a closed area, line crossing; ``active`` false clears it."""

    kind: Literal["alert"]
    alert: Literal["crowding", "intrusion", "line_crossing"]
    active: Annotated[bool, Field(strict=True)] = True


class Fire(_Base):
    """A fire detector or manual call point state, with the fire panel's zone."""

    kind: Literal["fire"]
    state: Literal["normal", "pre_alarm", "fire", "fault", "disabled", "test"]
    panel_zone: Annotated[str, Field(max_length=MAX_ID)] | None = None


class Intrusion(_Base):
    """An intrusion / infrared alarm; ``active`` false restores it."""

    kind: Literal["intrusion"]
    active: Annotated[bool, Field(strict=True)] = True


class Panic(_Base):
    """A one-button (panic) alarm; ``active`` false resets it."""

    kind: Literal["panic"]
    active: Annotated[bool, Field(strict=True)] = True


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
FIELDS = frozenset({"topic", *(f for m in _MODELS.values() for f in m.model_fields)})
"""Every field an event may have (rejection counters are kept per field; other names count as ``unknown_field``)."""
_DROP = frozenset({"card", "card_id"})
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
        """JSON-ready, leaving out what is empty; echoed input is made encodable (:func:`echo`)."""
        doc: dict[str, Any] = {"status": self.status}
        if self.sensor_id is not None:
            doc["sensor_id"] = echo(self.sensor_id, MAX_ID)
        if self.seq is not None:
            doc["seq"] = self.seq
        if self.field is not None:
            doc["field"] = echo(self.field)
        if self.reason is not None:
            doc["reason"] = echo(self.reason, 4 * ECHO_MAX)
        return doc


def _field(loc: tuple[Any, ...]) -> str:
    return ".".join(str(p) for p in loc)


def parse_event(raw: Any, *, source: str = "event", now: float | None = None, allow_twin: bool = False) -> Event | list[Problem]:
    """Validate one raw event (a decoded JSON value, or undecoded JSON bytes).

    Parameters
    ----------
    raw : Any
        The decoded JSON value (an object when it is right), the raw bytes of one
        (decoded with the limits of :func:`decode_event`), or a :class:`Rejected`.
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
        raw = decode_event(raw)
    if isinstance(raw, Rejected):
        return [Problem(source, raw.reason, field=raw.field)]
    if not isinstance(raw, dict):
        return [Problem(source, f"an event is a JSON object, got {type(raw).__name__}")]
    kind = raw.get("kind")
    sid = sensor_of(raw)
    if kind is None:
        return [Problem(source, "missing required field", feature=sid, field="kind")]
    kinds = (*SENSOR_KINDS, "forecast") if allow_twin else SENSOR_KINDS
    if kind not in kinds:
        return [Problem(source, f"unknown kind {kind!r} (expected one of: {', '.join(kinds)})", feature=sid, field="kind")]
    doc = {k: v for k, v in raw.items() if k not in _DROP} if not _DROP.isdisjoint(raw) else raw
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
                    msg += f" (got {echo(repr(err['input']), 60)})"
            problems.append(Problem(source, msg, feature=sid, field=_field(err["loc"]) or None))
        return problems
    limit = (time.time() if now is None else now) + MAX_FUTURE_S
    if ev.ts > limit:
        return [Problem(source, f"timestamp is {ev.ts - limit + MAX_FUTURE_S:.0f} s in the future (more than {MAX_FUTURE_S:.0f} s ahead of the twin's clock)",
                        feature=sid, field="ts")]
    return ev


def sensor_of(raw: Any) -> str | None:
    """The ``sensor_id`` a raw event names, when it is text (for answers about a rejected event)."""
    sid = raw.get("sensor_id") if isinstance(raw, dict) else None
    return sid if isinstance(sid, str) else None


def seq_of(raw: Any) -> int | None:
    """The ``seq`` a raw event carries, when it is a valid sequence number."""
    seq = raw.get("seq") if isinstance(raw, dict) else None
    return seq if type(seq) is int and 0 <= seq < 2**63 else None


def to_record(ev: Event) -> dict[str, Any]:
    """The event as stored: its validated fields with ``ts`` as epoch seconds, no ``None`` values."""
    return ev.model_dump(exclude_none=True)




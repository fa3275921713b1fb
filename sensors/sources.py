"""Event sources: a synthetic day on a campus, NDJSON file replay, and publishers to MQTT or HTTP.

``synthetic_day`` makes a realistic, reproducible day of sensor events for a
campus (one seed drives every draw): people arriving through the gates in the
morning and leaving in the evening, class changes on the hour (camera counts
dip in the teaching buildings and peak outdoors), dormitory doors busy in the
evening until the curfew, camera counts every ``interval`` seconds,
detectors and guard posts heartbeating hourly, a few detector faults and
cameras going silent, and optionally a fire alarm (pre-alarm, fire, manual
call point) at a chosen time. Times of day are the campus's local hours
(its ``time_zone``) of the event timestamps.

``publish`` sends events to ``mqtt://HOST:PORT`` (QoS 1, one topic per
sensor and kind, or gateway batches on ``campus/events``) or
``http://HOST:PORT`` (``POST /api/events`` with a device key) at a chosen
rate; ``read_ndjson`` / ``replay_times`` replay a recorded file with its
original timing scaled by a speed factor.

``DemoFeed`` submits a synthetic day stamped at the wall clock straight to an
ingestor, each event when its time comes (``twin serve --demo``).

``synthetic_findings`` fills a hazard ledger (``twin.hazards``) with a
reproducible year of inspection findings, fixes and verifications (``twin
hazard simulate``).
"""

from __future__ import annotations

import json
import math
import threading
import time
from collections import deque
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np

from sensors.drill import RETURN_S, DrillModel, DrillPlay, Emit, drill_events
from sensors.ingest import Ingestor
from twin.campus import Campus
from twin.registry import Registry

CURFEW_H = 23.0
"""Dormitory curfew (hour of day): after it, dorm doors see only stragglers."""


def _profile_in(h: float) -> float:
    """Arrivals through the gates per gate per minute at hour ``h`` (morning peak, lunch, evening)."""
    return 40 * math.exp(-((h - 8.0) ** 2) / 0.5) + 10 * math.exp(-((h - 13.0) ** 2) / 0.8) + 3 * (7 <= h <= 21) + 0.3


def _profile_out(h: float) -> float:
    return 35 * math.exp(-((h - 17.5) ** 2) / 0.8) + 10 * math.exp(-((h - 12.0) ** 2) / 0.8) + 3 * (7 <= h <= 22) + 0.3


def _presence(use: str, h: float) -> float:
    """Share of a building's design occupants inside at hour ``h``: dorms full at night, empty by day; the canteen at
    meals; others by the classes."""
    if use == "dorm":
        if h < 7 or h >= CURFEW_H:
            return 0.9
        if h < 10:
            return 0.9 - 0.7 * (h - 7) / 3
        if h < 17:
            return 0.2
        return 0.2 + 0.7 * (h - 17) / (CURFEW_H - 17)
    if use == "canteen":  # meals: lunch 11:30-13:00 and dinner 17:30-19:00 fill it, a trickle in between
        return 0.8 if 11.5 <= h < 13 else 0.6 if 17.5 <= h < 19 else 0.1 if 7 <= h < 21 else 0.0
    return _class_fill(h) if use == "teaching" else 0.5 * _class_fill(h)


def _split(n: int, parts: int, rng: np.random.Generator) -> np.ndarray:
    """``n`` people shared at random among ``parts`` doors."""
    return rng.multinomial(n, np.full(parts, 1.0 / parts)) if n else np.zeros(parts, dtype=int)


def _tallies(n: int, most: int = 500) -> list[int]:
    """``n`` people as door tallies of at most ``most`` each (the event schema's largest count)."""
    return [most] * (n // most) + ([n % most] if n % most else [])


def _class_fill(h: float) -> float:
    """Share of a teaching building's design occupants present: classes 8-18 h, a dip at each change (xx:50-xx:00)."""
    if h < 7.5 or h > 21:
        return 0.01
    base = 0.75 if 8 <= h < 18 else 0.2
    frac = h % 1.0
    return base * (0.45 if frac >= 50 / 60 else 1.0)


def synthetic_day(campus: Campus, *, seed: int = 0, start: float | None = None, duration: float = 86_400.0,
                  interval: float = 60.0, fire_at: float | None = None, fire_detector: str | None = None,
                  registry: Registry | None = None, drill: DrillModel | None = None, drill_scope: str = "building",
                  tally: float = 10.0, return_after: float = 600.0) -> list[dict[str, Any]]:
    """A day (or ``duration`` seconds) of sensor events on ``campus``, sorted by time.

    Parameters
    ----------
    seed : int
        Drives every random draw: the same seed gives the same events.
    start : float, optional
        Epoch seconds of the first instant (default: ``duration`` before now,
        so every event is in the past).
    interval : float
        Seconds between camera counts and between gate/door tallies.
    fire_at : float, optional
        Seconds after ``start`` at which a detector goes to pre-alarm, then
        fire 20 s later, and a manual call point nearby 30 s later.
    fire_detector : str, optional
        The detector that goes first (default: a smoke detector on level 2 of
        the first teaching building).
    drill : callable, optional
        With ``fire_at``: the drill model (``sensors.drill``) that says how the
        people in the alarmed buildings leave; their door counters and level
        cameras then report the drill (tallies every ``tally`` s), and the
        buildings' usual comings and goings stop until everyone is back in,
        ``return_after`` s after the last person left. Without it the alarm
        sounds and nobody moves.
    drill_scope : str
        ``building``: the fire detector's building is alarmed; ``campus``: every building.

    Returns
    -------
    list of dict
        Events with ``seq`` per sensor (1, 2, …), ready to publish.
    """
    reg = registry or Registry(campus)
    rng = np.random.default_rng(seed)
    t0 = float(round(time.time() - duration)) if start is None else float(start)
    f = campus.features
    design = {b: int(f.at[b, "occupants"]) for b in f.index[f["kind"] == "building"]}
    use = {b: str(f.at[b, "use"]) for b in design}
    events: list[tuple[float, str, dict[str, Any]]] = []

    def add(t: float, sid: str, kind: str, **kw: Any) -> None:
        if 0 <= t < duration:
            events.append((float(t), sid, {"sensor_id": sid, "ts": round(float(t0 + t), 3), "kind": kind, **kw}))

    steps = np.arange(0.0, duration, interval)
    offset = datetime.fromtimestamp(t0, ZoneInfo(f.attrs.get("time_zone", "UTC"))).utcoffset()
    hours = ((t0 + steps + (offset.total_seconds() if offset else 0.0)) % 86_400) / 3600.0  # local hours of day
    scale = interval / 60.0
    gates = [s for s in reg.by_type.get("gate", []) if f.at[s.id, "mode"] != "vehicle"]
    for g in gates:
        for t, h in zip(steps, hours, strict=True):
            for direction, lam in (("in", _profile_in(h)), ("out", _profile_out(h))):
                for c in _tallies(int(rng.poisson(lam * scale / max(1, len(gates)) * 2))):
                    add(t + rng.uniform(0, interval), g.id, "crossing", direction=direction, count=c)
    doors = reg.by_type.get("door", [])
    by_b: dict[str, list[str]] = {}
    for d in doors:
        if d.building in design:
            by_b.setdefault(d.building, []).append(d.id)
    for b, ids in by_b.items():
        # the counted doors see the building's expected presence change, plus a turnover of ~1 % a minute;
        # the balance when the feed starts is one opening tally
        expect = design[b] * np.array([_presence(use[b], h) for h in hours])
        for k, n in enumerate(_split(round(float(expect[0])), len(ids), rng)):
            for c in _tallies(int(n)):
                add(0.0, ids[k], "crossing", direction="in", count=c)
        turnover = 0.01 * scale * expect
        change = np.diff(np.concatenate([expect, expect[-1:]]))
        for t, lam_in, lam_out in zip(steps, np.maximum(change, 0) + turnover, np.maximum(-change, 0) + turnover, strict=True):
            for direction, lam in (("in", lam_in), ("out", lam_out)):
                for k, n in enumerate(_split(int(rng.poisson(lam)), len(ids), rng)):
                    for c in _tallies(int(n)):
                        add(t + rng.uniform(0, interval), ids[k], "crossing", direction=direction, count=c)
    cams = reg.by_type.get("camera", [])
    silent = {c.id: float(rng.uniform(0.3, 0.9) * duration) for c in rng.choice(cams, size=min(2, len(cams)), replace=False)} if cams else {}
    levels_of = {b: int(f.at[b, "levels"]) if f.at[b, "levels"] == f.at[b, "levels"] else 1 for b in design}
    for c in cams:
        stop = silent.get(c.id, duration)
        for t, h in zip(steps, hours, strict=True):
            if t >= stop:
                break
            if c.building is not None:
                b = c.building
                fill = _class_fill(h) if use[b] == "teaching" else 0.5 * _class_fill(h)
                mean = design[b] * fill / max(1, levels_of[b])
            else:
                frac = h % 1.0
                mean = 8 + (25 if frac >= 50 / 60 and 8 <= h < 18 else 0) + 10 * math.exp(-((h - 12.5) ** 2) / 0.5)
            add(t + rng.uniform(0, min(5.0, interval)), c.id, "count", count=int(rng.poisson(mean)))
        if c.id in silent:
            add(stop + 1.0, c.id, "heartbeat", status="offline")
    for s in (*reg.by_type.get("detector", []), *reg.by_type.get("post", []), *reg.by_type.get("key_area", [])):
        off = rng.uniform(0, 3600)
        for t in np.arange(off, duration, 3600.0):
            add(float(t), s.id, "heartbeat")
    dets = reg.by_type.get("detector", [])
    for d in rng.choice(dets, size=min(3, len(dets)), replace=False) if dets else []:
        t = float(rng.uniform(0, duration * 0.8))
        add(t, d.id, "fire", state="fault")
        add(t + float(rng.uniform(600, 7200)), d.id, "fire", state="normal")
    if fire_at is not None:
        first = fire_detector or _default_fire_detector(reg, f)
        s = reg.sensors[first]
        add(fire_at, first, "fire", state="pre_alarm")
        add(fire_at + 20, first, "fire", state="fire")
        mcp = [d for d in dets if d.building == s.building and d.level == s.level and d.detector == "manual_call_point"]
        if mcp:
            add(fire_at + 30, mcp[0].id, "fire", state="fire")
        if drill is not None:
            clear = _play_drill(events, add, drill, reg, alarm_s=fire_at + 20, design=design, tally=tally, interval=interval,
                                return_after=return_after, buildings={s.building} if drill_scope == "building" else set(design))
            for sid in [first, *(m.id for m in mcp[:1])]:  # the panel is reset at the all-clear
                add(clear, sid, "fire", state="normal")
    events.sort(key=lambda e: (e[0], e[1]))
    seq: dict[str, int] = {}
    out = []
    for _, sid, ev in events:
        seq[sid] = seq.get(sid, 0) + 1
        ev["seq"] = seq[sid]
        out.append(ev)
    return out


def _play_drill(events: list[tuple[float, str, dict[str, Any]]], add: Emit, drill: DrillModel, reg: Registry, *,
                alarm_s: float, design: dict[str, int], tally: float, interval: float, return_after: float,
                buildings: set[str | None]) -> float:
    """Replace the alarmed buildings' door and level-camera events around the alarm with the drill's (``sensors.drill``);
    return the all-clear (s from the start).

    The people in each building at the alarm are its counted doors' balance then (what the site believes); a
    building without counted doors holds its cameras' latest counts.
    """
    alarmed = {b for b in buildings if b in design}
    sensors = {s.id for s in reg.sensors.values() if s.building in alarmed and s.type in ("door", "camera")}
    balance: dict[str, int] = dict.fromkeys(alarmed, 0)
    seen: dict[str, int] = {}
    for t, sid, ev in events:
        if t < alarm_s and sid in sensors:
            b = reg.sensors[sid].building
            if ev["kind"] == "crossing":
                balance[b] += ev["count"] if ev["direction"] == "in" else -ev["count"]
            elif ev["kind"] == "count":
                seen[sid] = ev["count"]
    cams: dict[str, int] = {}
    for sid, n in seen.items():
        cams[reg.sensors[sid].building] = cams.get(reg.sensors[sid].building, 0) + n
    people = {b: max(balance[b], cams.get(b, 0)) for b in sorted(alarmed)}
    play = DrillPlay(*drill({b: n for b, n in people.items() if n > 0}))
    t1 = alarm_s + play.end_s + return_after + RETURN_S
    events[:] = [e for e in events if not (e[1] in sensors and alarm_s <= e[0] < t1 and e[2]["kind"] in ("crossing", "count"))]
    drill_events(play, reg, add, alarm_s=alarm_s, buildings=alarmed, tally=tally, interval=interval, return_after=return_after)
    return alarm_s + play.end_s + return_after


def _default_fire_detector(reg: Registry, f: Any) -> str:
    dets = [d for d in reg.by_type.get("detector", []) if d.detector == "smoke"]
    teaching = [d for d in dets if d.building and f.at[d.building, "use"] == "teaching" and d.level == 2]
    return (teaching or dets)[0].id


def write_ndjson(events: Iterable[dict[str, Any]], path: str | Path) -> int:
    """Write events one JSON object a line; return how many."""
    n = 0
    with Path(path).open("w") as fh:
        for ev in events:
            fh.write(json.dumps(ev, separators=(",", ":")) + "\n")
            n += 1
    return n


def read_ndjson(path: str | Path) -> Iterator[Any]:
    """Events from an NDJSON file; a line that is not JSON is passed on as text (the receiver rejects it)."""
    with Path(path).open() as fh:
        for line in fh:
            if line.strip():
                try:
                    yield json.loads(line)
                except ValueError:
                    yield line.rstrip("\n")


def _ts(ev: Any) -> float | None:
    if isinstance(ev, dict):
        t = ev.get("ts")
        if isinstance(t, int | float):
            return float(t)
        if isinstance(t, str):
            from datetime import datetime

            try:
                return datetime.fromisoformat(t.replace("Z", "+00:00")).timestamp()
            except ValueError:
                try:
                    return float(t)
                except ValueError:
                    return None
    return None


def paced(events: Iterable[Any], *, rate: float | None = None, speed: float | None = None) -> Iterator[Any]:
    """Yield events no faster than ``rate`` per second, or with their original spacing divided by ``speed``.

    Neither: as fast as they come. ``speed`` uses each event's ``ts``; events
    without a readable ``ts`` go out at once.
    """
    wall0 = time.perf_counter()
    ts0 = None
    for n, ev in enumerate(events):
        if rate:
            due = wall0 + n / rate
        elif speed:
            t = _ts(ev)
            if t is None:
                due = 0.0
            else:
                ts0 = t if ts0 is None else ts0
                due = wall0 + (t - ts0) / speed
        else:
            due = 0.0
        wait = due - time.perf_counter()
        if wait > 0:
            time.sleep(wait)
        yield ev


def _chunks(events: Iterable[Any], n: int) -> Iterator[list[Any]]:
    buf: list[Any] = []
    for ev in events:
        buf.append(ev)
        if len(buf) >= n:
            yield buf
            buf = []
    if buf:
        yield buf


def publish(events: Iterable[Any], to: str, *, key: str | None = None, batch: int = 1, timeout: float = 60.0,
            client_id: str | None = None) -> dict[str, Any]:
    """Send events to ``mqtt://HOST:PORT`` or ``http://HOST:PORT``; return counts.

    Parameters
    ----------
    to : str
        ``mqtt://HOST:PORT``: QoS 1, topic ``campus/<sensor_id>/<kind>`` per
        event (``batch`` > 1: gateway batches on ``campus/events``).
        ``http://HOST:PORT``: ``POST /api/events`` with ``batch`` events per request.
    key : str, optional
        The device key for HTTP (``Authorization: Bearer KEY``).
    timeout : float
        Seconds to wait for the broker's acknowledgements at the end.
    """
    if to.startswith(("mqtt://", "mqtts://")):
        return _publish_mqtt(events, to, batch=batch, timeout=timeout, client_id=client_id)
    if to.startswith(("http://", "https://")):
        return _publish_http(events, to, key=key, batch=max(1, batch) if batch > 1 else 500)
    msg = f"--to {to!r}: expected mqtt[s]://HOST:PORT or http://HOST:PORT"
    raise ValueError(msg)


def _publish_mqtt(events: Iterable[Any], to: str, *, batch: int, timeout: float, client_id: str | None) -> dict[str, Any]:
    from sensors.mqtt import BATCH_TOPIC, Broker, topic_of

    b = Broker.parse(to)
    c = b.client(client_id or "")
    # no in-flight cap: with one, paho scans every unacknowledged message on each PUBACK (its _update_inflight), which
    # at 1,000 in flight held a publisher to ~2,000 messages/s; unacknowledged messages are kept either way
    c.max_inflight_messages_set(0)
    c.max_queued_messages_set(0)
    acked = [0]
    c.on_publish = lambda *a: acked.__setitem__(0, acked[0] + 1)
    b.connect(c, asynchronous=False)
    c.loop_start()
    sent = messages = 0
    t = time.perf_counter()
    try:
        if batch > 1:
            for chunk in _chunks(events, batch):
                c.publish(BATCH_TOPIC, json.dumps(chunk, separators=(",", ":")), qos=1)
                sent += len(chunk)
                messages += 1
        else:
            for ev in events:
                topic = topic_of(ev) if isinstance(ev, dict) and "sensor_id" in ev and "kind" in ev else BATCH_TOPIC
                c.publish(topic, ev if isinstance(ev, str) else json.dumps(ev, separators=(",", ":")), qos=1)
                sent += 1
                messages += 1
        end = time.monotonic() + timeout
        while acked[0] < messages and time.monotonic() < end:
            time.sleep(0.01)
    finally:
        c.disconnect()
        c.loop_stop()
    return {"sent": sent, "messages": messages, "acknowledged_by_broker": acked[0], "seconds": round(time.perf_counter() - t, 3)}


def _publish_http(events: Iterable[Any], to: str, *, key: str | None, batch: int) -> dict[str, Any]:
    import httpx

    url = to.rstrip("/") + "/api/events"
    totals = {"sent": 0, "accepted": 0, "duplicate": 0, "rejected": 0}
    reasons: list[dict[str, Any]] = []
    t = time.perf_counter()
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    with httpx.Client(timeout=60) as client:
        for chunk in _chunks(events, batch):
            body = "\n".join(e if isinstance(e, str) else json.dumps(e, separators=(",", ":")) for e in chunk)
            r = client.post(url, content=body, headers={**headers, "Content-Type": "application/x-ndjson"})
            if r.status_code != 200:
                msg = f"{url}: HTTP {r.status_code}: {r.text[:200]}"
                raise RuntimeError(msg)
            doc = r.json()
            totals["sent"] += len(chunk)
            for k in ("accepted", "duplicate", "rejected"):
                totals[k] += doc[k]
            reasons += [x for x in doc["results"] if x["status"] == "rejected"][: max(0, 20 - len(reasons))]
    return {**totals, "seconds": round(time.perf_counter() - t, 3), "first_rejections": reasons}


class DemoFeed:
    """A synthetic campus day stamped at the wall clock, submitted as its time comes (``twin serve --demo``).

    The hour before the start is submitted at once (so the map starts with
    people on it), then each event when its time comes; a fire alarm is
    raised ``fire_after`` seconds after the start. Events keep no ``seq``
    (a second demo on the same store is new events, not duplicates), and
    none older than the store's latest event is sent.

    Parameters
    ----------
    ingestor : Ingestor
        Where the events go (the same path as HTTP and MQTT).
    seed : int
        Drives every draw of the synthetic day.
    fire_after : float, optional
        Seconds after the start at which a detector goes to fire (None: no fire).
    backfill, span : float
        Seconds of events before the start, and after it.
    tick : float
        Seconds between sends.
    drill : callable, optional
        The drill model (``sensors.drill``): with it, the alarmed building evacuates, counted at its doors and cameras.
    """

    def __init__(self, ingestor: Ingestor, *, seed: int = 0, fire_after: float | None = 60.0,
                 backfill: float = 3600.0, span: float = 8 * 3600.0, tick: float = 0.25, drill: DrillModel | None = None) -> None:
        self.ingestor = ingestor
        self.drill = drill
        self.seed = seed
        self.fire_after = fire_after
        self.backfill = backfill
        self.span = span
        self.tick = tick
        self.sent = 0
        self._events: deque[dict[str, Any]] = deque()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Submit the backfill and start the thread that sends the rest on time."""
        t0 = time.time()
        fire = None if self.fire_after is None else self.backfill + self.fire_after
        events = synthetic_day(self.ingestor.campus, seed=self.seed, start=t0 - self.backfill, duration=self.backfill + self.span,
                               fire_at=fire, registry=self.ingestor.registry, drill=self.drill)
        with self.ingestor.lock:
            after = self.ingestor.state.clock or 0.0
        self._events = deque({k: v for k, v in ev.items() if k != "seq"} for ev in events if ev["ts"] > after)
        self._send(t0)
        self._thread = threading.Thread(target=self._run, name="twin-demo-feed", daemon=True)
        self._thread.start()

    def _send(self, now: float) -> None:
        due = []
        while self._events and self._events[0]["ts"] <= now:
            due.append(self._events.popleft())
        for k in range(0, len(due), 2000):
            self.ingestor.submit(due[k:k + 2000], source="demo")
        self.sent += len(due)

    def _run(self) -> None:
        while not self._stop.wait(self.tick) and self._events:
            self._send(time.time())

    def stop(self) -> None:
        """Stop sending."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)


FINDING_MIX = {"blocked_exit": 0.18, "narrowed": 0.14, "door_not_closing": 0.22, "detector_fault": 0.12,
               "extinguisher_missing": 0.14, "emergency_lighting": 0.15, "other": 0.05}
"""Share of each kind among synthetic findings (fire doors that do not close and blocked exits lead, as in the
campuses' inspection logs)."""
FINDING_NOTES = {"blocked_exit": "exit wedged shut / blocked by stored goods", "narrowed": "furniture stored in the way",
                 "door_not_closing": "fire door held open or closer broken", "detector_fault": "detector reports a fault",
                 "extinguisher_missing": "extinguisher missing from its bracket", "emergency_lighting": "exit sign or emergency light out",
                 "other": "other hazard"}
"""The note of each kind of synthetic finding."""


def synthetic_findings(ledger: Any, *, year: int, per_month: float = 6.0, seed: int = 0, now: float | None = None) -> int:
    """Store a reproducible year of inspection findings with their fixes and verifications in ``ledger``.

    Findings arrive as a Poisson process (``per_month`` a month, more in
    the autumn and spring terms) on the campus's exits, stairs, corridors,
    doors and detectors, found in working hours by one of four inspectors;
    time to fix is lognormal (median 6 days, a tail past the due date),
    verification follows 1-10 days later; 3 % are rejected. Moves that would
    fall after ``now`` are not made, so the last weeks end open or fixed.

    Parameters
    ----------
    ledger : twin.hazards.HazardLedger
        The ledger to fill (its campus gives the places).
    year : int
        Calendar year of the findings (UTC).
    per_month : float
        Mean findings per month.
    seed : int
        Drives every random choice.
    now : float, optional
        The present (epoch s; default the wall clock).

    Returns
    -------
    int
        Findings stored.
    """
    from twin.hazards import KIND_PLACES, element_width

    rng = np.random.default_rng(seed)
    now = time.time() if now is None else now
    f = ledger.campus.features
    exits = f[(f["kind"] == "door") & (f["exit"] == True)].index.tolist()
    places = {k: f[f["kind"].isin(v)].index.tolist() for k, v in KIND_PLACES.items()}
    places["blocked_exit"] = exits or places["blocked_exit"]
    anywhere = f[f["kind"].isin(("door", "corridor", "room", "stair"))].index.tolist()
    kinds = [k for k in FINDING_MIX if places.get(k, anywhere)]
    weights = np.array([FINDING_MIX[k] for k in kinds])
    term = np.array([0.6, 1.0, 1.2, 1.1, 1.1, 0.9, 0.6, 0.5, 1.2, 1.3, 1.2, 0.9])  # semester rhythm, mean ~1
    n = 0
    for month in range(1, 13):
        first = datetime(year, month, 1, tzinfo=UTC).timestamp()
        last = datetime(year + (month == 12), month % 12 + 1, 1, tzinfo=UTC).timestamp()
        for _ in range(rng.poisson(per_month * term[month - 1] / term.mean())):
            found = first + np.floor(rng.uniform(0, (last - first) / 86_400)) * 86_400 + rng.uniform(8, 17) * 3600
            if found > now:
                continue
            kind = str(rng.choice(kinds, p=weights / weights.sum()))
            fid = str(rng.choice(places.get(kind, anywhere)))
            width = None
            if kind == "narrowed":
                width = round(float(element_width(ledger.campus, fid)) * rng.uniform(0.35, 0.8), 2)
            by = f"inspector-{rng.integers(1, 5)}"
            rec = ledger.add(kind=kind, feature=fid, width=width, note=FINDING_NOTES[kind], by=by, found_at=found)
            n += 1
            if rng.random() < 0.03:
                t = found + rng.uniform(1, 5) * 86_400
                if t <= now:
                    ledger.move(rec["id"], "rejected", by="verifier-1", ts=t, note="not a hazard")
                continue
            fixed = found + rng.lognormal(np.log(6.0), 1.0) * 86_400
            if fixed > now:
                continue
            ledger.move(rec["id"], "fixed", by="facilities", ts=fixed)
            verified = fixed + rng.uniform(1, 10) * 86_400
            if verified <= now:
                ledger.move(rec["id"], "verified", by="verifier-1", ts=verified)
    return n

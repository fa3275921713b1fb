"""Fire drills in the synthetic feed: people leave the alarmed buildings, counted by the sensors the site has.

When :func:`sensors.sources.synthetic_day` raises its fire alarm with a drill
model, the people in the alarmed buildings (the door counters' balance at the
alarm: what the site itself believes) are handed to the model, which says
when each of them passed which exit and how many stood on each building level
over time. This module turns that into what the site's sensors would send:

* every door with a sensor (card reader or people counter, ``twin.registry``)
  reports an ``out`` tally every ``tally`` seconds while people pass it; exits
  without a sensor report nothing (their people are simply not counted);
* every camera that counts a building level (its ``zone``, ``TB1-L2``)
  reports the people on that level every ``interval`` seconds;
* when the drill is over and ``return_after`` seconds have passed, everyone
  goes back in through the counted doors over ``RETURN_S``.

The model is handed in: ``sensors/`` never imports an engine. The commands
build it from the evacuation engine (``scenarios.feed_drill.engine_drill``)
with the pre-movement and door flow the drill should have, so a calibration
of the recorded drill can be checked against the values that made it.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from twin.audit import AuditLog
from twin.registry import Registry

if TYPE_CHECKING:
    from sensors.ingest import Ingestor

RETURN_S = 300.0
"""People go back in over this many seconds after the all-clear (s)."""


@dataclass
class DrillPlay:
    """What a drill model says happened, in seconds from the alarm."""

    exit_times: dict[str, np.ndarray]
    """Building exit door id → the times people passed it (s)."""
    levels: dict[tuple[str, int], tuple[np.ndarray, np.ndarray]] = field(default_factory=dict)
    """``(building, level)`` → (times (s), people on that level from each time on): a step function from 0."""

    @property
    def end_s(self) -> float:
        """The last passage through an exit (s; 0 when nobody left)."""
        return max((float(t.max()) for t in self.exit_times.values() if len(t)), default=0.0)

    def on_level(self, building: str, level: int, t: float) -> int | None:
        """People on a building level at ``t`` (s), or ``None`` when the model does not track that level."""
        series = self.levels.get((building, level))
        if series is None:
            return None
        times, people = series
        k = int(np.searchsorted(times, t, side="right")) - 1
        return int(people[max(k, 0)])


DrillModel = Callable[[dict[str, int]], tuple[dict[str, np.ndarray], dict[tuple[str, int], tuple[np.ndarray, np.ndarray]]]]
"""People per alarmed building at the alarm → what happened: the two fields of :class:`DrillPlay` (plain data, so
an engine can answer without importing ``sensors``)."""

Emit = Callable[..., None]
"""``emit(t, sensor_id, kind, **payload)``: adds one event at ``t`` s from the feed's start."""


def drill_events(play: DrillPlay, reg: Registry, emit: Emit, *, alarm_s: float, buildings: set[str], tally: float,
                 interval: float, return_after: float) -> None:
    """Emit the sensor events of a drill: door tallies out, level counts, and everyone back in after the all-clear.

    Parameters
    ----------
    play : DrillPlay
        What the drill model says happened.
    reg : Registry
        The site's sensors: only these report.
    emit : callable
        Adds one event (see :data:`Emit`).
    alarm_s : float
        When the alarm sounded (s from the feed's start).
    buildings : set of str
        The alarmed buildings (their cameras report the drill's level counts).
    tally : float
        Door sensors report a tally this often (s).
    interval : float
        Cameras count this often (s).
    return_after : float
        The all-clear comes this long after the last person is out (s).
    """
    counted = {s.id: s for s in reg.by_type.get("door", [])}
    back_in: dict[str, int] = {}
    for door, times in play.exit_times.items():
        if door not in counted or not len(times):
            continue
        steps = np.ceil(np.asarray(times) / tally).astype(int)
        for k, n in zip(*np.unique(steps, return_counts=True), strict=True):
            emit(alarm_s + tally * int(k), door, "crossing", direction="out", count=int(n))
        back_in[door] = len(times)
    back = alarm_s + play.end_s + return_after
    for cam in reg.by_type.get("camera", []):
        if cam.building not in buildings or cam.level is None:
            continue
        for t in np.arange(0.0, back - alarm_s, interval):
            n = play.on_level(cam.building, cam.level, float(t))
            if n is not None:
                emit(alarm_s + float(t), cam.id, "count", count=n)
    for door, n in back_in.items():
        share = np.diff(np.round(np.linspace(0, n, int(RETURN_S // tally) + 1))).astype(int)
        for k, m in enumerate(share):
            if m:
                emit(back + k * tally, door, "crossing", direction="in", count=int(m))


def feed_store(ingestor: Ingestor, events: list[dict[str, Any]], *, settle: Callable[[], object] | None = None,
               step: float = 120.0, operator: str | None = None, ack_after: float = 45.0) -> dict[str, Any]:
    """Store a synthetic feed through ``ingestor`` (the path HTTP and MQTT take), as it would arrive live.

    From the first fire alarm to the all-clear the events go in ``step``
    seconds of event time at a time, and ``settle`` (e.g. waiting for the
    forecaster, ``scenarios.forecast``) is called after each, so listeners
    see the drill as it happens rather than all at once. With ``operator``,
    that operator acknowledges the fire alarm ``ack_after`` seconds after it
    with a note, notes when the alarmed building is counted empty, and clears
    the alarm after the all-clear, in the store's audit trail (``twin.audit``),
    as the live map's alarm panel would record it.

    Returns
    -------
    dict
        ``stored``, ``alarm`` (the first fire alarm: id, sensor, building, ts) and ``actions`` (operator actions written).
    """
    fire = next((e for e in events if e["kind"] == "fire" and e["state"] == "fire"), None)
    clear = next((e for e in events if fire and e["kind"] == "fire" and e["sensor_id"] == fire["sensor_id"]
                  and e["state"] == "normal" and e["ts"] > fire["ts"]), None)
    t_end = clear["ts"] if clear else (fire["ts"] if fire else math.inf)
    ts = [e["ts"] for e in events]
    cuts = [] if fire is None else [fire["ts"] + k * step for k in range(int((min(t_end, ts[-1]) - fire["ts"]) // step) + 2)]
    start = 0
    for b in [bisect.bisect_right(ts, c) for c in cuts] + [len(events)]:
        for k in range(start, b, 2000):
            ingestor.submit(events[k:min(b, k + 2000)], source="synthetic feed")
        if settle is not None and fire is not None and b > start and ts[b - 1] >= fire["ts"]:
            settle()
        start = max(start, b)
    stored = len(events)
    result: dict[str, Any] = {"stored": stored, "alarm": None, "actions": []}
    if fire is None:
        return result
    reg = ingestor.registry
    s = reg.sensors[fire["sensor_id"]]
    alarm = {"id": f"{fire['sensor_id']}:fire", "kind": "fire", "priority": 1, "since": fire["ts"], "sensor_id": fire["sensor_id"],
             "building": s.building, "level": s.level, "node": s.node}
    result["alarm"] = {"id": alarm["id"], "sensor_id": fire["sensor_id"], "building": s.building, "ts": fire["ts"]}
    if operator is None:
        return result
    empty = _counted_empty(events, reg, s.building, fire["ts"], t_end)
    plan = [(fire["ts"] + ack_after, "ack", f"Drill: {s.building} evacuation confirmed by the wardens; fire brigade informed")]
    if empty is not None:
        plan.append((empty, "note", f"{s.building} counted empty at its doors"))
    if clear is not None:
        plan.append((clear["ts"] + 60.0, "clear", "All-clear given; panel reset; occupants back in"))
    log = AuditLog(ingestor.store.path)
    try:
        for ts, action, note in plan:
            result["actions"].append(log.append(user=operator, role="operator", action=action, alarm=alarm, note=note, ts=ts))
    finally:
        log.close()
    return result


def _counted_empty(events: list[dict[str, Any]], reg: Registry, building: str | None, since: float, until: float) -> float | None:
    """When the last person was counted out of ``building``'s doors between ``since`` and ``until`` (None: nobody was)."""
    outs = [e["ts"] for e in events if since <= e["ts"] < until and e["kind"] == "crossing" and e["direction"] == "out"
            and (s := reg.get(e["sensor_id"])) is not None and s.type == "door" and s.building == building]
    return max(outs, default=None)

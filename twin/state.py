"""The live twin state: what the stored sensor events say about the campus now.

The state is a pure function of the stored events: ``LiveState.apply`` takes
them one at a time in time order, ``(ts, id)``, and nothing else changes it. A
late event (older than one already applied) rolls the state back to the last
checkpoint before it and re-applies the events since (kept in memory; the
store is read only for events older than every checkpoint kept), so the live state is
always the state a fresh replay of the store gives (``LiveState.replay``).
Checkpoints are dense near the newest event, where late events land (a
gateway's batch a second behind an alarm posted directly), and sparser
further back. The twin's own forecasts are stored at their fire's time,
seconds after it: one changes nothing but the forecast shown and the
counters, so it is put in its place without a rollback.

What it holds
-------------
- **Occupancy.** Campus gates keep a running balance (in − out) of people on
  site; card doors keep one per building. Cameras report the people in their
  zone (a level of a building, or the outdoor node they watch). A balance is
  never negative (an ``out`` past zero is counted as drift), and where the
  cameras of a building see more people than its door balance, the balance is
  raised to what they see (drift reconciled, the correction is counted).
  Buildings without card doors are counted by their cameras.
- **Alarms.** Fire, pre-alarm, panic, intrusion, camera alerts and detector
  faults, each with a priority (1 highest) and the time it started (an alarm
  instance is its id and start, ``(id, since)``). A sensor's own restore event
  ends it; a restored alarm of a latching kind (:data:`LATCHING`: fire,
  pre-alarm, panic, intrusion) stays on the operator's panel, ``active``
  false, until an operator clears it.
- **Operator actions.** Acknowledgements, notes and clears (``twin.audit``),
  applied with :meth:`LiveState.operator`. They are not sensor events and are
  never rolled back; the panel joins them to the alarm instances they name,
  so the panel is a function of the stored events plus the stored actions.
- **The last hour.** Events per minute (all, and alarm events) and the alarm
  starts and ends of the last ``live.strip_window`` seconds, for the strip
  under the live map.
- **Sensor health.** Last seen (event time); ``offline`` when silent past its
  expected interval or when its availability said so; faults and disabled
  detectors.
- **Blocked graph parts.** A detector in ``fire`` blocks its room at once and
  the spaces next to it (through the room's doors) ``spread_delay`` seconds
  later, the same rule the evacuation engine uses. A manual call point raises
  the alarm but blocks nothing (it is pressed by someone leaving, not where
  the fire is).
- **Forecasts.** The latest evacuation forecast the twin stored, per scope (building, campus).
- **Hazard findings.** The inspection findings in force (``twin.hazards``), set with
  :meth:`LiveState.set_hazards` by whoever holds the ledger (they are not sensor
  events); a ``blocked_exit`` finding is a blocked part like a fire's, so the
  forecasts route around it.
"""

from __future__ import annotations

import copy
from collections import defaultdict
from typing import Any

from twin.campus import Campus
from twin.graph import fire_neighbourhood
from twin.registry import Registry
from twin.settings import default

PRIORITY = {
    "fire": 1, "panic": 1,
    "pre_alarm": 2, "intrusion": 2, "alert:intrusion": 2,
    "alert:crowding": 3, "alert:line_crossing": 3,
    "fault": 4, "disabled": 4,
}
"""Alarm priority, 1 = act now. Fire and one-button alarms first; supervisory faults last."""
SPREAD_DELAY_S = 120.0
"""Default delay before a fire blocks the spaces next to its room (as the evacuation engine's ``fire.spread_delay``)."""
LATCHING = frozenset({"fire", "pre_alarm", "panic", "intrusion", "alert:intrusion"})
"""Alarm kinds that stay on the panel after their sensor restores, until an operator clears them (as a fire
panel latches); the others (crowding, line crossing, faults) leave the panel when their sensor restores."""
ALARM_EVENT_KINDS = frozenset({"panic", "intrusion", "alert"})
"""Event kinds that are alarm events whatever their payload (a ``fire`` event is one unless its state is ``normal``)."""
MARKS_KEPT = 500
"""Most alarm marks kept for the events strip."""
CHECKPOINT_EVERY = 250
"""Events between state checkpoints (kept for rolling back when a late event arrives): a rollback re-applies the
events since the checkpoint before the late one, ``CHECKPOINT_EVERY`` / 2 on average."""
CHECKPOINTS_DENSE = 8
"""The newest checkpoints are kept every ``CHECKPOINT_EVERY`` events; older ones every ``CHECKPOINTS_THIN`` th."""
CHECKPOINTS_THIN = 4
CHECKPOINTS_KEPT = 38
"""Checkpoints kept (dense and thinned): a late event up to about 30,000 events back rolls back in memory; an older
one rebuilds the state from the store."""


def _empty() -> dict[str, Any]:
    return {
        "clock": None,
        "applied": 0,
        "last": None,  # (ts, id) of the last event applied
        "kinds": defaultdict(int),
        "gates": defaultdict(lambda: [0, 0]),  # gate -> [in, out]
        "on_site": 0,
        "gate_drift": 0,
        "doors": defaultdict(int),  # building -> balance
        "door_drift": defaultdict(int),
        "cameras": {},  # camera -> count
        "last_seen": {},
        "availability": {},  # sensor -> "offline" when its last will / heartbeat said so
        "detectors": {},  # detector -> state when not normal
        "alarms": {},  # key -> alarm
        "fires": {},  # detector -> {"node", "since", "building"}
        "forecasts": {},  # scope -> latest forecast
        "forecast_at": {},  # scope -> (ts, id) of that forecast
        "latched": {},  # key -> restored alarm of a latching kind, until an operator clears it
        "minutes": {},  # minute start (epoch s) -> [events, alarm events], the last strip window
        "marks": [],  # [ts, alarm id, kind, priority, "start" | "end"] of the last strip window
    }


def _copy_data(d: dict[str, Any]) -> dict[str, Any]:
    """A checkpoint of the state's data: its tables copied two levels deep (what ``apply`` changes in place);
    deeper values (a forecast's document) are never changed in place and are shared."""
    out: dict[str, Any] = {}
    for k, v in d.items():
        if isinstance(v, dict):
            c: Any = defaultdict(v.default_factory) if isinstance(v, defaultdict) else {}
            c.update((kk, vv.copy() if isinstance(vv, (dict, list)) else vv) for kk, vv in v.items())
        elif isinstance(v, list):
            c = [x.copy() if isinstance(x, (dict, list)) else x for x in v]
        else:
            c = v
        out[k] = c
    return out


def is_alarm_event(rec: dict[str, Any]) -> bool:
    """Whether a stored event raises, changes or ends an alarm."""
    return rec["kind"] in ALARM_EVENT_KINDS or (rec["kind"] == "fire" and rec.get("state") != "normal")


class LiveState:
    """The live state of one campus, built from its sensor events.

    Parameters
    ----------
    campus : Campus
        The loaded campus.
    registry : Registry, optional
        Its sensors (built from the campus when not given).
    spread_delay : float
        Seconds before a fire blocks the spaces next to its room.

    Notes
    -----
    Events change it only through :meth:`apply` and :meth:`ingest`, operator
    actions through :meth:`operator`. Read it through :meth:`snapshot` (the
    whole state, JSON-ready) or its parts: :attr:`clock`, :attr:`applied`,
    :meth:`events_by_kind`, :meth:`occupancy`, :meth:`alarms`, :meth:`panel`,
    :meth:`panel_alarm`, :meth:`health`, :meth:`status`, :meth:`blocked`,
    :meth:`fires`, :meth:`forecasts`, :meth:`strip`; :meth:`copy` gives a
    copy to read outside the ingestor's lock.
    """

    def __init__(self, campus: Campus, registry: Registry | None = None, *, spread_delay: float = SPREAD_DELAY_S) -> None:
        self.campus = campus
        self.registry = registry or Registry(campus)
        self.spread_delay = float(spread_delay)
        self._d = _empty()
        self._checkpoints: list[tuple[tuple[float, int], dict[str, Any], int]] = []
        """(key of the last event applied, the data then, serial number), oldest first."""
        self._since_checkpoint = 0
        self._checkpoint_serial = 0
        self._log: list[tuple[tuple[float, int], dict[str, Any]]] = []
        """Events applied since the oldest checkpoint kept, in order: what a rollback re-applies."""
        self._trimmed = False
        """Whether the log has lost its start (then a rollback past every checkpoint reads the store)."""
        self.rollbacks = 0
        self.actions: dict[tuple[str, float], dict[str, Any]] = {}
        """Operator actions per alarm instance ``(id, since)``: ``ack``, ``notes``, ``cleared``."""
        self.strip_window = float(default("live.strip_window"))
        f = campus.features
        self._design = {b: int(f.at[b, "occupants"]) for b in f.index[f["kind"] == "building"]}
        self._zones: dict[str, list[str]] = defaultdict(list)
        for s in self.registry.by_type.get("camera", []):
            self._zones[s.zone or s.id].append(s.id)
        self._near: dict[str, list[str]] = {}
        self._hazards: list[dict[str, Any]] = []

    # -- applying events -----------------------------------------------------

    def ingest(self, new: list[tuple[int, dict[str, Any]]], store: Any) -> None:
        """Apply newly stored events; roll back and re-apply from ``store`` when one is late.

        Parameters
        ----------
        new : list of (id, record)
            Events just committed to ``store``.
        store : EventStore
            The store they were committed to (read only when rolling back past every checkpoint, up to the
            newest id in ``new``: a batch stored after this one, and not yet applied, is left to its own call).
        """
        newest = max((i for i, _ in new), default=0)
        last = self._d["last"]
        if last is not None and any(r["kind"] == "forecast" for _, r in new):
            late = [(i, r) for i, r in new if r["kind"] == "forecast" and (r["ts"], i) < tuple(last)]
            for i, r in late:
                self._late_forecast(i, r)
            new = [e for e in new if e not in late]
        if not new:
            return
        new = sorted(new, key=lambda e: (e[1]["ts"], e[0]))
        first = (new[0][1]["ts"], new[0][0])
        if last is None or first > tuple(last):
            for i, rec in new:
                self.apply(i, rec)
            return
        self.rollbacks += 1
        while self._checkpoints and self._checkpoints[-1][0] >= first:
            self._checkpoints.pop()
        if self._checkpoints:
            key, data, _ = self._checkpoints[-1]
        elif not self._trimmed:
            key, data = None, None
        else:  # older than anything kept in memory: rebuild from the store
            self._d, self._log, self._trimmed, self._since_checkpoint = _empty(), [], False, 0
            for i, rec in store.events():
                if i <= newest:
                    self.apply(i, rec)
            return
        # the events applied since the checkpoint are in the in-memory log: merge the new ones in and re-apply
        cut = len(self._log)
        if key is not None:
            while cut and self._log[cut - 1][0] > key:
                cut -= 1
        else:
            cut = 0
        redo = sorted([(k[1], r) for k, r in self._log[cut:]] + list(new), key=lambda e: (e[1]["ts"], e[0]))
        del self._log[cut:]
        self._d = _copy_data(data) if data is not None else _empty()
        self._since_checkpoint = 0
        for i, rec in redo:
            self.apply(i, rec)

    def _late_forecast(self, eid: int, rec: dict[str, Any]) -> None:
        """Put a forecast older than the newest event in its place without a rollback.

        A forecast changes only the counters and the forecast shown for its scope (the newest by ``(ts, id)``), so
        the state, and every checkpoint after it, take it as a fresh replay would have.
        """
        key = (rec["ts"], eid)
        scope = rec["forecast"].get("scope", "campus")
        k = len(self._log)
        while k and self._log[k - 1][0] > key:
            k -= 1
        self._log.insert(k, (key, rec))
        for d in [self._d, *(data for ck, data, _ in self._checkpoints if ck > key)]:
            d["applied"] += 1
            d["kinds"]["forecast"] += 1
            self._count_minute(rec["ts"], False, d)
            at = d["forecast_at"].get(scope)
            if at is None or tuple(at) < key:
                d["forecasts"][scope] = rec["forecast"]
                d["forecast_at"][scope] = key

    def apply(self, eid: int, rec: dict[str, Any]) -> None:
        """Apply one stored event (the caller keeps time order)."""
        d = self._d
        ts = rec["ts"]
        sid = rec["sensor_id"]
        kind = rec["kind"]
        d["last"] = (ts, eid)
        self._log.append(((ts, eid), rec))
        d["clock"] = ts if d["clock"] is None else max(d["clock"], ts)
        d["applied"] += 1
        d["kinds"][kind] += 1
        self._count_minute(ts, is_alarm_event(rec))
        if kind == "forecast":
            scope = rec["forecast"].get("scope", "campus")
            d["forecasts"][scope] = rec["forecast"]
            d["forecast_at"][scope] = (ts, eid)
        else:
            d["last_seen"][sid] = ts
            if kind != "heartbeat":
                d["availability"].pop(sid, None)
            getattr(self, f"_on_{kind}")(sid, ts, rec)
        self._since_checkpoint += 1
        if self._since_checkpoint >= CHECKPOINT_EVERY:
            self._checkpoint((ts, eid))

    def _checkpoint(self, key: tuple[float, int]) -> None:
        """Keep a copy of the data after the event ``key``; thin the older checkpoints, and drop the oldest."""
        self._since_checkpoint = 0
        self._checkpoint_serial += 1
        cps = self._checkpoints
        cps.append((key, _copy_data(self._d), self._checkpoint_serial))
        if len(cps) > CHECKPOINTS_DENSE and cps[-CHECKPOINTS_DENSE - 1][2] % CHECKPOINTS_THIN:
            del cps[-CHECKPOINTS_DENSE - 1]  # leaves the dense end: kept only every CHECKPOINTS_THIN th
        if len(cps) > CHECKPOINTS_KEPT:
            del cps[:-CHECKPOINTS_KEPT]
            oldest = cps[0][0]
            k = 0
            while k < len(self._log) and self._log[k][0] <= oldest:
                k += 1
            del self._log[:k]
            self._trimmed = True

    def _count_minute(self, ts: float, alarm: bool, d: dict[str, Any] | None = None) -> None:
        d = self._d if d is None else d
        minutes = d["minutes"]
        m = float(ts // 60 * 60)
        row = minutes.get(m)
        if row is None:
            clock = d["clock"]
            if m < clock - self.strip_window:
                return
            row = minutes[m] = [0, 0]
            for old in [k for k in minutes if k < clock - self.strip_window]:
                del minutes[old]
        row[0] += 1
        row[1] += alarm

    def _mark(self, ts: float, alarm: dict[str, Any], what: str) -> None:
        marks = self._d["marks"]
        marks.append([ts, alarm["id"], alarm["kind"], alarm["priority"], what])
        cut = self._d["clock"] - self.strip_window
        k = 0
        while k < len(marks) and (marks[k][0] < cut or len(marks) - k > MARKS_KEPT):
            k += 1
        if k:
            del marks[:k]

    def _alarm(self, key: str, sid: str, kind: str, ts: float, on: bool, **extra: Any) -> None:
        alarms = self._d["alarms"]
        if not on:
            old = alarms.pop(key, None)
            if old is not None:
                self._mark(ts, old, "end")
                if old["kind"] in LATCHING:
                    self._d["latched"][key] = {**old, "restored": ts}
            return
        if key in alarms and alarms[key]["kind"] == kind:
            return
        s = self.registry.get(sid)
        self._d["latched"].pop(key, None)  # the same source alarming again: the new instance replaces the restored one
        alarms[key] = {"id": key, "kind": kind, "priority": PRIORITY[kind], "since": ts, "sensor_id": sid,
                       "type": s.type if s else None, "building": s.building if s else None,
                       "level": s.level if s else None, "node": s.node if s else None, **extra}
        self._mark(ts, alarms[key], "start")

    def _on_heartbeat(self, sid: str, ts: float, rec: dict[str, Any]) -> None:
        if rec.get("status") == "offline":
            self._d["availability"][sid] = "offline"
        else:
            self._d["availability"].pop(sid, None)

    def _on_crossing(self, sid: str, ts: float, rec: dict[str, Any]) -> None:
        d = self._d
        n = rec.get("count", 1)
        sign = 1 if rec["direction"] == "in" else -1
        s = self.registry.sensors[sid]
        if s.type == "gate":
            d["gates"][sid][0 if sign > 0 else 1] += n
            v = d["on_site"] + sign * n
            if v < 0:
                d["gate_drift"] += -v
                v = 0
            d["on_site"] = v
        elif s.building is not None:
            v = d["doors"][s.building] + sign * n
            if v < 0:
                d["door_drift"][s.building] += -v
                v = 0
            d["doors"][s.building] = v

    def _on_count(self, sid: str, ts: float, rec: dict[str, Any]) -> None:
        d = self._d
        d["cameras"][sid] = rec["count"]
        b = self.registry.sensors[sid].building
        if b is not None and b in self.registry.card_buildings:
            seen = self._camera_building(b)
            if seen > d["doors"][b]:
                d["door_drift"][b] += seen - d["doors"][b]
                d["doors"][b] = seen

    def _on_alert(self, sid: str, ts: float, rec: dict[str, Any]) -> None:
        self._alarm(f"{sid}:{rec['alert']}", sid, f"alert:{rec['alert']}", ts, rec.get("active", True))

    def _on_intrusion(self, sid: str, ts: float, rec: dict[str, Any]) -> None:
        self._alarm(f"{sid}:intrusion", sid, "intrusion", ts, rec.get("active", True))

    def _on_panic(self, sid: str, ts: float, rec: dict[str, Any]) -> None:
        self._alarm(f"{sid}:panic", sid, "panic", ts, rec.get("active", True))

    def _on_fire(self, sid: str, ts: float, rec: dict[str, Any]) -> None:
        d = self._d
        state = rec["state"]
        zone = rec.get("panel_zone") or self.registry.sensors[sid].zone
        if state == "normal":
            d["detectors"].pop(sid, None)
        else:
            d["detectors"][sid] = state
        key = f"{sid}:fire"
        if state in PRIORITY:
            self._alarm(key, sid, state, ts, True, panel_zone=zone)
        else:
            self._alarm(key, sid, state, ts, False)
        s = self.registry.sensors[sid]
        if state == "fire" and s.detector != "manual_call_point":  # a call point is pressed by someone fleeing, not where it burns
            if sid not in d["fires"]:
                d["fires"][sid] = {"node": s.node, "since": ts, "building": s.building}
        else:
            d["fires"].pop(sid, None)

    # -- reading -------------------------------------------------------------
    # Callers read the state through these methods, never through ``_d`` (its layout may change).

    @property
    def clock(self) -> float | None:
        """Time of the latest event applied (epoch s); None before the first."""
        return self._d["clock"]

    @property
    def applied(self) -> int:
        """Events applied so far (the twin's forecasts included)."""
        return self._d["applied"]

    def events_by_kind(self) -> dict[str, int]:
        """Events applied so far, by kind."""
        return dict(sorted(self._d["kinds"].items()))

    def fires(self) -> list[dict[str, Any]]:
        """Detectors in ``fire`` now (manual call points block nothing and are left out), the oldest fire first.

        Each: ``detector``, ``node`` (its room), ``since`` (epoch s), ``building``.
        """
        return [{"detector": k, **v} for k, v in sorted(self._d["fires"].items(), key=lambda kv: (kv[1]["since"], kv[0]))]

    def forecasts(self) -> dict[str, dict[str, Any]]:
        """The latest stored evacuation forecast per scope (``building``, ``campus``), in the order first stored."""
        return dict(self._d["forecasts"])

    def set_hazards(self, findings: list[dict[str, Any]]) -> None:
        """Replace the hazard findings in force (records of ``HazardLedger.findings(in_force=True)``)."""
        self._hazards = [dict(h) for h in findings]

    def hazards(self) -> list[dict[str, Any]]:
        """The hazard findings in force, as last set."""
        return list(self._hazards)

    def copy(self) -> LiveState:
        """A copy to read outside the ingestor's lock while events keep arriving (e.g. to run a forecast on)."""
        new = copy.copy(self)
        new._d = copy.deepcopy(self._d)
        new.actions = copy.deepcopy(self.actions)
        new._checkpoints = list(self._checkpoints)
        new._log = list(self._log)
        new._near = dict(self._near)
        return new

    def _camera_building(self, b: str) -> int:
        cams = self._d["cameras"]
        total = 0
        for ids in self._zones.values():
            if self.registry.sensors[ids[0]].building == b:
                seen = [cams[c] for c in ids if c in cams]
                total += max(seen) if seen else 0
        return total

    def neighbourhood(self, node: str) -> list[str]:
        """The spaces next to a room, through its doors (what a fire there blocks after the spread delay)."""
        if node not in self._near:
            self._near[node] = fire_neighbourhood(self.campus.graph, node)
        return self._near[node]

    def occupancy(self, now: float | None = None) -> dict[str, Any]:
        """People at ``now``: on site (gates), per building (doors reconciled with cameras, or cameras), per level and zone.

        A camera silent past its expected interval no longer counts (its last figure is stale).
        """
        d = self._d
        now = self.now(now)
        seen = d["last_seen"]
        sensors = self.registry.sensors
        cams = {c: n for c, n in d["cameras"].items()
                if now is None or (now - seen[c] <= sensors[c].interval and d["availability"].get(c) != "offline")}
        zones = {z: max(cams[c] for c in ids if c in cams) for z, ids in self._zones.items() if any(c in cams for c in ids)}
        levels: dict[str, dict[str, int]] = defaultdict(dict)
        cam_b: dict[str, int] = defaultdict(int)
        for z, n in zones.items():
            s = self.registry.sensors[self._zones[z][0]]
            if s.building is not None:
                cam_b[s.building] += n
                if s.level is not None:
                    levels[s.building][str(s.level)] = levels[s.building].get(str(s.level), 0) + n
        buildings = {}
        for b, design in self._design.items():
            if b in self.registry.card_buildings and (b in d["doors"] or b in cam_b):  # counters never heard from: unmeasured
                count, source = max(d["doors"].get(b, 0), cam_b.get(b, 0)), "doors"
            elif b in cam_b:
                count, source = cam_b[b], "cameras"
            else:
                continue
            buildings[b] = {"count": count, "design": design, "source": source, "levels": dict(sorted(levels.get(b, {}).items())),
                            "drift": d["door_drift"].get(b, 0)}
        inside = sum(v["count"] for v in buildings.values())
        return {"on_site": max(d["on_site"], inside), "gate_balance": d["on_site"], "gate_drift": d["gate_drift"],
                "in_buildings": inside, "buildings": buildings, "zones": dict(sorted(zones.items())),
                "gates": {g: {"in": v[0], "out": v[1]} for g, v in sorted(d["gates"].items())}}

    def blocked(self, now: float | None = None) -> list[dict[str, Any]]:
        """Graph nodes blocked by fire at ``now`` (default: the state clock), and exits blocked by hazard findings."""
        now = self.now(now)
        out: dict[str, dict[str, Any]] = {}
        for fire in self.fires():
            det, node = fire["detector"], fire["node"]
            if node is None:
                continue
            out.setdefault(node, {"node": node, "since": fire["since"], "why": f"fire at {det}", "building": fire["building"]})
            t = fire["since"] + self.spread_delay
            if now is not None and now >= t:
                for n in self.neighbourhood(node):
                    out.setdefault(n, {"node": n, "since": t, "why": f"fire spread from {node}", "building": fire["building"]})
        for h in self._hazards:
            if h["kind"] == "blocked_exit" and h["feature"]:
                out.setdefault(h["feature"], {"node": h["feature"], "since": h["found_at"], "building": h["building"],
                                              "why": f"hazard finding {h['id']}: blocked exit", "hazard": h["id"]})
        return list(out.values())

    def now(self, now: float | None = None) -> float | None:
        """The time the state is read at: ``now`` when given, else the state clock (latest event time)."""
        return self._d["clock"] if now is None else now

    def health(self, now: float | None = None) -> dict[str, Any]:
        """Sensor health at ``now``: counts and every sensor that is not fine."""
        now = self.now(now)
        problems = {}
        counts = {"ok": 0, "offline": 0, "never_seen": 0, "fault": 0, "disabled": 0, "test": 0}
        for sid, s in self.registry.sensors.items():
            status = self.status(sid, now)
            counts[status] += 1
            if status != "ok" and status != "never_seen":
                problems[sid] = {"type": s.type, "status": status, "last_seen": self._d["last_seen"].get(sid), "building": s.building}
        return {"sensors": len(self.registry), **counts, "problems": problems}

    def status(self, sensor_id: str, now: float | None = None) -> str:
        """One sensor's health at ``now`` (default: the state clock).

        ``never_seen``; ``offline`` (its availability said so, or silent past
        its expected interval); ``fault``, ``disabled`` or ``test`` (a
        detector's own state); else ``ok``.
        """
        now = self.now(now)
        d = self._d
        seen = d["last_seen"].get(sensor_id)
        if seen is None:
            return "never_seen"
        if d["availability"].get(sensor_id) == "offline" or (now is not None and now - seen > self.registry.sensors[sensor_id].interval):
            return "offline"
        det = d["detectors"].get(sensor_id)
        return det if det in ("fault", "disabled", "test") else "ok"

    def alarms(self) -> list[dict[str, Any]]:
        """Active alarms (their sensor has not restored), highest priority first, then oldest first."""
        return sorted(self._d["alarms"].values(), key=lambda a: (a["priority"], a["since"], a["id"]))

    # -- the operator's panel ------------------------------------------------

    def operator(self, rec: dict[str, Any]) -> None:
        """Apply one stored operator action (a ``twin.audit`` record: ``action``, ``alarm``, ``since``, ``user``, ``ts``)."""
        inst = self.actions.setdefault((rec["alarm"], float(rec["since"])), {"ack": None, "notes": [], "cleared": None})
        who = {"user": rec["user"], "role": rec["role"], "ts": rec["ts"]}
        if rec.get("note"):
            inst["notes"].append({**who, "text": rec["note"], "action": rec["action"]})
        if rec["action"] == "ack" and inst["ack"] is None:
            inst["ack"] = who
        elif rec["action"] == "clear":
            inst["cleared"] = who
            if inst["ack"] is None:
                inst["ack"] = who  # clearing an alarm acknowledges it
            latched = self._d["latched"].get(rec["alarm"])
            if latched is not None and latched["since"] == float(rec["since"]):
                del self._d["latched"][rec["alarm"]]

    def panel(self) -> list[dict[str, Any]]:
        """The operator's alarm panel: active alarms and restored latching alarms not yet cleared.

        Highest priority first, then oldest first; each with ``active``
        (its sensor has not restored), ``restored`` (when it did), ``ack``
        (who and when, or None) and ``notes``.
        """
        out = []
        for a in self._d["alarms"].values():
            out.append(self._with_actions(a, active=True))
        for a in self._d["latched"].values():
            act = self.actions.get((a["id"], a["since"]))
            if act is None or act["cleared"] is None:
                out.append(self._with_actions(a, active=False))
        return sorted(out, key=lambda a: (a["priority"], a["since"], a["id"]))

    def _with_actions(self, a: dict[str, Any], *, active: bool) -> dict[str, Any]:
        act = self.actions.get((a["id"], a["since"]))
        return {**a, "active": active, "restored": a.get("restored"), "ack": act["ack"] if act else None,
                "notes": list(act["notes"]) if act else []}

    def panel_alarm(self, alarm_id: str) -> dict[str, Any] | None:
        """The alarm with this id on the panel, or None."""
        return next((a for a in self.panel() if a["id"] == alarm_id), None)

    def strip(self) -> dict[str, Any]:
        """The events strip: events per minute (all, alarm events) and alarm starts and ends of the last window."""
        d = self._d
        return {"window_s": self.strip_window, "minutes": [[m, n, a] for m, (n, a) in sorted(d["minutes"].items())],
                "marks": [list(m) for m in d["marks"]]}

    def snapshot(self, now: float | None = None) -> dict[str, Any]:
        """The whole state as one JSON-ready document (what ``GET /api/state`` returns)."""
        d = self._d
        return {
            "campus": str(self.campus.source),
            "campus_digest": self.campus.digest,
            "clock": d["clock"],
            "now": self.now(now),
            "events_applied": d["applied"],
            "events_by_kind": self.events_by_kind(),
            "occupancy": self.occupancy(now),
            "alarms": self.alarms(),
            "panel": self.panel(),
            "health": self.health(now),
            "blocked": self.blocked(now),
            "fires": [{"detector": k, **v} for k, v in sorted(d["fires"].items())],
            "forecasts": dict(sorted(d["forecasts"].items())),
            "hazards": self.hazards(),
        }

    # -- building ------------------------------------------------------------

    @classmethod
    def replay(cls, campus: Campus, store: Any, **kw: Any) -> LiveState:
        """A fresh state built by applying every stored event in time order."""
        st = cls(campus, **kw)
        for i, rec in store.events():
            st.apply(i, rec)
        return st

"""Recorded exercises: the event store between two times, cut into a replayable recording.

``twin exercise STORE --from T --to T -o FILE`` calls :func:`record_exercise`,
which replays the live state over the stored events and writes what it saw
through :func:`twin.recording.write_recording` as an ``exercise`` recording
(``docs/recording.md``): every event in the window, the occupancy of every
counted building over time, the alarms with when they started and cleared,
the fire closures, the operators' actions on the alarms (the store's audit
trail: who acknowledged, noted and cleared what, when) and the forecasts the
twin made, and the campus's graph and building geometry, so the viewers need
nothing else. Counts, states and alarms only, never identities of the people
counted (operators are named: the audit trail is the record of who acted).
"""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import networkx as nx

from sensors.store import EventStore, StoreError
from twin.audit import AuditLog
from twin.graph import contract_paths
from twin.recording import RecordingError, campus_geometry, write_recording
from twin.settings import default
from twin.state import LiveState

if TYPE_CHECKING:
    from twin.campus import Campus

ALARM_KINDS = ("fire",)
"""Alarm kinds that start a drill: the first of them in the window is the recording's ``alarm_s``. A pre-alarm
(staff investigate, in a two-stage system) sounds no evacuation, so it does not start one."""


def _iso(t: float) -> str:
    return datetime.fromtimestamp(t, UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def _forecast_row(rec: dict[str, Any], t_from: float) -> tuple[Any, ...]:
    """A ``forecasts`` row: made at its trigger's time plus the time it took (``latency_s``), times from ``t_from``."""
    fc = rec["forecast"]
    made = rec["ts"] + float(fc.get("latency_s") or 0.0)
    return (made - t_from, rec["ts"] - t_from, str(fc.get("scope", "campus")), fc.get("building"),
            fc.get("evacuation_time_s"), fc.get("building_clearance_s"), json.dumps(fc, separators=(",", ":")))


def _operator_actions(store: Path, t_from: float, t_to: float) -> list[tuple[Any, ...]]:
    """The audit trail's acknowledgements, notes and clears taken in the window (``twin.audit``), times from ``t_from``."""
    log = AuditLog(store, readonly=True)
    try:
        return [(r["ts"] - t_from, r["alarm"], r["since"] - t_from, r["action"], r["user"], r["role"], r["note"])
                for r in log.records() if t_from <= r["ts"] <= t_to]
    finally:
        log.close()


def store_span(store: EventStore) -> str:
    """The stored events' true span as words (the earliest and the latest event in the whole store)."""
    span = store.span()
    return "the store is empty" if span is None else f"the store holds events from {_iso(span[0])} to {_iso(span[1])}"


def _store_file(path: Path) -> None:
    """Refuse what is not an event store before opening it for writing (opening creates tables)."""
    if not path.is_file():
        msg = f"{path}: no such event store"
        raise RecordingError(msg)
    try:
        con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            tables = {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        finally:
            con.close()
    except sqlite3.DatabaseError as e:
        msg = f"{path}: not an event store ({e})"
        raise RecordingError(msg) from None
    if not {"meta", "events"} <= tables:
        msg = f"{path}: not an event store (no events table)"
        raise RecordingError(msg)


def record_exercise(store: str | Path, campus: Campus, path: str | Path, *, t_from: float, t_to: float,
                    every: float | None = None) -> dict[str, Any]:
    """Write the events of an event store between two times as an ``exercise`` recording.

    The live state (:class:`twin.state.LiveState`) is replayed from the first
    stored event, so door balances carried into the window count; from
    ``t_from`` on, the occupancy of every counted building is sampled every
    ``every`` seconds, every alarm is kept with when it started and cleared,
    and fire closures are kept as the recording's ``events``. Times in the
    recording are seconds from ``t_from``.

    Parameters
    ----------
    store : str or Path
        An event store (``sensors.store``) of ``campus``.
    campus : Campus
        The campus the events were recorded on (checked against the store's digest).
    path : str or Path
        The recording to write (replaced once complete).
    t_from, t_to : float
        The window (epoch s).
    every : float, optional
        Occupancy sample spacing (s); default the setting ``exercise.sample``.

    Returns
    -------
    dict
        What was written: ``path``, ``events``, ``from``/``to`` (ISO 8601), ``duration_s``, ``alarm_s``, ``buildings``.

    Raises
    ------
    twin.recording.RecordingError
        A missing or foreign store, a store of another campus, a bad or empty window.
    """
    store = Path(store)
    every = default("exercise.sample") if every is None else every
    if not t_to > t_from:
        msg = f"--to ({_iso(t_to)}) must be after --from ({_iso(t_from)})"
        raise RecordingError(msg)
    if not every > 0:
        msg = f"--every {every:g}: the sample spacing must be > 0 s"
        raise RecordingError(msg)
    _store_file(store)
    try:
        st = EventStore(store)
    except StoreError as e:
        raise RecordingError(str(e)) from None
    try:
        if st.campus_digest and st.campus_digest != campus.digest:
            msg = (f"{store}: the events were recorded on another campus than {campus.source} "
                   f"(store digest {st.campus_digest[:12]}…, campus {campus.digest[:12]}…)")
            raise RecordingError(msg)
        live = LiveState(campus)
        reg = live.registry
        sensor_rows: list[tuple[Any, ...]] = []
        occupancy: list[tuple[Any, ...]] = []
        open_alarms: dict[str, tuple[Any, ...]] = {}
        alarms: list[tuple[Any, ...]] = []
        closures: dict[str, tuple[float, str, str, None]] = {}
        forecasts: list[tuple[Any, ...]] = []
        samples = [t_from + k * every for k in range(int((t_to - t_from) // every) + 1)]
        if samples[-1] < t_to:
            samples.append(t_to)
        k = 0

        def sample(t: float) -> None:
            rel = t - t_from
            for b, o in live.occupancy(t)["buildings"].items():
                occupancy.append((rel, b, o["count"], o["design"], o["source"]))
            for c in live.blocked(t):
                if c["node"] not in closures:
                    closures[c["node"]] = (max(0.0, c["since"] - t_from), "fire" if c["why"].startswith("fire at") else "fire spread",
                                           c["node"], None)

        def diff_alarms(t: float) -> None:
            now = {a["id"]: a for a in live.alarms()}
            for key in [k for k in open_alarms if k not in now or now[k]["kind"] != open_alarms[k][1]]:
                alarms.append((*open_alarms.pop(key), t - t_from))
            for key, a in now.items():
                if key not in open_alarms:
                    open_alarms[key] = (key, a["kind"], a["priority"], a["sensor_id"], a["building"], a["node"],
                                        a["since"] - t_from)

        for eid, rec in st.events():
            ts = rec["ts"]
            if ts > t_to:
                break
            while k < len(samples) and samples[k] < ts:
                sample(samples[k])
                k += 1
            live.apply(eid, rec)
            if rec["kind"] == "forecast" and ts >= t_from:
                forecasts.append(_forecast_row(rec, t_from))
            if ts >= t_from:
                s = reg.get(rec["sensor_id"])
                sensor_rows.append((ts - t_from, rec["sensor_id"], rec["kind"], s.building if s else None,
                                    s.node if s else None, json.dumps(rec, separators=(",", ":"))))
                diff_alarms(ts)
        if not sensor_rows:
            msg = f"{store}: no events between {_iso(t_from)} and {_iso(t_to)} ({store_span(st)})"
            raise RecordingError(msg)
        while k < len(samples):
            sample(samples[k])
            k += 1
        diff_alarms(t_to)  # alarms raised before the window and still on are open from their start
        alarms += [(*a, None) for a in open_alarms.values()]
    finally:
        st.close()
    actions = _operator_actions(store, t_from, t_to)
    alarm_at = min((a[6] for a in alarms if a[1] in ALARM_KINDS and a[6] >= 0), default=None)
    graph = contract_paths(nx.Graph(campus.graph))
    for *_, d in list(graph.edges(data=True)):
        for n in d.get("via") or ():
            if n not in graph:
                graph.add_node(n, **campus.graph.nodes[n])
    f = campus.features
    meta = {
        "kind": "exercise",
        "store": str(store.resolve()),
        "campus": str(Path(campus.source).resolve()),
        "campus_digest": campus.digest,
        "crs": campus.crs.to_string(),
        "from": _iso(t_from),
        "to": _iso(t_to),
        "t0_epoch": t_from,
        "duration_s": t_to - t_from,
        "sample_s": every,
        "alarm_s": alarm_at,
        "events": len(sensor_rows),
        "design": {str(b): int(f.at[b, "occupants"]) for b in f.index[f["kind"] == "building"]},
    }
    write_recording(path, metadata=meta, graph=graph, geometry=campus_geometry(campus), agents=[], moves=[], servers=[],
                    events=sorted(closures.values(), key=lambda e: (e[0], e[2])),
                    exercise={"sensor_events": sensor_rows, "occupancy": occupancy, "alarms": alarms,
                              "operator_actions": actions, "forecasts": forecasts})
    return {"path": str(path), "events": len(sensor_rows), "from": meta["from"], "to": meta["to"],
            "duration_s": meta["duration_s"], "alarm_s": alarm_at, "alarms": len(alarms),
            "operator_actions": len(actions), "forecasts": len(forecasts),
            "buildings": sorted({r[1] for r in occupancy})}

"""Recordings: one versioned SQLite file per run, read by every viewer.

The schema is documented in ``docs/recording.md``. Writers batch their inserts
in one transaction; ``open_recording`` checks the version and refuses a file
written by a newer schema than this code knows.

Two kinds of run share the schema (``metadata.kind``): a ``simulation``
(written by ``twin run -o``: people and their moves) and an ``exercise``
(written by :func:`record_exercise`: the sensor events of a real drill between
two times, with the occupancy per building and the alarms over time that the
live state gives, and no people: counts, never identities).
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import networkx as nx

if TYPE_CHECKING:
    from twin.campus import Campus

SCHEMA_VERSION = 1

_SCHEMA = """
CREATE TABLE metadata (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE nodes (id TEXT PRIMARY KEY, kind TEXT NOT NULL, x REAL NOT NULL, y REAL NOT NULL,
                    level INTEGER, building TEXT);
CREATE TABLE edges (u TEXT NOT NULL, v TEXT NOT NULL, kind TEXT NOT NULL, length REAL NOT NULL,
                    width REAL NOT NULL, level INTEGER, via TEXT);
CREATE TABLE agents (id INTEGER PRIMARY KEY, start TEXT NOT NULL, building TEXT, premovement REAL NOT NULL,
                     speed REAL NOT NULL, outcome TEXT NOT NULL, safe_at REAL);
CREATE TABLE moves (agent INTEGER NOT NULL, state TEXT NOT NULL, t0 REAL NOT NULL, t1 REAL NOT NULL,
                    u TEXT NOT NULL, v TEXT NOT NULL);
CREATE INDEX moves_time ON moves (t0, t1);
CREATE INDEX moves_agent ON moves (agent, t0);
CREATE TABLE servers (id TEXT PRIMARY KEY, kind TEXT NOT NULL, rate REAL NOT NULL, passed INTEGER NOT NULL,
                      max_queue REAL NOT NULL, max_wait REAL NOT NULL);
CREATE TABLE events (t REAL NOT NULL, kind TEXT NOT NULL, target TEXT, detail TEXT);
"""

_EXERCISE_SCHEMA = """
CREATE TABLE sensor_events (t REAL NOT NULL, sensor_id TEXT NOT NULL, kind TEXT NOT NULL, building TEXT, node TEXT,
                            body TEXT NOT NULL);
CREATE INDEX sensor_events_time ON sensor_events (t);
CREATE TABLE occupancy (t REAL NOT NULL, building TEXT NOT NULL, count INTEGER NOT NULL, design INTEGER NOT NULL,
                        source TEXT NOT NULL);
CREATE INDEX occupancy_time ON occupancy (t);
CREATE TABLE alarms (id TEXT NOT NULL, kind TEXT NOT NULL, priority INTEGER NOT NULL, sensor_id TEXT, building TEXT,
                     node TEXT, t0 REAL NOT NULL, t1 REAL);
"""
"""Tables only an ``exercise`` recording has (added within schema version 1: a file without them is a simulation)."""


class RecordingError(ValueError):
    """A file that is not a recording this code can read."""


def write_recording(
    path: str | Path,
    *,
    metadata: Mapping[str, Any],
    graph: nx.Graph,
    agents: Iterable[tuple[int, str, str | None, float, float, str, float | None]],
    moves: Iterable[tuple[int, str, float, float, str, str]],
    servers: Iterable[tuple[str, str, float, int, float, float]],
    events: Iterable[tuple[float, str, str | None, str | None]],
    exercise: Mapping[str, Iterable[tuple[Any, ...]]] | None = None,
) -> Path:
    """Write a recording; an existing file at ``path`` is replaced only once the new one is complete.

    Parameters
    ----------
    metadata : mapping
        ``kind`` (``simulation`` or ``exercise``), ``campus_digest``, ``scenario`` … (values JSON-encoded).
    graph : networkx.Graph
        The graph the run moved on: nodes with ``kind``, ``x``, ``y`` (m), edges with ``kind``, ``length``, ``width``.
    agents, moves, servers, events
        Rows of the tables of the same names (times in s, rates in persons/s).
    exercise : mapping, optional
        For an ``exercise``: rows of ``sensor_events``, ``occupancy`` and ``alarms`` (see ``docs/recording.md``).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".part")
    tmp.unlink(missing_ok=True)
    con = sqlite3.connect(tmp)
    try:
        con.executescript(_SCHEMA)
        meta = {"schema_version": SCHEMA_VERSION, "created": datetime.now(UTC).isoformat(timespec="seconds"), **metadata}
        con.executemany("INSERT INTO metadata VALUES (?, ?)", [(k, json.dumps(v)) for k, v in meta.items()])
        con.executemany(
            "INSERT INTO nodes VALUES (?, ?, ?, ?, ?, ?)",
            [(n, d["kind"], d["x"], d["y"], d.get("level"), d.get("building")) for n, d in graph.nodes(data=True)],
        )
        con.executemany(
            "INSERT INTO edges VALUES (?, ?, ?, ?, ?, ?, ?)",
            [(u, v, d["kind"], d["length"], d["width"], d.get("level"), json.dumps(d["via"]) if d.get("via") else None)
             for u, v, d in graph.edges(data=True)],
        )
        con.executemany("INSERT INTO agents VALUES (?, ?, ?, ?, ?, ?, ?)", agents)
        con.executemany("INSERT INTO moves VALUES (?, ?, ?, ?, ?, ?)", moves)
        con.executemany("INSERT INTO servers VALUES (?, ?, ?, ?, ?, ?)", servers)
        con.executemany("INSERT INTO events VALUES (?, ?, ?, ?)", events)
        if exercise is not None:
            con.executescript(_EXERCISE_SCHEMA)
            con.executemany("INSERT INTO sensor_events VALUES (?, ?, ?, ?, ?, ?)", exercise.get("sensor_events", ()))
            con.executemany("INSERT INTO occupancy VALUES (?, ?, ?, ?, ?)", exercise.get("occupancy", ()))
            con.executemany("INSERT INTO alarms VALUES (?, ?, ?, ?, ?, ?, ?, ?)", exercise.get("alarms", ()))
        con.commit()
    finally:
        con.close()
    tmp.replace(path)
    return path


def open_recording(path: str | Path) -> sqlite3.Connection:
    """Open a recording read-only after checking its schema version.

    Raises
    ------
    RecordingError
        When the file is missing, not a recording, or written by a newer schema.
    """
    p = Path(path)
    if not p.is_file():
        msg = f"{p}: no such recording"
        raise RecordingError(msg)
    try:
        con = sqlite3.connect(f"file:{p}?mode=ro", uri=True)
        row = con.execute("SELECT value FROM metadata WHERE key = 'schema_version'").fetchone()
    except sqlite3.DatabaseError as e:
        msg = f"{p}: not a Campus Twin recording ({e})"
        raise RecordingError(msg) from None
    if row is None:
        msg = f"{p}: not a Campus Twin recording (no schema_version)"
        raise RecordingError(msg)
    version = json.loads(row[0])
    if version > SCHEMA_VERSION:
        con.close()
        msg = f"{p}: recording schema {version} is newer than this Campus Twin reads ({SCHEMA_VERSION}); upgrade campus-twin"
        raise RecordingError(msg)
    return con


def metadata(con: sqlite3.Connection) -> dict[str, Any]:
    """The metadata table as a dict of decoded values."""
    return {k: json.loads(v) for k, v in con.execute("SELECT key, value FROM metadata")}


def is_exercise(con: sqlite3.Connection) -> bool:
    """Whether an open recording holds a recorded exercise (its ``metadata.kind``)."""
    row = con.execute("SELECT value FROM metadata WHERE key = 'kind'").fetchone()
    return row is not None and json.loads(row[0]) == "exercise"


# --------------------------------------------------------------------------
# Recorded exercises: the event store between two times
# --------------------------------------------------------------------------

ALARM_KINDS = ("fire", "pre_alarm")
"""Alarm kinds that start a drill: the first of them in the window is the recording's ``alarm_s``."""


def _iso(t: float) -> str:
    return datetime.fromtimestamp(t, UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


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
    RecordingError
        A missing or foreign store, a store of another campus, a bad or empty window.
    """
    from scenarios.evacuation import contract_paths
    from sensors.store import EventStore, StoreError
    from twin.state import LiveState

    from twin.settings import default

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
        first_ts = last_ts = None
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
            now = live.d["alarms"]
            for key in [k for k in open_alarms if k not in now or now[k]["kind"] != open_alarms[k][1]]:
                alarms.append((*open_alarms.pop(key), t - t_from))
            for key, a in now.items():
                if key not in open_alarms:
                    open_alarms[key] = (key, a["kind"], a["priority"], a["sensor_id"], a["building"], a["node"],
                                        a["since"] - t_from)

        for eid, rec in st.events():
            ts = rec["ts"]
            first_ts = ts if first_ts is None else first_ts
            last_ts = ts
            if ts > t_to:
                break
            while k < len(samples) and samples[k] < ts:
                sample(samples[k])
                k += 1
            live.apply(eid, rec)
            if ts >= t_from:
                s = reg.get(rec["sensor_id"])
                sensor_rows.append((ts - t_from, rec["sensor_id"], rec["kind"], s.building if s else None,
                                    s.node if s else None, json.dumps(rec, separators=(",", ":"))))
                diff_alarms(ts)
        if not sensor_rows:
            held = f"the store holds events from {_iso(first_ts)} to {_iso(last_ts)}" if first_ts is not None else "the store is empty"
            msg = f"{store}: no events between {_iso(t_from)} and {_iso(t_to)} ({held})"
            raise RecordingError(msg)
        while k < len(samples):
            sample(samples[k])
            k += 1
        diff_alarms(t_to)  # alarms raised before the window and still on are open from their start
        alarms += [(*a, None) for a in open_alarms.values()]
    finally:
        st.close()
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
    write_recording(path, metadata=meta, graph=graph, agents=[], moves=[], servers=[],
                    events=sorted(closures.values(), key=lambda e: (e[0], e[2])),
                    exercise={"sensor_events": sensor_rows, "occupancy": occupancy, "alarms": alarms})
    return {"path": str(path), "events": len(sensor_rows), "from": meta["from"], "to": meta["to"],
            "duration_s": meta["duration_s"], "alarm_s": alarm_at, "alarms": len(alarms),
            "buildings": sorted({r[1] for r in occupancy})}

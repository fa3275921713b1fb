"""Recordings: one versioned SQLite file per run, read by every viewer.

The schema is documented in ``docs/recording.md``. Writers batch their inserts
in one transaction; ``open_recording`` checks the version and refuses a file
written by a newer schema than this code knows.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import networkx as nx

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

"""The operator audit trail: every acknowledge, note and clear, who and when, in SQLite.

The trail is an append-only table in the event store's own SQLite file, next
to the events (one file to back up; the events table is untouched). An action
is committed before the server answers the request that asked for it, so an
acknowledged alarm stays acknowledged through a crash or a restart: the live
alarm panel is a function of the stored events plus the stored actions.

Schema::

    audit(id INTEGER PRIMARY KEY, ts REAL /* epoch s, server clock */, user TEXT, role TEXT,
          action TEXT /* ack | note | clear */, alarm TEXT /* alarm id, e.g. SD-1:fire */,
          since REAL /* start of the alarm instance acted on */, note TEXT, alarm_doc TEXT /* the alarm as JSON */)

Rows are never updated or deleted (triggers refuse it).
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

ACTIONS = ("ack", "note", "clear")
"""Operator actions on an alarm."""

_SCHEMA = """
CREATE TABLE IF NOT EXISTS audit(
    id INTEGER PRIMARY KEY,
    ts REAL NOT NULL,
    user TEXT NOT NULL,
    role TEXT NOT NULL,
    action TEXT NOT NULL,
    alarm TEXT NOT NULL,
    since REAL NOT NULL,
    note TEXT,
    alarm_doc TEXT NOT NULL
);
CREATE TRIGGER IF NOT EXISTS audit_no_update BEFORE UPDATE ON audit
    BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only'); END;
CREATE TRIGGER IF NOT EXISTS audit_no_delete BEFORE DELETE ON audit
    BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only'); END;
"""


class AuditLog:
    """The append-only audit table of one event store file.

    Parameters
    ----------
    path : str | Path
        The event store's SQLite file (the table is created when missing).
    readonly : bool
        Only read (``twin state``): the file is not changed, and a store
        without the table has no actions.
    """

    def __init__(self, path: str | Path, *, readonly: bool = False) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()
        self.readonly = readonly
        if readonly:
            self.db = sqlite3.connect(f"{self.path.resolve().as_uri()}?mode=ro", uri=True, check_same_thread=False)
            self.db.execute("PRAGMA busy_timeout=10000")
            return
        self.db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=FULL")
        self.db.execute("PRAGMA busy_timeout=10000")
        with self._lock:
            self.db.executescript(_SCHEMA)

    def close(self) -> None:
        """Close the connection."""
        with self._lock:
            self.db.close()

    def append(self, *, user: str, role: str, action: str, alarm: dict[str, Any], note: str | None = None,
               ts: float | None = None) -> dict[str, Any]:
        """Store one action and return it as a record, after the commit.

        Parameters
        ----------
        user, role : str
            Who acted.
        action : str
            One of :data:`ACTIONS`.
        alarm : dict
            The alarm acted on (its ``id`` and ``since`` identify the instance).
        note : str, optional
            The operator's text.
        ts : float, optional
            When (epoch s; default now).
        """
        if action not in ACTIONS:
            msg = f"action must be one of {', '.join(ACTIONS)}, got {action!r}"
            raise ValueError(msg)
        now = time.time() if ts is None else ts
        doc = {k: alarm.get(k) for k in ("id", "kind", "priority", "since", "sensor_id", "name", "building", "level", "node")}
        with self._lock:
            cur = self.db.execute(
                "INSERT INTO audit(ts, user, role, action, alarm, since, note, alarm_doc) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (now, user, role, action, alarm["id"], float(alarm["since"]), note, json.dumps(doc, separators=(",", ":"))))
            rid = cur.lastrowid
        return {"id": rid, "ts": now, "user": user, "role": role, "action": action, "alarm": alarm["id"],
                "since": float(alarm["since"]), "note": note, "alarm_doc": doc}

    def records(self, *, limit: int | None = None, alarm: str | None = None) -> list[dict[str, Any]]:
        """Stored actions, oldest first (with ``limit``: the newest ``limit`` of them, still oldest first)."""
        sql = "SELECT id, ts, user, role, action, alarm, since, note, alarm_doc FROM audit"
        args: list[Any] = []
        if alarm is not None:
            sql += " WHERE alarm = ?"
            args.append(alarm)
        sql += " ORDER BY id DESC" if limit is not None else " ORDER BY id"
        if limit is not None:
            sql += " LIMIT ?"
            args.append(int(limit))
        with self._lock:
            try:
                rows = self.db.execute(sql, args).fetchall()
            except sqlite3.OperationalError:
                if self.readonly:  # a store no operator has acted on yet
                    return []
                raise
        if limit is not None:
            rows.reverse()
        return [{"id": r[0], "ts": r[1], "user": r[2], "role": r[3], "action": r[4], "alarm": r[5], "since": r[6],
                 "note": r[7], "alarm_doc": json.loads(r[8])} for r in rows]

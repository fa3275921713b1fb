"""The durable event store: an append-only SQLite file in WAL mode.

``EventStore.append`` writes a batch of validated events in one transaction and
returns only after the commit, so whoever acknowledges an event after it
returns never acknowledges one that a crash (even SIGKILL) could lose. The
same ``(sensor_id, seq)`` is stored once; events without ``seq`` are never
deduplicated. Rows are never updated or deleted (triggers refuse it). Events
are read back in time order, ``(ts, id)``, which is the order the live state
applies them in.

Schema (version 1)::

    meta(key TEXT PRIMARY KEY, value TEXT)            -- schema_version, campus_digest, campus, created
    events(id INTEGER PRIMARY KEY, sensor_id TEXT, seq INTEGER, ts REAL,
           kind TEXT, body TEXT /* the event as JSON */, received REAL)
    counters(name TEXT PRIMARY KEY, n INTEGER)        -- accepted, duplicate, rejected:<why>
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

SCHEMA_VERSION = 1

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS events(
    id INTEGER PRIMARY KEY,
    sensor_id TEXT NOT NULL,
    seq INTEGER,
    ts REAL NOT NULL,
    kind TEXT NOT NULL,
    body TEXT NOT NULL,
    received REAL NOT NULL
);
CREATE UNIQUE INDEX IF NOT EXISTS events_dedup ON events(sensor_id, seq) WHERE seq IS NOT NULL;
CREATE INDEX IF NOT EXISTS events_time ON events(ts, id);
CREATE TABLE IF NOT EXISTS counters(name TEXT PRIMARY KEY, n INTEGER NOT NULL);
CREATE TRIGGER IF NOT EXISTS events_no_update BEFORE UPDATE ON events
    BEGIN SELECT RAISE(ABORT, 'the event store is append-only'); END;
CREATE TRIGGER IF NOT EXISTS events_no_delete BEFORE DELETE ON events
    BEGIN SELECT RAISE(ABORT, 'the event store is append-only'); END;
"""


class StoreError(RuntimeError):
    """A store file that cannot be used (another schema version, another campus)."""


class EventStore:
    """An append-only SQLite event store.

    Parameters
    ----------
    path : str | Path
        The SQLite file (created with its folder when missing).
    campus_digest : str, optional
        The campus the events belong to; a store made for another campus is refused.
    campus_path : str, optional
        Where that campus was loaded from (kept so ``twin state`` finds it).
    synchronous : str
        SQLite ``synchronous`` level: ``FULL`` (default; an acknowledged event
        survives power loss too) or ``NORMAL`` (survives a killed process, not
        a power cut; faster).
    """

    def __init__(self, path: str | Path, *, campus_digest: str | None = None, campus_path: str | None = None,
                 synchronous: str = "FULL") -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self.db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        self.db.execute("PRAGMA journal_mode=WAL")
        if synchronous.upper() not in ("FULL", "NORMAL", "EXTRA"):
            msg = f"synchronous must be FULL, NORMAL or EXTRA, got {synchronous!r}"
            raise ValueError(msg)
        self.db.execute(f"PRAGMA synchronous={synchronous.upper()}")
        self.db.execute("PRAGMA busy_timeout=10000")
        with self._lock:
            self.db.executescript(_SCHEMA)
            self.db.execute("BEGIN IMMEDIATE")
            meta = dict(self.db.execute("SELECT key, value FROM meta"))
            if "schema_version" not in meta:
                self.db.executemany("INSERT INTO meta VALUES (?, ?)", [("schema_version", str(SCHEMA_VERSION)),
                                                                       ("created", str(time.time()))])
                if campus_digest:
                    self.db.execute("INSERT INTO meta VALUES ('campus_digest', ?)", (campus_digest,))
                if campus_path:
                    self.db.execute("INSERT INTO meta VALUES ('campus', ?)", (campus_path,))
                meta = dict(self.db.execute("SELECT key, value FROM meta"))
            self.db.execute("COMMIT")
        if int(meta.get("schema_version", SCHEMA_VERSION)) != SCHEMA_VERSION:
            msg = f"{self.path}: event store schema version {meta['schema_version']}, this twin reads version {SCHEMA_VERSION}"
            raise StoreError(msg)
        have = meta.get("campus_digest")
        if campus_digest and have and have != campus_digest:
            msg = f"{self.path}: this event store belongs to another campus (digest {have[:12]}…, the campus given is {campus_digest[:12]}…)"
            raise StoreError(msg)
        self.campus_digest = have or campus_digest
        self.campus_path = meta.get("campus") or campus_path

    def close(self) -> None:
        """Close the file."""
        with self._lock:
            self.db.close()

    def append(self, events: Iterable[dict[str, Any]], *, counters: dict[str, int] | None = None,
               received: float | None = None) -> list[int | None]:
        """Store a batch of validated event records in one transaction; return after the commit.

        Parameters
        ----------
        events : iterable of dict
            Records with ``sensor_id``, ``ts`` (epoch s), ``kind`` and optional ``seq``.
        counters : dict, optional
            Counts to add to the ``counters`` table in the same transaction (e.g. rejections).
        received : float, optional
            Receive time stamped on the rows (default: now).

        Returns
        -------
        list of int | None
            Per event, its row id, or ``None`` when ``(sensor_id, seq)`` was already stored.
        """
        now = time.time() if received is None else received
        ids: list[int | None] = []
        with self._lock:
            cur = self.db.cursor()
            cur.execute("BEGIN IMMEDIATE")
            try:
                for ev in events:
                    cur.execute("INSERT INTO events(sensor_id, seq, ts, kind, body, received) VALUES (?, ?, ?, ?, ?, ?) "
                                "ON CONFLICT DO NOTHING",
                                (ev["sensor_id"], ev.get("seq"), ev["ts"], ev["kind"], json.dumps(ev, separators=(",", ":")), now))
                    ids.append(cur.lastrowid if cur.rowcount == 1 else None)
                add = dict(counters or {})
                new = sum(i is not None for i in ids)
                if new:
                    add["accepted"] = add.get("accepted", 0) + new
                if len(ids) - new:
                    add["duplicate"] = add.get("duplicate", 0) + len(ids) - new
                if add:
                    cur.executemany("INSERT INTO counters VALUES (?, ?) ON CONFLICT(name) DO UPDATE SET n = n + excluded.n",
                                    list(add.items()))
                cur.execute("COMMIT")
            except BaseException:
                cur.execute("ROLLBACK")
                raise
        return ids

    def count(self, name: str | None = None) -> int:
        """Stored events (or a named counter)."""
        with self._lock:
            if name is None:
                return self.db.execute("SELECT count(*) FROM events").fetchone()[0]
            row = self.db.execute("SELECT n FROM counters WHERE name = ?", (name,)).fetchone()
        return row[0] if row else 0

    def counters(self) -> dict[str, int]:
        """Every counter: accepted, duplicate, rejected:<why>."""
        with self._lock:
            return dict(self.db.execute("SELECT name, n FROM counters ORDER BY name"))

    def events(self, *, after: tuple[float, int] | None = None, batch: int = 5000) -> Iterator[tuple[int, dict[str, Any]]]:
        """Stored events as ``(id, record)`` in the order the state applies them: by ``(ts, id)``.

        Parameters
        ----------
        after : (ts, id), optional
            Only events after this position (exclusive).
        """
        pos = after or (float("-inf"), -1)
        while True:
            with self._lock:
                rows = self.db.execute("SELECT id, ts, body FROM events WHERE (ts, id) > (?, ?) ORDER BY ts, id LIMIT ?",
                                       (pos[0], pos[1], batch)).fetchall()
            for i, _ts, body in rows:
                yield i, json.loads(body)
            if len(rows) < batch:
                return
            pos = (rows[-1][1], rows[-1][0])

    def keys(self) -> list[tuple[str, int | None]]:
        """Every stored ``(sensor_id, seq)``, in storage order (for checks)."""
        with self._lock:
            return self.db.execute("SELECT sensor_id, seq FROM events ORDER BY id").fetchall()

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
import sys
import threading
import time
import fcntl
import logging
import os
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

SCHEMA_VERSION = 1
log = logging.getLogger("twin.store")

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


_compact = json.JSONEncoder(separators=(",", ":")).encode
"""An event record as stored: compact JSON (one encoder for every row, not one made per ``json.dumps`` call)."""


class StoreError(RuntimeError):
    """A store file that cannot be used (another schema version, another campus, damaged, in use)."""


class StoreFull(StoreError):
    """The store's disk is full: the batch was rolled back, nothing of it is stored."""


def _damaged(path: Path, e: Exception) -> StoreError:
    msg = (f"{path}: the event store is damaged ({e}). Restore it from a backup, see what can still be read with "
           f"`twin store check {path}`, or move it aside and start a new store with `twin serve --new-store`")
    return StoreError(msg)


Screen = Callable[[dict[str, Any]], str | None]
"""Checks a stored record before the state applies it: ``None`` when it is good, else why not."""


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
                 synchronous: str = "FULL", readonly: bool = False, exclusive: bool = False) -> None:
        self.path = Path(path)
        if synchronous.upper() not in ("FULL", "NORMAL", "EXTRA"):
            msg = f"synchronous must be FULL, NORMAL or EXTRA, got {synchronous!r}"
            raise ValueError(msg)
        if self.path.is_file() and self.path.stat().st_size == 0:
            msg = (f"{self.path}: the file is empty (0 bytes), not an event store; a store is never empty once made, "
                   "so it was truncated or made by something else: restore it, or start a new store with `twin serve --new-store`")
            raise StoreError(msg)
        if readonly and not self.path.is_file():
            msg = f"{self.path}: no such event store"
            raise StoreError(msg)
        self.readonly = readonly
        self.quarantined: dict[int, str] = {}
        """Stored rows the state skips, by row id, with why (:meth:`events`; reported by ``twin store check``)."""
        self.screen: Screen | None = None
        """A check of each record :meth:`events` yields (the ingestor's: parse and registry)."""
        self._lock = threading.Lock()
        self._writer_lock = self._lock_writer() if exclusive else None
        try:
            meta = self._open(synchronous.upper(), campus_digest, campus_path)
        except sqlite3.DatabaseError as e:
            self._release()
            raise _failure(self.path, e) from None
        except BaseException:
            self._release()
            raise
        if int(meta.get("schema_version", SCHEMA_VERSION)) != SCHEMA_VERSION:
            msg = f"{self.path}: event store schema version {meta['schema_version']}, this twin reads version {SCHEMA_VERSION}"
            raise StoreError(msg)
        have = meta.get("campus_digest")
        if campus_digest and have and have != campus_digest:
            msg = f"{self.path}: this event store belongs to another campus (digest {have[:12]}…, the campus given is {campus_digest[:12]}…)"
            raise StoreError(msg)
        self.campus_digest = have or campus_digest
        self.campus_path = meta.get("campus") or campus_path

    def _open(self, synchronous: str, campus_digest: str | None, campus_path: str | None) -> dict[str, str]:
        """Connect, make the schema when new, and read ``meta``."""
        if self.readonly:
            uri = self.path.resolve().as_uri()
            try:  # read-only: no schema changes; on read-only media (no -wal/-shm possible) as an immutable file
                self.db = sqlite3.connect(f"{uri}?mode=ro", uri=True, check_same_thread=False, isolation_level=None)
                self.db.execute("SELECT count(*) FROM meta").fetchone()
            except sqlite3.OperationalError:
                self.db = sqlite3.connect(f"{uri}?immutable=1", uri=True, check_same_thread=False, isolation_level=None)
            with self._lock:
                return dict(self.db.execute("SELECT key, value FROM meta"))
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute(f"PRAGMA synchronous={synchronous}")
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
        return meta

    def _lock_writer(self) -> int:
        """Hold ``<store>.lock`` (``flock``) for as long as this store is open; refuse when another process holds it."""
        lock = self.path.with_name(self.path.name + ".lock")
        lock.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 200, 0).decode("utf-8", "replace").strip() or "another process"
            os.close(fd)
            msg = (f"{self.path}: the event store is already being written by {holder}; one twin serve per store "
                   "(stop that one first, or give this one another --store)")
            raise StoreError(msg) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"pid {os.getpid()} ({' '.join(sys.argv[:2])}), since {time.strftime('%Y-%m-%d %H:%M:%S')}".encode(), 0)
        return fd

    def _release(self) -> None:
        if self._writer_lock is not None:
            os.close(self._writer_lock)  # closing the descriptor releases the flock
            self._writer_lock = None

    def close(self) -> None:
        """Close the file (and release the writer's lock)."""
        with self._lock:
            self.db.close()
        self._release()

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
                                (ev["sensor_id"], ev.get("seq"), ev["ts"], ev["kind"], _compact(ev), now))
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
            except BaseException as e:
                if self.db.in_transaction:
                    cur.execute("ROLLBACK")
                if isinstance(e, sqlite3.DatabaseError):
                    raise _failure(self.path, e) from None
                raise
        return ids

    def count(self, name: str | None = None) -> int:
        """Stored events (or a named counter)."""
        if name is None:
            return self._read("SELECT count(*) FROM events")[0][0]
        rows = self._read("SELECT n FROM counters WHERE name = ?", (name,))
        return rows[0][0] if rows else 0

    def span(self) -> tuple[float, float] | None:
        """Times (epoch s) of the earliest and the latest stored event, or ``None`` for an empty store."""
        lo, hi = self._read("SELECT min(ts), max(ts) FROM events")[0]
        return None if lo is None else (float(lo), float(hi))

    def counters(self) -> dict[str, int]:
        """Every counter: accepted, duplicate, rejected:<why>."""
        return dict(self._read("SELECT name, n FROM counters ORDER BY name"))

    def _read(self, sql: str, args: tuple[Any, ...] = ()) -> list[Any]:
        """All rows of a query; a damaged file is a :class:`StoreError` naming it and what to do."""
        try:
            with self._lock:
                return self.db.execute(sql, args).fetchall()
        except sqlite3.DatabaseError as e:
            raise _failure(self.path, e) from None

    def events(self, *, after: tuple[float, int] | None = None, batch: int = 5000) -> Iterator[tuple[int, dict[str, Any]]]:
        """Stored events as ``(id, record)`` in the order the state applies them: by ``(ts, id)``.

        Parameters
        ----------
        after : (ts, id), optional
            Only events after this position (exclusive).
        """
        pos = after or (float("-inf"), -1)
        while True:
            try:
                with self._lock:
                    rows = self.db.execute("SELECT id, ts, body FROM events WHERE (ts, id) > (?, ?) ORDER BY ts, id LIMIT ?",
                                           (pos[0], pos[1], batch)).fetchall()
            except sqlite3.DatabaseError as e:
                raise _failure(self.path, e) from None
            for i, _ts, body in rows:
                rec = self._good(i, body)
                if rec is not None:
                    yield i, rec
            if len(rows) < batch:
                return
            pos = (rows[-1][1], rows[-1][0])

    def _good(self, i: int, body: Any) -> dict[str, Any] | None:
        """A stored row's record, or None when it is quarantined (not a record, or refused by :attr:`screen`)."""
        if i in self.quarantined:
            return None
        try:
            rec = json.loads(body)
        except (TypeError, ValueError, RecursionError) as e:
            return self._quarantine(i, f"body is not JSON ({e})")
        if not isinstance(rec, dict) or not isinstance(rec.get("sensor_id"), str) or not isinstance(rec.get("kind"), str) \
                or type(rec.get("ts")) not in (int, float):
            return self._quarantine(i, "body is not an event record (sensor_id, kind and ts)")
        why = self.screen(rec) if self.screen is not None else None
        return rec if why is None else self._quarantine(i, why)

    def _quarantine(self, i: int, why: str) -> None:
        self.quarantined[i] = why
        log.warning("%s: stored event %d skipped: %s", self.path, i, why)

    def keys(self) -> list[tuple[str, int | None]]:
        """Every stored ``(sensor_id, seq)``, in storage order (for checks)."""
        return self._read("SELECT sensor_id, seq FROM events ORDER BY id")


def _failure(path: Path, e: sqlite3.DatabaseError) -> StoreError:
    """The store error for an SQLite error: a full disk, a damaged file, or what SQLite said."""
    code = getattr(e, "sqlite_errorcode", None)
    if code == sqlite3.SQLITE_FULL:
        return StoreFull(f"{path}: the disk is full ({e})")
    if code in (sqlite3.SQLITE_CORRUPT, sqlite3.SQLITE_NOTADB) or code is None:
        return _damaged(path, e)
    return StoreError(f"{path}: {e}")

"""Inspection rounds: what to check in a building, each item marked ok or raised as a finding, on a monthly schedule.

A round is one inspector's walk through one building. Its checklist comes
from the campus file (:func:`checklist`): the building's exits (doors with
``exit``), stairs, detectors (smoke and heat), manual call points (detectors
of type ``manual_call_point``) and, since the campus format has no
extinguisher features, the extinguishers along each corridor (the item is
the corridor). The inspector marks each item ``ok`` or raises a finding on it
(``twin.hazards``: the finding and the check are one transaction). A round is
complete when every item is marked. Rounds are due every
``hazards.round_days`` (30 days: monthly) per building, counted from the
start of the building's last round (:meth:`Rounds.schedule`).

Two more append-only tables in the event store's file, beside the ledger's::

    hazard_rounds(id INTEGER PRIMARY KEY, campus TEXT, building TEXT, by TEXT, role TEXT, ts REAL /* epoch s */)
    hazard_checks(id INTEGER PRIMARY KEY, round INTEGER, feature TEXT, result TEXT /* ok | finding */,
                  finding INTEGER, by TEXT, role TEXT, ts REAL, note TEXT)

Example::

    rounds = Rounds(HazardLedger("out/events.sqlite", campus))
    r = rounds.start("TB1", by="olga")
    rounds.mark(r["id"], "TB1-L0-X1", by="olga")                       # ok
    rounds.mark(r["id"], "TB1-L0-X2", by="olga", kind="blocked_exit", note="chained shut")
"""

from __future__ import annotations

import datetime as dt
import sqlite3
import time
from typing import Any

from twin.campus import Campus
from twin.errors import Problem
from twin.hazards import HazardError, HazardLedger
from twin.settings import default

CHECKS = {"exit": "exit free and opening", "stair": "stair clear, doors closing", "detector": "detector working",
          "call_point": "call point working", "extinguisher": "extinguishers in place along it"}
"""What a round checks, item kind → what to look at."""

_SCHEMA = """
CREATE TABLE IF NOT EXISTS hazard_rounds(
    id INTEGER PRIMARY KEY, campus TEXT NOT NULL, building TEXT NOT NULL, by TEXT NOT NULL, role TEXT NOT NULL,
    ts REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS hazard_checks(
    id INTEGER PRIMARY KEY, round INTEGER NOT NULL REFERENCES hazard_rounds(id), feature TEXT NOT NULL,
    result TEXT NOT NULL, finding INTEGER REFERENCES hazard_findings(id), by TEXT NOT NULL, role TEXT NOT NULL,
    ts REAL NOT NULL, note TEXT, UNIQUE(round, feature)
);
""" + "".join(
    f"CREATE TRIGGER IF NOT EXISTS {t}_no_{op} BEFORE {op.upper()} ON {t} "
    f"BEGIN SELECT RAISE(ABORT, 'inspection rounds are append-only'); END;\n"
    for t in ("hazard_rounds", "hazard_checks") for op in ("update", "delete"))


def checklist(campus: Campus, building: str) -> list[dict[str, Any]]:
    """What a round of ``building`` checks, by level (stairs first), then kind and id.

    Each item: ``feature``, ``check`` (a key of :data:`CHECKS`), ``what`` (to look at) and ``level``
    (None for a stair, which spans levels).
    """
    f = campus.features
    mine = f[f["building"] == building] if "building" in f.columns else f.iloc[:0]
    typ = mine["type"] if "type" in mine.columns else None
    exits = mine["exit"] if "exit" in mine.columns else None
    items = []
    for fid, r in mine.iterrows():
        kind = r["kind"]
        if kind == "door" and exits is not None and exits[fid] == exits[fid] and bool(exits[fid]):  # NaN: not an exit
            check = "exit"
        elif kind == "stair":
            check = "stair"
        elif kind == "detector":
            check = "call_point" if typ is not None and typ[fid] == "manual_call_point" else "detector"
        elif kind == "corridor":
            check = "extinguisher"
        else:
            continue
        level = None if r["level"] != r["level"] or r["level"] is None else int(r["level"])
        items.append({"feature": str(fid), "check": check, "what": CHECKS[check], "level": level})
    order = list(CHECKS)
    return sorted(items, key=lambda i: (-1 if i["level"] is None else i["level"], order.index(i["check"]), i["feature"]))


class Rounds:
    """The inspection rounds of one hazard ledger (its store file, its campus).

    Parameters
    ----------
    ledger : HazardLedger
        The ledger findings are raised in; the rounds' tables are created in its file when it is writable.
    """

    def __init__(self, ledger: HazardLedger) -> None:
        self.ledger = ledger
        self.src = str(ledger.path)
        if not ledger.readonly:
            with ledger._lock:
                ledger.db.executescript(_SCHEMA)

    def _err(self, field: str, message: str) -> HazardError:
        return HazardError([Problem(self.src, message, field=field)])

    def start(self, building: str, *, by: str, role: str = "operator", ts: float | None = None) -> dict[str, Any]:
        """Start a round of ``building`` and return it (a :class:`HazardError` naming the field otherwise).

        Refused for an unknown building, one with nothing to check, or one whose last round is not complete.
        """
        led = self.ledger
        led._writable()
        led._role(role, "operator", "start an inspection round")
        if not by.strip():
            raise self._err("by", "who inspects is missing")
        f = led.campus.features
        if building not in f.index or f.at[building, "kind"] != "building":
            raise self._err("building", f"no building {building!r} in the campus {led.campus.source}")
        if not checklist(led.campus, building):
            raise self._err("building", f"{building} has no exits, stairs, detectors or corridors to check")
        last = self._last(building)
        if last is not None and not last["complete"]:
            raise self._err("building", f"round {last['id']} of {building} is not complete "
                                        f"({last['marked']} of {len(last['items'])} items marked): finish it first")
        now = time.time() if ts is None else float(ts)
        with led._lock:
            cur = led.db.execute("INSERT INTO hazard_rounds(campus, building, by, role, ts) VALUES (?, ?, ?, ?, ?)",
                                 (led.campus.digest, building, by, role, now))
        return self.get(int(cur.lastrowid))

    def mark(self, round_id: int, feature: str, *, by: str, role: str = "operator", kind: str | None = None,
             note: str = "", width: float | None = None, due: str | dt.date | None = None,
             ts: float | None = None) -> dict[str, Any]:
        """Mark one item of a round ``ok`` (no ``kind``) or raise a finding of ``kind`` on it; return the round.

        A finding takes ``note``, ``width`` and ``due`` as :meth:`HazardLedger.add` does; it and the check are
        stored in one transaction. Refused (naming the field, nothing written) for an unknown round, an item
        not on its checklist or already marked, and any problem with the finding.
        """
        led = self.ledger
        led._writable()
        led._role(role, "operator", "mark an inspection item")
        rnd = self.get(round_id)
        item = next((i for i in rnd["items"] if i["feature"] == feature), None)
        if item is None:
            raise self._err("feature", f"{feature!r} is not on the checklist of round {round_id} ({rnd['building']})")
        if item["result"] is not None:
            raise self._err("feature", f"{feature!r} is already marked {item['result']} in round {round_id}")
        if not by.strip():
            raise self._err("by", "who inspected it is missing")
        now = time.time() if ts is None else float(ts)
        if now < rnd["ts"]:
            raise self._err("ts", f"round {round_id} started after that time")

        def check(cur: sqlite3.Cursor, finding: int | None) -> None:
            cur.execute("INSERT INTO hazard_checks(round, feature, result, finding, by, role, ts, note) "
                        "VALUES (?, ?, ?, ?, ?, ?, ?, ?)", (int(round_id), feature, "ok" if finding is None else "finding",
                                                            finding, by, role, now, note or None))

        if kind is not None:
            led.add(feature=feature, kind=kind, note=note, by=by, width=width, due=due, found_at=now, role=role, then=check)
        else:
            with led._lock:
                cur = led.db.cursor()
                cur.execute("BEGIN IMMEDIATE")
                try:
                    check(cur, None)
                    cur.execute("COMMIT")
                except BaseException:
                    cur.execute("ROLLBACK")
                    raise
        return self.get(round_id)

    def get(self, round_id: int) -> dict[str, Any]:
        """One round: ``id``, ``building``, ``by``, ``ts``, its ``items`` (each with ``result``, ``finding``,
        ``by``, ``ts``), ``marked``, ``ok``, ``findings`` and ``complete``."""
        try:
            with self.ledger._lock:
                row = self.ledger.db.execute("SELECT id, building, by, role, ts FROM hazard_rounds WHERE id = ?",
                                             (int(round_id),)).fetchone()
                checks = self.ledger.db.execute("SELECT feature, result, finding, by, ts, note FROM hazard_checks "
                                                "WHERE round = ? ORDER BY id", (int(round_id),)).fetchall()
        except sqlite3.OperationalError:  # a read-only store with no rounds yet
            row, checks = None, []
        if row is None:
            raise self._err("round", f"no inspection round {round_id}")
        done = {c[0]: c for c in checks}
        items = []
        for i in checklist(self.ledger.campus, row[1]):
            c = done.get(i["feature"])
            items.append(i | {"result": c[1] if c else None, "finding": c[2] if c else None, "by": c[3] if c else None,
                              "ts": c[4] if c else None, "note": c[5] if c else None})
        marked = sum(i["result"] is not None for i in items)
        return {"id": row[0], "building": row[1], "started_by": row[2], "role": row[3], "ts": row[4],
                "date": _day(row[4]).isoformat(), "items": items, "marked": marked,
                "ok": sum(i["result"] == "ok" for i in items), "findings": sum(i["result"] == "finding" for i in items),
                "complete": marked == len(items)}

    def _last(self, building: str) -> dict[str, Any] | None:
        try:
            with self.ledger._lock:
                row = self.ledger.db.execute("SELECT max(id) FROM hazard_rounds WHERE building = ?", (building,)).fetchone()
        except sqlite3.OperationalError:  # a read-only store nobody has inspected yet
            return None
        return None if row[0] is None else self.get(row[0])

    def schedule(self, *, today: dt.date | None = None) -> list[dict[str, Any]]:
        """Per building with something to check: its last round, when the next is due and whether it is overdue.

        A building never inspected is due today. ``today`` defaults to today (UTC).
        """
        today = today or _day(time.time())
        every = dt.timedelta(days=float(default("hazards.round_days")))
        f = self.ledger.campus.features
        out = []
        for b in sorted(f.index[f["kind"] == "building"]):
            items = checklist(self.ledger.campus, b)
            if not items:
                continue
            last = self._last(b)
            due = today if last is None else _day(last["ts"]) + every
            out.append({"building": b, "items": len(items), "last_round": None if last is None else last["id"],
                        "last_date": None if last is None else last["date"],
                        "last_complete": None if last is None else last["complete"],
                        "last_findings": None if last is None else last["findings"],
                        "due": due.isoformat(), "overdue": today > due})
        return out


def _day(ts: float) -> dt.date:
    return dt.datetime.fromtimestamp(ts, dt.UTC).date()

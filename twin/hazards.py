"""The hazard ledger: inspection findings, their status moves and photos, in the event store's SQLite file.

A finding is something an inspector saw at a place of the campus: a fire door
wedged shut, a corridor narrowed by stored furniture, a detector in fault. It
has a place (a feature id of the campus, or a map point with building and
level), a kind (:data:`KINDS`), a note, who found it and when, a due date, and
a status that moves ``open → fixed → verified`` (or ``rejected``), each move
with who and when (:data:`MOVES`). Operators add and fix findings; a
``verifier`` (or an ``admin``) verifies, rejects or reopens them
(:data:`MOVE_ROLE`).

The ledger is part of the core (``twin/``, beside the alarm audit trail of
``twin.audit``) because the drills (``scenarios.hazards``), the live state,
the console and the ingest side all read it, and ``scenarios`` and ``sensors``
never import each other. It lives in three append-only tables of the event store's own file
(one file to back up; the events table is untouched), created by this module,
with the durability of the alarm audit trail: every write is one
transaction committed before the call returns, every input is checked before
anything is written, and rows are never updated or deleted (triggers refuse
it), so a finding's status is its last move::

    hazard_findings(id INTEGER PRIMARY KEY, campus TEXT /* campus digest */, feature TEXT, x REAL, y REAL,
                    building TEXT, level INTEGER, kind TEXT, width REAL /* m, narrowed only */, note TEXT,
                    found_by TEXT, found_at REAL /* epoch s */, due TEXT /* YYYY-MM-DD */)
    hazard_moves(id INTEGER PRIMARY KEY, finding INTEGER, status TEXT, by TEXT, role TEXT, ts REAL, note TEXT)
    hazard_photos(id INTEGER PRIMARY KEY, finding INTEGER, file TEXT, sha256 TEXT, by TEXT, ts REAL)

Photos (of places, never of people: the inspector's duty, written on every
form that takes one) are JPEG or PNG files stored beside the store, in
``<store>.photos/<sha256>.<ext>``, named by their content.

A finding *is in force* until it is verified or rejected: a fix an operator
reports is not trusted until a verifier has seen it, so a ``fixed`` finding
still blocks its exit in a drill "as inspected" (``scenarios.hazards``) and
on the live console.

Example::

    ledger = HazardLedger("out/events.sqlite", campus)
    f = ledger.add(feature="TB1-X1", kind="blocked_exit", note="wedged shut with a chair", by="olga")
    ledger.move(f["id"], "fixed", by="olga")
    ledger.move(f["id"], "verified", by="vera", role="verifier")
"""

from __future__ import annotations

import datetime as dt
import hashlib
import math
import re
import sqlite3
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from twin.auth import role_at_least
from twin.campus import Campus
from twin.errors import InputError, Problem
from twin.indoor import space_width
from twin.settings import default

KINDS = ("blocked_exit", "narrowed", "door_not_closing", "detector_fault", "extinguisher_missing",
         "emergency_lighting", "other")
"""Kinds of finding."""
PLACE_KINDS = ("door", "stair", "corridor", "room", "detector", "camera", "gate", "footway")
"""Feature kinds a finding may be placed on (else: a map point with building and level)."""
KIND_PLACES: dict[str, tuple[str, ...]] = {
    "blocked_exit": ("door", "stair", "corridor", "gate"),
    "narrowed": ("door", "stair", "corridor", "footway"),
    "door_not_closing": ("door",),
    "detector_fault": ("detector",),
}
"""Finding kinds that only make sense on some feature kinds (the others go anywhere, points included)."""
STATUSES = ("open", "fixed", "verified", "rejected")
"""Statuses of a finding; ``verified`` and ``rejected`` close it."""
IN_FORCE = ("open", "fixed")
"""Statuses in which a finding still acts on the twin (until a verifier has seen the fix)."""
MOVES: dict[str, tuple[str, ...]] = {"open": ("fixed", "rejected"), "fixed": ("verified", "open", "rejected")}
"""Allowed status moves: from a status to the ones it may go to (``fixed → open``: the fix did not hold)."""
MOVE_ROLE = {"fixed": "operator", "verified": "verifier", "rejected": "verifier", "open": "verifier"}
"""The weakest role that may move a finding to a status (adding one needs ``operator``)."""
PHOTO_TYPES = {b"\xff\xd8\xff": "jpg", b"\x89PNG\r\n\x1a\n": "png"}
"""Accepted photo files by their first bytes."""
PHOTO_MAX = 8 * 1024 * 1024
"""Largest photo accepted (bytes)."""
NOTE_MAX = 2000
"""Longest note (characters)."""
_PHOTO_NAME = re.compile(r"[0-9a-f]{64}\.(jpg|png)")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS hazard_findings(
    id INTEGER PRIMARY KEY, campus TEXT NOT NULL, feature TEXT, x REAL, y REAL, building TEXT, level INTEGER,
    kind TEXT NOT NULL, width REAL, note TEXT NOT NULL, found_by TEXT NOT NULL, found_at REAL NOT NULL, due TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS hazard_moves(
    id INTEGER PRIMARY KEY, finding INTEGER NOT NULL REFERENCES hazard_findings(id), status TEXT NOT NULL,
    by TEXT NOT NULL, role TEXT NOT NULL, ts REAL NOT NULL, note TEXT
);
CREATE INDEX IF NOT EXISTS hazard_moves_finding ON hazard_moves(finding, id);
CREATE TABLE IF NOT EXISTS hazard_photos(
    id INTEGER PRIMARY KEY, finding INTEGER NOT NULL REFERENCES hazard_findings(id), file TEXT NOT NULL,
    sha256 TEXT NOT NULL, by TEXT NOT NULL, ts REAL NOT NULL
);
"""
_TABLES = ("hazard_findings", "hazard_moves", "hazard_photos")
_TRIGGERS = "".join(
    f"CREATE TRIGGER IF NOT EXISTS {t}_no_{op} BEFORE {op.upper()} ON {t} "
    f"BEGIN SELECT RAISE(ABORT, 'the hazard ledger is append-only'); END;\n"
    for t in _TABLES for op in ("update", "delete"))


class HazardError(InputError):
    """A finding or a status move that cannot be stored (each problem names the field)."""


def parse_date(text: str | dt.date, *, field: str, source: str) -> dt.date:
    """A calendar date from ``YYYY-MM-DD`` text (a clear :class:`HazardError` naming ``field`` otherwise)."""
    if isinstance(text, dt.date):
        return text
    try:
        return dt.date.fromisoformat(str(text).strip())
    except ValueError:
        raise HazardError([Problem(source, f"not a date: {text!r} (write YYYY-MM-DD)", field=field)]) from None


def _day(ts: float) -> dt.date:
    return dt.datetime.fromtimestamp(ts, dt.UTC).date()


def element_width(campus: Campus, fid: str) -> float | None:
    """Clear width (m) of a door, stair, corridor, room, gate or footway; None for other kinds.

    Its ``width`` (doors' and stairs' are filled in at load), else a room's or
    corridor's footprint's short side, else the kind's default width setting.
    """
    r = campus.features.loc[fid]
    if not _blank(r.get("width")):
        return float(r["width"])
    if r["kind"] in ("corridor", "room"):
        return space_width(r.geometry)
    setting = {"footway": "footway_width", "gate": "gate_width", "door": "door_width", "stair": "stair_width"}.get(r["kind"])
    return float(default(setting)) if setting else None


class HazardLedger:
    """The hazard ledger of one event store file.

    Parameters
    ----------
    path : str | Path
        The event store's SQLite file (the tables are created when missing).
    campus : Campus
        The campus the store belongs to: findings are checked against it, and
        a store made for another campus is refused.
    readonly : bool
        Only read (reports, ``twin hazard list``): the file is not changed.
    """

    def __init__(self, path: str | Path, campus: Campus, *, readonly: bool = False) -> None:
        self.path = Path(path)
        self.campus = campus
        self._lock = threading.Lock()
        self.readonly = readonly
        if readonly:
            if not self.path.exists():
                raise HazardError([Problem(str(self.path), "no such event store")])
            self.db = sqlite3.connect(f"{self.path.resolve().as_uri()}?mode=ro", uri=True, check_same_thread=False)
        else:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self.db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
            self.db.execute("PRAGMA journal_mode=WAL")
            self.db.execute("PRAGMA synchronous=FULL")
        self.db.execute("PRAGMA busy_timeout=10000")
        self._check_campus()
        if not readonly:
            with self._lock:
                self.db.executescript(_SCHEMA + _TRIGGERS)
        self.photos = self.path.with_name(self.path.name + ".photos")

    def _check_campus(self) -> None:
        try:
            row = self.db.execute("SELECT value FROM meta WHERE key = 'campus_digest'").fetchone()
        except sqlite3.OperationalError:  # not an event store yet: the ledger makes the file
            row = None
        have = row[0] if row else None
        if not have:  # a ledger file made without an event store: its findings say which campus
            try:
                row = self.db.execute("SELECT campus FROM hazard_findings WHERE campus != ? LIMIT 1",
                                      (self.campus.digest,)).fetchone()
            except sqlite3.OperationalError:
                row = None
            have = row[0] if row else None
        if have and have != self.campus.digest:
            msg = (f"this store belongs to another campus (digest {have[:12]}…), not {self.campus.source} "
                   f"({self.campus.digest[:12]}…): its findings name that campus's features")
            raise HazardError([Problem(str(self.path), msg, field="campus")])

    def close(self) -> None:
        """Close the connection."""
        with self._lock:
            self.db.close()

    # -- checks --------------------------------------------------------------------

    def check(self, *, feature: str | None, kind: str, width: float | None, due: dt.date | None,
              found_at: float, at: tuple[float, float] | None = None, building: str | None = None,
              level: int | None = None, note: str = "", by: str = "") -> list[Problem]:
        """Every problem with a finding, each naming its field (empty: it can be stored)."""
        src = str(self.path)
        p: list[Problem] = []
        f = self.campus.features
        if kind not in KINDS:
            p.append(Problem(src, f"unknown kind {kind!r}; one of: {', '.join(KINDS)}", field="kind"))
        if not by.strip():
            p.append(Problem(src, "who found it is missing", field="by"))
        if not note.strip():
            p.append(Problem(src, "a note saying what was found is missing", field="note"))
        elif len(note) > NOTE_MAX:
            p.append(Problem(src, f"note longer than {NOTE_MAX} characters", field="note"))
        if (feature is None) == (at is None):
            p.append(Problem(src, "give a feature id or a map point (x, y with building and level), one of them",
                             field="feature"))
        elif feature is not None:
            if feature not in f.index:
                p.append(Problem(src, f"no feature {feature!r} in the campus {self.campus.source}", field="feature"))
            else:
                fk = f.at[feature, "kind"]
                if fk not in PLACE_KINDS:
                    p.append(Problem(src, f"{feature!r} is a {fk}; findings go on a {', '.join(PLACE_KINDS)} "
                                          "or a map point", field="feature"))
                elif fk not in KIND_PLACES.get(kind, PLACE_KINDS):
                    p.append(Problem(src, f"a {kind} finding goes on a {' or '.join(KIND_PLACES[kind])}; "
                                          f"{feature!r} is a {fk}", field="feature"))
        else:
            b = f[(f["kind"] == "building")]
            if building not in b.index:
                p.append(Problem(src, f"a map point needs the building it is in; no building {building!r}",
                                 field="building"))
            if level is None:
                p.append(Problem(src, "a map point needs its level", field="level"))
            if kind in KIND_PLACES:
                p.append(Problem(src, f"a {kind} finding goes on a feature ({' or '.join(KIND_PLACES[kind])}), "
                                      "not a map point", field="feature"))
        if kind == "narrowed":
            if width is None:
                p.append(Problem(src, "a narrowed finding needs the remaining clear width (m)", field="width"))
            elif not (width > 0 and math.isfinite(width)):
                p.append(Problem(src, f"width must be > 0 m, got {width:g}", field="width"))
            elif feature is not None and feature in f.index:
                full = element_width(self.campus, feature)
                if full is not None and width >= full:
                    p.append(Problem(src, f"width {width:g} m is not narrower than {feature!r} itself "
                                          f"({full:.2f} m)", field="width"))
        elif width is not None:
            p.append(Problem(src, f"width is only for narrowed findings, not {kind}", field="width"))
        if due is not None and due < _day(found_at):
            p.append(Problem(src, f"due date {due.isoformat()} is before the finding ({_day(found_at).isoformat()})",
                             field="due"))
        return p

    # -- writes --------------------------------------------------------------------

    def add(self, *, kind: str, note: str, by: str, feature: str | None = None, width: float | None = None,
            due: str | dt.date | None = None, at: tuple[float, float] | None = None, building: str | None = None,
            level: int | None = None, found_at: float | None = None, role: str = "operator",
            photo: bytes | None = None, then: Callable[[sqlite3.Cursor, int], None] | None = None) -> dict[str, Any]:
        """Store a new finding (status ``open``) and return it, after the commit.

        Parameters
        ----------
        kind : str
            One of :data:`KINDS`.
        note : str
            What was found.
        by : str
            Who found it.
        feature : str, optional
            The campus feature it is on (else give ``at``, ``building`` and ``level``).
        width : float, optional
            Remaining clear width (m) of a ``narrowed`` element; must be narrower than the element.
        due : str or date, optional
            When it must be fixed (``YYYY-MM-DD``; default: ``hazards.due_days`` after it was found).
        at : (float, float), optional
            A map point in the campus's metric coordinates (m).
        building, level : optional
            Where a map point is (for a feature: taken from the campus).
        found_at : float, optional
            When it was found (epoch s; default now).
        role : str
            The role of whoever stores it (at least ``operator``).
        photo : bytes, optional
            A JPEG or PNG photo of the place.
        then : callable, optional
            Called with the cursor and the new finding's id inside the same transaction (an inspection
            round records its check with it, ``twin.hazard_rounds``): what it writes is committed with
            the finding, and if it raises, neither is.

        Raises
        ------
        HazardError
            Naming every field that is wrong; nothing is written.
        """
        self._writable()
        self._role(role, "operator", "add a finding")
        now = time.time() if found_at is None else float(found_at)
        due_d = None if due is None else parse_date(due, field="due", source=str(self.path))
        problems = self.check(feature=feature, kind=kind, width=width, due=due_d, found_at=now, at=at,
                              building=building, level=level, note=note, by=by)
        ext = None
        if photo is not None:
            ext, why = _photo_type(photo)
            if why:
                problems.append(Problem(str(self.path), why, field="photo"))
        if problems:
            raise HazardError(problems)
        if due_d is None:
            due_d = _day(now) + dt.timedelta(days=int(default("hazards.due_days")))
        if feature is not None:
            r = self.campus.features.loc[feature]
            pt = r.geometry.representative_point()
            at = (pt.x, pt.y)
            building = None if _blank(r.get("building")) else str(r["building"])
            level = None if _blank(r.get("level")) else int(r["level"])
        saved = self._save_photo(photo, ext) if photo is not None else None
        with self._lock:
            cur = self.db.cursor()
            cur.execute("BEGIN IMMEDIATE")
            try:
                cur.execute("INSERT INTO hazard_findings(campus, feature, x, y, building, level, kind, width, note, "
                            "found_by, found_at, due) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                            (self.campus.digest, feature, at[0], at[1], building, level, kind, width, note.strip(),
                             by, now, due_d.isoformat()))
                fid = cur.lastrowid
                cur.execute("INSERT INTO hazard_moves(finding, status, by, role, ts) VALUES (?, 'open', ?, ?, ?)",
                            (fid, by, role, now))
                if saved is not None:
                    cur.execute("INSERT INTO hazard_photos(finding, file, sha256, by, ts) VALUES (?, ?, ?, ?, ?)",
                                (fid, saved[0], saved[1], by, now))
                if then is not None:
                    then(cur, fid)
                cur.execute("COMMIT")
            except BaseException:
                cur.execute("ROLLBACK")
                raise
        return self.get(fid)

    def move(self, finding: int, status: str, *, by: str, role: str | None = None, note: str | None = None,
             ts: float | None = None) -> dict[str, Any]:
        """Move a finding to ``status`` and return it, after the commit.

        Parameters
        ----------
        finding : int
            The finding's id.
        status : str
            ``fixed`` (operator), ``verified``, ``rejected`` or ``open`` again (verifier); see :data:`MOVES`.
        by : str
            Who.
        role : str, optional
            Their role (default: the weakest role allowed, :data:`MOVE_ROLE`; for the command line,
            where whoever runs it owns the file).
        note : str, optional
            What was done.
        ts : float, optional
            When (epoch s; default now).

        Raises
        ------
        HazardError
            For an unknown finding, an illegal move or a role too weak; nothing is written.
        """
        self._writable()
        src = str(self.path)
        if status not in MOVE_ROLE:
            raise HazardError([Problem(src, f"unknown status {status!r}; one of: {', '.join(MOVE_ROLE)}", field="status")])
        role = role or MOVE_ROLE[status]
        self._role(role, MOVE_ROLE[status], f"move a finding to {status}")
        if not by.strip():
            raise HazardError([Problem(src, "who moved it is missing", field="by")])
        if note is not None and len(note) > NOTE_MAX:
            raise HazardError([Problem(src, f"note longer than {NOTE_MAX} characters", field="note")])
        now = time.time() if ts is None else float(ts)
        with self._lock:
            cur = self.db.cursor()
            cur.execute("BEGIN IMMEDIATE")
            try:
                row = cur.execute("SELECT m.status, f.found_at FROM hazard_findings f JOIN hazard_moves m ON m.finding = f.id "
                                  "WHERE f.id = ? ORDER BY m.id DESC LIMIT 1", (int(finding),)).fetchone()
                if row is None:
                    raise HazardError([Problem(src, f"no finding {finding}", field="id")])
                if status not in MOVES.get(row[0], ()):
                    allowed = MOVES.get(row[0], ())
                    then = f"it may go to {' or '.join(allowed)}" if allowed else "it is closed"
                    raise HazardError([Problem(src, f"finding {finding} is {row[0]}: it cannot be {status} ({then})",
                                               field="status")])
                if now < row[1]:
                    raise HazardError([Problem(src, f"finding {finding} was found after {_day(now).isoformat()}",
                                               field="ts")])
                cur.execute("INSERT INTO hazard_moves(finding, status, by, role, ts, note) VALUES (?, ?, ?, ?, ?, ?)",
                            (int(finding), status, by, role, now, note))
                cur.execute("COMMIT")
            except BaseException:
                cur.execute("ROLLBACK")
                raise
        return self.get(int(finding))

    def add_photo(self, finding: int, data: bytes, *, by: str, role: str = "operator",
                  ts: float | None = None) -> dict[str, Any]:
        """Store a JPEG or PNG photo of a finding's place (never of people) and return the finding, after the commit.

        Raises
        ------
        HazardError
            For a role weaker than operator, an unknown finding, or a file that is not a JPEG or PNG photo
            within :data:`PHOTO_MAX`; nothing is written.
        """
        self._writable()
        self._role(role, "operator", "add a photo")
        self.get(finding)  # an unknown finding is refused, naming the id
        ext, why = _photo_type(data)
        if why:
            raise HazardError([Problem(str(self.path), why, field="photo")])
        name, sha = self._save_photo(data, ext)
        with self._lock:
            self.db.execute("INSERT INTO hazard_photos(finding, file, sha256, by, ts) VALUES (?, ?, ?, ?, ?)",
                            (int(finding), name, sha, by, time.time() if ts is None else float(ts)))
        return self.get(finding)

    def photo(self, name: str) -> tuple[bytes, str] | None:
        """A stored photo's bytes and media type by its file name (``<sha256>.jpg|png``); None if there is none."""
        if not _PHOTO_NAME.fullmatch(name):
            return None
        path = self.photos / name
        if not path.is_file():
            return None
        return path.read_bytes(), "image/png" if name.endswith(".png") else "image/jpeg"

    def _writable(self) -> None:
        if self.readonly:
            msg = "the ledger was opened read-only"
            raise RuntimeError(msg)

    def _role(self, role: str, needed: str, what: str) -> None:
        if not role_at_least(role, needed):
            article = "an" if role[:1] in "aeiou" else "a"
            raise HazardError([Problem(str(self.path), f"{article} {role} may not {what}: that needs the {needed} role",
                                       field="role")])

    def _save_photo(self, data: bytes, ext: str) -> tuple[str, str]:
        sha = hashlib.sha256(data).hexdigest()
        self.photos.mkdir(parents=True, exist_ok=True)
        name = f"{sha}.{ext}"
        target = self.photos / name
        if not target.exists():
            tmp = target.with_suffix(".part")
            tmp.write_bytes(data)
            tmp.replace(target)
        return name, sha

    # -- reads ---------------------------------------------------------------------

    def findings(self, *, in_force: bool = False, since: float | None = None, until: float | None = None,
                 as_of: float | None = None) -> list[dict[str, Any]]:
        """Every finding with its moves, oldest first.

        Parameters
        ----------
        in_force : bool
            Only those still acting on the twin (:data:`IN_FORCE`).
        since, until : float, optional
            Only those found in ``[since, until)`` (epoch s).
        as_of : float, optional
            The ledger as it stood at this time (moves after it ignored; default: now, every move).
        """
        try:
            with self._lock:
                rows = self.db.execute("SELECT id, campus, feature, x, y, building, level, kind, width, note, found_by, "
                                       "found_at, due FROM hazard_findings ORDER BY id").fetchall()
                moves = self.db.execute("SELECT finding, status, by, role, ts, note FROM hazard_moves ORDER BY id").fetchall()
                photos = self.db.execute("SELECT finding, file FROM hazard_photos ORDER BY id").fetchall()
        except sqlite3.OperationalError:
            if self.readonly:  # a store nobody has inspected yet
                return []
            raise
        by_f: dict[int, list[dict[str, Any]]] = {}
        for m in moves:
            if as_of is None or m[4] <= as_of:
                by_f.setdefault(m[0], []).append({"status": m[1], "by": m[2], "role": m[3], "ts": m[4], "note": m[5]})
        pics: dict[int, list[str]] = {}
        for fid, name in photos:
            pics.setdefault(fid, []).append(name)
        today = _day(time.time() if as_of is None else as_of)
        out = []
        for r in rows:
            if (since is not None and r[11] < since) or (until is not None and r[11] >= until) or r[0] not in by_f:
                continue
            f = _record(r, by_f[r[0]], pics.get(r[0], []), today)
            if not in_force or f["in_force"]:
                out.append(f)
        return out

    def get(self, finding: int) -> dict[str, Any]:
        """One finding by id (a :class:`HazardError` naming ``id`` when there is none)."""
        with self._lock:
            r = self.db.execute("SELECT id, campus, feature, x, y, building, level, kind, width, note, found_by, found_at, "
                                "due FROM hazard_findings WHERE id = ?", (int(finding),)).fetchone()
            moves = self.db.execute("SELECT status, by, role, ts, note FROM hazard_moves WHERE finding = ? ORDER BY id",
                                    (int(finding),)).fetchall()
            photos = [p[0] for p in self.db.execute("SELECT file FROM hazard_photos WHERE finding = ? ORDER BY id",
                                                     (int(finding),))]
        if r is None:
            raise HazardError([Problem(str(self.path), f"no finding {finding}", field="id")])
        ms = [{"status": m[0], "by": m[1], "role": m[2], "ts": m[3], "note": m[4]} for m in moves]
        return _record(r, ms, photos, _day(time.time()))


def _record(r: tuple[Any, ...], moves: list[dict[str, Any]], photos: list[str], today: dt.date) -> dict[str, Any]:
    status = moves[-1]["status"]
    due = dt.date.fromisoformat(r[12])
    closed = next((m["ts"] for m in reversed(moves) if m["status"] in ("verified", "rejected")), None)
    fixed = next((m["ts"] for m in reversed(moves) if m["status"] == "fixed"), None)
    return {"id": r[0], "campus": r[1], "feature": r[2], "x": r[3], "y": r[4], "building": r[5], "level": r[6],
            "kind": r[7], "width": r[8], "note": r[9], "found_by": r[10], "found_at": r[11], "due": r[12],
            "status": status, "in_force": status in IN_FORCE, "overdue": status in IN_FORCE and today > due,
            "age_days": (today - _day(r[11])).days, "fixed_at": fixed if status != "open" else None,
            "closed_at": closed, "moves": moves, "photos": photos}


def _photo_type(data: bytes) -> tuple[str | None, str | None]:
    """The photo's file extension, or why it is refused."""
    if len(data) > PHOTO_MAX:
        return None, f"photo larger than {PHOTO_MAX // (1024 * 1024)} MB"
    ext = next((e for magic, e in PHOTO_TYPES.items() if data.startswith(magic)), None)
    return (ext, None) if ext else (None, "photo must be a JPEG or PNG file")


def _blank(v: Any) -> bool:
    return v is None or (isinstance(v, float) and math.isnan(v))

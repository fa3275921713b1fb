"""The debrief of a recorded exercise: what the operators did and knew, on the timeline, and counts per floor.

A trainer replaying a drill discusses the alarms (raised, acknowledged by
whom and with which notes, cleared), the forecasts the twin made as the
drill went (each at the time it was made), and where people were counted.
:class:`Debrief` reads these from an exercise recording
(:class:`twin.recording.Recording`, ``is_exercise``) and answers what both
viewers show at time ``t``:

* :attr:`Debrief.markers` — every moment the trainer can jump to, in time
  order (``alarm``, ``ack``, ``note``, ``clear``, ``end`` of an alarm,
  ``forecast``), with who, the alarm and the note; :meth:`Debrief.next_marker`
  and :meth:`Debrief.prev_marker` step through them;
* :meth:`Debrief.forecast_at` — the latest forecast made at or before ``t``;
* :meth:`Debrief.floors_at` — people counted by the cameras on each level of
  each building (the last count of each camera, summed per level).

Where the recording holds them: alarms from its ``alarms`` table; forecasts
from its ``forecasts`` table (``t`` made, ``body`` the document), or, in a
file recorded before that table, from its ``sensor_events`` (the twin stores
each forecast as an event of kind ``forecast``, made ``latency_s`` after the
event's time); operator actions from its ``operator_actions`` table (or an
``actions`` table, or the store's ``audit`` table copied as is: ``t`` from
the start or ``ts`` epoch, ``user``, ``action`` ``ack``/``note``/``clear``,
``alarm``, ``note``). Every one of them is read defensively, with SQL on the
file, so a recording of any version plays: one without a table, or a column,
has none of that (:attr:`Debrief.missing` says which), and the rest plays.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from typing import Any

import numpy as np

from twin.recording import Recording

ACTION_TABLES = ("operator_actions", "actions", "audit")
"""Tables an exercise recording may hold its operator actions in (first found is read)."""
MARKER_KINDS = ("alarm", "ack", "note", "clear", "end", "forecast")
"""Kinds of timeline marker, in the order the viewers' key lists them."""
MARKER_CSS = {"alarm": "#d50000", "ack": "#e67800", "note": "#787882", "clear": "#2e8c3c", "end": "#2e8c3c",
              "forecast": "#1965c0"}
"""Colour of each kind of marker (both viewers)."""
MARKER_LABEL = {"alarm": "alarm raised", "ack": "acknowledged", "note": "note", "clear": "cleared", "end": "alarm ended",
                "forecast": "forecast"}


@dataclass(frozen=True)
class Marker:
    """One moment on the debrief timeline (``t``: s from the start of the recording)."""

    t: float
    kind: str
    alarm: str | None = None
    who: str | None = None
    note: str | None = None

    def text(self) -> str:
        """One line for the log: what, which alarm, by whom, the note."""
        parts = [MARKER_LABEL.get(self.kind, self.kind)]
        if self.alarm:
            parts.append(self.alarm)
        if self.who:
            parts.append(f"by {self.who}")
        line = " ".join(parts)
        return f"{line}: {self.note}" if self.note else line


def _tables(con: sqlite3.Connection) -> set[str]:
    return {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}


def _columns(con: sqlite3.Connection, table: str) -> list[str]:
    return [r[1] for r in con.execute(f"PRAGMA table_info({table})")]  # table is one of our constant names


class Debrief:
    """What the debrief replay of an exercise shows: markers, forecasts, counts per floor.

    Parameters
    ----------
    rec : Recording
        An exercise recording (a simulation has no debrief: everything is empty).
    """

    def __init__(self, rec: Recording) -> None:
        self.rec = rec
        self.missing: list[str] = []
        """What the recording does not hold (e.g. ``operator actions``), for the viewers to say."""
        markers: list[Marker] = []
        self.forecasts: list[tuple[float, dict[str, Any]]] = []
        """``(time made, forecast document)``, in time order."""
        self._cams: dict[tuple[str, int], list[tuple[np.ndarray, np.ndarray]]] = {}
        self._ft = self._mt = np.empty(0)
        if not rec.is_exercise:
            self.markers: list[Marker] = []
            return
        for a in rec.alarms:
            label = f"{a['kind']} {a['sensor_id'] or a['id']}"
            if a["t0"] >= 0:
                markers.append(Marker(a["t0"], "alarm", label))
            if a["t1"] is not None:
                markers.append(Marker(a["t1"], "end", label))
        con = sqlite3.connect(f"{rec.path.resolve().as_uri()}?mode=ro", uri=True)
        try:
            tables = _tables(con)
            markers += self._actions(con, tables)
            self._load_forecasts(con, tables)
            self._load_counts(con)
        except sqlite3.Error as e:  # a damaged optional table: the rest plays
            self.missing.append(f"part of the debrief ({type(e).__name__}: {e})")
        finally:
            con.close()
        markers += [Marker(t, "forecast", note=_forecast_line(doc)) for t, doc in self.forecasts]
        self.markers = sorted(markers, key=lambda m: (m.t, MARKER_KINDS.index(m.kind)))
        self._mt = np.array([m.t for m in self.markers], dtype=float)

    # -- loading -----------------------------------------------------------

    def _actions(self, con: sqlite3.Connection, tables: set[str]) -> list[Marker]:
        present = [t for t in ACTION_TABLES if t in tables]
        if not present:
            self.missing.append("operator actions (acknowledge, note, clear)")
            return []
        # the first table holding any action (a file may carry an empty operator_actions beside a copied audit)
        table = next((t for t in present if con.execute(f"SELECT 1 FROM {t} LIMIT 1").fetchone()), present[0])
        cols = set(_columns(con, table))
        t0 = self.rec.meta.get("t0_epoch")
        if "t" in cols:
            when = "t"
        elif "ts" in cols and t0 is not None:
            when = f"ts - {float(t0)!r}"
        else:
            self.missing.append(f"the times of the operator actions (table {table} has no t or ts)")
            return []
        if "action" not in cols:
            self.missing.append(f"which operator action (table {table} has no action column)")
            return []
        pick = [c if c in cols else "NULL" for c in ("user", "alarm", "note")]
        rows = con.execute(f"SELECT {when}, action, {', '.join(pick)} FROM {table} ORDER BY 1").fetchall()
        return [Marker(float(t), str(action), alarm, user, note) for t, action, user, alarm, note in rows
                if action in MARKER_KINDS and t is not None]

    def _load_forecasts(self, con: sqlite3.Connection, tables: set[str]) -> None:
        found = []
        if "forecasts" in tables:
            cols = _columns(con, "forecasts")
            body = next((c for c in ("doc", "forecast", "body") if c in cols), None)
            if "t" in cols and body:
                found += [(float(t), json.loads(b)) for t, b in con.execute(f"SELECT t, {body} FROM forecasts")]
        if not found and "sensor_events" in tables:
            for t, b in con.execute("SELECT t, body FROM sensor_events WHERE kind = 'forecast' ORDER BY t"):
                doc = json.loads(b).get("forecast")
                if isinstance(doc, dict):  # made latency_s (compute_s before) after the alarm it answers
                    found.append((float(t) + float(doc.get("latency_s") or doc.get("compute_s") or 0.0), doc))
        if "forecasts" not in tables and "sensor_events" not in tables:
            self.missing.append("forecasts")
        self.forecasts = sorted(found, key=lambda f: f[0])
        self._ft = np.array([t for t, _ in self.forecasts], dtype=float)

    def _load_counts(self, con: sqlite3.Connection) -> None:
        rec = self.rec
        per: dict[str, list[tuple[float, int]]] = {}
        where: dict[str, tuple[str, int]] = {}
        for t, sid, building, node, body in con.execute(
                "SELECT t, sensor_id, building, node, body FROM sensor_events WHERE kind = 'count' ORDER BY t"):
            i = rec.node_index.get(node) if node else None
            if i is None or not building or np.isnan(rec.node_level[i]):
                continue
            n = json.loads(body).get("count")
            if isinstance(n, int):
                per.setdefault(sid, []).append((float(t), n))
                where[sid] = (building, int(rec.node_level[i]))
        for sid, rows in per.items():
            arr = np.array(rows, dtype=float)
            self._cams.setdefault(where[sid], []).append((arr[:, 0], arr[:, 1]))

    # -- queries -----------------------------------------------------------

    def markers_until(self, t: float, n: int = 8) -> list[Marker]:
        """The last ``n`` markers at or before ``t`` (s), oldest first."""
        k = int(np.searchsorted(self._mt, t, side="right")) if self.markers else 0
        return self.markers[max(0, k - n):k]

    def next_marker(self, t: float) -> float | None:
        """Time of the first marker after ``t`` (None if none)."""
        k = int(np.searchsorted(self._mt, t + 1e-6, side="right")) if self.markers else 0
        return float(self._mt[k]) if k < len(self.markers) else None

    def prev_marker(self, t: float) -> float | None:
        """Time of the last marker before ``t`` (None if none)."""
        k = int(np.searchsorted(self._mt, t - 1e-6, side="left")) if self.markers else 0
        return float(self._mt[k - 1]) if k > 0 else None

    def forecast_at(self, t: float) -> tuple[float, dict[str, Any]] | None:
        """The latest forecast made at or before ``t``: ``(time made, document)``."""
        if not self.forecasts:
            return None
        k = int(np.searchsorted(self._ft, t, side="right"))
        return self.forecasts[k - 1] if k else None

    def floors_at(self, t: float) -> dict[str, dict[int, int]]:
        """People counted on each level of each building at ``t``: each camera's last count, summed per level."""
        out: dict[str, dict[int, int]] = {}
        for (b, lv), cams in sorted(self._cams.items()):
            total, seen = 0, False
            for times, counts in cams:
                k = int(np.searchsorted(times, t, side="right"))
                if k:
                    total += int(counts[k - 1])
                    seen = True
            if seen:
                out.setdefault(b, {})[lv] = total
        return out

    def floor_series(self) -> dict[str, dict[str, list[list[list[float]]]]]:
        """Per building and level, per camera, its counts as ``[t, count]`` steps in time order (for the browser page)."""
        return {b: {str(lv): [np.stack([times, counts], axis=1).tolist() for times, counts in cams]
                    for (bb, lv), cams in sorted(self._cams.items()) if bb == b}
                for b in sorted({b for b, _ in self._cams})}


def _forecast_line(doc: dict[str, Any]) -> str:
    """A forecast in one line: everyone out in, the building's clearance, trapped, the worst bottleneck."""
    def mmss(s: Any) -> str:
        return "—" if s is None else f"{int(float(s)) // 60}:{int(float(s)) % 60:02d}"

    parts = [f"everyone out in {mmss(doc.get('evacuation_time_s'))}"]
    if doc.get("building"):
        parts.append(f"{doc['building']} clear in {mmss(doc.get('building_clearance_s'))}")
    if doc.get("trapped"):
        parts.append(f"{doc['trapped']} cannot get out")
    worst = (doc.get("bottlenecks") or [None])[0]
    if isinstance(worst, dict) and worst.get("id"):
        parts.append(f"worst {worst['id']} ({worst.get('max_queue', 0):.0f} queued)")
    return ", ".join(parts)


def forecast_rows(doc: dict[str, Any]) -> list[str]:
    """A forecast as the lines of its box: the one-line summary split, and who was counted or assumed."""
    rows = _forecast_line(doc).split(", ")
    if doc.get("counted") is not None:
        rows.append(f"people counted {doc['counted']:,}, assumed {doc.get('assumed', 0):,}")
    return rows

"""Replay of a recording: where is everyone at time t, a playback clock, a view, the PedPy export.

This module is the model of the replay viewer (``twin replay``); it has no
window and no pygame, so every piece is testable on its own:

* :class:`Replay` is a :class:`twin.recording.Recording` (the file read once,
  its version checked) with the index that answers :meth:`Replay.at` —
  everyone's position and state at time ``t`` — with one vectorised search,
  fast for 20,000 people.
* :class:`Playback` is the clock: pause, seek, speed ×0.25 … ×64, home, end.
* :class:`View` maps campus metres to screen pixels: fit, zoom at a point, pan.
* :func:`write_pedpy` exports the trajectories in the SQLite trajectory
  format of JuPedSim, which PedPy reads.

A recorded exercise (``metadata.kind = "exercise"``) has no people to draw:
the recording's :meth:`~twin.recording.Recording.occupancy_at`,
:meth:`~twin.recording.Recording.alarms_at` and
:meth:`~twin.recording.Recording.out_since_alarm` answer what the viewers
show instead (people per building, the alarms on, the people counted out at
building exits), each a sample-and-hold of the recorded counts.

The pygame app that draws it is :mod:`viz.replay_app`; the browser replay is
:mod:`viz.replay_html`. Both read the recording file only: the building
outlines come from its ``geometry`` table (:attr:`twin.recording.Recording.outlines`).
"""

from __future__ import annotations

import math
import sqlite3
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import shapely

from twin.recording import INCAPACITATED, QUEUED, SAFE, STATE_NAMES, STOPPED, TRAPPED, WAITING, WALKING, Recording

__all__ = ["BADGE_PX", "INCAPACITATED", "QUEUED", "SAFE", "SPEEDS", "STATE_NAMES", "TRAPPED", "WAITING", "WALKING", "Frame", "Playback", "Replay",
           "View", "building_geometry", "write_pedpy"]

# --------------------------------------------------------------------------
# Frames
# --------------------------------------------------------------------------

SPEEDS: tuple[float, ...] = (0.25, 0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0)
"""Playback speeds (simulated seconds per wall second)."""
SEEK_STEP = 10.0
"""Seconds one left/right key press seeks."""
SAFE_SPACING = 0.75
"""Spacing (m) of people drawn at an assembly area: they are laid out in a sunflower
around its point in order of arrival, about 1.8 persons/m², so a crowd shows its size."""
INSIDE_SAMPLES = 120
"""Times at which :meth:`Replay.inside_by_level` counts who is still inside (evenly over the run)."""
FLOOR_KINDS = ("corridor", "room", "stair")
"""``geometry`` kinds drawn as a level's floor plan, in drawing order."""
BADGE_PX = 90
"""A building narrower than this on screen (px) shows its people inside and queued as a label, not dots (both viewers)."""
QUEUE_LABEL_MIN = 10
"""A door with this many people or more queued for it is labelled with the number (both viewers; recordings with places)."""
ROOM_SPACING = 0.6
"""Spacing (m) of people drawn waiting in their start room (a sunflower around its node),
so a full room shows as a patch rather than one dot."""


@dataclass(frozen=True)
class Frame:
    """Everyone at one time.

    Attributes
    ----------
    t : float
        Time (s from the alarm).
    x, y : ndarray of float
        Positions (m, the recording's CRS), one per person.
    state : ndarray of int8
        :data:`WAITING`, :data:`WALKING`, :data:`QUEUED`, :data:`SAFE`, :data:`TRAPPED` or :data:`INCAPACITATED`.
    node : ndarray of int
        Index (into ``Replay.node_ids``) of the node each person is at or last left.
    level : ndarray of float
        Level each person is on (NaN outdoors).
    queues : ndarray of int
        People queued at each node.
    """

    t: float
    x: np.ndarray
    y: np.ndarray
    state: np.ndarray
    node: np.ndarray
    level: np.ndarray
    queues: np.ndarray

    def counts(self) -> dict[str, int]:
        """People per state, plus ``inside`` (in a building), ``outside`` (on the way outdoors)."""
        c = np.bincount(self.state, minlength=len(STATE_NAMES))
        out = {name: int(c[i]) for i, name in enumerate(STATE_NAMES)}
        moving = (self.state != SAFE) & ~np.isin(self.state, STOPPED)
        indoors = ~np.isnan(self.level)
        out["inside"] = int(np.count_nonzero(moving & indoors))
        out["outside"] = int(np.count_nonzero(moving & ~indoors))
        out["total"] = int(self.state.size)
        return out


def building_geometry(outlines: list[dict[str, Any]]) -> tuple[dict[str, tuple[float, float]], dict[str, tuple[float, float, float]]]:
    """Per building: a point inside its footprint (m) and ``(top y, bottom y, width)`` (m), to place labels."""
    centre: dict[str, tuple[float, float]] = {}
    extent: dict[str, tuple[float, float, float]] = {}
    for o in outlines:
        if o["kind"] == "building" and len(o["xy"]) >= 3 and o["id"] not in centre:
            c = shapely.Polygon(o["xy"]).representative_point()
            centre[o["id"]] = (c.x, c.y)
            xs, ys = o["xy"][:, 0], o["xy"][:, 1]
            extent[o["id"]] = (float(ys.max()), float(ys.min()), float(xs.max() - xs.min()))
    return centre, extent



class Replay(Recording):
    """A recording with the index that answers where everyone is at time ``t``.

    Parameters
    ----------
    path : str or Path
        A recording (``docs/recording.md``), read once by :class:`twin.recording.Recording`,
        which raises :class:`twin.recording.RecordingError` for a file it cannot read.

    Attributes
    ----------
    left_at : ndarray of float
        Time each person left their building (NaN if never).
    """

    def __init__(self, path: str | Path) -> None:
        super().__init__(path)
        self._index_moves()

    # -- the index ---------------------------------------------------------

    def _index_moves(self) -> None:
        via_of = self.edge_paths
        n = self.agent_ids.size
        nm = self.m_t0.size
        # moves sorted by (agent, t0): one key per move, agent * span + t0, so one searchsorted finds
        # every person's current move at once
        self._span = self.duration + 10.0
        self._mkey = self.m_agent * self._span + self.m_t0
        self._first = np.searchsorted(self.m_agent, np.arange(n), side="left")
        self._last = np.searchsorted(self.m_agent, np.arange(n), side="right") - 1  # < first: no moves

        # polylines of the walks: an edge's via path (oriented), else the straight line
        walk = np.flatnonzero((self.m_state == WALKING) & (self.m_u != self.m_v))
        pairs = np.unique(np.stack([self.m_u[walk], self.m_v[walk]], axis=1), axis=0) if walk.size else np.empty((0, 2), int)
        pts: list[np.ndarray] = []
        cum: list[np.ndarray] = []
        start = [0]
        plen = []
        for u, v in pairs.tolist():
            if (u, v) in via_of:
                path = via_of[(u, v)]
            elif (v, u) in via_of:
                path = via_of[(v, u)][::-1]
            else:
                path = [u, v]
            xy = self.node_xy[path]
            seg = np.hypot(*np.diff(xy, axis=0).T)
            c = np.concatenate([[0.0], np.cumsum(seg)])
            pts.append(xy)
            cum.append(c)
            plen.append(c[-1])
            start.append(start[-1] + len(xy))
        self._poly_xy = np.concatenate(pts) if pts else np.empty((0, 2))
        self._poly_start = np.array(start, dtype=np.int64)
        self._poly_len = np.array(plen, dtype=float)
        big = float(self._poly_len.max(initial=0.0)) + 1.0
        self._poly_big = big
        pid_of_pts = np.repeat(np.arange(len(pts)), [len(p) for p in pts]) if pts else np.empty(0, int)
        self._poly_key = pid_of_pts * big + (np.concatenate(cum) if cum else np.empty(0))
        self.m_poly = np.full(nm, -1, dtype=np.int64)
        if walk.size:
            code = pairs[:, 0] * len(self.node_ids) + pairs[:, 1]
            self.m_poly[walk] = np.searchsorted(code, self.m_u[walk] * len(self.node_ids) + self.m_v[walk])
            if self.placed:  # people walk straight from place to place, except along a path's junctions
                bent = np.diff(self._poly_start) > 2
                self.m_poly[walk[~bent[self.m_poly[walk]]]] = -1

        # where the safe stand: a sunflower around their assembly point, in order of arrival
        self._safe_xy = np.full((n, 2), np.nan)
        safe = np.flatnonzero(~np.isnan(self.safe_at) & (self._last >= self._first))
        if safe.size:
            final = self.m_v[self._last[safe]]
            order = np.lexsort((self.safe_at[safe], final))
            safe, final = safe[order], final[order]
            rank = np.arange(safe.size) - np.searchsorted(final, final, side="left")
            r = SAFE_SPACING * np.sqrt(rank + 0.5)
            theta = rank * math.pi * (3.0 - math.sqrt(5.0))
            self._safe_xy[safe] = self.node_xy[final] + np.stack([r * np.cos(theta), r * np.sin(theta)], axis=1)

        # where people wait in their room before setting off: their place, or (before schema 3) a sunflower round its node
        order = np.argsort(self.agent_start, kind="stable")
        srt = self.agent_start[order]
        rank = np.arange(n) - np.searchsorted(srt, srt, side="left")
        r = ROOM_SPACING * np.sqrt(rank + 0.5)
        theta = rank * math.pi * (3.0 - math.sqrt(5.0))
        self._start_off = np.zeros((n, 2))
        if not self.placed:
            self._start_off[order] = np.stack([r * np.cos(theta), r * np.sin(theta)], axis=1)

        # when each person left their building: the first move from a node outside it
        self.left_at = np.full(n, np.nan)
        if nm:
            out = self.node_building[self.m_u] != self.agent_building[self.m_agent]
            idx = np.flatnonzero(out)
            first_out = np.full(n, nm, dtype=np.int64)
            np.minimum.at(first_out, self.m_agent[idx], idx)
            has = first_out < nm
            self.left_at[has] = self.m_t0[first_out[has]]

    # -- queries -----------------------------------------------------------

    def at(self, t: float) -> Frame:
        """Everyone's position and state at time ``t`` (s).

        A person is at their place until their first move; during a move
        they go straight from its first place to its last (a ``walk`` along
        an outdoor path follows its ``via`` junctions), so a queued person
        moves up to the door as the queue drains; between moves they stand
        where the last one ended; from ``safe_at`` on they stand at their
        assembly area. In a file before schema 3 places are nodes.
        """
        n = self.n_agents
        t = float(t)
        i = np.searchsorted(self._mkey, np.arange(n) * self._span + t, side="right") - 1
        has = (i >= self._first) & (self._last >= self._first)
        i = np.where(has, i, 0)
        st = np.where(has, self.m_state[i] if i.size and self.m_state.size else WAITING, WAITING).astype(np.int8)
        if not self.m_t0.size:
            node = self.agent_start.copy()
            return self._frame(t, self.agent_xy + self._start_off, st, node)
        u, v, t0, t1 = self.m_u[i], self.m_v[i], self.m_t0[i], self.m_t1[i]
        active = has & (t < t1)
        stopped = has & np.isin(st, STOPPED)
        between = has & ~active & ~stopped
        node = np.where(has, np.where(between, v, u), self.agent_start)
        st = np.where(between, WALKING, st).astype(np.int8)
        f = np.clip((t - t0) / np.maximum(t1 - t0, 1e-9), 0.0, 1.0)
        f = np.where(between, 1.0, f)[:, None]
        xy = np.where(has[:, None], self.m_xy0[i] + f * (self.m_xy1[i] - self.m_xy0[i]), self.agent_xy)
        walking = np.flatnonzero(active & (st == WALKING))
        bent = walking[self.m_poly[i[walking]] >= 0]
        if bent.size:
            xy[bent] = self._along(self.m_poly[i[bent]], f[bent, 0])
        half = walking[f[walking, 0] >= 0.5]
        node[half] = v[half]
        waiting = (st == WAITING) & (node == self.agent_start)
        xy[waiting] += self._start_off[waiting]
        safe = ~np.isnan(self.safe_at) & (t >= self.safe_at)
        st[safe] = SAFE
        xy[safe] = self._safe_xy[safe]
        return self._frame(t, xy, st, node)

    def _frame(self, t: float, xy: np.ndarray, st: np.ndarray, node: np.ndarray) -> Frame:
        queues = np.bincount(node[st == QUEUED], minlength=len(self.node_ids))
        return Frame(t=t, x=xy[:, 0], y=xy[:, 1], state=st, node=node, level=self.node_level[node], queues=queues)

    def _along(self, poly: np.ndarray, f: np.ndarray) -> np.ndarray:
        """Points a share ``f`` of the way along polylines ``poly``."""
        s = f * self._poly_len[poly]
        k = np.searchsorted(self._poly_key, poly * self._poly_big + s, side="right") - 1
        k = np.clip(k, self._poly_start[poly], self._poly_start[poly + 1] - 2)
        a = self._poly_xy[k]
        b = self._poly_xy[k + 1]
        c0 = self._poly_key[k] - poly * self._poly_big
        seg = np.maximum(np.hypot(*(b - a).T), 1e-9)
        w = np.clip((s - c0) / seg, 0.0, 1.0)[:, None]
        return a + w * (b - a)

    def building_numbers(self, building: str, frame: Frame) -> dict[str, Any]:
        """A building's figures at a frame: occupants, still inside, left, safe, trapped, incapacitated, clearance."""
        mine = self.agent_building == building
        here = self.node_building[frame.node] == building
        left = self.left_at[mine]
        return {
            "building": building,
            "occupants": int(mine.sum()),
            "inside_now": int(np.count_nonzero(here & (frame.state != SAFE))),
            "left": int(np.count_nonzero(left <= frame.t)),
            "safe": int(np.count_nonzero(mine & (frame.state == SAFE))),
            "trapped": int(np.count_nonzero(mine & (frame.state == TRAPPED))),
            "incapacitated": int(np.count_nonzero(mine & (frame.state == INCAPACITATED))),
            "clearance_s": float(np.nanmax(left)) if np.any(~np.isnan(left)) else None,
        }


    # -- per building and level ---------------------------------------------

    def _building_codes(self) -> np.ndarray:
        """Index into :attr:`buildings` of each node's building (-1 outdoors); cached."""
        if getattr(self, "_node_b", None) is None:
            pos = {b: i for i, b in enumerate(self.buildings)}
            self._node_b = np.array([pos.get(b, -1) if b else -1 for b in self.node_building], dtype=np.int64)
        return self._node_b

    def heads(self, frame: Frame) -> dict[str, tuple[int, int]]:
        """Per building with anyone in it at a frame: ``(people still inside, of them queued)``.

        What a building shows at campus zoom instead of its dots: the trapped are inside, the safe are not.
        """
        nb = len(self.buildings)
        b = self._building_codes()[frame.node]
        inside = (b >= 0) & (frame.state != SAFE)
        n = np.bincount(b[inside], minlength=nb)
        q = np.bincount(b[inside & (frame.state == QUEUED)], minlength=nb)
        return {self.buildings[i]: (int(n[i]), int(q[i])) for i in np.flatnonzero(n)}

    def inside_by_level(self, samples: int = INSIDE_SAMPLES) -> tuple[np.ndarray, dict[str, dict[int, np.ndarray]]]:
        """People still inside each building, per level, over the run (cached).

        Returns the sample times (s, ``samples`` evenly from 0 to the end)
        and, per building that anyone was in, per level, the people on that
        level at each time (not yet safe; the trapped stay inside). What a
        click on a building shows.
        """
        cached = getattr(self, "_inside", None)
        if cached is not None and cached[0].size == samples:
            return cached
        times = np.linspace(0.0, self.duration, max(2, samples))
        levels = self.levels
        nl = max(1, len(levels))
        nb = len(self.buildings)
        lev_of = np.full(len(self.node_ids), -1, dtype=np.int64)
        known = ~np.isnan(self.node_level)
        lev_of[known] = np.searchsorted(np.array(levels, dtype=float), self.node_level[known])
        codes = self._building_codes()
        counts = np.zeros((times.size, nb * nl), dtype=np.int64)
        for k, t in enumerate(times):
            fr = self.at(float(t))
            b, lv = codes[fr.node], lev_of[fr.node]
            sel = (b >= 0) & (lv >= 0) & (fr.state != SAFE)
            counts[k] = np.bincount(b[sel] * nl + lv[sel], minlength=nb * nl)
        out: dict[str, dict[int, np.ndarray]] = {}
        for i, bname in enumerate(self.buildings):
            block = counts[:, i * nl:(i + 1) * nl]
            used = [j for j in range(nl) if block[:, j].any()]
            if used:
                out[bname] = {levels[j]: block[:, j] for j in used}
        self._inside = (times, out)
        return self._inside

    def focus(self, building: str | None, level: int | None) -> tuple[float, float, float, float] | None:
        """Check a ``--building`` / ``--level`` choice and return the bounds to zoom to (m; None: the whole campus).

        Raises
        ------
        ValueError
            A building the recording does not have, or a level none of its buildings (or that building) has;
            the message lists what it has.
        """
        if building is not None and building not in self.buildings:
            have = ", ".join(self.buildings[:12]) + (" …" if len(self.buildings) > 12 else "")
            msg = f"--building {building!r}: the recording has no such building; it has {have or 'none'}"
            raise ValueError(msg)
        if level is not None:
            mine = self.node_level[self.node_building == building] if building is not None else self.node_level
            have_lv = sorted({int(v) for v in mine[~np.isnan(mine)]})
            if level not in have_lv:
                where = f"building {building}" if building is not None else "the recording"
                msg = f"--level {level}: {where} has no level {level}; it has {', '.join(map(str, have_lv)) or 'none'}"
                raise ValueError(msg)
        if building is None:
            return None
        rings = [o["xy"] for o in self.outlines if o["kind"] == "building" and o["id"] == building]
        pts = np.concatenate(rings) if rings else self.node_xy[self.node_building == building]
        lo, hi = pts.min(axis=0), pts.max(axis=0)
        return float(lo[0]), float(lo[1]), float(hi[0]), float(hi[1])

    def floor(self, level: int) -> list[Any]:
        """The rooms, corridors and stairs of one level of every building (:class:`twin.recording.Shape`), to draw."""
        return [s for s in self.shapes if s.level == level and s.kind in FLOOR_KINDS]


# --------------------------------------------------------------------------
# The clock
# --------------------------------------------------------------------------


@dataclass
class Playback:
    """The playback clock: simulated time, speed and pause.

    Parameters
    ----------
    duration : float
        Length of the recording (s); the clock stays in ``[0, duration]``.
    speed : float
        Simulated seconds per wall second, one of :data:`SPEEDS`.
    """

    duration: float
    t: float = 0.0
    speed: float = 1.0
    paused: bool = False

    def __post_init__(self) -> None:
        if self.speed not in SPEEDS:
            msg = f"speed {self.speed}: choose one of {', '.join(f'{s:g}' for s in SPEEDS)}"
            raise ValueError(msg)

    def tick(self, wall_dt: float) -> float:
        """Advance by ``wall_dt`` wall seconds (nothing while paused); pauses at the end. Returns ``t``."""
        if not self.paused:
            self.t = min(self.duration, self.t + wall_dt * self.speed)
            if self.t >= self.duration:
                self.paused = True
        return self.t

    def toggle(self) -> None:
        """Pause or play; playing at the end starts again from the beginning."""
        if self.paused and self.t >= self.duration:
            self.t = 0.0
        self.paused = not self.paused

    def seek(self, dt: float) -> None:
        """Move the clock by ``dt`` seconds (clamped to the recording)."""
        self.t = min(self.duration, max(0.0, self.t + dt))

    def faster(self) -> None:
        """Next speed up (up to ×64)."""
        k = SPEEDS.index(self.speed)
        self.speed = SPEEDS[min(k + 1, len(SPEEDS) - 1)]

    def slower(self) -> None:
        """Next speed down (down to ×0.25)."""
        k = SPEEDS.index(self.speed)
        self.speed = SPEEDS[max(k - 1, 0)]

    def home(self) -> None:
        """To the start."""
        self.t = 0.0

    def end(self) -> None:
        """To the end."""
        self.t = self.duration


# --------------------------------------------------------------------------
# The view
# --------------------------------------------------------------------------


@dataclass
class View:
    """Campus metres to screen pixels: ``px = (x - cx) * scale + w/2``, y up on the campus, down on screen.

    Attributes
    ----------
    size : (int, int)
        Screen size (px).
    cx, cy : float
        Campus point at the screen centre (m).
    scale : float
        Pixels per metre.
    level : int or None
        Building level shown (None: all levels).
    """

    size: tuple[int, int]
    cx: float = 0.0
    cy: float = 0.0
    scale: float = 1.0
    level: int | None = None
    levels: list[int] = field(default_factory=list)

    def fit(self, bounds: tuple[float, float, float, float], margin: float = 0.05) -> None:
        """Centre and scale to show ``bounds`` (minx, miny, maxx, maxy)."""
        minx, miny, maxx, maxy = bounds
        w, h = self.size
        self.cx, self.cy = (minx + maxx) / 2, (miny + maxy) / 2
        span_x = max(maxx - minx, 1.0) * (1 + 2 * margin)
        span_y = max(maxy - miny, 1.0) * (1 + 2 * margin)
        self.scale = min(w / span_x, h / span_y)

    def to_screen(self, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Screen pixels of campus points."""
        w, h = self.size
        return (np.asarray(x) - self.cx) * self.scale + w / 2, h / 2 - (np.asarray(y) - self.cy) * self.scale

    def to_world(self, px: float, py: float) -> tuple[float, float]:
        """Campus point under a pixel."""
        w, h = self.size
        return self.cx + (px - w / 2) / self.scale, self.cy - (py - h / 2) / self.scale

    def zoom(self, factor: float, at: tuple[float, float] | None = None) -> None:
        """Zoom by ``factor`` keeping the campus point under ``at`` (px; default the centre) in place."""
        w, h = self.size
        px, py = at if at is not None else (w / 2, h / 2)
        wx, wy = self.to_world(px, py)
        self.scale = min(max(self.scale * factor, 1e-3), 1e3)
        self.cx = wx - (px - w / 2) / self.scale
        self.cy = wy + (py - h / 2) / self.scale

    def pan(self, dx: float, dy: float) -> None:
        """Drag the map by ``(dx, dy)`` pixels."""
        self.cx -= dx / self.scale
        self.cy += dy / self.scale

    def next_level(self) -> None:
        """Cycle: all levels → lowest → … → highest → all levels."""
        if not self.levels:
            self.level = None
            return
        if self.level is None:
            self.level = self.levels[0]
        else:
            k = self.levels.index(self.level) if self.level in self.levels else -1
            self.level = self.levels[k + 1] if k + 1 < len(self.levels) else None

    def prev_level(self) -> None:
        """Cycle the other way: all levels → highest → … → lowest → all levels."""
        if not self.levels:
            self.level = None
            return
        if self.level is None:
            self.level = self.levels[-1]
        else:
            k = self.levels.index(self.level) if self.level in self.levels else len(self.levels)
            self.level = self.levels[k - 1] if k > 0 else None


# --------------------------------------------------------------------------
# PedPy / JuPedSim trajectory export
# --------------------------------------------------------------------------

PEDPY_VERSION = 2
"""``metadata.version`` of the JuPedSim SQLite trajectory format written."""


PEDPY_MARGIN = 0.1
"""Metres the walkable area of a level is grown by in the PedPy export, so a person in an exit door (on the outline) is in it."""


def _apart(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Positions (m) of one frame with people on exactly one point (two passing a door node at one instant) set
    up to a few centimetres apart on a small spiral: PedPy's Voronoi cells need distinct points."""
    if x.size < 2:
        return x, y
    _, inv, cnt = np.unique(np.round(np.column_stack([x, y]), 3), axis=0, return_inverse=True, return_counts=True)
    if (cnt == 1).all():
        return x, y
    inv = inv.ravel()
    order = np.argsort(inv, kind="stable")
    starts = np.r_[0, np.flatnonzero(np.diff(inv[order])) + 1]
    rank = np.empty(x.size)
    rank[order] = np.arange(x.size) - np.repeat(starts, np.diff(np.r_[starts, x.size]))
    r, a = 0.02 * np.sqrt(rank), 2.399963 * rank
    return x + r * np.cos(a), y + r * np.sin(a)


def write_pedpy(rec: Replay, path: str | Path, *, fps: float = 2.0, t_from: float = 0.0, t_to: float | None = None,
                building: str | None = None, level: int | None = None) -> Path:
    """Write the trajectories in JuPedSim's SQLite trajectory format, which PedPy reads.

    With ``building`` and ``level``, only the people on that level of that
    building at each frame are written, with that level's walkable area
    (the union of its rooms, corridors and stair landings from the
    recording's ``geometry`` table, grown by :data:`PEDPY_MARGIN`): what
    PedPy's densities and flows need. Without them, everyone on one plane
    with the campus's bounding box as the walkable area.

    Tables ``trajectory_data(frame, id, pos_x, pos_y, ori_x, ori_y)`` and
    ``metadata(key, value)`` (``version``, ``fps``); every person who is not
    yet safe is written at every frame from 0 to the end (people leave the
    trajectory once safe, as they leave a JuPedSim simulation). Orientation
    is the direction of movement since the previous frame (zero when
    standing). Positions are metres in the recording's CRS, shifted so the
    campus's lower-left node is the origin (``metadata.origin_x``/``origin_y``
    hold the shift), since PedPy works in local metres.

    Parameters
    ----------
    rec : Replay
    path : str or Path
        File to write (replaced).
    fps : float
        Frames per simulated second. A campus-wide drill is large: about 50 bytes a row, one row per
        person not yet safe per frame (the demo drill at 1 fps: 6.7 million rows, 340 MB).
    t_from, t_to : float
        Time window exported (s; default the whole run); frame ``k`` is at ``k / fps`` s from the alarm.
    """
    t_to = rec.duration if t_to is None else min(t_to, rec.duration)
    if fps <= 0 or t_to < t_from:
        msg = f"PedPy export: need fps > 0 and --from ({t_from:g}) not after --to ({t_to:g})"
        raise ValueError(msg)
    if (building is None) != (level is None):
        msg = "PedPy export: give --building and --level together (one level of one building), or neither"
        raise ValueError(msg)
    area = None
    if building is not None:
        area = rec.walkable(level, building)
        if area.is_empty:
            have = sorted({(s.building, s.level) for s in rec.shapes if s.kind == "level"}, key=str)
            msg = (f"PedPy export: the recording has no walkable area for building {building!r} level {level}; "
                   f"it has {', '.join(f'{b} L{lv}' for b, lv in have) or 'none (schema 1: record it again)'}")
            raise ValueError(msg)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.unlink(missing_ok=True)
    minx, miny, _, _ = rec.bounds()
    con = sqlite3.connect(path)
    try:
        con.executescript(
            """
            CREATE TABLE metadata (key TEXT NOT NULL UNIQUE PRIMARY KEY, value TEXT NOT NULL);
            CREATE TABLE trajectory_data (frame INTEGER NOT NULL, id INTEGER NOT NULL, pos_x REAL NOT NULL,
                                          pos_y REAL NOT NULL, ori_x REAL NOT NULL, ori_y REAL NOT NULL);
            CREATE TABLE geometry (hash INTEGER NOT NULL, wkt TEXT NOT NULL);
            CREATE TABLE frame_data (frame INTEGER NOT NULL, geometry_hash INTEGER NOT NULL);
            """
        )
        con.executemany("INSERT INTO metadata VALUES (?, ?)", [
            ("version", str(PEDPY_VERSION)), ("fps", f"{fps:g}"), ("origin_x", repr(minx)), ("origin_y", repr(miny)),
            ("crs", str(rec.meta.get("crs", ""))), ("source", "campus-twin recording"),
        ])
        frames = range(int(math.ceil(t_from * fps - 1e-9)), int(math.floor(t_to * fps + 1e-9)) + 1)
        prev = None
        ids = rec.agent_ids
        for k in frames:
            fr = rec.at(k / fps)
            x, y = fr.x - minx, fr.y - miny
            if prev is None:
                ox = np.zeros_like(x)
                oy = np.zeros_like(y)
            else:
                dx, dy = x - prev[0], y - prev[1]
                norm = np.hypot(dx, dy)
                moving = norm > 1e-9
                ox = np.where(moving, dx / np.where(moving, norm, 1), 0.0)
                oy = np.where(moving, dy / np.where(moving, norm, 1), 0.0)
            prev = (x, y)
            here = fr.state != SAFE
            if building is not None:
                here &= (rec.node_building[fr.node] == building) & (fr.level == level)
            keep = np.flatnonzero(here)
            px, py = _apart(x[keep], y[keep])
            con.executemany(
                "INSERT INTO trajectory_data VALUES (?, ?, ?, ?, ?, ?)",
                zip([k] * keep.size, ids[keep].tolist(), px.tolist(), py.tolist(),
                    ox[keep].tolist(), oy[keep].tolist(), strict=True),
            )
        if area is not None:
            wkt = shapely.to_wkt(shapely.transform(area.buffer(PEDPY_MARGIN), lambda c: c - (minx, miny)), rounding_precision=3)
        else:
            minx_w, miny_w, maxx_w, maxy_w = (b - o for b, o in zip(rec.bounds(), (minx, miny, minx, miny), strict=True))
            pad = 50.0
            wkt = (f"POLYGON (({minx_w - pad} {miny_w - pad}, {maxx_w + pad} {miny_w - pad}, {maxx_w + pad} {maxy_w + pad}, "
                   f"{minx_w - pad} {maxy_w + pad}, {minx_w - pad} {miny_w - pad}))")
        con.execute("INSERT INTO geometry VALUES (0, ?)", (wkt,))
        con.executemany("INSERT INTO frame_data VALUES (?, 0)", [(k,) for k in frames])
        con.execute("CREATE INDEX frame_id_idx ON trajectory_data(frame, id)")
        con.commit()
    finally:
        con.close()
    return path

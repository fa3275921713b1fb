"""The pygame replay viewer and the headless frame export.

``twin replay RECORDING`` opens :class:`ReplayApp`; ``twin replay RECORDING
--export DIR`` calls :func:`export_frames`. A recorded exercise has no people
to draw: its buildings are shaded by the people counted in them (share of
design occupancy) and labelled with the count, the alarms that are on are
marked on the map and listed, and the counters are people in buildings and
people counted out since the alarm; the controls are the same. The model — where everyone is
(:class:`viz.replay.Replay`), the clock (:class:`viz.replay.Playback`) and
the view (:class:`viz.replay.View`) — lives in :mod:`viz.replay`; this module
only turns input events into calls on it and draws it. Everything drawn
comes from the recording file: the building and assembly outlines from its
``geometry`` table, the paths from its graph.

Drawing 20,000 people per frame is one numpy scatter into the surface's pixel
array per colour (``pygame.surfarray``), not a Python loop; the campus
(buildings, assembly areas, paths) is drawn once per view change into a
cached background.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from viz.replay_debrief import Debrief
from viz.replay import (
    INCAPACITATED,
    QUEUED,
    SAFE,
    SEEK_STEP,
    STATE_NAMES,
    TRAPPED,
    WAITING,
    WALKING,
    QUEUE_LABEL_MIN,
    Frame,
    Playback,
    Replay,
    View,
    building_geometry,
)

os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")

import pygame  # noqa: E402 - after the prompt is hidden

from viz.replay_exercise import draw_exercise, hud_exercise  # noqa: E402 - imports pygame
from viz.replay_floor import (  # noqa: E402 - imports pygame
    BUILDING_EDGE,
    CLOSED,
    PANEL,
    TEXT,
    LevelSelector,
    draw_floor,
    draw_heads,
    draw_inside,
    hidden_people,
    small_buildings,
)
from viz.replay_floor import fmt_time as _fmt_time  # noqa: E402

# --------------------------------------------------------------------------
# Look
# --------------------------------------------------------------------------

BACKGROUND = (244, 242, 236)
STATE_COLOURS: dict[int, tuple[int, int, int]] = {
    WAITING: (120, 120, 130),  # grey: not yet set off
    WALKING: (25, 101, 192),  # blue
    QUEUED: (230, 120, 0),  # orange
    SAFE: (46, 140, 60),  # green
    TRAPPED: (213, 0, 0),  # red
    INCAPACITATED: (106, 27, 154),  # purple: stopped by the smoke dose
}
"""Dot colour of each state (colour-blind safe pairs: blue/orange, grey/green; red is also marked in the counters)."""
USE_COLOURS = {
    "teaching": (141, 180, 220), "library": (183, 163, 217), "lab": (127, 200, 191), "canteen": (246, 189, 124),
    "admin": (196, 178, 168), "dorm": (238, 162, 189), "sports": (227, 214, 112), "other": (201, 209, 214),
}
"""Building fill by ``use`` (the campus map's colours)."""
ASSEMBLY_FILL = (190, 226, 192)
ASSEMBLY_EDGE = (46, 125, 50)
PATH_COLOURS = {"road": (150, 150, 150), "shared": (239, 125, 0)}
PATH_COLOUR = (150, 135, 120)
INDOOR_COLOUR = (205, 205, 200)
QUEUE_BAR = (230, 120, 0)
OCCUPANCY_CMAP = "Blues"
"""Shade of a building in a recorded exercise by its people ÷ design occupants (light: empty, dark: full)."""
NOT_COUNTED = (222, 224, 226)
"""Fill of a building nobody counts in a recorded exercise (no card doors, no cameras)."""
PX_PER_QUEUED = 0.5
"""Height of a door-queue bar per queued person (px), capped at :data:`MAX_BAR`."""
MAX_BAR = 80
SIDE_PANEL = 390
"""Width (px) of a selected building's numbers and chart, and the level buttons, at the right edge."""
TOP_PANEL = 100
"""Height (px) of the clock panel at the top."""
KEYS_HELP = (
    ("space", "pause / play"),
    ("Left / Right", f"seek -/+{SEEK_STEP:g} s"),
    ("Up / Down", "speed x2 / x0.5 (x0.25 ... x64)"),
    ("Home / End", "start / end"),
    ("wheel, + / -", "zoom"),
    ("drag", "pan"),
    ("f", "fit the campus (or the --building)"),
    ("l / PgUp / PgDn", "next / higher / lower level"),
    ("0 ... 9", "show that level"),
    ("click", "a building: numbers, inside per level"),
    ("?", "show / hide the keys"),
    ("Esc / q", "quit"),
)
EXERCISE_KEYS = (
    ("[ / ]", "previous / next marker (pauses)"),
    ("click the bar", "jump to that time"),
)
"""More keys of a recorded exercise's debrief."""


class ReplayApp:
    """The replay viewer: input events → playback and view; frame → pixels.

    Parameters
    ----------
    rec : Replay
    size : (int, int)
        Window or frame size (px).
    speed : float
        Initial playback speed (one of :data:`viz.replay.SPEEDS`).
    outlines : list of dict, optional
        Building and assembly outlines; default the recording's (:attr:`twin.recording.Recording.outlines`).
    note : str, optional
        Shown at the bottom; default the recording's note (e.g. an old file without outlines).
    building, level : optional
        Zoom to this building and show this level (``--building``, ``--level``); checked by
        :meth:`viz.replay.Replay.focus` (ValueError naming what the recording has).
    """

    def __init__(self, rec: Replay, *, size: tuple[int, int] = (1280, 800), speed: float = 1.0,
                 outlines: list[dict[str, Any]] | None = None, note: str | None = None,
                 building: str | None = None, level: int | None = None) -> None:
        self.rec = rec
        self.playback = Playback(rec.duration, speed=speed)
        self.view = View(size, levels=rec.levels, level=level)
        self.note = rec.note if note is None else note
        self.outlines = rec.outlines if outlines is None else outlines
        self.focus = rec.focus(building, level)
        self.fit()
        self.selector = LevelSelector(rec.levels)
        self.show_help = False
        self.selected: str | None = building
        self.running = True
        self._drag: tuple[int, int] | None = None
        self._dragged = 0.0
        self._bg: pygame.Surface | None = None
        self._bg_key: tuple[Any, ...] | None = None
        if not pygame.font.get_init():
            pygame.font.init()
        self.font = pygame.font.Font(None, 20)
        self.big = pygame.font.Font(None, 28)
        self.frame: Frame = rec.at(0.0)
        self.debrief = Debrief(rec) if rec.is_exercise else None
        """Operator actions, forecasts and counts per floor of a recorded exercise (None for a simulated run)."""
        self._centre, self._extent = building_geometry(self.outlines)
        self._edge_box = np.array([(*xy.min(axis=0), *xy.max(axis=0)) for xy in rec.edges], dtype=float).reshape(-1, 4)
        """Per edge: ``(minx, miny, maxx, maxy)`` (m), to leave out what is off screen."""
        self._building_box = {o["id"]: (*o["xy"].min(axis=0), *o["xy"].max(axis=0)) for o in self.outlines
                              if o["kind"] == "building"}
        """Per building: a point inside it, and top and bottom y and width (m) of its outline, to place its label."""
        if rec.is_exercise:
            from matplotlib import colormaps

            cmap = colormaps[OCCUPANCY_CMAP]
            self._shade = [tuple(int(255 * c) for c in cmap(0.06 + 0.84 * k / 255)[:3]) for k in range(256)]

    def fit(self) -> None:
        """Fit the campus, or the ``building`` chosen, left of its numbers panel (:data:`SIDE_PANEL` px) and under the clock."""
        v = self.view
        if self.focus is None:
            v.fit(self.bounds())
            return
        w, h = v.size
        v.size = (max(w - SIDE_PANEL, w // 2), max(h - 2 * TOP_PANEL, h // 2))
        v.fit(self.focus)
        v.size = (w, h)
        v.cx += (w - max(w - SIDE_PANEL, w // 2)) / 2 / v.scale

    def bounds(self) -> tuple[float, float, float, float]:
        """``(minx, miny, maxx, maxy)`` (m) of the recording's nodes and the outlines drawn."""
        pts = [self.rec.node_xy] + [o["xy"][:, :2] for o in self.outlines]
        xy = np.concatenate([p for p in pts if len(p)])
        lo, hi = xy.min(axis=0), xy.max(axis=0)
        return float(lo[0]), float(lo[1]), float(hi[0]), float(hi[1])

    # -- input -------------------------------------------------------------

    def handle(self, event: pygame.event.Event) -> None:
        """Apply one pygame event to the playback and the view."""
        pb, view = self.playback, self.view
        if event.type == pygame.QUIT:
            self.running = False
        elif event.type == pygame.KEYDOWN:
            key = event.key
            char = getattr(event, "unicode", "")
            if char == "?" or key in (pygame.K_F1, pygame.K_h):
                self.show_help = not self.show_help
            elif key == pygame.K_SPACE:
                pb.toggle()
            elif key == pygame.K_LEFT:
                pb.seek(-SEEK_STEP)
            elif key == pygame.K_RIGHT:
                pb.seek(SEEK_STEP)
            elif key == pygame.K_UP:
                pb.faster()
            elif key == pygame.K_DOWN:
                pb.slower()
            elif key == pygame.K_HOME:
                pb.home()
            elif key == pygame.K_END:
                pb.end()
            elif key == pygame.K_l or key == pygame.K_PAGEUP:
                view.next_level()
            elif key == pygame.K_PAGEDOWN:
                view.prev_level()
            elif char.isdigit() and int(char) in view.levels:
                view.level = int(char)
            elif key in (pygame.K_RIGHTBRACKET, pygame.K_LEFTBRACKET) and self.debrief:
                jump = (self.debrief.next_marker if key == pygame.K_RIGHTBRACKET else self.debrief.prev_marker)(pb.t)
                if jump is not None:
                    pb.t = jump
                    pb.paused = True
            elif key == pygame.K_f:
                self.fit()
            elif key in (pygame.K_PLUS, pygame.K_EQUALS, pygame.K_KP_PLUS):
                view.zoom(1.25)
            elif key in (pygame.K_MINUS, pygame.K_KP_MINUS):
                view.zoom(0.8)
            elif key in (pygame.K_ESCAPE, pygame.K_q):
                if self.show_help:
                    self.show_help = False
                else:
                    self.running = False
        elif event.type == pygame.MOUSEWHEEL:
            view.zoom(1.2 ** event.y, at=pygame.mouse.get_pos() if pygame.display.get_init() else None)
        elif event.type == pygame.MOUSEBUTTONDOWN and event.button == 1:
            self._drag = event.pos
            self._dragged = 0.0
        elif event.type == pygame.MOUSEMOTION and self._drag is not None:
            dx, dy = event.rel
            view.pan(dx, dy)
            self._dragged += abs(dx) + abs(dy)
        elif event.type == pygame.MOUSEBUTTONUP and event.button == 1:
            w, h = view.size
            if self._drag is not None and self._dragged < 4 and event.pos[1] >= h - 24 and w > 16:
                pb.t = min(pb.duration, max(0.0, (event.pos[0] - 8) / (w - 16) * pb.duration))  # on the timeline
            elif self._drag is not None and self._dragged < 4:
                self.click(event.pos)
            self._drag = None

    def click(self, pos: tuple[int, int]) -> str | None:
        """Choose a level on the level selector, or select the building under a pixel (or clear it); returns the building."""
        import shapely

        on, lv = self.selector.hit(pos)
        if on:
            self.view.level = lv
            return self.selected
        wx, wy = self.view.to_world(*pos)
        pt = shapely.Point(wx, wy)
        self.selected = None
        for o in self.outlines:
            if o["kind"] == "building" and shapely.Polygon(o["xy"]).contains(pt):
                self.selected = o["id"]
                break
        return self.selected

    def step(self, wall_dt: float, events: list[pygame.event.Event] | None = None) -> Frame:
        """Handle the queued pygame events (or ``events``), advance the clock by ``wall_dt`` and return the frame."""
        for e in pygame.event.get() if events is None else events:
            self.handle(e)
        self.playback.tick(wall_dt)
        self.frame = self.rec.at(self.playback.t)
        return self.frame

    # -- drawing -----------------------------------------------------------

    def _background(self, surface: pygame.Surface) -> pygame.Surface:
        v = self.view
        key = (surface.get_size(), v.cx, v.cy, v.scale, v.level)
        if self._bg is not None and self._bg_key == key:
            return self._bg
        bg = pygame.Surface(surface.get_size())
        bg.fill(BACKGROUND)
        for o in sorted(self.outlines, key=lambda o: o["kind"] != "assembly"):
            px, py = v.to_screen(o["xy"][:, 0], o["xy"][:, 1])
            pts = np.stack([px, py], axis=1).tolist()
            if len(pts) < 3:
                continue
            if o["kind"] == "assembly":
                pygame.draw.polygon(bg, ASSEMBLY_FILL, pts)
                pygame.draw.polygon(bg, ASSEMBLY_EDGE, pts, 2)
            else:
                fill = NOT_COUNTED if self.rec.is_exercise else USE_COLOURS.get(o.get("use") or "other", USE_COLOURS["other"])
                pygame.draw.polygon(bg, fill, pts)
                pygame.draw.polygon(bg, BUILDING_EDGE, pts, 1)
        rec = self.rec
        plan = v.level is not None and bool(rec.floor(v.level))
        if plan:
            draw_floor(bg, v, rec, v.level)
        for e in np.flatnonzero(self._edges_to_draw(plan)).tolist():
            xy, kind = rec.edges[e], rec.edge_kind[e]
            indoor = not math.isnan(rec.edge_level[e])
            px, py = v.to_screen(xy[:, 0], xy[:, 1])
            pts = np.stack([px, py], axis=1).tolist()
            if indoor:
                pygame.draw.lines(bg, INDOOR_COLOUR, False, pts, 1)
            else:
                width = 3 if kind == "road" else 2
                pygame.draw.lines(bg, PATH_COLOURS.get(kind, PATH_COLOUR), False, pts, width)
        self._bg, self._bg_key = bg, key
        return bg

    def _edges_to_draw(self, plan: bool) -> np.ndarray:
        """Which of the recording's edges the background draws (bool per edge).

        Those on screen, and of indoor edges only those of the level shown (none where its plan is drawn) and
        none in a building that shows its head count instead of dots: panning and zooming redraw the
        background every frame, and most of a campus's edges are indoors.
        """
        v, rec = self.view, self.rec
        w, h = v.size
        (x0, y1), (x1, y0) = v.to_world(0, 0), v.to_world(w, h)
        box = self._edge_box
        keep = (box[:, 2] >= x0) & (box[:, 0] <= x1) & (box[:, 3] >= y0) & (box[:, 1] <= y1)
        indoor = ~np.isnan(rec.edge_level)
        if plan:
            return keep & ~indoor
        if v.level is not None:
            keep &= ~indoor | (rec.edge_level == v.level)
        for b in small_buildings(v, self._extent):
            bx0, by0, bx1, by1 = self._building_box[b]
            keep &= ~(indoor & (box[:, 0] >= bx0) & (box[:, 2] <= bx1) & (box[:, 1] >= by0) & (box[:, 3] <= by1))
        return keep

    def draw(self, surface: pygame.Surface, frame: Frame | None = None) -> None:
        """Draw a frame (default: the current one) onto ``surface``."""
        fr = self.frame if frame is None else frame
        v = self.view
        v.size = surface.get_size()
        surface.blit(self._background(surface), (0, 0))
        rec = self.rec
        if rec.is_exercise:
            draw_exercise(self, surface, fr.t)
        # closures
        for _t, _kind, target in rec.closures_at(fr.t):
            i = rec.node(target)
            lv = rec.node_level[i]
            if v.level is not None and not math.isnan(lv) and lv != v.level:
                continue
            x, y = v.to_screen(rec.node_xy[i, 0], rec.node_xy[i, 1])
            pygame.draw.circle(surface, CLOSED, (float(x), float(y)), 7, 2)
            pygame.draw.line(surface, CLOSED, (x - 5, y - 5), (x + 5, y + 5), 2)
            pygame.draw.line(surface, CLOSED, (x - 5, y + 5), (x + 5, y - 5), 2)
        if rec.is_exercise:
            self._hud(surface, fr)
            return
        badged = small_buildings(v, self._extent)
        draw_dots(surface, v, fr, hide=hidden_people(rec, fr, badged))
        draw_heads(surface, v, rec, fr, self.font, badged, self._centre)
        # door queues: a bar per door before schema 3 (the queue stood on the door); with places, the crowd is
        # drawn and each door with QUEUE_LABEL_MIN or more waiting is labelled with how many
        q = np.flatnonzero(fr.queues >= (QUEUE_LABEL_MIN if rec.placed else 1))
        if v.level is not None:
            lv = rec.node_level[q]
            q = q[np.isnan(lv) | (lv == v.level)]
        q = q[~np.isin(rec.node_building[q], list(badged))] if badged else q
        sx, sy = v.to_screen(rec.node_xy[q, 0], rec.node_xy[q, 1])
        if rec.placed:  # one label per place on screen: with every level shown, the doors above each other add up
            at: dict[tuple[int, int], int] = {}
            for x, y, n in zip(sx.tolist(), sy.tolist(), fr.queues[q].tolist(), strict=True):
                at[(int(x), int(y))] = at.get((int(x), int(y)), 0) + n
            placed: list[pygame.Rect] = []  # the longest queues first; a label covering one already drawn is left out
            for (x, y), n in sorted(at.items(), key=lambda kv: -kv[1]):
                label = self.font.render(f"{n:,} queued", True, QUEUE_BAR)
                box = label.get_rect(bottomleft=(x + 6, y - 4))
                if box.inflate(6, 2).collidelist(placed) >= 0:
                    continue
                placed.append(box.inflate(6, 2))
                pygame.draw.rect(surface, PANEL, box.inflate(6, 2))
                pygame.draw.rect(surface, QUEUE_BAR, box.inflate(6, 2), 1)
                surface.blit(label, box)
        else:
            for x, y, n in zip(sx.tolist(), sy.tolist(), fr.queues[q].tolist(), strict=True):
                h = min(MAX_BAR, max(2.0, n * PX_PER_QUEUED))
                pygame.draw.rect(surface, QUEUE_BAR, pygame.Rect(int(x) + 4, int(y - h), 5, int(h)))
                pygame.draw.rect(surface, TEXT, pygame.Rect(int(x) + 4, int(y - h), 5, int(h)), 1)
        self._hud(surface, fr)

    def _hud(self, surface: pygame.Surface, fr: Frame) -> None:
        if self.rec.is_exercise:
            hud_exercise(self, surface, fr.t)
            return
        pb, v, rec = self.playback, self.view, self.rec
        w, h = surface.get_size()
        c = fr.counts()
        lines = [
            (self.big, f"t = {_fmt_time(fr.t)}  / {_fmt_time(rec.duration)}   x{pb.speed:g}  {'paused' if pb.paused else 'playing'}"),
            (self.font, f"level shown: {'all' if v.level is None else v.level}    people: {c['total']:,}    ? for keys"),
            (self.font, f"inside {c['inside']:,}   outdoors {c['outside']:,}   safe {c['safe']:,}   trapped {c['trapped']:,}   "
                        f"incapacitated {c['incapacitated']:,}"),
        ]
        y = self._panel(surface, lines, 640, extra=self.font.get_linesize() + 4)
        x = 16
        for code, name in enumerate(STATE_NAMES):
            pygame.draw.circle(surface, STATE_COLOURS[code], (x + 5, y + 7), 5)
            label = self.font.render(f"{name} {c[name]:,}", True, TEXT)
            surface.blit(label, (x + 14, y))
            x += label.get_width() + 26
        self._timeline(surface, fr.t, [(et, CLOSED) for et, *_ in rec.events])
        if self.selected:
            nums = rec.building_numbers(self.selected, fr)
            rows = [f"building {self.selected}", f"occupants {nums['occupants']:,}", f"still inside {nums['inside_now']:,}",
                    f"left {nums['left']:,}", f"safe {nums['safe']:,}", f"trapped {nums['trapped']:,}",
                    f"incapacitated {nums['incapacitated']:,}",
                    "clearance " + ("—" if nums["clearance_s"] is None else _fmt_time(nums["clearance_s"]))]
            self._box(surface, rows, (w - 300 - 70, 8), width=300)
            draw_inside(surface, rec, self.selected, fr.t, (w - 300 - 70, 8 + 16 + (self.font.get_linesize() + 2) * len(rows) + 6),
                        self.font)
        self.selector.draw(surface, self.font, v.level)
        self.help(surface)

    def help(self, surface: pygame.Surface) -> None:
        """The keys, in a box in the middle, when asked for (``?``)."""
        if self.show_help:
            w, h = surface.get_size()
            keys = KEYS_HELP + (EXERCISE_KEYS if self.debrief else ())
            self._box(surface, ["keys", *(k for k, _ in keys)], (w // 2 - 190, h // 2 - 150), width=380,
                      second=["", *(what for _, what in keys)])

    def _panel(self, surface: pygame.Surface, lines: list[tuple[pygame.font.Font, str]], width: int, extra: int = 0) -> int:
        """The clock panel at the top left: ``lines`` of (font, text), ``extra`` pixels below them; returns that row's y."""
        panel = pygame.Rect(8, 8, width, 10 + sum(f.get_linesize() + 2 for f, _ in lines) + extra)
        pygame.draw.rect(surface, PANEL, panel)
        pygame.draw.rect(surface, BUILDING_EDGE, panel, 1)
        y = 14
        for font, text in lines:
            surface.blit(font.render(text, True, TEXT), (16, y))
            y += font.get_linesize() + 2
        return y

    def _timeline(self, surface: pygame.Surface, t: float, ticks: list[tuple[float, tuple[int, int, int]]]) -> None:
        """The bar at the bottom: played up to ``t`` s, a tick at each of ``ticks`` (time s, colour: closures, alarms,
        operator actions, forecasts); the note above."""
        w, h = surface.get_size()
        duration = self.rec.duration
        bar = pygame.Rect(8, h - 16, w - 16, 8)
        pygame.draw.rect(surface, PANEL, bar)
        done = int(bar.width * (t / duration if duration else 1.0))
        pygame.draw.rect(surface, STATE_COLOURS[WALKING], pygame.Rect(bar.x, bar.y, done, bar.height))
        for et, colour in ticks:
            ex = bar.x + int(bar.width * min(et / duration, 1.0)) if duration else bar.x
            pygame.draw.line(surface, colour, (ex, bar.y - 3), (ex, bar.bottom + 2), 2)
        pygame.draw.rect(surface, BUILDING_EDGE, bar, 1)
        if self.note:
            surface.blit(self.font.render(self.note, True, CLOSED), (16, h - 36))

    def _box(self, surface: pygame.Surface, rows: list[str], at: tuple[int, int], width: int = 220,
             second: list[str] | None = None) -> None:
        lh = self.font.get_linesize() + 2
        r = pygame.Rect(at[0], at[1], width, 16 + lh * len(rows))
        pygame.draw.rect(surface, PANEL, r)
        pygame.draw.rect(surface, BUILDING_EDGE, r, 1)
        for k, text in enumerate(rows):
            y = r.y + 6 + k * lh + (4 if k else 0)
            surface.blit((self.big if k == 0 else self.font).render(text, True, TEXT), (r.x + 8, y))
            if second and second[k]:
                surface.blit(self.font.render(second[k], True, TEXT), (r.x + 120, y))

    # -- the window --------------------------------------------------------

    def run(self, *, max_frames: int | None = None, fps: int = 60) -> None:
        """Open the window and play until closed (or ``max_frames`` frames)."""
        pygame.display.init()
        screen = pygame.display.set_mode(self.view.size, pygame.RESIZABLE)
        pygame.display.set_caption(f"Campus Twin replay — {self.rec.path.name}")
        clock = pygame.time.Clock()
        frames = 0
        last = time.perf_counter()
        try:
            while self.running and (max_frames is None or frames < max_frames):
                now = time.perf_counter()
                self.step(now - last)
                last = now
                screen = pygame.display.get_surface()
                self.draw(screen)
                pygame.display.flip()
                clock.tick(fps)
                frames += 1
        finally:
            pygame.display.quit()


def draw_dots(surface: pygame.Surface, view: View, fr: Frame, radius: int | None = None,
              hide: np.ndarray | None = None) -> int:
    """Draw everyone (but those ``hide`` marks) as a dot in their state's colour; returns how many were drawn.

    The dot grows with the zoom (a quarter metre, 1 to 4 px), so a queue shows as a crowd.
    One vectorised write per colour and pixel offset into ``pygame.surfarray.pixels3d``:
    no per-person Python call.
    """
    w, h = surface.get_size()
    px, py = view.to_screen(fr.x, fr.y)
    keep = np.isfinite(px) & np.isfinite(py)
    if hide is not None:
        keep &= ~hide
    if view.level is not None:
        keep &= np.isnan(fr.level) | (fr.level == view.level)
    r = radius if radius is not None else int(min(4, max(1, 0.25 * view.scale)))
    xi = np.floor(np.where(keep, px, -1e6)).astype(np.int64)
    yi = np.floor(np.where(keep, py, -1e6)).astype(np.int64)
    keep &= (xi >= r) & (xi < w - r) & (yi >= r) & (yi < h - r)
    offsets = [(dx, dy) for dx in range(-r, r + 1) for dy in range(-r, r + 1) if dx * dx + dy * dy <= r * r + r]
    pix = pygame.surfarray.pixels3d(surface)
    try:
        # safe first, so the moving, the trapped and the incapacitated are drawn on top
        for code in (SAFE, WAITING, WALKING, QUEUED, TRAPPED, INCAPACITATED):
            sel = np.flatnonzero(keep & (fr.state == code))
            if not sel.size:
                continue
            xs, ys = xi[sel], yi[sel]
            colour = np.array(STATE_COLOURS[code], dtype=np.uint8)
            for dx, dy in offsets:
                pix[xs + dx, ys + dy] = colour
    finally:
        del pix
    return int(np.count_nonzero(keep))


# --------------------------------------------------------------------------
# Headless export
# --------------------------------------------------------------------------


def export_frames(
    rec: Replay,
    out_dir: str | Path,
    *,
    fps: float = 10.0,
    speed: float = 32.0,
    t_from: float = 0.0,
    t_to: float | None = None,
    size: tuple[int, int] = (1280, 800),
    gif: bool = True,
    gif_width: int = 800,
    outlines: list[dict[str, Any]] | None = None,
    note: str | None = None,
    progress: Callable[[int, int], None] | None = None,
    building: str | None = None,
    level: int | None = None,
) -> dict[str, Any]:
    """Render the replay to PNG frames (and an animated GIF) with no window.

    A frame is drawn every ``speed / fps`` simulated seconds from ``t_from``
    to ``t_to`` (default the end), and always at ``t_to`` itself, so the
    last frame is the end of the run; the GIF plays at ``fps``. ``building``
    zooms to one building (its still-inside chart shown), ``level`` shows one
    level's floor plan and people (ValueError for ones the recording lacks).

    Returns
    -------
    dict
        ``frames`` (list of PNG paths), ``times`` (s), ``gif`` (path or None).
    """
    os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    t_to = rec.duration if t_to is None else min(t_to, rec.duration)
    t_from = max(0.0, t_from)
    if t_to < t_from:
        msg = f"--from {t_from:g} is after --to {t_to:g}"
        raise ValueError(msg)
    if fps <= 0 or speed <= 0:
        msg = "fps and speed must be > 0"
        raise ValueError(msg)
    step = speed / fps
    times = list(np.arange(t_from, t_to, step)) if t_to > t_from else []
    if not times or times[-1] < t_to:
        times.append(t_to)
    pygame.font.init()
    from viz.replay import SPEEDS

    app = ReplayApp(rec, size=size, speed=speed if speed in SPEEDS else 1.0, outlines=outlines, note=note,
                    building=building, level=level)
    surface = pygame.Surface(size)
    paths: list[Path] = []
    images = []
    for k, t in enumerate(times):
        app.playback.t = float(t)
        app.playback.paused = k == len(times) - 1
        fr = rec.at(float(t))
        app.frame = fr
        app.draw(surface, fr)
        p = out / f"frame_{k:05d}.png"
        pygame.image.save(surface, str(p))
        paths.append(p)
        if gif:
            from PIL import Image

            img = Image.frombytes("RGB", size, pygame.image.tobytes(surface, "RGB"))
            if gif_width and size[0] > gif_width:
                img = img.resize((gif_width, round(size[1] * gif_width / size[0])), Image.Resampling.BILINEAR)
            images.append(img.quantize(colors=255, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE))
        if progress:
            progress(k + 1, len(times))
    gif_path = None
    if gif and images:
        gif_path = out / "replay.gif"
        durations = [int(1000 / fps)] * len(images)
        durations[-1] = 2000  # hold the end
        images[0].save(gif_path, save_all=True, append_images=images[1:], duration=durations, loop=0, optimize=False)
    return {"frames": paths, "times": [float(t) for t in times], "gif": gif_path, "note": app.note}

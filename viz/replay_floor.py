"""What the pygame replay draws per building and level: floor plans, the level selector, head counts, who is inside.

:mod:`viz.replay_app` calls these; the data comes from :class:`viz.replay.Replay`
(the recording's ``geometry`` table and its moves), never from the campus:

* :func:`draw_floor` — the rooms, corridors and stairs of one level, and its doors
  (building exits marked), into the cached background;
* :class:`LevelSelector` — the buttons on the right edge (all, L0, L1, …) that
  show one level; the keys ``l`` / PgUp / PgDn and the digits do the same;
* :func:`draw_heads` — at campus zoom (a building narrower on screen than
  :data:`BADGE_PX`), the building's people still inside and queued as a label
  instead of its dots;
* :func:`draw_inside` — a clicked building's people still inside per level
  over the whole run, with the current time marked.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pygame
import shapely

from viz.replay import BADGE_PX, Frame, Replay, View

FLOOR_FILL = {"room": (252, 251, 247), "corridor": (229, 228, 220), "stair": (205, 180, 140)}
"""Fill of a level's spaces: rooms light, corridors grey, stairs sand (with dark treads)."""
FLOOR_EDGE = (120, 125, 130)
DOOR = (60, 60, 60)
EXIT = (46, 125, 50)
"""Doors of the level shown (dark squares), building exits green."""
LEVEL_COLOURS = [(25, 101, 192), (230, 120, 0), (46, 140, 60), (150, 60, 170), (213, 0, 0), (90, 90, 90),
                 (0, 150, 170), (170, 120, 40)]
"""Line colour of each level in the still-inside chart (cycled)."""
PANEL = (255, 255, 255)
BUILDING_EDGE = EDGE = (79, 91, 98)
TEXT = (30, 30, 30)
CLOSED = (213, 0, 0)
"""Closures, alarms, the trapped (both the window's modules)."""
QUEUE = (230, 120, 0)
SELECTED = (25, 101, 192)


def fmt_time(t: float) -> str:
    """``mm:ss.s`` of a time (s; negative shown as 0)."""
    m, s = divmod(max(t, 0.0), 60)
    return f"{int(m):02d}:{s:04.1f}"


def _rings(geom: Any) -> list[np.ndarray]:
    return [np.asarray(p.exterior.coords)[:, :2] for p in shapely.get_parts(geom) if p.geom_type == "Polygon"]


def draw_floor(surface: pygame.Surface, view: View, rec: Replay, level: int) -> None:
    """Draw level ``level`` of every building: corridors, rooms, stairs (with treads), then its doors."""
    for shape in sorted(rec.floor(level), key=lambda s: ("corridor", "room", "stair").index(s.kind)):
        for ring in _rings(shape.geom):
            px, py = view.to_screen(ring[:, 0], ring[:, 1])
            pts = np.stack([px, py], axis=1).tolist()
            if len(pts) < 3:
                continue
            pygame.draw.polygon(surface, FLOOR_FILL[shape.kind], pts)
            pygame.draw.polygon(surface, FLOOR_EDGE, pts, 1)
            if shape.kind == "stair":
                _treads(surface, view, ring)
    doors = np.flatnonzero((rec.node_kind == "door") & (rec.node_level == level))
    if doors.size:
        half = max(2, min(5, int(0.6 * view.scale)))
        sx, sy = view.to_screen(rec.node_xy[doors, 0], rec.node_xy[doors, 1])
        for x, y, i in zip(sx.tolist(), sy.tolist(), doors.tolist(), strict=True):
            colour = EXIT if rec.node_ids[i] in rec.exit_nodes else DOOR
            pygame.draw.rect(surface, colour, pygame.Rect(int(x) - half, int(y) - half, 2 * half, 2 * half))


def _treads(surface: pygame.Surface, view: View, ring: np.ndarray) -> None:
    """Lines across a stair's long axis every 0.6 m (fewer when zoomed out), so a stair reads as a stair."""
    rect = shapely.Polygon(ring).minimum_rotated_rectangle
    c = np.asarray(rect.exterior.coords)[:4]
    a, b = c[1] - c[0], c[3] - c[0]
    long_, short = (a, b) if np.hypot(*a) >= np.hypot(*b) else (b, a)
    length = float(np.hypot(*long_))
    step = max(0.6, 4.0 / max(view.scale, 1e-6))
    for k in range(1, int(length / step)):
        p = c[0] + long_ * (k * step / length)
        q = p + short
        (x0, x1), (y0, y1) = view.to_screen(np.array([p[0], q[0]]), np.array([p[1], q[1]]))
        pygame.draw.line(surface, FLOOR_EDGE, (x0, y0), (x1, y1), 1)


class LevelSelector:
    """The level buttons at the right edge: "all", then each level of the recording, highest on top."""

    def __init__(self, levels: list[int]) -> None:
        self.options: list[int | None] = [None, *sorted(levels, reverse=True)]
        self.rects: list[pygame.Rect] = []

    def draw(self, surface: pygame.Surface, font: pygame.font.Font, current: int | None) -> None:
        """Draw the buttons, the one shown highlighted, with "level (l)" above them."""
        if len(self.options) < 2:
            self.rects = []
            return
        w, h = surface.get_size()
        bw, bh = 44, 24
        x = w - bw - 10
        y0 = max(8, h // 2 - (len(self.options) * (bh + 4)) // 2)
        title = font.render("level (l)", True, TEXT)
        surface.blit(title, (x + bw - title.get_width(), y0 - 18))
        self.rects = []
        for k, lv in enumerate(self.options):
            r = pygame.Rect(x, y0 + k * (bh + 4), bw, bh)
            on = lv == current
            pygame.draw.rect(surface, SELECTED if on else PANEL, r)
            pygame.draw.rect(surface, EDGE, r, 1)
            label = font.render("all" if lv is None else f"L{lv}", True, PANEL if on else TEXT)
            surface.blit(label, label.get_rect(center=r.center))
            self.rects.append(r)

    def hit(self, pos: tuple[int, int]) -> tuple[bool, int | None]:
        """``(True, level)`` if ``pos`` is on a button (level None: all levels), else ``(False, None)``."""
        for r, lv in zip(self.rects, self.options, strict=False):
            if r.collidepoint(pos):
                return True, lv
        return False, None


def small_buildings(view: View, extent: dict[str, tuple[float, float, float]]) -> set[str]:
    """Buildings narrower on screen than :data:`BADGE_PX`: they show a head count instead of dots."""
    return {b for b, (_top, _bottom, width) in extent.items() if width * view.scale < BADGE_PX}


def hidden_people(rec: Replay, frame: Frame, badged: set[str]) -> np.ndarray:
    """People not drawn as dots: inside a building that shows its head count (True per person)."""
    if not badged:
        return np.zeros(frame.state.size, dtype=bool)
    inside = np.isin(rec.node_building[frame.node], list(badged))
    return inside & ~np.isnan(frame.level)


def draw_heads(surface: pygame.Surface, view: View, rec: Replay, frame: Frame, font: pygame.font.Font,
               badged: set[str], centre: dict[str, tuple[float, float]]) -> int:
    """Label each building in ``badged`` that has people inside: "B 1,234", and "queued 56" in orange. Returns labels drawn."""
    drawn = 0
    for b, (n, q) in sorted(rec.heads(frame).items()):
        if b not in badged or b not in centre:
            continue
        x, y = view.to_screen(*centre[b])
        label = font.render(f"{b} {n:,}", True, TEXT)
        rows = [label] + ([font.render(f"queued {q:,}", True, QUEUE)] if q else [])
        bw = max(r.get_width() for r in rows) + 8
        bh = sum(r.get_height() for r in rows) + 4
        box = pygame.Rect(int(x) - bw // 2, int(y) - bh // 2, bw, bh)
        pygame.draw.rect(surface, PANEL, box)
        pygame.draw.rect(surface, QUEUE if q else EDGE, box, 2 if q else 1)
        yy = box.y + 2
        for r in rows:
            surface.blit(r, (box.x + 4, yy))
            yy += r.get_height()
        drawn += 1
    return drawn


def draw_inside(surface: pygame.Surface, rec: Replay, building: str, t: float, at: tuple[int, int],
                font: pygame.font.Font, size: tuple[int, int] = (300, 170)) -> None:
    """A chart of ``building``'s people still inside per level over the run, a line per level, ``t`` marked."""
    times, per = rec.inside_by_level()
    series = per.get(building, {})
    box = pygame.Rect(at[0], at[1], *size)
    pygame.draw.rect(surface, PANEL, box)
    pygame.draw.rect(surface, EDGE, box, 1)
    surface.blit(font.render(f"{building}: still inside per level", True, TEXT), (box.x + 8, box.y + 6))
    plot = pygame.Rect(box.x + 36, box.y + 26, box.width - 100, box.height - 44)
    top = max((int(c.max()) for c in series.values()), default=0)
    pygame.draw.rect(surface, EDGE, plot, 1)
    surface.blit(font.render(f"{top:,}", True, TEXT), (box.x + 4, plot.y - 4))
    surface.blit(font.render("0", True, TEXT), (box.x + 22, plot.bottom - 10))
    duration = max(rec.duration, 1e-9)
    k = int(np.searchsorted(times, t, side="right")) - 1
    for j, (lv, counts) in enumerate(sorted(series.items())):
        colour = LEVEL_COLOURS[j % len(LEVEL_COLOURS)]
        xs = plot.x + plot.width * times / duration
        ys = plot.bottom - plot.height * counts / max(top, 1)
        pygame.draw.lines(surface, colour, False, np.stack([xs, ys], axis=1).tolist(), 2)
        now = int(counts[max(k, 0)])
        surface.blit(font.render(f"L{lv} {now:,}", True, colour), (plot.right + 6, plot.y + 16 * j))
    cx = plot.x + plot.width * min(t / duration, 1.0)
    pygame.draw.line(surface, TEXT, (cx, plot.y), (cx, plot.bottom), 1)
    end = "—" if not series else f"{int(sum(c[-1] for c in series.values())):,} at the end"
    surface.blit(font.render(f"0 … {math.ceil(duration / 60)} min; {end}", True, TEXT), (plot.x, plot.bottom + 3))

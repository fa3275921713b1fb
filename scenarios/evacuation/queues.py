"""Where people stand in line before a door: per door and space, points filling the space outwards from the door.

When the space beyond a node is full, people arriving at it line up in the
space they are in (the engine's ``_Run.line_place``): the ``k``-th person in
line stands at the ``k``-th point of the line, not on the node. A line's
points are a square grid at the spacing of ``density_max``
(``1 / sqrt(density_max)`` m, 0.73 m at 1.88 persons/m²) over the space's
polygon, nearest the door first. A network's :class:`QueueLines` hands them
out by node numbers, as C calls when compiled (``compiled.MODULES``); the
grids and lines themselves are computed once per campus (by door and space
names, in the store ``network._kept`` gives it), so the live forecasts, a
network per fire alarm, compute each once.
"""

from __future__ import annotations

import math

import numpy as np
import shapely
from shapely.geometry.base import BaseGeometry

QUEUE_HEAD = 32
"""Queue places made Python pairs at a time: a large hall has thousands of points, a line at one of its doors uses
the first few dozen."""
QueueLine = tuple[int, list[tuple[float, float]], np.ndarray]
"""A line's places: how many, the first as pairs (extended as lines grow), all as an array (m)."""
Store = tuple[dict[tuple[str, str], QueueLine], dict[str, np.ndarray]]
"""Lines by (door, space) node names and grids by space node name, shared by the networks of a campus."""


def line_space(u: int, space: int, space_node: list[int], space_is_flight: list[bool]) -> int:
    """The node of the space a line before node ``u`` forms in, for someone in ``space`` (-1: none): that space's
    own node (``space_node``), or off a flight, the landing ``u`` they arrived at."""
    if space < 0:
        return -1
    sn = space_node[space]
    return u if sn < 0 and space_is_flight[space] else sn


class QueueLines:
    """The queue places of one network's spaces, by node number.

    Parameters
    ----------
    names : list of str
        The network's node names, in node order.
    xy : ndarray (n, 2)
        The network's node points (m).
    space_geom : dict
        Per node of a space people stand in, its polygon (m).
    d_max : float
        The density the grid is spaced for (persons/m², ``density_max``).
    store : Store
        Where the lines and grids of the campus are kept (empty dicts: this network's own).
    """

    def __init__(self, names: list[str], xy: np.ndarray, space_geom: dict[int, BaseGeometry], d_max: float,
                 store: Store) -> None:
        self.names = names
        self.xy = xy
        self.space_geom = space_geom
        self.d_max = d_max
        self.n = len(names)
        self.lines: dict[int, QueueLine] = {}
        """This network's lines by ``door * n + space``."""
        self.kept_lines, self.kept_grids = store

    def __reduce__(self) -> tuple[type[QueueLines], tuple[object, ...]]:
        """Pickled without what it computed (a network shipped to a worker computes its lines there)."""
        return QueueLines, (self.names, self.xy, self.space_geom, self.d_max, ({}, {}))

    def planned(self, space: int) -> bool:
        """Whether the space of node ``space`` has a plan to line up in."""
        return self.space_geom.get(space) is not None

    def line(self, door: int, space: int) -> QueueLine:
        """The places of a line for ``door`` in the space of node ``space`` (m), nearest the door first."""
        key = door * self.n + space
        pts = self.lines.get(key)
        if pts is None:
            names = (self.names[door], self.names[space])
            pts = self.kept_lines.get(names)
            if pts is None:
                grid = self.kept_grids.get(names[1])
                if grid is None:
                    grid = self.kept_grids[names[1]] = self.grid(space)
                if not len(grid):
                    grid = self.xy[door][None, :].astype(float)
                dx, dy = self.xy[door].tolist()
                line = grid[np.argsort(np.hypot(grid[:, 0] - dx, grid[:, 1] - dy), kind="stable")]
                pts = self.kept_lines[names] = (len(line), [(x, y) for x, y in line[:QUEUE_HEAD].tolist()], line)
            self.lines[key] = pts
        return pts

    def grid(self, space: int) -> np.ndarray:
        """The grid points of the space of node ``space`` (m; none where it has no area)."""
        poly = self.space_geom.get(space)
        if poly is None or poly.area <= 0:
            return np.empty((0, 2))
        step = 1.0 / math.sqrt(self.d_max)
        minx, miny, maxx, maxy = poly.bounds
        gx, gy = np.meshgrid(np.arange(minx + step / 2, maxx, step), np.arange(miny + step / 2, maxy, step))
        pts = np.column_stack([gx.ravel(), gy.ravel()])
        return pts[shapely.contains_xy(poly, pts[:, 0], pts[:, 1])]

    def place(self, door: int, space: int, k: int) -> tuple[float, float]:
        """Where the ``k``-th person (0: the front) in a line for ``door`` in the space of node ``space`` stands (m).

        Point ``k`` of :meth:`line`; beyond the space's last point (a line
        longer than the space holds at ``density_max``: on a stair, whose
        sloping flights hold more people than its plan shows) the points are
        used again, each round a little off the last along a golden-angle
        spiral, so no two people stand on the same point.
        """
        n, head, line = self.line(door, space)
        i = 0 if n == 1 else max(k, 0) % n
        if i >= len(head):
            head.extend([(x, y) for x, y in line[len(head):i + QUEUE_HEAD].tolist()])
        x, y = head[i]
        layer = max(k, 0) // n
        if layer:
            r = 0.5 / math.sqrt(self.d_max) * layer / (layer + 1)
            a = 2.399963 * layer + 0.7 * (k % n)
            x, y = x + r * math.cos(a), y + r * math.sin(a)
        return x, y

    def front(self, door: int, space: int) -> tuple[float, float]:
        """The front place of a line for ``door`` in the space of node ``space`` (m)."""
        return self.line(door, space)[1][0]

"""What one evacuation replication produced: per person and per exit, and (on recording runs) every move."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

Move = tuple[int, str, float, float, int, int, float, float, float, float]
"""(person, state, t0, t1, from node, to node, x0, y0, x1, y1): one recorded move from place (x0, y0) to (x1, y1) (m);
state is wait, walk, queue, trapped or incapacitated."""


@dataclass
class Replication:
    """What one replication produced: per person and per exit (times in seconds)."""

    index: int
    premovement: np.ndarray
    """Per person, the pre-movement time (s): as drawn, cut by the fire's cues (room of origin, smoke reaching them)."""
    speed: np.ndarray
    """Per person, the free walking speed drawn (m/s)."""
    place: np.ndarray
    """Per person, their place at the start (m, shape (n, 2))."""
    safe_at: np.ndarray
    """Per person, when they reached an assembly area (NaN if they did not)."""
    trapped_at: np.ndarray
    """Per person, when they found every way out closed (NaN if they did not)."""
    building_of: list[str]
    left_building: np.ndarray
    """Per person, when they left their building (NaN if they did not)."""
    by_exit: dict[str, int]
    exit_times: dict[str, list[float]]
    """Times (s) people passed each building exit."""
    servers: list[dict[str, Any]]
    events: int
    moves: list[Move] | None = None
    closures: list[tuple[float, str, str]] = field(default_factory=list)
    dose: np.ndarray | None = None
    """Per person, the fractional effective dose accrued (ISO 13571; 1 = incapacitated); None without a fire."""
    incapacitated_at: np.ndarray | None = None
    """Per person, when their dose reached 1 (s; NaN if it did not); None without a fire."""
    incapacitated_in: list[str] | None = None
    """Per person, the space (node id) where they were incapacitated ("" if they were not); None without a fire."""

    @property
    def occupants(self) -> int:
        """People at the start."""
        return len(self.safe_at)

    @property
    def safe_times(self) -> np.ndarray:
        """Sorted times people reached safety (s)."""
        return np.sort(self.safe_at[~np.isnan(self.safe_at)])

    @property
    def trapped(self) -> int:
        """People with no way out left."""
        return int((~np.isnan(self.trapped_at)).sum())

    @property
    def incapacitated(self) -> int:
        """People whose smoke dose reached 1 (never counted safe, nor trapped)."""
        return 0 if self.incapacitated_at is None else int((~np.isnan(self.incapacitated_at)).sum())

    @property
    def exposed(self) -> int:
        """People who spent any time in a smoke-logged space (dose above 0)."""
        return 0 if self.dose is None else int((self.dose > 0).sum())

    @property
    def unfinished(self) -> int:
        """People still on their way when the run stopped at ``max_time``."""
        return self.occupants - len(self.safe_times) - self.trapped - self.incapacitated

    @property
    def evacuation_time(self) -> float:
        """Time the last person reached safety (s); 0 when nobody moved."""
        return float(np.nanmax(self.safe_at)) if len(self.safe_times) else 0.0

    @property
    def max_speed(self) -> float:
        """The fastest free speed drawn (m/s)."""
        return float(self.speed.max()) if len(self.speed) else 0.0

    @property
    def min_premovement(self) -> float:
        """The shortest pre-movement time drawn (s)."""
        return float(self.premovement.min()) if len(self.premovement) else 0.0

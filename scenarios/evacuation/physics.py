"""Movement physics of the evacuation engine: speeds, densities and flows.

The engine is mesoscopic (SFPE hydraulic model, as in Pathfinder's SFPE mode):

- Each person has a free walking speed (Weidmann 1993: 1.34 ± 0.26 m/s).
- In a space holding ``D`` persons/m², speed falls with density by the SFPE
  relation ``v = k (1 - a D)`` (a = 0.266 m²/person), unimpeded below
  0.54 persons/m². We apply it as a factor on each person's free speed:
  ``f(D) = (1 - a D) / (1 - a 0.54)`` for ``D > 0.54``, else 1.
- Nobody enters a space above ``density_max`` (1.88 persons/m², where SFPE
  specific flow peaks); they queue at its door, so queues back up.
- Doors, openings, gates, stair flights, corridors and outdoor paths pass at most
  ``specific flow × effective width`` persons per second; the effective
  width is the clear width less a boundary layer on each side (SFPE Table
  64.1), the maximum specific flows come from SFPE Table 64.3.
- On stairs people move at Weidmann's horizontal stair speeds (0.694 m/s
  down, 0.610 m/s up), scaled by their own free speed relative to the mean
  and converted to speed along the flight.

All numbers come from the settings table (``docs/settings.md``) through
:func:`twin.settings.value`; a scenario's ``[settings]`` table overrides them.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

from twin.settings import value


class Physics:
    """Settings-derived movement parameters for one scenario.

    Parameters
    ----------
    overrides : mapping of str to float
        Values from the scenario's ``[settings]`` table, by setting name.
    """

    def __init__(self, overrides: Mapping[str, float] | None = None) -> None:
        self.overrides = dict(overrides or {})
        p = self.get
        self.a = p("sfpe_a")
        self.d_free = p("density_free")
        self.d_max = p("density_max")
        self.f_norm = 1 - self.a * self.d_free
        """SFPE speed at ``density_free`` relative to ``k``: the density factor is ``(1 - a D) / f_norm``."""
        self.walk_speed_mean = p("walk_speed_mean")
        self.speed_floor = p("walk_speed_floor")
        """Lowest free speed a person walks at (m/s), whatever the scenario's distribution draws."""
        self.density_factor_min = p("density_speed_factor_min")
        """Lowest speed factor density brings (share of the free speed)."""
        self.width_min = p("effective_width_min")
        self.width_unknown = p("width_unknown")
        self.reroute_interval = p("reroute_interval")
        self.full_space_penalty = p("reroute_full_space")
        slope = math.hypot(p("stair_tread"), p("stair_riser")) / p("stair_tread")
        self.stair_down = p("stair_speed_down") * slope / p("walk_speed_mean")
        """Speed factor along a flight going down (relative to level free speed)."""
        self.stair_up = p("stair_speed_up") * slope / p("walk_speed_mean")
        """Speed factor along a flight going up."""

    def get(self, name: str) -> float:
        """A setting's value for this scenario: :func:`twin.settings.value` with the scenario's overrides."""
        return value(name, self.overrides)

    def door_rate(self, width: float) -> float:
        """Flow capacity of a door or opening of clear ``width`` m, persons/s."""
        return self.get("flow_door") * max(self.width_min, width - 2 * self.get("boundary_door"))

    def stair_rate(self, width: float) -> float:
        """Flow capacity of a stair of clear ``width`` m, persons/s."""
        return self.get("flow_stair") * max(self.width_min, width - 2 * self.get("boundary_stair"))

    def path_rate(self, width: float) -> float:
        """Flow capacity of a corridor, footway or gate of clear ``width`` m, persons/s."""
        return self.get("flow_corridor") * max(self.width_min, width - 2 * self.get("boundary_corridor"))

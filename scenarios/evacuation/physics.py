"""Movement physics of the evacuation engine: speeds, densities and flows, in two capacity modes.

The engine is mesoscopic (a hydraulic network model, as Pathfinder's SFPE
mode, with people as individuals on it). A scenario's ``capacity`` picks how
doors, stairs, corridors and paths pass people:

- ``"design"`` (the default): SFPE Handbook (2016) ch. 64 specific flows on
  the *effective* width, the clear width less a boundary layer on each side
  (Table 64.1), maximum specific flows from Table 64.3 (1.32 persons/(m·s)
  for doors and corridors, 1.01 for 7/11 stairs). This is what codes and
  approving authorities accept; it is about half of what laboratory crowds
  achieve, so it is conservative.
- ``"measured"``: bottleneck flows from experiments, linear in the *clear*
  width (no boundary layer): about 1.9 persons/(m·s) through a short
  bottleneck such as a door (Seyfried et al. 2009; Kretz et al. 2006; linear
  up to 5 m, Liao et al. 2014), less through a long one such as a corridor
  or a footway, whose capacity is the maximum of its fundamental diagram
  (Zhang & Seyfried 2013 distinguish short-bottleneck, long-bottleneck and
  corridor capacities), and on stairs the stair experiments' maximum.

Speed falls with density (the fundamental diagram, the same in both modes),
the density being the people *walking* in a space (those still in
pre-movement stand aside): SFPE's ``v = min(v_free, k (1 - a D))`` above
0.54 persons/m² (k = 1.40 m/s on the level, 1.08 m/s along a 7/11 stair),
so 0.70 m/s at 1.88 persons/m² on the level, within 8 % of Weidmann's (1993)
0.65 m/s (RiMEA test 4 in ``twin verify``). It has a congested branch: the
flow ``D v(D)`` peaks at 1.88 persons/m² and falls beyond it, to standstill
at 3.76. Nobody enters a space above ``density_max`` (1.88 persons/m²);
they queue at its door, so queues back up. A space therefore carries at
most ``density_max × v(density_max) × width`` (1.32 persons/(m·s) on the
level, 1.01 on a stair): in the measured mode a flight passes no more than
that, whatever its entry capacity (the data's stair flows are no higher).
Weidmann's relation is not used for movement: its peak flow, 1.22
persons/(m·s), is below every measured bottleneck flow, so it would make the
measured mode slower than the design one (Seyfried et al. 2009 discuss the
discrepancy).

On stairs people move at Weidmann's horizontal stair speeds (0.694 m/s down,
0.610 m/s up), scaled by their own free speed relative to the mean and
converted to speed along the flight; going up, the crowd speed ``k (1 - a D)``
and a flight's flow capacity are scaled by the same ratio (0.88: at the same
density, flow is density times speed).

Fire tenability (:meth:`Physics.fed_rate`): a person in a smoke-logged
space accrues a fractional effective dose in the form of ISO 13571:2012 and
Purser (SFPE Handbook, 5th ed. 2016, ch. 63): asphyxiant gases as carbon
monoxide, ``C_CO / 35,000`` per minute (C in ppm), plus convected heat,
``1 / (5 × 10^7 T^-3.4)`` per minute (T in °C); at a dose of 1 they are
incapacitated. How smoke spreads: ``scenarios/evacuation/network.py``.

All numbers come from the settings table (``docs/settings.md``) through
:func:`twin.settings.value`; a scenario's ``[settings]`` table overrides them.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Literal

from twin.settings import value

Capacity = Literal["design", "measured"]
"""How doors, stairs, corridors and paths pass people (see the module docstring)."""

CAPACITIES: tuple[Capacity, ...] = ("design", "measured")


class Physics:
    """Settings-derived movement parameters for one scenario.

    Parameters
    ----------
    overrides : mapping of str to float
        Values from the scenario's ``[settings]`` table, by setting name.
    capacity : {"design", "measured"}
        The capacity mode: SFPE design flows on effective widths, or measured
        bottleneck flows on clear widths (module docstring).
    """

    def __init__(self, overrides: Mapping[str, float] | None = None, capacity: Capacity = "design") -> None:
        if capacity not in CAPACITIES:
            msg = f"capacity must be one of {', '.join(CAPACITIES)}, got {capacity!r}"
            raise ValueError(msg)
        self.overrides = dict(overrides or {})
        self.capacity: Capacity = capacity
        p = self.get
        self.a = p("sfpe_a")
        self.k = p("sfpe_k")
        self.k_stair = p("sfpe_k_stair")
        self.d_free = p("density_free")
        self.d_max = p("density_max")
        self.gamma = p("weidmann_gamma")
        self.d_jam = p("weidmann_jam")
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
        self.stair_up_flow = p("stair_speed_up") / p("stair_speed_down")
        """A flight's capacity going up as a share of its capacity going down (same density, slower walk)."""

    def __reduce__(self) -> tuple[type[Physics], tuple[dict[str, float], Capacity]]:
        """Pickled as its settings, alike whether this module is compiled or not (a network is shipped to workers)."""
        return Physics, (self.overrides, self.capacity)

    def fed_rate(self, co_ppm: float, temperature: float) -> float:
        """Fractional effective dose accrued per second (1/s) in ``co_ppm`` ppm of CO at ``temperature`` °C.

        ISO 13571:2012 / Purser: ``C_CO / K_CO`` per minute with K_CO =
        35,000 ppm·min, plus ``1 / t_Iconv`` per minute with ``t_Iconv = a
        T^-b`` min (a = 5 × 10^7, b = 3.4); no heat dose at or below the
        ambient temperature.
        """
        gas = co_ppm / self.get("fed_co_dose")
        heat = 0.0
        if temperature > self.get("ambient_temperature"):
            heat = 1.0 / (self.get("fed_heat_a") * temperature ** -self.get("fed_heat_b"))
        return (gas + heat) / 60.0

    def get(self, name: str) -> float:
        """A setting's value for this scenario: :func:`twin.settings.value` with the scenario's overrides."""
        return value(name, self.overrides)

    # -- the fundamental diagram ------------------------------------------------

    def speed(self, v_free: float, density: float, stair: int = 0) -> float:
        """Speed (m/s, along the way) of someone of level free speed ``v_free`` m/s among ``density`` walking persons/m².

        ``stair`` is 0 on the level, -1 down a flight, +1 up one. Free:
        ``v_free`` (times the stair factor on a flight); above
        ``density_free`` at most SFPE's ``k (1 - a D)`` (k for the level or
        the stair, times ``stair_up_flow`` going up). Never below
        ``density_speed_factor_min`` of the free speed (a crowd past
        standstill density still creeps).
        """
        free = v_free * (1.0 if stair == 0 else self.stair_down if stair < 0 else self.stair_up)
        if density <= self.d_free:
            return free
        k = self.k if stair == 0 else self.k_stair * (self.stair_up_flow if stair > 0 else 1.0)
        return max(self.density_factor_min * free, min(free, k * (1 - self.a * density)))

    def specific_flow(self, density: float, stair: int = 0) -> float:
        """Specific flow (persons/(m·s)) of a crowd at ``density`` persons/m² walking at the mean free speed."""
        return density * self.speed(self.walk_speed_mean, density, stair)

    def weidmann_speed(self, v_free: float, density: float) -> float:
        """Weidmann's (1993) level speed at ``density`` persons/m² (m/s): the reference of RiMEA test 4, not used for movement."""
        if density <= 0:
            return v_free
        return max(0.0, v_free * (1 - math.exp(-self.gamma * (1 / density - 1 / self.d_jam))))

    # -- capacities -------------------------------------------------------------

    def _rate(self, width: float, design_flow: str, boundary: str, measured_flow: str) -> float:
        if self.capacity == "design":
            return self.get(design_flow) * max(self.width_min, width - 2 * self.get(boundary))
        return self.get(measured_flow) * max(self.width_min, width)

    def door_rate(self, width: float) -> float:
        """Flow capacity of a door or opening (a short bottleneck) of clear ``width`` m, persons/s."""
        return self._rate(width, "flow_door", "boundary_door", "flow_measured_door")

    def stair_rate(self, width: float, *, up: bool = False) -> float:
        """Flow capacity of a stair flight of clear ``width`` m, persons/s, going down (or ``up``)."""
        rate = self._rate(width, "flow_stair", "boundary_stair", "flow_measured_stair")
        return rate * self.stair_up_flow if up else rate

    def path_rate(self, width: float) -> float:
        """Flow capacity of a corridor, footway or gate (a long bottleneck) of clear ``width`` m, persons/s."""
        return self._rate(width, "flow_corridor", "boundary_corridor", "flow_measured_corridor")

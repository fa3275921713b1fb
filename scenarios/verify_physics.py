"""Verification cases for the physics of issue 14: the fundamental diagram (RiMEA test 4), bottleneck flow
against the experimental series, a multi-storey building in both capacity modes against the hand hydraulic
calculation, and smoke dose against ISO 13571.

The cases share ``scenarios/verify_base.py`` with the rest of the suite (``scenarios/verify.py`` lists them).

References
----------
- U. Weidmann, *Transporttechnik der Fussgänger*, ETH IVT Schriftenreihe 90 (1993): the speed-density relation.
- SFPE Handbook, 5th ed. (2016), ch. 64: v = k (1 - a D), specific flows, boundary layers.
- A. Seyfried et al., *New insights into pedestrian flow through bottlenecks*, Transportation Science 43(3),
  395-406 (2009): flow through 0.8-1.2 m bottlenecks, about 1.9 persons/(m·s); W. Liao et al., *Experimental
  study on pedestrian flow through wide bottleneck*, Transportation Research Procedia 2, 26-33 (2014): linear
  in width up to 5 m.
- ISO 13571:2012, *Life-threatening components of fire*: fractional effective dose of CO and convected heat.
"""

from __future__ import annotations

import math

import numpy as np

from maps.builder import CampusBuilder
from scenarios.evacuation import Physics
from scenarios.verify_base import RIMEA, SFPE, Case, Context, above_bound, rel, within
from twin.indoor import flight_length
from twin.settings import default

WIDTHS = (0.8, 1.0, 1.2, 2.4)
"""Bottleneck widths (m) of the experimental series compared: Seyfried et al. 2009 (0.8-1.2), Liao et al. 2014 (2.4)."""


def case_rimea4(ctx: Context) -> Case:
    """The speed-density relation the engine applies in every space against Weidmann's, and its congested branch."""
    phys = Physics()
    v0 = phys.walk_speed_mean
    dens = (0.5, 1.0, 1.5, 2.0, 2.5, 3.0)
    ratios = [phys.speed(v0, d) / phys.weidmann_speed(v0, d) for d in dens]
    worst = max(abs(r - 1) for r in ratios)
    congested = phys.specific_flow(2.5) < phys.specific_flow(1.88) and phys.specific_flow(3.5) < phys.specific_flow(2.5)
    return Case(
        "rimea-4-fundamental-diagram", f"{RIMEA} test 4; Weidmann (1993); {SFPE}",
        "largest relative difference of our crowd speed from Weidmann's at 0.5-3.0 persons/m² (1)", (0.0, 0.2), worst,
        "≤ 20 %: handbook and laboratory diagrams differ by about this much (Seyfried et al. 2009), and flow falls "
        "beyond its peak (congested branch)", bool(worst <= 0.2 and congested),
        "ours / Weidmann at " + ", ".join(f"{d:g}: {r:.2f}" for d, r in zip(dens, ratios, strict=True))
        + f"; specific flow 1.88 / 2.5 / 3.5 persons/m²: {phys.specific_flow(1.88):.2f} / {phys.specific_flow(2.5):.2f} / "
        f"{phys.specific_flow(3.5):.2f} persons/(m·s). A network model applies the relation per space; RiMEA's "
        "measurement in a corridor of moving people needs a microscopic model, so this checks the relation the "
        "engine uses (density from the people walking in a space), not an emergent one.",
    )


def _room_flow(ctx: Context, width: float, capacity: str) -> float:
    """Steady flow (persons/s) through one door of ``width`` m out of a 12 × 12 m room of 200 people at rest."""
    c = CampusBuilder(f"bottleneck_{width:g}")
    c.area("B", "building", (0, 0, 12, 12), levels=1, use="other")
    c.area("HALL", "room", (0, 0, 12, 12), building="B", level=0, use="other", occupants=200)
    c.door("EXIT", (12, 6), building="B", level=0, width=width)
    c.line("FW", "footway", [(12, 6), (17, 6)], width=6.0)
    c.area("AA", "assembly", (17, -10, 37, 22))
    sim = ctx.simulate(f"bottleneck_{width:g}_{capacity}", c, premovement=0, capacity=capacity)
    t = np.sort(sim.rep.exit_times.get("EXIT", []))
    k = len(t) // 10  # the steady part: without the first and last tenth
    return (len(t) - 1 - 2 * k) / (t[-1 - k] - t[k]) if len(t) > 20 else math.nan


def case_bottleneck_series(ctx: Context) -> Case:
    """Measured-capacity flow against bottleneck width, fitted through the origin, against the experiments' 1.9 persons/(m·s)."""
    flows = [_room_flow(ctx, w, "measured") for w in WIDTHS]
    design = [_room_flow(ctx, w, "design") for w in WIDTHS]
    w = np.array(WIDTHS)
    slope = float(np.dot(w, flows) / np.dot(w, w))
    lin = max(abs(f / (slope * x) - 1) for f, x in zip(flows, WIDTHS, strict=True))
    exp = (1.9 * 0.85, 1.9 * 1.15)
    return Case(
        "bottleneck-flow-vs-width", "Seyfried et al. 2009 (Transp. Sci. 43:395); Liao et al. 2014 (Transp. Res. Proc. 2:26)",
        "specific flow through a bottleneck, slope of flow vs width, measured capacities (persons/(m·s))", exp, slope,
        "1.9 ± 15 %: the scatter of the experiments' specific flows (about 1.6-2.2 across runs and widths); "
        "and linear within 5 %", bool(within(slope, exp) and lin <= 0.05),
        "flow (persons/s) at " + ", ".join(f"{x:g} m: {f:.2f} (design {d:.2f})" for x, f, d in zip(WIDTHS, flows, design, strict=True))
        + f"; largest departure from linear {lin:.1%}. The measured mode's door capacity is the data's mean, so this "
        "checks that a queue through a real door delivers it, not the data themselves.",
    )


def _building(ctx: Context, capacity: str) -> Case:
    """Three storeys of 100 people down one 1.2 m stair against the hand hydraulic calculation, in ``capacity`` mode."""
    per_floor, floors, w_stair, w_door, w_exit = 100, 3, 1.2, 1.2, 1.2
    levels = floors + 1
    c = CampusBuilder("sfpe_building")
    c.area("B", "building", (0, 0, 24, 10), levels=levels, use="other")
    c.area("S", "stair", (20, 0, 24, 10), building="B", levels=f"0-{floors}", width=w_stair)
    for lv in range(1, levels):
        c.area(f"R{lv}", "room", (0, 0, 20, 10), building="B", level=lv, use="other", occupants=per_floor)
        c.door(f"D{lv}", (20, 5), building="B", level=lv, width=w_door, exit=False)
    c.door("EXIT", (24, 5), building="B", level=0, width=w_exit)
    c.line("FW", "footway", [(24, 5), (29, 5)])
    c.area("AA", "assembly", (29, -5, 49, 15))
    v = default("walk_speed_mean")
    sim = ctx.simulate(f"sfpe_building_{capacity}", c, premovement=0, speed=v, capacity=capacity)
    phys = Physics(capacity=capacity)  # type: ignore[arg-type]
    n = per_floor * floors
    f_stair = phys.stair_rate(w_stair)
    f_carry = phys.specific_flow(phys.d_max, stair=-1) * w_stair  # a full flight carries no more than its diagram allows
    f_door, f_exit = phys.door_rate(w_door), phys.door_rate(w_exit)
    flight = flight_length(default("storey_height"))
    # Distances from the geometry: a room's node is its centroid (10, 5), its stair door is at (20, 5), a stair
    # landing's node is the shaft's centroid (22, 5), the exit is at (24, 5) and the footway is 5 m long.
    room_to_door, door_to_landing, landing_to_exit, footway = 10.0, 2.0, 2.0, 5.0
    first = (room_to_door + door_to_landing) / v
    controlling = min(f_stair, f_carry, f_door * floors, f_exit)
    flow_time = n / controlling
    tail = flight / (v * phys.stair_down) + (landing_to_exit + footway) / v
    exp = first + flow_time + tail
    t = sim.evacuation_time
    return Case(
        f"sfpe-hydraulic-building-{capacity}", f"{SFPE} hydraulic model hand calculation ({capacity} capacities)",
        f"evacuation time of {floors} storeys × {per_floor} people down one {w_stair:g} m stair (s)", exp, t,
        "±15 % (the hand calculation ignores the queue's start-up and the merging at landings), and ≥ the flow lower bound",
        bool(within(t, rel(exp, 0.15)) and above_bound(sim)),
        f"first person to the bottom flight {first:.1f} s + {n} ÷ {controlling:.3f} persons/s (stair {f_stair:.3f}, "
        f"a full flight carries {f_carry:.3f}, floor doors {f_door:.3f} each, exit {f_exit:.3f}) = {flow_time:.1f} s "
        f"+ last flight and walk out {tail:.1f} s; lower bound {sim.lower_bound:.1f} s",
    )


def case_building_design(ctx: Context) -> Case:
    return _building(ctx, "design")


def case_building_measured(ctx: Context) -> Case:
    return _building(ctx, "measured")


def case_fire_dose(ctx: Context) -> Case:
    """People in a dead-end room behind a corridor smoke fills: their dose reaches 1 when ISO 13571 says."""
    c = CampusBuilder("fire_dead_end")
    c.area("B", "building", (0, 0, 40, 12), levels=1, use="other")
    c.area("C", "corridor", (0, 0, 40, 2), building="B", level=0, occupants=0)
    c.area("FIRE", "room", (0, 2, 10, 12), building="B", level=0, use="other", occupants=0)
    c.area("END", "room", (30, 2, 40, 12), building="B", level=0, use="other", occupants=20)
    c.door("D_FIRE", (5, 2), building="B", level=0, width=0.9, exit=False)
    c.door("D_END", (35, 2), building="B", level=0, width=0.9, exit=False)
    c.door("EXIT", (0, 1), building="B", level=0, width=1.2)
    c.line("FW", "footway", [(0, 1), (-5, 1)])
    c.area("AA", "assembly", (-25, -9, -5, 11))
    spread = 30.0
    sim = ctx.simulate("fire_dead_end", c, premovement=600, fire={"origin": "FIRE", "start": 0, "spread_delay": spread})
    phys = Physics()
    k, amb = 2, phys.get("ambient_temperature")  # END is two rings from the fire: FIRE -> C -> END
    co = phys.get("fire_co_ppm") * phys.get("smoke_dilution") ** k
    temp = amb + (phys.get("fire_temperature") - amb) * phys.get("smoke_dilution") ** k
    per_min = co / phys.get("fed_co_dose") + temp ** phys.get("fed_heat_b") / phys.get("fed_heat_a")
    exp = k * spread + 60 / per_min
    r = sim.rep
    t = float(np.nanmedian(r.incapacitated_at)) if r.incapacitated_at is not None and r.incapacitated else math.nan
    return Case(
        "fire-dead-end-dose", "ISO 13571:2012 FED (CO and convected heat); Purser, SFPE Handbook 5th ed. ch. 63",
        "time the dead-end room's people are incapacitated (s)", exp, t,
        "±1 % (the hand value of the same constants: this checks the dose bookkeeping)",
        bool(within(t, rel(exp, 0.01)) and r.incapacitated == 20),
        f"smoke reaches END at {k * spread:.0f} s with {co:.0f} ppm CO at {temp:.1f} °C: FED {co:.0f}/35,000 + "
        f"{temp:.1f}^3.4/5e7 = {per_min:.4f} per min, so 1 after {60 / per_min:.0f} s; the corridor closed at "
        f"{spread:.0f} s, so they cannot leave; {r.incapacitated} incapacitated, {r.trapped} trapped, "
        f"{len(r.safe_times)} safe",
    )

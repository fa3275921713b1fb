"""The project's verification suite: RiMEA / NIST TN 1822 style tests and hand calculations.

Each case builds a tiny campus in code with ``maps.builder.CampusBuilder`` (a GeoJSON FeatureCollection in
EPSG:32650, UTM zone 50N, metres), loads it with ``twin.campus.load_campus``,
runs an evacuation scenario on it with the real engine
(``scenarios.evacuation.run`` and ``scenarios.evacuation.Drill``; the traffic case
runs ``scenarios.traffic``) and compares one
measured quantity with a published number or a hand calculation, within a
stated tolerance. ``twin verify`` prints the table; ``docs/verification.md``
describes every case and its reference.

References
----------
- RiMEA e.V., *Richtlinie für Mikroskopische Entfluchtungsanalysen* (Guideline
  for Microscopic Evacuation Analysis), version 4.1.1, section on test cases
  (tests 1-3: speeds in a corridor and on stairs; 5: reaction (pre-movement)
  times; 9: a crowd leaving a large room; 10: exit assignment; 11: exit
  choice; 12: bottlenecks). The cases of door and exit choice (9, 11, a
  two-door room) are in ``scenarios/verify_exits.py``; the case record and
  the run context every case shares in ``scenarios/verify_base.py``.
- E. Ronchi, E. D. Kuligowski, P. A. Reneke, R. D. Peacock, D. Nilsson, *The
  Process of Verification and Validation of Building Fire Evacuation Models*,
  NIST Technical Note 1822, 2013 (pre-evacuation time, speed in a corridor,
  speed on stairs, exit route allocation, flow conditions / maximum flow).
- SFPE Handbook of Fire Protection Engineering, 5th ed. (2016), ch. 64
  (Gwynne & Rosenbaum, "Employing the hydraulic model in assessing emergency
  movement"): Table 64.1 boundary layers, Table 64.3 maximum specific flows,
  the hydraulic hand calculation.
- U. Weidmann, *Transporttechnik der Fussgänger*, ETH IVT Schriftenreihe 90
  (1993): horizontal stair speeds 0.610 m/s up, 0.694 m/s down.
- Transportation Research Board, *Highway Capacity Manual* 2010, ch. 18: base
  saturation flow 1,900 pc/h/ln; G. F. Newell, *A simplified car-following
  theory: a lower order model*, Transp. Res. B 36(3), 2002 (the traffic
  engine's lane capacity, 1 / (tau + d / v)).

Every case uses a fixed seed and one replication; the whole suite runs in a
few seconds.
"""

from __future__ import annotations

import math
import tempfile
from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from maps.builder import CampusBuilder
from scenarios.evacuation import Physics
from scenarios.schema import parse_scenario
from scenarios.traffic.demand import draw_demand
from scenarios.traffic.engine import run_layout
from scenarios.traffic.network import Network
from scenarios.verify_base import (
    NIST,
    RIMEA,
    SEED,
    SFPE,
    Case,
    Context,
    Sim,
    above_bound,
    num,
    rel,
    within,
)
from scenarios.verify_exits import RUNS, case_rimea9, case_rimea11, case_two_doors
from scenarios.verify_peer import PEER_CASES
from scenarios.verify_physics import (
    case_bottleneck_series,
    case_building_design,
    case_building_measured,
    case_fire_dose,
    case_rimea4,
)
from twin.campus import load_campus
from twin.indoor import flight_length
from twin.settings import default

# -- 1. RiMEA test 1 / NIST speed in a corridor -----------------------------------------


def _corridor(ctx: Context) -> Sim:
    c = CampusBuilder("rimea1_corridor")
    c.area("B", "building", (-2, 0, 40, 2), levels=1, use="other")
    c.area("START", "room", (-2, 0, 0, 2), building="B", level=0, use="other", occupants=1)
    c.area("CORR", "corridor", (0, 0, 40, 2), building="B", level=0, occupants=0)
    c.door("D_IN", (0, 1), building="B", level=0, width=2.0)
    c.door("EXIT", (40, 1), building="B", level=0, width=2.0)
    c.line("FW", "footway", [(40, 1), (45, 1)])
    c.area("AA", "assembly", (45, -5, 55, 7))
    return ctx.simulate("rimea1_corridor", c, premovement=0, speed=1.33)


def case_rimea1(ctx: Context) -> Case:
    sim = _corridor(ctx)
    walks = sim.walks("D_IN", "EXIT")
    t = walks[0][2] - walks[0][1] if len(walks) == 1 else math.nan
    exp = (26.0, 34.0)
    return Case(
        "rimea-1-corridor", f"{RIMEA} test 1; {NIST} speed in a corridor",
        "time to walk 40 m of a 2 m corridor at 1.33 m/s (s)", exp, t, "RiMEA: 26-34 s", within(t, exp),
        f"hand value 40 / 1.33 = {40 / 1.33:.2f} s; walks of the 40 m edge found: {len(walks)}",
    )


# -- 2. RiMEA test 5 / NIST pre-evacuation time ---------------------------------------------


def case_premovement(ctx: Context) -> Case:
    n, lo, hi = 1000, 10.0, 100.0
    c = CampusBuilder("rimea5_premovement")
    c.area("B", "building", (0, 0, 40, 30), levels=1, use="other")
    c.area("HALL", "room", (0, 0, 40, 30), building="B", level=0, use="other", occupants=n)
    c.door("EXIT", (40, 15), building="B", level=0, width=6.0)
    c.line("FW", "footway", [(40, 15), (45, 15)])
    c.area("AA", "assembly", (45, 0, 65, 30))
    sim = ctx.simulate("rimea5_premovement", c, premovement={"dist": "uniform", "low": lo, "high": hi})
    pre_end: dict[int, float] = {}
    first_walk: dict[int, float] = {}
    for p, st, t0, t1, _u, _v, *_ in sim.rep.moves or []:
        if st == "wait":
            pre_end[p] = t1
        elif st == "walk" and p not in first_walk:
            first_walk[p] = t0
    starts = np.array([first_walk[p] for p in sorted(first_walk)])
    from scipy import stats  # here, not at the top: ~0.5 s of imports every importer of this module paid for one case

    ks = stats.kstest(starts, stats.uniform(loc=lo, scale=hi - lo).cdf) if len(starts) else None
    d = float(ks.statistic) if ks is not None else math.nan
    crit = 1.358 / math.sqrt(n)
    early = sum(1 for p, t in first_walk.items() if t < pre_end.get(p, math.inf) - 1e-9)
    ok = len(starts) == n and d <= crit and early == 0 and starts.min() >= lo and starts.max() <= hi
    return Case(
        "rimea-5-premovement", f"{RIMEA} test 5; {NIST} pre-evacuation time distributions",
        f"Kolmogorov-Smirnov distance of {n} start times from U({lo:g}, {hi:g}) s", (0.0, crit), d,
        "D below the 5 % critical value 1.358/sqrt(n); nobody starts before the end of their pre-movement",
        bool(ok),
        f"p = {ks.pvalue:.3f}; starts: n = {len(starts)}, min {starts.min():.1f} s, mean {starts.mean():.1f} s "
        f"(expected {(lo + hi) / 2:g}), max {starts.max():.1f} s; early starts: {early}" if ks is not None else "no starts",
    )


# -- 3. Maximum door flow (SFPE, NIST flow) ------------------------------------------------------


def case_door_flow(ctx: Context) -> Case:
    n, width = 500, 1.2
    c = CampusBuilder("door_flow")
    c.area("B", "building", (0, 0, 20, 20), levels=1, use="other")
    c.area("HALL", "room", (0, 0, 20, 20), building="B", level=0, use="other", occupants=n)
    c.door("EXIT", (20, 10), building="B", level=0, width=width)
    c.line("FW", "footway", [(20, 10), (25, 10)])
    c.area("AA", "assembly", (25, -5, 45, 25))
    sim = ctx.simulate("door_flow", c, premovement=0)
    times = sorted(sim.rep.exit_times.get("EXIT", []))
    flow = (len(times) - 1) / (times[-1] - times[0]) if len(times) > 1 else math.nan
    phys = Physics()
    exp = phys.get("flow_door") * (width - 2 * phys.get("boundary_door"))
    q = sim.server("EXIT")
    return Case(
        "sfpe-door-flow", f"{SFPE} Tables 64.1/64.3; {NIST} maximum flow rates",
        f"flow through a {width:g} m door with {n} people queueing (persons/s)", exp, flow, "±5 %",
        within(flow, rel(exp, 0.05)),
        f"hand value 1.32 × ({width:g} − 2 × 0.15) = {exp:.3f} persons/s; {len(times)} passed; "
        f"max queue {q['max_queue']:.0f} persons, max wait {q['max_wait_s']:.0f} s",
    )


# -- 5. RiMEA test 10: assembly assignment -----------------------------------------------------


def case_rimea10(ctx: Context) -> Case:
    c = CampusBuilder("rimea10_assignment")
    for b, x in (("BA", 0), ("BB", 40)):
        c.area(b, "building", (x, 0, x + 10, 10), levels=1, use="other")
        c.area(f"{b}_R", "room", (x, 0, x + 10, 10), building=b, level=0, use="other", occupants=40 if b == "BA" else 60)
        c.door(f"{b}_EXIT", (x + 5, 0), building=b, level=0, width=1.2)
        c.line(f"{b}_FW", "footway", [(x + 5, 0), (x + 5, -5)])
    c.line("MAIN", "footway", [(-20, -5), (70, -5)])
    c.area("AA_W", "assembly", (-40, -15, -20, 5))
    c.area("AA_E", "assembly", (70, -15, 90, 5))
    sim = ctx.simulate("rimea10_assignment", c, assembly={"BA": "AA_E", "BB": "AA_W"})
    assembly = {i for i in sim.drill.assembly}
    reached: dict[int, int] = {}
    for p, st, _t0, _t1, _u, v, *_ in sim.rep.moves or []:
        if st == "walk" and v in assembly:
            reached[p] = v
    want = {"BA": sim.node("AA_E"), "BB": sim.node("AA_W")}
    counts: Counter[tuple[str, str]] = Counter()
    right = 0
    for p, b in enumerate(sim.rep.building_of):
        a = reached.get(p)
        counts[(b, sim.drill.names[a] if a is not None else "none")] += 1
        right += a == want[b]
    n = sim.rep.occupants
    return Case(
        "rimea-10-assignment", f"{RIMEA} test 10; {NIST} exit route allocation",
        "people who reached their building's assigned assembly area (persons)", float(n), float(right),
        "all of them (exact)", right == n and n == 100,
        "BA (40 people) → AA_E, BB (60) → AA_W, each the farther area; arrivals "
        + ", ".join(f"{b}→{a}: {k}" for (b, a), k in sorted(counts.items())),
    )


# -- 6. RiMEA test 12: bottleneck between two rooms ----------------------------------------------


def case_rimea12(ctx: Context) -> Case:
    n, narrow, wide = 150, 0.9, 1.8
    c = CampusBuilder("rimea12_bottleneck")
    c.area("B", "building", (0, 0, 30, 10), levels=1, use="other")
    c.area("R1", "room", (0, 0, 10, 10), building="B", level=0, use="other", occupants=n)
    c.area("R2", "room", (10, 0, 30, 10), building="B", level=0, use="other", occupants=0)
    c.door("NARROW", (10, 5), building="B", level=0, width=narrow)
    c.door("EXIT", (30, 5), building="B", level=0, width=wide)
    c.line("FW", "footway", [(30, 5), (35, 5)])
    c.area("AA", "assembly", (35, -5, 55, 15))
    sim = ctx.simulate("rimea12_bottleneck", c)
    phys = Physics()
    cap = phys.door_rate(narrow)
    times = sorted(sim.rep.exit_times.get("EXIT", []))
    flow = (len(times) - 1) / (times[-1] - times[0]) if len(times) > 1 else math.nan
    qn, qe = sim.server("NARROW"), sim.server("EXIT")
    exp = (0.0, cap * 1.05)
    ok = within(flow, exp) and qn["max_wait_s"] >= 30.0 and qe["max_wait_s"] <= 2.0
    return Case(
        "rimea-12-bottleneck", f"{RIMEA} test 12",
        f"flow through the final {wide:g} m exit behind a {narrow:g} m door (persons/s)", exp, flow,
        f"≤ the narrow door's capacity {cap:.3f} persons/s + 5 %; the queue is at the narrow door "
        "(max wait ≥ 30 s), not at the exit (max wait ≤ 2 s)",
        ok,
        f"narrow door: max queue {qn['max_queue']:.0f}, max wait {qn['max_wait_s']:.1f} s; exit: max queue "
        f"{qe['max_queue']:.1f}, max wait {qe['max_wait_s']:.1f} s; exit capacity {phys.door_rate(wide):.3f} persons/s",
    )


# -- 7. RiMEA tests 2 and 3: stairs up and down ---------------------------------------------------


def _stairs(ctx: Context) -> Sim:
    """Two 3-level buildings with the same stair: in D one person walks down from level 2, in U one walks up from level 0."""
    c = CampusBuilder("rimea2_3_stairs")
    for b, x, start, exit_level in (("D", 0, 2, 0), ("U", 40, 0, 2)):
        c.area(b, "building", (x, 0, x + 20, 10), levels=3, use="other")
        c.area(f"{b}_S", "stair", (x + 16, 0, x + 20, 10), building=b, levels="0-2", width=1.2)
        for lv in (0, 2):
            c.area(f"{b}_R{lv}", "room", (x, 0, x + 16, 10), building=b, level=lv, use="other",
                   occupants=1 if lv == start else 0)
            c.door(f"{b}_D{lv}", (x + 16, 5), building=b, level=lv, width=1.2, exit=False)
        c.door(f"{b}_EXIT", (x, 5), building=b, level=exit_level, width=1.2)
        c.line(f"{b}_FW", "footway", [(x, 5), (x - 5, 5)])
    c.area("AA_D", "assembly", (-25, -5, -5, 15))
    c.area("AA_U", "assembly", (15, -5, 35, 15))
    return ctx.simulate("rimea2_3_stairs", c, premovement=0, speed=default("walk_speed_mean"))


def _stair_time(sim: Sim, b: str, levels: list[int]) -> float:
    total = 0.0
    for lo, hi in zip(levels, levels[1:], strict=False):
        w = sim.walks(f"{b}_S@{lo}", f"{b}_S@{hi}")
        if len(w) != 1:
            return math.nan
        total += w[0][2] - w[0][1]
    return total


def _stair_hand(up: bool) -> tuple[float, str]:
    phys = Physics()
    v = default("walk_speed_mean")
    length = 2 * flight_length(default("storey_height"))
    factor = phys.stair_up if up else phys.stair_down
    t = length / (v * factor)
    name = "stair_speed_up" if up else "stair_speed_down"
    run_h = 2 * (default("storey_height") * default("stair_tread") / default("stair_riser") + default("stair_landing"))
    weid = run_h / default(name)
    return t, (f"2 flights × {flight_length(default('storey_height')):.2f} m ÷ ({v:g} m/s × {factor:.4f}) = {t:.2f} s; "
               f"Weidmann check: horizontal run incl. landings {run_h:.2f} m ÷ {default(name):g} m/s = {weid:.2f} s")


def case_stairs_down(ctx: Context) -> Case:
    sim = _stairs(ctx)
    t = _stair_time(sim, "D", [2, 1, 0])
    exp, how = _stair_hand(up=False)
    return Case(
        "rimea-3-stairs-down", f"{RIMEA} test 3; {NIST} speed on stairs; Weidmann (1993) 0.694 m/s",
        "time for one person to walk down 2 storeys of stair (s)", exp, t, "±5 %", within(t, rel(exp, 0.05)), how,
    )


def case_stairs_up(ctx: Context) -> Case:
    sim = _stairs(ctx)
    t = _stair_time(sim, "U", [0, 1, 2])
    down = _stair_time(sim, "D", [2, 1, 0])
    exp, how = _stair_hand(up=True)
    return Case(
        "rimea-2-stairs-up", f"{RIMEA} test 2; {NIST} speed on stairs; Weidmann (1993) 0.610 m/s",
        "time for one person to walk up 2 storeys of stair (s)", exp, t, "±5 %, and slower than down",
        within(t, rel(exp, 0.05)) and t > down, f"{how}; down took {down:.2f} s",
    )


# -- 8. SFPE hydraulic hand calculation, multi-storey ------------------------------------------------


# -- 9. the flow lower bound, on every run above -------------------------------------------------

def case_lower_bound(ctx: Context) -> Case:
    for build in _RUNS:
        build(ctx)
    rows = []
    for label, sim in sorted(ctx.sims.items()):
        rows.append((sim.evacuation_time / sim.lower_bound if sim.lower_bound > 0 else math.inf, label, sim))
    worst = min(rows)
    ok = all(above_bound(sim) for _, _, sim in rows)
    return Case(
        "lower-bound", "Quickest-flow lower bound (scenarios/bound.py; Ford & Fulkerson 1962)",
        "smallest ratio simulated evacuation time ÷ lower_bound_s over every run of the suite", (1.0, math.inf),
        worst[0], "simulated ≥ lower_bound_s on every run (lower_bound_s is rounded down)", ok,
        "; ".join(f"{label}: {sim.evacuation_time:.2f} {'≥' if above_bound(sim) else '<'} {sim.lower_bound:.1f} s"
                  for _, label, sim in rows)
        + f"; worst: {worst[1]}",
    )


# -- 11. Lane capacity of the traffic engine (Newell car-following, HCM saturation flow) -------------------


HCM = "HCM 2010 (TRB), ch. 18: base saturation flow 1,900 pc/h/ln"


def case_lane_capacity(ctx: Context) -> Case:
    """A queue of cars released onto one lane: its discharge flow against Newell's capacity and the HCM's."""
    c = CampusBuilder("lane_capacity")
    c.point("GV", "gate", (0, -400), mode="vehicle", lanes=4)
    c.line("ROAD", "road", [(0, -400), (0, 200)], speed_limit=30)
    c.area("B", "building", (-50, 180, -20, 210), levels=1, use="admin")
    c.door("B-D", (-20, 195), building="B", level=0, width=1.8, exit=True)
    c.line("FW", "footway", [(-20, 195), (0, 195)])
    doc = {"kind": "traffic", "name": "lane capacity", "campus": str(c.write(ctx.folder)), "seed": SEED,
           "start": "08:00", "end": "08:20", "settings": {"traffic.service.car": 0.2},
           "vehicles": [{"gate": "GV", "per_hour": 6000, "to": ["B"], "dwell": 36000}]}
    sc = parse_scenario(doc, "verify:lane_capacity")
    net = Network(load_campus(doc["campus"]), sc)  # type: ignore[arg-type]
    d_seq, b_seq = np.random.SeedSequence(SEED).spawn(1)[0].spawn(2)
    demand = draw_demand(sc, net.occupants, np.random.default_rng(d_seq))  # type: ignore[arg-type]
    rep = run_layout(net, demand, np.random.default_rng(b_seq), trace=True)
    first = max(rep.links or [[]], key=len)  # the lane out of the gate: every car passes it
    t_out = np.sort([t for _, _, t in first])
    steady = np.diff(t_out[len(t_out) // 4: 3 * len(t_out) // 4])  # the queue discharging, away from start and end
    flow = 3600.0 / float(np.mean(steady)) if len(steady) else math.nan
    tau, jam = default("traffic.reaction_time"), default("traffic.jam_spacing")
    v = min(30.0, default("traffic.speed.car")) / 3.6
    newell = 3600.0 / (tau + jam / v)
    return Case(
        "traffic-lane-capacity", f"{HCM}; Newell (2002) capacity 1/(tau + d/v)",
        "discharge flow of a queue onto one 30 km/h lane (vehicles/h)", rel(1900.0, 0.10), flow,
        "HCM ±10 %, and Newell's hand value ±1 %",
        within(flow, rel(1900.0, 0.10)) and within(flow, rel(newell, 0.01)),
        f"hand value 3600 / ({tau:g} + {jam:g} / {v:.2f}) = {newell:,.0f} vehicles/h; {len(t_out)} cars through, "
        f"{len(steady) + 1} timed while the queue discharged",
    )


_RUNS: tuple[Callable[[Context], Any], ...] = (
    _corridor,
    case_premovement,
    case_door_flow,
    *RUNS,
    case_rimea10,
    case_rimea12,
    _stairs,
    case_building_design,
    case_building_measured,
    case_fire_dose,
)

_CASES: dict[str, Callable[[Context], Case]] = {
    "rimea-1-corridor": case_rimea1,
    "rimea-5-premovement": case_premovement,
    "sfpe-door-flow": case_door_flow,
    "rimea-9-exits": case_rimea9,
    "rimea-10-assignment": case_rimea10,
    "two-door-room": case_two_doors,
    "rimea-11-exit-choice": case_rimea11,
    "rimea-12-bottleneck": case_rimea12,
    "rimea-2-stairs-up": case_stairs_up,
    "rimea-3-stairs-down": case_stairs_down,
    "rimea-4-fundamental-diagram": case_rimea4,
    "bottleneck-flow-vs-width": case_bottleneck_series,
    "sfpe-hydraulic-building-design": case_building_design,
    "sfpe-hydraulic-building-measured": case_building_measured,
    "fire-dead-end-dose": case_fire_dose,
    **PEER_CASES,
    "lower-bound": case_lower_bound,
    "traffic-lane-capacity": case_lane_capacity,
}


def cases() -> list[str]:
    """Names of the verification cases, in the order they run."""
    return list(_CASES)


def run_cases(*, names: Sequence[str] | None = None) -> list[Case]:
    """Run the verification cases (all, or those named) and return their outcomes.

    Raises
    ------
    KeyError
        For a name that is not a case (the message lists the names).
    """
    wanted = list(_CASES) if names is None else list(names)
    unknown = [n for n in wanted if n not in _CASES]
    if unknown:
        msg = f"unknown verification case(s) {unknown}; cases are: {', '.join(_CASES)}"
        raise KeyError(msg)
    with tempfile.TemporaryDirectory(prefix="twin-verify-") as tmp:
        ctx = Context(Path(tmp))
        return [_CASES[n](ctx) for n in _CASES if n in wanted]


def table(results: Sequence[Case]) -> str:
    """The results as a Markdown table (case, reference, quantity, expected, simulated, tolerance, pass)."""
    lines = ["| case | reference | quantity | expected | simulated | tolerance | pass |", "|---|---|---|---|---|---|---|"]
    for c in results:
        lines.append(f"| {c.name} | {c.reference} | {c.quantity} | {c.expected_text()} | {num(c.simulated)} | "
                     f"{c.tolerance} | {'yes' if c.passed else '**NO**'} |")
    return "\n".join(lines)


if __name__ == "__main__":
    import time

    t0 = time.perf_counter()
    res = run_cases()
    print(table(res))
    print()
    for c in res:
        print(f"{c.name}: {c.detail}")
    print(f"\n{sum(c.passed for c in res)}/{len(res)} passed in {time.perf_counter() - t0:.1f} s")

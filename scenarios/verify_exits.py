"""Verification cases of door and exit choice: people choose from where they stand (``twin verify``).

Each case runs the real engine on a tiny campus (``maps.builder.CampusBuilder``)
and is described with its reference in ``docs/verification.md``:

- ``rimea-9-exits``: RiMEA test 9, a crowd leaves a large room through four
  exits, then two, with every route rule;
- ``two-door-room``: a canteen with two doors splits its people by where they
  sit;
- ``rimea-11-exit-choice``: RiMEA test 11, people prefer the nearer of two
  exits until its queue makes the far one quicker.

References
----------
- RiMEA e.V., *Richtlinie für Mikroskopische Entfluchtungsanalysen*, version
  4.1.1, tests 9 (leaving a large public room: four exits, then two) and 11
  (choice of exit).
- Thunderhead Engineering, *Pathfinder Technical Reference*: "locally
  quickest" door choice (walk time plus the time to pass the queue).
"""

from __future__ import annotations

import numpy as np

from maps.builder import CampusBuilder
from scenarios.verify_base import RIMEA, Case, Context, Sim, above_bound, within

ROUTES = ("shortest", "nearest_exit", "adaptive")
"""Every route rule of a scenario (``docs/scenarios.md``)."""


# -- RiMEA test 9: a crowd leaves a large room with 4 exits, then 2 ---------------------------------


def rimea9(ctx: Context, blocked: list[str], route: str = "adaptive") -> Sim:
    """1000 people in a 30 m × 20 m room with four 1 m exits, two on each short wall; ``blocked`` exits closed."""
    c = CampusBuilder("rimea9_room")
    c.area("B", "building", (0, 0, 30, 20), levels=1, use="other")
    c.area("HALL", "room", (0, 0, 30, 20), building="B", level=0, use="other", occupants=1000)
    for fid, x, y in (("EXIT_W1", 0, 5), ("EXIT_W2", 0, 15), ("EXIT_E1", 30, 5), ("EXIT_E2", 30, 15)):
        c.door(fid, (x, y), building="B", level=0, width=1.0)
        out = x - 5 if x == 0 else x + 5
        c.line(f"FW_{fid}", "footway", [(x, y), (out, y)])
    c.area("AA_W", "assembly", (-25, -10, -5, 30))
    c.area("AA_E", "assembly", (35, -10, 55, 30))
    label = f"rimea9_{4 - len(blocked)}_exits_{route}"
    return ctx.simulate(label, c, route=route, blocked=blocked, premovement=0)


RIMEA9_RANGE = (110.0, 340.0)
"""Total time (s) of RiMEA test 9 with four exits: the range of published results the issue quotes."""


def case_rimea9(ctx: Context) -> Case:
    """Every route rule: each exit within 20 % of a quarter, total time in range, two exits 1.7-2.3 × slower."""
    worst = 0.0
    ok = True
    parts = []
    for route in ROUTES:
        four, two = rimea9(ctx, [], route), rimea9(ctx, ["EXIT_E1", "EXIT_E2"], route)
        ratio = two.evacuation_time / four.evacuation_time
        shares = [four.rep.by_exit.get(x, 0) / four.rep.occupants for x in ("EXIT_W1", "EXIT_W2", "EXIT_E1", "EXIT_E2")]
        off = max(abs(s - 0.25) / 0.25 for s in shares)
        worst = max(worst, off)
        good = (off <= 0.2 and within(four.evacuation_time, RIMEA9_RANGE) and within(ratio, (1.7, 2.3))
                and above_bound(four) and above_bound(two))
        ok = ok and good
        parts.append(f"{route}: 4 exits {four.evacuation_time:.1f} s (bound {four.lower_bound:.1f} s), by exit "
                     f"{four.rep.by_exit}; 2 exits {two.evacuation_time:.1f} s (bound {two.lower_bound:.1f} s); "
                     f"ratio {ratio:.2f}{'' if good else ' FAILED'}")
    return Case(
        "rimea-9-exits", f"{RIMEA} test 9",
        "largest deviation of an exit's share from a quarter, over every route rule (1000 people, 30 m × 20 m room, "
        "four 1 m exits)", (0.0, 0.2), round(worst, 3),
        f"each exit within 20 % of a quarter; total time in [{RIMEA9_RANGE[0]:g}, {RIMEA9_RANGE[1]:g}] s; two exits "
        "closed multiply it by 1.7-2.3; both times ≥ the flow lower bound; for shortest, nearest_exit and adaptive",
        ok, "; ".join(parts),
    )


# -- a canteen with two doors splits its people by where they sit -------------------------------------


def case_two_doors(ctx: Context) -> Case:
    """700 people in a 40 m × 25 m canteen with two doors: each door takes those nearer it."""
    n, w, h = 700, 40.0, 25.0
    doors = {"CANTEEN_D1": (0.0, 20.0), "CANTEEN_D2": (25.0, 0.0)}
    c = CampusBuilder("two_door_room")
    c.area("B", "building", (0, 0, w, h), levels=1, use="other")
    c.area("CANTEEN", "room", (0, 0, w, h), building="B", level=0, use="other", occupants=n)
    c.door("CANTEEN_D1", doors["CANTEEN_D1"], building="B", level=0, width=1.8)
    c.line("FW_1", "footway", [(0, 20), (-5, 20)])
    c.area("AA_1", "assembly", (-25, 5, -5, 35))
    c.door("CANTEEN_D2", doors["CANTEEN_D2"], building="B", level=0, width=1.8)
    c.line("FW_2", "footway", [(25, 0), (25, -5)])
    c.area("AA_2", "assembly", (10, -25, 40, -5))
    sim = ctx.simulate("two_door_room", c, route="shortest", premovement=0)
    # the hand value: the share of the floor nearer door 1 than door 2 (both lead 5 m on to an assembly area)
    g = np.stack(np.meshgrid(np.linspace(0.05, w - 0.05, 400), np.linspace(0.05, h - 0.05, 250)), axis=-1).reshape(-1, 2)
    d1 = np.hypot(*(g - doors["CANTEEN_D1"]).T)
    d2 = np.hypot(*(g - doors["CANTEEN_D2"]).T)
    expected = float(np.mean(d1 < d2))
    share = sim.rep.by_exit.get("CANTEEN_D1", 0) / n
    # and every person went through the door nearer their own place
    place, xy = sim.rep.place, sim.drill.xy
    nearer_1 = (np.hypot(*(place - xy[sim.node("CANTEEN_D1")]).T)
                < np.hypot(*(place - xy[sim.node("CANTEEN_D2")]).T))
    went_1 = _exit_of(sim, "CANTEEN_D1")
    right = int(np.sum(nearer_1 == went_1))
    ok = within(share, (expected - 0.05, expected + 0.05)) and right == n and above_bound(sim)
    return Case(
        "two-door-room", "door choice from each person's place (issue 13; Pathfinder's shortest-walk door choice)",
        "share of 700 canteen occupants through door 1 (route shortest)", (round(expected - 0.05, 3), round(expected + 0.05, 3)),
        round(share, 3), "the share of the floor nearer door 1 ± 5 points; everyone through the door nearer their place",
        ok,
        f"floor nearer door 1: {expected:.3f}; through door 1: {sim.rep.by_exit.get('CANTEEN_D1', 0)}, door 2: "
        f"{sim.rep.by_exit.get('CANTEEN_D2', 0)}; people through the door nearer their place: {right}/{n}; "
        f"evacuation {sim.evacuation_time:.1f} s (bound {sim.lower_bound:.1f} s)",
    )


def _exit_of(sim: Sim, door: str) -> np.ndarray:
    """Per person, whether they walked to ``door``."""
    d = sim.node(door)
    out = np.zeros(sim.rep.occupants, dtype=bool)
    for p, st, _t0, _t1, _u, v, *_ in sim.rep.moves or []:
        if st == "walk" and v == d:
            out[p] = True
    return out


# -- RiMEA test 11: choice of exit ---------------------------------------------------------------------


def _rimea11(ctx: Context, route: str) -> Sim:
    """200 people in a 20 m × 10 m room: exit 1 (west) leads 5 m to safety, exit 2 (east) 40 m, so exit 1 is
    the nearer way out for everyone (at most 25.6 m against at least 40 m)."""
    c = CampusBuilder("rimea11_exit_choice")
    c.area("B", "building", (0, 0, 20, 10), levels=1, use="other")
    c.area("ROOM", "room", (0, 0, 20, 10), building="B", level=0, use="other", occupants=200)
    c.door("EXIT_1", (0, 5), building="B", level=0, width=1.0)
    c.line("FW_1", "footway", [(0, 5), (-5, 5)])
    c.area("AA_1", "assembly", (-25, -10, -5, 20))
    c.door("EXIT_2", (20, 5), building="B", level=0, width=1.0)
    c.line("FW_2", "footway", [(20, 5), (60, 5)])
    c.area("AA_2", "assembly", (60, -10, 80, 20))
    return ctx.simulate(f"rimea11_{route}", c, route=route, premovement=0)


def case_rimea11(ctx: Context) -> Case:
    """People prefer the nearer exit; on adaptive routes its queue sends a share to the far one, which is quicker."""
    near, adapt = _rimea11(ctx, "shortest"), _rimea11(ctx, "adaptive")
    n = adapt.rep.occupants
    first = adapt.rep.by_exit.get("EXIT_1", 0) / n
    all_near = near.rep.by_exit.get("EXIT_1", 0) == n
    ok = (all_near and within(first, (0.5, 0.95)) and adapt.evacuation_time < near.evacuation_time
          and above_bound(near) and above_bound(adapt))
    return Case(
        "rimea-11-exit-choice", f"{RIMEA} test 11",
        "share of 200 people through the nearer exit on adaptive routes", (0.5, 0.95), round(first, 3),
        "the nearer exit takes most (> 50 %) but not all (≤ 95 %): its queue makes the far one quicker for the rest; "
        "on shortest routes everyone takes the nearer exit, and adaptive is quicker",
        ok,
        f"adaptive: by exit {adapt.rep.by_exit}, {adapt.evacuation_time:.1f} s (bound {adapt.lower_bound:.1f} s); "
        f"shortest: by exit {near.rep.by_exit}, {near.evacuation_time:.1f} s",
    )


RUNS = (lambda ctx: [rimea9(ctx, b, r) for r in ROUTES for b in ([], ["EXIT_E1", "EXIT_E2"])],
        case_two_doors, lambda ctx: [_rimea11(ctx, r) for r in ("shortest", "adaptive")])
"""What the lower-bound case runs of this module (every run above)."""


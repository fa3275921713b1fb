"""Movement physics (scenarios/evacuation/physics.py): the two capacity modes, the fundamental diagram, the honest bound."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from maps.builder import CampusBuilder
from scenarios.evacuation import Outcome, Physics, run
from scenarios.schema import parse_scenario
from twin.campus import load_campus

N = 120
"""People in the one-room test campus."""


def _room(tmp: Path, width: float) -> Path:
    """A 10 x 12 m room holding ``N`` people, one door of clear ``width`` m, a footway to an assembly area."""
    c = CampusBuilder(f"room_{width}")
    c.area("B", "building", (0, 0, 10, 12), levels=1, use="other")
    c.area("R", "room", (0, 0, 10, 12), building="B", level=0, use="other", occupants=N)
    c.door("EXIT", (10, 6), building="B", level=0, width=width)
    c.line("FW", "footway", [(10, 6), (20, 6)], width=6.0)
    c.area("AA", "assembly", (20, -10, 40, 22))
    return c.write(tmp)


def _run(path: Path, **scenario: Any) -> Outcome:
    doc = {"kind": "evacuation", "campus": str(path), "seed": 3, "replications": 1, **scenario}
    sc = parse_scenario(doc, "test")
    return run(sc, load_campus(sc.campus), workers=1)


@pytest.fixture(scope="module")
def room(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _room(tmp_path_factory.mktemp("physics"), 1.0)


@pytest.fixture(scope="module")
def runs(room: Path) -> dict[str, Outcome]:
    return {m: _run(room, premovement=0, capacity=m) for m in ("design", "measured")}


def test_fundamental_diagram_against_sfpe_and_weidmann() -> None:
    phys = Physics()
    # at 1.88 persons/m²: SFPE 1.40 (1 - 0.266 x 1.88) = 0.70 m/s; Weidmann 1.34 (1 - exp(-1.913 (1/1.88 - 1/5.4))) = 0.650 m/s
    assert phys.speed(1.34, 1.88) == pytest.approx(0.700, abs=0.002)
    assert phys.weidmann_speed(1.34, 1.88) == pytest.approx(0.650, abs=0.002)
    assert Physics(capacity="measured").speed(1.34, 1.88) == phys.speed(1.34, 1.88)  # one diagram, two capacity sets
    assert phys.speed(1.0, 0.5) == 1.0 and phys.speed(0.6, 1.88) == 0.6  # free below density_free; slow walkers keep their speed
    # on a flight: SFPE stairs, k = 1.08 m/s along the line of travel, so 1.01 persons/(m·s) at 1.88 going down
    assert phys.specific_flow(1.88, stair=-1) == pytest.approx(1.08 * (1 - 0.266 * 1.88) * 1.88, rel=1e-9)
    assert phys.speed(1.34, 0.2, stair=1) < phys.speed(1.34, 0.2, stair=-1) < 1.34  # up slower than down
    for stair in (0, -1, 1):
        flows = [phys.specific_flow(d, stair) for d in np.arange(0.25, 3.6, 0.01)]
        assert 0.25 + 0.01 * int(np.argmax(flows)) == pytest.approx(1.88, abs=0.01), stair
        # the congested branch: flow falls beyond the peak
        assert phys.specific_flow(3.5, stair) < phys.specific_flow(2.5, stair) < phys.specific_flow(1.88, stair)
    assert phys.speed(1.34, 3.9) == pytest.approx(0.05 * 1.34)  # past SFPE standstill people creep at the floor


def test_capacities_by_mode() -> None:
    design, measured = Physics(capacity="design"), Physics(capacity="measured")
    assert design.door_rate(1.0) == pytest.approx(1.32 * 0.7)  # SFPE on the effective width
    assert design.door_rate(0.8) / measured.door_rate(0.8) == pytest.approx(0.66 / 1.52, abs=0.01)  # 0.43 of measured
    assert measured.door_rate(1.0) == pytest.approx(1.9)
    assert measured.door_rate(5.0) == pytest.approx(5 * measured.door_rate(1.0))  # linear in width (Liao et al. 2014)
    assert measured.path_rate(2.0) < measured.door_rate(2.0)  # a long bottleneck passes less than a short one
    for phys in (design, measured):
        assert phys.stair_rate(1.2, up=True) == pytest.approx(phys.stair_rate(1.2) * 0.610 / 0.694)
    with pytest.raises(ValueError, match="capacity must be one of design, measured"):
        Physics(capacity="optimistic")  # type: ignore[arg-type]


def test_a_room_empties_at_the_door_capacity_of_each_mode(runs: dict[str, Outcome]) -> None:
    for mode, rate in (("design", 0.924), ("measured", 1.9)):
        r = runs[mode].replications[0]
        t = sorted(r.exit_times["EXIT"])
        assert len(t) == N
        flow = (N - 21) / (t[-1] - t[20])  # the steady part of the queue's discharge
        assert flow == pytest.approx(rate, rel=0.02), mode
    assert runs["design"].summary()["capacity"] == "design"


def test_the_bound_uses_measured_capacities_and_the_design_estimate_is_labelled(runs: dict[str, Outcome]) -> None:
    d, m = runs["design"].summary(), runs["measured"].summary()
    # the same bound whichever mode the scenario runs in: people, not this engine's design flows
    assert d["lower_bound_s"] == m["lower_bound_s"] > 0
    assert d["lower_bound"]["capacity"] == "measured" and "lower bound" in d["lower_bound"]["label"]
    assert m["lower_bound_s"] <= m["evacuation_time_s"] < d["evacuation_time_s"]
    assert N / 1.9 <= d["lower_bound_s"] <= N / 1.9 + 15  # the door's measured flow, plus the walk
    assert d["design_estimate"]["capacity"] == "design" and "design hydraulic estimate" in d["design_estimate"]["label"]
    assert d["design_estimate_s"] == pytest.approx(N / 0.924 + 10 / 1.34, rel=0.05)
    assert d["design_estimate_s"] == pytest.approx(d["evacuation_time_s"], rel=0.10)


def test_density_counts_only_people_walking(room: Path) -> None:
    """People still in pre-movement do not slow the first to leave (1 person/m² stood in the room before)."""
    out = _run(room, premovement={"dist": "uniform", "low": 0, "high": 600}, speed=1.2)
    drill = out.drill
    rep = drill.run(0, record=True)
    first = int(np.argmin(rep.premovement))
    exit_node = drill.index["EXIT"]
    walk = next(m for m in rep.moves or [] if m[0] == first and m[1] == "walk" and m[5] == exit_node)
    _, _, t0, t1, _, _, x0, y0, *_ = walk
    dx, dy = drill.xy[exit_node]
    assert t1 - t0 == pytest.approx(math.hypot(dx - x0, dy - y0) / 1.2, rel=1e-6)  # free speed: alone among walkers


def _tower(tmp: Path, exit_level: int) -> Path:
    """A 4-level building, one 1.2 m stair, 100 people on each of levels 1-3, its exit on ``exit_level``."""
    c = CampusBuilder(f"tower_{exit_level}")
    c.area("B", "building", (0, 0, 24, 10), levels=4, use="other")
    c.area("S", "stair", (20, 0, 24, 10), building="B", levels="0-3", width=1.2)
    for lv in range(4):
        c.area(f"R{lv}", "room", (0, 0, 20, 10), building="B", level=lv, use="other", occupants=100 if lv else 0)
        c.door(f"D{lv}", (20, 5), building="B", level=lv, width=1.2, exit=False)
    c.door("EXIT", (0, 5), building="B", level=exit_level, width=1.2)
    c.line("FW", "footway", [(0, 5), (-5, 5)])
    c.area("AA", "assembly", (-25, -5, -5, 15))
    return c.write(tmp)


def test_landings_store_on_their_own_area_and_flights_pass_by_direction(tmp_path: Path) -> None:
    for exit_level, up in ((0, False), (3, True)):
        out = _run(_tower(tmp_path, exit_level), premovement=0)
        d = out.drill
        landing = d.node_space[d.index["S@1"]]
        assert d.space_area[landing] == pytest.approx(1.2 * 2.4)  # stair width x two 1.2 m landings, not the 40 m² core
        assert d.space_cap[landing] == pytest.approx(1.2 * 2.4 * 1.88)
        flights = [s for s in d.servers if s.kind == "stair"]
        assert len(flights) == 3 and all((s.id in d.flights_up) == up for s in flights)
        want = d.phys.stair_rate(1.2, up=up)
        assert all(s.rate == pytest.approx(want) for s in flights)
        through = 200 if up else 300  # down: levels 1-3 through the last flight; up: levels 1-2 through the top one
        assert out.summary()["evacuation_time_s"] >= through / want


def _merge(tmp: Path, share: float) -> tuple[float, dict[int, float]]:
    """In the tower going down: level 1's share of the places on the bottom flight while both streams queue for it,
    and when each level's last person stepped onto the flight below their landing (s)."""
    out = _run(_tower(tmp, 0), premovement=0, settings={"stair_merge_floor": share})
    d = out.drill
    r = d.run(0, record=True)
    level = np.array([d.level[i] for i in d.start])
    onto = {lv: [(t0, level[p]) for p, st, t0, _, u, v, *_ in r.moves or [] if st == "walk"
                 and d.names[u] == f"S@{lv}" and d.names[v] == f"S@{lv - 1}"] for lv in (1, 2, 3)}
    seq = np.array([lv for _, lv in sorted(onto[1])])
    both = seq[: np.flatnonzero(seq == 1)[-1] + 1]  # up to level 1's last: the stair's stream is there all along
    last = {lv: max(t for t, who in onto[lv] if who == lv) for lv in (1, 2, 3)}
    return float((both == 1).mean()), last


def test_stair_merge_shares_the_flight_and_floors_clear_bottom_up(tmp_path: Path) -> None:
    """Boyce et al. (2012): about 50:50 where a floor's stream meets the stair's; a higher floor share (Galea et al.
    2008, a door next to the incoming flight) gives it more. Either way the lowest floor clears first."""
    half, last_half = _merge(tmp_path, 0.5)
    most, last_most = _merge(tmp_path, 0.8)
    assert half == pytest.approx(0.5, abs=0.08) and most == pytest.approx(0.8, abs=0.08)
    assert last_half[1] < min(last_half[2], last_half[3])
    assert last_most[1] < last_most[2] < last_most[3]  # bottom-up

"""Fire tenability (scenarios/evacuation network._smoke, engine dose): smoke spread, ISO 13571 doses, incapacitation."""

from __future__ import annotations

import numpy as np
import pytest

from scenarios.evacuation import Drill, Physics, run
from scenarios.schema import parse_scenario
from tests.helpers import TINY
from twin.campus import load_campus


def _drill(spread: float, premovement: float = 600.0) -> Drill:
    sc = parse_scenario({"kind": "evacuation", "campus": str(TINY), "seed": 1, "premovement": premovement,
                         "fire": {"origin": "R0c", "start": 0, "spread_delay": spread}}, "test")
    return Drill(load_campus(TINY), sc)


def test_fed_rate_is_iso_13571() -> None:
    phys = Physics()
    # CO: C / 35,000 per minute; heat: 1 / (5e7 T^-3.4) per minute
    assert phys.fed_rate(3500, 20) * 60 == pytest.approx(0.1)
    assert phys.fed_rate(0, 100) * 60 == pytest.approx(100**3.4 / 5e7)
    assert phys.fed_rate(0, 15) == 0.0


def test_smoke_rings_and_untenable_spaces() -> None:
    d = _drill(60)
    phys = d.phys
    rate = [phys.fed_rate(8000 * 0.5**k, 20 + 130 * 0.5**k) for k in range(4)]
    sp = {n: d.node_space[d.index[n]] for n in ("R0c", "C0", "R0a", "C1")}
    assert d.space_smoke_at[sp["R0c"]] == 0 and d.space_fed_rate[sp["R0c"]] == pytest.approx(rate[0])
    assert d.space_smoke_at[sp["C0"]] == 60 and d.space_fed_rate[sp["C0"]] == pytest.approx(rate[1])
    assert d.space_smoke_at[sp["R0a"]] == 120 and d.space_fed_rate[sp["R0a"]] == pytest.approx(rate[2])
    closes = {d.names[i]: t for t, i, _ in d.smoke_closures}
    limit = 0.3 / 300
    assert rate[2] >= limit > rate[3]  # two rooms away still untenable, three not
    assert closes["R0c"] == 0 and closes["C0"] == 60 and closes["R0a"] == 120 and "C1" not in closes
    assert d.space_fed_rate[sp["C1"]] > 0  # smoky, though tenable: dose accrues there too


def test_dose_to_incapacitation_as_iso_13571_predicts() -> None:
    """The fire room's people react at once, but the corridor is untenable almost at once: they stay in the
    fire room, and each is incapacitated when the dose reaches 1, 60 / 0.73 = 82 s after the start; nobody is safe."""
    d = _drill(0.01)
    r = d.run(0)
    origin = d.index["R0c"]
    in_fire_room = d.start == origin
    assert r.incapacitated_at is not None and r.dose is not None and r.incapacitated_in is not None
    t = 1 / d.space_fed_rate[d.node_space[origin]]
    assert t == pytest.approx(60 / (8000 / 35000 + 150**3.4 / 5e7))
    assert np.allclose(r.incapacitated_at[in_fire_room], t)
    assert {r.incapacitated_in[p] for p in np.flatnonzero(in_fire_room)} == {"R0c"}
    assert np.isnan(r.safe_at[in_fire_room]).all() and np.isnan(r.trapped_at[in_fire_room]).all()
    assert r.premovement[in_fire_room].max() == 0.0  # smoke in their room from the start: they set off at once
    assert r.exposed == r.occupants and r.incapacitated + r.trapped + len(r.safe_times) == r.occupants


def test_nobody_walks_into_untenable_smoke_but_those_inside_move_on() -> None:
    """The corridor turns untenable at 60 s; everyone sets off at 50 s: those walking it then leave it (dosed, safe),
    nobody enters it after 60 s, and the fire room's people, setting off at once, are all safe, dosed by their wait at its door."""
    d = _drill(60, premovement=50)
    r = d.run(0, record=True)
    corridor = d.node_space[d.index["C0"]]
    space_of = {(u, v): d.e_space[e] for u in range(len(d.names)) for v, e, *_ in d.adj[u]}
    entered = [t0 for p, st, t0, t1, u, v, *_ in r.moves or [] if st == "walk" and u != v
               and space_of[(u, v)] == corridor and space_of.get((v, u)) == corridor and d.kind[u] == "door"
               and d.node_space[u] < 0 and t1 > t0]
    assert entered and max(entered) < 60
    origin = d.start == d.index["R0c"]
    assert r.dose is not None and (~np.isnan(r.safe_at[origin])).all() and 0 < r.dose[origin].max() < 1
    assert r.premovement[origin].max() == 0.0  # smoke in their room from the start: they set off at once


def test_summary_reports_the_fire_toll() -> None:
    sc = parse_scenario({"kind": "evacuation", "campus": str(TINY), "seed": 1, "premovement": 600, "replications": 2,
                         "fire": {"origin": "R0c", "start": 0, "spread_delay": 0.01}}, "test")
    s = run(sc, load_campus(TINY), workers=1).summary()
    assert s["safe"] + s["trapped"] + s["incapacitated"] + s["unfinished"] == s["occupants"]
    assert s["incapacitated"] > 0 and s["exposed"] >= s["incapacitated"]
    assert next(iter(s["incapacitated_where"])) in {"R0c", "R0a", "R0b", "C0"}
    assert s["incapacitated_when_s"]["first"] == pytest.approx(82.3, abs=0.1)
    assert s["untenable"]["R0c"] == 0.0


def test_fire_cues_cut_premovement() -> None:
    """Fire at 100 s: its room's people set off after 0.1 of their 600 s; a room smoke reaches at 220 s sets off then,
    and so does a room upstairs that smoke (thinned, still tenable) reaches at 400 s (five rooms on)."""
    sc = parse_scenario({"kind": "evacuation", "campus": str(TINY), "seed": 1, "premovement": 600,
                         "fire": {"origin": "R0c", "start": 100, "spread_delay": 60}}, "test")
    d = Drill(load_campus(TINY), sc)
    r = d.run(0)
    pre = {d.names[i]: r.premovement[d.start == i].max() for i in set(d.start.tolist())}
    assert pre["R0c"] == pytest.approx(60.0) and pre["R0a"] == pytest.approx(220.0)
    assert pre["R1a"] == d.space_smoke_at[d.node_space[d.index["R1a"]]] == pytest.approx(400.0)


def test_a_users_conditions_table_replaces_the_model() -> None:
    """fire.conditions (from a zone or CFD model) sets a space's smoke time and gases: R1a, upstairs and tenable in
    the model, is untenable at 10 s with 20,000 ppm CO (FED 1 in 60 / (20,000 / 35,000) = 105 s), so its people,
    still in pre-movement, set off then and are dosed on their way out of it."""
    sc = parse_scenario({"kind": "evacuation", "campus": str(TINY), "seed": 1, "premovement": 600,
                         "fire": {"origin": "R0c", "start": 0, "spread_delay": 60,
                                  "conditions": {"R1a": {"at": 10, "co_ppm": 20000}}}}, "test")
    d = Drill(load_campus(TINY), sc)
    sp = d.node_space[d.index["R1a"]]
    assert d.space_smoke_at[sp] == 10 and d.space_fed_rate[sp] * 60 == pytest.approx(20000 / 35000)
    assert (10.0, d.index["R1a"], "fire spread") in d.smoke_closures
    r = d.run(0)
    here = d.start == d.index["R1a"]
    assert r.premovement[here].max() == 10.0
    assert r.incapacitated_at is not None and r.dose is not None
    assert (r.dose[here] > 0).all() and "R1a" not in (r.incapacitated_in or [])  # out within 105 s


def test_conditions_for_an_unknown_space_name_the_field() -> None:
    from twin.errors import ScenarioError

    sc = parse_scenario({"kind": "evacuation", "campus": str(TINY), "fire": {"origin": "R0c", "conditions": {"NOPE": {"at": 5}}}},
                        "fire.toml")
    with pytest.raises(ScenarioError, match=r"fire\.conditions\.NOPE"):
        Drill(load_campus(TINY), sc)

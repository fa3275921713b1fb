"""Traffic scenarios: invariants of the engine on a small campus, the demo comparison, the CLI and the report."""

from __future__ import annotations

import json
import re
import tomllib
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from scenarios.schema import Traffic, load_scenario, parse_scenario
from scenarios import traffic
from scenarios.traffic.demand import draw_demand
from scenarios.traffic.conflicts import find_conflicts, platoons
from scenarios.traffic.engine import run_layout
from scenarios.traffic.network import Network, layout_campuses
from scenarios.traffic.outcome import (
    AT_BARRIER,
    DRIVING,
    LEFT,
    PARKED,
    QUEUED,
    STUCK,
    TURNED_BACK,
    VEHICLE_STATES,
    TrafficOutcome,
)
from tests.helpers import add, line, open_offline, point, rect, tiny, write
from twin.campus import Campus, load_campus
from twin.cli import app
from twin.errors import ScenarioError
from twin.settings import default
from twin.variants import campus_variant

DEMO = Path(__file__).resolve().parent.parent / "scenarios" / "demo"


@pytest.fixture(scope="module")
def avenue(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A gate avenue: a road, a 50 m shared stretch, a road on north, a loop road round it, a zebra crossing.

    Pedestrians come in at GP and walk a footway onto the shared stretch and on north to B-N, or over the
    crossing X1 to B-E; vehicles come in at GV and drive to B-N (or round the loop when the stretch is closed).
    """
    doc = tiny()
    doc["features"] = []
    add(doc, point(0, -200), id="GV", kind="gate", mode="vehicle", lanes=1)
    add(doc, point(-10, -200), id="GP", kind="gate", mode="pedestrian", width=4)
    add(doc, line((0, -200), (0, -50)), id="R-S", kind="road", speed_limit=30)
    add(doc, line((0, -50), (0, 0)), id="SH", kind="shared", speed_limit=10, width=6)
    add(doc, line((0, 0), (0, 200)), id="R-N", kind="road", speed_limit=30)
    add(doc, line((0, -150), (80, -150), (80, 180), (0, 180)), id="R-LOOP", kind="road", speed_limit=30)
    add(doc, line((-10, -200), (-10, -60), (0, -50)), id="FW-A", kind="footway", width=4)
    add(doc, line((0, 0), (-10, 10), (-10, 140)), id="FW-B", kind="footway", width=4)
    add(doc, line((-10, 60), (10, 60)), id="X1", kind="crossing", width=4)
    add(doc, rect(-50, 110, -20, 140), id="B-N", kind="building", use="teaching", levels=2)
    add(doc, point(-20, 125), id="B-N-D", kind="door", building="B-N", level=0, exit=True, width=1.8)
    add(doc, line((-20, 125), (-10, 125)), id="FW-BN", kind="footway")
    add(doc, rect(20, 40, 50, 80), id="B-E", kind="building", use="admin", levels=2)
    add(doc, point(20, 60), id="B-E-D", kind="door", building="B-E", level=0, exit=True, width=1.8)
    add(doc, line((20, 60), (10, 60)), id="FW-BE", kind="footway")
    return write(doc, tmp_path_factory.mktemp("avenue") / "campus.geojson")


@pytest.fixture(scope="module")
def campus(avenue: Path) -> Campus:
    return load_campus(avenue)


def scenario(avenue: Path, **kw: Any) -> Traffic:
    """A traffic scenario on the avenue campus: 08:00-09:00 unless given."""
    doc: dict[str, Any] = {"kind": "traffic", "campus": str(avenue), "start": "08:00", "end": "09:00", "seed": 3}
    doc.update(kw)
    return parse_scenario(doc, "test.toml")  # type: ignore[return-value]


CARS = [{"gate": "GV", "per_hour": 200, "to": ["B-N"], "dwell": 600}]
WALKERS = [{"gate": "GP", "per_hour": 600, "to": {"B-N": 2, "B-E": 1}}]


def run_one(sc: Traffic, campus: Campus, *, trace: bool = False, index: int = 0) -> Any:
    net = Network(campus, sc)
    seq = np.random.SeedSequence(sc.seed).spawn(index + 1)[index]
    d_seq, b_seq = seq.spawn(2)
    demand = draw_demand(sc, net.occupants, np.random.default_rng(d_seq))
    return net, demand, run_layout(net, demand, np.random.default_rng(b_seq), trace=trace)


# --------------------------------------------------------------------------
# Invariants
# --------------------------------------------------------------------------


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(cars=st.integers(50, 900), buses=st.integers(0, 40), seed=st.integers(0, 10_000), closed=st.booleans())
def test_vehicles_never_pass_each_other_on_a_lane(avenue: Path, campus: Campus, cars: int, buses: int, seed: int, closed: bool) -> None:
    sc = scenario(avenue, seed=seed, vehicles=[
        {"gate": "GV", "per_hour": cars, "to": {"B-N": 2, "B-E": 1}, "dwell": {"dist": "uniform", "low": 60, "high": 900}},
        {"gate": "GV", "vehicle": "bus", "per_hour": buses, "to": ["B-N"], "dwell": 30}],
        pedestrians=WALKERS, closures=[{"feature": "SH", "start": "08:20", "end": "08:40"}] if closed else [])
    net, _, rep = run_one(sc, campus, trace=True)
    tau, jam = default("traffic.reaction_time"), default("traffic.jam_spacing")
    used = 0
    for k, passes in enumerate(rep.links):
        if len(passes) < 2:
            continue
        used += 1
        t_in = np.array([p[1] for p in passes])  # in the order they left the link
        t_out = np.array([p[2] for p in passes])
        assert np.all(np.diff(t_in) >= -1e-9), f"link {k}: a vehicle left before one that entered ahead of it"
        # a follower leaves no earlier than its leader plus Newell's time shift (reaction time + jam spacing at the free speed)
        v_max = max(net.link_limit[k], default("traffic.speed.car") / 3.6)
        assert np.all(np.diff(t_out) >= tau + jam / v_max - 1e-6)
        assert len(passes) <= len(set(p[0] for p in passes)) * 2  # each vehicle at most twice (in and out)
    assert used > 0


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(cars=st.integers(0, 600), walkers=st.integers(0, 1200), seed=st.integers(0, 10_000),
       closure=st.sampled_from(["none", "shared", "gate road", "gate road for good"]))
def test_everyone_who_enters_leaves_or_is_counted_inside(avenue: Path, campus: Campus, cars: int, walkers: int, seed: int,
                                                         closure: str) -> None:
    closures = {"none": [], "shared": [{"feature": "SH"}], "gate road": [{"feature": "R-S", "start": "08:10", "end": "08:30"}],
                "gate road for good": [{"feature": "R-S"}]}[closure]
    sc = scenario(avenue, seed=seed, vehicles=[{"gate": "GV", "per_hour": cars, "to": {"B-N": 1, "B-E": 1}, "dwell": 300}],
                  pedestrians=[{"gate": "GP", "per_hour": walkers}],
                  timetable=[{"at": "08:15", "people": walkers // 2, "from": ["B-N"], "to": ["B-E"]}], closures=closures)
    _, demand, rep = run_one(sc, campus)
    # every vehicle that reached the gate is in one state at the end, and the states match where the vehicles are
    assert rep.veh_arrived == int((demand.veh_t < rep.end).sum()) == len(rep.veh_state)
    n = np.bincount(rep.veh_state, minlength=len(VEHICLE_STATES))
    assert n[DRIVING] + n[STUCK] == rep.on_links  # each one counted on a link is driving (or stuck at a closure)
    assert n[QUEUED] == rep.queues["GV"][1][-1]  # the queue at the gate at the end
    assert n[AT_BARRIER] <= 1  # one lane
    if closure == "gate road for good":  # nobody gets in: they turn back at the barrier (the last few may be on their way to it)
        assert np.all(np.isin(rep.veh_state, (TURNED_BACK, AT_BARRIER, QUEUED)))
        assert (rep.veh_state == AT_BARRIER).sum() <= 1  # one lane
    # every walk that began has ended, or is still under way
    assert rep.ped_departed == int((demand.ped_t < rep.end).sum())
    assert rep.ped_departed == rep.ped_arrived + rep.ped_walking + rep.ped_no_way
    assert rep.ped_no_way == 0
    assert rep.ped_entered == int(demand.ped_entering[demand.ped_t < rep.end].sum())


def test_no_pedestrians_no_conflicts(avenue: Path, campus: Campus) -> None:
    sc = scenario(avenue, vehicles=CARS + [{"gate": "GV", "per_hour": 100, "to": ["B-E"], "dwell": 100}])
    _, _, rep = run_one(sc, campus)
    assert len(rep.conflicts) == 0 and len(rep.passings) == 0
    assert (rep.veh_state == LEFT).sum() + (rep.veh_state == PARKED).sum() > 100  # the vehicles did drive over the shared lane


def test_a_shared_lane_people_only_walk_along_has_passings_not_conflicts(avenue: Path, campus: Campus) -> None:
    """People walk the shared stretch SH to B-N and never cross a lane: every meeting is a passing, none a conflict."""
    sc = scenario(avenue, vehicles=CARS, pedestrians=[{"gate": "GP", "per_hour": 600, "to": ["B-N"]}], jaywalk=0)
    net, _, rep = run_one(sc, campus)
    assert len(rep.conflicts) == 0
    assert len(rep.passings) > 50
    assert {net.lane_features[g] for g in rep.passings["group"]} == {"SH"}
    # once per person, vehicle and lane (SH is one feature, whatever its graph edges)
    keys = set(zip(rep.passings["group"].tolist(), rep.passings["ped"].tolist(), rep.passings["veh"].tolist(), strict=True))
    assert len(keys) == len(rep.passings)
    # passing speeds: a car at most at the 10 km/h limit (slower when held in a queue), with or against a walker
    kmh = rep.passings["speed"] * 3.6
    assert kmh.max() < 10 + 2.5 * 3.6 and np.median(kmh) > 10 - 2.5 * 3.6
    # SH is 6 m wide: (6 - 1.8) / 2 - 0.46 m beside a car in the middle
    assert np.allclose(rep.passings["clearance"], (6 - default("traffic.width.car")) / 2 - default("traffic.ped_width"))
    lay = traffic.run(sc, campus, source="t.toml", workers=1).summary()["layouts"]["as is"]
    assert lay["conflicts"] == 0 and lay["pet_events"] == 0
    assert lay["passings_by_lane"]["SH"]["passings"] == lay["passings"] > 0


def test_a_group_of_ten_and_one_vehicle_is_one_event(avenue: Path, campus: Campus) -> None:
    """A zebra (X1), ten people stepping on together and one car: one conflict event, graded by its worst pair."""
    net = Network(campus, scenario(avenue))
    z = int(np.flatnonzero(net.zone_kind == "crossing")[0])
    assert net.group_name[z] == "X1" and net.zone_kind[z] == "crossing"
    place = int(net.zone_places[z][0])
    speed = 30 / 3.6
    steps = 100 + np.arange(10) * 0.2  # ten people step on within 2 s, walking 4 s through the lane
    ped_zone = np.column_stack([np.full(10, z), steps, steps + 6, np.arange(10)])
    ped_lane = np.column_stack([np.full(10, place), steps + 1, steps + 4, np.arange(10)])
    veh = np.array([[place, 104.0, 105.0, 7, speed, 0]])  # the car reaches their lane 3 s after the first stepped in
    kw = {"pet_threshold": 1.0, "reaction": 1.5, "serious_decel": 3.4, "window": 3.0}
    c = find_conflicts(net, ped_zone, ped_lane, veh, **kw)
    assert len(c) == 1
    e = c[0]
    assert e["peds"] == 10 and e["veh"] == 7 and e["group"] == z and e["pet"] == 0
    # the worst pair: the last person stepped in 101 + 1.8 = 102.8, the car came at 104: TA = 1.2 - 1.5 reaction -> 0
    assert e["tta"] == pytest.approx(0.0) and e["serious"]
    # a slow walker in the lane from 101 to 108 s, a car there 6 s after they stepped in: TA = 6 - 1.5 = 4.5 s; at
    # 30 km/h stopping in that needs 0.93 m/s2: on a collision course, but not serious
    slow = np.array([[place, 101.0, 108.0, 0]])
    far = find_conflicts(net, ped_zone[:1], slow, np.array([[place, 107.0, 108.0, 8, speed, 0]]), **kw)
    assert len(far) == 1 and far[0]["tta"] == pytest.approx(4.5) and not far[0]["serious"]
    # PET only: the car comes 0.5 s after the last person left the lane; 1.5 s after is no event
    after = ped_lane[-1, 2]
    pet = find_conflicts(net, ped_zone, ped_lane, np.array([[place, after + 0.5, after + 1.5, 9, speed, 0]]), **kw)
    assert len(pet) == 1 and pet[0]["pet"] == pytest.approx(0.5) and not np.isfinite(pet[0]["tta"])
    assert len(find_conflicts(net, ped_zone, ped_lane, np.array([[place, after + 1.5, after + 2.5, 9, speed, 0]]), **kw)) == 0
    # a person stepping into the lane the instant the car leaves it: PET 0, but never in it together (no collision course)
    touch = find_conflicts(net, ped_zone[:1], np.array([[place, 105.0, 108.0, 0]]), np.array([[place, 104.0, 105.0, 9, speed, 0]]), **kw)
    assert len(touch) == 1 and touch[0]["pet"] == 0 and not np.isfinite(touch[0]["tta"]) and not touch[0]["serious"]
    # two groups: people stepping on more than the window after the first are the next road user
    assert platoons(np.zeros(4, int), np.array([0.0, 1.0, 2.9, 3.5]), 3.0).tolist() == [0, 0, 0, 1]


def test_pedestrian_delay_with_no_yielding_is_in_the_hcm_band(avenue: Path, campus: Campus) -> None:
    """Nobody gives way at X1: people wait for a gap of t_c = W / S_p + t_s, as HCM 2010 ch. 19 has them do."""
    cars = [{"gate": "GV", "per_hour": 250, "to": ["B-N"], "dwell": 30}]
    sc = scenario(avenue, vehicles=cars, pedestrians=[{"gate": "GP", "per_hour": 60, "to": ["B-E"]}], compliance=0.0, jaywalk=0,
                  settings={"traffic.service.car": 0.1, "traffic.accel": 50.0, "traffic.stop_decel": 50.0}, end="10:00")
    # a barrier that hardly holds a car (HCM assumes random arrivals at the crossing; a real barrier's stop and
    # move-up space the cars out, and a platoon at the move-up headway is one long blocked stretch for a walker)
    net, demand, rep = run_one(sc, campus)
    z = int(np.flatnonzero(net.zone_kind == "crossing")[0])
    # every car passes the crossing twice, in and out (Poisson, as HCM assumes): vehicles per second both ways
    r = 2 * len(demand.veh_t) / (rep.end - rep.start)
    w = float(net.zone_width[z])
    t_c = w / demand.ped_speed[: len(rep.ped_delay)] + default("traffic.ped_start_time")
    hcm = float(np.mean((np.exp(r * t_c) - r * t_c - 1) / r))
    got = float(rep.ped_delay.mean())
    print(f"HCM delay {hcm:.2f} s, simulated {got:.2f} s, {len(rep.ped_delay)} people, {r * 3600:.0f} veh/h")
    assert 0.7 * hcm < got < 1.3 * hcm, (got, hcm)
    assert 1.0 < hcm


def test_drivers_who_see_people_coming_give_way_so_people_hardly_wait(avenue: Path, campus: Campus) -> None:
    """Every driver gives way at X1. Seeing people walk towards it (``traffic.ped_intent_distance``, 10 m) they stop
    in time, so people wait only for a car already on the crossing; drivers who notice people only once they are on
    it (distance 0) leave them waiting at the kerb for every car too close to stop (the 3.1 s SUMO showed up)."""
    def run(intent: float) -> Any:
        sc = scenario(avenue, vehicles=[{"gate": "GV", "per_hour": 250, "to": ["B-N"], "dwell": 30}], compliance=1.0, jaywalk=0,
                      pedestrians=[{"gate": "GP", "per_hour": 200, "to": ["B-E"]}], end="09:00",
                      settings={"traffic.service.car": 0.1, "traffic.ped_intent_distance": intent})
        return run_one(sc, campus)[2]

    seen, late = run(default("traffic.ped_intent_distance")), run(0.0)
    print(f"mean delay of a walk: drivers seeing people coming {seen.ped_delay.mean():.2f} s, only on the crossing "
          f"{late.ped_delay.mean():.2f} s; cars {seen.veh_delay.mean():.2f} s / {late.veh_delay.mean():.2f} s")
    assert seen.ped_delay.mean() < 0.5 < late.ped_delay.mean()
    assert seen.yields > late.yields  # the waiting moved from the people to the drivers
    assert seen.conflicts["serious"].sum() == 0


def test_a_closed_road_reroutes_or_queues_never_vanishes(avenue: Path, campus: Campus) -> None:
    base = scenario(avenue, vehicles=CARS)
    net, _, open_ = run_one(base, campus, trace=True)
    # the shared stretch closed all the time: the cars to B-N go round the loop, and all of them get there
    _, _, shut = run_one(scenario(avenue, vehicles=CARS, closures=[{"feature": "SH"}]), campus, trace=True)

    def used(rep: Any, feature: str) -> int:
        return sum(len(p) for k, p in enumerate(rep.links) if net.link_feature[k] == feature)

    assert used(open_, "SH") > 0 and used(open_, "R-LOOP") == 0
    assert used(shut, "SH") == 0 and used(shut, "R-LOOP") > 0
    arrived_open = int(np.isin(open_.veh_state, (PARKED, LEFT)).sum())
    arrived_shut = int(np.isin(shut.veh_state, (PARKED, LEFT)).sum())
    assert arrived_shut >= arrived_open - 2
    assert shut.veh_free.mean() > open_.veh_free.mean()  # the loop takes longer
    # the only road from the gate closed for 20 minutes: the cars wait at the gate and go on when it opens
    _, _, held = run_one(scenario(avenue, vehicles=CARS, closures=[{"feature": "R-S", "start": "08:10", "end": "08:30"}]), campus)
    t, q = held.queues["GV"]
    assert q[(t > 8.1 * 3600) & (t < 8.5 * 3600)].max() >= 20  # a queue built up behind the barrier
    assert held.veh_delay.max() > 600
    assert int(np.isin(held.veh_state, (PARKED, LEFT)).sum()) >= arrived_open - 5
    assert (held.veh_state == TURNED_BACK).sum() == 0


def test_queue_spills_back_onto_the_street(avenue: Path, campus: Campus) -> None:
    sc = scenario(avenue, vehicles=[{"gate": "GV", "vehicle": "delivery", "per_hour": 200, "to": ["B-E"], "dwell": 60}])
    outcome = traffic.run(sc, campus, source="test.toml", workers=1)
    gate = outcome.summary()["layouts"]["as is"]["gates"]["GV"]
    assert gate["max"] > gate["storage"] and gate["spillback_s"] > 0
    assert gate["p95"] <= gate["max"]


def test_drivers_yield_with_the_given_compliance(avenue: Path, campus: Campus) -> None:
    walk = [{"gate": "GP", "per_hour": 1500, "to": ["B-E"]}]
    cars = [{"gate": "GV", "per_hour": 300, "to": ["B-N"], "dwell": 60}]
    _, _, always = run_one(scenario(avenue, vehicles=cars, pedestrians=walk, compliance=1.0, jaywalk=0), campus)
    _, _, never = run_one(scenario(avenue, vehicles=cars, pedestrians=walk, compliance=0.0, jaywalk=0), campus)
    assert always.non_yields == 0 and always.yields > 0
    assert never.yields == 0 and never.non_yields > 0
    # where drivers give way people cross sooner and drivers wait; where none do, people wait for gaps
    assert always.ped_delay.mean() < never.ped_delay.mean()
    assert always.veh_delay.mean() > never.veh_delay.mean()


def test_same_seed_same_numbers_and_layouts_share_demand(avenue: Path, campus: Campus, tmp_path: Path) -> None:
    sc = scenario(avenue, vehicles=CARS, pedestrians=WALKERS, replications=2,
                  layouts={"mixed": {}, "separated": {"retag": {"SH": "road"}, "add": str(_sidewalk(tmp_path))}})
    a = traffic.run(sc, campus, source=str(tmp_path / "s.toml"), workers=1).summary()
    b = traffic.run(sc, campus, source=str(tmp_path / "s.toml"), workers=1).summary()
    a.pop("wall_s"), b.pop("wall_s")
    assert a == b
    mixed, sep = a["layouts"]["mixed"], a["layouts"]["separated"]
    assert mixed["vehicles"]["arrived"] == sep["vehicles"]["arrived"]
    assert mixed["pedestrians"]["walks"] == sep["pedestrians"]["walks"]
    assert mixed["passings_by_lane"]["SH"]["passings"] > 0 and sep["passings"] == 0


def test_local_processes_and_dask_give_the_serial_numbers(dask_scheduler: str, avenue: Path, campus: Campus, tmp_path: Path) -> None:
    sc = scenario(avenue, vehicles=CARS, pedestrians=WALKERS, replications=3, end="08:30",
                  layouts={"mixed": {}, "separated": {"retag": {"SH": "road"}, "add": str(_sidewalk(tmp_path))}})
    source = str(tmp_path / "s.toml")
    serial = traffic.run(sc, campus, source=source, workers=1)
    pool = traffic.run(sc, campus, source=source, workers=2)
    dask = traffic.run(sc, campus, source=source, dask=dask_scheduler)
    summaries = [o.summary() for o in (serial, pool, dask)]
    for s in summaries:
        s.pop("wall_s")
    assert summaries[0] == summaries[1] == summaries[2]
    assert summaries[0]["layouts"]["mixed"]["pet_events"] > 0 and summaries[0]["layouts"]["mixed"]["passings"] > 0
    for other in (pool, dask):  # every conflict of every replication, not only the means
        for name, reps in serial.runs.items():
            assert all(np.array_equal(a.conflicts, b.conflicts) for a, b in zip(reps, other.runs[name], strict=True))


def test_a_campus_variant_is_made_from_plain_data(campus: Campus, tmp_path: Path) -> None:
    assert campus_variant(campus, {}) is campus
    v = campus_variant(campus, {"retag": {"SH": "road"}, "set": {"R-N": {"speed_limit": 20}}, "add": "sidewalk.geojson"},
                       source=str(_sidewalk(tmp_path).parent / "any.toml"))
    assert v.features.kind["SH"] == "road" and v.features.speed_limit["R-N"] == 20 and "FW-SEP" in v.features.index
    assert campus.features.kind["SH"] == "shared" and v.digest != campus.digest
    with pytest.raises(ValueError, match="unknown campus change"):
        campus_variant(campus, {"rename": {"SH": "X"}})


def _sidewalk(tmp_path: Path) -> Path:
    """A footway beside the avenue's shared stretch (in the tiny example's CRS)."""
    doc = tiny()
    doc["features"] = []
    add(doc, line((-10, -60), (-10, 10)), id="FW-SEP", kind="footway", width=4)
    return write(doc, tmp_path / "sidewalk.geojson")


# --------------------------------------------------------------------------
# Scenario files and the CLI
# --------------------------------------------------------------------------


def test_bad_ids_name_the_key(avenue: Path, campus: Campus) -> None:
    with pytest.raises(ScenarioError) as e:
        Network(campus, scenario(avenue, vehicles=[{"gate": "GP", "per_hour": 1, "to": ["NOPE"]}],
                                 pedestrians=[{"gate": "GV", "per_hour": 1}], closures=[{"feature": "FW-A"}]))
    msgs = {p.field: p.message for p in e.value.problems}
    assert "not a gate on a road" in msgs["vehicles[0].gate"]
    assert "'NOPE'" in msgs["vehicles[0].to"]
    assert "not a gate on a footway" in msgs["pedestrians[0].gate"]
    assert "not a road or shared lane" in msgs["closures[0].feature"]
    with pytest.raises(ScenarioError) as e:
        traffic.run(scenario(avenue, layouts={"x": {"retag": {"NOPE": "road"}, "remove": ["GONE"]}}), campus, source="t.toml", workers=1)
    assert {p.field for p in e.value.problems} == {"layouts.x.retag", "layouts.x.remove"}
    with pytest.raises(ScenarioError) as e:
        traffic.run(scenario(avenue, layouts={"x": {"add": "no-such.geojson"}}), campus, source="t.toml", workers=1)
    assert [p.field for p in e.value.problems] == ["layouts.x.add"]
    with pytest.raises(ScenarioError) as e:
        parse_scenario({"kind": "traffic", "campus": "x", "vehicles": [{"gate": "G"}], "timetable": [{"at": "7h", "people": 1}]}, "t.toml")
    assert {p.field for p in e.value.problems} == {"vehicles[0]", "timetable[0].at", "timetable[0].from", "timetable[0].to"}
    with pytest.raises(ScenarioError, match="end .* must be after start"):
        parse_scenario({"kind": "traffic", "campus": "x", "start": "9:00", "end": "8:00"}, "t.toml")


def test_cli_json_and_bad_input(avenue: Path, tmp_path: Path) -> None:
    f = tmp_path / "t.toml"
    f.write_text(f'kind = "traffic"\ncampus = "{avenue}"\nstart = "08:00"\nend = "08:30"\n'
                 '[[vehicles]]\ngate = "GV"\nper_hour = 100\nto = ["B-N"]\n[[pedestrians]]\ngate = "GP"\nper_hour = 300\n'
                 '[layouts.mixed]\n[layouts.closed]\nremove = ["SH"]\n')
    r = CliRunner().invoke(app, ["run", str(f), "--json"])
    assert r.exit_code == 0, r.output
    s = json.loads(r.stdout)
    for lay in ("mixed", "closed"):
        for key in ("conflicts", "conflicts_per_hour", "ped_delay_s", "veh_delay_s", "gate_queue_max", "emergency_access_s"):
            assert isinstance(s["layouts"][lay][key], int | float), key
    assert s["layouts"]["closed"]["emergency_access_s"] > s["layouts"]["mixed"]["emergency_access_s"]  # round the loop
    r = CliRunner().invoke(app, ["run", str(f), "-o", str(tmp_path / "out")])
    assert r.exit_code == 0, r.output
    assert "serious conflicts (per run)" in r.output and "Hot spots: closed" in r.output
    page = (tmp_path / "out" / "report.html").read_text()
    assert 'id="tr-compare"' in page and "Traffic report" in page
    f.write_text(f'kind = "traffic"\ncampus = "{avenue}"\n[[vehicles]]\ngate = "NOPE"\nper_hour = 1\n')
    r = CliRunner().invoke(app, ["run", str(f)])
    assert r.exit_code == 2
    assert "vehicles[0].gate" in r.output and "Traceback" not in r.output


# --------------------------------------------------------------------------
# The demo: mixed against separated
# --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def demo_morning(demo: Campus) -> tuple[TrafficOutcome, dict[str, Any]]:
    sc = load_scenario(DEMO / "traffic-morning.toml")
    sc.replications = 1
    assert demo.source.parent == Path(sc.campus).resolve()  # the session's demo campus, not loaded again
    outcome = traffic.run(sc, demo, source=str(DEMO / "traffic-morning.toml"), workers=1)
    return outcome, outcome.summary()


def test_demo_separated_has_fewer_serious_conflicts(demo_morning: tuple[TrafficOutcome, dict[str, Any]]) -> None:
    _, s = demo_morning
    mixed, sep = s["layouts"]["mixed"], s["layouts"]["separated"]
    assert 0 < sep["conflicts"] < mixed["conflicts"]
    assert mixed["passings_by_lane"]["SH-AV"]["passings"] > 0 and sep["passings"] == 0  # no one walks along the avenue
    assert set(mixed["conflicts_by_kind"]) <= {"crossing", "shared", "road"}
    assert sep["emergency_access_s"] < mixed["emergency_access_s"]  # 20 km/h where it was 10
    assert sep["ped_delay_s"] > mixed["ped_delay_s"]  # the signals make people wait
    # a conflict is an event: fewer than the vehicles' passes over crossings, fewer than the people crossing
    assert mixed["pet_events"] < mixed["drivers_yielded"] + mixed["drivers_did_not_yield"] + mixed["vehicles"]["arrived"]


@pytest.mark.browser
def test_demo_report_in_a_real_browser(browser: Any, demo_morning: tuple[TrafficOutcome, dict[str, Any]], tmp_path: Path) -> None:
    from viz.traffic_report import write_report

    outcome, s = demo_morning
    path = write_report(outcome, s, tmp_path)
    text = path.read_text()
    assert not re.search(r"<(script|link)\b[^>]*(src|href)=[\"']?https?:", text)
    seen = open_offline(browser, path)
    page, errors, requests = seen.page, seen.errors, seen.remote
    try:
        page.wait_for_selector(".leaflet-pane svg path")
        assert errors == [] and requests == []
        labels = page.locator(".leaflet-control-layers-base label").all_inner_texts()  # layouts: one at a time
        assert any("mixed" in lab for lab in labels) and any("separated" in lab for lab in labels)
        assert page.locator('svg path[stroke="#ff9800"]').count() > 0  # the mixed layout's shared lane
        page.locator(".leaflet-control-layers-base label", has_text="separated").click()
        # the separated layout has no shared lane; its conflict spots and signalised crossings are drawn
        assert page.locator('svg path[stroke="#ff9800"]').count() == 0 and page.locator("svg path").count() > 0
        assert page.locator('svg path[stroke="#00c853"]').count() > 0
        for img in ("tr-plot-conflicts", "tr-plot-queue", "tr-plot-delay"):
            assert page.eval_on_selector(f"#{img}", "i => i.complete && i.naturalWidth > 0")
        rows = page.locator("#tr-compare tbody tr").all_inner_texts()
        assert any(r.startswith("serious conflicts (per run)") for r in rows)
        assert page.locator("#tr-hot-mixed tbody tr").first.inner_text().startswith("X-")
    finally:
        page.close()


def test_the_documented_example_runs_on_the_demo_campus(demo: Campus) -> None:
    text = (Path(__file__).resolve().parent.parent / "docs" / "traffic.md").read_text()
    example = re.search(r"### Example\n\n```toml\n(.*?)```", text, re.S).group(1)
    sc = parse_scenario(tomllib.loads(example), "docs/traffic.md")
    sc.campus = (DEMO / sc.campus).resolve()
    assert demo.source.parent == Path(sc.campus).resolve()  # the session's demo campus, not loaded again
    campuses = layout_campuses(sc, str(DEMO / "example.toml"), base=demo)  # paths relative to the demo scenarios
    nets = {n: Network(c, sc, "docs/traffic.md", n) for n, c in campuses.items()}
    assert set(nets) == {"mixed", "separated"}
    sep = nets["separated"]
    assert "shared" not in sep.link_kind and "shared" in nets["mixed"].link_kind
    assert sep.zone_signal.sum() == 1  # X-SEP-1


GOLDEN = {"conflicts": 0.0, "conflict_events": 0.0, "pet_events": 54.5, "passings": 2355.5, "conflicts_by_kind": {},
          "ped_delay_s": 0.44, "veh_delay_s": 29.07, "gate_queue_max": 7.0, "emergency_access_s": 39.0, "vehicles": 211.5, "walks": 910.5}
"""Figures of the golden run on the avenue (seed 3, 08:00-09:00, 2 replications); update only for a deliberate model change."""


def test_golden_run(avenue: Path, campus: Campus) -> None:
    sc = scenario(avenue, vehicles=CARS + [{"gate": "GV", "vehicle": "delivery", "per_hour": 10, "to": ["B-E"]}],
                  pedestrians=WALKERS, timetable=[{"at": "08:20", "people": 300, "from": ["B-N"], "to": ["B-E"]}], replications=2)
    lay = traffic.run(sc, campus, source="golden.toml", workers=1).summary()["layouts"]["as is"]
    got = {k: lay[k] for k in ("conflicts", "conflict_events", "pet_events", "passings", "conflicts_by_kind", "ped_delay_s", "veh_delay_s",
                               "gate_queue_max", "emergency_access_s")}
    got["vehicles"] = lay["vehicles"]["arrived"]
    got["walks"] = lay["pedestrians"]["walks"]
    assert got == GOLDEN

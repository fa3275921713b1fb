"""Side by side with SUMO (PyPI ``eclipse-sumo``): the same arrivals through a one-lane gate, and a zebra crossing.

* **Gate queue.** One barrier lane, a fixed 6 s stop (``traffic.service_cv = 0``),
  cars arriving at the times our demand draws. SUMO drives the same cars, at the
  same times, up a 400 m approach to a ``<stop duration="6">`` (Krauss, no
  dawdling, SUMO's default accel 2.6 / decel 4.5 m/s², length + minGap = our
  7 m jam spacing). Compared: the mean wait before the barrier (s) and the
  time-averaged queue (vehicles), each within :data:`BAND`.
* **Zebra.** The same cars and people (same times, same walking speeds) at a
  prioritised crossing over a one-way road, drivers giving way. SUMO's
  trajectories (``--fcd-output``) are cut into the times each person and each
  car spends in the crossing's conflict area and measured by our own
  :func:`scenarios.traffic.conflicts.find_conflicts`. Both find no serious
  conflict (drivers give way where they can stop). The mean delay of a person
  and of a car (SUMO's time loss less that of the same people, or cars, on
  their own) agree within :data:`PED_DELAY_BAND` and :data:`CAR_DELAY_BAND`.
  Both models' drivers stop for people they see walking towards the zebra
  (SUMO's within ``jmCrossingGap``, ours within ``traffic.ped_intent_distance``,
  both 10 m); SUMO's people then cross without regard for vehicles, ours wait
  for one too close to stop. SUMO's walkers step out about 0.8 s behind a
  passing car (PET median 0.8 s; ours as it clears): printed, not banded
  (see docs/traffic.md).

Both SUMO runs are tiny (one hour of a single lane; ten minutes of a crossing, 60 m of road).
"""

from __future__ import annotations

import math
import re
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest
import shapely

from scenarios.schema import parse_scenario
from scenarios.traffic.conflicts import find_conflicts
from scenarios.traffic.demand import draw_demand
from scenarios.traffic.engine import run_layout
from scenarios.traffic.network import Network
from tests.helpers import add, line, point, rect, tiny, write
from twin.campus import load_campus
from twin.settings import default

sumo = pytest.importorskip("sumo", reason="eclipse-sumo is a test dependency: pip install -e .[test]")

BAND = 0.15
"""Mean wait and mean queue agree within ±15 %: SUMO moves up in 0.1 s steps with Krauss's safe speed, we with the
closed-form move-up time; at a utilisation near 0.85 a few per cent in the headway move the queue by about three
times as much (M/D/1: L ∝ ρ² / (1 - ρ))."""
PED_DELAY_BAND = 0.5
"""Mean delay of a person at the zebra, ours against SUMO's, within ±0.5 s: a tenth of the 5 s bound of level of
service A for pedestrians at an unsignalised crossing (HCM 2010 ch. 19), so no planner would read the difference."""
CAR_DELAY_BAND = 1.0
"""Mean delay of a car at the zebra within ±1 s: a tenth of the 10 s bound of level of service A for vehicles at an
unsignalised junction (HCM 2010 ch. 19). A stop costs a SUMO car its braking and pulling-away loss (v/2b + v/2a,
about 2.5 s from 30 km/h with its 4.5 and 2.6 m/s²), ours the start-up lost time ``traffic.yield_restart`` (2 s)."""
STOP = 6.0
"""The barrier's stop duration (s)."""
APPROACH = 400.0
"""SUMO's approach to the barrier (m): long enough that the queue never reaches where cars are inserted."""


FCD_ROW = re.compile(r'<(person|vehicle) id="(\w+)" x="([-\d.]+)" y="([-\d.]+)" angle="([-\d.]+)" speed="([-\d.]+)"')
"""One person or vehicle of one FCD time step, as written with ``--fcd-output.attributes x,y,angle,speed``."""


def _bin(name: str) -> str:
    return str(Path(sumo.SUMO_HOME) / "bin" / name)


def _netconvert(tmp: Path, nodes: str, edges: str, *extra: str) -> Path:
    (tmp / "n.nod.xml").write_text(f"<nodes>{nodes}</nodes>")
    (tmp / "n.edg.xml").write_text(f"<edges>{edges}</edges>")
    net = tmp / "n.net.xml"
    subprocess.run([_bin("netconvert"), "-n", str(tmp / "n.nod.xml"), "-e", str(tmp / "n.edg.xml"), "-o", str(net),
                    "--no-turnarounds", *extra], check=True, capture_output=True)
    return net


def _sumo(tmp: Path, net: Path, routes: str, *outputs: str, end: float) -> None:
    (tmp / "r.rou.xml").write_text(f"<routes>{routes}</routes>")
    subprocess.run([_bin("sumo"), "-n", str(net), "-r", str(tmp / "r.rou.xml"), "--step-length", "0.1", "--end", str(end),
                    "--no-step-log", "--no-warnings", "--seed", "1", *outputs], check=True, capture_output=True)


# --------------------------------------------------------------------------
# Gate queue
# --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def gate(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Our run and SUMO's of the same 55 min of arrivals (about 370 cars/h) at one barrier lane."""
    tmp = tmp_path_factory.mktemp("gate")
    doc = tiny()
    doc["features"] = []
    add(doc, point(0, 0), id="GV", kind="gate", mode="vehicle", lanes=1)
    add(doc, line((0, 0), (0, 300)), id="R", kind="road", speed_limit=50)
    add(doc, rect(-40, 280, -10, 320), id="B", kind="building", use="admin", levels=1)
    add(doc, point(-10, 300), id="B-D", kind="door", building="B", level=0, exit=True, width=1.8)
    add(doc, line((-10, 300), (0, 300)), id="FW", kind="footway")
    campus = load_campus(write(doc, tmp / "campus.geojson"))
    sc = parse_scenario({"kind": "traffic", "campus": str(tmp / "campus.geojson"), "start": "08:00", "end": "09:00", "seed": 5,
                         "vehicles": [{"gate": "GV", "per_hour": 370, "to": ["B"], "dwell": 600}],
                         "settings": {"traffic.service.car": STOP, "traffic.service_cv": 0.0}}, "gate.toml")
    net = Network(campus, sc)
    d_seq, b_seq = np.random.SeedSequence(sc.seed).spawn(1)[0].spawn(2)
    demand = draw_demand(sc, net.occupants, np.random.default_rng(d_seq))
    rep = run_layout(net, demand, np.random.default_rng(b_seq))
    t0 = sc.start * 3600.0
    arrive = demand.veh_t[demand.veh_t < t0 + 3300] - t0  # the last 5 min of arrivals are left to clear
    tq, q = rep.queues["GV"]
    step = np.diff(q)  # +1: a car joins the queue, -1: the first one is let to the barrier (one lane: first in, first out)
    joined, let = tq[1:][step > 0] - t0, tq[1:][step < 0] - t0
    ours = let[: len(arrive)] - joined[: len(arrive)]
    horizon = float(arrive[-1])

    stop_at = APPROACH - 5.0
    sumo_net = _netconvert(tmp, '<node id="a" x="0" y="0"/><node id="b" x="400" y="0"/><node id="c" x="500" y="0"/>',
                           '<edge id="ab" from="a" to="b" numLanes="1" speed="13.89"/>'
                           '<edge id="bc" from="b" to="c" numLanes="1" speed="13.89"/>')
    cars = "".join(f'<vehicle id="v{i}" type="car" route="r" depart="{t:.2f}" departSpeed="max">'
                   f'<stop lane="ab_0" endPos="{stop_at}" duration="{STOP}"/></vehicle>' for i, t in enumerate(arrive))
    _sumo(tmp, sumo_net, '<vType id="car" accel="2.6" decel="4.5" sigma="0" length="5" '
                         f'minGap="{default("traffic.jam_spacing") - 5:g}" maxSpeed="13.89"/><route id="r" edges="ab bc"/>{cars}',
          "--stop-output", str(tmp / "stops.xml"), "--tripinfo-output", str(tmp / "trips.xml"), end=4 * 3600)
    started = {s.get("id"): float(s.get("started")) for s in ET.parse(tmp / "stops.xml").getroot()}
    depart = {t.get("id"): float(t.get("depart")) for t in ET.parse(tmp / "trips.xml").getroot()}
    ids = [f"v{i}" for i in range(len(arrive))]
    assert set(ids) <= set(started) and set(ids) <= set(depart), "SUMO lost cars"
    lag = np.array([started[v] - depart[v] for v in ids])
    free = float(lag.min())  # a car that finds no queue: its drive up to the barrier
    wait = lag - free + (np.array([depart[v] for v in ids]) - arrive)  # insertion delays count as waiting too
    sumo_q = float(wait.sum() / horizon)  # vehicles waiting, time-averaged (each waits `wait` s within the horizon)
    return {"ours_w": float(ours.mean()), "ours_q": float(ours.sum() / horizon), "sumo_w": float(wait.mean()), "sumo_q": sumo_q, "cars": len(arrive),
            "ours_max": int(q.max()), "joined": joined[: len(arrive)], "arrive": arrive}


def test_a_gate_queue_matches_sumo(gate: dict[str, Any]) -> None:
    g = gate
    print(f"\n{g['cars']} cars in 55 min, {STOP:g} s stop: mean wait ours {g['ours_w']:.1f} s, SUMO {g['sumo_w']:.1f} s; "
          f"mean queue ours {g['ours_q']:.2f}, SUMO {g['sumo_q']:.2f} vehicles (ours at most {g['ours_max']})")
    assert np.allclose(g["joined"], g["arrive"])  # our queue log is the cars we gave SUMO, in order
    assert g["ours_q"] > 1.0  # a real queue, not an idle barrier
    assert g["ours_w"] == pytest.approx(g["sumo_w"], rel=BAND)
    assert g["ours_q"] == pytest.approx(g["sumo_q"], rel=BAND)


# --------------------------------------------------------------------------
# Zebra crossing: SUMO's trajectories measured by our conflict code
# --------------------------------------------------------------------------


def sumo_conflict_intervals(net_xml: Path, fcd_xml: Path, car_length: float, car_width: float) -> tuple[np.ndarray, ...]:
    """The times each person and each car spends in each crossing's conflict area, from SUMO's FCD output.

    A crossing's conflict area is its lane in the SUMO network (its shape, as wide as the crossing) over the road.
    A person is in it while their point is; a car while its footprint (``car_length`` back from its front bumper,
    along its heading, ``car_width`` wide) touches it. Returns ``(ped_zone, ped_lane, veh_lane, zone_width)`` in
    the layout :func:`find_conflicts` takes (one lane per crossing; SUMO's drivers never edge through).
    """
    areas, widths = [], []
    for e in ET.parse(net_xml).getroot().iter("edge"):
        if e.get("function") == "crossing":
            lane = next(e.iter("lane"))
            pts = [tuple(map(float, p.split(","))) for p in lane.get("shape").split()]
            areas.append(shapely.LineString(pts).buffer(float(lane.get("width")) / 2, cap_style="flat"))
            widths.append(shapely.LineString(pts).length)
    times, found = [], []
    for chunk in fcd_xml.read_text().split("<timestep time=")[1:]:  # a regular expression reads it 10x faster than a tree
        rows = FCD_ROW.findall(chunk)
        times += [float(chunk[1:chunk.index('"', 1)])] * len(rows)
        found += rows
    kind = np.array([r[0] for r in found])
    who = np.array([int(r[1][1:]) for r in found], int)
    num = np.array([r[2:] for r in found], float).reshape(-1, 4)  # x, y, angle, speed
    t = np.array(times)
    step = float(np.diff(np.unique(t)).min()) if len(t) > 1 else 0.1

    def intervals(sel: np.ndarray, geoms: np.ndarray) -> list[tuple[int, float, float, int, float]]:
        """(area, t0, t1, who, speed on entering) for each stay of each mover (rows ``sel``) in each area."""
        out = []
        for k, area in enumerate(areas):
            inside = np.flatnonzero(sel)[shapely.intersects(area, geoms)]
            order = inside[np.lexsort((t[inside], who[inside]))]
            tt, ww = t[order], who[order]
            if not len(tt):
                continue
            cut = np.flatnonzero((np.diff(tt) > 1.5 * step) | (np.diff(ww) != 0))
            for a, b in zip(np.r_[0, cut + 1], np.r_[cut, len(tt) - 1], strict=True):
                out.append((k, float(tt[a]), float(tt[b] + step), int(ww[a]), float(num[order[a], 3])))
        return out

    person, car = kind == "person", kind == "vehicle"
    peds = intervals(person, shapely.points(num[person, :2]))
    front = num[car, :2]
    ang = np.radians(num[car, 2])
    back = front - car_length * np.column_stack([np.sin(ang), np.cos(ang)])
    cars = intervals(car, shapely.buffer(shapely.linestrings(np.stack([front, back], axis=1)), car_width / 2, cap_style="flat"))
    ped_zone = np.array([(k, t0, t1, w) for k, t0, t1, w, _ in peds], float).reshape(-1, 4)
    ped_lane = np.array([(k, t0, t1, i) for i, (k, t0, t1, _, _) in enumerate(peds)], float).reshape(-1, 4)
    veh_lane = np.array([(k, t0, t1, w, s, 0.0) for k, t0, t1, w, s in cars], float).reshape(-1, 6)
    return ped_zone, ped_lane, veh_lane, np.array(widths)


@pytest.fixture(scope="module")
def zebra(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Ten minutes at a zebra over a one-way road, 650 cars/h and 370 people/h, drivers giving way: ours and SUMO's."""
    tmp = tmp_path_factory.mktemp("zebra")
    doc = tiny()
    doc["features"] = []
    add(doc, point(0, 0), id="GV", kind="gate", mode="vehicle", lanes=8)  # eight barrier lanes: no queue before the road
    add(doc, line((0, 0), (60, 0), (100, 0)), id="R", kind="road", speed_limit=30, width=3.2)
    add(doc, rect(100, -20, 130, 20), id="B-E", kind="building", use="admin", levels=1)
    add(doc, point(100, 0), id="B-E-D", kind="door", building="B-E", level=0, exit=True, width=1.8)
    add(doc, point(60, -30), id="GP", kind="gate", mode="pedestrian", width=4)
    add(doc, line((60, -30), (60, -1.6)), id="FW-S", kind="footway", width=3)
    add(doc, line((60, -1.6), (60, 1.6)), id="X", kind="crossing", width=4)
    add(doc, line((60, 1.6), (60, 40)), id="FW-N", kind="footway", width=3)
    add(doc, rect(45, 40, 75, 70), id="B-N", kind="building", use="teaching", levels=1)
    add(doc, point(60, 40), id="B-N-D", kind="door", building="B-N", level=0, exit=True, width=1.8)
    campus = load_campus(write(doc, tmp / "campus.geojson"))
    sc = parse_scenario({"kind": "traffic", "campus": str(tmp / "campus.geojson"), "start": "08:00", "end": "08:10", "seed": 2,
                         "vehicles": [{"gate": "GV", "per_hour": 650, "to": ["B-E"], "dwell": 36000}],
                         "pedestrians": [{"gate": "GP", "per_hour": 370, "to": ["B-N"]}], "compliance": 1.0, "jaywalk": 0,
                         "settings": {"traffic.service.car": 0.1, "traffic.service_cv": 0.0}}, "zebra.toml")
    net = Network(campus, sc)
    d_seq, b_seq = np.random.SeedSequence(sc.seed).spawn(1)[0].spawn(2)
    demand = draw_demand(sc, net.occupants, np.random.default_rng(d_seq))
    rep = run_layout(net, demand, np.random.default_rng(b_seq))
    kw = {"pet_threshold": default("traffic.pet_threshold"), "reaction": default("traffic.brake_reaction"),
          "serious_decel": default("traffic.serious_decel"), "window": default("traffic.ped_start_time")}

    # SUMO: the same cars leave the barrier (0.1 s stop and the move-up) 60 m before the crossing, the same people
    # set off 30 m before it at their own speeds
    t0 = sc.start * 3600.0
    leave = 0.1 + math.sqrt(2 * default("traffic.jam_spacing") * (1 / 2.6 + 1 / 4.5)) + default("traffic.reaction_time") / 2
    sumo_net = _netconvert(tmp, '<node id="a" x="0" y="0"/><node id="j" x="60" y="0" type="priority"/>'
                                '<node id="b" x="100" y="0"/><node id="n" x="60" y="40"/><node id="s" x="60" y="-30"/>',
                           '<edge id="aj" from="a" to="j" numLanes="1" speed="8.33" allow="passenger"/>'
                           '<edge id="jb" from="j" to="b" numLanes="1" speed="8.33" allow="passenger"/>'
                           '<edge id="sj" from="s" to="j" numLanes="1" speed="2" allow="pedestrian" width="3"/>'
                           '<edge id="jn" from="j" to="n" numLanes="1" speed="2" allow="pedestrian" width="3"/>',
                           "-x", str(_write(tmp / "n.con.xml", '<connections><crossing node="j" edges="aj" priority="true" '
                                                               'width="4"/></connections>')))
    items = [(t, f'<vehicle id="v{i}" type="car" route="r" depart="{t:.2f}" departSpeed="max"/>')
             for i, t in enumerate(demand.veh_t - t0 + leave)]
    items += [(t, f'<person id="p{i}" depart="{t:.2f}"><walk from="sj" to="jn" speed="{demand.ped_speed[i]:.3f}"/></person>')
              for i, t in enumerate(demand.ped_t - t0)]
    length, width = 5.0, default("traffic.width.car")
    head = f'<vType id="car" accel="2.6" decel="4.5" sigma="0" length="{length:g}" width="{width:g}" minGap="2"/><route id="r" edges="aj jb"/>'
    _sumo(tmp, sumo_net, head + "".join(x for _, x in sorted(items)),
          "--fcd-output", str(tmp / "fcd.xml"), "--fcd-output.attributes", "x,y,angle,speed", "--tripinfo-output", str(tmp / "trips.xml"), end=1800)
    pz, pl, vl, w = sumo_conflict_intervals(sumo_net, tmp / "fcd.xml", length, width)
    theirs = find_conflicts(SimpleNamespace(zone_width=w), pz, pl, vl, **kw)

    def time_loss(path: Path) -> tuple[float, float]:
        """Mean time loss of a walk and of a car trip in SUMO's tripinfo (s)."""
        trips = ET.parse(path).getroot()
        walks = [float(x.get("timeLoss")) for x in trips.iter("walk")]
        cars = [float(x.get("timeLoss")) for x in trips.iter("tripinfo")]
        return float(np.mean(walks)) if walks else 0.0, float(np.mean(cars)) if cars else 0.0

    # SUMO's time loss has a part that is not the crossing's other users (walking areas, the junction): the same
    # people with no cars, and the same cars with no people, give it
    for alone, keep in (("people", "<person"), ("cars", "<vehicle")):
        _sumo(tmp, sumo_net, head + "".join(x for _, x in sorted(items) if x.startswith(keep)),
              "--tripinfo-output", str(tmp / f"{alone}.xml"), end=1800)
    (ped, car), ped0, car0 = time_loss(tmp / "trips.xml"), time_loss(tmp / "people.xml")[0], time_loss(tmp / "cars.xml")[1]
    halted = sum(float(x.get("waitingTime")) > 0 for x in ET.parse(tmp / "trips.xml").getroot().iter("tripinfo"))
    return {"ours": rep.conflicts, "theirs": theirs, "peds": len(demand.ped_t), "cars": len(demand.veh_t),
            "sumo_peds": len(pz), "sumo_cars": len({int(r[3]) for r in vl}),
            "ours_ped_delay": float(rep.ped_delay.mean()), "ours_veh_delay": float(rep.veh_delay.mean()),
            "sumo_ped_delay": ped - ped0, "sumo_veh_delay": car - car0, "sumo_ped_alone": ped0, "sumo_car_alone": car0,
            "ours_stops": rep.yields, "sumo_stops": halted}


def _write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def test_sumo_trajectories_at_a_zebra_through_our_conflict_code(zebra: dict[str, Any]) -> None:
    z = zebra
    for who in ("ours", "theirs"):
        c = z[who]
        print(f"\n{who}: {len(c)} events ({np.isfinite(c['tta']).sum()} on a collision course, {c['serious'].sum()} serious), "
              f"PET median {np.median(c['pet']) if len(c) else float('nan'):.1f} s")
    print(f"{z['peds']} people, {z['cars']} cars; mean delay of a person ours {z['ours_ped_delay']:.1f} s, "
          f"SUMO {z['sumo_ped_delay']:.1f} s; of a car ours {z['ours_veh_delay']:.1f} s, SUMO {z['sumo_veh_delay']:.1f} s "
          f"(SUMO's time loss less that of the same people with no cars, {z['sumo_ped_alone']:.1f} s, and of the same cars "
          f"with no people, {z['sumo_car_alone']:.1f} s); cars that stopped for people ours {z['ours_stops']}, SUMO {z['sumo_stops']}")
    # SUMO's trajectories went through our code: every person crossed, every car passed, each measured once per pair
    assert z["sumo_peds"] == z["peds"] and z["sumo_cars"] == z["cars"]
    theirs = z["theirs"]
    assert len(theirs) > 10 and (theirs["pet"] < default("traffic.pet_threshold")).all()
    assert len({(int(e["group"]), int(e["ped"]), int(e["veh"])) for e in theirs}) == len(theirs)
    # drivers give way where they can stop in both: our severity rule finds no serious conflict in either
    assert z["ours"]["serious"].sum() == 0 and theirs["serious"].sum() == 0
    # the delays agree within a tenth of HCM's level-of-service A bound at an unsignalised crossing
    assert abs(z["ours_ped_delay"] - z["sumo_ped_delay"]) <= PED_DELAY_BAND
    assert abs(z["ours_veh_delay"] - z["sumo_veh_delay"]) <= CAR_DELAY_BAND

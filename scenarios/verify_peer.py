"""Side-by-side checks against JuPedSim, a microscopic peer simulator, on the same single-level geometries.

JuPedSim (PyPI ``jupedsim``, a test dependency; Chraibi et al., the Jülich
pedestrian simulator) runs its collision-free speed model (Tordeux,
Chraibi & Seyfried 2016) on the walkable polygon; our engine runs the same
hall, bottleneck or corner built with ``maps.builder.CampusBuilder``, in
both capacity modes. Both start the same number of people at random places,
at rest, with no pre-movement and a free speed of 1.34 m/s, each heading for
its nearest exit; the compared time is when the last person is through an
exit door.

The acceptance rule: our *measured*-capacity time within ``BAND`` of
JuPedSim's (microscopic models reproduce laboratory bottleneck flows, about
1.9 persons/(m·s), so the measured mode should agree), and our
*design*-capacity time above JuPedSim's (SFPE flows are about half of
measured ones: a design estimate must not be beaten by a crowd the peer
simulates). The band comes from the peer's own spread: with body radius
0.15 to 0.25 m JuPedSim's time for one hall varies by about ±20 % (the issue
measured 75 to 113 s for 1,000 people and four 1 m exits), plus the ±10 %
scatter of the bottleneck data the measured flows come from.

Runs are small (a few hundred agents, a time step of 0.05 s) and nothing is
cached between runs.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import shapely
from shapely.geometry import Polygon, box

from maps.builder import CampusBuilder
from scenarios.verify_base import SEED, Case, Context

BAND = (0.7, 1.3)
"""Our measured-capacity time ÷ JuPedSim's must fall in this range (see the module docstring)."""

JPS_DT = 0.05
"""JuPedSim's time step (s): coarse, to keep the suite fast; the collision-free speed model is stable with it."""

RADIUS = 0.2
"""Body radius of JuPedSim's agents (m): its default for the collision-free speed model."""

SPEED = 1.34
"""Free speed of everyone in both simulators (m/s, Weidmann 1993's mean)."""

PEER = "JuPedSim 1.4 collision-free speed model (Tordeux, Chraibi & Seyfried 2016)"


@dataclass(frozen=True)
class Geometry:
    """One side-by-side geometry: where people start, the doors (centre, outward unit normal, width) and extra walkable area."""

    name: str
    start: Polygon
    doors: Sequence[tuple[tuple[float, float], tuple[float, float], float]]
    people: int
    extra: Sequence[Polygon] = ()
    """Walkable area beyond the start space (our engine: one corridor each)."""
    inner: Sequence[tuple[tuple[float, float], float]] = ()
    """Our engine's doorways (centre, width) from the start space into ``extra`` (JuPedSim needs none)."""


def _door_stub(centre: tuple[float, float], normal: tuple[float, float], width: float, depth: float) -> Polygon:
    """The walkable strip ``depth`` m deep outside a door of ``width`` m (from its centre along ``normal``)."""
    (x, y), (nx, ny) = centre, normal
    tx, ty = -ny, nx
    h = width / 2
    return Polygon([(x + tx * h, y + ty * h), (x - tx * h, y - ty * h),
                    (x - tx * h + nx * depth, y - ty * h + ny * depth), (x + tx * h + nx * depth, y + ty * h + ny * depth)])


def jupedsim_time(geo: Geometry) -> float:
    """When JuPedSim's last agent reaches an exit (s): the area behind a door, 0.5-1.0 m out."""
    import jupedsim as jps  # a test dependency: imported only when the side-by-side cases run

    stubs = [_door_stub(c, n, w, 1.0) for c, n, w in geo.doors]
    exits = [shapely.difference(s, _door_stub(c, n, w, 0.5)) for s, (c, n, w) in zip(stubs, geo.doors, strict=True)]
    walkable = shapely.union_all([geo.start, *geo.extra, *stubs])
    sim = jps.Simulation(model=jps.CollisionFreeSpeedModel(), geometry=walkable, dt=JPS_DT)
    journeys = []
    for e in exits:
        stage = sim.add_exit_stage(e)
        journeys.append((sim.add_journey(jps.JourneyDescription([stage])), stage, e))
    places = jps.distribute_by_number(polygon=geo.start, number_of_agents=geo.people, distance_to_agents=2.5 * RADIUS,
                                      distance_to_polygon=RADIUS + 0.05, seed=SEED)
    for p in places:
        journey, stage, _ = min(journeys, key=lambda j: j[2].distance(shapely.Point(p)))
        sim.add_agent(jps.CollisionFreeSpeedModelAgentParameters(journey_id=journey, stage_id=stage, position=p,
                                                                 radius=RADIUS, desired_speed=SPEED))
    while sim.agent_count() > 0 and sim.elapsed_time() < 3600:
        sim.iterate()
    return float(sim.elapsed_time())


def _campus(geo: Geometry) -> CampusBuilder:
    """The geometry as a campus: one building, its start space a room (corridors for the extra area), its doors exits,
    each with a 4 m footway to a small assembly area."""
    c = CampusBuilder(f"peer_{geo.name}")
    outline = shapely.union_all([geo.start, *geo.extra])
    c.area("B", "building", list(shapely.convex_hull(outline).exterior.coords), levels=1, use="other")
    c.area("START", "room", list(geo.start.exterior.coords), building="B", level=0, use="other", occupants=geo.people)
    for k, poly in enumerate(geo.extra):
        c.area(f"C{k}", "corridor", list(poly.exterior.coords), building="B", level=0, occupants=0)
    for k, (xy, w) in enumerate(geo.inner):
        c.door(f"IN{k}", xy, building="B", level=0, width=w, exit=False)
    for k, ((x, y), (nx, ny), w) in enumerate(geo.doors):
        c.door(f"EXIT{k}", (x, y), building="B", level=0, width=w)
        c.line(f"FW{k}", "footway", [(x, y), (x + 4 * nx, y + 4 * ny)])
        c.area(f"AA{k}", "assembly", (x + 4 * nx - 3, y + 4 * ny - 3, x + 4 * nx + 3, y + 4 * ny + 3))
    return c


def our_times(ctx: Context, geo: Geometry) -> dict[str, float]:
    """When our last person passes an exit door (s), in each capacity mode."""
    out = {}
    for mode in ("design", "measured"):
        sim = ctx.simulate(f"peer_{geo.name}_{mode}", _campus(geo), premovement=0, speed=SPEED, capacity=mode)
        times = [t for ts in sim.rep.exit_times.values() for t in ts]
        out[mode] = float(max(times)) if len(times) == geo.people else float("nan")
    return out


HALL = box(0, 0, 30, 20)
GEOMETRIES = {
    "hall-4-exits": Geometry("hall4", HALL, [((0, 5), (-1, 0), 1.0), ((0, 15), (-1, 0), 1.0),
                                             ((30, 5), (1, 0), 1.0), ((30, 15), (1, 0), 1.0)], 200),
    "hall-2-exits": Geometry("hall2", HALL, [((0, 5), (-1, 0), 1.0), ((30, 15), (1, 0), 1.0)], 200),
    "bottleneck": Geometry("bottleneck", box(0, 0, 10, 10), [((10, 5), (1, 0), 1.0)], 100),
    "corner": Geometry("corner", box(0, 0, 10, 4), [((10.6, 16), (0, 1), 1.2)], 60,
                       extra=(Polygon([(10, 0), (11.2, 0), (11.2, 16), (10, 16)]),), inner=(((10, 2), 1.2),)),
}
"""The side-by-side geometries (m): a 30 × 20 m hall with four, then two 1 m exits; a 10 × 10 m room with one
1 m door (a short bottleneck, as Seyfried et al. 2009); a 10 × 4 m room opening onto a 1.2 m corridor that
turns 90° and runs 16 m (RiMEA test 6's corner)."""


def case_peer(name: str) -> Callable[[Context], Case]:
    """The verification case comparing our run of ``GEOMETRIES[name]`` with JuPedSim's."""

    def case(ctx: Context) -> Case:
        geo = GEOMETRIES[name]
        peer = jupedsim_time(geo)
        ours = our_times(ctx, geo)
        lo, hi = BAND[0] * peer, BAND[1] * peer
        ok = bool(lo <= ours["measured"] <= hi and ours["design"] > peer)
        return Case(
            f"jupedsim-{name}", PEER,
            f"last person through an exit, {geo.people} people (s): ours with measured capacities", (lo, hi),
            ours["measured"], f"{BAND[0]:g}-{BAND[1]:g} x JuPedSim (its spread over body radius 0.15-0.25 m, ±20 %, "
            "plus the bottleneck data's ±10 %); design-capacity time above JuPedSim's", ok,
            f"JuPedSim {peer:.1f} s; ours measured {ours['measured']:.1f} s (× {ours['measured'] / peer:.2f}), "
            f"design {ours['design']:.1f} s (× {ours['design'] / peer:.2f})",
        )

    return case


PEER_CASES = {f"jupedsim-{n}": case_peer(n) for n in GEOMETRIES}
"""The side-by-side cases, by name, in the order they run."""


"""Generate the bundled demo campus of the fictional "Demo University".

The campus is designed in local metres (x east, y north) around an origin on
the south boundary, in front of the main gate, and converted to WGS 84
longitude/latitude through the UTM zone of the origin. Nothing is random: the
same code always writes the same file.

Layout (about 800 m x 700 m inside the ring road, y = 0 is the south boundary;
``*`` marks an assembly area)::

    y=700 ......................... GATE-N ..............................
    y=620 +=== ring road ==========+=====================================+
          |  construction  *North  |  *Dormitory Lawn (along the road)   |
          |  site           Lawn   |     dorm zone: DORM1-6, canteen     |
          |  LAB     LIB           ~ shared stretch of the avenue        |
    y=350 +=== middle road ========+=====================================+
          |  ENG  *West  TB3  *Tea-|  *Central     *Sports Field        |
          |        Lawn  TB2   ch- |   Square                            |
          |  CLINIC      TB1   ing |  ADMIN (finance)       Sports Hall  |
          |                   Green|                                     |
    y=80  +=== ring road ==========+=====================================+
    y=0   ........................ GATE-S-P | GATE-S-V .................
        x=-400                    x=0                                 x=400

The main avenue runs north from the south gates: a 6 m footway (x = -4) and a
road (x = +4) 8 m apart, merging into one shared lane for 50 m, and
separating again up to the north gate. Footways cross roads only at
crossings. The three teaching buildings are modelled inside (rooms, corridors,
doors, stairs, detectors, cameras); the other buildings get a generated
interior from their footprint, levels and use.

Egress: six assembly areas, each next to the buildings it serves and entered
from several sides; spine footways 6 m, other walks 3-4 m; several ways from
every building cluster to its assembly area, with zebra crossings wherever a
walk meets a road. Every building exit has a people counter (``counter =
true``: in and out crossings, as the campuses count people at doors). Dorms
have two card-access entrances and two emergency
exits each; the canteen and the library have five exits, the sports hall
three, the clinic two. Features added for the egress network number apart
from the older ones (``FW-TG-NN``, ``X-WL-NN``, ``CAM-EX-NN``, ...), so the
older ids are stable.

Run ``python -m maps.demo.generate [--out PATH]`` to (re)write
``maps/demo/campus.geojson``.
"""

from __future__ import annotations

import argparse
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from maps.builder import XY, CampusBuilder, dumps, projected_origin

ORIGIN_LON = 114.3650
"""Longitude of the local origin (the middle of the south gates)."""
ORIGIN_LAT = 30.5290
"""Latitude of the local origin."""
TIME_ZONE = "Asia/Shanghai"
"""The campus's IANA time zone (the origin is in Wuhan, UTC+8): clocks, the synthetic day."""
OUT = Path(__file__).with_name("campus.geojson")
"""Where the campus file is written by default."""

# Local coordinates of the main lines (m).
AV_FOOT_X = -4.0  # avenue footway, west side
AV_ROAD_X = 4.0  # avenue road, east side
SIDEWALK_X = 12.0  # footway along the east side of the avenue, south part
RING_S, RING_MID, RING_N = 80.0, 350.0, 620.0
RING_W, RING_E = -400.0, 400.0
SHARED_Y = (480.0, 530.0)  # the stretch where the avenue's footway and road merge
NORTH_GATE_Y = 700.0
AV_FOOT_W = 6.0  # width of the avenue footway and its crossings (the campus's main walk)
DORM_Y = (368.0, 420.0, 493.0, 560.0)  # east-west walks between the dorm rows
DORM_EAST_X = 386.0  # north-south walk east of the dorms

# Assembly areas (x0, y0, x1, y1), besides the Central Square and the Sports Field.
TEACHING_GREEN = (-76.0, 104.0, -14.0, 312.0)
WEST_LAWN = (-248.0, 94.0, -208.0, 334.0)
NORTH_LAWN = (-190.0, 518.0, -25.0, 604.0)
DORM_LAWN = (24.0, 570.0, 384.0, 608.0)

PIXELS_HD = 1920
"""Horizontal pixels of the demo's door, corridor and number-plate cameras: 1080p (1920 x 1080, 2 MP), the common
fixed IP camera. With a 70° lens it observes (IEC 62676-4, 62.5 px/m) to 21.9 m, a door camera's 25 m."""
PIXELS_UHD = 3840
"""Horizontal pixels of the demo's outdoor overview cameras (gates, avenue, squares, fields, sites): 4K UHD
(3840 x 2160, 8 MP), the common resolution of wide-area outdoor IP cameras. With a 100° lens it observes to 25.8 m
and detects (25 px/m) to 64.4 m."""


def egress_path(c: CampusBuilder, zone: str, pts: Sequence[XY], name: str, width: float | None = None) -> str:
    """A footway of the egress network, numbered per zone (``FW-{zone}-NN``).

    The egress paths have their own numbering so that adding one never
    renumbers the older ``FW-NN`` footways that tests and docs may name.
    """
    return c.footway(pts, name=name, fid=c.next_id(f"FW-{zone}"), width=width)


# -- small geometry helpers ------------------------------------------------


def rect(x0: float, y0: float, x1: float, y1: float) -> list[XY]:
    """An axis-aligned rectangle as a counter-clockwise ring."""
    return [(x0, y0), (x1, y0), (x1, y1), (x0, y1)]


def split(a: float, b: float, n: int) -> list[tuple[float, float]]:
    """Cut ``[a, b]`` into ``n`` equal intervals."""
    step = (b - a) / n
    return [(a + i * step, a + (i + 1) * step if i < n - 1 else b) for i in range(n)]


def noded_band(x0: float, x1: float, y0: float, y1: float, south: Iterable[float], north: Iterable[float]) -> list[XY]:
    """A rectangle whose south and north edges carry extra vertices (where room walls meet it).

    The corridor then shares its vertices with the rooms on both sides, so the
    floor plan is noded exactly.
    """
    s = sorted({x for x in south if x0 < x < x1})
    n = sorted({x for x in north if x0 < x < x1}, reverse=True)
    return [(x0, y0), *[(x, y0) for x in s], (x1, y0), (x1, y1), *[(x, y1) for x in n], (x0, y1)]


# -- buildings -------------------------------------------------------------

SIDES = {"S": (0.0, -1.0), "N": (0.0, 1.0), "W": (-1.0, 0.0), "E": (1.0, 0.0)}


def outline_point(box: tuple[float, float, float, float], side: str, frac: float) -> XY:
    """The point at fraction ``frac`` along one side of a rectangle (W→E or S→N)."""
    x0, y0, x1, y1 = box
    return {
        "S": (x0 + frac * (x1 - x0), y0),
        "N": (x0 + frac * (x1 - x0), y1),
        "W": (x0, y0 + frac * (y1 - y0)),
        "E": (x1, y0 + frac * (y1 - y0)),
    }[side]


def door_stub(c: CampusBuilder, door_id: str, p: XY, side: str, to: float, name: str,
              width: float | None = None) -> None:
    """A footway from a door straight out of its wall to the line x = ``to`` (W/E) or y = ``to`` (S/N)."""
    end = (to, p[1]) if side in "WE" else (p[0], to)
    c.footway([p, end], name=name, fid=f"FW-{door_id}", width=width)


def door_camera(c: CampusBuilder, p: XY, side: str, name: str, prefix: str = "CAM") -> None:
    """A camera 6 m out from a door and 2 m to the side, looking at the door."""
    nx, ny = SIDES[side]
    xy = (p[0] + 6 * nx + 2 * ny, p[1] + 6 * ny - 2 * nx)
    c.camera(xy, p, name, fov=70, rng=25, prefix=prefix, pixels=PIXELS_HD)


@dataclass(frozen=True)
class Door:
    """An exit door of a generated building and the footway from it.

    The door is at fraction ``frac`` along side ``side`` of the footprint; a
    footway of ``path_width`` (default ``footway_width``) runs from it straight
    out to the line x = ``to`` (W/E sides) or y = ``to`` (S/N). ``emergency``
    doors are exits only: never card access, named "emergency exit".
    ``new`` doors (added for the egress network) number their cameras apart
    (``CAM-EX-NN``) so that the older ``CAM-NN`` ids stay stable.
    """

    side: str
    frac: float
    to: float
    width: float = 1.8
    path_width: float | None = None
    emergency: bool = False
    new: bool = False


def generated_building(
    c: CampusBuilder,
    bid: str,
    name: str,
    use: str,
    box: tuple[float, float, float, float],
    levels: int,
    doors: Sequence[Door | tuple[str, float, float]],
    occupants: int | None = None,
    access: str | None = None,
) -> list[XY]:
    """A building without indoor features, its exit doors and a footway from each door.

    ``doors`` holds :class:`Door` specs, or ``(side, fraction, stub_to)`` for a
    plain 1.8 m entrance. Entrances carry ``access`` (e.g. card); emergency
    exits do not. Returns the door positions.
    """
    c.area(bid, "building", rect(*box), name=name, use=use, levels=levels, occupants=occupants)
    pts = []
    for k, spec in enumerate(doors, start=1):
        d = spec if isinstance(spec, Door) else Door(*spec)
        p = outline_point(box, d.side, d.frac)
        what = f"emergency exit {d.side}" if d.emergency else f"entrance {k}"
        did = c.point(f"{bid}-D{k}", "door", p, building=bid, level=0, width=d.width, exit=True,
                      access=None if d.emergency else access, counter=True, name=f"{name} {what}")
        door_stub(c, did, p, d.side, d.to, f"Path to {name} {what}", width=d.path_width)
        door_camera(c, p, d.side, f"{name} {what}", prefix="CAM-EX" if d.new else "CAM")
        pts.append(p)
    return pts


def teaching_building(
    c: CampusBuilder,
    bid: str,
    name: str,
    x0: float,
    y0: float,
    *,
    length: float,
    levels: int,
    depth: float = 7.5,
    corridor: float = 3.0,
    south_rooms: int = 8,
    north_rooms: int = 7,
    stair: float = 4.0,
    lobby: float = 8.0,
    lecture_south: bool = False,
    stubs: tuple[float, float, float],
) -> None:
    """A teaching building modelled inside, with footways from its exits.

    Plan of every level (x along the building, y across it)::

        +----+-----+-----+-- ... --+-----+----+
        | S1 | R   | R   |         | R   | S2 |   north band: stairs at both ends, rooms
        +-D--+--D--+--D--+-- ... --+--D--+--D-+
        X              corridor               X   exits at both ends (level 0)
        +--D--+--D--+---[lobby]---+--D--+--D--+
        | R   | R   |   |     |   | R   | R   |   south band: rooms (lobby on level 0)
        +-----+-----+---+--X--+---+-----+-----+

    ``stubs`` is ``(x_west, x_east, y_south)``: the footway lines that the
    west, east and south exits are joined to.
    """
    x1 = x0 + length
    yc0, yc1 = y0 + depth, y0 + depth + corridor
    y1 = yc1 + depth
    ym = (yc0 + yc1) / 2
    xm = (x0 + x1) / 2
    c.area(bid, "building", rect(x0, y0, x1, y1), name=name, use="teaching", levels=levels, level_height=3.9)
    stairs = {"S1": (x0, x0 + stair), "S2": (x1 - stair, x1)}
    for sid, (a, b) in stairs.items():
        c.area(f"{bid}-{sid}", "stair", rect(a, yc1, b, y1), building=bid, levels=f"0-{levels - 1}", width=1.4,
                  name=f"{name} stair {sid[1]}")
    north = split(x0 + stair, x1 - stair, north_rooms)
    n0 = (south_rooms - 1) // 2
    la, lb = xm - lobby / 2, xm + lobby / 2
    for lv in range(levels):
        tag = f"{bid}-L{lv}"
        south = split(x0, x1, south_rooms) if lv else split(x0, la, n0) + split(lb, x1, n0)
        cuts_s = [x for ab in south for x in ab] + ([la, lb] if lv == 0 else [])
        cuts_n = [x for ab in north for x in ab]
        c.area(f"{tag}-C", "corridor", noded_band(x0, x1, yc0, yc1, cuts_s, cuts_n), building=bid, level=lv,
                  name=f"{name} level {lv} corridor")
        rooms = [(a, b, y0, yc0, "S") for a, b in south] + [(a, b, yc1, y1, "N") for a, b in north]
        for k, (a, b, ra, rb, band) in enumerate(rooms, start=1):
            use = "lecture" if band == "S" and (lecture_south or lv == 0) else "classroom"
            if band == "N" and lv == levels - 1 and not lecture_south:
                use = "office"
            rid = c.area(f"{tag}-R{k:02d}", "room", rect(a, ra, b, rb), building=bid, level=lv, use=use,
                            name=f"{bid} {lv}{k:02d}")
            door_y = yc0 if band == "S" else yc1
            width = {"lecture": 1.2, "classroom": 1.0, "office": 0.9}[use]
            c.point(f"{tag}-D{k:02d}", "door", ((a + b) / 2, door_y), building=bid, level=lv, width=width)
            c.point(f"{tag}-SD{k:02d}", "detector", ((a + b) / 2, (ra + rb) / 2), type="smoke", building=bid,
                    level=lv, zone=tag, name=f"Smoke detector {rid}")
        for sid, (a, b) in stairs.items():
            sx = (a + b) / 2
            c.point(f"{tag}-D{sid}", "door", (sx, yc1), building=bid, level=lv, width=1.2, name=f"Stair {sid[1]} door")
            mcp_x = sx + 1.5 if sid == "S1" else sx - 1.5
            c.point(f"{tag}-MCP{sid[1]}", "detector", (mcp_x, yc1 - 0.3), type="manual_call_point", building=bid,
                    level=lv, zone=tag, name=f"Manual call point by stair {sid[1]}")
        n_sd = math.ceil(length / 15)
        for k, (a, b) in enumerate(split(x0, x1, n_sd), start=1):
            c.point(f"{tag}-SDC{k}", "detector", ((a + b) / 2, ym), type="smoke", building=bid, level=lv, zone=tag,
                    name=f"Corridor smoke detector {k}")
        c.camera((x0 + 0.5, ym), (x1, ym), f"{name} level {lv} corridor", fov=60, rng=60, building=bid, level=lv, pixels=PIXELS_HD)
    # Level 0: a lobby off the corridor leads to the south exit.
    lob = c.area(f"{bid}-L0-LOBBY", "corridor", rect(la, y0, lb, yc0), building=bid, level=0, name=f"{name} lobby")
    c.point(f"{bid}-L0-DLOBBY", "door", (xm, yc0), building=bid, level=0, width=3.0, name="Lobby opening")
    c.point(f"{bid}-L0-SDL", "detector", (xm, (y0 + yc0) / 2), type="smoke", building=bid, level=0, zone=f"{bid}-L0",
            name=f"Smoke detector {lob}")
    x_w, x_e, y_s = stubs
    for k, (p, side, to) in enumerate(
        [((x0, ym), "W", x_w), ((x1, ym), "E", x_e), ((xm, y0), "S", y_s)], start=1
    ):
        did = c.point(f"{bid}-L0-X{k}", "door", p, building=bid, level=0, width=1.8, exit=True, counter=True,
                      name=f"{name} exit {side}")
        door_stub(c, did, p, side, to, f"Path to {name} exit {side}")
        door_camera(c, p, side, f"{name} exit {side}")


# -- the campus --------------------------------------------------------------


def add_roads_and_gates(c: CampusBuilder) -> None:
    """Gates, the main avenue (footway, road, shared stretch) and the road grid with its crossings."""
    f, r = AV_FOOT_X, AV_ROAD_X
    s0, s1 = SHARED_Y
    ng = (0.0, NORTH_GATE_Y)
    w = AV_FOOT_W
    c.point("GATE-S-P", "gate", (f, 0.0), name="South main gate (pedestrians)", mode="pedestrian", width=6.0)
    c.point("GATE-S-V", "gate", (r, 0.0), name="South main gate (vehicles)", mode="vehicle", lanes=2)
    c.point("GATE-N", "gate", ng, name="North gate", mode="both", width=4.0, lanes=1)

    # Avenue road, east side; it merges into the shared lane for 50 m.
    c.line("R-AV1", "road", [(r, 0.0), (r, s0 - 10), (0.0, s0)], name="Main Avenue", speed_limit=20)
    c.line("SH-AV", "shared", [(0.0, s0), (0.0, s1)], name="Main Avenue (shared stretch)", speed_limit=10,
           width=6.0)
    c.line("R-AV2", "road", [(0.0, s1), (r, s1 + 10), (r, NORTH_GATE_Y - 10), ng], name="Main Avenue north",
           speed_limit=20)
    # Road grid: a ring and a middle road.
    c.line("R-RING-S", "road", [(RING_W, RING_S), (RING_E, RING_S)], name="South Ring Road")
    c.line("R-RING-E", "road", [(RING_E, RING_S), (RING_E, RING_N)], name="East Ring Road")
    c.line("R-RING-N", "road", [(RING_E, RING_N), (RING_W, RING_N)], name="North Ring Road")
    c.line("R-RING-W", "road", [(RING_W, RING_N), (RING_W, RING_S)], name="West Ring Road")
    c.line("R-MID", "road", [(RING_W, RING_MID), (RING_E, RING_MID)], name="Middle Road")

    # Avenue footway, west side (the campus's main walk), with a crossing over each east-west road.
    c.footway([(f, 0.0), (f, RING_S - 6)], name="Main Avenue footway", fid="FW-AV1", width=w)
    c.crossing((f, RING_S - 6), (f, RING_S + 6), name="Avenue crossing, South Ring Road", width=w)
    c.footway([(f, RING_S + 6), (f, RING_MID - 6)], name="Main Avenue footway", fid="FW-AV2", width=w)
    c.crossing((f, RING_MID - 6), (f, RING_MID + 6), name="Avenue crossing, Middle Road", width=w)
    c.footway([(f, RING_MID + 6), (f, s0 - 10), (0.0, s0)], name="Main Avenue footway", fid="FW-AV3", width=w)
    c.footway([(0.0, s1), (f, s1 + 10), (f, RING_N - 6)], name="Main Avenue footway", fid="FW-AV4", width=w)
    c.crossing((f, RING_N - 6), (f, RING_N + 6), name="Avenue crossing, North Ring Road", width=w)
    c.footway([(f, RING_N + 6), (f, NORTH_GATE_Y - 10), ng], name="North gate footway", fid="FW-AV5", width=w)

    # Cameras and posts at the gates and along the avenue.
    c.camera((-14.0, 3.0), (0.0, 3.0), "South gate, pedestrian lanes", fov=90, rng=25, pixels=PIXELS_UHD)
    c.camera((14.0, 3.0), (0.0, 3.0), "South gate, vehicle lanes", fov=90, rng=25, pixels=PIXELS_UHD)
    c.camera((0.0, 24.0), (r, 0.0), "South gate, vehicle recognition", fov=60, rng=40, pixels=PIXELS_HD)
    c.camera((-10.0, 696.0), (0.0, 700.0), "North gate", fov=100, rng=25, pixels=PIXELS_UHD)
    c.camera((10.0, 690.0), (0.0, 700.0), "North gate, vehicle recognition", fov=60, rng=30, pixels=PIXELS_HD)
    for y, look in ((150.0, 1), (260.0, -1), (410.0, 1), (600.0, -1)):
        c.camera((-9.0, y), (-9.0, y + 40 * look), f"Main Avenue y={y:.0f} m", fov=90, rng=60, pixels=PIXELS_UHD)
    c.camera((-9.0, s0 - 15), (0.0, (s0 + s1) / 2), "Avenue shared stretch", fov=70, rng=60, pixels=PIXELS_UHD)
    c.point("POST-GATE-S", "post", (-14.0, 8.0), name="South gate guard post", staff=3)
    c.point("POST-GATE-N", "post", (-12.0, 692.0), name="North gate guard post", staff=2)
    c.point("POST-BASE", "post", (-40.0, 40.0), name="Security office and patrol base", staff=4)


def assembly_area(c: CampusBuilder, aid: str, name: str, box: tuple[float, float, float, float]) -> None:
    """An assembly area (capacity from its area) and two cameras on opposite corners watching it."""
    x0, y0, x1, y1 = box
    c.area(aid, "assembly", rect(*box), name=name)
    mid = ((x0 + x1) / 2, (y0 + y1) / 2)
    rng = round(max(x1 - x0, y1 - y0) * 0.75)
    c.camera((x0, y0), mid, f"{name} south-west", fov=100, rng=rng, prefix="CAM-AS", pixels=PIXELS_UHD)
    c.camera((x1, y1), mid, f"{name} north-east", fov=100, rng=rng, prefix="CAM-AS", pixels=PIXELS_UHD)


def road_crossing(c: CampusBuilder, zone: str, x: float, name: str, south: float, north: float,
                  width: float = 4.0) -> None:
    """A north-south walk at x = ``x`` over the Middle Road: y = ``north`` down to a zebra crossing, on to ``south``."""
    y = RING_MID
    egress_path(c, zone, [(x, north), (x, y + 8)], name, width=width)
    c.crossing((x, y + 8), (x, y - 8), name=f"{name} crossing, Middle Road", width=width, prefix=f"X-{zone}")
    egress_path(c, zone, [(x, y - 8), (x, south)], name, width=width)


def add_teaching_zone(c: CampusBuilder) -> None:
    """South-west block: teaching buildings modelled inside, labs, clinic, the Teaching Green and the West Lawn."""
    fx = AV_FOOT_X
    xw, xe = -190.0, -86.0  # north-south walks west and east of the buildings
    walks = (96.0, 165.0, 245.0, 320.0)  # east-west walks from the avenue footway
    tg, wl = TEACHING_GREEN, WEST_LAWN
    # The middle two walks are spines (6 m) and cross both lawns; 165 goes on west to the clinic and the
    # engineering labs, the others end in the West Lawn.
    width = {96.0: 4.0, 165.0: 6.0, 245.0: 6.0, 320.0: 4.0}
    for y in walks:
        west_end = -320.0 if y == walks[1] else wl[2] - 2
        c.footway([(fx, y), (west_end, y)], name=f"Teaching Walk y={y:.0f}", width=width[y])
    c.footway([(xw, walks[0]), (xw, walks[-1])], name="Teaching Walk west", width=4.0)
    c.footway([(xe, walks[0]), (xe, RING_MID - 8)], name="Teaching Walk east", width=6.0)
    c.crossing((xe, RING_MID - 8), (xe, RING_MID + 8), name="Teaching crossing, Middle Road")
    c.footway([(xe, RING_MID + 8), (xe, 420.0)], name="Library Walk south", width=4.0)
    # West exits lead straight into the West Lawn, east exits into the Teaching Green (about 30-40 m each), so
    # the two stairs of each building share the load.
    stubs = (wl[2] - 2, tg[0] + 2)
    teaching_building(c, "TB1", "Teaching Building 1", -170.0, 110.0, length=64.0, levels=5, stubs=(*stubs, walks[0]))
    teaching_building(c, "TB2", "Teaching Building 2", -170.0, 190.0, length=64.0, levels=5, stubs=(*stubs, walks[1]))
    teaching_building(c, "TB3", "Lecture Hall Building", -178.0, 270.0, length=72.0, levels=4, depth=9.0,
                      south_rooms=6, north_rooms=5, lecture_south=True, stubs=(*stubs, walks[2]))
    generated_building(c, "ENG", "Engineering Laboratories", "lab", (-340.0, 185.0, -260.0, 215.0), 4,
                       [("S", 0.5, walks[1]), ("E", 0.5, xw)])
    generated_building(c, "CLINIC", "Campus Clinic", "other", (-340.0, 120.0, -290.0, 145.0), 2,
                       [("N", 0.5, walks[1]), Door("E", 0.5, wl[0] + 2, new=True)])
    c.point("POST-TEACH", "post", (-80.0, 160.0), name="Teaching zone guard post")

    # Teaching Green, between Teaching Walk east and the avenue; Teaching Walks y=165 and y=245 cross it.
    # Also entered from the avenue footway, from the walks south and north of it and by the east exit paths.
    assembly_area(c, "AS-TGREEN", "Teaching Green", tg)
    for x in (-60.0, -30.0):
        egress_path(c, "TG", [(x, walks[0]), (x, tg[1] + 2)], "Teaching Green south path", width=4.0)
        egress_path(c, "TG", [(x, walks[3]), (x, tg[3] - 2)], "Teaching Green north path", width=4.0)
    for y in (130.0, 205.0, 285.0):
        egress_path(c, "TG", [(fx, y), (tg[2] - 2, y)], "Teaching Green avenue path", width=4.0)

    # West Lawn, a long lawn between the teaching buildings and the labs: the four Teaching Walks and the
    # west exit paths enter it from the east, Teaching Walk y=165 and the labs' east path from the west, and
    # a walk over the Middle Road from the north.
    assembly_area(c, "AS-WLAWN", "West Lawn", wl)
    road_crossing(c, "WL", (wl[0] + wl[2]) / 2, "West Lawn north walk", south=wl[3] - 2, north=420.0)


def add_north_west(c: CampusBuilder) -> None:
    """North-west block: library, lab building, the North Lawn and a closed construction site."""
    y = 420.0
    nl = NORTH_LAWN
    c.footway([(AV_FOOT_X, y), (-320.0, y)], name="Library Walk", width=6.0)
    c.footway([(-200.0, y), (-200.0, nl[1] + 4), (nl[0] + 2, nl[1] + 4)], name="Lab Walk", width=4.0)
    lib = (-150.0, 440.0, -70.0, 500.0)
    generated_building(c, "LIB", "University Library", "library", lib, 5,
                       [("S", 0.5, y), ("E", 0.5, AV_FOOT_X), ("W", 0.5, -200.0),
                        Door("N", 0.3, nl[1] + 2, width=3.6, path_width=4.0, new=True),
                        Door("N", 0.7, nl[1] + 2, width=3.6, path_width=4.0, new=True)])
    lab = (-340.0, 440.0, -260.0, 460.0)
    generated_building(c, "LAB", "Science Laboratory Building", "lab", lab, 5, [("S", 0.5, y), ("E", 0.5, -200.0)])
    site = rect(-330.0, 525.0, -200.0, 600.0)
    c.area("KA-LIB", "key_area", rect(-158.0, 432.0, -62.0, 508.0), name="Library (rare books, archives)",
              category="library")
    c.area("KA-LAB", "key_area", rect(-348.0, 432.0, -252.0, 468.0), name="Laboratories (hazardous materials)",
              category="lab")
    c.area("KA-CONS", "key_area", site, name="Construction site: New Engineering Building", category="construction",
              closed=True)
    c.camera((-200.0, 520.0), (-265.0, 562.0), "Construction site south-east corner", fov=100, rng=60, pixels=PIXELS_UHD)
    c.camera((-330.0, 605.0), (-265.0, 562.0), "Construction site north-west corner", fov=100, rng=60, pixels=PIXELS_UHD)
    c.camera((-250.0, 430.0), (-300.0, 450.0), "Laboratory approach", fov=90, rng=50, pixels=PIXELS_UHD)
    c.point("POST-LIB", "post", (-118.0, 428.0), name="Library guard post")
    c.point("POST-LAB", "post", (-290.0, 428.0), name="Laboratory guard post")
    c.point("POST-CONS", "post", (-195.0, 515.0), name="Construction site guard post")

    # North Lawn, north of the library: entered from the library's north door, along Lab Walk from the west
    # and on two paths from the avenue footway in the east.
    assembly_area(c, "AS-NLAWN", "North Lawn", nl)
    for yy in (545.0, 590.0):
        egress_path(c, "NL", [(AV_FOOT_X, yy), (nl[2] - 2, yy)], "North Lawn avenue path", width=4.0)


def add_south_east(c: CampusBuilder) -> None:
    """South-east block: admin and finance building, Central Square, the Sports Field and the Sports Hall."""
    sx = SIDEWALK_X
    c.footway([(sx, RING_S + 12), (sx, RING_MID - 12)], name="Avenue east walk", width=4.0)
    c.crossing((AV_FOOT_X, 120.0), (sx, 120.0), name="Admin crossing")
    c.crossing((AV_FOOT_X, 210.0), (sx, 210.0), name="Square crossing")
    square = (20.0, 170.0, 110.0, 250.0)
    field = (200.0, 150.0, 380.0, 260.0)
    c.area("AS-SQUARE", "assembly", rect(*square), name="Central Square")
    c.area("AS-FIELD", "assembly", rect(*field), name="Sports Field")
    c.footway([(sx, 210.0), (22.0, 210.0)], name="Square entrance", width=4.0)
    c.footway([(sx, 145.0), (150.0, 145.0)], name="Admin Walk", width=4.0)
    c.footway([(150.0, 145.0), (150.0, 205.0)], name="Admin Walk north", width=4.0)
    c.footway([(108.0, 205.0), (202.0, 205.0)], name="Square to Sports Field", width=4.0)
    c.footway([(150.0, 115.0), (150.0, 145.0)], name="Sports Hall Walk")
    generated_building(c, "GYM", "Sports Hall", "sports", (300.0, 95.0, 370.0, 135.0), 2,
                       [("W", 0.5, 150.0), ("N", 0.5, 152.0), Door("N", 0.2, 152.0, new=True)])
    admin = (40.0, 110.0, 100.0, 130.0)
    generated_building(c, "ADMIN", "Administration and Finance Building", "admin", admin, 4,
                       [("W", 0.5, sx), ("N", 0.5, 145.0)])
    c.area("KA-FIN", "key_area", rect(34.0, 104.0, 106.0, 136.0), name="Finance office and cashier",
              category="finance")
    c.camera((106.0, 104.0), (70.0, 120.0), "Finance building south-east", fov=90, rng=40, pixels=PIXELS_UHD)
    c.camera((34.0, 136.0), (70.0, 120.0), "Finance building north-west", fov=90, rng=40, pixels=PIXELS_UHD)
    c.camera((20.0, 170.0), (65.0, 210.0), "Central Square", fov=100, rng=60, pixels=PIXELS_UHD)
    c.camera((200.0, 150.0), (290.0, 205.0), "Sports Field south-west", fov=100, rng=80, pixels=PIXELS_UHD)
    c.camera((380.0, 260.0), (290.0, 205.0), "Sports Field north-east", fov=100, rng=80, pixels=PIXELS_UHD)
    c.point("POST-FIN", "post", (28.0, 114.0), name="Finance guard post", staff=2)

    # More ways into the Central Square (from the south and the north) and the Sports Field (from the north,
    # over the Middle Road from the dorm zone), and the east walk carried on over the Middle Road.
    for x in (60.0, 95.0):
        egress_path(c, "SE", [(x, 145.0), (x, square[1] + 2)], "Central Square south path", width=4.0)
    egress_path(c, "SE", [(sx, 262.0), (65.0, 262.0), (65.0, square[3] - 2)], "Central Square north path", width=4.0)
    c.crossing((sx + 1, RING_MID - 12), (sx + 1, RING_MID + 12), name="Avenue east walk crossing, Middle Road",
               prefix="X-SE")
    road_crossing(c, "SE", 150.0, "Dorm Walk south", south=205.0, north=DORM_Y[0])
    road_crossing(c, "SE", 215.0, "Sports Field west walk", south=field[3] - 2, north=DORM_Y[0])
    road_crossing(c, "SE", 365.0, "Sports Field east walk", south=field[3] - 2, north=DORM_Y[0])


def add_dorm_zone(c: CampusBuilder) -> None:
    """North-east block: six dorms with card-access doors, the canteen, the Dormitory Lawn and the paths."""
    fx, ex = AV_FOOT_X, DORM_EAST_X
    y_a, y_b, y_c, y_d = DORM_Y  # east-west walks between the dorm rows
    dl = DORM_LAWN
    width = {y_a: 6.0, y_b: 4.0, y_c: 4.0, y_d: 6.0}
    for y in (y_a, y_b, y_d):
        c.crossing((fx, y), (14.0, y), name=f"Dorm crossing y={y:.0f}")
        c.footway([(14.0, y), (ex, y)], name=f"Dorm Walk y={y:.0f}", width=width[y])
    c.footway([(0.0, y_c), (ex, y_c)], name=f"Dorm Walk y={y_c:.0f}", width=width[y_c])  # starts on the shared stretch
    for x in (125.0, 260.0):
        c.footway([(x, y_a), (x, dl[1] + 4)], name=f"Dorm Walk x={x:.0f}", width=4.0)  # on into the Dormitory Lawn
    # Footway from the dorms to the Sports Field, across the Middle Road.
    c.footway([(290.0, y_a), (290.0, RING_MID + 8)], name="Sports Field Walk", width=6.0)
    c.crossing((290.0, RING_MID + 8), (290.0, RING_MID - 8), name="Sports Field crossing", width=6.0)
    c.footway([(290.0, RING_MID - 8), (290.0, 258.0)], name="Sports Field Walk", width=6.0)

    rows = ((380.0, y_a, y_b), (447.0, y_b, y_c), (520.0, y_c, dl[1] + 4))  # (south wall, south walk, north stub end)
    cols = ((150.0, 125.0, 260.0), (280.0, 260.0, ex))  # (west wall, walk west of it, walk east of it)
    n = 0
    for y0, ys, yn in rows:
        for x0, xw, xe in cols:
            n += 1
            box = (x0, y0, x0 + 90.0, y0 + 16.0)
            # Two card-access entrances, and an emergency exit at each end to the walks either side.
            generated_building(c, f"DORM{n}", f"Dormitory {n}", "dorm", box, 6,
                               [("S", 0.5, ys), ("N", 0.5, yn),
                                Door("W", 0.5, xw, emergency=True, new=True),
                                Door("E", 0.5, xe, emergency=True, new=True)],
                               occupants=1300, access="card")
    canteen = (30.0, 428.0, 100.0, 468.0)
    generated_building(c, "CANTEEN", "Student Canteen", "canteen", canteen, 2,
                       [("S", 0.5, y_b), Door("N", 0.5, dl[1] + 4, path_width=6.0), ("E", 0.5, 125.0),
                        Door("W", 0.5, 14.0, width=3.6, path_width=4.0, new=True),
                        Door("N", 0.15, dl[1] + 4, width=3.6, path_width=4.0, new=True)])
    for k, x in enumerate((45.0, 65.0, 85.0), start=1):
        c.point(f"CANTEEN-HD{k}", "detector", (x, 462.0), type="heat", building="CANTEEN", level=0,
                zone="CANTEEN-L0-KITCHEN", name=f"Kitchen heat detector {k}")
    c.area("KA-DORM", "key_area", rect(140.0, 372.0, 380.0, 546.0), name="Dormitory zone", category="dorm")
    c.point("POST-DORM-A", "post", (140.0, 376.0), name="Dorms 1-2 guard post")
    c.point("POST-DORM-B", "post", (266.0, 440.0), name="Dorms 3-4 guard post")
    c.point("POST-DORM-C", "post", (266.0, 510.0), name="Dorms 5-6 guard post")

    # Dormitory Lawn along the North Ring Road: entered from the south on paths every 25-70 m across Dorm Walk
    # y=560 (the canteen's two north paths, the x = 125 and 260 walks, dorms 5-6's north paths), at its east
    # end by Dorm Walk east and at its west end by the walk on the east side of the avenue.
    assembly_area(c, "AS-DLAWN", "Dormitory Lawn", dl)
    egress_path(c, "DL", [(14.0, RING_MID + 12), (14.0, 590.0), (dl[0] + 2, 590.0)], "Avenue east walk north", width=4.0)
    egress_path(c, "DL", [(ex, y_a), (ex, (dl[1] + dl[3]) / 2)], "Dorm Walk east", width=4.0)  # along the lawn's east end


def build_campus() -> dict[str, Any]:
    """Build the demo campus.

    Returns
    -------
    dict
        An RFC 7946 GeoJSON FeatureCollection in WGS 84 longitude/latitude.
    """
    c = CampusBuilder("Demo University", origin=projected_origin(ORIGIN_LON, ORIGIN_LAT))
    add_roads_and_gates(c)
    add_teaching_zone(c)
    add_north_west(c)
    add_south_east(c)
    add_dorm_zone(c)
    return {**c.to_geojson(lonlat=True), "time_zone": TIME_ZONE}


def write(path: str | Path = OUT) -> Path:
    """Write the demo campus to ``path`` (a file, or a folder to hold ``campus.geojson``)."""
    p = Path(path)
    if p.is_dir():
        p = p / "campus.geojson"
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text(dumps(build_campus()), encoding="utf-8")
    return p


def main(argv: Sequence[str] | None = None) -> None:
    """Command line: ``python -m maps.demo.generate [--out PATH]``."""
    ap = argparse.ArgumentParser(prog="python -m maps.demo.generate", description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=str(OUT), help=f"output file (default: {OUT})")
    args = ap.parse_args(argv)
    p = write(args.out)
    print(f"wrote {p}")


if __name__ == "__main__":
    main()

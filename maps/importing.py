"""What the building-plan importers (IFC, IMDF, DXF) share.

Each importer reads its format into a :class:`Plan`: buildings, rooms,
corridors, doors (as their openings) and stairs in local metres, each
feature naming the element it came from (``ref``). :func:`write_plan` then
places the plan on Earth (:class:`Georef`), adds a placeholder outdoor
network so the building can be evacuated on its own, checks the result with
the campus loader and writes ``campus.geojson`` (RFC 7946, WGS 84) into the
output folder. The file is written to a temporary folder and moved into
place only once it loads, so a failed import leaves nothing half-written.

Rooms a door does not reach, and doors that do not sit between two spaces,
are dropped with a warning naming their source element (real models hold
shafts, closets and doors in unmodelled areas); a model with no spaces, no
doors or no way out is an error with a suggestion.
"""

from __future__ import annotations

import functools
import json
import math
import os
import re
import shutil
import tempfile
import time
import unicodedata
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pyproj
import shapely
import shapely.ops
from shapely.geometry import LineString, Point, Polygon, mapping
from shapely.geometry.base import BaseGeometry

from twin.errors import CampusError, InputError, Problem
from twin.settings import default

CUT_HEIGHT = default("import.cut_height")
"""Height (m) above a space's floor at which its footprint is cut (IFC), as a plan drawing cuts."""
RING_OFFSET = default("import.walk_offset")
"""Distance (m) of the placeholder footway around an imported building from its outline."""
ASSEMBLY_DISTANCE = default("import.assembly_distance")
"""Distance (m) of the placeholder assembly area beyond the placeholder footway."""
AREA_PER_OCCUPANT_GUESS = default("import.area_per_person")
"""Floor area (m²) per person used only to size the placeholder assembly area generously."""


class ImportSourceError(InputError):
    """A building plan that cannot be imported; ``problems`` name the file, the element and the reason."""


def problem(source: str | Path, message: str, element: str | None = None, fieldname: str | None = None) -> Problem:
    """One problem with a source file, naming the element (IFC GlobalId, IMDF id, DXF layer and handle)."""
    return Problem(str(source), message, feature=element, field=fieldname)


# -- names and uses -----------------------------------------------------------

def slug(text: str, *, limit: int = 48) -> str:
    """A readable id fragment: ASCII letters, digits, ``.``, ``_`` and ``-``."""
    t = unicodedata.normalize("NFKD", _fold_umlauts(str(text))).encode("ascii", "ignore").decode()
    t = re.sub(r"[^A-Za-z0-9._-]+", "-", t).strip("-.")
    return t[:limit].rstrip("-.") or "x"


def _fold_umlauts(text: str) -> str:
    return (text.replace("ä", "ae").replace("ö", "oe").replace("ü", "ue").replace("Ä", "Ae").replace("Ö", "Oe")
            .replace("Ü", "Ue").replace("ß", "ss"))


CORRIDOR = "corridor"
USE_WORDS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("lecture", ("lecture", "auditorium", "hoersaal", "aula", "theatre", "theater", "assembly hall")),
    (CORRIDOR, ("corridor", "hallway", "hall way", "flur", "korridor", "lobby", "foyer", "vestibule", "entrance hall",
                "eingangshalle", "diele", "circulation", "verkehrsflaeche", "treppenhaus", "stairwell", "stair hall",
                "landing", "passage", "walkway", "concourse", "atrium")),
    ("classroom", ("classroom", "class room", "seminar", "klassenzimmer", "klassenraum", "unterricht", "tutorial",
                   "teaching", "schulungsraum", "kursraum", "horsaal")),
    ("lab", ("laboratory", "labor", "lab ", "lab-", "lab.", "workshop", "werkstatt", "studio")),
    ("library", ("library", "bibliothek", "buecherei", "reading room", "lesesaal", "mediathek")),
    ("dining", ("dining", "canteen", "cafeteria", "mensa", "cafe", "restaurant", "speisesaal", "speiseraum", "essraum",
                "kantine", "bistro", "food court", "foodservice")),
    ("dorm_room", ("bedroom", "schlafzimmer", "dorm", "wohnheim", "sleeping", "kinderzimmer", "gaestezimmer")),
    ("gym", ("gym", "sport", "fitness", "turnhalle", "exercise")),
    ("office", ("office", "buero", "meeting", "conference", "besprechung", "sekretariat", "arbeitszimmer", "staff room",
                "reception", "empfang", "verwaltung")),
    ("storage", ("storage", "store room", "storeroom", "lager", "abstell", "toilet", "restroom", "wc", "bath", "bad",
                 "dusche", "shower", "plant room", "technik", "mechanical", "electrical", "server", "closet",
                 "hausanschluss", "heizung", "keller", "cellar", "garage", "parking", "janitor", "putzraum", "waschkueche",
                 "laundry", "shaft", "schacht")),
)
"""Words (lower case, umlauts folded: ``ü`` → ``ue``) that give a room its use, or make it a corridor; first match wins.

Words of four letters or fewer match whole words only. A room that matches
none has use ``other`` (100 ft² per person). Toilets, plant and storage
rooms get ``storage`` (300 ft² per person), so they count almost nobody.
"""


def room_use(*texts: str | None) -> tuple[str, str | None]:
    """The kind (``room`` or ``corridor``) and room use named by a space's texts (name, long name, category …).

    Returns ``("corridor", None)``, ``("room", use)`` or ``("room", "other")``
    when no word of :data:`USE_WORDS` occurs.
    """
    for text in texts:
        if not text:
            continue
        t = " " + _fold_umlauts(str(text)).casefold().replace("_", " ") + " "
        for use, words in USE_WORDS:
            for w in words:
                hit = re.search(rf"(?<![a-z]){re.escape(w.strip())}(?![a-z])", t) if len(w.strip()) <= 4 else w in t
                if hit:
                    return (CORRIDOR, None) if use == CORRIDOR else ("room", use)
    return "room", "other"


# -- georeferencing -----------------------------------------------------------

@dataclass(frozen=True)
class Georef:
    """Where local plan metres lie on Earth: ``E = e0 + s (c x − d y)``, ``N = n0 + s (d x + c y)`` in ``crs``.

    ``(c, d)`` is the direction of the local +X axis in the CRS (unit vector).
    """

    crs: pyproj.CRS
    e0: float = 0.0
    n0: float = 0.0
    c: float = 1.0
    d: float = 0.0
    scale: float = 1.0
    how: str = ""
    """How the placement was found (for the import report)."""

    @classmethod
    def anchor(cls, lon: float, lat: float, rotation: float = 0.0, *, x: float = 0.0, y: float = 0.0, how: str = "") -> Georef:
        """Local point (x, y) at lon/lat; ``rotation`` is the bearing of the local +Y axis, degrees clockwise from north."""
        crs = pyproj.CRS.from_proj4(f"+proj=tmerc +lat_0={lat!r} +lon_0={lon!r} +k=1 +x_0=0 +y_0=0 +ellps=WGS84 +units=m +no_defs")
        r = math.radians(rotation)
        c, d = math.cos(r), -math.sin(r)
        e0, n0 = -(c * x - d * y), -(d * x + c * y)
        return cls(crs, e0, n0, c, d, 1.0, how or f"--at {lon:g},{lat:g},{rotation:g}")

    @classmethod
    def identity(cls, crs: pyproj.CRS, how: str = "") -> Georef:
        """Local coordinates are already metres in ``crs``."""
        return cls(crs, how=how or crs.to_string())

    def to_lonlat(self, xy: np.ndarray) -> np.ndarray:
        """Local (x, y) metres → (lon, lat) degrees."""
        xy = np.asarray(xy, dtype=float).reshape(-1, 2)
        e = self.e0 + self.scale * (self.c * xy[:, 0] - self.d * xy[:, 1])
        n = self.n0 + self.scale * (self.d * xy[:, 0] + self.c * xy[:, 1])
        lon, lat = _to_wgs84(self.crs).transform(e, n)
        return np.column_stack([lon, lat])


@functools.lru_cache(maxsize=8)
def _to_wgs84(crs: pyproj.CRS) -> pyproj.Transformer:
    return pyproj.Transformer.from_crs(crs, 4326, always_xy=True)


def parse_at(text: str) -> Georef:
    """``LON,LAT[,ROTATION]`` (degrees) → a :class:`Georef` anchoring the model origin there."""
    parts = [p.strip() for p in text.split(",")]
    try:
        nums = [float(p) for p in parts]
    except ValueError:
        nums = []
    if len(nums) not in (2, 3) or not all(math.isfinite(v) for v in nums):
        msg = f"--at {text!r}: expected LON,LAT or LON,LAT,ROTATION in degrees, e.g. --at 8.4363,49.1004,0"
        raise ImportSourceError([Problem("--at", msg.split(": ", 1)[1])])
    lon, lat, rot = nums[0], nums[1], nums[2] if len(nums) == 3 else 0.0
    if not (-180 <= lon <= 180 and -90 <= lat <= 90):
        raise ImportSourceError([Problem("--at", f"longitude {lon:g} / latitude {lat:g} out of range (LON first, then LAT)")])
    return Georef.anchor(lon, lat, rot, how=f"--at {lon:g},{lat:g},{rot:g}")


# -- the plan -------------------------------------------------------------------

@dataclass
class Feature:
    """One campus feature in local metres, with the source element it came from."""

    props: dict[str, Any]
    geometry: BaseGeometry

    @property
    def id(self) -> str:
        return str(self.props["id"])

    @property
    def kind(self) -> str:
        return str(self.props["kind"])


@dataclass
class Plan:
    """Buildings and their interiors read from one source, in local metres."""

    source: Path
    format: str
    features: list[Feature] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)
    notes: dict[str, Any] = field(default_factory=dict)
    """Things read but not in the campus (lifts, escalators, skipped elements), for the report."""
    name: str | None = None

    def add(self, geometry: BaseGeometry, **props: Any) -> Feature:
        """Add a feature; ``None`` properties are left out."""
        f = Feature({k: v for k, v in props.items() if v is not None}, geometry)
        self.features.append(f)
        return f

    def unique_id(self, wanted: str, fallback: str) -> str:
        """``wanted``, or ``wanted-fallback`` when another feature has it."""
        have = {f.id for f in self.features}
        if wanted not in have:
            return wanted
        alt = f"{wanted}-{fallback}"
        n = 2
        while alt in have:
            alt = f"{wanted}-{fallback}-{n}"
            n += 1
        return alt

    def of_kind(self, *kinds: str) -> list[Feature]:
        return [f for f in self.features if f.kind in kinds]

    def warn(self, message: str, element: str | None = None, source: str | Path | None = None) -> None:
        self.warnings.append(problem(source or self.source, message, element))


# -- geometry helpers -------------------------------------------------------------

def largest_polygon(geom: BaseGeometry | None) -> Polygon | None:
    """The largest polygon of a geometry (``None`` if it has none)."""
    if geom is None or geom.is_empty:
        return None
    polys = [g for g in shapely.get_parts(geom) if isinstance(g, Polygon) and g.area > 0]
    if not polys and geom.geom_type == "GeometryCollection":
        polys = [p for g in geom.geoms for p in shapely.get_parts(g) if isinstance(p, Polygon) and p.area > 0]
    return max(polys, key=lambda p: p.area) if polys else None


def polygonal(geom: BaseGeometry | None, *, min_area: float = 0.05) -> BaseGeometry | None:
    """Only the polygons of ``geom`` (made valid), dropping slivers; a Polygon, a MultiPolygon or ``None``."""
    if geom is None or geom.is_empty:
        return None
    geom = shapely.make_valid(geom)
    polys = [p for p in shapely.get_parts(geom) if isinstance(p, Polygon) and p.area >= min_area]
    if not polys:
        polys = [p for g in shapely.get_parts(geom) if g.geom_type == "GeometryCollection"
                 for p in shapely.get_parts(g) if isinstance(p, Polygon) and p.area >= min_area]
    if not polys:
        return None
    return polys[0] if len(polys) == 1 else shapely.MultiPolygon(polys)


def fill_holes(geom: BaseGeometry) -> BaseGeometry:
    """The geometry with every interior ring removed."""
    return shapely.union_all([Polygon(p.exterior) for p in shapely.get_parts(geom) if isinstance(p, Polygon)])


def outline_of(parts: list[BaseGeometry], *, close: float = 0.3) -> BaseGeometry | None:
    """A building outline from wall, space and door footprints: their union, small gaps closed, holes filled."""
    if not parts:
        return None
    u = shapely.union_all([p for p in parts if p is not None and not p.is_empty])
    if u.is_empty:
        return None
    u = u.buffer(close, quad_segs=4).buffer(-close, quad_segs=4)  # a closing: convex corners stay sharp
    return polygonal(fill_holes(u).simplify(0.05), min_area=1.0)


def seat_opening(line: LineString, spaces: list[BaseGeometry], outline: BaseGeometry | None, *, wall_max: float = 2.0) -> LineString:
    """Move a door's opening into the middle of its wall when it sits on one face of a wall thicker than ``door_snap``.

    The loader wants a door within ``door_snap`` of both its spaces (or of
    its space and the building outline). From the opening's midpoint this
    looks across the wall both ways (perpendicular to the opening, up to
    ``wall_max``) for the first point inside a space, or outside the
    outline, and moves the opening, across the wall only, to halfway between
    the two. Openings already within reach of both sides are left alone.
    """
    snap = default("door_snap")
    xy = np.asarray(line.coords, dtype=float)
    u = xy[-1] - xy[0]
    if not np.linalg.norm(u):
        return line
    u = u / np.linalg.norm(u)
    n = np.array([-u[1], u[0]])
    m = line.interpolate(0.5, normalized=True)
    mid = np.array([m.x, m.y])
    near = [s for s in spaces if s.distance(m) <= wall_max]

    def first(sign: float) -> float | None:
        """Distance across the wall to the first point inside a space, or outside the outline."""
        ray = LineString([mid + sign * 1e-6 * n, mid + sign * wall_max * n])  # not the face the opening is drawn on
        hits = []
        for s in near:
            x = ray.intersection(s)
            if not x.is_empty:  # a space within the ray's first step: its exact distance (0 when the opening is in it)
                d = m.distance(x)
                hits.append(d if d > 2e-6 else m.distance(s))
        if outline is not None:
            if not outline.contains(Point(ray.coords[0])):
                hits.append(m.distance(outline.boundary) if outline.contains(m) else 0.0)
            elif ray.intersects(outline.boundary):
                hits.append(m.distance(ray.intersection(outline.boundary)))
        hits = [h for h in hits if h <= wall_max]
        return min(hits) if hits else None

    plus, minus = first(1.0), first(-1.0)
    if plus is None or minus is None or (plus <= snap and minus <= snap):
        return line
    return LineString(xy + (plus - minus) / 2 * n)


def seat_stair(footprint: BaseGeometry, hosts: list[BaseGeometry | None]) -> BaseGeometry:
    """The stair polygon the loader sees: inside the space that holds the stair on every level it serves.

    A stair opens into the spaces it touches on each level (``door_snap``
    around it). Shrunk inside the spaces holding it on every level, it opens
    into those only, not into rooms on the other side of a wall. Where a level
    has no space around the stair (the stairwell itself is not a space), the
    stair's own footprint is kept: it is a space there, joined by its doors.
    """
    if not hosts or any(h is None for h in hosts):
        return footprint
    core = footprint
    for h in hosts:
        core = core.intersection(h)
    core = largest_polygon(core)
    if core is None or core.area < 0.01:
        return footprint
    inner = largest_polygon(core.buffer(-(default("door_snap") + 0.05)))
    if inner is None or inner.area < 0.05:
        inner = core.representative_point().buffer(0.15, quad_segs=4)
    return inner


def host_space(footprint: BaseGeometry, spaces: list[BaseGeometry]) -> BaseGeometry | None:
    """The space overlapping ``footprint`` most (at least a fifth of its area), or ``None``."""
    best, area = None, 0.2 * footprint.area
    for s in spaces:
        a = s.intersection(footprint).area
        if a > area:
            best, area = s, a
    return best


def add_open_connections(plan: Plan, *, allow: Any = None, min_length: float | None = None, touch: float = 0.05) -> int:
    """Join spaces that share an edge with no wall between them by an opening as wide as the shared edge.

    Two spaces of one building level whose outlines lie within ``touch`` of
    each other along at least ``min_length`` (``import.open_edge``) have no wall between them (an
    open-plan kitchen off a hall, a room separation line): people walk
    straight across. Each such edge becomes a door feature with
    ``open = true``, unless a door already sits on it. ``allow(a, b)``
    (features) may restrict which pairs count. Returns the number added.
    """
    snap = default("door_snap")
    min_length = default("import.open_edge") if min_length is None else min_length
    groups: dict[tuple[Any, Any], list[Feature]] = {}
    for f in plan.of_kind("room", "corridor"):
        groups.setdefault((f.props.get("building"), f.props.get("level")), []).append(f)
    doors: dict[tuple[Any, Any], list[BaseGeometry]] = {}
    for d in plan.of_kind("door"):
        doors.setdefault((d.props.get("building"), d.props.get("level")), []).append(d.geometry.interpolate(0.5, normalized=True))
    added = 0
    for key, spaces in groups.items():
        tree = shapely.STRtree([f.geometry for f in spaces])
        a_idx, b_idx = tree.query([f.geometry for f in spaces], predicate="dwithin", distance=touch)
        here = doors.get(key, [])
        for i, j in zip(a_idx, b_idx, strict=True):
            if i >= j:
                continue
            a, b = spaces[i], spaces[j]
            if allow is not None and not allow(a, b):
                continue
            shared = shapely.line_merge(shapely.union_all(
                [p for p in shapely.get_parts(a.geometry.boundary.intersection(b.geometry.buffer(touch)))
                 if p.geom_type in ("LineString", "MultiLineString")] or [LineString()]))
            pieces = [p for p in shapely.get_parts(shared) if isinstance(p, LineString) and p.length >= min_length]
            if not pieces:
                continue
            run = np.asarray(max(pieces, key=lambda p: p.length).simplify(0.01).coords)
            k = int(np.argmax(np.hypot(*np.diff(run, axis=0).T)))  # the longest straight run, without stubs round corners
            edge = LineString(run[k:k + 2])
            if edge.length - 2 * touch < min_length:
                continue
            edge = shapely.ops.substring(edge, touch, edge.length - touch)  # the buffer reaches past the corners
            if any(edge.distance(q) <= snap for q in here):
                continue
            did = plan.unique_id(f"{a.id}+{b.id}", "open")  # not "~": the engine joins node ids with it
            plan.add(edge, id=did, kind="door", name="open connection", building=key[0], level=key[1], open=True,
                     ref=f"open edge between {a.props.get('ref', a.id)} and {b.props.get('ref', b.id)}")
            here.append(edge.interpolate(0.5, normalized=True))
            added += 1
    return added


# -- placeholder outdoors -----------------------------------------------------------

def add_outdoor_placeholder(plan: Plan) -> None:
    """A footway around each building and an assembly area with paths to it, so the import can be evacuated on its own.

    The footways are as wide as the building's exits together (at least
    ``footway_width``), so they do not make a bottleneck of their own.
    The features are marked ``placeholder = true``; ``twin campus merge``
    (or the user) replaces them with the real outdoor network.
    """
    buildings = plan.of_kind("building")
    if not buildings:
        return
    union = shapely.union_all([b.geometry for b in buildings])
    ring_area = union.buffer(RING_OFFSET, join_style="mitre", mitre_limit=2.0)
    rings = [p for p in shapely.get_parts(ring_area) if isinstance(p, Polygon)]
    floor = sum(f.geometry.area for f in plan.of_kind("room", "corridor"))
    side = max(15.0, math.sqrt(floor / AREA_PER_OCCUPANT_GUESS * default("assembly_area_per_person") * 1.5))
    c = union.centroid
    doors = [f for f in plan.of_kind("door") if f.props.get("exit") is not False and (
        f.props.get("exit") is True or union.boundary.distance(f.geometry.interpolate(0.5, normalized=True)) <= default("door_snap"))]
    exits = [f.geometry.interpolate(0.5, normalized=True) for f in doors]
    # as wide as all exits together, so the placeholder is never narrower than the doors that feed it
    width = round(max(default("footway_width"), sum(float(f.props.get("width") or f.geometry.length or default("door_width"))
                                                    for f in doors)), 2)
    v = np.array([0.0, -1.0])
    if exits:
        ex = np.mean([[p.x, p.y] for p in exits], axis=0) - np.array([c.x, c.y])
        if np.linalg.norm(ex) > 0.5:
            v = ex / np.linalg.norm(ex)
    minx, miny, maxx, maxy = union.bounds
    reach = max((x - c.x) * v[0] + (y - c.y) * v[1] for x in (minx, maxx) for y in (miny, maxy))
    centre = np.array([c.x, c.y]) + v * (reach + RING_OFFSET + ASSEMBLY_DISTANCE + side / 2)
    area = shapely.box(centre[0] - side / 2, centre[1] - side / 2, centre[0] + side / 2, centre[1] + side / 2)
    prefix = buildings[0].id if len(buildings) == 1 else "import"
    aid = plan.unique_id(f"{prefix}-assembly", "placeholder")
    plan.add(area, id=aid, kind="assembly", name="Assembly area (placeholder)", placeholder=True)
    target = Point(centre)
    for k, ring in enumerate(rings):
        wid = plan.unique_id(f"{prefix}-walk{k if len(rings) > 1 else ''}", "placeholder")
        plan.add(LineString(ring.exterior.coords), id=wid, kind="footway", name="Footway around the building (placeholder)",
                 width=width, placeholder=True)
        start = shapely.ops.nearest_points(ring.exterior, target)[0]
        plan.add(LineString([(start.x, start.y), (centre[0], centre[1])]), id=plan.unique_id(f"{wid}-to-assembly", "placeholder"),
                 kind="footway", name="Path to the assembly area (placeholder)", width=width, placeholder=True)


# -- writing --------------------------------------------------------------------------

@dataclass
class ImportSummary:
    """What an import wrote."""

    path: Path
    counts: dict[str, int]
    levels: list[int]
    warnings: list[Problem]
    notes: dict[str, Any]
    georef: str
    seconds: float

    def as_dict(self) -> dict[str, Any]:
        return {"path": str(self.path), "counts": self.counts, "levels": self.levels, "georef": self.georef,
                "seconds": round(self.seconds, 3), "warnings": [w.as_dict() for w in self.warnings], "notes": self.notes}


def _rounded(coords: Any) -> Any:
    if isinstance(coords, (list, tuple)) and coords and isinstance(coords[0], (int, float)):
        return [round(float(v), 8) for v in coords]
    return [_rounded(c) for c in coords]


def _document(plan: Plan, georef: Georef, drop: set[str]) -> dict[str, Any]:
    order = {"building": 0, "room": 1, "corridor": 2, "stair": 3, "door": 4, "footway": 5, "assembly": 6}
    kept = sorted((f for f in plan.features if f.id not in drop), key=lambda f: order.get(f.kind, 9))
    geoms = shapely.transform(shapely.force_2d(np.array([f.geometry for f in kept], dtype=object)), georef.to_lonlat)
    feats = []
    for f, g in zip(kept, geoms, strict=True):
        gj = mapping(g)
        feats.append({"type": "Feature", "properties": f.props, "geometry": {"type": gj["type"], "coordinates": _rounded(gj["coordinates"])}})
    return {"type": "FeatureCollection", "name": plan.name or plan.source.stem,
            "import": {"source": plan.source.name, "format": plan.format, "georef": georef.how}, "features": feats}


_DROPPABLE = ("does not lie on the boundary between two spaces", "has no way out")


def write_plan(plan: Plan, georef: Georef, out_dir: str | Path, *, outdoor: bool = True, interior: bool = True,
               started: float | None = None) -> ImportSummary:
    """Check the plan, place it on Earth and write ``OUT_DIR/campus.geojson`` atomically.

    ``interior=False`` writes buildings without indoor features (their
    interiors are generated at load).

    Raises
    ------
    ImportSourceError
        For a plan with no spaces, no doors, or no space that reaches an exit
        (each with a suggestion), or any loader error it cannot resolve by
        dropping a misplaced door or a room no door reaches.
    """
    from twin.campus import load_campus

    t0 = started if started is not None else time.perf_counter()
    src = str(plan.source)
    spaces = plan.of_kind("room", "corridor")
    if not plan.of_kind("building"):
        raise ImportSourceError([problem(src, "no building found in the source")])
    if interior and not spaces:
        raise ImportSourceError([problem(src, f"the {plan.format} source holds no rooms or corridors (spaces), so there is no "
                                         "interior to model; " + _SUGGEST_SPACES[plan.format])])
    if interior and not [d for d in plan.of_kind("door") if not d.props.get("open")]:
        raise ImportSourceError([problem(src, f"{len(spaces)} spaces but no doors, so nobody can get out; "
                                         + _SUGGEST_DOORS[plan.format])])
    if outdoor:
        add_outdoor_placeholder(plan)
    ref = {f.id: f.props.get("ref", f.id) for f in plan.features}
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise ImportSourceError([problem(out, "exists and is not a folder; -o names the folder to write campus.geojson into")])
    base = out
    while not base.exists():
        base = base.parent
    tmp = Path(tempfile.mkdtemp(prefix=".twin-import-", dir=base))
    drop: set[str] = set()
    warnings = list(plan.warnings)
    try:
        for _ in range(6):
            doc = _document(plan, georef, drop)
            path = tmp / "campus.geojson"
            path.write_text(json.dumps(doc, ensure_ascii=False, separators=(",", ":")) + "\n", encoding="utf-8")
            try:
                campus = load_campus(path)
                break
            except CampusError as e:
                fixable = [p for p in e.problems if p.feature in ref and any(t in p.message for t in _DROPPABLE)]
                hard = [p for p in e.problems if p not in fixable]
                if hard:
                    raise ImportSourceError([problem(src, p.message.replace(str(path), "the imported campus"),
                                                     str(ref.get(p.feature, p.feature)) if p.feature else None, p.field)
                                             for p in hard]) from None
                for p in fixable:
                    drop.add(str(p.feature))
                    what = "door dropped" if "boundary" in p.message else "space dropped (its occupants are not counted)"
                    warnings.append(problem(src, f"{what}: {p.message}", str(ref[p.feature])))
                left = [f for f in spaces if f.id not in drop]
                if interior and not left:
                    raise ImportSourceError([problem(src, "no room or corridor reaches an exit: " + _SUGGEST_EXITS[plan.format])]) from None
        else:  # pragma: no cover - each round drops at least one feature, and doors run out
            raise ImportSourceError([problem(src, "the imported campus does not load")])
        warnings += [problem(src, w.message, str(ref.get(w.feature, w.feature)) if w.feature else None, w.field)
                     for w in campus.warnings]
        out.mkdir(parents=True, exist_ok=True)
        final = out / "campus.geojson"
        os.replace(path, final)
    except OSError as e:
        raise ImportSourceError([problem(out, f"cannot write the campus ({e.strerror or e})")]) from None
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    counts = Counter(f.kind for f in plan.features if f.id not in drop)
    s = campus.summary()
    counts_out = {k: int(v) for k, v in sorted(counts.items())}
    counts_out["exits"] = s["exits"]
    notes = dict(plan.notes)
    if drop:
        notes["dropped"] = sorted(str(ref[d]) for d in drop)
    return ImportSummary(final, counts_out, s["levels"], warnings, notes, georef.how, time.perf_counter() - t0)


_SUGGEST_SPACES = {
    "IFC": "export the model with spaces (ArchiCAD: zones; Revit: rooms or spaces with 'Export rooms in 3D views'), "
           "or pass --footprint-only to import the outline and storeys as a building whose interior is generated",
    "IMDF": "an IMDF archive needs unit.geojson with units on the building's levels",
    "DXF": "name the layers that hold closed room outlines (polylines or hatches) under [layers] rooms/corridors in the "
           "mapping file (see docs/import.md), or check that those layers hold closed shapes",
}
_SUGGEST_DOORS = {
    "IFC": "export IfcDoor elements (doors and their openings), or pass --footprint-only for a generated interior",
    "IMDF": "add opening.geojson with the openings (doors) between units",
    "DXF": "name the door layers (block references, lines or arcs) under [layers] doors in the mapping file",
}
_SUGGEST_EXITS = {
    "IFC": "mark the entrance doors as external (Pset_DoorCommon.IsExternal), make sure they sit in the outer wall, or "
           "pass --footprint-only",
    "IMDF": "an opening on the building footprint (or of category emergencyexit) is an exit; add one",
    "DXF": "draw the entrance doors in the outer wall, put them on an exits layer, or give the building outline layer",
}

"""Import CAD floor plans (DXF) with ezdxf and a small mapping file.

``import_dxf([PLAN.dxf, …], MAPPING.toml, DIR)``: each DXF file is the plan
of one level of one building; the mapping (TOML, see ``docs/import.md``)
says which layers hold what, the drawing units, the level of each file and
where the drawing lies on Earth.

=========================  ===============================================================
campus                     from (layers named in the mapping's ``[layers]``)
=========================  ===============================================================
``building``               ``outline``: a closed polyline; else the outline of the walls
                           and rooms of the lowest plan
``room`` / ``corridor``    ``rooms`` / ``corridors``: closed polylines (LWPOLYLINE, POLYLINE,
                           arcs flattened) and hatches; name from ``labels`` texts inside
                           them; use from the name (:data:`maps.importing.USE_WORDS`), a
                           ``uses`` pattern, or a ``room_uses`` layer table
``door``                   ``doors``: block references (the swing arc gives the hinge and
                           width), arcs with their leaf line, or lines drawn across the
                           opening; on an ``exits`` layer, an exit
``stair``                  ``stairs``: closed polylines; the same stair on consecutive plans
                           (overlapping) joins those levels, a stair on one plan joins
                           ``stair_levels``
=========================  ===============================================================

Errors name the file, the layer and the entity handle.
"""

from __future__ import annotations

import fnmatch
import math
import re
import time
from collections import defaultdict
from pathlib import Path
from typing import Annotated, Any, Literal

import numpy as np
import shapely
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from shapely.geometry import LineString, Point, Polygon
from shapely.geometry.base import BaseGeometry

from maps.importing import (
    CORRIDOR,
    Georef,
    ImportSourceError,
    ImportSummary,
    Plan,
    host_space,
    largest_polygon,
    outline_of,
    polygonal,
    problem,
    room_use,
    seat_opening,
    seat_stair,
    slug,
    write_plan,
)
from twin.settings import BUILDING_USES, ROOM_USES
from twin.tomlfile import TomlFileError, read_toml

UNITS = {"m": 1.0, "cm": 0.01, "mm": 0.001, "in": 0.0254, "ft": 0.3048}
_INSUNITS = {1: "in", 2: "ft", 4: "mm", 5: "cm", 6: "m"}


class Anchor(BaseModel):
    """Where the drawing lies on Earth: drawing point (x, y) is at (lon, lat)."""

    model_config = ConfigDict(extra="forbid")
    x: float = 0.0
    y: float = 0.0
    lon: Annotated[float, Field(ge=-180, le=180)]
    lat: Annotated[float, Field(ge=-90, le=90)]
    rotation: float = 0.0
    """Bearing of the drawing's +Y axis, degrees clockwise from north."""


class Layers(BaseModel):
    """Layer names (or glob patterns such as ``A-AREA-*``, case-insensitive) per role."""

    model_config = ConfigDict(extra="forbid")
    rooms: list[str] = []
    corridors: list[str] = []
    doors: list[str] = []
    exits: list[str] = []
    stairs: list[str] = []
    walls: list[str] = []
    outline: list[str] = []
    labels: list[str] = []

    @field_validator("*", mode="before")
    @classmethod
    def _one_or_many(cls, v: Any) -> Any:
        return [v] if isinstance(v, str) else v


class Mapping(BaseModel):
    """A DXF mapping file (TOML)."""

    model_config = ConfigDict(extra="forbid")
    building: Annotated[str, Field(min_length=1)]
    name: str | None = None
    use: Literal[BUILDING_USES] = "other"  # type: ignore[valid-type]
    units: Literal["m", "cm", "mm", "in", "ft"] | None = None
    level: int | dict[str, int] = 0
    levels: Annotated[int, Field(ge=1)] | None = None
    lowest_level: int | None = None
    level_height: Annotated[float, Field(gt=0)] | None = None
    stair_levels: list[int] | None = None
    anchor: Anchor
    layers: Layers
    uses: dict[str, Literal[ROOM_USES]] = {}  # type: ignore[valid-type]
    """Regular expression on a room's label text → room use."""
    room_uses: dict[str, Literal[ROOM_USES]] = {}  # type: ignore[valid-type]
    """Room layer (name or pattern) → room use."""


def load_mapping(path: Path) -> Mapping:
    """Read and check a mapping file; every mistake names the key."""
    try:
        raw = read_toml(path, "mapping")
    except TomlFileError as e:
        raise ImportSourceError([problem(path, e.reason)]) from None
    try:
        m = Mapping.model_validate(raw)
    except ValidationError as e:
        out = []
        for err in e.errors():
            key = ".".join(str(x) for x in err["loc"])
            msg = {"missing": "missing required key", "extra_forbidden": "unknown key"}.get(err["type"], err["msg"])
            out.append(problem(path, f"{msg}" + ("" if err["type"] in ("missing", "extra_forbidden") else f" (got {err.get('input')!r})"),
                               fieldname=key))
        raise ImportSourceError(out) from None
    for pattern in m.uses:
        try:
            re.compile(pattern)
        except re.error as e:
            raise ImportSourceError([problem(path, f"not a regular expression: {e}", fieldname=f"uses.{pattern}")]) from None
    if not (m.layers.rooms or m.layers.corridors):
        raise ImportSourceError([problem(path, "name at least one rooms or corridors layer", fieldname="layers.rooms")])
    if not m.layers.doors and not m.layers.exits:
        raise ImportSourceError([problem(path, "name at least one doors layer", fieldname="layers.doors")])
    return m


def _matches(layer: str, patterns: list[str]) -> bool:
    return any(fnmatch.fnmatchcase(layer.casefold(), p.casefold()) for p in patterns)


def _where(e: Any) -> str:
    return f"layer '{e.dxf.layer}' handle {e.dxf.handle}"


def _closed_shape(e: Any, scale: float, src: Path) -> BaseGeometry | None:
    """A closed polyline or hatch as a polygon (drawing units × scale = metres); ``None`` for an open polyline."""
    from ezdxf import path as ezpath

    t = e.dxftype()
    if t == "HATCH":
        rings = []
        for p in ezpath.from_hatch(e):
            pts = np.array([(v.x, v.y) for v in p.flattening(0.01 / scale)]) * scale
            if len(pts) >= 3:
                rings.append(Polygon(pts))
        if not rings:
            raise ImportSourceError([problem(src, "hatch has no boundary", _where(e))])
        rings.sort(key=lambda r: r.area, reverse=True)
        shell = rings[0]
        for r in rings[1:]:
            shell = shell.difference(r) if shell.contains(r.representative_point()) else shell.union(r)
        return shell
    if t in ("LWPOLYLINE", "POLYLINE"):
        pts = np.array([(v.x, v.y) for v in ezpath.make_path(e).flattening(0.01 / scale)]) * scale
        closed = bool(e.closed) if hasattr(e, "closed") else bool(e.is_closed)
        if len(pts) < 3 or not (closed or np.allclose(pts[0], pts[-1])):
            return None
        return Polygon(pts)
    if t == "CIRCLE":
        c = e.dxf.center
        return Point(c.x * scale, c.y * scale).buffer(e.dxf.radius * scale, quad_segs=16)
    raise ImportSourceError([problem(src, f"a {t} cannot be a room, stair or outline (use a closed polyline or a hatch)", _where(e))])


def _entities(doc: Any) -> list[Any]:
    return list(doc.modelspace())


def _door_lines(e: Any, scale: float, src: Path, rooms: BaseGeometry | None) -> list[LineString]:
    """The opening(s) a door entity stands for, in metres: hinge to closed-leaf end, or the line across it."""
    t = e.dxftype()
    if t == "INSERT":
        parts = list(e.virtual_entities())
        arcs = sorted((p for p in parts if p.dxftype() == "ARC"), key=lambda a: -a.dxf.radius)
        if len(arcs) >= 2:  # a double door: two leaves hinged on the two jambs
            a, b = arcs[:2]
            ca, cb = (np.array([x.dxf.center.x, x.dxf.center.y]) for x in (a, b))
            r = a.dxf.radius + b.dxf.radius
            if abs(a.dxf.radius - b.dxf.radius) <= 0.1 * r and abs(np.linalg.norm(cb - ca) - r) <= 0.1 * r:
                return [LineString([ca * scale, cb * scale])]
        if arcs:
            return [_arc_opening(arcs[0], scale, rooms)]
        xy = []
        for p in parts:
            if p.dxftype() == "LINE":
                xy += [(p.dxf.start.x, p.dxf.start.y), (p.dxf.end.x, p.dxf.end.y)]
            elif p.dxftype() in ("LWPOLYLINE", "POLYLINE"):
                xy += [(v[0], v[1]) for v in (p.get_points("xy") if p.dxftype() == "LWPOLYLINE" else
                                              [(v.dxf.location.x, v.dxf.location.y) for v in p.vertices])]
        if len(xy) < 2:
            raise ImportSourceError([problem(src, f"door block '{e.dxf.name}' has no arc or lines to measure", _where(e))])
        rect = shapely.minimum_rotated_rectangle(shapely.multipoints(np.asarray(xy) * scale))
        if not isinstance(rect, Polygon):
            raise ImportSourceError([problem(src, f"door block '{e.dxf.name}' is degenerate", _where(e))])
        c = np.asarray(rect.exterior.coords)[:3]
        a, b = (c[0], c[1]) if np.hypot(*(c[1] - c[0])) >= np.hypot(*(c[2] - c[1])) else (c[1], c[2])
        centre = np.asarray(rect.centroid.coords[0])
        return [LineString([centre - (b - a) / 2, centre + (b - a) / 2])]
    if t == "ARC":
        return [_arc_opening(e, scale, rooms)]
    if t == "LINE":
        return [LineString([(e.dxf.start.x * scale, e.dxf.start.y * scale), (e.dxf.end.x * scale, e.dxf.end.y * scale)])]
    if t == "LWPOLYLINE":
        pts = np.array(e.get_points("xy")) * scale
        return [LineString([pts[0], pts[-1]])] if len(pts) >= 2 else []
    return []


def _arc_opening(a: Any, scale: float, rooms: BaseGeometry | None) -> LineString:
    """A door swing: the hinge is the arc's centre; the closed leaf lies along the wall, at the arc end nearer the rooms' edges."""
    c = np.array([a.dxf.center.x, a.dxf.center.y]) * scale
    r = a.dxf.radius * scale
    ends = [c + r * np.array([math.cos(math.radians(t)), math.sin(math.radians(t))]) for t in (a.dxf.start_angle, a.dxf.end_angle)]
    if rooms is not None and not rooms.is_empty:
        edge = rooms.boundary
        ends.sort(key=lambda p: edge.distance(Point(p)) + edge.distance(Point((p + c) / 2)))
    return LineString([c, ends[0]])


def import_dxf(sources: list[str | Path], mapping: str | Path, out_dir: str | Path, *, outdoor: bool = True) -> ImportSummary:
    """Import DXF floor plans (one per level) into ``OUT_DIR/campus.geojson`` with a mapping file.

    Raises
    ------
    ImportSourceError
        Naming the file, the layer and the entity handle (or the mapping key).
    """
    import ezdxf

    t0 = time.perf_counter()
    mpath = Path(mapping)
    m = load_mapping(mpath)
    paths = [Path(s) for s in sources]
    if not paths:
        raise ImportSourceError([problem(mpath, "no DXF file given")])
    missing = [problem(p, "no such file") for p in paths if not p.is_file()]
    if missing:
        raise ImportSourceError(missing)
    level_of: dict[Path, int] = {}
    for p in paths:
        if isinstance(m.level, int):
            if len(paths) > 1:
                raise ImportSourceError([problem(mpath, "several plans but one 'level': give level = {\"FILE.dxf\" = LEVEL, …}",
                                                 fieldname="level")])
            level_of[p] = m.level
        else:
            lv = m.level.get(p.name, m.level.get(p.stem))
            if lv is None:
                raise ImportSourceError([problem(mpath, f"no level for {p.name} (level = {{\"{p.name}\" = 0, …}})", fieldname="level")])
            level_of[p] = lv
    plan = Plan(paths[0], "DXF", name=m.name or m.building)
    bid = m.building
    rooms_at: dict[int, list[BaseGeometry]] = defaultdict(list)
    room_feats: list[tuple[int, BaseGeometry, str, str, str, str]] = []  # level, geom, kind, layer, handle, src
    door_items: list[tuple[int, Any, bool, Path, float]] = []
    stairs_at: list[tuple[int, BaseGeometry, str, Path]] = []
    walls_at: dict[int, list[BaseGeometry]] = defaultdict(list)
    outlines: list[BaseGeometry] = []
    labels_at: dict[int, list[tuple[Point, str]]] = defaultdict(list)
    first_scale: float | None = None
    for p in paths:
        try:
            doc = ezdxf.readfile(p)
        except (OSError, ezdxf.DXFError) as e:
            raise ImportSourceError([problem(p, f"not a DXF file ezdxf can read ({e})")]) from None
        units = m.units or _INSUNITS.get(int(doc.header.get("$INSUNITS", 0) or 0))
        if units is None:
            raise ImportSourceError([problem(p, "the drawing does not say its units ($INSUNITS is 0, unitless); give "
                                             "units = \"mm\" (or m, cm, in, ft) in the mapping", fieldname="units")])
        scale = UNITS[units]
        first_scale = scale if first_scale is None else first_scale
        lv = level_of[p]
        layers = m.layers
        for e in _entities(doc):
            layer = e.dxf.layer
            t = e.dxftype()
            shaped = t in ("LWPOLYLINE", "POLYLINE", "HATCH", "CIRCLE")
            closed = _closed_shape(e, scale, p) if shaped and (
                _matches(layer, layers.outline) or _matches(layer, layers.rooms) or _matches(layer, layers.corridors)
                or _matches(layer, layers.stairs)) else None
            if shaped and closed is None and not _matches(layer, layers.walls) and not _matches(layer, layers.doors) and (
                    _matches(layer, layers.rooms) or _matches(layer, layers.corridors) or _matches(layer, layers.outline)):
                plan.warn(f"{t} is not closed, so it is not a room or outline; skipped (close it, or move it to another "
                          "layer)", _where(e), p)
                continue
            if _matches(layer, layers.outline) and closed is not None:
                outlines.append(closed)
            elif _matches(layer, layers.rooms) or _matches(layer, layers.corridors):
                if closed is None:
                    continue  # room layers often hold texts and leaders too
                g = polygonal(shapely.make_valid(closed))
                if g is None:
                    plan.warn("room outline has no area, skipped", _where(e), p)
                    continue
                kind = CORRIDOR if _matches(layer, layers.corridors) else "room"
                room_feats.append((lv, g, kind, layer, e.dxf.handle, str(p)))
                rooms_at[lv].append(g)
            elif _matches(layer, layers.stairs) and closed is not None:
                g = polygonal(shapely.make_valid(closed))
                if g is not None:
                    stairs_at.append((lv, g, _where(e), p))
            elif _matches(layer, layers.doors) or _matches(layer, layers.exits):
                if t in ("INSERT", "ARC", "LINE", "LWPOLYLINE"):
                    door_items.append((lv, e, _matches(layer, layers.exits), p, scale))
            elif _matches(layer, layers.walls) and t in ("LINE", "LWPOLYLINE", "POLYLINE", "HATCH", "ARC"):
                try:
                    from ezdxf import path as ezpath

                    g = (ezpath.make_path(e) if t != "HATCH" else None)
                    if g is not None:
                        pts = np.array([(v.x, v.y) for v in g.flattening(0.01 / scale)]) * scale
                        if len(pts) >= 2:
                            walls_at[lv].append(LineString(pts).buffer(0.05))
                    elif (h := _closed_shape(e, scale, p)) is not None:
                        walls_at[lv].append(h)
                except (ValueError, TypeError, ImportSourceError):
                    continue
            if _matches(layer, layers.labels) and t in ("TEXT", "MTEXT"):
                text = e.plain_text() if t == "MTEXT" else e.dxf.text
                ins = e.dxf.insert
                if text and text.strip():
                    labels_at[lv].append((Point(ins.x * scale, ins.y * scale), " ".join(text.split())))

    if not room_feats:
        raise ImportSourceError([problem(paths[0], "no closed room outlines on the rooms/corridors layers "
                                         f"{m.layers.rooms + m.layers.corridors} of the mapping; check the layer names and that the "
                                         "outlines are closed polylines or hatches (see docs/import.md, DXF)")])
    levels = sorted(set(level_of.values()))
    lowest = m.lowest_level if m.lowest_level is not None else min(0, levels[0])
    nlevels = m.levels or max(levels[-1] - lowest + 1, 1)
    ground = 0 if 0 in levels else levels[0]
    if outlines:
        outline = polygonal(shapely.union_all(outlines))
    else:
        outline = outline_of(rooms_at[ground] + walls_at[ground], close=0.5)
    if outline is None:
        raise ImportSourceError([problem(paths[0], "cannot find the building outline: give an outline layer")])
    plan.add(outline, id=bid, kind="building", name=m.name, levels=nlevels, lowest_level=lowest or None, use=m.use,
             level_height=m.level_height, ref=f"{paths[0].name} building")

    for lv, g, kind, layer, handle, src in room_feats:
        inside = [t for pt, t in labels_at[lv] if g.contains(pt)]
        name = " ".join(inside) or None
        use = None
        if kind == "room":
            use = next((u for pat, u in m.room_uses.items() if fnmatch.fnmatchcase(layer.casefold(), pat.casefold())), None)
            if use is None and name:
                use = next((u for pat, u in m.uses.items() if re.search(pat, name)), None)
            if use is None:
                k, u = room_use(name, layer)
                kind, use = (CORRIDOR, None) if k == CORRIDOR else ("room", u)
        want = f"{bid}-{lv}-" + (slug(name) if name else f"R{handle}")
        plan.add(g, id=plan.unique_id(want, handle), kind=kind, name=name, building=bid, level=lv, use=use,
                 ref=f"{Path(src).name} layer '{layer}' handle {handle}")

    rooms_union = {lv: shapely.union_all(gs) for lv, gs in rooms_at.items()}
    leaf_of_arc: set[str] = set()
    arcs = [(lv, e) for lv, e, _, _, _ in door_items if e.dxftype() == "ARC"]
    for lv, e, _, _, _ in door_items:  # a LINE from an ARC's centre, as long as its radius, is that door's leaf
        if e.dxftype() != "LINE":
            continue
        s, t = np.array([e.dxf.start.x, e.dxf.start.y]), np.array([e.dxf.end.x, e.dxf.end.y])
        for alv, a in arcs:
            c = np.array([a.dxf.center.x, a.dxf.center.y])
            tol = 0.02 * a.dxf.radius
            if alv == lv and min(np.linalg.norm(s - c), np.linalg.norm(t - c)) <= tol and abs(np.linalg.norm(t - s) - a.dxf.radius) <= tol:
                leaf_of_arc.add(e.dxf.handle)
    for lv, e, is_exit, src, scale in door_items:
        if e.dxf.handle in leaf_of_arc:
            continue
        for k, line in enumerate(_door_lines(e, scale, src, rooms_union.get(lv))):
            if not line.length > 0:
                plan.warn("door has no width, skipped", _where(e), src)
                continue
            line = seat_opening(line, rooms_at[lv], outline)
            want = f"{bid}-{lv}-D{e.dxf.handle}" + (f"-{k}" if k else "")
            plan.add(line, id=plan.unique_id(want, str(k)), kind="door", building=bid, level=lv, exit=True if is_exit else None,
                     ref=f"{src.name} layer '{e.dxf.layer}' handle {e.dxf.handle}")

    _stairs(plan, m, bid, stairs_at, rooms_at, mpath)
    georef = Georef.anchor(m.anchor.lon, m.anchor.lat, m.anchor.rotation, x=m.anchor.x * (first_scale or 1.0),
                           y=m.anchor.y * (first_scale or 1.0),
                           how=f"mapping anchor ({m.anchor.x:g}, {m.anchor.y:g}) at {m.anchor.lon:g}, {m.anchor.lat:g}, "
                               f"rotation {m.anchor.rotation:g}°")
    return write_plan(plan, georef, out_dir, outdoor=outdoor, started=t0)


def _stairs(plan: Plan, m: Mapping, bid: str, stairs_at: list[tuple[int, BaseGeometry, str, Path]],
            rooms_at: dict[int, list[BaseGeometry]], mpath: Path) -> None:
    """Stack stair outlines of consecutive plans by overlap; a stair on one plan alone joins ``stair_levels``."""
    used: set[int] = set()
    n = 0
    for i, (lv, g, where, src) in enumerate(stairs_at):
        if i in used:
            continue
        stack = {lv: g}
        used.add(i)
        grown = True
        while grown:
            grown = False
            for j, (lj, gj, _, _) in enumerate(stairs_at):
                if j in used or lj in stack:
                    continue
                if any(abs(lj - lk) == 1 and gj.intersection(gk).area >= 0.3 * min(gj.area, gk.area) for lk, gk in stack.items()):
                    stack[lj] = gj
                    used.add(j)
                    grown = True
        levels = sorted(stack)
        if len(levels) < 2:
            if not m.stair_levels:
                plan.warn(f"stair on level {lv} only: give stair_levels = [{lv}, {lv + 1}] in the mapping to join levels, "
                          "or draw it on the other plans too; skipped", where, src)
                continue
            levels = sorted(set(m.stair_levels))
            stack = {x: g for x in levels}
        foot = largest_polygon(shapely.intersection_all(list(stack.values())))
        if foot is None or foot.area < 0.5:
            plan.warn("stair outlines on consecutive plans do not overlap; skipped", where, src)
            continue
        hosts = [host_space(foot, rooms_at.get(x, [])) for x in levels]
        n += 1
        plan.add(seat_stair(foot, hosts), id=plan.unique_id(f"{bid}-S{n}", str(n)), kind="stair", building=bid, levels=levels,
                 ref=f"{src.name} {where}")

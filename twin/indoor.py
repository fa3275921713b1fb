"""Indoor graphs: modelled interiors (rooms, corridors, doors, stairs) and
generated interiors (from a footprint, its levels and its use).

Nodes and edges follow ``docs/campus-format.md`` ("Graphs"). All lengths and
widths are metres.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass, field
from itertools import combinations

import geopandas as gpd
import networkx as nx
import numpy as np
import shapely
import shapely.ops
from shapely.geometry import Point, Polygon
from shapely.geometry.base import BaseGeometry

from twin.errors import Problem
from twin.graph import SPACES
from twin.settings import default

OUTSIDE = "<outside>"


@dataclass
class Space:
    """One walkable space on one level: a room, a corridor or a stair at a level."""

    node: str
    kind: str
    feature: str
    building: str
    level: int
    geometry: BaseGeometry
    width: float
    occupants: int = 0
    portals: list[str] = field(default_factory=list)


def flight_length(height: float) -> float:
    """Walking length (m) of the stair flights that climb ``height`` metres.

    The slope length of a flight with the default riser/tread
    (``stair_riser``, ``stair_tread``) plus one half landing per storey
    (``stair_landing``).
    """
    run = height * default("stair_tread") / default("stair_riser")
    return math.hypot(run, height) + default("stair_landing")


def space_width(geom: BaseGeometry) -> float:
    """Clear width of a space (m): the short side of its minimum rotated rectangle."""
    rect = shapely.minimum_rotated_rectangle(geom)
    xy = np.asarray(rect.exterior.coords) if isinstance(rect, Polygon) else np.zeros((1, 2))
    if len(xy) < 4:
        return 0.0
    sides = np.hypot(*np.diff(xy[:3], axis=0).T)
    return float(sides.min())


def _anchor(geom: BaseGeometry) -> Point:
    """A point inside the geometry: its centroid when that lies inside, else a point on its surface."""
    c = geom.centroid
    return c if geom.contains(c) else geom.point_on_surface()


def _add_space_edges(g: nx.Graph, s: Space) -> None:
    """Join a space's node to each of its portals, and every two portals to each other."""
    pos = {n: (g.nodes[n]["x"], g.nodes[n]["y"]) for n in [s.node, *s.portals]}
    for a, b in [(s.node, p) for p in s.portals] + list(combinations(s.portals, 2)):
        if g.has_edge(a, b):
            continue
        length = math.dist(pos[a], pos[b])
        g.add_edge(a, b, length=length, width=s.width, kind=s.kind, level=s.level, building=s.building, space=s.node)


class IndoorBuilder:
    """Build the indoor part of the campus graph from the feature table.

    Parameters
    ----------
    features : GeoDataFrame
        Normalised features (metres), as ``twin.read.read_features`` returns.
    graph : networkx.Graph
        The campus graph the nodes and edges are added to.
    src : str
        File name for problem messages.
    """

    def __init__(self, features: gpd.GeoDataFrame, graph: nx.Graph, src: str) -> None:
        self.f = features
        self.g = graph
        self.src = src
        self.errors: list[Problem] = []
        self.warnings: list[Problem] = []
        self.buildings = features[features.kind == "building"]
        self.exits: list[str] = []
        """Node ids of building exits, to be linked to the outdoor network."""
        self.occupants_estimated: list[str] = []
        """Generated buildings without ``occupants``: their design occupants are floor area × storeys ÷ the use's load factor."""

    def _err(self, msg: str, fid: str, fieldname: str | None = None) -> None:
        self.errors.append(Problem(self.src, msg, feature=fid, field=fieldname))

    def _warn(self, msg: str, fid: str, fieldname: str | None = None) -> None:
        self.warnings.append(Problem(self.src, msg, feature=fid, field=fieldname))

    # -- references -------------------------------------------------------

    def check_references(self) -> None:
        """Every indoor feature names an existing building and one of its levels."""
        span = {b: level_range(r) for b, r in self.buildings.iterrows()}
        indoor = self.f[self.f.kind.isin(("room", "corridor", "door", "stair", "camera", "detector"))]
        if indoor.empty:
            return
        n = len(indoor)
        rows = zip(indoor.index.tolist(), indoor["kind"].tolist(), indoor["building"].tolist(),
                   indoor["levels"].tolist() if "levels" in indoor.columns else [None] * n,
                   indoor["level"].tolist() if "level" in indoor.columns else [None] * n, strict=True)
        for fid, kind, b, stair_levels, level in rows:  # columns as lists: no Series per feature
            if (not isinstance(b, str) or not b) and kind not in ("camera", "detector"):
                self._err(f"a {kind} must name its building (got {b!r})", fid, "building")
                continue
            if not isinstance(b, str) or not b:
                continue  # outdoor camera/detector
            if b not in span:
                self._err(f"building '{b}' is not a building in this campus", fid, "building")
                continue
            levels = span[b]
            have = f"levels {levels.start} to {levels.stop - 1}" if len(levels) > 1 else f"level {levels.start} only"
            if kind == "stair":
                bad = [lv for lv in stair_levels if lv not in levels]
                if bad:
                    self._err(f"stair joins level(s) {bad} that building '{b}' does not have ({have})", fid, "levels")
            elif _is_level(level) and int(level) not in levels:
                self._err(f"level {int(level)} is not a level of building '{b}' ({have})", fid, "level")

    # -- modelled interiors -----------------------------------------------

    def _spaces(self) -> list[Space]:
        rows = self.f[self.f.kind.isin(SPACES)]
        out: list[Space] = []
        if rows.empty:
            return out
        n = len(rows)
        column = {c: rows[c].tolist() if c in rows.columns else [None] * n for c in ("levels", "level", "occupants")}
        for fid, kind, geom, width, building, levels, level, occ in zip(  # columns as lists: no Series per space
                rows.index.tolist(), rows["kind"].tolist(), rows.geometry.values, rows["width"].tolist(), rows["building"].tolist(),
                column["levels"], column["level"], column["occupants"], strict=True):
            if kind == "stair":
                w = _num(width, default("stair_width"))
                out += [Space(f"{fid}@{lv}", "stair", fid, building, lv, geom, w) for lv in levels]
            else:
                w = _num(width, space_width(geom))
                out.append(Space(fid, kind, fid, building, int(level), geom, w, int(occ)))
        return out

    def room_occupants(self) -> None:
        """Fill in rooms' design occupants from area and use; warn on implausible given ones."""
        rooms = self.f.kind == "room"
        ratio = default("occupancy_warn_ratio")
        for fid in self.f.index[rooms]:
            area = self.f.geometry[fid].area
            design = area / default(f"load_factor.{self.f.at[fid, 'use']}")
            given = self.f.at[fid, "occupants"]
            if _missing(given):
                self.f.at[fid, "occupants"] = round(design)
                continue
            self.f.at[fid, "occupants"] = int(given)
            if design >= 1 and not design / ratio <= given <= design * ratio:
                self._warn(
                    f"{int(given)} occupants in {area:.0f} m² is far from the design {design:.0f} for use "
                    f"'{self.f.at[fid, 'use']}' (check occupants or use)",
                    fid,
                    "occupants",
                )

    def build_modelled(self, modelled: set[str]) -> None:
        """Add rooms, corridors, stairs and doors of the buildings modelled inside."""
        g = self.g
        spaces = self._spaces()
        for s in spaces:
            a = _anchor(s.geometry)
            g.add_node(s.node, kind=s.kind, feature=s.feature, building=s.building, level=s.level,
                       x=a.x, y=a.y, occupants=s.occupants, area=s.geometry.area)
        by_node = {s.node: s for s in spaces}
        doors = self.f[(self.f.kind == "door") & self.f.building.isin(modelled)]
        self._place_doors(doors, spaces, by_node)
        self._open_stairs(spaces, by_node)
        for s in spaces:
            _add_space_edges(g, s)
        for fid, r in self.f[self.f.kind == "stair"].iterrows():
            levels = list(r["levels"])
            h = _num(self.buildings.at[r["building"], "level_height"], default("storey_height")) if r["building"] in self.buildings.index else default("storey_height")
            w = _num(r["width"], default("stair_width"))
            for lo, hi in zip(levels, levels[1:], strict=False):
                g.add_edge(f"{fid}@{lo}", f"{fid}@{hi}", length=flight_length(h * (hi - lo)), width=w,
                           kind="stair", level=lo, height=h * (hi - lo), building=r["building"], feature=fid)
        self._check_way_out(modelled)
        for b in modelled:
            self.f.at[b, "occupants"] = int(self.f.occupants[(self.f.building == b) & self.f.kind.isin(("room", "corridor"))].sum())

    def _place_doors(self, doors: gpd.GeoDataFrame, spaces: list[Space], by_node: dict[str, Space]) -> None:
        """Find each door's two sides (spaces, or a space and the outside) and join them."""
        snap = default("door_snap")
        if doors.empty:
            return
        tree = shapely.STRtree([s.geometry for s in spaces])
        pts = doors.geometry.values
        di, si = tree.query(pts, predicate="dwithin", distance=snap) if spaces else (np.array([], int), np.array([], int))
        cand: dict[int, list[tuple[float, str]]] = defaultdict(list)
        door_building, door_level = doors["building"].to_numpy(), doors["level"].to_numpy()  # not a row (iloc) per pair
        for d, s in zip(di, si, strict=True):
            sp = spaces[s]
            if sp.building != door_building[d] or sp.level != int(door_level[d]):
                continue
            dist = sp.geometry.boundary.distance(pts[d])  # every ring: a door may open onto a space's inner courtyard
            if dist <= snap:
                cand[d].append((dist, sp.node))
        outline = {b: geom.boundary for b, geom in zip(self.buildings.index, self.buildings.geometry, strict=True)}
        for d, (fid, r) in enumerate(doors.iterrows()):
            p = pts[d]
            sides = [n for _, n in sorted(cand[d])]
            on_outline = outline[r["building"]].distance(p) <= snap
            exit_ = bool(r["exit"]) if not _missing(r["exit"]) else on_outline
            if on_outline or (exit_ and len(sides) == 1):
                sides = [*sides[:1], OUTSIDE]
            sides = sides[:2]
            if len(sides) < 2 or (sides[1] == OUTSIDE and not sides[0:1]):
                near = ", ".join(sides) or "none"
                self._err(
                    f"door does not lie on the boundary between two spaces of building '{r['building']}' level "
                    f"{int(r['level'])} (or a space and the outside); spaces within {snap} m: {near}",
                    fid,
                    "geometry",
                )
                continue
            width = _num(r["width"], default("door_width"))
            self.f.at[fid, "width"] = width
            self.f.at[fid, "exit"] = exit_
            self.g.add_node(fid, kind="door", feature=fid, building=r["building"], level=int(r["level"]),
                            x=p.x, y=p.y, width=width, exit=exit_,
                            access=None if _missing(r.get("access")) else r["access"])
            inner = [by_node[n] for n in sides if n != OUTSIDE]
            for s in inner:
                s.portals.append(fid)
            if exit_:
                self.exits.append(fid)
            opening = r.get("opening")
            self._check_door_wall(fid, width, p, inner, OUTSIDE in sides, outline[r["building"]],
                                  opening if isinstance(opening, BaseGeometry) else None)

    def _check_door_wall(self, fid: str, width: float, p: Point, inner: list[Space], outside: bool, outline: BaseGeometry,
                         opening: BaseGeometry | None = None) -> None:
        """Warn when a door is wider than the straight wall it sits in, or its drawn opening does not follow that wall."""
        if not outside and len(inner) < 2:
            return
        rings = [np.asarray(r.coords) for r in shapely.get_rings(inner[0].geometry)]
        if not rings:
            return
        segments = shapely.linestrings(np.concatenate([np.stack([r[:-1], r[1:]], axis=1) for r in rings]))
        nearest = segments[int(np.argmin(shapely.distance(segments, p)))]
        other = outline if outside else inner[1].geometry.boundary
        wall = nearest.intersection(other.buffer(default("door_snap")))
        if width > wall.length + 1e-6:
            self._warn(f"door is {width:.2f} m wide but the wall it sits in is {wall.length:.2f} m", fid, "width")
        if opening is not None:
            ends = shapely.points(np.asarray(opening.coords)[[0, -1]])
            off = float(max(shapely.distance(ends, inner[0].geometry.boundary).max(), shapely.distance(ends, other).max()))
            if off > default("door_snap"):
                self._warn(f"the opening drawn for this door does not follow the wall between its spaces: an end is "
                           f"{off:.2f} m from it (draw the opening along the wall)", fid, "geometry")

    def _open_stairs(self, spaces: list[Space], by_node: dict[str, Space]) -> None:
        """A stair level with no door opens into every space it touches on that level."""
        snap = default("door_snap")
        stairs = [s for s in spaces if s.kind == "stair" and not s.portals]
        if not stairs:
            return
        tree = shapely.STRtree([s.geometry for s in spaces])
        for st in stairs:
            for i in tree.query(st.geometry, predicate="dwithin", distance=snap):
                other = spaces[i]
                if other is st or other.building != st.building or other.level != st.level:
                    continue
                if other.kind == "stair" and other.feature == st.feature:
                    continue
                shared = st.geometry.boundary.intersection(other.geometry.buffer(snap))
                mid = shared.interpolate(0.5, normalized=True) if shared.length > 0 else st.geometry.centroid
                node = f"{st.node}/{other.node}"
                self.g.add_node(node, kind="opening", building=st.building, level=st.level, x=mid.x, y=mid.y,
                                width=st.width, exit=False)
                st.portals.append(node)
                other.portals.append(node)

    def _check_way_out(self, modelled: set[str]) -> None:
        """Every room and corridor of a modelled building reaches one of its exits."""
        exits_of: dict[str, list[str]] = defaultdict(list)
        for e in self.exits:
            exits_of[self.g.nodes[e]["building"]].append(e)
        for b in modelled:
            nodes = [n for n, d in self.g.nodes(data=True) if d.get("building") == b]
            sub = self.g.subgraph(nodes)
            ok: set[str] = set()
            for comp in nx.connected_components(sub):
                if any(e in comp for e in exits_of[b]):
                    ok |= comp
            for n in nodes:
                d = self.g.nodes[n]
                if d["kind"] in ("room", "corridor") and n not in ok:
                    why = "the building has no exit" if not exits_of[b] else "no chain of doors and stairs reaches an exit"
                    self._err(f"{d['kind']} has no way out: {why} of building '{b}'", n, "geometry")

    # -- generated interiors ----------------------------------------------

    def build_generated(self, generated: list[str], walk_lines: gpd.GeoSeries) -> None:
        """Give each building without indoor features a floor node per level, a stair core and exits."""
        for b in generated:
            r = self.buildings.loc[b]
            self._generate(b, r, walk_lines)

    def _generate(self, b: str, r: object, walk_lines: gpd.GeoSeries) -> None:
        g = self.g
        geom: BaseGeometry = r.geometry  # type: ignore[attr-defined]
        span = level_range(r)
        levels = len(span)
        ground = 0 if 0 in span else span.start  # exits are on the ground level (the lowest one if all are above it)
        area = geom.area
        given = r["occupants"]  # type: ignore[index]
        total = int(given) if not _missing(given) else round(area * levels / default(f"building_load_factor.{r['use']}"))  # type: ignore[index]
        if _missing(given):
            self.occupants_estimated.append(b)
        self.f.at[b, "occupants"] = total
        per = {lv: total // levels + (1 if i < total % levels else 0) for i, lv in enumerate(span)}
        a = _anchor(geom)
        reach = math.sqrt(area) / 2  # mean walk from a floor to a central core, m
        width = space_width(geom)
        h = _num(r["level_height"], default("storey_height"))  # type: ignore[index]
        upper = max((n for lv, n in per.items() if lv != ground), default=0)
        core_w = max(default("stair_width") * default("generated_stairs"), upper * default("egress_stair_per_person"))
        for lv in span:
            fl = f"{b}/L{lv}"
            g.add_node(fl, kind="floor", feature=b, building=b, level=lv, x=a.x, y=a.y, occupants=per[lv], area=area)
            if levels > 1:
                core = f"{b}/core@{lv}"
                g.add_node(core, kind="stair", feature=b, building=b, level=lv, x=a.x, y=a.y)
                g.add_edge(fl, core, length=reach, width=core_w, kind="floor", level=lv, building=b, space=fl)
                if lv > span.start:
                    g.add_edge(f"{b}/core@{lv - 1}", core, length=flight_length(h), width=core_w, kind="stair",
                               level=lv - 1, height=h, building=b)
        for node, p, w in self._generated_exits(b, geom, walk_lines, total):
            g.add_node(node, kind="door", feature=node if node in self.f.index else b, building=b, level=ground,
                       x=p.x, y=p.y, width=w, exit=True)
            g.add_edge(f"{b}/L{ground}", node, length=a.distance(p), width=width, kind="floor", level=ground, building=b,
                       space=f"{b}/L{ground}")
            self.exits.append(node)

    def _generated_exits(self, b: str, geom: BaseGeometry, walk_lines: gpd.GeoSeries, occupants: int) -> list[tuple[str, Point, float]]:
        """Exits of a generated interior: its door features, else where footways meet the footprint.

        Generated exits share the code egress width for ``occupants``
        (``egress_other_per_person``), each at least ``exit_width``.
        """
        doors = self.f[(self.f.kind == "door") & (self.f.building == b)]
        snap = default("door_snap")
        out: list[tuple[str, Point, float]] = []
        outline = geom.boundary
        for fid, r in doors.iterrows():
            if outline.distance(r.geometry) > max(snap, default("snap_tolerance")):
                self._err(f"door of building '{b}' (which has no indoor features) must lie on its outline", fid, "geometry")
                continue
            w = _num(r["width"], default("exit_width"))
            self.f.at[fid, "width"] = w
            self.f.at[fid, "exit"] = True
            out.append((fid, r.geometry, w))
        if out or walk_lines.empty:
            return out
        near = walk_lines.iloc[walk_lines.sindex.query(geom, predicate="dwithin", distance=default("exit_snap"))]
        pts: list[Point] = []
        for line in near:
            for q in shapely.get_parts(line.intersection(outline)):
                if not q.is_empty:
                    pts.append(q if q.geom_type == "Point" else q.centroid)
            for end in (Point(line.coords[0]), Point(line.coords[-1])):
                if end.distance(geom) <= default("exit_snap") and not geom.contains(end):
                    pts.append(outline.interpolate(outline.project(end)))
        merged: list[Point] = []
        for p in pts:
            if all(p.distance(q) > 2 * default("exit_width") for q in merged):
                merged.append(p)
        if not merged:
            nearest = walk_lines.iloc[walk_lines.sindex.nearest(geom)[1][0]]
            _, p = shapely.ops.nearest_points(nearest, outline)
            self._warn(f"no footway comes within {default('exit_snap'):g} m of the building; one exit placed at the "
                       f"point of its outline nearest the path network ({p.distance(nearest):.0f} m away)", b, "geometry")
            merged = [p]
        w = max(default("exit_width"), occupants * default("egress_other_per_person") / len(merged))
        return [(f"{b}/exit{k}", p, w) for k, p in enumerate(merged)]


def level_range(building: object) -> range:
    """The levels of a building feature row: ``lowest_level`` … ``lowest_level + levels − 1``."""
    lo = building["lowest_level"]  # type: ignore[index]
    lo = 0 if _missing(lo) else int(lo)
    return range(lo, lo + int(building["levels"]))  # type: ignore[index]


def _is_level(v: object) -> bool:
    return not _missing(v)


def _missing(v: object) -> bool:
    return v is None or (isinstance(v, float) and math.isnan(v))


def _num(v: object, fallback: float) -> float:
    return fallback if _missing(v) else float(v)  # type: ignore[arg-type]

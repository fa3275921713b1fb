"""The outdoor network: footways, roads, shared lanes and crossings noded into
one graph, with gates, building exits and assembly areas joined to it.

Lines are split at every junction: where two lines on the same ``layer``
cross, where a line end lies within ``snap_tolerance`` of another line (any
layer: a bridge joins the street at its ends), at gates, and where an exit or
an assembly area joins them. Two ``noded`` lines (OpenStreetMap ways) join
only at the vertices they share (OSM's shared nodes), never where they merely
cross or come near, and on different layers only where one of them ends.
Junction nodes are named ``j{n}`` in a stable order, gates and assembly areas
by their ids.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

import geopandas as gpd
import networkx as nx
import numpy as np
import shapely
import shapely.ops
from shapely.geometry import LineString, Point

from twin.errors import Problem
from twin.graph import DRIVABLE, OUTDOOR_LINES, WALKABLE
from twin.settings import default

_WIDTH = {"footway": "footway_width", "road": "road_width", "shared": "shared_width", "crossing": "crossing_width"}


@dataclass
class _Line:
    geom: LineString
    fid: str
    kind: str
    width: float
    speed_limit: float | None
    oneway: bool
    layer: int = 0
    noded: bool = False
    steps: bool = False


class _Points:
    """Junction points with union-find: points joined by snapping become one node."""

    def __init__(self) -> None:
        self.xy: list[tuple[float, float]] = []
        self.parent: list[int] = []
        self._key: dict[tuple[float, float], int] = {}

    def add(self, p: Point) -> int:
        key = (round(p.x, 3), round(p.y, 3))
        if key not in self._key:
            self._key[key] = len(self.xy)
            self.xy.append((p.x, p.y))
            self.parent.append(len(self.parent))
        return self._key[key]

    def root(self, i: int) -> int:
        while self.parent[i] != i:
            self.parent[i] = self.parent[self.parent[i]]
            i = self.parent[i]
        return i

    def union(self, a: int, b: int) -> None:
        ra, rb = self.root(a), self.root(b)
        if ra != rb:
            self.parent[max(ra, rb)] = min(ra, rb)


def _lines(features: gpd.GeoDataFrame) -> list[_Line]:
    rows = features[features.kind.isin(OUTDOOR_LINES)]
    out: list[_Line] = []
    for fid, r in rows.iterrows():
        w = r["width"] if r["width"] == r["width"] and r["width"] is not None else default(_WIDTH[r["kind"]])
        sl = r["speed_limit"]
        if r["kind"] in DRIVABLE:
            sl = default("speed_limit") if sl is None or sl != sl else float(sl)
        else:
            sl = None
        merged = shapely.ops.linemerge(r.geometry) if r.geometry.geom_type == "MultiLineString" else r.geometry
        extra = {"layer": _layer(r.get("layer")), "noded": _flag(r.get("noded")), "steps": _flag(r.get("steps"))}
        for part in shapely.get_parts(merged):
            if part.length > 0:
                out.append(_Line(part, fid, r["kind"], float(w), sl, bool(r["oneway"]), **extra))
    return out


def _flag(v: object) -> bool:
    """A boolean line property (``noded``, ``steps``): only a JSON ``true`` counts."""
    return isinstance(v, (bool, np.bool_)) and bool(v)


def _layer(v: object) -> int:
    """A line's ``layer`` (OSM's vertical order: 1 a bridge, -1 a tunnel); 0 when absent."""
    try:
        return int(v) if v is not None and v == v else 0  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return 0


def _shared_vertices(lines: list[_Line]) -> dict[int, list[tuple[float, tuple[float, float], bool]]]:
    """Per noded line, its vertices that another noded line also has: (distance along, xy, is an end).

    A line drawn twice on the same vertices, in either direction (a road and
    the sidewalk copied from it), counts once, so the copy does not make every
    vertex a junction.
    """
    key = lambda xy: (round(xy[0], 3), round(xy[1], 3))  # noqa: E731  (the _Points key)
    owners: dict[tuple[float, float], set[tuple]] = defaultdict(set)
    shapes: dict[int, tuple] = {}
    for i, ln in enumerate(lines):
        if ln.noded:
            coords = list(ln.geom.coords)
            shapes[i] = tuple(key(c) for c in coords)
            same = min(shapes[i], shapes[i][::-1])
            last = len(coords) - 1
            ring = coords[:-1] if coords[0] == coords[-1] else coords
            for n, c in enumerate(ring):  # a way through one node twice counts twice
                owners[key(c)].add((same, n if same == shapes[i] else last - n))
    out: dict[int, list[tuple[float, tuple[float, float], bool]]] = {}
    for i, shape in shapes.items():
        coords = np.asarray(lines[i].geom.coords)
        along = np.concatenate([[0.0], np.cumsum(np.hypot(*np.diff(coords, axis=0).T))])
        last = len(coords) - 1
        out[i] = [(float(along[n]), (float(coords[n][0]), float(coords[n][1])), n in (0, last))
                  for n, k in enumerate(shape) if len(owners[k]) > 1]
    return out


def ground_paths(features: gpd.GeoDataFrame) -> gpd.GeoSeries:
    """The walkable lines on the ground (``layer`` 0): where a generated interior's exits may be."""
    walk = features[features.kind.isin(WALKABLE)]
    return walk.geometry[walk["layer"].map(_layer) == 0] if "layer" in walk else walk.geometry


def build_outdoor(features: gpd.GeoDataFrame, graph: nx.Graph, exits: list[str], src: str) -> list[Problem]:
    """Add the outdoor network to ``graph`` and join exits, gates and assembly areas to it.

    Parameters
    ----------
    features : GeoDataFrame
        Normalised features in metres.
    graph : networkx.Graph
        Campus graph that already holds the indoor nodes, including ``exits``.
    exits : list of str
        Node ids of building exits to join to the nearest walkable line within ``exit_snap``.
    src : str
        File name for messages.

    Returns
    -------
    list of Problem
        Warnings (unlinked exits, gates, assembly areas).
    """
    warnings: list[Problem] = []
    snap = default("snap_tolerance")
    lines = _lines(features)
    pts = _Points()
    splits: dict[int, list[tuple[float, int]]] = defaultdict(list)

    def on_line(i: int, p: Point) -> int:
        line = lines[i].geom
        d = line.project(p)
        k = pts.add(line.interpolate(d))
        splits[i].append((d, k))
        return k

    geoms = np.array([ln.geom for ln in lines], dtype=object)
    tree = shapely.STRtree(geoms)
    # line ends, and line ends that snap onto other lines
    for i, ln in enumerate(lines):
        for d in (0.0, ln.geom.length):
            splits[i].append((d, pts.add(ln.geom.interpolate(d))))
    ends = shapely.points(np.array([c for ln in lines for c in (ln.geom.coords[0], ln.geom.coords[-1])]).reshape(-1, 2)) if lines else np.array([])
    if len(ends):
        ei, li = tree.query(ends, predicate="dwithin", distance=snap)
        for e, j in zip(ei, li, strict=True):
            if e // 2 != j and not (lines[e // 2].noded and lines[j].noded):
                pts.union(pts.add(ends[e]), on_line(j, ends[e]))
        # lines on the same layer that cross (noded lines only where they share a vertex, below)
        a, b = tree.query(geoms, predicate="intersects")
        for i, j in zip(a, b, strict=True):
            if i < j and lines[i].layer == lines[j].layer and not (lines[i].noded and lines[j].noded):
                for p in shapely.get_parts(lines[i].geom.intersection(lines[j].geom)):
                    for q in [p] if p.geom_type == "Point" else [Point(p.coords[0]), Point(p.coords[-1])]:
                        on_line(i, q)
                        on_line(j, q)
        # noded lines: their shared vertices; on different layers only where one of them ends
        at: dict[int, list[tuple[int, float, bool]]] = defaultdict(list)
        for i, verts in _shared_vertices(lines).items():
            for d, xy, end in verts:
                at[pts.add(Point(xy))].append((i, d, end))
        for k, owners in at.items():
            anchored = any(end for _, _, end in owners)
            for i, d, end in owners:
                same = sum(1 for j, _, _ in owners if lines[j].layer == lines[i].layer)
                if not end and (anchored or same > 1):  # else it passes over (or under) the others here
                    splits[i].append((d, k))
    # gates
    gate_pt: dict[int, str] = {}
    gates = features[features.kind == "gate"]
    for gid, r in gates.iterrows():
        k = pts.add(r.geometry)
        gate_pt[k] = gid
        for j in tree.query(r.geometry, predicate="dwithin", distance=snap) if lines else []:
            if not lines[j].noded or lines[j].geom.distance(r.geometry) < 1e-3:  # a noded line: only the gate on it
                pts.union(k, on_line(j, r.geometry))
    # exits onto the nearest walkable line on the ground (layer 0), or the bridge or tunnel they lie on
    walk = [i for i, ln in enumerate(lines) if ln.kind in WALKABLE and ln.layer == 0]
    exit_link: dict[str, int] = {}
    if exits and lines:
        xy = shapely.points([(graph.nodes[e]["x"], graph.nodes[e]["y"]) for e in exits])
        for e, j in zip(*tree.query(xy, predicate="dwithin", distance=1e-3), strict=True):
            if lines[j].kind in WALKABLE and lines[j].layer != 0 and exits[e] not in exit_link:
                exit_link[exits[e]] = on_line(j, xy[e])
    if walk and exits:
        wtree = shapely.STRtree(geoms[walk])
        (ei, wi), dist = wtree.query_nearest(xy, max_distance=default("exit_link_max"), return_distance=True, all_matches=False)
        for e, w, d in zip(ei, wi, dist, strict=True):
            if exits[e] in exit_link:
                continue
            exit_link[exits[e]] = on_line(walk[w], xy[e])
            if d > default("exit_snap"):
                warnings.append(Problem(src, f"no footway within {default('exit_snap'):g} m of this exit; joined to the "
                                        f"nearest one, {d:.0f} m away", feature=exits[e], field="geometry"))
    for e in exits:
        if e not in exit_link:
            warnings.append(Problem(src, f"exit is not joined to the path network: no footway within {default('exit_link_max'):g} m",
                                    feature=e, field="geometry"))
    # assembly boundaries split the lines that cross them
    assembly = features[features.kind == "assembly"]
    for _, r in assembly.iterrows():
        for j in tree.query(r.geometry.boundary, predicate="intersects") if lines else []:
            for p in shapely.get_parts(lines[j].geom.intersection(r.geometry.boundary)):
                if p.geom_type == "Point":
                    on_line(j, p)

    names = _name_nodes(pts, gate_pt)
    for k, name in names.items():
        x, y = pts.xy[k]
        kind = "gate" if name in gate_pt.values() else "junction"
        attrs = {"kind": kind, "x": x, "y": y, "level": None}
        if kind == "gate":
            attrs |= _gate_attrs(gates.loc[name])
        graph.add_node(name, **attrs)
    counter = [len(names)]
    for i, ln in enumerate(lines):
        _add_line_edges(graph, ln, sorted(splits[i], key=lambda t: t[0]), pts, names, counter)
    for e, k in exit_link.items():
        n = names[pts.root(k)]
        ex = graph.nodes[e]
        graph.add_edge(e, n, length=float(np.hypot(ex["x"] - graph.nodes[n]["x"], ex["y"] - graph.nodes[n]["y"])),
                       width=ex["width"], kind="link", level=None)
    for k, gid in gate_pt.items():
        if gid in graph and graph.degree(gid):
            continue
        p = gates.geometry[gid]
        graph.add_node(gid, kind="gate", x=p.x, y=p.y, level=None, **_gate_attrs(gates.loc[gid]))
        shared = names[pts.root(k)]
        if shared != gid and graph.degree(shared):  # snapped into one node with another gate
            n = graph.nodes[shared]
            graph.add_edge(gid, shared, length=float(np.hypot(p.x - n["x"], p.y - n["y"])), width=graph.nodes[gid]["width"],
                           kind="link", level=None)
        else:
            warnings.append(Problem(src, f"gate is not on any footway or road (none within {snap:g} m)", feature=gid, field="geometry"))
    members = [(names[pts.root(k)], x, y) for k, (x, y) in enumerate(pts.xy)]
    warnings += _join_assembly(graph, assembly, members, src)
    return warnings


def _gate_attrs(r: object) -> dict[str, object]:
    """Node attributes of a gate feature row: mode, pedestrian width (m), vehicle lanes."""
    mode = r["mode"]  # type: ignore[index]
    return {"feature": r["id"], "mode": mode, "width": _or(r["width"], default("gate_width")),  # type: ignore[index]
            "lanes": _or(r["lanes"], 0 if mode == "pedestrian" else 1)}  # type: ignore[index]


def _or(v: object, fallback: float) -> float:
    return fallback if v is None or v != v else v  # type: ignore[return-value]


def _name_nodes(pts: _Points, gate_pt: dict[int, str]) -> dict[int, str]:
    """Name each cluster of points: the gate's id where it holds a gate, else ``j{n}``."""
    names: dict[int, str] = {}
    for k in range(len(pts.xy)):
        r = pts.root(k)
        if k in gate_pt:
            names[r] = gate_pt[k]
    n = 0
    for k in range(len(pts.xy)):
        r = pts.root(k)
        if r not in names:
            names[r] = f"j{n}"
            n += 1
    return names


def _add_line_edges(g: nx.Graph, ln: _Line, splits: list[tuple[float, int]], pts: _Points,
                    names: dict[int, str], counter: list[int]) -> None:
    """Add the pieces of one line between its consecutive split points."""
    attrs = {"width": ln.width, "kind": ln.kind, "level": None, "feature": ln.fid}
    if ln.speed_limit is not None:
        attrs["speed_limit"] = ln.speed_limit
    if ln.oneway:
        attrs["oneway"] = True
    if ln.steps:
        attrs["steps"] = True
    prev_d, prev = splits[0][0], names[pts.root(splits[0][1])]
    for d, k in splits[1:]:
        node = names[pts.root(k)]
        if d - prev_d < 1e-6 or (node == prev and d - prev_d < default("snap_tolerance")):
            continue
        seg = shapely.ops.substring(ln.geom, prev_d, d)
        if node == prev or g.has_edge(prev, node):
            mid = seg.interpolate(0.5, normalized=True)
            m = f"j{counter[0]}"
            counter[0] += 1
            g.add_node(m, kind="junction", x=mid.x, y=mid.y, level=None)
            half = seg.length / 2
            for a, b, piece in ((prev, m, shapely.ops.substring(seg, 0, half)), (m, node, shapely.ops.substring(seg, half, seg.length))):
                g.add_edge(a, b, length=piece.length, geometry=piece, **attrs, **({"forward": (a, b)} if ln.oneway else {}))
        else:
            g.add_edge(prev, node, length=seg.length, geometry=seg, **attrs, **({"forward": (prev, node)} if ln.oneway else {}))
        prev_d, prev = d, node


def _join_assembly(g: nx.Graph, assembly: gpd.GeoDataFrame, members: list[tuple[str, float, float]], src: str) -> list[Problem]:
    """Join every network node inside (or within snap of) an assembly area to the area's node.

    ``members`` lists every point snapped into each node (node, x, y): a node
    joins when any of its points is within reach, since snapping can gather
    points a few metres apart into one node.
    """
    warnings: list[Problem] = []
    snap = default("snap_tolerance")
    net = [n for n, _, _ in members if n in g and g.degree(n)]
    xy = shapely.points([(x, y) for n, x, y in members if n in g and g.degree(n)]) if net else np.array([])
    tree = shapely.STRtree(xy)
    per_person = default("assembly_area_per_person")
    for aid, r in assembly.iterrows():
        a = r.geometry.centroid if r.geometry.contains(r.geometry.centroid) else r.geometry.point_on_surface()
        cap = r["capacity"] if r["capacity"] == r["capacity"] and r["capacity"] is not None else int(r.geometry.area / per_person)
        g.add_node(aid, kind="assembly", feature=aid, x=a.x, y=a.y, level=None, capacity=int(cap), area=r.geometry.area)
        inside = sorted({net[i] for i in tree.query(r.geometry, predicate="dwithin", distance=snap)}) if len(xy) else []
        for n in inside:
            g.add_edge(n, aid, length=0.0, width=r.geometry.length, kind="link", level=None)
        if not len(inside):
            warnings.append(Problem(src, f"no footway or road reaches the assembly area (none within {snap:g} m)", feature=aid, field="geometry"))
    return warnings

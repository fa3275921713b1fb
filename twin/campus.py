"""The one campus model: features in metres and the campus graph built from them."""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import geopandas as gpd
import networkx as nx
import numpy as np
import shapely

from twin.errors import CampusError, Problem
from twin.indoor import IndoorBuilder
from twin.outdoor import build_outdoor, ground_paths
from twin.read import read_features, resolve_campus_path
from twin.graph import DRIVABLE, SPACES, WALKABLE

OCCUPIED = ("room", "corridor", "floor")
"""Node kinds that hold design occupants."""
PEDESTRIAN_EDGES = ("room", "corridor", "stair", "floor", "footway", "shared", "crossing", "link")
"""Edge kinds people walk on (everything but ``road``)."""


@dataclass(eq=False)
class Campus:
    """A loaded campus: normalised features and the campus graph.

    Attributes
    ----------
    features : GeoDataFrame
        One row per feature, indexed by id, in a metric CRS (metres). Loading
        fills in defaults: doors' ``width`` and ``exit``, rooms' and
        buildings' design ``occupants``, and ``node`` (the graph node a
        camera, detector or post is attached to).
    graph : networkx.Graph
        Campus graph: indoor nodes and edges of every building, the outdoor
        network, gates and assembly areas (see ``docs/campus-format.md``).
    source : Path
        The campus file.
    digest : str
        SHA-256 of the campus file's bytes; recordings name the campus by it.
    warnings : list of Problem
        Suspicious but legal things found at load.
    occupants_estimated : list of str
        Buildings without indoor features whose file gives no ``occupants``:
        loading estimated their design occupants from floor area × storeys ÷
        the use's load factor (``building_load_factor.*``), an estimate the
        drill report flags.
    """

    features: gpd.GeoDataFrame
    graph: nx.Graph
    source: Path
    digest: str
    warnings: list[Problem] = field(default_factory=list)
    occupants_estimated: list[str] = field(default_factory=list)

    @property
    def crs(self) -> Any:
        """The metric CRS of ``features`` and of every node's ``x``, ``y``."""
        return self.features.crs

    def of_kind(self, *kinds: str) -> gpd.GeoDataFrame:
        """Features of the given kinds."""
        return self.features[self.features.kind.isin(kinds)]

    def indoor(self, building: str) -> nx.Graph:
        """The indoor graph of one building: a read-only view of the campus graph."""
        if building not in self.features.index or self.features.at[building, "kind"] != "building":
            msg = f"'{building}' is not a building of this campus"
            raise KeyError(msg)
        return self.graph.subgraph(n for n, d in self.graph.nodes(data=True) if d.get("building") == building)

    def walk_graph(self) -> nx.Graph:
        """The graph pedestrians use: every edge but roads (a read-only view)."""
        return nx.subgraph_view(self.graph, filter_edge=lambda u, v: self.graph.edges[u, v]["kind"] in PEDESTRIAN_EDGES)

    @cached_property
    def design_occupants(self) -> int:
        """Design occupants of the whole campus (persons)."""
        return int(sum(d.get("occupants", 0) for _, d in self.graph.nodes(data=True) if d["kind"] in OCCUPIED))

    def unreachable(self) -> list[str]:
        """Ids of occupied spaces with no walking path to any assembly area."""
        walk = self.walk_graph()
        safe: set[str] = set()
        for comp in nx.connected_components(walk):
            if any(self.graph.nodes[n]["kind"] == "assembly" for n in comp):
                safe |= comp
        return sorted(n for n, d in self.graph.nodes(data=True) if d["kind"] in OCCUPIED and n not in safe)

    def summary(self) -> dict[str, Any]:
        """Counts that ``twin info`` prints (persons, features, graph size)."""
        kinds = self.features.kind.value_counts()
        levels = sorted({int(d["level"]) for _, d in self.graph.nodes(data=True) if d.get("level") is not None})
        b = self.of_kind("building")
        return {
            "source": str(self.source),
            "digest": self.digest,
            "crs": self.crs.to_string(),
            "buildings": int(kinds.get("building", 0)),
            "buildings_modelled_inside": int(b.index.isin(self.of_kind(*SPACES).building).sum()),
            "buildings_levels_guessed": levels_guessed(self.features),
            "rooms": int(kinds.get("room", 0)),
            "corridors": int(kinds.get("corridor", 0)),
            "stairs": int(kinds.get("stair", 0)),
            "doors": int(kinds.get("door", 0)),
            "exits": int(sum(1 for _, d in self.graph.nodes(data=True) if d["kind"] == "door" and d.get("exit"))),
            "levels": levels,
            "gates": int(kinds.get("gate", 0)),
            "assembly_areas": int(kinds.get("assembly", 0)),
            "assembly_capacity": int(sum(d["capacity"] for _, d in self.graph.nodes(data=True) if d["kind"] == "assembly")),
            "cameras": int(kinds.get("camera", 0)),
            "detectors": int(kinds.get("detector", 0)),
            "posts": int(kinds.get("post", 0)),
            "key_areas": int(kinds.get("key_area", 0)),
            "path_length_m": round(sum(
                d["length"] for _, _, d in self.graph.edges(data=True) if d["kind"] in WALKABLE
            ), 1),
            "road_length_m": round(sum(
                d["length"] for _, _, d in self.graph.edges(data=True) if d["kind"] in DRIVABLE
            ), 1),
            "design_occupants": self.design_occupants,
            "graph": {"nodes": self.graph.number_of_nodes(), "edges": self.graph.number_of_edges()},
            "unreachable": self.unreachable(),
            "warnings": [w.as_dict() for w in self.warnings],
        }


def _attach_sensors(campus_features: gpd.GeoDataFrame, g: nx.Graph) -> None:
    """Record in ``node`` the graph node each camera, detector and post watches or stands at.

    Indoor devices (with ``building`` and ``level``) attach to the space
    holding them on that level, or the nearest one; others to the nearest
    outdoor node.
    """
    f = campus_features
    dev = f[f.kind.isin(("camera", "detector", "post"))]
    if dev.empty:
        return
    by_level: dict[tuple[str, int], list[tuple[str, dict[str, Any]]]] = defaultdict(list)
    for n, d in g.nodes(data=True):
        if d["kind"] in ("room", "corridor", "stair", "floor"):
            by_level[(d["building"], d["level"])].append((n, d))
    outdoor = [n for n, d in g.nodes(data=True) if d["level"] is None]
    out_tree = shapely.STRtree(shapely.points([(g.nodes[n]["x"], g.nodes[n]["y"]) for n in outdoor])) if outdoor else None
    node = {}
    geometry = dict(zip(f.index, f.geometry.values, strict=True))  # f.geometry[...] built a GeoSeries per lookup
    n_dev = len(dev)
    buildings = dev["building"].tolist() if "building" in dev.columns else [None] * n_dev  # lists: no Series per device
    levels = dev["level"].tolist() if "level" in dev.columns else [None] * n_dev
    for fid, b, lv, p in zip(dev.index.tolist(), buildings, levels, dev.geometry.values, strict=True):
        here = by_level.get((b, int(lv)), []) if isinstance(b, str) and lv == lv and lv is not None else []
        if here:
            inside = [n for n, d in here if d["kind"] == "floor" or geometry[d["feature"]].covers(p)]
            node[fid] = inside[0] if inside else min(here, key=lambda nd: np.hypot(nd[1]["x"] - p.x, nd[1]["y"] - p.y))[0]
        elif out_tree is not None:
            node[fid] = outdoor[int(out_tree.nearest(p))]
    f["node"] = None
    for fid, n in node.items():
        f.at[fid, "node"] = n


def levels_guessed(features: gpd.GeoDataFrame) -> list[str]:
    """Ids of buildings whose number of storeys is a guess (``levels_guessed = true``, set by importers)."""
    b = features[features.kind == "building"]
    if "levels_guessed" not in b:
        return []
    return sorted(fid for fid, v in b["levels_guessed"].items() if v is True or v is np.True_)


def _guessed_levels(features: gpd.GeoDataFrame, src: str) -> list[Problem]:
    """One warning listing the buildings whose storeys are a guess, so the planner knows their occupants are too."""
    ids = levels_guessed(features)
    if not ids:
        return []
    total = int((features.kind == "building").sum())
    shown = ", ".join(ids[:5]) + (f" and {len(ids) - 5} more" if len(ids) > 5 else "")
    msg = (f"{len(ids)} of {total} buildings have a guessed number of storeys (levels_guessed: their source gives "
           f"none), so their design occupants are a guess too: {shown}; set 'levels' (and drop 'levels_guessed') "
           "where you know them")
    return [Problem(src, msg, field="levels")]


def load_campus(path: str | Path, *, doc: dict[str, Any] | None = None) -> Campus:
    """Load, validate and graph a campus.

    Parameters
    ----------
    path : str or Path
        A campus file, or a folder holding ``campus.geojson``.
    doc : dict, optional
        That file's GeoJSON as changed in memory (a traffic layout): loaded
        instead of the file; the digest is then the changed document's.

    Returns
    -------
    Campus

    Raises
    ------
    CampusError
        Listing every problem, each naming the file, feature and field.
    """
    src_path = resolve_campus_path(path)
    src = str(src_path)
    features, warnings = read_features(src_path, doc=doc)
    for col in ("exit", "occupants", "node"):
        features[col] = features[col].astype(object) if col in features else None
    g = nx.Graph()
    ib = IndoorBuilder(features, g, src)
    ib.check_references()
    if ib.errors:
        raise CampusError(ib.errors)
    ib.room_occupants()
    spaces = features[features.kind.isin(SPACES)]
    modelled = set(spaces.building)
    ib.build_modelled(modelled)
    generated = [b for b in ib.buildings.index if b not in modelled]
    ib.build_generated(generated, ground_paths(features))
    if ib.errors:
        raise CampusError(ib.errors)
    warnings += ib.warnings
    warnings += build_outdoor(features, g, ib.exits, src)
    warnings += _guessed_levels(features, src)
    _attach_sensors(features, g)
    raw = src_path.read_bytes() if doc is None else json.dumps(doc, sort_keys=True).encode()
    digest = hashlib.sha256(raw).hexdigest()
    return Campus(features=features, graph=g, source=src_path, digest=digest, warnings=warnings,
                  occupants_estimated=sorted(ib.occupants_estimated))

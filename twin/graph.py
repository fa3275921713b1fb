"""What every engine and view derives from the campus graph: kind sets, path contraction, fire neighbourhoods, arrays.

The campus graph (``Campus.graph``) has one node per space, door, gate,
junction and assembly area, and one edge per walkable or drivable link. Each
node and edge carries a ``kind``; the sets below are the one definition of
which kinds mean what, so the evacuation, traffic and coverage engines, the
live state and the maps agree.
"""

from __future__ import annotations

from dataclasses import dataclass

import networkx as nx
import numpy as np

SPACES = ("room", "corridor", "stair")
"""Feature kinds that are indoor spaces people occupy (each becomes a graph node)."""
SPACE_NODES = ("room", "corridor", "stair", "floor")
"""Node kinds of indoor spaces (``floor``: the one space of a generated storey)."""
WALKABLE = ("footway", "shared", "crossing")
"""Outdoor line kinds people walk along."""
DRIVABLE = ("road", "shared")
"""Outdoor line kinds vehicles drive along (a ``crossing`` is the pedestrians' line over a road, not a lane)."""
OUTDOOR_LINES = ("footway", "road", "shared", "crossing")
"""Every outdoor line kind."""
LINK = "link"
"""Edge kind that joins a building exit or a gate to the nearest outdoor line."""
PATH_EDGES = ("footway", "shared", "crossing", "road")
"""Outdoor edge kinds that are paths (contracted through plain junctions; each is a flow-limited space when walked)."""
SERVER_NODES = ("door", "opening", "gate")
"""Node kinds people pass one at a time at a flow capacity (doors, openings, gates)."""


def contract_paths(g: nx.Graph) -> nx.Graph:
    """Merge chains of outdoor path edges through junctions that join just two of them.

    A junction where only two path edges meet is no decision point; the
    merged edge keeps the summed length (m), the narrowest width (m) and its
    kind, and in ``via`` the original node sequence for drawing. Changes
    ``g`` in place and returns it.
    """
    for n in list(g.nodes):
        d = g.nodes[n]
        if d["kind"] != "junction" or g.degree(n) != 2:
            continue
        (a, ea), (b, eb) = ((m, g.edges[n, m]) for m in g[n])
        if a == b or g.has_edge(a, b) or ea["kind"] not in PATH_EDGES or eb["kind"] not in PATH_EDGES:
            continue
        narrow = ea if ea["width"] <= eb["width"] else eb
        via_a = ea.get("via") or (a, n)
        via_b = eb.get("via") or (n, b)
        seq = (list(via_a) if via_a[-1] == n else list(reversed(via_a))) + \
              (list(via_b)[1:] if via_b[0] == n else list(reversed(via_b))[1:])
        g.add_edge(a, b, length=ea["length"] + eb["length"], width=narrow["width"], kind=narrow["kind"], level=None,
                   via=tuple(seq), feature=narrow.get("feature"))
        g.remove_node(n)
    return g


def fire_neighbourhood(g: nx.Graph, node: str) -> list[str]:
    """The spaces next to ``node`` through its doors: what a fire there closes after the spread delay.

    Each neighbour of the fire's space is followed through when it is a door
    or a doorless opening (the space behind it counts); a space joined
    directly counts itself. Only indoor spaces (:data:`SPACE_NODES`) are returned, sorted.
    """
    near: set[str] = set()
    if node not in g:
        return []
    for m in g.neighbors(node):
        for s in g.neighbors(m) if g.nodes[m].get("kind") in ("door", "opening") else [m]:
            if s != node and g.nodes[s].get("kind") in SPACE_NODES:
                near.add(s)
    return sorted(near)


@dataclass(frozen=True)
class NodeArrays:
    """The nodes of a graph as parallel arrays, in ``g.nodes`` order: what every engine indexes by integer.

    Attributes
    ----------
    names : list of str
        Node ids.
    index : dict
        Node id to its position.
    xy : ndarray, shape (n, 2)
        Coordinates (m, campus CRS).
    kind, level, building : list
        Node kind, level (None outdoors) and building (None outdoors).
    outdoor : ndarray of bool
        Nodes with no level.
    """

    names: list[str]
    index: dict[str, int]
    xy: np.ndarray
    kind: list[str]
    level: list[int | None]
    building: list[str | None]
    outdoor: np.ndarray


def node_arrays(g: nx.Graph) -> NodeArrays:
    """The nodes of ``g`` as :class:`NodeArrays`."""
    names = list(g.nodes)
    nd = g.nodes
    level = [nd[n].get("level") for n in names]
    return NodeArrays(
        names=names,
        index={n: i for i, n in enumerate(names)},
        xy=np.array([(nd[n]["x"], nd[n]["y"]) for n in names], dtype=float).reshape(-1, 2),
        kind=[nd[n]["kind"] for n in names],
        level=level,
        building=[nd[n].get("building") for n in names],
        outdoor=np.array([lv is None for lv in level], dtype=bool),
    )

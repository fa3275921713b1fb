"""Rooms, corridors, stairs and doors from ``indoor=*`` mapping, checked with the campus loader."""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from shapely.geometry import Point
from shapely.geometry.base import BaseGeometry

from maps.osm.tags import INDOOR_KINDS, ROOM_USE, YES, door_width, entrance_value, feature_props, is_exit, level_list
from maps.osm.write import write_geojson

Feat = tuple[dict[str, Any], BaseGeometry]
"""A feature: its properties and its geometry (WGS 84)."""


@dataclass
class Building:
    """A kept building while its features are put together."""

    fid: str
    geom: BaseGeometry
    tags: dict[str, str]
    ring_nodes: set[int]
    props: dict[str, Any]
    spaces: list[tuple[str, BaseGeometry, dict[str, str], set[int]]] = field(default_factory=list)
    indoor: list[Feat] = field(default_factory=list)
    doors: dict[int, list[Feat]] = field(default_factory=dict)


def indoor_model(b: Building, points: dict[int, tuple[Point, dict[str, str]]], notes: list[str]) -> bool:
    """Put together the rooms, corridors, stairs and doors of ``b`` from its ``indoor=*`` areas.

    Fills ``b.indoor`` and ``b.doors`` and returns ``True``, or leaves them
    empty, notes why and returns ``False`` (the building then gets a
    generated interior).
    """
    spaces: list[tuple[dict[str, Any], BaseGeometry, set[int]]] = []
    for fid, geom, tags, ring_nodes in b.spaces:
        level = level_list(tags.get("level"))
        if level is None:
            has = f"level={tags['level']!r}, not a level number" if tags.get("level") else "no level tag"
            notes.append(f"{fid}: indoor={tags['indoor']} has {has} (use level=0, level=-1 or level=0;1); skipped")
            continue
        repeat = level_list(tags.get("repeat_on")) or []
        stair = tags.get("room") in ("stairs", "staircase") or tags.get("stairs") in YES
        if stair and len(set(level) | set(repeat)) > 1:
            props = feature_props(fid, "stair", tags, building=b.fid, levels=sorted(set(level) | set(repeat)),
                           osm_room=tags.get("room"))
            spaces.append((props, geom, ring_nodes))
            continue
        kind = "corridor" if stair else INDOOR_KINDS[tags["indoor"]]
        if len(level) > 1:
            notes.append(f"{fid}: indoor={tags['indoor']} on levels {tags['level']}: taken as level {level[0]}, the lowest")
        at = sorted({level[0], *repeat})
        for lv in at:
            props = feature_props(
                fid if len(at) == 1 else f"{fid}-L{lv}", kind, tags,
                building=b.fid, level=lv,
                use=ROOM_USE.get(tags.get("room", ""), "other") if kind == "room" else None,
                osm_room=tags.get("room"),
            )  # fmt: skip
            spaces.append((props, geom, ring_nodes))
    if not spaces:
        return False
    flat = [p for p, _, _ in spaces if p["kind"] != "stair"]
    have = {p["level"] for p in flat}
    every = [*have, *(lv for p, _, _ in spaces if p["kind"] == "stair" for lv in p["levels"])]
    low, top = min(0, *every), max(every)
    top = max(top, (b.props.get("levels") or 1) - 1)  # building:levels counts the storeys above ground
    missing = [lv for lv in range(low, top + 1) if lv not in have]
    if missing:
        notes.append(f"{b.fid}: its indoor mapping has no room or corridor on level(s) "
                     f"{', '.join(map(str, missing))} of levels {low} to {top}; not used (a generated interior instead)")
        return False
    b.props["levels"] = top - low + 1
    if low < 0:
        b.props["lowest_level"] = low
    b.indoor = [(p, g) for p, g, _ in spaces]
    for nid, (point, tags) in points.items():
        if not entrance_value(tags):
            continue
        holders = [p for p, _, ring in spaces if nid in ring]
        if not holders:
            continue
        by_level: dict[int, int] = {}
        for p in holders:
            for lv in p["levels"] if p["kind"] == "stair" else [p["level"]]:
                by_level[lv] = by_level.get(lv, 0) + 1
        own = set(level_list(tags.get("level")) or []) | set(level_list(tags.get("repeat_on")) or [])
        if own:  # the door says on which levels it is
            at = sorted(lv for lv in by_level if lv in own)
        elif nid in b.ring_nodes:  # on the building's outline: an entrance, on the ground floor if it can be
            at = [0 if 0 in by_level else min(by_level)]
        else:  # between two spaces, on every level where it joins two
            at = sorted(lv for lv, n in by_level.items() if n > 1)
        fid = f"osm-n{nid}"
        b.doors[nid] = [
            (feature_props(fid if len(at) == 1 else f"{fid}-L{lv}", "door", tags, building=b.fid, level=lv,
                    width=door_width(tags), exit=None if is_exit(tags) else False, osm_entrance=entrance_value(tags)),
             point)
            for lv in at
        ]
    return True


def check_indoor(buildings: list[Building], source: Path, notes: list[str]) -> None:
    """Load the modelled buildings with the campus loader; drop the indoor mapping of any it refuses.

    Such a building keeps a generated interior; a note names it and gives the
    loader's first reason (a room with no way out, a door between no two
    rooms, a level the building does not have).
    """
    if not buildings:
        return
    from twin.campus import load_campus
    from twin.errors import CampusError

    left = list(buildings)
    with tempfile.TemporaryDirectory(prefix="twin-osm-indoor-") as tmp:
        path = Path(tmp) / "campus.geojson"
        while left:
            feats = [(b.props, b.geom) for b in left] + [f for b in left for f in b.indoor]
            feats += [f for b in left for fs in b.doors.values() for f in fs]
            write_geojson(feats, path)
            try:
                load_campus(path)
                return
            except CampusError as e:
                owner = {p["id"]: p.get("building", p["id"]) for p, _ in feats}
                bad: dict[str, list[str]] = {}
                for problem in e.problems:
                    bid = owner.get(problem.feature or "", None)
                    bad.setdefault(bid or left[0].fid, []).append(problem.message if problem.feature is None else
                                                                  f"{problem.feature}: {problem.message}")
                for b in [b for b in left if b.fid in bad]:
                    notes.append(f"{b.fid}: its indoor mapping (from {source.name}) is not used, a generated interior "
                                 f"instead: {bad[b.fid][0]}" + (f" (and {len(bad[b.fid]) - 1} more)" if len(bad[b.fid]) > 1 else ""))
                    b.indoor, b.doors = [], {}
                left = [b for b in left if b.fid not in bad]

"""Candidates to campus features: buildings and their storeys, indoor models, lines, doors, gates, assembly areas."""

from __future__ import annotations

from pathlib import Path

import shapely
from shapely.geometry import box
from shapely.geometry.base import BaseGeometry

from maps.osm.indoor import Building, Feat, check_indoor, indoor_model
from maps.osm.read import Found
from maps.osm.tags import (GATE_BARRIERS, GEOD, MIN_ASSEMBLY_AREA, NOT_EXIT_ENTRANCES, YES, Bbox, address_of, building_levels,
                           building_use, door_width, entrance_value, feature_props, gate_mode, is_exit, layer_of, metres,
                           number, osm_order, speed)


def _within(tree: shapely.STRtree, geoms: list[BaseGeometry], g: BaseGeometry) -> int | None:
    """Index of the smallest of ``geoms`` holding ``g``'s representative point, or ``None``."""
    hits = tree.query(g.representative_point(), predicate="within")
    return min(hits, key=lambda i: geoms[i].area) if len(hits) else None


def _storeys(tags: dict[str, str], geom: BaseGeometry, parts: list[tuple[BaseGeometry, dict[str, str]]],
             ) -> tuple[int | None, bool]:
    """A building's storeys and whether they are a guess.

    With ``building:part`` areas that give ``building:levels``: the storeys
    that hold the building's gross floor area on its footprint. The building's
    own ``building:levels`` count on its whole footprint (without them, 1
    storey where no part stands); each part adds its area times the storeys it
    has above those (``building:levels`` less the higher of its
    ``building:min_level`` and the building's own). A tower on a low hall so
    raises the hall by the tower's share of the floor area, not to the tower's
    height. Without parts: ``building:levels``. With neither: a guess from the
    tallest ``height`` (÷ ``storey_height``), else none (the loader's 1 storey).
    """
    from twin.settings import default

    own = building_levels(tags)
    tagged = [(g, t) for g, t in parts if building_levels(t) is not None]
    if tagged:
        below = own or 0
        floor = geom.area * below if own else geom.difference(shapely.union_all([g for g, _ in tagged])).area
        for g, t in tagged:
            floor += g.intersection(geom).area * max(0.0, building_levels(t) - max(number(t.get("building:min_level")) or 0, below))
        return max(1, round(floor / geom.area)), False
    if own is not None:
        return own, False
    heights = [v for v in (metres(t.get("height")) for t in (tags, *(t for _, t in parts))) if v]
    return (max(1, round(max(heights) / default("storey_height"))) if heights else None), True


def build_features(found: Found, bbox: Bbox | None, source: Path) -> tuple[list[Feat], int, int]:
    """Turn the candidates into campus features, limited to ``bbox``.

    Returns the features, the number of buildings with guessed storeys and
    the number of entrances that are not exits; notes go to ``found.notes``.
    """
    area = box(*bbox) if bbox else None
    keep = (lambda g: True) if area is None else area.intersects
    campuses = shapely.union_all(found.campuses) if found.campuses else None

    kept = [b for b in sorted(found.buildings, key=lambda b: osm_order(b[0])) if keep(b[1])]
    geoms = [geom for _, geom, _, _ in kept]
    tree = shapely.STRtree(geoms)
    parts: dict[int, list[tuple[BaseGeometry, dict[str, str]]]] = {}
    for _, geom, tags in found.parts:
        i = _within(tree, geoms, geom)
        if i is not None:
            parts.setdefault(i, []).append((geom, tags))
    buildings: list[Building] = []
    for i, (fid, geom, tags, ring_nodes) in enumerate(kept):
        in_campus = campuses is not None and campuses.intersects(geom.representative_point())
        levels, guessed = _storeys(tags, geom, parts.get(i, []))
        props = feature_props(
            fid, "building", tags,
            levels=levels,
            levels_guessed=True if guessed else None,
            use=building_use(tags, in_campus=in_campus),
            osm_building=tags["building"],
            osm_amenity=tags.get("amenity"),
            height=metres(tags.get("height")),
            address=address_of(tags),
            operator=tags.get("operator"),
        )  # fmt: skip
        buildings.append(Building(fid, geom, tags, ring_nodes, props))
    for fid, geom, tags, ring_nodes in sorted(found.spaces, key=lambda s: osm_order(s[0])):
        i = _within(tree, geoms, geom)
        if i is not None:
            buildings[i].spaces.append((fid, geom, tags, ring_nodes))
        elif keep(geom):
            found.notes.append(f"{fid}: indoor={tags['indoor']} lies in no imported building; skipped")
    indoor = [b for b in buildings if b.spaces and indoor_model(b, found.points, found.notes)]
    check_indoor(indoor, source, found.notes)

    out: list[Feat] = [(b.props, b.geom) for b in buildings]
    out += sorted((f for b in buildings for f in b.indoor), key=lambda f: osm_order(f[0]["id"]))

    kinds_at: dict[int, set[str]] = {}
    for fid, kind, geom, tags, refs in sorted(found.lines, key=lambda w: osm_order(w[0])):
        if not keep(geom):
            continue
        vehicles = kind in ("road", "shared")
        oneway = tags.get("oneway", "")
        if vehicles and oneway in ("-1", "reverse"):
            geom = geom.reverse()
        is_oneway = oneway in YES or oneway in ("-1", "reverse") or tags.get("junction") == "roundabout"
        props = feature_props(
            fid, kind, tags,
            width=metres(tags.get("width")),
            speed_limit=speed(tags.get("maxspeed")) if vehicles else None,
            oneway=True if vehicles and is_oneway and oneway != "no" else None,
            steps=True if tags["highway"] == "steps" and kind == "footway" else None,
            noded=True,
            layer=layer_of(tags) or None,
            osm_highway=tags["highway"],
            osm_bridge=tags.get("bridge") if tags.get("bridge", "no") != "no" else None,
            osm_tunnel=tags.get("tunnel") if tags.get("tunnel", "no") != "no" else None,
        )  # fmt: skip
        out.append((props, geom))
        for ref in refs:
            kinds_at.setdefault(ref, set()).add(kind)

    door_of: dict[int, Building] = {}
    modelled: dict[int, Building] = {}
    for b in buildings:
        for ref in b.ring_nodes:
            door_of.setdefault(ref, b)
        for ref in b.doors:
            modelled.setdefault(ref, b)
    not_exits = 0
    for nid, (point, tags) in sorted(found.points.items()):
        fid = f"osm-n{nid}"
        b = door_of.get(nid)
        if nid in modelled:
            m = modelled[nid]
            out += m.doors[nid]
            if not m.doors[nid]:
                found.notes.append(f"{fid}: door on one room or corridor of {m.fid} only, on no other and not on the "
                                   "outline; left out")
            elif b is m and not is_exit(tags):
                not_exits += 1
        elif b is not None and b.indoor and entrance_value(tags):
            found.notes.append(f"{fid}: entrance of {b.fid} is on no mapped room or corridor of it; left out")
        elif b is not None and entrance_value(tags):
            if not is_exit(tags):
                not_exits += 1
                why = f"entrance={tags['entrance']}" if tags.get("entrance") in NOT_EXIT_ENTRANCES else f"access={tags.get('access')}"
                found.notes.append(f"{fid}: {why} on {b.fid} is not an exit; left out")
                continue
            props = feature_props(
                fid, "door", tags,
                building=b.fid, level=0, exit=True,
                width=door_width(tags),
                osm_entrance=entrance_value(tags),
            )  # fmt: skip
            out.append((props, point))
        elif nid in kinds_at and tags.get("barrier") in GATE_BARRIERS:
            props = feature_props(
                fid, "gate", tags,
                mode=gate_mode(tags, kinds_at[nid]),
                width=metres(tags.get("width")),
                osm_barrier=tags["barrier"],
            )  # fmt: skip
            out.append((props, point))

    for fid, geom, tags in sorted(found.areas, key=lambda a: osm_order(a[0])):
        if not keep(geom):
            continue
        m2 = abs(GEOD.geometry_area_perimeter(geom)[0])
        if tags.get("emergency") != "assembly_point" and m2 < MIN_ASSEMBLY_AREA:
            continue
        props = feature_props(fid, "assembly", tags, osm_leisure=tags.get("leisure"), area_m2=round(m2, 1))
        out.append((props, geom))
    guessed = sum(1 for b in buildings if b.props.get("levels_guessed"))
    return out, guessed, not_exits

"""Import an Apple IMDF archive (Indoor Mapping Data Format 1.0, OGC Community Standard 20-094).

``import_imdf(ARCHIVE, DIR)`` reads a ``.zip`` or a folder holding
``venue.geojson``, ``building.geojson``, ``footprint.geojson``,
``level.geojson``, ``unit.geojson``, ``opening.geojson`` (and, where present,
``amenity``, ``anchor``, ``occupant``, ``fixture``, ``relationship``),
checks it against the specification's rules (every problem names the file
and the feature id), and writes a campus folder (see
:mod:`maps.importing`).

=========================  ==============================================================
campus                     from
=========================  ==============================================================
``building``               ``building`` + the union of its ``footprint`` s; levels from the
                           ordinals of its levels, names from their short names
``room`` / ``corridor``    ``unit`` by category (:data:`UNIT_KINDS`), minus the ``fixture`` s
                           standing in it (obstacles); name from the unit, or from the
                           ``occupant`` anchored in it
``door``                   ``opening`` (its LineString; width = its length): ``emergencyexit``
                           is an exit, ``service`` is not, ``pedestrian*`` are exits where
                           they lie on the footprint; ``automobile`` / ``bicycle`` skipped;
                           ``access_control`` → ``access = "card"``
``stair``                  ``stairs`` units stacked on consecutive ordinals (by overlap, a
                           ``stairs`` amenity or a relationship listing them); each level's
                           stairs unit is a landing (corridor)
(report only)              ``elevator`` units (lifts), ``escalator`` units (unless
                           ``escalators=True``), ``opentobelow`` voids
=========================  ==============================================================
"""

from __future__ import annotations

import json
import time
import zipfile
from collections import defaultdict
from pathlib import Path
from typing import Any

import numpy as np
import pyproj
import shapely
from shapely.geometry import shape
from shapely.geometry.base import BaseGeometry

from maps.importing import (
    CORRIDOR,
    Georef,
    ImportSourceError,
    ImportSummary,
    Plan,
    add_open_connections,
    polygonal,
    problem,
    seat_opening,
    seat_stair,
    slug,
    write_plan,
)
from twin.errors import Problem

REQUIRED = ("venue", "building", "footprint", "level", "unit")
OPTIONAL = ("address", "opening", "amenity", "anchor", "occupant", "fixture", "relationship", "kiosk", "section",
            "geofence", "detail")
_GEOMETRY = {
    "venue": ("Polygon", "MultiPolygon"), "building": (None,), "footprint": ("Polygon", "MultiPolygon"),
    "level": ("Polygon", "MultiPolygon"), "unit": ("Polygon", "MultiPolygon"), "opening": ("LineString",),
    "amenity": ("Point",), "anchor": ("Point",), "occupant": (None,), "address": (None,),
    "fixture": ("Polygon", "MultiPolygon"), "kiosk": ("Polygon", "MultiPolygon"), "section": ("Polygon", "MultiPolygon"),
    "geofence": ("Polygon", "MultiPolygon"), "detail": ("LineString",),
}
_REQUIRED_PROPS = {
    "venue": ("category", "name"), "building": ("category",), "footprint": ("category", "building_ids"),
    "level": ("category", "ordinal", "outdoor", "name"), "unit": ("category", "level_id"),
    "opening": ("category", "level_id"), "fixture": ("category", "level_id"), "amenity": ("category", "unit_ids"),
    "anchor": ("unit_id",), "occupant": ("name", "category", "anchor_id"),
}
def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _ids(v: Any) -> bool:
    return isinstance(v, list) and all(isinstance(x, str) for x in v)


_TYPES: dict[str, tuple[Any, str]] = {
    "category": (lambda v: isinstance(v, str), "a string"), "level_id": (lambda v: isinstance(v, str), "a level id (string)"),
    "unit_id": (lambda v: isinstance(v, str), "a unit id (string)"), "anchor_id": (lambda v: isinstance(v, str), "an anchor id (string)"),
    "building_ids": (_ids, "a list of building ids"), "unit_ids": (_ids, "a list of unit ids"),
    "ordinal": (_is_int, "an integer"), "outdoor": (lambda v: isinstance(v, bool), "true or false"),
}
"""Types of the properties the importer uses (IMDF 1.0)."""
OPENING_CATEGORIES = ("automobile", "bicycle", "emergencyexit", "pedestrian", "pedestrian.principal", "pedestrian.transit",
                      "service")
SKIP = "skip"
LANDING = "landing"
UNIT_KINDS: dict[str, tuple[str, str | None]] = {
    # circulation
    "walkway": (CORRIDOR, None), "walkway.island": (CORRIDOR, None), "lobby": (CORRIDOR, None),
    "footbridge": (CORRIDOR, None), "platform": (CORRIDOR, None), "movingwalkway": (CORRIDOR, None),
    "ramp": (CORRIDOR, None), "steps": (CORRIDOR, None), "stairs": (LANDING, None), "escalator": (LANDING, None),
    # rooms by use
    "classroom": ("room", "classroom"), "auditorium": ("room", "lecture"), "theater": ("room", "lecture"),
    "movietheater": ("room", "lecture"), "conferenceroom": ("room", "office"), "huddleroom": ("room", "office"),
    "office": ("room", "office"), "mailroom": ("room", "office"), "phoneroom": ("room", "office"),
    "laboratory": ("room", "lab"), "library": ("room", "library"), "foodservice": ("room", "dining"),
    "fitnessroom": ("room", "gym"), "fieldofplay": ("room", "gym"), "recreation": ("room", "gym"),
    "storage": ("room", "storage"), "serverroom": ("room", "storage"), "shower": ("room", "storage"),
    "parking": ("room", "storage"), "mothersroom": ("room", "storage"), "kitchen": ("room", "other"),
    "lounge": ("room", "other"), "privatelounge": ("room", "other"), "waitingroom": ("room", "other"),
    "smokingarea": ("room", "other"), "firstaid": ("room", "other"), "room": ("room", "other"),
    "nonpublic": ("room", "other"), "unspecified": ("room", "other"), "terrace": ("room", "other"),
    "unenclosedarea": ("room", "other"), "prayerroom": ("room", "other"),
    # not walkable: lifts, voids, structure
    "elevator": (SKIP, "lift"), "opentobelow": (SKIP, "void"), "structure": (SKIP, "structure"),
    "column": (SKIP, "structure"), "brick": (SKIP, "structure"), "concrete": (SKIP, "structure"),
    "drywall": (SKIP, "structure"), "glass": (SKIP, "structure"), "wood": (SKIP, "structure"),
    "nonwalkway": (SKIP, "structure"), "vegetation": (SKIP, "outdoor"), "road": (SKIP, "outdoor"),
    "railway": (SKIP, "outdoor"),
}
"""IMDF unit category → (campus kind, room use). ``restroom*`` units are rooms of use ``storage``; any
other category not listed is a room of use ``other`` (with a warning). Landings are corridors."""
_DOOR_TAG = {"pedestrian.principal": "entrance", "emergencyexit": "fire-exit", "service": "service",
             "pedestrian.transit": "transit", "pedestrian": "door"}
_VENUE_USE = {"university": "teaching", "college": "teaching", "school": "teaching", "library": "library",
              "residential": "dorm", "hotel": "dorm"}


def _label(v: Any) -> str | None:
    """An IMDF LABELS object (language → text) as one text: English first."""
    if isinstance(v, dict) and v:
        for k in ("en", "en-US", "en-GB"):
            if isinstance(v.get(k), str):
                return v[k]
        return next((t for t in v.values() if isinstance(t, str)), None)
    return v if isinstance(v, str) else None


def _read(path: Path) -> tuple[dict[str, tuple[str, Any]], str]:
    """The archive's files: name → (label for messages, parsed JSON); and the archive label."""
    files: dict[str, tuple[str, Any]] = {}
    if path.is_dir():
        base = path
        if not (base / "venue.geojson").exists():
            inner = [p.parent for p in path.glob("*/venue.geojson")]
            if len(inner) == 1:
                base = inner[0]
        for name in (*REQUIRED, *OPTIONAL):
            p = base / f"{name}.geojson"
            if p.exists():
                files[name] = (str(p), _json(p.read_bytes(), str(p)))
        return files, str(path)
    if not path.exists():
        raise ImportSourceError([problem(path, "no such file or folder (an IMDF archive is a .zip or a folder)")])
    try:
        z = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as e:
        raise ImportSourceError([problem(path, f"not a zip archive or a folder ({e})")]) from None
    with z:
        names = [n for n in z.namelist() if not n.endswith("/")]
        venue = [n for n in names if n.rsplit("/", 1)[-1] == "venue.geojson"]
        prefix = venue[0][: -len("venue.geojson")] if len(venue) == 1 else ""
        for name in (*REQUIRED, *OPTIONAL):
            member = f"{prefix}{name}.geojson"
            if member in names:
                label = f"{path}/{member}"
                try:
                    raw = z.read(member)
                except (zipfile.BadZipFile, OSError, RuntimeError) as e:
                    raise ImportSourceError([problem(label, f"cannot be read from the archive ({e})")]) from None
                files[name] = (label, _json(raw, label))
    return files, str(path)


def _json(raw: bytes, label: str) -> Any:
    try:
        return json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise ImportSourceError([problem(label, f"not valid JSON: {e}")]) from None


def validate(files: dict[str, tuple[str, Any]], archive: str) -> tuple[dict[str, list[dict[str, Any]]], list[Problem], list[Problem]]:
    """Check an archive against IMDF's rules.

    Returns the features per file, the problems (each naming the file, the
    feature id and the property) and warnings (unknown unit categories).
    """
    problems: list[Problem] = []
    warnings: list[Problem] = []
    missing = [n for n in REQUIRED if n not in files]
    if missing:
        problems.append(problem(archive, "not an IMDF archive: missing " + ", ".join(f"{n}.geojson" for n in missing)))
        raise ImportSourceError(problems)
    out: dict[str, list[dict[str, Any]]] = {}
    seen: dict[str, str] = {}
    for name, (label, doc) in files.items():
        if not isinstance(doc, dict) or doc.get("type") != "FeatureCollection" or not isinstance(doc.get("features"), list):
            problems.append(problem(label, "not a GeoJSON FeatureCollection"))
            continue
        feats = []
        for i, f in enumerate(doc["features"]):
            fid = f.get("id") if isinstance(f, dict) else None
            where = str(fid) if isinstance(fid, str) and fid else f"#{i}"
            if not isinstance(f, dict) or f.get("type") != "Feature":
                problems.append(problem(label, "not a GeoJSON Feature", where))
                continue
            if not isinstance(fid, str) or not fid:
                problems.append(problem(label, "feature has no id (IMDF features carry a UUID as their top-level id)", where, "id"))
                continue
            if fid in seen:
                problems.append(problem(label, f"duplicate id: also used in {seen[fid]}", fid, "id"))
                continue
            seen[fid] = f"{name}.geojson"
            if f.get("feature_type") != name:
                problems.append(problem(label, f"feature_type is {f.get('feature_type')!r}, expected {name!r} in {name}.geojson",
                                        fid, "feature_type"))
                continue
            props = f.get("properties")
            if not isinstance(props, dict):
                problems.append(problem(label, "properties must be an object", fid, "properties"))
                continue
            g = f.get("geometry")
            allowed = _GEOMETRY.get(name, (None,))
            gtype = g.get("type") if isinstance(g, dict) else None
            if name in ("building", "occupant", "address"):
                pass  # unlocated: geometry null (ignored if given)
            elif gtype not in allowed:
                problems.append(problem(label, f"a {name} needs a {' or '.join(str(a) for a in allowed)} geometry, not {gtype}",
                                        fid, "geometry"))
                continue
            else:
                try:
                    f["_geom"] = shape(g)
                except (ValueError, TypeError, KeyError, AttributeError, shapely.errors.GEOSException) as e:
                    problems.append(problem(label, f"unreadable geometry: {e}", fid, "geometry"))
                    continue
                if f["_geom"].is_empty or not np.isfinite(shapely.get_coordinates(f["_geom"])).all():
                    problems.append(problem(label, "empty geometry or coordinates that are not numbers", fid, "geometry"))
                    continue
                xy = shapely.get_coordinates(f["_geom"])
                if (np.abs(xy[:, 0]) > 180).any() or (np.abs(xy[:, 1]) > 90).any():
                    problems.append(problem(label, "coordinates are not longitude/latitude (IMDF is WGS 84)", fid, "geometry"))
                    continue
            bad = [k for k in _REQUIRED_PROPS.get(name, ()) if props.get(k) is None]
            for k in bad:
                problems.append(problem(label, f"missing required property '{k}' of a {name}", fid, k))
            if bad:
                continue
            wrong = [(k, what) for k, (ok, what) in _TYPES.items() if props.get(k) is not None and not ok(props[k])]
            for k, what in wrong:
                problems.append(problem(label, f"{k} must be {what}, got {props[k]!r}", fid, k))
            if wrong:
                continue
            if name == "opening" and props["category"] not in OPENING_CATEGORIES:
                problems.append(problem(label, f"unknown opening category {props['category']!r} (one of: "
                                        f"{', '.join(OPENING_CATEGORIES)})", fid, "category"))
                continue
            if name == "footprint" and props["category"] not in ("ground", "aerial", "subterranean"):
                problems.append(problem(label, f"footprint category must be ground, aerial or subterranean, got "
                                        f"{props['category']!r}", fid, "category"))
                continue
            if name == "unit" and not _known_unit(props["category"]):
                warnings.append(problem(label, f"unknown unit category {props['category']!r}: imported as a room of use other",
                                        fid, "category"))
            feats.append(f)
        out[name] = feats
    ids = {n: {f["id"] for f in out.get(n, [])} for n in ("building", "level", "unit", "anchor")}
    for name, key, target, many in (("footprint", "building_ids", "building", True), ("level", "building_ids", "building", True),
                                    ("unit", "level_id", "level", False), ("opening", "level_id", "level", False),
                                    ("fixture", "level_id", "level", False), ("amenity", "unit_ids", "unit", True),
                                    ("anchor", "unit_id", "unit", False), ("occupant", "anchor_id", "anchor", False)):
        keep = []
        for f in out.get(name, []):
            v = f["properties"].get(key)
            refs = (v or []) if many else [v]
            if many and not isinstance(v, (list, type(None))):
                problems.append(problem(files[name][0], f"{key} must be a list of ids", f["id"], key))
                continue
            wrong = [r for r in refs if r not in ids[target]]
            if wrong:
                problems.append(problem(files[name][0], f"{key} names {wrong[0]!r}, which is not a {target} in {target}.geojson",
                                        f["id"], key))
                continue
            keep.append(f)
        out[name] = keep
    return out, problems, warnings


def _known_unit(cat: Any) -> bool:
    return isinstance(cat, str) and (cat in UNIT_KINDS or cat.startswith("restroom") or cat.startswith("prayerroom"))


def _unit_kind(cat: str) -> tuple[str, str | None]:
    if cat.startswith("restroom"):
        return "room", "storage"
    if cat.startswith("prayerroom"):
        return "room", "other"
    return UNIT_KINDS.get(cat, ("room", "other"))


def import_imdf(source: str | Path, out_dir: str | Path, *, building_id: str | None = None, escalators: bool = False,
                outdoor: bool = True) -> ImportSummary:
    """Import an IMDF archive (zip or folder) into ``OUT_DIR/campus.geojson``.

    Parameters
    ----------
    source : path
        The archive: a ``.zip``, or a folder with the archive's files.
    out_dir : path
        Folder to write ``campus.geojson`` into.
    building_id : str, optional
        Id of the building (archives with one building); default from its name.
    escalators : bool
        Use escalators as stairs (default: left out, like lifts; most codes
        do not count them as a means of egress).
    outdoor : bool
        Add a placeholder footway and assembly area.

    Raises
    ------
    ImportSourceError
        IMDF validation problems (file, feature id, property) and the
        importer's own.
    """
    t0 = time.perf_counter()
    path = Path(source)
    files, archive = _read(path)
    feats, problems, warnings = validate(files, archive)
    if problems:
        raise ImportSourceError(problems)
    lonlat = [f["_geom"] for n in ("footprint", "level", "unit") for f in feats.get(n, [])]
    centre = shapely.union_all(lonlat).centroid
    utm = pyproj.CRS.from_epsg(_utm_epsg(centre.x, centre.y))
    to_m = pyproj.Transformer.from_crs(4326, utm, always_xy=True)

    def metres(g: BaseGeometry) -> BaseGeometry:
        return shapely.transform(g, lambda xy: np.column_stack(to_m.transform(xy[:, 0], xy[:, 1])))

    venue = feats["venue"][0] if feats["venue"] else None
    plan = Plan(path, "IMDF", name=_label(venue["properties"].get("name")) if venue else None)
    plan.warnings += warnings
    label = {n: files[n][0] for n in files}
    buildings = feats["building"]
    if not buildings:
        raise ImportSourceError([problem(label["building"], "no building feature")])
    if building_id and len(buildings) > 1:
        raise ImportSourceError([problem(archive, f"--building names one building, but the archive has {len(buildings)}")])
    levels = {f["id"]: f for f in feats["level"]}
    level_building: dict[str, str] = {}
    bid_of: dict[str, str] = {}
    foot_of: dict[str, BaseGeometry] = {}
    use = _VENUE_USE.get(str(venue["properties"].get("category"))) if venue else None
    for b in buildings:
        fps = [f for f in feats["footprint"] if b["id"] in f["properties"]["building_ids"]]
        ground = [f for f in fps if f["properties"]["category"] == "ground"] or fps
        if not ground:
            raise ImportSourceError([problem(label["building"], "building has no footprint in footprint.geojson", b["id"])])
        foot = polygonal(shapely.union_all([metres(f["_geom"]) for f in ground]))
        mine = [lv for lv in feats["level"] if b["id"] in (lv["properties"].get("building_ids") or [])
                or (len(buildings) == 1 and not lv["properties"].get("building_ids"))]
        indoor = [lv for lv in mine if not lv["properties"].get("outdoor")]
        for lv in mine:
            if lv["properties"].get("outdoor"):
                plan.notes.setdefault("outdoor levels (not imported)", []).append(lv["id"])
        if not indoor or foot is None:
            raise ImportSourceError([problem(label["level"], "building has no indoor level", b["id"])])
        ords = sorted({lv["properties"]["ordinal"] for lv in indoor})
        name = _label(b["properties"].get("name"))
        short = _label(b["properties"].get("alt_name"))
        short = short if short and len(short) <= 12 else None  # an abbreviation makes shorter ids
        bid = building_id or (slug(short or name) if (short or name) else f"B-{b['id'][:8]}")
        bid = plan.unique_id(bid, b["id"][:8])
        bid_of[b["id"]] = bid
        foot_of[bid] = foot
        names = {}
        for lv in indoor:
            for key in ("short_name", "name"):
                t = _label(lv["properties"].get(key))
                if t:
                    names[t] = lv["properties"]["ordinal"]
            level_building[lv["id"]] = b["id"]
        plan.add(foot, id=bid, kind="building", name=name, levels=ords[-1] - ords[0] + 1,
                 lowest_level=ords[0] if ords[0] else None, level_names=names or None, use=use, ref=f"imdf building {b['id']}")

    # names from occupants anchored in units
    anchor_unit = {a["id"]: a["properties"]["unit_id"] for a in feats.get("anchor", [])}
    occupant_name: dict[str, str] = {}
    for o in feats.get("occupant", []):
        u = anchor_unit.get(o["properties"]["anchor_id"])
        n = _label(o["properties"].get("name"))
        if u and n:
            occupant_name.setdefault(u, n)
    fixtures: dict[str, list[BaseGeometry]] = defaultdict(list)
    for fx in feats.get("fixture", []):
        fixtures[fx["properties"]["level_id"]].append(metres(fx["_geom"]))
    fixture_union = {k: shapely.union_all(v) for k, v in fixtures.items()}

    spaces_by_level: dict[tuple[str, int], list[BaseGeometry]] = defaultdict(list)
    landings: list[tuple[dict[str, Any], BaseGeometry, int, str]] = []
    skipped: dict[str, list[BaseGeometry]] = defaultdict(list)
    uid_to_feature: dict[str, str] = {}
    for u in feats["unit"]:
        p = u["properties"]
        lv = levels[p["level_id"]]
        if lv["id"] not in level_building:
            continue  # an outdoor level, or a level of no building
        bid = bid_of[level_building[lv["id"]]]
        o = lv["properties"]["ordinal"]
        kind, room = _unit_kind(p["category"])
        g = polygonal(metres(u["_geom"]))
        if g is None:
            plan.warn("unit has no floor area, skipped", u["id"], label["unit"])
            continue
        if kind == SKIP or (kind == LANDING and p["category"] == "escalator" and not escalators):
            what = "lifts" if room == "lift" else "escalators" if p["category"] == "escalator" else f"{room} units"
            plan.notes.setdefault(f"{what} (not used in evacuation)", []).append(u["id"])
            skipped[lv["id"]].append(g)
            continue
        if lv["id"] in fixture_union and kind != LANDING:
            net = polygonal(g.difference(fixture_union[lv["id"]]))
            if net is not None and net.area >= 0.5 * g.area:
                g = net
        name = _label(p.get("name")) or occupant_name.get(u["id"])
        want = f"{bid}-{o}-" + (slug(name) if name else f"{p['category']}-{u['id'][:8]}")
        fid = plan.unique_id(want, u["id"][:8])
        uid_to_feature[u["id"]] = fid
        plan.add(g, id=fid, kind=CORRIDOR if kind in (CORRIDOR, LANDING) else "room", name=name, building=bid, level=o,
                 use=room, ref=f"imdf unit {u['id']}", imdf_category=p["category"])
        spaces_by_level[(bid, o)].append(g)
        if kind == LANDING:
            landings.append((u, g, o, bid))

    for op in feats.get("opening", []):
        p = op["properties"]
        lv = levels[p["level_id"]]
        if lv["id"] not in level_building:
            continue
        cat = p["category"]
        if cat in ("automobile", "bicycle"):
            plan.notes.setdefault("vehicle openings (not for people)", []).append(op["id"])
            continue
        line = metres(op["_geom"])
        if not line.length > 0:
            plan.warn("opening has zero length, skipped", op["id"], label["opening"])
            continue
        if skipped.get(lv["id"]):
            ends = shapely.points(np.asarray(line.coords)[[0, -1]])
            if any((shapely.distance(g.boundary, ends) < 0.15).all() for g in skipped[lv["id"]]):
                plan.notes.setdefault("openings into lifts, escalators or voids", []).append(op["id"])
                continue
        bid = bid_of[level_building[lv["id"]]]
        o = lv["properties"]["ordinal"]
        line = seat_opening(line, spaces_by_level[(bid, o)], foot_of[bid])
        exit_ = True if cat == "emergencyexit" else False if cat == "service" else None
        access = "card" if p.get("access_control") else None
        name = _label(p.get("name"))
        tag = slug(name) if name else _DOOR_TAG.get(cat, "door")
        plan.add(line, id=plan.unique_id(f"{bid}-{o}-{tag}-{op['id'][:6]}", op["id"][6:12]), kind="door", name=name,
                 building=bid, level=o, exit=exit_, access=access, ref=f"imdf opening {op['id']}", imdf_category=cat)

    _stairs(plan, feats, landings, spaces_by_level, escalators)
    add_open_connections(plan, allow=lambda a, b: a.kind == CORRIDOR and b.kind == CORRIDOR)
    georef = Georef.identity(utm, how=f"IMDF coordinates (WGS 84), via {utm.to_string()}")
    return write_plan(plan, georef, out_dir, outdoor=outdoor, started=t0)


def _utm_epsg(lon: float, lat: float) -> int:
    zone = int((lon + 180) // 6) % 60 + 1
    return (32600 if lat >= 0 else 32700) + zone


def _stairs(plan: Plan, feats: dict[str, list[dict[str, Any]]], landings: list[tuple[dict[str, Any], BaseGeometry, int, str]],
            spaces_by_level: dict[tuple[str, int], list[BaseGeometry]], escalators: bool) -> None:
    """Stack stairs units into stairs: linked by an amenity or relationship, or overlapping on consecutive ordinals."""
    idx = {u["id"]: i for i, (u, _, _, _) in enumerate(landings)}
    parent = list(range(len(landings)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    def join(ids: list[str]) -> None:
        ks = [idx[u] for u in ids if u in idx]
        for k in ks[1:]:
            parent[root(k)] = root(ks[0])

    kinds = ("stairs", "escalator") if escalators else ("stairs",)
    for a in feats.get("amenity", []):
        if a["properties"]["category"] in kinds:
            join(list(a["properties"]["unit_ids"]))
    for r in feats.get("relationship", []):
        p = r["properties"]
        if p.get("category") in (*kinds, "traversal"):
            ends = [p.get("origin"), *(p.get("intermediary") or []), p.get("destination")]
            join([e.get("id") for e in ends if isinstance(e, dict) and e.get("feature_type") == "unit"])
    for i, (ui, gi, oi, bi) in enumerate(landings):
        for j, (uj, gj, oj, bj) in enumerate(landings):
            if i < j and bi == bj and abs(oi - oj) == 1 and ui["properties"]["category"] == uj["properties"]["category"]:
                if gi.intersection(gj).area >= 0.3 * min(gi.area, gj.area):
                    parent[root(j)] = root(i)
    groups: dict[int, list[int]] = defaultdict(list)
    for i in range(len(landings)):
        groups[root(i)].append(i)
    n = 0
    for members in groups.values():
        by_ord: dict[int, list[BaseGeometry]] = defaultdict(list)
        for k in members:
            by_ord[landings[k][2]].append(landings[k][1])
        if len(by_ord) < 2:
            continue
        u0, _, _, bid = landings[members[0]]
        hosts = {o: shapely.union_all(gs) for o, gs in by_ord.items()}
        ords = sorted(hosts)
        common = shapely.intersection_all(list(hosts.values()))
        runs = [ords] if common.area >= 0.5 else [[a, b] for a, b in zip(ords, ords[1:], strict=False)]
        name = _label(u0["properties"].get("name"))
        for run in runs:
            foot = shapely.intersection_all([hosts[o] for o in run])
            if foot.area < 0.5:
                plan.warn(f"stairs units on levels {run[0]} and {run[-1]} are linked but not above each other; no stair "
                          "between them", u0["id"])
                continue
            n += 1
            sid = plan.unique_id(f"{bid}-" + (slug(name) if name else f"stair{n}"), str(n))
            plan.add(seat_stair(foot, [hosts[o] for o in run]), id=sid, kind="stair", name=name, building=bid, levels=run,
                     escalator=True if u0["properties"]["category"] == "escalator" else None,
                     ref="imdf units " + ", ".join(landings[k][0]["id"] for k in members))

"""Import a building from an IFC model (IFC2X3, IFC4) with IfcOpenShell.

``import_ifc(FILE, DIR)`` reads every ``IfcBuilding`` of the model and writes
a campus folder (see :mod:`maps.importing`). What is read
(``docs/import.md`` has the full mapping):

=========================  ===============================================================
campus                     from
=========================  ===============================================================
``building``               ``IfcBuilding``: outline from the walls, spaces and doors of its
                           ground storey; ``levels``, ``lowest_level``, ``level_height`` and
                           ``level_names`` from its storeys
levels                     ``IfcBuildingStorey`` by elevation (storeys within 0.1 m are one
                           level); the lowest storey with an exterior door is level 0
``room`` / ``corridor``    ``IfcSpace``: footprint cut at ``CUT_HEIGHT`` above its floor;
                           kind and use from long name, name, object type and
                           classification (:data:`maps.importing.USE_WORDS`); occupants from
                           ``Pset_SpaceOccupancyRequirements.OccupancyNumber``
``door``                   ``IfcDoor``: the opening across its wall, ``OverallWidth`` wide;
                           an exit when external (``Pset_DoorCommon.IsExternal`` or an
                           external space boundary) or in the outer wall
``stair``                  ``IfcStair`` / ``IfcStairFlight`` / ``IfcRamp`` spanning two or
                           more storeys
(report only)              ``IfcTransportElement`` (lifts: not used in evacuation)
=========================  ===============================================================

Georeferencing: ``--at`` if given, else ``IfcMapConversion`` (IFC4), else the
site's ``RefLatitude``/``RefLongitude`` with the model's true north.
"""

from __future__ import annotations

import math
import multiprocessing
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pyproj
import shapely
import shapely.ops
from shapely.geometry import LineString, Polygon
from shapely.geometry.base import BaseGeometry

from maps.importing import (
    CUT_HEIGHT,
    Georef,
    ImportSourceError,
    ImportSummary,
    Plan,
    add_open_connections,
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
from twin.settings import default

_SAME_LEVEL = 0.1
"""Storeys whose elevations differ by less than this (m) are one level."""
_STAIR_REACH = 0.5
"""A stair serves a storey whose elevation lies within its height range widened by this (m) at both ends."""
_GEOMETRY = ("IfcSpace", "IfcStair", "IfcStairFlight", "IfcRamp", "IfcRampFlight", "IfcTransportElement", "IfcWall",
             "IfcCurtainWall")
"""Classes triangulated (plus each door's opening, or the door where it fills none)."""


def label(e: Any) -> str:
    """How messages name an IFC element: class, GlobalId and name."""
    name = getattr(e, "Name", None)
    return f"{e.is_a()} {e.GlobalId}" + (f" '{name}'" if name else "")


@dataclass
class _Mesh:
    verts: np.ndarray
    faces: np.ndarray

    @property
    def zmin(self) -> float:
        return float(self.verts[:, 2].min())

    @property
    def zmax(self) -> float:
        return float(self.verts[:, 2].max())

    def projection(self) -> BaseGeometry | None:
        """The union of the mesh's triangles seen from above."""
        tris = shapely.polygons(self.verts[self.faces][:, :, :2])
        tris = tris[shapely.area(tris) > 1e-10]
        if not len(tris):
            return None
        u = shapely.union_all(tris).buffer(0.01, quad_segs=2).buffer(-0.01, quad_segs=2)
        return polygonal(u.simplify(0.005), min_area=0.01)

    def section(self, z: float) -> BaseGeometry | None:
        """The horizontal cut of a closed mesh at height ``z``: polygons, or ``None``."""
        v, f = self.verts, self.faces
        zz = v[:, 2] - z
        segs = []
        for tri in f:
            pts = []
            for a, b in ((tri[0], tri[1]), (tri[1], tri[2]), (tri[2], tri[0])):
                i, j = (a, b) if a < b else (b, a)
                if (zz[i] < 0) != (zz[j] < 0):
                    t = zz[i] / (zz[i] - zz[j])
                    pts.append(tuple(np.round(v[i, :2] + t * (v[j, :2] - v[i, :2]), 6)))
            if len(pts) == 2 and pts[0] != pts[1]:
                segs.append(pts)
        if len(segs) < 3:
            return None
        noded = shapely.union_all(shapely.linestrings(segs))
        polys = shapely.polygonize(shapely.get_parts(noded))
        return polygonal(shapely.union_all(shapely.get_parts(polys)).simplify(0.005), min_area=0.01)


@dataclass
class _Storey:
    entity: Any
    elevation: float
    building: Any
    level: int = 0


@dataclass
class _Model:
    path: Path
    file: Any
    scale: float
    meshes: dict[int, _Mesh] = field(default_factory=dict)
    storeys: dict[int, _Storey] = field(default_factory=dict)


def _open(path: Path) -> Any:
    import ifcopenshell

    if not path.is_file():
        raise ImportSourceError([problem(path, "no such file")])
    try:
        f = ifcopenshell.open(str(path))
    except Exception as e:  # noqa: BLE001 - IfcOpenShell raises plain Exceptions for unreadable files
        reason = str(e).splitlines()[0] if str(e) else type(e).__name__
        raise ImportSourceError([problem(path, f"not an IFC file IfcOpenShell can read ({reason})")]) from None
    if f.schema not in ("IFC2X3", "IFC4", "IFC4X3", "IFC4X3_ADD2"):
        raise ImportSourceError([problem(path, f"IFC schema {f.schema} is not supported (IFC2X3 and IFC4 are)")])
    return f


def _meshes(m: _Model, wanted: list[Any]) -> None:
    """Triangulate ``wanted`` elements in world coordinates (metres), on every core."""
    import ifcopenshell.geom

    if not wanted:
        return
    s = ifcopenshell.geom.settings()
    s.set("use-world-coords", True)
    s.set("disable-opening-subtractions", True)  # footprints only: walls need not be cut by their openings
    it = ifcopenshell.geom.iterator(s, m.file, max(1, min(4, multiprocessing.cpu_count())), include=wanted)
    if not it.initialize():
        return
    while True:
        shape = it.get()
        v = np.asarray(shape.geometry.verts, dtype=float).reshape(-1, 3)
        fc = np.asarray(shape.geometry.faces, dtype=int).reshape(-1, 3)
        if len(v) and len(fc):
            m.meshes[shape.id] = _Mesh(v, fc)
        if not it.next():
            break


_BOXED = ("IfcStair", "IfcRamp", "IfcTransportElement")
"""Classes whose ``BoundingBox`` representation, where the model has one, stands in for their 3D geometry."""
_BOX_FACES = np.array([[0, 1, 3], [0, 3, 2], [4, 6, 7], [4, 7, 5], [0, 4, 5], [0, 5, 1], [2, 3, 7], [2, 7, 6],
                       [0, 2, 6], [0, 6, 4], [1, 5, 7], [1, 7, 3]])


def _bounding_box(m: _Model, e: Any) -> _Mesh | None:
    """The element's ``BoundingBox`` representation as a box mesh in world metres, or ``None``."""
    import ifcopenshell.util.placement as up

    rep = getattr(e, "Representation", None)
    if rep is None or e.ObjectPlacement is None:
        return None
    for r in rep.Representations:
        if r.RepresentationType != "BoundingBox" or not r.Items:
            continue
        b = r.Items[0]
        c = np.array(list(b.Corner.Coordinates) + [0.0] * (3 - len(b.Corner.Coordinates)), dtype=float)
        d = np.array([b.XDim, b.YDim, b.ZDim], dtype=float)
        corners = np.array([[c[0] + i * d[0], c[1] + j * d[1], c[2] + k * d[2], 1.0] for i in (0, 1) for j in (0, 1) for k in (0, 1)])
        mat = np.asarray(up.get_local_placement(e.ObjectPlacement), dtype=float)
        world = (mat @ corners.T).T[:, :3] * m.scale
        return _Mesh(world, _BOX_FACES)
    return None


def _psets(e: Any) -> dict[str, dict[str, Any]]:
    import ifcopenshell.util.element as ue

    try:
        return ue.get_psets(e)
    except Exception:  # noqa: BLE001 - malformed property sets are skipped, not fatal
        return {}


def _storey_of(e: Any, depth: int = 0) -> Any:
    """The ``IfcBuildingStorey`` an element belongs to (by containment or aggregation), or ``None``."""
    import ifcopenshell.util.element as ue

    if e is None or depth > 8:
        return None
    if e.is_a("IfcBuildingStorey"):
        return e
    parent = ue.get_container(e) or ue.get_aggregate(e)
    if parent is None and e.is_a("IfcOpeningElement") and getattr(e, "VoidsElements", None):
        parent = e.VoidsElements[0].RelatingBuildingElement
    return _storey_of(parent, depth + 1)


def _building_of(e: Any, depth: int = 0) -> Any:
    import ifcopenshell.util.element as ue

    if e is None or depth > 8:
        return None
    if e.is_a("IfcBuilding"):
        return e
    return _building_of(ue.get_aggregate(e) or ue.get_container(e), depth + 1)


def _storeys(m: _Model) -> dict[Any, list[list[_Storey]]]:
    """Per building, its storeys grouped into levels (by elevation), lowest first."""
    import ifcopenshell.util.placement as up

    per: dict[Any, list[_Storey]] = defaultdict(list)
    for st in m.file.by_type("IfcBuildingStorey"):
        b = _building_of(st)
        if b is None:
            continue
        if st.Elevation is not None:
            z = float(st.Elevation) * m.scale
        elif st.ObjectPlacement is not None:
            z = float(up.get_local_placement(st.ObjectPlacement)[2, 3]) * m.scale
        else:
            z = 0.0
        s = _Storey(st, z, b)
        per[b].append(s)
        m.storeys[st.id()] = s
    out: dict[Any, list[list[_Storey]]] = {}
    for b, sts in per.items():
        groups: list[list[_Storey]] = []
        for s in sorted(sts, key=lambda s: s.elevation):
            if groups and s.elevation - groups[-1][0].elevation < _SAME_LEVEL:
                groups[-1].append(s)
            else:
                groups.append([s])
        out[b] = groups
    return out


def _is_external_door(d: Any, psets: dict[str, dict[str, Any]]) -> bool:
    if psets.get("Pset_DoorCommon", {}).get("IsExternal") is True:
        return True
    for rel in getattr(d, "ProvidesBoundaries", None) or ():
        if str(getattr(rel, "InternalOrExternalBoundary", "")).upper() == "EXTERNAL":
            return True
    return False


def _width_from_psets(e: Any) -> float | None:
    for props in _psets(e).values():
        for k, v in props.items():
            if isinstance(v, (int, float)) and not isinstance(v, bool) and k.replace(" ", "").casefold() in (
                    "width", "actualrunwidth", "runwidth", "clearwidth", "laufbreite", "breite"):
                return float(v)
    return None


def _texts(e: Any) -> list[str]:
    """A space's texts that may name its use: long name, name, object type, classification references."""
    out = [getattr(e, a, None) for a in ("LongName", "Name", "ObjectType", "Description")]
    for rel in getattr(e, "HasAssociations", None) or ():
        ref = getattr(rel, "RelatingClassification", None)
        if ref is not None:
            out += [getattr(ref, "Name", None), getattr(ref, "Identification", None) or getattr(ref, "ItemReference", None)]
    return [str(t) for t in out if t]


def _georef(m: _Model, at: Georef | None) -> Georef:
    import ifcopenshell.util.placement as up

    if at is not None:
        return at
    f = m.file
    try:
        conversions = f.by_type("IfcMapConversion")
    except RuntimeError:  # IFC2X3 has no IfcMapConversion
        conversions = []
    for mc in conversions:
        target = mc.TargetCRS
        name = getattr(target, "Name", None)
        try:
            crs = pyproj.CRS.from_user_input(name)
        except (pyproj.exceptions.CRSError, TypeError):
            raise ImportSourceError([problem(m.path, f"IfcMapConversion names a target CRS {name!r} that is not known; pass "
                                             "--at LON,LAT[,ROTATION] instead", label(mc) if hasattr(mc, "GlobalId") else None)]) from None
        a = float(mc.XAxisAbscissa) if mc.XAxisAbscissa is not None else 1.0
        b = float(mc.XAxisOrdinate) if mc.XAxisOrdinate is not None else 0.0
        n = math.hypot(a, b) or 1.0
        s = float(mc.Scale) if getattr(mc, "Scale", None) is not None else 1.0
        return Georef(crs, float(mc.Eastings), float(mc.Northings), a / n, b / n, s, f"IfcMapConversion to {name}")
    for site in f.by_type("IfcSite"):
        lat, lon = _angle(site.RefLatitude), _angle(site.RefLongitude)
        if lat is None or lon is None or (lat == 0 and lon == 0):
            continue
        rot = 0.0
        for ctx in f.by_type("IfcGeometricRepresentationContext"):
            if ctx.is_a("IfcGeometricRepresentationSubContext") or ctx.ContextType != "Model" or ctx.TrueNorth is None:
                continue
            tx, ty = (float(v) for v in ctx.TrueNorth.DirectionRatios[:2])
            rot = math.degrees(math.atan2(-tx, ty))  # bearing of the model's +Y axis, clockwise from north
            break
        x0 = y0 = 0.0
        if site.ObjectPlacement is not None:
            mat = up.get_local_placement(site.ObjectPlacement)
            x0, y0 = float(mat[0, 3]) * m.scale, float(mat[1, 3]) * m.scale
        return Georef.anchor(lon, lat, rot, x=x0, y=y0,
                             how=f"IfcSite reference {lat:.6f}, {lon:.6f}, true north at {rot:.1f}° from the model's +Y")
    raise ImportSourceError([problem(m.path, "the model is not georeferenced (no IfcMapConversion, and IfcSite has no "
                                     "RefLatitude/RefLongitude); pass --at LON,LAT[,ROTATION] to place its origin "
                                     "(ROTATION: bearing of the model's +Y axis, degrees clockwise from north)")])


def _angle(v: Any) -> float | None:
    """An IfcCompoundPlaneAngleMeasure (degrees, minutes, seconds, millionths) in decimal degrees."""
    if not v:
        return None
    parts = [float(x) for x in v] + [0.0] * (4 - len(v))
    sign = -1.0 if any(p < 0 for p in parts[:4]) else 1.0
    d, mi, s, us = (abs(p) for p in parts[:4])
    return sign * (d + mi / 60 + (s + us / 1e6) / 3600)


def import_ifc(source: str | Path, out_dir: str | Path, *, at: Georef | None = None, building_id: str | None = None,
               use: str | None = None, outdoor: bool = True, footprint_only: bool = False) -> ImportSummary:
    """Import the buildings of an IFC model into ``OUT_DIR/campus.geojson``.

    Parameters
    ----------
    source : path
        The ``.ifc`` file.
    out_dir : path
        Folder to write ``campus.geojson`` into (created; an existing campus
        file is replaced only when the import succeeds).
    at : Georef, optional
        Where the model's origin lies (``--at``); overrides the model's own
        georeferencing.
    building_id : str, optional
        Id of the building (models with one building); default from its name.
    use : str, optional
        The building's use (``teaching``, ``dorm``, …); default ``other``.
    outdoor : bool
        Add a placeholder footway and assembly area (see
        :func:`maps.importing.add_outdoor_placeholder`).
    footprint_only : bool
        Import only each building's outline and storeys: the campus loader
        then generates its interior.

    Raises
    ------
    ImportSourceError
        Naming the file, the element (class, GlobalId, name) and the reason.
    """
    import ifcopenshell.util.unit as uu

    t0 = time.perf_counter()
    path = Path(source)
    f = _open(path)
    m = _Model(path, f, float(uu.calculate_unit_scale(f)))
    levels = _storeys(m)
    if not levels:
        raise ImportSourceError([problem(path, "the model has no IfcBuilding with storeys (IfcBuildingStorey)")])
    if building_id and len(levels) > 1:
        raise ImportSourceError([problem(path, f"--building names one building, but the model has {len(levels)}; "
                                         "leave it out to name them from the model")])
    georef = _georef(m, at)
    wanted = []
    for e in (e for t in _GEOMETRY for e in _by_type(f, t)):
        box = _bounding_box(m, e) if e.is_a() in _BOXED else None
        if box is not None:
            m.meshes[e.id()] = box  # a stair's bounding box is its stairwell: no need to triangulate every tread
        else:
            wanted.append(e)
    for d in _by_type(f, "IfcDoor"):
        fills = getattr(d, "FillsVoids", None)
        wanted += [fills[0].RelatingOpeningElement] if fills else [d]
    _meshes(m, wanted)
    plan = Plan(path, "IFC", name=(f.by_type("IfcProject") or [None])[0] and f.by_type("IfcProject")[0].Name or path.stem)
    for b, groups in levels.items():
        _building(m, plan, b, groups, building_id=building_id, use=use, footprint_only=footprint_only)
    lifts = [label(e) for e in _by_type(f, "IfcTransportElement")]
    if lifts:
        plan.notes["lifts"] = lifts
    return write_plan(plan, georef, out_dir, outdoor=outdoor, interior=not footprint_only, started=t0)


def _by_type(f: Any, t: str) -> list[Any]:
    try:
        return list(f.by_type(t))
    except RuntimeError:  # a class this schema does not have
        return []


def _level_of(m: _Model, e: Any, zmin: float | None, groups: list[list[_Storey]]) -> int | None:
    st = _storey_of(e)
    if st is not None and st.id() in m.storeys and any(s.entity == st for g in groups for s in g):
        return m.storeys[st.id()].level
    if zmin is None:
        return None
    below = [g[0].level for g in groups if g[0].elevation <= zmin + 0.3]
    return below[-1] if below else groups[0][0].level


def _building(m: _Model, plan: Plan, b: Any, groups: list[list[_Storey]], *, building_id: str | None, use: str | None,
              footprint_only: bool) -> None:
    f = m.file
    bid = building_id or slug(b.Name or b.LongName or m.path.stem)
    bid = plan.unique_id(bid, b.GlobalId[:8])
    members = {s.entity.id() for g in groups for s in g}
    in_building = lambda e: (st := _storey_of(e)) is not None and st.id() in members  # noqa: E731
    doors = [d for d in _by_type(f, "IfcDoor") if in_building(d)]
    # level 0: the lowest storey with an exterior door, else the one nearest elevation 0
    door_storeys = {(_storey_of(d) or d).id() for d in doors if _is_external_door(d, _psets(d))}
    ground = next((i for i, g in enumerate(groups) if any(s.entity.id() in door_storeys for s in g)), None)
    if ground is None:
        ground = min(range(len(groups)), key=lambda i: abs(groups[i][0].elevation))
    for i, g in enumerate(groups):
        for s in g:
            s.level = i - ground
    names = {str(s.entity.Name or s.entity.LongName or f"Storey {s.level}"): s.level for g in groups for s in g}
    heights = np.diff([g[0].elevation for g in groups])
    level_height = round(float(np.median(heights)), 3) if len(heights) else None

    spaces: list[tuple[Any, BaseGeometry, int]] = []
    for sp in _by_type(f, "IfcSpace"):
        if not in_building(sp):
            continue
        mesh = m.meshes.get(sp.id())
        ptype = str(getattr(sp, "PredefinedType", "") or "").upper()
        if ptype in ("GFA", "EXTERNAL") or _psets(sp).get("Pset_SpaceCommon", {}).get("IsExternal") is True:
            plan.notes.setdefault("spaces skipped (gross area or external)", []).append(label(sp))
            continue
        if getattr(sp, "IsDecomposedBy", None) and any(o.is_a("IfcSpace") for r in sp.IsDecomposedBy for o in r.RelatedObjects):
            continue  # a space made of spaces: its parts are imported
        if mesh is None:
            plan.warn("space has no 3D geometry, skipped", label(sp))
            continue
        foot = mesh.section(mesh.zmin + min(CUT_HEIGHT, (mesh.zmax - mesh.zmin) / 2)) or mesh.projection()
        if foot is None:
            plan.warn("space geometry has no floor area, skipped", label(sp))
            continue
        lv = _level_of(m, sp, mesh.zmin, groups)
        spaces.append((sp, foot, int(lv if lv is not None else 0)))

    ground_parts: list[BaseGeometry] = [foot for _, foot, lv in spaces if lv == 0]
    for w in _by_type(f, "IfcWall") + _by_type(f, "IfcCurtainWall"):
        mesh = m.meshes.get(w.id())
        if mesh is not None and in_building(w) and _level_of(m, w, mesh.zmin, groups) == 0:
            p = mesh.projection()
            if p is not None:
                ground_parts.append(p)
    outline = outline_of(ground_parts) or outline_of([foot for _, foot, _ in spaces])
    if outline is None:
        outline = outline_of([p for w in _by_type(f, "IfcWall") if w.id() in m.meshes and in_building(w)
                              and (p := m.meshes[w.id()].projection()) is not None])
    if outline is None:
        raise ImportSourceError([problem(m.path, "cannot find the building's outline: it has no spaces or walls with geometry",
                                         label(b))])
    bprops: dict[str, Any] = {"id": bid, "kind": "building", "name": b.LongName or b.Name, "levels": len(groups),
                              "lowest_level": -ground if ground else None, "level_names": names, "level_height": level_height,
                              "level_elevations": {str(g[0].level): round(g[0].elevation, 3) for g in groups},
                              "use": use, "ref": label(b)}
    plan.add(outline, **bprops)
    if footprint_only:
        return

    by_level: dict[int, list[BaseGeometry]] = defaultdict(list)
    space_of: dict[int, tuple[str, BaseGeometry]] = {}
    for sp, foot, lv in spaces:
        kind, room = room_use(*_texts(sp))
        names_ = [t for t in (sp.Name, sp.LongName) if t]
        want = f"{bid}-" + slug(" ".join(dict.fromkeys(names_)) or sp.GlobalId)
        occ = _psets(sp).get("Pset_SpaceOccupancyRequirements", {}).get("OccupancyNumber")
        fid = plan.unique_id(want, sp.GlobalId[:8])
        space_of[sp.id()] = (fid, foot)
        plan.add(foot, id=fid, kind=kind, name=" ".join(dict.fromkeys(names_)) or None,
                 building=bid, level=lv, use=room, occupants=int(occ) if isinstance(occ, (int, float)) and occ >= 0 else None,
                 ref=label(sp))
        by_level[lv].append(foot)

    for d in doors:
        _door(m, plan, d, bid, groups, by_level, outline, space_of)
    add_open_connections(plan)
    stairs = [s for s in _by_type(f, "IfcStair") + _by_type(f, "IfcRamp") if in_building(s)]
    loose = [s for s in _by_type(f, "IfcStairFlight") + _by_type(f, "IfcRampFlight")
             if in_building(s) and not any(r.RelatingObject.is_a() in ("IfcStair", "IfcRamp") for r in s.Decomposes or ())]
    for s in stairs + loose:
        _stair(m, plan, s, bid, groups, by_level)


def _door(m: _Model, plan: Plan, d: Any, bid: str, groups: list[list[_Storey]], by_level: dict[int, list[BaseGeometry]],
          outline: BaseGeometry, space_of: dict[int, tuple[str, BaseGeometry]]) -> None:
    import ifcopenshell.util.placement as up

    mesh = m.meshes.get(d.id())
    opening = d.FillsVoids[0].RelatingOpeningElement if getattr(d, "FillsVoids", None) else None
    omesh = m.meshes.get(opening.id()) if opening is not None else None
    foot = (omesh or mesh).projection() if (omesh or mesh) is not None else None
    if foot is None:
        plan.warn("door has no geometry, skipped", label(d))
        return
    lv = _level_of(m, d, (mesh or omesh).zmin, groups)
    c = foot.centroid
    width = float(d.OverallWidth) * m.scale if getattr(d, "OverallWidth", None) else None
    axis = None
    if d.ObjectPlacement is not None:
        mat = up.get_local_placement(d.ObjectPlacement)
        axis = np.asarray(mat[:2, 0], dtype=float)
    rect = shapely.minimum_rotated_rectangle((mesh or omesh).projection() or foot)
    xy = np.asarray(rect.exterior.coords) if isinstance(rect, Polygon) else None
    if axis is None or np.linalg.norm(axis) < 1e-6:
        if xy is None:
            plan.warn("door geometry is degenerate, skipped", label(d))
            return
        sides = np.diff(xy[:3], axis=0)
        axis = sides[int(np.argmax(np.hypot(*sides.T)))]
    axis = axis / np.linalg.norm(axis)
    if width is None or width <= 0:
        width = float(np.ptp(np.asarray(foot.exterior.coords if isinstance(foot, Polygon) else [[0, 0]]) @ axis)) or None
    if not width:
        plan.warn("door has no OverallWidth and no measurable geometry, skipped", label(d))
        return
    half = axis * width / 2
    line = LineString([(c.x - half[0], c.y - half[1]), (c.x + half[0], c.y + half[1])])
    line = seat_opening(line, by_level.get(int(lv or 0), []), outline)
    psets = _psets(d)
    exit_ = True if _is_external_door(d, psets) else None
    # the spaces the model says the door joins (its space boundaries): seat it between them if geometry did not
    joins = {space_of[r.RelatingSpace.id()][0]: space_of[r.RelatingSpace.id()][1] for r in getattr(d, "ProvidesBoundaries", None) or ()
             if getattr(r, "RelatingSpace", None) is not None and r.RelatingSpace.id() in space_of}
    sides = [g.boundary for g in joins.values()] + ([outline.boundary] if exit_ and len(joins) == 1 else [])
    mid = line.interpolate(0.5, normalized=True)
    if len(sides) >= 2 and any(b.distance(mid) > default("door_snap") for b in sides[:2]):
        pa, pb = shapely.ops.nearest_points(sides[0], sides[1])
        if pa.distance(pb) <= 2.0:
            xy = np.asarray(line.coords)
            n = np.array([-axis[1], axis[0]])
            target = np.array([(pa.x + pb.x) / 2, (pa.y + pb.y) / 2])
            line = LineString(xy + float(np.dot(target - np.array([mid.x, mid.y]), n)) * n)
    want = f"{bid}-" + slug(d.Name or d.GlobalId)
    plan.add(line, id=plan.unique_id(want, d.GlobalId[:8]), kind="door", name=d.Name, building=bid, level=int(lv or 0),
             width=round(width, 3), exit=exit_, fire_exit=psets.get("Pset_DoorCommon", {}).get("FireExit") or None,
             joins=sorted(joins) or None, ref=label(d))


def _stair(m: _Model, plan: Plan, s: Any, bid: str, groups: list[list[_Storey]], by_level: dict[int, list[BaseGeometry]]) -> None:
    parts = [s]
    for rel in getattr(s, "IsDecomposedBy", None) or ():
        parts += [o for o in rel.RelatedObjects if not o.is_a("IfcRailing")]
    meshes = [m.meshes[p.id()] for p in parts if p.id() in m.meshes]
    if not meshes:
        plan.warn("stair has no geometry, skipped", label(s))
        return
    zmin, zmax = min(x.zmin for x in meshes), max(x.zmax for x in meshes)
    served = [g[0].level for g in groups if zmin - _STAIR_REACH <= g[0].elevation <= zmax + _STAIR_REACH]
    if len(served) < 2:
        plan.notes.setdefault("stairs within one storey (not a connection between levels)", []).append(label(s))
        return
    foot = polygonal(shapely.union_all([p for x in meshes if (p := x.projection()) is not None]))
    if foot is None:
        plan.warn("stair has no footprint, skipped", label(s))
        return
    foot = largest_polygon(shapely.union_all([Polygon(p.exterior) for p in shapely.get_parts(foot)]).buffer(0.05).buffer(-0.05))
    hosts = [host_space(foot, by_level.get(lv, [])) for lv in served]
    flights = [m.meshes[p.id()] for p in parts if p.is_a() in ("IfcStairFlight", "IfcRampFlight") and p.id() in m.meshes]
    width = _width_from_psets(s)
    if width is not None:
        width *= m.scale
    elif flights:
        shorts = []
        for x in flights:
            pr = x.projection()
            if pr is not None:
                r = shapely.minimum_rotated_rectangle(pr)
                if isinstance(r, Polygon):
                    sides = np.hypot(*np.diff(np.asarray(r.exterior.coords)[:3], axis=0).T)
                    shorts.append(float(sides.min()))
        width = min(shorts) if shorts else None
    ramp = s.is_a() in ("IfcRamp", "IfcRampFlight") or None
    want = f"{bid}-" + slug(s.Name or s.GlobalId)
    plan.add(seat_stair(foot, hosts), id=plan.unique_id(want, s.GlobalId[:8]), kind="stair", name=s.Name, building=bid,
             levels=served, width=round(width, 3) if width else None, ramp=ramp, ref=label(s))

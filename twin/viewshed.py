"""Camera viewsheds and what they cover: key areas, blind spots, the footway network.

A camera sees a sector: from its point, ``fov`` degrees wide around its
``heading`` (clockwise from north), out to its range (m): as far as its image
keeps the pixel density the site asks for (IEC 62676-4:2014: detect 25,
observe 62.5, recognise 125, identify 250 px/m), from its ``pixels`` across
and its lens's ``fov`` (:func:`density_range`), and no further than a
``range`` the campus file gives (:func:`camera_ranges`). Buildings are
opaque: every edge of every building outline casts a shadow, away from the
camera, that hides whatever lies behind it, and the buildings themselves are
not seen from outside. A camera drawn on a façade (on or inside a building
outline) stands ``camera_wall_offset`` m out from its wall, and its own
building occludes it like any other (:func:`off_the_wall`). An indoor camera (one with ``building``) sees only
inside its own building, in plan (the floors of a building share one
footprint; inner walls are not modelled as occluders).

The shadow of an edge is exact: the polygon from the edge out to 1.5 ranges
along the two rays through its ends, closed by an arc, so a wall hides
exactly the points of the sector behind it (up to the arc's chords, which
:data:`ARC_STEP_DEG` keeps below 0.01 % of the sector's area).

Everything is in the campus's metric CRS (metres, m²).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from shapely.geometry.base import BaseGeometry

from twin.settings import default, value

ARC_STEP_DEG = 1.0
"""Angular step of a sector's arc (degrees)."""
SHADOW_ARC_POINTS = 9
"""Points on the far arc of an edge's shadow (an edge subtends < 180°, so < 22.5° per chord at 1.5 ranges)."""
SHADOW_REACH = 1.5
"""A shadow reaches this many ranges out, beyond the sector (chords at 1.5 R stay outside R for steps < 96°)."""
GRID_STEP = 2.0
"""Spacing of the sample points that count how many cameras see each part of a key area (m)."""
OPEN_GROUND_MIN = 1.0
"""Blind-spot pieces smaller than this are dropped (m²): slivers along walls."""
PATH_KINDS = ("footway", "crossing", "shared")
"""Line kinds whose length seen is the footway network's coverage."""
DENSITY_LEVELS = ("detect", "observe", "recognise", "identify")
"""The IEC 62676-4 levels a site or a key area may ask for (their px/m are the ``camera_density.*`` settings)."""


def density_of(asked: Any = None, settings: Mapping[str, float] | None = None) -> float:
    """The pixel density (px/m) a site or key area asks for: a level name, a number of px/m, or nothing (the
    ``camera_density`` setting)."""
    if asked is None or (isinstance(asked, float) and math.isnan(asked)):
        return value("camera_density", settings)
    if isinstance(asked, str):
        key = asked.strip().lower().replace("recognize", "recognise")
        if key not in DENSITY_LEVELS:
            try:
                return density_of(float(key), settings)
            except ValueError:
                msg = f"a camera density is one of {', '.join(DENSITY_LEVELS)} or px/m, not {asked!r}"
                raise ValueError(msg) from None
        return value(f"camera_density.{key}", settings)
    d = float(asked)
    if not d > 0:
        msg = f"a camera density must be positive (px/m), not {asked!r}"
        raise ValueError(msg)
    return d


def level_name(density: float, settings: Mapping[str, float] | None = None) -> str:
    """The IEC 62676-4 level a density reaches (``"below detect"`` under the lowest)."""
    reached = [lv for lv in DENSITY_LEVELS if density >= value(f"camera_density.{lv}", settings) - 1e-9]
    return reached[-1] if reached else "below detect"


def density_range(pixels: Any, fov: Any, density: float) -> np.ndarray:
    """How far a camera keeps ``density`` px/m (m): where its ``pixels`` across span the scene's width.

    The scene is ``2 d tan(fov / 2)`` wide at distance ``d`` for a lens under 180°, so
    ``d = pixels / (2 density tan(fov / 2))``; a panoramic (≥ 180°) image spreads its pixels over the arc,
    ``d = pixels / (density fov)`` (fov in radians). IEC 62676-4:2014 defines the densities per metre of
    scene width at the target.
    """
    px = np.asarray(pixels, float)
    f = np.radians(np.asarray(fov, float))
    with np.errstate(divide="ignore", invalid="ignore"):
        flat = px / (2 * density * np.tan(np.minimum(f, math.radians(179.9)) / 2))
        arc = px / (density * f)
    return np.where(f < math.pi, flat, arc)


def sector(x: float, y: float, heading: float, fov: float, range_: float) -> shapely.Polygon:
    """The field-of-view sector of a camera at ``(x, y)`` (m, degrees clockwise from north).

    A ``fov`` of 360 gives a disc.
    """
    if fov >= 360.0:
        return shapely.Point(x, y).buffer(range_, quad_segs=int(90 / ARC_STEP_DEG))
    n = max(2, math.ceil(fov / ARC_STEP_DEG))
    b = np.radians(heading + fov * np.linspace(-0.5, 0.5, n + 1))
    arc = np.column_stack([x + range_ * np.sin(b), y + range_ * np.cos(b)])
    return shapely.Polygon(np.vstack([[x, y], arc, [x, y]]))


def shadows(x: float, y: float, range_: float, occluders: Any) -> np.ndarray:
    """The shadow polygons that the edges of ``occluders`` cast from ``(x, y)``.

    Parameters
    ----------
    x, y : float
        The viewpoint (m).
    range_ : float
        How far the view reaches (m); shadows reach ``SHADOW_REACH`` times as far.
    occluders : array of Polygon or MultiPolygon
        Opaque areas.

    Returns
    -------
    ndarray of Polygon
        One shadow per edge that is not seen edge-on (edges through the viewpoint
        cast none).
    """
    rings = shapely.get_rings(shapely.get_parts(np.asarray(occluders, dtype=object)))
    if len(rings) == 0:
        return np.empty(0, dtype=object)
    coords, idx = shapely.get_coordinates(rings, return_index=True)
    same = idx[1:] == idx[:-1]
    a = coords[:-1][same] - (x, y)
    b = coords[1:][same] - (x, y)
    cross = a[:, 0] * b[:, 1] - a[:, 1] * b[:, 0]
    keep = np.abs(cross) > 1e-9 * (np.hypot(*a.T) * np.hypot(*b.T) + 1e-12)
    a, b = a[keep], b[keep]
    if len(a) == 0:
        return np.empty(0, dtype=object)
    ang_a = np.arctan2(a[:, 1], a[:, 0])
    ang_b = np.arctan2(b[:, 1], b[:, 0])
    sweep = (ang_a - ang_b + np.pi) % (2 * np.pi) - np.pi  # from b back to a, the short way (< 180°)
    t = np.linspace(0.0, 1.0, SHADOW_ARC_POINTS)
    ang = ang_b[:, None] + sweep[:, None] * t[None, :]
    far = SHADOW_REACH * range_
    arc = np.stack([far * np.cos(ang), far * np.sin(ang)], axis=-1)
    ring = np.concatenate([a[:, None], b[:, None], arc, a[:, None]], axis=1) + (x, y)
    return shapely.make_valid(shapely.polygons(ring))


def viewshed(
    x: float, y: float, heading: float, fov: float, range_: float, occluders: Any = (), *, inside: BaseGeometry | None = None,
    wall_offset: float | None = None,
) -> BaseGeometry:
    """What a camera sees: its sector less the buildings and everything behind them.

    Parameters
    ----------
    x, y : float
        Camera position (m).
    heading : float
        Direction it looks, degrees clockwise from north.
    fov : float
        Horizontal field of view, degrees in (0, 360].
    range_ : float
        Useful viewing distance (m).
    occluders : array of Polygon, optional
        Opaque areas (building footprints).
    inside : Polygon, optional
        For an indoor camera: its building; the view is that building's part of
        the sector, and ``occluders`` are ignored.
    wall_offset : float, optional
        A camera drawn on or inside a building outline stands this far out from
        its wall (m; default the ``camera_wall_offset`` setting), see
        :func:`off_the_wall`; its own building then occludes it like any other.

    Returns
    -------
    Polygon or MultiPolygon
        The area seen (possibly empty).
    """
    if inside is not None:
        return shapely.intersection(sector(x, y, heading, fov, range_), inside)
    if wall_offset is None:
        wall_offset = default("camera_wall_offset")
    occ = np.asarray(occluders, dtype=object)
    x, y = off_the_wall(x, y, heading, occ, wall_offset)
    sec = sector(x, y, heading, fov, range_)
    if len(occ):
        occ = occ[shapely.intersects(occ, sec)]
    if len(occ) == 0:
        return sec
    hidden = shapely.union_all(np.concatenate([shadows(x, y, range_, occ), occ]))
    return shapely.make_valid(shapely.difference(sec, hidden))


def off_the_wall(x: float, y: float, heading: float, occluders: Any, offset: float) -> tuple[float, float]:
    """Where a camera mounted on a façade really stands: ``offset`` m out from its wall.

    A camera drawn on (or inside) a building outline is moved to the nearest
    point of that outline and then ``offset`` m out along the wall's outward
    normal; at a corner, along the normal of the wall that faces most nearly
    where the camera looks (``heading``, degrees clockwise from north). A
    camera clear of every building stays where it is. From there its own
    building occludes its view like any other (a wing of an L-shaped building
    hides what lies behind it).
    """
    occ = np.asarray(occluders, dtype=object)
    p = shapely.Point(x, y)
    on = np.flatnonzero(shapely.covers(occ, p)) if len(occ) else []
    if not len(on):
        return x, y
    ring = shapely.boundary(occ[on[0]])
    coords, idx = shapely.get_coordinates(shapely.get_parts(ring), return_index=True)
    same = idx[1:] == idx[:-1]
    a, b = coords[:-1][same], coords[1:][same]
    ab = b - a
    seg2 = np.maximum((ab**2).sum(axis=1), 1e-18)
    t = np.clip((((x, y) - a) * ab).sum(axis=1) / seg2, 0.0, 1.0)
    foot = a + t[:, None] * ab
    d = np.hypot(*(foot - (x, y)).T)
    near = np.flatnonzero(d <= d.min() + 1e-6)
    normal = np.column_stack([ab[near, 1], -ab[near, 0]]) / np.sqrt(seg2[near])[:, None]
    probe = foot[near] + normal * 1e-3
    normal = np.where(shapely.contains_xy(occ[on[0]], probe[:, 0], probe[:, 1])[:, None], -normal, normal)
    look = np.array([math.sin(math.radians(heading)), math.cos(math.radians(heading))])
    k = int(np.argmax(normal @ look))
    out = foot[near[k]] + normal[k] * offset
    return float(out[0]), float(out[1])


def _col(df: pd.DataFrame, name: str, fill: float) -> np.ndarray:
    if name not in df:
        return np.full(len(df), fill)
    return pd.to_numeric(df[name], errors="coerce").fillna(fill).to_numpy(float)


def camera_ranges(cams: gpd.GeoDataFrame, density: float, settings: Mapping[str, float] | None = None) -> np.ndarray:
    """Each camera's range (m) at ``density`` px/m: from its ``pixels`` (default ``camera_pixels``) and ``fov``
    (:func:`density_range`), no further than a ``range`` the campus file gives (where the site says the view ends:
    a mast's line of sight, the reach of its infrared light)."""
    pixels = _col(cams, "pixels", value("camera_pixels", settings))
    reach = density_range(pixels, _col(cams, "fov", 360.0), density)
    return np.minimum(reach, _col(cams, "range", np.inf))


def camera_viewsheds(features: gpd.GeoDataFrame, cameras: gpd.GeoDataFrame | None = None, *, density: float | None = None,
                     settings: Mapping[str, float] | None = None) -> gpd.GeoSeries:
    """The viewshed of every camera of a campus, occluded by its buildings, out to its range at a pixel density.

    Parameters
    ----------
    features : GeoDataFrame
        The campus feature table (``Campus.features``), in metres.
    cameras : GeoDataFrame, optional
        Cameras to use instead of the campus's (same columns: ``heading``,
        ``fov``, optional ``pixels``, ``range`` and ``building``).
    density : float, optional
        Pixel density the view must keep (px/m; default the ``camera_density``
        setting, IEC 62676-4 'observe'); see :func:`camera_ranges`.
    settings : mapping, optional
        A scenario's overrides of the documented defaults.

    Returns
    -------
    GeoSeries
        One (possibly empty) polygon per camera, indexed like the cameras.
    """
    cams = features[features["kind"] == "camera"] if cameras is None else cameras
    buildings = features.geometry[features["kind"] == "building"]
    occ = buildings.to_numpy()
    heading = _col(cams, "heading", 0.0)
    fov = _col(cams, "fov", 360.0)
    rng = camera_ranges(cams, density_of(density, settings), settings)
    offset = value("camera_wall_offset", settings)
    bld = cams["building"] if "building" in cams else pd.Series(None, index=cams.index, dtype=object)
    out = []
    for i, (fid, geom) in enumerate(cams.geometry.items()):
        b = bld.get(fid)
        inside = buildings.get(b) if isinstance(b, str) else None
        out.append(viewshed(geom.x, geom.y, heading[i], fov[i], rng[i], occ, inside=inside, wall_offset=offset))
    return gpd.GeoSeries(out, index=cams.index, crs=features.crs)


def camera_table(features: gpd.GeoDataFrame, settings: Mapping[str, float] | None = None) -> dict[str, dict[str, Any]]:
    """Per camera: its pixels and lens, its range at each IEC 62676-4 level, and the level it keeps at the range the
    campus file gives (JSON-friendly)."""
    cams = features[features["kind"] == "camera"]
    pixels = _col(cams, "pixels", value("camera_pixels", settings))
    fov = _col(cams, "fov", 360.0)
    given = _col(cams, "range", np.nan)
    ranges = {lv: density_range(pixels, fov, value(f"camera_density.{lv}", settings)) for lv in DENSITY_LEVELS}
    out = {}
    for i, fid in enumerate(cams.index):
        row: dict[str, Any] = {"pixels": int(pixels[i]), "fov": float(fov[i]),
                               "range_m": {lv: round(float(ranges[lv][i]), 1) for lv in DENSITY_LEVELS}}
        if np.isfinite(given[i]):
            at = float(density_range(pixels[i], fov[i], 1.0)) / float(given[i])  # px/m at the given range
            row["given_range_m"] = float(given[i])
            row["at_given_range"] = {"px_per_m": round(at, 1), "level": level_name(at, settings)}
        out[str(fid)] = row
    return out


def grid_points(area: BaseGeometry, step: float = GRID_STEP) -> np.ndarray:
    """Sample points on a square grid of ``step`` metres inside ``area`` (cell centres), as an (n, 2) array."""
    if area.is_empty:
        return np.empty((0, 2))
    x0, y0, x1, y1 = area.bounds
    xs = np.arange(x0 + step / 2, x1, step)
    ys = np.arange(y0 + step / 2, y1, step)
    gx, gy = np.meshgrid(xs, ys)
    gx, gy = gx.ravel(), gy.ravel()
    keep = shapely.contains_xy(area, gx, gy)
    return np.column_stack([gx[keep], gy[keep]])


def seen_counts(points: np.ndarray, views: Any) -> np.ndarray:
    """How many of ``views`` (polygons) see each point of ``points`` ((n, 2) array)."""
    n = np.zeros(len(points), dtype=int)
    if len(points) == 0:
        return n
    for v in views:
        if v is None or v.is_empty:
            continue
        shapely.prepare(v)
        n += shapely.contains_xy(v, points[:, 0], points[:, 1])
    return n


@dataclass
class AreaCoverage:
    """How the cameras cover one key area (areas in m², shares in 0..1)."""

    id: str
    category: str
    area_m2: float
    seen_share: float
    """Share of the whole area seen by at least one camera."""
    open_ground_m2: float
    """Area outside buildings."""
    open_seen_share: float
    """Share of the open ground seen by at least one camera."""
    seen_by: dict[str, float]
    """Share of the area seen by 0, 1, 2 and 3+ cameras (grid sample)."""
    cameras: list[str]
    """Cameras that see some of it."""
    blind_m2: float
    """Open ground no camera sees."""
    unwatched_buildings: list[str]
    """Buildings in the area with no indoor camera."""
    density: float = 0.0
    """Pixel density the area asks for (px/m): everything above is seen at least this sharp."""
    blind_spots: BaseGeometry = field(repr=False, default_factory=shapely.Polygon)
    """Open ground no camera sees (polygons)."""

    def as_dict(self) -> dict[str, Any]:
        """JSON-friendly, without the geometry."""
        return {
            "category": self.category, "area_m2": round(self.area_m2, 1), "seen_share": round(self.seen_share, 4),
            "open_ground_m2": round(self.open_ground_m2, 1), "open_seen_share": round(self.open_seen_share, 4),
            "seen_by": {k: round(v, 4) for k, v in self.seen_by.items()}, "cameras": self.cameras,
            "blind_m2": round(self.blind_m2, 1), "blind_spots": int(len(shapely.get_parts(self.blind_spots))),
            "unwatched_buildings": self.unwatched_buildings, "density_px_m": self.density, "level": level_name(self.density),
        }


@dataclass
class CameraCoverage:
    """What a set of cameras covers on a campus."""

    views: gpd.GeoSeries
    """The viewsheds at the site's density (``camera_density``)."""
    areas: dict[str, AreaCoverage]
    footway_m: float
    footway_seen_m: float
    cameras: dict[str, dict[str, Any]] = field(default_factory=dict)
    """Per camera, its ranges at the IEC 62676-4 levels (:func:`camera_table`)."""

    @property
    def footway_share(self) -> float:
        """Share of the footway network's length seen (0..1)."""
        return self.footway_seen_m / self.footway_m if self.footway_m else 0.0

    def as_dict(self) -> dict[str, Any]:
        """The ``camera_coverage`` part of the JSON summary."""
        return {
            "cameras": int(len(self.views)),
            "footway_share": round(self.footway_share, 4),
            "footway_m": round(self.footway_m, 1),
            "key_areas": {k: a.as_dict() for k, a in self.areas.items()},
            "camera_ranges": self.cameras,
        }


def camera_coverage(features: gpd.GeoDataFrame, views: gpd.GeoSeries | None = None, *, step: float = GRID_STEP,
                    settings: Mapping[str, float] | None = None) -> CameraCoverage:
    """Per key area the share seen, at the pixel density it asks for, and by how many cameras; its blind spots;
    the footway network seen.

    Parameters
    ----------
    features : GeoDataFrame
        The campus feature table, in metres. A key area's ``density`` (an IEC
        62676-4 level name or px/m) is what it asks of the cameras; without one,
        the ``camera_density`` setting.
    views : GeoSeries, optional
        Viewsheds at the site's density (default: :func:`camera_viewsheds` of
        the campus's cameras). Key areas that ask for another density are
        measured on the campus's cameras at theirs.
    step : float
        Grid spacing for the counts of cameras (m).
    settings : mapping, optional
        A scenario's overrides of the documented defaults.
    """
    site = density_of(None, settings)
    if views is None:
        views = camera_viewsheds(features, density=site, settings=settings)
    at_density = {site: views}
    nonempty = [v for v in views.to_numpy() if v is not None and not v.is_empty]
    seen = shapely.union_all(nonempty) if nonempty else shapely.Polygon()
    shapely.prepare(seen)
    buildings = features[features["kind"] == "building"]
    built = shapely.union_all(buildings.geometry.to_numpy()) if len(buildings) else shapely.Polygon()
    indoor_cams = set()
    if "building" in features:
        indoor_cams = set(features.loc[(features["kind"] == "camera") & features["building"].notna(), "building"])
    areas: dict[str, AreaCoverage] = {}
    for fid, row in features[features["kind"] == "key_area"].iterrows():
        geom = row.geometry
        try:
            asked = density_of(row.get("density"), settings)
        except ValueError as e:
            msg = f"key area {fid!r}, density: {e}"
            raise ValueError(msg) from None
        if asked not in at_density:
            at_density[asked] = camera_viewsheds(features, density=asked, settings=settings)
        area_views = at_density[asked]
        nonempty_a = [v for v in area_views.to_numpy() if v is not None and not v.is_empty]
        seen_a = shapely.union_all(nonempty_a) if nonempty_a else shapely.Polygon()
        pts = grid_points(geom, step)
        counts = seen_counts(pts, [area_views[c] for c in area_views.index if area_views[c].intersects(geom)])
        n = max(len(pts), 1)
        seen_by = {"0": float((counts == 0).sum() / n), "1": float((counts == 1).sum() / n),
                   "2": float((counts == 2).sum() / n), "3+": float((counts >= 3).sum() / n)}
        open_ground = shapely.difference(geom, built)
        blind = shapely.difference(open_ground, seen_a)
        parts = [p for p in shapely.get_parts(blind) if p.area >= OPEN_GROUND_MIN]
        blind = shapely.union_all(parts) if parts else shapely.Polygon()
        seen_area = shapely.intersection(geom, seen_a).area
        in_area = buildings[buildings.intersects(geom) & (buildings.intersection(geom).area > 0.5 * buildings.area)]
        areas[str(fid)] = AreaCoverage(
            id=str(fid),
            category=str(row.get("category") or "other"),
            area_m2=float(geom.area),
            seen_share=float(seen_area / geom.area) if geom.area else 0.0,
            open_ground_m2=float(open_ground.area),
            open_seen_share=float(1 - blind.area / open_ground.area) if open_ground.area else 1.0,
            seen_by=seen_by,
            cameras=sorted(str(c) for c in area_views.index
                           if area_views[c].intersects(geom) and area_views[c].intersection(geom).area > 0),
            blind_m2=float(blind.area),
            unwatched_buildings=sorted(str(b) for b in in_area.index if b not in indoor_cams),
            density=asked,
            blind_spots=blind,
        )
    paths = features.geometry[features["kind"].isin(PATH_KINDS)].to_numpy()
    total = float(shapely.length(paths).sum()) if len(paths) else 0.0
    seen_len = float(shapely.length(shapely.intersection(paths, seen)).sum()) if len(paths) else 0.0
    return CameraCoverage(views=views, areas=areas, footway_m=total, footway_seen_m=seen_len,
                          cameras=camera_table(features, settings))

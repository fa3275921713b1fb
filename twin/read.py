"""Read a campus file into one normalised, projected GeoDataFrame.

This is the one place geometry enters the model: it is read, checked against
the per-kind schema, made 2-D and valid, and projected to metres here, and
everything after trusts it.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pyproj
import shapely
from pydantic import ValidationError
from shapely.geometry.base import BaseGeometry

from twin.errors import CampusError, Problem
from twin.schema import COLUMNS, KINDS, LINE, POINT, POLYGON

GEOJSON_SUFFIXES = (".geojson", ".json")
_GEOM_TYPES = {
    POLYGON: ("Polygon", "MultiPolygon"),
    LINE: ("LineString", "MultiLineString"),
    POINT: ("Point",),
}


def resolve_campus_path(path: str | Path) -> Path:
    """Return the campus file for ``path``: the file itself, or ``campus.geojson`` in a folder."""
    p = Path(path)
    if p.is_dir():
        p = p / "campus.geojson"
    if not p.exists():
        msg = f"{path}: no such file (a campus is a vector file or a folder holding campus.geojson)"
        raise CampusError([Problem(str(path), msg.split(": ", 1)[1])])
    return p


def _read_geojson(path: Path) -> Any:
    try:
        return json.loads(path.read_bytes())
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise CampusError([Problem(str(path), f"not a GeoJSON file: {e}")]) from None


def _parse_geojson(doc: Any, src: str) -> tuple[list[dict[str, Any]], list[BaseGeometry | None], pyproj.CRS, str | None]:
    if not isinstance(doc, dict) or doc.get("type") != "FeatureCollection" or not isinstance(doc.get("features"), list):
        raise CampusError([Problem(src, "not a GeoJSON FeatureCollection (expected {\"type\": \"FeatureCollection\", \"features\": [...]})")])
    crs = pyproj.CRS.from_epsg(4326)
    named = (doc.get("crs") or {}).get("properties", {}).get("name") if isinstance(doc.get("crs"), dict) else None
    if named:
        try:
            crs = pyproj.CRS.from_user_input(named)
        except pyproj.exceptions.CRSError:
            raise CampusError([Problem(src, f"unknown crs '{named}'")]) from None
    props: list[dict[str, Any]] = []
    geoms: list[BaseGeometry | None] = []
    problems: list[Problem] = []
    for i, f in enumerate(doc["features"]):
        p = (f or {}).get("properties") or {} if isinstance(f, dict) else {}
        props.append(p if isinstance(p, dict) else {})
        g = f.get("geometry") if isinstance(f, dict) else None
        try:
            geoms.append(shapely.geometry.shape(g) if g else None)
        except (ValueError, TypeError, AttributeError, KeyError, shapely.errors.GEOSException) as e:
            problems.append(Problem(src, f"unreadable geometry: {e}", feature=str(p.get("id", f"#{i}")), field="geometry"))
            geoms.append(None)
    if problems:
        raise CampusError(problems)
    name = doc.get("name") if isinstance(doc.get("name"), str) else None
    return props, geoms, crs, name


def _read_other(path: Path) -> tuple[list[dict[str, Any]], list[BaseGeometry | None], pyproj.CRS | None]:
    import pyogrio

    try:
        gdf = gpd.read_file(path, engine="pyogrio")
    except (pyogrio.errors.DataSourceError, pyogrio.errors.DataLayerError, OSError, ValueError) as e:
        reason = str(e).splitlines()[0] if str(e) else type(e).__name__
        raise CampusError([Problem(str(path), f"not a vector file GDAL can read ({reason})")]) from None
    if not isinstance(gdf, gpd.GeoDataFrame) or "geometry" not in gdf:
        raise CampusError([Problem(str(path), "holds no vector geometry")])
    records = gdf.drop(columns="geometry").to_dict("records")
    props = [{k: _plain(v) for k, v in r.items() if _plain(v) is not None} for r in records]
    return props, list(gdf.geometry), gdf.crs


def _plain(v: Any) -> Any:
    """Turn numpy/pandas scalars from GDAL into plain Python values (NaN → None)."""
    if v is None:
        return None
    if isinstance(v, float) and math.isnan(v):
        return None
    if isinstance(v, np.generic):
        return _plain(v.item())
    return v


def _validate(src: str, props: list[dict[str, Any]], geoms: list[BaseGeometry | None]) -> tuple[list[dict[str, Any]], list[Problem]]:
    """Check every feature against its kind's model; return the normalised rows."""
    rows: list[dict[str, Any]] = []
    problems: list[Problem] = []
    seen: set[str] = set()
    for i, (p, g) in enumerate(zip(props, geoms, strict=True)):
        fid = str(p["id"]) if p.get("id") not in (None, "") else None
        label = fid or f"#{i} (no id)"
        if fid is None:
            problems.append(Problem(src, "missing required property 'id'", feature=label, field="id"))
            continue
        if fid in seen:
            problems.append(Problem(src, "duplicate id: another feature already has it", feature=fid, field="id"))
            continue
        seen.add(fid)
        kind = p.get("kind")
        if kind in (None, ""):
            problems.append(Problem(src, "missing required property 'kind'", feature=fid, field="kind"))
            continue
        if kind not in KINDS:
            problems.append(Problem(src, f"unknown kind '{kind}' (expected one of: {', '.join(KINDS)})", feature=fid, field="kind"))
            continue
        model, gtype = KINDS[kind]
        try:
            m = model.model_validate(p)
        except ValidationError as e:
            for err in e.errors():
                field = ".".join(str(x) for x in err["loc"]) or None
                if err["type"] == "missing":
                    msg = f"missing required property '{field}' for a {kind}"
                else:
                    msg = f"{err['msg']} (got {err.get('input')!r})"
                problems.append(Problem(src, msg, feature=fid, field=field))
            continue
        if g is None or g.is_empty:
            problems.append(Problem(src, f"a {kind} needs a {'/'.join(_GEOM_TYPES[gtype])} geometry, it has none", feature=fid, field="geometry"))
            continue
        if g.geom_type not in _GEOM_TYPES[gtype]:
            problems.append(Problem(src, f"a {kind} needs a {'/'.join(_GEOM_TYPES[gtype])} geometry, not {g.geom_type}", feature=fid, field="geometry"))
            continue
        row = m.model_dump()
        row["properties"] = {k: v for k, v in p.items()}
        row["geometry"] = g
        rows.append(row)
    return rows, problems


def _to_metres(src: str, gdf: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Project to a local metric CRS: UTM chosen from the data, or the file's own metric CRS."""
    crs = gdf.crs
    if crs is not None and crs.is_projected:
        unit = crs.axis_info[0].unit_name if crs.axis_info else ""
        if unit in ("metre", "meter"):
            return gdf
    if crs is None or crs.is_geographic:
        minx, miny, maxx, maxy = gdf.total_bounds
        if minx < -180 or maxx > 180 or miny < -90 or maxy > 90:
            msg = (
                f"coordinates ({minx:.0f}, {miny:.0f}) … ({maxx:.0f}, {maxy:.0f}) are not longitude/latitude; "
                "the file is probably in a projected CRS it does not declare (add a 'crs' to it)"
            )
            raise CampusError([Problem(src, msg, field="crs")])
        if crs is None:
            gdf = gdf.set_crs(4326)
    return gdf.to_crs(gdf.estimate_utm_crs())


def read_features(path: str | Path, *, doc: dict[str, Any] | None = None) -> tuple[gpd.GeoDataFrame, list[Problem]]:
    """Read, validate and project a campus file.

    Parameters
    ----------
    path : str or Path
        A vector file, or a folder holding ``campus.geojson``.
    doc : dict, optional
        The file's GeoJSON FeatureCollection as changed in memory (e.g. a
        traffic layout); read instead of the file, which names it in messages.

    Returns
    -------
    features : GeoDataFrame
        One row per feature, indexed by ``id``, in a metric CRS (metres), with
        one column per schema property and ``properties`` (the original
        mapping, for popups). ``attrs["name"]`` is the campus name: the
        GeoJSON's ``name`` member, else the folder or file name.
    warnings : list of Problem
        Suspicious but legal things.

    Raises
    ------
    CampusError
        Naming every feature and field that is wrong.
    """
    p = resolve_campus_path(path)
    src = str(p)
    if doc is not None or p.suffix.lower() in GEOJSON_SUFFIXES:
        props, geoms, crs, name = _parse_geojson(_read_geojson(p) if doc is None else doc, src)
    else:
        props, geoms, crs = _read_other(p)
        name = None
    if not props:
        raise CampusError([Problem(src, "holds no features")])
    rows, problems = _validate(src, props, geoms)
    if problems:
        raise CampusError(problems)
    gdf = gpd.GeoDataFrame(rows, geometry="geometry", crs=crs).set_index("id", drop=False)
    for col in COLUMNS:  # every schema property is a column, even when no feature sets it
        if col not in gdf:
            gdf[col] = None
    gdf.index.name = None
    warnings: list[Problem] = []
    geom = shapely.force_2d(gdf.geometry.values)
    invalid = ~shapely.is_valid(geom)
    for fid in gdf.index[invalid]:
        warnings.append(Problem(src, "invalid geometry (self-intersecting?) was repaired", feature=fid, field="geometry"))
    geom[invalid] = shapely.make_valid(geom[invalid])
    gdf = gdf.set_geometry(gpd.GeoSeries(geom, index=gdf.index, crs=gdf.crs))
    gdf = _to_metres(src, gdf)
    gdf.attrs["name"] = name or (p.parent.name if p.name == "campus.geojson" else p.stem)
    return gdf, warnings

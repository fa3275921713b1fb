"""Read a campus file into one normalised, projected GeoDataFrame.

This is the one place geometry enters the model: it is read, checked against
the per-kind schema, made 2-D and valid, and projected to metres here, and
everything after trusts it.
"""

from __future__ import annotations

import functools
import json
import math
import re
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pyproj
import shapely
from pydantic import ValidationError
from shapely.geometry.base import BaseGeometry

from twin.errors import CampusError, Problem
from twin.schema import COLUMNS, KINDS, LINE, OPENING, POINT, POLYGON

GEOJSON_SUFFIXES = (".geojson", ".json")
_GEOM_TYPES = {
    POLYGON: ("Polygon", "MultiPolygon"),
    LINE: ("LineString", "MultiLineString"),
    POINT: ("Point",),
    OPENING: ("Point", "LineString"),
}
_INT = re.compile(r"^\s*[+-]?\d+\s*$")


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
    crs_doc = doc.get("crs")
    if crs_doc is not None and not (isinstance(crs_doc, dict) and isinstance(crs_doc.get("properties"), dict)):
        raise CampusError([Problem(src, 'crs must be {"type": "name", "properties": {"name": "EPSG:…"}}, '
                                        f"got {json.dumps(crs_doc)[:80]}", field="crs")])
    named = crs_doc["properties"].get("name") if crs_doc is not None else None
    if named is not None and not isinstance(named, str):
        raise CampusError([Problem(src, f"crs name must be text such as \"EPSG:32650\", got {named!r}", field="crs")])
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
        p = p if isinstance(p, dict) else {}
        top = f.get("id") if isinstance(f, dict) else None
        if p.get("id") in (None, "") and isinstance(top, (str, int)) and not isinstance(top, bool) and top != "":
            p = {**p, "id": top}  # RFC 7946 §3.2: the feature's own identifier; a property id wins
        props.append(p)
        g = f.get("geometry") if isinstance(f, dict) else None
        try:
            geoms.append(shapely.geometry.shape(g) if g else None)
        except (ValueError, TypeError, AttributeError, KeyError, IndexError, shapely.errors.ShapelyError) as e:
            problems.append(Problem(src, f"unreadable geometry: {e}", feature=str(p.get("id", f"#{i}")), field="geometry"))
            geoms.append(None)
    if problems:
        raise CampusError(problems)
    name = doc.get("name") if isinstance(doc.get("name"), str) else None
    return props, geoms, crs, name


def _time_zone(src: str, name: Any) -> str:
    """The campus's IANA time zone (the GeoJSON's ``time_zone`` member), checked."""
    import zoneinfo

    try:
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, TypeError):
        raise CampusError([Problem(src, f"unknown time zone {name!r}: give an IANA name such as \"Asia/Shanghai\" "
                                        "or \"Europe/Helsinki\"", field="time_zone")]) from None
    return str(name)


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


def _level_names(src: str, props: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], list[Problem]]:
    """Turn level names (``"B1"``, ``"EG"``) into ordinals with the building's ``level_names``.

    A level given as an integer, or as text holding one (``"-1"``), is an
    ordinal already. Any other text is looked up in ``level_names`` of the
    building the feature names (exactly, then ignoring case). Returns the
    properties with names replaced (the input mappings are not changed).
    """
    names: dict[str, dict[str, int]] = {}
    for p in props:
        if p.get("kind") == "building" and p.get("id") not in (None, ""):
            table = p.get("level_names")
            if isinstance(table, str):
                try:
                    table = json.loads(table)
                except ValueError:
                    continue  # the building's own validation reports it
            if isinstance(table, dict):
                names[str(p["id"])] = {str(k).strip(): v for k, v in table.items() if isinstance(v, int) and not isinstance(v, bool)}
    problems: list[Problem] = []

    def ordinal(name: Any, p: dict[str, Any], fieldname: str) -> Any:
        if not isinstance(name, str) or _INT.match(name):
            return name
        table = names.get(str(p.get("building")), {})
        key = name.strip()
        if key in table:
            return table[key]
        folded = {k.casefold(): v for k, v in table.items()}
        if key.casefold() in folded:
            return folded[key.casefold()]
        known = ", ".join(f"{k!r} = {v}" for k, v in table.items()) or "none"
        problems.append(Problem(src, f"level {name!r} is not a level name of building '{p.get('building')}' (its level_names: "
                                f"{known}); give the level as an ordinal (0 = ground, -1 = first basement) or add the name "
                                "to the building's level_names", feature=str(p.get("id", "?")), field=fieldname))
        return name

    out: list[dict[str, Any]] = []
    for p in props:
        q = p
        if isinstance(p.get("level"), str):
            q = {**p, "level": ordinal(p["level"], p, "level")}
        levels = p.get("levels")
        if p.get("kind") == "stair" and isinstance(levels, list) and any(isinstance(v, str) for v in levels):
            q = {**q, "levels": [ordinal(v, p, "levels") for v in levels]}
        elif p.get("kind") == "stair" and isinstance(levels, str) and re.search(r"[^\d\s,;\[\]+-]", levels):
            q = {**q, "levels": [ordinal(v.strip(), p, "levels") for v in re.split(r"[;,]", levels) if v.strip()]}
        out.append(q)
    return out, problems


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
        if not isinstance(kind, str) or kind not in KINDS:
            problems.append(Problem(src, f"unknown kind {kind!r} (expected one of: {', '.join(KINDS)})", feature=fid, field="kind"))
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
    return gdf.to_crs(_utm_crs(gdf.crs.to_wkt(), tuple(float(v) for v in gdf.total_bounds)))


@functools.lru_cache(maxsize=256)
def _utm_crs(crs_wkt: str, bounds: tuple[float, ...]) -> pyproj.CRS:
    """The UTM CRS geopandas estimates for data of ``bounds`` (minx, miny, maxx, maxy) in the CRS ``crs_wkt``, kept.

    The estimate depends on the bounds alone and is a query of PROJ's database, ~90 ms each time: a file loaded
    again in the same process (the tests, a sweep or comparison loading one campus several times) asks once.
    """
    return gpd.GeoSeries([shapely.box(*bounds)], crs=crs_wkt).estimate_utm_crs()


def _openings(src: str, gdf: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Doors drawn as their opening (a LineString, in metres by now): the door is its midpoint.

    The line is kept in the ``opening`` column (for the wall check and maps);
    its length is the door's ``width`` unless the feature gives one.
    """
    gdf["opening"] = None
    lines = (gdf.kind == "door").to_numpy() & (gdf.geom_type == "LineString").to_numpy()
    if not lines.any():
        return gdf
    problems: list[Problem] = []
    geom = gdf.geometry.values.copy()
    for i in np.flatnonzero(lines):
        fid, line = gdf.index[i], geom[i]
        if not line.length > 0:
            problems.append(Problem(src, "a door drawn as a LineString (its opening) needs two distinct ends", feature=fid, field="geometry"))
            continue
        gdf.at[fid, "opening"] = line
        if _missing(gdf.at[fid, "width"]):
            gdf.at[fid, "width"] = float(line.length)
        geom[i] = line.interpolate(0.5, normalized=True)
    if problems:
        raise CampusError(problems)
    return gdf.set_geometry(gpd.GeoSeries(geom, index=gdf.index, crs=gdf.crs))


def _missing(v: Any) -> bool:
    return v is None or (isinstance(v, float) and math.isnan(v))


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
        mapping, for popups). A door drawn as a LineString has its midpoint
        as geometry, the line in ``opening`` and, unless given, its length as
        ``width``. ``attrs["name"]`` is the campus name: the
        GeoJSON's ``name`` member, else the folder or file name;
        ``attrs["time_zone"]`` its IANA time zone (the ``time_zone``
        member, default ``UTC``).
    warnings : list of Problem
        Suspicious but legal things.

    Raises
    ------
    CampusError
        Naming every feature and field that is wrong.
    """
    p = resolve_campus_path(path)
    src = str(p)
    zone = "UTC"
    if doc is not None or p.suffix.lower() in GEOJSON_SUFFIXES:
        raw = _read_geojson(p) if doc is None else doc
        props, geoms, crs, name = _parse_geojson(raw, src)
        zone = _time_zone(src, raw.get("time_zone", zone))
    else:
        props, geoms, crs = _read_other(p)
        name = None
    if not props:
        raise CampusError([Problem(src, "holds no features")])
    props, problems = _level_names(src, props)
    rows, more = _validate(src, props, geoms)
    problems += [p for p in more if (p.feature, p.field) not in {(q.feature, q.field) for q in problems}]
    if problems:
        raise CampusError(problems)
    gdf = gpd.GeoDataFrame(rows, geometry="geometry", crs=crs).set_index("id", drop=False)
    for col in COLUMNS:  # every schema property is a column, even when no feature sets it
        if col not in gdf:
            gdf[col] = None
    gdf.index.name = None
    warnings: list[Problem] = []
    geom = shapely.force_2d(gdf.geometry.values)
    flat = (gdf.kind == "door").to_numpy() & (shapely.get_type_id(geom) == 1) & (shapely.length(geom) == 0)
    if flat.any():  # checked before repair, which would turn the line into a point
        raise CampusError([Problem(src, "a door drawn as a LineString (its opening) needs two distinct ends", feature=fid,
                                   field="geometry") for fid in gdf.index[flat]])
    invalid = ~shapely.is_valid(geom)
    for fid in gdf.index[invalid]:
        warnings.append(Problem(src, "invalid geometry (self-intersecting?) was repaired", feature=fid, field="geometry"))
    geom[invalid] = shapely.make_valid(geom[invalid])
    gdf = gdf.set_geometry(gpd.GeoSeries(geom, index=gdf.index, crs=gdf.crs))
    gdf = _to_metres(src, gdf)
    gdf = _openings(src, gdf)
    gdf.attrs["name"] = name or (p.parent.name if p.name == "campus.geojson" else p.stem)
    gdf.attrs["time_zone"] = zone
    return gdf, warnings

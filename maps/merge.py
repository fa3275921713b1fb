"""Merge imported building interiors into a campus: one campus from several sources.

:func:`merge_campus` takes a **base** campus (an OpenStreetMap import or a
hand-made campus: footprints, paths, roads, gates, assembly areas) and one or
more **interior** campuses (what ``twin import-ifc``, ``import-imdf`` and
``import-dxf`` write, or any campus whose buildings have rooms, corridors,
stairs and doors), and writes one campus in which each interior replaces the
base building it belongs to.

Matching, for each interior building (one modelled inside, in id order):

1. an explicit pair from ``match`` (``{interior id: base id}``);
2. else a base building with the same id;
3. else the base building whose footprint overlaps it most, when their
   intersection over union (IoU) is at least ``min_overlap`` (0.5) and no
   other interior took it.

A matched building keeps the base building's id, name and other properties
(so scenarios and sensors that name it still work), takes the interior's
footprint (its rooms and doors are drawn against it), storeys (``levels``,
``lowest_level``, ``level_names``, ``level_height``), use and height, and loses
``levels_guessed``. The base building's own doors, rooms,
corridors and stairs go; the interior's come in, their ``building`` set to the
base id, their ids kept unless another feature has them already (then
``{base id}/{id}``). Doors that were exits of the interior stay exits
(``exit = true``). Another base building that lies at least half under a
merged footprint (OSM often maps one building as several) is removed, so its
occupants are not counted twice. Interior buildings nothing matched are
reported and left out, or added as new buildings with ``add_unmatched``.

The merged campus is written in the base campus's CRS, checked by loading it
(the loader joins every exit to the nearest ground-level footway, see
``docs/campus-format.md``), and only then moved into place: on any error
nothing is written. :class:`MergeSummary` reports what matched and how, what
could not be matched and why, what was removed or renamed, how far each merged
building's exits are from the path network, and any space that cannot reach an
assembly area.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pyproj
import shapely
from shapely.geometry import mapping, shape
from shapely.geometry.base import BaseGeometry

from twin.errors import CampusError, InputError, Problem
from twin.read import GEOJSON_SUFFIXES, resolve_campus_path

__all__ = ["MergeError", "MergeSummary", "merge_campus"]

INDOOR_KINDS = ("room", "corridor", "stair", "door")
"""Feature kinds that belong to a building's interior (replaced when an interior is merged in)."""
STOREY_KEYS = ("levels", "lowest_level", "level_names", "level_height", "occupants")
"""Properties a merged building takes from the interior, or drops when the interior has none (they describe the base's storeys)."""
BUILDING_KEYS = ("use", "height")
"""Properties a merged building takes from the interior when the interior sets them."""
MIN_OVERLAP = 0.5
"""Default smallest footprint intersection over union for a match by overlap."""
COVERED = 0.5
"""A base building at least this share of whose area lies under a merged footprint is removed."""


class MergeError(InputError):
    """A merge that cannot be done; ``problems`` name the file, the building and the reason."""


@dataclass(frozen=True)
class Match:
    """One interior building put into the base campus."""

    source: str
    interior: str
    base: str
    how: str
    """``match`` (given), ``id`` (same id) or ``overlap`` (by footprint)."""
    iou: float
    exits: int = 0
    joined_m: tuple[float, ...] = ()
    """Length (m) of the link from each joined exit to the path network."""
    unjoined: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {"source": self.source, "interior": self.interior, "base": self.base, "how": self.how,
                "iou": round(self.iou, 3), "exits": self.exits, "joined_m": [round(v, 1) for v in self.joined_m],
                "unjoined": self.unjoined}  # fmt: skip


@dataclass(frozen=True)
class MergeSummary:
    """What :func:`merge_campus` wrote.

    Attributes
    ----------
    path : Path
        The merged campus file (``out_dir/campus.geojson``).
    matched : list of Match
        Interior buildings put in, with how they matched and their exits' joins.
    unmatched : list of (source, interior id, reason)
        Interior buildings left out (or added as new, see ``added``).
    added : list of str
        Interior buildings added as new buildings (``add_unmatched``).
    removed : list of (base id, reason)
        Base buildings removed because a merged footprint covers them.
    renamed : dict of str to str
        Interior feature ids changed to keep ids unique (old → new).
    unreachable : list of str
        Spaces of merged buildings that cannot reach an assembly area.
    warnings : list of Problem
        The merged campus's load warnings that concern merged buildings.
    """

    path: Path
    matched: list[Match] = field(default_factory=list)
    unmatched: list[tuple[str, str, str]] = field(default_factory=list)
    added: list[str] = field(default_factory=list)
    removed: list[tuple[str, str]] = field(default_factory=list)
    renamed: dict[str, str] = field(default_factory=dict)
    unreachable: list[str] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        """The summary as a JSON-ready mapping."""
        return {
            "path": str(self.path),
            "matched": [m.as_dict() for m in self.matched],
            "unmatched": [{"source": s, "interior": i, "reason": r} for s, i, r in self.unmatched],
            "added": list(self.added),
            "removed": [{"base": b, "reason": r} for b, r in self.removed],
            "renamed": dict(self.renamed),
            "unreachable": list(self.unreachable),
            "warnings": [w.as_dict() for w in self.warnings],
        }


# --------------------------------------------------------------------------- reading


@dataclass
class _Source:
    """One input campus: its file, raw GeoJSON features (ids normalised), CRS and loaded model."""

    path: Path
    features: list[dict[str, Any]]
    crs: pyproj.CRS
    name: str | None
    campus: Any

    def by_id(self) -> dict[str, dict[str, Any]]:
        return {f["properties"]["id"]: f for f in self.features}


def _load(path: str | Path) -> _Source:
    """Load and validate a campus, and read its features as GeoJSON in the file's own CRS."""
    from twin.campus import load_campus

    campus = load_campus(path)  # CampusError names the file, feature and field
    p = resolve_campus_path(path)
    if p.suffix.lower() in GEOJSON_SUFFIXES:
        doc = json.loads(p.read_bytes())
        named = (doc.get("crs") or {}).get("properties", {}).get("name") if isinstance(doc.get("crs"), dict) else None
        crs = pyproj.CRS.from_user_input(named) if named else pyproj.CRS.from_epsg(4326)
        name = doc.get("name") if isinstance(doc.get("name"), str) else None
    else:  # any other vector file GDAL reads
        import geopandas as gpd

        gdf = gpd.read_file(p)
        doc, crs, name = json.loads(gdf.to_json(drop_id=True)), gdf.crs or pyproj.CRS.from_epsg(4326), None
    features = []
    for f in doc["features"]:
        props = dict(f.get("properties") or {})
        if props.get("id") in (None, "") and f.get("id") not in (None, ""):
            props["id"] = f["id"]  # RFC 7946's top-level id
        props["id"] = str(props["id"])
        features.append({"type": "Feature", "properties": props, "geometry": f.get("geometry")})
    return _Source(p, features, pyproj.CRS.from_user_input(crs), name, campus)


def _transformer(src: pyproj.CRS, dst: pyproj.CRS) -> Any:
    """A function moving a shapely geometry from ``src`` to ``dst`` (identity when they are the same)."""
    if src == dst:
        return lambda g: g
    tr = pyproj.Transformer.from_crs(src, dst, always_xy=True)

    def move(g: BaseGeometry) -> BaseGeometry:
        return shapely.transform(g, lambda xy: np.column_stack(tr.transform(xy[:, 0], xy[:, 1])))

    return move


# --------------------------------------------------------------------------- matching


def _iou(a: BaseGeometry, b: BaseGeometry) -> float:
    union = a.union(b).area
    return a.intersection(b).area / union if union > 0 else 0.0


def _modelled(src: _Source) -> list[str]:
    """Ids of the buildings of ``src`` that have rooms, corridors or stairs, in id order."""
    f = src.campus.features
    inside = set(f[f.kind.isin(("room", "corridor", "stair"))].building)
    return sorted(b for b in f.index[f.kind == "building"] if b in inside)


def _match(base: _Source, interiors: list[_Source], match: dict[str, str], min_overlap: float,
           ) -> tuple[list[Match], list[tuple[str, str, str]], dict[tuple[int, str], BaseGeometry]]:
    """Pair every interior building with a base building; return matches, misses and footprints in base metres."""
    bf = base.campus.features
    base_b = bf[bf.kind == "building"]
    tree = shapely.STRtree(base_b.geometry.values)
    taken: dict[str, str] = {}
    matched: list[Match] = []
    missed: list[tuple[str, str, str]] = []
    footprints: dict[tuple[int, str], BaseGeometry] = {}
    for k, src in enumerate(interiors):
        f = src.campus.features
        geoms = f.geometry[f.kind == "building"].to_crs(bf.crs)
        buildings = _modelled(src)
        for other in sorted(set(f.index[f.kind == "building"]) - set(buildings)):
            missed.append((str(src.path), other, "has no rooms, corridors or stairs: nothing to merge"))
        for bid in buildings:
            fp = geoms[bid]
            footprints[(k, bid)] = fp
            near = [(float(_iou(fp, base_b.geometry.iloc[i])), base_b.index[i]) for i in tree.query(fp)]
            best = max(near, default=(0.0, None))
            if bid in match:
                target, how = match[bid], "match"
                if target not in base_b.index:
                    missed.append((str(src.path), bid, f"--match names '{target}', which is not a building of {base.path}"))
                    continue
            elif bid in base_b.index:
                target, how = bid, "id"
            elif best[1] is not None and best[0] >= min_overlap:
                target, how = best[1], "overlap"
            else:
                why = (f"no building of {base.path} overlaps its footprint" if best[1] is None else
                       f"its best overlap, with '{best[1]}', is {best[0]:.0%} (at least {min_overlap:.0%} needed; "
                       f"or pass --match {bid}={best[1]})")
                missed.append((str(src.path), bid, why))
                continue
            if target in taken:
                missed.append((str(src.path), bid, f"'{target}' already takes the interior of '{taken[target]}'"))
                continue
            taken[target] = bid
            iou = _iou(fp, base_b.geometry[target])
            if how != "overlap" and iou == 0:
                missed.append((str(src.path), bid, f"matched '{target}' by {how}, but their footprints do not overlap "
                               "at all: is the interior georeferenced?"))
                del taken[target]
                continue
            matched.append(Match(str(src.path), bid, target, how, iou))
    return matched, missed, footprints


# --------------------------------------------------------------------------- writing


def _geometry(g: BaseGeometry, geographic: bool) -> dict[str, Any]:
    digits = 7 if geographic else 3

    def rounded(c: Any) -> Any:
        if isinstance(c, (list, tuple)) and c and isinstance(c[0], (int, float)):
            return [round(float(v), digits) for v in c[:2]]
        return [rounded(x) for x in c]

    m = mapping(shapely.force_2d(g))
    return {"type": m["type"], "coordinates": rounded(m["coordinates"])}


def merge_campus(
    base: str | Path,
    interiors: list[str | Path],
    out_dir: str | Path,
    *,
    match: dict[str, str] | None = None,
    min_overlap: float = MIN_OVERLAP,
    add_unmatched: bool = False,
) -> MergeSummary:
    """Put the interiors of imported buildings into a campus (``out_dir/campus.geojson``).

    Parameters
    ----------
    base : str or Path
        The campus to merge into (a file, or a folder holding ``campus.geojson``).
    interiors : list of str or Path
        Campuses whose buildings have rooms, corridors, stairs and doors.
    out_dir : str or Path
        Folder to write ``campus.geojson`` into; created if missing. An
        existing ``campus.geojson`` there (the base's own, say) is replaced
        only when the merged campus loads.
    match : dict of str to str, optional
        Interior building id → base building id, for pairs the ids and
        footprints do not find.
    min_overlap : float
        Smallest footprint intersection over union (0-1) for a match by overlap.
    add_unmatched : bool
        Add interior buildings that match nothing as new buildings.

    Returns
    -------
    MergeSummary

    Raises
    ------
    CampusError
        When an input campus does not load (naming the file and features).
    MergeError
        When nothing matched, ``match`` names unknown buildings, or the
        merged campus does not load; nothing is written then.
    """
    from twin.campus import load_campus

    if not interiors:
        raise MergeError([Problem(str(base), "no interior campus to merge in")])
    if not 0 < min_overlap <= 1:
        raise MergeError([Problem(str(base), f"min_overlap must be in (0, 1], got {min_overlap}")])
    match = dict(match or {})
    b = _load(base)
    ins = [_load(p) for p in interiors]
    known = {bid for src in ins for bid in _modelled(src)}
    unknown = sorted(set(match) - known)
    if unknown:
        raise MergeError([Problem(str(base), f"--match names '{u}', which is no building with rooms in "
                                  f"{', '.join(str(s.path) for s in ins)}") for u in unknown])
    matched, unmatched, footprints = _match(b, ins, match, min_overlap)
    new = [(k, bid) for k, src in enumerate(ins) for bid in _modelled(src)
           if add_unmatched and any(s == str(src.path) and i == bid for s, i, _ in unmatched)]
    if not matched and not new:
        problems = [Problem(s, f"building '{i}' not merged: {r}") for s, i, r in unmatched]
        raise MergeError(problems or [Problem(str(base), "nothing to merge")])

    geographic = b.crs.is_geographic
    bf = b.campus.features
    base_b = bf[bf.kind == "building"]
    replaced = {m.base for m in matched}
    removed: list[tuple[str, str]] = []
    merged_fp = {m.base: footprints[(next(k for k, s in enumerate(ins) if str(s.path) == m.source), m.interior)]
                 for m in matched}  # fmt: skip
    for k, bid in new:
        merged_fp[bid] = footprints[(k, bid)]
    for mid, fp in merged_fp.items():
        for other in base_b.index[base_b.intersects(fp)]:
            if other in replaced or other == mid or other in {r for r, _ in removed}:
                continue
            share = base_b.geometry[other].intersection(fp).area / max(base_b.geometry[other].area, 1e-9)
            if share >= COVERED:
                removed.append((other, f"{share:.0%} of it lies under the merged '{mid}'"))
    gone = replaced | {r for r, _ in removed}

    out_features: list[dict[str, Any]] = []
    for f in b.features:
        p = f["properties"]
        if p["id"] in gone and p.get("kind") == "building":
            continue
        if p.get("building") in gone and p.get("kind") in INDOOR_KINDS:
            continue
        out_features.append(f)
    ids = {f["properties"]["id"] for f in out_features}
    renamed: dict[str, str] = {}

    def put(src: _Source, interior: str, target: str, base_props: dict[str, Any] | None) -> None:
        raw = src.by_id()
        move = _transformer(src.crs, b.crs)
        exits = {n for n, d in src.campus.graph.nodes(data=True) if d.get("kind") == "door" and d.get("exit")
                 and d.get("building") == interior}  # fmt: skip
        props = dict(base_props) if base_props else {"id": target, "kind": "building"}
        props.pop("levels_guessed", None)
        ip = raw[interior]["properties"]
        for key in STOREY_KEYS:
            props.pop(key, None)
        for key in (*STOREY_KEYS, *BUILDING_KEYS):
            if ip.get(key) is not None:
                props[key] = ip[key]
        if not props.get("name") and ip.get("name"):
            props["name"] = ip["name"]
        props["interior_source"] = src.path.name if src.path.name != "campus.geojson" else src.path.parent.name
        props["interior_id"] = interior
        out_features.append({"type": "Feature", "properties": props,
                             "geometry": _geometry(move(shape(raw[interior]["geometry"])), geographic)})
        ids.add(target)
        for fid, f in raw.items():
            p = f["properties"]
            if p.get("building") != interior or p.get("kind") in (None, "building"):
                continue
            p = dict(p, building=target)
            new_id = fid if fid not in ids else f"{target}/{fid}"
            if new_id in ids:
                raise MergeError([Problem(str(src.path), f"cannot give feature '{fid}' a unique id ('{new_id}' is taken)",
                                          feature=fid, field="id")])
            if new_id != fid:
                renamed[f"{src.path}:{fid}"] = new_id
            p["id"] = new_id
            if fid in exits:
                p["exit"] = True
            ids.add(new_id)
            out_features.append({"type": "Feature", "properties": p,
                                 "geometry": _geometry(move(shape(f["geometry"])), geographic)})

    path_of = {str(s.path): s for s in ins}
    base_raw = b.by_id()
    for m in matched:
        put(path_of[m.source], m.interior, m.base, base_raw[m.base]["properties"])
    added: list[str] = []
    for k, bid in new:
        target = bid if bid not in ids else f"{ins[k].path.parent.name}/{bid}"
        put(ins[k], bid, target, None)
        added.append(target)

    doc: dict[str, Any] = {"type": "FeatureCollection"}
    if b.name:
        doc["name"] = b.name
    if not geographic:  # longitude/latitude needs no crs member (RFC 7946)
        epsg = b.crs.to_epsg()
        doc["crs"] = {"type": "name", "properties": {"name": f"urn:ogc:def:crs:EPSG::{epsg}" if epsg else b.crs.to_wkt()}}
    doc["features"] = [dict(f, id=f["properties"]["id"]) for f in out_features]

    out = Path(out_dir)
    made = not out.exists()
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise MergeError([Problem(str(out), f"cannot create the output folder ({e.strerror or e})")]) from None
    final = out / "campus.geojson"
    fd, tmp = tempfile.mkstemp(dir=out, prefix=".campus-merge-", suffix=".geojson")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(doc, fh, ensure_ascii=False, allow_nan=False)
            fh.write("\n")
        try:
            merged = load_campus(tmp)
        except CampusError as e:
            problems = [Problem(f"{final} (merged, not written)", p.message, p.feature, p.field) for p in e.problems]
            raise MergeError(problems) from None
        os.replace(tmp, final)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        if made:
            try:
                out.rmdir()
            except OSError:
                pass
        raise

    g = merged.graph
    mine = {m.base for m in matched} | set(added)
    report: list[Match] = []
    for m in matched:
        exits = [n for n, d in g.nodes(data=True) if d.get("building") == m.base and d["kind"] == "door" and d.get("exit")]
        links = sorted(d["length"] for e in exits for _, _, d in g.edges(e, data=True) if d["kind"] == "link")
        report.append(Match(m.source, m.interior, m.base, m.how, m.iou, len(exits), tuple(links), len(exits) - len(links)))
    unreachable = [n for n in merged.unreachable() if g.nodes[n].get("building") in mine]
    warnings = [Problem(str(final), w.message, w.feature, w.field) for w in merged.warnings
                if w.feature in g and g.nodes[w.feature].get("building") in mine]  # fmt: skip
    return MergeSummary(final, report, unmatched, added, removed, renamed, unreachable, warnings)


def parse_match(pairs: list[str]) -> dict[str, str]:
    """``["IFC-B1=osm-w123", ...]`` as ``{"IFC-B1": "osm-w123"}``; a malformed pair is a :class:`MergeError`."""
    out: dict[str, str] = {}
    for text in pairs:
        a, sep, b = text.partition("=")
        if not sep or not a.strip() or not b.strip():
            raise MergeError([Problem("--match", f"'{text}': expected INTERIOR_ID=BASE_ID")])
        out[a.strip()] = b.strip()
    return out

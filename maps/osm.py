"""Import a campus from OpenStreetMap data.

:func:`import_osm` reads an ``.osm.pbf`` or ``.osm`` XML file with pyosmium
(node locations and multipolygon assembly on) and writes a campus file,
``campus.geojson`` (RFC 7946, WGS 84), as ``docs/campus-format.md`` describes.
Every feature id names its OSM object: ``osm-w123`` (way), ``osm-r456``
(relation), ``osm-n789`` (node).

What is imported (everything else is ignored):

========================  ====================================================
kind                      from
========================  ====================================================
``building``              closed ways and multipolygons tagged ``building=*``
                          (not ``no``, ``roof``, ``ruins``, demolished, …);
                          ``levels`` from ``building:levels``, ``use`` from the
                          tags (see :func:`building_use`)
``door``                  nodes tagged ``entrance=*`` or ``door=*`` that are
                          nodes of a kept building's outline: level 0, an exit
``footway``               ``highway=footway|path|pedestrian|steps|cycleway|
                          bridleway|trail``
``crossing``              ``footway=crossing`` (or ``cycleway=``/``path=``),
                          ``highway=crossing`` ways
``road``                  ``highway=motorway|trunk|primary|secondary|tertiary``
                          (and ``*_link``), ``busway``, and minor streets whose
                          sidewalks are mapped separately (``sidewalk=separate``)
                          or that pedestrians may not use (``foot=no``);
                          ``speed_limit`` from a numeric ``maxspeed`` (mph
                          converted), ``oneway`` from ``oneway``/roundabouts
                          (``oneway=-1`` is reversed). A major road tagged
                          ``sidewalk=both|left|right|yes`` also gets a
                          ``footway`` along it (``osm-w{id}-sidewalk``), since
                          its sidewalks are not mapped as ways of their own
``shared``                ``highway=living_street|track``, and the minor
                          streets ``unclassified|residential|service|road``
                          where people walk on or beside the carriageway
                          (the usual case on a campus)
``gate``                  ``barrier=gate|lift_gate|entrance`` nodes on a kept
                          line; ``mode`` is ``vehicle`` for ``foot=no`` or a
                          lift gate without a ``foot`` permission,
                          ``pedestrian`` for ``motor_vehicle=no``/``vehicle=no``
                          or a gate only footways pass, else ``both``
``assembly``              ``emergency=assembly_point`` areas of any size, and
                          ``leisure=pitch|park`` areas of at least 2,000 m²
                          (every drill needs somewhere to gather, and OSM
                          rarely maps assembly points as areas)
========================  ====================================================

Lines keep their ``width`` when the tag is a plain number of metres. Ways are
not split; the campus loader nodes lines at junctions. A way cut by the edge
of an extract keeps its longest run of nodes that have locations. A
residential building counts as a dorm only inside an ``amenity=university``
or ``college`` area.

Useful source tags are kept as extra properties (shown in map popups):
buildings ``osm_building``, ``osm_amenity``, ``height`` (m), ``address``,
``operator``; lines ``osm_highway``; doors ``osm_entrance``; gates
``osm_barrier``; assembly areas ``osm_leisure`` and ``area_m2``.

With a ``bbox`` (W, S, E, N in degrees) only features whose geometry
intersects it are kept, whole (not clipped); doors and gates go with the
building or line they sit on.
"""

from __future__ import annotations

import json
import math
import os
import re
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import osmium
import pyproj
import shapely
from shapely.geometry import LineString, Point, box, mapping
from shapely.geometry.base import BaseGeometry

__all__ = ["ImportSummary", "OsmImportError", "building_use", "import_osm", "parse_bbox"]

Bbox = tuple[float, float, float, float]

FOOT_HIGHWAYS = frozenset({"footway", "path", "pedestrian", "steps", "cycleway", "bridleway", "trail"})
ROAD_HIGHWAYS = frozenset(
    {"motorway", "trunk", "primary", "secondary", "tertiary", "busway"}
    | {f"{h}_link" for h in ("motorway", "trunk", "primary", "secondary", "tertiary")}
)
MINOR_STREETS = frozenset({"unclassified", "residential", "service", "road"})
SHARED_HIGHWAYS = frozenset({"living_street", "track"})
SIDEWALKS = frozenset({"both", "left", "right", "yes"})
NOT_BUILDINGS = frozenset({"no", "roof", "ruins", "proposed", "demolished", "razed", "destroyed"})
GATE_BARRIERS = frozenset({"gate", "lift_gate", "entrance"})
ASSEMBLY_LEISURE = frozenset({"pitch", "park"})
MIN_ASSEMBLY_AREA = 2000.0
"""m²: smallest pitch or park imported as an assembly area."""
COORD_DIGITS = 7
"""Decimal places of written coordinates (1e-7° ≈ 1 cm)."""

_TAG_KEYS = ("building", "highway", "entrance", "door", "barrier", "leisure", "emergency", "amenity")
_YES = frozenset({"yes", "true", "1"})
_NUMBER = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*$")
_METRES = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(?:m|metres?|meters?)?\s*$", re.IGNORECASE)
_SPEED = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(km/h|kmh|kph|mph)?\s*$", re.IGNORECASE)
_GEOD = pyproj.Geod(ellps="WGS84")
_WKB = osmium.geom.WKBFactory()


class OsmImportError(ValueError):
    """OpenStreetMap input that cannot be imported; the message says which file and why."""


@dataclass(frozen=True)
class ImportSummary:
    """What :func:`import_osm` wrote.

    Attributes
    ----------
    source : Path
        The OSM file read.
    path : Path
        The campus file written (``out_dir/campus.geojson``).
    counts : dict of str to int
        Features written per kind (only kinds that occur).
    bbox : tuple of float or None
        The W, S, E, N box the import was limited to.
    skipped : int
        Matching OSM objects dropped for degenerate or incomplete geometry.
    seconds : float
        Wall time of the import.
    """

    source: Path
    path: Path
    counts: dict[str, int] = field(default_factory=dict)
    bbox: Bbox | None = None
    skipped: int = 0
    seconds: float = 0.0

    @property
    def total(self) -> int:
        """Number of features written."""
        return sum(self.counts.values())

    def as_dict(self) -> dict[str, Any]:
        """The summary as a JSON-ready mapping."""
        return {
            "source": str(self.source),
            "path": str(self.path),
            "counts": dict(self.counts),
            "total": self.total,
            "bbox": list(self.bbox) if self.bbox else None,
            "skipped": self.skipped,
            "seconds": round(self.seconds, 3),
        }


# --------------------------------------------------------------------------- bbox


def parse_bbox(text: str) -> Bbox:
    """Parse ``"W,S,E,N"`` (degrees) into a checked bounding box.

    Parameters
    ----------
    text : str
        Four comma-separated numbers: west, south, east, north.

    Returns
    -------
    tuple of float
        ``(west, south, east, north)``.

    Raises
    ------
    OsmImportError
        If it is not four numbers, is out of range, or has W >= E or S >= N.
    """
    parts = [p.strip() for p in str(text).split(",")]
    if len(parts) != 4:
        msg = f"bbox '{text}': expected four comma-separated numbers W,S,E,N (degrees), got {len(parts)} part(s)"
        raise OsmImportError(msg)
    try:
        values = tuple(float(p) for p in parts)
    except ValueError:
        msg = f"bbox '{text}': expected four numbers W,S,E,N (degrees)"
        raise OsmImportError(msg) from None
    return _check_bbox(values, f"bbox '{text}'")  # type: ignore[arg-type]


def _check_bbox(bbox: Any, label: str | None = None) -> Bbox:
    """Return ``bbox`` as four floats, or raise naming what is wrong with it."""
    label = label or f"bbox {bbox!r}"
    try:
        w, s, e, n = (float(v) for v in bbox)
    except (TypeError, ValueError):
        msg = f"{label}: expected four numbers W,S,E,N (degrees)"
        raise OsmImportError(msg) from None
    if not all(math.isfinite(v) for v in (w, s, e, n)):
        msg = f"{label}: every value must be a finite number"
        raise OsmImportError(msg)
    if not (-180 <= w <= 180 and -180 <= e <= 180):
        msg = f"{label}: longitudes W and E must lie in [-180, 180]"
        raise OsmImportError(msg)
    if not (-90 <= s <= 90 and -90 <= n <= 90):
        msg = f"{label}: latitudes S and N must lie in [-90, 90]"
        raise OsmImportError(msg)
    if w >= e:
        msg = f"{label}: west ({w}) must be less than east ({e}); the order is W,S,E,N"
        raise OsmImportError(msg)
    if s >= n:
        msg = f"{label}: south ({s}) must be less than north ({n}); the order is W,S,E,N"
        raise OsmImportError(msg)
    return (w, s, e, n)


# --------------------------------------------------------------------------- tags


def _number(text: str | None, pattern: re.Pattern[str] = _NUMBER) -> float | None:
    """A non-negative number from a tag value, or ``None`` for anything else."""
    m = pattern.match(text) if text else None
    return float(m.group(1)) if m else None


def _int_or_float(v: float) -> int | float:
    return int(v) if v == int(v) else v


def _levels(tags: dict[str, str]) -> int | None:
    """``building:levels`` as an int ≥ 1 ("3.5" → 3), or ``None`` for junk."""
    v = _number(tags.get("building:levels"))
    return int(v) if v is not None and v >= 1 else None


def _metres(text: str | None) -> int | float | None:
    """A positive length in metres ("3", "3.5 m"), or ``None`` (other units, junk)."""
    v = _number(text, _METRES)
    return _int_or_float(v) if v else None


def _speed(text: str | None) -> int | float | None:
    """``maxspeed`` in km/h when numeric ("30", "20 mph"), else ``None``."""
    m = _SPEED.match(text) if text else None
    if not m or float(m.group(1)) <= 0:
        return None
    v = float(m.group(1))
    return round(v * 1.609344, 1) if (m.group(2) or "").lower() == "mph" else _int_or_float(v)


def building_use(tags: dict[str, str], *, in_campus: bool = False) -> str:
    """The campus-format ``use`` of an OSM building.

    Parameters
    ----------
    tags : dict
        The building's OSM tags.
    in_campus : bool
        Whether it lies in an ``amenity=university|college`` area (makes
        residential buildings dorms).

    Returns
    -------
    str
        ``teaching``, ``library``, ``lab``, ``canteen``, ``admin``, ``dorm``,
        ``sports`` or ``other``.
    """
    b, a, leisure = tags.get("building"), tags.get("amenity"), tags.get("leisure")
    if a == "library" or b == "library":
        return "library"
    if a in {"canteen", "restaurant", "cafe", "food_court"}:
        return "canteen"
    if b in {"university", "college", "school"} or a in {"university", "college", "school"}:
        return "teaching"
    if b == "dormitory" or (in_campus and b in {"residential", "apartments"}):
        return "dorm"
    if b == "laboratory" or a == "research_institute":
        return "lab"
    if b in {"sports_hall", "sports_centre"} or leisure in {"sports_centre", "sports_hall"}:
        return "sports"
    if b in {"office", "government", "administration"}:
        return "admin"
    return "other"


def _line_kind(tags: dict[str, str]) -> str | None:
    """The outdoor line kind of a ``highway`` way, or ``None`` to skip it."""
    hw = tags.get("highway")
    if hw == "crossing" or "crossing" in (tags.get("footway"), tags.get("cycleway"), tags.get("path")):
        return "crossing"
    if hw in FOOT_HIGHWAYS:
        return "footway"
    if hw in SHARED_HIGHWAYS:
        return "shared"
    if hw in MINOR_STREETS:
        walkable = tags.get("sidewalk") != "separate" and tags.get("foot") not in ("no", "use_sidepath")
        return "shared" if walkable else "road"
    if hw in ROAD_HIGHWAYS:
        return "road"
    return None


def _has_sidewalk(tags: dict[str, str]) -> bool:
    """A road whose sidewalks are tagged on it rather than mapped as footways of their own."""
    return any(tags.get(k) in SIDEWALKS for k in ("sidewalk", "sidewalk:both", "sidewalk:left", "sidewalk:right"))


def _entrance(tags: dict[str, str]) -> str | None:
    """The ``entrance`` (or else ``door``) value of a node that is an entrance, else ``None``."""
    value = tags.get("entrance") or tags.get("door")
    return value if value and value != "no" else None


def _gate_mode(tags: dict[str, str], line_kinds: set[str]) -> str:
    """``vehicle``, ``pedestrian`` or ``both`` for a gate node (see the module docstring)."""
    foot = tags.get("foot")
    if foot == "no":
        return "vehicle"
    if "no" in (tags.get("motor_vehicle"), tags.get("vehicle")) or line_kinds <= {"footway"}:
        return "pedestrian"
    if tags.get("barrier") == "lift_gate" and foot not in {"yes", "designated", "permissive"}:
        return "vehicle"
    return "both"


# --------------------------------------------------------------------------- reading


@dataclass
class _Found:
    """Candidate features collected in one pass over the file."""

    buildings: list[tuple[str, BaseGeometry, dict[str, str], set[int]]] = field(default_factory=list)
    lines: list[tuple[str, str, BaseGeometry, dict[str, str], list[int]]] = field(default_factory=list)
    areas: list[tuple[str, BaseGeometry, dict[str, str]]] = field(default_factory=list)
    campuses: list[BaseGeometry] = field(default_factory=list)
    points: dict[int, tuple[Point, dict[str, str]]] = field(default_factory=dict)
    skipped: int = 0


def _open(source: Path) -> osmium.io.File:
    """Check ``source`` exists and looks like OSM data; return it as an osmium file."""
    if not source.exists():
        msg = f"{source}: no such file"
        raise OsmImportError(msg)
    if not source.is_file():
        msg = f"{source}: not a file (expected an .osm.pbf or .osm XML file)"
        raise OsmImportError(msg)
    with source.open("rb") as f:
        head = f.read(64)
    if not head:
        msg = f"{source}: the file is empty (expected an .osm.pbf or .osm XML file)"
        raise OsmImportError(msg)
    name = source.name.lower()
    if name.endswith((".pbf", ".osm", ".osm.gz", ".osm.bz2", ".o5m", ".opl")):
        return osmium.io.File(str(source))
    if head.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"<"):
        return osmium.io.File(str(source), "osm")
    if b"OSMHeader" in head:
        return osmium.io.File(str(source), "pbf")
    msg = f"{source}: not an OSM file (expected an .osm.pbf or .osm XML file)"
    raise OsmImportError(msg)


def _polygonal(geom: BaseGeometry) -> BaseGeometry | None:
    """``geom`` as a valid Polygon or MultiPolygon, or ``None`` when degenerate."""
    if not geom.is_valid:
        geom = shapely.make_valid(geom)
    polys = [p for p in shapely.get_parts(geom) if p.geom_type == "Polygon" and not p.is_empty and p.area > 0]
    if not polys:
        return None
    out = polys[0] if len(polys) == 1 else shapely.MultiPolygon(polys)
    return shapely.orient_polygons(out)  # RFC 7946: exterior rings counter-clockwise


def _read(file: osmium.io.File, source: Path) -> _Found:
    """One pass over the file collecting every candidate feature."""
    found = _Found()
    fp = osmium.FileProcessor(file).with_areas().with_filter(osmium.filter.KeyFilter(*_TAG_KEYS))
    try:
        for obj in fp:
            tags = dict(obj.tags)
            try:
                if obj.is_node():
                    if tags.get("barrier") in GATE_BARRIERS or _entrance(tags):
                        found.points[obj.id] = (Point(obj.location.lon, obj.location.lat), tags)
                elif obj.is_way():
                    kind = _line_kind(tags)
                    if kind is not None:
                        line = _way_line(obj)
                        if line is None:
                            found.skipped += 1
                        else:
                            found.lines.append((f"osm-w{obj.id}", kind, line[0], tags, line[1]))
                            if kind == "road" and _has_sidewalk(tags):
                                found.lines.append((f"osm-w{obj.id}-sidewalk", "footway", line[0], tags, line[1]))
                elif obj.is_area():
                    _read_area(obj, tags, found)
            except (osmium.InvalidLocationError, RuntimeError, shapely.errors.GEOSException):
                found.skipped += 1  # missing node locations, or a degenerate area
    except RuntimeError as e:
        msg = f"{source}: not a readable OSM file ({e})"
        raise OsmImportError(msg) from None
    return found


def _way_line(way: Any) -> tuple[LineString, list[int]] | None:
    """A way's line and node ids, or ``None`` if degenerate.

    A way cut by the edge of an extract (nodes without locations) keeps its
    longest run of located nodes.
    """
    runs: list[list[tuple[float, float, int]]] = [[]]
    for n in way.nodes:
        if n.location.valid():
            xy = (n.location.lon, n.location.lat)
            if not runs[-1] or runs[-1][-1][:2] != xy:
                runs[-1].append((*xy, n.ref))
        elif runs[-1]:
            runs.append([])
    run = max(runs, key=len)
    if len(run) < 2:
        return None
    return LineString([r[:2] for r in run]), [r[2] for r in run]


def _read_area(area: Any, tags: dict[str, str], found: _Found) -> None:
    """Collect a building, assembly or campus area."""
    is_building = tags.get("building", "no") not in NOT_BUILDINGS
    is_assembly = tags.get("emergency") == "assembly_point" or tags.get("leisure") in ASSEMBLY_LEISURE
    is_campus = tags.get("amenity") in {"university", "college"} and "building" not in tags
    if not (is_building or is_assembly or is_campus):
        return
    geom = _polygonal(shapely.from_wkb(_WKB.create_multipolygon(area)))
    if geom is None:
        found.skipped += 1
        return
    fid = f"osm-{'w' if area.from_way() else 'r'}{area.orig_id()}"
    if is_building:
        ring_nodes = {n.ref for outer in area.outer_rings() for ring in (outer, *area.inner_rings(outer)) for n in ring}
        found.buildings.append((fid, geom, tags, ring_nodes))
    elif is_assembly:
        found.areas.append((fid, geom, tags))
    else:
        found.campuses.append(geom)


# --------------------------------------------------------------------------- features


def _props(fid: str, kind: str, tags: dict[str, str], **extra: Any) -> dict[str, Any]:
    """Feature properties: id, kind, name (if tagged), then ``extra`` without ``None`` values."""
    props: dict[str, Any] = {"id": fid, "kind": kind}
    if tags.get("name"):
        props["name"] = tags["name"]
    props.update({k: v for k, v in extra.items() if v is not None})
    return props


def _address(tags: dict[str, str]) -> str | None:
    street, number = tags.get("addr:street"), tags.get("addr:housenumber")
    return " ".join(p for p in (street, number) if p) or None


def _features(found: _Found, bbox: Bbox | None) -> list[tuple[dict[str, Any], BaseGeometry]]:
    """Turn the candidates into campus features, limited to ``bbox``."""
    area = box(*bbox) if bbox else None
    keep = (lambda g: True) if area is None else area.intersects
    campuses = shapely.union_all(found.campuses) if found.campuses else None
    out: list[tuple[dict[str, Any], BaseGeometry]] = []

    door_of: dict[int, str] = {}
    for fid, geom, tags, ring_nodes in sorted(found.buildings, key=lambda b: _osm_order(b[0])):
        if not keep(geom):
            continue
        in_campus = campuses is not None and campuses.intersects(geom.representative_point())
        props = _props(
            fid, "building", tags,
            levels=_levels(tags),
            use=building_use(tags, in_campus=in_campus),
            osm_building=tags["building"],
            osm_amenity=tags.get("amenity"),
            height=_metres(tags.get("height")),
            address=_address(tags),
            operator=tags.get("operator"),
        )  # fmt: skip
        out.append((props, geom))
        for ref in ring_nodes:
            door_of.setdefault(ref, fid)

    kinds_at: dict[int, set[str]] = {}
    for fid, kind, geom, tags, refs in sorted(found.lines, key=lambda w: _osm_order(w[0])):
        if not keep(geom):
            continue
        vehicles = kind in ("road", "shared")
        oneway = tags.get("oneway", "")
        if vehicles and oneway in ("-1", "reverse"):
            geom = geom.reverse()
        is_oneway = oneway in _YES or oneway in ("-1", "reverse") or tags.get("junction") == "roundabout"
        props = _props(
            fid, kind, tags,
            width=_metres(tags.get("width")),
            speed_limit=_speed(tags.get("maxspeed")) if vehicles else None,
            oneway=True if vehicles and is_oneway and oneway != "no" else None,
            osm_highway=tags["highway"],
        )  # fmt: skip
        out.append((props, geom))
        for ref in refs:
            kinds_at.setdefault(ref, set()).add(kind)

    for nid, (point, tags) in sorted(found.points.items()):
        fid = f"osm-n{nid}"
        if nid in door_of and _entrance(tags):
            props = _props(
                fid, "door", tags,
                building=door_of[nid], level=0, exit=True,
                width=_metres(tags.get("width")),
                osm_entrance=_entrance(tags),
            )  # fmt: skip
            out.append((props, point))
        elif nid in kinds_at and tags.get("barrier") in GATE_BARRIERS:
            props = _props(
                fid, "gate", tags,
                mode=_gate_mode(tags, kinds_at[nid]),
                width=_metres(tags.get("width")),
                osm_barrier=tags["barrier"],
            )  # fmt: skip
            out.append((props, point))

    for fid, geom, tags in sorted(found.areas, key=lambda a: _osm_order(a[0])):
        if not keep(geom):
            continue
        m2 = abs(_GEOD.geometry_area_perimeter(geom)[0])
        if tags.get("emergency") != "assembly_point" and m2 < MIN_ASSEMBLY_AREA:
            continue
        props = _props(fid, "assembly", tags, osm_leisure=tags.get("leisure"), area_m2=round(m2, 1))
        out.append((props, geom))
    return out


def _osm_order(fid: str) -> tuple[str, int, str]:
    """Sort key of an ``osm-w123`` (or ``osm-w123-sidewalk``) id: type letter, number, suffix."""
    number, _, suffix = fid[5:].partition("-")
    return fid[4], int(number), suffix


# --------------------------------------------------------------------------- writing


def _rounded(coords: Any) -> Any:
    if isinstance(coords, (list, tuple)) and coords and isinstance(coords[0], (int, float)):
        return [round(float(c), COORD_DIGITS) for c in coords[:2]]
    return [_rounded(c) for c in coords]


def _write(features: list[tuple[dict[str, Any], BaseGeometry]], path: Path) -> None:
    """Write the FeatureCollection to ``path`` atomically (temp file + rename)."""
    geojson = {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "id": props["id"],
                "properties": props,
                "geometry": {"type": geom.geom_type, "coordinates": _rounded(mapping(geom)["coordinates"])},
            }
            for props, geom in features
        ],
    }
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(geojson, f, ensure_ascii=False, allow_nan=False)
            f.write("\n")
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def import_osm(source: str | Path, out_dir: str | Path, *, bbox: Bbox | None = None) -> ImportSummary:
    """Import an OpenStreetMap file as a campus (``out_dir/campus.geojson``).

    Parameters
    ----------
    source : str or Path
        An ``.osm.pbf`` or ``.osm`` XML file (``.osm.gz``/``.osm.bz2`` work too).
    out_dir : str or Path
        Folder to write ``campus.geojson`` into; created if missing. An
        existing ``campus.geojson`` is replaced atomically.
    bbox : tuple of float, optional
        ``(west, south, east, north)`` in degrees; only features that
        intersect it are kept (see :func:`parse_bbox`).

    Returns
    -------
    ImportSummary
        Counts per kind and the path written.

    Raises
    ------
    OsmImportError
        For a missing, empty or unreadable file, a malformed bbox, or when
        nothing campus-like is found (in the bbox).
    """
    start = time.perf_counter()
    source = Path(source)
    box_ = _check_bbox(bbox) if bbox is not None else None
    found = _read(_open(source), source)
    features = _features(found, box_)
    if not features:
        msg = f"{source}: no buildings, paths, roads or gates found"
        if box_ is not None:
            msg += f" in bbox {','.join(f'{v:g}' for v in box_)}"
            extent = _extent(found)
            if extent is not None:
                msg += f" (the file's features lie in {','.join(f'{v:.6f}' for v in extent)})"
        raise OsmImportError(msg)
    out = Path(out_dir)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        msg = f"{out}: cannot create the output folder ({e.strerror or e})"
        raise OsmImportError(msg) from None
    path = out / "campus.geojson"
    try:
        _write(features, path)
    except OSError as e:
        msg = f"{path}: cannot write the campus file ({e.strerror or e})"
        raise OsmImportError(msg) from None
    counts = Counter(props["kind"] for props, _ in features)
    return ImportSummary(
        source=source,
        path=path,
        counts=dict(sorted(counts.items())),
        bbox=box_,
        skipped=found.skipped,
        seconds=time.perf_counter() - start,
    )


def _extent(found: _Found) -> Bbox | None:
    """W, S, E, N of every candidate building and line (for error messages)."""
    geoms = [b[1] for b in found.buildings] + [w[2] for w in found.lines]
    if not geoms:
        return None
    return tuple(float(v) for v in shapely.total_bounds(geoms))  # type: ignore[return-value]

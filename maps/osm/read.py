"""One pass over an OpenStreetMap file collecting the candidate features (pyosmium)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import osmium
import shapely
from shapely.geometry import LineString, Point
from shapely.geometry.base import BaseGeometry

from maps.osm.tags import (ASSEMBLY_LEISURE, GATE_BARRIERS, INDOOR_KINDS, NOT_BUILDINGS, OsmImportError, entrance_value,
                           has_sidewalk, line_kind)

TAG_KEYS = ("building", "building:part", "highway", "indoor", "entrance", "door", "barrier", "leisure", "emergency",
            "amenity")
"""Keys of the objects worth reading (pyosmium's filter)."""
_WKB = osmium.geom.WKBFactory()


@dataclass
class Found:
    """Candidate features collected in one pass over the file."""

    buildings: list[tuple[str, BaseGeometry, dict[str, str], set[int]]] = field(default_factory=list)
    parts: list[tuple[str, BaseGeometry, dict[str, str]]] = field(default_factory=list)
    spaces: list[tuple[str, BaseGeometry, dict[str, str], set[int]]] = field(default_factory=list)
    lines: list[tuple[str, str, BaseGeometry, dict[str, str], list[int]]] = field(default_factory=list)
    areas: list[tuple[str, BaseGeometry, dict[str, str]]] = field(default_factory=list)
    campuses: list[BaseGeometry] = field(default_factory=list)
    points: dict[int, tuple[Point, dict[str, str]]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    skips: list[str] = field(default_factory=list)

    @property
    def skipped(self) -> int:
        """Candidates dropped for degenerate or incomplete geometry."""
        return len(self.skips)

    def skip(self, fid: str, why: str) -> None:
        """Drop a candidate whose geometry cannot be used, with a note naming it."""
        self.skips.append(f"{fid}: {why}; skipped")


def open_osm(source: Path) -> osmium.io.File:
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


def polygonal(geom: BaseGeometry) -> BaseGeometry | None:
    """``geom`` as a valid Polygon or MultiPolygon, or ``None`` when degenerate."""
    if not geom.is_valid:
        geom = shapely.make_valid(geom)
    polys = [p for p in shapely.get_parts(geom) if p.geom_type == "Polygon" and not p.is_empty and p.area > 0]
    if not polys:
        return None
    out = polys[0] if len(polys) == 1 else shapely.MultiPolygon(polys)
    return shapely.orient_polygons(out)  # RFC 7946: exterior rings counter-clockwise


def read_osm(file: osmium.io.File, source: Path) -> Found:
    """One pass over the file collecting every candidate feature."""
    found = Found()
    fp = osmium.FileProcessor(file).with_areas().with_filter(osmium.filter.KeyFilter(*TAG_KEYS))
    try:
        for obj in fp:
            tags = dict(obj.tags)
            if obj.is_node():
                if tags.get("barrier") in GATE_BARRIERS or entrance_value(tags):
                    try:
                        found.points[obj.id] = (Point(obj.location.lon, obj.location.lat), tags)
                    except osmium.InvalidLocationError:
                        found.skip(f"osm-n{obj.id}", "the node has no location")
            elif obj.is_way():
                kind = line_kind(tags)
                if kind is not None:
                    line = way_line(obj)
                    if line is None:
                        found.skip(f"osm-w{obj.id}", f"highway={tags['highway']} has fewer than two nodes with locations "
                                   "(cut by the edge of the extract?)")
                    else:
                        found.lines.append((f"osm-w{obj.id}", kind, line[0], tags, line[1]))
                        if kind == "road" and has_sidewalk(tags):
                            found.lines.append((f"osm-w{obj.id}-sidewalk", "footway", line[0], tags, line[1]))
            elif obj.is_area():
                _read_area(obj, tags, found)
    except RuntimeError as e:
        msg = f"{source}: not a readable OSM file ({e})"
        raise OsmImportError(msg) from None
    return found


def way_line(way: Any) -> tuple[LineString, list[int]] | None:
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


def _read_area(area: Any, tags: dict[str, str], found: Found) -> None:
    """Collect a building, building part, indoor space, assembly or campus area."""
    is_building = tags.get("building", "no") not in NOT_BUILDINGS
    is_part = not is_building and tags.get("building:part", "no") not in NOT_BUILDINGS
    is_space = tags.get("indoor") in INDOOR_KINDS
    is_assembly = tags.get("emergency") == "assembly_point" or tags.get("leisure") in ASSEMBLY_LEISURE
    is_campus = tags.get("amenity") in {"university", "college"} and "building" not in tags
    if not (is_building or is_part or is_space or is_assembly or is_campus):
        return
    fid = f"osm-{'w' if area.from_way() else 'r'}{area.orig_id()}"
    try:
        geom = polygonal(shapely.from_wkb(_WKB.create_multipolygon(area)))
        rings = [ring for outer in area.outer_rings() for ring in (outer, *area.inner_rings(outer))]
        ring_nodes = {n.ref for ring in rings for n in ring}
    except (osmium.InvalidLocationError, RuntimeError, shapely.errors.GEOSException):
        geom = None
    if geom is None:
        if not is_part:
            what = next(f"{k}={tags[k]}" for k in ("building", "indoor", "leisure", "emergency", "amenity") if k in tags)
            found.skip(fid, f"{what} is not a valid area (nodes missing from the extract, or degenerate)")
        return
    if is_building:
        found.buildings.append((fid, geom, tags, ring_nodes))
    elif is_part:
        found.parts.append((fid, geom, tags))
    elif is_space:
        found.spaces.append((fid, geom, tags, ring_nodes))
    elif is_assembly:
        found.areas.append((fid, geom, tags))
    else:
        found.campuses.append(geom)

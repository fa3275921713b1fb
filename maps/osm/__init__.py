"""Import a campus from OpenStreetMap data.

:func:`import_osm` reads an ``.osm.pbf`` or ``.osm`` XML file with pyosmium
(node locations and multipolygon assembly on) and writes a campus file,
``campus.geojson`` (RFC 7946, WGS 84), as ``docs/campus-format.md`` describes.
Every feature id names its OSM object: ``osm-w123`` (way), ``osm-r456``
(relation), ``osm-n789`` (node). ``docs/import.md`` explains each rule with
examples.

What is imported (everything else is ignored):

========================  ====================================================
kind                      from
========================  ====================================================
``building``              closed ways and multipolygons tagged ``building=*``
                          (not ``no``, ``roof``, ``ruins``, demolished, …);
                          ``levels`` from ``building:levels`` and its
                          ``building:part`` areas (the storeys that hold their
                          floor area on the footprint); with neither, a guess
                          (``height`` ÷ ``storey_height``, else 1 storey) and
                          ``levels_guessed = true``, which ``twin info`` warns
                          about; ``use`` from the tags (see :func:`building_use`)
``room``, ``corridor``,   ``indoor=room|corridor|area`` areas with a ``level``
``stair``                 inside a kept building (``area`` → corridor; a room
                          tagged ``room=stairs`` or ``stairs=yes`` on two or
                          more levels → stair; ``repeat_on`` repeats a space on
                          more levels), when they model every level of the
                          building and every room has a way out (checked with
                          the campus loader); otherwise the building keeps a
                          generated interior and a note says why
``door``                  nodes tagged ``entrance=*`` or ``door=*`` on a kept
                          building's outline (an exit at level 0) or on the
                          outline of its rooms and corridors (at their level);
                          ``width`` from ``width`` or ``door:width``.
                          ``entrance=service|garage|entry`` and private
                          entrances (``access=private|no``) are not exits unless
                          tagged as emergency exits (``entrance=emergency``,
                          ``emergency=yes``); on a building with a generated
                          interior they are left out (its doors are its exits)
``footway``               ``highway=footway|path|pedestrian|steps|cycleway|
                          bridleway|trail``; steps get ``steps = true``
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

Every line is written ``noded = true`` with its ``layer`` (the ``layer`` tag,
else 1 on a bridge and -1 in a tunnel): the campus loader then joins two of
them only at the OSM nodes they share (on different layers only where one of
them ends), never where a bridge or tunnel merely passes over or under a
street. Lines keep their ``width`` when the tag is a plain number of metres.
Ways are not split. A way cut by the edge of an extract keeps its longest run
of nodes that have locations. A residential building counts as a dorm only
inside an ``amenity=university`` or ``college`` area.

Useful source tags are kept as extra properties (shown in map popups):
buildings ``osm_building``, ``osm_amenity``, ``height`` (m), ``address``,
``operator``; lines ``osm_highway``, ``osm_bridge``, ``osm_tunnel``; doors
``osm_entrance``; rooms ``osm_room``; gates ``osm_barrier``; assembly areas
``osm_leisure`` and ``area_m2``.

With a ``bbox`` (W, S, E, N in degrees) only features whose geometry
intersects it are kept, whole (not clipped); doors, gates and rooms go with
the building or line they belong to.

What was left out or guessed, and why, is listed in
:attr:`ImportSummary.notes`, each note naming the OSM object.

The package: ``tags`` (every tag rule), ``read`` (the one pass over the
file), ``features`` (candidates to campus features, storeys), ``indoor``
(rooms, corridors, stairs and doors, checked with the campus loader),
``write`` (the GeoJSON file).
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import shapely

from maps.osm.features import build_features
from maps.osm.read import Found, open_osm, read_osm
from maps.osm.tags import Bbox, OsmImportError, building_use, check_bbox, parse_bbox
from maps.osm.write import write_geojson

__all__ = ["ImportSummary", "OsmImportError", "building_use", "import_osm", "parse_bbox"]


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
    levels_guessed : int
        Buildings written with ``levels_guessed`` (no ``building:levels`` on
        them or their parts: the storeys are a guess).
    not_exits : int
        Entrances that are not exits (service, garage, entry-only, private).
    notes : tuple of str
        What was left out, changed or guessed, one note per OSM object,
        each starting with its id (``osm-w123: ...``).
    """

    source: Path
    path: Path
    counts: dict[str, int] = field(default_factory=dict)
    bbox: Bbox | None = None
    skipped: int = 0
    seconds: float = 0.0
    levels_guessed: int = 0
    not_exits: int = 0
    notes: tuple[str, ...] = ()

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
            "levels_guessed": self.levels_guessed,
            "not_exits": self.not_exits,
            "notes": list(self.notes),
            "seconds": round(self.seconds, 3),
        }


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
    box_ = check_bbox(bbox) if bbox is not None else None
    found = read_osm(open_osm(source), source)
    features, guessed, not_exits = build_features(found, box_, source)
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
        write_geojson(features, path)
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
        levels_guessed=guessed,
        not_exits=not_exits,
        notes=(*found.notes, *found.skips),  # what the planner should read first, then broken geometry
    )


def _extent(found: Found) -> Bbox | None:
    """W, S, E, N of every candidate building and line (for error messages)."""
    geoms = [b[1] for b in found.buildings] + [w[2] for w in found.lines]
    if not geoms:
        return None
    return tuple(float(v) for v in shapely.total_bounds(geoms))  # type: ignore[return-value]

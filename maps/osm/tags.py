"""OpenStreetMap tags read as campus properties: kinds, numbers, levels, entrances, layers, the bounding box."""

from __future__ import annotations

import math
import re
from typing import Any

import pyproj

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
NOT_EXIT_ENTRANCES = frozenset({"service", "garage", "entry"})
"""``entrance=*`` values that are not exits (goods and car doors; ``entry``: a way in only)."""
PRIVATE = frozenset({"private", "no"})
"""``access=*`` values of an entrance that is not an exit."""
INDOOR_KINDS = {"room": "room", "corridor": "corridor", "area": "corridor"}
"""``indoor=*`` → campus kind (an ``area`` is an open hall or lobby people pass through)."""
ROOM_USE = {
    **dict.fromkeys(("class", "classroom", "seminar", "computer"), "classroom"),
    **dict.fromkeys(("lecture", "lecture_hall", "auditorium"), "lecture"),
    **dict.fromkeys(("office", "conference", "meeting", "administration", "reception"), "office"),
    **dict.fromkeys(("laboratory", "lab"), "lab"),
    "library": "library",
    **dict.fromkeys(("restaurant", "canteen", "cafe", "dining", "cafeteria"), "dining"),
    **dict.fromkeys(("bedroom", "dormitory"), "dorm_room"),
    **dict.fromkeys(("sport", "sports", "gym", "gymnasium"), "gym"),
    **dict.fromkeys(("storage", "technical", "store"), "storage"),
}
"""OSM ``room=*`` → campus room ``use`` (anything else: ``other``)."""

YES = frozenset({"yes", "true", "1"})
_NUMBER = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*$")
_METRES = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(?:m|metres?|meters?)?\s*$", re.IGNORECASE)
_SPEED = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(km/h|kmh|kph|mph)?\s*$", re.IGNORECASE)
_INT = re.compile(r"^\s*(-?\d+)\s*$")
_RANGE = re.compile(r"^\s*(-?\d+)\s*-\s*(-?\d+)\s*$")
GEOD = pyproj.Geod(ellps="WGS84")
"""Areas of assembly areas on the ellipsoid (m²)."""


class OsmImportError(ValueError):
    """OpenStreetMap input that cannot be imported; the message says which file and why."""


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
    return check_bbox(values, f"bbox '{text}'")  # type: ignore[arg-type]


def check_bbox(bbox: Any, label: str | None = None) -> Bbox:
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


def number(text: str | None, pattern: re.Pattern[str] = _NUMBER) -> float | None:
    """A non-negative number from a tag value, or ``None`` for anything else."""
    m = pattern.match(text) if text else None
    return float(m.group(1)) if m else None


def int_or_float(v: float) -> int | float:
    return int(v) if v == int(v) else v


def building_levels(tags: dict[str, str]) -> int | None:
    """``building:levels`` as an int ≥ 1 ("3.5" → 3), or ``None`` for junk."""
    v = number(tags.get("building:levels"))
    return int(v) if v is not None and v >= 1 else None


def metres(text: str | None) -> int | float | None:
    """A positive length in metres ("3", "3.5 m"), or ``None`` (other units, junk)."""
    v = number(text, _METRES)
    return int_or_float(v) if v else None


def speed(text: str | None) -> int | float | None:
    """``maxspeed`` in km/h when numeric ("30", "20 mph"), else ``None``."""
    m = _SPEED.match(text) if text else None
    if not m or float(m.group(1)) <= 0:
        return None
    v = float(m.group(1))
    return round(v * 1.609344, 1) if (m.group(2) or "").lower() == "mph" else int_or_float(v)


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


def line_kind(tags: dict[str, str]) -> str | None:
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


def has_sidewalk(tags: dict[str, str]) -> bool:
    """A road whose sidewalks are tagged on it rather than mapped as footways of their own."""
    return any(tags.get(k) in SIDEWALKS for k in ("sidewalk", "sidewalk:both", "sidewalk:left", "sidewalk:right"))


def entrance_value(tags: dict[str, str]) -> str | None:
    """The ``entrance`` (or else ``door``) value of a node that is an entrance, else ``None``."""
    value = tags.get("entrance") or tags.get("door")
    return value if value and value != "no" else None


def gate_mode(tags: dict[str, str], line_kinds: set[str]) -> str:
    """``vehicle``, ``pedestrian`` or ``both`` for a gate node (see the module docstring)."""
    foot = tags.get("foot")
    if foot == "no":
        return "vehicle"
    if "no" in (tags.get("motor_vehicle"), tags.get("vehicle")) or line_kinds <= {"footway"}:
        return "pedestrian"
    if tags.get("barrier") == "lift_gate" and foot not in {"yes", "designated", "permissive"}:
        return "vehicle"
    return "both"


def level_list(text: str | None) -> list[int] | None:
    """An OSM ``level``/``repeat_on`` value as a sorted list of ints ("0", "-1", "0;2", "0-3"), else ``None``."""
    if not text:
        return None
    out: set[int] = set()
    for part in text.split(";"):
        m, r = _INT.match(part), _RANGE.match(part)
        if m:
            out.add(int(m.group(1)))
        elif r:
            lo, hi = sorted((int(r.group(1)), int(r.group(2))))
            out.update(range(lo, hi + 1))
        else:
            return None
    return sorted(out) or None


def layer_of(tags: dict[str, str]) -> int:
    """A way's vertical order: its ``layer``, else 1 on a bridge and -1 in a tunnel (a building passage is 0)."""
    m = _INT.match(tags.get("layer", ""))
    if m:
        return int(m.group(1))
    if tags.get("bridge", "no") != "no":
        return 1
    if tags.get("tunnel", "no") not in ("no", "building_passage"):
        return -1
    return 0


def is_exit(tags: dict[str, str]) -> bool:
    """Whether an entrance node is a way out: not a service, garage or entry-only door, nor private, unless an emergency exit."""
    if tags.get("entrance") == "emergency" or tags.get("emergency") in YES or tags.get("exit") == "emergency":
        return True
    return tags.get("entrance") not in NOT_EXIT_ENTRANCES and tags.get("access") not in PRIVATE


def door_width(tags: dict[str, str]) -> int | float | None:
    """A door's clear width (m) from ``width`` or ``door:width``."""
    return metres(tags.get("width")) or metres(tags.get("door:width"))


def feature_props(fid: str, kind: str, tags: dict[str, str], **extra: Any) -> dict[str, Any]:
    """Feature properties: id, kind, name (if tagged), then ``extra`` without ``None`` values."""
    props: dict[str, Any] = {"id": fid, "kind": kind}
    if tags.get("name"):
        props["name"] = tags["name"]
    props.update({k: v for k, v in extra.items() if v is not None})
    return props


def address_of(tags: dict[str, str]) -> str | None:
    street, number = tags.get("addr:street"), tags.get("addr:housenumber")
    return " ".join(p for p in (street, number) if p) or None


def osm_order(fid: str) -> tuple[str, int, str]:
    """Sort key of an ``osm-w123`` (or ``osm-w123-sidewalk``, ``osm-w123-L2``) id: type letter, number, suffix."""
    number, _, suffix = fid[5:].partition("-")
    return fid[4], int(number), suffix

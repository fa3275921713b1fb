"""Small campuses built in code for the tests."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

TINY = Path(__file__).resolve().parent.parent / "docs" / "examples" / "tiny.geojson"
X0, Y0 = 500000, 3377000
"""Origin of the tiny example (EPSG:32650, metres)."""


def tiny() -> dict[str, Any]:
    """The documented one-building example as a mutable FeatureCollection."""
    return copy.deepcopy(json.loads(TINY.read_text()))


def feature(doc: dict[str, Any], fid: str) -> dict[str, Any]:
    """The feature with id ``fid``."""
    return next(f for f in doc["features"] if f["properties"].get("id") == fid)


def rect(x0: float, y0: float, x1: float, y1: float) -> dict[str, Any]:
    """A rectangle polygon in the tiny example's local metres."""
    pts = [[X0 + x, Y0 + y] for x, y in ((x0, y0), (x1, y0), (x1, y1), (x0, y1), (x0, y0))]
    return {"type": "Polygon", "coordinates": [pts]}


def point(x: float, y: float) -> dict[str, Any]:
    """A point in the tiny example's local metres."""
    return {"type": "Point", "coordinates": [X0 + x, Y0 + y]}


def line(*xy: tuple[float, float]) -> dict[str, Any]:
    """A line string in the tiny example's local metres."""
    return {"type": "LineString", "coordinates": [[X0 + x, Y0 + y] for x, y in xy]}


def add(doc: dict[str, Any], geometry: dict[str, Any], **props: Any) -> None:
    """Append a feature."""
    doc["features"].append({"type": "Feature", "properties": props, "geometry": geometry})


def write(doc: dict[str, Any], path: Path) -> Path:
    """Write a FeatureCollection and return its path."""
    path.write_text(json.dumps(doc))
    return path

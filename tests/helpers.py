"""Small campuses built in code for the tests, and a page opened offline in the test browser."""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass
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


@dataclass
class OfflinePage:
    """A page opened from a file in the test browser, with what went wrong on it."""

    page: Any
    errors: list[str]
    """Script errors and console errors."""
    remote: list[str]
    """Requests that would leave the machine (anything but file: and data: URLs)."""
    dialogs: list[str]
    """Alert / confirm / prompt messages (dismissed): injected script would show here."""


def open_offline(browser: Any, path: Path, *, width: int = 1280, height: int = 900) -> OfflinePage:
    """Open ``path`` in a new page of ``browser`` (the ``browser`` fixture), watching errors, requests and dialogs."""
    page = browser.new_page(viewport={"width": width, "height": height})
    seen = OfflinePage(page, [], [], [])
    page.on("pageerror", lambda e: seen.errors.append(str(e)))
    page.on("console", lambda m: seen.errors.append(m.text) if m.type == "error" else None)
    page.on("request", lambda r: None if r.url.startswith(("file:", "data:")) else seen.remote.append(r.url))
    page.on("dialog", lambda d: (seen.dialogs.append(d.message), d.dismiss()))
    page.goto(path.as_uri())
    return seen


def newer_recording(src: Path, dst: Path, version: int = 99) -> Path:
    """A copy of recording ``src`` at ``dst`` that claims schema ``version`` (newer than this code reads)."""
    import sqlite3

    dst.write_bytes(src.read_bytes())
    con = sqlite3.connect(dst)
    con.execute("UPDATE metadata SET value = ? WHERE key = 'schema_version'", (str(version),))
    con.commit()
    con.close()
    return dst

"""Small campuses for the tests (thin wrappers over ``maps.builder``), repository paths, and a page opened offline in the test browser."""

from __future__ import annotations

import copy
import json
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from maps import builder

FUZZ = os.environ.get("TWIN_FUZZ") == "1"
"""``make fuzz``: property tests try many more examples."""


def examples(n: int) -> int:
    """Hypothesis examples for one of the slower property tests: ``n`` in ``make test``, ten times as many under
    ``make fuzz`` (``TWIN_FUZZ=1``)."""
    return 10 * n if FUZZ else n


ROOT = Path(__file__).resolve().parent.parent
"""The repository root (tests never depend on the working directory)."""
DEMO = ROOT / "maps" / "demo"
"""The bundled demo campus."""
TINY = ROOT / "docs" / "examples" / "tiny.geojson"
X0, Y0 = builder.X0, builder.Y0
"""Origin of the tiny example and of every campus built in the tests (EPSG:32650, metres)."""

_LOCAL = builder.CampusBuilder()
"""Geometry in the tiny example's local metres (the builder's default origin)."""


def tiny() -> dict[str, Any]:
    """The documented one-building example as a mutable FeatureCollection."""
    return copy.deepcopy(json.loads(TINY.read_text()))


def empty(name: str | None = None) -> dict[str, Any]:
    """An empty campus FeatureCollection in the tiny example's frame (EPSG:32650), to ``add`` features to."""
    return builder.CampusBuilder(name).doc


def feature(doc: dict[str, Any], fid: str) -> dict[str, Any]:
    """The feature with id ``fid``."""
    return next(f for f in doc["features"] if f["properties"].get("id") == fid)


def rect(x0: float, y0: float, x1: float, y1: float) -> dict[str, Any]:
    """A rectangle polygon in the tiny example's local metres."""
    return _LOCAL.polygon_geometry((x0, y0, x1, y1))


def point(x: float, y: float) -> dict[str, Any]:
    """A point in the tiny example's local metres."""
    return _LOCAL.point_geometry((x, y))


def line(*xy: tuple[float, float]) -> dict[str, Any]:
    """A line string in the tiny example's local metres."""
    return _LOCAL.line_geometry(xy)


def add(doc: dict[str, Any], geometry: dict[str, Any], **props: Any) -> None:
    """Append a feature to ``doc`` (through the campus builder: a repeated id is refused)."""
    builder.CampusBuilder(doc=doc).add(geometry, **props)


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
    """Open ``path`` in a new page of ``browser`` (the ``browser`` fixture: its context for offline files), watching
    errors, requests and dialogs."""
    page = browser.offline_page(width=width, height=height)
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


def flow_grid(seed: int = 7, rows: int = 50, cols: int = 100, persons: int = 20_000,
              sources: int = 3_000) -> tuple[Any, dict, list]:
    """A campus-shaped flow network for the lower bound: (graph, supply, sinks).

    A ``rows`` x ``cols`` grid with holes (about 3 arcs per node: the default
    is campus size, ~5,000 nodes and ~15,000 arcs), ``persons`` spread over
    ``sources`` nodes, three assembly areas of six 2.6 p/s gates each.
    ``benchmarks/bench_bound.py`` times the default size; the tests use a small one.
    """
    import networkx as nx
    import numpy as np

    rng = np.random.default_rng(seed)
    g = nx.DiGraph()
    for r in range(rows):
        for c in range(cols):
            for r2, c2 in ((r + 1, c), (r, c + 1)):
                if r2 < rows and c2 < cols and rng.random() < 0.76:
                    cap = 1.3 * rng.choice([1.2, 2.0, 3.0])
                    g.add_edge((r, c), (r2, c2), transit=5.0, capacity=cap)
                    g.add_edge((r2, c2), (r, c), transit=5.0, capacity=cap)
    sinks = []
    for i, (r, c0) in enumerate([(0, 10), (rows - 1, cols // 2), (0, cols - 20)]):
        sinks.append(f"assembly{i}")
        for c in range(c0, c0 + 6):  # six gates of 2.6 p/s per assembly area
            g.add_edge((r, c), sinks[-1], transit=30.0, capacity=2.6)
    reach = set().union(*(nx.ancestors(g, s) for s in sinks))
    nodes = sorted(v for v in reach if v not in sinks)
    chosen = rng.choice(len(nodes), size=sources, replace=False)
    counts = rng.multinomial(persons, np.full(sources, 1 / sources))
    return g, {nodes[i]: float(x) for i, x in zip(chosen, counts)}, sinks


def wait_for(cond: Callable[[], object], timeout: float = 30.0, what: str = "condition") -> None:
    """Poll ``cond`` until it is true; fail naming ``what`` after ``timeout`` s (a wait, not a speed limit).

    The first polls come 10 ms apart, then each gap is half as long again up to 100 ms: a quick condition is seen
    at once, and a long wait does not spend the machine's CPU asking (some conditions are an HTTP request or a
    query of the store)."""
    end = time.monotonic() + timeout
    gap = 0.01
    while time.monotonic() < end:
        if cond():
            return
        time.sleep(gap)
        gap = min(0.1, gap * 1.5)
    raise AssertionError(f"timed out waiting for {what}")

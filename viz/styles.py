"""What each kind looks like on every map: colours, Leaflet styles, layers, panes and legend labels.

One table per concern, shared by the campus map, the reports, the replays and
the live console: :data:`STYLES` (plus :data:`VARIANTS` for styles that
depend on a property such as a building's ``use``), which kinds go in which
layer (:data:`LAYERS`), the draw order and the legend's words.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal


Style = dict[str, Any]
"""Leaflet path options (``color``, ``weight``, ``fillColor``, ``radius``, …)."""

BACKGROUND = "#f4f2ec"
"""Map background: a plain, warm light grey that every layer reads well on."""

USE_COLOURS: dict[str, str] = {
    "teaching": "#8db4dc",
    "library": "#b7a3d9",
    "lab": "#7fc8bf",
    "canteen": "#f6bd7c",
    "admin": "#c4b2a8",
    "dorm": "#eea2bd",
    "sports": "#e3d670",
    "other": "#c9d1d6",
}
"""Fill colour of a building by its ``use``."""

KEY_AREA_COLOURS: dict[str, str] = {
    "finance": "#00695c",
    "lab": "#6a1b9a",
    "library": "#283593",
    "dorm": "#827717",
    "construction": "#6d4c41",
    "other": "#37474f",
}
"""Outline and hatch colour of a key area by its ``category``: no reds or oranges, which the live map keeps for
alarms (a hatched red finance office read as a building in alarm)."""

STYLES: dict[str, Style] = {
    "building": {"color": "#4f5b62", "weight": 1.2, "fillColor": USE_COLOURS["other"], "fillOpacity": 0.85},
    "room": {"color": "#6b7a83", "weight": 0.8, "fillColor": "#ffffff", "fillOpacity": 0.55},
    "corridor": {"color": "#9aa5ab", "weight": 0.6, "fillColor": "#fff6d8", "fillOpacity": 0.8},
    "stair": {"color": "#5d4037", "weight": 1, "fillColor": "url(#ct-steps)", "fillOpacity": 1},
    "road": {"color": "#55595c", "weight": 7, "opacity": 1, "lineCap": "butt"},
    "shared": {"color": "#ef7d00", "weight": 4, "opacity": 1, "dashArray": "9 6", "lineCap": "butt"},
    "footway": {"color": "#7a6a5c", "weight": 2, "opacity": 0.95},
    "crossing": {"color": "#ffffff", "weight": 7, "opacity": 1, "dashArray": "2.5 2.5", "lineCap": "butt"},
    "assembly": {"color": "#2e7d32", "weight": 2, "dashArray": "6 4", "fillColor": "#81c784", "fillOpacity": 0.4},
    "key_area": {"color": KEY_AREA_COLOURS["other"], "weight": 2, "dashArray": "5 3", "fillColor": "url(#ct-hatch-other)", "fillOpacity": 1},
    "camera_fov": {"color": "#8e24aa", "weight": 1, "opacity": 0.7, "fillColor": "#ba68c8", "fillOpacity": 0.2, "interactive": False},
    "camera": {"radius": 4, "color": "#ffffff", "weight": 1.5, "fillColor": "#7b1fa2", "fillOpacity": 1},
    "door": {"radius": 3, "color": "#ffffff", "weight": 1, "fillColor": "#546e7a", "fillOpacity": 1},
    "gate": {"radius": 8, "color": "#212121", "weight": 2.5, "fillColor": "#ffb300", "fillOpacity": 1},
    "detector": {"radius": 2.5, "color": "#ffffff", "weight": 0.6, "fillColor": "#e53935", "fillOpacity": 1},
    "post": {"radius": 7, "color": "#ffffff", "weight": 2.5, "fillColor": "#1a237e", "fillOpacity": 1},
}
"""Base style of each kind (``camera_fov`` is a camera's field-of-view wedge)."""

CASINGS: dict[str, Style] = {
    "crossing": {"color": "#3a3d40", "weight": 9, "opacity": 1, "lineCap": "butt", "interactive": False},
}
"""Kinds drawn twice: first this wider casing, then their own style on top."""

VARIANTS: dict[str, tuple[tuple[str, dict[Any, Style]], ...]] = {
    "building": (("use", {u: {"fillColor": c} for u, c in USE_COLOURS.items()}),),
    "key_area": (
        ("category", {c: {"color": col, "fillColor": f"url(#ct-hatch-{c})"} for c, col in KEY_AREA_COLOURS.items()}),
    ),
    "door": (
        ("exit", {True: {"radius": 5.5, "fillColor": "#2e9e44", "weight": 1.5}}),
        ("access", {"card": {"color": "#0d47a1", "weight": 3}}),
    ),
    "gate": (
        ("mode", {
            "pedestrian": {"fillColor": "#66bb6a"},
            "vehicle": {"fillColor": "#616161"},
            "both": {"fillColor": "#ffb300"},
        }),
    ),
    "detector": (
        ("type", {
            "smoke": {"fillColor": "#e53935"},
            "heat": {"fillColor": "#fb8c00"},
            "manual_call_point": {"radius": 4.5, "color": "#212121", "fillColor": "#b71c1c"},
        }),
    ),
}
"""Overrides of a kind's style by the value of one of its columns, applied in order."""


@dataclass(frozen=True)
class Layer:
    """One overlay of the layer control.

    Attributes
    ----------
    name : str
        Label in the layer control; ``{level}`` is filled for per-level layers.
    kinds : tuple of str
        Kinds drawn in it (``camera_fov`` is the camera wedge).
    pane : str
        Leaflet pane it draws in (see :data:`PANES`), which fixes what lies on
        top of what whichever layers are switched on.
    per_level : bool
        One overlay per building level, holding that level's features.
    doors : {"inner", "outer"}, optional
        Which doors it holds: inner doors, or exits and card-access doors.
    """

    name: str
    kinds: tuple[str, ...]
    pane: str
    per_level: bool = False
    doors: Literal["inner", "outer"] | None = None


PANES: dict[str, tuple[int, bool]] = {
    "ct-areas": (410, True),
    "ct-lines": (420, True),
    "ct-indoor": (430, True),
    "ct-keyareas": (440, True),
    "ct-coverage": (450, False),
    "ct-points": (460, True),
}
"""Custom Leaflet panes: name → (z-index, receives clicks)."""

LAYERS: tuple[Layer, ...] = (
    Layer("Buildings", ("building",), "ct-areas"),
    Layer("Assembly areas", ("assembly",), "ct-areas"),
    Layer("Roads, lanes & footways", ("road", "shared", "footway", "crossing"), "ct-lines"),
    Layer("Rooms — level {level}", ("room", "corridor", "stair", "door"), "ct-indoor", per_level=True, doors="inner"),
    Layer("Key areas", ("key_area",), "ct-keyareas"),
    Layer("Camera coverage", ("camera_fov",), "ct-coverage"),
    Layer("Cameras", ("camera",), "ct-points"),
    Layer("Exits & card doors", ("door",), "ct-points", doors="outer"),
    Layer("Gates", ("gate",), "ct-points"),
    Layer("Detectors", ("detector",), "ct-points"),
    Layer("Guard posts", ("post",), "ct-points"),
)
"""The overlays, in layer-control order. Inner doors are drawn with their
level's rooms; exits and card-access doors of every level in their own layer."""

DRAW_ORDER: tuple[str, ...] = (
    "building", "assembly",
    "road", "shared", "footway", "crossing_casing", "crossing",
    "corridor", "room", "stair", "door",
    "key_area", "camera_fov", "camera", "gate", "detector", "post",
)
"""Order of drawing within a layer (later on top): roads under lanes under
footways under crossings, spaces under stairs under doors."""

LEGEND_LABELS: dict[str, str] = {
    "road": "road",
    "shared": "shared lane",
    "footway": "footway",
    "crossing": "crossing",
    "assembly": "assembly area",
    "key_area": "key area",
    "room": "room",
    "corridor": "corridor",
    "stair": "stair",
    "camera": "camera + view",
    "gate": "gate",
    "detector": "detector",
    "post": "guard post",
}
"""Legend entries of the kinds (buildings and doors get their own)."""

DOOR_LEGEND: tuple[tuple[bool, bool, str], ...] = (
    (True, False, "exit"),
    (True, True, "exit, card access"),
    (False, True, "card-access door"),
    (False, False, "inner door"),
)
"""Legend entries of doors: (exit, card access, label)."""

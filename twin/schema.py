"""Per-kind property models of campus features (see ``docs/campus-format.md``).

Each kind is a pydantic model; unknown properties are kept (they show in map
popups) and defaults that come from the settings table are filled in by the
loader, not here, so the table stays the one place for numbers.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from twin.settings import BUILDING_USES, ROOM_USES

Width = Annotated[float, Field(gt=0, description="metres")]
Level = int


class Feature(BaseModel):
    """Properties every feature has."""

    model_config = ConfigDict(extra="allow", str_strip_whitespace=True)

    id: str = Field(min_length=1)
    kind: str
    name: str | None = None

    @field_validator("id", mode="before")
    @classmethod
    def _id_as_text(cls, v: Any) -> Any:
        if isinstance(v, bool):
            return v
        return str(v) if isinstance(v, int) else v


class Building(Feature):
    levels: int = Field(1, ge=1)
    lowest_level: int = 0
    level_names: dict[str, int] | None = None
    use: Literal[BUILDING_USES] = "other"  # type: ignore[valid-type]
    level_height: Width | None = None
    occupants: int | None = Field(None, ge=0)

    @field_validator("level_names", mode="before")
    @classmethod
    def _names_from_text(cls, v: Any) -> Any:
        if isinstance(v, str):  # GeoPackage / Shapefile attributes hold the mapping as JSON text
            import json

            try:
                return json.loads(v)
            except ValueError:
                msg = 'level_names must be a mapping of level name to ordinal, e.g. {"B1": -1, "EG": 0}'
                raise ValueError(msg) from None
        return v


class Indoor(Feature):
    building: str
    level: Level
    width: Width | None = None
    """Clear width (m) where it is less than the footprint's short side (furniture, a narrowing)."""


class Room(Indoor):
    use: Literal[ROOM_USES] = "classroom"  # type: ignore[valid-type]
    occupants: int | None = Field(None, ge=0)


class Corridor(Indoor):
    occupants: int = Field(0, ge=0)


class Door(Feature):
    building: str
    level: Level = 0
    width: Width | None = None
    exit: bool | None = None
    access: str | None = None
    counter: bool | None = None
    """A people counter at the door (overhead or beam sensor) reports ``crossing`` events, as a card reader does."""


_RANGE = re.compile(r"^\s*(-?\d+)\s*-\s*(-?\d+)\s*$")


class Stair(Feature):
    building: str
    levels: list[int]
    width: Width | None = None

    @field_validator("levels", mode="before")
    @classmethod
    def _parse_levels(cls, v: Any) -> Any:
        if isinstance(v, str):
            m = _RANGE.match(v)
            if m:
                lo, hi = int(m.group(1)), int(m.group(2))
                return list(range(min(lo, hi), max(lo, hi) + 1))
            if v.strip().startswith("["):
                import json

                return json.loads(v)
            return [p for p in re.split(r"[;,\s]+", v.strip()) if p]
        return v

    @field_validator("levels")
    @classmethod
    def _two_levels(cls, v: list[int]) -> list[int]:
        if len(set(v)) < 2:
            msg = "a stair must serve at least two levels"
            raise ValueError(msg)
        return sorted(set(v))


class Line(Feature):
    width: Width | None = None
    speed_limit: Annotated[float, Field(gt=0)] | None = None
    oneway: bool = False


class Gate(Feature):
    mode: Literal["pedestrian", "vehicle", "both"] = "both"
    width: Width | None = None
    lanes: int | None = Field(None, ge=0)


class Assembly(Feature):
    capacity: int | None = Field(None, ge=0)


class Camera(Feature):
    heading: float
    fov: Annotated[float, Field(gt=0, le=360)]
    range: Width | None = None
    pixels: int | None = Field(None, ge=1)
    """Horizontal resolution (px): with ``fov``, how far the camera keeps a pixel density (``twin/viewshed.py``)."""
    building: str | None = None
    level: Level | None = None
    snapshot_url: Annotated[str, Field(pattern=r"^https?://[^\s/]+(/\S*)?$", max_length=2000)] | None = None
    """A JPEG snapshot of the camera now (HTTP or HTTPS); the live console's server fetches it, so browsers need no
    access to the camera network."""
    stream_url: Annotated[str, Field(pattern=r"^(https?|rtsps?)://[^\s/]+(/\S*)?$", max_length=2000)] | None = None
    """The camera's live stream (HTTP(S) or RTSP, e.g. the NVR's viewer), linked from the console."""


class Detector(Feature):
    type: Literal["smoke", "heat", "manual_call_point"] = "smoke"
    building: str | None = None
    level: Level | None = None
    zone: str | None = None


class Post(Feature):
    staff: int = Field(1, ge=1)


class KeyArea(Feature):
    category: Literal["finance", "lab", "library", "dorm", "construction", "other"] = "other"
    closed: bool = False
    density: Literal["detect", "observe", "recognise", "identify"] | Annotated[float, Field(gt=0)] | None = None
    """The IEC 62676-4 level (or px/m) the cameras must keep over it; default the ``camera_density`` setting."""


POLYGON, LINE, POINT, OPENING = "polygon", "line", "point", "opening"

KINDS: dict[str, tuple[type[Feature], str]] = {
    "building": (Building, POLYGON),
    "room": (Room, POLYGON),
    "corridor": (Corridor, POLYGON),
    "door": (Door, OPENING),
    "stair": (Stair, POLYGON),
    "footway": (Line, LINE),
    "road": (Line, LINE),
    "shared": (Line, LINE),
    "crossing": (Line, LINE),
    "gate": (Gate, POINT),
    "assembly": (Assembly, POLYGON),
    "camera": (Camera, POINT),
    "detector": (Detector, POINT),
    "post": (Post, POINT),
    "key_area": (KeyArea, POLYGON),
}
"""Every kind of feature: its property model and its geometry type (``OPENING``: a Point, or the opening as a LineString)."""


COLUMNS: tuple[str, ...] = tuple(dict.fromkeys(name for model, _ in KINDS.values() for name in model.model_fields))
"""Every property of every kind: the columns of the normalised feature table."""

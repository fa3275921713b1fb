"""The one campus builder: a campus FeatureCollection built feature by feature in local metres.

A campus is laid out in local metres (x east, y north) around an origin given
in a projected CRS (EPSG:32650, UTM zone 50N, by default at ``(X0, Y0)``).
Every feature is stored at once as GeoJSON in that CRS (``X0 + x, Y0 + y``),
polygons with a counter-clockwise exterior ring (RFC 7946 §3.1.6).
:meth:`CampusBuilder.to_geojson` returns the collection as it is, with its
``crs`` member, or converted to WGS 84 longitude/latitude (rounded to
``DECIMALS``) for files that other tools open.

The bundled demo campus (``maps/demo/generate.py``), the verification cases
(``scenarios/verify.py``) and the tests' small campuses (``tests/helpers.py``)
are all built with it.

Examples
--------
>>> c = CampusBuilder("one-room")
>>> c.area("B", "building", (0, 0, 10, 8), levels=1, use="other")
'B'
>>> c.door("EXIT", (10, 4), building="B", level=0, width=1.2)
'EXIT'
>>> c.footway([(10, 4), (20, 4)], fid="FW")
'FW'
>>> c.to_geojson()["features"][1]["geometry"]
{'type': 'Point', 'coordinates': [500010.0, 3377004.0]}
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pyproj
from shapely.geometry import Polygon
from shapely.geometry.polygon import orient

X0, Y0 = 500000.0, 3377000.0
"""Default origin of a campus built in code (EPSG:32650, metres)."""
EPSG = 32650
"""Default CRS of a campus built in code: WGS 84 / UTM zone 50N."""
DECIMALS = 7
"""Decimals kept in longitude/latitude output (about 1 cm)."""

XY = tuple[float, float]
Box = tuple[float, float, float, float]


def heading(frm: XY, to: XY) -> float:
    """Compass heading (degrees clockwise from north) from one local point to another, to 0.1 degree."""
    return round(math.degrees(math.atan2(to[0] - frm[0], to[1] - frm[1])) % 360.0, 1)


def projected_origin(lon: float, lat: float, epsg: int = EPSG) -> XY:
    """The coordinates in CRS ``epsg`` of a longitude/latitude, to lay a campus out around it."""
    fwd = pyproj.Transformer.from_crs(4326, pyproj.CRS.from_epsg(epsg), always_xy=True)
    return fwd.transform(lon, lat)


def _crs_member(epsg: int) -> dict[str, Any]:
    return {"type": "name", "properties": {"name": f"urn:ogc:def:crs:EPSG::{epsg}"}}


class CampusBuilder:
    """A campus FeatureCollection built feature by feature, in local metres from ``origin``.

    Parameters
    ----------
    name : str, optional
        The collection's ``name`` (also the file name :meth:`write` gives in a folder).
    origin : (float, float)
        Where local (0, 0) is, in CRS ``epsg`` (m).
    epsg : int
        The projected CRS of the collection.
    doc : dict, optional
        An existing FeatureCollection in that CRS to add to (changed in place).

    Every feature method takes the id first and returns it; properties that
    are ``None`` are left out; a second feature with the same id is refused.
    """

    def __init__(self, name: str | None = None, *, origin: XY = (X0, Y0), epsg: int = EPSG,
                 doc: dict[str, Any] | None = None) -> None:
        self.x0, self.y0 = origin
        self.epsg = epsg
        self.doc: dict[str, Any] = doc if doc is not None else {
            "type": "FeatureCollection", "name": name, "crs": _crs_member(epsg), "features": [],
        }
        self._ids = {f["properties"].get("id") for f in self.doc["features"]}
        self._count: dict[str, int] = {}

    # -- geometry: local metres -> GeoJSON in the campus CRS ------------------------------------------------

    def at(self, xy: XY) -> list[float]:
        """Projected coordinates of a local point."""
        return [self.x0 + xy[0], self.y0 + xy[1]]

    def point_geometry(self, xy: XY) -> dict[str, Any]:
        """A GeoJSON Point at local ``xy``."""
        return {"type": "Point", "coordinates": self.at(xy)}

    def line_geometry(self, pts: Sequence[XY]) -> dict[str, Any]:
        """A GeoJSON LineString through local points."""
        return {"type": "LineString", "coordinates": [self.at(p) for p in pts]}

    def polygon_geometry(self, shape: Box | Sequence[XY]) -> dict[str, Any]:
        """A GeoJSON Polygon: a box ``(x0, y0, x1, y1)`` or a ring of local points (open or closed).

        The exterior ring is closed and counter-clockwise.
        """
        if len(shape) == 4 and not isinstance(shape[0], Sequence):
            x0, y0, x1, y1 = shape  # type: ignore[misc]
            shape = [(x0, y0), (x1, y0), (x1, y1), (x0, y1)]
        ring = orient(Polygon([self.at(p) for p in shape]), sign=1.0).exterior.coords  # type: ignore[union-attr]
        return {"type": "Polygon", "coordinates": [[list(c) for c in ring]]}

    # -- features -----------------------------------------------------------------------------------------

    def add(self, geometry: dict[str, Any], **props: Any) -> dict[str, Any]:
        """Append a feature with a ready GeoJSON ``geometry``; returns it."""
        fid = props.get("id")
        if fid is not None:
            if fid in self._ids:
                msg = f"duplicate id {fid!r}"
                raise ValueError(msg)
            self._ids.add(fid)
        feature = {"type": "Feature", "properties": {k: v for k, v in props.items() if v is not None},
                   "geometry": geometry}
        self.doc["features"].append(feature)
        return feature

    def point(self, fid: str, kind: str, xy: XY, **props: Any) -> str:
        """A point feature (door, gate, camera, detector, post) at local ``xy``."""
        self.add(self.point_geometry(xy), id=fid, kind=kind, **props)
        return fid

    def line(self, fid: str, kind: str, pts: Sequence[XY], **props: Any) -> str:
        """A line feature (footway, road, shared lane, crossing) through local points."""
        self.add(self.line_geometry(pts), id=fid, kind=kind, **props)
        return fid

    def area(self, fid: str, kind: str, shape: Box | Sequence[XY], **props: Any) -> str:
        """A polygon feature (building, room, corridor, stair, assembly area, key area): a box or a ring."""
        self.add(self.polygon_geometry(shape), id=fid, kind=kind, **props)
        return fid

    def door(self, fid: str, xy: XY, *, building: str, level: int = 0, width: float | None = None,
             **props: Any) -> str:
        """A door of ``building`` on ``level`` (``width`` m)."""
        return self.point(fid, "door", xy, building=building, level=level, width=width, **props)

    def next_id(self, prefix: str) -> str:
        """A fresh readable id ``PREFIX-NN`` (numbered per prefix, from 01)."""
        self._count[prefix] = self._count.get(prefix, 0) + 1
        return f"{prefix}-{self._count[prefix]:02d}"

    def footway(self, pts: Sequence[XY], name: str | None = None, fid: str | None = None, **props: Any) -> str:
        """A footway (id ``fid``, else the next ``FW-NN``)."""
        return self.line(fid or self.next_id("FW"), "footway", pts, name=name, **props)

    def crossing(self, a: XY, b: XY, name: str | None = None, width: float | None = None, prefix: str = "X") -> str:
        """A zebra crossing from ``a`` to ``b`` (id: the next ``{prefix}-NN``)."""
        return self.line(self.next_id(prefix), "crossing", [a, b], name=name or "Zebra crossing", width=width)

    def camera(self, xy: XY, target: XY, name: str | None = None, fov: float = 90.0, rng: float = 30.0,
               prefix: str = "CAM", fid: str | None = None, **props: Any) -> str:
        """A camera at ``xy`` looking at ``target`` (``fov`` degrees, ``rng`` m; id ``fid``, else ``{prefix}-NN``)."""
        return self.point(fid or self.next_id(prefix), "camera", xy, name=name, heading=heading(xy, target), fov=fov,
                          range=rng, **props)

    # -- output -------------------------------------------------------------------------------------------

    def to_geojson(self, *, lonlat: bool = False) -> dict[str, Any]:
        """The FeatureCollection: in the campus CRS (the builder's own, not a copy), or in longitude/latitude.

        With ``lonlat`` it is a new RFC 7946 collection (no ``crs`` member)
        with coordinates rounded to ``DECIMALS``.
        """
        if not lonlat:
            return self.doc
        inv = pyproj.Transformer.from_crs(pyproj.CRS.from_epsg(self.epsg), 4326, always_xy=True)

        def ll(c: Sequence[float]) -> list[float]:
            lon, lat = inv.transform(c[0], c[1])
            return [round(lon, DECIMALS), round(lat, DECIMALS)]

        def convert(g: dict[str, Any]) -> dict[str, Any]:
            if g["type"] == "Point":
                return {"type": "Point", "coordinates": ll(g["coordinates"])}
            if g["type"] == "LineString":
                return {"type": "LineString", "coordinates": [ll(c) for c in g["coordinates"]]}
            return {"type": "Polygon", "coordinates": [[ll(c) for c in ring] for ring in g["coordinates"]]}

        features = [{"type": "Feature", "properties": f["properties"], "geometry": convert(f["geometry"])}
                    for f in self.doc["features"]]
        return {"type": "FeatureCollection", "name": self.doc.get("name"), "features": features}

    def write(self, path: str | Path, *, lonlat: bool = False) -> Path:
        """Write the collection to ``path`` (a file, or a folder to hold ``{name}.geojson``); returns the file."""
        p = Path(path)
        if p.is_dir():
            p = p / f"{self.doc.get('name') or 'campus'}.geojson"
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(dumps(self.to_geojson(lonlat=lonlat)), encoding="utf-8")
        return p


def dumps(fc: dict[str, Any]) -> str:
    """Serialise a FeatureCollection with one feature per line (small, readable diffs)."""
    head = {k: v for k, v in fc.items() if k != "features"}
    lines = [json.dumps(f, ensure_ascii=False, separators=(",", ":")) for f in fc["features"]]
    return json.dumps(head, ensure_ascii=False)[:-1] + ', "features": [\n' + ",\n".join(lines) + "\n]}\n"

"""The live view: what the operator's map draws, built from the live state.

:class:`Layout` is what the map draws once (``GET /api/layout``): building
footprints, sensor positions, camera viewsheds and the places alarms point at,
in WGS 84, with each camera's snapshot route and stream link (``viz.live.cameras``). :func:`live_view` is what it
redraws on every push (``GET
/api/view`` and every ``/ws`` message): buildings shaded by occupancy, the
alarm panel by priority then time with the cameras covering each alarm,
sensor health, blocked parts, gate counts, the latest evacuation forecast (as
stored in the live state: the view shows forecasts, it never runs one), the
events strip of the last hour and the newest audit records. :class:`Console`
holds one server's ingestor, layout and audit trail and renders the view as
JSON text.
"""

from __future__ import annotations

import json
import time
from collections import deque
from functools import cached_property
from typing import Any

import shapely

from sensors.ingest import Ingestor
from twin.audit import AuditLog
from twin.campus import Campus
from twin.registry import Registry
from twin.settings import default
from twin.state import LiveState
from twin.viewshed import camera_viewsheds
from viz.live.cameras import camera_links
from viz.live.procedures import Procedures

FORECAST_SCOPES = ("campus", "building")
"""Forecast shown on the map: the campus one when there is one, else the building one."""
AUDIT_SHOWN = 30
"""Audit entries sent with each view (the newest)."""


class Layout:
    """What the live map draws once: building footprints, sensor positions, camera viewsheds (WGS 84).

    Parameters
    ----------
    campus : Campus
        The loaded campus.
    registry : Registry
        Its sensors.
    """

    def __init__(self, campus: Campus, registry: Registry) -> None:
        self.campus = campus
        self.registry = registry
        self._covering: dict[str, list[str]] = {}

    @cached_property
    def _viewsheds(self) -> Any:
        f = self.campus.features
        return camera_viewsheds(f) if (f["kind"] == "camera").any() else None

    @cached_property
    def doc(self) -> dict[str, Any]:
        """The layout document (``GET /api/layout``)."""
        f = self.campus.features
        wgs = f.geometry.to_crs(4326)
        names = f["name"] if "name" in f else None

        def name(fid: str) -> str | None:
            v = names.get(fid) if names is not None else None
            return str(v) if isinstance(v, str) and v else None

        def at(g: Any) -> list[float]:
            p = g if g.geom_type == "Point" else g.representative_point()
            return [round(p.y, 7), round(p.x, 7)]

        def shape(fid: str) -> dict[str, Any]:
            return shapely.geometry.mapping(shapely.set_precision(wgs[fid], 1e-7))

        buildings = {}
        for b in f.index[f["kind"] == "building"]:
            low = int(f.at[b, "lowest_level"]) if "lowest_level" in f and f.at[b, "lowest_level"] == f.at[b, "lowest_level"] else 0
            buildings[b] = {"name": name(b), "design": int(f.at[b, "occupants"]), "at": at(wgs[b]), "geometry": shape(b),
                            "levels": list(range(low, low + int(f.at[b, "levels"])))}
        rooms = {}
        for r in f.index[f["kind"].isin(["room", "corridor"])]:
            rooms[r] = {"name": name(r), "kind": f.at[r, "kind"], "building": f.at[r, "building"], "level": int(f.at[r, "level"]),
                        "design": int(f.at[r, "occupants"]) if f.at[r, "occupants"] == f.at[r, "occupants"] else 0,
                        "at": at(wgs[r]), "geometry": shape(r)}
        sensors = {}
        for sid, s in self.registry.sensors.items():
            if sid in wgs.index:
                sensors[sid] = {"type": s.type, "name": name(sid), "building": s.building, "level": s.level,
                                "node": s.node, "at": at(wgs[sid])}
        cams = {}
        if self._viewsheds is not None:
            vs = self._viewsheds.to_crs(4326)
            for cid, g in vs.items():
                if not g.is_empty:
                    cams[cid] = shapely.geometry.mapping(shapely.set_precision(g, 1e-7))
        places = {fid: at(wgs[fid]) for fid in f.index[f["kind"].isin(["door", "gate", "stair", "room", "corridor", "assembly"])]}
        return {"campus": str(self.campus.source), "time_zone": f.attrs.get("time_zone", "UTC"), "buildings": buildings,
                "rooms": rooms, "sensors": sensors,
                "viewsheds": cams, "places": places, "cameras": camera_links(self.campus)}

    def covering(self, sensor_id: str) -> list[str]:
        """Cameras that see the feature of ``sensor_id`` or near it (``live.camera_reach``).

        An indoor camera counts only for its own building and floor; an
        outdoor camera for outdoor alarms and ground-floor ones (it watches
        the doors people leave by).
        """
        if sensor_id not in self._covering:
            f = self.campus.features
            out: list[str] = []
            vs = self._viewsheds
            if vs is not None and sensor_id in f.index:
                g = f.geometry[sensor_id]
                where = _floor(f, sensor_id)
                for cid in vs.index[vs.distance(g) <= default("live.camera_reach")]:
                    cam = _floor(f, cid)
                    # an indoor camera sees its own floor; an outdoor one sees outdoors and into ground floors
                    if cam == where or (cam is None and (where is None or where[1] == 0)):
                        out.append(str(cid))
                if f.at[sensor_id, "kind"] == "camera" and sensor_id not in out:
                    out.insert(0, sensor_id)
            self._covering[sensor_id] = sorted(out)
        return self._covering[sensor_id]


def _floor(f: Any, fid: str) -> tuple[str, int] | None:
    """(building, level) of an indoor feature, None outdoors."""
    b = f.at[fid, "building"] if "building" in f else None
    lv = f.at[fid, "level"] if "level" in f else None
    if not isinstance(b, str) or lv != lv or lv is None:
        return None
    return (b, int(lv))


def live_view(state: LiveState, layout: Layout, audit: list[dict[str, Any]], now: float,
              procedures: Procedures | None = None) -> dict[str, Any]:
    """The live view pushed to the map (``GET /api/view``, and every ``/ws`` message).

    Parameters
    ----------
    state : LiveState
        The live state (the caller holds the ingestor's lock).
    layout : Layout
        The campus layout (for the cameras covering each alarm, and names).
    audit : list of dict
        The newest audit records.
    now : float
        Wall clock the state is read at (epoch s).
    procedures : Procedures, optional
        The site's procedure texts, shown with each alarm.
    """
    procedures = procedures or Procedures()
    occ = state.occupancy(now)
    health = state.health(now)
    names = layout.doc["sensors"]
    panel = []
    for a in state.panel():
        s = names.get(a["sensor_id"], {})
        panel.append({**a, "name": s.get("name"), "covering": layout.covering(a["sensor_id"]),
                      "procedure": procedures.for_alarm(a["kind"], a.get("building"))})
    forecasts = state.forecasts()
    forecast = next((forecasts[s] for s in FORECAST_SCOPES if s in forecasts), None)
    fires = state.fires()
    # a fire newer than the forecast shown: one is being computed (twin serve --forecast)
    updating = bool(fires) and (forecast is None or forecast["trigger"]["ts"] < max(f["since"] for f in fires))
    return {
        "type": "view",
        "now": now,
        "clock": state.clock,
        "events_applied": state.applied,
        "occupancy": {"on_site": occ["on_site"], "in_buildings": occ["in_buildings"],
                      "buildings": {b: {"count": v["count"], "design": v["design"], "source": v["source"], "levels": v["levels"]}
                                    for b, v in occ["buildings"].items()},
                      "gates": occ["gates"]},
        "alarms": panel,
        "health": {k: v for k, v in health.items() if k != "problems"},
        "problems": health["problems"],
        "blocked": [b["node"] for b in state.blocked(now)],
        "forecast": forecast,
        "forecast_updating": updating,
        "strip": state.strip(),
        "audit": audit[-AUDIT_SHOWN:],
    }


class Console:
    """What one server shows its operators: an ingestor's live state, the campus layout, the newest audit records.

    The operator actions stored in ``audit`` are applied to the live state
    when it is made (a restart keeps acknowledgements and clears).

    Parameters
    ----------
    ingestor : Ingestor
        Store, registry and live state.
    audit : AuditLog
        The operator audit trail.
    procedures : Procedures, optional
        The site's procedure texts per alarm kind and building.
    """

    def __init__(self, ingestor: Ingestor, audit: AuditLog, procedures: Procedures | None = None) -> None:
        self.ingestor = ingestor
        self.audit = audit
        self.procedures = procedures or Procedures()
        with ingestor.lock:
            for rec in audit.records():
                ingestor.state.operator(rec)
        self.recent: deque[dict[str, Any]] = deque(audit.records(limit=AUDIT_SHOWN), maxlen=AUDIT_SHOWN)
        """The newest audit records, sent with each view."""
        self.layout = Layout(ingestor.campus, ingestor.registry)
        self.time_zone: str = ingestor.campus.features.attrs.get("time_zone", "UTC")
        """The campus's IANA time zone: every time the console shows is local, with the zone."""

    def now(self) -> float:
        """The wall clock (or the latest event's time, when a feed runs ahead of it)."""
        return max(time.time(), self.ingestor.state.clock or 0.0)

    def render(self) -> str:
        """The live view now, as compact JSON text."""
        with self.ingestor.lock:
            doc = live_view(self.ingestor.state, self.layout, list(self.recent), self.now(), self.procedures)
        return json.dumps(doc, separators=(",", ":"))

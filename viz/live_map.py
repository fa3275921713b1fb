"""The operator's live security map: the page, its static layout and the live view pushed to it.

``twin serve`` answers ``GET /`` with :func:`live_page`: the campus map of
``twin map`` (``viz.campus_map``: the same layers, Leaflet inlined, no tiles)
framed by a header, an alarm panel and an events strip, with the page's own
script and style sheet (``viz/static/live.js``, ``live.css``) served by the
same server, so nothing is fetched from the network. The script reads
:func:`layout` once (``GET /api/layout``: footprints, sensor positions,
camera viewsheds) and then draws every :func:`live_view` the server pushes
over the WebSocket ``/ws``: buildings shaded by occupancy, alarms flashing
and listed by priority then time, the cameras covering each alarm, offline
sensors, gate counts, the latest evacuation forecast and the last hour of
events.

The script builds every text from data with ``textContent`` (never
``innerHTML``), so a campus or event text is shown as text whatever it holds.
"""

from __future__ import annotations

import html
import re
from functools import cached_property
from pathlib import Path
from typing import Any

import folium
import shapely
from branca.element import Element
from folium.elements import MacroElement
from folium.template import Template

from twin.viewshed import camera_viewsheds
from twin.campus import Campus
from twin.settings import default
from viz.campus_map import campus_map, offline_page

STATIC = Path(__file__).resolve().parent / "static"
"""The page's own script and style sheet, served at ``/static``."""
NONCE = "__CT_NONCE__"
"""Placeholder the server replaces with each response's CSP nonce."""
CSRF = "__CT_CSRF__"
"""Placeholder the server replaces with the session's CSRF token."""
FORECAST_SCOPES = ("campus", "building")
"""Forecast shown on the map: the campus one when there is one, else the building one."""
AUDIT_SHOWN = 30
"""Audit entries sent with each view (the newest)."""


class LiveHandle(MacroElement):
    """Exposes the folium map and its overlays to ``live.js`` as ``window.ctMap``."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        window.ctMap = {map: {{ this._parent.get_name() }}, control: {{ this.control.get_name() }},
            overlays: { {%- for name, fg in this.overlays %}{{ name|tojson }}: {{ fg.get_name() }}, {% endfor -%} }};
        {% endmacro %}
        """
    )

    def __init__(self, control: Any, overlays: list[tuple[str, Any]]) -> None:
        super().__init__()
        self._name = "LiveHandle"
        self.control = control
        self.overlays = overlays


def live_page(campus: Campus, *, title: str = "Campus Twin — live security map") -> str:
    """The operator page, with :data:`NONCE` and :data:`CSRF` placeholders for the server to fill per response.

    Parameters
    ----------
    campus : Campus
        The loaded campus.
    title : str
        Heading and window title (escaped).
    """
    m = campus_map(campus.features, title=title)
    control = next(c for c in m._children.values() if isinstance(c, folium.LayerControl))
    groups = [(c.layer_name, c) for c in m._children.values() if isinstance(c, folium.FeatureGroup)]
    m.add_child(LiveHandle(control, groups))
    root = m.get_root()
    root.header.add_child(Element(f'<meta name="ct-csrf" content="{CSRF}">'
                                  '<link rel="stylesheet" href="/static/live.css">'), name="ct_live_head")
    heading = html.escape(title)
    root.html.add_child(Element(
        f'<header id="ct-head"><h1>{heading}</h1><span id="ct-clock">connecting…</span>'
        '<span id="ct-conn" class="ct-bad">offline</span><span id="ct-summary"></span>'
        '<span id="ct-user"></span><button id="ct-logout" type="button">Log out</button></header>'
        '<aside id="ct-side"><section id="ct-alarms"><h2>Alarms <span id="ct-alarm-count"></span></h2>'
        '<ol id="ct-alarm-list"></ol><p id="ct-action-msg" role="status"></p></section>'
        '<section id="ct-forecast"><h2>Evacuation forecast</h2><div id="ct-forecast-body">none yet</div></section>'
        '<section id="ct-audit"><h2>Audit trail</h2><ol id="ct-audit-list"></ol></section></aside>'
        '<footer id="ct-strip"><div id="ct-strip-head">Last hour of events</div>'
        '<svg id="ct-strip-svg" preserveAspectRatio="none"></svg></footer>'
        '<script src="/static/live.js" defer></script>'), name="ct_live_body")
    page = offline_page(m)
    return re.sub(r"<script(?=[\s>])", f'<script nonce="{NONCE}"', page)


class Layout:
    """What the live map draws once: building footprints, sensor positions, camera viewsheds (WGS 84).

    Parameters
    ----------
    campus : Campus
        The loaded campus.
    registry : Registry
        Its sensors.
    """

    def __init__(self, campus: Campus, registry: Any) -> None:
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

        buildings = {}
        for b in f.index[f["kind"] == "building"]:
            buildings[b] = {"name": name(b), "design": int(f.at[b, "occupants"]), "at": at(wgs[b]),
                            "geometry": shapely.geometry.mapping(shapely.set_precision(wgs[b], 1e-7))}
        sensors = {}
        for sid, s in self.registry.sensors.items():
            if sid in wgs.index:
                sensors[sid] = {"type": s.type, "name": name(sid), "building": s.building, "level": s.level,
                                "at": at(wgs[sid])}
        cams = {}
        if self._viewsheds is not None:
            vs = self._viewsheds.to_crs(4326)
            for cid, g in vs.items():
                if not g.is_empty:
                    cams[cid] = shapely.geometry.mapping(shapely.set_precision(g, 1e-7))
        places = {fid: at(wgs[fid]) for fid in f.index[f["kind"].isin(["door", "gate", "stair", "room", "corridor", "assembly"])]}
        return {"campus": str(self.campus.source), "buildings": buildings, "sensors": sensors, "viewsheds": cams,
                "places": places}

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


def live_view(state: Any, layout: Layout, audit: list[dict[str, Any]], now: float) -> dict[str, Any]:
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
    """
    occ = state.occupancy(now)
    health = state.health(now)
    names = layout.doc["sensors"]
    panel = []
    for a in state.panel():
        s = names.get(a["sensor_id"], {})
        panel.append({**a, "name": s.get("name"), "covering": layout.covering(a["sensor_id"])})
    forecast = next((state.d["forecasts"][s] for s in FORECAST_SCOPES if s in state.d["forecasts"]), None)
    return {
        "type": "view",
        "now": now,
        "clock": state.d["clock"],
        "events_applied": state.d["applied"],
        "occupancy": {"on_site": occ["on_site"], "in_buildings": occ["in_buildings"],
                      "buildings": {b: {"count": v["count"], "design": v["design"], "source": v["source"]}
                                    for b, v in occ["buildings"].items()},
                      "gates": occ["gates"]},
        "alarms": panel,
        "health": {k: v for k, v in health.items() if k != "problems"},
        "problems": health["problems"],
        "blocked": [b["node"] for b in state.blocked(now)],
        "forecast": forecast,
        "strip": state.strip(),
        "audit": audit[-AUDIT_SHOWN:],
    }

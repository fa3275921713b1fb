"""The drill report's map: buildings by clearance time, exits by people, ranked bottlenecks, closures.

Drawn on an offline folium map (no tiles; :func:`viz.offline.offline_page`
inlines Leaflet). Every text from the campus or the scenario is escaped.
"""

from __future__ import annotations

import html
import json
import math
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

import folium
import geopandas as gpd
import numpy as np
import shapely
from folium.elements import MacroElement
from folium.template import Template
from matplotlib import colormaps
from matplotlib.colors import Normalize, to_hex
from matplotlib.ticker import MaxNLocator
from pyproj import Transformer

from viz.campus_map import CampusFeatures, popup_html
from viz.drill_data import (
    building_occupants,
    closures,
    exit_last_times,
    feature_name,
    num,
    seconds,
)
from viz.offline import offline_map
from viz.page import CLOSED
from viz.styles import STYLES

if TYPE_CHECKING:
    from scenarios.evacuation.outcome import Network, Outcome

CLEARANCE_CMAP = "YlOrBr"
"""Sequential colour scale of building clearance time (light = quick, dark brown = slow); not red, which marks closures."""
NO_PEOPLE = "#d5d8da"
"""Fill of buildings nobody left (no occupants in this scenario)."""
EXIT_USED = "#1565c0"
EXIT_UNUSED = "#9e9e9e"
TOP_BOTTLENECKS = 10
NEAR_RANKS = 7.0
"""Spacing of bottleneck labels (m, about one marker's width on the map fitted to the occupied buildings): a label
closer than this to a better-ranked one stands away from its element, with a leader line back to it."""
LEADER = 10.0
"""Length of a leader line (m); labels fan out around their element at this distance (then twice it, …)."""
GOLDEN_ANGLE = math.pi * (3 - math.sqrt(5))
"""Angle between successive labels fanned around one place (rad): no two land on one line."""
MAP_HEIGHT = 640
"""Height of the map (px)."""
FRAMED = ("building", "assembly", "footway", "shared", "crossing", "gate")
"""Kinds the map is fitted to when nobody is in a building (long roads would leave the campus small)."""
ZOOM_MARGIN = 60.0
"""The map is fitted to the occupied buildings grown by this much (m): their exits, paths and nearby assembly areas show."""
PANES: dict[str, tuple[int, bool]] = {
    "rp-areas": (410, True),
    "rp-lines": (420, False),
    "rp-closed": (430, True),
    "rp-exits": (450, True),
    "rp-ranks": (620, True),
}
"""Custom Leaflet panes: name → (z-index, receives clicks); ranks above Leaflet's marker pane."""

PATH_STYLES: dict[str, dict[str, Any]] = {
    "road": {"color": "#b9b5ae", "weight": 5, "opacity": 1, "interactive": False},
    "shared": {"color": "#c9b59a", "weight": 3, "opacity": 1, "interactive": False},
    "footway": {"color": "#a79d92", "weight": 1.5, "opacity": 1, "interactive": False},
    "crossing": {"color": "#a79d92", "weight": 3, "opacity": 1, "interactive": False},
}
"""Outdoor paths, drawn quietly as context."""

CLOSURE_STYLES: dict[str, dict[str, Any]] = {
    "blocked": {"color": CLOSED, "weight": 2.5, "dashArray": "5 3", "fillColor": CLOSED, "fillOpacity": 0.35, "radius": 7},
    "fire": {"color": CLOSED, "weight": 2.5, "fillColor": CLOSED, "fillOpacity": 0.85, "radius": 8},
    "fire spread": {"color": CLOSED, "weight": 2, "fillColor": "url(#rp-smoke)", "fillOpacity": 1, "radius": 6},
}
"""Style of a closed node's feature by why it closed (points use ``radius``); smoke-logged untenable spaces are hatched."""
SMOKE_PATTERN = (
    '<svg width="0" height="0" style="position:absolute" aria-hidden="true"><defs>'
    '<pattern id="rp-smoke" width="7" height="7" patternUnits="userSpaceOnUse" patternTransform="rotate(45)">'
    f'<rect width="7" height="7" fill="#ffccbc" fill-opacity="0.75"/><line x1="0" y1="0" x2="0" y2="7" stroke="{CLOSED}" '
    'stroke-width="2.2" stroke-opacity="0.8"/></pattern></defs></svg>'
)
"""The SVG hatch that fills untenable spaces (``url(#rp-smoke)``); the page puts it in once."""


# --------------------------------------------------------------------------
# The map
# --------------------------------------------------------------------------


class RankMarkers(MacroElement):
    """Numbered markers (a ``L.divIcon`` each) from a GeoJSON of points.

    Each point's ``properties`` hold ``rank``, ``label`` (escaped HTML of
    the icon: the rank, and the level of an indoor element) and ``popup``
    (escaped HTML); a label crowded off its element comes with a leader line
    (a LineString) and a ``dot`` on the element.
    """

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        var {{ this.get_name() }} = L.geoJSON({{ this.data|tojson }}, {
            pane: {{ this.pane|tojson }},
            style: function (f) { return {color: "#4a148c", weight: 1.5, opacity: 0.9}; },  // leader lines
            pointToLayer: function (f, latlng) {
                if (f.properties.dot) {  // the element a crowded label stands away from
                    return L.circleMarker(latlng, {pane: {{ this.pane|tojson }}, radius: 3, color: "#fff", weight: 1,
                                                   fillColor: "#4a148c", fillOpacity: 1});
                }
                return L.marker(latlng, {pane: {{ this.pane|tojson }}, zIndexOffset: -f.properties.rank, icon: L.divIcon({
                    className: "rp-rank", html: f.properties.label, iconSize: [24, 24], iconAnchor: [12, 12]})});
            },
            onEachFeature: function (f, layer) { if (f.properties.popup) { layer.bindPopup(f.properties.popup, {maxWidth: 380}); } }
        }).addTo({{ this._parent.get_name() }});
        {% endmacro %}
        """
    )

    def __init__(self, data: dict[str, Any], *, pane: str) -> None:
        super().__init__()
        self._name = "RankMarkers"
        self.data = data
        self.pane = pane


def _collection(items: Iterable[tuple[Any, dict[str, Any]]]) -> dict[str, Any]:
    """A GeoJSON FeatureCollection of (WGS 84 geometry, properties) pairs."""
    return {"type": "FeatureCollection", "features": [
        {"type": "Feature", "geometry": json.loads(shapely.to_geojson(g)), "properties": p} for g, p in items
    ]}


def _node_points(drill: Network, nodes: Sequence[str]) -> dict[str, Any]:
    """WGS 84 points of graph nodes of the drill."""
    g = drill.graph
    xy = np.array([(g.nodes[n]["x"], g.nodes[n]["y"]) for n in nodes]).reshape(-1, 2)
    pts = gpd.GeoSeries(gpd.points_from_xy(xy[:, 0], xy[:, 1]), crs=drill.campus.crs).to_crs(4326)
    return dict(zip(nodes, pts.values, strict=True))


def _server_node_pairs(drill: Network) -> dict[str, tuple[str, ...]]:
    """Readable bottleneck label (``Network.label``) → the graph nodes of its server (one door, or an edge's two ends)."""
    return {drill.label(s.id): tuple(s.id.split("~", 1)) for s in drill.servers}


class ClearanceScale:
    """The sequential colour scale of building clearance time, in minutes.

    Parameters
    ----------
    seconds : iterable of float
        The clearance times (s) to be shown; the scale runs from 0 to the
        largest (at least one minute).
    """

    def __init__(self, seconds: Iterable[float]) -> None:
        top = max([float(s) / 60 for s in seconds] + [1.0])
        self.locator = MaxNLocator(nbins=5)
        ticks = [t for t in self.locator.tick_values(0, top) if t >= 0]
        self.vmax = max(ticks[-1], top)
        self.ticks = [t for t in ticks if t <= self.vmax]
        self.norm = Normalize(0, self.vmax)
        self.cmap = colormaps[CLEARANCE_CMAP]

    def colour(self, seconds: float | None) -> str:
        """Fill colour of a building cleared in ``seconds`` (``None``: nobody was in it)."""
        if seconds is None:
            return NO_PEOPLE
        return to_hex(self.cmap(self.norm(float(seconds) / 60)))

    def legend_html(self) -> str:
        """The scale as a CSS gradient bar with ticks in minutes."""
        stops = ", ".join(f"{to_hex(self.cmap(x))} {x * 100:.0f}%" for x in np.linspace(0, 1, 11))
        ticks = "".join(f'<span style="left:{t / self.vmax * 100:.1f}%">{num(t)}</span>' for t in self.ticks)
        return (f'<div class="rp-scale"><div class="rp-scale-title">Building clearance time (min)</div>'
                f'<div class="rp-scale-bar" style="background: linear-gradient(to right, {stops})"></div>'
                f'<div class="rp-scale-ticks">{ticks}</div></div>')


def _buildings_layer(outcome: Outcome, summary: dict[str, Any], scale: ClearanceScale) -> dict[str, Any]:
    """Buildings coloured by clearance time, with popups."""
    f = outcome.drill.campus.features
    b = f[f["kind"] == "building"]
    occupants = building_occupants(outcome.replications)
    clearance = summary.get("by_building", {})
    items = []
    for (bid, row), geom in zip(b.iterrows(), b.geometry.to_crs(4326).values, strict=True):
        t = clearance.get(bid)
        name = feature_name(outcome.drill, bid)
        style = {**STYLES["building"], "fillColor": scale.colour(t), "fillOpacity": 0.9, "className": "rp-building"}
        cleared = f"{t / 60:.1f} min ({seconds(t)})" if t is not None else "nobody inside"
        popup = popup_html({"name": name or bid, "id": bid, "use": row.get("use"),
                            "occupants": round(occupants.get(bid, 0.0), 1), "clearance time": cleared})
        tooltip = html.escape(f"{name or bid}: {cleared}")
        items.append((geom, {"style": style, "popup": popup, "tooltip": tooltip}))
    return _collection(items)


def _assembly_layer(drill: Network) -> dict[str, Any]:
    """Assembly areas, with their capacity."""
    f = drill.campus.features
    a = f[f["kind"] == "assembly"]
    items = []
    for aid, geom in zip(a.index, a.geometry.to_crs(4326).values, strict=True):
        name = feature_name(drill, aid)
        cap = drill.graph.nodes[aid].get("capacity") if aid in drill.graph else None
        popup = popup_html({"name": name or aid, "id": aid, "kind": "assembly area", "capacity": cap})
        items.append((geom, {"style": {**STYLES["assembly"], "className": "rp-assembly"}, "popup": popup,
                             "tooltip": html.escape(f"assembly area: {name or aid}")}))
    return _collection(items)


def _paths_layer(drill: Network) -> dict[str, Any]:
    """Roads, lanes, footways and crossings, drawn quietly for orientation."""
    f = drill.campus.features
    p = f[f["kind"].isin(list(PATH_STYLES))]
    return _collection((g, {"style": PATH_STYLES[k]}) for k, g in zip(p["kind"], p.geometry.to_crs(4326).values, strict=True))


def _exits_layer(outcome: Outcome, summary: dict[str, Any]) -> dict[str, Any]:
    """Every building exit: a circle sized by the people through it (grey when unused)."""
    drill = outcome.drill
    exits = [s.id for s in drill.servers if s.exit]
    people = summary.get("by_exit", {})
    last = exit_last_times(outcome.replications)
    total = max(sum(people.values()), 1e-9)
    most = max(list(people.values()) + [1e-9])
    points = _node_points(drill, exits)
    items = []
    for door in sorted(exits, key=lambda d: people.get(d, 0.0)):  # big circles under small ones
        n = float(people.get(door, 0.0))
        used = n > 0
        radius = 3 + 10 * math.sqrt(n / most) if used else 3.5
        style = {"radius": radius, "color": "#ffffff" if used else EXIT_UNUSED, "weight": 1.2,
                 "fillColor": EXIT_USED if used else "#ffffff", "fillOpacity": 0.7 if used else 1, "className": "rp-exit"}
        building = drill.graph.nodes[door].get("building")
        popup = popup_html({"id": door, "kind": "exit", "building": building, "people": round(n, 1),
                            "share": f"{n / total:.1%}", "last person out":
                                seconds(last[door]) if door in last else "nobody used it"})
        items.append((points[door], {"style": style, "popup": popup, "tooltip": html.escape(f"exit {door}: {num(n)} people")}))
    return _collection(items)


def _closures_layer(outcome: Outcome, summary: dict[str, Any]) -> dict[str, Any]:
    """Blocked parts, the fire origin and the spaces smoke made untenable (hatched): the closed nodes' features in red.

    A fire's popups say when the space became untenable and how many people were incapacitated in it.
    """
    drill = outcome.drill
    f = drill.campus.features
    closed = closures(drill, outcome.replications)
    points = _node_points(drill, list(closed))
    shapes = f.geometry.to_crs(4326)
    items = []
    order = {"blocked": 0, "fire spread": 1, "fire": 2}
    for node, (t, why) in sorted(closed.items(), key=lambda kv: (order.get(kv[1][1], 0), kv[0])):
        feature = drill.graph.nodes[node].get("feature")
        area = feature in shapes.index and shapes[feature].geom_type in ("Polygon", "MultiPolygon")
        geom = shapes[feature] if area else points[node]
        style = {**CLOSURE_STYLES.get(why, CLOSURE_STYLES["blocked"]), "className": "rp-closed"}
        level = drill.graph.nodes[node].get("level")
        fields = {"name": feature_name(drill, feature or node) or None, "id": node, "kind": drill.graph.nodes[node].get("kind"),
                  "level": level}
        if why in ("fire", "fire spread"):
            fields |= {"closed": "fire origin" if why == "fire" else "untenable: smoke", "untenable from": seconds(t),
                       "incapacitated here": f"{num(summary.get('incapacitated_where', {}).get(node, 0.0))} people (mean per replication)"}
            tip = f"{'fire origin' if why == 'fire' else 'untenable'} from {seconds(t)}: {node}"
        else:
            fields |= {"closed": why, "from": seconds(t)}
            tip = f"{why}: {node}"
        items.append((geom, {"style": style, "popup": popup_html(fields), "tooltip": html.escape(tip)}))
    return _collection(items)


def level_ranks(drill: Network | None, bottlenecks: Sequence[dict[str, Any]]) -> list[tuple[int | None, int]]:
    """Per bottleneck (worst first): its building level (None outdoors, or without the run's network) and its rank
    among the bottlenecks on that level (1 = the worst there). The map numbers them so, each with its level's tag."""
    where = _server_node_pairs(drill) if drill is not None else {}
    count: dict[int | None, int] = {}
    out = []
    for b in bottlenecks:
        ends = where.get(b["id"])
        node = drill.graph.nodes[ends[0]] if drill is not None and ends else {}
        lv = node.get("level")
        level = int(lv) if isinstance(lv, int | np.integer) and node.get("building") else None
        count[level] = count.get(level, 0) + 1
        out.append((level, count[level]))
    return out


def level_rank_text(level: int | None, rank: int) -> str:
    """``L2 #1``, or ``outdoors #1``: a bottleneck's rank on its level, as the table and the popups write it."""
    return f"{'outdoors' if level is None else f'L{level}'} #{rank}"


def _bottleneck_layer(outcome: Outcome, summary: dict[str, Any]) -> dict[str, Any]:
    """The worst bottlenecks, numbered per level (the level tagged, ``out`` outdoors): doors at the door, paths and
    flights at the middle of the edge."""
    drill = outcome.drill
    where = _server_node_pairs(drill)
    top = summary.get("bottlenecks", [])[:TOP_BOTTLENECKS]
    per_level = level_ranks(drill, top)
    ranked = [(i, b) for i, b in enumerate(top, 1) if b["id"] in where]
    nodes = sorted({n for _, b in ranked for n in where[b["id"]]})
    points = _node_points(drill, nodes)
    drawn: list[tuple[float, float]] = []  # label places, in the campus's metres
    items = []
    to_wgs = Transformer.from_crs(drill.campus.crs, 4326, always_xy=True)
    for rank, b in ranked:
        ends = where[b["id"]]
        xy = np.mean([(drill.graph.nodes[n]["x"], drill.graph.nodes[n]["y"]) for n in ends], axis=0)
        label, k = (float(xy[0]), float(xy[1])), 0
        while any(math.dist(label, d) < NEAR_RANKS for d in drawn):  # crowded: fan out, a leader line back to the element
            k += 1
            r, a = LEADER * (1 + (k - 1) // 8), k * GOLDEN_ANGLE
            label = (float(xy[0]) + r * math.cos(a), float(xy[1]) + r * math.sin(a))
        drawn.append(label)
        at = shapely.Point(np.mean([(points[n].x, points[n].y) for n in ends], axis=0))
        level, on_level = per_level[rank - 1]
        popup = popup_html({"name": f"Bottleneck {level_rank_text(level, on_level)}", "element": b["id"], "kind": b["kind"],
                            "where": "outdoors" if level is None else f"level {level}", "campus-wide": f"#{rank}",
                            "max queue": f"{num(b['max_queue'])} people", "max wait": seconds(b["max_wait_s"]),
                            "mean wait": seconds(b["mean_wait_s"]), "passed": f"{num(b['passed'])} people"})
        tag = f'<b class="rp-lvl">{"out" if level is None else f"L{level}"}</b>'
        place = shapely.Point(*to_wgs.transform(*label)) if k else at
        items.append((place, {"rank": rank, "label": f"<span>{on_level}</span>{tag}", "popup": popup}))
        if k:
            items.append((shapely.LineString([at, place]), {"rank": rank, "leader": True}))
            items.append((at, {"rank": rank, "dot": True, "popup": popup}))
    return _collection(items)


def drill_map(outcome: Outcome, summary: dict[str, Any]) -> folium.Map:
    """The map of the run, with no tile layer (see the module docstring).

    Parameters
    ----------
    outcome : Outcome
        The run.
    summary : dict
        ``outcome.summary()``.

    Returns
    -------
    folium.Map
        ``MAP_HEIGHT`` px high, fitted to the campus, with a layer control;
        render it with :func:`viz.offline.offline_page`.
    """
    drill = outcome.drill
    m = offline_map(panes=PANES, height=MAP_HEIGHT, scroll_zoom=False)
    scale = ClearanceScale(summary.get("by_building", {}).values())
    layers = [
        ("Paths", _paths_layer(drill), "rp-lines"),
        ("Buildings by clearance time", _buildings_layer(outcome, summary, scale), "rp-areas"),
        ("Assembly areas", _assembly_layer(drill), "rp-areas"),
        ("Blocked parts, fire & untenable spaces", _closures_layer(outcome, summary), "rp-closed"),
        ("Exits by people", _exits_layer(outcome, summary), "rp-exits"),
    ]
    for name, data, pane in layers:
        if data["features"]:
            folium.FeatureGroup(name=name).add_to(m).add_child(CampusFeatures(data, pane=pane))
    ranks = _bottleneck_layer(outcome, summary)
    if ranks["features"]:
        folium.FeatureGroup(name=f"Bottlenecks (top {TOP_BOTTLENECKS})").add_to(m).add_child(
            RankMarkers(ranks, pane="rp-ranks"))
    folium.LayerControl(collapsed=False, position="topright").add_to(m)
    f = drill.campus.features
    occupied = [b for b in building_occupants(outcome.replications) if b in f.index]
    if occupied:  # the buildings the scenario occupies, with room around them for their exits, paths and assembly areas
        framed = f.loc[occupied].geometry.buffer(ZOOM_MARGIN)
    else:
        framed = (f[f["kind"].isin(FRAMED)] if f["kind"].isin(FRAMED).any() else f).geometry
    minx, miny, maxx, maxy = framed.to_crs(4326).total_bounds
    m.fit_bounds([[miny, minx], [maxy, maxx]], padding=(16, 16))
    return m


def map_legend_html(summary: dict[str, Any]) -> str:
    """The legend under the map: the clearance scale and the symbols."""
    scale = ClearanceScale(summary.get("by_building", {}).values())
    closed = CLOSURE_STYLES
    symbols = [
        (f'<svg width="26" height="16"><rect x="2" y="2" width="22" height="12" fill="{NO_PEOPLE}" stroke="#4f5b62"/></svg>',
         "building, nobody inside"),
        (f'<svg width="26" height="18"><circle cx="13" cy="9" r="8" fill="{EXIT_USED}" fill-opacity=".8" stroke="#fff"/></svg>',
         "exit (area ∝ people)"),
        (f'<svg width="26" height="16"><circle cx="13" cy="8" r="3.5" fill="#fff" stroke="{EXIT_UNUSED}" stroke-width="1.5"/></svg>',
         "exit nobody used"),
        ('<span class="rp-rank rp-rank-legend"><span>1</span></span>', "bottleneck, ranked on its level (tag: L2, out)"),
        (f'<svg width="26" height="16"><rect x="2" y="2" width="22" height="12" fill="{CLOSED}" fill-opacity=".35" '
         f'stroke="{CLOSED}" stroke-width="2" stroke-dasharray="5 3"/></svg>', "blocked"),
        (f'<svg width="26" height="16"><rect x="2" y="2" width="22" height="12" fill="{CLOSED}" fill-opacity=".85" '
         f'stroke="{CLOSED}"/></svg><svg width="26" height="16"><rect x="2" y="2" width="22" height="12" '
         f'fill="{closed["fire spread"]["fillColor"]}" stroke="{CLOSED}" stroke-width="2"/></svg>',
         "fire origin, untenable (smoke)"),
        (f'<svg width="26" height="16"><rect x="2" y="2" width="22" height="12" fill="{STYLES["assembly"]["fillColor"]}" '
         f'fill-opacity=".4" stroke="{STYLES["assembly"]["color"]}" stroke-width="2" stroke-dasharray="6 4"/></svg>',
         "assembly area"),
    ]
    entries = "".join(f'<span class="rp-sym">{svg}{html.escape(label)}</span>' for svg, label in symbols)
    return f'<div class="rp-legend" id="rp-legend">{scale.legend_html()}<div class="rp-syms">{entries}</div></div>'

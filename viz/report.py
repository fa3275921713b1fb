"""The drill report: one self-contained HTML page of an evacuation run.

``twin run SCENARIO -o DIR`` writes ``DIR/report.html`` with :func:`write_report`.
The page needs no network: Leaflet is inlined (through
:func:`viz.campus_map.offline_page`), the map has no tiles and every plot is
an embedded PNG. It holds, top to bottom:

1. a header (scenario, campus, seed, replications, route, what-ifs, date) and
   the key figures: evacuation time (mean, p50, p95, min, max) beside the
   flow lower bound, occupants, safe, trapped and the wall time;
2. a map: buildings coloured by clearance time, exits sized by the people
   through them, the worst bottlenecks ranked, blocked parts and the fire in
   red, assembly areas;
3. plots: people safe over time, people out of each building over time, and
   the flow through the busiest exits;
4. tables: bottlenecks, clearance by building, people by exit.

Figures of several replications are means per replication, as in
``Outcome.summary()``; every text from the campus or the scenario is
HTML-escaped.
"""

from __future__ import annotations

import html
import json
import math
from collections.abc import Iterable, Sequence
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import folium
import geopandas as gpd
import numpy as np
import shapely
from folium.elements import MacroElement
from folium.template import Template
from matplotlib import colormaps
from matplotlib.colors import Normalize, to_hex
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from viz.plots import figure, style_axes
from viz.campus_map import STYLES, CampusFeatures, framed_page, offline_map, popup_html, write_page
from viz.page import CLOSED, Html, card, esc, mpl_text, png_data_uri, report_css, table_html

if TYPE_CHECKING:
    from scenarios.evacuation import Drill, Replication
    from scenarios.run import Outcome

# --------------------------------------------------------------------------
# Settings of the page
# --------------------------------------------------------------------------

CLEARANCE_CMAP = "YlOrBr"
"""Sequential colour scale of building clearance time (light = quick, dark brown = slow); not red, which marks closures."""
NO_PEOPLE = "#d5d8da"
"""Fill of buildings nobody left (no occupants in this scenario)."""
EXIT_USED = "#1565c0"
EXIT_UNUSED = "#9e9e9e"
TOP_BOTTLENECKS = 10
NEAR_RANKS = 30.0
"""Spacing of bottleneck markers (m, about one marker's width on a campus-wide view): a marker
closer than this to a better-ranked one is moved right by whole marker widths until it is clear."""
TOP_BUILDINGS = 10
"""Buildings drawn in the per-building plot (the most occupied)."""
TOP_EXITS_FLOW = 8
"""Exits drawn in the exit-flow plot (the busiest)."""
TOP_EXITS_BARS = 20
"""Exits in the bar chart of people per exit."""
MAP_HEIGHT = 640
"""Height of the map (px)."""
"""Resolution of the plots (dots per inch)."""
FRAMED = ("building", "assembly", "footway", "shared", "crossing", "gate")
"""Kinds the map is fitted to (long roads would leave the campus small)."""
CURVE_POINTS = 800
"""Samples of the time axis of the mean curves."""

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
    "fire spread": {"color": CLOSED, "weight": 1.5, "fillColor": "#ff6e40", "fillOpacity": 0.55, "radius": 6},
}
"""Style of a closed node's feature by why it closed (points use ``radius``)."""


# --------------------------------------------------------------------------
# Formatting
# --------------------------------------------------------------------------


def _num(x: float, digits: int = 1) -> str:
    """A number with thousands separators, without decimals when it is whole."""
    x = float(x)
    if not math.isfinite(x):
        return "–"
    if x == round(x):
        return f"{x:,.0f}"
    return f"{x:,.{digits}f}"


def _fixed(x: float) -> str:
    """A time for a table column (s): always one decimal, so the column lines up."""
    return f"{float(x):,.1f}"


def _seconds(s: float) -> str:
    """Seconds as in the summary (one decimal), e.g. ``245.4 s``."""
    return f"{float(s):,.1f} s"


def _clock(s: float) -> str:
    """Seconds as minutes and seconds, e.g. ``4 min 05 s``."""
    m, sec = divmod(round(float(s)), 60)
    return f"{m} min {sec:02d} s" if m else f"{sec} s"


# --------------------------------------------------------------------------
# What the replications add up to
# --------------------------------------------------------------------------


def _feature_name(drill: Drill, fid: str) -> str:
    """The ``name`` of feature ``fid``, or ``""``."""
    f = drill.campus.features
    if fid in f.index and "name" in f:
        name = f.at[fid, "name"]
        if isinstance(name, str):
            return name
    return ""


def building_occupants(reps: Sequence[Replication]) -> dict[str, float]:
    """People who started in each building, mean per replication (persons)."""
    out: dict[str, float] = {}
    for r in reps:
        ids, counts = np.unique(np.asarray([b for b in r.building_of if b], dtype=object), return_counts=True)
        for b, n in zip(ids.tolist(), counts.tolist(), strict=True):
            out[b] = out.get(b, 0.0) + n / len(reps)
    return out


def exit_last_times(reps: Sequence[Replication]) -> dict[str, float]:
    """When the last person passed each exit, mean over the replications that used it (s)."""
    last: dict[str, list[float]] = {}
    for r in reps:
        for door, times in r.exit_times.items():
            if times:
                last.setdefault(door, []).append(max(times))
    return {door: float(np.mean(ts)) for door, ts in last.items()}


def closures(drill: Drill, reps: Sequence[Replication]) -> dict[str, tuple[float, str]]:
    """Closed graph nodes: node → (earliest time closed in any replication (s), why).

    Closures the scenario sets up (blocked parts, the fire and its spread)
    are included even when no replication ran long enough to reach them.
    """
    out: dict[str, tuple[float, str]] = {}
    planned: list[tuple[float, str, str]] = [(0.0, drill.names[i], "blocked") for i in drill.blocked_nodes]
    fire = drill.scenario.fire
    if fire is not None:
        origin, near = drill.fire_nodes
        planned += [(fire.start, drill.names[i], "fire") for i in origin]
        planned += [(fire.start + fire.spread_delay, drill.names[i], "fire spread") for i in near]
    for t, node, why in [c for r in reps for c in r.closures] + planned:
        if node not in out or t < out[node][0]:
            out[node] = (float(t), why)
    return out


def _mean_count(times: Iterable[np.ndarray], grid: np.ndarray) -> np.ndarray:
    """Mean over replications of how many of each replication's times are ``<= grid``."""
    counts = [np.searchsorted(np.sort(t[np.isfinite(t)]), grid, side="right") for t in times]
    return np.mean(counts, axis=0) if counts else np.zeros_like(grid)


def _end_time(reps: Sequence[Replication], summary: dict[str, Any]) -> float:
    """The end of the plots' time axis (s): the last arrival, at least the lower bound."""
    last = max((r.evacuation_time for r in reps), default=0.0)
    return max(last, float(summary.get("lower_bound_s") or 0.0), 60.0) * 1.02


# --------------------------------------------------------------------------
# Header and key figures
# --------------------------------------------------------------------------


def header_html(outcome: Outcome, summary: dict[str, Any], *, generated: datetime) -> str:
    """The page header: scenario, campus, run parameters, what-ifs and date.

    Parameters
    ----------
    outcome : Outcome
        The run.
    summary : dict
        ``outcome.summary()``.
    generated : datetime
        When the report was written.

    Returns
    -------
    str
        HTML, every text escaped.
    """
    sc = outcome.scenario
    campus_name = outcome.drill.campus.features.attrs.get("name") or ""
    campus = f"{campus_name} ({summary['campus']})" if campus_name else str(summary["campus"])
    facts = [
        ("campus", campus),
        ("seed", summary["seed"]),
        ("replications", summary["replications"]),
        ("route", summary["route"]),
        ("date", generated.strftime("%Y-%m-%d %H:%M %Z").strip()),
    ]
    whatifs = []
    if summary.get("blocked"):
        whatifs.append("blocked: " + ", ".join(map(str, summary["blocked"])))
    fire = summary.get("fire")
    if fire:
        whatifs.append(f"fire in {fire['origin']} at {_num(fire['start'])} s, spreading after {_num(fire['spread_delay'])} s")
    if sc.occupancy.default != 1.0 or sc.occupancy.buildings:
        whatifs.append(f"occupancy {sc.occupancy.default:.0%} of design"
                       + (f" ({len(sc.occupancy.buildings)} buildings set apart)" if sc.occupancy.buildings else ""))
    meta = "".join(f"<span><b>{esc(k)}</b> {esc(v)}</span>" for k, v in facts)
    parts = [f'<header class="rp-header"><h1>Evacuation drill report: {esc(summary["scenario"])}</h1>',
             f'<div class="rp-meta">{meta}</div>']
    if sc.description:
        parts.append(f'<p class="rp-desc">{esc(sc.description)}</p>')
    if whatifs:
        parts.append('<div class="rp-whatif">What-if: ' + "; ".join(esc(w) for w in whatifs) + "</div>")
    parts.append("</header>")
    return "".join(parts)


def key_figures_html(summary: dict[str, Any]) -> str:
    """The key-figures panel.

    Evacuation time (mean, with p50/p95/min/max), the flow lower bound beside
    it with the ratio of the two, occupants, safe, trapped (red when any),
    unfinished (only when any) and the wall time.

    Parameters
    ----------
    summary : dict
        ``Outcome.summary()``: the JSON document of ``twin run --json``.

    Returns
    -------
    str
        HTML.
    """
    mean = float(summary["evacuation_time_s"])
    st = summary["evacuation_time_stats"]
    bound = float(summary.get("lower_bound_s") or 0.0)
    method = (summary.get("lower_bound") or {}).get("method", "")
    ratio = f"simulated ÷ bound = {mean / bound:.2f}" if bound > 0 else "no bound: nobody can reach an assembly area"
    trapped = float(summary["trapped"])
    cards = [
        card("Evacuation time (mean)", _seconds(mean),
              f"{_clock(mean)} · p50 {_num(st['p50'])} · p95 {_num(st['p95'])} · min {_num(st['min'])} · "
              f"max {_num(st['max'])} s", tone="main"),
        card("Flow lower bound", _seconds(bound), f"{ratio} · {method}"),
        card("Occupants", _num(summary["occupants"]), "people in the buildings at the alarm"),
        card("Safe", _num(summary["safe"]), "reached an assembly area (mean per replication)"),
        card("Trapped", _num(trapped), "no way out left (mean per replication)", tone="bad" if trapped > 0 else ""),
    ]
    if float(summary.get("unfinished") or 0) > 0:
        cards.append(card("Unfinished", _num(summary["unfinished"]), "still on the way at max_time", tone="warn"))
    cards.append(card("Wall time", _seconds(summary["wall_s"]),
                       f"{summary['replications']} replication{'s' if summary['replications'] != 1 else ''}"))
    return f'<section class="rp-figures" id="rp-figures">{"".join(cards)}</section>'


# --------------------------------------------------------------------------
# The map
# --------------------------------------------------------------------------


class RankMarkers(MacroElement):
    """Numbered markers (a ``L.divIcon`` each) from a GeoJSON of points.

    Each feature's ``properties`` hold ``rank``, ``label`` (escaped HTML of
    the icon), ``popup`` (escaped HTML) and ``shift``: how many icons widths
    to move it right, so ranks at nearly the same place stay readable.
    """

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        var {{ this.get_name() }} = L.geoJSON({{ this.data|tojson }}, {
            pointToLayer: function (f, latlng) {
                var shift = f.properties.shift || 0;  // side by side with the ranks drawn close by
                return L.marker(latlng, {pane: {{ this.pane|tojson }}, zIndexOffset: -f.properties.rank, icon: L.divIcon({
                    className: "rp-rank", html: f.properties.label, iconSize: [24, 24], iconAnchor: [12 - 24 * shift, 12]})});
            },
            onEachFeature: function (f, layer) { layer.bindPopup(f.properties.popup, {maxWidth: 380}); }
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


def _node_points(drill: Drill, nodes: Sequence[str]) -> dict[str, Any]:
    """WGS 84 points of graph nodes of the drill."""
    g = drill.graph
    xy = np.array([(g.nodes[n]["x"], g.nodes[n]["y"]) for n in nodes]).reshape(-1, 2)
    pts = gpd.GeoSeries(gpd.points_from_xy(xy[:, 0], xy[:, 1]), crs=drill.campus.crs).to_crs(4326)
    return dict(zip(nodes, pts.values, strict=True))


def _server_node_pairs(drill: Drill) -> dict[str, tuple[str, ...]]:
    """Readable bottleneck label (``Drill.label``) → the graph nodes of its server (one door, or an edge's two ends)."""
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
        ticks = "".join(f'<span style="left:{t / self.vmax * 100:.1f}%">{_num(t)}</span>' for t in self.ticks)
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
        name = _feature_name(outcome.drill, bid)
        style = {**STYLES["building"], "fillColor": scale.colour(t), "fillOpacity": 0.9, "className": "rp-building"}
        cleared = f"{t / 60:.1f} min ({_seconds(t)})" if t is not None else "nobody inside"
        popup = popup_html({"name": name or bid, "id": bid, "use": row.get("use"),
                            "occupants": round(occupants.get(bid, 0.0), 1), "clearance time": cleared})
        tooltip = html.escape(f"{name or bid}: {cleared}")
        items.append((geom, {"style": style, "popup": popup, "tooltip": tooltip}))
    return _collection(items)


def _assembly_layer(drill: Drill) -> dict[str, Any]:
    """Assembly areas, with their capacity."""
    f = drill.campus.features
    a = f[f["kind"] == "assembly"]
    items = []
    for aid, geom in zip(a.index, a.geometry.to_crs(4326).values, strict=True):
        name = _feature_name(drill, aid)
        cap = drill.graph.nodes[aid].get("capacity") if aid in drill.graph else None
        popup = popup_html({"name": name or aid, "id": aid, "kind": "assembly area", "capacity": cap})
        items.append((geom, {"style": {**STYLES["assembly"], "className": "rp-assembly"}, "popup": popup,
                             "tooltip": html.escape(f"assembly area: {name or aid}")}))
    return _collection(items)


def _paths_layer(drill: Drill) -> dict[str, Any]:
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
                                _seconds(last[door]) if door in last else "nobody used it"})
        items.append((points[door], {"style": style, "popup": popup, "tooltip": html.escape(f"exit {door}: {_num(n)} people")}))
    return _collection(items)


def _closures_layer(outcome: Outcome) -> dict[str, Any]:
    """Blocked parts, the fire origin and its spread: the closed nodes' features in red."""
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
        popup = popup_html({"id": node, "kind": drill.graph.nodes[node].get("kind"), "level": level,
                            "closed": why, "from": _seconds(t)})
        items.append((geom, {"style": style, "popup": popup, "tooltip": html.escape(f"{why}: {node}")}))
    return _collection(items)


def _bottleneck_layer(outcome: Outcome, summary: dict[str, Any]) -> dict[str, Any]:
    """The worst bottlenecks, numbered by rank: doors at the door, paths and flights at the middle of the edge."""
    drill = outcome.drill
    where = _server_node_pairs(drill)
    ranked = [(i, b) for i, b in enumerate(summary.get("bottlenecks", [])[:TOP_BOTTLENECKS], 1) if b["id"] in where]
    nodes = sorted({n for _, b in ranked for n in where[b["id"]]})
    points = _node_points(drill, nodes)
    drawn: list[tuple[float, float]] = []  # in the campus's metres
    items = []
    for rank, b in ranked:
        ends = where[b["id"]]
        xy = np.mean([(drill.graph.nodes[n]["x"], drill.graph.nodes[n]["y"]) for n in ends], axis=0)
        shift = 0
        while any(math.dist((xy[0] + shift * NEAR_RANKS, xy[1]), d) < NEAR_RANKS for d in drawn):
            shift += 1
        drawn.append((float(xy[0]) + shift * NEAR_RANKS, float(xy[1])))
        at = shapely.Point(np.mean([(points[n].x, points[n].y) for n in ends], axis=0))
        popup = popup_html({"name": f"Bottleneck #{rank}", "element": b["id"], "kind": b["kind"], "max queue": f"{_num(b['max_queue'])} people",
                            "max wait": _seconds(b["max_wait_s"]), "mean wait": _seconds(b["mean_wait_s"]),
                            "passed": f"{_num(b['passed'])} people"})
        items.append((at, {"rank": rank, "label": f"<span>{rank}</span>", "popup": popup, "shift": shift}))
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
        render it with :func:`viz.campus_map.offline_page`.
    """
    drill = outcome.drill
    m = offline_map(panes=PANES, height=MAP_HEIGHT, scroll_zoom=False)
    scale = ClearanceScale(summary.get("by_building", {}).values())
    layers = [
        ("Paths", _paths_layer(drill), "rp-lines"),
        ("Buildings by clearance time", _buildings_layer(outcome, summary, scale), "rp-areas"),
        ("Assembly areas", _assembly_layer(drill), "rp-areas"),
        ("Blocked parts & fire", _closures_layer(outcome), "rp-closed"),
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
    framed = f[f["kind"].isin(FRAMED)] if f["kind"].isin(FRAMED).any() else f
    minx, miny, maxx, maxy = framed.geometry.to_crs(4326).total_bounds
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
        ('<span class="rp-rank rp-rank-legend"><span>1</span></span>', "bottleneck, by rank"),
        (f'<svg width="26" height="16"><rect x="2" y="2" width="22" height="12" fill="{CLOSED}" fill-opacity=".35" '
         f'stroke="{CLOSED}" stroke-width="2" stroke-dasharray="5 3"/></svg>', "blocked"),
        (f'<svg width="26" height="16"><rect x="2" y="2" width="22" height="12" fill="{CLOSED}" fill-opacity=".85" '
         f'stroke="{CLOSED}"/></svg><svg width="26" height="16"><rect x="2" y="2" width="22" height="12" '
         f'fill="{closed["fire spread"]["fillColor"]}" fill-opacity=".55" stroke="{CLOSED}"/></svg>', "fire origin, spread"),
        (f'<svg width="26" height="16"><rect x="2" y="2" width="22" height="12" fill="{STYLES["assembly"]["fillColor"]}" '
         f'fill-opacity=".4" stroke="{STYLES["assembly"]["color"]}" stroke-width="2" stroke-dasharray="6 4"/></svg>',
         "assembly area"),
    ]
    entries = "".join(f'<span class="rp-sym">{svg}{html.escape(label)}</span>' for svg, label in symbols)
    return f'<div class="rp-legend" id="rp-legend">{scale.legend_html()}<div class="rp-syms">{entries}</div></div>'


# --------------------------------------------------------------------------
# Plots
# --------------------------------------------------------------------------


def evacuation_figure(outcome: Outcome, summary: dict[str, Any]) -> Figure:
    """People safe vs time: each replication (thin), their mean (thick) and the flow lower bound.

    Parameters
    ----------
    outcome : Outcome
        The run.
    summary : dict
        ``outcome.summary()`` (for the lower bound and the occupants).

    Returns
    -------
    Figure
        Time in minutes since the alarm.
    """
    reps = outcome.replications
    end = _end_time(reps, summary)
    grid = np.linspace(0, end, CURVE_POINTS)
    fig = figure(10.5, 4.6)
    ax = fig.add_subplot()
    for i, r in enumerate(reps):
        t = np.concatenate([[0.0], r.safe_times, [end]]) / 60
        n = np.concatenate([[0], np.arange(1, len(r.safe_times) + 1), [len(r.safe_times)]])
        ax.step(t, n, where="post", color="#7d9cc0", linewidth=0.8, alpha=0.8,
                label="each replication" if i == 0 else None)
    ax.plot(grid / 60, _mean_count((r.safe_times for r in reps), grid), color="#0d47a1", linewidth=2.4,
            label=f"mean of {len(reps)} replication{'s' if len(reps) != 1 else ''}")
    ax.axhline(summary["occupants"], color="#555555", linestyle=":", linewidth=1.2,
               label=f"occupants ({_num(summary['occupants'])})")
    bound = float(summary.get("lower_bound_s") or 0.0)
    if bound > 0:
        ax.axvline(bound / 60, color="#c62828", linestyle="--", linewidth=1.6,
                   label=f"flow lower bound ({_num(bound)} s = {bound / 60:.1f} min)")
    mean = float(summary["evacuation_time_s"])
    ax.axvline(mean / 60, color="#0d47a1", linestyle=":", linewidth=1.2,
               label=f"mean evacuation time ({_num(mean)} s = {mean / 60:.1f} min)")
    style_axes(ax, "People safe (at an assembly area) over time", "time since the alarm (min)", "people safe", from_zero=True)
    ax.set_xlim(0, end / 60)
    ax.set_ylim(0, max(summary["occupants"], 1) * 1.05)
    ax.legend(loc="lower right", fontsize=9.5, framealpha=0.95)
    return fig


def building_figure(outcome: Outcome, summary: dict[str, Any]) -> Figure:
    """People out of their building vs time, one line per building (the most occupied ones).

    Parameters
    ----------
    outcome : Outcome
        The run.
    summary : dict
        ``outcome.summary()`` (for the time axis).

    Returns
    -------
    Figure
        Mean over replications; time in minutes since the alarm.
    """
    reps = outcome.replications
    occupants = building_occupants(reps)
    top = sorted(occupants, key=lambda b: (-occupants[b], b))[:TOP_BUILDINGS]
    last = max((float(np.nanmax(r.left_building)) for r in reps if np.isfinite(r.left_building).any()), default=60.0)
    end = max(last, 60.0) * 1.04
    grid = np.linspace(0, end, CURVE_POINTS)
    fig = figure(10.5, 4.6)
    ax = fig.add_subplot()
    colours = colormaps["tab10"].colors
    building_of = [np.asarray(r.building_of, dtype=object) for r in reps]
    for i, b in enumerate(top):
        times = [r.left_building[of == b] for r, of in zip(reps, building_of, strict=True)]
        name = _feature_name(outcome.drill, b)
        label = f"{b}{' ' + name if name and name != b else ''} ({_num(occupants[b])})"
        ax.plot(grid / 60, _mean_count(times, grid), color=colours[i % len(colours)], linewidth=1.8,
                label=mpl_text(label))
    shown = f"top {len(top)} of {len(occupants)} buildings by occupants" if len(occupants) > len(top) else "every building"
    style_axes(ax, f"People out of their building over time ({shown})", "time since the alarm (min)",
                "people out of the building", from_zero=True)
    ax.set_xlim(0, end / 60)
    if top:
        ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=9, title="building (occupants)",
                  title_fontsize=9.5, frameon=False)
    return fig


def exit_figure(outcome: Outcome, summary: dict[str, Any]) -> Figure:
    """People per exit (bars, busiest first) and the flow through the busiest exits over time.

    Parameters
    ----------
    outcome : Outcome
        The run.
    summary : dict
        ``outcome.summary()`` (for people per exit).

    Returns
    -------
    Figure
        Flow in people per minute, in bins of 30 s (60 s past 20 minutes), mean over replications.
    """
    reps = outcome.replications
    people = summary.get("by_exit", {})
    busiest = sorted(people, key=lambda d: (-people[d], d))
    bars = busiest[:TOP_EXITS_BARS]
    flows = busiest[:TOP_EXITS_FLOW]
    colours = colormaps["tab10"].colors
    colour = {d: colours[i % len(colours)] for i, d in enumerate(flows)}
    fig = figure(12, max(4.6, 0.24 * len(bars) + 1.4))
    left, right = fig.subplots(1, 2, width_ratios=[1, 1.7])
    left.barh(range(len(bars)), [people[d] for d in bars], color=[colour.get(d, "#9fb3c8") for d in bars])
    for i, n in enumerate(people[d] for d in bars):
        left.annotate(_num(n), (n, i), xytext=(3, 0), textcoords="offset points", va="center", fontsize=8)
    shown = f"busiest {len(bars)} of {len(people)}" if len(people) > len(bars) else "every exit used"
    style_axes(left, f"People per exit ({shown})", "people (mean per replication)", "", from_zero=True)
    left.set_yticks(range(len(bars)), [mpl_text(d) for d in bars], fontsize=9)
    left.set_ylim(len(bars) - 0.5, -0.5)  # busiest at the top
    left.set_xlim(0, max([people[d] for d in bars] + [1.0]) * 1.18)  # room for the numbers
    left.grid(False, axis="y")
    last = max((max(ts) for r in reps for ts in r.exit_times.values() if ts), default=60.0)
    width = 30.0 if last <= 20 * 60 else 60.0
    edges = np.arange(0.0, last + width, width)
    if len(edges) < 2:
        edges = np.array([0.0, width])
    for d in flows:
        counts = np.mean([np.histogram(r.exit_times.get(d, []), bins=edges)[0] for r in reps], axis=0)
        right.plot((edges[:-1] + width / 2) / 60, counts * 60 / width, color=colour[d], linewidth=1.6,
                   marker="o" if len(edges) < 25 else None, markersize=3, label=mpl_text(d))
    busiest_title = f"the {len(flows)} busiest exits" if len(flows) > 1 else "the busiest exit"
    style_axes(right, f"Flow through {busiest_title}", "time since the alarm (min)",
                "people per minute", from_zero=True)
    if flows:
        right.legend(loc="upper right", fontsize=9, ncols=2 if len(flows) > 4 else 1, framealpha=0.95)
    return fig


def plots_html(outcome: Outcome, summary: dict[str, Any]) -> str:
    """The plots as embedded PNG images, each in a figure with an alt text."""
    plots = [
        ("rp-plot-safe", evacuation_figure, "People safe over time, each replication and their mean, with the flow lower bound"),
        ("rp-plot-buildings", building_figure, "People out of their building over time, per building"),
        ("rp-plot-exits", exit_figure, "People per exit and flow through the busiest exits over time"),
    ]
    out = []
    for pid, make, alt in plots:
        uri = png_data_uri(make(outcome, summary))
        out.append(f'<figure class="rp-plot"><img id="{pid}" src="{uri}" alt="{html.escape(alt)}"></figure>')
    return '<section class="rp-section"><h2>Plots</h2>' + "".join(out) + "</section>"


# --------------------------------------------------------------------------
# Tables
# --------------------------------------------------------------------------


def bottleneck_table(summary: dict[str, Any]) -> str:
    """The bottlenecks of the summary, worst first."""
    rows = [(i, b["id"], b["kind"], _num(b["max_queue"]), _fixed(b["max_wait_s"]), _fixed(b["mean_wait_s"]), _num(b["passed"]))
            for i, b in enumerate(summary.get("bottlenecks", []), 1)]
    return table_html(["#", "element", "kind", "max queue (people)", "max wait (s)", "mean wait (s)", "passed (people)"],
                      rows, numeric=(0, 3, 4, 5, 6), table_id="rp-bottlenecks")


def building_table(outcome: Outcome, summary: dict[str, Any]) -> str:
    """Clearance time by building, slowest first, with the map's colour."""
    clearance = summary.get("by_building", {})
    scale = ClearanceScale(clearance.values())
    occupants = building_occupants(outcome.replications)
    rows = []
    for b in sorted(clearance, key=lambda b: (-clearance[b], b)):
        t = clearance[b]
        swatch = Html(f'<span class="rp-swatch" style="background:{scale.colour(t)}"></span>')
        rows.append((swatch, b, _feature_name(outcome.drill, b), _num(occupants.get(b, 0.0)), _fixed(t), _clock(t)))
    return table_html(["", "building", "name", "occupants", "clearance (s)", "clearance"], rows,
                      numeric=(3, 4, 5), table_id="rp-buildings")


def exit_table(outcome: Outcome, summary: dict[str, Any]) -> str:
    """People by exit, busiest first, with the share and when the last person passed."""
    people = summary.get("by_exit", {})
    total = sum(people.values()) or 1.0
    last = exit_last_times(outcome.replications)
    building = {s.id: outcome.drill.graph.nodes[s.id].get("building") or "" for s in outcome.drill.servers if s.exit}
    rows = [(d, building.get(d, ""), _num(n), f"{n / total:.1%}", _fixed(last[d]) if d in last else "–")
            for d, n in sorted(people.items(), key=lambda kv: (-kv[1], kv[0]))]
    unused = sorted(d for d in building if d not in people)
    rows += [(d, building[d], "0", "0.0%", "–") for d in unused]
    return table_html(["exit", "building", "people", "share", "last person out (s)"], rows, numeric=(2, 3, 4),
                      table_id="rp-exits")


def tables_html(outcome: Outcome, summary: dict[str, Any]) -> str:
    """The three tables, with headings and notes."""
    note = "Means per replication; the queue and wait are the largest in any replication."
    return (
        '<section class="rp-section rp-tables">'
        f'<h2>Bottlenecks</h2><p class="rp-note">{html.escape(note)}</p>{bottleneck_table(summary)}'
        f'<div class="rp-two"><div><h2>Clearance by building</h2>'
        '<p class="rp-note">Time the last person left the building (mean over replications).</p>'
        f'{building_table(outcome, summary)}</div>'
        f'<div><h2>People by exit</h2><p class="rp-note">Mean per replication.</p>{exit_table(outcome, summary)}</div></div>'
        "</section>"
    )


# --------------------------------------------------------------------------
# The page
# --------------------------------------------------------------------------




def report_page(outcome: Outcome, summary: dict[str, Any], *, generated: datetime | None = None) -> str:
    """The report as one self-contained HTML page (see the module docstring).

    Parameters
    ----------
    outcome : Outcome
        The run.
    summary : dict
        ``outcome.summary()``: the JSON document of ``twin run --json``.
    generated : datetime, optional
        Date shown in the header; now by default.

    Returns
    -------
    str
        The page; it loads nothing from the network.
    """
    generated = generated or datetime.now().astimezone()
    m = drill_map(outcome, summary)
    top = (f'<div class="rp-top">{header_html(outcome, summary, generated=generated)}{key_figures_html(summary)}'
           '<h2>Map</h2><p class="rp-note">Click a building, exit, bottleneck or closure for details; '
           "the layer control switches layers.</p></div>")
    bottom = (f'<div class="rp-bottom">{map_legend_html(summary)}{plots_html(outcome, summary)}'
              f'{tables_html(outcome, summary)}<footer class="rp-footer">Campus Twin · campus digest '
              f'{html.escape(str(summary.get("campus_digest", ""))[:12])} · '
              f'{_num(summary.get("events_per_replication", 0))} events per replication</footer></div>')
    css = report_css()
    return framed_page(m, title=f"Drill report: {summary['scenario']}", css=css, top=top, bottom=bottom)


def write_report(outcome: Outcome, summary: dict[str, Any], out_dir: Path) -> Path:
    """Write the drill report ``out_dir/report.html``: one self-contained, offline page.

    Parameters
    ----------
    outcome : Outcome
        The run (``scenarios.run.run``).
    summary : dict
        ``outcome.summary()``: the JSON document of ``twin run --json``.
    out_dir : Path
        Folder to write into; created if missing. Nothing else is written:
        Leaflet and the plots are inlined.

    Returns
    -------
    Path
        The HTML file written.
    """
    return write_page(report_page(outcome, summary), out_dir)

"""The coverage report: one self-contained HTML page of a ``coverage`` run.

``twin run COVERAGE.toml -o DIR`` writes ``DIR/report.html`` with
:func:`write_report`; :func:`summary_tables` are the tables ``twin run``
prints. The page needs no network (Leaflet inlined through
:func:`viz.offline.offline_page`, no tiles, plots as embedded PNGs). It
holds, top to bottom:

1. a header and the key figures: response time (p50, p90, p95), share within
   the standard, incidents, guards, the footway network seen, and the
   recommended layout's figures beside the current one's;
2. a map: response-time isochrones from the posts (bands of the running time
   on the paths), key areas, camera viewsheds and blind spots, the posts,
   and the recommended new posts and cameras;
3. plots: response times against the standard (this layout and the
   recommended one), response time by key area, camera coverage by key area,
   incidents and response by hour of the day, guard utilisation;
4. tables: key areas (response, within standard, patrol passes, cameras),
   recommended posts and cameras.

Every text from the campus or the scenario is HTML-escaped.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import folium
import numpy as np
import shapely
from matplotlib.figure import Figure
from rich.table import Table

from viz.campus_map import CampusFeatures
from viz.styles import KEY_AREA_COLOURS
from viz.offline import framed_page, offline_map, write_page
from viz.plots import figure, style_axes
from viz.page import card, esc, feature_collection, popup, png_data_uri, report_css, table_html

if TYPE_CHECKING:
    from scenarios.coverage.outcome import CoverageOutcome

MAP_HEIGHT = 660
BANDS = (60.0, 120.0, 180.0, 240.0)
"""Upper edges of the isochrone bands (s); the standard is always one of the edges."""
BAND_COLOURS = ("#1a9850", "#a6d96a", "#fee08b", "#fc8d59", "#d73027")
"""Colour of each band, quickest first (the last is beyond the last edge)."""
ISO_BUFFER = 9.0
"""Half-width of an isochrone band around the paths (m)."""
VIEW = {"color": "#6a1b9a", "weight": 0.8, "opacity": 0.55, "fillColor": "#ab47bc", "fillOpacity": 0.16, "interactive": False}
NEW_VIEW = {"color": "#00695c", "weight": 1.5, "opacity": 0.9, "dashArray": "4 3", "fillColor": "#26a69a", "fillOpacity": 0.35}
BLIND = {"color": "#b71c1c", "weight": 1, "opacity": 0.8, "fillColor": "#e53935", "fillOpacity": 0.35}
BUILDING = {"color": "#4f5b62", "weight": 1, "fillColor": "#cfd8dc", "fillOpacity": 0.9}
PATH = {"color": "#a79d92", "weight": 1.2, "opacity": 0.9, "interactive": False}
POST = {"radius": 7, "color": "#ffffff", "weight": 2.5, "fillColor": "#1a237e", "fillOpacity": 1}
NEW_POST = {"radius": 8, "color": "#00c853", "weight": 4, "fillColor": "#ffffff", "fillOpacity": 1}
CAMERA = {"radius": 3, "color": "#ffffff", "weight": 1, "fillColor": "#6a1b9a", "fillOpacity": 1}
NEW_CAMERA = {"radius": 5, "color": "#ffffff", "weight": 1.5, "fillColor": "#00897b", "fillOpacity": 1}
PANES = {"cv-areas": (405, True), "cv-iso": (410, False), "cv-lines": (415, False), "cv-keys": (420, True),
         "cv-views": (430, False), "cv-blind": (440, True), "cv-points": (460, True)}


def _pct(x: float | None) -> str:
    return "–" if x is None else f"{100 * float(x):.1f} %"


def _sec(x: float | None) -> str:
    return "–" if x is None else f"{float(x):,.0f} s"


def _bands(standard: float) -> list[float]:
    return sorted({*[b for b in BANDS if b != standard], standard})[:4]


def isochrones(outcome: CoverageOutcome) -> list[tuple[float, float, Any]]:
    """Response-time bands from the posts: (from s, to s, area in metres) around the paths.

    The response time at a point of a path is call handling and turnout plus
    the running time from the nearest post (the quicker of the path's two
    ends); the first band starts at call handling and turnout, nothing is
    reached sooner.
    """
    m = outcome.model
    net = m.net
    homes = sorted({n for _, n, _ in m.layout.posts})
    if not homes:
        return []
    best = net.run_time[homes].min(axis=0) + m.delay
    edges = [(net.index[u], net.index[v]) for u, v, d in net.graph.edges(data=True) if d.get("level") is None]
    edges = [(i, j) for i, j in edges if np.isfinite(best[i]) or np.isfinite(best[j])]
    edges_t = np.array([min(best[i], best[j]) for i, j in edges]) if edges else np.empty(0)
    lines = shapely.linestrings([[net.xy[i], net.xy[j]] for i, j in edges]) if edges else np.empty(0, object)
    edges_b = _bands(outcome.scenario.standard)
    out = []
    lo = m.delay
    for hi in [*edges_b, np.inf]:
        if hi <= lo:
            continue
        sel = (edges_t >= lo) & (edges_t < hi)
        if sel.any():
            out.append((lo, hi, shapely.union_all(shapely.buffer(lines[sel], ISO_BUFFER, cap_style="round"))))
        lo = hi
    return out


def coverage_map(outcome: CoverageOutcome, summary: dict[str, Any]) -> folium.Map:
    """The map of the run (see the module docstring); render it with :func:`viz.offline.offline_page`."""
    campus = outcome.model.campus
    f = campus.features
    crs = f.crs
    m = offline_map(panes=PANES, height=MAP_HEIGHT, scroll_zoom=False)

    def to_wgs(geoms: Sequence[Any]) -> list[Any]:
        import geopandas as gpd

        s = gpd.GeoSeries(list(geoms), crs=crs).to_crs(4326)
        return list(s.values)

    def layer(name: str, items: list[tuple[Any, dict[str, Any]]], pane: str, show: bool = True) -> None:
        if not items:
            return
        geoms = to_wgs([g for g, _ in items])
        data = feature_collection([(g, p) for g, (_, p) in zip(geoms, items, strict=True)])
        if data["features"]:
            folium.FeatureGroup(name=name, show=show).add_to(m).add_child(CampusFeatures(data, pane=pane))

    standard = outcome.scenario.standard
    iso = isochrones(outcome)
    edges_b = [*_bands(standard), np.inf]
    iso_items = []
    for lo, hi, geom in iso:
        col = BAND_COLOURS[min(edges_b.index(hi), len(BAND_COLOURS) - 1)]
        label = f"{lo:.0f}–{hi:.0f} s" if np.isfinite(hi) else f"over {lo:.0f} s"
        iso_items.append((geom, {"style": {"color": col, "weight": 0, "fillColor": col, "fillOpacity": 0.75},
                                 "tooltip": esc(f"response {label} from the nearest post")}))
    layer("Response-time isochrones from posts", iso_items, "cv-iso")
    paths = f[f["kind"].isin(["footway", "road", "shared", "crossing"])]
    layer("Paths", [(g, {"style": PATH}) for g in paths.geometry], "cv-lines")
    b = f[f["kind"] == "building"]
    layer("Buildings", [(g, {"style": BUILDING, "tooltip": esc(f"building {i}")}) for i, g in b.geometry.items()], "cv-areas")
    keys = []
    for fid, row in f[f["kind"] == "key_area"].iterrows():
        cat = str(row.get("category") or "other")
        col = KEY_AREA_COLOURS.get(cat, KEY_AREA_COLOURS["other"])
        c = summary["camera_coverage"].get(str(fid), {})
        r = summary["by_key_area"].get(str(fid), {})
        pop = popup(str(row.get("name") or fid), [
            ("id", fid), ("category", cat), ("seen by cameras", _pct(c.get("seen_share"))),
            ("open ground seen", _pct(c.get("open_seen_share"))), ("blind open ground", f"{c.get('blind_m2', 0):,.0f} m²"),
            ("incidents per run", r.get("incidents")), ("response p90", _sec((r.get("response_time_s") or {}).get("p90"))),
            ("within standard", _pct(r.get("within_standard")))])
        keys.append((row.geometry, {"style": {"color": col, "weight": 2.5, "dashArray": "6 3", "fillColor": col, "fillOpacity": 0.06},
                                    "popup": pop, "tooltip": esc(f"key area {fid}")}))
    layer("Key areas", keys, "cv-keys")
    views = outcome.cameras.views
    layer("Camera viewsheds", [(v, {"style": VIEW}) for v in views.to_numpy()], "cv-views")
    blind = [(a.blind_spots, {"style": BLIND, "tooltip": esc(f"blind spot of {k}: {a.blind_m2:,.0f} m² no camera sees")})
             for k, a in outcome.cameras.areas.items()]
    layer("Blind spots", blind, "cv-blind")
    cams = f[f["kind"] == "camera"]
    layer("Cameras", [(g, {"style": CAMERA, "tooltip": esc(f"camera {i}")}) for i, g in cams.geometry.items()], "cv-points")
    net = outcome.model.net
    posts = [(shapely.Point(net.xy[n]), {"style": {**POST, "radius": 5 + 1.5 * s},
                                          "popup": popup(pid, [("node", net.names[n]), ("guards", s)]),
                                          "tooltip": esc(f"post {pid}: {s} guard{'s' if s != 1 else ''}")})
             for pid, n, s in outcome.model.layout.posts]
    layer("Guard posts", posts, "cv-points")
    rec = summary["recommended_posts"]
    current = {net.names[n] for _, n, _ in outcome.model.scenario_posts}
    new_posts = [(shapely.Point(net.xy[net.index[p["node"]]]),
                  {"style": NEW_POST, "popup": popup(f"recommended post {p['id']}", [("node", p["node"]), ("guards", p["guards"]),
                                                                                      ("where", p.get("near", "")),
                                                                                      ("already a post", p["node"] in current)]),
                   "tooltip": esc(f"recommended post at {p['node']}")})
                 for p in rec.get("layout", [])]
    layer(f"Recommended posts (k = {rec['k']})", new_posts, "cv-points")
    nc = outcome.new_cameras
    if len(nc):
        layer("Recommended cameras: views", [(v, {"style": NEW_VIEW}) for v in nc["view"]], "cv-views")
        layer("Recommended cameras", [(g, {"style": NEW_CAMERA, "popup": popup(str(i), [
            ("heading", f"{r['heading']:.0f}°"), ("fov", f"{r['fov']:.0f}°"), ("range", f"{r['range']:.0f} m"),
            ("key area", r["key_area"]), ("blind area newly seen", f"{r['gain_m2']:,.0f} m²")]),
            "tooltip": esc(f"recommended camera {i}")}) for (i, r), g in zip(nc.iterrows(), nc.geometry, strict=True)],
            "cv-points")
    folium.LayerControl(collapsed=True, position="topright").add_to(m)
    framed = f[f["kind"].isin(["building", "key_area", "footway", "gate"])]
    minx, miny, maxx, maxy = (framed if len(framed) else f).geometry.to_crs(4326).total_bounds
    m.fit_bounds([[miny, minx], [maxy, maxx]], padding=(12, 12))
    return m


def legend_html(standard: float, start: float = 0.0) -> str:
    """The legend under the map: isochrone bands from ``start`` (s: call handling and turnout) and symbols."""
    edges = _bands(standard)
    labels = []
    lo = start
    for i, hi in enumerate([*edges, np.inf]):
        if hi <= lo:
            continue
        lab = f"{lo:.0f}–{hi:.0f} s" if np.isfinite(hi) else f"> {lo:.0f} s"
        if hi == standard:
            lab += " (standard)"
        labels.append(f'<span class="rp-sym"><span class="rp-sw" style="background:{BAND_COLOURS[min(i, len(BAND_COLOURS) - 1)]}">'
                      f"</span>{esc(lab)}</span>")
        lo = hi
    sym = [
        (f'<svg width="18" height="18"><circle cx="9" cy="9" r="6" fill="{POST["fillColor"]}" stroke="#fff" stroke-width="2"/></svg>', "guard post (size ∝ guards)"),
        (f'<svg width="20" height="20"><circle cx="10" cy="10" r="7" fill="#fff" stroke="{NEW_POST["color"]}" stroke-width="4"/></svg>', "recommended post"),
        (f'<svg width="26" height="16"><path d="M4 8 L24 1 A20 20 0 0 1 24 15 Z" fill="{VIEW["fillColor"]}" fill-opacity=".4" stroke="{VIEW["color"]}"/></svg>', "camera viewshed"),
        (f'<svg width="26" height="16"><path d="M4 8 L24 1 A20 20 0 0 1 24 15 Z" fill="{NEW_VIEW["fillColor"]}" fill-opacity=".5" stroke="{NEW_VIEW["color"]}" stroke-dasharray="3 2"/></svg>', "recommended camera"),
        (f'<svg width="26" height="16"><rect x="2" y="2" width="22" height="12" fill="{BLIND["fillColor"]}" fill-opacity=".45" stroke="{BLIND["color"]}"/></svg>', "blind spot (open ground no camera sees)"),
        ('<svg width="26" height="16"><rect x="2" y="2" width="22" height="12" fill="none" stroke="#37474f" stroke-width="2" stroke-dasharray="6 3"/></svg>', "key area"),
    ]
    syms = "".join(f'<span class="rp-sym">{s}{esc(t)}</span>' for s, t in sym)
    return (f'<div class="rp-legend" id="rp-legend"><div><b>Response time from the nearest post</b><br>{"".join(labels)}</div>'
            f'<div class="rp-syms">{syms}</div></div>')


# --------------------------------------------------------------------------
# Plots
# --------------------------------------------------------------------------


def _responses(reps: Sequence[Any]) -> np.ndarray:
    return np.array([i.response for r in reps for i in r.incidents if i.response is not None], float)


def response_figure(outcome: CoverageOutcome, summary: dict[str, Any]) -> Figure:
    """Share of incidents answered within t: this layout and the recommended one, with the standard."""
    fig = figure(10, 3.8)
    ax = fig.add_subplot()
    std = outcome.scenario.standard
    series = [("this layout", _responses(outcome.replications), "#1a237e", "-"),
              (f"recommended {summary['recommended_posts']['k']} posts", _responses(outcome.checked), "#00a152", "--")]
    if outcome.current:
        series.append(("the scenario's own posts", _responses(outcome.current), "#9e9e9e", ":"))
    n_all = max(summary["incidents"] * summary["replications"], 1)
    top = std * 1.5
    for label, r, col, ls in series:
        if len(r) == 0:
            continue
        x = np.sort(r)
        y = np.arange(1, len(x) + 1) / n_all
        ax.step(np.concatenate([[0], x]), np.concatenate([[0], y]), where="post", color=col, linestyle=ls, linewidth=2.2,
                label=f"{label} (p90 {np.percentile(r, 90):.0f} s)")
        top = max(top, float(x.max()) * 1.05)
    ax.axvline(std, color="#d32f2f", linewidth=1.5)
    ax.text(std, 0.96, f" standard {std:.0f} s", color="#d32f2f", fontsize=10, va="top")
    ax.set_xlim(0, top)
    ax.set_ylim(0, 1.02)
    ax.yaxis.set_major_formatter(lambda v, _: f"{100 * v:.0f} %")
    style_axes(ax, "Incidents answered within a time", "response time (s): alarm to a guard on site", "share of incidents")
    ax.legend(loc="center right", fontsize=9.5, frameon=False)
    return fig


def key_area_figure(outcome: CoverageOutcome, summary: dict[str, Any]) -> Figure:
    """Response time by key area (p50 bar, p90 and max marks) and camera coverage by key area."""
    fig = figure(10, 3.9)
    ax1, ax2 = fig.subplots(1, 2)
    areas = list(summary["by_key_area"])
    y = np.arange(len(areas))
    p50 = [summary["by_key_area"][a]["response_time_s"]["p50"] or 0 for a in areas]
    p90 = [summary["by_key_area"][a]["response_time_s"]["p90"] or 0 for a in areas]
    mx = [summary["by_key_area"][a]["response_time_s"]["max"] or 0 for a in areas]
    cols = [KEY_AREA_COLOURS.get(summary["camera_coverage"].get(a, {}).get("category", "other"), "#607d8b") for a in areas]
    ax1.barh(y, p50, color=cols, alpha=0.8, label="p50")
    ax1.scatter(p90, y, marker="D", color="#263238", zorder=3, label="p90")
    ax1.scatter(mx, y, marker="|", s=200, color="#263238", zorder=3, label="max")
    ax1.axvline(outcome.scenario.standard, color="#d32f2f", linewidth=1.5, label="standard")
    ax1.set_yticks(y, areas)
    ax1.invert_yaxis()
    style_axes(ax1, "Response time by key area", "s", "")
    ax1.legend(fontsize=8.5, frameon=False, loc="lower right")
    shares = np.array([[summary["camera_coverage"].get(a, {}).get("seen_by", {}).get(k, 0.0) for k in ("1", "2", "3+")]
                       for a in areas])
    left = np.zeros(len(areas))
    for j, (lab, col) in enumerate(zip(("1 camera", "2 cameras", "3+ cameras"), ("#ce93d8", "#9c27b0", "#4a148c"), strict=True)):
        ax2.barh(y, 100 * shares[:, j], left=100 * left, color=col, label=lab)
        left += shares[:, j]
    ax2.set_yticks(y, areas)
    ax2.invert_yaxis()
    ax2.set_xlim(0, 100)
    style_axes(ax2, "Share of each key area seen", "% of area (buildings without indoor cameras unseen)", "")
    ax2.legend(fontsize=8.5, frameon=False, loc="lower right")
    return fig


def hour_figure(outcome: CoverageOutcome, summary: dict[str, Any]) -> Figure:
    """Incidents and the p90 response time by hour of the day (shows the shifts and the hourly profile)."""
    fig = figure(10, 3.2)
    ax = fig.add_subplot()
    hours = [h["hour"] for h in summary["by_hour"]]
    ax.bar(hours, [h["incidents"] for h in summary["by_hour"]], color="#b0bec5", label="incidents per replication")
    style_axes(ax, "By hour of the day", "hour", "incidents")
    ax.set_xticks(range(0, 24, 2))
    ax2 = ax.twinx()
    p90 = [h["p90_s"] if h["p90_s"] is not None else np.nan for h in summary["by_hour"]]
    ax2.plot(hours, p90, "o-", color="#1a237e", label="p90 response (s)")
    ax2.axhline(outcome.scenario.standard, color="#d32f2f", linewidth=1.2)
    ax2.text(23.4, outcome.scenario.standard, f"standard {outcome.scenario.standard:.0f} s", color="#d32f2f", fontsize=9,
             ha="right", va="bottom")
    ax2.set_ylim(0, 1.4 * max([outcome.scenario.standard, *[x for x in p90 if x == x]]))
    ax.set_ylim(0, 1.4 * max([1.0, *[h["incidents"] for h in summary["by_hour"]]]))
    ax2.set_ylabel("p90 response (s)", fontsize=10.5)
    ax2.spines[["top"]].set_visible(False)
    lines = ax.get_legend_handles_labels()[0] + ax2.get_legend_handles_labels()[0]
    ax.legend(lines, [ln.get_label() for ln in lines], fontsize=9, frameon=False, loc="upper left")
    return fig


def utilisation_figure(outcome: CoverageOutcome, summary: dict[str, Any]) -> Figure:
    """Busy share of each guard's time on duty."""
    util = summary["utilisation"]
    fig = figure(10, max(2.4, 0.22 * len(util) + 1))
    ax = fig.add_subplot()
    names = list(util)
    ax.barh(np.arange(len(names)), [100 * util[n] for n in names],
            color=["#00897b" if n.startswith("patrol") else "#3949ab" for n in names])
    ax.set_yticks(np.arange(len(names)), names, fontsize=8)
    ax.invert_yaxis()
    style_axes(ax, "Guard utilisation (patrols in teal)", "% of time on duty spent on incidents", "")
    return fig


def plots_html(outcome: CoverageOutcome, summary: dict[str, Any]) -> str:
    """The plots as embedded PNG images."""
    out = []
    for pid, make, alt in (("cv-plot-response", response_figure, "Share of incidents answered within a time"),
                           ("cv-plot-areas", key_area_figure, "Response time and camera coverage by key area"),
                           ("cv-plot-hours", hour_figure, "Incidents and p90 response time by hour of the day"),
                           ("cv-plot-util", utilisation_figure, "Guard utilisation")):
        out.append(f'<figure class="rp-plot"><img id="{pid}" src="{png_data_uri(make(outcome, summary))}" alt="{esc(alt)}"></figure>')
    return "<h2>Plots</h2>" + "".join(out)


# --------------------------------------------------------------------------
# Tables and the page
# --------------------------------------------------------------------------


def key_area_rows(summary: dict[str, Any]) -> list[list[str]]:
    """One row per key area: incidents, response p50/p90/p95/max, within standard, patrol passes, camera coverage."""
    rows = []
    for a, r in summary["by_key_area"].items():
        t = r["response_time_s"]
        c = summary["camera_coverage"].get(a, {})
        p = summary["patrol_passes"].get(a, {})
        rows.append([a, c.get("category", ""), f"{r['incidents']:g}", _sec(t["p50"]), _sec(t["p90"]), _sec(t["p95"]), _sec(t["max"]),
                     _pct(r["within_standard"]), f"{p.get('per_hour', 0):.2f}", c.get("level", ""), _pct(c.get("seen_share")),
                     _pct(c.get("open_seen_share")), f"{c.get('blind_m2', 0):,.0f}", str(len(c.get("cameras", [])))])
    return rows


KEY_AREA_HEADERS = ["key area", "category", "incidents", "p50", "p90", "p95", "max", "within standard",
                    "patrol passes / h", "asks", "seen", "open ground seen", "blind m²", "cameras"]


def key_figures_html(summary: dict[str, Any]) -> str:
    """The key figures."""
    t = summary["response_time_s"]
    rec = summary["recommended_posts"]
    sim = rec.get("simulated", {})
    w = summary["within_standard"]
    guards = sum(p["guards"] for p in summary["posts"]) + summary["patrol_guards"]
    cards = [
        card("Response time p90", _sec(t["p90"]), f"p50 {_sec(t['p50'])} · p95 {_sec(t['p95'])} · max {_sec(t['max'])}", tone="main"),
        card("Within the standard", _pct(w), f"standard {summary['standard_s']:.0f} s", tone="" if (w or 0) >= 0.9 else "bad"),
        card("Incidents", f"{summary['incidents']:g}", f"per replication of {summary['hours']:g} h; unanswered {summary['unanswered']:g}"),
        card("Guards", str(guards), f"{len(summary['posts'])} posts, {summary['patrol_guards']} on patrol; "
              f"busy {100 * summary['utilisation_mean']:.1f} % of duty"),
        card("Footways seen", _pct(summary["footway_seen_share"]), f"{summary['cameras']} cameras, at {_density(summary)}"),
        card(f"Recommended {rec['k']} posts", _pct(sim.get("within_standard")),
              f"within standard in the simulation, p90 {_sec((sim.get('response_time_s') or {}).get('p90'))}", tone="good"),
    ]
    return f'<section class="rp-figures" id="rp-figures">{"".join(cards)}</section>'


def _density(summary: dict[str, Any]) -> str:
    """The pixel density the site asks of its cameras, as text."""
    d = summary.get("camera_density") or {}
    return f"{d.get('level', '')} ({d.get('px_per_m', 0):g} px/m)"


def _own_posts(summary: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """The scenario's own posts and their simulated figures: the run's, or (for an optimised run) the comparison run's."""
    if summary.get("scenario_posts_simulated"):
        return "the scenario's posts", summary["scenario_posts_simulated"]
    return "this layout", {"within_standard": summary["within_standard"], "response_time_s": summary["response_time_s"]}


def tables_html(summary: dict[str, Any]) -> str:
    """The tables: key areas, recommended posts, recommended cameras."""
    rec = summary["recommended_posts"]
    ka = table_html(KEY_AREA_HEADERS, key_area_rows(summary), numeric=(2, 3, 4, 5, 6, 7, 8, 10, 11, 12, 13), table_id="cv-key-areas")
    own = _own_posts(summary)
    posts = table_html(["", own[0], f"recommended ({rec['k']} posts)"], [
        ["incident weight within the standard", _pct(rec["current_covered_share"]), _pct(rec["covered_share"])],
        ["… reached by two posts", _pct(rec["current_backup_share"]), _pct(rec["backup_share"])],
        ["mean response (no queueing)", _sec(rec["current_mean_response_s"]), _sec(rec["mean_response_s"])],
        ["simulated: within the standard", _pct(own[1]["within_standard"]), _pct(rec["simulated"]["within_standard"])],
        ["simulated: p90", _sec(own[1]["response_time_s"]["p90"]), _sec(rec["simulated"]["response_time_s"]["p90"])],
    ], numeric=(1, 2), table_id="cv-posts")
    sc = rec["set_cover"]
    sites = table_html(["site", "guards", "where", "x", "y"],
                       [[p["id"], p["guards"], p.get("near", ""), f"{p.get('x', 0):.1f}", f"{p.get('y', 0):.1f}"]
                        for p in rec.get("layout", [])], numeric=(1, 3, 4), table_id="cv-sites")
    cams = table_html(["camera", "x", "y", "heading", "fov", "range", "key area", "blind m² newly seen"],
                      [[c["id"], f"{c['x']:.1f}", f"{c['y']:.1f}", f"{c['heading']:.0f}°", f"{c['fov']:.0f}°", f"{c['range']:.0f} m",
                        c["key_area"], f"{c['gain_m2']:,.0f}"] for c in summary["recommended_cameras"]],
                      numeric=(1, 2, 3, 4, 5, 7), table_id="cv-cameras")
    levels = ("detect", "observe", "recognise", "identify")
    ranges = table_html(["camera", "pixels", "lens", *[f"{lv} (m)" for lv in levels], "range given", "density there"],
                        [[cid, f"{c['pixels']:,}", f"{c['fov']:.0f}°", *[f"{c['range_m'][lv]:.1f}" for lv in levels],
                          f"{c['given_range_m']:.0f} m" if "given_range_m" in c else "",
                          f"{c['at_given_range']['px_per_m']:.0f} px/m, {c['at_given_range']['level']}" if "at_given_range" in c else ""]
                         for cid, c in summary.get("camera_ranges", {}).items()], numeric=range(1, 8), table_id="cv-ranges")
    return (f"<h2>Key areas</h2>{ka}<h2>Recommended posts</h2><p class=rp-note>{esc(rec['method']).capitalize()} "
            f"({esc(rec['objective'])}), "
            f"solved exactly by HiGHS over {rec['candidates']} candidate sites and {rec['demand_points']} incident places. "
            f"Set covering: {sc['posts_needed']} post(s) reach every key area within the standard "
            f"({esc(', '.join(sc['posts']))}).</p>{posts}<h3>The recommended sites</h3>{sites}"
            f"<h2>Recommended cameras</h2>{cams}<h2>Camera ranges</h2><p class=rp-note>How far each camera keeps the IEC "
            f"62676-4 pixel densities (detect 25, observe 62.5, recognise 125, identify 250 px/m) with its pixels and lens; the "
            f"site asks for {esc(_density(summary))}, and a range the campus file gives caps it.</p>"
            f"<details id=cv-ranges-box><summary>{len(summary.get('camera_ranges', {}))} cameras</summary>{ranges}</details>")


def scenario_page(m: folium.Map, summary: dict[str, Any], *, heading: str, facts: list[tuple[str, Any]], description: str,
                  key_figures: str, map_note: str, body: str, note: str = "", generated: datetime | None = None) -> str:
    """A scenario report in this module's look: header, key figures, the map, then ``body`` and a footer.

    ``heading`` names the report (e.g. ``Coverage report``); ``facts`` are
    (label, value) pairs for the header line, to which the date is added;
    ``note`` is a sentence before the footer's campus digest and wall time.
    Texts are escaped; ``key_figures``, ``map_note`` and ``body`` are HTML.
    """
    generated = generated or datetime.now().astimezone()
    facts = [*facts, ("date", generated.strftime("%Y-%m-%d %H:%M %Z").strip())]
    meta = "".join(f"<span><b>{esc(k)}</b> {esc(v)}</span>" for k, v in facts)
    desc = f'<p class="rp-desc">{esc(description)}</p>' if description else ""
    top = (f'<div class="rp-top"><header class="rp-header"><h1>{esc(heading)}: {esc(summary["scenario"])}</h1>'
           f'<div class="rp-meta">{meta}</div>{desc}</header>{key_figures}<h2>Map</h2><p class="rp-note">{map_note}</p></div>')
    bottom = (f'<div class="rp-bottom">{body}<footer class="rp-footer">{esc(note)}{" " if note else ""}Campus Twin · campus digest '
              f'{esc(str(summary["campus_digest"])[:12])} · wall time {summary["wall_s"]:.1f} s</footer></div>')
    return framed_page(m, title=f"{heading}: {summary['scenario']}", css=report_css(), top=top, bottom=bottom)


def report_page(outcome: CoverageOutcome, summary: dict[str, Any], *, generated: datetime | None = None) -> str:
    """The report as one self-contained HTML page."""
    sc = outcome.scenario
    facts = [("campus", summary["campus"]), ("seed", summary["seed"]), ("replications", summary["replications"]),
             ("simulated", f"{summary['hours']:g} h from {sc.start_hour:g}:00"), ("standard", f"{summary['standard_s']:.0f} s")]
    return scenario_page(coverage_map(outcome, summary), summary, heading="Coverage report", facts=facts,
                         description=sc.description, key_figures=key_figures_html(summary),
                         map_note="Click a key area, post or recommended camera for details; the layer control (top right) switches layers.",
                         body=legend_html(sc.standard, outcome.model.delay) + plots_html(outcome, summary) + tables_html(summary), generated=generated)


def write_report(outcome: CoverageOutcome, summary: dict[str, Any], out_dir: Path) -> Path:
    """Write ``out_dir/report.html`` (created if missing) and return its path."""
    return write_page(report_page(outcome, summary), out_dir)


def summary_tables(summary: dict[str, Any]) -> list[Table]:
    """The tables ``twin run`` prints for a coverage scenario."""
    t = summary["response_time_s"]
    rec = summary["recommended_posts"]
    head = Table(title=f"{summary['scenario']} ({summary['replications']} replication{'s' if summary['replications'] != 1 else ''}, "
                       f"seed {summary['seed']}, {summary['hours']:g} h)", show_header=False)
    head.add_row("incidents", f"{summary['incidents']:g} per replication ({summary['unanswered']:g} unanswered)")
    head.add_row("response time", f"p50 {_sec(t['p50'])}, p90 {_sec(t['p90'])}, p95 {_sec(t['p95'])}, max {_sec(t['max'])}")
    head.add_row("within standard", f"{_pct(summary['within_standard'])} (standard {summary['standard_s']:.0f} s)")
    head.add_row("guards", f"{sum(p['guards'] for p in summary['posts'])} at {len(summary['posts'])} posts, "
                 f"{summary['patrol_guards']} on patrol; busy {100 * summary['utilisation_mean']:.1f} %")
    head.add_row("footways seen", f"{_pct(summary['footway_seen_share'])} at {_density(summary)}")
    head.add_row(f"recommended {rec['k']} posts", f"{', '.join(rec['posts'])} ({rec['method']})")
    own = _own_posts(summary)
    head.add_row(f"  covered ({own[0]} / recommended)", f"{_pct(rec['current_covered_share'])} / {_pct(rec['covered_share'])}; "
                 f"mean {_sec(rec['current_mean_response_s'])} / {_sec(rec['mean_response_s'])}")
    head.add_row("  simulated within standard", f"{_pct(own[1]['within_standard'])} / {_pct(rec['simulated']['within_standard'])}; "
                 f"p90 {_sec(own[1]['response_time_s']['p90'])} / {_sec(rec['simulated']['response_time_s']['p90'])}")
    head.add_row("set covering", f"{rec['set_cover']['posts_needed']} post(s): {', '.join(rec['set_cover']['posts'])}")
    head.add_row("wall time", f"{summary['wall_s']:.2f} s")
    ka = Table(title="Key areas (response time; patrol passes per hour; share seen by cameras)")
    keep = (0, 2, 3, 4, 5, 7, 8, 9, 10, 12)
    for i in keep:
        ka.add_column(("key area", "", "incidents", "p50", "p90", "p95", "", "in std", "passes/h", "asks", "seen", "", "blind m²")[i],
                      justify="left" if i == 0 else "right")
    for row in key_area_rows(summary):
        ka.add_row(*(row[i] for i in keep))
    cams = Table(title="Recommended cameras")
    for h in ("camera", "x", "y", "heading", "key area", "blind m² newly seen"):
        cams.add_column(h)
    for c in summary["recommended_cameras"]:
        cams.add_row(c["id"], f"{c['x']:.1f}", f"{c['y']:.1f}", f"{c['heading']:.0f}°", c["key_area"], f"{c['gain_m2']:,.0f}")
    return [head, ka, cams]

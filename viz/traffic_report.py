"""The traffic report: one self-contained HTML page of a ``traffic`` run, its layouts side by side.

``twin run TRAFFIC.toml -o DIR`` writes ``DIR/report.html`` with
:func:`write_report`; :func:`summary_tables` are the tables ``twin run``
prints. The page needs no network (Leaflet inlined through
:func:`viz.offline.offline_page`, no tiles, plots as embedded PNGs) and
reuses the coverage report's look (:mod:`viz.coverage_report`). It holds, top
to bottom:

1. a header and the key figures of each layout beside the first one's:
   conflicts (total and per hour), pedestrian and vehicle delay, the gate
   queue and emergency access;
2. a map, one layer group per layout (the first shown): conflict hot spots
   (a circle per conflict area, its size the conflicts there, its colour the
   kind of area), shared lanes and signalised crossings, and the vehicle
   gates sized by their longest queue;
3. plots over the day: conflicts per hour, gate queue length, and the delays
   and emergency access times of the layouts;
4. tables: the comparison, hot spots per layout, gate queues, emergency
   access from each gate to each building.

Figures of several replications are means per replication; every text from
the campus or the scenario is HTML-escaped.
"""

from __future__ import annotations

import math
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import folium
import geopandas as gpd
import numpy as np
import shapely
from matplotlib.figure import Figure
from rich.table import Table

from viz.campus_map import CampusFeatures
from viz.offline import offline_map, write_page
from viz.coverage_report import scenario_page
from viz.plots import figure, style_axes
from viz.page import card, esc, feature_collection, popup, png_data_uri, table_html

if TYPE_CHECKING:
    from scenarios.traffic.outcome import Network, TrafficOutcome

MAP_HEIGHT = 620
LAYOUT_COLOURS = ("#c62828", "#1565c0", "#2e7d32", "#6a1b9a", "#ef6c00", "#00838f")
"""Colour of each layout in plots, in the scenario's order."""
KIND_COLOURS = {"shared": "#e65100", "crossing": "#c2185b", "road": "#5d4037"}
"""Colour of a conflict hot spot by the kind of area it is on."""
KIND_LABELS = {"shared": "a crossing point of a shared lane", "crossing": "a crossing", "road": "a road crossed off a crossing"}
BUILDING = {"color": "#4f5b62", "weight": 1, "fillColor": "#cfd8dc", "fillOpacity": 0.9, "interactive": False}
PATHS = {"footway": {"color": "#a79d92", "weight": 1.5, "opacity": 1, "interactive": False},
         "road": {"color": "#b9b5ae", "weight": 5, "opacity": 1, "interactive": False},
         "crossing": {"color": "#8d8d8d", "weight": 3, "opacity": 1, "dashArray": "2 3", "interactive": False}}
SHARED = {"color": "#ff9800", "weight": 6, "opacity": 0.9}
SIGNAL = {"color": "#00c853", "weight": 8, "opacity": 1}
GATE = {"color": "#ffffff", "weight": 2, "fillColor": "#263238", "fillOpacity": 0.9}
PANES = {"tr-areas": (405, False), "tr-lines": (415, True), "tr-spots": (450, True), "tr-gates": (460, True)}
QUEUE_BIN_MIN = 5
"""Minutes per bin of the queue plot for every 6 hours simulated (a whole day: 15 min)."""
SPOT_MIN, SPOT_MAX = 3.0, 16.0
"""Radius (px) of the circle of the conflict area with the fewest and with the most conflicts (area ∝ conflicts)."""
FRAME_MARGIN = 120.0
"""The map is fitted to the conflict areas and the vehicle gates, this much around them (m)."""


def _sec(x: float | None) -> str:
    return "–" if x is None else f"{float(x):,.1f} s"


def _change(new: float, old: float, fmt: str = "{:,.1f}") -> str:
    """``new`` against ``old``: the signed difference, and the percentage where ``old`` is at least 1."""
    diff = fmt.format(new - old)
    diff = diff if diff.startswith("-") else "+" + diff
    return diff + (f" ({100 * (new - old) / old:+.0f} %)" if abs(old) >= 1 else "")


# --------------------------------------------------------------------------
# The map
# --------------------------------------------------------------------------


def _to_wgs(geoms: list[Any], crs: Any) -> list[Any]:
    return list(gpd.GeoSeries(geoms, crs=crs).to_crs(4326).values)


def traffic_map(outcome: TrafficOutcome, summary: dict[str, Any]) -> folium.Map:
    """The map of the run (see the module docstring); render it with :func:`viz.offline.offline_page`."""
    first = next(iter(outcome.nets.values()))
    f = first.campus.features
    crs = f.crs
    m = offline_map(panes=PANES, height=MAP_HEIGHT, scroll_zoom=False)

    def layer(group: folium.FeatureGroup, items: list[tuple[Any, dict[str, Any]]], pane: str) -> None:
        if items:
            geoms = _to_wgs([g for g, _ in items], crs)
            group.add_child(CampusFeatures(feature_collection([(g, p) for g, (_, p) in zip(geoms, items, strict=True)]), pane=pane))

    base = folium.FeatureGroup(name="Campus", control=False).add_to(m)
    layer(base, [(g, {"style": BUILDING}) for g in f.geometry[f.kind == "building"]], "tr-areas")
    reps_n = summary["replications"]
    for i, (name, net) in enumerate(outcome.nets.items()):
        lf = net.campus.features
        group = folium.FeatureGroup(name=f"Layout: {name}", overlay=False, show=i == 0).add_to(m)  # one at a time
        lines = []
        for kind, style in PATHS.items():
            lines += [(g, {"style": style}) for g in lf.geometry[lf.kind == kind]]
        lines += [(g, {"style": SHARED, "tooltip": esc(f"shared lane {fid}")}) for fid, g in lf.geometry[lf.kind == "shared"].items()]
        if "signal" in lf:
            sig = lf[(lf.kind == "crossing") & lf["signal"].isin([True, 1, "true"])]
            lines += [(g, {"style": SIGNAL, "tooltip": esc(f"signalised crossing {fid}")}) for fid, g in sig.geometry.items()]
        layer(group, lines, "tr-lines")
        layer(group, _spots(outcome, name, net, reps_n), "tr-spots")
        gates = summary["layouts"][name]["gates"]
        pts = []
        for gt, q in gates.items():
            x, y = net.xy[net.index[gt]]
            pts.append((shapely.Point(x, y), {
                "style": {**GATE, "radius": 6 + 1.5 * min(q["max"], 20), "fillColor": "#b71c1c" if q["spillback_s"] > 0 else GATE["fillColor"]},
                "tooltip": esc(f"{gt}: queue p95 {q['p95']:g}, max {q['max']:g}"),
                "popup": popup(f"Vehicle gate {gt} ({name})", [
                    ("queue mean", f"{q['mean']:.2f} vehicles"), ("queue p95", f"{q['p95']:g}"), ("queue max", f"{q['max']:g}"),
                    ("street holds", f"{q['storage']} vehicles"), ("spilled back onto the street", _sec(q["spillback_s"]))])}))
        layer(group, pts, "tr-gates")
    folium.LayerControl(collapsed=False, position="topright").add_to(m)
    spots = [outcome.nets[n].place_xy[r.conflicts["place"]] for n, reps in outcome.runs.items() for r in reps if len(r.conflicts)]
    xy = np.vstack([*spots, first.xy[[first.index[gt] for gt in first.vgates]].reshape(-1, 2)])
    if len(xy):
        box = shapely.box(*xy.min(axis=0), *xy.max(axis=0)).buffer(FRAME_MARGIN)
    else:
        box = shapely.box(*f.total_bounds)
    minx, miny, maxx, maxy = gpd.GeoSeries([box], crs=crs).to_crs(4326).total_bounds
    m.fit_bounds([[miny, minx], [maxy, maxx]], padding=(12, 12))
    return m


def _spots(outcome: TrafficOutcome, name: str, net: Network, reps_n: int) -> list[tuple[Any, dict[str, Any]]]:
    """One circle per crossing point of a layout with conflict events: radius by the events there (per replication),
    colour by kind; the popup gives the serious conflicts, the events, the smallest PET and time to accident."""
    from scenarios.traffic.outcome import hot_spots

    hours = outcome.scenario.end - outcome.scenario.start
    spots = hot_spots(net, [r.conflicts for r in outcome.runs[name]])
    if not spots:
        return []
    top = max(max(h["events"] for h in spots) / reps_n, 1.0)
    out = []
    for h in spots:
        per, serious = h["events"] / reps_n, h["conflicts"] / reps_n
        where = f"{h['where']} ({h['name']})" if h["name"] else h["where"]
        col = KIND_COLOURS.get(h["kind"], "#d50000")
        out.append((shapely.Point(h["x"], h["y"]), {
            "style": {"radius": SPOT_MIN + (SPOT_MAX - SPOT_MIN) * np.sqrt(per / top), "color": "#ffffff", "weight": 1,
                      "fillColor": col, "fillOpacity": 0.75},
            "tooltip": esc(f"{where}: {serious:.1f} serious conflicts, {per:.1f} events"),
            "popup": popup(f"Conflicts at {where} ({name})", [
                ("kind", h["kind"]), ("serious conflicts per run", f"{serious:.1f}"), ("per hour", f"{serious / hours:.2f}"),
                ("events per run (PET or collision course)", f"{per:.1f}"), ("smallest PET", _sec(h["min_pet_s"])),
                ("smallest time to accident", _sec(h["min_tta_s"]))])}))
    return sorted(out, key=lambda it: -it[1]["style"]["radius"])  # small circles on top of large ones


def legend_html() -> str:
    """The legend under the map."""
    sym = [(f'<svg width="16" height="16"><circle cx="8" cy="8" r="6" fill="{c}" fill-opacity=".75" stroke="#fff"/></svg>',
            f"conflicts on {KIND_LABELS[k]}") for k, c in KIND_COLOURS.items()]
    sym[0] = (sym[0][0], sym[0][1] + " (area: conflict events per run)")
    sym += [(f'<svg width="26" height="10"><line x1="1" y1="5" x2="25" y2="5" stroke="{SHARED["color"]}" stroke-width="6"/></svg>', "shared lane"),
            (f'<svg width="26" height="10"><line x1="1" y1="5" x2="25" y2="5" stroke="{SIGNAL["color"]}" stroke-width="5"/></svg>', "signalised crossing"),
            (f'<svg width="18" height="18"><circle cx="9" cy="9" r="7" fill="{GATE["fillColor"]}" stroke="#fff" stroke-width="2"/></svg>',
             "vehicle gate (size: longest queue; red: spilled back onto the street)")]
    syms = "".join(f'<span class="rp-sym">{s}{esc(t)}</span>' for s, t in sym)
    return f'<div class="rp-legend" id="tr-legend"><div class="rp-syms">{syms}</div></div>'


# --------------------------------------------------------------------------
# Plots
# --------------------------------------------------------------------------


def _colour(i: int) -> str:
    return LAYOUT_COLOURS[i % len(LAYOUT_COLOURS)]


def conflict_figure(outcome: TrafficOutcome, summary: dict[str, Any]) -> Figure:
    """Conflicts per clock hour, each layout a line (mean per replication)."""
    from scenarios.traffic.outcome import hourly_counts

    fig = figure(9.5, 3.6)
    ax = fig.add_subplot()
    sc = outcome.scenario
    for i, (name, reps) in enumerate(outcome.runs.items()):
        hours, total = None, None
        for r in reps:
            hours, c = hourly_counts(r.conflicts["t"][r.conflicts["serious"]], r.start, r.end)
            total = c if total is None else total + c
        ax.step(np.append(hours, hours[-1] + 1), np.append(total, total[-1]) / len(reps), where="post", color=_colour(i), lw=2,
                label=f"{name}: {summary['layouts'][name]['conflicts']:g} in all")
    ax.set_xlim(sc.start, sc.end)
    style_axes(ax, "Serious conflicts per hour", "hour of the day", "serious conflicts (per run)")
    ax.set_ylim(bottom=0)
    ax.legend(frameon=False, fontsize=9)
    return fig


def queue_peaks(times: np.ndarray, lengths: np.ndarray, start: float, end: float, step: float) -> tuple[np.ndarray, np.ndarray]:
    """The longest queue in each ``step`` s from ``start`` to ``end`` of a queue-length step function: (bin starts s, maxima)."""
    edges = np.arange(start, end + step, step)[: max(2, math.ceil((end - start) / step) + 1)]
    peaks = np.zeros(len(edges) - 1)
    # the length in force at each bin's start, and every change inside it
    at_start = lengths[np.maximum(np.searchsorted(times, edges[:-1], side="right") - 1, 0)]
    np.maximum.at(peaks, np.clip(np.searchsorted(edges, times, side="right") - 1, 0, len(peaks) - 1), lengths)
    return edges[:-1], np.maximum(peaks, at_start)


def queue_figure(outcome: TrafficOutcome, summary: dict[str, Any]) -> Figure:
    """The longest queue at the busiest vehicle gate in each few minutes of the day (replication 1 of each layout)."""
    fig = figure(9.5, 3.2)
    ax = fig.add_subplot()
    first = next(iter(summary["layouts"].values()))
    gate = max(first["gates"], key=lambda gt: (first["gates"][gt]["max"], gt)) if first["gates"] else None
    sc = outcome.scenario
    step = QUEUE_BIN_MIN * 60 * max(1, round((sc.end - sc.start) / 6))
    for i, (name, reps) in enumerate(outcome.runs.items()):
        if gate is None:
            break
        t0, peak = queue_peaks(*reps[0].queues[gate], reps[0].start, reps[0].end, step)
        ax.step(np.append(t0, reps[0].end) / 3600, np.append(peak, peak[-1]), where="post", color=_colour(i),
                lw=max(1.2, 3.2 - 1.0 * i), label=name, alpha=0.85)  # later layouts thinner, so equal queues stay visible
    if gate is not None:
        ax.axhline(next(iter(outcome.runs.values()))[0].storage[gate], color="#b71c1c", lw=1, ls="--", label="the street holds")
    ax.set_xlim(sc.start, sc.end)
    style_axes(ax, f"Longest queue at {gate or 'the gates'} in each {step / 60:.0f} min (replication 1)", "hour of the day", "vehicles")
    ax.set_ylim(bottom=0)
    ax.legend(frameon=False, fontsize=9)
    return fig


def delay_figure(outcome: TrafficOutcome, summary: dict[str, Any]) -> Figure:
    """Mean delays and emergency access of each layout, side by side."""
    fig = figure(9.5, 3.0)
    names = list(summary["layouts"])
    for j, (key, title) in enumerate((("ped_delay_s", "Pedestrian delay (mean, s)"), ("veh_delay_s", "Vehicle delay (mean, s)"),
                                      ("emergency_access_s", "Emergency access (mean, s)"))):
        ax = fig.add_subplot(1, 3, j + 1)
        vals = [summary["layouts"][n][key] for n in names]
        ax.bar(range(len(names)), vals, color=[_colour(i) for i in range(len(names))])
        for i, v in enumerate(vals):
            ax.text(i, v, f"{v:.1f}", ha="center", va="bottom", fontsize=9)
        ax.set_xticks(range(len(names)), names)
        style_axes(ax, title, "", "")
        ax.set_ylim(0, max(vals + [1]) * 1.2)
    return fig


def plots_html(outcome: TrafficOutcome, summary: dict[str, Any]) -> str:
    """The plots as embedded PNG images."""
    out = []
    for pid, make, alt in (("tr-plot-conflicts", conflict_figure, "Conflicts per hour of each layout"),
                           ("tr-plot-queue", queue_figure, "Queue at the busiest vehicle gate over the day"),
                           ("tr-plot-delay", delay_figure, "Delays and emergency access of each layout")):
        out.append(f'<figure class="rp-plot"><img id="{pid}" src="{png_data_uri(make(outcome, summary))}" alt="{esc(alt)}"></figure>')
    return "<h2>Over the day</h2>" + "".join(out)


# --------------------------------------------------------------------------
# Tables and the page
# --------------------------------------------------------------------------

ROWS = (("conflicts", "serious conflicts (per run)", "{:,.1f}"), ("conflicts_per_hour", "serious conflicts per hour", "{:,.2f}"),
        ("conflict_events", "collision courses, any severity", "{:,.1f}"), ("pet_events", "PET events", "{:,.1f}"),
        ("passings", "passings on shared lanes", "{:,.1f}"),
        ("ped_delay_s", "pedestrian delay, mean (s)", "{:,.2f}"), ("ped_delay_p95_s", "pedestrian delay, p95 (s)", "{:,.1f}"),
        ("veh_delay_s", "vehicle delay, mean (s)", "{:,.2f}"), ("veh_delay_p95_s", "vehicle delay, p95 (s)", "{:,.1f}"),
        ("gate_queue_mean", "gate queue, mean (vehicles)", "{:,.2f}"), ("gate_queue_p95", "gate queue, p95", "{:,.1f}"),
        ("gate_queue_max", "gate queue, max", "{:,.0f}"), ("emergency_access_s", "emergency access, mean (s)", "{:,.1f}"),
        ("emergency_access_max_s", "emergency access, worst (s)", "{:,.1f}"))
"""Rows of the comparison: summary key, label, format."""


def comparison_rows(summary: dict[str, Any]) -> list[list[str]]:
    """One row per figure, one column per layout (and the change of the last against the first when there are two)."""
    lays = summary["layouts"]
    names = list(lays)
    rows = []
    for key, label, fmt in ROWS:
        row = [label, *(fmt.format(lays[n][key]) for n in names)]
        if len(names) == 2:
            row.append(_change(lays[names[1]][key], lays[names[0]][key], fmt))
        rows.append(row)
    return rows


def comparison_headers(summary: dict[str, Any]) -> list[str]:
    names = list(summary["layouts"])
    return ["", *names, *([f"{names[1]} vs {names[0]}"] if len(names) == 2 else [])]


def key_figures_html(summary: dict[str, Any]) -> str:
    """A card per layout's conflicts, and the delays and access of the layouts."""
    lays = summary["layouts"]
    names = list(lays)
    ref = lays[names[0]]
    cards = []
    for i, n in enumerate(names):
        s = lays[n]
        detail = f"{s['conflicts_per_hour']:g} per hour" + (f" · {_change(s['conflicts'], ref['conflicts'], '{:,.0f}')} vs {names[0]}" if i else "")
        tone = "main" if i == 0 else ("good" if s["conflicts"] < ref["conflicts"] else "bad")
        cards.append(card(f"Serious conflicts: {n}", f"{s['conflicts']:,.1f}", detail, tone=tone))
    for key, label in (("ped_delay_s", "Pedestrian delay"), ("veh_delay_s", "Vehicle delay"), ("emergency_access_s", "Emergency access")):
        cards.append(card(label, " / ".join(f"{lays[n][key]:.1f}" for n in names) + " s", " / ".join(names)))
    cards.append(card("Gate queue max", " / ".join(f"{lays[n]['gate_queue_max']:g}" for n in names),
                      "vehicles; p95 " + " / ".join(f"{lays[n]['gate_queue_p95']:g}" for n in names)))
    return f'<section class="rp-figures" id="tr-figures">{"".join(cards)}</section>'


def tables_html(summary: dict[str, Any]) -> str:
    """The tables: comparison, hot spots, gates, emergency access."""
    lays = summary["layouts"]
    names = list(lays)
    parts = ["<h2>Layouts side by side</h2>",
             table_html(comparison_headers(summary), comparison_rows(summary), numeric=range(1, len(names) + 2), table_id="tr-compare")]
    for n in names:
        desc = lays[n].get("description") or ""
        parts.append(f"<h3>Hot spots: {esc(n)}</h3>" + (f'<p class="rp-note">{esc(desc)}</p>' if desc else ""))
        parts.append(table_html(["where", "name", "kind", "serious conflicts per run", "per hour", "events per run", "smallest PET (s)",
                                 "smallest TA (s)"],
                                [[h["where"], h["name"], h["kind"], f"{h['conflicts']:g}", f"{h['per_hour']:.2f}", f"{h['events']:g}",
                                  f"{h['min_pet_s']:.2f}", _sec(h["min_tta_s"])]
                                 for h in lays[n]["hot_spots"]], numeric=(3, 4, 5, 6, 7), table_id=f"tr-hot-{n}"))
        if lays[n]["passings_by_lane"]:
            parts.append(f"<h3>Passings on shared lanes: {esc(n)}</h3>")
            parts.append(table_html(["lane", "passings per run", "per hour", "passing speed, mean (km/h)", "lateral clearance (m)"],
                                    [[lane, f"{q['passings']:g}", f"{q['per_hour']:g}", f"{q['speed_kmh']:g}", f"{q['clearance_min_m']:.2f}"]
                                     for lane, q in lays[n]["passings_by_lane"].items()], numeric=(1, 2, 3, 4), table_id=f"tr-pass-{n}"))
    parts.append("<h2>Vehicle gates</h2>")
    parts.append(table_html(["layout", "gate", "queue mean", "p95", "max", "street holds", "spilled back (s)"],
                            [[n, gt, f"{q['mean']:.2f}", f"{q['p95']:g}", f"{q['max']:g}", q["storage"], f"{q['spillback_s']:.0f}"]
                             for n in names for gt, q in lays[n]["gates"].items()], numeric=(2, 3, 4, 5, 6), table_id="tr-gates"))
    parts.append("<h2>Emergency access</h2><p class=rp-note>Drive time (s) of an emergency vehicle from each gate to each "
                 "building's kerb at free speed (the speed limit times <code>traffic.emergency_factor</code> on roads, the limit on "
                 "shared lanes), with the closures in force at the start.</p>")
    gates = sorted({gt for n in names for gt in lays[n]["emergency_access"]})
    buildings = sorted({b for n in names for row in lays[n]["emergency_access"].values() for b in row})
    rows = [[b, *(_sec(lays[n]["emergency_access"].get(gt, {}).get(b)) for n in names for gt in gates)] for b in buildings]
    parts.append(table_html(["building", *(f"{n}: {gt}" for n in names for gt in gates)], rows,
                            numeric=range(1, 1 + len(names) * len(gates)), table_id="tr-emergency"))
    return "".join(parts)


def report_page(outcome: TrafficOutcome, summary: dict[str, Any], *, generated: datetime | None = None) -> str:
    """The report as one self-contained HTML page."""
    sc = outcome.scenario
    facts = [("campus", summary["campus"]), ("seed", summary["seed"]), ("replications", summary["replications"]),
             ("simulated", f"{_clock(sc.start)}–{_clock(sc.end)}"), ("driver compliance", f"{sc.compliance:g}"),
             ("not using crossings", f"{100 * sc.jaywalk:g} %"), ("PET threshold", f"{summary['pet_threshold_s']:g} s")]
    note = ("A conflict: a vehicle and a group of people on a collision course in one lane of a crossing point, serious when the "
            f"time to accident at the conflicting speed needs at least {summary['serious_decel_ms2']:g} m/s² of braking (Swedish "
            "Traffic Conflict Technique, Hydén 1987); counted once per vehicle, group and crossing point. PET events: pairs less "
            f"than {summary['pet_threshold_s']:g} s apart in a lane's conflict area (post-encroachment time, Allen et al. 1978). "
            "Passings: people and vehicles meeting along a shared lane, with passing speed and lateral clearance; not conflicts.")
    return scenario_page(traffic_map(outcome, summary), summary, heading="Traffic report", facts=facts,
                         description=sc.description, key_figures=key_figures_html(summary),
                         map_note="Conflict hot spots and gate queues of each layout; choose the layout in the layer control "
                                  "(top right), click a circle for details.",
                         body=legend_html() + plots_html(outcome, summary) + tables_html(summary), note=note, generated=generated)


def _clock(hours: float) -> str:
    h, mnt = divmod(round(hours * 60), 60)
    return f"{h:02d}:{mnt:02d}"


def write_report(outcome: TrafficOutcome, summary: dict[str, Any], out_dir: Path) -> Path:
    """Write ``out_dir/report.html`` (created if missing) and return its path."""
    return write_page(report_page(outcome, summary), out_dir)


def summary_tables(summary: dict[str, Any]) -> list[Table]:
    """The tables ``twin run`` prints for a traffic scenario."""
    head = Table(title=f"{summary['scenario']} ({summary['replications']} replication{'s' if summary['replications'] != 1 else ''}, "
                       f"seed {summary['seed']}, {_clock(summary['start_hour'])}–{_clock(summary['end_hour'])})")
    hdr = comparison_headers(summary)
    for i, h in enumerate(hdr):
        head.add_column(h, justify="left" if i == 0 else "right")
    for row in comparison_rows(summary):
        head.add_row(*row)
    out = [head]
    for n, s in summary["layouts"].items():
        t = Table(title=f"Hot spots: {n}")
        for h in ("where", "name", "kind", "serious", "events", "smallest PET s"):
            t.add_column(h, justify="left" if h in ("where", "name", "kind") else "right")
        for h in s["hot_spots"][:5]:
            t.add_row(h["where"], h["name"], h["kind"], f"{h['conflicts']:g}", f"{h['events']:g}", f"{h['min_pet_s']:.2f}")
        out.append(t)
    return out

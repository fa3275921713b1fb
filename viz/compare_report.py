"""The drill-versus-plan report: one self-contained HTML page of ``twin compare``.

``twin compare RECORDED_EXERCISE SCENARIO -o DIR`` writes ``DIR/report.html``
with :func:`write_compare_report`. Top to bottom: a header (recording,
scenario, alarm time) and key figures (people out, time to 90 % and 100 %
out, drill and plan, and the mean time gap between the curves); a map of the
buildings coloured by how far the plan's time to 90 % out was from the
drill's, with the counted exits; the curves of people out over time, in total
and per building (drill, plan and, after ``--calibrate``, the calibrated
plan); and tables of the figures per building, the exits, and the
calibration with what the recording could not identify.

Like the drill report (:mod:`viz.report`, whose page style, cards, tables and
PNG embedding it reuses) the page needs no network.
"""

from __future__ import annotations

import html
import math
from pathlib import Path
from typing import TYPE_CHECKING, Any

import folium
import numpy as np
from matplotlib import colormaps
from matplotlib.colors import TwoSlopeNorm, to_hex

from viz.offline import framed_page, offline_map, write_page
from viz.page import RANK, card, esc, mpl_text, png_data_uri, report_css, table_html
from viz.plots import figure, style_axes

if TYPE_CHECKING:
    from scenarios.calibrate import Comparison
    from twin.campus import Campus

ACTUAL = "#212121"
"""Colour of the drill's curves."""
PLAN = "#1565c0"
"""Colour of the plan's curves."""
CALIBRATED = "#ef6c00"
"""Colour of the calibrated plan's curves."""
DIFF_CMAP = "RdBu"
"""Diverging scale of (plan − drill) time to 90 % out: red where the plan was quicker than the drill (optimistic)."""
NO_DATA = "#d5d8da"
"""Fill of buildings without counted exits."""
MAX_PANELS = 12
"""Buildings drawn as small multiples (the busiest)."""
MAP_HEIGHT = 520
"""Height of the map (px)."""

_EXTRA_CSS = """
.cr-grid { display: grid; grid-template-columns: repeat(auto-fit, minmax(200px, 1fr)); gap: 10px; margin: 16px 0 18px; }
.cr-warn { margin: 8px 0; padding: 6px 10px; border-left: 4px solid #ef6c00; background: #fff3e0; }
.cr-key { display: inline-block; width: 18px; height: 3px; vertical-align: middle; margin: 0 4px 0 10px; }
"""


def _s(v: float | None) -> str:
    return "–" if v is None or (isinstance(v, float) and not math.isfinite(v)) else f"{v:,.0f}"


def _signed(v: float | None) -> str:
    return "–" if v is None else f"{v:+,.0f}"


# --------------------------------------------------------------------------
# Plots
# --------------------------------------------------------------------------


def _curves(ax: Any, cmp: Comparison, key: str, *, legend: bool) -> None:
    t = cmp.grid / 60
    ax.step(np.concatenate([[0], t]), np.concatenate([[0], cmp.actual[key]]), where="post", color=ACTUAL, linewidth=2.0,
            label="drill (door counts)")
    ax.plot(np.concatenate([[0], t]), np.concatenate([[0], cmp.simulated[key]]), color=PLAN, linewidth=1.8,
            label="plan (scenario as given)")
    if cmp.calibrated is not None:
        ax.plot(np.concatenate([[0], t]), np.concatenate([[0], cmp.calibrated[key]]), color=CALIBRATED, linewidth=1.6,
                linestyle="--", label="calibrated (drill's occupancy)")
    if legend:
        ax.legend(loc="lower right", fontsize=9, framealpha=0.95)


def total_figure(cmp: Comparison) -> Any:
    """People out of the counted exits over time, drill vs plan (vs calibrated), all buildings together."""
    fig = figure(10.5, 4.4)
    ax = fig.add_subplot()
    _curves(ax, cmp, "total", legend=True)
    style_axes(ax, "People out of the buildings over time (all counted exits)", "time since the alarm (min)",
               "people out", from_zero=True)
    ax.set_xlim(0, cmp.grid[-1] / 60)
    return fig


def building_figure(cmp: Comparison) -> Any:
    """Small multiples: people out over time per building (the busiest :data:`MAX_PANELS`)."""
    keys = sorted((k for k in cmp.actual if k != "total"), key=lambda k: (-cmp.actual[k][-1], k))[:MAX_PANELS]
    cols = min(3, max(1, len(keys)))
    rows = math.ceil(len(keys) / cols)
    fig = figure(10.5, 2.6 * rows + 0.4)
    axes = np.atleast_1d(fig.subplots(rows, cols, squeeze=False)).ravel()
    for i, (ax, b) in enumerate(zip(axes, keys, strict=False)):
        _curves(ax, cmp, b, legend=i == 0)
        style_axes(ax, mpl_text(f"{b} ({cmp.actual[b][-1]:,.0f} out)"), "min since the alarm", "people out", from_zero=True)
        ax.set_xlim(0, cmp.grid[-1] / 60)
    for ax in axes[len(keys):]:
        ax.set_visible(False)
    return fig


# --------------------------------------------------------------------------
# Map
# --------------------------------------------------------------------------


def compare_map(cmp: Comparison, figures: dict[str, dict[str, Any]], campus: Campus) -> folium.Map:
    """Buildings coloured by plan − drill time to 90 % out, counted exits sized by the drill's people, assembly areas."""
    f = campus.features.to_crs("EPSG:4326")
    diffs = [v["simulated_minus_actual"]["t90_s"] for k, v in figures.items() if k != "total"
             and v["simulated_minus_actual"]["t90_s"] is not None]
    span = max([abs(d) for d in diffs] + [30.0])
    norm = TwoSlopeNorm(vcenter=0.0, vmin=-span, vmax=span)
    cmap = colormaps[DIFF_CMAP]
    m = offline_map(height=MAP_HEIGHT)
    feats = []
    for fid, row in f[f["kind"].isin(["building", "assembly"])].iterrows():
        props: dict[str, Any] = {"id": str(fid), "kind": row["kind"]}
        if row["kind"] == "assembly":
            props.update(fill="#81c784", tip=f"assembly area {fid}")
        elif str(fid) in figures:
            v = figures[str(fid)]
            d = v["simulated_minus_actual"]["t90_s"]
            props.update(fill=to_hex(cmap(norm(d))) if d is not None else NO_DATA,
                         tip=(f"{fid}: {v['people_actual']:,.0f} out in the drill, {v['people_simulated']:,.0f} planned; "
                              f"90 % out at {_s(v['actual']['t90_s'])} s (drill) vs {_s(v['simulated']['t90_s'])} s (plan)"))
        else:
            props.update(fill=NO_DATA, tip=f"{fid}: no counted exit")
        feats.append({"type": "Feature", "geometry": row.geometry.__geo_interface__, "properties": props})
    folium.GeoJson(
        {"type": "FeatureCollection", "features": feats},
        style_function=lambda ft: {"color": "#4f5b62" if ft["properties"]["kind"] == "building" else "#2e7d32",
                                   "weight": 1 if ft["properties"]["kind"] == "building" else 2,
                                   "fillColor": ft["properties"]["fill"], "fillOpacity": 0.85},
        tooltip=folium.GeoJsonTooltip(fields=["tip"], labels=False),
    ).add_to(m)
    most = max([e["people_actual"] for e in cmp.exits.values()] + [1.0])
    for door, e in cmp.exits.items():
        if door not in f.index:
            continue
        p = f.geometry[door]
        tip = (f"exit {door} ({e['building']}): {e['people_actual']:,.0f} out in the drill, {e['people_simulated']:,.0f} planned"
               + (f"; queued, steady flow {e['steady_flow_p_s']:.2f} persons/s" if e["flow_limited"] else "; no steady queue"))
        folium.CircleMarker([p.y, p.x], radius=4 + 10 * math.sqrt(e["people_actual"] / most), color=RANK if e["flow_limited"] else PLAN,
                            weight=2, fill=True, fill_opacity=0.7, tooltip=html.escape(tip)).add_to(m)
    minx, miny, maxx, maxy = f[f["kind"].isin(["building", "assembly"])].total_bounds
    m.fit_bounds([[miny, minx], [maxy, maxx]], padding=(20, 20))
    return m


def _scale_html(figures: dict[str, dict[str, Any]]) -> str:
    diffs = [abs(v["simulated_minus_actual"]["t90_s"]) for k, v in figures.items()
             if k != "total" and v["simulated_minus_actual"]["t90_s"] is not None]
    span = max(diffs + [30.0])
    cmap = colormaps[DIFF_CMAP]
    stops = ", ".join(to_hex(cmap(x)) for x in np.linspace(0, 1, 9))
    return ('<div class="rp-legend"><div class="rp-scale"><div class="rp-scale-title">plan − drill, time to 90 % out (s): '
            'red = plan quicker than the drill, blue = plan slower</div>'
            f'<div class="rp-scale-bar" style="background:linear-gradient(to right, {stops})"></div>'
            f'<div class="rp-scale-ticks"><span style="left:4%">{-span:,.0f}</span><span style="left:50%">0</span>'
            f'<span style="left:96%">+{span:,.0f}</span></div></div>'
            f'<div class="rp-syms"><span class="rp-sym"><span class="cr-key" style="background:{RANK};height:10px;width:10px;border-radius:5px"></span>'
            f'exit that queued</span><span class="rp-sym"><span class="cr-key" style="background:{PLAN};height:10px;width:10px;border-radius:5px">'
            '</span>exit without a steady queue</span><span class="rp-sym">circle area: people out in the drill</span></div></div>')


# --------------------------------------------------------------------------
# The page
# --------------------------------------------------------------------------


def _header(result: dict[str, Any], meta: dict[str, Any]) -> str:
    t0 = meta.get("t0_epoch")
    from datetime import UTC, datetime

    alarm = (datetime.fromtimestamp(t0 + result["alarm_s"], UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
             if t0 is not None else f"{result['alarm_s']:.0f} s")
    facts = [("recording", result["recording"]), ("scenario", result["scenario"]), ("campus", meta.get("campus", "")),
             ("drill window", f"{meta.get('from', '?')} … {meta.get('to', '?')}"), ("alarm", alarm),
             ("time step", f"{result['bin_s']:g} s")]
    info = "".join(f"<span><b>{esc(k)}</b> {esc(v)}</span>" for k, v in facts)
    return (f'<header class="rp-header"><h1>Drill vs plan: {esc(result.get("name") or Path(result["scenario"]).stem)}</h1>'
            f'<div class="rp-meta">{info}</div></header>')


def _cards(result: dict[str, Any]) -> str:
    tot = result["figures"]["total"]
    a, s = tot["actual"], tot["simulated"]
    cards = [
        card("People out (drill / plan)", f"{tot['people_actual']:,.0f} / {tot['people_simulated']:,.0f}",
              "through the counted building exits", tone="main"),
        card("90 % out (drill)", f"{_s(a['t90_s'])} s", f"plan {_s(s['t90_s'])} s ({_signed(tot['simulated_minus_actual']['t90_s'])} s)"),
        card("All out (drill)", f"{_s(a['t100_s'])} s", f"plan {_s(s['t100_s'])} s ({_signed(tot['simulated_minus_actual']['t100_s'])} s)"),
        card("Mean time gap", f"{_s(tot['time_gap_s'])} s", "between the curves, as shares of their totals"),
    ]
    cal = result.get("calibration")
    if cal:
        fd = cal["flow_door"]
        cards.append(card("Door flow (fitted)", "not identified" if fd is None else f"{fd:.2f} p/s/m",
                           f"plan {cal['start']['flow_door']:g}", tone="" if fd is not None else "warn"))
        pm = cal["premovement_mean_s"]
        cards.append(card("Pre-movement (fitted)", "not identified" if pm is None else f"{pm:.0f} ± {cal['premovement_sd_s']:.0f} s",
                           f"plan {cal['start']['premovement_mean_s']:g} ± {cal['start']['premovement_sd_s']:g} s",
                           tone="" if pm is not None else "warn"))
        if "calibrated_time_gap_s" in tot:
            cards.append(card("Gap after calibration", f"{_s(tot['calibrated_time_gap_s'])} s", "calibrated plan vs drill"))
    return f'<section class="cr-grid" id="cr-figures">{"".join(cards)}</section>'


def _tables(result: dict[str, Any]) -> str:
    rows = []
    for b, v in result["figures"].items():
        a, s, d = v["actual"], v["simulated"], v["simulated_minus_actual"]
        rows.append((b, _s(v["people_actual"]), _s(v["people_simulated"]),
                     *(f"{_s(a[k])} / {_s(s[k])} ({_signed(d[k])})" for k in ("t50_s", "t90_s", "t100_s")),
                     _s(v["time_gap_s"])))
    buildings = table_html(["building", "people (drill)", "people (plan)", "50 % out, s (drill / plan, diff)",
                            "90 % out", "all out", "mean gap (s)"], rows, numeric=(1, 2, 3, 4, 5, 6), table_id="cr-buildings")
    ex = [(d, e["building"], _s(e["people_actual"]), _s(e["people_simulated"]), "yes" if e["flow_limited"] else "no",
           "–" if e["steady_flow_p_s"] is None else f"{e['steady_flow_p_s']:.2f}", "–" if e["peak_share"] is None else f"{e['peak_share']:.0%}")
          for d, e in result["exits"].items()]
    exits = table_html(["exit", "building", "people (drill)", "people (plan)", "flow-limited", "steady flow (p/s)",
                        "people at peak flow"], ex, numeric=(2, 3, 5, 6), table_id="cr-exits")
    parts = ['<section class="rp-section rp-tables"><h2>By building</h2>'
             '<p class="rp-note">Times in seconds from the alarm; diff = plan − drill (negative: the plan was quicker).</p>',
             buildings, '<h2>Counted exits</h2><p class="rp-note">An exit is flow-limited when one steady stretch at its peak '
             'flow carries most of its people (a queue discharging at the door\'s capacity).</p>', exits]
    cal = result.get("calibration")
    if cal:
        st = cal["start"]
        crow = [("flow_door (persons/s/m)", f"{st['flow_door']:g}", "not identified" if cal["flow_door"] is None else f"{cal['flow_door']:.3f}",
                 pinned(cal, "flow_door", 3), ", ".join(cal["flow_exits"]) or "none"),
                ("pre-movement mean (s)", f"{st['premovement_mean_s']:g}",
                 "not identified" if cal["premovement_mean_s"] is None else f"{cal['premovement_mean_s']:.1f}",
                 pinned(cal, "premovement_mean_s", 1), ", ".join(cal["premovement_exits"] + cal.get("camera_levels", [])) or "none"),
                ("pre-movement sd (s)", f"{st['premovement_sd_s']:g}",
                 "not identified" if cal["premovement_sd_s"] is None else f"{cal['premovement_sd_s']:.1f}",
                 pinned(cal, "premovement_sd_s", 1), f"{cal['premovement_people']:,.0f} people at exits"
                 + (f", {cal['camera_people']:,.0f} seen leaving levels by cameras (weight {cal['camera_weight']:g})"
                    if cal.get("camera_levels") else ""))]
        parts += ['<h2>Calibration</h2><p class="rp-note">Fitted by running the drill at every step '
                  f'({cal["simulations"]} simulated replications, common random numbers). Written to '
                  f'{esc(cal["written"])}.</p>',
                  table_html(["parameter", "plan", "fitted", "95 % interval (counts' noise)", "fitted to"], crow, numeric=(1, 2),
                             table_id="cr-calibration"),
                  ('<p class="rp-note">The interval is where the squared residuals of the people out per time step rise by '
                   'less than 3.84 times their variance at the fit with the other values held (docs/recording.md, Calibration): how '
                   'sharply the counts pin a value. It leaves out the simulation\'s own noise; "open" means the counts do not pin '
                   'the value on that side within ±20 %.</p>')]
        parts += [f'<div class="cr-warn">{esc(w)}</div>' for w in cal["warnings"]]
    parts.append("</section>")
    return "".join(parts)


def compare_page(cmp: Comparison, result: dict[str, Any], *, meta: dict[str, Any], campus: Campus) -> str:
    """The drill-versus-plan report as one offline HTML page (see the module docstring).

    Parameters
    ----------
    cmp : Comparison
        From :func:`scenarios.calibrate.compare`.
    result : dict
        The JSON document of ``twin compare --json`` (figures, exits, calibration).
    meta : dict
        The exercise recording's metadata.
    campus : Campus
        The campus, for the map.
    """
    plots = [("cr-plot-total", total_figure(cmp), "People out over time, drill vs plan, all counted exits"),
             ("cr-plot-buildings", building_figure(cmp), "People out over time per building, drill vs plan")]
    imgs = "".join(f'<figure class="rp-plot"><img id="{pid}" src="{png_data_uri(fig)}" alt="{html.escape(alt)}"></figure>'
                   for pid, fig, alt in plots)
    top = (f'<div class="rp-top">{_header(result, meta)}{_cards(result)}<h2>Map</h2>'
           '<p class="rp-note">Buildings coloured by how far the plan was from the drill; hover for the figures.</p></div>')
    bottom = (f'<div class="rp-bottom">{_scale_html(result["figures"])}<section class="rp-section"><h2>Evacuation curves</h2>'
              f'{imgs}</section>{_tables(result)}<footer class="rp-footer">Campus Twin · twin compare · counts only, '
              "no identities</footer></div>")
    css = report_css() + _EXTRA_CSS
    return framed_page(compare_map(cmp, result["figures"], campus), title=f"Drill vs plan: {result.get('name') or Path(result['scenario']).stem}",
                       css=css, top=top, bottom=bottom)


def pinned(cal: dict[str, Any], key: str, digits: int) -> str:
    """A fitted value's 95 % interval as text (``open`` on a side the data does not pin; ``–`` when not fitted)."""
    ci = cal.get("uncertainty", {}).get(key, {}).get("ci95")
    if not ci:
        return "–"
    return " … ".join("open" if v is None else f"{v:.{digits}f}" for v in ci)


def write_compare_report(cmp: Comparison, result: dict[str, Any], *, meta: dict[str, Any], campus: Campus,
                         out_dir: str | Path) -> Path:
    """Write ``out_dir/report.html`` (see :func:`compare_page`); returns its path."""
    return write_page(compare_page(cmp, result, meta=meta, campus=campus), out_dir)

"""The drill report: one self-contained HTML page of an evacuation run.

``twin run SCENARIO -o DIR`` writes ``DIR/report.html`` with :func:`write_report`.
The page needs no network: Leaflet is inlined (through
:func:`viz.offline.offline_page`), the map has no tiles and every plot is
an embedded PNG. It holds, top to bottom:

1. a header (scenario, campus, seed, replications, route, what-ifs, date) and
   the key figures: evacuation time (mean, p50, p95, min, max) beside the
   flow lower bound and the design estimate, occupants, safe, trapped (with
   a fire: exposed and incapacitated) and the wall time;
2. a map: buildings coloured by clearance time, exits sized by the people
   through them, the worst bottlenecks ranked, blocked parts and the fire in
   red, the spaces smoke made untenable hatched, assembly areas;
3. with a fire, where and when people were incapacitated (a table by space);
4. plots: people safe over time, people out of each building over time, and
   the flow through the busiest exits;
5. tables: bottlenecks, clearance by building, people by exit.

Figures of several replications are means per replication, as in
``Outcome.summary()``; every text from the campus or the scenario is
HTML-escaped.
"""

from __future__ import annotations

import html
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from matplotlib import colormaps
from matplotlib.figure import Figure

from twin.campus import levels_guessed
from viz.drill_data import (
    CURVE_POINTS,
    building_occupants,
    clock,
    end_time,
    exit_last_times,
    feature_name,
    fixed,
    incapacitation_by_space,
    mean_count,
    num,
    seconds,
    spread,
)
from viz.drill_map import SMOKE_PATTERN, ClearanceScale, drill_map, level_rank_text, level_ranks, map_legend_html
from viz.offline import framed_page, write_page
from viz.page import (
    CLOSED,
    Html,
    card,
    esc,
    mpl_text,
    png_data_uri,
    report_css,
    table_html,
)
from viz.plots import figure, style_axes

if TYPE_CHECKING:
    from scenarios.evacuation.outcome import Outcome

# --------------------------------------------------------------------------
# Settings of the page
# --------------------------------------------------------------------------

TOP_BUILDINGS = 10
"""Buildings drawn in the per-building plot (the most occupied)."""
TOP_EXITS_FLOW = 8
"""Exits drawn in the exit-flow plot (the busiest)."""
TOP_EXITS_BARS = 20
"""Exits in the bar chart of people per exit."""


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
        whatifs.append(f"fire in {fire['origin']} at {num(fire['start'])} s, spreading after {num(fire['spread_delay'])} s")
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


def key_figures_html(summary: dict[str, Any], outcome: Outcome | None = None) -> str:
    """The key-figures panel.

    Evacuation time (mean, with p50/p95/min/max), the flow lower bound beside
    it with the ratio of the two and the design hydraulic estimate (each with
    its label from the outcome), occupants, safe, trapped (red when any) and,
    when the scenario has a fire, exposed and incapacitated (red when any),
    unfinished (only when any) and the wall time. Counts are means per
    replication, with their range when ``outcome`` is given and ran several.

    Parameters
    ----------
    summary : dict
        ``Outcome.summary()``: the JSON document of ``twin run --json``.
    outcome : Outcome, optional
        The run, for the range of the counts over replications.

    Returns
    -------
    str
        HTML.
    """
    mean = float(summary["evacuation_time_s"])
    st = summary["evacuation_time_stats"]
    bound = float(summary.get("lower_bound_s") or 0.0)
    label = (summary.get("lower_bound") or {}).get("label", "")
    ratio = f"simulated ÷ bound = {mean / bound:.2f}" if bound > 0 else "no bound: nobody can reach an assembly area"
    reps = outcome.replications if outcome is not None else []

    def counted(name: str, key: str, per_rep: Any, detail: str, bad: bool = False) -> str:
        value = float(summary[key])
        lo_hi = spread(per_rep(r) for r in reps) if len(reps) > 1 else None
        rng = f"range {num(lo_hi[1])}–{num(lo_hi[2])} · " if lo_hi and lo_hi[1] != lo_hi[2] else ""
        return card(name, num(value), f"{rng}{detail}", tone="bad" if bad and value > 0 else "")

    cards = [
        card("Evacuation time (mean)", seconds(mean),
              f"{clock(mean)} · p50 {num(st['p50'])} · p95 {num(st['p95'])} · min {num(st['min'])} · "
              f"max {num(st['max'])} s", tone="main"),
        card("Flow lower bound", seconds(bound), f"{ratio} · {label}"),
    ]
    design = summary.get("design_estimate")
    if design:
        cards.append(card("Design estimate", seconds(summary["design_estimate_s"]), f"not a bound · {design.get('label', '')}"))
    cards += [
        card("Occupants", num(summary["occupants"]), "people in the buildings at the alarm"),
        counted("Safe", "safe", lambda r: len(r.safe_times), "reached an assembly area (mean per replication)"),
        counted("Trapped", "trapped", lambda r: r.trapped, "no way out left (mean per replication)", bad=True),
    ]
    if summary.get("fire"):
        cards += [
            counted("Exposed", "exposed", lambda r: r.exposed, "breathed smoke: any dose (mean per replication)"),
            counted("Incapacitated", "incapacitated", lambda r: r.incapacitated,
                    "smoke dose reached 1 (ISO 13571 FED); never counted safe (mean per replication)", bad=True),
        ]
    if float(summary.get("unfinished") or 0) > 0:
        cards.append(card("Unfinished", num(summary["unfinished"]), "still on the way at max_time", tone="warn"))
    cards.append(card("Wall time", seconds(summary["wall_s"]),
                       f"{summary['replications']} replication{'s' if summary['replications'] != 1 else ''}"))
    return f'<section class="rp-figures" id="rp-figures">{"".join(cards)}</section>'


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
    end = end_time(reps, summary)
    grid = np.linspace(0, end, CURVE_POINTS)
    fig = figure(10.5, 4.6)
    ax = fig.add_subplot()
    for i, r in enumerate(reps):
        t = np.concatenate([[0.0], r.safe_times, [end]]) / 60
        n = np.concatenate([[0], np.arange(1, len(r.safe_times) + 1), [len(r.safe_times)]])
        ax.step(t, n, where="post", color="#7d9cc0", linewidth=0.8, alpha=0.8,
                label="each replication" if i == 0 else None)
    ax.plot(grid / 60, mean_count((r.safe_times for r in reps), grid), color="#0d47a1", linewidth=2.4,
            label=f"mean of {len(reps)} replication{'s' if len(reps) != 1 else ''}")
    ax.axhline(summary["occupants"], color="#555555", linestyle=":", linewidth=1.2,
               label=f"occupants ({num(summary['occupants'])})")
    fire = bool(summary.get("fire"))
    if fire:
        incap = mean_count((r.incapacitated_at for r in reps if r.incapacitated_at is not None), grid)
        when = summary.get("incapacitated_when_s")
        later = (f"; {num(summary['incapacitated'])} by {when['last'] / 60:.1f} min, past this axis"
                 if when and when["last"] > end else "")
        ax.plot(grid / 60, incap, color=CLOSED, linewidth=2.2,
                label=f"incapacitated by smoke, mean ({num(round(float(incap[-1]), 1))} here{later})")
    bound = float(summary.get("lower_bound_s") or 0.0)
    if bound > 0:
        ax.axvline(bound / 60, color="#c62828", linestyle="--", linewidth=1.6,
                   label=f"flow lower bound ({num(bound)} s = {bound / 60:.1f} min)")
    design = float(summary.get("design_estimate_s") or 0.0)
    if design > 0:
        ax.axvline(design / 60, color="#6a1b9a", linestyle="-.", linewidth=1.4,
                   label=f"design estimate ({num(design)} s = {design / 60:.1f} min)")
    mean = float(summary["evacuation_time_s"])
    ax.axvline(mean / 60, color="#0d47a1", linestyle=":", linewidth=1.2,
               label=f"mean evacuation time ({num(mean)} s = {mean / 60:.1f} min)")
    title = "People safe (at an assembly area) and incapacitated over time" if fire else "People safe (at an assembly area) over time"
    style_axes(ax, title, "time since the alarm (min)", "people" if fire else "people safe", from_zero=True)
    ax.set_xlim(0, end / 60)
    ax.set_ylim(0, max(summary["occupants"], 1) * 1.05)
    ax.legend(loc="upper left" if fire else "lower right", fontsize=9.5, framealpha=0.95)  # a fire's toll runs along the bottom
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
        name = feature_name(outcome.drill, b)
        label = f"{b}{' ' + name if name and name != b else ''} ({num(occupants[b])})"
        ax.plot(grid / 60, mean_count(times, grid), color=colours[i % len(colours)], linewidth=1.8,
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
        left.annotate(num(n), (n, i), xytext=(3, 0), textcoords="offset points", va="center", fontsize=8)
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
        ("rp-plot-safe", evacuation_figure, "People safe over time, each replication and their mean, with the flow lower bound and the design estimate"),
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


def bottleneck_table(summary: dict[str, Any], drill: Any = None) -> str:
    """The bottlenecks of the summary, worst first, with their rank on their level (as the map numbers them) and the
    source's names where it has them."""
    found = summary.get("bottlenecks", [])
    rows = [(i, level_rank_text(*lr), b["id"], element_name(drill, b["id"]), b["kind"], num(b["max_queue"]), fixed(b["max_wait_s"]),
             fixed(b["mean_wait_s"]), num(b["passed"])) for i, (b, lr) in enumerate(zip(found, level_ranks(drill, found), strict=True), 1)]
    return table_html(["#", "on its level", "element", "name", "kind", "max queue (people)", "max wait (s)", "mean wait (s)",
                       "passed (people)"], rows, numeric=(0, 5, 6, 7, 8), table_id="rp-bottlenecks")


def element_name(drill: Any, label: str) -> str:
    """The source's name of a bottleneck (``FW1 (j0-j1)`` → the name of ``FW1``), or ``""``."""
    return feature_name(drill, label.split(" (", 1)[0])


def estimates_html(outcome: Outcome, summary: dict[str, Any]) -> str:
    """A warning block listing the occupied buildings whose storeys or design occupants are estimates; ``""`` if none.

    Storeys are a guess where the source gave none (``levels_guessed``);
    design occupants are an estimate wherever the campus file gives no
    ``occupants`` for a building without indoor features, storeys tagged or
    not (``Campus.occupants_estimated``: floor area × storeys ÷ the use's load
    factor), as on an imported campus.
    """
    campus = outcome.drill.campus
    f = campus.features
    guessed = set(levels_guessed(f))
    estimated = set(campus.occupants_estimated) | guessed
    occupied = building_occupants(outcome.replications)
    hit = sorted((b for b in occupied if b in estimated), key=lambda b: -occupied[b])
    if not hit:
        return ""
    rows = [(b, feature_name(outcome.drill, b), f"{int(f.at[b, 'levels'])} ({'guessed' if b in guessed else 'from the source'})",
             "floor area × storeys ÷ load factor" if b in campus.occupants_estimated else "given", num(occupied[b]),
             fixed(summary.get("by_building", {}).get(b, 0.0))) for b in hit]
    n_guessed, n_area = sum(b in guessed for b in hit), sum(b in campus.occupants_estimated for b in hit)
    why = [f"{n_guessed} {'has' if n_guessed == 1 else 'have'} no storey count in their source (levels_guessed), so their storeys "
           "are a guess"] * bool(n_guessed) + [
           f"{n_area} {'has' if n_area == 1 else 'have'} no <code>occupants</code> in the campus file, so their design occupants "
           "are floor area × storeys ÷ the use's load factor (building_load_factor)"] * bool(n_area)
    return ('<section class="rp-section rp-estimates" id="rp-estimates"><h2>Estimates: check these buildings</h2>'
            f'<p class="rp-note">{len(hit)} of the {len(occupied)} occupied buildings hold estimated numbers: {"; ".join(why)}. '
            'The people in the drill and the times below follow from those estimates: set <code>levels</code> and '
            '<code>occupants</code> in the campus file to replace them.</p>'
            + table_html(["building", "name", "storeys", "design occupants", "people in the drill", "clearance (s)"], rows,
                         numeric=(4, 5), table_id="rp-estimates-table")
            + "</section>")


def building_table(outcome: Outcome, summary: dict[str, Any]) -> str:
    """Clearance time by building, slowest first, with the map's colour."""
    clearance = summary.get("by_building", {})
    scale = ClearanceScale(clearance.values())
    occupants = building_occupants(outcome.replications)
    rows = []
    for b in sorted(clearance, key=lambda b: (-clearance[b], b)):
        t = clearance[b]
        swatch = Html(f'<span class="rp-swatch" style="background:{scale.colour(t)}"></span>')
        rows.append((swatch, b, feature_name(outcome.drill, b), num(occupants.get(b, 0.0)), fixed(t), clock(t)))
    return table_html(["", "building", "name", "occupants", "clearance (s)", "clearance"], rows,
                      numeric=(3, 4, 5), table_id="rp-buildings")


def exit_table(outcome: Outcome, summary: dict[str, Any]) -> str:
    """People by exit, busiest first, with the share and when the last person passed."""
    people = summary.get("by_exit", {})
    total = sum(people.values()) or 1.0
    last = exit_last_times(outcome.replications)
    building = {s.id: outcome.drill.graph.nodes[s.id].get("building") or "" for s in outcome.drill.servers if s.exit}
    used = sorted(((d, n) for d, n in people.items() if n > 0), key=lambda kv: (-kv[1], kv[0]))
    rows = [(d, feature_name(outcome.drill, d), building.get(d, ""), num(n), f"{n / total:.1%}", fixed(last[d]) if d in last else "–")
            for d, n in used]
    unused = [d for d in building if people.get(d, 0) <= 0]
    if unused:  # one line for the rest: an imported campus has hundreds of exits nobody in the scenario is near
        rows.append((Html(f"<i>{len(unused):,} other exit{'s' if len(unused) != 1 else ''}</i>"), "nobody used them", "", "0", "0.0%", "–"))
    return table_html(["exit", "name", "building", "people", "share", "last person out (s)"], rows, numeric=(3, 4, 5),
                      table_id="rp-exits")


def incapacitated_html(outcome: Outcome, summary: dict[str, Any]) -> str:
    """Where and when people were incapacitated by smoke: one row per space, most people first; ``""`` without a fire."""
    if not summary.get("fire"):
        return ""
    rows = [(r["node"], r["name"], "" if r["level"] is None else str(r["level"]), r["kind"],
             "–" if r["smoke_s"] is None else fixed(r["smoke_s"]), "stayed tenable" if r["untenable_s"] is None else fixed(r["untenable_s"]),
             fixed(r["count"]), fixed(r["first"]), fixed(r["p50"]), fixed(r["last"]))
            for r in incapacitation_by_space(outcome.drill, outcome.replications)]
    when = summary.get("incapacitated_when_s")
    total = (f"{num(summary['incapacitated'])} of {num(summary['occupants'])} people per replication (mean), the first at "
             f"{seconds(when['first'])}, half by {seconds(when['p50'])}, the last at {seconds(when['last'])}."
             if when else "Nobody was incapacitated.")
    note = (f"{total} A person is incapacitated when their smoke dose reaches 1 (fractional effective dose, ISO 13571) "
            "and is never counted safe. Counts are means per replication; times are over every replication's people "
            "in the space. A space can be smoke-logged yet tenable: the dose accrues slowly there, so people waiting in it "
            "long enough are incapacitated too.")
    body = (table_html(["space", "name", "level", "kind", "smoke from (s)", "untenable from (s)", "incapacitated (people)",
                        "first (s)", "median (s)", "last (s)"], rows, numeric=(4, 5, 6, 7, 8, 9), table_id="rp-incapacitated")
            if rows else "")
    return ('<section class="rp-section rp-fire" id="rp-fire"><h2>Fire: where and when people were incapacitated</h2>'
            f'<p class="rp-note">{html.escape(note)}</p>{body}</section>')


def tables_html(outcome: Outcome, summary: dict[str, Any]) -> str:
    """The three tables, with headings and notes."""
    note = "Means per replication; the queue and wait are the largest in any replication."
    return (
        '<section class="rp-section rp-tables">'
        f'<h2>Bottlenecks</h2><p class="rp-note">{html.escape(note)}</p>{bottleneck_table(summary, outcome.drill)}'
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
    top = (f'<div class="rp-top">{header_html(outcome, summary, generated=generated)}{key_figures_html(summary, outcome)}'
           f'{estimates_html(outcome, summary)}'
           f'{SMOKE_PATTERN}'
           '<h2>Map</h2><p class="rp-note">Click a building, exit, bottleneck or closure for details; '
           "the layer control switches layers.</p></div>")
    bottom = (f'<div class="rp-bottom">{map_legend_html(summary)}{incapacitated_html(outcome, summary)}{plots_html(outcome, summary)}'
              f'{tables_html(outcome, summary)}<footer class="rp-footer">Campus Twin · campus digest '
              f'{html.escape(str(summary.get("campus_digest", ""))[:12])} · '
              f'{num(summary.get("events_per_replication", 0))} events per replication</footer></div>')
    css = report_css() + DRILL_CSS
    return framed_page(m, title=f"Drill report: {summary['scenario']}", css=css, top=top, bottom=bottom)


DRILL_CSS = """
.rp-estimates { margin: 0 0 14px; padding: 4px 14px 10px; border: 1px solid #ef6c00; border-left-width: 5px; border-radius: 6px;
  background: #fff3e0; }
.rp-estimates h2 { margin-top: 8px; color: #e65100; }
.rp-rank .rp-lvl { position: absolute; left: 17px; top: -7px; padding: 0 3px; border-radius: 6px; background: #fff; color: #4a148c;
  font: 700 9px/12px system-ui, sans-serif; border: 1px solid #4a148c; white-space: nowrap; }
"""
"""The drill report's own look: the estimates warning block, the level tag on a bottleneck's rank."""


def write_report(outcome: Outcome, summary: dict[str, Any], out_dir: Path) -> Path:
    """Write the drill report ``out_dir/report.html``: one self-contained, offline page.

    Parameters
    ----------
    outcome : Outcome
        The run (``scenarios.evacuation.run``).
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

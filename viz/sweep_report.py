"""The options-side-by-side report of ``twin sweep … -o DIR``: every variant of a scenario compared on one page.

The page (``DIR/report.html``, offline, no map) holds: the key figures of
each variant with their spread over the replications (mean, p50, p95, the
range, the flow lower bound, people trapped), the evacuation curves overlaid
and each replication's time per variant, the buildings and bottlenecks whose
figures change most between variants, and, for variants that give the same
time, why (the same critical bottleneck, ``scenarios.sweep.ties``). Variant
names are whole: every varied key with its value.
"""

from __future__ import annotations

import html
from pathlib import Path
from typing import Any

from viz.page import Html, card, esc, mpl_text, png_data_uri, report_css, table_html
from viz.plots import figure, style_axes

PALETTE = ("#1565c0", "#d84315", "#2e7d32", "#6a1b9a", "#f9a825", "#00838f", "#5d4037", "#c2185b", "#455a64", "#7cb342")
"""One colour per variant (cycled past ten)."""
MOST = 10
"""Rows of the 'changes most' tables."""

CSS = """
.sw-page { width: 100%; max-width: 1200px; }
.sw-why { margin: 6px 0; padding: 6px 10px; border-left: 4px solid #1565c0; background: #eef4fc; }
.sw-why.sw-open { border-color: #ef6c00; background: #fff3e0; }
.sw-dot { display: inline-block; width: 12px; height: 12px; border-radius: 50%; margin-right: 6px; vertical-align: -1px; }
"""


def _colour(k: int) -> str:
    return PALETTE[k % len(PALETTE)]


def curves_figure(rows: list[dict[str, Any]]) -> Any:
    """The variants' evacuation curves (people safe over time) on one plot."""
    fig = figure(10.5, 4.6)
    ax = fig.add_subplot()
    for k, r in enumerate(rows):
        ax.plot(r["curve"]["t_s"], r["curve"]["safe"], color=_colour(k), linewidth=2, label=mpl_text(r["name"]))
    style_axes(ax, "People safe over time (mean of the replications)", "time since the alarm (s)", "people safe", from_zero=True)
    ax.legend(fontsize=9, loc="lower right")
    return fig


def spread_figure(rows: list[dict[str, Any]]) -> Any:
    """Each replication's evacuation time per variant (dots), with the mean (bar) and the flow lower bound (tick)."""
    fig = figure(10.5, 0.55 * len(rows) + 1.4)
    ax = fig.add_subplot()
    for k, r in enumerate(rows):
        y = len(rows) - 1 - k
        ax.scatter(r["times_s"], [y] * len(r["times_s"]), color=_colour(k), s=28, zorder=3)
        ax.plot([r["evacuation_time_s"]] * 2, [y - 0.3, y + 0.3], color=_colour(k), linewidth=3)
        ax.plot([r["lower_bound_s"]] * 2, [y - 0.2, y + 0.2], color="#263238", linewidth=1.2, linestyle=":")
    ax.set_yticks(range(len(rows)), [mpl_text(r["name"]) for r in reversed(rows)], fontsize=9)
    style_axes(ax, "Evacuation time of each replication (dots), mean (bar), flow lower bound (dotted)", "evacuation time (s)", "")
    ax.set_xlim(left=0)
    return fig


def _changes(rows: list[dict[str, Any]], values: list[dict[str, float]]) -> list[tuple[str, list[float | None], float]]:
    """Keys whose value changes most across variants: (key, value per variant, range), largest range first."""
    keys = sorted({k for v in values for k in v})
    out = []
    for key in keys:
        vals = [v.get(key) for v in values]
        have = [x for x in vals if x is not None]
        out.append((key, vals, max(have) - min(have) if len(have) > 1 else (max(have) if have else 0.0)))
    return sorted(out, key=lambda c: (-c[2], c[0]))[:MOST]


def sweep_page(rows: list[dict[str, Any]], explained: list[dict[str, Any]], *, title: str, scenario: str) -> str:
    """The report page (HTML text) of a sweep's rows and its ties."""
    best = min(rows, key=lambda r: r["evacuation_time_s"])
    worst = max(rows, key=lambda r: r["evacuation_time_s"])
    cards = [card("Quickest", f"{best['evacuation_time_s']:,.0f} s", best["name"], tone="main"),
             card("Slowest", f"{worst['evacuation_time_s']:,.0f} s", worst["name"]),
             card("Variants", str(len(rows)), f"{rows[0]['replications']} replications each"),
             card("Same time", str(len(explained)), "pairs of variants within 1 %")]
    dot = lambda k: f'<span class="sw-dot" style="background:{_colour(k)}"></span>'
    figures = [(Html(dot(k) + esc(r["name"])), f"{r['evacuation_time_s']:,.0f}", f"{r['evacuation_time_stats']['p50']:,.0f}",
                f"{r['evacuation_time_stats']['p95']:,.0f}",
                f"{r['evacuation_time_stats']['min']:,.0f} – {r['evacuation_time_stats']['max']:,.0f}",
                f"{r['lower_bound_s']:,.0f}", f"{r['trapped']:,.0f}", r["critical"]["last_building"] or "–",
                r["critical"]["bottleneck"]["id"] if r["critical"]["bottleneck"] else "–")
               for k, r in enumerate(rows)]
    names = [r["name"] for r in rows]
    buildings = _changes(rows, [r["by_building"] for r in rows])
    necks = _changes(rows, [{b["id"]: b["max_wait_s"] for b in r["bottlenecks"]} for r in rows])
    fmt = lambda v: "–" if v is None else f"{v:,.0f}"
    why = "".join(f'<div class="sw-why{"" if t["same_bottleneck"] else " sw-open"}"><b>{esc(t["variants"][0])}</b> and '
                  f'<b>{esc(t["variants"][1])}</b> both take {t["evacuation_time_s"][0]:,.0f} s / {t["evacuation_time_s"][1]:,.0f} s: '
                  f'{esc(t["why"])}.</div>' for t in explained) or '<p class="rp-note">No two variants give the same time.</p>'
    body = (
        f'<div class="sw-page"><header class="rp-header"><h1>{esc(title)}</h1><div class="rp-meta">'
        f'<span><b>scenario</b>{esc(scenario)}</span><span><b>varied</b>{esc(_varied(rows))}</span>'
        f'<span><b>occupants</b>{rows[0]["occupants"]:,}</span></div></header>'
        f'<div class="rp-figures">{"".join(cards)}</div>'
        '<h2>Key figures per variant</h2><p class="rp-note">Evacuation times in seconds over the replications: mean, median, '
        '95th percentile, range; the flow lower bound (no variant can beat it); the building that clears last and the '
        'critical bottleneck (of the elements people queued at, the one whose capacity needs the longest to pass its '
        'people).</p>'
        + table_html(["variant", "mean", "p50", "p95", "range", "lower bound", "trapped", "clears last", "critical bottleneck"],
                     figures, numeric=(1, 2, 3, 4, 5, 6), table_id="sw-figures")
        + '<h2>Why variants give the same time</h2>' + f'<div id="sw-ties">{why}</div>'
        + f'<div class="rp-plot"><img id="sw-curves" alt="evacuation curves" src="{png_data_uri(curves_figure(rows))}"></div>'
        + f'<div class="rp-plot"><img id="sw-spread" alt="spread over replications" src="{png_data_uri(spread_figure(rows))}"></div>'
        + '<h2>Buildings that change most</h2><p class="rp-note">Mean time the last person leaves each building (s), per variant; '
          'the largest range first.</p>'
        + table_html(["building", *names, "range"], [(b, *map(fmt, v), fmt(d)) for b, v, d in buildings],
                     numeric=tuple(range(1, len(names) + 2)), table_id="sw-buildings")
        + '<h2>Bottlenecks that change most</h2><p class="rp-note">Longest wait at each bottleneck (s), per variant (– : not '
          'among that variant\'s ten worst); the largest range first.</p>'
        + table_html(["bottleneck", *names, "range"], [(b, *map(fmt, v), fmt(d)) for b, v, d in necks],
                     numeric=tuple(range(1, len(names) + 2)), table_id="sw-bottlenecks")
        + '<footer class="rp-footer">Campus Twin: twin sweep. Every variant runs the same replications (the scenario\'s seed).</footer></div>'
    )
    return (f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>'
            f'<meta name="viewport" content="width=device-width, initial-scale=1"><style>{report_css()}{CSS}</style></head>'
            f'<body>{body}</body></html>')


def _varied(rows: list[dict[str, Any]]) -> str:
    """What the variants vary: the varied keys, and for a scenario's alternatives, the keys they change."""
    keys = [k for k in rows[0]["vary"] if k != "alternative"]
    changed = list(dict.fromkeys(k for r in rows for k in r.get("changes", []) if k not in keys))
    n = len({r["vary"].get("alternative") for r in rows}) - 1  # less the scenario itself, "base"
    options = f"base and {n} alternative{'s' if n != 1 else ''} ({', '.join(changed)})" if "alternative" in rows[0]["vary"] else ""
    return ", ".join([options] * bool(options) + keys)


def write_sweep_report(rows: list[dict[str, Any]], explained: list[dict[str, Any]], out_dir: str | Path, *,
                       title: str, scenario: str) -> Path:
    """Write ``out_dir/report.html`` (see :func:`sweep_page`); return its path."""
    out = Path(out_dir) / "report.html"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(sweep_page(rows, explained, title=title, scenario=scenario), encoding="utf-8")
    return out

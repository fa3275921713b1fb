"""Pieces every report page shares: escaping, tables, popups, GeoJSON layers and plots as images.

The drill, coverage, traffic and drill-vs-plan reports are offline HTML pages
(see ``viz.offline.framed_page``); whatever text reaches them from a
campus file, a scenario or a recording goes through :func:`esc` (or a
function here that calls it), so a feature named like markup shows as text.
"""

from __future__ import annotations

import base64
import html
import io
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

import shapely

from viz.styles import BACKGROUND
from viz.plots import DPI

if TYPE_CHECKING:
    from matplotlib.figure import Figure


CLOSED = "#d50000"
"""Colour of closures (blocked parts, the fire) and of bad figures."""
RANK = "#4a148c"
"""Colour of ranked markers (bottlenecks, flow-limited exits)."""


class Html(str):
    """Text that is already HTML (escaped where needed); :func:`esc` and tables put it in as is."""

    __slots__ = ()


def esc(v: Any) -> str:
    """Any value as escaped HTML text (``Html`` passes through)."""
    return v if isinstance(v, Html) else html.escape(str(v))


def mpl_text(text: str) -> str:
    """Text for a matplotlib label: ``$`` would start mathtext."""
    return text.replace("$", r"\$")


def png_data_uri(fig: Figure) -> str:
    """The figure as a ``data:image/png;base64,…`` URI."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=DPI, facecolor="white")
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def table_html(headers: Sequence[str], rows: Iterable[Sequence[Any]], *, numeric: Sequence[int] = (),
               table_id: str = "") -> str:
    """An HTML table; every cell escaped (``Html`` cells are put in as is), ``numeric`` columns right-aligned."""
    num = set(numeric)
    head = "".join(f'<th{" class=rp-num" if i in num else ""}>{esc(h)}</th>' for i, h in enumerate(headers))
    body = "".join(
        "<tr>" + "".join(f'<td{" class=rp-num" if i in num else ""}>{esc(v)}</td>' for i, v in enumerate(row)) + "</tr>"
        for row in rows
    )
    if not body:
        body = f'<tr><td colspan="{len(headers)}" class="rp-none">none</td></tr>'
    ident = f' id="{html.escape(table_id)}"' if table_id else ""
    return f'<table class="rp-table"{ident}><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


def feature_collection(items: Sequence[tuple[Any, dict[str, Any]]]) -> dict[str, Any]:
    """A GeoJSON FeatureCollection of (geometry in WGS 84, properties) pairs; empty geometries are left out."""
    feats = []
    for geom, props in items:
        if geom is None or geom.is_empty:
            continue
        feats.append({"type": "Feature", "geometry": shapely.geometry.mapping(geom), "properties": props})
    return {"type": "FeatureCollection", "features": feats}


def popup(title: str, rows: Sequence[tuple[str, Any]]) -> str:
    """A map popup: a title and a table of (label, value) rows, every text escaped."""
    cells = "".join(f"<tr><th>{esc(k)}</th><td>{esc(v)}</td></tr>" for k, v in rows)
    return f'<div class="ct-popup"><h4>{esc(title)}</h4><table>{cells}</table></div>'


def card(label: str, value: str, detail: str = "", *, tone: str = "") -> str:
    """One key figure (``label``, big ``value``, small ``detail``), texts escaped.

    ``tone``: ``main`` (the headline, two columns wide), ``good``, ``bad`` or ``warn``.
    """
    cls = f"rp-card rp-{tone}" if tone else "rp-card"
    return (f'<div class="{cls}"><div class="rp-label">{esc(label)}</div>'
            f'<div class="rp-value">{esc(value)}</div><div class="rp-detail">{esc(detail)}</div></div>')


REPORT_CSS = """
/* The one look of every report page: drill, coverage, traffic, drill vs plan. */
html, body { height: auto !important; min-height: 100%%; }
html { background: #fafaf8; }
body { display: flex; flex-direction: column; align-items: center; background: #fafaf8; color: #263238;
  font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; padding: 0 16px 40px; }
/* folium renders the map's div after everything else in <body>; flex order puts it between the top and the rest */
.rp-top { order: 0; } .folium-map { order: 1; flex: none; } .rp-bottom { order: 2; }
.rp-top, .rp-bottom, .folium-map { width: 100%% !important; max-width: 1200px; box-sizing: border-box; }
.folium-map { border: 1px solid #cfd8dc; border-radius: 6px; }
.leaflet-container { background: %(bg)s; font-size: 13px; }
.rp-header h1 { font-size: 24px; margin: 22px 0 6px; }
.rp-meta { display: flex; flex-wrap: wrap; gap: 6px 18px; color: #455a64; }
.rp-meta b { color: #263238; font-weight: 600; margin-right: 3px; }
.rp-desc { margin: 6px 0 0; color: #455a64; }
.rp-whatif { margin-top: 8px; padding: 6px 10px; border-left: 4px solid %(closed)s; background: #fdecea; }
.rp-figures { display: grid; grid-template-columns: repeat(auto-fit, minmax(150px, 1fr)); gap: 10px; margin: 16px 0 18px; }
.rp-card { background: #fff; border: 1px solid #dfe4e7; border-radius: 6px; padding: 8px 12px; }
.rp-card.rp-main { grid-column: span 2; border-color: #90caf9; background: #f3f8fe; }
.rp-label { font-size: 12px; color: #546e7a; text-transform: uppercase; letter-spacing: .03em; }
.rp-value { font-size: 24px; font-weight: 650; margin: 2px 0; }
.rp-detail { font-size: 12px; color: #607d8b; }
.rp-card.rp-bad { border-color: %(closed)s; background: #fdecea; } .rp-card.rp-bad .rp-value { color: %(closed)s; }
.rp-card.rp-warn { border-color: #ef6c00; background: #fff3e0; } .rp-card.rp-warn .rp-value { color: #e65100; }
.rp-card.rp-good { border-color: #69f0ae; background: #f1fbf5; }
h2 { font-size: 18px; margin: 22px 0 8px; }
.rp-legend { display: flex; flex-wrap: wrap; align-items: flex-end; gap: 10px 28px; margin: 8px 0 6px; }
.rp-scale { width: 300px; } .rp-scale-title { font-size: 12px; font-weight: 600; margin-bottom: 3px; }
.rp-scale-bar { height: 12px; border: 1px solid #90a4ae; }
.rp-scale-ticks { position: relative; height: 16px; font-size: 11px; }
.rp-scale-ticks span { position: absolute; transform: translateX(-50%%); top: 1px; }
.rp-syms { display: flex; flex-wrap: wrap; gap: 4px 16px; font-size: 12.5px; }
.rp-sym { display: inline-flex; align-items: center; gap: 4px; }
.rp-rank span { display: flex; align-items: center; justify-content: center; width: 22px; height: 22px; border-radius: 50%%;
  background: %(rank)s; color: #fff; font: 700 12px/1 system-ui, sans-serif; border: 2px solid #fff;
  box-shadow: 0 1px 3px rgba(0,0,0,.5); }
.rp-rank-legend span { width: 16px; height: 16px; font-size: 10px; }
.rp-plot { margin: 0 0 14px; background: #fff; border: 1px solid #e0e4e6; border-radius: 6px; padding: 6px; }
.rp-plot img { display: block; max-width: 100%%; height: auto; margin: 0 auto; }
.rp-note { margin: 0 0 6px; color: #607d8b; font-size: 12.5px; }
.rp-two { display: grid; grid-template-columns: repeat(auto-fit, minmax(440px, 1fr)); gap: 0 28px; align-items: start; }
.rp-table { border-collapse: collapse; background: #fff; font-size: 13px; width: 100%%; }
.rp-table th, .rp-table td { padding: 3px 10px; border-bottom: 1px solid #e3e7ea; text-align: left; }
.rp-table thead th { background: #eceff1; font-weight: 600; }
.rp-table tbody tr:nth-child(even) { background: #f7f9fa; }
.rp-table .rp-num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
.rp-table .rp-none { color: #90a4ae; font-style: italic; }
.rp-swatch { display: inline-block; width: 14px; height: 14px; border: 1px solid #78909c; vertical-align: middle; }
.rp-sw { display: inline-block; width: 22px; height: 12px; border: 1px solid #90a4ae; }
.ct-popup h4 { margin: 0 0 4px; font-size: 14px; } .ct-popup table { border-collapse: collapse; }
.ct-popup th { text-align: left; padding: 1px 8px 1px 0; color: #455a64; font-weight: 600; vertical-align: top; }
.rp-footer { margin-top: 26px; color: #78909c; font-size: 12px; }
"""


def report_css() -> str:
    """The report stylesheet with the map background and the colours filled in."""
    return REPORT_CSS % {"bg": BACKGROUND, "closed": CLOSED, "rank": RANK}

"""Pieces every report page shares: escaping, tables, popups, GeoJSON layers and plots as images.

The drill, coverage, traffic and drill-vs-plan reports are offline HTML pages
(see ``viz.campus_map.framed_page``); whatever text reaches them from a
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

from viz.plots import DPI

if TYPE_CHECKING:
    from matplotlib.figure import Figure


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

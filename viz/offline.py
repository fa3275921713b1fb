"""Offline pages: folium maps with no tiles and no CDN, Leaflet inlined, written as self-contained HTML.

Control rooms are often offline, so every map and report page the project
writes opens from disk with no network at all: the map is built with
:func:`offline_map` (no tiles, no default CDN assets) and rendered with
:func:`offline_page`, which inlines Leaflet's JavaScript and CSS from the
``xstatic-leaflet`` package and refuses a page that would still load
anything from the network.
"""

from __future__ import annotations

import base64
import html
import re
from pathlib import Path

import folium
from branca.element import Element


def _leaflet_assets() -> tuple[str, str]:
    """Leaflet's JS and CSS from ``xstatic-leaflet``, CSS images inlined as data URIs."""
    try:
        from xstatic.pkg import leaflet
    except ImportError:  # pragma: no cover - a declared dependency
        msg = "the campus map needs Leaflet from PyPI's xstatic-leaflet: pip install xstatic-leaflet"
        raise ImportError(msg) from None
    base = Path(leaflet.BASE_DIR)
    js = (base / "leaflet.js").read_text(encoding="utf-8")
    js = re.sub(r"//# sourceMappingURL=\S+", "", js)
    css = (base / "leaflet.css").read_text(encoding="utf-8")

    def inline(m: re.Match[str]) -> str:
        data = base64.b64encode((base / m.group(1)).read_bytes()).decode("ascii")
        return f"url(data:image/png;base64,{data})"

    css = re.sub(r"url\((images/[\w.-]+\.png)\)", inline, css)
    if "</script" in js.lower() or "</style" in css.lower():  # pragma: no cover - guards the inlining
        msg = "Leaflet assets contain a closing tag and cannot be inlined"
        raise ValueError(msg)
    return js, css


def framed_page(m: folium.Map, *, title: str, css: str, top: str, bottom: str) -> str:
    """A report page around a map: its (escaped) ``title``, ``css``, and HTML ``top`` and ``bottom`` of it; offline.

    ``top`` and ``bottom`` are HTML the caller has already escaped.
    """
    root = m.get_root()
    root.title = html.escape(title)
    root.header.add_child(Element(f"<style>{css}</style>"), name="page_css")
    root.html.add_child(Element(top), name="page_top")
    root.html.add_child(Element(bottom), name="page_bottom")
    return offline_page(m)


def write_page(page: str, out_dir: str | Path) -> Path:
    """Write ``page`` as ``out_dir/report.html`` (the folder is created if missing); return its path."""
    out = Path(out_dir) / "report.html"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(page, encoding="utf-8")
    return out


def offline_map(*, panes: dict[str, tuple[int, bool]] | None = None, height: int | None = None,
                scroll_zoom: bool = True) -> folium.Map:
    """A folium map with no tiles and no CDN scripts (``offline_page`` inlines Leaflet), with these panes.

    ``panes`` maps a pane name to (z-index, takes clicks); ``height`` is in
    pixels (the whole page when None); ``scroll_zoom`` False keeps the mouse
    wheel for scrolling a report page.
    """
    size = {"height": height} if height else {}
    m = folium.Map(tiles=None, control_scale=True, max_zoom=22, zoom_snap=0.25, attribution_control=False,
                   scroll_wheel_zoom=scroll_zoom, **size)
    m.default_js, m.default_css = [], []
    for name, (z, clicks) in (panes or {}).items():
        folium.map.CustomPane(name, z_index=z, pointer_events=clicks).add_to(m)
    return m


def offline_page(m: folium.Map) -> str:
    """Render a folium map's page with Leaflet inlined, so it opens with no network.

    The map must have been built with ``tiles=None`` and its CDN assets cleared
    (``m.default_js, m.default_css = [], []``), as :func:`campus_map` does.

    Parameters
    ----------
    m : folium.Map
        The map; its root figure is rendered, with everything added to it.

    Returns
    -------
    str
        The HTML page.

    Raises
    ------
    RuntimeError
        When a script or stylesheet would still load from the network.
    """
    js, css = _leaflet_assets()
    root = m.get_root()
    # Leaflet must come before the page's own styles and scripts: put it first in the header
    root.header.add_child(Element(f"<style>{css}</style>\n<script>{js}</script>"), name="leaflet", index=0)
    page = root.render()
    if re.search(r"<(script|link)\b[^>]*\b(src|href)\s*=\s*[\"']?(https?:)?//", page, re.IGNORECASE):
        msg = "the page still loads something from the network: build the map with tiles=None and no default_js/css"
        raise RuntimeError(msg)
    return page

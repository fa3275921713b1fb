"""The live console's pages: the map page, the login form and the API reference, with their Content-Security-Policy.

The map page (``GET /``, :func:`live_page`) is the campus map of ``twin map``
(``viz.campus_map``: the same layers, Leaflet inlined, no tiles) framed by a
header, an alarm panel, the forecast, the audit trail and an events strip,
with the page's own script and style sheet (``viz/live/static/live.js``,
``live.css``) served by the same server at ``/static``, so nothing is fetched
from the network. The script reads the layout once (``GET /api/layout``) and
then draws every live view pushed over ``/ws`` (``viz.live.view``). It builds
every text from data with ``textContent`` (never ``innerHTML``), so a campus or
event text is shown as text whatever it holds.

Every script on the map page carries a nonce that changes with every response
(:func:`csp`), so no injected script runs; the login form and the API
reference hold no script at all (:func:`static_html`).

Routes: ``GET /``, ``GET /docs``, ``GET /openapi.json`` (all behind the login).
"""

from __future__ import annotations

import html
import re
import secrets
from pathlib import Path
from typing import Any

import folium
from branca.element import Element
from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse
from folium.elements import MacroElement
from folium.template import Template

from twin.campus import Campus
from viz.campus_map import _style as campus_style
from viz.campus_map import _swatch as campus_swatch
from viz.campus_map import campus_map
from viz.offline import offline_page
from viz.styles import LEGEND_LABELS

STATIC = Path(__file__).resolve().parent / "static"
"""The map page's own script and style sheet, served at ``/static``."""
NONCE = "__CT_NONCE__"
"""Placeholder replaced with each response's CSP nonce."""
CSRF = "__CT_CSRF__"
"""Placeholder replaced with the session's CSRF token."""

_PAGE_STYLE = """
body { margin: 0; background: #eceff1; color: #1c2529; font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; }
main { max-width: 380px; margin: 12vh auto; background: #fff; padding: 28px 32px; border-radius: 8px; box-shadow: 0 1px 6px rgba(0,0,0,.2); }
h1 { font-size: 20px; margin: 0 0 18px; } label { display: block; margin: 12px 0 4px; font-weight: 600; }
input { width: 100%; box-sizing: border-box; padding: 8px; font-size: 16px; border: 1px solid #90a4ae; border-radius: 4px; }
button { margin-top: 18px; width: 100%; padding: 10px; font-size: 16px; font-weight: 600; background: #263238; color: #fff;
  border: 0; border-radius: 4px; cursor: pointer; }
.err { color: #b71c1c; font-weight: 600; margin: 12px 0 0; }
table { border-collapse: collapse; width: 100%; } td, th { border-bottom: 1px solid #cfd8dc; padding: 4px 8px; text-align: left; vertical-align: top; }
"""


def csp(nonce: str) -> str:
    """The map page's Content-Security-Policy: scripts only with this response's ``nonce``, nothing from elsewhere."""
    return (f"default-src 'self'; script-src 'nonce-{nonce}'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
            "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'; object-src 'none'")


def static_html(body: str, *, status_code: int = 200, headers: dict[str, str] | None = None) -> HTMLResponse:
    """A page with no script at all (login, API reference): its CSP allows none."""
    policy = "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    return HTMLResponse(body, status_code=status_code, headers={**(headers or {}), "Content-Security-Policy": policy})


def login_page(*, error: str | None = None, next_path: str = "/", title: str = "Campus Twin") -> str:
    """The login form (no script); every text escaped."""
    err = f'<p class="err" role="alert">{html.escape(error)}</p>' if error else ""
    return (f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Log in — {html.escape(title)}</title>'
            f'<meta name="viewport" content="width=device-width, initial-scale=1"><style>{_PAGE_STYLE}</style></head>'
            f'<body><main><h1>{html.escape(title)}: live security map</h1>'
            '<form method="post" action="/login">'
            f'<input type="hidden" name="next" value="{html.escape(next_path)}">'
            '<label for="username">User name</label><input id="username" name="username" autocomplete="username" required autofocus>'
            '<label for="password">Password</label><input id="password" name="password" type="password" autocomplete="current-password" required>'
            f'<button type="submit">Log in</button>{err}</form></main></body></html>')


def docs_page(schema: dict[str, Any]) -> str:
    """The API reference rendered on the server from the OpenAPI schema (no script, nothing from a CDN)."""
    rows = []
    for path, ops in sorted(schema.get("paths", {}).items()):
        for method, op in ops.items():
            params = ", ".join(f"{p['name']} ({p.get('in')})" for p in op.get("parameters", []))
            body = op.get("requestBody", {}).get("content", {})
            rows.append(f"<tr><td><code>{html.escape(method.upper())}</code></td><td><code>{html.escape(path)}</code></td>"
                        f"<td>{html.escape(op.get('summary', ''))}<br><small>{html.escape(op.get('description', ''))}</small></td>"
                        f"<td>{html.escape(params)}{'<br>body: ' + html.escape(', '.join(body)) if body else ''}</td></tr>")
    return (f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{html.escape(schema["info"]["title"])} API</title>'
            f'<style>{_PAGE_STYLE} main {{ max-width: 1100px; margin: 24px auto; }}</style></head><body><main>'
            f'<h1>{html.escape(schema["info"]["title"])} API</h1><p>The full schema: <a href="/openapi.json">/openapi.json</a>. '
            'State changes need the session cookie, the <code>X-CSRF-Token</code> header and a same-origin <code>Origin</code>.</p>'
            f'<table><tr><th>method</th><th>path</th><th>what</th><th>parameters</th></tr>{"".join(rows)}</table></main></body></html>')


KEYS: tuple[tuple[str, str], ...] = (
    ("J / ↓", "next alarm (selects it and shows it on the map)"),
    ("K / ↑", "previous alarm"),
    ("A", "acknowledge the selected alarm, with the note typed in its box"),
    ("N", "type a note on the selected alarm"),
    ("C", "clear the selected alarm (once its sensor has restored)"),
    ("/", "find a building, room, sensor or camera"),
    ("F", "show the selected alarm's floor"),
    ("M", "alarm sound on / off"),
    ("Esc", "close this list, the search or the floor view"),
    ("?", "this list"),
)
"""The map page's keyboard shortcuts (``live.js`` handles them; shown on the page by ``?``)."""


def _keys_html() -> str:
    return "".join(f"<dt><kbd>{html.escape(k)}</kbd></dt><dd>{html.escape(v)}</dd>" for k, v in KEYS)


def _swatch(body: str) -> str:
    return f'<svg width="28" height="16" viewBox="0 0 28 16" aria-hidden="true">{body}</svg>'


def _dot(fill: str, stroke: str = "#fff", *, r: float = 5, width: float = 2, dash: str = "", opacity: float = 1) -> str:
    d = f' stroke-dasharray="{dash}"' if dash else ""
    return _swatch(f'<circle cx="14" cy="8" r="{r}" fill="{fill}" fill-opacity="{opacity}" stroke="{stroke}" stroke-width="{width}"{d}/>')


def _box(fill: str, stroke: str = "#37474f", *, width: float = 1.2, dash: str = "") -> str:
    d = f' stroke-dasharray="{dash}"' if dash else ""
    return _swatch(f'<rect x="2" y="2" width="24" height="12" fill="{fill}" stroke="{stroke}" stroke-width="{width}"{d}/>')


LIVE_ENTRIES: tuple[tuple[str, str], ...] = (
    (_swatch("".join(f'<rect x="{2 + 4 * i}" y="2" width="4" height="12" fill="{c}"/>' for i, c in enumerate(
        ("#f3f6f8", "#d6e4f0", "#b0cde4", "#7fadd3", "#4f88bd", "#0f4478")))), "people / design: empty → full"),
    (_box("#5e2b97"), "more people than design"),
    (_box("#eceff1", dash="4 3"), "not counted (forecast assumes full)"),
    (_box("#f3f6f8", "#d50000", width=3), "building with an alarm"),
    (_dot("#d50000", r=6.5, width=2.5), "P1 alarm: fire, panic button"),
    (_dot("#ff6d00", r=5.5, width=2.5), "P2 alarm: pre-alarm, intrusion"),
    (_dot("#fbc02d", r=5.5, width=2.5), "P3–P4: crowding, fault"),
    (_dot("#d50000", "#d50000", r=5.5, width=2, dash="3 2", opacity=.25), "restored, not yet cleared"),
    (_swatch('<path d="M6 8 L26 1 A22 22 0 0 1 26 15 Z" fill="#ffd54f" fill-opacity=".6" stroke="#f57f17"/>'
             '<circle cx="6" cy="8" r="4" fill="#7b1fa2" stroke="#f57f17" stroke-width="2"/>'), "camera covering an alarm"),
    (_dot("#9e9e9e", "#212121", width=1.5, dash="2 2"), "sensor offline"),
    (_dot("#ffca28", "#212121", width=1.5, dash="2 2"), "sensor fault"),
    (_swatch('<line x1="2" y1="8" x2="26" y2="8" stroke="#1b5e20" stroke-width="5" stroke-opacity=".75" stroke-linecap="round"/>'),
     "forecast route to an exit (width: people)"),
    (_swatch('<circle cx="14" cy="8" r="7" fill="#e65100" stroke="#fff" stroke-width="2"/>'
             '<text x="14" y="11.5" font-size="10" font-weight="700" fill="#fff" text-anchor="middle">1</text>'), "forecast bottleneck, by rank"),
    (_dot("#ffcdd2", "#b71c1c", r=5.5), "blocked by fire"),
    (_box("#fff", "#b0bec5", width=1), "gate: people in · out today"),
)
"""What ``live.js`` draws over the campus map, each with its swatch (the colours of ``live.js``)."""

BASE_KINDS = ("road", "shared", "footway", "crossing", "assembly", "key_area", "camera", "gate", "post")
"""Campus map layers the live page keeps showing (rooms, detectors and camera wedges are hidden)."""


def live_legend(features: Any) -> str:
    """The live map's legend: what ``live.js`` draws, then the campus layers still shown (those present)."""
    live = "".join(f'<div class="ct-entry">{sw}<span>{html.escape(text)}</span></div>' for sw, text in LIVE_ENTRIES)
    kinds = set(features["kind"])
    base = [f'<div class="ct-entry">{campus_swatch(k, campus_style(k, {}))}<span>{html.escape(LEGEND_LABELS[k])}</span></div>'
            for k in BASE_KINDS if k in kinds]
    if (features["kind"] == "door").any():
        base.insert(0, f'<div class="ct-entry">{campus_swatch("door", campus_style("door", {"exit": True}))}<span>exit</span></div>')
    return ('<details id="ct-live-legend" class="ct-live-legend" open><summary>Legend</summary>'
            f'<h5>Live</h5><div class="ct-cols">{live}</div>'
            f'<h5>Campus</h5><div class="ct-cols">{"".join(base)}</div>'
            '<div id="ct-floor-legend" hidden><h5>Floor view</h5><div class="ct-cols">'
            f'<div class="ct-entry">{_box("#fff3e0", "#e65100")}<span>room or corridor on this floor</span></div>'
            f'<div class="ct-entry">{_box("#ffcdd2", "#b71c1c", width=2)}<span>room on fire</span></div>'
            f'<div class="ct-entry">{_dot("#43a047", "#fff", r=4)}<span>detector normal</span></div>'
            '</div></div></details>')


class LiveHandle(MacroElement):
    """Exposes the folium map and its overlays to ``live.js`` as ``window.ctMap``."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        window.ctMap = {map: {{ this._parent.get_name() }}, control: {{ this.control.get_name() }},
            overlays: { {%- for name, fg in this.overlays %}{{ name|tojson }}: {{ fg.get_name() }}, {% endfor -%} }};
        {% endmacro %}
        """
    )

    def __init__(self, control: Any, overlays: list[tuple[str, Any]]) -> None:
        super().__init__()
        self._name = "LiveHandle"
        self.control = control
        self.overlays = overlays


def live_page(campus: Campus, *, title: str = "Campus Twin — live security map") -> str:
    """The operator page, with :data:`NONCE` and :data:`CSRF` placeholders to fill per response.

    Parameters
    ----------
    campus : Campus
        The loaded campus.
    title : str
        Heading and window title (escaped).
    """
    m = campus_map(campus.features, title=title)
    control = next(c for c in m._children.values() if isinstance(c, folium.LayerControl))
    groups = [(c.layer_name, c) for c in m._children.values() if isinstance(c, folium.FeatureGroup)]
    m.add_child(LiveHandle(control, groups))
    root = m.get_root()
    root.header.add_child(Element(f'<meta name="ct-csrf" content="{CSRF}">'
                                  '<link rel="stylesheet" href="/static/live.css"><link rel="stylesheet" href="/static/hazards.css">'), name="ct_live_head")
    heading = html.escape(title)
    root.html.add_child(Element(
        f'<header id="ct-head"><h1 title="{heading}">{heading}</h1><span id="ct-clock">connecting…</span>'
        '<span id="ct-conn" class="ct-bad">offline</span><span id="ct-summary"></span>'
        '<div id="ct-find"><input id="ct-search" type="search" placeholder="Find building, room, sensor… ( / )" '
        'aria-label="Find a building, room, sensor or camera" autocomplete="off"><ol id="ct-search-hits" hidden></ol></div>'
        '<button id="ct-sound" type="button" aria-pressed="false" title="Alarm sound (key M)">sound off</button>'
        '<button id="ct-keys-btn" type="button" title="Keyboard shortcuts (key ?)">?</button>'
        '<span id="ct-user"></span><button id="ct-logout" type="button">Log out</button></header>'
        '<aside id="ct-side"><section id="ct-alarms"><h2>Alarms <span id="ct-alarm-count"></span></h2>'
        '<ol id="ct-alarm-list"></ol><p id="ct-action-msg" role="status"></p></section>'
        '<section id="ct-forecast"><h2>Evacuation forecast</h2><div id="ct-forecast-body">none yet</div></section>'
        '<section id="ct-audit"><h2>Audit trail</h2><ol id="ct-audit-list"></ol></section></aside>'
        f'{live_legend(campus.features)}<div id="ct-hidden-labels" hidden></div><div id="ct-floors"></div>'
        f'<div id="ct-keys" hidden role="dialog" aria-label="Keyboard shortcuts"><h2>Keyboard shortcuts</h2><dl>{_keys_html()}</dl></div>'
        '<footer id="ct-strip"><div id="ct-strip-head">Last hour of events</div>'
        '<svg id="ct-strip-svg" preserveAspectRatio="none"></svg></footer>'
        '<script src="/static/sound.js" defer></script><script src="/static/live.js" defer></script>'
        '<script src="/static/hazards.js" defer></script>'), name="ct_live_body")
    page = offline_page(m)
    return re.sub(r"<script(?=[\s>])", f'<script nonce="{NONCE}"', page)


# -- routes (the app holds the ingestor in ``app.state``) ---------------------------------------


def get_map(request: Request) -> HTMLResponse:
    state = request.app.state
    if getattr(state, "map_page", None) is None:  # built at the first request, kept for the server's life
        state.map_page = live_page(state.ingestor.campus)
    nonce = secrets.token_urlsafe(16)
    body = state.map_page.replace(NONCE, nonce).replace(CSRF, request.scope["twin.session"].csrf)
    return HTMLResponse(body, headers={"Content-Security-Policy": csp(nonce)})


def get_openapi(request: Request) -> JSONResponse:
    return JSONResponse(request.app.openapi())


def get_docs(request: Request) -> HTMLResponse:
    return static_html(docs_page(request.app.openapi()))


def add_routes(app: FastAPI) -> None:
    """The pages: ``GET /`` (the map), ``GET /docs`` and ``GET /openapi.json`` (the API's own description)."""
    app.add_api_route("/", get_map, methods=["GET"], response_class=HTMLResponse, summary="The live security map")
    app.add_api_route("/openapi.json", get_openapi, methods=["GET"], include_in_schema=False)
    app.add_api_route("/docs", get_docs, methods=["GET"], include_in_schema=False, response_class=HTMLResponse)

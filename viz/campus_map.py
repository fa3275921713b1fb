"""The campus map: one self-contained, offline HTML page of the campus model.

``twin map CAMPUS -o FILE.html`` writes it. The page is a Leaflet map (through
folium) with no tile layer, since control rooms are offline, and Leaflet's
JavaScript and CSS are inlined from the ``xstatic-leaflet`` package, so the
file opens from disk with no network at all.

Every layer is drawn from the model's normalised feature table. What each
kind looks like is one table, :data:`viz.styles.STYLES` (plus ``VARIANTS`` for styles
that depend on a property such as a building's ``use``), and which kinds go
in which layer is another, ``LAYERS``; nothing is styled per layer in
code. The layers are:

* buildings, coloured by ``use`` (see the legend);
* ``Rooms — level N``: the rooms, corridors, stairs and inner doors of level
  ``N`` of every modelled building (level 0 shown, the others hidden);
* exits (green) and card-access doors (dark blue ring);
* roads (dark grey, thick), shared lanes (dashed orange), footways (thin) and
  crossings (zebra stripes);
* gates, assembly areas, cameras with what they see (their field-of-view
  wedge less the shadows of buildings, ``twin.viewshed``; an indoor
  camera sees its own building only), detectors, guard posts and key
  areas (hatched in the colour of their ``category``).

Indoor sensors and card doors that are not exits follow their level: they
show while their layer *and* their level's rooms layer are on, so the floors
of a building do not pile up in plan. Exits always show.

Every feature has a popup listing its properties, each key and value
HTML-escaped, so no text in a campus file can run as markup on the page.
"""

from __future__ import annotations

import html
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import folium
import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from branca.element import Element
from folium.elements import MacroElement
from folium.template import Template

from twin.settings import BUILDING_USES, default
from twin.viewshed import camera_viewsheds
from viz.offline import offline_map, offline_page
from viz.styles import BACKGROUND, CASINGS, DOOR_LEGEND, DRAW_ORDER, KEY_AREA_COLOURS, LAYERS, LEGEND_LABELS, PANES, STYLES, Style, VARIANTS

_POINT_KINDS = ("door", "gate", "camera", "detector", "post")
_LINE_KINDS = ("road", "shared", "footway", "crossing")
_TOOLTIP_KEYS = ("name", "id")
_HIDDEN = ("properties", "geometry", "node")
"""Columns of the feature table that popups leave out (``node`` is the graph's, not the feature's)."""
_DERIVED = ' class="ct-derived"'

# --------------------------------------------------------------------------
# Feature preparation
# --------------------------------------------------------------------------


def _is_null(v: Any) -> bool:
    """True for None, NaN and pandas' missing values (but not for lists)."""
    if v is None:
        return True
    if isinstance(v, (list, tuple, dict, set, np.ndarray)):
        return False
    try:
        return bool(pd.isna(v))
    except (TypeError, ValueError):
        return False


def _plain(v: Any) -> Any:
    """A JSON-friendly Python value for numpy scalars and arrays."""
    if isinstance(v, np.generic):
        return v.item()
    if isinstance(v, np.ndarray):
        return v.tolist()
    return v


def _column(features: gpd.GeoDataFrame, name: str) -> pd.Series:
    """Column ``name``, or all-missing when the table has no such column."""
    if name in features:
        return features[name]
    return pd.Series(None, index=features.index, dtype=object)


def door_is_exit(features: gpd.GeoDataFrame) -> pd.Series:
    """Whether each door is a building exit.

    The ``exit`` column is used where it is filled (``twin.campus`` fills it);
    elsewhere a door is an exit when it lies within ``door_snap`` of its
    building's outline, as ``docs/campus-format.md`` defines.

    Parameters
    ----------
    features : GeoDataFrame
        The campus feature table, in a metric CRS.

    Returns
    -------
    Series of bool
        Indexed like the doors of ``features``.
    """
    doors = features[features["kind"] == "door"]
    buildings = features.loc[features["kind"] == "building", "geometry"]
    outline = buildings.boundary.reindex(_column(doors, "building").to_numpy())
    on_outline = shapely.distance(doors.geometry.values, outline.values) <= default("door_snap")
    out = pd.Series(on_outline, index=doors.index, dtype=bool)
    given = _column(doors, "exit")
    known = given.map(lambda v: isinstance(v, (bool, np.bool_)))
    out[known] = given[known].astype(bool)
    return out


def _style(kind: str, row: Mapping[str, Any]) -> Style:
    """The style of one feature: its kind's base style with its variants applied."""
    style = dict(STYLES[kind])
    for column, overrides in VARIANTS.get(kind, ()):
        value = row.get(column)
        if not _is_null(value) and value in overrides:
            style.update(overrides[value])
    style["className"] = f"ct-{kind}"
    return style


def _text(v: Any) -> str:
    """A property value as display text (lists and mappings as JSON)."""
    v = _plain(v)
    if isinstance(v, (dict, list, tuple)):
        return json.dumps(v, ensure_ascii=False, default=str)
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return str(v)


def popup_html(row: Mapping[str, Any]) -> str:
    """The popup of one feature: its properties as a table, every key and value escaped.

    Parameters
    ----------
    row : mapping
        One row of the feature table. Its ``properties`` (the feature's
        original properties) come first; then the model's values that the
        file left out (defaults and derived values such as ``exit``), marked
        as such.

    Returns
    -------
    str
        HTML in which no text from the row is markup.
    """
    props = row.get("properties")
    original = dict(props) if isinstance(props, Mapping) else {}
    title = original.get("name") or row.get("name") or row.get("id")
    rows = [(k, v, False) for k, v in original.items() if not _is_null(v)]
    for k, v in row.items():
        if k in _HIDDEN or k.startswith("_") or k in original or _is_null(v):
            continue
        rows.append((k, v, True))
    cells = "".join(
        f"<tr{_DERIVED if derived else ''}><th>{html.escape(str(k))}</th><td>{html.escape(_text(v))}</td></tr>"
        for k, v, derived in rows
    )
    return f'<div class="ct-popup"><h4>{html.escape(_text(title))}</h4><table>{cells}</table></div>'


def _tooltip(row: Mapping[str, Any]) -> str:
    """Short hover text of a feature: its kind and name (or id), escaped."""
    label = next((row.get(k) for k in _TOOLTIP_KEYS if not _is_null(row.get(k))), "")
    return f"{html.escape(str(row.get('kind', '')))}: {html.escape(_text(label))}"


def _levels_of(row: Mapping[str, Any]) -> list[int]:
    """Levels an indoor feature is on: its ``level``, or a stair's ``levels``."""
    if row.get("kind") == "stair":
        levels = row.get("levels")
        return [int(v) for v in levels] if isinstance(levels, (list, tuple, np.ndarray)) else []
    level = row.get("level")
    return [] if _is_null(level) else [int(level)]


@dataclass
class _Item:
    """One drawable: a feature, a crossing's casing or a camera's wedge.

    ``levels`` are the building levels it is on (empty outdoors). An item
    that ``follows_level`` is shown only while its level's rooms layer is on,
    so the sensors and card doors of hidden floors do not pile up in plan.
    """

    kind: str
    draw: str
    geometry: Any
    style: Style
    popup: str | None = None
    tooltip: str | None = None
    levels: list[int] = field(default_factory=list)
    outer_door: bool = False
    follows_level: bool = False


def _items(features: gpd.GeoDataFrame) -> list[_Item]:
    """Every drawable of the campus, in WGS 84, sorted by :data:`DRAW_ORDER`."""
    features = features.copy()
    doors = features["kind"] == "door"
    if doors.any():
        features["exit"] = _column(features, "exit").astype(object)
        features.loc[doors, "exit"] = door_is_exit(features).astype(object)
    wedges = None
    if (features["kind"] == "camera").any():  # what each camera sees: its sector less the buildings' shadows
        wedges = camera_viewsheds(features).to_crs(4326)
    geo = features.geometry.to_crs(4326)
    items: list[_Item] = []
    for fid, row in features.iterrows():
        kind = str(row["kind"])
        if kind not in STYLES:
            continue
        record = row.to_dict()
        levels = _levels_of(record)
        exit_ = kind == "door" and record.get("exit") is True
        outer = exit_ or (kind == "door" and record.get("access") == "card")
        follows = bool(levels) and (kind in ("camera", "detector") or (outer and not exit_))
        if kind in CASINGS:
            casing = {**CASINGS[kind], "className": f"ct-{kind}-casing"}
            items.append(_Item(kind, f"{kind}_casing", geo[fid], casing))
        items.append(
            _Item(kind, kind, geo[fid], _style(kind, record), popup_html(record), _tooltip(record), levels, outer, follows)
        )
        if wedges is not None and kind == "camera" and not wedges[fid].is_empty:
            fov = {**STYLES["camera_fov"], "className": "ct-camera_fov"}
            items.append(_Item("camera_fov", "camera_fov", wedges[fid], fov, levels=levels, follows_level=follows))
    items.sort(key=lambda it: DRAW_ORDER.index(it.draw))
    return items


def _feature_collection(items: Iterable[_Item]) -> dict[str, Any]:
    """GeoJSON of drawables; properties carry the style and the escaped texts only."""
    feats = []
    for it in items:
        props: dict[str, Any] = {"style": it.style}
        if it.popup:
            props["popup"] = it.popup
        if it.tooltip:
            props["tooltip"] = it.tooltip
        feats.append({"type": "Feature", "geometry": json.loads(shapely.to_geojson(it.geometry)), "properties": props})
    return {"type": "FeatureCollection", "features": feats}


# --------------------------------------------------------------------------
# Offline page assets
# --------------------------------------------------------------------------


_PAGE_CSS = """
.leaflet-container { background: %(bg)s; font: 13px/1.4 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; }
.leaflet-pane > svg path.ct-key_area { pointer-events: visibleStroke; }
.ct-title { position: fixed; top: 10px; left: 50%%; transform: translateX(-50%%); z-index: 1000;
  background: rgba(255,255,255,.92); padding: 6px 16px; border-radius: 6px; box-shadow: 0 1px 4px rgba(0,0,0,.3);
  font: 600 17px/1.3 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: #263238; pointer-events: none; }
.ct-legend { position: fixed; bottom: 12px; right: 10px; z-index: 1000; background: rgba(255,255,255,.94);
  padding: 8px 10px; border-radius: 6px; box-shadow: 0 1px 4px rgba(0,0,0,.3); color: #263238;
  font: 12px/1.25 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; }
.ct-legend summary { cursor: pointer; font-weight: 600; }
.ct-legend h5 { margin: 4px 0 3px; font-size: 12px; }
.ct-legend .ct-cols { display: grid; grid-template-columns: auto auto; column-gap: 14px; }
.ct-legend div.ct-entry { display: flex; align-items: center; gap: 6px; margin: 1px 0; }
.ct-popup h4 { margin: 0 0 4px; font-size: 14px; }
.ct-popup table { border-collapse: collapse; }
.ct-popup th { text-align: left; padding: 1px 8px 1px 0; color: #455a64; font-weight: 600; vertical-align: top; }
.ct-popup td { padding: 1px 0; word-break: break-word; }
.ct-popup tr.ct-derived th, .ct-popup tr.ct-derived td { color: #78909c; font-style: italic; }
.leaflet-control-layers, .leaflet-popup-content, .leaflet-tooltip { font-size: 13px; }
.leaflet-control-layers-overlays label { margin: 1px 0; }
"""


def _patterns() -> str:
    """SVG pattern definitions for hatched fills (key areas) and stair treads."""
    hatches = "".join(
        f'<pattern id="ct-hatch-{cat}" width="8" height="8" patternUnits="userSpaceOnUse" patternTransform="rotate(45)">'
        f'<rect width="8" height="8" fill="{col}" fill-opacity="0.08"/>'
        f'<line x1="0" y1="0" x2="0" y2="8" stroke="{col}" stroke-width="2" stroke-opacity="0.55"/></pattern>'
        for cat, col in KEY_AREA_COLOURS.items()
    )
    steps = (
        '<pattern id="ct-steps" width="4" height="4" patternUnits="userSpaceOnUse">'
        '<rect width="4" height="4" fill="#e6dcd3"/><line x1="0" y1="0.5" x2="4" y2="0.5" stroke="#6d4c41" stroke-width="1"/></pattern>'
    )
    return (
        '<svg width="0" height="0" style="position:absolute" aria-hidden="true">'
        f"<defs>{hatches}{steps}</defs></svg>"
    )


def _swatch(kind: str, style: Style) -> str:
    """A small SVG sample of a style for the legend."""
    stroke = style.get("color", "none")
    width = min(float(style.get("weight", 1)), 7)
    dash = f' stroke-dasharray="{style["dashArray"]}"' if "dashArray" in style else ""
    if kind in _POINT_KINDS:
        r = min(float(style.get("radius", 4)), 7)
        body = (
            f'<circle cx="14" cy="8" r="{r}" fill="{style.get("fillColor", stroke)}" stroke="{stroke}" '
            f'stroke-width="{width}"/>'
        )
        if kind == "camera":
            wedge = STYLES["camera_fov"]
            body = (
                f'<path d="M6 8 L26 1 A22 22 0 0 1 26 15 Z" fill="{wedge["fillColor"]}" fill-opacity="0.35" '
                f'stroke="{wedge["color"]}" stroke-width="1"/>'
                f'<circle cx="6" cy="8" r="3.5" fill="{style["fillColor"]}" stroke="#fff" stroke-width="1"/>'
            )
    elif kind in _LINE_KINDS:
        casing = ""
        if kind in CASINGS:
            casing = f'<line x1="2" y1="8" x2="26" y2="8" stroke="{CASINGS[kind]["color"]}" stroke-width="{min(CASINGS[kind]["weight"], 9)}"/>'
        body = f'{casing}<line x1="2" y1="8" x2="26" y2="8" stroke="{stroke}" stroke-width="{width}"{dash}/>'
    else:
        body = (
            f'<rect x="2" y="2" width="24" height="12" fill="{style.get("fillColor", "none")}" '
            f'fill-opacity="{style.get("fillOpacity", 0.2)}" stroke="{stroke}" stroke-width="{min(width, 2)}"{dash}/>'
        )
    return f'<svg width="28" height="16" viewBox="0 0 28 16">{body}</svg>'


def _legend(features: gpd.GeoDataFrame) -> str:
    """The legend: building uses present, then the kinds present, generated from the style tables."""
    kinds = set(features["kind"])
    entries: list[str] = []

    def entry(kind: str, style: Style, label: str) -> None:
        entries.append(f'<div class="ct-entry">{_swatch(kind, style)}<span>{html.escape(label)}</span></div>')

    uses = [u for u in BUILDING_USES if u in set(_column(features[features["kind"] == "building"], "use"))]
    for use in uses:
        entry("building", _style("building", {"use": use}), use)
    doors = features[features["kind"] == "door"]
    if len(doors):
        exits = door_is_exit(features)
        card = (_column(doors, "access") == "card").to_numpy()
        for is_exit, is_card, label in DOOR_LEGEND:
            if ((exits.to_numpy() == is_exit) & (card == is_card)).any():
                entry("door", _style("door", {"exit": is_exit, "access": "card" if is_card else None}), label)
    for kind, label in LEGEND_LABELS.items():
        if kind in kinds:
            entry(kind, _style(kind, {}), label)
    uses_html = "".join(entries[: len(uses)])
    rest = entries[len(uses) :]
    half = (len(rest) + 1) // 2
    return (
        '<details class="ct-legend" id="ct-legend" open><summary>Legend</summary>'
        f'<h5>Buildings by use</h5><div class="ct-cols">{uses_html}</div>'
        f'<h5>Features</h5><div class="ct-cols">'
        f'<div>{"".join(rest[:half])}</div><div>{"".join(rest[half:])}</div></div></details>'
    )


# --------------------------------------------------------------------------
# The map
# --------------------------------------------------------------------------


class CampusFeatures(MacroElement):
    """A plain ``L.geoJSON`` of prepared features, added to its parent feature group.

    Each feature's ``properties`` hold its Leaflet ``style`` (points become
    circle markers with it) and its already escaped ``popup`` and ``tooltip``.

    Parameters
    ----------
    data : dict
        A GeoJSON FeatureCollection in WGS 84.
    pane : str
        Leaflet pane to draw in.
    added : bool
        Add it to its feature group now; :class:`LevelSync` adds the ones
        that follow a level.
    """

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        var {{ this.get_name() }} = L.geoJSON({{ this.data|tojson }}, {
            pane: {{ this.pane|tojson }},
            style: function (f) { return f.properties.style; },
            pointToLayer: function (f, latlng) {
                return L.circleMarker(latlng, Object.assign({pane: {{ this.pane|tojson }}}, f.properties.style));
            },
            onEachFeature: function (f, layer) {
                if (f.properties.popup) { layer.bindPopup(f.properties.popup, {maxWidth: 380, autoPanPaddingTopLeft: [60, 60]}); }
                if (f.properties.tooltip) { layer.bindTooltip(f.properties.tooltip, {sticky: true}); }
            }
        });
        {%- if this.added %}
        {{ this.get_name() }}.addTo({{ this._parent.get_name() }});
        {%- endif %}
        {% endmacro %}
        """
    )

    def __init__(self, data: dict[str, Any], *, pane: str, added: bool = True) -> None:
        super().__init__()
        self._name = "CampusFeatures"
        self.data = data
        self.pane = pane
        self.added = added


class LevelSync(MacroElement):
    """Show level-bound features only while their level's layer is on.

    Parameters
    ----------
    levels : dict of int to FeatureGroup
        The per-level rooms layers.
    bound : list of (int, CampusFeatures, FeatureGroup)
        Features on a level, and the layer (Cameras, Detectors, …) they
        belong to.
    """

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        (function () {
            var map = {{ this._parent.get_name() }};
            var levels = { {%- for lv, fg in this.levels.items() %}{{ lv|tojson }}: {{ fg.get_name() }}, {% endfor -%} };
            var bound = [ {%- for lv, sub, fg in this.bound %}[{{ lv|tojson }}, {{ sub.get_name() }}, {{ fg.get_name() }}], {% endfor -%} ];
            function sync() {
                bound.forEach(function (b) {
                    var on = !levels[b[0]] || map.hasLayer(levels[b[0]]);
                    if (on) { b[2].addLayer(b[1]); } else { b[2].removeLayer(b[1]); }
                });
            }
            map.on("overlayadd overlayremove", sync);
            sync();
        })();
        {% endmacro %}
        """
    )

    def __init__(self, levels: dict[int, Any], bound: list[tuple[int, CampusFeatures, Any]]) -> None:
        super().__init__()
        self._name = "LevelSync"
        self.levels = levels
        self.bound = bound


def campus_map(features: gpd.GeoDataFrame, *, title: str | None = None) -> folium.Map:
    """Build the campus map.

    Parameters
    ----------
    features : GeoDataFrame
        The campus model's feature table (``twin.read.read_features`` or
        ``twin.campus.load_campus(...).features``): indexed by feature id, in a
        metric CRS, with ``kind``, the schema columns and ``properties``.
    title : str, optional
        Heading of the page; by default ``features.attrs["name"]`` when set,
        else "Campus map".

    Returns
    -------
    folium.Map
        Fitted to the campus, with no tile layer, one overlay per entry of
        :data:`LAYERS` (one per level for per-level layers), a layer control,
        a legend and the title. Render it with :func:`write_map` to get an
        offline page.

    Raises
    ------
    ValueError
        When ``features`` is empty or has no CRS.
    """
    if features.empty:
        msg = "no features to map: the campus is empty"
        raise ValueError(msg)
    if features.crs is None:
        msg = "the feature table has no CRS; read it with twin.read.read_features"
        raise ValueError(msg)
    heading = title or features.attrs.get("name") or "Campus map"

    m = offline_map(panes=PANES)

    items = _items(features)
    levels = sorted({lv for it in items if it.kind in ("room", "corridor", "stair", "door") for lv in it.levels})
    shown_level = 0 if 0 in levels else (levels[0] if levels else None)
    level_groups: dict[int, folium.FeatureGroup] = {}
    bound: list[tuple[int, CampusFeatures, folium.FeatureGroup]] = []
    for layer in LAYERS:
        chosen = [it for it in items if it.kind in layer.kinds]
        if layer.doors is not None:
            want_outer = layer.doors == "outer"
            chosen = [it for it in chosen if it.kind != "door" or it.outer_door == want_outer]
        if layer.per_level:
            for lv in levels:
                fg = folium.FeatureGroup(name=layer.name.format(level=lv), show=lv == shown_level).add_to(m)
                fg.add_child(CampusFeatures(_feature_collection(it for it in chosen if lv in it.levels), pane=layer.pane))
                level_groups[lv] = fg
            continue
        if not chosen:
            continue
        fg = folium.FeatureGroup(name=layer.name).add_to(m)
        free = [it for it in chosen if not it.follows_level]
        if free:
            fg.add_child(CampusFeatures(_feature_collection(free), pane=layer.pane))
        for lv in sorted({it.levels[0] for it in chosen if it.follows_level}):
            on_level = [it for it in chosen if it.follows_level and it.levels[0] == lv]
            sub = CampusFeatures(_feature_collection(on_level), pane=layer.pane, added=False)
            fg.add_child(sub)
            bound.append((lv, sub, fg))
    if bound:
        m.add_child(LevelSync(level_groups, bound))
    folium.LayerControl(collapsed=False, position="topright").add_to(m)

    minx, miny, maxx, maxy = shapely.total_bounds([it.geometry for it in items])
    m.fit_bounds([[miny, minx], [maxy, maxx]], padding=(20, 20))

    root = m.get_root()
    root.title = html.escape(heading)
    root.header.add_child(Element(f"<style>{_PAGE_CSS % {'bg': BACKGROUND}}</style>"), name="ct_css")
    root.html.add_child(Element(_patterns()), name="ct_patterns")
    root.html.add_child(Element(f'<div class="ct-title" id="ct-title">{html.escape(heading)}</div>'), name="ct_title")
    root.html.add_child(Element(_legend(features)), name="ct_legend")
    return m


def write_map(features: gpd.GeoDataFrame, path: str | Path, *, title: str | None = None) -> Path:
    """Write the campus map as one self-contained HTML file that needs no network.

    Parameters
    ----------
    features : GeoDataFrame
        The campus feature table (see :func:`campus_map`).
    path : str or Path
        File to write; its folder is created if missing.
    title : str, optional
        Heading of the page (see :func:`campus_map`).

    Returns
    -------
    Path
        The file written.
    """
    page = offline_page(campus_map(features, title=title))
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(page, encoding="utf-8")
    return out

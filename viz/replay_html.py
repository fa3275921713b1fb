"""Browser replay: one self-contained HTML page that plays a recording offline.

``twin replay RECORDING --html FILE`` writes it. The page is a Leaflet map
(through folium, Leaflet inlined by :func:`viz.offline.offline_page`, no
tiles, no CDN) holding the building and assembly outlines and the paths, and
a canvas on top on which everyone is drawn as a dot in their state's colour,
with door queues as bars and closures as red rings. Play/pause, a speed
choice (×0.25 … ×64), a time slider and the keys of the pygame viewer (space,
←/→ seek 10 s, ↑/↓ speed, Home/End) drive it.

The page does not carry frames: it carries the recording's moves (times as
float32, node indices, walk polylines; base64 typed arrays, about 15 bytes a
move) and computes positions in the browser exactly as
:meth:`viz.replay.Replay.at` does, so any time can be shown. Like every
viewer it reads the recording file only (outlines from its ``geometry`` table).

A recorded exercise has no moves: its page carries the occupancy samples,
the alarms and the exit counts, and shades each counted building by its
people ÷ design occupants, labelled with the count, with the alarms that are
on ringed in red, as the pygame viewer does; the controls are the same.
"""

from __future__ import annotations

import base64
import html
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from branca.element import Element
from folium.elements import MacroElement
from folium.template import Template
from pyproj import Transformer

from viz.styles import BACKGROUND, USE_COLOURS
from viz.offline import offline_map, offline_page
from viz.replay_debrief import MARKER_CSS, Debrief, forecast_rows
from viz.replay import BADGE_PX, FLOOR_KINDS, QUEUE_LABEL_MIN, SPEEDS, STATE_NAMES, Replay, building_geometry

STATE_CSS = {"waiting": "#787882", "walking": "#1965c0", "queued": "#e67800", "safe": "#2e8c3c", "trapped": "#d50000",
             "incapacitated": "#6a1b9a"}
"""Dot colour of each state (as in the pygame viewer)."""


def _b64(a: np.ndarray) -> str:
    return base64.b64encode(np.ascontiguousarray(a).tobytes()).decode("ascii")


def _to_latlon(rec: Replay) -> Callable[[np.ndarray], np.ndarray]:
    """A function from recording metres (n, 2) to (lat, lon) degrees (n, 2)."""
    crs = rec.meta.get("crs")
    if not crs:
        msg = f"{rec.path}: the recording has no crs in its metadata; cannot place it on a map"
        raise ValueError(msg)
    to_ll = Transformer.from_crs(crs, "EPSG:4326", always_xy=True)

    def ll(xy: np.ndarray) -> np.ndarray:
        lon, lat = to_ll.transform(xy[:, 0], xy[:, 1])
        return np.stack([lat, lon], axis=1)

    return ll


def _map_features(rec: Replay, outlines: list[dict[str, Any]], ll: Callable[[np.ndarray], np.ndarray],
                  counted: set[str] | None = None) -> dict[str, Any]:
    """Outlines and outdoor paths as a GeoJSON FeatureCollection in degrees (``counted``: buildings with counts)."""
    features = []
    for o in outlines:
        ring = ll(o["xy"])[:, ::-1].tolist()
        features.append({"type": "Feature", "geometry": {"type": "Polygon", "coordinates": [ring]},
                         "properties": {"kind": o["kind"], "id": o["id"], "counted": counted is not None and o["id"] in counted,
                                        "fill": USE_COLOURS.get(o.get("use") or "other", USE_COLOURS["other"])}})
    for xy, kind, level in zip(rec.edges, rec.edge_kind, rec.edge_level, strict=True):
        if np.isnan(level):
            features.append({"type": "Feature", "geometry": {"type": "LineString", "coordinates": ll(xy)[:, ::-1].tolist()},
                             "properties": {"kind": "path", "path": kind}})
    return {"type": "FeatureCollection", "features": features}


def _exercise_payload(rec: Replay, outlines: list[dict[str, Any]]) -> dict[str, Any]:
    """What the page of a recorded exercise needs: occupancy samples, alarms, exit counts, the map."""
    import shapely
    from matplotlib import colormaps
    from matplotlib.colors import to_hex

    ll = _to_latlon(rec)
    out_t, out_n = rec.out_counts()
    cmap = colormaps["Blues"]
    anchors = []  # labels go under each building (its lowest point, at its centre), so the shade shows
    for b in rec.occ_buildings:
        rings = [o["xy"] for o in outlines if o["kind"] == "building" and o["id"] == b and len(o["xy"]) >= 3]
        pts = rings[0] if rings else rec.node_xy[rec.node_building == b]
        c = shapely.Polygon(pts).representative_point() if rings else shapely.Point(pts.mean(axis=0))
        anchors.append(ll(np.array([[c.x, float(pts[:, 1].min())]]))[0].tolist())
    alarms = []
    for a in rec.alarms:
        at = ll(rec.node_xy[[rec.node(a["node"])]])[0].tolist() if a["node"] in rec.node_index else None
        alarms.append({"t0": a["t0"], "t1": a["t1"], "kind": a["kind"], "sensor": a["sensor_id"], "building": a["building"], "at": at})
    return {
        "duration": rec.duration,
        "alarm": rec.alarm_s,
        "buildings": rec.occ_buildings,
        "design": [rec.design[b] for b in rec.occ_buildings],
        "anchors": anchors,
        "t0": rec.meta.get("t0_epoch"),
        "occT": rec.occ_t.tolist(),
        "occ": rec.occ_count.tolist(),
        "outT": out_t.tolist(),
        "outN": out_n.tolist(),
        "alarms": alarms,
        "shades": [to_hex(cmap(0.06 + 0.84 * k / 255)) for k in range(256)],
        "debrief": _debrief_payload(rec),
        "map": _map_features(rec, outlines, ll, set(rec.occ_buildings)),
        "speeds": list(SPEEDS),
    }


def _floors(rec: Replay, ll: Callable[[np.ndarray], np.ndarray]) -> dict[str, Any]:
    """Per level: its rooms, corridors and stairs (polygons) and doors (points, exits marked), GeoJSON in degrees."""
    import shapely

    floors: dict[str, Any] = {}
    for lv in rec.levels:
        features = []
        for shape in sorted(rec.floor(lv), key=lambda s: FLOOR_KINDS.index(s.kind)):
            for part in shapely.get_parts(shape.geom):
                if part.geom_type != "Polygon":
                    continue
                ring = ll(np.asarray(part.exterior.coords)[:, :2])[:, ::-1].tolist()
                features.append({"type": "Feature", "geometry": {"type": "Polygon", "coordinates": [ring]},
                                 "properties": {"kind": shape.kind, "id": shape.id, "building": shape.building}})
        doors = np.flatnonzero((rec.node_kind == "door") & (rec.node_level == lv))
        for i, (la, lo) in zip(doors.tolist(), ll(rec.node_xy[doors]).tolist(), strict=True):
            features.append({"type": "Feature", "geometry": {"type": "Point", "coordinates": [lo, la]},
                             "properties": {"kind": "exit" if rec.node_ids[i] in rec.exit_nodes else "door", "id": rec.node_ids[i]}})
        floors[str(lv)] = {"type": "FeatureCollection", "features": features}
    return floors


def _buildings(rec: Replay, outlines: list[dict[str, Any]], ll: Callable[[np.ndarray], np.ndarray]) -> dict[str, Any]:
    """Per building: a point inside it (degrees) for its head-count label, and who is still inside per level over time."""
    centre, _ = building_geometry(outlines)
    names = rec.buildings
    at = [ll(np.array([centre[b]]))[0].tolist() if b in centre else None for b in names]
    times, per = rec.inside_by_level()
    return {"names": names, "centre": at, "insideT": np.round(times, 1).tolist(),
            "inside": {b: {str(lv): c.tolist() for lv, c in levels.items()} for b, levels in per.items()}}


def _debrief_payload(rec: Replay) -> dict[str, Any]:
    """The debrief of an exercise: timeline markers, forecasts (when made, their lines), camera counts per floor."""
    deb = Debrief(rec)
    return {
        "markers": [{"t": m.t, "kind": m.kind, "text": m.text(), "colour": MARKER_CSS[m.kind]} for m in deb.markers],
        "forecasts": [[t, forecast_rows(doc)] for t, doc in deb.forecasts],
        "floors": deb.floor_series(),
        "missing": deb.missing,
    }


def _payload(rec: Replay, outlines: list[dict[str, Any]]) -> dict[str, Any]:
    """Everything the page needs, positions in degrees relative to a reference point."""
    ll = _to_latlon(rec)
    nodes = ll(rec.node_xy)
    ref = nodes.mean(axis=0)
    rel = lambda a: (a - ref).astype(np.float32)  # noqa: E731 - float32 offsets: ~1 mm here

    # walk polylines: points and the share of the length at each point
    poly_ll = ll(rec._poly_xy) if len(rec._poly_xy) else np.empty((0, 2))
    share = np.zeros(len(rec._poly_xy), dtype=np.float32)
    starts = rec._poly_start
    for p in range(len(starts) - 1):
        seg = rec._poly_xy[starts[p]:starts[p + 1]]
        c = np.concatenate([[0.0], np.cumsum(np.hypot(*np.diff(seg, axis=0).T))])
        share[starts[p]:starts[p + 1]] = c / c[-1] if c[-1] > 0 else np.linspace(0, 1, len(c))

    n = rec.n_agents
    safe_xy = np.where(np.isnan(rec._safe_xy), rec.node_xy[rec.agent_start], rec._safe_xy)
    wait_xy = rec.agent_xy + rec._start_off
    counts = {b: int((rec.agent_building == b).sum()) for b in rec.buildings}
    return {
        "ref": ref.tolist(),
        "duration": rec.duration,
        "n": n,
        "nodes": _b64(rel(nodes)),
        "nodeLevel": _b64(np.nan_to_num(rec.node_level, nan=-999).astype(np.int16)),
        "polyPts": _b64(rel(poly_ll)),
        "polyShare": _b64(share),
        "polyStart": _b64(starts.astype(np.int32)),
        "first": _b64(rec._first.astype(np.int32)),
        "last": _b64(rec._last.astype(np.int32)),
        "start": _b64(rec.agent_start.astype(np.int32)),
        "safeAt": _b64(np.nan_to_num(rec.safe_at, nan=np.inf).astype(np.float64)),
        "safePos": _b64(rel(ll(safe_xy))),
        "waitPos": _b64(rel(ll(wait_xy))),
        "t0": _b64(rec.m_t0.astype(np.float32)),
        "t1": _b64(rec.m_t1.astype(np.float32)),
        "u": _b64(rec.m_u.astype(np.int32)),
        "xy0": _b64(rel(ll(rec.m_xy0)) if rec.m_t0.size else np.empty(0, np.float32)),
        "xy1": _b64(rel(ll(rec.m_xy1)) if rec.m_t0.size else np.empty(0, np.float32)),
        "v": _b64(rec.m_v.astype(np.int32)),
        "poly": _b64(rec.m_poly.astype(np.int32)),
        "state": _b64(rec.m_state.astype(np.uint8)),
        "events": [{"t": t, "kind": k, "target": tgt, "node": rec.node(tgt)} for t, k, tgt, _ in rec.events if tgt in rec.node_index],
        "map": _map_features(rec, outlines, ll),
        "buildingCounts": counts,
        "nodeB": _b64(rec._building_codes().astype(np.int16)),
        "floors": _floors(rec, ll),
        "b": _buildings(rec, outlines, ll),
        "placed": rec.placed,
        "badgePx": BADGE_PX,
        "queueLabel": QUEUE_LABEL_MIN,
        "levels": rec.levels,
        "states": list(STATE_NAMES),
        "colours": [STATE_CSS[s] for s in STATE_NAMES],
        "speeds": list(SPEEDS),
    }


_CONTROLS = r"""
  var slider = document.getElementById("ct-time"), label = document.getElementById("ct-clock"), play = document.getElementById("ct-play"),
      speedSel = document.getElementById("ct-speed");
  slider.max = D.duration;
  D.speeds.forEach(function (s) { var o = document.createElement("option"); o.value = s; o.textContent = "×" + s; if (s === clock.speed) o.selected = true; speedSel.appendChild(o); });
  function fmt(t) { var m = Math.floor(t / 60), s = t - 60 * m; return (m < 10 ? "0" : "") + m + ":" + (s < 10 ? "0" : "") + s.toFixed(1); }
  function txt(s) { var e = document.createElement("span"); e.textContent = s; return e; }
  function setPlaying(on) { clock.playing = on; play.textContent = on ? "❚❚ pause" : "▶ play"; }
  var lastWall = null;
  function frame(w) {
    if (clock.playing) {
      if (lastWall !== null) { var t = clock.t + (w - lastWall) / 1000 * clock.speed; if (t >= D.duration) { t = D.duration; setPlaying(false); } show(t); }
      lastWall = w;
    } else { lastWall = null; }
    requestAnimationFrame(frame);
  }
  play.addEventListener("click", function () { if (!clock.playing && clock.t >= D.duration) show(0); setPlaying(!clock.playing); });
  slider.addEventListener("input", function () { show(parseFloat(slider.value)); });
  speedSel.addEventListener("change", function () { clock.speed = parseFloat(speedSel.value); });
  function stepSpeed(d) { var k = D.speeds.indexOf(clock.speed) + d; k = Math.max(0, Math.min(D.speeds.length - 1, k)); clock.speed = D.speeds[k]; speedSel.value = clock.speed; }
  document.addEventListener("keydown", function (e) {
    if (e.target && e.target.tagName === "SELECT") return;
    var used = true;
    if (e.key === " ") { play.click(); }
    else if (e.key === "ArrowLeft") show(clock.t - 10);
    else if (e.key === "ArrowRight") show(clock.t + 10);
    else if (e.key === "ArrowUp") stepSpeed(1);
    else if (e.key === "ArrowDown") stepSpeed(-1);
    else if (e.key === "Home") show(0);
    else if (e.key === "End") show(D.duration);
    else used = false;
    if (used) { e.preventDefault(); e.stopPropagation(); }
  }, true);
"""
"""The player both replay pages share: slider, play/pause, speed, the keys of the pygame viewer, and ``txt`` (a text node for tooltips: campus and event texts are never HTML)."""


_SCRIPT = r"""
(function () {
  var map = {{ this._parent.get_name() }};
  var D = {{ this.data }};
  function dec(s, T) { var b = atob(s), u = new Uint8Array(b.length); for (var i = 0; i < b.length; i++) u[i] = b.charCodeAt(i); return new T(u.buffer); }
  var nodes = dec(D.nodes, Float32Array), polyPts = dec(D.polyPts, Float32Array), polyShare = dec(D.polyShare, Float32Array),
      polyStart = dec(D.polyStart, Int32Array), first = dec(D.first, Int32Array), last = dec(D.last, Int32Array),
      start = dec(D.start, Int32Array), safeAt = dec(D.safeAt, Float64Array), safePos = dec(D.safePos, Float32Array),
      waitPos = dec(D.waitPos, Float32Array), T0 = dec(D.t0, Float32Array), T1 = dec(D.t1, Float32Array),
      U = dec(D.u, Int32Array), V = dec(D.v, Int32Array), XY0 = dec(D.xy0, Float32Array), XY1 = dec(D.xy1, Float32Array), POLY = dec(D.poly, Int32Array), ST = dec(D.state, Uint8Array),
      nodeB = dec(D.nodeB, Int16Array), nodeLevel = dec(D.nodeLevel, Int16Array);
  var N = D.n, ref = D.ref, nNodes = nodes.length / 2, B = D.b.names, nB = B.length, OUT = -999;
  var WAITING = 0, WALKING = 1, QUEUED = 2, SAFE = 3, TRAPPED = 4, INCAPACITATED = 5;
  var EPS = 1e-3;  // s: move times travel as float32 (about 0.5 ms apart at 7,200 s), so a move starting at t starts by t + EPS
  var lat = new Float64Array(N), lon = new Float64Array(N), st = new Uint8Array(N), nd = new Int32Array(N), queues = new Int32Array(nNodes);
  var view = {level: D.level, selected: D.focus}, bLayers = {}, floorLayer = null, badged = new Uint8Array(nB);

  L.geoJSON(D.map, {
    style: function (f) {
      var p = f.properties;
      if (p.kind === "building") return {color: "#4f5b62", weight: 1, fillColor: p.fill, fillOpacity: 0.85};
      if (p.kind === "assembly") return {color: "#2e7d32", weight: 2, dashArray: "6 4", fillColor: "#81c784", fillOpacity: 0.4};
      return {color: p.path === "road" ? "#8a8d90" : p.path === "shared" ? "#ef7d00" : "#9a8a7c", weight: p.path === "road" ? 4 : 2, opacity: 0.9};
    },
    onEachFeature: function (f, layer) {
      var p = f.properties;
      if (p.id) layer.bindTooltip(txt(p.kind + " " + p.id + (D.buildingCounts[p.id] !== undefined ? ": " + D.buildingCounts[p.id] + " people" : "")));
      if (p.kind === "building") { (bLayers[p.id] = bLayers[p.id] || []).push(layer); layer.on("click", function () { select(p.id); }); }
    }
  }).addTo(map);

  // one level's floor plan: rooms, corridors, stairs, doors (exits green)
  var FLOOR = {room: "#fcfbf7", corridor: "#e5e4dc", stair: "#cdb48c"};
  function setLevel(lv) {
    view.level = (lv === null || lv === "" || D.levels.indexOf(+lv) < 0) ? null : +lv;
    if (floorLayer) { map.removeLayer(floorLayer); floorLayer = null; }
    if (view.level !== null && D.floors[view.level]) {
      floorLayer = L.geoJSON(D.floors[view.level], {
        style: function (f) { var k = f.properties.kind; return {color: "#787d82", weight: 1, fillColor: FLOOR[k], fillOpacity: 1, dashArray: k === "stair" ? "2 3" : null}; },
        pointToLayer: function (f, at) { var exit = f.properties.kind === "exit"; return L.circleMarker(at, {radius: 3, weight: 1, color: exit ? "#2e7d32" : "#3c3c3c", fillColor: exit ? "#2e7d32" : "#3c3c3c", fillOpacity: 1}); },
        onEachFeature: function (f, layer) { layer.bindTooltip(txt(f.properties.kind + " " + f.properties.id)); }
      }).addTo(map);
    }
    levelSel.value = view.level === null ? "" : String(view.level);
    draw();
  }
  function stepLevel(d) {
    var opts = [null].concat(D.levels), k = opts.indexOf(view.level) + d;
    setLevel(opts[(k + opts.length) % opts.length]);
  }

  // a clicked building: its people still inside per level over the run
  var chart = document.getElementById("ct-inside"), chartCanvas = document.getElementById("ct-inside-plot");
  var LEVEL_COLOURS = ["#1965c0", "#e67800", "#2e8c3c", "#963caa", "#d50000", "#5a5a5a", "#0096aa", "#aa7828"];
  function select(b) { view.selected = (b && D.b.inside[b]) ? b : null; chart.style.display = view.selected ? "block" : "none"; drawChart(); }
  function drawChart() {
    if (!view.selected) return;
    var per = D.b.inside[view.selected], T = D.b.insideT, ctx = chartCanvas.getContext("2d"), W = chartCanvas.width, H = chartCanvas.height;
    var px = 34, pw = W - 110, ph = H - 30, top = 1, lvls = Object.keys(per).sort(function (a, b) { return a - b; });
    lvls.forEach(function (lv) { per[lv].forEach(function (c) { if (c > top) top = c; }); });
    var k = 0; while (k + 1 < T.length && T[k + 1] <= clock.t) k++;
    ctx.clearRect(0, 0, W, H); ctx.strokeStyle = "#4f5b62"; ctx.lineWidth = 1; ctx.strokeRect(px, 4, pw, ph);
    ctx.fillStyle = "#222"; ctx.font = "11px system-ui, sans-serif"; ctx.fillText(top.toLocaleString("en"), 2, 12); ctx.fillText("0", 22, ph + 4);
    ctx.fillText("0 … " + Math.ceil(D.duration / 60) + " min", px, ph + 18);
    lvls.forEach(function (lv, j) {
      ctx.strokeStyle = ctx.fillStyle = LEVEL_COLOURS[j % LEVEL_COLOURS.length]; ctx.lineWidth = 2; ctx.beginPath();
      per[lv].forEach(function (c, i) { var x = px + pw * T[i] / D.duration, y = 4 + ph - ph * c / top; if (i) ctx.lineTo(x, y); else ctx.moveTo(x, y); });
      ctx.stroke(); ctx.fillText("L" + lv + " " + per[lv][k].toLocaleString("en"), px + pw + 8, 16 + 14 * j);
    });
    var cx = px + pw * Math.min(1, clock.t / D.duration); ctx.strokeStyle = "#222"; ctx.lineWidth = 1; ctx.beginPath(); ctx.moveTo(cx, 4); ctx.lineTo(cx, 4 + ph); ctx.stroke();
    document.getElementById("ct-inside-title").textContent = view.selected + ": still inside per level";
  }

  // positions at time t, as viz.replay.Replay.at
  function compute(t) {
    queues.fill(0);
    for (var a = 0; a < N; a++) {
      var lo = first[a], hi = last[a], node = start[a], s = WAITING, la, lo_;
      if (hi < lo || T0[lo] > t + EPS) { la = waitPos[2 * a]; lo_ = waitPos[2 * a + 1]; }
      else {
        while (lo < hi) { var mid = (lo + hi + 1) >> 1; if (T0[mid] <= t + EPS) lo = mid; else hi = mid - 1; }
        var i = lo, active = t < T1[i] - EPS, f = 1;
        s = ST[i];
        if (s !== TRAPPED && s !== INCAPACITATED && !active) { node = V[i]; s = WALKING; }
        else { node = U[i]; f = Math.min(1, Math.max(0, (t - T0[i]) / Math.max(T1[i] - T0[i], 1e-9))); }
        // straight from the move's first place to its last; an outdoor walk along its path's junctions
        la = XY0[2 * i] + f * (XY1[2 * i] - XY0[2 * i]); lo_ = XY0[2 * i + 1] + f * (XY1[2 * i + 1] - XY0[2 * i + 1]);
        if (s === WALKING && active) {
          if (POLY[i] >= 0) {
            var p = POLY[i], k = polyStart[p], end = polyStart[p + 1] - 2;
            while (k < end && polyShare[k + 1] <= f) k++;
            var span = Math.max(polyShare[k + 1] - polyShare[k], 1e-9), w = Math.min(1, Math.max(0, (f - polyShare[k]) / span));
            la = polyPts[2 * k] + w * (polyPts[2 * k + 2] - polyPts[2 * k]);
            lo_ = polyPts[2 * k + 1] + w * (polyPts[2 * k + 3] - polyPts[2 * k + 1]);
          }
          if (f >= 0.5) node = V[i];
        }
        if (s === WAITING && node === start[a]) { la = waitPos[2 * a]; lo_ = waitPos[2 * a + 1]; }
        if (s === QUEUED) queues[node]++;
      }
      if (t >= safeAt[a]) { s = SAFE; la = safePos[2 * a]; lo_ = safePos[2 * a + 1]; }
      lat[a] = ref[0] + la; lon[a] = ref[1] + lo_; st[a] = s; nd[a] = node;
    }
  }

  // the canvas on top of the map
  var canvas = document.createElement("canvas");
  canvas.id = "ct-dots";
  canvas.style.cssText = "position:absolute;left:0;top:0;pointer-events:none;z-index:450";
  map.getContainer().appendChild(canvas);
  var clock = {t: 0, speed: 8, playing: false};
  function draw() {
    var size = map.getSize(), ctx = canvas.getContext("2d");
    if (canvas.width !== size.x || canvas.height !== size.y) { canvas.width = size.x; canvas.height = size.y; }
    ctx.clearRect(0, 0, size.x, size.y);
    var p0 = map.latLngToContainerPoint([ref[0], ref[1]]), p1 = map.latLngToContainerPoint([ref[0] + 0.01, ref[1] + 0.01]);
    var kx = (p1.x - p0.x) / 0.01, ky = (p1.y - p0.y) / 0.01, r = Math.min(4, Math.max(1.2, 0.25 * Math.abs(ky) / 111320));  // a quarter metre, 1.2 to 4 px
    // at campus zoom a building narrower than badgePx shows its people inside and queued, not their dots
    var inside = new Int32Array(nB), queued = new Int32Array(nB);
    for (var j = 0; j < nB; j++) {
      var ls = bLayers[B[j]]; badged[j] = 0;
      if (ls) { var bb = ls[0].getBounds(), w = map.latLngToContainerPoint(bb.getNorthEast()).x - map.latLngToContainerPoint(bb.getSouthWest()).x; badged[j] = w < D.badgePx ? 1 : 0; }
    }
    for (var a = 0; a < N; a++) { var bj = nodeB[nd[a]]; if (bj >= 0 && st[a] !== SAFE) { inside[bj]++; if (st[a] === QUEUED) queued[bj]++; } }
    var order = [SAFE, WAITING, WALKING, QUEUED, TRAPPED, INCAPACITATED];
    for (var o = 0; o < order.length; o++) {
      var code = order[o];
      ctx.fillStyle = D.colours[code];
      ctx.beginPath();
      for (var a = 0; a < N; a++) {
        if (st[a] !== code) continue;
        var lvA = nodeLevel[nd[a]];
        if (lvA !== OUT && code !== SAFE && (badged[nodeB[nd[a]]] || (view.level !== null && lvA !== view.level))) continue;
        var x = p0.x + (lon[a] - ref[1]) * kx, y = p0.y + (lat[a] - ref[0]) * ky;
        ctx.moveTo(x + r, y); ctx.arc(x, y, r, 0, 6.2832);
      }
      ctx.fill();
    }
    ctx.fillStyle = "#e67800"; ctx.strokeStyle = "#222"; ctx.lineWidth = 0.5; ctx.font = "600 12px system-ui, sans-serif";
    var labels = {};
    for (var q = 0; q < nNodes; q++) {
      if (queues[q] < (D.placed ? D.queueLabel : 1) || (nodeB[q] >= 0 && badged[nodeB[q]])) continue;
      if (view.level !== null && nodeLevel[q] !== OUT && nodeLevel[q] !== view.level) continue;
      var qx = p0.x + nodes[2 * q + 1] * kx, qy = p0.y + nodes[2 * q] * ky;
      if (D.placed) {  // the crowd is drawn; the door says how many wait for it (doors above each other add up)
        var key = Math.round(qx) + "," + Math.round(qy); labels[key] = labels[key] || {x: qx, y: qy, n: 0}; labels[key].n += queues[q]; continue;
      }
      var h = Math.min(80, Math.max(2, queues[q] * 0.5));
      ctx.fillRect(qx + 4, qy - h, 5, h); ctx.strokeRect(qx + 4, qy - h, 5, h);
    }
    var placed = [];  // the longest queues first; a label that would cover one already drawn is left out
    Object.keys(labels).map(function (key) { return labels[key]; }).sort(function (a, b) { return b.n - a.n; }).forEach(function (l) {
      var qt = l.n.toLocaleString("en") + " queued", qw = ctx.measureText(qt).width + 6, x0 = l.x + 6, y0 = l.y - 20;
      if (placed.some(function (r) { return x0 < r[0] + r[2] && r[0] < x0 + qw && y0 < r[1] + 16 && r[1] < y0 + 16; })) return;
      placed.push([x0, y0, qw]);
      ctx.fillStyle = "#fff"; ctx.fillRect(x0, y0, qw, 16); ctx.strokeStyle = "#e67800"; ctx.strokeRect(x0, y0, qw, 16);
      ctx.fillStyle = "#e67800"; ctx.fillText(qt, l.x + 9, l.y - 8);
    });
    ctx.font = "600 12px system-ui, sans-serif";
    for (var j = 0; j < nB; j++) {
      if (!badged[j] || !inside[j] || !D.b.centre[j]) continue;
      var c = map.latLngToContainerPoint(D.b.centre[j]), t1 = B[j] + " " + inside[j].toLocaleString("en"), t2 = queued[j] ? "queued " + queued[j].toLocaleString("en") : "";
      var bw = Math.max(ctx.measureText(t1).width, ctx.measureText(t2).width) + 8, bh = t2 ? 32 : 18;
      ctx.fillStyle = "#fff"; ctx.fillRect(c.x - bw / 2, c.y - bh / 2, bw, bh);
      ctx.strokeStyle = queued[j] ? "#e67800" : "#4f5b62"; ctx.lineWidth = queued[j] ? 2 : 1; ctx.strokeRect(c.x - bw / 2, c.y - bh / 2, bw, bh);
      ctx.fillStyle = "#1e1e1e"; ctx.fillText(t1, c.x - bw / 2 + 4, c.y - bh / 2 + 13);
      if (t2) { ctx.fillStyle = "#e67800"; ctx.fillText(t2, c.x - bw / 2 + 4, c.y - bh / 2 + 27); }
    }
    badges = []; for (var j = 0; j < nB; j++) if (badged[j] && inside[j]) badges.push({building: B[j], inside: inside[j], queued: queued[j]});
    ctx.strokeStyle = "#d50000"; ctx.lineWidth = 2;
    D.events.forEach(function (e) {
      if (e.t > clock.t || (nodeB[e.node] >= 0 && badged[nodeB[e.node]])) return;
      if (view.level !== null && nodeLevel[e.node] !== OUT && nodeLevel[e.node] !== view.level) return;
      var ex = p0.x + nodes[2 * e.node + 1] * kx, ey = p0.y + nodes[2 * e.node] * ky;
      ctx.beginPath(); ctx.arc(ex, ey, 7, 0, 6.2832); ctx.moveTo(ex - 5, ey - 5); ctx.lineTo(ex + 5, ey + 5); ctx.moveTo(ex - 5, ey + 5); ctx.lineTo(ex + 5, ey - 5); ctx.stroke();
    });
  }

/*CONTROLS*/
  function show(t) {
    clock.t = Math.min(D.duration, Math.max(0, t));
    compute(clock.t);
    var c = D.states.map(function () { return 0; });
    for (var a = 0; a < N; a++) c[st[a]]++;
    D.states.forEach(function (name, k) { document.getElementById("ct-n-" + name).textContent = c[k].toLocaleString("en"); });
    slider.value = clock.t;
    label.textContent = fmt(clock.t) + " / " + fmt(D.duration);
    draw();
    drawChart();
  }
  var badges = [], levelSel = document.getElementById("ct-level");
  [null].concat(D.levels).forEach(function (lv) { var o = document.createElement("option"); o.value = lv === null ? "" : lv; o.textContent = lv === null ? "all levels" : "level " + lv; levelSel.appendChild(o); });
  levelSel.addEventListener("change", function () { setLevel(levelSel.value); });
  document.getElementById("ct-inside-close").addEventListener("click", function () { select(null); });
  document.addEventListener("keydown", function (e) {
    if (e.target && e.target.tagName === "SELECT") return;
    var used = true;
    if (e.key === "l" || e.key === "PageUp") stepLevel(1);
    else if (e.key === "PageDown") stepLevel(-1);
    else if (/^[0-9]$/.test(e.key) && D.levels.indexOf(+e.key) >= 0) setLevel(+e.key);
    else used = false;
    if (used) { e.preventDefault(); e.stopPropagation(); }
  }, true);
  map.on("move zoom resize viewreset", draw);
  window.ctReplay = {show: show, clock: clock, setLevel: setLevel, select: select, view: view,
    badges: function () { return badges; },
    drawn: function () { var n = 0; for (var a = 0; a < N; a++) { var lvA = nodeLevel[nd[a]]; if (!(lvA !== OUT && st[a] !== SAFE && (badged[nodeB[nd[a]]] || (view.level !== null && lvA !== view.level)))) n++; } return n; },
    counts: function () { var c = {}; D.states.forEach(function (n) { c[n] = 0; }); for (var a = 0; a < N; a++) c[D.states[st[a]]]++; return c; }};
  setLevel(view.level);
  select(view.selected);
  show(0);
  requestAnimationFrame(frame);
})();
""".replace("/*CONTROLS*/", _CONTROLS)


_EXERCISE_SCRIPT = r"""
(function () {
  var map = {{ this._parent.get_name() }};
  var D = {{ this.data }};
  var layers = {}, labels = {}, marks = [];
  L.geoJSON(D.map, {
    style: function (f) {
      var p = f.properties;
      if (p.kind === "building") return {color: "#4f5b62", weight: 1, fillColor: p.counted ? D.shades[0] : "#d5d8da", fillOpacity: 0.9};
      if (p.kind === "assembly") return {color: "#2e7d32", weight: 2, dashArray: "6 4", fillColor: "#81c784", fillOpacity: 0.4};
      return {color: p.path === "road" ? "#8a8d90" : p.path === "shared" ? "#ef7d00" : "#9a8a7c", weight: p.path === "road" ? 4 : 2, opacity: 0.9};
    },
    onEachFeature: function (f, layer) {
      var p = f.properties;
      if (p.kind === "building" && p.counted) { (layers[p.id] = layers[p.id] || []).push(layer); }
      else if (p.id) layer.bindTooltip(txt(p.kind + " " + p.id + (p.kind === "building" ? ": not counted" : "")));
    }
  }).addTo(map);
  D.buildings.forEach(function (b, j) {
    labels[b] = L.marker(D.anchors[j], {interactive: false, icon: L.divIcon({className: "ct-label", html: "", iconSize: null})}).addTo(map);
  });
  function idx(t) { var lo = 0, hi = D.occT.length - 1; if (hi < 0 || t < D.occT[0]) return 0;
    while (lo < hi) { var mid = (lo + hi + 1) >> 1; if (D.occT[mid] <= t) lo = mid; else hi = mid - 1; } return lo; }
  var clock = {t: 0, speed: 8, playing: false}, now = {};
  function compute(t) {
    var i = idx(t), inside = 0, out = 0, on = [];
    D.buildings.forEach(function (b, j) {
      var n = D.occ.length ? D.occ[i][j] : 0, share = Math.min(1, n / Math.max(1, D.design[j]));
      var fl = floors(b, t), per = Object.keys(fl).sort(function (x, y) { return y - x; }).map(function (lv) { return "L" + lv + " " + fl[lv]; }).join(", ");
      (layers[b] || []).forEach(function (l) { l.setStyle({fillColor: D.shades[Math.round(255 * share)]}); l.bindTooltip(txt("building " + b + ": " + n + " people (design " + D.design[j] + ")" + (per ? "; cameras per level: " + per : ""))); });
      labels[b].getElement().replaceChildren(txt(b + " " + n.toLocaleString("en")));
      inside += n;
    });
    for (var k = 0; k < D.outT.length && D.outT[k] <= t; k++) out += D.outN[k];
    marks.forEach(function (m) { map.removeLayer(m); }); marks = [];
    D.alarms.forEach(function (a) {
      if (a.t0 <= t && (a.t1 === null || t < a.t1)) {
        on.push(a);
        if (a.at) marks.push(L.circleMarker(a.at, {radius: 11, color: "#d50000", weight: 3, fill: true, fillOpacity: 0.15}).bindTooltip(txt(a.kind + " " + (a.sensor || "") + " since " + since(a))).addTo(map));
      }
    });
    now = {in_buildings: inside, out_since_alarm: out, alarms: on.length, list: on};
  }
/*CONTROLS*/
  // the debrief: markers on the strip above the slider, the latest forecast made, the operator log, counts per floor
  var DB = D.debrief, strip = document.getElementById("ct-strip"), logBox = document.getElementById("ct-log"), fcBox = document.getElementById("ct-forecast");
  function wall(t) { return D.t0 === null ? "t = " + fmt(Math.max(0, t)) : new Date((D.t0 + t) * 1000).toISOString().substr(11, 8); }
  DB.markers.forEach(function (m) {
    var b = document.createElement("button"); b.type = "button"; b.className = "ct-marker"; b.dataset.kind = m.kind;
    b.style.left = (100 * Math.min(1, m.t / Math.max(D.duration, 1e-9))) + "%"; b.style.background = m.colour;
    b.title = wall(m.t) + " " + m.text; b.setAttribute("aria-label", b.title);
    b.addEventListener("click", function () { setPlaying(false); show(m.t); }); strip.appendChild(b);
  });
  function jump(d) {
    var ts = DB.markers.map(function (m) { return m.t; }), k;
    if (d > 0) { for (k = 0; k < ts.length && ts[k] <= clock.t + 1e-6; k++); if (k < ts.length) { setPlaying(false); show(ts[k]); } }
    else { for (k = ts.length - 1; k >= 0 && ts[k] >= clock.t - 1e-6; k--); if (k >= 0) { setPlaying(false); show(ts[k]); } }
  }
  document.addEventListener("keydown", function (e) {
    if (e.key === "]") { jump(1); e.preventDefault(); } else if (e.key === "[") { jump(-1); e.preventDefault(); }
  }, true);
  function floors(b, t) {
    // per level: each camera's last count at or before t, summed over the level's cameras
    var out = {}, per = DB.floors[b] || {};
    Object.keys(per).forEach(function (lv) {
      var total = 0, seen = false;
      per[lv].forEach(function (steps) {
        var c = null; for (var k = 0; k < steps.length && steps[k][0] <= t; k++) c = steps[k][1];
        if (c !== null) { total += c; seen = true; }
      });
      if (seen) out[lv] = total;
    });
    return out;
  }
  function debrief(t) {
    var fc = null; DB.forecasts.forEach(function (f) { if (f[0] <= t) fc = f; });
    fcBox.replaceChildren(); fcBox.style.display = fc ? "block" : "none";
    if (fc) { var h = document.createElement("b"); h.textContent = "forecast made " + wall(fc[0]); fcBox.appendChild(h);
      fc[1].forEach(function (r) { var d = document.createElement("div"); d.textContent = r; fcBox.appendChild(d); }); }
    var shown = DB.markers.filter(function (m) { return m.t <= t; }).slice(-7).reverse();
    logBox.replaceChildren.apply(logBox, shown.map(function (m) {
      var li = document.createElement("li"), dot = document.createElement("span");
      dot.className = "ct-dot"; dot.style.background = m.colour; li.appendChild(dot); li.appendChild(txt(wall(m.t) + "  " + m.text)); return li; }));
    if (!shown.length) logBox.replaceChildren(txt("nothing yet"));
  }
  function since(a) { return D.t0 === null ? "t = " + fmt(Math.max(0, a.t0)) : new Date((D.t0 + a.t0) * 1000).toISOString().substr(11, 8) + " UTC"; }
  function show(t) {
    clock.t = Math.min(D.duration, Math.max(0, t));
    compute(clock.t);
    document.getElementById("ct-n-in").textContent = now.in_buildings.toLocaleString("en");
    document.getElementById("ct-n-out").textContent = now.out_since_alarm.toLocaleString("en");
    document.getElementById("ct-n-alarms").textContent = now.alarms;
    var ul = document.getElementById("ct-alarm-list");
    ul.replaceChildren.apply(ul, now.list.slice(0, 6).map(function (a) {
      var li = document.createElement("li");
      li.textContent = a.kind + " " + (a.sensor || "") + (a.building ? " (" + a.building + ")" : "") + " since " + since(a);
      return li; }));
    var corner = map.getContainer().querySelector(".leaflet-bottom.leaflet-left");
    if (corner) corner.style.bottom = (document.getElementById("ct-panel").offsetHeight + 16) + "px";
    slider.value = clock.t;
    label.textContent = fmt(clock.t) + " / " + fmt(D.duration) + (D.alarm === null ? "" : clock.t >= D.alarm ? "  (alarm + " + fmt(clock.t - D.alarm) + ")" : "  (before the alarm)");
    debrief(clock.t);
  }
  if (DB.missing.length) document.getElementById("ct-missing").textContent = "This recording holds no " + DB.missing.join(", no ") + ".";
  window.ctReplay = {show: show, clock: clock, floors: function (b) { return floors(b, clock.t); },
    counts: function () { return {in_buildings: now.in_buildings, out_since_alarm: now.out_since_alarm, alarms: now.alarms}; }};
  show(0);
  requestAnimationFrame(frame);
})();
""".replace("/*CONTROLS*/", _CONTROLS)


class _Replay(MacroElement):
    """The page's script: ``_SCRIPT`` (a simulated run) or ``_EXERCISE_SCRIPT`` (a recorded exercise) with its data."""

    def __init__(self, data: str, script: str = _SCRIPT) -> None:
        super().__init__()
        self._name = "Replay"
        self._template = Template("{% macro script(this, kwargs) %}" + script + "{% endmacro %}")
        self.data = data


_CSS = """
html, body { background: %(bg)s; }
.leaflet-container { background: %(bg)s; }
#ct-panel { position: absolute; z-index: 1000; left: 10px; bottom: 10px; right: 10px; background: rgba(255,255,255,.95);
  border: 1px solid #4f5b62; border-radius: 4px; padding: 6px 10px; font: 13px/1.4 system-ui, sans-serif; display: flex;
  gap: 12px; align-items: center; flex-wrap: wrap; }
#ct-panel h1 { font-size: 14px; margin: 0; }
#ct-time { flex: 1 1 300px; }
#ct-clock { font-variant-numeric: tabular-nums; min-width: 120px; }
.ct-count { white-space: nowrap; font-variant-numeric: tabular-nums; }
.ct-dot { display: inline-block; width: 10px; height: 10px; border-radius: 5px; margin-right: 3px; vertical-align: -1px; }
#ct-keys { color: #555; font-size: 12px; }
.leaflet-bottom.leaflet-left { bottom: 64px; }
.ct-label span { display: inline-block; transform: translate(-50%%, 3px); background: rgba(255,255,255,.9); padding: 0 4px;
  border-radius: 3px; font: 600 12px/1.3 system-ui, sans-serif; white-space: nowrap; }
#ct-inside { display: none; position: absolute; z-index: 1000; top: 10px; right: 10px; background: rgba(255,255,255,.96);
  border: 1px solid #4f5b62; border-radius: 4px; padding: 6px 8px; font: 13px/1.4 system-ui, sans-serif; }
#ct-inside canvas { display: block; margin-top: 4px; } #ct-inside-close { float: right; border: 0; background: none; font-size: 16px; cursor: pointer; }
#ct-timeline { flex: 1 1 300px; display: flex; flex-direction: column; }
#ct-timeline #ct-time { flex: none; width: 100%%; margin: 0; }
#ct-strip { position: relative; height: 14px; margin: 0 8px; }
.ct-marker { position: absolute; top: 1px; width: 8px; height: 12px; margin-left: -4px; padding: 0; border: 1px solid #fff;
  border-radius: 2px; cursor: pointer; }
.ct-marker:hover, .ct-marker:focus { outline: 2px solid #222; z-index: 1; }
#ct-debrief { position: absolute; z-index: 1000; top: 10px; right: 10px; width: 430px; max-width: 45vw; background: rgba(255,255,255,.96);
  border: 1px solid #4f5b62; border-radius: 4px; padding: 6px 10px; font: 13px/1.4 system-ui, sans-serif; }
#ct-forecast { display: none; border: 2px solid #1965c0; border-radius: 4px; padding: 4px 8px; margin-bottom: 6px; }
#ct-log { margin: 2px 0 0; padding-left: 0; list-style: none; } #ct-log li { margin: 1px 0; } #ct-missing { color: #666; font-size: 12px; }
#ct-alarm-list { margin: 0; padding-left: 18px; color: #d50000; font-size: 12px; }
"""


def write_replay_html(rec: Replay, path: str | Path, *, outlines: list[dict[str, Any]] | None = None,
                      title: str | None = None, building: str | None = None, level: int | None = None) -> Path:
    """Write the browser replay of a recording as one offline HTML file.

    Parameters
    ----------
    rec : Replay
    path : str or Path
        File to write; its folder is created if missing.
    outlines : list of dict, optional
        Building and assembly outlines; default the recording's (:attr:`twin.recording.Recording.outlines`).
    title : str, optional
        Heading; by default the scenario's name.
    building, level : optional
        Open zoomed to this building (its still-inside chart shown) and showing this level's floor plan
        (ValueError, from :meth:`viz.replay.Replay.focus`, for ones the recording lacks).

    Returns
    -------
    Path
        The file written.
    """
    exercise = rec.is_exercise
    outlines = rec.outlines if outlines is None else outlines
    focus = rec.focus(building, level)
    data = _exercise_payload(rec, outlines) if exercise else {**_payload(rec, outlines), "level": level, "focus": building}
    named = f"Exercise {rec.meta.get('from')} … {rec.meta.get('to')}" if exercise else (rec.meta.get("scenario") or {}).get("name")
    heading = title or named or rec.path.name
    m = offline_map()
    xy = np.concatenate([rec.node_xy] + [o["xy"][:, :2] for o in outlines])
    (minx, miny), (maxx, maxy) = xy.min(axis=0), xy.max(axis=0)
    if focus is not None:
        minx, miny, maxx, maxy = focus
    to_ll = Transformer.from_crs(rec.meta["crs"], "EPSG:4326", always_xy=True)
    (lon0, lon1), (lat0, lat1) = to_ll.transform([minx, maxx], [miny, maxy])
    m.fit_bounds([[lat0, lon0], [lat1, lon1]], padding=(20, 20))
    m.add_child(_Replay(json.dumps(data, separators=(",", ":")).replace("</", "<\\/"), _EXERCISE_SCRIPT if exercise else _SCRIPT))
    root = m.get_root()
    root.title = html.escape(str(heading))
    root.header.add_child(Element(f"<style>{_CSS % {'bg': BACKGROUND}}</style>"), name="ct_css")
    if exercise:
        counts = ('<span class="ct-count">in buildings <b id="ct-n-in">0</b></span>'
                  '<span class="ct-count">out since the alarm <b id="ct-n-out">0</b></span>'
                  '<span class="ct-count" style="color:#d50000">alarms on <b id="ct-n-alarms">0</b></span>'
                  '<ul id="ct-alarm-list"></ul>')
    else:
        counts = "".join(
            f'<span class="ct-count"><span class="ct-dot" style="background:{STATE_CSS[s]}"></span>{s} <b id="ct-n-{s}">0</b></span>'
            for s in STATE_NAMES
        )
    root.html.add_child(Element(
        f'<div id="ct-panel"><h1>{html.escape(str(heading))}</h1>'
        '<button id="ct-play" type="button">▶ play</button><select id="ct-speed" title="speed"></select>'
        + ('<div id="ct-timeline"><div id="ct-strip" aria-label="markers: alarms, operator actions, forecasts"></div>'
           '<input id="ct-time" type="range" min="0" step="0.1" value="0" aria-label="time"></div>' if exercise else
           '<input id="ct-time" type="range" min="0" step="0.1" value="0" aria-label="time">')
        + f'<span id="ct-clock">00:00.0</span>{counts}'
        + ("" if exercise else '<select id="ct-level" title="level shown (l, PgUp/PgDn, 0–9)" aria-label="level"></select>')
        + '<span id="ct-keys">space play/pause · ←/→ 10 s · ↑/↓ speed · Home/End'
        + (" · [ / ] markers" if exercise else " · l level · click a building") + '</span></div>'
        + ('<div id="ct-debrief"><div id="ct-forecast"></div><b>operator log</b><ol id="ct-log"></ol>'
           '<div id="ct-missing"></div></div>' if exercise else
           '<div id="ct-inside"><button id="ct-inside-close" type="button" aria-label="close">×</button>'
           '<b id="ct-inside-title"></b><canvas id="ct-inside-plot" width="330" height="170"></canvas></div>')
    ), name="ct_panel")
    page = offline_page(m)
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(page, encoding="utf-8")
    return out

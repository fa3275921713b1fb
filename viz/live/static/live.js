/* The operator's live security map (served by `twin serve`; see viz/live_map.py).
 *
 * Reads the layout once (GET /api/layout), then draws every view the server
 * pushes over the WebSocket /ws. Every text that comes from the campus or an
 * event is set with textContent (never innerHTML), so it shows as text.
 */
(function () {
  "use strict";
  var ct = window.ctMap;
  var map = ct.map;
  var csrf = document.querySelector('meta[name="ct-csrf"]').content;
  var layout = null;
  var session = null;
  var last = null;
  var skew = 0;  // server clock minus this browser's clock (s), so ages and the clock tick between views
  var lastPanel = "";
  var drafts = {};
  var selected = null;  // the alarm the keyboard acts on
  var byId = function (id) { return document.getElementById(id); };

  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) { e.className = cls; }
    if (text !== undefined && text !== null) { e.textContent = String(text); }
    return e;
  }
  function clear(node) { while (node.firstChild) { node.removeChild(node.firstChild); } }
  // every time on the page is the campus's local time (layout.time_zone, from the campus file); the clock names the zone
  var fmtTime = null, fmtClock = null;
  function setZone(zone) {
    fmtTime = new Intl.DateTimeFormat("en-GB", {timeZone: zone, hour: "2-digit", minute: "2-digit", second: "2-digit", hourCycle: "h23"});
    fmtClock = new Intl.DateTimeFormat("en-GB", {timeZone: zone, weekday: "short", day: "numeric", month: "short", hour: "2-digit",
      minute: "2-digit", second: "2-digit", hourCycle: "h23", timeZoneName: "short"});
    byId("ct-clock").title = "Campus time: " + zone;
  }
  function hms(ts) { return !ts ? "-" : fmtTime ? fmtTime.format(new Date(ts * 1000)) : new Date(ts * 1000).toISOString().slice(11, 19) + " UTC"; }
  function dur(s) {
    if (s === null || s === undefined) { return "-"; }
    s = Math.max(0, Math.round(s));
    return s < 60 ? s + " s" : Math.floor(s / 60) + " min " + String(s % 60).padStart(2, "0") + " s";
  }
  function serverNow() { return Date.now() / 1000 + skew; }
  function ago(ts) { return last ? dur(serverNow() - ts) + " ago" : ""; }
  function label(text, cls) { return el("span", cls, text); }
  var KIND = {"fire": "FIRE", "pre_alarm": "PRE-ALARM", "panic": "PANIC BUTTON", "intrusion": "INTRUSION",
    "alert:intrusion": "INTRUSION (camera)", "alert:crowding": "CROWDING", "alert:line_crossing": "LINE CROSSING",
    "fault": "DETECTOR FAULT", "disabled": "DETECTOR DISABLED"};
  function kindText(k) { return KIND[k] || k; }
  function sensorName(sid) {
    var s = layout && layout.sensors[sid];
    return s && s.name ? s.name + " (" + sid + ")" : sid;
  }
  function buildingName(b) {
    var x = layout && layout.buildings[b];
    return x && x.name ? x.name : b;
  }

  // -- the base map: keep it plain for a control room ---------------------------------
  Object.keys(ct.overlays).forEach(function (name) {
    if (/^Rooms/.test(name) || name === "Camera coverage" || name === "Detectors") { map.removeLayer(ct.overlays[name]); }
  });
  map.fire("overlayremove");  // the level-bound sensors follow their (now hidden) floors
  ct.control.remove();  // collapsed to its button: the map is the operator's, not the layer list's
  ct.control.options.collapsed = true;
  ct.control.addTo(map);
  var title = byId("ct-title");
  if (title) { title.remove(); }
  var legend = byId("ct-legend");
  if (legend) { legend.remove(); }  // the planning map's legend: the live one (#ct-live-legend) explains this map
  if (window.innerHeight < 860) { byId("ct-live-legend").removeAttribute("open"); }  // laptops: legend closed, map first

  function pane(name, z) { map.createPane(name).style.zIndex = z; }
  pane("live-occupancy", 415);
  pane("live-forecast", 455);
  pane("live-cams", 458);
  pane("live-points", 475);
  pane("live-alarms", 490);
  var layers = {
    occupancy: L.layerGroup().addTo(map), gates: L.layerGroup().addTo(map), offline: L.layerGroup().addTo(map),
    cameras: L.layerGroup().addTo(map), forecast: L.layerGroup().addTo(map), alarms: L.layerGroup().addTo(map)
  };
  ct.control.addOverlay(layers.occupancy, "Live: occupancy");
  ct.control.addOverlay(layers.gates, "Live: gate counts");
  ct.control.addOverlay(layers.offline, "Live: offline sensors");
  ct.control.addOverlay(layers.cameras, "Live: cameras on alarms");
  ct.control.addOverlay(layers.forecast, "Live: evacuation forecast");
  ct.control.addOverlay(layers.alarms, "Live: alarms");
  setTimeout(function () { map.invalidateSize(); }, 0);

  var SHADES = ["#f3f6f8", "#d6e4f0", "#b0cde4", "#7fadd3", "#4f88bd", "#2a64a0", "#0f4478"];
  function shade(count, design) {
    if (!design) { return SHADES[0]; }
    var r = count / design;
    if (r > 1) { return "#5e2b97"; }
    return SHADES[Math.min(SHADES.length - 1, Math.round(r * (SHADES.length - 1)))];
  }

  var buildingLayers = {};
  var buildingLabels = {};
  var buildingTips = {};
  function fitCampus() {  // the whole campus in view, clear of the floor bar and the open legend
    var box = L.latLngBounds([]);
    Object.keys(buildingLayers).forEach(function (b) { box.extend(buildingLayers[b].getBounds()); });
    Object.keys(layout.sensors).forEach(function (s) { if (layout.sensors[s].type === "gate") { box.extend(layout.sensors[s].at); } });
    var legend = byId("ct-live-legend");
    var right = legend.open ? legend.getBoundingClientRect().width + 20 : 20;
    if (box.isValid()) { map.fitBounds(box, {paddingTopLeft: [20, 60], paddingBottomRight: [right, 30], animate: false}); }
  }
  function drawBuildings() {
    Object.keys(layout.buildings).forEach(function (b) {
      var info = layout.buildings[b];
      var g = L.geoJSON(info.geometry, {pane: "live-occupancy", interactive: false,
        style: {color: "#37474f", weight: 1.2, fillColor: SHADES[0], fillOpacity: 0.92}});
      g.addTo(layers.occupancy);
      buildingLayers[b] = g;
      var box = el("div", "ct-blabel");
      buildingLabels[b] = box;
      buildingTips[b] = L.tooltip({permanent: true, direction: "center", className: "ct-btip", pane: "live-points", interactive: false})
        .setLatLng(info.at).setContent(box).addTo(layers.occupancy);
    });
  }

  // -- one view --------------------------------------------------------------------------
  function draw(v) {
    last = v;
    skew = v.now - Date.now() / 1000;
    var alarmBuildings = {};
    v.alarms.forEach(function (a) { if (a.active && a.priority <= 2 && a.building) { alarmBuildings[a.building] = true; } });
    var fc = v.forecast;
    Object.keys(buildingLayers).forEach(function (b) {
      var o = v.occupancy.buildings[b];
      var counted = !!o;
      buildingLayers[b].setStyle({fillColor: counted ? shade(o.count, o.design) : "#eceff1",
        dashArray: counted ? null : "4 3", color: alarmBuildings[b] ? "#d50000" : "#37474f",
        weight: alarmBuildings[b] ? 4 : 1.2});
      var box = buildingLabels[b];
      clear(box);
      box.appendChild(el("b", null, buildingName(b)));
      if (counted) { box.appendChild(el("div", null, o.count.toLocaleString() + " / " + o.design.toLocaleString())); }
      if (fc && fc.by_building && fc.by_building[b] !== undefined) {
        box.appendChild(el("div", "ct-clear", "out in " + dur(fc.by_building[b])));
      }
      if (fc && fc.trapped_by_building && fc.trapped_by_building[b]) {
        box.appendChild(el("div", "ct-err", fc.trapped_by_building[b].toLocaleString() + " cannot get out"));
      }
    });
    drawGates(v);
    drawOffline(v);
    drawForecast(v);
    drawAlarms(v);
    drawPanel(v);
    drawHeader(v);
    drawStrip(v);
    drawAudit(v);
    drawFloor();
    if (window.ctSound) { window.ctSound.update(v.alarms); }
    declutter();
  }

  // -- labels: where two would overlap, the more important one stays -------------------------
  // order: alarm labels (panel order), buildings with an alarm, buildings with people trapped in the forecast,
  // other buildings by people counted, gate counts. The hidden ones are counted in a note on the map.
  function declutter() {
    if (!last) { return; }
    var v = last;
    var alarmB = {}, trapped = (v.forecast && v.forecast.trapped_by_building) || {};
    v.alarms.forEach(function (a) { if (a.active && a.building) { alarmB[a.building] = Math.min(alarmB[a.building] || 9, a.priority); } });
    var items = [];
    layers.alarms.eachLayer(function (m) { var t = m.getTooltip && m.getTooltip(); if (t && t.options.permanent) { items.push([0, m.options.ctOrder, t]); } });
    Object.keys(buildingTips).forEach(function (b) {
      var o = v.occupancy.buildings[b];
      var rank = alarmB[b] ? 1 + alarmB[b] / 10 : trapped[b] ? 2 : 3;
      items.push([rank, -(o ? o.count : 0), buildingTips[b]]);
    });
    layers.gates.eachLayer(function (t) { items.push([4, 0, t]); });
    items.sort(function (x, y) { return x[0] - y[0] || x[1] - y[1]; });
    var kept = [], hidden = 0;
    var area = map.getContainer().getBoundingClientRect();
    items.forEach(function (it) {
      var node = it[2].getElement && it[2].getElement();
      if (!node) { return; }
      node.classList.remove("ct-label-hidden");
      var r = node.getBoundingClientRect();
      if (r.right < area.left || r.left > area.right || r.bottom < area.top || r.top > area.bottom) { return; }  // off screen
      var hit = kept.some(function (k) { return r.left < k.right + 2 && r.right > k.left - 2 && r.top < k.bottom + 2 && r.bottom > k.top - 2; });
      if (hit) { node.classList.add("ct-label-hidden"); hidden += 1; } else { kept.push(r); }
    });
    var note = byId("ct-hidden-labels");
    note.hidden = !hidden;
    note.textContent = hidden ? hidden + " label" + (hidden > 1 ? "s" : "") + " hidden at this zoom (less urgent ones give way): zoom in" : "";
  }
  map.on("zoomend moveend", function () { setTimeout(declutter, 0); });

  function drawGates(v) {
    layers.gates.clearLayers();
    Object.keys(v.occupancy.gates).forEach(function (g) {
      var s = layout.sensors[g];
      if (!s) { return; }
      var c = v.occupancy.gates[g];
      var box = el("div", "ct-gate");
      box.appendChild(el("b", null, sensorName(g)));
      box.appendChild(el("div", null, "in " + c["in"].toLocaleString() + " · out " + c.out.toLocaleString()));
      L.tooltip({permanent: true, direction: "right", offset: [10, 0], className: "ct-gtip", pane: "live-points"})
        .setLatLng(s.at).setContent(box).addTo(layers.gates);
    });
  }

  function drawOffline(v) {
    layers.offline.clearLayers();
    Object.keys(v.problems).forEach(function (sid) {
      var s = layout.sensors[sid];
      if (!s) { return; }
      var p = v.problems[sid];
      var m = L.circleMarker(s.at, {pane: "live-points", radius: 5, color: "#212121", weight: 1.5, dashArray: "2 2",
        fillColor: p.status === "offline" ? "#9e9e9e" : "#ffca28", fillOpacity: 1, className: "ct-offline"});
      var tip = el("div");
      tip.appendChild(el("b", null, sensorName(sid)));
      tip.appendChild(el("div", null, p.type + " " + p.status + (p.last_seen ? ", last heard " + hms(p.last_seen) : "")));
      m.bindTooltip(tip);
      m.addTo(layers.offline);
    });
  }

  function placeOf(id) {
    if (!id) { return null; }
    var key = String(id).split(" ")[0].split("@")[0];
    return layout.places[key] || (layout.sensors[key] && layout.sensors[key].at) || (layout.buildings[key] && layout.buildings[key].at) || null;
  }

  function drawForecast(v) {
    layers.forecast.clearLayers();
    var fc = v.forecast;
    if (!fc) { return; }
    var most = 1;
    Object.keys(fc.routes || {}).forEach(function (b) { fc.routes[b].forEach(function (r) { most = Math.max(most, r.people); }); });
    Object.keys(fc.routes || {}).forEach(function (b) {
      var from = layout.buildings[b] && layout.buildings[b].at;
      fc.routes[b].forEach(function (r) {
        var to = placeOf(r.exit);
        if (!from || !to) { return; }
        L.polyline([from, to], {pane: "live-forecast", color: "#1b5e20", weight: 2 + 7 * r.people / most, opacity: 0.75,
          lineCap: "round", interactive: false}).addTo(layers.forecast);
        L.circleMarker(to, {pane: "live-forecast", radius: 4, color: "#fff", weight: 1, fillColor: "#1b5e20", fillOpacity: 1})
          .bindTooltip(el("span", null, r.exit + ": " + r.people.toLocaleString() + " people")).addTo(layers.forecast);
      });
    });
    (fc.bottlenecks || []).slice(0, 5).forEach(function (bn, i) {
      var at = placeOf(bn.id);
      if (!at) { return; }
      var badge = el("div", "ct-bn-badge", String(i + 1));  // numbered as in the forecast box
      var m = L.marker(at, {pane: "live-points", icon: L.divIcon({className: "ct-bottleneck", html: badge, iconSize: [20, 20]})});
      m.bindTooltip(el("span", null, "bottleneck " + bn.id + ": queue " + Math.round(bn.max_queue) + ", wait " + dur(bn.max_wait_s)));
      m.addTo(layers.forecast);
    });
    (v.blocked || []).forEach(function (node) {
      var at = placeOf(node);
      if (at) {
        L.circleMarker(at, {pane: "live-forecast", radius: 6, color: "#b71c1c", weight: 2, fillColor: "#ffcdd2", fillOpacity: 1,
          className: "ct-blocked"}).bindTooltip(el("span", null, "blocked by fire: " + node)).addTo(layers.forecast);
      }
    });
  }

  function drawAlarms(v) {
    layers.alarms.clearLayers();
    layers.cameras.clearLayers();
    var cams = {}, labelled = {}, more = {};
    // one permanent label per building floor (the first alarm there: panel order), the others counted on it
    v.alarms.forEach(function (a) {
      var k = a.building ? a.building + "/" + a.level : a.sensor_id;
      if (a.priority <= 2 && layout.sensors[a.sensor_id]) { more[k] = (more[k] || 0) + 1; }
    });
    v.alarms.forEach(function (a) {
      var s = layout.sensors[a.sensor_id];
      if (!s) { return; }
      var k = a.building ? a.building + "/" + a.level : a.sensor_id;
      var first = a.priority <= 2 && !labelled[k];
      if (first) { labelled[k] = true; }
      var cls = "ct-alarm-marker ct-p" + a.priority + (a.active && !a.ack ? " ct-flash" : "") + (a.active ? "" : " ct-restored");
      var m = L.circleMarker(s.at, {pane: "live-alarms", radius: a.priority <= 1 ? 13 : 10, weight: 3, color: "#fff", ctOrder: v.alarms.indexOf(a),
        fillColor: a.priority <= 1 ? "#d50000" : a.priority === 2 ? "#ff6d00" : "#fbc02d", fillOpacity: a.active ? 1 : 0.25,
        className: cls});
      var tip = el("div");
      tip.appendChild(el("b", null, kindText(a.kind)));
      tip.appendChild(el("div", null, sensorName(a.sensor_id)));
      if (first && more[k] > 1) { tip.appendChild(el("div", null, "+ " + (more[k] - 1) + " more alarm" + (more[k] > 2 ? "s" : "") + " on this floor")); }
      m.bindTooltip(tip, {permanent: first, direction: "top", offset: [0, -12], className: "ct-alarm-label"});
      m.on("click", function () { select(a.id, false); });
      m.addTo(layers.alarms);
      if (a.active) { (a.covering || []).forEach(function (c) { cams[c] = true; }); }
    });
    Object.keys(cams).forEach(function (c) {
      var g = layout.viewsheds[c];
      if (g) {
        L.geoJSON(g, {pane: "live-cams", interactive: false,
          style: {color: "#f57f17", weight: 2, fillColor: "#ffd54f", fillOpacity: 0.45}}).addTo(layers.cameras);
      }
      var s = layout.sensors[c];
      if (s) {
        var cm = L.circleMarker(s.at, {pane: "live-points", radius: 7, color: "#f57f17", weight: 3, fillColor: "#7b1fa2", fillOpacity: 1,
          className: "ct-cam-on"}).bindTooltip(el("span", null, "camera " + sensorName(c) + " covers the alarm")).addTo(layers.cameras);
        if ((layout.cameras || {})[c]) {  // its popup: the snapshot now (fetched when it opens) and the stream link
          cm.bindPopup(function () { return cameraBox(c); }, {minWidth: 260, className: "ct-cam-popup"});
        }
      }
    });
  }

  // -- camera snapshots (through this server: GET /api/cameras/ID/snapshot, never cached) and stream links ----------
  var SNAPSHOT_EVERY_S = 10;
  function snapshotSrc(c) { return layout.cameras[c].snapshot + "?t=" + Date.now(); }
  function cameraBox(c) {
    var links = layout.cameras[c], box = el("figure", "ct-camera");
    box.dataset.camera = c;
    if (links.snapshot) {
      var img = el("img", "ct-snap");
      img.alt = "snapshot of camera " + sensorName(c);
      img.addEventListener("error", function () { box.classList.add("ct-snap-failed"); });
      img.addEventListener("load", function () { box.classList.remove("ct-snap-failed"); });
      img.src = snapshotSrc(c);
      box.appendChild(img);
      box.appendChild(el("div", "ct-snap-missing", "snapshot unavailable (camera not answering)"));
    }
    var cap = el("figcaption", null, "Camera " + sensorName(c) + (links.snapshot ? " · snapshot every " + SNAPSHOT_EVERY_S + " s" : ""));
    if (links.stream) {
      var a = el("a", "ct-stream", "Open live stream");
      a.href = links.stream;
      a.target = "_blank";
      a.rel = "noopener noreferrer";
      cap.appendChild(document.createTextNode(" · "));
      cap.appendChild(a);
    }
    box.appendChild(cap);
    return box;
  }
  setInterval(function () {
    document.querySelectorAll("figure.ct-camera img.ct-snap").forEach(function (img) {
      img.src = snapshotSrc(img.parentNode.dataset.camera);
    });
  }, SNAPSHOT_EVERY_S * 1000);

  function card(id) { return document.querySelector('#ct-alarm-list li[data-key="' + CSS.escape(id) + '"]'); }
  function select(id, fly) {
    selected = id;
    document.querySelectorAll("#ct-alarm-list li.ct-selected").forEach(function (e) { e.classList.remove("ct-selected"); });
    var li = card(id);
    if (li) { li.classList.add("ct-selected"); li.scrollIntoView({block: "nearest"}); }
    var a = last && last.alarms.filter(function (x) { return x.id === id; })[0];
    var s = a && layout.sensors[a.sensor_id];
    if (fly && s) { map.flyTo(s.at, Math.max(map.getZoom(), 18), {duration: 0.5}); }
  }

  // -- the alarm panel ---------------------------------------------------------------------
  function act(a, action, note) {
    var body = {since: a.since};
    if (action === "note") { body.text = note; } else if (note) { body.note = note; }
    var msg = byId("ct-action-msg");
    return fetch("/api/alarms/" + encodeURIComponent(a.id) + "/" + action, {
      method: "POST", credentials: "same-origin",
      headers: {"Content-Type": "application/json", "X-CSRF-Token": csrf}, body: JSON.stringify(body)
    }).then(function (r) {
      return r.json().then(function (doc) {
        msg.textContent = r.ok ? "" : (doc.error || doc.detail || ("refused (" + r.status + ")"));
        msg.className = r.ok ? "" : "ct-err";
        if (r.ok && note) {  // the note went with this action: the box empties
          delete drafts[a.id];
          var box = document.querySelector('input[data-note="' + CSS.escape(a.id) + '"]');
          if (box) { box.value = ""; }
        }
      });
    }).catch(function () { msg.textContent = "not sent: the server cannot be reached"; msg.className = "ct-err"; });
  }

  function drawPanel(v) {
    var key = JSON.stringify(v.alarms) + (session ? session.role : "");
    if (key === lastPanel) { updateAges(); return; }
    lastPanel = key;
    var list = byId("ct-alarm-list");
    var focused = document.activeElement && document.activeElement.dataset ? document.activeElement.dataset.note : null;
    clear(list);
    var active = v.alarms.filter(function (a) { return a.active; }).length;
    byId("ct-alarm-count").textContent = v.alarms.length ? "(" + active + " active, " + (v.alarms.length - active) + " restored)" : "(none)";
    var canAct = session && (session.role === "operator" || session.role === "admin");
    v.alarms.forEach(function (a) {
      var li = el("li", "ct-alarm ct-p" + a.priority + (a.active ? " ct-active" : " ct-restored") + (a.ack ? " ct-acked" : " ct-unacked"));
      li.dataset.key = a.id;
      var row = el("div", "ct-row");
      row.appendChild(el("span", "ct-badge", "P" + a.priority));
      row.appendChild(el("span", "ct-kind", kindText(a.kind)));
      row.appendChild(el("span", "ct-state", a.active ? (a.ack ? "ACTIVE" : "ACTIVE · NEW") : "RESTORED " + hms(a.restored)));
      li.appendChild(row);
      li.appendChild(el("div", "ct-where", sensorName(a.sensor_id) + (a.building ? " — " + buildingName(a.building) : "")
        + (a.level !== null && a.level !== undefined ? ", level " + a.level : "")));
      var when = el("div", "ct-when", "since " + hms(a.since) + " · ");
      var age = el("span", "ct-age", ago(a.since));
      age.dataset.ts = a.since;
      when.appendChild(age);
      li.appendChild(when);
      li.appendChild(el("div", "ct-ack", a.ack ? "Acknowledged by " + a.ack.user + " at " + hms(a.ack.ts) : "Not acknowledged"));
      if (a.covering && a.covering.length) {
        li.appendChild(el("div", "ct-cams", "Cameras: " + a.covering.map(sensorName).join(", ")));
        var shot = a.covering.filter(function (c) { return (layout.cameras || {})[c]; })[0];  // the first camera with links
        if (shot) { li.appendChild(cameraBox(shot)); }
      }
      (a.procedure || []).forEach(function (p, i) {
        var box = el("details", "ct-procedure");
        if (i === 0 && a.active) { box.open = true; }
        box.appendChild(el("summary", null, "Procedure — " + p.scope));
        box.appendChild(el("div", "ct-procedure-text", p.text));
        li.appendChild(box);
      });
      if (a.notes.length) {
        var ul = el("ul", "ct-notes");
        a.notes.forEach(function (n) { ul.appendChild(el("li", null, hms(n.ts) + " " + n.user + ": " + n.text)); });
        li.appendChild(ul);
      }
      if (canAct) {
        var bar = el("div", "ct-actions");
        var ack = el("button", "ct-ack-btn", "Acknowledge");
        ack.type = "button";
        ack.disabled = !!a.ack;
        ack.addEventListener("click", function () { act(a, "ack", (drafts[a.id] || "").trim()); });
        var clr = el("button", "ct-clear-btn", "Clear");
        clr.type = "button";
        clr.disabled = a.active;
        clr.title = a.active ? "Its source is still active: it can be cleared once its sensor restores" : "Remove from the panel (kept in the history)";
        clr.addEventListener("click", function () { act(a, "clear", (drafts[a.id] || "").trim()); });
        var input = el("input", "ct-note-input");
        input.placeholder = "note (goes with the button you press)…";
        input.maxLength = 1000;
        input.dataset.note = a.id;
        input.value = drafts[a.id] || "";
        input.addEventListener("input", function () { drafts[a.id] = input.value; });
        var add = el("button", "ct-note-btn", "Add note");
        add.type = "button";
        add.addEventListener("click", function () { if (input.value.trim()) { act(a, "note", input.value.trim()); } });
        input.addEventListener("keydown", function (e) { if (e.key === "Enter") { add.click(); } });
        bar.appendChild(ack);
        bar.appendChild(clr);
        bar.appendChild(input);
        bar.appendChild(add);
        li.appendChild(bar);
        if (focused === a.id) { setTimeout(function () { input.focus(); }, 0); }
      }
      if (a.id === selected) { li.classList.add("ct-selected"); }
      li.addEventListener("click", function (e) {
        if (/^(BUTTON|INPUT|SUMMARY)$/.test(e.target.tagName)) { return; }
        select(a.id, true);
      });
      list.appendChild(li);
    });
  }

  function updateAges() {
    document.querySelectorAll("#ct-alarm-list .ct-age").forEach(function (e) { e.textContent = ago(Number(e.dataset.ts)); });
  }

  function drawHeader(v) {
    tick();
    var h = v.health;
    var sum = byId("ct-summary");
    clear(sum);
    var act = v.alarms.filter(function (a) { return a.active; });
    var fresh = act.filter(function (a) { return !a.ack; }).length;
    sum.appendChild(label(act.length ? act.length + " ACTIVE ALARM" + (act.length > 1 ? "S" : "") + (fresh ? " · " + fresh + " NEW" : "")
      : "no active alarm", act.length ? "ct-pill ct-alarm-pill" + (fresh ? " ct-flash-pill" : "") : "ct-pill"));
    sum.appendChild(label("on site " + v.occupancy.on_site.toLocaleString(), "ct-pill"));
    sum.appendChild(label("in buildings " + v.occupancy.in_buildings.toLocaleString(), "ct-pill"));
    sum.appendChild(label("sensors " + h.ok + " ok", "ct-pill"));
    if (h.offline) { sum.appendChild(label(h.offline + " offline", "ct-pill ct-warn")); }
    if (h.fault) { sum.appendChild(label(h.fault + " fault", "ct-pill ct-warn")); }
    // the header never wraps: the least important pills give way (sensors ok, then people in buildings, ...)
    var pills = Array.prototype.slice.call(sum.children);
    var order = [3, 2, 1, 5, 4].map(function (i) { return pills[i]; }).filter(Boolean);  // never the alarm pill (0)
    var gone = [];
    order.forEach(function (p) {
      if (sum.scrollWidth > sum.clientWidth + 1) { p.classList.add("ct-pill-hidden"); gone.unshift(p.textContent); }
    });
    sum.title = gone.length ? "Not shown at this width: " + gone.join(", ") : "";
    var fc = v.forecast;
    var box = byId("ct-forecast-body");
    clear(box);
    if (v.forecast_updating) { box.appendChild(el("div", "ct-fc-updating", "Forecast updating… (a newer fire alarm)")); }
    if (!fc) { if (!v.forecast_updating) { box.textContent = "none yet (a fire alarm starts one)"; } return; }
    box.classList.toggle("ct-fc-stale", !!v.forecast_updating);
    var bnList = function (items, from) {
      var ol = el("ol", "ct-bn");
      ol.start = from + 1;
      items.forEach(function (b) { ol.appendChild(el("li", null, b.id + ": queue " + Math.round(b.max_queue) + ", wait " + dur(b.max_wait_s))); });
      return ol;
    };
    var shown = (fc.bottlenecks || []).slice(0, 5);  // numbered on the map in this order
    var own = shown.filter(function (b) { return fc.building && b.building === fc.building; });
    var rest = shown.slice(own.length);
    if (fc.building) {  // the building on fire first
      box.appendChild(el("div", "ct-fc-main", buildingName(fc.building) + " (fire): out in " + dur(fc.building_clearance_s)));
      if (fc.trapped_by_building && fc.trapped_by_building[fc.building]) {
        box.appendChild(el("div", "ct-err", fc.trapped_by_building[fc.building].toLocaleString() + " people cannot reach an exit"));
      }
      if (own.length) { box.appendChild(el("div", null, "Its bottlenecks (numbered on the map):")); box.appendChild(bnList(own, 0)); }
    }
    box.appendChild(el("div", fc.building ? null : "ct-fc-main", (fc.scope === "campus" ? "Whole campus" : "This building")
      + ": everyone out in " + dur(fc.evacuation_time_s) + ", " + fc.occupants.toLocaleString() + " people"));
    if (fc.counted !== undefined) {
      var who = el("div", "ct-fc-who");
      who.appendChild(el("span", "ct-fc-counted", fc.counted.toLocaleString() + " counted"));
      who.appendChild(document.createTextNode(" + "));
      who.appendChild(el("span", "ct-fc-assumed", fc.assumed.toLocaleString() + " assumed"));
      var names = Object.keys(fc.assumed_by_building || {});
      if (names.length) {
        who.appendChild(document.createTextNode(" — not counted, taken as full: " + names.slice(0, 4).map(function (b) {
          return buildingName(b) + " " + fc.assumed_by_building[b].toLocaleString();
        }).join(", ") + (names.length > 4 ? " and " + (names.length - 4) + " more" : "")));
      }
      box.appendChild(who);
    }
    if (fc.trapped && !(fc.building && fc.trapped_by_building && fc.trapped_by_building[fc.building] === fc.trapped)) {
      box.appendChild(el("div", "ct-err", fc.trapped + " people in all cannot reach an exit"));
    }
    if (rest.length) { box.appendChild(el("div", null, "Other bottlenecks:")); box.appendChild(bnList(rest, own.length)); }
    box.appendChild(el("div", "ct-muted", "Fire at " + sensorName(fc.fire_origin) + "; computed for " + hms(fc.trigger.ts)));
  }

  var ACTION = {ack: "acknowledged", note: "noted on", clear: "cleared"};
  function drawAudit(v) {
    var list = byId("ct-audit-list");
    clear(list);
    v.audit.slice().reverse().forEach(function (r) {
      var li = el("li", "ct-audit-" + r.action);
      li.appendChild(el("span", "ct-audit-when", hms(r.ts)));
      li.appendChild(el("span", "ct-audit-who", r.user + " (" + r.role + ")"));
      li.appendChild(el("span", "ct-audit-what", ACTION[r.action] + " " + kindText(r.alarm_doc.kind) + " " + r.alarm_doc.sensor_id
        + (r.note ? ": " + r.note : "")));
      list.appendChild(li);
    });
    if (!v.audit.length) { list.appendChild(el("li", "ct-muted", "no operator actions yet")); }
  }

  var SVGNS = "http://www.w3.org/2000/svg";
  function svg(tag, attrs) {
    var e = document.createElementNS(SVGNS, tag);
    Object.keys(attrs).forEach(function (k) { e.setAttribute(k, attrs[k]); });
    return e;
  }
  function drawStrip(v) {
    var root = byId("ct-strip-svg");
    var w = root.clientWidth || 800;
    var h = root.clientHeight || 60;
    root.setAttribute("viewBox", "0 0 " + w + " " + h);
    clear(root);
    var win = v.strip.window_s;
    var t0 = v.now - win;
    var x = function (t) { return Math.max(0, Math.min(w, (t - t0) / win * w)); };
    var most = 1;
    v.strip.minutes.forEach(function (m) { most = Math.max(most, m[1]); });
    var bw = Math.max(1, w / (win / 60) - 1);
    v.strip.minutes.forEach(function (m) {
      if (m[0] + 60 < t0) { return; }
      var bh = (h - 14) * m[1] / most;
      root.appendChild(svg("rect", {x: x(m[0]), y: h - 12 - bh, width: bw, height: bh, "class": "ct-bar"}));
      if (m[2]) {
        var ah = Math.max(3, (h - 14) * m[2] / most);
        root.appendChild(svg("rect", {x: x(m[0]), y: h - 12 - ah, width: bw, height: ah, "class": "ct-bar-alarm"}));
      }
    });
    v.strip.marks.forEach(function (mk) {
      if (mk[0] < t0) { return; }
      var line = svg("line", {x1: x(mk[0]), x2: x(mk[0]), y1: 0, y2: h - 12, "class": "ct-mark ct-mark-" + mk[4] + " ct-p" + mk[3]});
      var t = svg("title", {});
      t.textContent = hms(mk[0]) + " " + kindText(mk[2]) + " " + (mk[4] === "start" ? "raised" : "restored") + ": " + mk[1];
      line.appendChild(t);
      root.appendChild(line);
    });
    [[0, "-60 min"], [0.5, "-30 min"], [1, "now"]].forEach(function (p) {
      var tx = svg("text", {x: p[0] * w, y: h - 1, "class": "ct-axis", "text-anchor": p[0] === 0 ? "start" : p[0] === 1 ? "end" : "middle"});
      tx.textContent = p[1];
      root.appendChild(tx);
    });
  }

  // -- connection -------------------------------------------------------------------------
  var backoff = 500;
  function setConn(ok, text) {
    var c = byId("ct-conn");
    c.textContent = text;
    c.className = ok ? "ct-good" : "ct-bad";
    document.body.classList.toggle("ct-stale", !ok);
  }
  function connect() {
    var ws = new WebSocket((location.protocol === "https:" ? "wss://" : "ws://") + location.host + "/ws");
    ws.onopen = function () { backoff = 500; setConn(true, "LIVE"); };
    ws.onmessage = function (e) {
      var v = JSON.parse(e.data);
      if (v.type === "view") { draw(v); }
    };
    ws.onclose = function (e) {
      setConn(false, "CONNECTION LOST — retrying");
      fetch("/api/session", {credentials: "same-origin"}).then(function (r) {
        if (r.status === 401) { location.href = "/login"; return; }
        setTimeout(connect, backoff);
        backoff = Math.min(backoff * 2, 10000);
      }).catch(function () { setTimeout(connect, backoff); backoff = Math.min(backoff * 2, 10000); });
    };
  }
  byId("ct-logout").addEventListener("click", function () {
    fetch("/logout", {method: "POST", credentials: "same-origin", headers: {"X-CSRF-Token": csrf}})
      .then(function () { location.href = "/login"; });
  });
  function tick() {
    if (last) {  // while the connection is lost the clock stops at the last view, so a stale map never looks current
      var t = document.body.classList.contains("ct-stale") ? last.now : serverNow();
      byId("ct-clock").textContent = fmtClock.format(new Date(t * 1000)).replace(",", "");
    }
    updateAges();
  }
  setInterval(tick, 1000);

  // -- floors: one building level at a time, rooms with their live state -------------------
  var floor = null;  // {building, level}
  var floorLayer = L.layerGroup().addTo(map);
  pane("live-floor", 470);
  function showFloor(b, level) {
    floor = b === null || b === undefined ? null : {building: b, level: Number(level)};
    drawFloorBar();
    drawFloor();
    if (floor) {
      var g = buildingLayers[b];
      if (g) { map.flyToBounds(g.getBounds(), {maxZoom: 19, duration: 0.5, paddingTopLeft: [20, 20], paddingBottomRight: [20, 20]}); }
    }
  }
  function drawFloorBar() {
    var bar = byId("ct-floors");
    clear(bar);
    var pick = el("select", "ct-floor-building");
    pick.setAttribute("aria-label", "Building to show a floor of");
    var none = el("option", null, "Floors…");
    none.value = "";
    pick.appendChild(none);
    Object.keys(layout.buildings).sort(function (x, y) { return buildingName(x).localeCompare(buildingName(y)); }).forEach(function (b) {
      var o = el("option", null, buildingName(b));
      o.value = b;
      if (floor && floor.building === b) { o.selected = true; }
      pick.appendChild(o);
    });
    pick.addEventListener("change", function () {
      if (!pick.value) { showFloor(null); return; }
      var lv = layout.buildings[pick.value].levels;
      showFloor(pick.value, floor && floor.building === pick.value ? floor.level : lv[0]);
    });
    bar.appendChild(pick);
    if (!floor) { return; }
    var alarmLv = {};
    if (last) { last.alarms.forEach(function (a) { if (a.active && a.building === floor.building) { alarmLv[a.level] = true; } }); }
    layout.buildings[floor.building].levels.slice().reverse().forEach(function (lv) {
      var btn = el("button", "ct-level" + (lv === floor.level ? " ct-level-on" : "") + (alarmLv[lv] ? " ct-level-alarm" : ""), "L" + lv);
      btn.type = "button";
      btn.title = "Level " + lv + (alarmLv[lv] ? ": an active alarm" : "");
      btn.addEventListener("click", function () { showFloor(floor.building, lv); });
      bar.appendChild(btn);
    });
    var close = el("button", "ct-level-close", "×");
    close.type = "button";
    close.title = "Back to the campus (Esc)";
    close.addEventListener("click", function () { showFloor(null); });
    bar.appendChild(close);
    bar.appendChild(el("div", null)).id = "ct-floor-info";
  }
  function drawFloor() {
    floorLayer.clearLayers();
    byId("ct-floor-legend").hidden = !floor;
    document.body.classList.toggle("ct-floor-view", !!floor);
    if (!floor || !last) { return; }
    var v = last;
    var fireRooms = {}, alarmRooms = {}, blocked = {};
    (v.blocked || []).forEach(function (n) { blocked[n] = true; });
    v.alarms.forEach(function (a) {
      var s = layout.sensors[a.sensor_id];
      if (a.active && s && s.node) { (a.kind === "fire" ? fireRooms : alarmRooms)[s.node] = true; }
    });
    var o = v.occupancy.buildings[floor.building];
    var counted = o && o.levels ? o.levels[String(floor.level)] : undefined;
    var info = byId("ct-floor-info");
    clear(info);
    info.appendChild(el("b", null, buildingName(floor.building) + ", level " + floor.level + ": "));
    info.appendChild(el("span", null, counted !== undefined ? counted.toLocaleString() + " people counted on this level (cameras)"
      : o ? "no count per level (building: " + o.count.toLocaleString() + " by " + o.source + ")" : "not counted"));
    var rooms = 0;
    Object.keys(layout.rooms).forEach(function (r) {
      var x = layout.rooms[r];
      if (x.building !== floor.building || x.level !== floor.level) { return; }
      rooms += 1;
      var fill = fireRooms[r] ? "#ffcdd2" : blocked[r] ? "#f8bbd0" : alarmRooms[r] ? "#ffe0b2" : x.kind === "corridor" ? "#eceff1" : "#fff3e0";
      var g = L.geoJSON(x.geometry, {pane: "live-floor", style: {color: fireRooms[r] || blocked[r] ? "#b71c1c" : "#e65100",
        weight: fireRooms[r] ? 2.5 : 1, fillColor: fill, fillOpacity: 0.95, className: "ct-floor-room" + (fireRooms[r] ? " ct-room-fire" : "")}});
      var tip = el("div");
      tip.appendChild(el("b", null, (x.name ? x.name + " (" + r + ")" : r)));
      tip.appendChild(el("div", null, (x.kind === "corridor" ? "corridor" : "design " + x.design + " people")
        + (fireRooms[r] ? " · FIRE" : blocked[r] ? " · blocked by fire" : alarmRooms[r] ? " · alarm" : "")));
      g.bindTooltip(tip);
      g.addTo(floorLayer);
    });
    Object.keys(layout.sensors).forEach(function (sid) {
      var s = layout.sensors[sid];
      if (s.building !== floor.building || s.level !== floor.level) { return; }
      var p = v.problems[sid];
      var alarm = v.alarms.filter(function (a) { return a.sensor_id === sid && a.active; })[0];
      var colour = alarm ? (alarm.priority <= 1 ? "#d50000" : "#ff6d00") : p ? (p.status === "offline" ? "#9e9e9e" : "#ffca28") : "#43a047";
      var m = L.circleMarker(s.at, {pane: "live-floor", radius: s.type === "camera" ? 5 : 4, color: "#fff", weight: 1.5,
        fillColor: s.type === "camera" ? "#7b1fa2" : colour, fillOpacity: 1, className: "ct-floor-sensor"});
      m.bindTooltip(el("span", null, sensorName(sid) + ": " + (alarm ? kindText(alarm.kind) : p ? p.status : "normal")));
      m.addTo(floorLayer);
    });
    if (!rooms) { info.appendChild(el("span", "ct-muted", " · rooms not drawn (generated interior)")); }
  }

  // -- search: buildings, rooms, sensors, cameras by name or id ---------------------------
  var index = [];
  function buildIndex() {
    Object.keys(layout.buildings).forEach(function (b) {
      index.push({id: b, name: layout.buildings[b].name, what: "building", at: layout.buildings[b].at});
    });
    Object.keys(layout.rooms).forEach(function (r) {
      var x = layout.rooms[r];
      index.push({id: r, name: x.name, what: x.kind + ", " + buildingName(x.building) + " level " + x.level, at: x.at,
        building: x.building, level: x.level});
    });
    Object.keys(layout.sensors).forEach(function (sid) {
      var s = layout.sensors[sid];
      index.push({id: sid, name: s.name, what: s.type + (s.building ? ", " + buildingName(s.building) + " level " + s.level : ""),
        at: s.at, building: s.building, level: s.level});
    });
    index.forEach(function (x) { x.key = (x.id + " " + (x.name || "")).toLowerCase(); });
  }
  function find(q) {
    q = q.trim().toLowerCase();
    if (!q) { return []; }
    var hits = index.filter(function (x) { return x.key.indexOf(q) >= 0; });
    var rank = function (x) { return x.id.toLowerCase() === q ? 0 : x.key.indexOf(q) === 0 || (x.name || "").toLowerCase().indexOf(q) === 0 ? 1 : 2; };
    hits.sort(function (x, y) { return rank(x) - rank(y) || x.id.localeCompare(y.id); });
    return hits.slice(0, 8);
  }
  var search = byId("ct-search");
  var hitList = byId("ct-search-hits");
  var hits = [], hitAt = 0;
  var found = L.layerGroup().addTo(map);
  function showHits() {
    clear(hitList);
    hits.forEach(function (x, i) {
      var li = el("li", i === hitAt ? "ct-hit-on" : null);
      li.appendChild(el("b", null, x.name ? x.name + " (" + x.id + ")" : x.id));
      li.appendChild(el("span", "ct-muted", " " + x.what));
      li.addEventListener("mousedown", function (e) { e.preventDefault(); go(x); });
      hitList.appendChild(li);
    });
    if (search.value.trim() && !hits.length) { hitList.appendChild(el("li", "ct-muted", "nothing called that")); }
    hitList.hidden = !search.value.trim();
  }
  function go(x) {
    found.clearLayers();
    if (x.building && x.level !== null && x.level !== undefined) { showFloor(x.building, x.level); }
    map.flyTo(x.at, Math.max(map.getZoom(), x.what === "building" ? 18 : 19), {duration: 0.5});
    L.circleMarker(x.at, {pane: "live-alarms", radius: 16, color: "#1565c0", weight: 4, fill: false, className: "ct-found"})
      .bindTooltip(el("span", null, x.name || x.id), {permanent: true, direction: "bottom", offset: [0, 14]}).addTo(found);
    setTimeout(function () { found.clearLayers(); }, 6000);
    search.value = "";
    hits = [];
    showHits();
    search.blur();
  }
  search.addEventListener("input", function () { hits = find(search.value); hitAt = 0; showHits(); });
  search.addEventListener("keydown", function (e) {
    if (e.key === "ArrowDown" || e.key === "ArrowUp") {
      hitAt = Math.max(0, Math.min(hits.length - 1, hitAt + (e.key === "ArrowDown" ? 1 : -1)));
      showHits();
      e.preventDefault();
    } else if (e.key === "Enter" && hits[hitAt]) { go(hits[hitAt]); } else if (e.key === "Escape") { search.value = ""; hits = []; showHits(); search.blur(); }
  });
  search.addEventListener("blur", function () { setTimeout(function () { hitList.hidden = true; }, 150); });

  // -- keyboard --------------------------------------------------------------------------
  var keys = byId("ct-keys");
  byId("ct-keys-btn").addEventListener("click", function () { keys.hidden = !keys.hidden; });
  function step(d) {
    if (!last || !last.alarms.length) { return; }
    var ids = last.alarms.map(function (a) { return a.id; });
    var i = ids.indexOf(selected);
    select(ids[i < 0 ? (d > 0 ? 0 : ids.length - 1) : (i + d + ids.length) % ids.length], true);
  }
  function current() {
    if (!last) { return null; }
    return last.alarms.filter(function (a) { return a.id === selected; })[0]
      || last.alarms.filter(function (a) { return a.active && !a.ack; })[0] || last.alarms[0] || null;
  }
  document.addEventListener("keydown", function (e) {
    if (e.ctrlKey || e.metaKey || e.altKey) { return; }
    var typing = /^(INPUT|TEXTAREA|SELECT)$/.test(e.target.tagName);
    if (e.key === "Escape") {
      keys.hidden = true;
      if (typing) { e.target.blur(); } else if (floor) { showFloor(null); }
      return;
    }
    if (typing) { return; }
    var a = current();
    var k = e.key.length === 1 ? e.key.toLowerCase() : e.key;
    if (k === "j" || k === "ArrowDown") { step(1); } else if (k === "k" || k === "ArrowUp") { step(-1); } else if (k === "a") {
      if (a && !a.ack && session && session.role !== "viewer") { select(a.id, true); act(a, "ack", (drafts[a.id] || "").trim()); }
    } else if (k === "c") {
      if (a && !a.active && session && session.role !== "viewer") { act(a, "clear", (drafts[a.id] || "").trim()); }
    } else if (k === "n") {
      if (a) { select(a.id, false); var box = document.querySelector('input[data-note="' + CSS.escape(a.id) + '"]'); if (box) { box.focus(); } }
    } else if (k === "f") {
      if (a && a.building && a.level !== null) { select(a.id, false); showFloor(a.building, a.level); }
    } else if (k === "/") { search.focus(); } else if (k === "m") { if (window.ctSound) { window.ctSound.toggle(); } } else if (k === "?") {
      keys.hidden = !keys.hidden;
    } else { return; }
    e.preventDefault();
  });

  Promise.all([
    fetch("/api/layout", {credentials: "same-origin"}).then(function (r) { return r.json(); }),
    fetch("/api/session", {credentials: "same-origin"}).then(function (r) { return r.json(); })
  ]).then(function (docs) {
    layout = docs[0];
    session = docs[1];
    setZone(layout.time_zone);
    byId("ct-user").textContent = session.user + " (" + session.role + (session.role === "viewer" ? ", view only" : "") + ")";
    drawBuildings();
    fitCampus();
    buildIndex();
    drawFloorBar();
    connect();
  });
})();

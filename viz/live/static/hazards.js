/* The hazard panel of the live security map (served by `twin serve`; see viz/live/hazards.py).
 *
 * Lists the inspection findings in force by building, oldest first (age in
 * days, overdue in red), puts a marker on the map for each (a blocked exit
 * labelled closed, a narrowed one with its width left), flies to one
 * when it is clicked, and lets an operator add and fix findings and a
 * verifier verify, reject or reopen them (GET/POST /api/hazards). Under
 * "Inspection rounds": each building's next round (overdue in red); an
 * operator starts or continues one and marks each checklist item OK or raises
 * a finding on it (/api/hazards/rounds). Every text
 * from the ledger or the campus is set with textContent, never innerHTML.
 */
(function () {
  "use strict";
  var ct = window.ctMap;
  if (!ct) { return; }
  var map = ct.map;
  var csrf = document.querySelector('meta[name="ct-csrf"]').content;
  var RANK = {viewer: 0, operator: 1, verifier: 2, admin: 3};
  var KIND = {blocked_exit: "blocked exit", narrowed: "narrowed", door_not_closing: "door not closing",
              detector_fault: "detector fault", extinguisher_missing: "extinguisher missing",
              emergency_lighting: "emergency lighting", other: "other"};
  var me = {user: "", role: "viewer"};
  var markers = {};
  var layer = L.layerGroup().addTo(map);
  map.createPane("live-hazards").style.zIndex = 640;

  function el(tag, cls, text) {
    var n = document.createElement(tag);
    if (cls) { n.className = cls; }
    if (text !== undefined && text !== null) { n.textContent = String(text); }
    return n;
  }
  function may(role) { return (RANK[me.role] || 0) >= RANK[role]; }

  // -- the panel, placed under the alarms ------------------------------------------
  var side = document.getElementById("ct-side");
  var box = el("section");
  box.id = "ct-hazards";
  var head = el("h2", null, "Hazards ");
  var count = el("span", "ct-hz-count");
  count.id = "ct-hz-count";
  head.appendChild(count);
  var list = el("ol");
  list.id = "ct-hz-list";
  var msg = el("p", "ct-hz-msg");
  msg.id = "ct-hz-msg";
  msg.setAttribute("role", "status");
  var dark = el("p", "ct-hz-dark");
  dark.id = "ct-hz-dark";
  dark.hidden = true;
  box.appendChild(head);
  box.appendChild(dark);
  box.appendChild(list);
  box.appendChild(msg);
  var alarms = document.getElementById("ct-alarms");
  side.insertBefore(box, alarms ? alarms.nextSibling : side.firstChild);

  // the add form (operators)
  var form = el("details", "ct-hz-add");
  form.id = "ct-hz-add";
  form.appendChild(el("summary", null, "Add a finding"));
  function field(label, input) {
    var l = el("label", null, label);
    l.appendChild(input);
    form.appendChild(l);
    return input;
  }
  var fFeature = field("Place (feature id)", el("input"));
  fFeature.id = "ct-hz-feature";
  fFeature.setAttribute("list", "ct-hz-places");
  fFeature.autocomplete = "off";
  var places = el("datalist");
  places.id = "ct-hz-places";
  form.appendChild(places);
  var fKind = field("Kind", el("select"));
  fKind.id = "ct-hz-kind";
  Object.keys(KIND).forEach(function (k) { var o = el("option", null, KIND[k]); o.value = k; fKind.appendChild(o); });
  var fWidth = field("Clear width left (m, narrowed)", el("input"));
  fWidth.id = "ct-hz-width";
  fWidth.type = "number"; fWidth.step = "0.05"; fWidth.min = "0";
  var fDue = field("Due", el("input"));
  fDue.id = "ct-hz-due";
  fDue.type = "date";
  var fNote = field("Note", el("textarea"));
  fNote.id = "ct-hz-note";
  fNote.rows = 2;
  var addBtn = el("button", null, "Add finding");
  addBtn.id = "ct-hz-submit";
  addBtn.type = "button";
  form.appendChild(addBtn);
  box.insertBefore(form, msg);

  function say(text, bad) { msg.textContent = text; msg.className = "ct-hz-msg" + (bad ? " ct-hz-bad" : ""); }

  function post(url, body) {
    return fetch(url, {method: "POST", credentials: "same-origin",
                       headers: {"Content-Type": "application/json", "X-CSRF-Token": csrf},
                       body: JSON.stringify(body || {})})
      .then(function (r) {
        return r.json().catch(function () { return {}; }).then(function (d) {
          if (!r.ok) { throw new Error(d.error || ("refused (" + r.status + ")")); }
          return d;
        });
      });
  }

  addBtn.addEventListener("click", function () {
    var body = {feature: fFeature.value.trim(), kind: fKind.value, note: fNote.value};
    if (fWidth.value !== "") { body.width = parseFloat(fWidth.value); }
    if (fDue.value) { body.due = fDue.value; }
    post("/api/hazards", body).then(function (d) {
      say("finding " + d.finding.id + " added");
      fNote.value = ""; fWidth.value = ""; fDue.value = "";
      load();
    }).catch(function (e) { say(e.message, true); });
  });

  function act(f, word, label) {
    var b = el("button", "ct-hz-act", label);
    b.type = "button";
    b.dataset.act = word;
    b.addEventListener("click", function (ev) {
      ev.stopPropagation();
      post("/api/hazards/" + f.id + "/" + word, {}).then(function (d) {
        say("finding " + f.id + ": " + d.finding.status);
        load();
      }).catch(function (e) { say(e.message, true); });
    });
    return b;
  }

  function photoButton(f) {  // a photo of the place (never of people), JPEG or PNG, sent as the request body
    var label = el("label", "ct-hz-act ct-hz-photo-add", "Photo" + (f.photos && f.photos.length ? " (" + f.photos.length + ")" : ""));
    var input = el("input");
    input.type = "file";
    input.accept = "image/jpeg,image/png";
    input.hidden = true;
    label.appendChild(input);
    label.title = "A photo of the place, never of people";
    label.addEventListener("click", function (ev) { ev.stopPropagation(); });
    input.addEventListener("change", function () {
      if (!input.files.length) { return; }
      fetch("/api/hazards/" + f.id + "/photo", {method: "POST", credentials: "same-origin",
                                               headers: {"X-CSRF-Token": csrf, "Content-Type": input.files[0].type},
                                               body: input.files[0]})
        .then(function (r) { return r.json().then(function (d) { if (!r.ok) { throw new Error(d.error || r.status); } return d; }); })
        .then(function () { say("photo added to finding " + f.id); load(); })
        .catch(function (e) { say(e.message, true); });
    });
    return label;
  }

  function where(f) { return f.feature || ((f.building || "") + " level " + f.level); }
  function days(n) { return n === 1 ? "1 day" : n + " days"; }

  function fly(f) {
    if (!f.at) { return; }
    map.flyTo(f.at, Math.max(map.getZoom(), 19), {duration: 0.6});
    var m = markers[f.id];
    if (m) { m.openPopup(); }
  }

  function popup(f) {
    var d = el("div", "ct-hz-pop");
    d.appendChild(el("h4", null, KIND[f.kind] + (f.width !== null && f.width !== undefined ? " to " + f.width + " m" : "")));
    d.appendChild(el("div", null, where(f) + " · " + f.status));
    d.appendChild(el("div", null, "found by " + f.found_by + ", " + days(f.age_days) + " ago"));
    d.appendChild(el("div", f.overdue ? "ct-hz-late" : null, "due " + f.due + (f.overdue ? " (overdue)" : "")));
    d.appendChild(el("div", "ct-hz-note", f.note));
    (f.photos || []).forEach(function (name) {
      var img = el("img", "ct-hz-photo");
      img.src = "/api/hazards/photos/" + encodeURIComponent(name);
      img.alt = "photo of the place";
      d.appendChild(img);
    });
    return d;
  }

  function draw(data) {
    me = {user: data.user, role: data.role};
    form.hidden = !may("operator");
    while (list.firstChild) { list.removeChild(list.firstChild); }
    layer.clearLayers();
    markers = {};
    var open = data.findings.filter(function (f) { return f.in_force; });
    var late = open.filter(function (f) { return f.overdue; }).length;
    count.textContent = open.length + " in force" + (late ? " · " + late + " overdue" : "");
    count.className = "ct-hz-count" + (late ? " ct-hz-late" : "");
    var groups = {};
    data.findings.forEach(function (f) { var b = f.building || "outdoors"; (groups[b] = groups[b] || []).push(f); });
    Object.keys(groups).sort().forEach(function (b) {
      var g = el("li", "ct-hz-building");
      g.appendChild(el("div", "ct-hz-bname", b));
      var ol = el("ol");
      groups[b].sort(function (x, y) { return (y.in_force - x.in_force) || (x.found_at - y.found_at); }).forEach(function (f) {
        var li = el("li", "ct-hz-item" + (f.overdue ? " ct-hz-overdue" : "") + (f.in_force ? "" : " ct-hz-closed"));
        li.dataset.id = f.id;
        li.tabIndex = 0;
        var top = el("div", "ct-hz-top");
        top.appendChild(el("b", null, KIND[f.kind] || f.kind));
        top.appendChild(el("span", "ct-hz-where", where(f)));
        top.appendChild(el("span", "ct-hz-status ct-hz-s-" + f.status, f.status));
        li.appendChild(top);
        li.appendChild(el("div", "ct-hz-meta", days(f.age_days) + " old · due " + f.due + (f.overdue ? " · OVERDUE" : "")));
        li.appendChild(el("div", "ct-hz-note", f.note));
        var acts = el("div", "ct-hz-acts");
        if (f.status === "open" && may("operator")) { acts.appendChild(act(f, "fix", "Fixed")); }
        if (f.status === "fixed" && may("verifier")) { acts.appendChild(act(f, "verify", "Verify")); acts.appendChild(act(f, "reopen", "Reopen")); }
        if (f.in_force && may("verifier")) { acts.appendChild(act(f, "reject", "Reject")); }
        if (f.in_force && may("operator")) { acts.appendChild(photoButton(f)); }
        if (acts.firstChild) { li.appendChild(acts); }
        li.addEventListener("click", function () { fly(f); });
        li.addEventListener("keydown", function (e) { if (e.key === "Enter") { fly(f); } });
        ol.appendChild(li);
        if (f.at && f.in_force) {
          var icon = L.divIcon({className: "ct-hz-marker" + (f.overdue ? " ct-hz-marker-late" : ""), html: "<span>!</span>",
                                iconSize: [22, 20], iconAnchor: [11, 18]});
          var m = L.marker(f.at, {icon: icon, pane: "live-hazards", title: (KIND[f.kind] || f.kind) + " at " + where(f)});
          m.bindPopup(popup(f));
          if (f.kind === "blocked_exit" || f.kind === "narrowed") {  // the exit as the ledger says it is, on the map
            var tip = f.kind === "blocked_exit" ? f.feature + " closed" : f.feature + " " + f.width + " m";
            m.bindTooltip(el("span", null, tip), {permanent: true, direction: "right", offset: [8, -8], className: "ct-hz-tip",
                                                 pane: "live-hazards"});
          }
          m.addTo(layer);
          markers[f.id] = m;
        }
      });
      g.appendChild(ol);
      list.appendChild(g);
    });
    if (!data.findings.length) { list.appendChild(el("li", "ct-hz-none", "no findings in force")); }
    dark.textContent = data.no_working_detector.length ?
      "No working detector in " + data.no_working_detector.join(", ") + ": a fire there raises no alarm" : "";
    dark.hidden = !data.no_working_detector.length;
  }

  function load() {
    return fetch("/api/hazards", {credentials: "same-origin"}).then(function (r) {
      if (!r.ok) { throw new Error("hazards: " + r.status); }
      return r.json();
    }).then(draw).catch(function (e) { say(e.message, true); });
  }

  // -- inspection rounds: the schedule per building, a round's checklist marked ok or raised as a finding --------
  var rounds = el("details", "ct-hz-rounds");
  rounds.id = "ct-hz-rounds";
  var rsum = el("summary", null, "Inspection rounds");
  rounds.appendChild(rsum);
  var sched = el("ol", "ct-hz-sched");
  sched.id = "ct-hz-sched";
  var check = el("div", "ct-hz-check");
  check.id = "ct-hz-check";
  rounds.appendChild(sched);
  rounds.appendChild(check);
  box.insertBefore(rounds, form);

  function showRound(r) {
    while (check.firstChild) { check.removeChild(check.firstChild); }
    check.appendChild(el("h3", null, "Round " + r.id + " · " + r.building + " · " + r.marked + " of " + r.items.length +
                                     " checked" + (r.findings ? " · " + r.findings + " finding(s)" : "")));
    var ol = el("ol");
    r.items.forEach(function (i) {
      var li = el("li", "ct-hz-ci" + (i.result ? " ct-hz-ci-" + i.result : ""));
      li.dataset.feature = i.feature;
      li.appendChild(el("span", "ct-hz-ci-what", (i.level === null ? "all levels" : "L" + i.level) + " · " + i.feature + ": " + i.what));
      if (i.result) {
        li.appendChild(el("span", "ct-hz-ci-res", i.result === "ok" ? "ok" : "finding " + i.finding));
      } else if (may("operator")) {
        var ok = el("button", "ct-hz-act", "OK");
        ok.type = "button"; ok.dataset.act = "ok";
        var bad = el("button", "ct-hz-act", "Finding");
        bad.type = "button"; bad.dataset.act = "finding";
        li.appendChild(ok); li.appendChild(bad);
        ok.addEventListener("click", function () { mark(r.id, {feature: i.feature}); });
        bad.addEventListener("click", function () {
          if (li.querySelector("select")) { return; }
          var k = el("select");
          Object.keys(KIND).forEach(function (x) { var o = el("option", null, KIND[x]); o.value = x; k.appendChild(o); });
          var n = el("input"); n.placeholder = "what was found";
          var go = el("button", "ct-hz-act", "Raise");
          go.type = "button"; go.dataset.act = "raise";
          go.addEventListener("click", function () { mark(r.id, {feature: i.feature, kind: k.value, note: n.value}); });
          li.appendChild(k); li.appendChild(n); li.appendChild(go);
        });
      }
      ol.appendChild(li);
    });
    check.appendChild(ol);
  }

  function mark(id, body) {
    post("/api/hazards/rounds/" + id + "/mark", body).then(function (d) {
      showRound(d.round);
      if (body.kind) { load(); }
      loadRounds();
    }).catch(function (e) { say(e.message, true); });
  }

  function openRound(id) {
    fetch("/api/hazards/rounds/" + id, {credentials: "same-origin"}).then(function (r) { return r.json(); })
      .then(function (d) { showRound(d.round); }).catch(function (e) { say(e.message, true); });
  }

  function drawRounds(data) {
    while (sched.firstChild) { sched.removeChild(sched.firstChild); }
    var late = data.rounds.filter(function (b) { return b.overdue; }).length;
    rsum.textContent = "Inspection rounds" + (late ? " · " + late + " overdue" : "");
    data.rounds.forEach(function (b) {
      var li = el("li", "ct-hz-sb" + (b.overdue ? " ct-hz-overdue" : ""));
      li.appendChild(el("b", null, b.building));
      li.appendChild(el("span", "ct-hz-meta", b.last_round === null ? "never inspected" :
        "last " + b.last_date + (b.last_complete ? "" : ", not complete")));
      li.appendChild(el("span", b.overdue ? "ct-hz-late" : "ct-hz-meta", "due " + b.due + (b.overdue ? " · OVERDUE" : "")));
      if (b.last_round !== null && !b.last_complete) {
        var cont = el("button", "ct-hz-act", may("operator") ? "Continue" : "Show");
        cont.type = "button"; cont.dataset.act = "continue";
        cont.addEventListener("click", function () { openRound(b.last_round); });
        li.appendChild(cont);
      } else if (may("operator")) {
        var start = el("button", "ct-hz-act", "Start");
        start.type = "button"; start.dataset.act = "start";
        start.addEventListener("click", function () {
          post("/api/hazards/rounds", {building: b.building}).then(function (d) { showRound(d.round); loadRounds(); })
            .catch(function (e) { say(e.message, true); });
        });
        li.appendChild(start);
      }
      sched.appendChild(li);
    });
  }

  function loadRounds() {
    return fetch("/api/hazards/rounds", {credentials: "same-origin"}).then(function (r) { return r.json(); })
      .then(drawRounds).catch(function (e) { say(e.message, true); });
  }

  fetch("/api/layout", {credentials: "same-origin"}).then(function (r) { return r.ok ? r.json() : {places: {}}; })
    .then(function (lay) {
      Object.keys(lay.places || {}).concat(Object.keys(lay.sensors || {})).sort().forEach(function (p) {
        var o = el("option"); o.value = p; places.appendChild(o);
      });
    }).catch(function () { /* the list is a help only */ });
  load().then(loadRounds);
  setInterval(load, 15000);
  window.ctHazards = {reload: load};
}());

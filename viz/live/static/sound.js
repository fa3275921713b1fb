/* The live map's alarm sound (Web Audio, no sound files): off by default in each browser, switched with the
 * header's button or the M key and remembered in this browser (localStorage "ct-sound").
 *
 * While an active alarm is not acknowledged, the highest such priority sounds, each with its own pattern:
 * P1 (fire, panic) a fast high-low two-tone every 2 s, P2 two 660 Hz beeps every 4 s, P3 and P4 one low
 * beep every 10 s. The button shows whether sound is on, off while alarms wait ("SOUND OFF" flashing) or
 * blocked by the browser until the next click. live.js calls ctSound.update(alarms) with every view.
 */
(function () {
  "use strict";
  var PATTERNS = {  // priority -> [[frequency Hz, start s, length s], ...], repeat period s
    1: {tones: [[960, 0, 0.16], [770, 0.18, 0.16], [960, 0.36, 0.16], [770, 0.54, 0.16]], every: 2},
    2: {tones: [[660, 0, 0.22], [660, 0.34, 0.22]], every: 4},
    3: {tones: [[440, 0, 0.35]], every: 10},
    4: {tones: [[440, 0, 0.35]], every: 10}
  };
  var btn = document.getElementById("ct-sound");
  var on = false;
  try { on = window.localStorage.getItem("ct-sound") === "on"; } catch (e) { on = false; }
  var ctx = null;
  var waiting = 0;  // highest priority (1 = highest) of active, unacknowledged alarms; 0: none
  var lastPlayed = 0;
  var played = 0;

  function audio() {
    if (!ctx) {
      var AC = window.AudioContext || window.webkitAudioContext;
      if (!AC) { return null; }
      ctx = new AC();
    }
    if (ctx.state === "suspended") { ctx.resume(); }
    return ctx;
  }

  function play(priority) {
    var a = audio();
    if (!a || a.state !== "running") { show(); return; }
    var p = PATTERNS[priority] || PATTERNS[4];
    var t0 = a.currentTime + 0.02;
    p.tones.forEach(function (t) {
      var osc = a.createOscillator();
      var gain = a.createGain();
      osc.type = priority === 1 ? "square" : "sine";
      osc.frequency.value = t[0];
      gain.gain.setValueAtTime(0.0001, t0 + t[1]);
      gain.gain.exponentialRampToValueAtTime(0.25, t0 + t[1] + 0.02);
      gain.gain.exponentialRampToValueAtTime(0.0001, t0 + t[1] + t[2]);
      osc.connect(gain).connect(a.destination);
      osc.start(t0 + t[1]);
      osc.stop(t0 + t[1] + t[2] + 0.02);
    });
    played += 1;
    btn.dataset.played = "P" + priority + " #" + played;  // what sounded last (read by the browser tests)
  }

  function show() {
    var blocked = on && ctx && ctx.state !== "running";
    btn.textContent = !on ? (waiting ? "SOUND OFF" : "sound off") : blocked ? "sound blocked: click" : "sound on";
    btn.setAttribute("aria-pressed", on ? "true" : "false");
    btn.className = on && !blocked ? "ct-sound-on" : waiting ? "ct-sound-muted-alarm" : "ct-sound-off";
    btn.title = (on ? "Alarm sound is on in this browser" : "Alarm sound is off in this browser") + " (click or key M)";
  }

  function toggle() {
    on = !on;
    try { window.localStorage.setItem("ct-sound", on ? "on" : "off"); } catch (e) { /* private mode: not remembered */ }
    if (on) { audio(); lastPlayed = 0; }
    show();
    tick();
  }

  function tick() {
    if (!on || !waiting) { return; }
    var now = Date.now() / 1000;
    if (now - lastPlayed >= PATTERNS[waiting].every) {
      lastPlayed = now;
      play(waiting);
    }
  }

  function update(alarms) {
    var top = 0;
    alarms.forEach(function (a) {
      if (a.active && !a.ack && (!top || a.priority < top)) { top = Math.min(4, a.priority); }
    });
    if (top && (!waiting || top < waiting)) { lastPlayed = 0; }  // a more urgent alarm sounds at once
    waiting = top;
    show();
    tick();
  }

  btn.addEventListener("click", toggle);
  document.addEventListener("click", function () { if (on && ctx && ctx.state === "suspended") { ctx.resume().then(show); } });
  setInterval(tick, 500);
  show();
  window.ctSound = {update: update, toggle: toggle};
})();

"""The pygame window's recorded exercise: buildings shaded by their counts, the alarms, and the debrief.

:mod:`viz.replay_app` calls :func:`draw_exercise` (on the map) and
:func:`hud_exercise` (panels) for a recording of ``kind = "exercise"``. The
debrief (:class:`viz.replay_debrief.Debrief`) adds what the operators did and
knew: the timeline carries a tick per alarm raised or ended, operator action
and forecast (``[`` / ``]`` jump between them, a click on the bar jumps
there), the latest forecast made by then is boxed with the time it was made,
the operator log lists the last actions (who, which alarm, the note), and a
clicked building lists the people its cameras count on each level.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING

import numpy as np
import pygame

from viz.replay_debrief import MARKER_CSS, forecast_rows
from viz.replay_floor import BUILDING_EDGE, CLOSED, PANEL, TEXT, fmt_time

if TYPE_CHECKING:
    from viz.replay_app import ReplayApp

ALARM_RING = 11
"""Radius (px) of the ring marking an alarm that is on."""
MAX_ALARMS_LISTED = 6
"""Alarms listed in the corner of the window (highest priority first)."""
LOG_ROWS = 7
"""Operator actions, alarms and forecasts listed in the log (the latest)."""
LOG_WIDTH = 470
"""Width (px) of the forecast box and the operator log at the right edge."""
MARKER_RGB = {k: tuple(int(c[i:i + 2], 16) for i in (1, 3, 5)) for k, c in MARKER_CSS.items()}
"""Timeline tick colour of each kind of debrief marker."""


def _clock(app: ReplayApp, t: float) -> str:
    """Wall-clock time of the drill at ``t`` (s from the start) when the recording knows it, else ``t = mm:ss``."""
    t0 = app.rec.meta.get("t0_epoch")
    return datetime.fromtimestamp(t0 + t, UTC).strftime("%H:%M:%S") if t0 else f"t = {fmt_time(max(t, 0.0))}"


def _fit(font: pygame.font.Font, text: str, width: int) -> str:
    """``text`` cut (with an ellipsis) to ``width`` px."""
    if font.size(text)[0] <= width:
        return text
    while text and font.size(text + " …")[0] > width:
        text = text[:-1]
    return text + " …"


def draw_exercise(app: ReplayApp, surface: pygame.Surface, t: float) -> None:
    """Buildings shaded and labelled by the people in them, alarms that are on ringed in red."""
    rec, v = app.rec, app.view
    occ = rec.occupancy_at(t)
    for o in app.outlines:
        if o["kind"] != "building" or o["id"] not in occ:
            continue
        design = max(1, rec.design.get(o["id"]) or 1)
        k = int(255 * min(1.0, occ[o["id"]] / design))
        px, py = v.to_screen(o["xy"][:, 0], o["xy"][:, 1])
        pts = np.stack([px, py], axis=1).tolist()
        if len(pts) >= 3:
            pygame.draw.polygon(surface, app._shade[k], pts)
            pygame.draw.polygon(surface, BUILDING_EDGE, pts, 2 if o["id"] == app.selected else 1)
    ringed = set()
    for a in rec.alarms_at(t):
        if a["node"] is None or a["node"] not in rec.node_index:
            continue
        i = rec.node(a["node"])
        x, y = v.to_screen(rec.node_xy[i, 0], rec.node_xy[i, 1])
        pygame.draw.circle(surface, CLOSED, (float(x), float(y)), ALARM_RING, 3)
        pygame.draw.circle(surface, CLOSED, (float(x), float(y)), 4)
        ringed.add(a["building"])
    for b, n in occ.items():
        if b not in app._centre:
            continue
        x, y = v.to_screen(*app._centre[b])
        label = app.font.render(f"{b} {n:,}", True, TEXT)
        lw, lh = label.get_size()
        top, bottom, width = app._extent[b]
        inside = (top - bottom) * v.scale > 2.2 * lh and width * v.scale > lw + 8
        if inside:
            box = label.get_rect(center=(int(x), int(y) + (ALARM_RING + 12 if b in ringed else 0)))
        else:  # a small building: the label goes under it, so its shade shows
            _, by = v.to_screen(app._centre[b][0], bottom)
            box = label.get_rect(midtop=(int(x), int(by) + 2))
        pygame.draw.rect(surface, PANEL, box.inflate(6, 2))
        surface.blit(label, box)


def hud_exercise(app: ReplayApp, surface: pygame.Surface, t: float) -> None:
    """Clock, people in buildings and out since the alarm, the alarms on; the forecast, the operator log, the markers."""
    pb, rec, deb = app.playback, app.rec, app.debrief
    w, h = surface.get_size()
    occ = rec.occupancy_at(t)
    design = sum(rec.design.get(b, 0) for b in occ)
    alarms = rec.alarms_at(t)
    wall = datetime.fromtimestamp(rec.meta["t0_epoch"] + t, UTC).strftime("%Y-%m-%d %H:%M:%S UTC") if rec.meta.get("t0_epoch") else ""
    since = "" if rec.alarm_s is None else (f"   alarm + {fmt_time(t - rec.alarm_s)}" if t >= rec.alarm_s else "   before the alarm")
    lines = [
        (app.big, f"t = {fmt_time(t)}  / {fmt_time(rec.duration)}   x{pb.speed:g}  {'paused' if pb.paused else 'playing'}"),
        (app.font, f"recorded exercise   {wall}{since}   shade: people / design    ? for keys"),
        (app.font, f"in counted buildings {sum(occ.values()):,} (design {design:,})   out since the alarm "
                   f"{sum(rec.out_since_alarm(t).values()):,}   alarms on {len(alarms)}"),
    ]
    top = app._panel(surface, lines, 560)
    if alarms:
        rows = [f"alarms on ({len(alarms)})"] + [
            f"{a['kind']}  {a['sensor_id'] or ''}  {a['building'] or ''}  since {_clock(app, a['t0'])}" for a in alarms[:MAX_ALARMS_LISTED]]
        if len(alarms) > MAX_ALARMS_LISTED:
            rows.append(f"… and {len(alarms) - MAX_ALARMS_LISTED} more")
        app._box(surface, rows, (8, h - 56 - (16 + (app.font.get_linesize() + 2) * len(rows))), width=380)
    ticks = [(max(a["t0"], 0.0), CLOSED) for a in rec.alarms]
    if deb is not None:
        ticks += [(m.t, MARKER_RGB[m.kind]) for m in deb.markers]
        _debrief(app, surface, t)
    app._timeline(surface, t, ticks)
    if app.selected:
        n = rec.exercise_numbers(app.selected, t)
        rows = [f"building {app.selected}",
                "people now " + ("not counted" if n["people"] is None else f"{n['people']:,}"),
                f"design {n['design'] or 0:,}",
                "at the alarm " + ("—" if n["at_alarm"] is None else f"{n['at_alarm']:,}"),
                f"out since alarm {n['out_since_alarm']:,}",
                "alarms " + (", ".join(n["alarms"]) or "none")]
        floors = deb.floors_at(t).get(app.selected, {}) if deb is not None else {}
        rows += [f"L{lv}: {c:,} counted by cameras" for lv, c in sorted(floors.items(), reverse=True)]
        app._box(surface, rows, (8, top + 12), width=260)
    app.help(surface)


def _debrief(app: ReplayApp, surface: pygame.Surface, t: float) -> None:
    """The latest forecast made by ``t`` and the operator log at the right edge; what the recording lacks, above the bar."""
    deb = app.debrief
    assert deb is not None
    w, h = surface.get_size()
    x, y = w - LOG_WIDTH - 8, 8
    lh = app.font.get_linesize() + 2
    fc = deb.forecast_at(t)
    if fc is not None:
        made, doc = fc
        rows = [f"forecast made {_clock(app, made)}", *forecast_rows(doc)]
        app._box(surface, [_fit(app.font, r, LOG_WIDTH - 16) for r in rows], (x, y), width=LOG_WIDTH)
        pygame.draw.rect(surface, MARKER_RGB["forecast"], pygame.Rect(x, y, LOG_WIDTH, 16 + lh * len(rows)), 2)
        y += 16 + lh * len(rows) + 8
    log = deb.markers_until(t, LOG_ROWS)
    rows = ["operator log"] + [_fit(app.font, f"{_clock(app, m.t)}  {m.text()}", LOG_WIDTH - 30) for m in reversed(log)]
    if not log:
        rows.append("nothing yet")
    app._box(surface, rows, (x, y), width=LOG_WIDTH)
    for k, m in enumerate(reversed(log)):
        pygame.draw.circle(surface, MARKER_RGB[m.kind], (x + LOG_WIDTH - 14, y + 6 + (k + 1) * lh + 4 + 7), 5)
    if deb.missing:
        note = "this recording holds no " + ", no ".join(deb.missing) + "; [ / ] jump between what it holds"
        surface.blit(app.font.render(_fit(app.font, note, w - 32), True, (90, 90, 90)), (16, h - 52))

"""The live console's JSON API and WebSocket: what the map reads, the alarm workflow, the state, health.

Routes (every one behind the login, ``viz.live.security``; roles: viewer <
operator < admin):

- ``GET /api/layout``, ``GET /api/view``, ``WS /ws``: what the map draws
  (``viz.live.view``; the WebSocket pushes the view, ``viz.live.hub``).
- ``GET /api/alarms``: the alarm panel and the history of cleared alarms.
- ``POST /api/alarms/{id}/ack``, ``/note``, ``/clear``: the alarm workflow
  (operator); each action is stored in the audit trail before the answer.
- ``GET /api/audit``: the audit trail (who did what to which alarm, when).
- ``GET /api/state``: the live state read at the wall clock (a sensor silent
  too long is offline, a fire spreads, even when no event arrives);
  ``?now=EPOCH`` reads it at that time, ``?clock=events`` at the latest event's
  time (as ``twin state`` does).
- ``GET /api/sensors``, ``GET /api/forecast``.
- ``GET /api/health``: ``{"ok": true}`` (and, with MQTT, publishing back or
  a BACnet panel, ``{"mqtt": {"connected": …}, "mqtt_publish": {"connected":
  …}, "bacnet": {"connected": …}}``) and nothing more without a login (a
  monitoring probe learns that the server and its feed links are up); with a
  login it adds the store size, counters, the broker's figures, the
  publisher's (published, delivered, last publish, errors) and the panel's
  (subscriptions, latest notification, errors).

The routes find the server's parts in ``app.state``: ``console``
(:class:`viz.live.view.Console`), ``hub``, ``sessions``, ``mqtt``, ``publisher`` and ``bacnet``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import Depends, FastAPI, Request, WebSocket
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field

from twin.settings import default
from viz.live.security import Session, needs
from viz.live.view import Console


def _console(request: Request) -> Console:
    return request.app.state.console


class AlarmAction(BaseModel):
    """Body of ``POST /api/alarms/{id}/ack`` and ``/clear``."""

    since: float | None = Field(None, description="Start (epoch s) of the alarm as the operator saw it; 409 when the alarm has restarted since.")
    note: str | None = Field(None, max_length=int(default("live.note_max")), description="Optional note stored with the action.")


class AlarmNote(BaseModel):
    """Body of ``POST /api/alarms/{id}/note``."""

    since: float | None = Field(None, description="Start (epoch s) of the alarm as the operator saw it.")
    text: str = Field(min_length=1, max_length=int(default("live.note_max")), description="The note.")


# -- what the map draws ------------------------------------------------------------


def get_layout(request: Request) -> JSONResponse:
    return JSONResponse(_console(request).layout.doc)


def get_view(request: Request) -> Response:
    return Response(_console(request).render(), media_type="application/json")


async def ws(websocket: WebSocket) -> None:
    state = websocket.app.state
    await state.hub.serve(websocket, websocket.scope["twin.session"], state.sessions)


# -- the alarm workflow ------------------------------------------------------------


def get_alarms(request: Request, history: int = 100) -> JSONResponse:
    c = _console(request)
    with c.ingestor.lock:
        panel = c.ingestor.state.panel()
    cleared = [r for r in c.audit.records() if r["action"] == "clear"][-max(0, history):][::-1] if history > 0 else []
    return JSONResponse({"alarms": panel, "history": cleared})


def act(request: Request, alarm_id: str, action: str, s: Session, since: float | None, note: str | None) -> JSONResponse:
    """Store one operator action in the audit trail, apply it to the live state, push the view; or say why not (404, 409)."""
    c = _console(request)
    state = c.ingestor.state
    with c.ingestor.lock:
        a = state.panel_alarm(alarm_id)
        if a is None:
            return JSONResponse({"error": f"no alarm {alarm_id!r} on the panel (cleared, or never raised)"}, status_code=404)
        if since is not None and abs(a["since"] - since) > 1e-3:
            return JSONResponse({"error": f"alarm {alarm_id!r} has restarted since (now since {a['since']}); look again",
                                 "alarm": a}, status_code=409)
        if action == "ack" and a["ack"] is not None:
            return JSONResponse({"error": f"alarm {alarm_id!r} was already acknowledged by {a['ack']['user']} "
                                          f"at {local_time(a['ack']['ts'], c.time_zone)}", "alarm": a}, status_code=409)
        if action == "clear" and a["active"]:
            return JSONResponse({"error": f"alarm {alarm_id!r} cannot be cleared: its source is still active. "
                                          "Acknowledge it; clear it once its sensor restores.", "alarm": a}, status_code=409)
        named = {**a, "name": c.layout.doc["sensors"].get(a["sensor_id"], {}).get("name")}
        rec = c.audit.append(user=s.user, role=s.role, action=action, alarm=named, note=note or None)
        state.operator(rec)
        after = state.panel_alarm(alarm_id)
    c.recent.append(rec)
    request.app.state.hub.poke()
    return JSONResponse({"ok": True, "action": rec, "alarm": after})


def local_time(ts: float, zone: str) -> str:
    """``ts`` (epoch s) as the campus's local time, with its zone (``14:02:10 CST``)."""
    return datetime.fromtimestamp(ts, ZoneInfo(zone)).strftime("%H:%M:%S %Z")


def ack(request: Request, alarm_id: str, body: AlarmAction | None = None,
        s: Session = Depends(needs("operator"))) -> JSONResponse:  # noqa: B008 - FastAPI dependency
    body = body or AlarmAction()
    return act(request, alarm_id, "ack", s, body.since, body.note)


def note(request: Request, alarm_id: str, body: AlarmNote,
         s: Session = Depends(needs("operator"))) -> JSONResponse:  # noqa: B008 - FastAPI dependency
    return act(request, alarm_id, "note", s, body.since, body.text)


def clear(request: Request, alarm_id: str, body: AlarmAction | None = None,
          s: Session = Depends(needs("operator"))) -> JSONResponse:  # noqa: B008 - FastAPI dependency
    body = body or AlarmAction()
    return act(request, alarm_id, "clear", s, body.since, body.note)


def get_audit(request: Request, limit: int = 500, alarm: str | None = None) -> JSONResponse:
    c = _console(request)
    records = c.audit.records(limit=max(1, min(limit, 100_000)), alarm=alarm)
    for r in records:  # each record's time also in the campus's zone, ISO 8601 with the offset
        r["local_time"] = datetime.fromtimestamp(r["ts"], ZoneInfo(c.time_zone)).isoformat(timespec="seconds")
    return JSONResponse({"audit": records, "time_zone": c.time_zone})


# -- state, sensors, forecasts, health ----------------------------------------------


def get_state(request: Request, now: float | None = None, clock: str = "wall") -> JSONResponse:
    if clock not in ("wall", "events"):
        return JSONResponse({"error": f"clock must be 'wall' or 'events', got {clock!r}"}, status_code=422)
    c = _console(request)
    if now is None and clock == "wall":
        now = c.now()
    return JSONResponse(c.ingestor.snapshot(now))


def get_sensors(request: Request) -> JSONResponse:
    reg = _console(request).ingestor.registry
    return JSONResponse({"sensors": [s.as_dict() for s in reg.sensors.values()], "by_type": reg.summary()})


def get_forecast(request: Request) -> JSONResponse:
    ing = _console(request).ingestor
    with ing.lock:
        return JSONResponse(ing.state.forecasts())


def get_health(request: Request) -> JSONResponse:
    state = request.app.state
    links = (("mqtt", state.mqtt), ("mqtt_publish", state.publisher), ("bacnet", state.bacnet))
    feeds: dict[str, Any] = {name: f.status() for name, f in links if f is not None}
    if request.scope.get("twin.session") is None:  # a monitoring probe: up, and the feed links up; nothing else
        return JSONResponse({"ok": True, **{name: {"connected": s["connected"]} for name, s in feeds.items()}})
    store = state.console.ingestor.store
    return JSONResponse({"ok": True, "events": store.count(), "counters": store.counters(),
                         "map_clients": len(state.hub.clients), "pushes": state.hub.pushes, **feeds})


def add_routes(app: FastAPI) -> None:
    """The map's API and WebSocket, the alarm workflow, state, sensors, forecasts and health."""
    route = app.add_api_route
    route("/api/layout", get_layout, methods=["GET"],
          summary="What the map draws once: footprints, sensor positions, camera viewsheds (WGS 84)")
    route("/api/view", get_view, methods=["GET"], summary="The live view the map draws (also pushed over /ws)")
    app.add_api_websocket_route("/ws", ws)
    route("/api/alarms", get_alarms, methods=["GET"], summary="The alarm panel (priority, then time) and the history of cleared alarms")
    route("/api/alarms/{alarm_id}/ack", ack, methods=["POST"], summary="Acknowledge an alarm (operator)",
          description="Stored in the audit trail (who, when) before the answer. 404: not on the panel; "
                      "409: already acknowledged, or restarted since the given time.")
    route("/api/alarms/{alarm_id}/note", note, methods=["POST"], summary="Add a note to an alarm (operator)")
    route("/api/alarms/{alarm_id}/clear", clear, methods=["POST"], summary="Clear a restored alarm from the panel (operator)",
          description="Only an alarm whose sensor has restored can be cleared (409 while its source is active); "
                      "it leaves the panel and stays in the history (GET /api/alarms, GET /api/audit).")
    route("/api/audit", get_audit, methods=["GET"],
          summary="The audit trail: every acknowledge, note and clear, who and when (oldest first)")
    route("/api/state", get_state, methods=["GET"], summary="The live state (at the wall clock, ?now=EPOCH, or ?clock=events)")
    route("/api/sensors", get_sensors, methods=["GET"], summary="The sensor registry")
    route("/api/forecast", get_forecast, methods=["GET"], summary="The latest evacuation forecasts, by scope")
    route("/api/health", get_health, methods=["GET"],
          summary="Liveness (and whether the MQTT and BACnet links are up) without a login; store size, counters "
                  "and the feeds' figures with one")

"""The twin's web server (``twin serve``): sensor ingest, the live state API and the operator's live map.

One FastAPI application object, built by ``create_app``. Every page, API
route and the WebSocket need an operator login (``twin.auth``), except:

- ``GET /login``, ``POST /login``: the login form (throttled: ``auth.login_*``);
- ``POST /api/events``: sensor ingest, which needs a device key instead
  (``Authorization: Bearer KEY``); a device key opens nothing else;
- ``GET /api/health``: answers ``{"ok": true}`` (and, with MQTT,
  ``{"mqtt": {"connected": …}}``) and nothing more without a login: a
  monitoring probe learns that the server and its feed link are up; with a
  login it adds the store size, counters and the broker's figures.

Routes (roles: viewer < operator < admin):

- ``GET /``: the live security map (``viz.live_map``), updated over ``/ws``.
- ``POST /api/events``: a JSON array of events, one JSON object, or NDJSON
  (one event per line). Answers ``200`` with a result per event
  (``accepted``, ``duplicate``, ``rejected`` with ``field`` and ``reason``);
  valid events in a batch are kept whatever their neighbours. ``401`` without
  a valid key, ``413`` for a body over ``max_body`` bytes or ``max_batch`` events.
- ``GET /api/state``: the live state read at the wall clock (a sensor silent
  too long is offline, a fire spreads, even when no event arrives);
  ``?now=EPOCH`` reads it at that time, ``?clock=events`` at the latest event's
  time (as ``twin state`` does).
- ``GET /api/alarms``: the alarm panel and the history of cleared alarms.
- ``POST /api/alarms/{id}/ack``, ``/note``, ``/clear``: the alarm workflow
  (operator); each action is stored in the audit trail before the answer.
- ``GET /api/audit``: the audit trail (who did what to which alarm, when).
- ``GET /api/view``, ``GET /api/layout``, ``WS /ws``: what the map draws.
- ``GET /api/sensors``, ``GET /api/forecast``, ``GET /api/session``,
  ``GET /api/users`` (admin), ``POST /logout``, ``GET /docs``, ``GET /openapi.json``.

Browser safety: the session cookie is ``HttpOnly`` and ``SameSite=Strict``
(and ``Secure`` over HTTPS); every state-changing request must come from the
page's own origin (``Origin`` header) and carry the session's CSRF token
(``X-CSRF-Token``); the WebSocket handshake is checked for the origin too;
pages carry a Content-Security-Policy whose script nonce changes with every
response, so no injected script runs.
"""

from __future__ import annotations

import asyncio
import hmac
import html
import json
import logging
import os
import secrets
import threading
import time
from collections import deque
from collections.abc import Iterable
from contextlib import asynccontextmanager
from http.cookies import SimpleCookie
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote

from fastapi import Depends, FastAPI, HTTPException, Request, WebSocket, WebSocketDisconnect
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import Headers

from sensors.ingest import Ingestor
from twin.audit import AuditLog
from twin.auth import Session, Sessions, Throttle, Users, role_at_least
from twin.settings import default
from twin.state import is_alarm_event

log = logging.getLogger("twin.server")

MAX_BODY = 4 * 1024 * 1024
"""Largest ``POST /api/events`` body (bytes)."""
MAX_BATCH = 10_000
"""Most events in one request."""
MAX_EVENT = 16 * 1024
"""Largest single event (bytes of JSON)."""


def load_device_keys(path: str | Path | None = None, env: str | None = None) -> set[str]:
    """Device keys from a file (one a line, ``#`` comments, optionally ``name key``) and/or ``TWIN_DEVICE_KEYS``.

    ``TWIN_DEVICE_KEYS`` holds keys separated by commas or whitespace.
    """
    keys: set[str] = set()
    if path is not None:
        for line in Path(path).read_text().splitlines():
            line = line.split("#", 1)[0].strip()
            if line:
                keys.add(line.split()[-1])
    env = os.environ.get("TWIN_DEVICE_KEYS", "") if env is None else env
    keys.update(k for k in env.replace(",", " ").split() if k)
    return keys


def split_body(body: bytes) -> list[Any]:
    """A request body as raw events: a JSON array, one JSON object, or NDJSON lines (bad lines kept as bytes)."""
    text = body.decode("utf-8", errors="replace").strip()
    if not text:
        return []
    try:
        doc = json.loads(text)
    except ValueError:
        lines = [ln for ln in text.splitlines() if ln.strip()]
        if len(lines) == 1 and lines[0].lstrip().startswith("["):
            return [lines[0].encode()]
        return [_one(ln) for ln in lines]
    return doc if isinstance(doc, list) else [doc]


def _one(line: str) -> Any:
    if len(line) > MAX_EVENT:
        return {"__oversized__": len(line)}
    try:
        return json.loads(line)
    except ValueError:
        return line.encode()  # parse_event says why it is not JSON


COOKIE = "twin_session"
"""Name of the session cookie."""
CSRF_HEADER = "x-csrf-token"
"""Header every state-changing request carries the session's CSRF token in."""
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
PUBLIC = frozenset({("GET", "/login"), ("POST", "/login"), ("GET", "/api/health"), ("POST", "/api/events")})
"""(method, path) open without a login: the login form, the bare health probe, device-key ingest."""
LOGIN_BODY_MAX = 4096
"""Largest login request body (bytes)."""


# -- access ------------------------------------------------------------------------


def _cookie(header: str) -> str | None:
    try:
        c = SimpleCookie(header)
    except Exception:  # noqa: BLE001 - a malformed Cookie header is no session
        return None
    m = c.get(COOKIE)
    return m.value if m else None


def same_origin(scope: dict[str, Any], headers: Headers) -> bool:
    """Whether the request's ``Origin`` is the server's own (scheme, host and port of the ``Host`` it was sent to)."""
    origin = headers.get("origin")
    host = headers.get("host")
    if not origin or not host:
        return False
    scheme = "https" if scope.get("scheme") in ("https", "wss") else "http"
    return hmac.compare_digest(origin.encode(), f"{scheme}://{host}".encode())


def _is_page(path: str) -> bool:
    return not (path.startswith("/api/") or path.startswith("/static/") or path in ("/ws", "/openapi.json"))


class Gate:
    """ASGI middleware: no route without a live session, state changes only from the page's origin with its CSRF token.

    Every request and WebSocket handshake passes here first, so a route added
    later is closed by default; :data:`PUBLIC` lists the exceptions. The
    session (or None) is put in ``scope["twin.session"]`` for the routes'
    role checks. Every HTTP answer gets ``no-store`` caching and the usual
    hardening headers.
    """

    def __init__(self, app: Any, sessions: Sessions) -> None:
        self.app = app
        self.sessions = sessions

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        kind = scope["type"]
        if kind not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        session = self.sessions.get(_cookie(headers.get("cookie", "")))
        scope["twin.session"] = session
        path = scope["path"]
        method = scope.get("method", "GET")
        if kind == "websocket":
            if session is None or not same_origin(scope, headers):
                await send({"type": "websocket.close", "code": 1008, "reason": "log in first (same origin only)"})
                return
            await self.app(scope, receive, send)
            return
        send = _hardened(send)
        if (method, path) in PUBLIC:
            if method == "POST" and path == "/login" and not same_origin(scope, headers):
                await _deny(scope, receive, send, 403, "login refused: the form must be posted from this server's own page")
                return
            await self.app(scope, receive, send)
            return
        if session is None:
            if method in SAFE_METHODS and _is_page(path):
                target = "/login" + (f"?next={quote(path, safe='/')}" if path not in ("/", "/login") else "")
                await RedirectResponse(target, status_code=303)(scope, receive, send)
            else:
                await _deny(scope, receive, send, 401, "log in first: this server needs an operator session")
            return
        if method not in SAFE_METHODS:
            if not same_origin(scope, headers):
                await _deny(scope, receive, send, 403, "refused: a state change must come from this server's own page (Origin)")
                return
            if not hmac.compare_digest(headers.get(CSRF_HEADER, "").encode(), session.csrf.encode()):
                await _deny(scope, receive, send, 403, f"refused: missing or wrong CSRF token ({CSRF_HEADER} header)")
                return
        await self.app(scope, receive, send)


def _hardened(send: Any) -> Any:
    extra = [(b"x-content-type-options", b"nosniff"), (b"x-frame-options", b"DENY"),
             (b"referrer-policy", b"same-origin"), (b"cache-control", b"no-store")]

    async def wrapped(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            have = {k.lower() for k, _ in message.get("headers", [])}
            message["headers"] = list(message.get("headers", [])) + [(k, v) for k, v in extra if k not in have]
        await send(message)

    return wrapped


async def _deny(scope: dict[str, Any], receive: Any, send: Any, status: int, why: str) -> None:
    await JSONResponse({"error": why}, status_code=status)(scope, receive, send)


def session_of(request: Request) -> Session:
    """The request's session (the gate has already refused requests without one)."""
    s = request.scope.get("twin.session")
    if s is None:  # pragma: no cover - the gate answers first
        raise HTTPException(401, "log in first")
    return s


def needs(role: str) -> Any:
    """A FastAPI dependency: the session, when its role is at least ``role`` (else 403)."""

    def check(request: Request) -> Session:
        s = session_of(request)
        if not role_at_least(s.role, role):
            raise HTTPException(403, f"{s.user} is a {s.role}; this needs the {role} role")
        return s

    return check


# -- live push ---------------------------------------------------------------------


class _Client:
    """One connected map: the latest view not yet sent (older ones are dropped for a slow client)."""

    def __init__(self, ws: WebSocket, token: str) -> None:
        self.ws = ws
        self.token = token
        self.queue: asyncio.Queue[str] = asyncio.Queue(maxsize=1)

    def offer(self, text: str) -> None:
        if self.queue.full():
            self.queue.get_nowait()
        self.queue.put_nowait(text)


class LiveHub:
    """Pushes the live view to every connected map: at once after an alarm event or an operator action, else coalesced.

    Ingest calls :meth:`on_events` (any thread) with the records it just
    applied; the hub's task (in the server's event loop) renders one view and
    sends the same text to every client, at most every ``live.push_min_gap``
    seconds and at least every ``live.push_interval`` while events arrive.
    """

    def __init__(self, ingestor: Ingestor, render: Any) -> None:
        self.ingestor = ingestor
        self.render = render
        self.interval = float(default("live.push_interval"))
        self.min_gap = float(default("live.push_min_gap"))
        self.idle_refresh = float(default("live.idle_refresh"))
        self.clients: set[_Client] = set()
        self.pushes = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._wake: asyncio.Event | None = None
        self._urgent = False
        self._dirty = False
        self._last = 0.0

    def on_events(self, records: list[dict[str, Any]]) -> None:
        """Ingest listener: note new events; wake the pusher at once when one of them is an alarm event."""
        self._dirty = True
        if any(r["kind"] == "forecast" or is_alarm_event(r) for r in records):
            self.poke()

    def poke(self) -> None:
        """Send a fresh view as soon as allowed (thread-safe)."""
        self._urgent = True
        if self._loop is not None and self._wake is not None:
            self._loop.call_soon_threadsafe(self._wake.set)

    async def run(self) -> None:
        """The pusher task (runs until cancelled)."""
        self._loop = asyncio.get_running_loop()
        self._wake = asyncio.Event()
        while True:
            try:
                await asyncio.wait_for(self._wake.wait(), timeout=self.interval)
            except TimeoutError:
                pass
            self._wake.clear()
            if not self.clients:
                continue
            now = time.monotonic()
            if self._urgent:
                due = self._last + self.min_gap
            elif self._dirty or now - self._last >= self.idle_refresh:
                due = self._last + self.interval
            else:
                continue
            if due > now:
                await asyncio.sleep(due - now)
            self._urgent = self._dirty = False
            try:
                text = await run_in_threadpool(self.render)
            except Exception:  # noqa: BLE001 - one bad view must not stop the map's updates; it is logged
                log.exception("live map: the view could not be built")
                self._last = time.monotonic()
                continue
            self._last = time.monotonic()
            self.pushes += 1
            for c in list(self.clients):
                c.offer(text)

    async def serve(self, ws: WebSocket, session: Session, sessions: Sessions) -> None:
        """One map's connection: the current view at once, then every push, until it leaves or its session ends."""
        await ws.accept()
        client = _Client(ws, session.token)
        client.offer(await run_in_threadpool(self.render))
        self.clients.add(client)

        async def sender() -> None:
            while True:
                text = await client.queue.get()
                if sessions.get(client.token, touch=False) is None:
                    await ws.close(code=1008, reason="session ended")
                    return
                await ws.send_text(text)

        task = asyncio.create_task(sender())
        task.add_done_callback(lambda t: t.cancelled() or t.exception())  # a send to a closed socket ends it quietly
        try:
            while not task.done():
                recv = asyncio.create_task(ws.receive_text())
                done, _ = await asyncio.wait({recv, task}, return_when=asyncio.FIRST_COMPLETED)
                if recv not in done:
                    recv.cancel()
                    break
                recv.result()  # the page sends nothing that matters; reading notices a disconnect
        except (WebSocketDisconnect, RuntimeError, KeyError):  # gone, or sent bytes instead of text
            pass
        finally:
            self.clients.discard(client)
            task.cancel()


# -- the demo feed ---------------------------------------------------------------------


class DemoFeed:
    """A synthetic campus day stamped at the wall clock, submitted as its time comes (``twin serve --demo``).

    The hour before the start is submitted at once (so the map starts with
    people on it), then each event when its time comes; a fire alarm is
    raised ``fire_after`` seconds after the start. Events keep no ``seq``
    (a second demo on the same store is new events, not duplicates), and
    none older than the store's latest event is sent.

    Parameters
    ----------
    ingestor : Ingestor
        Where the events go (the same path as HTTP and MQTT).
    seed : int
        Drives every draw of the synthetic day.
    fire_after : float, optional
        Seconds after the start at which a detector goes to fire (None: no fire).
    backfill, span : float
        Seconds of events before the start, and after it.
    """

    def __init__(self, ingestor: Ingestor, *, seed: int = 0, fire_after: float | None = 60.0,
                 backfill: float = 3600.0, span: float = 8 * 3600.0, tick: float = 0.25) -> None:
        self.ingestor = ingestor
        self.seed = seed
        self.fire_after = fire_after
        self.backfill = backfill
        self.span = span
        self.tick = tick
        self.sent = 0
        self._events: deque[dict[str, Any]] = deque()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Submit the backfill and start the thread that sends the rest on time."""
        from sensors.sources import synthetic_day

        t0 = time.time()
        fire = None if self.fire_after is None else self.backfill + self.fire_after
        events = synthetic_day(self.ingestor.campus, seed=self.seed, start=t0 - self.backfill, duration=self.backfill + self.span,
                               fire_at=fire, registry=self.ingestor.registry)
        after = self.ingestor.state.d["clock"] or 0.0
        self._events = deque({k: v for k, v in ev.items() if k != "seq"} for ev in events if ev["ts"] > after)
        self._send(t0)
        self._thread = threading.Thread(target=self._run, name="twin-demo-feed", daemon=True)
        self._thread.start()

    def _send(self, now: float) -> None:
        due = []
        while self._events and self._events[0]["ts"] <= now:
            due.append(self._events.popleft())
        for k in range(0, len(due), 2000):
            self.ingestor.submit(due[k:k + 2000], source="demo")
        self.sent += len(due)

    def _run(self) -> None:
        while not self._stop.wait(self.tick) and self._events:
            self._send(time.time())

    def stop(self) -> None:
        """Stop sending."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)


# -- pages -------------------------------------------------------------------------

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


def _csp(nonce: str) -> str:
    return (f"default-src 'self'; script-src 'nonce-{nonce}'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
            "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'; object-src 'none'")


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


class AlarmAction(BaseModel):
    """Body of ``POST /api/alarms/{id}/ack`` and ``/clear``."""

    since: float | None = Field(None, description="Start (epoch s) of the alarm as the operator saw it; 409 when the alarm has restarted since.")
    note: str | None = Field(None, max_length=int(default("live.note_max")), description="Optional note stored with the action.")


class AlarmNote(BaseModel):
    """Body of ``POST /api/alarms/{id}/note``."""

    since: float | None = Field(None, description="Start (epoch s) of the alarm as the operator saw it.")
    text: str = Field(min_length=1, max_length=int(default("live.note_max")), description="The note.")


def create_app(ingestor: Ingestor, *, users: Users | str | Path, device_keys: Iterable[str] = (), max_body: int = MAX_BODY,
               max_batch: int = MAX_BATCH, mqtt: Any = None, audit: AuditLog | None = None,
               demo: DemoFeed | None = None, throttle: Throttle | None = None) -> FastAPI:
    """The FastAPI application for one ingestor.

    Parameters
    ----------
    ingestor : Ingestor
        Store, registry and live state.
    users : Users or path
        The users file operators log in with (``twin user add``).
    device_keys : iterable of str
        Bearer keys sensors and gateways post with; with none, every post is refused.
    mqtt : MqttIngest, optional
        An MQTT adapter started and stopped with the app.
    audit : AuditLog, optional
        The operator audit trail (default: a table in the event store's file).
        Its actions are applied to the live state at start.
    demo : DemoFeed, optional
        A synthetic feed started and stopped with the app.
    throttle : Throttle, optional
        Failed-login throttling (default: the ``auth.login_*`` settings).
    """
    from viz.live_map import CSRF, NONCE, STATIC, AUDIT_SHOWN, Layout, live_page, live_view

    keys = [k.encode() for k in device_keys]
    users = users if isinstance(users, Users) else Users(users)
    sessions = Sessions(users)
    throttle = throttle or Throttle()
    audit = audit or AuditLog(ingestor.store.path)
    with ingestor.lock:
        for rec in audit.records():
            ingestor.state.operator(rec)
    recent = deque(audit.records(limit=AUDIT_SHOWN), maxlen=AUDIT_SHOWN)
    layout = Layout(ingestor.campus, ingestor.registry)
    page: list[str] = []

    def render() -> str:
        with ingestor.lock:
            now = max(time.time(), ingestor.state.d["clock"] or 0.0)
            doc = live_view(ingestor.state, layout, list(recent), now)
        return json.dumps(doc, separators=(",", ":"))

    hub = LiveHub(ingestor, render)
    ingestor.listeners.append(hub.on_events)

    @asynccontextmanager
    async def lifespan(app: FastAPI):  # noqa: ANN202 - the FastAPI lifespan protocol
        task = asyncio.create_task(hub.run())
        if mqtt is not None:
            mqtt.start()
        if demo is not None:
            await run_in_threadpool(demo.start)
        try:
            yield
        finally:
            task.cancel()
            if demo is not None:
                demo.stop()
            if mqtt is not None:
                mqtt.stop()

    app = FastAPI(title="Campus Twin", lifespan=lifespan, docs_url=None, redoc_url=None, openapi_url=None,
                  description="Sensor ingest (device keys), the live state and the operator's alarm workflow (logins).")
    app.state.ingestor = ingestor
    app.state.hub = hub
    app.state.sessions = sessions
    app.state.audit = audit
    app.add_middleware(Gate, sessions=sessions)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")

    def authorised(request: Request) -> bool:
        h = request.headers.get("authorization", "")
        scheme, _, token = h.partition(" ")
        if scheme.lower() != "bearer" or not token:
            return False
        t = token.strip().encode()
        return any(hmac.compare_digest(t, k) for k in keys)

    # -- login ---------------------------------------------------------------------

    @app.get("/login", response_class=HTMLResponse, summary="The login form")
    def get_login(request: Request, next: str = "/") -> Response:  # noqa: A002 - the query parameter's name
        if request.scope.get("twin.session") is not None:
            return RedirectResponse(_safe_next(next), status_code=303)
        return _static_html(login_page(next_path=_safe_next(next)))

    @app.post("/login", summary="Log in", description="Form or JSON body with username and password (and next). "
              "Sets the session cookie; answers 303 to the page (form) or the session (JSON). 401 for a wrong name or "
              "password, 429 after too many failures.",
              openapi_extra={"requestBody": {"content": {"application/x-www-form-urlencoded": {"schema": {
                  "type": "object", "required": ["username", "password"],
                  "properties": {"username": {"type": "string"}, "password": {"type": "string"}, "next": {"type": "string"}}}}}}})
    async def post_login(request: Request) -> Response:
        body = bytearray()
        async for chunk in request.stream():
            body += chunk
            if len(body) > LOGIN_BODY_MAX:
                return JSONResponse({"error": "login body too large"}, status_code=413)
        as_json = request.headers.get("content-type", "").startswith("application/json")
        try:
            if as_json:
                doc = json.loads(body)
                form = {k: str(doc.get(k, "")) for k in ("username", "password", "next")} if isinstance(doc, dict) else {}
            else:
                form = {k: v[0] for k, v in parse_qs(body.decode("utf-8"), keep_blank_values=True).items()}
        except (ValueError, UnicodeDecodeError):
            form = {}
        name, password, nxt = form.get("username", ""), form.get("password", ""), _safe_next(form.get("next", "/"))
        client = request.client.host if request.client else "?"
        wait = throttle.retry_after(f"ip:{client}", f"user:{name}")
        if wait > 0:
            msg = f"too many failed logins: try again in {wait:.0f} s"
            headers = {"Retry-After": str(int(wait) + 1)}
            if as_json:
                return JSONResponse({"error": msg}, status_code=429, headers=headers)
            return _static_html(login_page(error=msg, next_path=nxt), status_code=429, headers=headers)
        user = await run_in_threadpool(users.authenticate, name, password) if name and password else None
        if user is None:
            throttle.fail(f"ip:{client}", f"user:{name}")
            msg = "wrong user name or password"
            if as_json:
                return JSONResponse({"error": msg}, status_code=401)
            return _static_html(login_page(error=msg, next_path=nxt), status_code=401)
        throttle.succeed(f"user:{name}")
        s = sessions.create(user)
        resp: Response = JSONResponse(s.as_dict()) if as_json else RedirectResponse(nxt, status_code=303)
        resp.set_cookie(COOKIE, s.token, httponly=True, samesite="strict", secure=request.url.scheme == "https", path="/")
        return resp

    @app.post("/logout", summary="Log out (ends the session)")
    def post_logout(request: Request) -> JSONResponse:
        sessions.end(session_of(request).token)
        resp = JSONResponse({"ok": True})
        resp.delete_cookie(COOKIE, path="/", httponly=True, samesite="strict")
        return resp

    @app.get("/api/session", summary="Who is logged in, their role and the CSRF token for state changes")
    def get_session(request: Request) -> JSONResponse:
        return JSONResponse(session_of(request).as_dict())

    @app.get("/api/users", summary="The users and their roles (admin; never the hashes)")
    def get_users(s: Session = Depends(needs("admin"))) -> JSONResponse:  # noqa: B008 - FastAPI dependency
        users.refresh()
        return JSONResponse({"users": [{"name": u.name, "role": u.role, "created": u.created, "changed": u.changed}
                                       for u in sorted(users.users.values(), key=lambda u: u.name)]})

    # -- the map -------------------------------------------------------------------

    @app.get("/", response_class=HTMLResponse, summary="The live security map")
    def get_map(request: Request) -> HTMLResponse:
        if not page:
            page.append(live_page(ingestor.campus))
        nonce = secrets.token_urlsafe(16)
        body = page[0].replace(NONCE, nonce).replace(CSRF, session_of(request).csrf)
        return HTMLResponse(body, headers={"Content-Security-Policy": _csp(nonce)})

    @app.get("/api/layout", summary="What the map draws once: footprints, sensor positions, camera viewsheds (WGS 84)")
    def get_layout() -> JSONResponse:
        return JSONResponse(layout.doc)

    @app.get("/api/view", summary="The live view the map draws (also pushed over /ws)")
    def get_view() -> Response:
        return Response(render(), media_type="application/json")

    @app.websocket("/ws")
    async def ws(websocket: WebSocket) -> None:
        await hub.serve(websocket, websocket.scope["twin.session"], sessions)

    # -- the alarm workflow ----------------------------------------------------------

    @app.get("/api/alarms", summary="The alarm panel (priority, then time) and the history of cleared alarms")
    def get_alarms(history: int = 100) -> JSONResponse:
        with ingestor.lock:
            panel = ingestor.state.panel()
        cleared = [r for r in audit.records() if r["action"] == "clear"][-max(0, history):][::-1] if history > 0 else []
        return JSONResponse({"alarms": panel, "history": cleared})

    def act(alarm_id: str, action: str, s: Session, since: float | None, note: str | None) -> JSONResponse:
        with ingestor.lock:
            a = ingestor.state.panel_alarm(alarm_id)
            if a is None:
                return JSONResponse({"error": f"no alarm {alarm_id!r} on the panel (cleared, or never raised)"}, status_code=404)
            if since is not None and abs(a["since"] - since) > 1e-3:
                return JSONResponse({"error": f"alarm {alarm_id!r} has restarted since (now since {a['since']}); look again",
                                     "alarm": a}, status_code=409)
            if action == "ack" and a["ack"] is not None:
                return JSONResponse({"error": f"alarm {alarm_id!r} was already acknowledged by {a['ack']['user']} "
                                              f"at {_hms(a['ack']['ts'])}", "alarm": a}, status_code=409)
            if action == "clear" and a["active"]:
                return JSONResponse({"error": f"alarm {alarm_id!r} cannot be cleared: its source is still active. "
                                              "Acknowledge it; clear it once its sensor restores.", "alarm": a}, status_code=409)
            named = {**a, "name": layout.doc["sensors"].get(a["sensor_id"], {}).get("name")}
            rec = audit.append(user=s.user, role=s.role, action=action, alarm=named, note=note or None)
            ingestor.state.operator(rec)
            after = ingestor.state.panel_alarm(alarm_id)
        recent.append(rec)
        hub.poke()
        return JSONResponse({"ok": True, "action": rec, "alarm": after})

    @app.post("/api/alarms/{alarm_id}/ack", summary="Acknowledge an alarm (operator)",
              description="Stored in the audit trail (who, when) before the answer. 404: not on the panel; "
                          "409: already acknowledged, or restarted since the given time.")
    def ack(alarm_id: str, body: AlarmAction | None = None, s: Session = Depends(needs("operator"))) -> JSONResponse:  # noqa: B008
        body = body or AlarmAction()
        return act(alarm_id, "ack", s, body.since, body.note)

    @app.post("/api/alarms/{alarm_id}/note", summary="Add a note to an alarm (operator)")
    def note(alarm_id: str, body: AlarmNote, s: Session = Depends(needs("operator"))) -> JSONResponse:  # noqa: B008
        return act(alarm_id, "note", s, body.since, body.text)

    @app.post("/api/alarms/{alarm_id}/clear", summary="Clear a restored alarm from the panel (operator)",
              description="Only an alarm whose sensor has restored can be cleared (409 while its source is active); "
                          "it leaves the panel and stays in the history (GET /api/alarms, GET /api/audit).")
    def clear(alarm_id: str, body: AlarmAction | None = None, s: Session = Depends(needs("operator"))) -> JSONResponse:  # noqa: B008
        body = body or AlarmAction()
        return act(alarm_id, "clear", s, body.since, body.note)

    @app.get("/api/audit", summary="The audit trail: every acknowledge, note and clear, who and when (oldest first)")
    def get_audit(limit: int = 500, alarm: str | None = None) -> JSONResponse:
        return JSONResponse({"audit": audit.records(limit=max(1, min(limit, 100_000)), alarm=alarm)})

    # -- ingest and state ------------------------------------------------------------

    @app.post("/api/events", summary="Sensor ingest (device key: Authorization: Bearer KEY)")
    async def post_events(request: Request) -> JSONResponse:
        if not authorised(request):
            return JSONResponse({"error": "a valid device key is required: Authorization: Bearer KEY"}, status_code=401,
                                headers={"WWW-Authenticate": "Bearer"})
        declared = request.headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > max_body:
            return JSONResponse({"error": f"body of {int(declared):,} bytes is over the limit of {max_body:,} bytes"}, status_code=413)
        body = bytearray()
        async for chunk in request.stream():
            body += chunk
            if len(body) > max_body:
                return JSONResponse({"error": f"body is over the limit of {max_body:,} bytes"}, status_code=413)
        raws = split_body(bytes(body))
        if len(raws) > max_batch:
            return JSONResponse({"error": f"{len(raws):,} events in one request; the limit is {max_batch:,}"}, status_code=413)
        outcomes = await run_in_threadpool(_submit, ingestor, raws)
        results = [o.as_dict() for o in outcomes]
        totals = {s: sum(r["status"] == s for r in results) for s in ("accepted", "duplicate", "rejected")}
        return JSONResponse({**totals, "results": results})

    @app.get("/api/state", summary="The live state (at the wall clock, ?now=EPOCH, or ?clock=events)")
    def get_state(now: float | None = None, clock: str = "wall") -> JSONResponse:
        if clock not in ("wall", "events"):
            return JSONResponse({"error": f"clock must be 'wall' or 'events', got {clock!r}"}, status_code=422)
        if now is None and clock == "wall":
            now = max(time.time(), ingestor.state.d["clock"] or 0.0)
        return JSONResponse(ingestor.snapshot(now))

    @app.get("/api/sensors", summary="The sensor registry")
    def get_sensors() -> JSONResponse:
        return JSONResponse({"sensors": [s.as_dict() for s in ingestor.registry.sensors.values()],
                             "by_type": ingestor.registry.summary()})

    @app.get("/api/forecast", summary="The latest evacuation forecasts, by scope")
    def get_forecast() -> JSONResponse:
        with ingestor.lock:
            return JSONResponse(dict(ingestor.state.d["forecasts"]))

    @app.get("/api/health", summary="Liveness (and whether the MQTT link is up) without a login; store size and counters with one")
    def get_health(request: Request) -> JSONResponse:
        if request.scope.get("twin.session") is None:  # a monitoring probe: up, and the feed link up; nothing else
            return JSONResponse({"ok": True, **({"mqtt": {"connected": mqtt.status()["connected"]}} if mqtt is not None else {})})
        doc = {"ok": True, "events": ingestor.store.count(), "counters": ingestor.store.counters(),
               "map_clients": len(hub.clients), "pushes": hub.pushes}
        if mqtt is not None:
            doc["mqtt"] = mqtt.status()
        return JSONResponse(doc)

    # -- the API's own description (behind the login like everything else) ----------

    @app.get("/openapi.json", include_in_schema=False)
    def get_openapi() -> JSONResponse:
        return JSONResponse(app.openapi())

    @app.get("/docs", include_in_schema=False, response_class=HTMLResponse)
    def get_docs() -> HTMLResponse:
        return _static_html(docs_page(app.openapi()))

    return app


def _static_html(body: str, *, status_code: int = 200, headers: dict[str, str] | None = None) -> HTMLResponse:
    """A page with no script at all (login, API reference): its CSP allows none."""
    csp = "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    return HTMLResponse(body, status_code=status_code, headers={**(headers or {}), "Content-Security-Policy": csp})


def _safe_next(path: str) -> str:
    """Where to go after logging in: a local path only (never another site)."""
    return path if path.startswith("/") and not path.startswith("//") and "\\" not in path else "/"


def _hms(ts: float) -> str:
    return time.strftime("%H:%M:%S UTC", time.gmtime(ts))


def _submit(ingestor: Ingestor, raws: list[Any]) -> list[Any]:
    from sensors.events import Outcome

    big = [isinstance(r, dict) and "__oversized__" in r for r in raws]
    done = iter(ingestor.submit([r for r, b in zip(raws, big, strict=True) if not b], source="HTTP"))
    return [Outcome("rejected", None, None, f"event over {MAX_EVENT:,} bytes", None) if b else next(done) for b in big]

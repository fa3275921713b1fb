"""Who may use the live console: sessions, login throttling, the gate every request passes, the login routes.

Operators log in with a name and password from the users file
(``twin.auth.Users``, managed with ``twin user``). A login starts a
:class:`Session`: a random token held in memory (a restart logs everyone out)
and sent as the ``HttpOnly``, ``SameSite=Strict`` cookie :data:`COOKIE`
(``Secure`` over HTTPS). A session ends after ``auth.session_idle`` seconds
without a request, on logout, or within a second of its user being removed,
changing role or changing password in the users file; a user added to the
file can log in at once (each login reads the file when it changed). Failed
logins are throttled per user name and client address together
(:class:`Throttle`, ``auth.login_*``), and the client address comes from
``X-Forwarded-For`` only behind a trusted proxy (:func:`client_address`).
Password checks run on threads of their own (:data:`LOGIN_THREADS`), so a
burst of logins never holds up the other routes.

:class:`Gate` (ASGI middleware) closes every route and the WebSocket to
requests without a live session, except :data:`PUBLIC`. A state-changing
request must also come from the page's own origin (``Origin`` header) and
carry the session's CSRF token (header :data:`CSRF_HEADER`); the WebSocket
handshake is checked for the origin too. Route handlers check roles with
``Depends(needs("operator"))``.

Routes: ``GET /login``, ``POST /login`` (form or JSON), ``POST /logout``,
``GET /api/session``, ``GET /api/users`` and ``POST /api/users/{name}/unlock`` (admin).
"""

from __future__ import annotations

import hmac
import json
import secrets
import threading
import time
from collections import defaultdict, deque
from dataclasses import dataclass
from http.cookies import SimpleCookie
from typing import Any
from urllib.parse import parse_qs, quote

import anyio
import anyio.to_thread
from fastapi import Depends, FastAPI, HTTPException, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.datastructures import Headers

from twin.auth import User, Users, UsersFileError, role_at_least
from twin.settings import default
from viz.live.pages import login_page, static_html

COOKIE = "twin_session"
"""Name of the session cookie."""
CSRF_HEADER = "x-csrf-token"
"""Header every state-changing request carries the session's CSRF token in."""
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
PUBLIC = frozenset({("GET", "/login"), ("POST", "/login"), ("GET", "/api/health"), ("POST", "/api/events")})
"""(method, path) open without a login: the login form, the bare health probe, device-key ingest."""
LOGIN_BODY_MAX = 4096
"""Largest login request body (bytes)."""
KEYS_KEPT = 10_000
"""Throttled (user name, address) pairs kept before expired ones are swept out."""
LOGIN_THREADS = 2
"""Password checks run at once, each on a thread of its own (scrypt: 16 MiB and about 0.25 s each), never on the
threads that serve the other routes."""
LOGIN_QUEUE = 32
"""Logins waiting for a password check before more are refused with 429."""


# -- sessions and throttling -----------------------------------------------------


@dataclass
class Session:
    """One logged-in browser: its user, role, CSRF token and last use (epoch s)."""

    token: str
    user: str
    role: str
    csrf: str
    created: float
    seen: float
    stamp: str
    """The user's password hash at login: a changed password ends the session."""

    def as_dict(self) -> dict[str, Any]:
        """What the page may know about its session (never the session token)."""
        return {"user": self.user, "role": self.role, "csrf": self.csrf, "since": self.created}


class Sessions:
    """In-memory sessions checked against the users file on every use.

    Parameters
    ----------
    users : Users
        The users file (re-read when it changes on disk).
    idle : float
        Seconds without a request after which a session ends.
    """

    def __init__(self, users: Users, *, idle: float | None = None) -> None:
        self.users = users
        self.idle = float(default("auth.session_idle") if idle is None else idle)
        self._by_token: dict[str, Session] = {}
        self._lock = threading.Lock()
        self._checked = 0.0

    def create(self, user: User) -> Session:
        """A new session for ``user``."""
        now = time.time()
        s = Session(secrets.token_urlsafe(32), user.name, user.role, secrets.token_urlsafe(32), now, now, user.hash)
        with self._lock:
            self._by_token[s.token] = s
        return s

    def get(self, token: str | None, *, touch: bool = True) -> Session | None:
        """The live session for a cookie value, or None (expired, logged out, user removed or role changed)."""
        if not token:
            return None
        now = time.time()
        if now - self._checked > 1.0:  # a removed user or a changed role ends their sessions within a second
            self._checked = now
            try:
                self.users.refresh()
            except UsersFileError:
                self.users.users = {}  # an unreadable users file lets nobody in
        with self._lock:
            s = self._by_token.get(token)
            if s is None:
                return None
            u = self.users.users.get(s.user)
            if u is None or u.role != s.role or u.hash != s.stamp or now - s.seen > self.idle:
                del self._by_token[token]
                return None
            if touch:
                s.seen = now
            return s

    def end(self, token: str | None) -> None:
        """Log a session out."""
        with self._lock:
            self._by_token.pop(token or "", None)


class Throttle:
    """Failed logins counted per user name *and* client address, with an exponential lock-out of that pair only.

    After ``limit`` failures of one name from one address within ``window``
    seconds, that name is locked for that address for ``lock`` seconds,
    doubling with every further failure up to ``lock_max``. The same user from
    another address, and every other user from the same (shared control-room)
    address, can still log in, so wrong passwords cannot lock everyone out.
    A good login, or an admin's unlock (``POST /api/users/{name}/unlock``),
    forgets the name's failures.

    Parameters
    ----------
    limit : int
        Failures allowed before the pair is locked.
    window : float
        Seconds a failure counts for (s).
    lock, lock_max : float
        First and longest lock-out (s).
    """

    def __init__(self, *, limit: int | None = None, window: float | None = None, lock: float | None = None,
                 lock_max: float | None = None) -> None:
        self.limit = int(default("auth.login_failures") if limit is None else limit)
        self.window = float(default("auth.login_window") if window is None else window)
        self.lock = float(default("auth.login_lock") if lock is None else lock)
        self.lock_max = float(default("auth.login_lock_max") if lock_max is None else lock_max)
        self._fails: dict[tuple[str, str], deque[float]] = defaultdict(deque)
        self._lock = threading.Lock()

    def retry_after(self, user: str, address: str) -> float:
        """Seconds until ``user`` may try again from ``address`` (0: now)."""
        now = time.time()
        with self._lock:
            q = self._fails.get((user, address))
            if not q:
                return 0.0
            while q and now - q[0] > max(self.window, self._lockout(len(q))):
                q.popleft()
            if len(q) < self.limit:
                return 0.0
            return max(0.0, q[-1] + self._lockout(len(q)) - now)

    def _lockout(self, failures: int) -> float:
        """The lock after ``failures`` failures: ``lock`` at ``limit``, doubling after, at most ``lock_max``."""
        if failures < self.limit:
            return 0.0
        return min(self.lock * 2.0 ** min(failures - self.limit, 30), self.lock_max)

    def fail(self, user: str, address: str) -> None:
        """Count one failure of ``user`` from ``address`` (pairs whose failures have all expired are forgotten)."""
        now = time.time()
        with self._lock:
            self._fails[(user, address)].append(now)
            if len(self._fails) > KEYS_KEPT:  # many names or addresses tried: drop the ones that no longer count
                for k in [k for k, q in self._fails.items()
                          if not q or now - q[-1] > max(self.window, self._lockout(len(q)))]:
                    del self._fails[k]

    def succeed(self, user: str, address: str) -> None:
        """Forget the failures of ``user`` from ``address`` (a good login)."""
        with self._lock:
            self._fails.pop((user, address), None)

    def unlock(self, user: str) -> int:
        """Forget every failure of ``user`` from every address (an admin's unlock); how many addresses were locked."""
        with self._lock:
            pairs = [k for k in self._fails if k[0] == user]
            locked = sum(len(self._fails[k]) >= self.limit for k in pairs)
            for k in pairs:
                del self._fails[k]
        return locked


def client_address(request: Request) -> str:
    """The client's address: the connecting peer, or, when the peer is a trusted proxy, the last untrusted ``X-Forwarded-For`` hop.

    Trusted proxies are ``app.state.trusted_proxies`` (``twin serve
    --trusted-proxy``); without any, ``X-Forwarded-For`` is ignored, so a
    client cannot choose its own address.
    """
    peer = request.client.host if request.client else "?"
    trusted: frozenset[str] = getattr(request.app.state, "trusted_proxies", frozenset())
    if peer not in trusted:
        return peer
    hops = [h.strip() for h in ",".join(request.headers.getlist("x-forwarded-for")).split(",") if h.strip()]
    for hop in reversed(hops):
        if hop not in trusted:
            return hop[:64]
    return peer


# -- the gate ----------------------------------------------------------------------


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


def safe_next(path: str) -> str:
    """Where to go after logging in: a local path only (never another site)."""
    return path if path.startswith("/") and not path.startswith("//") and "\\" not in path else "/"


# -- login routes (the app holds ``users``, ``sessions`` and ``throttle`` in ``app.state``) --------------

_LOGIN_BODY = {"requestBody": {"content": {"application/x-www-form-urlencoded": {"schema": {
    "type": "object", "required": ["username", "password"],
    "properties": {"username": {"type": "string"}, "password": {"type": "string"}, "next": {"type": "string"}}}}}}}


def get_login(request: Request, next: str = "/") -> Response:  # noqa: A002 - the query parameter's name
    if request.scope.get("twin.session") is not None:
        return RedirectResponse(safe_next(next), status_code=303)
    return static_html(login_page(next_path=safe_next(next)))


async def post_login(request: Request) -> Response:
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > LOGIN_BODY_MAX:
            return JSONResponse({"error": "login body too large"}, status_code=413)
    as_json = request.headers.get("content-type", "").startswith("application/json")
    form = _login_form(bytes(body), as_json=as_json)
    name, password, nxt = form.get("username", ""), form.get("password", ""), safe_next(form.get("next", "/"))
    state = request.app.state
    throttle: Throttle = state.throttle
    client = client_address(request)
    wait = throttle.retry_after(name, client)
    if wait > 0:
        return _refused(f"too many failed logins for {name!r} from this address: try again in {wait:.0f} s (or ask an admin to unlock)",
                        429, wait, as_json=as_json, nxt=nxt)
    if getattr(state, "login_limiter", None) is None:  # made here: it belongs to the running event loop
        state.login_limiter = anyio.CapacityLimiter(LOGIN_THREADS)
    limiter: anyio.CapacityLimiter = state.login_limiter
    # counted here, not read from the limiter: run_sync may yield before it queues on the limiter, and logins
    # arriving together would all see the queue as it was
    if getattr(state, "logins_in_flight", 0) >= LOGIN_THREADS + LOGIN_QUEUE:
        return _refused("too many logins at once: try again in a few seconds", 429, 2.0, as_json=as_json, nxt=nxt)
    state.logins_in_flight = getattr(state, "logins_in_flight", 0) + 1
    try:
        user = await anyio.to_thread.run_sync(state.users.authenticate, name, password, limiter=limiter) if name and password else None
    finally:
        state.logins_in_flight -= 1
    if user is None:
        throttle.fail(name, client)
        return _refused("wrong user name or password", 401, None, as_json=as_json, nxt=nxt)
    throttle.succeed(name, client)
    s = state.sessions.create(user)
    resp: Response = JSONResponse(s.as_dict()) if as_json else RedirectResponse(nxt, status_code=303)
    resp.set_cookie(COOKIE, s.token, httponly=True, samesite="strict", secure=request.url.scheme == "https", path="/")
    return resp


def _refused(msg: str, status: int, wait: float | None, *, as_json: bool, nxt: str) -> Response:
    """A refused login, as JSON or as the login page with the message."""
    headers = {"Retry-After": str(int(wait) + 1)} if wait is not None else None
    if as_json:
        return JSONResponse({"error": msg}, status_code=status, headers=headers)
    return static_html(login_page(error=msg, next_path=nxt), status_code=status, headers=headers)


def _login_form(body: bytes, *, as_json: bool) -> dict[str, str]:
    """username, password and next from a JSON or form body (empty when it is neither)."""
    try:
        if as_json:
            doc = json.loads(body)
            return {k: str(doc.get(k, "")) for k in ("username", "password", "next")} if isinstance(doc, dict) else {}
        return {k: v[0] for k, v in parse_qs(body.decode("utf-8"), keep_blank_values=True).items()}
    except (ValueError, UnicodeDecodeError):
        return {}


def post_logout(request: Request) -> JSONResponse:
    request.app.state.sessions.end(session_of(request).token)
    resp = JSONResponse({"ok": True})
    resp.delete_cookie(COOKIE, path="/", httponly=True, samesite="strict")
    return resp


def get_session(request: Request) -> JSONResponse:
    return JSONResponse(session_of(request).as_dict())


def get_users(request: Request, s: Session = Depends(needs("admin"))) -> JSONResponse:  # noqa: B008 - FastAPI dependency
    users: Users = request.app.state.users
    users.refresh()
    return JSONResponse({"users": [{"name": u.name, "role": u.role, "created": u.created, "changed": u.changed}
                                   for u in sorted(users.users.values(), key=lambda u: u.name)]})


def post_unlock(name: str, request: Request, s: Session = Depends(needs("admin"))) -> JSONResponse:  # noqa: B008 - FastAPI dependency
    locked = request.app.state.throttle.unlock(name)
    return JSONResponse({"user": name, "unlocked_addresses": locked})


def add_routes(app: FastAPI) -> None:
    """The login routes: ``GET /login``, ``POST /login``, ``POST /logout``, ``GET /api/session``, ``GET /api/users``."""
    app.add_api_route("/login", get_login, methods=["GET"], response_class=HTMLResponse, summary="The login form")
    app.add_api_route("/login", post_login, methods=["POST"], summary="Log in", openapi_extra=_LOGIN_BODY,
                      description="Form or JSON body with username and password (and next). Sets the session cookie; "
                      "answers 303 to the page (form) or the session (JSON). 401 for a wrong name or password, 429 after "
                      "too many failures.")
    app.add_api_route("/logout", post_logout, methods=["POST"], summary="Log out (ends the session)")
    app.add_api_route("/api/session", get_session, methods=["GET"],
                      summary="Who is logged in, their role and the CSRF token for state changes")
    app.add_api_route("/api/users", get_users, methods=["GET"], summary="The users and their roles (admin; never the hashes)")
    app.add_api_route("/api/users/{name}/unlock", post_unlock, methods=["POST"],
                      summary="Forget a user's failed logins from every address (admin): ends a lock-out")

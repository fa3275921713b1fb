"""The console's OpenAPI document (``GET /openapi.json``, ``GET /docs``) and its one shape of error answer.

:func:`describe` gives an app the document FastAPI derives from its routes,
completed with what the routes check by hand: the security schemes (a device
key as a bearer token for ``POST /api/events``; the session cookie, and the
CSRF header on state changes, for everything else but :data:`PUBLIC
<viz.live.security.PUBLIC>`), the ingest request body (a JSON event, an array
of them, or NDJSON), the response models, and the refusals each route can
answer: 400, 401, 403, 404, 409, 413, 422, 429 and 507. Every refusal is the
:data:`ERROR` shape, ``{"error": "why"}``: :func:`add_error_handlers` makes
FastAPI's own 422 and ``HTTPException`` answers take it too, with the
problems named by field, a number too large for the store (an id of 2**64)
a 422, and a full disk under an audit or hazard write a 507 rather than a
500.

``tests/test_api_schema.py`` fuzzes the API from this document (schemathesis).
"""

from __future__ import annotations

import sqlite3
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from sensors.events import echo
from sensors.http import PATH as INGEST
from viz.live.security import COOKIE, CSRF_HEADER, PUBLIC

ERROR: dict[str, Any] = {
    "type": "object", "required": ["error"],
    "properties": {"error": {"type": "string", "minLength": 1, "description": "Why the request was refused, in words"},
                   "problems": {"type": "array", "description": "422: each problem with the field it names",
                                "items": {"type": "object", "properties": {"field": {"type": "string"},
                                                                           "message": {"type": "string"}}}}},
}
"""Every refusal's body."""
SCHEMES: dict[str, Any] = {
    "deviceKey": {"type": "http", "scheme": "bearer",
                  "description": "A device key (`--device-keys`, `$TWIN_DEVICE_KEYS`): sensors and gateways posting events. "
                                 "It opens nothing else."},
    "session": {"type": "apiKey", "in": "cookie", "name": COOKIE,
                "description": "The operator session `POST /login` sets (HttpOnly, SameSite=Strict)."},
    "csrf": {"type": "apiKey", "in": "header", "name": CSRF_HEADER,
             "description": "The session's CSRF token (`GET /api/session`), on every state change, with an `Origin` "
                            "of this server."},
}
EVENT: dict[str, Any] = {
    "type": "object", "required": ["sensor_id", "ts", "kind"],
    "description": "One sensor event (docs/sensors.md): kind-specific fields beside these; at most 16 KiB and 32 levels.",
    "properties": {"sensor_id": {"type": "string"}, "ts": {"type": ["string", "number"], "description": "ISO 8601 or epoch s"},
                   "kind": {"type": "string", "enum": ["crossing", "count", "fire", "status", "intrusion", "panic", "gate"]},
                   "seq": {"type": "integer", "minimum": 0, "description": "For deduplication"}},
}
MODELS: dict[str, Any] = {
    "Error": ERROR,
    "Event": EVENT,
    "IngestOutcome": {"type": "object", "required": ["status"], "properties": {
        "status": {"type": "string", "enum": ["accepted", "duplicate", "rejected"]}, "sensor_id": {"type": "string"},
        "seq": {"type": "integer"}, "field": {"type": "string"}, "reason": {"type": "string"}}},
    "IngestAnswer": {"type": "object", "required": ["accepted", "duplicate", "rejected", "results"], "properties": {
        "accepted": {"type": "integer"}, "duplicate": {"type": "integer"}, "rejected": {"type": "integer"},
        "results": {"type": "array", "items": {"$ref": "#/components/schemas/IngestOutcome"}}}},
    "Session": {"type": "object", "required": ["user", "role", "csrf"], "properties": {
        "user": {"type": "string"}, "role": {"type": "string", "enum": ["viewer", "operator", "admin"]},
        "csrf": {"type": "string"}}},
    "Health": {"type": "object", "required": ["ok"], "properties": {
        "ok": {"type": "boolean"}, "events": {"type": "integer"}, "counters": {"type": "object"},
        "map_clients": {"type": "integer"}, "pushes": {"type": "integer"}, "mqtt": {"type": "object"},
        "mqtt_publish": {"type": "object", "description": "The MQTT publisher's link (--publish): broker, protocol, "
                         "connected, published, delivered, last_publish (epoch s), error_count, errors"},
        "bacnet": {"type": "object", "description": "The fire panel's link: connected, points, subscribed, last_cov, "
                   "last_read (epoch s), received, stored, states, error_count, errors"}}},
    "AlarmActionAnswer": {"type": "object", "required": ["ok", "action"], "properties": {
        "ok": {"type": "boolean"}, "action": {"type": "object", "description": "The audit record stored"},
        "alarm": {"type": ["object", "null"], "description": "The alarm after the action (null: it left the panel)"}}},
}
"""Response models of the routes whose answers are built by hand (``JSONResponse``)."""
OK_MODEL = {("post", INGEST): "IngestAnswer", ("get", "/api/session"): "Session", ("get", "/api/health"): "Health",
            **{("post", f"/api/alarms/{{alarm_id}}/{a}"): "AlarmActionAnswer" for a in ("ack", "note", "clear")}}
REASONS = {400: "The body cannot be split into events at all", 401: "No valid device key, session, or password",
           403: "The role is too low, or a state change without this server's Origin and CSRF token",
           404: "No such alarm, finding or round", 409: "The alarm or finding changed since the operator saw it",
           413: "The body is over its size or event limit", 422: "A parameter or body field is invalid (each named)",
           429: "Too many failed logins for this user from this address (Retry-After), or too many at once",
           507: "The store's disk is full: nothing of the request was stored; send it again later"}


def describe(app: FastAPI) -> None:
    """Let ``app.openapi()`` answer the completed document (made once, at the first call)."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = document(app)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def document(app: FastAPI) -> dict[str, Any]:
    """The app's OpenAPI document with security schemes, the ingest body, response models and refusals."""
    doc = get_openapi(title=app.title, version=app.version, description=app.description, routes=app.routes)
    comps = doc.setdefault("components", {})
    schemas = comps.setdefault("schemas", {})
    schemas.pop("HTTPValidationError", None)
    schemas.pop("ValidationError", None)
    schemas.update(MODELS)
    comps["securitySchemes"] = SCHEMES
    for path, ops in doc["paths"].items():
        for method, op in ops.items():
            _complete(path, method, op)
    return doc


def _complete(path: str, method: str, op: dict[str, Any]) -> None:
    """One operation: its security, its body (ingest), its 200 model and the refusals it can answer."""
    codes: set[int] = {422} if op.get("parameters") or op.get("requestBody") else set()
    public = (method.upper(), path) in PUBLIC
    if path == INGEST:
        op["security"] = [{"deviceKey": []}]
        op["requestBody"] = {"required": True, "content": {
            "application/json": {"schema": {"oneOf": [{"$ref": "#/components/schemas/Event"},
                                                      {"type": "array", "items": {"$ref": "#/components/schemas/Event"}}]}},
            "application/x-ndjson": {"schema": {"type": "string", "description": "One JSON event per line"}}}}
        codes = {400, 401, 413, 507}
    elif public:
        op["security"] = []
        if (method, path) == ("post", "/login"):
            codes = {401, 403, 413, 429}
    else:
        op["security"] = [{"session": []}] if method == "get" else [{"session": [], "csrf": []}]
        codes |= {401} if method == "get" else {401, 403}
        if "{" in path:
            codes |= {404}
        if method == "post" and path.startswith(("/api/alarms/", "/api/hazards")):
            codes |= {403, 404, 409, 507}
        if path.startswith("/api/users"):
            codes |= {403}
    responses = op.setdefault("responses", {})
    responses.pop("422", None)
    model = OK_MODEL.get((method, path))
    ok = next((c for c in ("200", "303") if c in responses), None)
    if model is not None and ok == "200":
        responses["200"]["content"] = {"application/json": {"schema": {"$ref": f"#/components/schemas/{model}"}}}
    for c in sorted(codes):
        content: dict[str, Any] = {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
        if (method, path) == ("post", "/login") and c in (401, 429):  # a form post gets the form again, with the reason
            content["text/html"] = {"schema": {"type": "string"}}
        responses[str(c)] = {"description": REASONS[c], "content": content}


def add_error_handlers(app: FastAPI) -> None:
    """Every refusal as ``{"error": ...}``: FastAPI's 422 (problems by field), ``HTTPException``, a number too large for
    SQLite (422), a full disk (507)."""

    async def invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        problems = [{"field": echo(".".join(str(x) for x in e.get("loc", ()) if x != "body") or "body"),
                     "message": echo(str(e.get("msg", "invalid")))} for e in exc.errors()]
        text = "; ".join(f"{p['field']}: {p['message']}" for p in problems) or "invalid request"
        return JSONResponse({"error": text, "problems": problems}, status_code=422)

    async def refused(request: Request, exc: HTTPException) -> JSONResponse:
        return JSONResponse({"error": echo(str(exc.detail))}, status_code=exc.status_code, headers=exc.headers)

    async def disk(request: Request, exc: sqlite3.OperationalError) -> JSONResponse:
        if "full" in str(exc):
            return JSONResponse({"error": "the store's disk is full: nothing of this request was stored; free space and "
                                          "send it again"}, status_code=507)
        return JSONResponse({"error": f"the store cannot be written now ({exc}); try again"}, status_code=503)

    async def too_large(request: Request, exc: OverflowError) -> JSONResponse:
        return JSONResponse({"error": f"a number in the request is too large to be an id or a count ({echo(str(exc))})"},
                            status_code=422)

    app.add_exception_handler(RequestValidationError, invalid)  # type: ignore[arg-type]
    app.add_exception_handler(OverflowError, too_large)  # type: ignore[arg-type]
    app.add_exception_handler(HTTPException, refused)  # type: ignore[arg-type]
    app.add_exception_handler(sqlite3.OperationalError, disk)  # type: ignore[arg-type]

"""The twin's web server (``twin serve``): sensor ingest over HTTP and the live state API.

One FastAPI application object, built by ``create_app``; the operator map
joins this same server later. Routes:

- ``POST /api/events``: a JSON array of events, one JSON object, or NDJSON
  (one event per line). Needs a device key, ``Authorization: Bearer KEY``.
  Answers ``200`` with a result per event (``accepted``, ``duplicate``,
  ``rejected`` with ``field`` and ``reason``); valid events in a batch are
  kept whatever their neighbours. ``401`` without a valid key, ``413`` for a
  body over ``max_body`` bytes or ``max_batch`` events.
- ``GET /api/state``: the live state read at the wall clock (a sensor silent
  too long is offline, a fire spreads, even when no event arrives);
  ``?now=EPOCH`` reads it at that time, ``?clock=events`` at the latest event's
  time (as ``twin state`` does).
- ``GET /api/sensors``: the sensor registry.
- ``GET /api/forecast``: the latest forecasts.
- ``GET /api/health``: liveness, store size and counters.

Device keys are for sensors and gateways only, separate from any operator
login; reads are not keyed here (the server listens on loopback by default).
"""

from __future__ import annotations

import hmac
import json
import os
import time
from collections.abc import Iterable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from sensors.ingest import Ingestor

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


def create_app(ingestor: Ingestor, *, device_keys: Iterable[str] = (), max_body: int = MAX_BODY,
               max_batch: int = MAX_BATCH, mqtt: Any = None) -> FastAPI:
    """The FastAPI application for one ingestor.

    Parameters
    ----------
    ingestor : Ingestor
        Store, registry and live state.
    device_keys : iterable of str
        Bearer keys sensors and gateways post with; with none, every post is refused.
    mqtt : MqttIngest, optional
        An MQTT adapter started and stopped with the app.
    """
    keys = [k.encode() for k in device_keys]

    @asynccontextmanager
    async def lifespan(app: FastAPI):  # noqa: ANN202 - the FastAPI lifespan protocol
        if mqtt is not None:
            mqtt.start()
        try:
            yield
        finally:
            if mqtt is not None:
                mqtt.stop()

    app = FastAPI(title="Campus Twin", lifespan=lifespan)
    app.state.ingestor = ingestor

    def authorised(request: Request) -> bool:
        h = request.headers.get("authorization", "")
        scheme, _, token = h.partition(" ")
        if scheme.lower() != "bearer" or not token:
            return False
        t = token.strip().encode()
        return any(hmac.compare_digest(t, k) for k in keys)

    @app.post("/api/events")
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

    @app.get("/api/state")
    def get_state(now: float | None = None, clock: str = "wall") -> JSONResponse:
        if clock not in ("wall", "events"):
            return JSONResponse({"error": f"clock must be 'wall' or 'events', got {clock!r}"}, status_code=422)
        if now is None and clock == "wall":
            now = max(time.time(), ingestor.state.d["clock"] or 0.0)
        return JSONResponse(ingestor.snapshot(now))

    @app.get("/api/sensors")
    def get_sensors() -> JSONResponse:
        return JSONResponse({"sensors": [s.as_dict() for s in ingestor.registry.sensors.values()],
                             "by_type": ingestor.registry.summary()})

    @app.get("/api/forecast")
    def get_forecast() -> JSONResponse:
        with ingestor.lock:
            return JSONResponse(dict(ingestor.state.d["forecasts"]))

    @app.get("/api/health")
    def get_health() -> JSONResponse:
        doc = {"ok": True, "events": ingestor.store.count(), "counters": ingestor.store.counters()}
        if mqtt is not None:
            doc["mqtt"] = mqtt.status()
        return JSONResponse(doc)

    return app


def _submit(ingestor: Ingestor, raws: list[Any]) -> list[Any]:
    from sensors.events import Outcome

    big = [isinstance(r, dict) and "__oversized__" in r for r in raws]
    done = iter(ingestor.submit([r for r, b in zip(raws, big, strict=True) if not b], source="HTTP"))
    return [Outcome("rejected", None, None, f"event over {MAX_EVENT:,} bytes", None) if b else next(done) for b in big]

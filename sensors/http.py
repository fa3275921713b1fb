"""Sensor ingest over HTTP: ``POST /api/events`` with a device key, for any FastAPI app to include.

``add_ingest_route(app, ingestor, device_keys=...)`` adds the one route to a
FastAPI app; ``twin serve``'s app (``viz.live.app``) is built with it. The route needs
a device key (``Authorization: Bearer KEY``), never an operator login; a device
key opens nothing else.

The body is a JSON array of events, one JSON object, or NDJSON (one event per
line). The answer is ``200`` with a result per event (``accepted``,
``duplicate``, ``rejected`` with ``field`` and ``reason``); valid events in a
batch are kept whatever their neighbours, and an event over the limits
(``MAX_EVENT`` bytes, ``MAX_DEPTH`` levels, ``MAX_DIGITS`` digits, in
``sensors.events``) is rejected in its place. ``400`` for a body that cannot
be split into events at all, ``401`` without a valid key, ``413`` for a body
over ``max_body`` bytes or ``max_batch`` events, ``507`` when the store's disk
is full (nothing of the request is stored).

Keys come from a file (``--device-keys``) and/or ``$TWIN_DEVICE_KEYS``
(:func:`load_device_keys`).
"""

from __future__ import annotations

import hmac
import json
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from sensors.events import BodyError, echo, split_events
from sensors.ingest import Ingestor
from sensors.store import StoreFull

MAX_BODY = 4 * 1024 * 1024
"""Largest ``POST /api/events`` body (bytes)."""
MAX_BATCH = 10_000
"""Most events in one request."""
PATH = "/api/events"
"""Where the route is mounted (open without a login: it checks its device key itself)."""


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
    """A request body as raw events: a JSON array, one JSON object, or NDJSON lines.

    Each event is decoded alone with the limits of :func:`sensors.events.decode_event`
    (an event over them is a :class:`~sensors.events.Rejected` in its place).

    Raises
    ------
    BodyError
        When the body cannot be split into events at all (answered with 400).
    """
    return split_events(body)


def add_ingest_route(app: FastAPI, ingestor: Ingestor, *, device_keys: Iterable[str] = (), max_body: int = MAX_BODY,
                     max_batch: int = MAX_BATCH) -> None:
    """Add ``POST /api/events`` for ``ingestor`` to ``app``.

    Parameters
    ----------
    app : FastAPI
        The application.
    ingestor : Ingestor
        Where accepted events go.
    device_keys : iterable of str
        Bearer keys sensors and gateways post with; with none, every post is refused.
    max_body, max_batch : int
        Largest body (bytes) and most events in one request (413 beyond).
    """
    keys = [k.encode() for k in device_keys]

    def authorised(request: Request) -> bool:
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not token:
            return False
        t = token.strip().encode()
        return any(hmac.compare_digest(t, k) for k in keys)

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
        return await run_in_threadpool(handle, bytes(body))

    def handle(body: bytes) -> JSONResponse:
        """Split, store and answer a body (in a worker thread: decoding a batch and encoding its answer are most of
        a request's CPU, and in the event loop they would hold up every other request and the live map's pushes)."""
        try:
            raws = split_body(body)
        except BodyError as e:
            return JSONResponse({"error": echo(str(e), 400)}, status_code=400)
        if len(raws) > max_batch:
            return JSONResponse({"error": f"{len(raws):,} events in one request; the limit is {max_batch:,}"}, status_code=413)
        try:
            outcomes = ingestor.submit(raws, source="HTTP")
        except StoreFull as e:
            return JSONResponse({"error": f"{e}; nothing of this request was stored: send it again later"}, status_code=507)
        results = [o.as_dict() for o in outcomes]
        totals = {s: sum(r["status"] == s for r in results) for s in ("accepted", "duplicate", "rejected")}
        return JSONResponse({**totals, "results": results})  # encoded here, in this thread

    app.add_api_route(PATH, post_events, methods=["POST"], summary="Sensor ingest (device key: Authorization: Bearer KEY)")

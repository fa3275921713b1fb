"""The live console's application factory (``twin serve``): one FastAPI app for one ingestor.

:func:`create_app` puts the parts together: the gate and the login routes
(``viz.live.security``), the pages (``viz.live.pages``), the map's API and
WebSocket (``viz.live.api``, pushed by ``viz.live.hub``), and sensor ingest
(``POST /api/events`` from ``sensors.http``, with device keys instead of a
login). Every page, API route and the WebSocket need an operator login,
except ``GET /login``, ``POST /login``, ``POST /api/events`` and the bare
``GET /api/health``. The app starts and stops the hub's pusher, an MQTT
adapter and a demo feed with its lifespan.

Example::

    ingestor = Ingestor(campus, EventStore("events.sqlite"))
    app = create_app(ingestor, users="users.json", device_keys=load_device_keys("keys.txt"))
    uvicorn.run(app, host="127.0.0.1", port=8000)
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from starlette.concurrency import run_in_threadpool

from sensors.http import MAX_BATCH, MAX_BODY, add_ingest_route
from sensors.ingest import Ingestor
from twin.audit import AuditLog
from twin.auth import Users
from viz.live import api, cameras, hazards, openapi, pages, security
from viz.live.hub import LiveHub
from viz.live.procedures import Procedures
from viz.live.security import Gate, Sessions, Throttle
from viz.live.view import Console


def create_app(ingestor: Ingestor, *, users: Users | str | Path, device_keys: Iterable[str] = (), max_body: int = MAX_BODY,
               max_batch: int = MAX_BATCH, mqtt: Any = None, audit: AuditLog | None = None,
               demo: Any = None, throttle: Throttle | None = None, procedures: Procedures | None = None,
               trusted_proxies: Iterable[str] = (), bacnet: Any = None, publisher: Any = None) -> FastAPI:
    """The FastAPI application for one ingestor.

    Parameters
    ----------
    ingestor : Ingestor
        Store, registry and live state.
    users : Users or path
        The users file operators log in with (``twin user add``).
    device_keys : iterable of str
        Bearer keys sensors and gateways post with; with none, every post is refused.
    max_body, max_batch : int
        Largest ``POST /api/events`` body (bytes) and most events in one request.
    mqtt : MqttIngest, optional
        An MQTT adapter started and stopped with the app.
    audit : AuditLog, optional
        The operator audit trail (default: a table in the event store's file).
        Its actions are applied to the live state at start.
    demo : DemoFeed, optional
        A synthetic feed (``sensors.sources.DemoFeed``) started and stopped with the app.
    throttle : Throttle, optional
        Failed-login throttling (default: the ``auth.login_*`` settings).
    trusted_proxies : iterable of str
        Addresses of reverse proxies whose ``X-Forwarded-For`` names the client
        (``twin serve --trusted-proxy``); none by default.
    procedures : Procedures, optional
        The site's alarm procedures (``viz.live.procedures``), shown in the alarm cards.
    bacnet : BacnetFeed, optional
        A fire panel's BACnet feed (``sensors.adapters.bacnet``), started and stopped by its owner; its link is
        reported in ``GET /api/health``.
    publisher : MqttPublisher, optional
        The MQTT publisher of alarms, occupancy and forecasts (``sensors.adapters.publish``), started and stopped
        by its owner; its link is reported in ``GET /api/health`` as ``mqtt_publish``.
    """
    users = users if isinstance(users, Users) else Users(users)
    sessions = Sessions(users)
    console = Console(ingestor, audit or AuditLog(ingestor.store.path), procedures)
    hub = LiveHub(console.render)
    ingestor.subscribe(hub.on_events)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
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
    app.state.console = console
    app.state.audit = console.audit
    app.state.hub = hub
    app.state.users = users
    app.state.sessions = sessions
    app.state.throttle = throttle or Throttle()
    app.state.trusted_proxies = frozenset(trusted_proxies)
    app.state.mqtt = mqtt
    app.state.bacnet = bacnet
    app.state.publisher = publisher
    app.add_middleware(Gate, sessions=sessions)
    app.mount("/static", StaticFiles(directory=pages.STATIC), name="static")
    security.add_routes(app)
    pages.add_routes(app)
    api.add_routes(app)
    cameras.add_routes(app)
    hazards.add_routes(app)
    add_ingest_route(app, ingestor, device_keys=device_keys, max_body=max_body, max_batch=max_batch)
    openapi.describe(app)
    openapi.add_error_handlers(app)
    return app

"""The WebSocket hub: pushes the live view to every connected map.

One task in the server's event loop renders the view (``viz.live.view``) and
sends the same text to every client: at once (at most every
``live.push_min_gap`` seconds) after an alarm event, a forecast or an operator
action; otherwise coalesced, at least every ``live.push_interval`` seconds
while events arrive and every ``live.idle_refresh`` seconds when none do. A
slow client gets only the newest view (older ones are dropped), and a client
whose session ends is closed (code 1008).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from typing import Any

from fastapi import WebSocket, WebSocketDisconnect
from starlette.concurrency import run_in_threadpool

from twin.settings import default
from twin.state import is_alarm_event
from viz.live.security import Session, Sessions

log = logging.getLogger("twin.server")


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

    :meth:`on_events` is an ingest listener (``Ingestor.subscribe``), called
    from any thread with the records just applied; the hub's task (:meth:`run`,
    in the server's event loop) calls ``render`` for one view and sends the
    same text to every client, at most every ``live.push_min_gap`` seconds and
    at least every ``live.push_interval`` while events arrive.
    """

    def __init__(self, render: Callable[[], str]) -> None:
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

"""Fire alarm → evacuation forecast from the live state, stored as a ``forecast`` event.

When a detector goes into ``fire`` the twin asks "what if we evacuate now?":
it builds an evacuation scenario from the live state (people per building as
counted now, the fire room as the fire origin with the time it has already
burned taken off its spread delay, every other blocked part closed, exits
blocked by hazard findings in force too, narrowed ones at the width left) and runs
the evacuation engine once (seed 0, adaptive routes, which steer around
queues and closed parts). The forecast holds the predicted clearance of the
campus and of each building, the exits each building should use (the routes
the engine took around the fire) and the expected bottlenecks, with the hazard
findings in force and the rooms they leave with no working detector
(``scenarios.hazards``). It is stored through the same ingest path as sensor events (sensor ``twin``, kind
``forecast``), so the map shows it and a replay of the store reproduces it.

Buildings no sensor counts (no card doors, no cameras) are assumed at
``UNMEASURED_SHARE`` of their design occupants, and listed in the forecast.

Ingest does not know about forecasts: ``twin serve`` subscribes a
:class:`Forecaster` to its ingestor, whose new events it watches for fire
alarms and through which it stores the forecasts::

    forecaster = Forecaster(ingestor)
    ingestor.subscribe(forecaster.on_events)
    ...
    forecaster.stop()
    ingestor.close()
"""

from __future__ import annotations

import importlib
import multiprocessing as mp
import os
import signal
import threading
import time
from collections import defaultdict
from collections.abc import Sequence
from typing import Any, Protocol

import numpy as np

from twin.campus import Campus
from twin.state import LiveState

UNMEASURED_SHARE = 1.0
"""Share of design occupants assumed in a building no sensor counts: the cautious choice."""
SCOPES = ("campus", "building")
"""Forecasts made per fire alarm, one after the other: the whole campus first (what the console shows; it leads
with the burning building), then the burning building's people alone (the what-if of evacuating that building
only). Run side by side on two cores under ``bench_live``'s load, the building forecast made the campus one
0.2-0.3 s later (0.93-1.19 s against 0.66-0.82 s without it), past the 1 s target."""
MAX_SHARE = 5.0
"""The evacuation engine's most crowded occupancy (5 × design)."""
REFRESH_S = 30.0
"""While a fire is on, people counts arriving this long after the last forecast's trigger ask for a new forecast
(the operator sees it follow the evacuation; a modelling choice: about one campus forecast's time several times over)."""
COUNT_KINDS = frozenset({"crossing", "count"})
"""Event kinds that change people counts."""
WORKER_NICE = 5
"""How much lower the forecast worker's CPU priority is than the serving process's (``os.nice`` increment).

The serving process carries the alarm path (an alarm on every screen within
150 ms) and needs well under a core; a forecast takes a whole core for
seconds. When the two want the same core, the alarm wins: at +5 the scheduler
gives the server about three times a worker's share and lets a waking server
thread preempt a running forecast, so a forecast never delays an alarm,
while on a machine running nothing else the forecast loses only the little
CPU the server uses. Other work at normal priority on the same machine (a
report, a sweep) also comes before the forecast: run it niced, or give
``twin serve`` a higher weight (systemd ``CPUWeight=``, ``Nice=``), which a
process cannot do for itself without privileges.
"""


def make_forecast(state: LiveState, trigger: dict[str, Any], *, scope: str = "campus",
                  unmeasured_share: float = UNMEASURED_SHARE) -> dict[str, Any]:
    """Run the evacuation engine on the live state and return the forecast document.

    The same as ``run_forecast(state.campus, forecast_inputs(state, trigger, ...))``;
    the :class:`Forecaster` runs the two halves in two processes.

    Parameters
    ----------
    state : LiveState
        The live state (read, not changed).
    trigger : dict
        The fire event record that asked for it.
    scope : str
        ``building``: only the people of the burning building(s) (answers
        first); ``campus``: everyone on the campus now.
    unmeasured_share : float
        Share of design occupants assumed where no sensor counts.
    """
    return run_forecast(state.campus, forecast_inputs(state, trigger, scope=scope, unmeasured_share=unmeasured_share))


def forecast_inputs(state: LiveState, trigger: dict[str, Any], *, scope: str = "campus",
                    unmeasured_share: float = UNMEASURED_SHARE) -> dict[str, Any]:
    """What a forecast needs of the live state, as plain data (milliseconds; sent to the forecast worker).

    Parameters are those of :func:`make_forecast`. Returns the scenario
    document (``scenario``) and the counted and assumed people by building,
    the fires, the trigger and the hazards in force.
    """
    t0 = time.perf_counter()
    campus = state.campus
    f = campus.features
    now = trigger["ts"]
    occ = state.occupancy(now)["buildings"]
    shares: dict[str, float] = {}
    unmeasured = []
    counted: dict[str, int] = {}
    assumed: dict[str, int] = {}
    fires = state.fires()
    burning = {v["building"] for v in fires} or {f.at[trigger["sensor_id"], "building"]}
    for b in f.index[f["kind"] == "building"]:
        if scope == "building" and b not in burning:
            continue
        design = int(f.at[b, "occupants"])
        if b in occ:
            shares[b] = min(MAX_SHARE, occ[b]["count"] / design) if design else 0.0
            counted[str(b)] = int(occ[b]["count"])
        else:
            shares[b] = unmeasured_share
            unmeasured.append(str(b))
            assumed[str(b)] = round(design * unmeasured_share)
    origin = fires[0]["detector"] if fires else trigger["sensor_id"]
    since = fires[0]["since"] if fires else now
    spread = max(0.0, state.spread_delay - max(0.0, now - since))
    closable = {"room", "corridor", "door", "stair", "gate"}
    origin_node = f.at[origin, "node"] if origin in f.index else None
    blocked = sorted({b["node"] for b in state.blocked(now) if b["node"] != origin_node and b["node"] in f.index
                      and f.at[b["node"], "kind"] in closable})
    doc = {"kind": "evacuation", "campus": str(campus.source), "name": f"{scope} forecast: fire at {origin}", "seed": 0,
           "route": "adaptive", "occupancy": {"default": 0.0, "buildings": shares}, "blocked": blocked,
           "fire": {"origin": origin, "start": 0, "spread_delay": spread}}
    hazards = state.hazards()
    return {"scope": scope, "scenario": doc, "trigger": {k: trigger[k] for k in ("sensor_id", "ts")},
            "fire_building": fires[0]["building"] if fires else None, "origin_node": origin_node, "shares": shares,
            "counted": counted, "assumed": assumed, "unmeasured": unmeasured,
            "hazards": [{k: h[k] for k in ("id", "kind", "feature", "building", "status", "width")} for h in hazards],
            "faulty_detectors": [h["feature"] for h in hazards if h["kind"] == "detector_fault"],
            "read_s": time.perf_counter() - t0}


def run_forecast(campus: Campus, inputs: dict[str, Any]) -> dict[str, Any]:
    """Run the evacuation engine once for :func:`forecast_inputs` and return the forecast document.

    Parameters
    ----------
    campus : Campus
        The campus the live state is of.
    inputs : dict
        From :func:`forecast_inputs`.
    """
    from scenarios.evacuation import Drill
    from scenarios.hazards import narrowed_campus, rooms_without_detector
    from scenarios.schema import parse_scenario

    t0, cpu0 = time.perf_counter(), time.process_time()
    campus = narrowed_campus(campus, inputs["hazards"])  # narrowed findings in force: the width left (built once, kept)
    f = campus.features
    doc, scope = inputs["scenario"], inputs["scope"]
    origin, blocked, spread, origin_node = doc["fire"]["origin"], doc["blocked"], doc["fire"]["spread_delay"], inputs["origin_node"]
    counted, assumed, shares = inputs["counted"], inputs["assumed"], inputs["shares"]
    sc = parse_scenario(doc, "forecast")
    drill = Drill(campus, sc, source="forecast")
    rep = drill.run(0)
    clearance: dict[str, float] = defaultdict(float)
    trapped: dict[str, int] = defaultdict(int)  # who cannot get out: no way left, or overcome by smoke on the way
    overcome = rep.incapacitated_at if rep.incapacitated_at is not None else np.full(rep.occupants, np.nan)
    for b, t, tt, ti in zip(rep.building_of, rep.left_building, rep.trapped_at, overcome, strict=True):
        if b and t == t:
            clearance[b] = max(clearance[b], float(t))
        if b and (tt == tt or ti == ti):
            trapped[b] += 1
    routes: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for exit_id, n in sorted(rep.by_exit.items(), key=lambda kv: -kv[1]):
        b = f.at[exit_id, "building"] if exit_id in f.index and "building" in f.columns else None
        b = str(b) if isinstance(b, str) else "outdoor"
        routes[b].append({"exit": exit_id, "people": int(n)})
    fire_building = inputs["fire_building"]

    def building_of(server: str) -> str | None:
        """The building of a door, room or corridor server, or of the first end of a flight or path (``u~v``)."""
        node = server.split("~", 1)[0]
        b = campus.graph.nodes[node].get("building") if node in campus.graph else None
        return str(b) if isinstance(b, str) else None

    # the burning building's own bottlenecks lead, then the campus's worst
    worst = sorted((s for s in rep.servers if s["max_wait_s"] >= 0.1),
                   key=lambda s: (building_of(s["id"]) != fire_building, -s["max_wait_s"], -s["max_queue"], s["id"]))[:10]
    return {
        "scope": scope,
        "trigger": {**inputs["trigger"], "building": fire_building, "node": origin_node},
        "evacuation_time_s": round(rep.evacuation_time, 1),
        "building": fire_building,
        "building_clearance_s": round(clearance.get(fire_building, 0.0), 1) if fire_building else None,
        "by_building": {b: round(t, 1) for b, t in sorted(clearance.items())},
        "occupants": int(rep.occupants),
        "safe": len(rep.safe_times),
        "trapped": int(rep.trapped) + int(rep.incapacitated),
        "incapacitated": int(rep.incapacitated),
        "trapped_by_building": dict(sorted(trapped.items())),
        "routes": dict(sorted(routes.items())),
        "bottlenecks": [{"id": drill.label(s["id"]), "kind": s["kind"], "building": building_of(s["id"]),
                         "max_queue": round(s["max_queue"], 1), "max_wait_s": round(s["max_wait_s"], 1),
                         "passed": int(s["passed"])} for s in worst],
        "counted": sum(counted.values()),
        "assumed": sum(assumed.values()),
        "assumed_by_building": dict(sorted(assumed.items(), key=lambda kv: -kv[1])),
        "counted_by_building": dict(sorted(counted.items())),
        "blocked": blocked,
        "fire_origin": origin,
        "spread_delay_s": spread,
        "occupancy_share": {b: round(v, 4) for b, v in sorted(shares.items()) if v},
        "unmeasured": inputs["unmeasured"],
        "hazards": inputs["hazards"],
        "no_working_detector": sorted(rooms_without_detector(campus, inputs["faulty_detectors"])),
        "compute_s": round(time.perf_counter() - t0 + inputs["read_s"], 3),
        "cpu_s": round(time.process_time() - cpu0, 3),  # beside compute_s: how much a busy machine slowed it
    }


class Feed(Protocol):
    """What a forecaster needs of the ingest it listens to (``sensors.ingest.Ingestor`` is one)."""

    lock: Any
    """Held while the live state changes."""
    state: LiveState
    """The live state."""

    def submit(self, raws: Sequence[Any], *, source: str = ..., allow_twin: bool = ...) -> list[Any]:
        """Store and apply events (here: the twin's own ``forecast`` events)."""
        ...


ENGINE_MODULES = ("scenarios.forecast", "scenarios.evacuation", "scenarios.hazards", "scenarios.schema")
"""What a forecast worker runs: imported before the first alarm."""


class ForecastWorker:
    """One process that runs :func:`run_forecast` for the serving process, so a forecast never holds its GIL.

    The process starts at construction from a fork server (``multiprocessing``
    ``forkserver``: a clean process holding the engine's modules, never a fork
    of the serving process, whose threads, open files and store lock it must
    not inherit; spawned where there is no fork server), receives the campus
    once (pickled, under a megabyte for the demo campus) and keeps it, so each
    request carries only :func:`forecast_inputs` (kilobytes) and each answer
    one forecast document. It ends when the serving process closes its pipe
    or dies.

    Parameters
    ----------
    campus : Campus
        The campus the forecasts are of.
    """

    def __init__(self, campus: Campus) -> None:
        self.campus = campus
        if "forkserver" in mp.get_all_start_methods():
            ctx = mp.get_context("forkserver")
            ctx.set_forkserver_preload(list(ENGINE_MODULES))  # imported once in the fork server, for every worker
        else:
            ctx = mp.get_context("spawn")
        self._conn, child = ctx.Pipe()
        self.process = ctx.Process(target=_serve_forecasts, args=(campus, child), name="twin-forecast-worker", daemon=True)
        self.process.start()
        child.close()

    def run(self, inputs: dict[str, Any]) -> dict[str, Any]:
        """The forecast for ``inputs`` (blocks this thread, not the process).

        Raises
        ------
        ForecastError
            When the forecast failed in the worker (its reason), or the worker died (its exit code).
        """
        try:
            self._conn.send(inputs)
            ok, doc = self._conn.recv()
        except (EOFError, OSError):
            raise self._died() from None
        if not ok:
            raise ForecastError(doc)
        return doc

    def _died(self) -> ForecastError:
        self.process.join(timeout=1)
        return ForecastError(f"the forecast worker (pid {self.process.pid}) died (exit code {self.process.exitcode})")

    @property
    def alive(self) -> bool:
        """Whether the worker process is running."""
        return self.process.is_alive()

    def close(self) -> None:
        """End the worker (a forecast it is running is dropped)."""
        self.process.terminate()
        self.process.join(timeout=5)
        self._conn.close()


class ForecastError(RuntimeError):
    """A forecast that failed in the worker, with the reason."""


def warm_up(campus: Campus) -> None:
    """Make what every forecast on ``campus`` keeps for it ahead of the first alarm: the contracted graph and the
    places of every queue line (``Network.warm``). A forecast worker does this when it starts (0.1 s of CPU on the
    demo campus, at its lower priority), so the first forecast after a start, the one that matters, does not."""
    from scenarios.evacuation import Drill
    from scenarios.schema import parse_scenario

    doc = {"kind": "evacuation", "campus": str(campus.source), "occupancy": {"default": 0.0}}
    Drill(campus, parse_scenario(doc, "forecast warm-up")).warm()


def _serve_forecasts(campus: Campus, conn: Any) -> None:
    """The worker's loop: inputs in, ``(True, forecast)`` or ``(False, reason)`` out, until the pipe closes."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the server's to handle; it ends this process
    os.nice(WORKER_NICE)  # the serving process (the alarm path) comes first
    for module in ENGINE_MODULES:  # before the first alarm (already there from a fork server)
        importlib.import_module(module)
    try:
        warm_up(campus)
    except Exception:  # noqa: BLE001, S110 - a forecast on this campus meets the same error, and reports it
        pass

    while True:
        try:
            inputs = conn.recv()
        except (EOFError, OSError):
            return
        try:
            conn.send((True, run_forecast(campus, inputs)))
        except Exception as e:  # noqa: BLE001 - reported to the server, which lists it in Forecaster.errors
            conn.send((False, f"{type(e).__name__}: {e}"))


class Forecaster:
    """Runs forecasts in a worker process, one trigger at a time; triggers arriving meanwhile fold into one rerun.

    A thread of the serving process reads the live state under the ingest lock
    (:func:`forecast_inputs` for each scope, milliseconds, the same moment for
    both), hands the scopes in ``SCOPES`` order to its :class:`ForecastWorker`
    (``worker``; a new one if it died) and stores each forecast as it comes
    back: the campus forecast first, with the whole of the machine the
    server leaves, then the building one. The engine never runs in the
    serving process, so ingest and the console's pushes keep their pace
    during a forecast. While one runs, newer triggers replace older ones:
    only the latest runs next, the superseded are counted in ``dropped``.

    Parameters
    ----------
    feed : Feed
        The ingest it reads the live state of and stores its forecasts
        through; subscribe :meth:`on_events` to it to forecast on every fire
        alarm.
    unmeasured_share : float
        Share of design occupants assumed where no sensor counts.
    """

    def __init__(self, feed: Feed, *, unmeasured_share: float = UNMEASURED_SHARE) -> None:
        self.feed = feed
        self.unmeasured_share = unmeasured_share
        self._cond = threading.Condition()
        self._pending: tuple[dict[str, Any], float] | None = None
        self._stop = False
        self.done = 0
        self.dropped = 0
        """Triggers superseded by a newer one before their forecast started."""
        self.latency_s: dict[str, float] = {}
        """Seconds from the alarm's arrival to each forecast stored, by scope (the last run)."""
        self.errors: list[str] = []
        self._fire: dict[str, Any] | None = None
        """The fire event of the forecast being kept up to date (None: no fire on)."""
        self._asked = 0.0
        self._idle = threading.Event()
        self._idle.set()
        self.worker = ForecastWorker(feed.state.campus)
        """The process the forecasts run in, the scopes one after the other (``SCOPES``)."""
        self._thread = threading.Thread(target=self._run, name="twin-forecast", daemon=True)
        self._thread.start()

    def on_events(self, records: list[dict[str, Any]]) -> None:
        """Ingest listener: a forecast after the first detector in ``fire`` among the new records; a fresh one when
        counts change while that fire is on (at most every ``REFRESH_S`` of event time). The detector already
        followed repeating its fire (a Zigbee detector re-sends its state with every battery or link report) is
        no news and asks for nothing."""
        followed = self._fire["sensor_id"] if self._fire is not None else None
        fire = next((r for r in records if r["kind"] == "fire" and r["state"] == "fire" and r["sensor_id"] != followed), None)
        if fire is not None:
            self._fire = fire
            self.trigger(fire)
            return
        if self._fire is None:
            return
        if any(r["kind"] == "fire" and r["sensor_id"] == self._fire["sensor_id"] and r["state"] == "normal" for r in records):
            self._fire = None  # that detector has restored: nothing more to follow
            return
        counts = [r["ts"] for r in records if r["kind"] in COUNT_KINDS]
        if counts and max(counts) - self._asked >= REFRESH_S:
            self.trigger({**self._fire, "ts": max(counts)})

    def trigger(self, fire: dict[str, Any]) -> None:
        """Ask for a forecast after this fire event (the latest trigger wins)."""
        with self._cond:
            self._asked = fire["ts"]
            self.dropped += self._pending is not None
            self._pending = (fire, time.perf_counter())
            self._idle.clear()
            self._cond.notify()

    def wait(self, timeout: float = 30.0) -> bool:
        """Wait until no forecast is pending or running."""
        return self._idle.wait(timeout)

    def stop(self) -> None:
        """Stop the thread and end the worker (a forecast that is running is dropped)."""
        with self._cond:
            self._stop = True
            self._cond.notify()
        self.worker.close()
        self._thread.join(timeout=30)

    def _run(self) -> None:
        while True:
            with self._cond:
                while self._pending is None and not self._stop:
                    self._cond.wait()
                if self._stop:
                    return
                fire, t0 = self._pending
                self._pending = None
            if not self._forecast(fire, t0):
                return
            with self._cond:
                if self._pending is None:
                    self._idle.set()

    def _forecast(self, fire: dict[str, Any], t0: float) -> bool:
        """Run every scope's forecast for ``fire`` in the worker, one after the other (``SCOPES``); store each.

        Returns False when the forecaster was stopped meanwhile. A failure is
        reported in :attr:`errors` (with its scope) and the other scope goes on.
        """
        try:
            with self.feed.lock:  # both scopes read the same moment of the live state
                asks = {scope: forecast_inputs(self.feed.state, fire, scope=scope, unmeasured_share=self.unmeasured_share)
                        for scope in SCOPES}
        except Exception as e:  # noqa: BLE001 - a failed forecast must not stop the service; it is reported
            self.errors.append(f"{type(e).__name__}: {e}")
            return not self._stop
        failed = False
        for scope, inputs in asks.items():
            try:
                if not self.worker.alive:  # it died (reported at the time): a new one for this forecast
                    self.worker = ForecastWorker(self.feed.state.campus)
                fc = self.worker.run(inputs)
                fc["latency_s"] = round(time.perf_counter() - t0, 3)
                self.feed.submit([{"sensor_id": "twin", "ts": fire["ts"], "kind": "forecast", "forecast": fc}],
                                 source="forecast", allow_twin=True)
                self.latency_s[scope] = time.perf_counter() - t0
            except Exception as e:  # noqa: BLE001 - a failed forecast must not stop the service; it is reported
                if self._stop:  # stop() ended the worker under the forecast
                    return False
                failed = True
                self.errors.append(f"{scope} forecast: {type(e).__name__}: {e}")
        self.done += not failed
        return not self._stop

"""BACnet fire panels: life-safety points and zones read and subscribed (change of value) over BACnet/IP.

A fire panel with a BACnet/IP interface shows each detector as a
*life-safety point* object and each panel zone as a *life-safety zone*
object (ASHRAE 135, clauses 12.15 and 12.16). Their ``present-value`` (a
``BACnetLifeSafetyState``: ``quiet``, ``pre-alarm``, ``alarm``, ``fault``…) and
``status-flags`` (in-alarm, fault, overridden, out-of-service) become ``fire``
events of the detectors a mapping file names, through the one ingest path.
PyPI ``bacpypes3`` speaks BACnet.

The mapping file (TOML; docs/sensors.md, "BACnet fire panels")::

    [device]
    address = "10.20.0.15"           # the panel's BACnet/IP address (HOST or HOST:PORT, port 47808)
    local = "10.20.0.2/24"           # the twin's own address (HOST/PREFIX[:PORT]); default 0.0.0.0:47808
    mode = "cov"                     # "cov": subscribe to changes and also read every poll_s; "poll": read only
    poll_s = 60                      # seconds between reads (and heartbeats of the mapped detectors)
    lifetime_s = 300                 # COV subscription lifetime; renewed before it ends
    timeout_s = 3                    # a read unanswered this long (no retries) marks its detectors offline

    [[objects]]
    object = "life-safety-point,12"  # object type and instance, as the panel lists them
    detector = "TB1-L0-SD01"         # the campus detector (or a list: a zone covering several)

Each change is stamped on receipt (BACnet values carry no time) and
marked ``"stamped": "receipt"``. Every ``poll_s`` the objects are read again:
an answer with the same state is a heartbeat of its detectors; no answer
makes them ``offline``. States only: a fire panel says where, never who.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sensors.ingest import Ingestor
from sensors.problems import Problems
from twin.tomlfile import TomlFileError, read_toml

log = logging.getLogger("twin.bacnet")

PORT = 47808
"""BACnet/IP's UDP port (0xBAC0)."""
OBJECT_TYPES = ("life-safety-point", "life-safety-zone")
STATES: dict[str, str] = {
    "quiet": "normal",
    "pre-alarm": "pre_alarm", "fault-pre-alarm": "pre_alarm", "delayed": "pre_alarm",
    "alarm": "fire", "fault-alarm": "fire", "active": "fire", "local-alarm": "fire", "general-alarm": "fire",
    "fault": "fault", "not-ready": "fault", "tamper": "fault", "tamper-alarm": "fault", "supervisory": "fault",
    "abnormal": "fault", "emergency-power": "fault",
    "test-alarm": "test", "test-active": "test", "test-fault": "test", "test-fault-alarm": "test",
    "test-supervisory": "test",
    "blocked": "disabled",
}
"""BACnetLifeSafetyState → the twin's detector state. ``holdup`` and ``duress`` (security, not fire) are not read."""


class MappingError(ValueError):
    """A BACnet mapping file that cannot be used; the message names the file and the field."""


@dataclass(frozen=True)
class Point:
    """One BACnet object and the campus detectors its state applies to."""

    object_type: str
    instance: int
    detectors: tuple[str, ...]

    @property
    def name(self) -> str:
        """``life-safety-point,12``."""
        return f"{self.object_type},{self.instance}"


@dataclass(frozen=True)
class Mapping:
    """A parsed mapping file (see the module docstring)."""

    address: str
    points: tuple[Point, ...]
    local: str = f"0.0.0.0:{PORT}"
    mode: str = "cov"
    poll_s: float = 60.0
    lifetime_s: int = 300
    timeout_s: float = 3.0
    source: str = field(default="", compare=False)


def _need(doc: dict[str, Any], key: str, kind: type | tuple[type, ...], where: str) -> Any:
    v = doc.get(key)
    if v is None or isinstance(v, bool) or not isinstance(v, kind):
        expected = " or ".join(k.__name__ for k in (kind if isinstance(kind, tuple) else (kind,)))
        msg = f"{where}.{key}: {'missing' if v is None else f'got {v!r}'}, expected {expected}"
        raise MappingError(msg)
    return v


def load_mapping(path: Path, detectors: set[str]) -> Mapping:
    """Read and check a mapping file against the campus's detector ids.

    Raises
    ------
    MappingError
        Naming the file and the field (``objects[3].detector``) and what is wrong.
    """
    try:
        doc = read_toml(path, "BACnet mapping")
    except TomlFileError as e:
        msg = f"{path}: {e.reason}"
        raise MappingError(msg) from None
    try:
        return _mapping(doc, detectors, str(path))
    except MappingError as e:
        msg = f"{path}: {e}"
        raise MappingError(msg) from None


def _mapping(doc: dict[str, Any], detectors: set[str], source: str) -> Mapping:
    for key in doc:
        if key not in ("device", "objects"):
            msg = f"unknown table {key!r} (expected [device] and [[objects]])"
            raise MappingError(msg)
    dev = _need(doc, "device", dict, "file")
    known = {"address", "local", "mode", "poll_s", "lifetime_s", "timeout_s"}
    for key in dev:
        if key not in known:
            msg = f"device.{key}: unknown key (expected: {', '.join(sorted(known))})"
            raise MappingError(msg)
    opts: dict[str, Any] = {"address": _need(dev, "address", str, "device")}
    if "local" in dev:
        opts["local"] = _need(dev, "local", str, "device")
    if "mode" in dev:
        opts["mode"] = _need(dev, "mode", str, "device")
        if opts["mode"] not in ("cov", "poll"):
            msg = f"device.mode: {opts['mode']!r}, expected \"cov\" or \"poll\""
            raise MappingError(msg)
    for key in ("poll_s", "lifetime_s", "timeout_s"):
        if key in dev:
            v = _need(dev, key, (int, float), "device")
            if v <= 0:
                msg = f"device.{key}: {v!r}, expected seconds > 0"
                raise MappingError(msg)
            opts[key] = int(v) if key == "lifetime_s" else float(v)
    objs = _need(doc, "objects", list, "file")
    points = []
    seen: set[str] = set()
    for i, o in enumerate(objs):
        where = f"objects[{i}]"
        if not isinstance(o, dict):
            msg = f"{where}: expected a table with object and detector"
            raise MappingError(msg)
        for key in o:
            if key not in ("object", "detector"):
                msg = f"{where}.{key}: unknown key (expected object and detector)"
                raise MappingError(msg)
        ref = _need(o, "object", str, where)
        otype, _, inst = ref.replace(":", ",").partition(",")
        otype = otype.strip().replace("_", "-").lower()
        if otype not in OBJECT_TYPES or not inst.strip().isdigit():
            msg = f"{where}.object: {ref!r}, expected TYPE,INSTANCE with TYPE one of {', '.join(OBJECT_TYPES)}"
            raise MappingError(msg)
        det = _need(o, "detector", (str, list), where)
        dets = (det,) if isinstance(det, str) else tuple(det)
        if not dets or not all(isinstance(d, str) for d in dets):
            msg = f"{where}.detector: expected a detector id or a list of them"
            raise MappingError(msg)
        unknown = [d for d in dets if d not in detectors]
        if unknown:
            msg = f"{where}.detector: {', '.join(map(repr, unknown))} is not a detector of the campus"
            raise MappingError(msg)
        p = Point(otype, int(inst), dets)
        if p.name in seen:
            msg = f"{where}.object: {p.name} is mapped twice"
            raise MappingError(msg)
        seen.add(p.name)
        points.append(p)
    return Mapping(points=tuple(points), source=source, **opts)


def detector_state(present_value: str, flags: list[int]) -> str | None:
    """The detector state of a life-safety object's present value and status flags, or ``None`` when it is no fire state.

    An alarm value wins; otherwise out-of-service is ``disabled`` and the
    fault flag is ``fault``; otherwise the present value says.
    """
    state = STATES.get(present_value)
    _in_alarm, fault, _overridden, out_of_service = (list(flags) + [0, 0, 0, 0])[:4]
    if state in ("fire", "pre_alarm"):
        return state
    if out_of_service:
        return "disabled"
    if fault and state in ("normal", None):
        return "fault"
    return state


class BacnetFeed:
    """Reads (and subscribes to) a fire panel's life-safety objects and feeds their states to an ``Ingestor``.

    Runs its own asyncio loop in a thread (:meth:`start`, :meth:`stop`).

    Parameters
    ----------
    ingestor : Ingestor
        Where the detector events go.
    mapping : Mapping
        The panel and its objects (:func:`load_mapping`).
    clock : callable
        The twin's clock (epoch s) for stamping on receipt.
    """

    def __init__(self, ingestor: Ingestor, mapping: Mapping, *, clock: Callable[[], float] | None = None) -> None:
        self.ingestor = ingestor
        self.mapping = mapping
        self.clock = clock or ingestor.clock
        self.values: dict[str, tuple[str, list[int]]] = {}
        """Object name → (present value, status flags) last received."""
        self.states: dict[str, str] = {}
        """Object name → detector state last submitted (``offline`` when it stopped answering)."""
        self.received = 0
        self.stored = 0
        self.problems = Problems(log, "bacnet", logging.WARNING)
        """Refused subscriptions, unanswered reads, rejected events."""
        self.answering: dict[str, bool] = {}
        """Object name → whether the panel answered the latest read or sent a notification for it since."""
        self.subscribed: set[str] = set()
        """Object names whose COV subscription the panel has confirmed (and not dropped)."""
        self.last_cov: float | None = None
        """When (the twin's clock, epoch s) the latest change-of-value notification arrived."""
        self.last_read: float | None = None
        """When (epoch s) the panel last answered a read."""
        self.running = False
        self.ready = threading.Event()
        """Set once every object has been read (or failed) once and the subscriptions are up."""
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stopped: asyncio.Event | None = None
        self._thread = threading.Thread(target=self._run, name="twin-bacnet", daemon=True)

    def start(self) -> None:
        """Start reading in the background."""
        self._thread.start()

    def stop(self) -> None:
        """Cancel the subscriptions and stop."""
        if self._loop is not None and self._stopped is not None:
            self._loop.call_soon_threadsafe(self._stopped.set)
        self._thread.join(timeout=10)

    @property
    def connected(self) -> bool:
        """Whether the feed runs and the panel answers: at least one object answered its latest read or notified since."""
        return self.running and any(self.answering.values())

    def status(self) -> dict[str, Any]:
        """The panel's link (JSON-ready, for ``GET /api/health``): connected, subscriptions, the latest
        notification and read (epoch s, ``None`` before the first), counters, each object's last state and the
        latest errors."""
        return {"device": self.mapping.address, "mode": self.mapping.mode, "connected": self.connected,
                "points": len(self.mapping.points), "subscribed": len(self.subscribed),
                "last_cov": self.last_cov, "last_read": self.last_read, "received": self.received,
                "stored": self.stored, "states": dict(self.states), **self.problems.status()}

    # -- the loop ------------------------------------------------------------------

    def _run(self) -> None:
        self.running = True
        try:
            asyncio.run(self._main())
        except Exception as e:  # noqa: BLE001 - a dead feed is reported, never a dead server
            self.problems.add(f"BACnet feed stopped: {type(e).__name__}: {e}")
            self.ready.set()
        finally:
            self.running = False
            self.subscribed.clear()

    async def _main(self) -> None:
        from bacpypes3.app import Application
        from bacpypes3.local.device import DeviceObject
        from bacpypes3.local.networkport import NetworkPortObject

        self._loop = asyncio.get_running_loop()
        self._stopped = asyncio.Event()
        m = self.mapping
        dev = DeviceObject(objectIdentifier=("device", 4_194_302), objectName="campus-twin", vendorIdentifier=999,
                           apduTimeout=int(m.timeout_s * 1000), numberOfApduRetries=0)
        port = NetworkPortObject(m.local, objectIdentifier=("network-port", 1), objectName="NetworkPort-1")
        app = Application.from_object_list([dev, port])
        try:
            await asyncio.gather(*(self._read(app, p) for p in m.points))
            tasks = [asyncio.create_task(self._poll(app))]
            if m.mode == "cov":
                tasks += [asyncio.create_task(self._subscribe(app, p)) for p in m.points]
                await asyncio.sleep(0)  # let the subscriptions go out
            self.ready.set()
            await self._stopped.wait()
            for t in tasks:
                t.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
        finally:
            app.close()

    async def _read(self, app: Any, p: Point) -> None:
        """Read one object's present value and status flags; no answer marks its detectors offline."""
        from bacpypes3.apdu import ErrorRejectAbortNack
        from bacpypes3.pdu import Address
        from bacpypes3.primitivedata import ObjectIdentifier

        oid = ObjectIdentifier(p.name)
        addr = Address(self.mapping.address)
        try:
            pv = await app.read_property(addr, oid, "present-value")
            flags = await app.read_property(addr, oid, "status-flags")
        except (Exception, ErrorRejectAbortNack) as e:  # noqa: BLE001 - a timeout (an abort PDU) or an error PDU
            self.answering[p.name] = False
            self._offline(p, f"{p.name}: no answer from {self.mapping.address} ({type(e).__name__}: {e})")
            return
        self.answering[p.name] = True
        self.last_read = self.clock()
        self._value(p, str(pv), list(flags), heartbeat=True)

    async def _poll(self, app: Any) -> None:
        while True:
            await asyncio.sleep(self.mapping.poll_s)
            await asyncio.gather(*(self._read(app, p) for p in self.mapping.points))

    async def _subscribe(self, app: Any, p: Point) -> None:
        """Change-of-value notifications for one object, resubscribing after a failure."""
        from bacpypes3.apdu import ErrorRejectAbortNack
        from bacpypes3.pdu import Address
        from bacpypes3.primitivedata import ObjectIdentifier

        while True:
            try:
                async with app.change_of_value(Address(self.mapping.address), ObjectIdentifier(p.name), None, True,
                                               self.mapping.lifetime_s) as scm:
                    self.subscribed.add(p.name)  # the panel confirmed the subscription
                    pv, flags = self.values.get(p.name, ("quiet", [0, 0, 0, 0]))
                    while True:
                        prop, value = await scm.get_value()
                        self.last_cov = self.clock()
                        self.answering[p.name] = True
                        if str(prop) == "present-value":
                            pv = str(value)
                        elif str(prop) == "status-flags":
                            flags = list(value)
                        self._value(p, pv, flags, heartbeat=False)
            except asyncio.CancelledError:
                self.subscribed.discard(p.name)
                raise
            except (Exception, ErrorRejectAbortNack) as e:  # noqa: BLE001 - refused or dropped: subscribe again
                self.subscribed.discard(p.name)
                self.problems.add(f"{p.name}: COV subscription failed ({type(e).__name__}: {e}); retrying in {self.mapping.poll_s:.0f} s")
                await asyncio.sleep(self.mapping.poll_s)

    # -- into the twin ---------------------------------------------------------------

    def _value(self, p: Point, pv: str, flags: list[int], *, heartbeat: bool) -> None:
        self.received += 1
        self.values[p.name] = (pv, flags)
        state = detector_state(pv, flags)
        if state is None:
            self.problems.add(f"{p.name}: present value {pv!r} is not a fire state; ignored")
            return
        if state != self.states.get(p.name):
            self.states[p.name] = state
            self._submit([{"sensor_id": d, "kind": "fire", "state": state} for d in p.detectors])
        elif heartbeat:
            self._submit([{"sensor_id": d, "kind": "heartbeat", "status": "online"} for d in p.detectors])

    def _offline(self, p: Point, why: str) -> None:
        if self.states.get(p.name) != "offline":
            self.problems.add(why)
            self.states[p.name] = "offline"
            self._submit([{"sensor_id": d, "kind": "heartbeat", "status": "offline"} for d in p.detectors])

    def _submit(self, raws: list[dict[str, Any]]) -> None:
        now = self.clock()
        outcomes = self.ingestor.submit([{**r, "ts": now, "stamped": "receipt"} for r in raws], source="bacnet")
        self.stored += sum(o.status == "accepted" for o in outcomes)
        for o in outcomes:
            if o.status == "rejected":
                self.problems.add(f"rejected: {o.reason}")



"""The ingestion pipeline every adapter shares: validate → registry → store (commit) → live state → listeners.

``Ingestor.submit`` takes a batch of raw events from any source (HTTP, MQTT,
replay) and answers per event: ``accepted``, ``duplicate`` or ``rejected`` with
the field and the reason. Valid events are committed in one transaction
before ``submit`` returns (so an adapter acknowledges only what is stored),
then applied to the live state. Rejections are counted in the store by reason.

Group commit: batches submitted from several threads while a commit is on
disk wait together and go to disk in the next transaction, with one fsync
for all of them (a one-button alarm posted during a gateway's bulk batch
waits for at most the commit under way, then shares the next one instead of
queueing behind every batch). Each batch is still answered only after the
commit that holds it, and applied to the live state in the order stored.

Whatever reacts to new events subscribes a listener
(:meth:`Ingestor.subscribe`), called with the records each batch added: the
live map's push (``viz.live``) and, under ``twin serve``, the evacuation
forecaster (``scenarios.forecast``), which stores its forecasts back through
:meth:`Ingestor.submit` as ``forecast`` events. Ingest imports neither.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections import Counter
from collections.abc import Callable, Sequence
from typing import Any

from sensors.events import FIELDS, Outcome, parse_event, sensor_of, seq_of, to_record
from sensors.store import EventStore
from twin.campus import Campus
from twin.errors import Problem
from twin.registry import Registry
from twin.state import LiveState

log = logging.getLogger("twin.ingest")

Listener = Callable[[list[dict[str, Any]]], None]
"""A subscriber to new events: called with the records a batch added, in store order."""


def screen(campus: Campus, registry: Registry | None = None) -> Callable[[dict[str, Any]], str | None]:
    """The check of stored records before the state applies them (:attr:`sensors.store.EventStore.screen`).

    A record passes when it parses as an event and its sensor is in this
    campus's registry with that kind; otherwise the answer says why, and the
    store quarantines the row instead of the state failing on it.
    """
    reg = registry or Registry(campus)

    def check(rec: dict[str, Any]) -> str | None:
        ev = parse_event(rec, source="stored event", now=math.inf, allow_twin=True)
        if isinstance(ev, list):
            return "; ".join(f"{p.field}: {p.message}" if p.field else p.message for p in ev)
        return None if ev.kind == "forecast" else reg.check(ev.sensor_id, ev.kind)

    return check


class _Batch:
    """One submitted batch waiting for its commit: its records and rejections; after the commit, its row ids."""

    __slots__ = ("done", "error", "ids", "records", "rejected")

    def __init__(self, records: list[dict[str, Any]], rejected: dict[str, int]) -> None:
        self.records = records
        self.rejected = rejected
        self.ids: list[int | None] = []
        self.error: BaseException | None = None
        self.done = threading.Event()
        """Set once the batch is stored and applied (or its commit failed: ``error``)."""


class Ingestor:
    """Validates, stores and applies sensor events for one campus.

    Parameters
    ----------
    campus : Campus
        The loaded campus.
    store : EventStore
        The durable store; the live state is rebuilt from it at start.
    clock : callable
        The receiver's clock (epoch s), for rejecting events from the future.
    spread_delay : float
        Seconds before a fire blocks the spaces next to its room.
    """

    def __init__(self, campus: Campus, store: EventStore, *, clock: Callable[[], float] = time.time,
                 spread_delay: float | None = None) -> None:
        self.campus = campus
        self.store = store
        self.registry = Registry(campus)
        self.clock = clock
        kw = {} if spread_delay is None else {"spread_delay": spread_delay}
        store.screen = screen(campus, self.registry)
        self.lock = threading.RLock()
        """Held while the live state changes; hold it to read ``state`` consistently. Not held while a batch is
        written to disk (fsync), so readers (the live map) never wait on the disk."""
        self._writing = threading.Lock()
        """The store's one writer: each group of batches is stored, then applied, in turn."""
        self._queue = threading.Lock()
        self._pending: list[_Batch] = []
        """Batches waiting for the next commit (taken together by whichever submitter writes next)."""
        with self.lock:
            self.state = LiveState.replay(campus, store, registry=self.registry, **kw)
        self.listeners: list[Listener] = []
        """Subscribers to new events (:meth:`subscribe`)."""

    def subscribe(self, listener: Listener) -> Listener:
        """Call ``listener`` with the records of every batch that adds events; returns it.

        It is called in the submitting thread, after the commit and the
        live-state update, outside :attr:`lock`, so it may read the state
        (under the lock) or submit events of its own. It should return
        quickly (hand long work to a thread); one that raises is logged and
        the others still run.
        """
        self.listeners.append(listener)
        return listener

    def close(self) -> None:
        """Close the store (stop subscribers that submit, such as a forecaster, first)."""
        self.store.close()

    def submit(self, raws: Sequence[Any], *, source: str = "event", allow_twin: bool = False,
               rejected_before: dict[str, int] | None = None) -> list[Outcome]:
        """Validate, store and apply a batch of raw events; answer per event.

        Parameters
        ----------
        raws : sequence
            Decoded JSON objects (or JSON text per event).
        source : str
            Where they came from, for the reasons (``HTTP``, ``mqtt``).
        allow_twin : bool
            Accept the twin's own ``forecast`` events.
        rejected_before : dict, optional
            Rejections an adapter made itself (e.g. a topic that is not
            ``campus/<sensor>/<kind>``), counted with this batch.

        Returns
        -------
        list of Outcome
            One per input, in order. Accepted and duplicate events are stored
            (duplicates were already) when this returns.
        """
        now = self.clock()
        outcomes: list[Outcome | None] = []
        records: list[dict[str, Any]] = []
        slots: list[int] = []
        rejected: dict[str, int] = dict(rejected_before or {})
        for n, raw in enumerate(raws):
            ev = parse_event(raw, source=f"{source} event {n}", now=now, allow_twin=allow_twin)
            if isinstance(ev, list):
                p: Problem = ev[0]
                reason = "; ".join(f"field '{q.field}': {q.message}" if q.field else q.message for q in ev)
                outcomes.append(Outcome("rejected", sensor_of(raw), seq_of(raw), reason, p.field))
                key = f"rejected:{p.field if p.field in FIELDS else 'body' if p.field is None else 'unknown_field'}"
                rejected[key] = rejected.get(key, 0) + 1
                continue
            why = None if ev.kind == "forecast" else self.registry.check(ev.sensor_id, ev.kind)
            if why is not None:
                outcomes.append(Outcome("rejected", ev.sensor_id, ev.seq, why, "sensor_id" if "unknown" in why else "kind"))
                key = "rejected:unknown_sensor" if "unknown sensor" in why else "rejected:kind"
                rejected[key] = rejected.get(key, 0) + 1
                continue
            slots.append(len(outcomes))
            outcomes.append(None)
            records.append(to_record(ev))
        ids = self._store(records, rejected) if records or rejected else []
        for slot, i, r in zip(slots, ids, records, strict=True):
            outcomes[slot] = Outcome("accepted" if i is not None else "duplicate", r["sensor_id"], r.get("seq"))
        added = [r for i, r in zip(ids, records, strict=True) if i is not None]
        if added:
            for fn in list(self.listeners):
                try:
                    fn(added)
                except Exception:  # noqa: BLE001 - the events are stored and applied; a subscriber's failure must not undo the answer
                    log.exception("ingest listener %r failed", fn)
        return outcomes  # type: ignore[return-value]

    def _store(self, records: list[dict[str, Any]], rejected: dict[str, int]) -> list[int | None]:
        """Commit a batch (with the batches waiting beside it, in one transaction) and apply it; its row ids.

        The submitter that gets the writer's lock takes every batch waiting
        (its own among them, unless a writer before it took it), writes them
        in one transaction, takes the state's lock before letting the next
        writer in (so groups are applied in the order stored), applies them
        and wakes their submitters. A failed commit fails every batch of the
        group (nothing of it is stored).
        """
        batch = _Batch(records, rejected)
        with self._queue:
            self._pending.append(batch)
        with self._writing:
            with self._queue:
                group, self._pending = self._pending, []
            if group:  # empty: a writer before this one took this batch with its group
                counts = Counter[str]()  # the group's rejections, added up by reason
                for b in group:
                    counts.update(b.rejected)
                try:
                    ids = self.store.append([r for b in group for r in b.records], counters=dict(counts))
                except BaseException as e:
                    for b in group:
                        b.error = e
                        b.done.set()
                    raise
                k = 0
                for b in group:
                    b.ids = ids[k:k + len(b.records)]
                    k += len(b.records)
                self.lock.acquire()  # before the next group is stored: groups are applied in the order they were stored
        if group:
            try:
                self.state.ingest([(i, r) for b in group for i, r in zip(b.ids, b.records, strict=True) if i is not None],
                                  self.store)
            except BaseException as e:  # stored, but not applied: every submitter of the group hears it
                for b in group:
                    b.error = e
                raise
            finally:
                self.lock.release()
                for b in group:
                    b.done.set()
        batch.done.wait()
        if batch.error is not None:
            raise batch.error
        return batch.ids

    def snapshot(self, now: float | None = None) -> dict[str, Any]:
        """The live state document (under the lock)."""
        with self.lock:
            doc = self.state.snapshot(now)
            doc["store"] = {"path": str(self.store.path), "events": self.store.count(), **self.store.counters()}
        return doc

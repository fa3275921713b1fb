"""The evacuation engine's SimPy environment: people as light processes on a calendar queue.

People are plain generators run by the environment itself (no
``simpy.Process`` and no event object per step): a person yields the
seconds until their next step, or ``None`` to wait until someone resumes
them (:meth:`Calendar.resume`), is sent the time they resume at (the
clock, without a Python attribute lookup per step), and their entry on
the queue is their number. The fire and the rerouting stay ordinary SimPy processes on the same
environment and clock.

The queue is a calendar queue (R. Brown, "Calendar queues: a fast O(1)
priority queue implementation for the simulation event set problem",
*Communications of the ACM* 31(10), 1988): entries fall into buckets of
``width`` seconds (a quarter second); only the bucket being worked through is a heap, later
ones are plain lists, made a heap when their turn comes. In a drill most
pending entries are people queueing through doors, asleep until their booked
slot, minutes ahead: in SimPy's one heap (up to the whole crowd: 20,000 at
20,000 people) every event paid a pop from a heap that deep (the profile in
issue 13 put the cost per event at 200,000 people at twice that at 20,000,
heap and cache); here a pop is from the few hundred entries of one bucket.

The order of events is SimPy's, unchanged: buckets split time in order and
each is ordered by SimPy's own key (time, priority, insertion number), so
results are the same to the last decimal as on a plain ``simpy.Environment``.
"""

from __future__ import annotations

from collections.abc import Callable, Generator, Sequence
from heapq import heappop, heappush
from operator import attrgetter

import cython
import simpy
from simpy.core import NORMAL, EventPriority

Item = tuple
"""A queued entry: (time s, priority, insertion number, SimPy event or person number)."""
Person = Generator[float | None, float, None]
"""A person's process: yields the seconds to their next step, or None to wait until resumed; sent the time (s)."""


@cython.cfunc
@cython.inline
@cython.returns(cython.bint)
@cython.locals(a=tuple, b=tuple, ta=cython.double, tb=cython.double, pa=cython.long, pb=cython.long, ea=cython.long,
               eb=cython.long)
def _before(a: Item, b: Item) -> bool:
    """Whether entry ``a`` comes before ``b``: SimPy's order (time, priority, insertion number), compared as numbers
    (insertion numbers are unique, so the entry itself is never compared)."""
    ta, tb = a[0], b[0]
    if ta != tb:
        return ta < tb
    pa, pb = a[1], b[1]
    if pa != pb:
        return pa < pb
    ea, eb = a[2], b[2]
    return ea < eb


@cython.cfunc
@cython.locals(heap=list, item=tuple, i=cython.Py_ssize_t, up=cython.Py_ssize_t)
def _push(heap: list[Item], item: Item) -> None:
    """``heapq.heappush`` for entries, comparing them with :func:`_before` (C comparisons when compiled, where
    ``heapq`` compares tuples element by element through Python's rich comparison)."""
    heap.append(item)
    i = len(heap) - 1
    while i > 0:
        up = (i - 1) >> 1
        if not _before(item, heap[up]):
            break
        heap[i] = heap[up]
        i = up
    heap[i] = item


@cython.cfunc
@cython.inline
@cython.locals(heap=list, item=tuple, i=cython.Py_ssize_t, child=cython.Py_ssize_t, n=cython.Py_ssize_t)
def _sift(heap: list[Item], i: int, item: Item) -> None:
    """Put ``item`` at place ``i`` of ``heap`` (a heap below ``i``), moving it down past every child before it."""
    n = len(heap)
    while True:
        child = 2 * i + 1
        if child >= n:
            break
        if child + 1 < n and _before(heap[child + 1], heap[child]):
            child += 1
        if not _before(heap[child], item):
            break
        heap[i] = heap[child]
        i = child
    heap[i] = item


@cython.cfunc
@cython.locals(heap=list, last=tuple, top=tuple)
def _pop(heap: list[Item]) -> Item:
    """``heapq.heappop`` for entries (:func:`_push`): the first entry in SimPy's order."""
    last = heap.pop()
    if not heap:
        return last
    top = heap[0]
    _sift(heap, 0, last)
    return top


@cython.cfunc
@cython.locals(heap=list, start=cython.Py_ssize_t)
def _heapify(heap: list[Item]) -> None:
    """``heapq.heapify`` for entries (:func:`_push`): each parent sifted down, last first (about two comparisons an
    entry, where sorting the bucket took a dozen)."""
    for start in range(len(heap) // 2 - 1, -1, -1):
        _sift(heap, start, heap[start])


if not cython.compiled:  # plain Python: the standard library's C heap is faster than the loops above run as Python
    from heapq import heapify as _heapify, heappop as _pop, heappush as _push  # noqa: F811 - the same order: keys are unique


class Calendar(simpy.Environment):
    """A :class:`simpy.Environment` that also runs people (plain generators), on a calendar queue.

    Parameters
    ----------
    person : callable
        ``person(p)`` makes person ``p``'s generator; called when their
        first entry fires (the end of their pre-movement time).
    width : float
        Bucket width (s). A quarter second keeps a bucket's heap shallow (tens
        of entries in a 12,000-person campus forecast, a few hundred at
        200,000 people) for a few more buckets: the forecast ran 2 % fewer
        instructions than with 1 s buckets, 0.1 s saved 0.7 % more.
    """

    now = property(attrgetter("_now"), doc="The current time (s); SimPy's, read without a Python call.")

    def __init__(self, person: Callable[[int], Person], width: float = 0.25) -> None:
        super().__init__()
        self.person = person
        self.per_s = 1.0 / width
        """Buckets per second."""
        self.now_bucket = 0
        """The bucket being worked through: its entries are the heap ``_queue``."""
        self.later: dict[int, list[Item]] = {}
        """Later buckets, unordered, by number."""
        self.later_order: list[int] = []
        """The numbers of the later buckets, a heap."""
        self.procs: list[Person | None] = []
        """Per person, their generator once started (None before, and after they are done)."""
        self.steps = 0
        """Steps people took (entries of people processed)."""

    def _put(self, item: Item) -> None:
        """Queue ``item`` in its bucket."""
        b = int(item[0] * self.per_s)
        if b <= self.now_bucket:
            _push(self._queue, item)
            return
        bucket = self.later.get(b)
        if bucket is None:
            self.later[b] = [item]
            heappush(self.later_order, b)
        else:
            bucket.append(item)

    def schedule(self, event: simpy.Event, priority: EventPriority = NORMAL, delay: float = 0) -> None:
        """Schedule a SimPy ``event`` with ``priority`` ``delay`` s from now (SimPy's call, on the calendar)."""
        self._put((self._now + delay, priority, next(self._eid), event))

    def start(self, delays: Sequence[float]) -> None:
        """Start person ``p`` ``delays[p]`` s from now, for every ``p``."""
        self.procs = [None] * len(delays)
        now, eid = self._now, self._eid
        for p, d in enumerate(delays):
            self._put((now + d, NORMAL, next(eid), p))

    def resume(self, p: int) -> None:
        """Person ``p``, waiting (they yielded ``None``), takes their next step now."""
        _push(self._queue, (self._now, NORMAL, next(self._eid), p))

    def stop(self) -> None:
        """Let go of everyone's generator and entry (a run that ended at its time limit leaves some suspended)."""
        for g in self.procs:
            if g is not None:
                g.close()
        self.procs = []
        self._queue.clear()
        self.later.clear()
        self.later_order.clear()

    @cython.locals(end=cython.double, now=cython.double, t=cython.double, b=cython.long, now_bucket=cython.long,
                   per_s=cython.double, steps=cython.long, item=tuple, queue=list, later=dict, order=list, procs=list,
                   first=cython.double, dt=cython.double)
    def run(self, until: float | simpy.Event | None = None) -> None:  # noqa: C901 - the one loop of a run
        """Process entries up to (not including) time ``until`` s, then stand at ``until``; like SimPy's with a number.

        Only a number (or None: until nothing is left) is supported, which is
        how the engine runs. An event that fails undefended stops the run
        with its exception, as in SimPy.
        """
        if isinstance(until, simpy.Event):
            raise TypeError("Calendar.run takes a time, not an event")
        end = float("inf") if until is None else float(until)
        procs, make, eid, later, order = self.procs, self.person, self._eid, self.later, self.later_order
        per_s = self.per_s
        queue, now_bucket = self._queue, self.now_bucket
        steps = 0
        try:
            while True:
                if not queue:
                    if not order:
                        break
                    now_bucket = self.now_bucket = heappop(order)
                    queue = self._queue = later.pop(now_bucket)
                    _heapify(queue)
                first = queue[0][0]
                if first >= end:
                    break
                item = _pop(queue)
                now = self._now = item[0]
                what = item[3]
                if type(what) is int:  # a person's step
                    steps += 1
                    gen = procs[what]
                    try:
                        if gen is None:
                            gen = procs[what] = make(what)
                            delay = next(gen)
                        else:
                            delay = gen.send(item[0])
                    except StopIteration:
                        procs[what] = None
                        continue
                    if delay is None:
                        continue
                    dt = delay
                    t = now + dt
                    item = (t, NORMAL, next(eid), what)
                    b = int(t * per_s)
                    if b <= now_bucket:
                        _push(queue, item)
                    elif b in later:
                        later[b].append(item)
                    else:
                        later[b] = [item]
                        heappush(order, b)
                    continue
                callbacks, what.callbacks = what.callbacks, None
                for callback in callbacks:
                    callback(what)
                if not what._ok and not hasattr(what, "_defused"):
                    exc = type(what._value)(*what._value.args)
                    exc.__cause__ = what._value
                    raise exc
        finally:
            self.steps += steps
        if until is not None and end > self._now:
            self._now = end

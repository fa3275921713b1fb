"""Quickest-flow lower bound on evacuation time.

No evacuation, however well directed, finishes before the optimum of the
continuous *quickest transshipment* (flow over time) on the evacuation graph:
every arc carries at most ``capacity`` persons per second into it and takes
``transit`` seconds to cross, people may wait anywhere, and everyone must
reach one of the sinks. :func:`evacuation_lower_bound` returns a number that
is never above that optimum, so a simulation that reports less than it has a
bug (the verification bar "the simulated time never beats the network's flow
lower bound" in the brief).

Two valid components are computed:

* **transit-limited**: the largest free-flow shortest travel time from an
  occupied node to a sink (nobody walks faster than free flow);
* **flow-limited**: a time-expanded maximum flow (Ford and Fulkerson 1962,
  *Flows in Networks*, ch. III) on a discretisation that is a *relaxation* of
  the continuous problem, plus the cut bound ``D / F`` (``F`` the static max
  flow in persons per second: the cut carries at most ``F * T`` persons by
  time ``T``).

Why the discretisation is a relaxation (step ``s`` seconds): let ``d(v)`` be
the free-flow distance from ``v`` to the nearest sink. A person at node ``v``
at time ``t`` is put in layer ``floor((t + d(v)) / s)``, a lower bound on the
layer of their arrival. Crossing arc ``(a, b)`` moves them forward by at least
``floor(r / s)`` layers, where ``r = transit + d(b) - d(a) >= 0`` is the
reduced transit time (``floor(x + y) >= floor(x) + floor(y)``), and waiting
never moves them back, so arcs with that many layers and unlimited holdover
are enough. At most ``capacity * s`` persons enter an arc during one layer's
window, so capacities per layer are rounded *up*. Hence every continuous
schedule that ends by ``T`` maps to a discrete flow that reaches the sink by
layer ``floor(T / s)``; with ``K`` the fewest layers that carry everyone,
``T >= K * s``. Using reduced transit times means that shortest paths lose
nothing to rounding (their reduced times are 0), unlike plain
``floor(transit / s)`` per arc.

Before expanding, the graph is pruned to the nodes that occupants can reach
and that reach a sink, and chains through nodes with no supply and exactly two
neighbours are contracted (transits add, capacity is the minimum): any
queue at the middle node can wait at the chain's tail instead, so this is
exact. Detours that return to the node they came from are dropped (waiting
there instead is never worse).
"""

from __future__ import annotations

import math
from collections.abc import Collection, Hashable, Mapping
from dataclasses import dataclass

import networkx as nx
import numpy as np
from scipy.sparse import csr_array
from scipy.sparse.csgraph import dijkstra, maximum_flow

LAYERS = 150
"""Layers aimed at when ``step`` is not given: about 1 % of the estimate."""

_UNITS = 2**29
"""Integer flow units for the whole supply: scipy's max flow is int32, and a
residual capacity can reach twice an arc's capacity."""

_TOL = 1e-9
"""Relative amount taken off the result to absorb float rounding."""


@dataclass(frozen=True)
class BoundResult:
    """A lower bound on evacuation time.

    Attributes
    ----------
    seconds : float
        The bound, s: ``max(flow_limited_s, transit_limited_s)``.
    method : str
        How it was obtained.
    step : float
        Time step of the time-expanded network, s (0 when none was built).
    flow_limited_s : float
        Time-expanded max-flow bound (with the cut bound), s.
    transit_limited_s : float
        Longest free-flow shortest travel time from an occupied node, s.
    """

    seconds: float
    method: str
    step: float
    flow_limited_s: float
    transit_limited_s: float


class _Sink:
    """The single node all sinks are merged into."""

    def __repr__(self) -> str:
        return "<sink>"


SINK = _Sink()


def evacuation_lower_bound(
    g: nx.DiGraph,
    supply: Mapping[Hashable, float],
    sinks: Collection[Hashable],
    *,
    step: float | None = None,
) -> BoundResult:
    """Earliest time by which all occupants could possibly be safe.

    Parameters
    ----------
    g : networkx.DiGraph
        Every arc has ``transit`` (s, >= 0, free-flow travel time) and
        ``capacity`` (persons/s, > 0, ``math.inf`` for unconstrained).
        Door capacities are arcs (split nodes). Waiting at nodes is unlimited.
    supply : Mapping
        Persons at each node at time 0 (non-negative amounts).
    sinks : Collection
        Nodes where people are safe; arriving there ends the trip.
    step : float, optional
        Time step of the time-expanded network, s. By default about
        1/``LAYERS`` of an estimate of the answer. Smaller is tighter and
        slower; any value gives a valid bound.

    Returns
    -------
    BoundResult
        ``seconds`` is never above the optimum of the continuous
        quickest-transshipment problem (see the module docstring).

    Raises
    ------
    ValueError
        On bad input, or if occupied nodes cannot reach any sink (the message
        names them; report them as trapped and leave them out).
    """
    sinks = set(sinks)
    _check(g, supply, sinks, step)
    sources = {v: float(a) for v, a in supply.items() if a > 0 and v not in sinks}
    if not sources:
        return BoundResult(0.0, "no one outside a sink", step or 0.0, 0.0, 0.0)
    dist = nx.multi_source_dijkstra_path_length(g.reverse(copy=False), sinks, weight="transit") if sinks else {}
    trapped = [v for v in sources if v not in dist]
    if trapped:
        names = ", ".join(map(repr, trapped[:10])) + (f" and {len(trapped) - 10} more" if len(trapped) > 10 else "")
        msg = f"supply at {len(trapped)} node(s) cannot reach any sink: {names}; report them as trapped and leave them out of supply"
        raise ValueError(msg)
    transit_s = max(dist[v] for v in sources)
    demand = sum(sources.values())

    net = _reduce(g, sources, sinks)
    nodes = [v for v in net if v is not SINK]
    idx = {v: i for i, v in enumerate(nodes)}
    n = len(nodes)
    tail = np.array([idx[a] for a, _ in net.edges()], dtype=np.int64)
    head = np.array([-1 if b is SINK else idx[b] for _, b in net.edges()], dtype=np.int64)
    transit = np.array([t for _, _, t in net.edges(data="transit")], dtype=float)
    cap = np.array([c for _, _, c in net.edges(data="capacity")], dtype=float)
    d = np.array([dist[v] for v in nodes], dtype=float)
    reduced = np.maximum(transit + np.where(head < 0, 0.0, d[np.maximum(head, 0)]) - d[tail], 0.0)
    src = np.array([idx[v] for v in sources], dtype=np.int64)
    amount = np.array(list(sources.values()))

    rate = _static_max_rate(n, tail, head, cap, src)
    cut_s = demand / rate
    guess = transit_s + cut_s
    if guess <= 0.0:
        return BoundResult(0.0, "zero transit, unlimited capacity", step or 0.0, 0.0, 0.0)
    step = guess / LAYERS if step is None else float(step)

    scale = _UNITS / demand
    units = np.ceil(amount * scale).astype(np.int64)
    total = int(units.sum())
    need = math.floor(demand * scale * (1 - _TOL))
    per_layer = np.where(np.isinf(cap), total, np.minimum(np.ceil(cap * step * scale), total)).astype(np.int64)
    hops = np.floor(reduced / step).astype(np.int64)
    start = np.floor(d[src] / step).astype(np.int64)
    first = _first_layers(n, tail, head, hops, src, start)
    ten = _TimeExpanded(n, tail, head, hops, per_layer, first, src, start, units, total)

    layers = _fewest_layers(ten, need, max(1, math.ceil(guess / step)))
    flow_s = max(layers * step, cut_s) * (1 - _TOL)
    seconds = max(flow_s, transit_s)
    method = f"time-expanded max flow ({layers + 1} layers of {step:.3g} s, {n} nodes, {len(tail)} arcs)"
    return BoundResult(seconds, method, step, flow_s, transit_s)


def _check(g: nx.DiGraph, supply: Mapping[Hashable, float], sinks: set, step: float | None) -> None:
    """Raise ValueError naming the first bad input."""
    if step is not None and not (math.isfinite(step) and step > 0):
        msg = f"step must be a positive number of seconds, got {step!r}"
        raise ValueError(msg)
    for v in sinks:
        if v not in g:
            msg = f"sink {v!r} is not a node of the graph"
            raise ValueError(msg)
    for v, a in supply.items():
        if v not in g:
            msg = f"supply node {v!r} is not a node of the graph"
            raise ValueError(msg)
        if not (math.isfinite(a) and a >= 0):
            msg = f"supply at {v!r} must be a finite amount >= 0, got {a!r}"
            raise ValueError(msg)
    for a, b, data in g.edges(data=True):
        t, c = data.get("transit"), data.get("capacity")
        if t is None or not (math.isfinite(t) and t >= 0):
            msg = f"arc {a!r} -> {b!r}: transit must be finite seconds >= 0, got {t!r}"
            raise ValueError(msg)
        if c is None or not c > 0:
            msg = f"arc {a!r} -> {b!r}: capacity must be persons/s > 0 (math.inf allowed), got {c!r}"
            raise ValueError(msg)


def _reduce(g: nx.DiGraph, sources: Mapping[Hashable, float], sinks: set) -> nx.MultiDiGraph:
    """The part of ``g`` that matters, sinks merged into ``SINK``, chains contracted."""
    reach = set(sources)
    todo = list(sources)
    while todo:
        for w in g.successors(todo.pop()):
            if w not in reach:
                reach.add(w)
                if w not in sinks:
                    todo.append(w)
    net = nx.MultiDiGraph()
    for a, b, data in g.edges(data=True):
        if a in reach and a not in sinks and b in reach and a != b:
            net.add_edge(a, SINK if b in sinks else b, transit=float(data["transit"]), capacity=float(data["capacity"]))
    alive = nx.ancestors(net, SINK) | {SINK} if SINK in net else set()
    net.remove_nodes_from([v for v in list(net) if v not in alive])
    todo = list(net)
    while todo:
        v = todo.pop()
        if v is SINK or v in sources or v not in net:
            continue
        nbrs = set(net.pred[v]) | set(net.succ[v])
        if len(nbrs) > 2 or any(len(k) > 1 for k in (*net.pred[v].values(), *net.succ[v].values())):
            continue
        for a, e1 in net.pred[v].items():
            for b, e2 in net.succ[v].items():
                if a != b:
                    (x,), (y,) = e1.values(), e2.values()
                    net.add_edge(a, b, transit=x["transit"] + y["transit"], capacity=min(x["capacity"], y["capacity"]))
        net.remove_node(v)
        todo.extend(nbrs)
    return net


def _max_flow(n: int, tails: np.ndarray, heads: np.ndarray, caps: np.ndarray, s: int, t: int, limit: int) -> int:
    """Max flow value from ``s`` to ``t``; parallel arcs are summed, capacities clipped to ``limit`` < 2**31."""
    m = csr_array((caps.astype(np.int64), (tails, heads)), shape=(n, n))
    m.sum_duplicates()
    m = csr_array((np.minimum(m.data, limit).astype(np.int32), m.indices, m.indptr), shape=(n, n))
    return int(maximum_flow(m, s, t).flow_value)


def _static_max_rate(n: int, tail: np.ndarray, head: np.ndarray, cap: np.ndarray, src: np.ndarray) -> float:
    """Max flow rate from all occupied nodes to the sinks, persons/s (rounded up; inf if unlimited)."""
    finite = cap[np.isfinite(cap)]
    big = 2**29
    unit = big / (2 * finite.sum()) if finite.size else 1.0
    caps = np.where(np.isfinite(cap), np.ceil(cap * unit), big)
    s, u, t = n, n + 1, n + 2  # super-source, all sinks, exit of capacity big
    tails = np.concatenate([tail, np.full(src.size, s), [u]])
    heads = np.concatenate([np.where(head < 0, u, head), src, [t]])
    value = _max_flow(n + 3, tails, heads, np.concatenate([caps, np.full(src.size, big), [big]]), s, t, big)
    return math.inf if value >= big else value / unit


def _first_layers(n: int, tail: np.ndarray, head: np.ndarray, hops: np.ndarray, src: np.ndarray, start: np.ndarray) -> np.ndarray:
    """Earliest layer at which anyone can be at each node (exact integer shortest paths)."""
    root = n
    keep = head >= 0
    tails = np.concatenate([tail[keep], np.full(src.size, root)])
    heads = np.concatenate([head[keep], src])
    weights = np.concatenate([hops[keep], start]).astype(float)
    order = np.lexsort((weights, heads, tails))  # of parallel arcs keep the shortest (csr would add them)
    tails, heads, weights = tails[order], heads[order], weights[order]
    one = np.ones(tails.size, dtype=bool)
    one[1:] = (tails[1:] != tails[:-1]) | (heads[1:] != heads[:-1])
    m = csr_array((weights[one], (tails[one], heads[one])), shape=(n + 1, n + 1))  # explicit zeros are arcs
    first = dijkstra(m, indices=root, min_only=True)[:n]
    return first.astype(np.int64)  # every node is reachable, so no inf


@dataclass
class _TimeExpanded:
    """The time-expanded network; node ``(v, k)`` is ``k * n + v``."""

    n: int
    tail: np.ndarray
    head: np.ndarray
    hops: np.ndarray
    per_layer: np.ndarray
    first: np.ndarray
    src: np.ndarray
    start: np.ndarray
    units: np.ndarray
    total: int

    def value(self, last: int) -> int:
        """Max flow (units) that reaches a sink by layer ``last``."""
        n, layers = self.n, last + 1
        s, t = n * layers, n * layers + 1
        # movement arcs (v, k) -> (w, k + hops), from the tail's first layer
        lo = self.first[self.tail]
        count = np.maximum(layers - self.hops - lo, 0)
        arc = np.repeat(np.arange(self.tail.size), count)
        k = lo[arc] + np.arange(arc.size) - np.repeat(np.cumsum(count) - count, count)
        h = self.head[arc]
        tails = [k * n + self.tail[arc]]
        heads = [np.where(h < 0, t, (k + self.hops[arc]) * n + h)]
        caps = [self.per_layer[arc]]
        # holdover arcs (v, k) -> (v, k + 1)
        count = np.maximum(last - self.first, 0)
        v = np.repeat(np.arange(n), count)
        k = self.first[v] + np.arange(v.size) - np.repeat(np.cumsum(count) - count, count)
        tails.append(k * n + v)
        heads.append((k + 1) * n + v)
        caps.append(np.full(v.size, self.total))
        # supply enters at the layer of its free-flow arrival
        ok = self.start <= last
        tails.append(np.full(ok.sum(), s))
        heads.append(self.start[ok] * n + self.src[ok])
        caps.append(self.units[ok])
        return _max_flow(n * layers + 2, np.concatenate(tails), np.concatenate(heads), np.concatenate(caps), s, t, self.total)


def _fewest_layers(ten: _TimeExpanded, need: int, guess: int) -> int:
    """Smallest ``last`` with ``ten.value(last) >= need`` (value is non-decreasing in ``last``)."""
    lo, v_lo, hi, v_hi = -1, 0, None, 0
    last = guess
    while hi is None:
        v = ten.value(last)
        if v >= need:
            hi, v_hi = last, v
        else:
            lo, v_lo, last = last, v, 2 * last
    bisect = False
    while hi - lo > 1:
        if bisect:
            last = (lo + hi) // 2
        else:  # interpolate the flow value, alternate with bisection
            last = lo + math.ceil((need - v_lo) * (hi - lo) / max(v_hi - v_lo, 1))
            last = min(max(last, lo + 1), hi - 1)
        bisect = not bisect
        v = ten.value(last)
        if v >= need:
            hi, v_hi = last, v
        else:
            lo, v_lo = last, v
    return hi

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

Cost: without ``step``, a coarse pass (about ``COARSE_LAYERS`` layers) finds
the scale of the answer, then a pass with the step divided by an integer
aims at ``LAYERS`` layers; the larger of the two bounds is returned. Each
pass searches the fewest layers with max flows (OR-Tools push-relabel, int64
capacities). On a 5,000-node, 15,000-arc campus-like graph with 20,000
persons this takes about 2-3 s; the bound is typically within 1-2 % of the
optimum (one step of about 1 % plus rounding on detours).

Assumptions that make it valid (a simulator that breaks one can beat it):

* ``capacity`` bounds the rate at which people *enter* an arc, averaged over
  any window: at most ``capacity * w`` persons in any ``w`` seconds (the
  hydraulic model's "N persons through a door of flow F take N / F"). A
  discrete-agent door that lets the first person through at once and then one
  per ``1 / capacity`` can be ahead by one headway per bottleneck;
* nobody crosses an arc in less than ``transit`` (free-flow speed);
* everyone is at their node at time 0 (pre-movement delays only add), nodes
  and sinks hold any number of people.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Hashable, Mapping
from dataclasses import dataclass

import networkx as nx
import numpy as np
from ortools.graph.python import max_flow

COARSE_LAYERS = 32
"""Layers aimed at by the first, coarse pass when ``step`` is not given."""

LAYERS = 100
"""Layers aimed at by the refined pass (never fewer than the coarse pass used)."""

_UNITS = 2**40
"""Integer flow units for the whole supply (max flow is exact in int64)."""

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


_SINK = _Sink()


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
    nodes = [v for v in net if v is not _SINK]
    idx = {v: i for i, v in enumerate(nodes)}
    n = len(nodes)
    tail = np.array([idx[a] for a, _ in net.edges()], dtype=np.int64)
    head = np.array([-1 if b is _SINK else idx[b] for _, b in net.edges()], dtype=np.int64)
    transit = np.array([t for _, _, t in net.edges(data="transit")], dtype=float)
    cap = np.array([c for _, _, c in net.edges(data="capacity")], dtype=float)
    d = np.array([dist[v] for v in nodes], dtype=float)
    reduced = np.maximum(transit + np.where(head < 0, 0.0, d[np.maximum(head, 0)]) - d[tail], 0.0)
    src = np.array([idx[v] for v in sources], dtype=np.int64)
    amount = np.array(list(sources.values()))

    rate = _static_max_rate(n, tail, head, cap, src)
    cut_s = demand / rate
    finite = cap[np.isfinite(cap)]
    guess = transit_s + cut_s or transit.max() + (demand / finite.min() if finite.size else 0.0)
    if guess <= 0.0:  # no transit time and no capacity limit anywhere
        return BoundResult(0.0, "zero transit, unlimited capacity", step or 0.0, 0.0, 0.0)
    scale = _UNITS / demand
    units = np.ceil(amount * scale).astype(np.int64)
    need = math.floor(demand * scale * (1 - _TOL))

    def expand(step: float) -> _TimeExpanded:
        total = int(units.sum())
        per_layer = np.where(np.isinf(cap), total, np.minimum(np.ceil(cap * step * scale), total)).astype(np.int64)
        hops = np.floor(reduced / step).astype(np.int64)
        start = np.floor(d[src] / step).astype(np.int64)
        first = _first_layers(n, tail, head, hops, src, start)
        return _TimeExpanded(n, tail, head, hops, per_layer, first, src, start, units, total)

    if step is None:  # coarse pass, then refine by an integer factor towards LAYERS layers
        coarse = guess / COARSE_LAYERS
        layers = _fewest_layers(expand(coarse), need, math.floor(max(transit_s, cut_s) / coarse))
        factor = round(LAYERS / (layers + 1))
        step = coarse / max(factor, 1)
        if factor > 1:
            layers = max(layers * factor, _fewest_layers(expand(step), need, layers * factor - 1))
    else:
        step = float(step)
        layers = _fewest_layers(expand(step), need, math.floor(max(transit_s, cut_s) / step))
    flow_s = float(max(layers * step, cut_s) * (1 - _TOL))
    method = f"time-expanded max flow ({layers + 1} layers of {step:.3g} s on {n} nodes, {tail.size} arcs)"
    return BoundResult(max(flow_s, float(transit_s)), method, float(step), flow_s, float(transit_s))


def _check(g: nx.DiGraph, supply: Mapping[Hashable, float], sinks: set[Hashable], step: float | None) -> None:
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


def _reduce(g: nx.DiGraph, sources: Mapping[Hashable, float], sinks: set[Hashable]) -> nx.MultiDiGraph:
    """The part of ``g`` that matters, sinks merged into ``_SINK``, chains contracted."""
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
            net.add_edge(a, _SINK if b in sinks else b, transit=float(data["transit"]), capacity=float(data["capacity"]))
    alive = nx.ancestors(net, _SINK) | {_SINK} if _SINK in net else set()
    net.remove_nodes_from([v for v in list(net) if v not in alive])
    todo = list(net)
    while todo:
        v = todo.pop()
        if v is _SINK or v in sources or v not in net:
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


def _max_flow(tails: np.ndarray, heads: np.ndarray, caps: np.ndarray, s: int, t: int) -> int:
    """Max flow value from ``s`` to ``t`` (integer capacities; push-relabel from OR-Tools)."""
    if not ((tails == s).any() and (heads == t).any()):
        return 0
    solver = max_flow.SimpleMaxFlow()
    solver.add_arcs_with_capacity(tails, heads, caps)
    status = solver.solve(s, t)
    if status != solver.OPTIMAL:
        msg = f"max flow failed with status {status}"
        raise RuntimeError(msg)
    return int(solver.optimal_flow())


def _static_max_rate(n: int, tail: np.ndarray, head: np.ndarray, cap: np.ndarray, src: np.ndarray) -> float:
    """Max flow rate from all occupied nodes to the sinks, persons/s (rounded up; inf if unlimited)."""
    finite = cap[np.isfinite(cap)]
    big = 2**50
    unit = 2**40 / finite.sum() if finite.size else 1.0
    caps = np.where(np.isfinite(cap), np.ceil(cap * unit), big).astype(np.int64)
    s, t = n, n + 1
    tails = np.concatenate([tail, np.full(src.size, s)])
    heads = np.concatenate([np.where(head < 0, t, head), src])
    value = _max_flow(tails, heads, np.concatenate([caps, np.full(src.size, big)]), s, t)
    return math.inf if value >= big else value / unit


def _first_layers(n: int, tail: np.ndarray, head: np.ndarray, hops: np.ndarray, src: np.ndarray, start: np.ndarray) -> np.ndarray:
    """Earliest layer at which anyone can be at each node (integer shortest paths)."""
    g = nx.DiGraph()
    g.add_nodes_from(range(n + 1))
    for a, b, h in zip(*(x.tolist() for x in (tail, head, hops))):
        if b >= 0 and (not g.has_edge(a, b) or g[a][b]["hops"] > h):
            g.add_edge(a, b, hops=h)
    g.add_edges_from((n, v, {"hops": h}) for v, h in zip(src.tolist(), start.tolist()))
    first = nx.single_source_dijkstra_path_length(g, n, weight="hops")
    return np.array([first[v] for v in range(n)], dtype=np.int64)  # every node is reachable


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
        return _max_flow(np.concatenate(tails), np.concatenate(heads), np.concatenate(caps), s, t)


def _fewest_layers(ten: _TimeExpanded, need: int, probe: int) -> int:
    """Smallest ``last`` with ``ten.value(last) >= need``, probing ``probe`` first.

    ``value`` is non-decreasing in ``last`` and grows by at most ``rate`` (the
    capacity of the arcs into the sinks per layer) from one layer to the next,
    so a probe that falls short by ``x`` also proves the next
    ``ceil(x / rate) - 1`` layers short. Probes that fall short are the cheap
    ones, so the search creeps up on the answer: it extrapolates the last two
    short values and probes just below the estimate, and bisects once the
    answer is bracketed.
    """
    rate = max(int(ten.per_layer[ten.head < 0].sum()), 1)
    lo = math.ceil(need / rate) - 2  # largest layer known to fall short
    hi = None  # smallest layer known to suffice
    short = [(-1, 0)]  # probes that fell short: (layer, value)
    probe = max(probe, lo + 1)
    bisect = False
    while True:
        v = ten.value(probe)
        if v >= need:
            hi = probe
        else:
            lo = max(lo, probe + math.ceil((need - v) / rate) - 1)
            short.append((probe, v))
        if hi is not None and hi - lo <= 1:
            return hi
        (k0, v0), (k1, v1) = ([(-1, 0)] + short)[-2:]
        estimate = k1 + math.ceil((need - v1) * (k1 - k0) / (v1 - v0)) if v1 > v0 else 2 * k1 + 2
        if hi is None:
            probe = max(lo + 1, estimate - 1)
        else:
            probe = (lo + hi + 1) // 2 if bisect or len(short) < 2 else min(max(estimate - 1, lo + 1), hi - 1)
            bisect = not bisect

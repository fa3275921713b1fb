"""The quickest-flow lower bound: hand-checked optima, validity against feasible schedules (its speed: benchmarks/bench_bound.py)."""

from __future__ import annotations

import math

import networkx as nx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from scenarios.bound import BoundResult, evacuation_lower_bound
from tests.helpers import examples, flow_grid

INF = math.inf
UNCAPPED = 2 * 10**9
"""An infinite capacity in ``quickest_one_source`` (half persons/s)."""


def chain(*arcs: tuple[str, str, float, float]) -> nx.DiGraph:
    """A graph from (tail, head, transit s, capacity persons/s) tuples."""
    g = nx.DiGraph()
    for a, b, t, c in arcs:
        g.add_edge(a, b, transit=t, capacity=c)
    return g


def feasible_upper(g: nx.DiGraph, supply: dict, sinks: set, dt: float = 1.0) -> float:
    """Completion time of a real schedule, so never below the optimum, s.

    A discrete flow on a time-expanded network with transit rounded *up* plus
    one step: whatever leaves a node during step k at rate <= capacity has
    fully arrived by the start of the step it is counted in. Independent of
    the module (networkx max flow).
    """
    demand = sum(supply.values())

    def carries(last: int) -> bool:
        ten = nx.DiGraph()
        for a, b, data in g.edges(data=True):
            hops = math.ceil(data["transit"] / dt) + 1
            for k in range(last - hops + 1):
                attrs = {} if math.isinf(data["capacity"]) else {"capacity": data["capacity"] * dt}
                ten.add_edge((a, k), (b, k + hops), **attrs)
        for v in g:
            for k in range(last):
                ten.add_edge((v, k), (v, k + 1))
            if v in sinks:
                ten.add_edge((v, last), "T")
        for v, x in supply.items():
            ten.add_edge("S", (v, 0), capacity=x)
        if "T" not in ten:
            return False
        return nx.maximum_flow_value(ten, "S", "T") >= demand - 1e-9

    hi = 1
    while not carries(hi):
        hi *= 2
    lo = hi // 2 if hi > 1 else -1
    while hi - lo > 1:
        mid = (lo + hi) // 2
        lo, hi = (lo, mid) if carries(mid) else (mid, hi)
    return hi * dt


def one_after_another(g: nx.DiGraph, supply: dict, sinks: set) -> float:
    """Completion time when each group walks its shortest path alone, group after group, s."""
    done = 0.0
    for v, x in supply.items():
        if v in sinks or x == 0:
            continue
        path = min((nx.shortest_path(g, v, s, weight="transit") for s in sinks if nx.has_path(g, v, s)),
                   key=lambda p: nx.path_weight(g, p, "transit"))
        rate = min(g[a][b]["capacity"] for a, b in zip(path, path[1:]))
        done += x / rate + nx.path_weight(g, path, "transit")
    return done


def quickest_one_source(g: nx.DiGraph, source: object, amount: float, sinks: set) -> float:
    """Exact continuous optimum for one source, to 1 ms from above, s.

    Ford and Fulkerson: within horizon T at most ``max_x T |x| - sum(transit * x)``
    over static flows x can arrive (temporally repeated flows reach it), so
    the optimum is the least T where that reaches ``amount``. Integer
    transits (ms) and capacities (half persons/s) keep network simplex exact.
    An infinite capacity is given as ``UNCAPPED`` (a billion persons/s): past
    the path's transit it passes any amount within the next millisecond, so
    the answer is the same, and network simplex never meets an uncapacitated
    negative cycle (on those networkx 3.6 can pivot for ever instead of
    raising ``NetworkXUnbounded``).
    """
    def arrivals(ms: int) -> float:
        h = nx.DiGraph()
        for a, b, data in g.edges(data=True):
            if a in sinks:
                continue
            cap = UNCAPPED if math.isinf(data["capacity"]) else round(data["capacity"] * 2)
            h.add_edge(a, ("in", b), weight=round(data["transit"] * 1000), capacity=cap)  # one arc per pair, so sinks can merge
            h.add_edge(("in", b), "T" if b in sinks else b, weight=0)
        h.add_edge("T", source, weight=-ms)
        cost, _ = nx.network_simplex(h)
        return -cost / 2000

    lo, hi = -1, 1000
    while arrivals(hi) < amount:
        lo, hi = hi, 2 * hi
    while hi - lo > 1:
        mid = (lo + hi) // 2
        lo, hi = (lo, mid) if arrivals(mid) >= amount else (mid, hi)
    return hi / 1000


def test_single_arc_bracket() -> None:
    """100 persons, 1 p/s, 10 s: the continuous optimum is 10 + 100 / 1 = 110 s."""
    g = chain(("a", "exit", 10, 1))
    r = evacuation_lower_bound(g, {"a": 100}, ["exit"])
    assert isinstance(r, BoundResult)
    assert 108 <= r.seconds <= 110
    assert r.transit_limited_s == 10
    assert r.seconds == max(r.flow_limited_s, r.transit_limited_s)
    exact = evacuation_lower_bound(g, {"a": 100}, ["exit"], step=1.0)
    assert exact.step == 1.0
    assert 109 - 1e-6 <= exact.seconds <= 110


def test_two_parallel_routes() -> None:
    """Routes of 10 s and 30 s at 1 p/s each: 2T - 40 = 100 gives the optimum T = 70 s."""
    g = chain(("a", "m1", 5, 1), ("m1", "exit", 5, INF), ("a", "m2", 20, 1), ("m2", "exit", 10, INF))
    r = evacuation_lower_bound(g, {"a": 100}, {"exit"})
    assert 68 <= r.seconds <= 70
    assert r.transit_limited_s == 10


def test_merge_into_narrow_door() -> None:
    """Two streams of 60 merge into a 1 p/s door: optimum 5 + 120 / 1 + 2 = 127 s."""
    g = chain(("a", "m", 5, 10), ("b", "m", 5, 10), ("m", "door", 0, 1), ("door", "exit", 2, INF))
    r = evacuation_lower_bound(g, {"a": 60, "b": 60}, ["exit"])
    assert 125 <= r.seconds <= 127
    assert r.flow_limited_s > r.transit_limited_s == 7


def test_long_corridor_transit_binds() -> None:
    """50 legs of 4 s at 100 p/s, 10 persons: optimum 200 + 10 / 100 = 200.1 s."""
    g = chain(*((f"n{i}", f"n{i + 1}", 4, 100) for i in range(50)))
    r = evacuation_lower_bound(g, {"n0": 10}, ["n50"])
    assert r.transit_limited_s == pytest.approx(200)
    assert 200 - 1e-6 <= r.seconds <= 200.1


def test_unconstrained_is_pure_transit() -> None:
    g = chain(("a", "b", 4, INF), ("b", "exit", 6, INF))
    r = evacuation_lower_bound(g, {"a": 1000}, ["exit"])
    assert r.seconds == pytest.approx(10)
    assert r.seconds <= 10


def test_zero_transit_detour_does_not_hide_the_fast_route() -> None:
    """1 person: the 1 s unconstrained arc beats the 0 s route at 0.5 p/s, so the optimum is 1 s."""
    g = chain(("a", "exit", 1, INF), ("a", "b", 0, 0.5), ("b", "exit", 0, 0.5))
    r = evacuation_lower_bound(g, {"a": 1}, ["exit"])
    assert r.transit_limited_s == 0
    assert 0.95 <= r.seconds <= 1


def test_contraction_is_exact() -> None:
    """Two-way corridors with dead-end rooms give the same bound as the bare one-way graph."""
    bare = chain(("a", "m", 5, 10), ("b", "m", 5, 10), ("m", "exit", 2, 1))
    rich = nx.DiGraph()
    for a, b, t, c in [("a", "c1", 2, 10), ("c1", "c2", 2, 10), ("c2", "m", 1, 10), ("b", "m", 5, 10),
                       ("m", "d1", 1, 1), ("d1", "exit", 1, 3), ("c1", "room", 3, 0.5)]:
        rich.add_edge(a, b, transit=t, capacity=c)
        rich.add_edge(b, a, transit=t, capacity=c)
    supply = {"a": 60, "b": 60}
    assert evacuation_lower_bound(rich, supply, ["exit"], step=0.5).seconds == pytest.approx(
        evacuation_lower_bound(bare, supply, ["exit"], step=0.5).seconds)


def test_supply_at_sink_and_empty() -> None:
    g = chain(("a", "exit", 10, 1))
    assert evacuation_lower_bound(g, {}, ["exit"]).seconds == 0
    assert evacuation_lower_bound(g, {"exit": 50, "a": 0}, ["exit"]).seconds == 0
    with_sink = evacuation_lower_bound(g, {"exit": 50, "a": 10}, ["exit"], step=1.0)
    assert with_sink.seconds == pytest.approx(evacuation_lower_bound(g, {"a": 10}, ["exit"], step=1.0).seconds)


def test_unreachable_supply_is_named() -> None:
    g = chain(("a", "exit", 10, 1), ("exit", "island", 1, 1), ("lost", "island", 1, 1))
    with pytest.raises(ValueError, match="'lost'") as err:
        evacuation_lower_bound(g, {"a": 5, "lost": 3, "island": 2}, ["exit"])
    assert "'island'" in str(err.value) and "trapped" in str(err.value)
    with pytest.raises(ValueError, match="cannot reach any sink"):
        evacuation_lower_bound(g, {"a": 5}, [])


@pytest.mark.parametrize(("g", "supply", "sinks", "step", "words"), [
    (chain(("a", "b", -1, 1)), {"a": 1}, ["b"], None, "transit"),
    (chain(("a", "b", 1, 0)), {"a": 1}, ["b"], None, "capacity"),
    (chain(("a", "b", 1, 1)), {"x": 1}, ["b"], None, "supply node 'x'"),
    (chain(("a", "b", 1, 1)), {"a": -1}, ["b"], None, "supply at 'a'"),
    (chain(("a", "b", 1, 1)), {"a": 1}, ["z"], None, "sink 'z'"),
    (chain(("a", "b", 1, 1)), {"a": 1}, ["b"], 0.0, "step"),
])
def test_bad_input_names_the_field(g: nx.DiGraph, supply: dict, sinks: list, step: float | None, words: str) -> None:
    with pytest.raises(ValueError, match=words):
        evacuation_lower_bound(g, supply, sinks, step=step)


@st.composite
def small_networks(draw: st.DrawFn) -> tuple[nx.DiGraph, dict, set]:
    n = draw(st.integers(2, 6))
    g = nx.DiGraph()
    g.add_nodes_from(range(n))
    pairs = [(a, b) for a in range(n) for b in range(n) if a != b]
    for a, b in draw(st.lists(st.sampled_from(pairs), min_size=1, max_size=12, unique=True)):
        g.add_edge(a, b, transit=float(draw(st.integers(0, 6))), capacity=draw(st.sampled_from([0.5, 1.0, 2.5, INF])))
    sinks = set(draw(st.lists(st.integers(0, n - 1), min_size=1, max_size=2)))
    supply = {v: float(draw(st.integers(0, 8))) for v in range(n)}
    reach = {v for v in g if any(nx.has_path(g, v, s) for s in sinks)}
    return g, {v: x for v, x in supply.items() if v in reach}, sinks


@settings(max_examples=examples(20), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(small_networks(), st.sampled_from([None, 0.7, 3.0]))
def test_bound_is_valid_on_random_networks(net: tuple[nx.DiGraph, dict, set], step: float | None) -> None:
    """transit-limited <= bound <= optimum <= any feasible schedule's completion time."""
    g, supply, sinks = net
    r = evacuation_lower_bound(g, supply, sinks, step=step)
    assert r.seconds >= r.transit_limited_s
    if not any(x > 0 for v, x in supply.items() if v not in sinks):
        assert r.seconds == 0
        return
    assert r.seconds <= one_after_another(g, supply, sinks) + 1e-9
    assert r.seconds <= feasible_upper(g, supply, sinks) + 1e-9


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(small_networks())
def test_bound_is_close_below_the_one_source_optimum(net: tuple[nx.DiGraph, dict, set]) -> None:
    """With the default step the bound sits in [0.95, 1] x the exact optimum (one source; typically 0.99)."""
    g, supply, sinks = net
    source = max(supply, key=supply.get, default=None)
    if source is None or source in sinks or supply[source] == 0:
        return
    exact = quickest_one_source(g, source, supply[source], sinks)
    r = evacuation_lower_bound(g, {source: supply[source]}, sinks)
    assert r.seconds <= exact
    assert r.seconds >= 0.95 * exact - 1e-3


def test_campus_shaped_network() -> None:
    """A grid with holes, people spread over it, three assembly areas: valid, and no quicker than the gates allow.

    The same network at campus size (~5,000 nodes, ~15,000 arcs, 20,000
    persons) is timed in ``benchmarks/bench_bound.py``.
    """
    g, supply, sinks = flow_grid(rows=16, cols=40, persons=4000, sources=300)
    assert 450 <= g.number_of_nodes() <= 650
    r = evacuation_lower_bound(g, supply, sinks)
    assert r.seconds >= r.transit_limited_s > 0
    assert r.seconds >= 4000 / (18 * 2.6)  # all gates flowing from time 0
    assert r.seconds <= one_after_another(g, supply, set(sinks)) + 1e-9

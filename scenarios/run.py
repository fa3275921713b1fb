"""Run scenarios: replications and sweeps, serially, on local cores or on Dask.

Each replication draws from its own stream spawned from the scenario's seed
(``numpy.random.SeedSequence(seed).spawn``), so the numbers do not depend on
where or in what order replications run: serial, a local process pool and a
Dask cluster give identical results.
"""

from __future__ import annotations

import itertools
import math
import os
import time
import tomllib
from collections import defaultdict
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from functools import cached_property, lru_cache
from pathlib import Path
from typing import Any

import networkx as nx
import numpy as np

from scenarios.bound import evacuation_lower_bound
from scenarios.evacuation import HOP, Drill, Replication
from scenarios.schema import Evacuation, load_scenario, parse_scenario
from twin.campus import load_campus
from twin.errors import Problem, ScenarioError
from twin.recording import write_recording


@lru_cache(maxsize=8)
def _drill(scenario_json: str, source: str) -> Drill:
    """The prepared drill for a scenario, built once per process."""
    scenario = Evacuation.model_validate_json(scenario_json)
    return Drill(load_campus(scenario.campus), scenario, source)


def _replicate(scenario_json: str, source: str, index: int, record: bool = False) -> Replication:
    """Run one replication (in whatever process this is); ``record`` keeps every move."""
    return _drill(scenario_json, source).run(index, record=record)


@dataclass
class Outcome:
    """All replications of one scenario, and what they add up to."""

    scenario: Evacuation
    source: str
    drill: Drill
    replications: list[Replication]
    wall_s: float

    @cached_property
    def lower_bound(self) -> dict[str, Any]:
        """The quickest-flow lower bound on the evacuation time (s), see ``lower_bound``; computed once."""
        return lower_bound(self.drill, self.replications)

    def summary(self) -> dict[str, Any]:
        """The JSON document of ``twin run --json``."""
        reps = self.replications
        times = np.array([r.evacuation_time for r in reps])
        occ = reps[0].occupants
        by_exit: dict[str, float] = defaultdict(float)
        for r in reps:
            for k, v in r.by_exit.items():
                by_exit[k] += v / len(reps)
        by_building: dict[str, list[float]] = defaultdict(list)
        for r in reps:
            left = defaultdict(float)
            for b, t in zip(r.building_of, r.left_building, strict=True):
                if b and t == t:
                    left[b] = max(left[b], float(t))
            for b, t in left.items():
                by_building[b].append(t)
        worst: dict[str, dict[str, Any]] = {}
        for r in reps:
            for s in r.servers:
                w = worst.setdefault(s["id"], {"id": s["id"], "kind": s["kind"], "max_queue": 0.0, "max_wait_s": 0.0,
                                               "mean_wait_s": 0.0, "passed": 0.0})
                w["max_queue"] = max(w["max_queue"], s["max_queue"])
                w["max_wait_s"] = max(w["max_wait_s"], s["max_wait_s"])
                w["mean_wait_s"] += s["mean_wait_s"] / len(reps)
                w["passed"] += s["passed"] / len(reps)
        bottlenecks = sorted((w for w in worst.values() if w["max_wait_s"] >= 0.1),
                             key=lambda w: (-w["max_wait_s"], -w["max_queue"], w["id"]))[:10]
        for w in bottlenecks:
            w["id"] = self.drill.label(w["id"])
            w["mean_wait_s"] = round(w["mean_wait_s"], 1)
            w["passed"] = round(w["passed"], 1)
        bound = self.lower_bound
        sc = self.scenario
        return {
            "scenario": sc.name or Path(self.source).stem,
            "kind": sc.kind,
            "campus": str(sc.campus),
            "campus_digest": self.drill.campus.digest,
            "seed": sc.seed,
            "replications": len(reps),
            "route": sc.route,
            "occupants": occ,
            "evacuation_time_s": round(float(times.mean()), 1),
            "evacuation_time_stats": {
                "p50": round(float(np.percentile(times, 50)), 1), "p95": round(float(np.percentile(times, 95)), 1),
                "min": round(float(times.min()), 1), "max": round(float(times.max()), 1),
            },
            "safe": round(float(np.mean([len(r.safe_times) for r in reps])), 1),
            "trapped": round(float(np.mean([r.trapped for r in reps])), 1),
            "unfinished": round(float(np.mean([r.unfinished for r in reps])), 1),
            "lower_bound_s": bound["seconds"],
            "lower_bound": bound,
            "by_exit": {k: round(v, 1) for k, v in sorted(by_exit.items())},
            "by_building": {b: round(float(np.mean(ts)), 1) for b, ts in sorted(by_building.items())},
            "bottlenecks": bottlenecks,
            "blocked": sorted(sc.blocked),
            "fire": sc.fire.model_dump() if sc.fire else None,
            "events_per_replication": round(float(np.mean([r.events for r in reps]))),
            "wall_s": round(self.wall_s, 3),
        }


def lower_bound(drill: Drill, reps: Sequence[Replication]) -> dict[str, Any]:
    """Quickest-flow lower bound on the evacuation time of ``drill`` (s).

    It counts the people who reached safety in every replication (the
    evacuation time is when the last of them arrived). Every simplification
    is a relaxation, so the bound stays valid: people
    move at the fastest free speed drawn in any replication, start at the
    earliest pre-movement time, may use any assembly area, and are slowed by
    nothing but the flow capacities of doors, stairs and paths (no density
    effects, no storage limits, no fire). Blocked parts are left out.
    """
    v_max = max((r.max_speed for r in reps), default=1.0)
    pre = min((r.min_premovement for r in reps), default=0.0)
    g = nx.DiGraph()
    blocked = set(drill.blocked_nodes)

    def out(i: int) -> Any:
        return (i, "out") if drill.node_server[i] >= 0 else i

    for i, s in enumerate(drill.node_server):
        if s >= 0 and i not in blocked:
            g.add_edge(i, (i, "out"), transit=0.0, capacity=drill.servers[s].rate)
    for e, (a, b) in enumerate(drill.e_ends):
        if a in blocked or b in blocked:
            continue
        s = drill.e_server[e]
        cap = drill.servers[s].rate if s >= 0 else math.inf
        for u, v in ((a, b), (b, a)):
            g.add_edge(out(u), v, transit=(drill.edge_cost(e, u, v) - HOP) / v_max, capacity=cap)
    # Only people who reached safety in every replication: the evacuation time is the last of them,
    # and fewer people never need longer, so the bound stays below every replication's time.
    safe_everywhere = np.logical_and.reduce([~np.isnan(r.safe_at) for r in reps]) if reps else np.ones(len(drill.start), bool)
    supply: dict[int, float] = defaultdict(float)
    for i in drill.start[safe_everywhere].tolist():
        supply[i] += 1
    sinks = [i for i in drill.assembly if i in g]
    reach = set()
    for t in sinks:
        reach |= nx.ancestors(g, t) | {t}
    supply = {i: n for i, n in supply.items() if i in reach}
    if not supply or not sinks:
        return {"seconds": 0.0, "method": "nobody can reach an assembly area", "free_speed_m_s": v_max, "premovement_s": pre}
    res = evacuation_lower_bound(g, supply, sinks)
    return {"seconds": math.floor((pre + res.seconds) * 10) / 10, "method": res.method, "flow_limited_s": round(res.flow_limited_s, 1),
            "transit_limited_s": round(res.transit_limited_s, 1), "premovement_s": round(pre, 1),
            "free_speed_m_s": round(v_max, 3)}


def run(
    scenario: Evacuation,
    *,
    source: str = "scenario",
    workers: int | None = None,
    dask: str | None = None,
    progress: Callable[[int], None] | None = None,
    record_first: bool = False,
) -> Outcome:
    """Run every replication of ``scenario``.

    Parameters
    ----------
    record_first : bool
        Keep every move of replication 0, for :func:`record` (a recording of it).
    workers : int, optional
        Local processes (default: one per core, at most one per replication; 1 runs in this process).
    dask : str, optional
        Address of a Dask distributed scheduler (``tcp://host:port``) to run on instead.
    progress : callable, optional
        Called with the number of replications finished so far.
    """
    t0 = time.perf_counter()
    drill = _drill(scenario.model_dump_json(), source)
    reps = _map(scenario, source, list(range(scenario.replications)), workers=workers, dask=dask, progress=progress,
                record_first=record_first)
    return Outcome(scenario, source, drill, reps, time.perf_counter() - t0)


def _map(scenario: Evacuation, source: str, indices: list[int], *, workers: int | None, dask: str | None,
         progress: Callable[[int], None] | None, record_first: bool = False) -> list[Replication]:
    """Run replications ``indices`` where asked; results in index order."""
    js = scenario.model_dump_json()
    done = 0
    if dask:
        from distributed import Client, as_completed

        with Client(dask, timeout="30s") as client:
            futures = {client.submit(_replicate, js, source, i, record_first and i == 0, pure=False): i for i in indices}
            out: dict[int, Replication] = {}
            for fut in as_completed(futures):
                out[futures[fut]] = fut.result()
                done += 1
                if progress:
                    progress(done)
        return [out[i] for i in indices]
    n = workers if workers is not None else min(os.cpu_count() or 1, len(indices))
    if n <= 1 or len(indices) <= 1:
        reps = []
        for i in indices:
            reps.append(_replicate(js, source, i, record_first and i == 0))
            if progress:
                progress(len(reps))
        return reps
    with ProcessPoolExecutor(max_workers=n) as pool:
        futs = [pool.submit(_replicate, js, source, i, record_first and i == 0) for i in indices]
        reps = []
        for f in futs:
            reps.append(f.result())
            if progress:
                progress(len(reps))
    return reps


def record(outcome: Outcome, path: str | Path, index: int = 0) -> Path:
    """Write replication ``index`` as a recording (``docs/recording.md``).

    Uses the moves the run kept (``run(..., record_first=True)``), else runs the replication again keeping them.
    """
    drill = outcome.drill
    rep = outcome.replications[index] if outcome.replications[index].moves is not None else drill.run(index, record=True)
    names = drill.names
    starts = drill.start.tolist()
    status = np.where(~np.isnan(rep.safe_at), "safe", np.where(~np.isnan(rep.trapped_at), "trapped", "unfinished"))
    agents = [
        (a, names[starts[a]], drill.building[starts[a]], float(rep.premovement[a]), float(rep.speed[a]), str(status[a]),
         None if np.isnan(rep.safe_at[a]) else float(rep.safe_at[a]))
        for a in range(rep.occupants)
    ]
    moves = [(a, st, t0, t1, names[u], names[v]) for a, st, t0, t1, u, v in rep.moves or []]
    stats = {s["id"]: s for s in rep.servers}
    servers = [(s.id, s.kind, s.rate, stats.get(s.id, {}).get("passed", 0), stats.get(s.id, {}).get("max_queue", 0.0),
                stats.get(s.id, {}).get("max_wait_s", 0.0)) for s in drill.servers]
    events = [(t, why, node, None) for t, node, why in rep.closures]
    meta = {
        "kind": "simulation",
        "scenario": outcome.scenario.model_dump(mode="json"),
        "scenario_file": outcome.source,
        "campus": str(outcome.scenario.campus),
        "campus_digest": drill.campus.digest,
        "crs": drill.campus.crs.to_string(),
        "replication": index,
        "seed": outcome.scenario.seed,
        "evacuation_time_s": rep.evacuation_time,
    }
    graph = drill.graph.copy()  # with the junctions merged paths pass through, so viewers can draw them
    for *_, d in drill.graph.edges(data=True):
        for n in d.get("via") or ():
            if n not in graph:
                graph.add_node(n, **drill.campus.graph.nodes[n])
    return write_recording(path, metadata=meta, graph=graph, agents=agents, moves=moves, servers=servers, events=events)


def parse_vary(items: Sequence[str], source: str) -> list[tuple[str, list[Any]]]:
    """Parse ``--vary key=v1,v2`` options: values are TOML values (numbers, booleans, strings)."""
    out = []
    for item in items:
        key, sep, values = item.partition("=")
        if not sep or not key.strip() or not values.strip():
            raise ScenarioError([Problem(source, f"--vary {item!r}: expected KEY=V1,V2,...", field="--vary")])
        parsed = []
        for v in values.split(","):
            try:
                parsed.append(tomllib.loads(f"x = {v.strip()}")["x"])
            except tomllib.TOMLDecodeError:
                parsed.append(v.strip())
        out.append((key.strip(), parsed))
    return out


def variants(path: str | Path, vary: list[tuple[str, list[Any]]]) -> list[tuple[dict[str, Any], Evacuation]]:
    """Every combination of the varied keys applied to the scenario file (dotted keys reach into tables)."""
    base = load_scenario(path)
    doc = base.model_dump(mode="json")
    out = []
    for combo in itertools.product(*(vals for _, vals in vary)):
        d = _copy(doc)
        label = {}
        for (key, _), value in zip(vary, combo, strict=True):
            node = d
            *parents, leaf = key.split(".")
            for k in parents:
                node = node.setdefault(k, {}) if isinstance(node.get(k, {}), dict) else node
            node[leaf] = value
            label[key] = value
        out.append((label, parse_scenario(d, str(path))))
    return out


def _copy(d: Any) -> Any:
    return {k: _copy(v) for k, v in d.items()} if isinstance(d, dict) else list(d) if isinstance(d, list) else d


def sweep(path: str | Path, vary: list[tuple[str, list[Any]]], *, workers: int | None = None, dask: str | None = None,
          progress: Callable[[int], None] | None = None) -> list[dict[str, Any]]:
    """Run every variant of a scenario (all replications each); one summary per variant."""
    rows = []
    for label, sc in variants(path, vary):
        outcome = run(sc, source=str(path), workers=workers, dask=dask, progress=progress)
        s = outcome.summary()
        rows.append({"vary": label, **{k: s[k] for k in ("evacuation_time_s", "evacuation_time_stats", "lower_bound_s",
                                                        "occupants", "trapped", "bottlenecks", "wall_s")}})
    return rows

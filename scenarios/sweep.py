"""Sweeps: one evacuation scenario run for every combination of varied keys (``twin sweep``).

Each variant is the scenario file with some keys replaced (``--vary
route=shortest,adaptive --vary occupancy.default=0.5,1.0``: four variants),
validated like the file itself and run with all its replications
(:func:`scenarios.evacuation.run`) on the one campus, loaded once by the
caller.
"""

from __future__ import annotations

import itertools
import tomllib
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from scenarios import evacuation
from scenarios.schema import Evacuation, load_scenario, parse_scenario
from twin.campus import Campus
from twin.errors import Problem, ScenarioError


def parse_vary(items: Sequence[str], source: str) -> list[tuple[str, list[Any]]]:
    """Parse ``--vary key=v1,v2`` options: values are TOML values (numbers, booleans, strings).

    Raises
    ------
    ScenarioError
        For an option that is not ``KEY=V1,V2,...``, or that varies the campus (a sweep runs on one campus).
    """
    out = []
    for item in items:
        key, sep, values = item.partition("=")
        if not sep or not key.strip() or not values.strip():
            raise ScenarioError([Problem(source, f"--vary {item!r}: expected KEY=V1,V2,...", field="--vary")])
        if key.strip() == "campus":
            raise ScenarioError([Problem(source, "--vary campus: a sweep runs on one campus; run each campus with twin run",
                                         field="--vary")])
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


def sweep(path: str | Path, vary: list[tuple[str, list[Any]]], campus: Campus, *, workers: int | None = None,
          dask: str | None = None, progress: Callable[[int], None] | None = None) -> list[dict[str, Any]]:
    """Run every variant of a scenario on ``campus`` (all replications each); one summary per variant."""
    rows = []
    for label, sc in variants(path, vary):
        outcome = evacuation.run(sc, campus, source=str(path), workers=workers, dask=dask, progress=progress)
        s = outcome.summary()
        rows.append({"vary": label, **{k: s[k] for k in ("evacuation_time_s", "evacuation_time_stats", "lower_bound_s",
                                                        "occupants", "trapped", "bottlenecks", "wall_s")}})
    return rows

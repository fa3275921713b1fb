"""Sweeps: one evacuation scenario run for every combination of varied keys, or for each of its alternatives (``twin sweep``).

Each variant is the scenario file with some keys replaced (``--vary
route=shortest,adaptive --vary occupancy.default=0.5,1.0``: four variants),
validated like the file itself and run with all its replications
(:func:`scenarios.evacuation.run`) on the one campus, loaded once by the
caller. A scenario that lists ``[[alternatives]]`` (``scenarios.schema``)
gives one variant per option, the file's own scenario (``base``) first; with
``--vary`` too, every option with every combination.
"""

from __future__ import annotations

import itertools
import tomllib
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from scenarios import evacuation
from scenarios.schema import Evacuation, alternatives, load_scenario, parse_scenario
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


ALTERNATIVE = "alternative"
"""The label key of a variant's option (:func:`variants`), shown as the option's name alone."""


def variants(path: str | Path, vary: list[tuple[str, list[Any]]]) -> list[tuple[dict[str, Any], Evacuation]]:
    """Every combination of the varied keys applied to the scenario file (dotted keys reach into tables), for each of
    its alternatives when it lists any (the label's :data:`ALTERNATIVE` names the option)."""
    scenario = load_scenario(path)
    options = alternatives(scenario, str(path)) if scenario.alternatives else [(None, scenario)]  # type: ignore[arg-type]
    out = []
    for option, base in options:
        doc = base.model_dump(mode="json", exclude={"alternatives"})
        for combo in itertools.product(*(vals for _, vals in vary)):
            d = _copy(doc)
            label: dict[str, Any] = {} if option is None else {ALTERNATIVE: option}
            for (key, _), value in zip(vary, combo, strict=True):
                node = d
                *parents, leaf = key.split(".")
                for k in parents:
                    node = node.setdefault(k, {}) if isinstance(node.get(k, {}), dict) else node
                node[leaf] = value
                label[key] = value
            out.append((label, parse_scenario(d, str(path))))
    return out


def variant_name(label: dict[str, Any]) -> str:
    """A variant's whole name: its option's name, then every varied key with its value."""
    return ", ".join(str(v) if k == ALTERNATIVE else f"{k}={v}" for k, v in label.items())


def changed_keys(label: dict[str, Any], scenario: Evacuation) -> list[str]:
    """What a variant changes: its option's keys (``blocked``, ``occupancy``) and the varied keys."""
    option = next((a for a in scenario.alternatives if a.name == label.get(ALTERNATIVE)), None)
    return [*(option.changes if option else ()), *(k for k in label if k != ALTERNATIVE)]


def _copy(d: Any) -> Any:
    return {k: _copy(v) for k, v in d.items()} if isinstance(d, dict) else list(d) if isinstance(d, list) else d


CURVE_POINTS = 200
"""Points of each variant's evacuation curve (people safe over time) in a sweep's rows."""
TIE = 0.01
"""Two variants' mean evacuation times within this share of each other are the same time (the sweep explains why)."""


def sweep(path: str | Path, vary: list[tuple[str, list[Any]]], campus: Campus, *, workers: int | None = None,
          dask: str | None = None, progress: Callable[[int], None] | None = None) -> list[dict[str, Any]]:
    """Run every variant of a scenario on ``campus`` (all replications each); one summary per variant.

    Each row holds the variant's ``name`` (every varied key and value, whole), its key figures, the evacuation
    time of each replication (``times_s``), the mean evacuation ``curve`` (people safe at ``CURVE_POINTS``
    times), the clearance of each building, the bottlenecks, and ``critical``: its critical bottleneck (the queued
    element whose capacity needs the longest to pass its people) and the building that clears last, which
    :func:`ties` compares.
    """
    rows = []
    plan = load_scenario(path)
    for label, sc in variants(path, vary):
        outcome = evacuation.run(sc, campus, source=str(path), workers=workers, dask=dask, progress=progress)
        s = outcome.summary()
        reps = outcome.replications
        end = max((r.evacuation_time for r in reps), default=0.0) or 1.0
        grid = np.linspace(0.0, end, CURVE_POINTS)
        safe = np.mean([np.searchsorted(r.safe_times, grid, side="right") for r in reps], axis=0) if reps else np.zeros_like(grid)
        last = max(s["by_building"].items(), key=lambda kv: kv[1], default=(None, 0.0))
        worst = _critical(outcome)
        rows.append({"vary": label, "name": variant_name(label), "changes": changed_keys(label, plan),  # type: ignore[arg-type]
                     **{k: s[k] for k in ("evacuation_time_s", "evacuation_time_stats", "lower_bound_s", "occupants", "trapped",
                                          "bottlenecks", "by_building", "wall_s", "replications")},
                     "times_s": [round(r.evacuation_time, 1) for r in reps],
                     "curve": {"t_s": [round(float(t), 1) for t in grid], "safe": [round(float(n), 1) for n in safe]},
                     "critical": {"bottleneck": worst, "last_building": last[0], "last_building_s": last[1]}})
    return rows


def _critical(outcome: evacuation.Outcome) -> dict[str, Any] | None:
    """The critical bottleneck of a variant: of the elements people queued at, the one whose capacity needs the
    longest to pass its people (mean people passed ÷ its flow rate, s), with its queue figures."""
    rate = {sv.id: sv.rate for sv in outcome.drill.servers}
    reps = outcome.replications
    busy: dict[str, float] = {}
    seen: dict[str, dict[str, Any]] = {}
    for r in reps:
        for sv in r.servers:
            if sv["max_wait_s"] < 0.1 or not rate.get(sv["id"]):
                continue
            busy[sv["id"]] = busy.get(sv["id"], 0.0) + sv["passed"] / rate[sv["id"]] / len(reps)
            w = seen.setdefault(sv["id"], {"max_wait_s": 0.0, "max_queue": 0.0, "kind": sv["kind"]})
            w["max_wait_s"] = max(w["max_wait_s"], sv["max_wait_s"])
            w["max_queue"] = max(w["max_queue"], sv["max_queue"])
    if not busy:
        return None
    top = max(busy, key=lambda k: (busy[k], k))
    return {"id": outcome.drill.label(top), "busy_s": round(busy[top], 1), **seen[top]}


def _what(a: dict[str, Any], b: dict[str, Any]) -> str:
    """The keys two variants differ in, for the sentence on why they give the same time."""
    keys = list(dict.fromkeys([*a.get("changes", a["vary"]), *b.get("changes", b["vary"])]))
    return ", ".join(k for k in keys if k != ALTERNATIVE) or "the variant"


def ties(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Pairs of variants with the same mean evacuation time (within :data:`TIE`), and why.

    The reason is the same critical bottleneck when both variants' critical bottleneck (the queued element
    whose capacity needs the longest to pass its people) is one element: the varied key changes nothing that
    element's capacity waits for, so the time is set there; otherwise the reason is left open
    (``same_bottleneck`` false): the times agree by coincidence of different limits.
    """
    out = []
    for a, b in itertools.combinations(rows, 2):
        ta, tb = a["evacuation_time_s"], b["evacuation_time_s"]
        if abs(ta - tb) > TIE * max(ta, tb, 1.0):
            continue
        ca, cb = a["critical"], b["critical"]
        wa, wb = ca["bottleneck"], cb["bottleneck"]
        same = wa is not None and wb is not None and wa["id"] == wb["id"]
        if same:
            why = (f"both are held by the same critical bottleneck, {wa['id']} ({wa['kind']}: it needs {wa['busy_s']:.0f} s and "
                   f"{wb['busy_s']:.0f} s to pass its people at its capacity; longest wait {wa['max_wait_s']:.0f} s and "
                   f"{wb['max_wait_s']:.0f} s)"
                   + (f", and {ca['last_building']} clears last in both" if ca["last_building"] == cb["last_building"] else "")
                   + f": what {_what(a, b)} changes does not reach it, so it sets the time")
        else:
            why = ("different limits happen to give the same time: worst bottleneck "
                   f"{wa['id'] if wa else 'none'} in one, {wb['id'] if wb else 'none'} in the other")
        out.append({"variants": [a["name"], b["name"]], "evacuation_time_s": [ta, tb], "same_bottleneck": same,
                    "bottleneck": wa["id"] if same else None, "why": why})
    return out

"""Camera counts in drill versus plan: people on each building level over time, as counted and as simulated.

A camera that counts a building level (its zone is the level, ``TB1-L2``: the
default for a camera with a building and a level, ``twin.registry``) reports
the people on that level every few seconds. In a drill those counts fall as
people leave the level, whatever the exits downstairs do: a level's curve is
the pre-movement of its people plus their walk to the stair, and, unlike a
queued exit's count, it keeps that information when every exit queued. So
``twin compare --calibrate`` (:func:`scenarios.calibrate.calibrate`) fits the
pre-movement to the level curves too (:func:`level_terms`, weighted by the
setting ``calibrate.camera_weight``), and a building whose every level is
watched holds as many people in the fit as its cameras counted at the alarm
when that is more than its doors counted out (people through exits without a
sensor).

* :func:`actual_levels` reads the counts of a recorded exercise;
* :func:`level_counts` turns a replication's recorded moves into the same
  (the synthetic feed's drill uses it too, ``scenarios.feed_drill``);
* :func:`simulate` runs replications and returns both exit passages and level counts.
"""

from __future__ import annotations

import json
import sqlite3
from collections import defaultdict
from dataclasses import dataclass
from operator import itemgetter

import numpy as np

from scenarios.evacuation import Drill
from twin.campus import Campus
from twin.recording import open_recording
from twin.registry import Registry

Level = tuple[str, int]
"""``(building, level)``."""
Steps = tuple[np.ndarray, np.ndarray]
"""(times (s), people from each time on): a step function from the first time."""


@dataclass
class LevelData:
    """People a level's cameras counted over time (s from the alarm)."""

    building: str
    level: int
    cameras: list[str]
    times: np.ndarray
    """Report times (s from the alarm), ascending."""
    counts: np.ndarray
    """People on the level at each report time (the highest of the level's cameras' latest counts: they watch the same zone)."""

    @property
    def zone(self) -> str:
        """The zone name, ``B-L2``."""
        return f"{self.building}-L{self.level}"

    @property
    def at_alarm(self) -> float:
        """People on the level at the alarm (its first count)."""
        return float(self.counts[0]) if len(self.counts) else 0.0

    def until_empty(self) -> tuple[np.ndarray, np.ndarray]:
        """The counts reported until the level is empty for good (that count included): (times (s), people)."""
        busy = np.flatnonzero(self.counts > 0)
        k = min(len(self.counts), int(busy[-1]) + 2) if len(busy) else 1
        return self.times[:k], self.counts[:k]


def step_values(times: np.ndarray, values: np.ndarray, grid: np.ndarray) -> np.ndarray:
    """A step function (``values`` from each of ``times`` on) read at ``grid``; before the first time, the first value."""
    if not len(times):
        return np.zeros(len(grid))
    k = np.searchsorted(times, grid, side="right") - 1
    return np.asarray(values, dtype=float)[np.maximum(k, 0)]


def actual_levels(recording: str, campus: Campus, *, alarm_s: float, until_s: float,
                  buildings: set[str]) -> tuple[dict[Level, LevelData], list[str]]:
    """The camera counts of each watched level of ``buildings`` from the alarm to ``until_s`` (s from the recording's start).

    Only cameras whose zone is a whole building level count (``B-L2``, the
    default); a camera with its own zone (a room, a corridor) sees part of a
    level, which the fit cannot compare with the simulation's level counts:
    it is left out, with a note. Several cameras on one zone watch the same
    people: the level holds the highest of their latest counts (as the live
    state has it).

    Returns
    -------
    levels : dict
        ``(building, level)`` → :class:`LevelData` (times from the alarm), every watched level that reported.
    notes : list of str
        Cameras left out, and why.
    """
    reg = Registry(campus)
    cams = {s.id: s for s in reg.by_type.get("camera", []) if s.building in buildings and s.level is not None}
    notes = sorted(f"camera {c} counts zone {s.zone}, part of level {s.level} of {s.building}: not fitted (only whole-level "
                   "zones compare with the simulation)" for c, s in cams.items() if s.zone != f"{s.building}-L{s.level}")
    cams = {c: s for c, s in cams.items() if s.zone == f"{s.building}-L{s.level}"}
    per: dict[str, list[tuple[float, int]]] = defaultdict(list)
    con = open_recording(recording)
    try:
        for t, sid, body in con.execute("SELECT t, sensor_id, body FROM sensor_events WHERE kind = 'count' ORDER BY t"):
            n = json.loads(body).get("count")
            if sid in cams and isinstance(n, int) and t <= until_s:
                per[sid].append((float(t), n))
    except sqlite3.Error:
        per.clear()
    finally:
        con.close()
    by_level: dict[Level, list[str]] = defaultdict(list)
    for c in sorted(per):
        by_level[(cams[c].building, int(cams[c].level))].append(c)  # type: ignore[arg-type]
    out: dict[Level, LevelData] = {}
    for key, ids in sorted(by_level.items()):
        series = {c: (np.array([t for t, _ in per[c]]), np.array([n for _, n in per[c]], dtype=float)) for c in ids}
        times = np.unique(np.concatenate([t[t >= alarm_s] for t, _ in series.values()] + [np.array([alarm_s])]))
        counts = np.max([step_values(t, n, times) for t, n in series.values()], axis=0)
        out[key] = LevelData(key[0], key[1], ids, times - alarm_s, counts)
    return out, notes


def level_counts(drill: Drill, moves: list[tuple]) -> dict[Level, Steps]:
    """People on each building level over time in one replication, from where each person's recorded moves take them.

    A level's series starts at 0 s with the people placed on it (0 for a level nobody starts on) and has one entry
    per change of its count, in the order of the moves (by end time, then person): (times (s), people from each time on).
    """
    codes: dict[Level, int] = {}
    node_code = np.array([codes.setdefault((b, lv), len(codes)) if b is not None and lv is not None else -1  # type: ignore[arg-type]
                          for b, lv in zip(drill.building, drill.level, strict=True)], dtype=np.intp)
    keys = list(codes)
    start_code = node_code[np.asarray(drill.start, dtype=np.intp)]
    n = len(moves)  # a move: (person, state, t0, t1, from node, to node, ...)
    person = np.fromiter(map(itemgetter(0), moves), np.intp, n)
    t_end = np.fromiter(map(itemgetter(3), moves), float, n)
    order = np.lexsort((person, t_end))  # by end time, then person; stable, as the moves came
    person, t_end = person[order], t_end[order]
    to = node_code[np.fromiter(map(itemgetter(5), moves), np.intp, n)[order]]
    # where each person was before each move: their previous move's level, or where they started
    by_person = np.argsort(person, kind="stable")
    here = np.empty_like(to)
    first = np.ones(len(by_person), dtype=bool)
    first[1:] = person[by_person[1:]] != person[by_person[:-1]]
    here[by_person] = np.where(first, start_code[person[by_person]], np.roll(to[by_person], 1))
    moved = to != here
    # each move to another level: one fewer where they were, then one more where they went (uncounted places: -1)
    key = np.column_stack([here[moved], to[moved]]).ravel()
    delta = np.tile(np.array([-1, 1]), int(moved.sum()))
    at = np.repeat(t_end[moved], 2)
    kept = key >= 0
    key, delta, at = key[kept], delta[kept], at[kept]
    placed = start_code[start_code >= 0]
    n0 = np.bincount(placed, minlength=len(keys))
    # levels in the order they first come up: where people were placed, then in the moves
    seen = dict.fromkeys(placed.tolist())
    seen.update(dict.fromkeys(key.tolist()))
    grouped = np.argsort(key, kind="stable")
    bounds = np.searchsorted(key[grouped], np.arange(len(keys) + 1))
    out: dict[Level, Steps] = {}
    for k in seen:
        idx = grouped[bounds[k]:bounds[k + 1]]
        out[keys[k]] = (np.concatenate([[0.0], at[idx]]), np.concatenate([[n0[k]], n0[k] + np.cumsum(delta[idx])]))
    return out


def simulate(drill: Drill, doors: set[str], levels: set[Level], replications: int) -> tuple[list[dict[str, np.ndarray]], list[dict[Level, Steps]]]:
    """Replications ``0 … replications-1`` of ``drill``: passage times (s) through ``doors`` and, when ``levels`` is
    not empty, the people on those levels over time (a recorded run, for the moves)."""
    exits, on_levels = [], []
    for i in range(replications):
        rep = drill.run(i, record=bool(levels))
        exits.append({d: np.asarray(t, dtype=float) for d, t in rep.exit_times.items() if d in doors})
        if levels:
            counts = level_counts(drill, rep.moves or [])
            on_levels.append({k: v for k, v in counts.items() if k in levels})
    return exits, on_levels


def mean_levels(reps: list[dict[Level, Steps]], at: dict[Level, np.ndarray]) -> dict[Level, np.ndarray]:
    """Per level, the people on it at its times ``at[level]`` (s; the cameras' report times: the simulation is read when
    the cameras counted, not held between counts) averaged over replications (0 where a replication had nobody there)."""
    out = {}
    for k, times in at.items():
        rows = [step_values(*r[k], times) if k in r else np.zeros(len(times)) for r in reps]
        out[k] = np.mean(rows, axis=0) if rows else np.zeros(len(times))
    return out


def level_error(sim: dict[Level, np.ndarray], obs: dict[Level, np.ndarray], upto: dict[Level, int], *, shares: bool) -> float:
    """The levels' part of the pre-movement loss (squared error, before the camera weight), over each level's reports.

    Each simulated level curve is taken as a share of its own people at the
    alarm (the simulation seats people on the levels by design occupancy,
    the drill had its own split), then, with ``shares`` False, scaled to the
    level's counted people, so the error is in people like the exits' error
    in the first passes, up to report ``upto[level]``; with ``shares`` True the
    squared gap of the shares over every report, weighted by the level's
    people, as the exits' last pass has it.
    """
    err = 0.0
    for k, o in obs.items():
        n0 = float(o[0])
        s = sim[k] / max(float(sim[k][0]), 1.0)
        if shares:
            err += n0 * float(np.sum((s - o / n0) ** 2))
        else:
            m = upto[k]
            err += float(np.sum((s[:m] * n0 - o[:m]) ** 2))
    return err


def residuals(sim: dict[Level, np.ndarray], obs: dict[Level, np.ndarray]) -> float:
    """Squared residuals of the people on each level per report (the simulated curve scaled to the counted people)."""
    return sum(float(np.sum((sim[k] / max(float(sim[k][0]), 1.0) * float(o[0]) - o) ** 2)) for k, o in obs.items())


def people_seen_leaving(obs: dict[Level, np.ndarray], upto: dict[Level, int]) -> float:
    """People the cameras saw leave their levels before each level's report ``upto``: what the levels tell of the pre-movement."""
    return sum(float(o[0] - o[:upto[k]].min()) for k, o in obs.items() if upto[k] > 0)


def departure_moments(at: dict[Level, np.ndarray], obs: dict[Level, np.ndarray], skip: set[Level]) -> tuple[float, float] | None:
    """Mean and sd (s) of when people left the watched levels (but ``skip``, e.g. the levels with the exits, where people
    arrive too), from the falls of the counts between reports: a starting point for the pre-movement fit; None without one."""
    times, people = [], []
    for k, o in obs.items():
        if k in skip or len(o) < 2:
            continue
        fall = np.maximum(0.0, -np.diff(o))
        times.append((at[k][1:] + at[k][:-1]) / 2)
        people.append(fall)
    if not people or sum(float(p.sum()) for p in people) <= 0:
        return None
    t, w = np.concatenate(times), np.concatenate(people)
    mean = float(np.average(t, weights=w))
    return mean, max(float(np.sqrt(np.average((t - mean) ** 2, weights=w))), 1.0)

"""Drill versus plan: actual evacuation curves from a recorded exercise, simulated ones, and calibration.

``twin compare RECORDED_EXERCISE SCENARIO`` uses this module:

* :func:`actual_exits` reads the people out of every building exit over time
  from the exercise's crossing events (card doors at building exits, ``out``
  counts), in seconds from the alarm.
* :func:`simulate_exits` runs the scenario's drill and collects the same:
  passage times through the same exits.
* :func:`compare` turns both into curves per building and in total (people out
  over time) and their differences: times to 50/90/100 % out and the mean time
  gap between the curves.
* :func:`calibrate` fits the pre-movement distribution (lognormal mean and sd,
  as the scenario schema has it) and the door flow (setting ``flow_door``,
  persons/s/m) that best explain the recording, running the simulator itself
  at every step with common random numbers (the same replication seeds each
  time), and says which parameter the data could not identify.

Which data identifies which parameter
-------------------------------------
An exit that queues discharges at its capacity, whatever the crowd behind it
does: its steady rate gives the door flow and nothing about when people set
off. An exit that never queues passes people when they arrive: its curve is
the pre-movement distribution shifted by the walk, and says nothing about the
door flow. So each exit's observed curve is classified first (see
:func:`plateau`): **flow-limited** when one unbroken stretch at its peak flow
carries most of its people. ``flow_door`` is fitted to the steady rates of the
flow-limited exits; the pre-movement mean and sd to the curves of the other
exits plus the people through flow-limited exits before their queue formed.
Without a flow-limited exit the door flow is not identified; with fewer than
``calibrate.min_people`` people in the second group the pre-movement is not;
a parameter that is not identified is reported as such and left as the
scenario has it, never guessed. Cameras that count building levels add the
people they saw leave each level to the pre-movement's data
(:mod:`scenarios.camera_counts`, weighted by ``calibrate.camera_weight``):
they identify it when every counted exit queued.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from scipy.optimize import minimize, minimize_scalar

from scenarios import camera_counts as cams
from scenarios.evacuation import Drill
from scenarios.plateau import Plateau, per_step, plateau
from scenarios.profile import profile
from scenarios.schema import Distribution, Evacuation
from twin.campus import Campus
from twin.recording import Recording, RecordingError
from twin.settings import default

QUANTILES = (0.5, 0.9, 1.0)
"""Shares of people out whose times ``twin compare`` reports."""
FLOW_BOUNDS = (0.2, 3.0)
"""Search range of ``flow_door`` (persons/s/m): well around the published 1.0-1.6."""
PRE_MEAN_BOUNDS = (1.0, 1800.0)
"""Search range of the pre-movement mean (s)."""
PRE_SD_BOUNDS = (0.5, 1200.0)
"""Search range of the pre-movement standard deviation (s)."""
START_SHARES = (0.5, 0.7, 0.9)
"""Starting points of the pre-movement fit, as shares of the mean time people left levels without exits (camera counts)."""
EVACUATED_SHARE = 0.5
"""A building without a fire alarm counts as evacuated (part of the drill) when its doors count at least this share of
its people at the alarm out before the all-clear: a building going about its day turns over ~1 % a minute."""


# --------------------------------------------------------------------------
# Curves
# --------------------------------------------------------------------------


@dataclass
class ExitData:
    """People through one building exit over time (s from the alarm)."""

    door: str
    building: str
    times: np.ndarray
    """Event times (s from the alarm)."""
    counts: np.ndarray
    """People counted by each event (1 per person for simulated passages)."""

    @property
    def people(self) -> float:
        """People through the exit."""
        return float(self.counts.sum())

    def cumulative(self, grid: np.ndarray) -> np.ndarray:
        """People through by each time of ``grid`` (s)."""
        order = np.argsort(self.times, kind="stable")
        c = np.concatenate([[0.0], np.cumsum(self.counts[order])])
        return c[np.searchsorted(self.times[order], grid, side="right")]


def exits_of(campus: Campus) -> dict[str, str]:
    """Building exits of the campus: door id → building."""
    return {n: d["building"] for n, d in campus.graph.nodes(data=True)
            if d.get("kind") == "door" and d.get("exit") and d.get("building")}


def actual_exits(recording: str | Path, campus: Campus, *, alarm_s: float | None = None,
                 buildings: Iterable[str] | None = None) -> tuple[dict[str, ExitData], float, dict[str, Any]]:
    """People out of the drill's buildings' exits with a door sensor, from the alarm to the all-clear.

    The drill's buildings are those with a fire alarm in the recording and
    those whose doors counted most of their people out (:data:`EVACUATED_SHARE`),
    or ``buildings``; the drill ends when the first fire alarm is cleared (its
    detector restored: the all-clear), or with the recording. Counts at other
    buildings' doors, and after the all-clear, are the campus's usual comings
    and goings, not the drill.

    Parameters
    ----------
    recording : str or Path
        An ``exercise`` recording (``twin exercise``).
    campus : Campus
        The campus it was recorded on (checked against its digest).
    alarm_s : float, optional
        When the alarm sounded (s from the recording's start); default the
        recording's ``alarm_s`` (its first fire alarm).
    buildings : iterable of str, optional
        The buildings that evacuated (a campus-wide drill: every building); default those with a fire alarm.

    Returns
    -------
    exits : dict
        Door id → :class:`ExitData` (``out`` crossings after the alarm, times from the alarm).
    alarm_s : float
    meta : dict
        The recording's metadata, with ``drill_buildings`` (the drill's buildings) and ``all_clear_s`` (the drill's end,
        s from the recording's start).

    Raises
    ------
    RecordingError
        Not an exercise, another campus, no alarm, no exit counts.
    """
    rec = Recording(recording)
    meta = rec.meta
    if not rec.is_exercise:
        msg = f"{recording}: a recording of kind {meta.get('kind', 'simulation')!r}; twin compare needs a recorded exercise (twin exercise)"
        raise RecordingError(msg)
    if meta.get("campus_digest") != campus.digest:
        msg = f"{recording}: recorded on another campus than the scenario's {campus.source} (campus digests differ)"
        raise RecordingError(msg)
    alarm = meta.get("alarm_s") if alarm_s is None else alarm_s
    if alarm is None:
        msg = f"{recording}: no fire alarm in the recording, so the drill's start is unknown: give --alarm SECONDS"
        raise RecordingError(msg)
    span = float(meta.get("duration_s") or 0.0)
    if not 0 <= alarm <= span:
        msg = (f"{recording}: the alarm at {alarm:g} s is outside the recording, which holds 0 … {span:g} s "
               f"({meta.get('from')} … {meta.get('to')})")
        raise RecordingError(msg)
    fires = [a for a in rec.alarms if a["kind"] == "fire" and a["building"]]
    clear = min((a["t1"] for a in fires if a["t1"] is not None and a["t1"] > alarm), default=span)
    doors = exits_of(campus)
    if buildings is None:  # the alarmed buildings, and any whose doors counted most of its people out
        out: dict[str, float] = defaultdict(float)
        for t, sid, _building, direction, count in rec.crossings:
            if sid in doors and direction == "out" and alarm <= t <= clear:
                out[doors[sid]] += count
        inside = rec.occupancy_at(alarm)
        drilled = {a["building"] for a in fires} | {b for b, n in out.items() if n >= EVACUATED_SHARE * max(inside.get(b, 0), 1)}
    else:
        drilled = set(buildings)
        unknown = sorted(drilled - set(campus.features.index[campus.features["kind"] == "building"]))
        if unknown:
            msg = f"--buildings: {', '.join(unknown)} {'is' if len(unknown) == 1 else 'are'} not a building of {campus.source}"
            raise RecordingError(msg)
    doors = {d: b for d, b in doors.items() if b in drilled}
    acc: dict[str, list[tuple[float, int]]] = defaultdict(list)
    for t, sid, _building, direction, count in rec.crossings:
        if sid in doors and direction == "out" and alarm <= t <= clear:
            acc[sid].append((t - alarm, count))
    if not acc:
        msg = (f"{recording}: no 'out' crossings at the exits of {', '.join(sorted(drilled)) or 'any alarmed building'} between the "
               f"alarm (t = {alarm:g} s) and the all-clear (t = {clear:g} s); twin compare needs door sensors at building exits "
               "reporting during the drill (--buildings names the buildings that evacuated)")
        raise RecordingError(msg)
    out = {d: ExitData(d, doors[d], np.array([t for t, _ in v]), np.array([c for _, c in v], dtype=float))
           for d, v in sorted(acc.items())}
    return out, float(alarm), {**meta, "drill_buildings": sorted(drilled), "all_clear_s": float(clear)}


def time_step(actual: dict[str, ExitData]) -> float:
    """The curves' time step (s): ``compare.bin``, or the door sensors' reporting interval when that is longer.

    The interval is the median gap between successive counts at the exits
    (a sensor that reports every passage gives short gaps; one that reports a
    tally every 30 s gives 30 s). Steps shorter than the interval would
    alternate between empty and full and hide a steady flow.
    """
    gaps = [float(np.median(np.diff(np.sort(e.times)))) for e in actual.values() if len(e.times) >= 5]
    interval = float(np.median(gaps)) if gaps else 0.0
    return float(max(default("compare.bin"), math.ceil(interval - 1e-6)))


def _occupancy_for(campus: Campus, people: dict[str, float]) -> dict[str, Any]:
    """The scenario's occupancy with each building in ``people`` set to that many (others empty)."""
    f = campus.features
    return {"default": 0.0, "buildings": {b: min(5.0, n / max(1, int(f.at[b, "occupants"]))) for b, n in people.items()}}


def simulate_exits(drill: Drill, doors: Iterable[str], replications: int) -> list[dict[str, np.ndarray]]:
    """Passage times (s) through ``doors`` in replications ``0 … replications-1`` of ``drill``."""
    want = set(doors)
    out = []
    for i in range(replications):
        rep = drill.run(i)
        out.append({d: np.asarray(t, dtype=float) for d, t in rep.exit_times.items() if d in want})
    return out


def _sim_exit(reps: list[dict[str, np.ndarray]], door: str, building: str) -> list[ExitData]:
    return [ExitData(door, building, r.get(door, np.empty(0)), np.ones(len(r.get(door, ())))) for r in reps]


def _mean_cumulative(curves: list[ExitData], grid: np.ndarray) -> np.ndarray:
    return np.mean([c.cumulative(grid) for c in curves], axis=0) if curves else np.zeros_like(grid)


def quantile_times(cum: np.ndarray, grid: np.ndarray, shares: Iterable[float] = QUANTILES) -> dict[str, float | None]:
    """Times (s) the cumulative curve ``cum`` (people out at ``grid``) reaches each share of its final value."""
    total = float(cum[-1]) if len(cum) else 0.0
    out: dict[str, float | None] = {}
    for q in shares:
        key = f"t{round(q * 100)}_s"
        if total <= 0:
            out[key] = None
            continue
        k = int(np.searchsorted(cum, q * total - 1e-9, side="left"))
        out[key] = float(grid[min(k, len(grid) - 1)])
    return out


def time_gap(cum_a: np.ndarray, cum_b: np.ndarray, grid: np.ndarray, points: int = 100) -> float | None:
    """Mean gap (s) between two curves taken as shares of their own totals: ∫ |t_a(q) − t_b(q)| dq."""
    if not len(cum_a) or cum_a[-1] <= 0 or cum_b[-1] <= 0:
        return None
    qs = (np.arange(points) + 0.5) / points
    ta = np.interp(qs, np.concatenate([[0.0], cum_a / cum_a[-1]]), np.concatenate([[0.0], grid]))
    tb = np.interp(qs, np.concatenate([[0.0], cum_b / cum_b[-1]]), np.concatenate([[0.0], grid]))
    return float(np.mean(np.abs(ta - tb)))


# --------------------------------------------------------------------------
# Comparison
# --------------------------------------------------------------------------


@dataclass
class Comparison:
    """Actual and simulated curves (people out at ``grid``) per building and in total, with their differences."""

    grid: np.ndarray
    actual: dict[str, np.ndarray]
    simulated: dict[str, np.ndarray]
    exits: dict[str, dict[str, Any]]
    alarm_s: float
    calibrated: dict[str, np.ndarray] | None = None
    """The same curves simulated at the calibrated values (with the drill's occupancy), when calibrated."""

    def figures(self) -> dict[str, dict[str, Any]]:
        """Per building and ``total``: people, t50/t90/t100 actual and simulated, their differences and the time gap."""
        out = {}
        for key in self.actual:
            a, s = self.actual[key], self.simulated[key]
            qa, qs = quantile_times(a, self.grid), quantile_times(s, self.grid)
            diff = {k: (None if qa[k] is None or qs[k] is None else round(qs[k] - qa[k], 1)) for k in qa}
            gap = time_gap(a, s, self.grid)
            out[key] = {"people_actual": round(float(a[-1]), 1), "people_simulated": round(float(s[-1]), 1),
                        "actual": qa, "simulated": qs, "simulated_minus_actual": diff,
                        "time_gap_s": None if gap is None else round(gap, 1)}
            if self.calibrated is not None:
                c = self.calibrated[key]
                gap_c = time_gap(a, c, self.grid)
                out[key]["calibrated"] = quantile_times(c, self.grid)
                out[key]["calibrated_time_gap_s"] = None if gap_c is None else round(gap_c, 1)
        return out


def compare(actual: dict[str, ExitData], sim_reps: list[dict[str, Any]], *, alarm_s: float,
            step: float | None = None, calibrated: list[dict[str, Any]] | None = None) -> Comparison:
    """Actual vs simulated people out per building and in total, on one time grid.

    Only exits with a door sensor are counted on both sides, so a building
    whose other exits have no sensor compares like with like.

    Parameters
    ----------
    actual : dict
        From :func:`actual_exits`.
    sim_reps : list of dict
        Per replication of the plan, door id → passage times (s), e.g. ``Replication.exit_times``.
    alarm_s : float
        When the alarm sounded (s from the recording's start), kept for the report.
    step : float, optional
        Time step of the curves (s; default :func:`time_step`).
    calibrated : list of dict, optional
        The same from the calibrated replications (:attr:`Calibration.fitted`).
    """
    step = time_step(actual) if step is None else step
    series = [[{d: np.asarray(t, dtype=float) for d, t in r.items()} for r in reps] for reps in (sim_reps, calibrated or [])]
    last = max([float(e.times.max()) for e in actual.values() if len(e.times)] +
               [float(t.max()) for reps in series for r in reps for d, t in r.items() if d in actual and len(t)] + [step])
    grid = np.arange(1, math.ceil(last / step) + 2) * step
    acts: dict[str, np.ndarray] = defaultdict(lambda: np.zeros_like(grid))
    sims: dict[str, np.ndarray] = defaultdict(lambda: np.zeros_like(grid))
    cals: dict[str, np.ndarray] = defaultdict(lambda: np.zeros_like(grid))
    exits = {}
    for d, e in actual.items():
        ca = e.cumulative(grid)
        cs = _mean_cumulative(_sim_exit(series[0], d, e.building), grid)
        cc = _mean_cumulative(_sim_exit(series[1], d, e.building), grid)
        for key in (e.building, "total"):
            acts[key] = acts[key] + ca
            sims[key] = sims[key] + cs
            cals[key] = cals[key] + cc
        p = plateau(per_step(ca), step)
        exits[d] = {"building": e.building, "people_actual": round(e.people, 1), "people_simulated": round(float(cs[-1]), 1),
                    "flow_limited": bool(p and p.flow_limited), "steady_flow_p_s": round(p.rate, 3) if p and p.flow_limited else None,
                    "peak_share": round(p.share, 3) if p else None}
    order = sorted(k for k in acts if k != "total") + ["total"]
    return Comparison(grid, {k: acts[k] for k in order}, {k: sims[k] for k in order}, exits, alarm_s,
                      {k: cals[k] for k in order} if calibrated else None)


# --------------------------------------------------------------------------
# Calibration
# --------------------------------------------------------------------------


@dataclass
class Calibration:
    """What the fit found, and what the recording could not tell."""

    flow_door: float | None
    """Fitted door flow (persons/s/m), ``None`` when not identified."""
    premovement_mean: float | None
    """Fitted pre-movement mean (s), ``None`` when not identified."""
    premovement_sd: float | None
    """Fitted pre-movement sd (s), ``None`` when not identified."""
    start: dict[str, float]
    """The scenario's values the fit started from."""
    flow_exits: list[str]
    """Exits whose steady queue discharge the door flow was fitted to."""
    premovement_exits: list[str]
    """Exits whose curves (whole, or before their queue) the pre-movement was fitted to."""
    premovement_people: float
    """People in the data the pre-movement was fitted to."""
    simulations: int
    """Simulated replications run during the fit."""
    loss: dict[str, float]
    warnings: list[str] = field(default_factory=list)
    fitted: list[dict[str, np.ndarray]] = field(default_factory=list)
    """Passage times through the counted exits in the replications at the fitted values (the drill's occupancy)."""
    uncertainty: dict[str, dict[str, Any]] = field(default_factory=dict)
    """Per fitted parameter, how well the data pins it (:func:`profile`)."""
    camera_levels: list[str] = field(default_factory=list)
    """Zones (building levels, ``B-L2``) whose camera counts the pre-movement was fitted to as well."""
    camera_people: float = 0.0
    """People the cameras saw leave those levels (before a queue at an exit on their level)."""

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        r = lambda v, d=3: None if v is None else round(v, d)
        return {"flow_door": r(self.flow_door), "premovement_mean_s": r(self.premovement_mean, 2),
                "premovement_sd_s": r(self.premovement_sd, 2), "identified": {
                    "flow_door": self.flow_door is not None, "premovement": self.premovement_mean is not None},
                "start": self.start, "flow_exits": self.flow_exits, "premovement_exits": self.premovement_exits,
                "premovement_people": round(self.premovement_people, 1), "camera_levels": self.camera_levels,
                "camera_people": round(self.camera_people, 1), "camera_weight": default("calibrate.camera_weight"),
                "simulations": self.simulations,
                "loss": {k: round(v, 5) for k, v in self.loss.items()}, "uncertainty": self.uncertainty,
                "warnings": self.warnings}


def _lognormal(mean: float, sd: float, like: Distribution) -> Distribution:
    """A lognormal with ``mean`` and ``sd`` (s), keeping the clip (``min``/``max``) of ``like``."""
    return Distribution(dist="lognormal", mean=mean, sd=sd, min=like.min, max=like.max)


def _start_premovement(sc: Evacuation) -> tuple[float, float]:
    p = sc.premovement
    if p.dist in ("lognormal", "normal"):
        return float(p.mean), float(p.sd)  # type: ignore[arg-type]
    draws = p.draw(np.random.default_rng(0), 4000)
    return max(float(draws.mean()), 1.0), max(float(draws.std()), 1.0)


def calibrate(actual: dict[str, ExitData], scenario: Evacuation, campus: Campus, *, step: float | None = None,
              replications: int | None = None, progress: Callable[[int], None] | None = None,
              uncertainty: bool = True, levels: dict[cams.Level, cams.LevelData] | None = None) -> Calibration:
    """Fit ``flow_door`` and the lognormal pre-movement mean and sd to an exercise's exit curves and camera counts.

    Every step of the fit runs the drill (:class:`scenarios.evacuation.Drill`)
    with the candidate values, only the buildings with counted exits, each
    holding as many people as its exits counted, for replications
    ``0 … replications-1`` of the scenario's seed (common random numbers, so
    the loss changes only through the parameters). First the door flow is
    fitted to the steady rates of the flow-limited exits (bounded scalar
    search), then the pre-movement to the rest (Nelder-Mead on the logarithms
    of mean and sd, minimising the squared gap between the cumulative curves
    in people per exit), then the door flow once more with the fitted
    pre-movement. Camera counts of the drill's building levels (``levels``)
    join the pre-movement's loss (:mod:`scenarios.camera_counts`), each
    level's squared error weighted by ``calibrate.camera_weight``.

    Parameters
    ----------
    actual : dict
        From :func:`actual_exits`.
    scenario : Evacuation
        The plan: its campus, routes, speeds, closures and seed are kept.
    campus : Campus
        The scenario's campus, loaded.
    step : float, optional
        Time step of the curves (s; default :func:`time_step`).
    replications : int, optional
        Replications per step (default ``calibrate.replications``).
    progress : callable, optional
        Called with the number of simulated replications so far.
    uncertainty : bool
        Also profile each fitted value (:func:`profile`: four more simulation steps per parameter).
    levels : dict, optional
        From :func:`scenarios.camera_counts.actual_levels`: people on each watched level over time.
    """
    step = time_step(actual) if step is None else step
    reps = int(default("calibrate.replications")) if replications is None else replications
    warnings: list[str] = []
    # the observed curves and which exits queued
    last = max(float(e.times.max()) for e in actual.values())
    grid = np.arange(1, math.ceil(last / step) + 2) * step
    obs = {d: e.cumulative(grid) for d, e in actual.items()}
    plateaus = {d: plateau(per_step(c), step) for d, c in obs.items()}
    flow_exits = sorted(d for d, p in plateaus.items() if p and p.flow_limited)
    free_exits = sorted(d for d, p in plateaus.items() if p and not p.flow_limited)
    # pre-movement data: free exits whole, flow-limited exits up to the step before their queue's steady stretch
    upto = {d: (len(grid) if d in free_exits else plateaus[d].k0) for d in obs if plateaus[d]}  # type: ignore[union-attr]
    pre_people = sum(float(obs[d][k - 1]) if k > 0 else 0.0 for d, k in upto.items())
    people: dict[str, float] = defaultdict(float)
    for e in actual.values():
        people[e.building] += e.people
    doors = exits_of(campus)
    levels = {k: v for k, v in (levels or {}).items() if k[0] in people}
    for b in list(people):
        watched = sorted(lv for bb, lv in levels if bb == b)
        seen = sum(levels[(b, lv)].at_alarm for lv in watched)
        whole = len(watched) >= int(campus.features.at[b, "levels"] or 1)
        unsensed = sorted(d for d, bb in doors.items() if bb == b and d not in actual)
        if whole and seen > people[b]:  # every level watched: its cameras saw people the doors did not count out
            warnings.append(f"building {b}: its cameras counted {seen:.0f} people at the alarm, its doors {people[b]:.0f} out "
                            f"(exits {', '.join(unsensed) or 'none'} without a count): the fit holds {seen:.0f} and lets them "
                            "leave by any exit")
            people[b] = seen
        elif unsensed:
            warnings.append(f"building {b}: exits {', '.join(unsensed)} counted nobody (no door sensor, or unused): "
                            "the fit assumes nobody left through them")
    # camera counts: levels with people at the alarm; each up to the queue at a flow-limited exit on that level
    lev_at = {k: v.until_empty()[0] for k, v in sorted(levels.items()) if v.at_alarm > 0}  # report times
    lev_obs = {k: levels[k].until_empty()[1] for k in lev_at}
    level_of = {d: campus.graph.nodes[d].get("level") for d in actual}
    lev_upto = {k: int(np.searchsorted(t, min([grid[plateaus[d].k0] for d in flow_exits  # type: ignore[union-attr]
                                                if actual[d].building == k[0] and level_of[d] == k[1]] + [np.inf])))
                for k, t in lev_at.items()}
    lev_people = cams.people_seen_leaving(lev_obs, lev_upto)
    cam_weight = float(default("calibrate.camera_weight"))
    base = scenario.model_copy(update={"occupancy": scenario.occupancy.model_validate(_occupancy_for(campus, people))})
    mean0, sd0 = _start_premovement(scenario)
    flow0 = float(scenario.settings.get("flow_door", default("flow_door")))
    drills: dict[float, Drill] = {}
    runs = [0]

    def passages(flow: float, mean: float, sd: float, cameras: bool = True) -> tuple[list[dict[str, np.ndarray]], list[dict]]:
        key = round(flow, 6)
        if key not in drills:
            sc = base.model_copy(update={"settings": {**base.settings, "flow_door": key}})
            drills[key] = Drill(campus, sc)
        dr = drills[key]
        dr.scenario = dr.scenario.model_copy(update={"premovement": _lognormal(mean, sd, scenario.premovement)})
        out = cams.simulate(dr, set(actual), set(lev_obs) if cameras else set(), reps)
        runs[0] += reps
        if progress:
            progress(runs[0])
        return out

    def sim(flow: float, mean: float, sd: float, cameras: bool = True) -> tuple[dict[str, np.ndarray], dict[cams.Level, np.ndarray]]:
        out, lev = passages(flow, mean, sd, cameras)
        return ({d: _mean_cumulative(_sim_exit(out, d, actual[d].building), grid) for d in actual},
                cams.mean_levels(lev, lev_at) if cameras else {})

    def flow_loss(flow: float, mean: float, sd: float) -> float:
        cum, _ = sim(flow, mean, sd, cameras=False)
        total = 0.0
        for d in flow_exits:
            p = plateaus[d]
            q = plateau(per_step(cum[d]), step)
            rate = q.rate if q is not None else 0.0
            total += ((rate - p.rate) / p.rate) ** 2  # type: ignore[union-attr]
        return total / max(1, len(flow_exits))

    def pre_loss(x: np.ndarray, flow: float, parts: dict[str, int] | None) -> float:
        """Squared gap between the curves in people (``parts``: each exit up to its step), or, with ``parts``
        None, between every exit's whole curve as shares of its own people, weighted by them (a simulation
        that sends a few more people through one exit than the drill did is not a worse pre-movement)."""
        mean, sd = (float(v) for v in np.exp(x))
        if not (PRE_MEAN_BOUNDS[0] <= mean <= PRE_MEAN_BOUNDS[1] and PRE_SD_BOUNDS[0] <= sd <= PRE_SD_BOUNDS[1]):
            return 1e9
        cum, lev = sim(flow, mean, sd)
        if parts is None:
            err = sum(float(obs[d][-1]) * float(np.sum((cum[d] / max(cum[d][-1], 1.0) - obs[d] / obs[d][-1]) ** 2))
                      for d in obs if obs[d][-1] > 0) + cam_weight * cams.level_error(lev, lev_obs, lev_upto, shares=True)
            weight = sum(float(o[-1]) for o in obs.values()) + cam_weight * sum(float(o[0]) for o in lev_obs.values())
            return err / max(1.0, weight) / (len(grid) + sum(len(t) for t in lev_at.values()))
        err = (sum(float(np.sum((cum[d][:k] - obs[d][:k]) ** 2)) for d, k in parts.items() if k > 0)
               + cam_weight * cams.level_error(lev, lev_obs, lev_upto, shares=False))
        return err / max(1.0, pre_people + cam_weight * lev_people) / max(1, sum(parts.values()) + sum(lev_upto.values()))

    def fit_pre(m: float, s: float, flow: float, parts: dict[str, int] | None, reach: tuple[float, float] = (0.7, 0.6)) -> tuple[float, float]:
        r = minimize(pre_loss, np.log([m, s]), args=(flow, parts), method="Nelder-Mead",
                     options={"xatol": 1e-2, "fatol": 1e-7,
                              "initial_simplex": np.log([[m, s], [m * reach[0], s], [m, s * reach[1]]])})
        loss["premovement"] = float(r.fun)
        return float(np.exp(r.x[0])), float(np.exp(r.x[1]))

    flow: float | None = None
    mean: float | None = None
    sd: float | None = None
    loss: dict[str, float] = {}

    def fit_flow(m: float, s: float) -> float:
        r = minimize_scalar(flow_loss, bounds=FLOW_BOUNDS, method="bounded", args=(m, s), options={"xatol": 1e-2})
        loss["flow"] = float(r.fun)
        return float(r.x)

    if flow_exits:
        flow = fit_flow(mean0, sd0)
    min_people = default("calibrate.min_people")
    said = len(warnings)
    if pre_people + lev_people >= min_people:
        # the cameras' falls on levels without exits start the search where the data are, when that fits better: the
        # times people left those levels, less a share for the walk to the stair (the fit alone, from the plan's values,
        # can settle in the valley where a short, narrow pre-movement and the stair's queue make the same curves)
        m0, s0 = mean0, sd0
        moments = cams.departure_moments(lev_at, lev_obs, {(actual[d].building, level_of[d]) for d in actual})
        if moments is not None:
            tries = [(mean0, sd0)] + [(moments[0] * f, moments[1]) for f in START_SHARES]
            m0, s0 = min(tries, key=lambda ms: pre_loss(np.log(ms), flow or flow0, upto))
        mean, sd = fit_pre(m0, s0, flow if flow is not None else flow0, upto)
        if flow_exits:
            flow = fit_flow(mean, sd)
            # with the door flow known, the queued stretches say when the last people reached the doors (the
            # pre-movement's upper tail): a last pass fits the pre-movement to every exit's whole curve
            mean, sd = fit_pre(mean, sd, flow, None, reach=(0.9, 0.85))  # a refinement: starts near
            flow = fit_flow(mean, sd)
    else:
        seen = f" and {lev_people:.0f} were seen leaving their levels by cameras" if lev_obs else ""
        warnings.append(f"pre-movement not identified: only {pre_people:.0f} people passed exits that were not flow-limited{seen} "
                        f"(need {min_people:.0f}); a queued exit's counts show the door flow, not when people set off; "
                        f"premovement kept at mean {mean0:g} s, sd {sd0:g} s")
    if flow is None:
        inside = (" and the pre-movement was fitted with it: the doors inside (rooms, stairs) shape how people leave the levels "
                  "the cameras watch, so a door flow far from the drill's biases the pre-movement") if lev_obs and mean is not None else ""
        warnings.insert(said, "door flow not identified: no exit was flow-limited (none held a steady queue), so the counts "
                        f"show when people arrived, not how fast a door lets them through; flow_door kept at {flow0:g} persons/s/m"
                        + inside)
    best = {"flow_door": flow if flow is not None else flow0, "premovement_mean_s": mean if mean is not None else mean0,
            "premovement_sd_s": sd if sd is not None else sd0}
    fitted, _ = passages(*best.values(), cameras=False)
    warnings += _misfit(fitted, obs, upto, plateaus, flow_exits, actual, grid, step, mean is not None)
    free = [k for k, v in (("flow_door", flow), ("premovement_mean_s", mean), ("premovement_sd_s", sd)) if v is not None]

    def sse(values: dict[str, float]) -> float:
        """Squared residuals of the people out of each building per time step (summed over its counted exits), and of
        the people on each watched level per time step, weighted by ``calibrate.camera_weight``."""
        cum, lev = sim(*values.values())
        return (sum(float(np.sum((sum(per_step(cum[d]) - per_step(obs[d]) for d in ds)) ** 2)) for ds in by_building.values())
                + cam_weight * cams.residuals(lev, lev_obs))

    by_building: dict[str, list[str]] = defaultdict(list)
    for d, e in actual.items():
        by_building[e.building].append(d)

    pins = profile(sse, best, free, points=len(grid) * len(by_building) + sum(len(t) for t in lev_at.values())) if uncertainty else {}
    return Calibration(flow, mean, sd, {"flow_door": flow0, "premovement_mean_s": mean0, "premovement_sd_s": sd0},
                       flow_exits, sorted(d for d, k in upto.items() if k > 0), pre_people, runs[0], loss, warnings, fitted,
                       pins, [f"{b}-L{lv}" for b, lv in lev_obs], lev_people)


def _misfit(fitted: list[dict[str, np.ndarray]], obs: dict[str, np.ndarray], upto: dict[str, int],
            plateaus: dict[str, Plateau | None], flow_exits: list[str], actual: dict[str, ExitData], grid: np.ndarray,
            step: float, premovement_fitted: bool) -> list[str]:
    """Warnings where even the fitted simulation does not explain the drill (``calibrate.max_misfit``)."""
    limit = default("calibrate.max_misfit")
    out = []
    if premovement_fitted:
        gap = np.zeros(len(grid))
        people = 0.0
        for d, k in upto.items():
            if k <= 0:
                continue
            sim = _mean_cumulative(_sim_exit(fitted, d, actual[d].building), grid)
            gap[:k] += sim[:k] - obs[d][:k]
            people += float(obs[d][k - 1])
        worst = float(np.max(np.abs(gap))) / max(people, 1.0)
        if worst > limit and people >= default("calibrate.min_people"):  # a handful of people before a queue: noise
            out.append(f"poor fit of the pre-movement: the fitted simulation is still off by {worst:.0%} of the people it was "
                       "fitted to at some time; check the alarm time (--alarm), which exits were counted, and that the window "
                       "holds the evacuation")
    for d in flow_exits:
        q = plateau(per_step(_mean_cumulative(_sim_exit(fitted, d, actual[d].building), grid)), step)
        p = plateaus[d]
        if p is not None and (q is None or abs(q.rate / p.rate - 1) > limit):
            out.append(f"poor fit of the door flow at exit {d}: its steady flow was {p.rate:.2f} persons/s, the fitted simulation's "
                       f"{0 if q is None else q.rate:.2f}; another bottleneck (a stair, a corridor) may limit it")
    return out


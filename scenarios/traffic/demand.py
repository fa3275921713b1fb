"""The demand of one replication: every vehicle and pedestrian arrival, drawn once and run on every layout.

Vehicles and pedestrians arrive at their gates as Poisson processes with
hourly rates; class changes of the timetable move people between buildings.
Destinations are drawn from the streams' weights (buildings weighted by their
occupants by default). The same demand runs on every layout (common random
numbers), so the layouts are compared side by side.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from scenarios.schema import Traffic
from scenarios.traffic.network import HOUR
from twin.settings import value


@dataclass
class Demand:
    """Every arrival of one replication, in time order within each kind (times in s of the day)."""

    veh_t: np.ndarray
    veh_gate: list[str]
    veh_class: list[str]
    veh_to: list[str]
    veh_service: np.ndarray
    veh_dwell: np.ndarray
    ped_t: np.ndarray
    ped_from: list[str]
    ped_to: list[str]
    ped_speed: np.ndarray
    ped_jaywalk: np.ndarray
    ped_entering: np.ndarray
    """True for people who come in through a gate (False: a timetable move inside the campus)."""


def _choose(rng: np.random.Generator, weights: dict[str, float], n: int, fallback: dict[str, float]) -> list[str]:
    w = weights or fallback
    keys = list(w)
    p = np.array([w[k] for k in keys], dtype=float)
    if p.sum() <= 0:
        p = np.ones(len(keys))
    return [keys[i] for i in rng.choice(len(keys), size=n, p=p / p.sum())] if n else []


def _poisson_times(rng: np.random.Generator, rate: Callable[[int], float], t0: float, t1: float) -> np.ndarray:
    """Arrival times (s) of a Poisson process with hourly rates (per hour, hour of the day) over [t0, t1)."""
    out = []
    h = math.floor(t0 / HOUR)
    while h * HOUR < t1:
        a, b = max(t0, h * HOUR), min(t1, (h + 1) * HOUR)
        n = rng.poisson(rate(h % 24) * (b - a) / HOUR)
        out.append(rng.uniform(a, b, n))
        h += 1
    return np.sort(np.concatenate(out)) if out else np.empty(0)


def draw_demand(scenario: Traffic, occupants: dict[str, float], rng: np.random.Generator) -> Demand:
    """Draw the vehicles and pedestrians of one replication; ``occupants`` weights buildings by default."""
    st = scenario.settings
    t0, t1 = scenario.start * HOUR, scenario.end * HOUR
    cv = value("traffic.service_cv", st)
    dwell_cv = value("traffic.dwell_cv", st)
    vt, vg, vc, vto, vs, vd = [], [], [], [], [], []
    for s in scenario.vehicles:
        times = _poisson_times(rng, s.rate, t0, t1)
        n = len(times)
        vt.append(times)
        vg += [s.gate] * n
        vc += [s.vehicle] * n
        vto += _choose(rng, s.to, n, occupants)
        m = value(f"traffic.service.{s.vehicle}", st)
        sig2 = math.log1p(cv * cv)
        vs.append(rng.lognormal(math.log(m) - sig2 / 2, math.sqrt(sig2), n))
        if s.dwell is not None:
            vd.append(s.dwell.draw(rng, n))
        else:
            dm = value(f"traffic.dwell.{s.vehicle}", st)
            d2 = math.log1p(dwell_cv * dwell_cv)
            vd.append(rng.lognormal(math.log(dm) - d2 / 2, math.sqrt(d2), n))
    pt, pf, pto, pe = [], [], [], []
    for s in scenario.pedestrians:
        times = _poisson_times(rng, s.rate, t0, t1)
        pt.append(times)
        pf += [s.gate] * len(times)
        pto += _choose(rng, s.to, len(times), occupants)
        pe.append(np.ones(len(times), bool))
    for c in scenario.timetable:
        times = c.at * HOUR + rng.uniform(0, c.window, c.people) if c.window > 0 else np.full(c.people, c.at * HOUR)
        frm, to = _choose(rng, c.from_, c.people, occupants), _choose(rng, c.to, c.people, occupants)
        same = np.array([a == b for a, b in zip(frm, to, strict=True)], dtype=bool)
        keep = ~same & (times >= t0) & (times < t1)
        pt.append(times[keep])
        pf += [a for a, k in zip(frm, keep, strict=True) if k]
        pto += [b for b, k in zip(to, keep, strict=True) if k]
        pe.append(np.zeros(int(keep.sum()), bool))
    cat = (lambda xs: np.concatenate(xs) if xs else np.empty(0))
    ped_t = cat(pt)
    n = len(ped_t)
    order = np.argsort(ped_t, kind="stable")
    speed = np.maximum(scenario.speed.draw(rng, n), value("traffic.walk_speed_floor", st))
    jay = rng.random(n) < scenario.jaywalk
    veh_t = cat(vt)
    vorder = np.argsort(veh_t, kind="stable")
    return Demand(
        veh_t=veh_t[vorder], veh_gate=[vg[i] for i in vorder], veh_class=[vc[i] for i in vorder], veh_to=[vto[i] for i in vorder],
        veh_service=cat(vs)[vorder], veh_dwell=np.maximum(cat(vd)[vorder], 0.0) if len(vorder) else np.empty(0),
        ped_t=ped_t[order], ped_from=[pf[i] for i in order], ped_to=[pto[i] for i in order], ped_speed=speed[order],
        ped_jaywalk=jay[order], ped_entering=cat(pe).astype(bool)[order] if n else np.empty(0, bool),
    )

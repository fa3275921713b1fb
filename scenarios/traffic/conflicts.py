"""Conflicts and passings: what a traffic engineer counts where pedestrians and vehicles meet.

* **Conflict events** (:func:`find_conflicts`) at the crossing points, lane by
  lane: a vehicle and a group of people on a collision course, graded by time
  to accident against conflicting speed (the Swedish Traffic Conflict
  Technique: Hydén 1987; Laureshyn & Várhelyi 2018), with post-encroachment
  time (Allen et al. 1978) as the second measure; once per vehicle, group and
  crossing point.
* **Passings** (:func:`find_passings`) along shared lanes and roads: people and
  vehicles meeting as they go along the lane, with passing speed and lateral
  clearance; not conflicts (their paths do not cross).

Both work on the plain interval records a run keeps, so other simulators'
trajectories (the SUMO side-by-side) can be measured by the same code.
"""

from __future__ import annotations

import math

import numpy as np

from scenarios.traffic.network import Network

CONFLICT = [("t", float), ("place", int), ("group", int), ("pet", float), ("tta", float), ("speed", float),
            ("serious", bool), ("ped", int), ("peds", int), ("veh", int)]
"""One conflict event: a vehicle and a group of people at one crossing point (``group`` is the zone).

``t`` the time (s of the day), ``place`` the lane's conflict area, ``pet`` the post-encroachment time (s; 0 on a
collision course), ``tta`` the time to accident (s; inf without a collision course), ``speed`` the conflicting speed
(m/s, of the road user who had to give way), ``serious`` by the severity rule, ``ped`` the first person of the group,
``peds`` the group's size, ``veh`` the vehicle trip."""
PASSING = [("t", float), ("group", int), ("edge", int), ("speed", float), ("clearance", float), ("ped", int), ("veh", int)]
"""One passing on a lane edge: ``group`` the lane's feature (index into ``Network.lane_features``), ``speed`` the
passing speed (m/s, relative), ``clearance`` the lateral clearance (m) between the vehicle's side and the person."""


OVERLAP_MIN = 1e-6
"""A person and a vehicle are on a collision course when their times in a conflict area overlap by more than this (s):
one stepping in the instant the other leaves has a post-encroachment time of 0, not a collision course."""


def _pairs(key_a: np.ndarray, a0: np.ndarray, a1: np.ndarray, key_b: np.ndarray, b0: np.ndarray, b1: np.ndarray,
           slack: float) -> tuple[np.ndarray, np.ndarray]:
    """Index pairs (i, j) with ``key_a[i] == key_b[j]`` whose intervals [a0, a1] and [b0, b1] come within ``slack`` s.

    ``b`` must be sorted by (key, b0).
    """
    if not len(key_a) or not len(key_b):
        return np.empty(0, int), np.empty(0, int)
    span = 1e7
    bkey = key_b * span + b0
    dmax = np.zeros(int(max(key_a.max(), key_b.max())) + 1)
    np.maximum.at(dmax, key_b, b1 - b0)  # the longest interval of each key bounds how early a match can start
    lo = np.searchsorted(bkey, key_a * span + a0 - slack - dmax[key_a], side="left")
    hi = np.searchsorted(bkey, key_a * span + a1 + slack, side="right")
    cnt = np.maximum(hi - lo, 0)
    total = int(cnt.sum())
    i = np.repeat(np.arange(len(key_a)), cnt)
    j = np.repeat(lo - np.cumsum(cnt) + cnt, cnt) + np.arange(total)
    keep = key_b[j] == key_a[i]
    return i[keep], j[keep]


def platoons(zone: np.ndarray, t0: np.ndarray, window: float) -> np.ndarray:
    """Group id of each crossing (zone, step-on time): people who step onto a crossing point within ``window`` s
    of the first of them are one group, one road user (the rest of a steady stream are the next groups)."""
    out = np.empty(len(zone), int)
    order = np.lexsort((t0, zone))
    gid, last_zone, start = -1, -1, -math.inf
    for k in order.tolist():
        if zone[k] != last_zone or t0[k] > start + window:
            gid += 1
            last_zone, start = zone[k], t0[k]
        out[k] = gid
    return out


def find_conflicts(net: Network, ped_zone: np.ndarray, ped_lane: np.ndarray, veh_lane: np.ndarray, *,
                   pet_threshold: float, reaction: float, serious_decel: float, window: float) -> np.ndarray:
    """Conflict events at the crossing points: one per vehicle, group of people and crossing point (:data:`CONFLICT`).

    ``ped_zone`` is (zone, t0, t1, who) per crossing, ``ped_lane`` (place, t0, t1, crossing) per lane crossed,
    ``veh_lane`` (place, t0, t1, who, speed, edging) per vehicle pass. A person and a vehicle in the same lane's
    conflict area at overlapping times (not merely touching) are on a collision course (unless the driver was edging through people
    still crossing after giving way, at their pace, which is a PET event only): the time to accident (Hydén 1987) is the notice the one
    who came second had, less a driver's ``reaction``; the conflicting speed is theirs; the conflict is *serious*
    when stopping in that time needs a deceleration of at least ``serious_decel`` (speed / (2 TA)). Pairs apart by
    less than ``pet_threshold`` s (post-encroachment time, Allen et al. 1978) are kept as events too. Each event
    is counted once per vehicle, group and crossing point, at its most severe pair; a group is the people who
    step onto the crossing point within ``window`` s of the first of them (:func:`platoons`).
    """
    pz = np.asarray(ped_zone, float).reshape(-1, 4)
    pl = np.asarray(ped_lane, float).reshape(-1, 4)
    vl = np.asarray(veh_lane, float).reshape(-1, 6)
    vl = vl[np.lexsort((vl[:, 1], vl[:, 0]))]
    i, j = _pairs(pl[:, 0].astype(int), pl[:, 1], pl[:, 2], vl[:, 0].astype(int), vl[:, 1], vl[:, 2], pet_threshold)
    p0, p1, v0, v1 = pl[i, 1], pl[i, 2], vl[j, 1], vl[j, 2]
    pet = np.maximum(0.0, np.maximum(v0 - p1, p0 - v1))
    keep = pet < pet_threshold
    i, j, pet, p0, v0 = i[keep], j[keep], pet[keep], p0[keep], v0[keep]
    overlap = np.minimum(p1[keep], v1[keep]) - np.maximum(p0, v0)
    course = (overlap > OVERLAP_MIN) & (vl[j, 5] == 0)  # in the area together; merely touching is PET = 0
    rec = pl[i, 3].astype(int)
    walker_first = p0 < v0
    tta = np.where(course, np.where(walker_first, np.maximum(v0 - p0 - reaction, 0.0), p0 - v0), np.inf)
    zone = pz[rec, 0].astype(int)
    walk_v = net.zone_width[zone] / np.maximum(pz[rec, 2] - pz[rec, 1], 1e-9)
    speed = np.where(walker_first, vl[j, 4], walk_v)
    with np.errstate(divide="ignore"):
        need = np.where(course, speed / (2 * tta), 0.0)
    serious = course & (need >= serious_decel)
    group = platoons(pz[:, 0].astype(int), pz[:, 1], window)
    size = np.bincount(group, minlength=int(group.max()) + 1 if len(group) else 0)
    gp = group[rec]
    veh = vl[j, 3].astype(int)
    # one event per (zone, group, vehicle): its most severe pair (largest needed deceleration, then smallest PET)
    order = np.lexsort((pet, -need, veh, gp, zone))
    key = np.stack([zone, gp, veh], axis=1)[order]
    first = np.ones(len(order), bool)
    first[1:] = np.any(key[1:] != key[:-1], axis=1)
    sel = order[first]
    out = np.empty(len(sel), dtype=CONFLICT)
    out["t"] = np.minimum(p0, v0)[sel]
    out["place"] = pl[i[sel], 0].astype(int)
    out["group"] = zone[sel]
    out["pet"] = pet[sel]
    out["tta"] = tta[sel]
    out["speed"] = speed[sel]
    out["serious"] = serious[sel]
    out["ped"] = pz[rec[sel], 3].astype(int)
    out["peds"] = size[gp[sel]] if len(sel) else 0
    out["veh"] = veh[sel]
    return np.sort(out, order="t")


def find_passings(net: Network, ped_edge: np.ndarray, veh_edge: np.ndarray, veh_width: np.ndarray, ped_width: float) -> np.ndarray:
    """People and vehicles passing each other along shared lanes and roads (:data:`PASSING`), once per lane feature.

    ``ped_edge`` and ``veh_edge`` are (edge, t0, t1, direction, who): on the lane edge from t0 to t1, walking or
    driving it from its first node (+1) or its last (−1), at constant speed. They pass where their positions
    along the edge cross. The lateral clearance is the room left beside a vehicle in the middle of the lane for a
    person at its edge: (lane width − vehicle width) / 2 − ``ped_width``. ``veh_width`` is each vehicle trip's width (m).
    """
    pe = np.asarray(ped_edge, float).reshape(-1, 5)
    ve = np.asarray(veh_edge, float).reshape(-1, 5)
    ve = ve[np.lexsort((ve[:, 1], ve[:, 0]))]
    i, j = _pairs(pe[:, 0].astype(int), pe[:, 1], pe[:, 2], ve[:, 0].astype(int), ve[:, 1], ve[:, 2], 0.0)
    e = pe[i, 0].astype(int)
    length = np.asarray(net.lane_edge_len)[e] if len(e) else np.empty(0)

    def position(rows: np.ndarray, t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        v = length / np.maximum(rows[:, 2] - rows[:, 1], 1e-9) * rows[:, 3]
        return np.where(rows[:, 3] > 0, 0.0, length) + v * (t - rows[:, 1]), v

    a, b = np.maximum(pe[i, 1], ve[j, 1]), np.minimum(pe[i, 2], ve[j, 2])
    xa_p, vp = position(pe[i], a)
    xa_v, vv = position(ve[j], a)
    xb_p, _ = position(pe[i], b)
    xb_v, _ = position(ve[j], b)
    meet = (a <= b) & ((xa_p - xa_v) * (xb_p - xb_v) <= 0)
    i, j, a, vp, vv, e = i[meet], j[meet], a[meet], vp[meet], vv[meet], e[meet]
    dx = (xa_p - xa_v)[meet]
    rel = vp - vv
    t = a + np.where(np.abs(rel) > 1e-9, -dx / np.where(np.abs(rel) > 1e-9, rel, 1.0), 0.0)
    veh = ve[j, 4].astype(int)
    width = np.asarray(net.lane_edge_width)[e]
    out = np.empty(len(i), dtype=PASSING)
    out["t"] = t
    out["group"] = np.asarray(net.lane_group, int)[e] if len(e) else np.empty(0, int)
    out["edge"] = e
    out["speed"] = np.abs(rel)
    out["clearance"] = np.maximum((width - veh_width[veh]) / 2 - ped_width, 0.0)
    out["ped"] = pe[i, 4].astype(int)
    out["veh"] = veh
    out = np.sort(out, order=["group", "ped", "veh", "t"])
    first = np.ones(len(out), bool)
    first[1:] = (out["group"][1:] != out["group"][:-1]) | (out["ped"][1:] != out["ped"][:-1]) | (out["veh"][1:] != out["veh"][:-1])
    return np.sort(out[first], order="t")


__all__ = ["CONFLICT", "PASSING", "find_conflicts", "find_passings", "platoons"]

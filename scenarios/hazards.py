"""A drill "as inspected": the findings of the hazard ledger turned into what the engines already understand.

A finding in force (open, or fixed and not yet verified: ``twin.hazards``)
acts on a drill as follows:

- ``blocked_exit`` on a door, stair, corridor or gate: its id joins the
  scenario's ``blocked`` list (closed from the start, as a blocked exit is);
- ``narrowed`` with a remaining width: a campus variant
  (``twin.variants``) with the element's ``width`` set to it, so its flow
  capacity and walking speed follow the narrower width;
- ``detector_fault``: the detector cannot raise an alarm; the drill starts
  with the alarm, so it changes nothing in the run, and the table says which
  rooms are left with no working detector;
- the other kinds (``door_not_closing``, ``extinguisher_missing``,
  ``emergency_lighting``, ``other``) are listed and change nothing in the run.

:func:`as_inspected` returns the changed scenario and campus and that table;
a scenario sets ``hazards = "PATH/TO/STORE"`` (relative to the scenario file),
or ``"open"`` for the store of the server that runs it (the live forecast).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import shapely

from twin.campus import Campus
from twin.errors import Problem, ScenarioError
from twin.hazards import HazardError, HazardLedger, element_width
from twin.variants import campus_variant

LIVE_STORE = "open"
"""The ``hazards`` value that means: the findings of the store the server runs on."""
NARROWED_KEPT = 4
"""Campus variants with narrowed elements kept for the live forecasts (each about as large as the campus)."""


@dataclass
class Inspected:
    """A scenario and campus as inspected, and what each finding in force changed.

    Attributes
    ----------
    scenario : Any
        The scenario with the blocked findings' ids added to ``blocked``.
    campus : Campus
        The campus with narrowed elements' widths changed (the given campus when none is narrowed).
    findings : list of dict
        Per finding in force: ``id``, ``kind``, ``feature``, ``building``, ``status``, ``due``, ``overdue`` and
        ``effect`` (what it changed in the drill, as text).
    store : str
        The ledger read.
    """

    scenario: Any
    campus: Campus
    findings: list[dict[str, Any]] = field(default_factory=list)
    store: str = ""

    def table(self) -> dict[str, Any]:
        """The findings table as a JSON-ready mapping (for a run's summary)."""
        return {"store": self.store, "blocked": sorted({f["feature"] for f in self.findings if f["kind"] == "blocked_exit"}),
                "findings": self.findings}


def as_inspected(scenario: Any, campus: Campus, *, source: str = "scenario", store: str | Path | None = None,
                 as_of: float | None = None) -> Inspected:
    """``scenario`` on ``campus`` as the hazard ledger says the campus is.

    Parameters
    ----------
    scenario : Evacuation
        A validated scenario; its ``hazards`` key names the ledger (nothing changes when it is not set).
    campus : Campus
        The scenario's campus (the ledger's store must belong to it).
    source : str
        The scenario file: a relative ``hazards`` path is relative to its folder; problems name it.
    store : str or Path, optional
        The server's event store, used for ``hazards = "open"``.
    as_of : float, optional
        The ledger as it stood then (epoch s; default now).

    Raises
    ------
    ScenarioError
        Naming the key ``hazards``: a missing store, a store of another campus, ``"open"`` with no server store.
    """
    key = getattr(scenario, "hazards", None)
    if key is None:
        return Inspected(scenario, campus)
    if key == LIVE_STORE:
        if store is None:
            raise ScenarioError([Problem(source, f'hazards = "{LIVE_STORE}" means the store of the running server: '
                                                 "give it with twin run --store, or name the store's path", field="hazards")])
        path = Path(store)
    else:
        path = Path(key) if Path(key).is_absolute() else (Path(source).parent / key).resolve()
    if not path.is_file():
        raise ScenarioError([Problem(source, f"no such event store {path}", field="hazards")])
    try:
        ledger = HazardLedger(path, campus, readonly=True)
    except HazardError as e:
        raise ScenarioError([Problem(source, p.message, field="hazards") for p in e.problems]) from None
    try:
        found = ledger.findings(in_force=True, as_of=as_of)
    finally:
        ledger.close()
    return apply_findings(scenario, campus, found, source=source, store=str(path))


def apply_findings(scenario: Any, campus: Campus, findings: list[dict[str, Any]], *, source: str = "scenario",
                   store: str = "") -> Inspected:
    """``scenario`` and ``campus`` with ``findings`` (records of ``HazardLedger.findings``) applied; see the module."""
    blocked = list(scenario.blocked)
    widths: dict[str, dict[str, float]] = {}
    faulty = [r["feature"] for r in findings if r["kind"] == "detector_fault" and r["feature"]]
    dark = rooms_without_detector(campus, faulty)
    rows = []
    for r in findings:
        fid = r["feature"]
        if r["kind"] == "blocked_exit" and fid:
            effect = "already blocked by the scenario" if fid in blocked else f"{fid} closed: nobody passes"
            if fid not in blocked:
                blocked.append(fid)
        elif r["kind"] == "narrowed" and fid:
            before = element_width(campus, fid)
            widths[fid] = {"width": float(r["width"])}
            effect = f"{fid} narrowed from {before:.2f} m to {r['width']:.2f} m" if before else f"{fid} narrowed to {r['width']:.2f} m"
        elif r["kind"] == "detector_fault" and fid:
            mine = [room for room, dets in dark.items() if fid in dets]
            effect = ("cannot raise an alarm; no working detector in " + ", ".join(sorted(mine)) if mine
                      else "cannot raise an alarm (its room has another working detector)")
            effect += " (the drill starts with the alarm: no change to the run)"
        else:
            effect = "listed; no change to the run"
        rows.append({k: r[k] for k in ("id", "kind", "feature", "building", "level", "status", "due", "overdue", "width", "note")}
                    | {"effect": effect})
    sc = scenario.model_copy(update={"blocked": blocked}) if blocked != list(scenario.blocked) else scenario
    variant = campus_variant(campus, {"set": widths}, source=source, key="hazards") if widths else campus
    return Inspected(sc, variant, rows, store)


_narrowed: dict[tuple[str, tuple[tuple[str, float], ...]], Campus] = {}
_narrowed_lock = threading.Lock()


def narrowed_campus(campus: Campus, findings: list[dict[str, Any]]) -> Campus:
    """``campus`` with the elements of the ``narrowed`` findings among ``findings`` set to the width left (m).

    The live forecasts' campus (``scenarios.forecast.run_forecast``, in the
    forecast worker process). A campus variant takes seconds to build (the
    file is read again), so the last ``NARROWED_KEPT`` are kept by campus and
    widths: only the first forecast after a narrowed finding changes pays for
    it. Thread-safe: a second caller waits for a build under way.
    """
    widths = tuple(sorted({(r["feature"], float(r["width"])) for r in findings
                           if r["kind"] == "narrowed" and r["feature"] and r["width"] is not None}))
    if not widths:
        return campus
    key = (campus.digest, widths)
    with _narrowed_lock:
        if key not in _narrowed:
            while len(_narrowed) >= NARROWED_KEPT:
                _narrowed.pop(next(iter(_narrowed)))
            _narrowed[key] = campus_variant(campus, {"set": {fid: {"width": w} for fid, w in widths}},
                                            source=str(campus.source), key="hazards")
        return _narrowed[key]


def rooms_without_detector(campus: Campus, faulty: list[str]) -> dict[str, list[str]]:
    """Rooms that have detectors, all of them in ``faulty``: room id → its faulty detectors.

    A detector belongs to the room of its building and level whose footprint holds its point.
    """
    if not faulty:
        return {}
    f = campus.features
    det = f[f["kind"] == "detector"]
    rooms = f[f["kind"].isin(("room", "corridor"))]
    out: dict[str, list[str]] = {}
    for rid, room in rooms.iterrows():
        here = det[(det["building"] == room["building"]) & (det["level"] == room["level"])]
        if here.empty:
            continue
        inside = here.index[shapely.contains(room.geometry, here.geometry.values)]
        bad = [d for d in inside if d in faulty]
        if bad and len(bad) == len(inside):
            out[rid] = bad
    return out


__all__ = ["LIVE_STORE", "Inspected", "apply_findings", "as_inspected", "narrowed_campus", "rooms_without_detector"]

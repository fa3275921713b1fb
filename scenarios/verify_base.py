"""The verification suite's parts: a case and its outcome, one scenario run, the context the cases share.

``scenarios/verify.py`` runs the cases (some of them in ``scenarios/verify_exits.py``); this module is what
they all use: :class:`Case`, :class:`Sim` (one run with its recorded replication), :class:`Context` (a temporary
folder and the runs made so far, so a campus several cases read is simulated once) and the acceptance helpers.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from maps.builder import CampusBuilder
from scenarios.evacuation import Drill, Outcome, Replication, run
from scenarios.schema import parse_scenario
from twin.campus import load_campus

RIMEA = "RiMEA 4.1.1"
NIST = "NIST TN 1822 (Ronchi et al. 2013)"
SFPE = "SFPE Handbook 5th ed. (2016) ch. 64"

SEED = 20240601
"""The one seed of the suite."""


@dataclass
class Case:
    """One verification case and its outcome.

    Attributes
    ----------
    name : str
        Short id, e.g. ``rimea-1-corridor``.
    reference : str
        Citation of the test or the published number.
    quantity : str
        What is compared, with its unit.
    expected : float or (float, float)
        The reference value, or the accepted range ``(lo, hi)``.
    simulated : float
        What the engine produced, in the unit of ``quantity``.
    tolerance : str
        The acceptance rule in words.
    passed : bool
        Whether the simulated value meets the rule.
    detail : str
        Supporting numbers (hand calculation, other checks made).
    """

    name: str
    reference: str
    quantity: str
    expected: float | tuple[float, float]
    simulated: float
    tolerance: str
    passed: bool
    detail: str = ""

    def as_dict(self) -> dict[str, Any]:
        """The case as plain JSON values (``expected`` a number or ``[lo, hi]``, an infinite end ``null``)."""
        d = asdict(self)
        if isinstance(self.expected, tuple):
            d["expected"] = [None if math.isinf(x) else x for x in self.expected]
        d["simulated"] = None if math.isnan(self.simulated) else self.simulated
        return d

    def expected_text(self) -> str:
        """``expected`` for a table: a number or ``[lo, hi]``."""
        if isinstance(self.expected, tuple):
            lo, hi = self.expected
            return f"[{num(lo)}, {num(hi)}]"
        return num(self.expected)


def num(x: float) -> str:
    if math.isinf(x):
        return "∞" if x > 0 else "−∞"
    return f"{x:.4g}" if abs(x) < 1000 else f"{x:.0f}"


# -- campuses in code ---------------------------------------------------------------


@dataclass
class Sim:
    """One scenario run: the outcome, its summary and replication 0 with every move recorded."""

    label: str
    outcome: Outcome
    summary: dict[str, Any]
    rep: Replication

    @property
    def drill(self) -> Drill:
        return self.outcome.drill

    @property
    def evacuation_time(self) -> float:
        """Time the last person reached safety in replication 0 (s, unrounded)."""
        return self.rep.evacuation_time

    @property
    def lower_bound(self) -> float:
        """``lower_bound_s`` of the run's summary (s)."""
        return float(self.summary["lower_bound_s"])

    def node(self, name: str) -> int:
        return self.drill.index[name]

    def walks(self, u: str, v: str) -> list[tuple[int, float, float]]:
        """(person, t0, t1) of every walk from node ``u`` to node ``v``."""
        iu, iv = self.node(u), self.node(v)
        return [(p, t0, t1) for p, st, t0, t1, a, b, *_ in self.rep.moves or [] if st == "walk" and a == iu and b == iv]

    def server(self, sid: str) -> dict[str, Any]:
        """Queue statistics of a server in replication 0 (zeros when nobody waited there)."""
        for s in self.rep.servers:
            if s["id"] == sid:
                return s
        return {"id": sid, "max_queue": 0.0, "max_wait_s": 0.0, "mean_wait_s": 0.0, "passed": 0}


@dataclass
class Context:
    """State shared by the cases of one ``run_cases`` call: a temp folder and the runs made so far."""

    folder: Path
    sims: dict[str, Sim] = field(default_factory=dict)

    def simulate(self, label: str, campus: CampusBuilder, **scenario: Any) -> Sim:
        """Run ``scenario`` (keys of an evacuation scenario) on ``campus`` once per suite run."""
        if label in self.sims:
            return self.sims[label]
        path = campus.write(self.folder)
        doc = {"kind": "evacuation", "name": label, "campus": str(path), "seed": SEED, "replications": 1, **scenario}
        sc = parse_scenario(doc, f"verify:{label}")
        outcome = run(sc, load_campus(sc.campus), source=f"verify:{label}", workers=1)
        summary = outcome.summary()
        rep = outcome.drill.run(0, record=True)
        sim = Sim(label, outcome, summary, rep)
        if not math.isclose(rep.evacuation_time, outcome.replications[0].evacuation_time, abs_tol=1e-9):
            msg = f"{label}: the recorded replication differs from the run"
            raise RuntimeError(msg)
        self.sims[label] = sim
        return sim




def above_bound(sim: Sim) -> bool:
    """Whether the simulated evacuation time is not below the run's flow lower bound (within its rounding)."""
    return sim.evacuation_time >= sim.lower_bound


def within(x: float, expected: float | tuple[float, float]) -> bool:
    lo, hi = expected if isinstance(expected, tuple) else (expected, expected)
    return lo <= x <= hi


def rel(expected: float, rel: float) -> tuple[float, float]:
    return (expected * (1 - rel), expected * (1 + rel))

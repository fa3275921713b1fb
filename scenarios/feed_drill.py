"""The evacuation engine as the synthetic feed's drill model: how people leave when the feed raises its alarm.

:func:`engine_drill` returns the callable ``sensors.drill`` asks for: given
the people in each alarmed building at the alarm, it runs one replication of
the evacuation engine (people placed in their rooms, the scenario's physics)
with the pre-movement and door flow the drill is to have, and answers with the
times people passed each building exit and the people on each building level
over time (from the recorded moves). ``twin feed simulate``, ``twin serve
--demo`` and the debrief demo (``scripts/debrief_demo.sh``) wire it in; the
values it was given are the truth a calibration of the recorded drill is
checked against (``docs/exercises.md``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from scenarios.camera_counts import level_counts
from scenarios.evacuation import Drill
from scenarios.schema import parse_scenario
from twin.campus import Campus

Play = tuple[dict[str, np.ndarray], dict[tuple[str, int], tuple[np.ndarray, np.ndarray]]]
"""Exit door → passage times (s); ``(building, level)`` → (times (s), people on the level from each time on)."""


@dataclass(frozen=True)
class DrillTruth:
    """The behaviour a synthetic drill is played with: what a calibration should recover."""

    premovement_mean: float = 90.0
    """Lognormal pre-movement mean (s): a drill announced by the alarm alone, slower than the plan's 60 s."""
    premovement_sd: float = 40.0
    """Lognormal pre-movement standard deviation (s)."""
    flow_door: float = 1.1
    """Door flow (persons/s/m): below the design 1.32 (SFPE), as measured at crowded doors with hesitation."""
    route: str = "shortest"
    """Route choice: people take the way they know."""

    def as_dict(self) -> dict[str, float | str]:
        """JSON-ready."""
        return {"premovement_mean_s": self.premovement_mean, "premovement_sd_s": self.premovement_sd,
                "flow_door": self.flow_door, "route": self.route}


def engine_drill(campus: Campus, truth: DrillTruth = DrillTruth(), *, seed: int = 0) -> Callable[[dict[str, int]], Play]:
    """The drill model for ``sensors.sources.synthetic_day(..., drill=...)`` on ``campus``.

    Parameters
    ----------
    campus : Campus
        The campus the feed runs on.
    truth : DrillTruth
        Pre-movement, door flow and route of the drill.
    seed : int
        Seed of the replication (the feed's own seed is separate).
    """
    f = campus.features

    def play(people: dict[str, int]) -> Play:
        share = {b: min(5.0, n / max(1, int(f.at[b, "occupants"]))) for b, n in people.items()}
        sc = parse_scenario({
            "kind": "evacuation", "campus": str(campus.source), "name": "synthetic drill", "seed": seed, "route": truth.route,
            "occupancy": {"default": 0.0, "buildings": share},
            "premovement": {"dist": "lognormal", "mean": truth.premovement_mean, "sd": truth.premovement_sd},
            "settings": {"flow_door": truth.flow_door}}, "synthetic drill")
        drill = Drill(campus, sc, "synthetic drill")
        rep = drill.run(0, record=True)
        exits = {d: np.sort(np.asarray(t, dtype=float)) for d, t in rep.exit_times.items()}
        return exits, level_counts(drill, rep.moves or [])

    return play


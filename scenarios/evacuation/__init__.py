"""The evacuation engine: people walking out of their rooms to the assembly areas, on the campus graph (SimPy).

The engine has the three parts every engine has:

- :mod:`~scenarios.evacuation.network`: what is derived from the campus and
  the scenario once (graph arrays, doors and flights as flow-limited servers,
  spaces, where people start, closures; the route search itself is
  :mod:`~scenarios.evacuation.search`): :class:`Network`;
- :mod:`~scenarios.evacuation.engine`: the SimPy processes of one
  replication; a :class:`Drill` is a network that runs replications,
  each a :class:`Replication`;
- :mod:`~scenarios.evacuation.outcome`: every replication together
  (:class:`Outcome`, its ``summary()``), the flow lower bound, the recording
  (:func:`record`);

and :mod:`~scenarios.evacuation.physics`, the movement physics from the
settings table. :func:`run` runs every replication of a scenario, here, on
local processes or on a Dask cluster (``scenarios.replicate``), with the
same numbers either way.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from scenarios.evacuation.compiled import prepare

prepare()  # before any compiled module is imported (compiled.py says why)

from scenarios.evacuation.engine import Drill  # noqa: E402
from scenarios.evacuation.replication import Replication  # noqa: E402
from scenarios.evacuation.network import Network, Server  # noqa: E402
from scenarios.evacuation.outcome import Outcome, lower_bound, record  # noqa: E402
from scenarios.evacuation.physics import Physics  # noqa: E402
from scenarios.replicate import replicate  # noqa: E402
from scenarios.schema import Evacuation  # noqa: E402
from twin.campus import Campus  # noqa: E402

__all__ = ["Drill", "Network", "Outcome", "Physics", "Replication", "Server", "lower_bound", "record", "run"]


def run(
    scenario: Evacuation,
    campus: Campus,
    *,
    source: str = "scenario",
    workers: int | None = None,
    dask: str | None = None,
    progress: Callable[[int], None] | None = None,
) -> Outcome:
    """Run every replication of ``scenario`` on ``campus``.

    Parameters
    ----------
    scenario : Evacuation
        The validated scenario.
    campus : Campus
        The scenario's campus, already loaded (it is shipped to the workers: they read no files).
    source : str
        The scenario file, for problems and the summary's name.
    workers : int, optional
        Local processes (default: one per core, at most one per replication; 1 runs in this process).
    dask : str, optional
        Address of a Dask distributed scheduler (``tcp://host:port``) to run on instead.
    progress : callable, optional
        Called with the number of replications finished so far.

    Raises
    ------
    ScenarioError
        For feature ids the campus does not have, naming the key.
    """
    t0 = time.perf_counter()
    drill = Drill(campus, scenario, source)
    reps = replicate(drill, scenario.replications, workers=workers, dask=dask, progress=progress)
    return Outcome(scenario, source, drill, reps, time.perf_counter() - t0)

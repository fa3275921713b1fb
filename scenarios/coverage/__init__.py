"""The coverage engine: guard posts, patrols and cameras against incidents (SimPy).

A ``coverage`` scenario (``docs/coverage.md``) asks three things of a layout of
guard posts, patrols and cameras:

1. **What the cameras see** (``twin/viewshed.py``): per key area the share
   seen and by how many cameras, its blind spots, the footway network seen.
2. **How fast a guard gets there.** Incidents arrive in the key areas (Poisson,
   weighted by each area's risk and an hourly profile, or a given list). The
   nearest free guard on duty, at a post or on patrol, is dispatched: after
   ``call_handling`` (the control room) and ``guard_turnout`` (leaving the
   post) they run on the campus graph at ``guard_run_speed`` (stairs slower),
   handle the incident, then walk back to their post or rejoin their patrol,
   and can be sent again on the way. Response time = waiting for a free
   guard + call handling + turnout + running time.
3. **Where the next post or camera should go**: maximal covering of the key
   areas' incident weight by ``k`` posts within the response standard (the
   posts a scenario pins among them; at a tighter standard when one post
   alone reaches everything, and the summary says so), set
   covering for the fewest posts that reach every key area, and the cameras to
   add that see the most of the blind spots. The recommended posts are then
   checked in the simulation with the same incidents (common random numbers).

The package has the shape every engine shares:

* :mod:`~scenarios.coverage.network`: what it derives from the campus (the
  guards' network, incident places, risk weights, candidate post and camera
  sites), with the solvers in :mod:`~scenarios.coverage.placement`;
* :mod:`~scenarios.coverage.engine`: the SimPy processes (guards, incidents,
  patrols, shifts) and :class:`~scenarios.coverage.engine.CoverageModel`,
  whose ``run(index, layout=...)`` runs one replication;
* :mod:`~scenarios.coverage.outcome`: the results and their summary;
* :func:`run`: all of it for one scenario, every replication through the one
  replication runner (:func:`scenarios.replicate.replicate`).
"""

from __future__ import annotations

import time
from collections.abc import Callable

from scenarios.coverage.engine import CoverageModel, Layout
from scenarios.coverage.network import PostAdvice, advise_posts, recommend_cameras
from scenarios.coverage.outcome import CoverageOutcome
from scenarios.replicate import Job, replicate
from scenarios.schema import Coverage
from twin.campus import Campus
from twin.viewshed import camera_coverage


def runs(scenario: Coverage) -> int:
    """How many replications :func:`run` simulates in all (the scenario's layout, the recommended posts and,
    when posts are optimised, the scenario's own posts): the total its ``progress`` counts to."""
    return scenario.replications * (3 if scenario.optimise_posts else 2)


def recommend(model: CoverageModel) -> tuple[PostAdvice, Layout]:
    """The recommended posts (maximal covering with ``recommend_posts`` posts, by default as many as in use) and
    their layout: the layout's guards shared among them, the layout's patrols."""
    sc = model.scenario
    k = max(sc.recommend_posts or len(model.layout.posts), len(sc.pin_posts), 1)
    cands = model.problem.candidates
    current = [cands.index(n) for _, n, _ in model.scenario_posts if n in cands]
    same = model.optimised is not None and k == sc.optimise_posts
    advice = advise_posts(model.problem, k, current, model.optimised if same else None, model.pinned())
    return advice, model.placed(advice.best.chosen)


def run(
    scenario: Coverage,
    campus: Campus,
    *,
    source: str = "scenario",
    workers: int | None = None,
    dask: str | None = None,
    progress: Callable[[int], None] | None = None,
) -> CoverageOutcome:
    """Run a coverage scenario: cameras, every replication, the recommendations and their check in the simulation.

    Parameters
    ----------
    scenario : Coverage
        The validated scenario.
    campus : Campus
        Its campus, loaded once by the caller; shipped to the workers with the model.
    source : str, keyword-only
        Scenario file name, for error messages and the summary's default name.
    workers : int, optional
        Local processes for the replications; ``None`` is one per core, 1 runs them here.
    dask : str, optional
        Address of a Dask distributed scheduler to run the replications on instead.
    progress : callable, optional
        Called with the number of replications done, up to :func:`runs` ``(scenario)``.

    Returns
    -------
    CoverageOutcome
        The same whether run serially, on local processes or on Dask (each
        replication draws from its own stream of the scenario's seed).
    """
    t0 = time.perf_counter()
    model = CoverageModel(campus, scenario, source)
    advice, recommended = recommend(model)
    n = scenario.replications
    jobs: list[Job] = [(i, {}) for i in range(n)] + [(i, {"layout": recommended}) for i in range(n)]
    if scenario.optimise_posts:
        own = Layout(model.scenario_posts, model.layout.patrols)
        jobs += [(i, {"layout": own}) for i in range(n)]
    done = replicate(model, jobs, workers=workers, dask=dask, progress=progress)
    cams = camera_coverage(campus.features, settings=scenario.settings)
    new = recommend_cameras(campus, model.net, scenario, cams, scenario.new_cameras)
    return CoverageOutcome(scenario, source, model, done[:n], cams, advice, recommended, new, done[n:2 * n], done[2 * n:],
                           time.perf_counter() - t0)


__all__ = ["CoverageOutcome", "recommend", "run", "runs"]

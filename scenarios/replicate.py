"""The one replication runner: every engine's replications, serially, on local cores or on a Dask cluster.

An engine prepares a *model* once from the campus and the scenario (the
evacuation ``Drill``, the traffic ``TrafficModel``, the coverage
``CoverageModel``); the model's ``run(index, **options)`` runs replication
``index`` and returns its result. Each replication draws from its own random
stream spawned from the scenario's seed (``numpy.random.SeedSequence(seed)
.spawn``), so results do not depend on where or in what order replications
run: serial, a local process pool and a Dask cluster give identical results.

The prepared model (campus included) is shipped to the workers: local
processes inherit it when they start, a Dask cluster receives it once per
worker (``Client.scatter(..., broadcast=True)``). Workers never read the
scenario's files, so they need no shared disk.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from typing import Any, Protocol, TypeVar

R = TypeVar("R")

Job = tuple[int, dict[str, Any]]
"""One replication to run: its index and the keyword options of ``model.run``."""


class Replicable(Protocol[R]):
    """A prepared scenario that runs one replication at a time."""

    def run(self, index: int, **options: Any) -> R:
        """Run replication ``index`` (its own random stream) and return its result."""
        ...


_MODEL: Any = None
"""The model of this worker process (set once when the process starts)."""


def _start_worker(model: Any) -> None:
    global _MODEL  # noqa: PLW0603 - one model per worker process, set by the pool's initializer
    _MODEL = model


def _run_here(index: int, options: dict[str, Any]) -> Any:
    return _MODEL.run(index, **options)


def _run_on(model: Any, index: int, options: dict[str, Any]) -> Any:
    return model.run(index, **options)


def replicate(
    model: Replicable[R],
    jobs: Sequence[Job] | int,
    *,
    workers: int | None = 1,
    dask: str | None = None,
    progress: Callable[[int], None] | None = None,
) -> list[R]:
    """Run ``jobs`` on ``model``; results in the order of ``jobs``.

    Parameters
    ----------
    model : Replicable
        The prepared scenario; it must pickle (campus included) to run elsewhere.
    jobs : sequence of (index, options), or int
        The replications to run; an int ``n`` means replications ``0 … n-1`` with no options.
    workers : int, optional
        Local processes; ``None`` is one per core (at most one per job); 1 runs in this process.
    dask : str, optional
        Address of a Dask distributed scheduler (``tcp://host:port``) to run on instead.
    progress : callable, optional
        Called with the number of jobs finished so far.
    """
    todo: list[Job] = [(i, {}) for i in range(jobs)] if isinstance(jobs, int) else list(jobs)
    tick = progress or (lambda _done: None)
    if dask:
        return _on_dask(model, todo, dask, tick)
    n = min(os.cpu_count() or 1, len(todo)) if workers is None else workers
    results: list[R] = []
    if n <= 1 or len(todo) <= 1:
        for index, options in todo:
            results.append(model.run(index, **options))
            tick(len(results))
        return results
    with ProcessPoolExecutor(max_workers=n, initializer=_start_worker, initargs=(model,)) as pool:
        futures = [pool.submit(_run_here, index, options) for index, options in todo]
        for f in futures:
            results.append(f.result())
            tick(len(results))
    return results


def _on_dask(model: Replicable[R], todo: list[Job], address: str, tick: Callable[[int], None]) -> list[R]:
    from distributed import Client, as_completed

    with Client(address, timeout="30s") as client:
        [shipped] = client.scatter([model], broadcast=True)
        futures = {client.submit(_run_on, shipped, index, options, pure=False): k for k, (index, options) in enumerate(todo)}
        out: dict[int, R] = {}
        for fut in as_completed(futures):
            out[futures[fut]] = fut.result()
            tick(len(out))
    return [out[k] for k in range(len(todo))]

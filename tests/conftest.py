"""Shared fixtures: the demo campus loaded once, a real headless browser (Debian's chromium, driven by Playwright,
preferring reduced motion; one context for offline pages, one for the live console's), one quiet Dask cluster, quick
password hashes, and the `twin` CLI built once for the in-process runner; a cyclic garbage collector that runs less
often; the longest test files run first, and files that start the same helper processes (Dask cluster, forecast fork
server) on one worker.

Paths come from ``tests.helpers`` (``ROOT``, ``DEMO``), computed from this
file, so the suite runs from any working directory.
"""

from __future__ import annotations

import gc
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import DEMO

CHROMIUM = Path("/usr/bin/chromium")
"""Debian's chromium; the tests never download a browser."""

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


GC_THRESHOLDS = (20_000, 20, 50)
"""Python's cyclic garbage collector in the test processes: a young collection every 20,000 net allocations of
container objects (Python's default: 700), a middle one every 20 young ones, a full one every 50 middle ones (10, 10).

A test process holds a large heap (every library the tests import, campuses, GeoDataFrames, graphs) that each full
collection walks: with the defaults the collector took ~8 % of a process's CPU (1.9-2.2 s of 22.6-24.0 s for six test
files run in one process), with these 0.36-0.44 s, for ~1 % more peak memory. Garbage is still collected, cycles a
little later; objects with no cycle go when their last reference does, as always. The processes the tests start
(``twin serve``, Dask workers, the forecasters' fork server) keep Python's defaults."""


def pytest_configure(config: pytest.Config) -> None:
    """Set :data:`GC_THRESHOLDS` in this process (the xdist controller and each worker run it)."""
    gc.set_threshold(*GC_THRESHOLDS)


LONGEST_FIRST = ("test_compare.py", "test_state.py", "test_import_imdf.py", "test_mqtt.py", "test_compare_cameras.py",
                 "test_import_dxf.py", "test_scenarios.py", "test_live_console.py", "test_osm.py", "test_coverage.py")
"""Test files that took longest (their tests' CPU and waits, measured on a loaded 2-core machine), run first.

``make test`` hands whole files to its workers in collection order (pytest-xdist ``--dist loadfile
--no-loadscope-reorder``): a long file that started last would keep one worker busy after the other had
finished. Only the order changes; every file passes in any order."""


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Files in :data:`LONGEST_FIRST` first (in that order), then the rest as collected; each file's tests stay together."""
    rank = {name: k for k, name in enumerate(LONGEST_FIRST)}
    items.sort(key=lambda item: rank.get(item.path.name, len(rank)))  # stable: the order within a file is kept


SAME_WORKER = {"dask": ("test_coverage.py", "test_scenarios.py", "test_traffic.py"),
               "forecast": ("test_state.py", "test_live_console.py", "test_live_browser.py", "test_live_forecast.py")}
"""Test files ``make test`` hands to one xdist worker together, because they start the same costly helper processes.

The engines' Dask checks share one session cluster (:func:`dask_scheduler`: a scheduler and two worker processes,
which import the engines) and the forecasters share one fork server (``scenarios.forecast``, the engine's modules
preloaded): ~3-5 s of CPU each time a worker starts its own. With one file per work unit, the files landed on
both workers in about one run in two. Only where they run changes; every file passes on any worker."""


@pytest.hookimpl(tryfirst=True, optionalhook=True)  # optional: a run without xdist (-p no:xdist) has no such hook
def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    """``--dist loadfile`` with the files of each :data:`SAME_WORKER` group as one work unit (placed where its first
    file comes in the order of :func:`pytest_collection_modifyitems`); any other distribution is xdist's own."""
    if config.getvalue("dist") != "loadfile":
        return None
    from xdist.scheduler import LoadFileScheduling

    group = {name: key for key, names in SAME_WORKER.items() for name in names}

    class SameWorkerFiles(LoadFileScheduling):
        def _split_scope(self, nodeid: str) -> str:
            path = nodeid.split("::", 1)[0]
            return group.get(path.rpartition("/")[2], path)

    return SameWorkerFiles(config, log)


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """A headless chromium for the whole session (tests using it are marked ``browser``).

    Skips when ``/usr/bin/chromium`` is missing, except under ``CI=true``,
    where a missing browser fails the test instead.
    """
    if not CHROMIUM.exists():
        msg = "chromium missing: run `apt-get install -y chromium`"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(msg)
        pytest.skip(msg)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield ReducedMotion(b)
        finally:
            b.close()


class ReducedMotion:
    """A Playwright browser whose new contexts and pages prefer reduced motion unless the test says otherwise.

    The live console's alarms flash while unacknowledged (CSS animations): Chromium re-styles the page every frame
    for them, ~0.25 CPU core per open page for as long as an alarm waits. With reduced motion they stand out
    steadily; ``tests/test_live_browser.py`` checks both.
    """

    def __init__(self, browser: Any) -> None:
        self._browser = browser
        self._offline: Any = None

    def new_context(self, **options: Any) -> Any:
        return self._browser.new_context(**{"reduced_motion": "reduce", **options})

    def offline_page(self, *, width: int, height: int) -> Any:
        """A new page of ``width`` x ``height`` CSS pixels in the one context this browser keeps for offline files.

        The context holds a blank page open for the whole session, so Chromium keeps a renderer process ready for
        the next page: without it each offline report's page started its own, ~0.5 s of CPU of the ~1.4 s a report
        page costs. Offline pages keep nothing between them that a test reads (no cookies, no storage; each test
        watches its own page's errors and requests).
        """
        if self._offline is None:
            self._offline = self.new_context()
            self._offline.new_page()  # the blank page that keeps the renderer process
        page = self._offline.new_page()
        page.set_viewport_size({"width": width, "height": height})
        return page

    def new_page(self, **options: Any) -> Any:
        return self._browser.new_page(**{"reduced_motion": "reduce", **options})

    def __getattr__(self, name: str) -> Any:
        return getattr(self._browser, name)


@pytest.fixture(scope="session")
def live_context(browser: Any) -> Iterator[Any]:
    """One browser context for every page of the live console in the session (``tests.test_live_browser.log_in``).

    Chromium starts a renderer process for each new context (its first page of a site) and loads the console's
    scripts afresh in it: ~0.5 s of CPU per login of the ~1 s a login to the tiny campus's console costs. In one
    context, with a blank page kept open, the next page reuses both (the test servers are all on 127.0.0.1, one site
    whatever the port). A test starts with the context's cookies cleared (:func:`tests.test_live_browser.log_in`
    does), so each user or anonymous browser comes with no session, as a new browser would; each test closes its pages.
    """
    ctx = browser.new_context()
    ctx.new_page()  # the blank page that keeps the renderer process
    yield ctx
    ctx.close()


@pytest.fixture(scope="session", autouse=True)
def quick_password_hashes() -> Iterator[None]:
    """Passwords set during the tests are hashed at scrypt cost N = 2^10, p = 1 (~3 ms) instead of the shipped
    N = 2^14, p = 5 (~0.2 s CPU per hash and per login: ~90 of them, 15-20 s of the suite's CPU).

    Only the cost changes: ``twin.auth.hash_password`` is the same function with its cost arguments given, so
    adding users, logins, the dummy check of unknown names and the users file run as shipped, and a hash keeps
    its own cost when verified. ``tests/test_auth.py`` hashes and verifies at the shipped cost, and imports the
    function itself (unchanged) for its hashing tests.
    """
    import functools

    import twin.auth

    mp = pytest.MonkeyPatch()
    mp.setattr(twin.auth, "hash_password", functools.partial(twin.auth.hash_password, log2_n=10, p=1))
    try:
        yield
    finally:
        mp.undo()


@pytest.fixture(scope="session", autouse=True)
def cli_built_once() -> Iterator[None]:
    """``CliRunner().invoke(app, ...)`` builds the Click command tree of a Typer app once per session, not once per call.

    Typer's test runner turns the app into Click commands on every call: the type hints and parameters of every
    ``twin`` command, ~60 ms of CPU each time, over 300 times in ``make test`` (15-20 s of the suite's CPU). The tree
    is the same every time (no test adds commands or replaces a command's function), and invoking one Click command
    many times is how Click's own runner is used; each call still parses its arguments and runs the command afresh.
    """
    import typer.testing

    built: dict[int, tuple[Any, Any]] = {}  # id(app) -> (app, its command); the app is kept so its id stays its own
    real = typer.testing._get_command

    def get_command(app: Any) -> Any:
        if id(app) not in built:
            built[id(app)] = (app, real(app))
        return built[id(app)][1]

    mp = pytest.MonkeyPatch()
    mp.setattr(typer.testing, "_get_command", get_command)
    try:
        yield
    finally:
        mp.undo()


@pytest.fixture(scope="session")
def demo() -> Any:
    """The bundled demo campus (``maps/demo``), loaded once for the whole session.

    Shared by every test that reads it: a test must not change it (build a
    campus of its own with ``tests.helpers`` for that).
    """
    from twin.campus import load_campus

    return load_campus(DEMO)


@pytest.fixture(scope="session")
def dask_scheduler() -> Iterator[str]:
    """The address of one local Dask cluster (two worker processes) shared by every engine's Dask check.

    Skips when Dask distributed is not installed. The cluster lives until the session ends (minutes after the
    last check on a busy machine), so its idle housekeeping is slowed: no statistical profiler sampling every
    10 ms, event-loop, system and memory monitors every second or ten instead of every 20-500 ms (idle, the
    three processes used ~0.14 CPU core with Dask's defaults, ~0.01 with these). None of it is what the checks
    compare: they compare results.
    """
    distributed = pytest.importorskip("distributed")
    import dask

    quiet = {"distributed.worker.profile.enabled": False, "distributed.admin.tick.interval": "1s",
             "distributed.admin.system-monitor.interval": "10s", "distributed.worker.memory.monitor-interval": "10s"}
    with dask.config.set(quiet), distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                                            dashboard_address=None) as cluster:
        yield cluster.scheduler_address

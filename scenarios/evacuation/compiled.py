"""The evacuation engine's compiled modules: which there are, and whether they are current.

A replication spends its time in six modules (``MODULES``): the calendar
queue, the people's processes, the servers, the route search, the queue
lines, the movement physics. They are plain Python, and ``scripts/build_engine.py`` (run by
``make install``) compiles them with Cython: their ``.pxd`` files and
``cython.locals`` declarations give C types to the classes and loops of a
replication, while the ``.py`` files stay the one source and run as they are
where there is no C compiler. Results are the same to the last decimal either
way (``tests/test_engine_compiled.py``); the compiled engine takes 0.40-0.45
of the plain one's time at 20,000 people (``docs/scenarios.md``, "Speed").

Python imports a compiled module in place of its ``.py`` file, so a compiled
file older than its sources would silently run old code: :func:`prepare`,
called by the package's ``__init__`` before any of them is imported, refuses
that; with ``TWIN_PLAIN_ENGINE=1`` in the environment it has the ``.py`` files
imported instead, compiled files or not (the equivalence test, and the
benchmark's ``--plain`` comparison).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from importlib.abc import MetaPathFinder
from importlib.machinery import EXTENSION_SUFFIXES, ModuleSpec
from importlib.util import spec_from_file_location
from pathlib import Path
from types import ModuleType

HERE = Path(__file__).parent
MODULES = ("calendar", "engine", "network", "physics", "queues", "search")
"""The engine's modules that are compiled, in ``scenarios/evacuation/``."""


def compiled_file(name: str) -> Path | None:
    """The compiled file of module ``name`` next to its source, if there is one."""
    for suffix in EXTENSION_SUFFIXES:
        path = HERE / f"{name}{suffix}"
        if path.exists():
            return path
    return None


def sources(name: str) -> list[Path]:
    """The files module ``name`` is compiled from: its ``.py`` and, where there is one, its ``.pxd``."""
    return [p for p in (HERE / f"{name}.py", HERE / f"{name}.pxd") if p.exists()]


def stale() -> list[str]:
    """Messages for every compiled file older than one of its sources (none when all are current or there are none)."""
    out = []
    for name in MODULES:
        built = compiled_file(name)
        if built is None:
            continue
        newer = [p.name for p in sources(name) if p.stat().st_mtime > built.stat().st_mtime]
        if newer:
            out.append(f"{built.relative_to(HERE.parent.parent)} is older than {', '.join(newer)}")
    return out


class _PlainEngine(MetaPathFinder):
    """Finds the engine's compiled modules at their ``.py`` files (``TWIN_PLAIN_ENGINE=1``)."""

    def find_spec(self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None) -> ModuleSpec | None:
        """The spec of ``fullname``'s ``.py`` file if it is one of ``MODULES``; None lets the usual finders look."""
        package, _, name = fullname.rpartition(".")
        if package == __package__ and name in MODULES:
            return spec_from_file_location(fullname, HERE / f"{name}.py")
        return None


def prepare() -> None:
    """Before the engine's modules are imported: with ``TWIN_PLAIN_ENGINE=1``, import them as plain Python; otherwise
    refuse compiled files older than their sources (:func:`check_current`)."""
    if os.environ.get("TWIN_PLAIN_ENGINE") == "1":
        if not any(isinstance(f, _PlainEngine) for f in sys.meta_path):
            sys.meta_path.insert(0, _PlainEngine())
        return
    check_current()


def check_current() -> None:
    """Raise ImportError when a compiled module is older than its sources (it would run old code).

    Raises
    ------
    ImportError
        Naming each stale file and the two ways out: rebuild, or delete it.
    """
    problems = stale()
    if problems:
        msg = (f"the compiled evacuation engine is out of date: {'; '.join(problems)}. "
               "Rebuild it with `make install` (or `python scripts/build_engine.py`), or delete the file "
               "to run the engine as plain Python.")
        raise ImportError(msg)


def compiled() -> bool:
    """Whether every module in ``MODULES`` was imported from its compiled file in this process."""
    for name in MODULES:
        mod = sys.modules.get(f"scenarios.evacuation.{name}")
        if mod is None or not (mod.__file__ or "").endswith(tuple(EXTENSION_SUFFIXES)):
            return False
    return True

"""Compile the evacuation engine's hot modules with Cython, in place (``make install`` runs this).

Usage: ``python scripts/build_engine.py [--clean] [--stamp FILE]``. The modules are listed in
``scenarios/evacuation/compiled.py``, which says why. The generated C goes to
``build/cython``, the compiled modules next to their ``.py`` files (git
ignores both). Where there is no C compiler or the build fails, the old
compiled files are removed, so the engine runs as plain Python with the same
results, and the reason is printed; the exit status is 0 either way, since
the program is complete without the build. ``--clean`` only removes them;
``--stamp FILE`` touches FILE when the build succeeded (``make`` then knows
it is done, and tries again otherwise).

Floating point is compiled without contraction into fused multiply-adds
(``-ffp-contract=off``), so every sum and product rounds as it does in Python.
"""

from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _compiled_module():  # noqa: ANN202 - a module
    """``scenarios/evacuation/compiled.py`` read by its path: importing it through its package would import the
    (possibly stale) compiled engine it is about to rebuild."""
    spec = importlib.util.spec_from_file_location("_engine_compiled", ROOT / "scenarios/evacuation/compiled.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


_COMPILED = _compiled_module()
MODULES, compiled_file = _COMPILED.MODULES, _COMPILED.compiled_file


def clean() -> None:
    """Remove every compiled engine module."""
    for name in MODULES:
        path = compiled_file(name)
        if path is not None:
            path.unlink()


def build() -> str | None:
    """Compile ``MODULES`` in place; return why it could not be done, or None."""
    try:
        from Cython.Build import cythonize
        from setuptools import Distribution, Extension
    except ImportError as exc:
        return f"Cython or setuptools is missing ({exc})"
    os.chdir(ROOT)
    exts = [Extension(f"scenarios.evacuation.{m}", [f"scenarios/evacuation/{m}.py"],
                      extra_compile_args=["-O2", "-ffp-contract=off"]) for m in MODULES]
    try:
        exts = cythonize(exts, language_level=3, quiet=True, build_dir="build/cython",
                         compiler_directives={"annotation_typing": False})
        dist = Distribution({"ext_modules": exts})
        cmd = dist.get_command_obj("build_ext")
        cmd.inplace = True
        cmd.build_temp = "build/temp"
        cmd.parallel = os.cpu_count() or 1
        cmd.ensure_finalized()
        cmd.run()
    except Exception as exc:  # noqa: BLE001 - any failure of the compiler leaves the engine in plain Python
        return f"{type(exc).__name__}: {exc}"
    return None


def main(argv: list[str]) -> int:
    """Build (or with ``--clean`` only remove) the compiled engine; 0 either way; ``--stamp FILE`` on success."""
    clean()
    if "--clean" in argv:
        print("build_engine: removed the compiled engine; it runs as plain Python")
        return 0
    why = build()
    if why is not None:
        clean()
        print(f"build_engine: not compiled, the engine runs as plain Python (same results, slower): {why}",
              file=sys.stderr)
        return 0
    print("build_engine: compiled", ", ".join(f"scenarios/evacuation/{m}" for m in MODULES))
    if "--stamp" in argv:
        Path(argv[argv.index("--stamp") + 1]).touch()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

"""The layout of the code: which folder may import which, no import cycles, no overlong modules.

Every ``.py`` file under ``twin/``, ``maps/``, ``scenarios/``, ``sensors/`` and
``viz/`` is parsed (never imported) and every import in it is read,
including those inside functions (late imports are still dependencies).
An import names a module of the project: ``from a.b import c`` is module
``a.b.c`` when that is a module, else ``a.b``; relative imports are resolved.
Imports under ``if TYPE_CHECKING:`` count for the folder rules but not for
cycles (they never run).

The rules (issue 12, the brief's Architecture):

- ``twin/`` is the ground floor: outside ``twin/cli/`` it imports no ``viz``,
  ``sensors``, ``scenarios`` or ``maps``;
- no import cycle between modules;
- ``sensors`` and ``scenarios`` do not import each other (forecasts are wired
  to ingest by ``twin serve`` through a listener);
- ``viz`` reads outcomes and recordings, never an engine: it imports no
  ``scenarios.<pkg>.engine`` or ``scenarios.<pkg>.network`` module and not
  ``scenarios.run`` or ``scenarios.replicate``;
- no module is over 700 lines unless its docstring has a line starting
  ``Over 700 lines:`` that gives the reason.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field
from pathlib import Path

import networkx as nx
import pytest

from tests.helpers import ROOT

PACKAGES = ("twin", "maps", "scenarios", "sensors", "viz")
MAX_LINES = 700
REASON = "Over 700 lines:"


@dataclass
class Module:
    name: str
    path: Path
    lines: int
    docstring: str
    imports: set[str] = field(default_factory=set)
    """Project modules imported anywhere in the file."""
    runtime: set[str] = field(default_factory=set)
    """Those imported outside ``if TYPE_CHECKING:`` blocks."""


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _imports(tree: ast.Module, name: str, is_package: bool) -> list[tuple[str, bool]]:
    """(dotted name, runs at run time) for every import statement in the file, late ones included."""
    typing_only: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and _is_type_checking(node.test):
            for sub in node.body:
                typing_only.update(id(n) for n in ast.walk(sub))
    out = []
    package = name if is_package else name.rpartition(".")[0]
    for node in ast.walk(tree):
        runs = id(node) not in typing_only
        if isinstance(node, ast.Import):
            out += [(a.name, runs) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                mod = ".".join(base + ([node.module] if node.module else []))
            else:
                mod = node.module or ""
            out += [(f"{mod}.{a.name}", runs) for a in node.names]  # a module, else a name in module ``mod``
    return out


def _resolve(dotted: str, known: set[str]) -> str | None:
    """The project module a dotted import name refers to (its longest known prefix), if any."""
    parts = dotted.split(".")
    if parts[0] not in PACKAGES:
        return None
    for n in range(len(parts), 0, -1):
        cand = ".".join(parts[:n])
        if cand in known:
            return cand
    return None


@pytest.fixture(scope="module")
def modules() -> dict[str, Module]:
    files = sorted(p for pkg in PACKAGES for p in (ROOT / pkg).rglob("*.py"))
    mods: dict[str, Module] = {}
    trees = {}
    for path in files:
        text = path.read_text(encoding="utf-8")
        tree = ast.parse(text, filename=str(path))
        name = _module_name(path)
        mods[name] = Module(name, path, len(text.splitlines()), ast.get_docstring(tree) or "")
        trees[name] = (tree, path.name == "__init__.py")
    known = set(mods)
    for name, (tree, is_package) in trees.items():
        m = mods[name]
        for dotted, runs in _imports(tree, name, is_package):
            target = _resolve(dotted, known)
            if target is None or target == name:
                continue
            m.imports.add(target)
            if runs:
                m.runtime.add(target)
    return mods


def _top(name: str) -> str:
    return name.split(".")[0]


def _under(name: str, prefix: str) -> bool:
    return name == prefix or name.startswith(prefix + ".")


def _report(bad: list[tuple[str, str]]) -> str:
    return "\n".join(f"  {a} imports {b}" for a, b in sorted(bad))


def test_the_parser_sees_the_packages(modules: dict[str, Module]) -> None:
    assert {"twin", "twin.campus", "scenarios", "sensors", "viz", "maps", "maps.builder"} <= set(modules)
    assert "maps.builder" in modules["maps.demo.generate"].imports
    assert _resolve("twin.campus.load_campus", set(modules)) == "twin.campus"


def test_twin_imports_no_other_top_level_folder_outside_its_cli(modules: dict[str, Module]) -> None:
    bad = [(m.name, t) for m in modules.values() if _top(m.name) == "twin" and not _under(m.name, "twin.cli")
           for t in m.imports if _top(t) in {"viz", "sensors", "scenarios", "maps"}]
    assert not bad, "twin/ is the ground floor (only twin/cli/ may import the other folders):\n" + _report(bad)


def test_no_import_cycles(modules: dict[str, Module]) -> None:
    g = nx.DiGraph()
    g.add_nodes_from(modules)
    g.add_edges_from((m.name, t) for m in modules.values() for t in m.runtime)
    cycles = []
    for comp in nx.strongly_connected_components(g):
        if len(comp) > 1:
            cycle = nx.find_cycle(g.subgraph(comp))
            cycles.append(" -> ".join([a for a, _ in cycle] + [cycle[0][0]]) + f"   ({len(comp)} modules in this knot)")
    assert not cycles, "import cycles:\n" + "\n".join(f"  {c}" for c in sorted(cycles))


def test_sensors_and_scenarios_do_not_import_each_other(modules: dict[str, Module]) -> None:
    bad = [(m.name, t) for m in modules.values() for t in m.imports
           if {_top(m.name), _top(t)} == {"sensors", "scenarios"}]
    assert not bad, "sensors/ and scenarios/ must not import each other:\n" + _report(bad)


def _engine_module(name: str) -> bool:
    parts = name.split(".")
    if parts[0] != "scenarios":
        return False
    return name in ("scenarios.run", "scenarios.replicate") or (len(parts) >= 3 and parts[2] in ("engine", "network"))


def test_viz_imports_no_engine(modules: dict[str, Module]) -> None:
    bad = [(m.name, t) for m in modules.values() if _top(m.name) == "viz" for t in m.imports if _engine_module(t)]
    assert not bad, ("viz/ reads outcomes and recordings: no scenarios.<pkg>.engine / .network, scenarios.run or "
                     "scenarios.replicate:\n" + _report(bad))


def test_no_module_over_700_lines_without_a_reason(modules: dict[str, Module]) -> None:
    long = [m for m in modules.values() if m.lines > MAX_LINES]
    bad = [f"  {m.path.relative_to(ROOT)}: {m.lines} lines" for m in long
           if not any(line.strip().startswith(REASON) for line in m.docstring.splitlines())]
    assert not bad, f"modules over {MAX_LINES} lines without a line '{REASON} ...' in their docstring:\n" + "\n".join(sorted(bad))

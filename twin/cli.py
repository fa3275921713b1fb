"""The ``twin`` command: one entry point, a subcommand per job.

The CLI is a thin layer: it parses arguments, calls the library and prints.
User mistakes (bad campus files, bad arguments) print a clear message and exit
non-zero; they never show a traceback.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, NoReturn, TypeVar

import typer
from rich.console import Console
from rich.table import Table

from twin.errors import InputError

T = TypeVar("T")

app = typer.Typer(
    help="Campus Twin: a digital twin of a university campus and a drill planner built on it.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
out = Console()
err = Console(stderr=True)

CampusArg = Annotated[Path, typer.Argument(help="A campus file (GeoJSON, GeoPackage, …) or a folder holding campus.geojson.")]


def fail(message: str, code: int = 2) -> NoReturn:
    """Print a user-facing error and exit non-zero."""
    err.print(f"[bold red]error:[/] {message}", highlight=False, markup=True, soft_wrap=True)
    raise typer.Exit(code)


@contextmanager
def user_errors(what: str) -> Iterator[None]:
    """Turn a user's mistake into its messages and a non-zero exit, never a traceback."""
    try:
        yield
    except InputError as e:
        for p in e.problems:
            err.print(f"[bold red]error:[/] {p}", highlight=False, soft_wrap=True, markup=True)
        n = len(e.problems)
        fail(f"{what} ({n} problem{'s' if n != 1 else ''})")
    except ModuleNotFoundError as e:
        if (e.name or "").startswith("distributed"):
            fail("--dask needs the Dask distributed package: pip install 'campus-twin[dask]'")
        raise


def _load(path: Path):  # noqa: ANN202 - returns twin.campus.Campus
    from twin.campus import load_campus

    with user_errors(f"{path}: campus not loaded"):
        return load_campus(path)


@app.command()
def info(
    campus: CampusArg,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON document instead of a table.")] = False,
) -> None:
    """Load a campus, validate it, build its graphs and summarise it."""
    c = _load(campus)
    s = c.summary()
    if as_json:
        print(json.dumps(s, indent=2))
        return
    t = Table(title=f"Campus {campus}", show_header=False)
    for key in ("buildings", "buildings_modelled_inside", "rooms", "corridors", "stairs", "doors", "exits",
                "gates", "assembly_areas", "assembly_capacity", "cameras", "detectors", "posts", "key_areas",
                "path_length_m", "road_length_m", "design_occupants"):
        t.add_row(key.replace("_", " "), f"{s[key]:,}" if isinstance(s[key], int) else str(s[key]))
    t.add_row("levels", ", ".join(map(str, s["levels"])))
    t.add_row("graph", f"{s['graph']['nodes']:,} nodes, {s['graph']['edges']:,} edges")
    t.add_row("unreachable", ", ".join(s["unreachable"]) or "none")
    t.add_row("crs", s["crs"])
    out.print(t)
    for w in c.warnings:
        err.print(f"[yellow]warning:[/] {w}", highlight=False, soft_wrap=True)


@app.command("map")
def map_(
    campus: CampusArg,
    output: Annotated[Path, typer.Option("-o", "--output", help="HTML file to write.")] = Path("campus.html"),
) -> None:
    """Write an interactive map of the campus (a self-contained HTML file that works offline)."""
    from viz.campus_map import write_map

    c = _load(campus)
    try:
        path = write_map(c.features, output)
    except OSError as e:
        fail(f"{output}: cannot write the map ({e.strerror or e})")
    out.print(f"map written to {path}")


@app.command("import-osm")
def import_osm(
    source: Annotated[Path, typer.Argument(help="An OpenStreetMap extract: .osm.pbf or .osm XML.")],
    output: Annotated[Path, typer.Option("-o", "--output", help="Folder to write campus.geojson into.")],
    bbox: Annotated[str | None, typer.Option(help="Clip to W,S,E,N in degrees.")] = None,
) -> None:
    """Import buildings, footways, roads and entrances from OpenStreetMap into a campus folder."""
    from maps.osm import OsmImportError, import_osm as run_import, parse_bbox

    try:
        summary = run_import(source, output, bbox=parse_bbox(bbox) if bbox else None)
    except OsmImportError as e:
        fail(str(e))
    t = Table(title=f"Imported {summary.total:,} features from {source.name} in {summary.seconds:.1f} s", show_header=False)
    for kind, n in sorted(summary.counts.items()):
        t.add_row(kind, f"{n:,}")
    if summary.skipped:
        t.add_row("skipped (degenerate)", f"{summary.skipped:,}")
    out.print(t)
    out.print(f"campus written to {summary.path}; check it with: twin info {summary.path.parent}")


ScenarioArg = Annotated[Path, typer.Argument(help="A scenario file (TOML, see docs/scenarios.md).")]
WorkersOpt = Annotated[int | None, typer.Option("--workers", "-j", help="Local processes for replications (default: one per core).")]
DaskOpt = Annotated[str | None, typer.Option("--dask", help="Run on a Dask distributed scheduler, e.g. tcp://HOST:PORT.")]


def _progress(total: int, label: str):  # noqa: ANN202 - a rich Progress and its callback
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    bar = Progress(TextColumn(label), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), console=err, transient=True)
    task = bar.add_task(label, total=total)
    return bar, lambda done: bar.update(task, completed=done)


@app.command("run")
def run_(
    scenario: ScenarioArg,
    as_json: Annotated[bool, typer.Option("--json", help="Print exactly one JSON document on stdout.")] = False,
    output: Annotated[Path | None, typer.Option("-o", "--output", help="Folder for the HTML report and the recording.")] = None,
    workers: WorkersOpt = None,
    dask: DaskOpt = None,
) -> None:
    """Run a scenario file: every replication, a summary (and a report with -o)."""
    from scenarios.schema import load_scenario

    with user_errors(f"{scenario}: scenario not run"):
        sc = load_scenario(scenario)
        campus = _load(sc.campus)
        if sc.kind == "coverage":
            from scenarios.coverage import run_coverage
            from viz.coverage_report import write_report

            outcome = _with_progress(sc.replications, as_json,
                                     lambda tick: run_coverage(sc, source=str(scenario), campus=campus, progress=tick))
            files = {"report": lambda d: write_report(outcome, summary, d)}
            show = _print_coverage
        elif sc.kind == "traffic":
            from scenarios.traffic import run_traffic
            from viz.traffic_report import write_report

            runs = sc.replications * max(1, len(sc.layouts))
            outcome = _with_progress(runs, as_json, lambda tick: run_traffic(sc, source=str(scenario), campus=campus, progress=tick))
            files = {"report": lambda d: write_report(outcome, summary, d)}
            show = _print_traffic
        else:
            from scenarios.run import record, run
            from viz.report import write_report

            outcome = _with_progress(sc.replications, as_json, lambda tick: run(
                sc, source=str(scenario), workers=workers, dask=dask, progress=tick, record_first=output is not None))
            files = {"report": lambda d: write_report(outcome, summary, d),
                     "recording": lambda d: record(outcome, d / "recording.sqlite")}
            show = _print_summary
        summary = outcome.summary()
        written = {}
        if output is not None:
            try:
                written = {name: write(output) for name, write in files.items()}
            except OSError as e:
                fail(f"{e.filename or output}: cannot write the report ({e.strerror or e})")
    if as_json:
        print(json.dumps(summary, indent=2))
        return
    show(summary)
    for name, path in written.items():
        out.print(f"{name}: {path}")


def _with_progress(replications: int, quiet: bool, job: Callable[[Callable[[int], None] | None], T]) -> T:
    """Run ``job`` with a progress bar over replications (none when ``quiet``, e.g. for --json)."""
    if quiet:
        return job(None)
    bar, tick = _progress(replications, "replications")
    with bar:
        return job(tick)


def _print_coverage(s: dict) -> None:
    from viz.coverage_report import summary_tables

    for t in summary_tables(s):
        out.print(t)


def _print_traffic(s: dict) -> None:
    from viz.traffic_report import summary_tables

    for t in summary_tables(s):
        out.print(t)


def _print_summary(s: dict) -> None:
    t = Table(title=f"{s['scenario']} ({s['replications']} replication{'s' if s['replications'] != 1 else ''}, seed {s['seed']}, route {s['route']})",
              show_header=False)
    st = s["evacuation_time_stats"]
    t.add_row("occupants", f"{s['occupants']:,}")
    t.add_row("evacuation time", f"{s['evacuation_time_s']:.0f} s mean  (p50 {st['p50']:.0f}, p95 {st['p95']:.0f}, "
              f"min {st['min']:.0f}, max {st['max']:.0f})")
    t.add_row("flow lower bound", f"{s['lower_bound_s']:.0f} s")
    t.add_row("safe / trapped", f"{s['safe']:,.0f} / {s['trapped']:,.0f}" + (f"  ({s['unfinished']:.0f} still moving at max_time)" if s["unfinished"] else ""))
    t.add_row("wall time", f"{s['wall_s']:.2f} s")
    out.print(t)
    if s["bottlenecks"]:
        b = Table(title="Bottlenecks (worst first)")
        for col in ("where", "kind", "longest queue", "longest wait s", "mean wait s", "people"):
            b.add_column(col)
        for w in s["bottlenecks"]:
            b.add_row(w["id"], w["kind"], f"{w['max_queue']:.0f}", f"{w['max_wait_s']:.0f}", f"{w['mean_wait_s']:.0f}", f"{w['passed']:.0f}")
        out.print(b)
    c = Table(title="Clearance by building")
    c.add_column("building")
    c.add_column("last out s", justify="right")
    for k, v in sorted(s["by_building"].items(), key=lambda kv: -kv[1]):
        c.add_row(k, f"{v:.0f}")
    out.print(c)


@app.command()
def sweep(
    scenario: ScenarioArg,
    vary: Annotated[list[str], typer.Option("--vary", help="KEY=V1,V2,... (repeat for a grid); dotted keys reach into tables, e.g. occupancy.default=0.5,1.0")],
    as_json: Annotated[bool, typer.Option("--json", help="Print exactly one JSON document on stdout.")] = False,
    workers: WorkersOpt = None,
    dask: DaskOpt = None,
) -> None:
    """Run a scenario for every combination of the varied keys and compare them."""
    from scenarios.run import parse_vary, sweep as run_sweep
    from scenarios.schema import load_scenario

    with user_errors(f"{scenario}: sweep not run"):
        if load_scenario(scenario).kind != "evacuation":
            fail(f"{scenario}: twin sweep runs evacuation scenarios only; run other kinds with twin run")
        rows = run_sweep(scenario, parse_vary(vary, str(scenario)), workers=workers, dask=dask)
    if as_json:
        print(json.dumps(rows, indent=2))
        return
    t = Table(title=f"Sweep of {scenario}")
    for col in ("variant", "evacuation time s", "p95 s", "lower bound s", "trapped", "worst bottleneck"):
        t.add_column(col)
    for r in rows:
        worst = r["bottlenecks"][0]["id"] if r["bottlenecks"] else "-"
        t.add_row(", ".join(f"{k}={v}" for k, v in r["vary"].items()), f"{r['evacuation_time_s']:.0f}",
                  f"{r['evacuation_time_stats']['p95']:.0f}", f"{r['lower_bound_s']:.0f}", f"{r['trapped']:.0f}", worst)
    out.print(t)


@app.command()
def verify(
    case: Annotated[list[str] | None, typer.Option("--case", help="Run only this case (repeatable); default: all.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print exactly one JSON document on stdout.")] = False,
) -> None:
    """Run the verification suite (RiMEA / NIST TN 1822 style cases, SFPE hand calculations)."""
    from scenarios.verify import cases, run_cases

    unknown = [c for c in case or [] if c not in cases()]
    if unknown:
        fail(f"unknown verification case(s) {unknown}; the cases are: {', '.join(cases())}")
    results = run_cases(names=case or None)
    passed = sum(c.passed for c in results)
    if as_json:
        print(json.dumps({"passed": passed, "failed": len(results) - passed, "cases": [c.as_dict() for c in results]}, indent=2))
    else:
        t = Table(title="Verification")
        for col in ("case", "reference", "expected", "simulated", "tolerance", "pass"):
            t.add_column(col, overflow="fold")
        for c in results:
            t.add_row(c.name, c.reference, c.expected_text(), f"{c.simulated:.4g}", c.tolerance,
                      "[green]yes[/]" if c.passed else "[bold red]NO[/]")
        out.print(t)
        out.print(f"{passed} passed, {len(results) - passed} failed")
    if passed < len(results):
        raise typer.Exit(1)


def main() -> None:
    """Entry point for ``python -m twin``."""
    app()
import twin.cli_live  # noqa: E402,F401 - registers serve, feed, state
import twin.cli_replay  # noqa: E402,F401 - registers replay

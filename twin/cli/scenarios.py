"""Scenario commands: ``twin run``, ``twin sweep``, ``twin verify``."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from twin.cli.console import (
    DaskOpt,
    ScenarioArg,
    WorkersOpt,
    fail,
    load,
    out,
    user_errors,
    with_progress,
)


def run_(
    scenario: ScenarioArg,
    as_json: Annotated[bool, typer.Option("--json", help="Print exactly one JSON document on stdout.")] = False,
    output: Annotated[Path | None, typer.Option("-o", "--output", help="Folder for the HTML report and the recording.")] = None,
    workers: WorkersOpt = None,
    dask: DaskOpt = None,
    store: Annotated[Path | None, typer.Option("--store", help='The live event store whose inspection ledger '
                                                "hazards = \"open\" reads (the store twin serve writes).")] = None,
) -> None:
    """Run a scenario file: every replication, a summary (and a report with -o)."""
    from scenarios.schema import load_scenario

    with user_errors(f"{scenario}: scenario not run"):
        sc = load_scenario(scenario)
        campus = load(sc.campus)
        if sc.kind == "coverage":
            from scenarios import coverage
            from viz.coverage_report import write_report

            outcome = with_progress(coverage.runs(sc), as_json, lambda tick: coverage.run(
                sc, campus, source=str(scenario), workers=workers, dask=dask, progress=tick))
            files = {"report": lambda d: write_report(outcome, summary, d)}
            show = _print_coverage
        elif sc.kind == "traffic":
            from scenarios import traffic
            from viz.traffic_report import write_report

            outcome = with_progress(sc.replications, as_json, lambda tick: traffic.run(
                sc, campus, source=str(scenario), workers=workers, dask=dask, progress=tick))
            files = {"report": lambda d: write_report(outcome, summary, d)}
            show = _print_traffic
        else:
            from scenarios import evacuation
            from scenarios.hazards import as_inspected
            from viz.report import write_report

            inspected = as_inspected(sc, campus, source=str(scenario), store=store)
            outcome = with_progress(sc.replications, as_json, lambda tick: evacuation.run(
                inspected.scenario, inspected.campus, source=str(scenario), workers=workers, dask=dask, progress=tick))
            files = {"report": lambda d: write_report(outcome, summary, d),
                     "recording": lambda d: evacuation.record(outcome, d / "recording.sqlite")}
            show = _print_summary
        summary = outcome.summary()
        if sc.kind == "evacuation" and sc.hazards is not None:
            summary["hazards"] = inspected.table()
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
    options = getattr(sc, "alternatives", [])
    if options:
        out.print(f"this is the scenario as written; it lists {len(options)} alternative{'s' if len(options) != 1 else ''} "
                  f"({', '.join(a.name for a in options)}): twin sweep {scenario} -o DIR compares them", highlight=False)


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
    t.add_row("flow lower bound", f"{s['lower_bound_s']:.0f} s  ({s['lower_bound']['label']})")
    t.add_row("design estimate", f"{s['design_estimate_s']:.0f} s  ({s['design_estimate']['label']})")
    t.add_row("safe / trapped", f"{s['safe']:,.0f} / {s['trapped']:,.0f}" + (f"  ({s['unfinished']:.0f} still moving at max_time)" if s["unfinished"] else ""))
    if s["fire"]:
        when = s["incapacitated_when_s"]
        where = ", ".join(f"{k} {v:,.0f}" for k, v in list(s["incapacitated_where"].items())[:3])
        t.add_row("incapacitated", f"[bold red]{s['incapacitated']:,.0f}[/]" + (
            f"  (smoke dose 1; first {when['first']:.0f} s, median {when['p50']:.0f} s, last {when['last']:.0f} s; most in {where})"
            if when else "  (smoke dose 1)"))
        t.add_row("exposed", f"{s['exposed']:,.0f}  (any smoke dose; {len(s['untenable'])} spaces untenable)")
    t.add_row("wall time", f"{s['wall_s']:.2f} s")
    out.print(t)
    if s["bottlenecks"]:
        b = Table(title="Bottlenecks (worst first)")
        for col in ("where", "kind", "longest queue", "longest wait s", "mean wait s", "people"):
            b.add_column(col)
        for w in s["bottlenecks"]:
            b.add_row(w["id"], w["kind"], f"{w['max_queue']:.0f}", f"{w['max_wait_s']:.0f}", f"{w['mean_wait_s']:.0f}", f"{w['passed']:.0f}")
        out.print(b)
    if s.get("hazards"):
        h = Table(title=f"As inspected: hazard findings in force in {s['hazards']['store']}")
        for col in ("finding", "kind", "where", "status", "due", "effect on the drill"):
            h.add_column(col, overflow="fold")
        for f in s["hazards"]["findings"]:
            h.add_row(str(f["id"]), f["kind"], f["feature"] or f["building"] or "-", f["status"],
                      f"[bold red]{f['due']} overdue[/]" if f["overdue"] else f["due"], f["effect"])
        out.print(h)
    c = Table(title="Clearance by building")
    c.add_column("building")
    c.add_column("last out s", justify="right")
    for k, v in sorted(s["by_building"].items(), key=lambda kv: -kv[1]):
        c.add_row(k, f"{v:.0f}")
    out.print(c)


def sweep(
    scenario: ScenarioArg,
    vary: Annotated[list[str] | None, typer.Option("--vary", help="KEY=V1,V2,... (repeat for a grid); dotted keys reach into tables, e.g. occupancy.default=0.5,1.0. Optional when the scenario lists [[alternatives]].")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print exactly one JSON document on stdout.")] = False,
    output: Annotated[Path | None, typer.Option("-o", "--output", help="Folder for the report comparing the variants (report.html).")] = None,
    workers: WorkersOpt = None,
    dask: DaskOpt = None,
) -> None:
    """Run a scenario for every combination of the varied keys, or for each of its [[alternatives]], and compare them (a report with -o)."""
    from scenarios.schema import load_scenario
    from scenarios.sweep import parse_vary, ties, variants
    from scenarios.sweep import sweep as run_sweep

    with user_errors(f"{scenario}: sweep not run"):
        sc = load_scenario(scenario)
        if sc.kind != "evacuation":
            fail(f"{scenario}: twin sweep runs evacuation scenarios only; run other kinds with twin run")
        if not vary and not sc.alternatives:  # type: ignore[union-attr]
            fail(f"{scenario}: nothing to compare: give --vary KEY=V1,V2 or list [[alternatives]] in the scenario (docs/scenarios.md)")
        varied = parse_vary(vary or [], str(scenario))
        rows = with_progress(len(variants(scenario, varied)) * sc.replications, as_json, lambda tick: run_sweep(
            scenario, varied, load(sc.campus), workers=workers, dask=dask, progress=_across(tick, sc.replications)))
    same = ties(rows)
    page = None
    if output is not None:
        from viz.sweep_report import write_sweep_report

        try:
            page = write_sweep_report(rows, same, output, title=f"Options compared: {sc.name or scenario.stem}", scenario=str(scenario))
        except OSError as e:
            fail(f"{e.filename or output}: cannot write the report ({e.strerror or e})")
    if as_json:  # one row per variant, each with the variants that give the same time and why
        for r in rows:
            r["same_time"] = [{"variant": t["variants"][1 - t["variants"].index(r["name"])], "why": t["why"],
                               "same_bottleneck": t["same_bottleneck"]} for t in same if r["name"] in t["variants"]]
        print(json.dumps(rows, indent=2))
        return
    t = Table(title=f"Sweep of {scenario}")
    t.add_column("variant", min_width=max(len(r["name"]) for r in rows), no_wrap=True)  # names whole, never cut
    for col in ("evacuation time s", "p95 s", "lower bound s", "trapped", "worst bottleneck"):
        t.add_column(col, overflow="fold")
    for r in rows:
        worst = r["bottlenecks"][0]["id"] if r["bottlenecks"] else "-"
        t.add_row(r["name"], f"{r['evacuation_time_s']:.0f}", f"{r['evacuation_time_stats']['p95']:.0f}", f"{r['lower_bound_s']:.0f}",
                  f"{r['trapped']:.0f}", worst)
    out.print(t)
    for x in same:
        out.print(f"{x['variants'][0]} and {x['variants'][1]}: the same time; {x['why']}", highlight=False)
    if page is not None:
        out.print(f"report: {page}", highlight=False)


def _across(tick: Callable[[int], None] | None, per: int) -> Callable[[int], None] | None:
    """A progress callback over every variant's replications from one that counts each variant's own."""
    if tick is None:
        return None
    done = [0, 0]  # replications of the finished variants, and the last count of the running one

    def step(n: int) -> None:
        if n < done[1]:
            done[0] += done[1]
        done[1] = n
        tick(done[0] + n)
        if n >= per:
            done[0] += n
            done[1] = 0

    return step


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

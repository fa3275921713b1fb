"""``twin replay``: the pygame viewer, headless frame export, browser replay and PedPy export."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Annotated

import typer

from twin.cli.console import err, fail, load, out, user_errors


def replay(
    recording: Annotated[Path, typer.Argument(help="A recording: a simulated run (twin run -o DIR) or a recorded exercise (twin exercise).")],
    export: Annotated[Path | None, typer.Option("--export", help="Render PNG frames and replay.gif into this folder, with no window.")] = None,
    fps: Annotated[float, typer.Option("--fps", help="Export: frames per second of the GIF (a frame every SPEED/FPS simulated s).", min=0.01)] = 10.0,
    speed: Annotated[float | None, typer.Option("--speed", help="Playback speed: simulated s per wall s (0.25, 0.5, 1, 2, … 64); default 1 in the window, 32 for --export.")] = None,
    t_from: Annotated[float | None, typer.Option("--from", help="--export / --pedpy: first time (s from the alarm).", min=0)] = None,
    t_to: Annotated[float | None, typer.Option("--to", help="--export / --pedpy: last time (s); default the end of the run.", min=0)] = None,
    no_gif: Annotated[bool, typer.Option("--no-gif", help="Export: PNG frames only.")] = False,
    html: Annotated[Path | None, typer.Option("--html", help="Write a self-contained browser replay (HTML, works offline).")] = None,
    pedpy: Annotated[Path | None, typer.Option("--pedpy", help="Write the trajectories as a JuPedSim/PedPy SQLite file.")] = None,
    pedpy_fps: Annotated[float, typer.Option("--pedpy-fps", help="PedPy export: frames per simulated second (a campus drill at 1 fps is ~7 million rows).", min=0.01)] = 2.0,
    building: Annotated[str | None, typer.Option("--building", help="Zoom to this building (window, --export, --html); --pedpy: only this building (with --level), with its level's walkable area.")] = None,
    level: Annotated[int | None, typer.Option("--level", help="Show this level: its rooms, corridors, stairs, doors and people (window, --export, --html); --pedpy: only this level (with --building).")] = None,
    size: Annotated[str, typer.Option("--size", help="Window or frame size WxH (px).")] = "1280x800",
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON document of what was written.")] = False,
) -> None:
    """Replay a recording: a window (space pause, ←/→ seek, ↑/↓ speed, ? keys), or --export / --html / --pedpy files.

    A simulated run shows people as dots; a recorded exercise shows people per building and the alarms over time.
    """
    from twin.recording import RecordingError
    from viz.replay import SPEEDS

    try:
        w, h = (int(v) for v in size.lower().split("x"))
    except ValueError:
        fail(f"--size {size!r}: expected WxH, e.g. 1280x800")
    if speed is not None and speed not in SPEEDS:
        fail(f"--speed {speed:g}: choose one of {', '.join(f'{s:g}' for s in SPEEDS)}")
    headless = export is not None or html is not None or pedpy is not None
    if not headless:
        if t_from is not None or t_to is not None:
            fail("--from and --to go with --export or --pedpy")
    if headless:
        os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
    from viz.replay import Replay

    try:
        rec = Replay(recording)
    except RecordingError as e:
        fail(str(e))
    if t_from is not None and t_from > rec.duration:
        fail(f"--from {t_from:g} s is outside the recording, which holds 0 … {rec.duration:g} s")
    if rec.is_exercise and pedpy is not None:
        fail(f"{recording}: a recorded exercise holds counts per building, not trajectories; --pedpy needs a simulated run")
    try:
        rec.focus(building, level)
    except ValueError as e:
        fail(f"{recording}: {e}")
    if rec.note:
        err.print(f"note: {rec.note}", highlight=False, markup=False)
    result: dict[str, object] = {"recording": str(recording), "kind": "exercise" if rec.is_exercise else "simulation",
                                 "people": rec.n_agents, "duration_s": round(rec.duration, 1)}
    if export is not None:
        from viz.replay_app import export_frames

        try:
            done = export_frames(rec, export, fps=fps, speed=speed or 32.0, t_from=t_from or 0.0, t_to=t_to,
                                 size=(w, h), gif=not no_gif, building=building, level=level)
        except ValueError as e:
            fail(str(e))
        frames = done["frames"]
        result["export"] = {"frames": len(frames), "first": str(frames[0]), "last": str(frames[-1]),
                            "times_s": [round(done["times"][0], 1), round(done["times"][-1], 1)],
                            "gif": str(done["gif"]) if done["gif"] else None}
        if not as_json:
            out.print(f"{len(frames)} frames ({done['times'][0]:.0f} … {done['times'][-1]:.0f} s) in {export}"
                      + (f", animation {done['gif']}" if done["gif"] else ""), highlight=False)
    if html is not None:
        from viz.replay_html import write_replay_html

        page = write_replay_html(rec, html, building=building, level=level)
        result["html"] = str(page)
        if not as_json:
            out.print(f"browser replay: {page} ({page.stat().st_size / 1e6:.1f} MB, works offline)", highlight=False)
    if pedpy is not None:
        from viz.replay import write_pedpy

        try:
            p = write_pedpy(rec, pedpy, fps=pedpy_fps, t_from=t_from or 0.0, t_to=t_to, building=building, level=level)
        except ValueError as e:
            fail(str(e))
        result["pedpy"] = str(p)
        if not as_json:
            out.print(f"PedPy trajectories: {p} ({pedpy_fps:g} fps)", highlight=False)
    if as_json:
        print(json.dumps(result, indent=2))
        return
    if headless:
        return
    from viz.replay_app import ReplayApp

    ReplayApp(rec, size=(w, h), speed=speed or 1.0, building=building, level=level).run()


def exercise(
    store: Annotated[Path, typer.Argument(help="The event store the drill was recorded in (twin serve / twin feed).")],
    t_from: Annotated[str, typer.Option("--from", help="Start of the drill window: ISO 8601 with offset (2026-03-01T10:00:00Z) or epoch s.")],
    t_to: Annotated[str, typer.Option("--to", help="End of the window (ISO 8601 or epoch s).")],
    output: Annotated[Path, typer.Option("-o", "--output", help="The exercise recording to write (SQLite).")],
    campus: Annotated[Path | None, typer.Option("--campus", help="The campus the drill ran on (default: the one the store was made for).")] = None,
    every: Annotated[float | None, typer.Option("--every", help="Occupancy sample spacing (s); default the setting exercise.sample (5 s).", min=0.1)] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON document of what was written.")] = False,
) -> None:
    """Record an exercise: the event store between two times, with its campus, as a replayable recording."""
    from sensors.events import parse_time
    from sensors.exercise import record_exercise
    from twin.recording import RecordingError

    try:
        a, b = parse_time(t_from, "--from"), parse_time(t_to, "--to")
    except ValueError as e:
        fail(str(e))
    where = campus
    if where is None:
        import sqlite3

        try:
            con = sqlite3.connect(f"file:{store}?mode=ro", uri=True)
            row = con.execute("SELECT value FROM meta WHERE key = 'campus'").fetchone()
            con.close()
        except sqlite3.Error:
            row = None
        if row is None:
            fail(f"{store}: no such event store, or it does not say which campus it belongs to; pass --campus")
        where = Path(row[0])
    c = load(where)
    try:
        done = record_exercise(store, c, output, t_from=a, t_to=b, every=every)
    except RecordingError as e:
        fail(str(e))
    if as_json:
        print(json.dumps(done, indent=2))
        return
    alarm = "no fire alarm in the window" if done["alarm_s"] is None else f"first fire alarm at {done['alarm_s']:.0f} s"
    out.print(f"exercise {done['from']} … {done['to']} ({done['duration_s']:.0f} s): {done['events']:,} events, "
              f"{len(done['buildings'])} buildings counted, {done['alarms']} alarms, {alarm} → {output}", highlight=False)


def compare(
    recording: Annotated[Path, typer.Argument(help="A recorded exercise (twin exercise).")],
    scenario: Annotated[Path, typer.Argument(help="The evacuation scenario the drill was planned with (TOML).")],
    output: Annotated[Path, typer.Option("-o", "--output", help="Folder for report.html (and calibrated.toml).")] = Path("compare"),
    calibrate: Annotated[bool, typer.Option("--calibrate", help="Fit pre-movement and door flow to the drill and write them into OUTPUT/calibrated.toml.")] = False,
    calibrated: Annotated[Path | None, typer.Option("--calibrated", help="--calibrate: write the calibrated scenario here instead.")] = None,
    alarm: Annotated[float | None, typer.Option("--alarm", help="When the alarm sounded (s from the recording's start); default its first fire alarm.", min=0)] = None,
    step: Annotated[float | None, typer.Option("--bin", help="Time step of the curves (s); default the setting compare.bin (10 s), or the door sensors' reporting interval when longer.", min=0.5)] = None,
    replications: Annotated[int | None, typer.Option("--replications", help="--calibrate: replications per fit step (default the setting calibrate.replications).", min=1)] = None,
    buildings: Annotated[str | None, typer.Option("--buildings", help="The buildings that evacuated, comma-separated (default: those with a fire alarm in the recording).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON document of the comparison.")] = False,
) -> None:
    """Drill versus plan: actual vs simulated evacuation curves per building and in total; --calibrate fits the plan to the drill."""
    from scenarios.calibrate import actual_exits, calibrate as fit, compare as compare_curves
    from scenarios.calibrated import write_calibrated
    from scenarios.camera_counts import actual_levels
    from scenarios.evacuation import run
    from scenarios.schema import Evacuation, load_scenario
    from twin.recording import RecordingError
    from viz.compare_report import write_compare_report

    with user_errors(f"{scenario}: scenario not loaded"):
        sc = load_scenario(scenario)
    if not isinstance(sc, Evacuation):
        fail(f"{scenario}: a {sc.kind} scenario; twin compare needs an evacuation scenario")
    c = load(sc.campus)
    try:
        actual, alarm_s, meta = actual_exits(recording, c, alarm_s=alarm,
                                             buildings=None if buildings is None else [b.strip() for b in buildings.split(",") if b.strip()])
    except RecordingError as e:
        fail(str(e))
    with err.status("simulating the plan …"):
        outcome = run(sc, c, source=str(scenario))
    cal = None
    if calibrate:
        from rich.progress import Progress, TextColumn, TimeElapsedColumn

        with Progress(TextColumn("calibrating: {task.completed} simulated replications"), TimeElapsedColumn(),
                      console=err, transient=True, disable=as_json) as bar:
            task = bar.add_task("fit", total=None)
            levels, notes = actual_levels(str(recording), c, alarm_s=alarm_s, until_s=meta["all_clear_s"],
                                          buildings={e.building for e in actual.values()})
            cal = fit(actual, sc, c, step=step, replications=replications, levels=levels,
                      progress=lambda n: bar.update(task, completed=n))
            cal.warnings += notes
    cmp = compare_curves(actual, [r.exit_times for r in outcome.replications], alarm_s=alarm_s, step=step,
                         calibrated=cal.fitted if cal else None)
    result: dict[str, object] = {
        "recording": str(recording), "scenario": str(scenario), "name": sc.name or scenario.stem, "alarm_s": alarm_s, "bin_s": float(cmp.grid[0]),
        "figures": cmp.figures(), "exits": cmp.exits,
    }
    if cal is not None:
        path = write_calibrated(scenario, calibrated or output / "calibrated.toml", cal, source=str(recording))
        result["calibration"] = {**cal.as_dict(), "written": str(path)}
    page = write_compare_report(cmp, result, meta=meta, campus=c, out_dir=output)
    result["report"] = str(page)
    if as_json:
        print(json.dumps(result, indent=2))
        return
    _print_comparison(result)


def _print_comparison(result: dict) -> None:  # type: ignore[type-arg]
    """The comparison as tables on the terminal."""
    from rich.table import Table

    def s(v: float | None) -> str:
        return "–" if v is None else f"{v:,.0f}"

    t = Table(title=f"Drill vs plan (alarm at {result['alarm_s']:.0f} s of the recording; times in s from the alarm)")
    for col in ("building", "people drill / plan", "t50 drill / plan", "t90 drill / plan", "t100 drill / plan", "mean gap"):
        t.add_column(col, justify="left" if col == "building" else "right")
    for b, f in result["figures"].items():  # type: ignore[union-attr]
        a, p = f["actual"], f["simulated"]
        t.add_row(b, f"{f['people_actual']:,.0f} / {f['people_simulated']:,.0f}",
                  *(f"{s(a[k])} / {s(p[k])}" for k in ("t50_s", "t90_s", "t100_s")), s(f["time_gap_s"]))
    out.print(t)
    cal = result.get("calibration")
    if cal:
        st = cal["start"]
        fd = "not identified" if cal["flow_door"] is None else f"{cal['flow_door']:.3f} persons/s/m"
        pm = ("not identified" if cal["premovement_mean_s"] is None
              else f"mean {cal['premovement_mean_s']:.1f} s, sd {cal['premovement_sd_s']:.1f} s")
        out.print(f"calibrated: flow_door {fd} (plan {st['flow_door']:g}); pre-movement {pm} "
                  f"(plan mean {st['premovement_mean_s']:g} s, sd {st['premovement_sd_s']:g} s); "
                  f"{cal['simulations']} simulated replications → {cal['written']}", highlight=False)
        from viz.compare_report import pinned

        out.print("95 % intervals (the counts' noise, docs/recording.md): " + "; ".join(
            f"{k} {pinned(cal, k, 3 if k == 'flow_door' else 1)}" for k in cal["uncertainty"]), highlight=False)
        for w in cal["warnings"]:
            err.print(f"[yellow]warning:[/] {w}", highlight=False, soft_wrap=True)
    out.print(f"report: {result['report']}", highlight=False)

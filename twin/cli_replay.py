"""``twin replay``: the pygame viewer, headless frame export, browser replay and PedPy export."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Annotated

import typer

from twin.cli import app, err, fail, out


@app.command()
def replay(
    recording: Annotated[Path, typer.Argument(help="A recording (recording.sqlite, written by twin run -o DIR).")],
    export: Annotated[Path | None, typer.Option("--export", help="Render PNG frames and replay.gif into this folder, with no window.")] = None,
    fps: Annotated[float, typer.Option("--fps", help="Export: frames per second of the GIF (a frame every SPEED/FPS simulated s).", min=0.01)] = 10.0,
    speed: Annotated[float | None, typer.Option("--speed", help="Playback speed: simulated s per wall s (0.25, 0.5, 1, 2, … 64); default 1 in the window, 32 for --export.")] = None,
    t_from: Annotated[float | None, typer.Option("--from", help="--export / --pedpy: first time (s from the alarm).", min=0)] = None,
    t_to: Annotated[float | None, typer.Option("--to", help="--export / --pedpy: last time (s); default the end of the run.", min=0)] = None,
    no_gif: Annotated[bool, typer.Option("--no-gif", help="Export: PNG frames only.")] = False,
    html: Annotated[Path | None, typer.Option("--html", help="Write a self-contained browser replay (HTML, works offline).")] = None,
    pedpy: Annotated[Path | None, typer.Option("--pedpy", help="Write the trajectories as a JuPedSim/PedPy SQLite file.")] = None,
    pedpy_fps: Annotated[float, typer.Option("--pedpy-fps", help="PedPy export: frames per simulated second (a campus drill at 1 fps is ~7 million rows).", min=0.01)] = 2.0,
    size: Annotated[str, typer.Option("--size", help="Window or frame size WxH (px).")] = "1280x800",
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON document of what was written.")] = False,
) -> None:
    """Replay a recording: a window (space pause, ←/→ seek, ↑/↓ speed, ? keys), or --export / --html / --pedpy files."""
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
    from viz.replay_app import open_replay

    try:
        rec, outlines, note = open_replay(recording)
    except RecordingError as e:
        fail(str(e))
    if rec.meta.get("kind", "simulation") != "simulation":
        fail(f"{recording}: a recording of kind {rec.meta.get('kind')!r}; twin replay shows simulated runs only "
             "(recorded exercises are not replayed yet)")
    if note:
        err.print(f"note: {note}", highlight=False, markup=False)
    result: dict[str, object] = {"recording": str(recording), "people": rec.n_agents, "duration_s": round(rec.duration, 1)}
    if export is not None:
        from viz.replay_app import export_frames

        try:
            done = export_frames(rec, export, fps=fps, speed=speed or 32.0, t_from=t_from or 0.0, t_to=t_to,
                                 size=(w, h), gif=not no_gif, outlines=outlines, note=note)
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

        page = write_replay_html(rec, html, outlines=outlines)
        result["html"] = str(page)
        if not as_json:
            out.print(f"browser replay: {page} ({page.stat().st_size / 1e6:.1f} MB, works offline)", highlight=False)
    if pedpy is not None:
        from viz.replay import write_pedpy

        try:
            p = write_pedpy(rec, pedpy, fps=pedpy_fps, t_from=t_from or 0.0, t_to=t_to)
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

    ReplayApp(rec, size=(w, h), speed=speed or 1.0, outlines=outlines, note=note).run()

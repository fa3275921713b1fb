"""The ``twin`` command: one entry point, a subcommand per job.

The CLI is a thin layer: it parses arguments, calls the library and prints.
User mistakes (bad campus files, bad arguments) print a clear message and exit
non-zero; they never show a traceback.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, NoReturn

import typer
from rich.console import Console
from rich.table import Table

from twin.errors import CampusError

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


def _load(path: Path):  # noqa: ANN202 - returns twin.campus.Campus
    from twin.campus import load_campus

    try:
        return load_campus(path)
    except CampusError as e:
        for p in e.problems:
            err.print(f"[bold red]error:[/] {p}", highlight=False, soft_wrap=True, markup=True)
        n = len(e.problems)
        fail(f"{path}: campus not loaded ({n} problem{'s' if n != 1 else ''})")


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
    out.print(summary)


def main() -> None:
    """Entry point for ``python -m twin``."""
    app()

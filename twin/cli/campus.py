"""Campus commands: ``twin info``, ``twin map``, ``twin import-osm``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from twin.cli.console import CampusArg, err, fail, load, out


def info(
    campus: CampusArg,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON document instead of a table.")] = False,
) -> None:
    """Load a campus, validate it, build its graphs and summarise it."""
    c = load(campus)
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


def map_(
    campus: CampusArg,
    output: Annotated[Path, typer.Option("-o", "--output", help="HTML file to write.")] = Path("campus.html"),
) -> None:
    """Write an interactive map of the campus (a self-contained HTML file that works offline)."""
    from viz.campus_map import write_map

    c = load(campus)
    try:
        path = write_map(c.features, output)
    except OSError as e:
        fail(f"{output}: cannot write the map ({e.strerror or e})")
    out.print(f"map written to {path}")


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

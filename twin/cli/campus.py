"""Campus commands: ``twin info``, ``twin map``, ``twin import-osm``, ``twin campus merge``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from twin.cli.console import CampusArg, err, fail, load, out, user_errors
from twin.errors import InputError

NOTES_SHOWN = 10
"""Import notes printed (``--json`` gives every one)."""


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
    if s["buildings_levels_guessed"]:
        t.add_row("storeys guessed", f"{len(s['buildings_levels_guessed']):,} of {s['buildings']:,} buildings")
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
    as_json: Annotated[bool, typer.Option("--json", help="Print the summary, every note included, as one JSON document.")] = False,
) -> None:
    """Import buildings, rooms, doors, footways, roads and gates from OpenStreetMap into a campus folder."""
    from maps.osm import OsmImportError, import_osm as run_import, parse_bbox

    try:
        summary = run_import(source, output, bbox=parse_bbox(bbox) if bbox else None)
    except OsmImportError as e:
        fail(str(e))
    if as_json:
        print(json.dumps(summary.as_dict(), indent=2, ensure_ascii=False))
        return
    t = Table(title=f"Imported {summary.total:,} features from {source.name} in {summary.seconds:.1f} s", show_header=False)
    for kind, n in sorted(summary.counts.items()):
        t.add_row(kind, f"{n:,}")
    if summary.skipped:
        t.add_row("skipped (degenerate)", f"{summary.skipped:,}")
    if summary.not_exits:
        t.add_row("entrances not exits", f"{summary.not_exits:,}")
    if summary.levels_guessed:
        t.add_row("storeys guessed", f"{summary.levels_guessed:,} of {summary.counts.get('building', 0):,} buildings")
    out.print(t)
    for note in summary.notes[:NOTES_SHOWN]:
        err.print(f"[yellow]note:[/] {note}", highlight=False, soft_wrap=True)
    if len(summary.notes) > NOTES_SHOWN:
        err.print(f"[yellow]note:[/] … and {len(summary.notes) - NOTES_SHOWN:,} more (--json lists them all)", highlight=False)
    out.print(f"campus written to {summary.path}; check it with: twin info {summary.path.parent}")


campus_app = typer.Typer(help="Campus files from several sources: twin campus merge.", no_args_is_help=True)
"""The ``twin campus`` group."""


@campus_app.command("merge")
def merge(
    base: Annotated[Path, typer.Argument(help="The campus to merge into: an OpenStreetMap import or a hand-made campus.")],
    interiors: Annotated[list[Path], typer.Argument(help="Campuses whose buildings have rooms, doors and stairs (what import-ifc, import-imdf and import-dxf write).")],
    output: Annotated[Path, typer.Option("-o", "--output", help="Folder to write the merged campus.geojson into.")],
    match: Annotated[list[str] | None, typer.Option("--match", help="INTERIOR_ID=BASE_ID: pair two buildings by hand (repeatable).")] = None,
    min_overlap: Annotated[float, typer.Option(help="Smallest footprint intersection over union for a match by overlap.")] = 0.5,
    add_unmatched: Annotated[bool, typer.Option("--add-unmatched", help="Add interior buildings that match nothing as new buildings.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as one JSON document.")] = False,
) -> None:
    """Put imported buildings' interiors into a campus, matching buildings by id or footprint, and report what did not match."""
    from maps.merge import MergeError, merge_campus, parse_match

    with user_errors(f"{output}: nothing written"):
        try:
            s = merge_campus(base, list(interiors), output, match=parse_match(match or []), min_overlap=min_overlap,
                             add_unmatched=add_unmatched)
        except MergeError as e:
            raise InputError(e.problems) from None
    if as_json:
        print(json.dumps(s.as_dict(), indent=2, ensure_ascii=False))
        return
    t = Table(title=f"Merged {len(s.matched) + len(s.added)} building interior(s) into {s.path}")
    for col in ("interior", "into", "matched by", "exits", "joined to paths"):
        t.add_column(col)
    for m in s.matched:
        far = f"{min(m.joined_m):.0f}-{max(m.joined_m):.0f}" if m.joined_m and max(m.joined_m) - min(m.joined_m) >= 0.5 else \
            f"{max(m.joined_m, default=0):.0f}"
        joins = f"{m.exits - m.unjoined}, {far} m away" if m.joined_m else "none"
        t.add_row(m.interior, m.base, m.how if m.how != "overlap" else f"overlap {m.iou:.0%}", str(m.exits),
                  joins + (f", {m.unjoined} not joined" if m.unjoined else ""))
    for b in s.added:
        t.add_row(b, b, "added (--add-unmatched)", "", "")
    out.print(t)
    for src, bid, why in s.unmatched:
        err.print(f"[yellow]not merged:[/] {src}: building '{bid}': {why}", highlight=False, soft_wrap=True)
    for bid, why in s.removed:
        err.print(f"[yellow]removed:[/] base building '{bid}': {why}", highlight=False, soft_wrap=True)
    for old, new in s.renamed.items():
        err.print(f"[yellow]renamed:[/] {old} -> {new} (the id was taken)", highlight=False, soft_wrap=True)
    if s.unreachable:
        err.print(f"[yellow]warning:[/] cannot reach an assembly area: {', '.join(s.unreachable)}", highlight=False, soft_wrap=True)
    for w in s.warnings:
        err.print(f"[yellow]warning:[/] {w}", highlight=False, soft_wrap=True)
    out.print(f"check it with: twin info {s.path.parent}")

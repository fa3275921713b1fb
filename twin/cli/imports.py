"""Building-plan import commands: ``twin import-ifc``, ``twin import-imdf``, ``twin import-dxf`` (see docs/import.md)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from twin.cli.console import err, out, user_errors

if TYPE_CHECKING:
    from maps.importing import ImportSummary

OutOpt = Annotated[Path, typer.Option("-o", "--output", help="Folder to write campus.geojson into (replaced only if the import succeeds).")]
BuildingOpt = Annotated[str | None, typer.Option("--building", help="Id of the imported building (default: from its name in the source).")]
NoOutdoorOpt = Annotated[bool, typer.Option("--no-outdoor", help="Leave out the placeholder footway and assembly area (when merging into a campus that has them).")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON document of what was written.")]


def import_ifc(
    source: Annotated[Path, typer.Argument(help="An IFC model (.ifc, IFC2X3 or IFC4).")],
    output: OutOpt,
    at: Annotated[str | None, typer.Option("--at", help="LON,LAT[,ROTATION]: where the model's origin lies, and the bearing of its +Y axis (degrees clockwise from north); overrides the model's georeferencing.")] = None,
    building: BuildingOpt = None,
    use: Annotated[str | None, typer.Option("--use", help="The building's use: teaching, library, lab, canteen, admin, dorm, sports, other.")] = None,
    footprint_only: Annotated[bool, typer.Option("--footprint-only", help="Import only outlines and storeys; the interior is generated.")] = False,
    no_outdoor: NoOutdoorOpt = False,
    as_json: JsonOpt = False,
) -> None:
    """Import the buildings of an IFC model (storeys, spaces, doors, stairs) into a campus folder."""
    from maps.ifc import import_ifc as run_import
    from maps.importing import parse_at

    with user_errors(f"{source}: not imported"), _busy(f"importing {source.name} …", as_json):
        georef = parse_at(at) if at else None
        summary = run_import(source, output, at=georef, building_id=building, use=use, outdoor=not no_outdoor,
                             footprint_only=footprint_only)
    _report(source, summary, as_json)


def import_imdf(
    archive: Annotated[Path, typer.Argument(help="An IMDF archive: a .zip or a folder holding venue.geojson, level.geojson, unit.geojson, ….")],
    output: OutOpt,
    building: BuildingOpt = None,
    escalators: Annotated[bool, typer.Option("--escalators", help="Use escalators as stairs (by default they are left out of evacuation, like lifts).")] = False,
    no_outdoor: NoOutdoorOpt = False,
    as_json: JsonOpt = False,
) -> None:
    """Import an Apple IMDF indoor map (levels, units, openings, fixtures) into a campus folder."""
    from maps.imdf import import_imdf as run_import

    with user_errors(f"{archive}: not imported"), _busy(f"importing {archive.name} …", as_json):
        summary = run_import(archive, output, building_id=building, escalators=escalators, outdoor=not no_outdoor)
    _report(archive, summary, as_json)


def import_dxf(
    sources: Annotated[list[Path], typer.Argument(help="DXF floor plans, one per level (the mapping says which level each is).")],
    mapping: Annotated[Path, typer.Option("--map", help="Mapping file (TOML): which layers are rooms, doors, stairs …; units; anchor.")],
    output: OutOpt,
    no_outdoor: NoOutdoorOpt = False,
    as_json: JsonOpt = False,
) -> None:
    """Import CAD floor plans (DXF) into a campus folder, with a mapping file naming the layers."""
    from maps.dxf import import_dxf as run_import

    with user_errors(f"{', '.join(map(str, sources))}: not imported"), _busy("importing the plans …", as_json):
        summary = run_import(sources, mapping, output, outdoor=not no_outdoor)
    _report(sources[0], summary, as_json)


def _busy(label: str, quiet: bool):  # noqa: ANN202 - a context manager
    """A spinner on stderr while an import runs (none for --json)."""
    from contextlib import nullcontext

    return nullcontext() if quiet else err.status(label)


def _report(source: Path, s: ImportSummary, as_json: bool) -> None:
    if as_json:
        print(json.dumps(s.as_dict(), indent=2, ensure_ascii=False))
        return
    t = Table(title=f"Imported {source.name} in {s.seconds:.1f} s", show_header=False)
    for kind, n in s.counts.items():
        t.add_row(kind, f"{n:,}")
    t.add_row("levels", ", ".join(map(str, s.levels)))
    t.add_row("placed by", s.georef)
    for k, v in s.notes.items():
        t.add_row(k, f"{len(v):,}: " + "; ".join(map(str, v[:3])) + (" …" if len(v) > 3 else "") if isinstance(v, list) else str(v))
    out.print(t)
    for w in s.warnings:
        err.print(f"[yellow]warning:[/] {w}", highlight=False, soft_wrap=True)
    out.print(f"campus written to {s.path}; check it with: twin info {s.path.parent}", highlight=False)

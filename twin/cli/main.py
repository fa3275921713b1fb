"""The ``twin`` command: one entry point, a subcommand per job.

This module only registers the commands; each group lives in its own module
(campus, scenarios, live, replay) over the shared ``console`` module. The CLI
is a thin layer: it parses arguments, calls the library and prints. User
mistakes print a clear message and exit non-zero; never a traceback.
"""

from __future__ import annotations

import typer

from twin.cli import campus, hazard, imports, live, replay, scenarios

app = typer.Typer(
    help="Campus Twin: a digital twin of a university campus and a drill planner built on it.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)

app.command()(campus.info)
app.command("map")(campus.map_)
app.command("import-osm")(campus.import_osm)
app.add_typer(campus.campus_app, name="campus")
app.command("import-ifc")(imports.import_ifc)
app.command("import-imdf")(imports.import_imdf)
app.command("import-dxf")(imports.import_dxf)
app.command("run")(scenarios.run_)
app.command()(scenarios.sweep)
app.command()(scenarios.verify)
app.command()(live.serve)
app.command()(live.state)
app.add_typer(live.feed, name="feed")
app.add_typer(live.user, name="user")
app.add_typer(live.store_app, name="store")
app.add_typer(hazard.hazard, name="hazard")
app.command()(replay.replay)
app.command()(replay.exercise)
app.command()(replay.compare)


def main() -> None:
    """Entry point for ``python -m twin``."""
    app()

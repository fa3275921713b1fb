"""What every command group shares: the two consoles, user-facing errors, loading a campus once, progress bars."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, NoReturn, TypeVar

import typer
from rich.console import Console
from rich.markup import escape

from twin.errors import InputError

if TYPE_CHECKING:
    from twin.campus import Campus

T = TypeVar("T")

out = Console()
err = Console(stderr=True)

CampusArg = Annotated[Path, typer.Argument(help="A campus file (GeoJSON, GeoPackage, …) or a folder holding campus.geojson.")]
ScenarioArg = Annotated[Path, typer.Argument(help="A scenario file (TOML, see docs/scenarios.md).")]
WorkersOpt = Annotated[int | None, typer.Option("--workers", "-j", help="Local processes for replications (default: one per core).")]
DaskOpt = Annotated[str | None, typer.Option("--dask", help="Run on a Dask distributed scheduler, e.g. tcp://HOST:PORT.")]


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
            err.print(f"[bold red]error:[/] {escape(str(p))}", highlight=False, soft_wrap=True, markup=True)  # user text is not markup
        n = len(e.problems)
        fail(f"{what} ({n} problem{'s' if n != 1 else ''})")
    except ModuleNotFoundError as e:
        if (e.name or "").startswith("distributed"):
            fail("--dask needs the Dask distributed package: pip install 'campus-twin[dask]'")
        raise


def load(path: Path) -> Campus:
    """Load a campus for a command; a bad campus prints its problems and exits non-zero."""
    from twin.campus import load_campus

    with user_errors(f"{path}: campus not loaded"):
        return load_campus(path)


def progress_bar(total: int, label: str):  # noqa: ANN202 - a rich Progress and its callback
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    bar = Progress(TextColumn(label), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), console=err, transient=True)
    task = bar.add_task(label, total=total)
    return bar, lambda done: bar.update(task, completed=done)


def with_progress(replications: int, quiet: bool, job: Callable[[Callable[[int], None] | None], T]) -> T:
    """Run ``job`` with a progress bar over replications (none when ``quiet``, e.g. for --json)."""
    if quiet:
        return job(None)
    bar, tick = progress_bar(replications, "replications")
    with bar:
        return job(tick)

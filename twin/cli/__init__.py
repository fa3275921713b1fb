"""The command line, ``twin``: the one part of ``twin/`` that imports the other top-level packages."""

from twin.cli.main import app, main

__all__ = ["app", "main"]

"""Read a TOML file a user wrote (a scenario, a mapping, a procedures file), with one set of messages for what is wrong.

Each reader turns :class:`TomlFileError` into its own error type, naming the
file: ``raise ScenarioError([Problem(str(path), e.reason)])``.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any


class TomlFileError(ValueError):
    """The file cannot be read as TOML; ``reason`` says why, without the file's name."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def read_toml(path: str | Path, what: str) -> dict[str, Any]:
    """The top-level table of the TOML file at ``path``.

    Parameters
    ----------
    path : str or Path
        The file.
    what : str
        What the file is, for the messages ("scenario", "mapping", …).

    Raises
    ------
    TomlFileError
        ``no such {what} file``, ``cannot read the {what} file (…)`` or
        ``not a TOML file: …`` (with the parser's line and column).
    """
    try:
        return tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise TomlFileError(f"no such {what} file") from None
    except IsADirectoryError:
        raise TomlFileError(f"cannot read the {what} file (it is a folder)") from None
    except (OSError, UnicodeDecodeError) as e:
        raise TomlFileError(f"cannot read the {what} file ({getattr(e, 'strerror', None) or e})") from None
    except tomllib.TOMLDecodeError as e:
        raise TomlFileError(f"not a TOML file: {e}") from None

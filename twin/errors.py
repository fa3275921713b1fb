"""Problems found in user input, and the error that carries them."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Problem:
    """One thing wrong (or suspicious) in a campus file.

    Attributes
    ----------
    source : str
        The file it was found in.
    message : str
        What is wrong and, where it helps, what to do.
    feature : str | None
        Id of the feature concerned (``None`` for the file as a whole).
    field : str | None
        Property concerned.
    """

    source: str
    message: str
    feature: str | None = None
    field: str | None = None

    def __str__(self) -> str:
        where = self.source
        if self.feature is not None:
            where += f": feature '{self.feature}'"
        if self.field is not None:
            where += f", field '{self.field}'" if self.feature is not None else f": key '{self.field}'"
        return f"{where}: {self.message}"

    def as_dict(self) -> dict[str, str | None]:
        """The problem as a JSON-ready mapping."""
        return {"source": self.source, "feature": self.feature, "field": self.field, "message": self.message}


class InputError(ValueError):
    """User input that cannot be used; ``problems`` lists every reason."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


class CampusError(InputError):
    """A campus file that cannot be loaded."""


class ScenarioError(InputError):
    """A scenario file that cannot be run."""

"""The site's alarm procedures: what the operator does for each alarm kind, per building where it differs.

A TOML file the site writes (``twin serve --procedures FILE``, format in
``docs/live-map.md``)::

    [kinds]                      # every building
    fire = "Confirm on the covering camera. Call the fire brigade (119). Start the evacuation of the building."
    panic = "Send the nearest guard post. Call the caller back on the intercom."

    [buildings.TB1]              # only Teaching Building 1
    fire = "Lecture theatres on level 0: open the side exits to the sports field."
    "*" = "Key holder: facilities desk, ext. 2211."    # any alarm in TB1

The alarm card shows, in order, the building's text for the alarm's kind,
the building's ``"*"`` text and the campus-wide text for the kind.
:func:`load_procedures` checks the file against the campus and the alarm
kinds and names the key of every problem.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from twin.state import PRIORITY
from twin.tomlfile import TomlFileError, read_toml

ANY = "*"
"""Key of a building's text for every alarm kind."""


class ProceduresError(ValueError):
    """A procedures file that cannot be used; the message names the file and the key."""


class Procedures:
    """Procedure texts by alarm kind and by building (empty: no file).

    Parameters
    ----------
    kinds : dict
        Alarm kind → text, for every building.
    buildings : dict
        Building id → {alarm kind or ``"*"`` → text}.
    source : str, optional
        The file they came from (shown with the text).
    """

    def __init__(self, kinds: dict[str, str] | None = None, buildings: dict[str, dict[str, str]] | None = None,
                 source: str | None = None) -> None:
        self.kinds = kinds or {}
        self.buildings = buildings or {}
        self.source = source

    def for_alarm(self, kind: str, building: str | None) -> list[dict[str, str]]:
        """The texts for one alarm, most specific first: ``[{"scope": …, "text": …}, …]``."""
        out = []
        here = self.buildings.get(building or "", {})
        for key in (kind, ANY):
            if key in here:
                out.append({"scope": f"{building}" + ("" if key == kind else ", any alarm"), "text": here[key]})
        if kind in self.kinds:
            out.append({"scope": "all buildings", "text": self.kinds[kind]})
        return out


def _texts(src: str, table: Any, where: str, allowed: set[str]) -> dict[str, str]:
    if not isinstance(table, dict):
        msg = f"{src}: [{where}] must be a table of alarm kind = \"text\", got {type(table).__name__}"
        raise ProceduresError(msg)
    out = {}
    for kind, text in table.items():
        if kind not in allowed:
            msg = f"{src}: [{where}] {kind!r} is not an alarm kind (known: {', '.join(sorted(allowed))})"
            raise ProceduresError(msg)
        if not isinstance(text, str) or not text.strip():
            msg = f"{src}: [{where}] {kind}: the procedure must be a non-empty string, got {text!r}"
            raise ProceduresError(msg)
        out[kind] = text.strip()
    return out


def load_procedures(path: str | Path, buildings: set[str]) -> Procedures:
    """Read and check a procedures file.

    Parameters
    ----------
    path : str or Path
        The TOML file.
    buildings : set of str
        The campus's building ids (a building key must be one of them).

    Raises
    ------
    ProceduresError
        Naming the file and the key: unreadable file, TOML syntax, unknown
        table, unknown building or alarm kind, empty text.
    """
    src = str(path)
    try:
        doc = read_toml(path, "procedures")
    except TomlFileError as e:
        msg = f"{src}: {e.reason}"
        raise ProceduresError(msg) from None
    unknown = sorted(set(doc) - {"kinds", "buildings"})
    if unknown:
        msg = f"{src}: unknown table {unknown[0]!r} (a procedures file holds [kinds] and [buildings.<building id>])"
        raise ProceduresError(msg)
    kinds = _texts(src, doc.get("kinds", {}), "kinds", set(PRIORITY))
    per = doc.get("buildings", {})
    if not isinstance(per, dict):
        msg = f"{src}: [buildings] must hold one table per building id"
        raise ProceduresError(msg)
    by_building = {}
    for b, table in per.items():
        if b not in buildings:
            msg = f"{src}: [buildings.{b}]: no building {b!r} on the campus"
            raise ProceduresError(msg)
        by_building[b] = _texts(src, table, f"buildings.{b}", set(PRIORITY) | {ANY})
    return Procedures(kinds, by_building, source=src)

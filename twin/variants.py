"""Campus variants: the campus as it would be after a few changes (a traffic layout, a what-if).

A variant is the base campus with changes applied, given as plain data (a
mapping), so any caller can describe one without a schema of its own:

``campus``
    A campus file (or folder) of its own; alone, the variant is that campus.
``remove``
    Feature ids to drop.
``retag``
    Feature id to a new ``kind`` (a shared lane becomes a ``road``).
``set``
    Feature id to properties to change (``speed_limit``, ``width``, ``signal`` …).
``add``
    A small GeoJSON FeatureCollection (in the campus file's CRS) whose features are appended.

Relative paths are relative to the folder of ``source`` (the file that
describes the variant, e.g. a scenario). Changes need a GeoJSON campus: they
are applied to the document and the result is loaded as a campus of its own
(its digest is the changed document's). Every problem names its key
(``{key}.remove``, ``{key}.add`` …) in a :class:`~twin.errors.ScenarioError`.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from twin.campus import Campus, load_campus
from twin.errors import CampusError, Problem, ScenarioError
from twin.read import GEOJSON_SUFFIXES, resolve_campus_path

CHANGES = ("campus", "remove", "retag", "set", "add")
"""The keys of a variant's changes."""


def campus_variants(base: Campus, variants: Mapping[str, Mapping[str, Any]], *, source: str = "scenario",
                    key: str = "layouts") -> dict[str, Campus]:
    """The campus of every variant, by name (see :func:`campus_variant`); problems name ``{key}.{name}``."""
    return {name: campus_variant(base, changes, source=source, key=f"{key}.{name}") for name, changes in variants.items()}


def campus_variant(base: Campus, changes: Mapping[str, Any], *, source: str = "scenario", key: str = "variant") -> Campus:
    """The campus ``base`` with ``changes`` applied (keys: :data:`CHANGES`; absent or empty ones change nothing).

    Parameters
    ----------
    base : Campus
        The campus the changes apply to (read again from ``base.source`` when there are changes).
    changes : mapping
        ``campus``, ``remove``, ``retag``, ``set``, ``add`` as described in this module.
    source : str
        The file that describes the variant: relative paths are relative to its folder; problems name it.
    key : str
        Where the variant is in ``source`` (e.g. ``layouts.separated``), for problems.

    Raises
    ------
    ScenarioError
        Naming ``{key}.<change>``, for ids the campus does not have, changes to a
        non-GeoJSON campus, or a campus or added file that does not load.
    """
    unknown = sorted(set(changes) - set(CHANGES))
    if unknown:
        msg = f"unknown campus change(s) {unknown}; a variant takes: {', '.join(CHANGES)}"
        raise ValueError(msg)
    folder = Path(source).parent
    own = _path(changes.get("campus"), folder)
    remove: Iterable[str] = changes.get("remove") or ()
    retag: Mapping[str, str] = changes.get("retag") or {}
    props: Mapping[str, Mapping[str, Any]] = changes.get("set") or {}
    add = changes.get("add")
    remove = list(remove)
    if not (remove or retag or props or add):
        if own is None:
            return base
        try:
            return load_campus(own)
        except CampusError as e:
            raise ScenarioError([Problem(source, f"layout campus does not load: {p}", field=f"{key}.campus") for p in e.problems]) from None
    try:
        src = resolve_campus_path(own if own is not None else base.source)
    except CampusError:
        raise ScenarioError([Problem(source, f"no such campus {own}", field=f"{key}.campus")]) from None
    if src.suffix.lower() not in GEOJSON_SUFFIXES:
        raise ScenarioError([Problem(source, f"layout changes need a GeoJSON campus ({src.name} is not one); "
                                     "give the layout a campus file of its own instead", field=key)])
    doc = json.loads(src.read_text(encoding="utf-8"))
    feats = doc["features"]
    ids = {_id(f) for f in feats}
    problems = [Problem(source, f"no feature {fid!r} in {src.name}", field=f"{key}.remove") for fid in remove if fid not in ids]
    if add is not None:
        add_path = _path(add, folder)
        try:
            extra = json.loads(add_path.read_text(encoding="utf-8"))
            added = list(extra["features"])
        except (OSError, ValueError, KeyError, TypeError) as e:
            raise ScenarioError([Problem(source, f"cannot read {add} as a GeoJSON FeatureCollection ({e})", field=f"{key}.add")]) from None
        if (extra.get("crs") or None) != (doc.get("crs") or None):
            problems.append(Problem(source, f"{add} must be in the campus file's CRS", field=f"{key}.add"))
        dup = sorted({_id(f) for f in added} & (ids - set(remove)))
        if dup:
            problems.append(Problem(source, f"{add} adds ids the campus already has: {', '.join(dup)}", field=f"{key}.add"))
    else:
        added = []
    known = (ids - set(remove)) | {_id(f) for f in added}
    problems += [Problem(source, f"no feature {fid!r} in {src.name}" + (f" or {add}" if add else ""), field=f"{key}.{what}")
                 for what, keys in (("retag", retag), ("set", props)) for fid in keys if fid not in known]
    if problems:
        raise ScenarioError(problems)
    out = []
    kept = [f for f in feats if _id(f) not in remove]
    for f in kept + added:
        p = dict(f.get("properties") or {})
        fid = str(p.get("id"))
        if fid in retag:
            p["kind"] = retag[fid]
        p.update(props.get(fid, {}))
        out.append({**f, "properties": p})
    try:
        return load_campus(src, doc={**doc, "features": out})
    except CampusError as e:
        raise ScenarioError([Problem(source, f"layout does not load: {p}", field=key) for p in e.problems]) from None


def _id(feature: Mapping[str, Any]) -> str:
    return str((feature.get("properties") or {}).get("id"))


def _path(p: str | Path | None, folder: Path) -> Path | None:
    """``p`` resolved against ``folder`` when relative (None stays None)."""
    if p is None:
        return None
    p = Path(p)
    return p if p.is_absolute() else (folder / p).resolve()

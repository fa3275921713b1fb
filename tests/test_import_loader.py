"""Loader additions for imported plans: doors drawn as openings, the RFC 7946 top-level id,
basements (negative levels) and level names mapped to ordinals (issue 15, item 1)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from tests.helpers import add, examples, feature, line, point, rect, tiny, write
from twin.campus import load_campus
from twin.cli import app
from twin.errors import CampusError

runner = CliRunner()


def _line_door(doc: dict[str, Any], fid: str, *xy: tuple[float, float]) -> None:
    f = feature(doc, fid)
    f["geometry"] = line(*xy)
    f["properties"].pop("width", None)


def test_door_drawn_as_its_opening_is_its_midpoint_and_length(tmp_path: Path) -> None:
    doc = tiny()
    _line_door(doc, "D0a", (3.4, 6), (4.6, 6))          # along the wall between R0a and C0, 1.2 m
    _line_door(doc, "EXIT-W", (0, 4.2), (0, 5.8))        # on the outline, 1.6 m
    feature(doc, "D0b")["geometry"] = line((11.5, 6), (12.5, 6))  # width given: the property wins
    c = load_campus(write(doc, tmp_path / "c.geojson"))
    f = c.features
    assert f.at["D0a", "width"] == pytest.approx(1.2, abs=1e-6)
    assert f.at["EXIT-W", "width"] == pytest.approx(1.6, abs=1e-6)
    assert f.at["D0b", "width"] == 0.9
    assert f.geometry["D0a"].geom_type == "Point"
    assert f.geometry["D0a"].distance(f.geometry["R0a"].boundary) < 1e-6
    assert f.at["EXIT-W", "exit"] is True and c.graph.nodes["EXIT-W"]["width"] == pytest.approx(1.6, abs=1e-6)
    assert f.at["D0a", "opening"].length == pytest.approx(1.2, abs=1e-6)
    assert c.unreachable() == [] and c.warnings == []


def test_opening_wider_than_its_wall_or_across_it_warns(tmp_path: Path) -> None:
    doc = tiny()
    _line_door(doc, "D0a", (-1, 6), (9, 6))     # 10 m opening in an 8 m wall
    _line_door(doc, "D0b", (12, 5), (12, 7))     # drawn across the wall, not along it
    c = load_campus(write(doc, tmp_path / "c.geojson"))
    by = {(w.feature, w.field): w.message for w in c.warnings}
    assert "door is 10.00 m wide but the wall it sits in is" in by[("D0a", "width")]
    assert "does not follow the wall" in by[("D0b", "geometry")]


def test_top_level_feature_id_is_the_id(tmp_path: Path) -> None:
    doc = tiny()
    f = feature(doc, "R0b")
    f["id"] = f["properties"].pop("id")
    g = feature(doc, "R0c")
    g["id"] = "ignored"          # a property id wins over the top-level member
    c = load_campus(write(doc, tmp_path / "c.geojson"))
    assert "R0b" in c.features.index and "R0c" in c.features.index and "ignored" not in c.features.index


def _basement(doc: dict[str, Any]) -> None:
    b = feature(doc, "B1")["properties"]
    b.update(levels=3, lowest_level=-1, level_names={"UG": -1, "EG": 0, "OG": 1})
    add(doc, rect(0, 0, 16, 10), id="RB", kind="room", building="B1", level="UG", use="storage", occupants=3)
    feature(doc, "S1")["properties"]["levels"] = ["UG", "EG", "OG"]


def test_basement_and_level_names(tmp_path: Path) -> None:
    doc = tiny()
    _basement(doc)
    feature(doc, "R1a")["properties"]["level"] = "og"        # names match ignoring case
    feature(doc, "R1b")["properties"]["level"] = "1"         # an ordinal as text
    c = load_campus(write(doc, tmp_path / "c.geojson"))
    f = c.features
    assert f.at["RB", "level"] == -1 and f.at["R1a", "level"] == 1 and f.at["R1b", "level"] == 1
    assert list(f.at["S1", "levels"]) == [-1, 0, 1]
    assert c.summary()["levels"] == [-1, 0, 1]
    assert c.unreachable() == []  # the basement room reaches the exit up the stair
    assert c.graph.has_edge("S1@-1", "S1@0")


def test_generated_interior_with_a_basement(tmp_path: Path) -> None:
    doc = tiny()
    add(doc, rect(-40, 30, -20, 50), id="B2", kind="building", levels=3, lowest_level=-1, use="teaching")
    add(doc, line((-30, 20), (-30, 60)), id="FW2", kind="footway")
    add(doc, line((-30, 20), (-30, 5), (-40, 5)), id="FW3", kind="footway")
    c = load_campus(write(doc, tmp_path / "c.geojson"))
    assert {c.graph.nodes[n]["level"] for n in ("B2/L-1", "B2/L0", "B2/L1")} == {-1, 0, 1}
    exits = [n for n, d in c.graph.nodes(data=True) if d.get("building") == "B2" and d.get("exit")]
    assert exits and all(c.graph.nodes[e]["level"] == 0 for e in exits)
    assert "B2/L-1" not in c.unreachable()


BAD: list[tuple[str, Any, str, str, str]] = [
    ("unknown level name", lambda d: (_basement(d), feature(d, "R0a")["properties"].update(level="DG")), "R0a", "level",
     "level 'DG' is not a level name of building 'B1'"),
    ("level name without a table", lambda d: feature(d, "R0a")["properties"].update(level="B1"), "R0a", "level",
     "not a level name"),
    ("below the lowest level", lambda d: feature(d, "R0a")["properties"].update(level=-1), "R0a", "level",
     "level -1 is not a level of building 'B1' (levels 0 to 1)"),
    ("bad level_names", lambda d: feature(d, "B1")["properties"].update(level_names="B1=-1"), "B1", "level_names",
     "mapping of level name to ordinal"),
    ("zero-length opening", lambda d: _line_door(d, "D0a", (4, 6), (4, 6)), "D0a", "geometry", "two distinct ends"),
    ("opening as a polygon", lambda d: feature(d, "D0a").update(geometry=rect(3, 5.9, 4, 6.1)), "D0a", "geometry",
     "needs a Point/LineString geometry, not Polygon"),
]


@pytest.mark.parametrize(("name", "mutate", "fid", "field", "text"), BAD, ids=[b[0] for b in BAD])
def test_bad_levels_and_openings_are_refused(tmp_path: Path, name: str, mutate: Any, fid: str, field: str, text: str) -> None:
    doc = tiny()
    mutate(doc)
    path = write(doc, tmp_path / "bad.geojson")
    with pytest.raises(CampusError) as e:
        load_campus(path)
    hits = [p for p in e.value.problems if p.feature == fid and p.field == field]
    assert hits and text in hits[0].message, e.value
    result = runner.invoke(app, ["info", str(path)])
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert text in result.output


@settings(max_examples=examples(20), deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(x0=st.floats(1.0, 5.0), length=st.floats(0.4, 1.6), given_width=st.one_of(st.none(), st.floats(0.5, 3.0)),
       reverse=st.booleans())
def test_any_opening_along_a_wall_is_a_door_of_its_length(tmp_path: Path, x0: float, length: float,
                                                           given_width: float | None, reverse: bool) -> None:
    doc = tiny()
    a, b = (x0, 6.0), (x0 + length, 6.0)
    _line_door(doc, "D0a", *((b, a) if reverse else (a, b)))
    if given_width is not None:
        feature(doc, "D0a")["properties"]["width"] = given_width
    c = load_campus(write(doc, tmp_path / "c.geojson"))
    f = c.features
    assert f.at["D0a", "width"] == pytest.approx(given_width if given_width is not None else length, abs=1e-6)
    p = f.geometry["D0a"]
    assert p.distance(f.geometry["R0a"].boundary) < 1e-6
    assert set(c.graph.neighbors("D0a")) >= {"R0a", "C0"}
    assert abs((p.x - 500000) - (x0 + length / 2)) < 1e-6


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(names=st.dictionaries(st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), min_size=1, max_size=6),
                             st.integers(-3, 3), min_size=1, max_size=4),
       pick=st.text(max_size=6))
def test_level_names_never_crash_the_loader(tmp_path: Path, names: dict[str, int], pick: str) -> None:
    doc = tiny()
    b = feature(doc, "B1")["properties"]
    b.update(levels=7, lowest_level=-3, level_names=names)
    feature(doc, "R0a")["properties"]["level"] = pick
    from twin.read import read_features

    try:
        f, _ = read_features(write(doc, tmp_path / "c.geojson"))
    except CampusError as e:
        assert all(p.feature for p in e.problems)
        return
    got = int(f.at["R0a", "level"])
    assert got in set(names.values()) or got == int(pick)


def test_point_door_still_works(tmp_path: Path) -> None:
    doc = tiny()
    add(doc, point(4, 6), id="D-extra", kind="door", building="B1", level=1)
    c = load_campus(write(doc, tmp_path / "c.geojson"))
    assert c.features.at["D-extra", "width"] == 0.9 and c.features.at["D-extra", "opening"] is None

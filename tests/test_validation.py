"""Every validation error: a bad file, a message naming the feature and field,
a non-zero exit and no traceback (through the CLI runner)."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

import pytest
from typer.testing import CliRunner

from tests.helpers import add, feature, point, rect, tiny, write
from twin.campus import load_campus
from twin.cli import app
from twin.errors import CampusError

runner = CliRunner()


def _dup(d: dict[str, Any]) -> None:
    feature(d, "R0b")["properties"]["id"] = "R0a"


def _unknown_kind(d: dict[str, Any]) -> None:
    feature(d, "R0a")["properties"]["kind"] = "lounge"


def _missing_level(d: dict[str, Any]) -> None:
    del feature(d, "R0a")["properties"]["level"]


def _door_off_wall(d: dict[str, Any]) -> None:
    feature(d, "D0a")["geometry"] = point(4, 8)  # middle of room R0a


def _no_way_out(d: dict[str, Any]) -> None:
    d["features"] = [f for f in d["features"] if f["properties"]["id"] != "D1a"]


def _stair_levels(d: dict[str, Any]) -> None:
    feature(d, "S1")["properties"]["levels"] = "0-3"


def _width(d: dict[str, Any]) -> None:
    feature(d, "D0c")["properties"]["width"] = 0


def _fov(d: dict[str, Any]) -> None:
    feature(d, "CAM1")["properties"]["fov"] = 400


def _missing_building(d: dict[str, Any]) -> None:
    feature(d, "R0a")["properties"]["building"] = "B9"


def _level_range(d: dict[str, Any]) -> None:
    feature(d, "R1a")["properties"]["level"] = 5


def _geometry_type(d: dict[str, Any]) -> None:
    feature(d, "A1")["geometry"] = point(-50, 0)


def _wrong_type(d: dict[str, Any]) -> None:
    feature(d, "B1")["properties"]["levels"] = "two"


def _no_id(d: dict[str, Any]) -> None:
    del feature(d, "FW1")["properties"]["id"]


CASES: list[tuple[str, Callable[[dict[str, Any]], None], str, str, str]] = [
    ("duplicate id", _dup, "R0a", "id", "duplicate id"),
    ("unknown kind", _unknown_kind, "R0a", "kind", "unknown kind 'lounge'"),
    ("missing required property", _missing_level, "R0a", "level", "missing required property 'level'"),
    ("door not on a boundary", _door_off_wall, "D0a", "geometry", "does not lie on the boundary"),
    ("room with no way out", _no_way_out, "R1a", "geometry", "no way out"),
    ("stair joining missing levels", _stair_levels, "S1", "levels", "does not have"),
    ("non-positive width", _width, "D0c", "width", "greater than 0"),
    ("camera fov", _fov, "CAM1", "fov", "less than or equal to 360"),
    ("unknown building", _missing_building, "R0a", "building", "'B9' is not a building"),
    ("level out of range", _level_range, "R1a", "level", "level 5 is not a level"),
    ("wrong geometry type", _geometry_type, "A1", "geometry", "needs a Polygon"),
    ("wrong type", _wrong_type, "B1", "levels", "valid integer"),
    ("no id", _no_id, "#", "id", "missing required property 'id'"),
]


@pytest.mark.parametrize(("name", "mutate", "fid", "field", "text"), CASES, ids=[c[0] for c in CASES])
def test_bad_campus_is_refused_with_a_clear_error(tmp_path: Path, name: str, mutate: Callable[[dict[str, Any]], None],
                                                   fid: str, field: str, text: str) -> None:
    doc = tiny()
    mutate(doc)
    path = write(doc, tmp_path / "bad.geojson")
    with pytest.raises(CampusError) as e:
        load_campus(path)
    hits = [p for p in e.value.problems if p.feature is not None and p.feature.startswith(fid) and p.field == field]
    assert hits, f"{name}: no problem names {fid}/{field}: {e.value}"
    assert text in hits[0].message, hits[0].message
    result = runner.invoke(app, ["info", str(path)])
    assert result.exit_code == 2
    assert "Traceback" not in result.output
    assert fid in result.output and str(path) in result.output


@pytest.mark.parametrize(
    ("name", "content", "suffix", "text"),
    [
        ("garbage json", b"{not json", ".geojson", "not a GeoJSON file"),
        ("not a feature collection", b'{"type": "Point", "coordinates": [0, 0]}', ".geojson", "not a GeoJSON FeatureCollection"),
        ("binary garbage", bytes(range(256)) * 4, ".gpkg", "not a vector file GDAL can read"),
        ("text that is not vector data", b"hello world\n", ".txt", "not a vector file GDAL can read"),
        ("empty collection", b'{"type": "FeatureCollection", "features": []}', ".geojson", "holds no features"),
    ],
)
def test_unreadable_file(tmp_path: Path, name: str, content: bytes, suffix: str, text: str) -> None:
    path = tmp_path / f"campus{suffix}"
    path.write_bytes(content)
    result = runner.invoke(app, ["info", str(path)])
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    assert text in result.output and str(path) in result.output


def test_missing_file_and_empty_folder(tmp_path: Path) -> None:
    for p in (tmp_path / "nope.geojson", tmp_path):
        result = runner.invoke(app, ["info", str(p)])
        assert result.exit_code == 2
        assert "no such file" in result.output and "Traceback" not in result.output


def test_projected_coordinates_without_crs_are_refused(tmp_path: Path) -> None:
    doc = tiny()
    del doc["crs"]
    with pytest.raises(CampusError, match="not longitude/latitude"):
        load_campus(write(doc, tmp_path / "c.geojson"))


def test_every_problem_is_reported_at_once(tmp_path: Path) -> None:
    doc = tiny()
    _width(doc)
    _fov(doc)
    with pytest.raises(CampusError) as e:
        load_campus(write(doc, tmp_path / "c.geojson"))
    assert {p.feature for p in e.value.problems} == {"D0c", "CAM1"}


def test_suspicious_but_legal_is_a_warning(tmp_path: Path) -> None:
    doc = tiny()
    add(doc, rect(-30, 30, -10, 50), id="B2", kind="building", levels=1)
    add(doc, rect(-30, 30, -10, 50), id="BIG", kind="room", building="B2", level=0, use="classroom", occupants=2)
    add(doc, point(-20, 30), id="B2-EXIT", kind="door", building="B2", level=0, width=30)
    campus = load_campus(write(doc, tmp_path / "c.geojson"))
    by = {(w.feature, w.field): w.message for w in campus.warnings}
    assert "2 occupants in 400 m²" in by[("BIG", "occupants")]
    assert "30.00 m wide but the wall it sits in is 20.00 m" in by[("B2-EXIT", "width")]
    result = runner.invoke(app, ["info", str(tmp_path / "c.geojson")])
    assert result.exit_code == 0
    assert "warning" in result.output and "BIG" in result.output

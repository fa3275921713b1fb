"""``twin import-dxf``: the two-plan DXF in tests/data/dxf with its mapping, mapping mistakes, bad drawings,
and property tests of the shared geometry helpers and parsers."""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path
from typing import Any, Callable

import numpy as np
import pytest
import tomli_w
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from shapely.geometry import LineString, box
from typer.testing import CliRunner

from maps.dxf import load_mapping
from maps.importing import ImportSourceError, parse_at, room_use, seat_opening
from twin.campus import load_campus
from twin.cli import app
from twin.settings import default

runner = CliRunner()
DATA = Path(__file__).resolve().parent / "data" / "dxf"
PLANS = [DATA / "eng-ground.dxf", DATA / "eng-first.dxf"]
MAPPING = DATA / "eng.toml"


def twin(*args: Any) -> Any:
    result = runner.invoke(app, [str(a) for a in args])
    assert "Traceback" not in result.output, result.output
    return result


def mapping(tmp_path: Path, **changes: Any) -> Path:
    """The test mapping with top-level keys changed (``None`` removes one; the anchor and layers tables are merged)."""
    import tomllib

    m = tomllib.loads(MAPPING.read_text(encoding="utf-8"))
    for k, v in changes.items():
        if v is None:
            m.pop(k, None)
        elif k in ("anchor", "layers") and isinstance(v, dict):
            m[k] = {**m[k], **v}
        else:
            m[k] = v
    p = tmp_path / "map.toml"
    p.write_text(tomli_w.dumps(m), encoding="utf-8")
    return p


@pytest.fixture(scope="module")
def imported(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    out = tmp_path_factory.mktemp("dxf") / "campus"
    r = twin("import-dxf", *PLANS, "--map", MAPPING, "-o", out, "--json")
    assert r.exit_code == 0, r.output
    return out, json.loads(r.stdout)


@pytest.fixture(scope="module")
def drill(imported: tuple[Path, dict[str, Any]], tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    """A small evacuation scenario run on the imported campus, with its report."""
    from tests.import_checks import run_drill

    return run_drill(imported[0], tmp_path_factory.mktemp("drill"), "Engineering drill")


def test_plans_import(imported: tuple[Path, dict[str, Any]]) -> None:
    out, s = imported
    assert s["counts"] == {"assembly": 1, "building": 1, "corridor": 2, "door": 17, "footway": 2, "room": 9, "stair": 1,
                           "exits": 2}
    assert s["levels"] == [0, 1] and s["warnings"] == []
    assert s["georef"] == "mapping anchor (0, 0) at 8.4121, 49.0126, rotation 30°"
    i = json.loads(twin("info", out, "--json").stdout)
    assert (i["rooms"], i["corridors"], i["doors"], i["exits"], i["stairs"], i["levels"]) == (9, 2, 17, 2, 1, [0, 1])
    assert i["unreachable"] == [] and i["warnings"] == []


def test_what_each_entity_became(imported: tuple[Path, dict[str, Any]]) -> None:
    out, _ = imported
    c = load_campus(out)
    f = c.features
    assert f.at["ENG", "levels"] == 2 and f.at["ENG", "use"] == "teaching" and f.at["ENG", "level_height"] == 3.6
    assert f.geometry["ENG"].area == pytest.approx(30 * 14, rel=0.01)
    uses = {n: f.at[n, "use"] for n in f.index[f.kind == "room"]}
    assert uses == {"ENG-0-0.01-SEMINAR": "classroom", "ENG-0-0.02-SEMINAR": "classroom", "ENG-0-0.03-OFFICE": "office",
                    "ENG-0-0.05-WC": "storage", "ENG-0-0.06-LAB": "lab", "ENG-1-1.01-LECTURE-HALL": "lecture",
                    "ENG-1-1.03-OFFICE": "office", "ENG-1-1.05-LIBRARY": "library", "ENG-1-1.06-LAB": "lab"}
    assert f.geometry["ENG-0-0.01-SEMINAR"].area == pytest.approx(9.55 * 5.55, rel=1e-3)  # mm → m
    doors = f[f.kind == "door"]
    assert sorted(doors.width.round(2)) == [0.9] * 15 + [1.8] + [0.9] or sorted(doors.width.round(2)).count(1.8) == 1
    assert doors.width.round(2).tolist().count(1.8) == 1                          # the double entrance door
    assert sorted(doors.index[doors.exit.astype(bool)]) == ["ENG-0-DED", "ENG-0-DEF"]
    assert list(f.at["ENG-S1", "levels"]) == [0, 1]
    # the drawing's +Y axis points 30° east of north: the 30 m long side runs at 120°
    xy = np.asarray(f.geometry["ENG"].minimum_rotated_rectangle.exterior.coords)
    sides = np.diff(xy[:3], axis=0)
    long = sides[int(np.argmax(np.hypot(*sides.T)))]
    assert np.degrees(np.arctan2(long[0], long[1])) % 180 == pytest.approx(120, abs=1)


def test_evacuation_of_the_plans(drill: tuple[Path, dict[str, Any]]) -> None:
    run, s = drill
    assert s["occupants"] == 195 and s["trapped"] == 0 and s["safe"] == 195
    assert (run / "report.html").exists()


@pytest.mark.browser
def test_report_in_a_real_browser(browser: Any, drill: tuple[Path, dict[str, Any]], tmp_path: Path) -> None:
    from tests.import_checks import check_report

    check_report(browser, drill[0], tmp_path, "Engineering drill", buildings=1)


def test_one_plan_with_stair_levels(tmp_path: Path) -> None:
    m = mapping(tmp_path, level=0, levels=2, stair_levels=[0, 1])
    r = twin("import-dxf", PLANS[0], "--map", m, "-o", tmp_path / "c", "--json")
    assert r.exit_code == 0, r.output
    c = load_campus(tmp_path / "c")
    assert list(c.features.at["ENG-S1", "levels"]) == [0, 1] and c.unreachable() == []
    m = mapping(tmp_path, level=0, levels=2, stair_levels=None)
    r = twin("import-dxf", PLANS[0], "--map", m, "-o", tmp_path / "d", "--json")
    assert r.exit_code == 0, r.output
    w = [x for x in json.loads(r.stdout)["warnings"] if "stair on level 0 only" in x["message"]]
    assert w and w[0]["feature"].startswith("layer 'A-FLOR-STRS' handle ")


MAP_BAD: list[tuple[str, dict[str, Any], str, str]] = [
    ("missing anchor", {"anchor": None}, "anchor", "missing required key"),
    ("unknown key", {"layer": {"rooms": "A-AREA"}}, "layer", "unknown key"),
    ("unknown layer role", {"layers": {"furniture": "A-FURN"}}, "layers.furniture", "unknown key"),
    ("bad units", {"units": "yards"}, "units", "Input should be 'm', 'cm', 'mm', 'in' or 'ft'"),
    ("bad use", {"uses": {"LAB": "laboratory"}}, "uses.LAB", "Input should be"),
    ("bad regex", {"uses": {"(": "lab"}}, "uses.(", "not a regular expression"),
    ("latitude out of range", {"anchor": {"lat": 95}}, "anchor.lat", "less than or equal to 90"),
    ("no room layers", {"layers": {"rooms": [], "corridors": []}}, "layers.rooms", "name at least one rooms or corridors layer"),
]


@pytest.mark.parametrize(("name", "changes", "key", "text"), MAP_BAD, ids=[b[0] for b in MAP_BAD])
def test_mapping_mistakes_name_the_key(tmp_path: Path, name: str, changes: dict[str, Any], key: str, text: str) -> None:
    m = mapping(tmp_path, **changes)
    r = twin("import-dxf", *PLANS, "--map", m, "-o", tmp_path / "c")
    assert r.exit_code == 2, r.output
    assert f"{m}: key '{key}'" in r.output and text in r.output
    assert not (tmp_path / "c").exists()


def _drawing(tmp_path: Path, edit: Callable[[Any], None], name: str = "plan.dxf") -> Path:
    import ezdxf  # imported here: only the worker that runs this file pays its ~0.3 s

    doc = ezdxf.readfile(PLANS[0])
    edit(doc)
    path = tmp_path / name
    doc.saveas(path)
    return path


def _empty_door_block(doc: Any) -> None:
    doc.blocks.new("EMPTY_DOOR")
    doc.modelspace().add_blockref("EMPTY_DOOR", (5000, 6000), dxfattribs={"layer": "A-DOOR"})


def _open_room(doc: Any) -> None:
    doc.modelspace().add_lwpolyline([(300, 300), (9850, 300), (9850, 5850)], dxfattribs={"layer": "A-AREA"})


def _unitless(doc: Any) -> None:
    doc.header["$INSUNITS"] = 0


DRAW_BAD: list[tuple[str, Callable[[Any], None], dict[str, Any], str, bool]] = [
    ("door block without geometry", _empty_door_block, {}, "door block 'EMPTY_DOOR' has no arc or lines to measure", True),
    ("rooms on other layers", lambda d: None, {"layers": {"rooms": "A-ROOMS", "corridors": "A-CIRC"}},
     "no closed room outlines on the rooms/corridors layers ['A-ROOMS', 'A-CIRC']", False),
    ("doors on other layers", lambda d: None, {"layers": {"doors": "A-DOORS", "exits": "A-EXITS"}},
     "spaces but no doors, so nobody can get out; name the door layers", False),
    ("no exit doors", lambda d: None, {"layers": {"exits": []}, "outline": None},
     "no room or corridor reaches an exit: draw the entrance doors in the outer wall", False),
    ("unitless drawing", _unitless, {"units": None}, "does not say its units ($INSUNITS is 0, unitless)", False),
]


@pytest.mark.parametrize(("name", "edit", "changes", "text", "handle"), DRAW_BAD, ids=[b[0] for b in DRAW_BAD])
def test_bad_drawings_are_refused(tmp_path: Path, name: str, edit: Callable[[Any], None], changes: dict[str, Any],
                                  text: str, handle: bool) -> None:
    plan = _drawing(tmp_path, edit)
    if name == "no exit doors":  # without the exits layer the exit doors are on no mapped layer at all
        changes = {"layers": {"exits": [], "doors": "A-DOOR"}}
    m = mapping(tmp_path, level=0, levels=1, **changes)
    r = twin("import-dxf", plan, "--map", m, "-o", tmp_path / "c")
    assert r.exit_code == 2, r.output
    assert text in r.output and str(plan if "mapping" not in name else m) in r.output
    if handle:
        assert "layer 'A-DOOR' handle " in r.output
    assert not (tmp_path / "c").exists()


def test_open_room_outline_is_a_warning_naming_layer_and_handle(tmp_path: Path) -> None:
    plan = _drawing(tmp_path, _open_room)
    r = twin("import-dxf", plan, "--map", mapping(tmp_path, level=0, levels=2), "-o", tmp_path / "c", "--json")
    assert r.exit_code == 0, r.output
    w = [x for x in json.loads(r.stdout)["warnings"] if "is not closed" in x["message"]]
    assert len(w) == 1 and w[0]["feature"].startswith("layer 'A-AREA' handle ") and w[0]["source"] == str(plan)


@pytest.mark.parametrize(("files", "changes", "text"), [
    (["missing.dxf"], {}, "no such file"),
    (["garbage.dxf"], {"level": 0}, "not a DXF file ezdxf can read"),
    (["eng-ground.dxf", "eng-first.dxf"], {"level": 0}, "several plans but one 'level'"),
    (["eng-ground.dxf", "eng-first.dxf"], {"level": {"eng-ground.dxf": 0}}, "no level for eng-first.dxf"),
])
def test_unreadable_plans(tmp_path: Path, files: list[str], changes: dict[str, Any], text: str) -> None:
    for name in ("eng-ground.dxf", "eng-first.dxf"):
        shutil.copy(DATA / name, tmp_path / name)
    (tmp_path / "garbage.dxf").write_text("0\nSECTION\n2\nNOPE\n")
    m = mapping(tmp_path, **changes)
    r = twin("import-dxf", *[tmp_path / f for f in files], "--map", m, "-o", tmp_path / "c")
    assert r.exit_code == 2 and text in r.output, r.output
    assert not (tmp_path / "c").exists()


@pytest.mark.parametrize(("content", "text"), [(None, "no such mapping file"), ("building = ", "not a TOML file")])
def test_unreadable_mapping(tmp_path: Path, content: str | None, text: str) -> None:
    m = tmp_path / "m.toml"
    if content is not None:
        m.write_text(content)
    r = twin("import-dxf", PLANS[0], "--map", m, "-o", tmp_path / "c")
    assert r.exit_code == 2 and text in r.output and str(m) in r.output


# -- property tests of the parsers and the shared helpers ------------------------------------

_SCALARS = st.one_of(st.none(), st.booleans(), st.integers(-5, 5), st.floats(allow_nan=False, allow_infinity=False),
                     st.text(max_size=6))


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(key=st.sampled_from(["building", "name", "use", "units", "level", "levels", "lowest_level", "level_height",
                            "stair_levels", "anchor", "layers", "uses", "room_uses", "extra"]),
       value=st.one_of(_SCALARS, st.lists(_SCALARS.filter(lambda v: v is not None), max_size=3),
                       st.dictionaries(st.text(min_size=1, max_size=5), _SCALARS.filter(lambda v: v is not None), max_size=3)))
def test_any_mapping_loads_or_is_refused_naming_a_key(tmp_path: Path, key: str, value: Any) -> None:
    import tomllib

    m = tomllib.loads(MAPPING.read_text(encoding="utf-8"))
    if value is None:
        m.pop(key, None)
    else:
        m[key] = value
    p = tmp_path / "fuzz.toml"
    p.write_text(tomli_w.dumps(m), encoding="utf-8")
    try:
        load_mapping(p)
    except ImportSourceError as e:
        assert e.problems and all(str(p) == x.source for x in e.problems)


@settings(max_examples=80, deadline=None)
@given(wall=st.floats(0.05, 1.5), offset=st.floats(0.0, 1.0), start=st.floats(1.0, 6.0), width=st.floats(0.6, 2.0),
       exterior=st.booleans())
@example(wall=1.0, offset=2.0 ** -23, start=1.0, width=1.0, exterior=False)  # a door 0.1 µm into a wall of 2 × door_snap
def test_an_opening_anywhere_in_a_wall_is_seated_between_its_spaces(wall: float, offset: float, start: float, width: float,
                                                                     exterior: bool) -> None:
    """A door drawn on either face of (or inside) a wall ends within door_snap of both sides (in its middle if thicker)."""
    snap = default("door_snap")
    a = box(0, 0, 10, 5)
    b = box(0, 5 + wall, 10, 10)
    outline = box(-wall, -wall, 10 + wall, 5 + wall) if exterior else box(-0.3, -0.3, 10.3, 10.3 + wall)
    spaces = [a] if exterior else [a, b]
    y = 5 + offset * wall
    line = LineString([(start, y), (start + width, y)])
    seated = seat_opening(line, spaces, outline)
    m = seated.interpolate(0.5, normalized=True)
    assert seated.length == pytest.approx(width)
    assert math.isclose(m.x, start + width / 2, abs_tol=1e-9)  # moved across the wall only
    da, db = a.boundary.distance(m), (outline.boundary if exterior else b.boundary).distance(m)
    if wall <= 2 * snap:
        assert da <= snap + 1e-9 and db <= snap + 1e-9
    else:  # too thick for any point to reach both: the middle of the wall, and the loader then names the door
        assert abs(da - db) <= 0.03


@settings(max_examples=80, deadline=None)
@given(text=st.text(max_size=30))
def test_at_and_room_use_never_crash(text: str) -> None:
    try:
        g = parse_at(text)
    except ImportSourceError as e:
        assert e.problems[0].source == "--at"
    else:
        ll = g.to_lonlat(np.array([[0.0, 0.0]]))
        assert np.isfinite(ll).all()
    kind, use = room_use(text)
    assert kind in ("room", "corridor")

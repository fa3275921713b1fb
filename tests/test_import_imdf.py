"""``twin import-imdf``: the IMDF archive in tests/data/imdf (a folder, and zipped), IMDF's own validation errors,
and every bad input."""

from __future__ import annotations

import copy
import json
import shutil
import zipfile
from pathlib import Path
from typing import Any, Callable

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from maps.imdf import import_imdf
from maps.importing import ImportSourceError
from tests.helpers import examples
from twin.campus import load_campus
from twin.cli import app

runner = CliRunner()
ARCHIVE = Path(__file__).resolve().parent / "data" / "imdf" / "lecture-hall"


def twin(*args: Any) -> Any:
    result = runner.invoke(app, [str(a) for a in args])
    assert "Traceback" not in result.output, result.output
    return result


def load(name: str) -> dict[str, Any]:
    return json.loads((ARCHIVE / f"{name}.geojson").read_text(encoding="utf-8"))


def copy_archive(tmp_path: Path, **edits: Callable[[dict[str, Any]], None]) -> Path:
    """The test archive copied into ``tmp_path``, with ``edits`` (file name → change) applied."""
    out = tmp_path / "archive"
    shutil.copytree(ARCHIVE, out)
    for name, edit in edits.items():
        p = out / f"{name}.geojson"
        doc = json.loads(p.read_text(encoding="utf-8"))
        edit(doc)
        p.write_text(json.dumps(doc), encoding="utf-8")
    return out


def zipped(folder: Path, path: Path, prefix: str = "") -> Path:
    with zipfile.ZipFile(path, "w") as z:
        for f in sorted(folder.iterdir()):
            z.write(f, prefix + f.name)
    return path


@pytest.fixture(scope="module")
def imported(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    out = tmp_path_factory.mktemp("imdf") / "campus"
    r = twin("import-imdf", ARCHIVE, "-o", out, "--json")
    assert r.exit_code == 0, r.output
    return out, json.loads(r.stdout)


@pytest.fixture(scope="module")
def drill(imported: tuple[Path, dict[str, Any]], tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    """A small evacuation scenario run on the imported campus, with its report."""
    from tests.import_checks import run_drill

    return run_drill(imported[0], tmp_path_factory.mktemp("drill"), "Lecture Hall East drill")


def test_archive_imports(imported: tuple[Path, dict[str, Any]]) -> None:
    out, s = imported
    assert s["counts"] == {"assembly": 1, "building": 1, "corridor": 11, "door": 34, "footway": 2, "room": 16, "stair": 2,
                           "exits": 3}
    assert s["levels"] == [-1, 0, 1] and s["warnings"] == []
    assert len(s["notes"]["lifts (not used in evacuation)"]) == 3
    assert len(s["notes"]["vehicle openings (not for people)"]) == 1
    i = json.loads(twin("info", out, "--json").stdout)
    assert (i["rooms"], i["corridors"], i["doors"], i["exits"], i["stairs"], i["levels"]) == (16, 11, 34, 3, 2, [-1, 0, 1])
    assert i["unreachable"] == [] and i["warnings"] == []


def test_what_each_feature_became(imported: tuple[Path, dict[str, Any]]) -> None:
    out, _ = imported
    c = load_campus(out)
    f = c.features
    b = f.loc["LHE"]
    assert (b["levels"], b["lowest_level"], b["use"]) == (3, -1, "teaching")
    assert b["level_names"] == {"B1": -1, "Basement": -1, "G": 0, "Ground Floor": 0, "L1": 1, "Level 1": 1}
    assert f.at["LHE-1-Lecture-theatre-1.01", "use"] == "lecture"
    assert f.at["LHE-0-Campus-Cafe", "use"] == "dining"            # named by its occupant
    assert f.at["LHE--1-Archive-store", "use"] == "storage"
    assert f.at["LHE-0-Men", "use"] == "storage"                   # restroom.male
    assert f.at["LHE-0-Entrance-hall", "kind"] == "corridor"       # lobby
    # fixtures are obstacles: the café loses its counter and tables, the theatre its stage
    assert f.geometry["LHE-0-Campus-Cafe"].area == pytest.approx(140 - 5.5 - 6.4 - 6.4, abs=0.5)
    assert f.geometry["LHE-1-Lecture-theatre-1.01"].area == pytest.approx(240 - 33, abs=0.5)
    doors = f[f.kind == "door"]
    cat = doors.properties.map(lambda p: p.get("imdf_category"))
    assert doors[cat == "emergencyexit"].exit.tolist() == [True]
    assert doors[cat == "service"].exit.tolist() == [False]
    assert doors[cat == "pedestrian.principal"].exit.tolist() == [True]
    main = doors[cat == "pedestrian.principal"].index[0]
    assert f.at[main, "width"] == pytest.approx(2.4, abs=0.02)                   # the opening's length
    assert len(doors[doors.access == "card"]) == 2                                 # keyaccess and cardreader openings
    stairs = f[f.kind == "stair"]
    assert sorted(map(list, stairs.levels)) == [[-1, 0, 1], [-1, 0, 1]]
    assert c.graph.has_edge("LHE-Stair-A@-1", "LHE-Stair-A@0")


@pytest.mark.parametrize("prefix", ["", "IMDF/"])
def test_zip_archive_imports_the_same(tmp_path: Path, imported: tuple[Path, dict[str, Any]], prefix: str) -> None:
    _, s = imported
    z = zipped(ARCHIVE, tmp_path / "hall.zip", prefix)
    r = twin("import-imdf", z, "-o", tmp_path / "c", "--json")
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["counts"] == s["counts"]


def test_evacuation_of_the_archive(drill: tuple[Path, dict[str, Any]]) -> None:
    run, s = drill
    assert s["occupants"] == 420 and s["trapped"] == 0 and s["safe"] == 420
    assert s["lower_bound_s"] <= s["evacuation_time_s"] < 1200
    assert (run / "report.html").exists()


@pytest.mark.browser
def test_report_in_a_real_browser(browser: Any, drill: tuple[Path, dict[str, Any]], tmp_path: Path) -> None:
    from tests.import_checks import check_report

    check_report(browser, drill[0], tmp_path, "Lecture Hall East drill", buildings=1)


def _feature(doc: dict[str, Any], key: str) -> dict[str, Any]:
    import uuid

    from tests.data.imdf.make_lecture_hall import NS  # noqa: PLC0415 - the fixture's own id scheme

    fid = str(uuid.uuid5(NS, key))
    return next(f for f in doc["features"] if f["id"] == fid)


def _drop(key: str) -> Callable[[dict[str, Any]], None]:
    return lambda d: d["features"].remove(_feature(d, key))


BAD: list[tuple[str, dict[str, Callable[[dict[str, Any]], None]], str | None, str, str | None]] = [
    ("level_id names no level", {"unit": lambda d: _feature(d, "g-class1")["properties"].update(level_id="nope")},
     "unit.geojson", "level_id names 'nope', which is not a level in level.geojson", "g-class1"),
    ("duplicate id", {"opening": lambda d: d["features"].append(copy.deepcopy(d["features"][0]))},
     "opening.geojson", "duplicate id", None),
    ("wrong feature_type", {"fixture": lambda d: d["features"][0].update(feature_type="unit")},
     "fixture.geojson", "feature_type is 'unit', expected 'fixture'", None),
    ("opening as a point", {"opening": lambda d: _feature(d, "o-g-c1a").update(geometry={"type": "Point", "coordinates": [8.4, 49.0]})},
     "opening.geojson", "a opening needs a LineString geometry, not Point", "o-g-c1a"),
    ("ordinal not an integer", {"level": lambda d: _feature(d, "level0")["properties"].update(ordinal="G")},
     "level.geojson", "ordinal must be an integer, got 'G'", "level0"),
    ("unknown opening category", {"opening": lambda d: _feature(d, "o-g-main")["properties"].update(category="door")},
     "opening.geojson", "unknown opening category 'door'", "o-g-main"),
    ("missing required property", {"unit": lambda d: _feature(d, "g-walk")["properties"].pop("category")},
     "unit.geojson", "missing required property 'category' of a unit", "g-walk"),
    ("no id", {"unit": lambda d: d["features"][0].pop("id")}, "unit.geojson", "feature has no id", None),
    ("projected coordinates", {"unit": lambda d: _feature(d, "g-walk").update(geometry={"type": "Polygon", "coordinates":
                                                                                        [[[456000, 5428000], [456010, 5428000], [456010, 5428010], [456000, 5428000]]]})},
     "unit.geojson", "coordinates are not longitude/latitude", "g-walk"),
    ("not a feature collection", {"footprint": lambda d: d.update(type="Feature")}, "footprint.geojson",
     "not a GeoJSON FeatureCollection", None),
    ("no openings", {"opening": lambda d: d.update(features=[])}, None, "27 spaces but no doors", None),
    ("no exit", {"opening": lambda d: [_drop(k)(d) for k in ("o-g-main", "o-g-south", "o-g-fire", "o-g-service-out")]},
     None, "no room or corridor reaches an exit: an opening on the building footprint", None),
]


@pytest.mark.parametrize(("name", "edits", "file", "text", "key"), BAD, ids=[b[0] for b in BAD])
def test_bad_archives_are_refused(tmp_path: Path, name: str, edits: dict[str, Any], file: str | None, text: str,
                                  key: str | None) -> None:
    import uuid

    from tests.data.imdf.make_lecture_hall import NS

    archive = copy_archive(tmp_path, **edits)
    r = twin("import-imdf", archive, "-o", tmp_path / "c")
    assert r.exit_code == 2, r.output
    assert text in r.output
    assert str(archive / file) in r.output if file else str(archive) in r.output
    if key:
        assert str(uuid.uuid5(NS, key)) in r.output  # the IMDF feature id is named
    assert not (tmp_path / "c").exists()


@pytest.mark.parametrize(("make", "text"), [
    (lambda p: p, "no such file or folder"),
    (lambda p: (p.write_text("not a zip"), p)[1], "not a zip archive or a folder"),
    (lambda p: (p.mkdir(), p)[1], "not an IMDF archive: missing venue.geojson"),
    (lambda p: (shutil.copytree(ARCHIVE, p), (p / "unit.geojson").write_text("{oops"), p)[2], "not valid JSON"),
    (lambda p: (shutil.copytree(ARCHIVE, p), (p / "level.geojson").unlink(), p)[2], "missing level.geojson"),
])
def test_unreadable_archives(tmp_path: Path, make: Callable[[Path], Path], text: str) -> None:
    path = make(tmp_path / "archive")
    r = twin("import-imdf", path, "-o", tmp_path / "c")
    assert r.exit_code == 2 and text in r.output, r.output
    assert not (tmp_path / "c").exists()


_FILES = ["unit", "opening", "level", "footprint", "fixture", "amenity", "building"]
_VALUES = st.one_of(st.none(), st.integers(-5, 5), st.floats(allow_nan=True), st.text(max_size=8),
                    st.lists(st.text(max_size=4), max_size=2), st.dictionaries(st.text(max_size=3), st.integers(), max_size=2))


@settings(max_examples=examples(10), deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(file=st.sampled_from(_FILES), index=st.integers(0, 40), key=st.sampled_from(
    ["category", "level_id", "ordinal", "building_ids", "unit_ids", "outdoor", "name", "access_control", "geometry", "id",
     "feature_type"]), value=_VALUES)
def test_mutated_archives_import_or_fail_cleanly(tmp_path: Path, file: str, index: int, key: str, value: Any) -> None:
    """One property of one feature set to anything: the import succeeds or raises ImportSourceError naming the file."""
    docs = {n: load(n) for n in _FILES}
    feats = docs[file]["features"]
    f = feats[index % len(feats)]
    if key in ("geometry", "id", "feature_type"):
        f[key] = value
    else:
        f["properties"][key] = value
    folder = tmp_path / "mut"
    shutil.rmtree(folder, ignore_errors=True)
    shutil.copytree(ARCHIVE, folder)
    (folder / f"{file}.geojson").write_text(json.dumps(docs[file], allow_nan=True), encoding="utf-8")
    out = tmp_path / "out"
    shutil.rmtree(out, ignore_errors=True)
    try:
        s = import_imdf(folder, out)
    except ImportSourceError as e:
        assert e.problems and all(p.source for p in e.problems)
        assert not out.exists()
    else:
        assert s.path.exists() and load_campus(out).unreachable() == []

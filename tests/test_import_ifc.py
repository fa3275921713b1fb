"""``twin import-ifc``: the ArchiCAD sample FZK-Haus (a model exported by a CAD tool, from outside the project),
models written here in IFC2X3 and IFC4 (IfcMapConversion, IfcSite reference, none), and every bad input."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from typer.testing import CliRunner

from twin.campus import load_campus
from twin.cli import app

runner = CliRunner()
SAMPLES = Path(__file__).resolve().parent.parent.parent / "shared" / "samples"
"""Sample files from outside the project: ``<repo>/../shared/samples`` (see its README)."""
FZK = SAMPLES / "AC20-FZK-Haus.ifc"


def sample(path: Path) -> Path:
    """A sample file; skipped with a clear message where the samples folder is absent (CI: a failure)."""
    if not path.exists():
        msg = f"sample {path.name} not found in {SAMPLES} (the shared samples folder beside the repository)"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(msg)
        pytest.skip(msg)
    return path


def twin(*args: str) -> Any:
    result = runner.invoke(app, [str(a) for a in args])
    assert "Traceback" not in result.output, result.output
    return result


def info(folder: Path) -> dict[str, Any]:
    r = twin("info", folder, "--json")
    assert r.exit_code == 0, r.output
    return json.loads(r.stdout)


@pytest.fixture(scope="module")
def fzk(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    out = tmp_path_factory.mktemp("fzk") / "campus"
    r = twin("import-ifc", sample(FZK), "-o", out, "--json")
    assert r.exit_code == 0, r.output
    return out, json.loads(r.stdout)


@pytest.fixture(scope="module")
def drill(fzk: tuple[Path, dict[str, Any]], tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    """A small evacuation scenario run on the imported campus, with its report."""
    from tests.import_checks import run_drill

    return run_drill(fzk[0], tmp_path_factory.mktemp("drill"), "FZK-Haus drill")


def test_fzk_haus_imports(fzk: tuple[Path, dict[str, Any]]) -> None:
    out, s = fzk
    assert s["counts"] == {"assembly": 1, "building": 1, "corridor": 1, "door": 8, "footway": 2, "room": 6, "stair": 1,
                           "exits": 2}
    assert s["levels"] == [0, 1] and s["warnings"] == []
    assert s["georef"].startswith("IfcSite reference 49.100435, 8.436539")
    i = info(out)
    assert (i["rooms"], i["corridors"], i["doors"], i["exits"], i["stairs"], i["levels"]) == (6, 1, 8, 2, 1, [0, 1])
    assert i["unreachable"] == [] and i["warnings"] == []
    doc = json.loads((out / "campus.geojson").read_text(encoding="utf-8"))
    by = {f["properties"]["id"]: f["properties"] for f in doc["features"]}
    b = by["FZK-Haus"]
    assert b["level_names"] == {"Erdgeschoss": 0, "Dachgeschoss": 1} and b["level_height"] == 2.7
    assert by["FZK-Haus-1-Flur"]["kind"] == "corridor"
    assert by["FZK-Haus-4-Schlafzimmer"]["use"] == "dorm_room" and by["FZK-Haus-2-Buero"]["use"] == "office"
    assert by["FZK-Haus-Haustuer"]["exit"] is True and by["FZK-Haus-Haustuer"]["width"] == 1.01
    assert by["FZK-Haus-Wendeltreppe"]["levels"] == [0, 1]
    assert by["FZK-Haus-Haustuer"]["ref"] == "IfcDoor 2jTRqchjf7oB0yhQ6462T0 'Haustuer'"
    assert by["FZK-Haus-Innentuer-1"]["joins"] == ["FZK-Haus-1-Flur", "FZK-Haus-4-Schlafzimmer"]  # its space boundaries
    assert b["level_elevations"] == {"0": 0.0, "1": 2.7}
    opens = [p for p in by.values() if p.get("open")]
    assert len(opens) == 3  # the open-plan kitchen, living room and hall: no wall between them


def test_fzk_haus_lies_in_karlsruhe_facing_true_north(fzk: tuple[Path, dict[str, Any]]) -> None:
    out, _ = fzk
    c = load_campus(out)
    b = c.features.to_crs(4326).geometry["FZK-Haus"]
    assert 8.4360 < b.centroid.x < 8.4372 and 49.1003 < b.centroid.y < 49.1008
    assert c.features.geometry["FZK-Haus"].area == pytest.approx(120, rel=0.02)  # 12 m × 10 m
    # the model's +Y axis points 50° west of north (TrueNorth (0.766, 0.643)): its long side runs at 40° / 220°
    xy = np.asarray(c.features.geometry["FZK-Haus"].minimum_rotated_rectangle.exterior.coords)
    sides = np.diff(xy[:3], axis=0)
    long = sides[int(np.argmax(np.hypot(*sides.T)))]
    bearing = np.degrees(np.arctan2(long[0], long[1])) % 180
    assert bearing == pytest.approx(40, abs=3)


def test_fzk_haus_evacuation_with_report(drill: tuple[Path, dict[str, Any]]) -> None:
    run, s = drill
    assert s["occupants"] == 20 and s["trapped"] == 0 and s["safe"] == 20
    assert 60 < s["evacuation_time_s"] < 600 and s["lower_bound_s"] <= s["evacuation_time_s"]
    assert (run / "report.html").exists() and (run / "recording.sqlite").exists()


@pytest.mark.browser
def test_fzk_haus_report_in_a_real_browser(browser: Any, drill: tuple[Path, dict[str, Any]], tmp_path: Path) -> None:
    from tests.import_checks import check_report

    check_report(browser, drill[0], tmp_path, "FZK-Haus drill", buildings=1)


def test_footprint_only(tmp_path: Path) -> None:
    r = twin("import-ifc", sample(FZK), "-o", tmp_path / "c", "--footprint-only", "--use", "dorm", "--json")
    assert r.exit_code == 0, r.output
    i = info(tmp_path / "c")
    assert (i["buildings"], i["buildings_modelled_inside"], i["rooms"], i["levels"]) == (1, 0, 0, [0, 1])
    assert i["exits"] >= 1 and i["unreachable"] == []


# -- models written here ---------------------------------------------------------------

def make_ifc(path: Path, schema: str = "IFC4", georef: str | None = "map", *, doors: bool = True, spaces: bool = True) -> Path:
    """A two-storey teaching block: corridor and two rooms per storey, walls, doors (one external), a stair flight."""
    import ifcopenshell.api as api
    import ifcopenshell.api.owner.settings as owner
    import ifcopenshell.api.project

    f = ifcopenshell.api.project.create_file(version=schema)
    person, org = api.run("owner.add_person", f), api.run("owner.add_organisation", f)
    user = api.run("owner.add_person_and_organisation", f, person=person, organisation=org)
    application = api.run("owner.add_application", f)
    owner.get_user, owner.get_application = (lambda _f: user), (lambda _f: application)
    proj = api.run("root.create_entity", f, ifc_class="IfcProject", name="Test Lab")
    api.run("unit.assign_unit", f, units=[api.run("unit.add_si_unit", f, unit_type=t) for t in ("LENGTHUNIT", "AREAUNIT", "VOLUMEUNIT")])
    model = api.run("context.add_context", f, context_type="Model")
    body = api.run("context.add_context", f, context_type="Model", context_identifier="Body", target_view="MODEL_VIEW", parent=model)

    def box(product: Any, x: float, y: float, z: float, dx: float, dy: float, dz: float, rot: float = 0.0) -> None:
        prof = f.create_entity("IfcRectangleProfileDef", ProfileType="AREA", XDim=dx, YDim=dy, Position=f.create_entity(
            "IfcAxis2Placement2D", Location=f.create_entity("IfcCartesianPoint", (dx / 2, dy / 2))))
        api.run("geometry.assign_representation", f, product=product,
                representation=api.run("geometry.add_profile_representation", f, context=body, profile=prof, depth=dz))
        m = np.eye(4)
        c, s = np.cos(np.radians(rot)), np.sin(np.radians(rot))
        m[:3, :3] = [[c, -s, 0], [s, c, 0], [0, 0, 1]]
        m[:3, 3] = [x, y, z]
        api.run("geometry.edit_object_placement", f, product=product, matrix=m, is_si=False)

    site = api.run("root.create_entity", f, ifc_class="IfcSite", name="Site")
    bld = api.run("root.create_entity", f, ifc_class="IfcBuilding", name="Test Lab")
    api.run("aggregate.assign_object", f, products=[site], relating_object=proj)
    api.run("aggregate.assign_object", f, products=[bld], relating_object=site)
    storeys = []
    for name, z in (("Ground", 0.0), ("First", 3.5)):
        st = api.run("root.create_entity", f, ifc_class="IfcBuildingStorey", name=name)
        st.Elevation = z
        api.run("aggregate.assign_object", f, products=[st], relating_object=bld)
        storeys.append((st, z))
    for st, z in storeys:
        for num, long, (x, y, dx, dy) in (("01", "Corridor", (0, 4, 12, 2)), ("02", "Seminar", (0, 0, 5.9, 3.8)),
                                          ("03", "Office", (6.1, 0, 5.9, 3.8))):
            if not spaces:
                break
            sp = api.run("root.create_entity", f, ifc_class="IfcSpace", name=f"{z:.0f}.{num}")
            sp.LongName = long
            api.run("aggregate.assign_object", f, products=[sp], relating_object=st)
            box(sp, x, y, z, dx, dy, 3.0)
        for x0, y0, x1, y1 in ((-0.3, -0.3, 12.3, 0), (-0.3, 6, 12.3, 6.3), (-0.3, 0, 0, 6), (12, 0, 12.3, 6)):
            w = api.run("root.create_entity", f, ifc_class="IfcWall", name="Wall")
            api.run("spatial.assign_container", f, products=[w], relating_structure=st)
            box(w, x0, y0, z, x1 - x0, y1 - y0, 3.3)
        for name, x, width in (("Seminar door", 2.0, 0.9), ("Office door", 8.0, 0.9)) if doors else ():
            d = api.run("root.create_entity", f, ifc_class="IfcDoor", name=f"{name} {z:.0f}")
            d.OverallWidth, d.OverallHeight = width, 2.1
            api.run("spatial.assign_container", f, products=[d], relating_structure=st)
            box(d, x, 3.8, z, width, 0.2, 2.1)
        if z == 0 and doors:
            d = api.run("root.create_entity", f, ifc_class="IfcDoor", name="Main entrance")
            d.OverallWidth, d.OverallHeight = 1.2, 2.1
            api.run("spatial.assign_container", f, products=[d], relating_structure=st)
            box(d, 0.0, 4.4, z, 1.2, 0.3, 2.1, rot=90)
            pset = api.run("pset.add_pset", f, product=d, name="Pset_DoorCommon")
            api.run("pset.edit_pset", f, pset=pset, properties={"IsExternal": True})
    stair = api.run("root.create_entity", f, ifc_class="IfcStair", name="Stair 1")
    api.run("spatial.assign_container", f, products=[stair], relating_structure=storeys[0][0])
    flight = api.run("root.create_entity", f, ifc_class="IfcStairFlight", name="Flight 1")
    api.run("aggregate.assign_object", f, products=[flight], relating_object=stair)
    box(flight, 8.5, 4.3, 0.0, 3.2, 1.1, 3.5)
    if georef == "map":
        api.run("georeference.add_georeferencing", f)
        api.run("georeference.edit_georeferencing", f, projected_crs={"Name": "EPSG:25832"},
                coordinate_operation={"Eastings": 456000.0, "Northings": 5428000.0, "OrthogonalHeight": 115.0,
                                      "XAxisAbscissa": 0.8660254, "XAxisOrdinate": 0.5, "Scale": 1.0})
    elif georef == "site":
        site.RefLatitude, site.RefLongitude = (49, 0, 45, 0), (8, 24, 43, 200000)
    f.write(str(path))
    return path


@pytest.mark.parametrize(("schema", "georef", "how"), [("IFC4", "map", "IfcMapConversion to EPSG:25832"),
                                                       ("IFC2X3", "site", "IfcSite reference 49.012500, 8.412000")])
def test_written_models_import_in_both_schemas(tmp_path: Path, schema: str, georef: str, how: str) -> None:
    path = make_ifc(tmp_path / f"lab-{schema}.ifc", schema, georef)
    r = twin("import-ifc", path, "-o", tmp_path / "c", "--json")
    assert r.exit_code == 0, r.output
    s = json.loads(r.stdout)
    assert s["georef"].startswith(how) and s["levels"] == [0, 1]
    assert s["counts"]["room"] == 4 and s["counts"]["corridor"] == 2 and s["counts"]["door"] == 5 and s["counts"]["stair"] == 1
    c = load_campus(tmp_path / "c")
    assert c.unreachable() == []
    f = c.features
    assert f.at["Test-Lab-Stair-1", "width"] == pytest.approx(1.1, abs=0.01)  # the flight's width
    assert f.at["Test-Lab-Main-entrance", "exit"] is True
    if georef == "map":  # local +X runs 30° north of east in EPSG:25832
        b = c.features.to_crs(25832).geometry["Test-Lab"]
        assert b.bounds[0] == pytest.approx(456000 - 3.4, abs=0.5) and b.bounds[1] == pytest.approx(5428000 - 0.4, abs=0.5)


def test_at_places_a_model_without_georeferencing(tmp_path: Path) -> None:
    path = make_ifc(tmp_path / "lab.ifc", "IFC4", None)
    r = twin("import-ifc", path, "-o", tmp_path / "c")
    assert r.exit_code == 2 and "not georeferenced" in r.output and "--at LON,LAT[,ROTATION]" in r.output
    assert not (tmp_path / "c").exists()
    r = twin("import-ifc", path, "-o", tmp_path / "c", "--at", "8.4,49.01,90", "--building", "LAB", "--json")
    assert r.exit_code == 0, r.output
    c = load_campus(tmp_path / "c")
    b = c.features.to_crs(4326).geometry["LAB"]
    assert 8.399 < b.bounds[0] < 8.4 + 1e-4 and 49.0098 < b.centroid.y < 49.0101  # +Y points east: the block lies south
    assert "LAB-Main-entrance" in c.features.index


def _edited_sample(tmp_path: Path, edit: Any) -> Path:
    import ifcopenshell

    f = ifcopenshell.open(str(sample(FZK)))
    edit(f)
    path = tmp_path / "edited.ifc"
    f.write(str(path))
    return path


def _no_front_door(f: Any) -> None:
    f.remove(f.by_guid("1Oms875aH3Wg$9l65H2ZGw"))  # Innentuer-1: the bedroom's only door


BAD = [
    ("no spaces", {"spaces": False}, "holds no rooms or corridors (spaces)", "--footprint-only"),
    ("no doors", {"doors": False}, "6 spaces but no doors", "export IfcDoor elements"),
]


@pytest.mark.parametrize(("name", "kw", "text", "suggestion"), BAD, ids=[b[0] for b in BAD])
def test_bad_models_are_refused_with_a_suggestion(tmp_path: Path, name: str, kw: dict[str, bool], text: str,
                                                  suggestion: str) -> None:
    path = make_ifc(tmp_path / "lab.ifc", **kw)
    out = tmp_path / "c"
    r = twin("import-ifc", path, "-o", out)
    assert r.exit_code == 2, r.output
    assert str(path) in r.output and text in r.output and suggestion in r.output
    assert not out.exists()  # nothing half-written


def test_a_room_no_door_reaches_is_dropped_with_its_element_named(tmp_path: Path) -> None:
    path = _edited_sample(tmp_path, _no_front_door)
    r = twin("import-ifc", path, "-o", tmp_path / "c", "--json")
    assert r.exit_code == 0, r.output
    s = json.loads(r.stdout)
    assert s["counts"]["room"] == 5
    w = [x for x in s["warnings"] if "space dropped" in x["message"]]
    assert [x["feature"] for x in w] == ["IfcSpace 347jFE2yX7IhCEIALmupEH '4'"]
    assert "no way out" in w[0]["message"]
    assert info(tmp_path / "c")["unreachable"] == []


@pytest.mark.parametrize(("content", "args", "text"), [
    (None, (), "no such file"),
    (b"hello\n", (), "not an IFC file IfcOpenShell can read"),
    (b"ISO-10303-21;\nHEADER;\nFILE_DESCRIPTION(('ViewDefinition [CoordinationView]'),'2;1');\n"
     b"FILE_NAME('empty.ifc','2026-01-01T00:00:00',(''),(''),'','','');\nFILE_SCHEMA(('IFC4'));\nENDSEC;\nDATA;\n"
     b"#1=IFCPROJECT('0YvctVUKr0kugbFTf53O9L',$,'Empty',$,$,$,$,$,$);\nENDSEC;\nEND-ISO-10303-21;\n", (),
     "no IfcBuilding with storeys"),
    ("fzk", ("--at", "north"), "expected LON,LAT or LON,LAT,ROTATION"),
    ("fzk", ("--at", "49.1,200"), "out of range"),
])
def test_unreadable_input(tmp_path: Path, content: bytes | str | None, args: tuple[str, ...], text: str) -> None:
    if content == "fzk":
        path = sample(FZK)
    else:
        path = tmp_path / "model.ifc"
        if content is not None:
            path.write_bytes(content)  # type: ignore[arg-type]
    r = twin("import-ifc", path, "-o", tmp_path / "c", *args)
    assert r.exit_code == 2 and text in r.output, r.output
    assert not (tmp_path / "c").exists()


def test_failed_reimport_keeps_the_previous_campus(fzk: tuple[Path, dict[str, Any]], tmp_path: Path) -> None:
    out = tmp_path / "c"
    shutil.copytree(fzk[0], out)
    before = (out / "campus.geojson").read_bytes()
    bad = make_ifc(tmp_path / "lab.ifc", doors=False)
    assert twin("import-ifc", bad, "-o", out).exit_code == 2
    assert (out / "campus.geojson").read_bytes() == before
    assert [p.name for p in out.iterdir()] == ["campus.geojson"]
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".twin-import-")]

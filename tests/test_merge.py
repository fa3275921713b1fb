"""One campus from several sources (maps/merge.py, ``twin campus merge``): a small hand-made campus with
building interiors from a hand-made campus in another CRS and from an OpenStreetMap indoor import."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from maps.builder import CampusBuilder, projected_origin
from maps.merge import MergeError, merge_campus, parse_match
from twin.campus import load_campus
from twin.cli.main import app

ORIGIN = projected_origin(25.0, 60.0, epsg=32635)
"""Both test campuses lie at 25° E 60° N (UTM zone 35N)."""


def base_campus(tmp_path: Path, **detector: Any) -> Path:
    """The campus to merge into, in longitude/latitude like an OSM import.

    Library B1 (24 x 20 m, storeys a guess) with its annex B1a (6 x 20 m) east of
    it, both mapped with a door; lab B2; a footway south of them to a field; a
    gate whose id, E, the library's interior also uses.
    """
    c = CampusBuilder("base", origin=ORIGIN, epsg=32635)
    c.area("B1", "building", (0, 0, 24, 20), levels=4, levels_guessed=True, name="Library", use="library")
    c.door("B1-door", (12, 0), building="B1")
    c.area("B1a", "building", (24, 0, 30, 20), name="Library annex")
    c.door("B1a-door", (27, 0), building="B1a")
    c.area("B2", "building", (50, 0, 70, 15), levels=1, name="Lab")
    c.footway([(-10, -5), (100, -5)], fid="FW")
    c.line("LANE", "shared", [(40, -5), (40, -40)])
    c.point("E", "gate", (40, -40), mode="both")
    c.area("FIELD", "assembly", (90, -30, 130, 10))
    for fid, props in detector.items():
        c.point(fid, "detector", (5, 5), **props)
    path = tmp_path / "base"
    path.mkdir()
    (path / "campus.geojson").write_text(json.dumps(c.to_geojson(lonlat=True)), encoding="utf-8")
    return path


def interior_campus(tmp_path: Path) -> Path:
    """Imported interiors in a projected CRS (as an IFC or DXF import writes them).

    LIB (30 x 20 m, two storeys: a reading room and a corridor on each, a stair,
    an exit door E) lies over B1 and its annex; B2 has the base's id; X9 lies
    far from everything.
    """
    c = CampusBuilder("interiors", origin=ORIGIN, epsg=32635)
    c.area("LIB", "building", (0, 0, 30, 20), levels=2, use="library", name="Kirjasto")
    for lv in (0, 1):
        c.area(f"R{lv}", "room", (0, 0, 20, 20), building="LIB", level=lv, use="library")
        c.area(f"C{lv}", "corridor", (20, 0, 30, 14), building="LIB", level=lv)
        c.door(f"D{lv}", (20, 7), building="LIB", level=lv)
    c.area("S", "stair", (20, 14, 30, 20), building="LIB", levels="0-1")
    c.door("E", (25, 0), building="LIB", level=0, width=1.8)
    c.area("B2", "building", (50, 0, 70, 15), levels=1)
    c.area("B2-R", "room", (50, 0, 70, 15), building="B2", level=0, use="lab")
    c.door("B2-E", (60, 0), building="B2", level=0)
    c.area("X9", "building", (500, 500, 510, 510))
    c.area("X9-R", "room", (500, 500, 510, 510), building="X9", level=0)
    c.door("X9-E", (505, 500), building="X9", level=0)
    return c.write(tmp_path / "interiors.geojson")


def test_merge_matches_by_overlap_and_id_and_reports_the_rest(tmp_path: Path) -> None:
    base, inner = base_campus(tmp_path), interior_campus(tmp_path)
    s = merge_campus(base, [inner], tmp_path / "out")
    assert [(m.interior, m.base, m.how) for m in s.matched] == [("B2", "B2", "id"), ("LIB", "B1", "overlap")]
    lib = s.matched[1]
    assert lib.iou == pytest.approx(0.8, abs=0.01)  # 480 m² of B1 under a 600 m² footprint
    assert (lib.exits, lib.unjoined) == (1, 0) and lib.joined_m[0] == pytest.approx(5.0, abs=0.01)
    assert s.unmatched == [(str(inner), "X9", f"no building of {base / 'campus.geojson'} overlaps its footprint")]
    assert s.removed == [("B1a", "100% of it lies under the merged 'B1'")]
    assert s.renamed == {f"{inner}:E": "B1/E"}  # the base's gate is E
    assert s.unreachable == [] and s.added == []

    doc = json.loads(s.path.read_text())
    assert "crs" not in doc  # the base's longitude/latitude
    props = {f["properties"]["id"]: f["properties"] for f in doc["features"]}
    assert "B1a" not in props and "B1-door" not in props and "B1a-door" not in props and "X9" not in props
    assert props["B1"] == {"id": "B1", "kind": "building", "levels": 2, "name": "Library", "use": "library",
                           "interior_source": "interiors.geojson", "interior_id": "LIB"}  # fmt: skip
    assert props["R1"]["building"] == "B1" and props["B1/E"]["exit"] is True and props["B1/E"]["width"] == 1.8

    c = load_campus(s.path)
    summary = c.summary()
    assert summary["buildings_modelled_inside"] == 2 and summary["rooms"] == 3 and summary["unreachable"] == []
    assert summary["buildings_levels_guessed"] == []
    assert summary["exits"] == 2 and c.graph.nodes["B1/E"]["building"] == "B1"


def test_merge_an_openstreetmap_indoor_import(tmp_path: Path) -> None:
    """The interior of an OSM import (rooms, corridors, a stair, doors) merged into a hand-made campus."""
    from maps.osm import import_osm
    from tests.test_osm import INDOOR

    src = tmp_path / "hall.osm"
    src.write_text(INDOOR, encoding="utf-8")
    inner = import_osm(src, tmp_path / "hall").path.parent
    c = CampusBuilder("hand-made", origin=ORIGIN, epsg=32635)
    c.area("HALL", "building", (0, 0, 20, 10), levels=1, name="Hall (hand-drawn)")
    c.footway([(13, -3), (13, -60)], fid="PATH")
    c.area("YARD", "assembly", (-20, -70, 40, -40))
    base = c.write(tmp_path / "hand.geojson")
    s = merge_campus(base, [inner], tmp_path / "merged")
    ((m,),) = [s.matched]
    assert (m.interior, m.base, m.how) == ("osm-w1", "HALL", "overlap") and m.iou > 0.9  # UTM grid convergence turns it ~2°
    assert m.exits == 1 and m.unjoined == 0 and m.joined_m[0] < 3.5
    doc = json.loads(s.path.read_text())
    assert doc["crs"]["properties"]["name"] == "urn:ogc:def:crs:EPSG::32635"  # the base's projected CRS
    summary = load_campus(s.path).summary()
    assert (summary["rooms"], summary["corridors"], summary["stairs"], summary["levels"]) == (2, 2, 1, [0, 1])
    assert summary["unreachable"] == []


def test_add_unmatched_and_explicit_pairs(tmp_path: Path) -> None:
    base, inner = base_campus(tmp_path), interior_campus(tmp_path)
    s = merge_campus(base, [inner], tmp_path / "out", add_unmatched=True, match={"LIB": "B1a"}, min_overlap=0.9)
    assert [(m.interior, m.base, m.how) for m in s.matched] == [("B2", "B2", "id"), ("LIB", "B1a", "match")]
    assert s.added == ["X9"] and s.removed == [("B1", "100% of it lies under the merged 'B1a'")]
    assert "X9" in load_campus(s.path).features.index
    s = merge_campus(base, [inner], tmp_path / "strict", min_overlap=0.9)
    assert ("LIB" not in {m.interior for m in s.matched}) and any(
        i == "LIB" and "best overlap, with 'B1', is 80% (at least 90% needed; or pass --match LIB=B1)" in r
        for _, i, r in s.unmatched)


def test_failed_merge_writes_nothing(tmp_path: Path) -> None:
    # a detector on B1's level 3: B1 had 4 storeys (a guess), its interior has 2
    base = base_campus(tmp_path, SMOKE={"building": "B1", "level": 3})
    inner = interior_campus(tmp_path)
    out = tmp_path / "out"
    with pytest.raises(MergeError) as err:
        merge_campus(base, [inner], out)
    (p,) = err.value.problems
    assert p.source == f"{out / 'campus.geojson'} (merged, not written)" and p.feature == "SMOKE" and p.field == "level"
    assert not out.exists()
    # merging into the base's own folder leaves it as it was
    before = (base / "campus.geojson").read_bytes()
    with pytest.raises(MergeError):
        merge_campus(base, [inner], base)
    assert (base / "campus.geojson").read_bytes() == before and sorted(x.name for x in base.iterdir()) == ["campus.geojson"]


def test_nothing_to_merge_and_bad_arguments(tmp_path: Path) -> None:
    base = base_campus(tmp_path)
    lone = CampusBuilder("lone", origin=ORIGIN, epsg=32635)
    lone.area("FAR", "building", (900, 900, 910, 910))
    lone.area("FAR-R", "room", (900, 900, 910, 910), building="FAR", level=0)
    lone.door("FAR-E", (905, 900), building="FAR", level=0)
    far = lone.write(tmp_path / "far.geojson")
    with pytest.raises(MergeError, match="building 'FAR' not merged: no building of .* overlaps its footprint"):
        merge_campus(base, [far], tmp_path / "out")
    assert not (tmp_path / "out").exists()
    with pytest.raises(MergeError, match="--match names 'NOPE'"):
        merge_campus(base, [far], tmp_path / "out", match={"NOPE": "B1"})
    with pytest.raises(MergeError, match="expected INTERIOR_ID=BASE_ID"):
        parse_match(["LIB:B1"])


def test_merge_through_the_cli(tmp_path: Path) -> None:
    base, inner = base_campus(tmp_path), interior_campus(tmp_path)
    runner = CliRunner()
    r = runner.invoke(app, ["campus", "merge", str(base), str(inner), "-o", str(tmp_path / "out")])
    assert r.exit_code == 0, r.output
    assert "overlap 80%" in r.output and "not merged:" in r.output and "'X9'" in r.output
    assert "removed: base building 'B1a'" in r.output and "B1/E" in r.output
    r = runner.invoke(app, ["campus", "merge", str(base), str(inner), "-o", str(tmp_path / "json"), "--json"])
    assert r.exit_code == 0, r.output
    assert [m["base"] for m in json.loads(r.stdout)["matched"]] == ["B2", "B1"]
    for args, text in (([str(base), str(tmp_path / "missing.geojson")], "no such file"),
                       ([str(base), str(inner), "--match", "LIB"], "expected INTERIOR_ID=BASE_ID")):
        bad = runner.invoke(app, ["campus", "merge", *args, "-o", str(tmp_path / "bad")])
        assert bad.exit_code == 2 and text in bad.output and "Traceback" not in bad.output
        assert not (tmp_path / "bad").exists()


def test_the_documented_example(tmp_path: Path) -> None:
    """docs/import.md's worked example: the two files in docs/examples, merged through the CLI."""
    from tests.helpers import ROOT

    examples = ROOT / "docs" / "examples"
    r = CliRunner().invoke(app, ["campus", "merge", str(examples / "merge-base.geojson"),
                                 str(examples / "merge-interiors.geojson"), "-o", str(tmp_path / "merged")])
    assert r.exit_code == 0, r.output
    for text in ("│ LIB      │ B1   │ overlap 80% │ 1     │ 1, 5 m away     │", "building 'X9': no building of",
                 "removed: base building 'B1a': 100% of it lies under the merged 'B1'", "merge-interiors.geojson:E -> B1/E"):
        assert text in r.output, text
    s = load_campus(tmp_path / "merged").summary()
    assert (s["buildings"], s["rooms"], s["corridors"], s["stairs"], s["exits"], s["unreachable"]) == (2, 3, 2, 1, 2, [])


def test_merge_an_ifc_import_from_a_cad_tool(tmp_path: Path) -> None:
    """ArchiCAD's FZK-Haus sample, imported by ``twin import-ifc``, merged into an OSM-like outline 0.8 m off."""
    pytest.importorskip("ifcopenshell")
    from shapely import affinity
    from shapely.geometry import mapping, shape

    from tests.helpers import ROOT

    sample = ROOT.parent / "shared" / "samples" / "AC20-FZK-Haus.ifc"
    if not sample.exists():
        pytest.skip(f"sample {sample.name} not found beside the repository")
    r = CliRunner().invoke(app, ["import-ifc", str(sample), "-o", str(tmp_path / "fzk")])
    assert r.exit_code == 0, r.output
    doc = json.loads((tmp_path / "fzk" / "campus.geojson").read_text())
    fp = shape(next(f for f in doc["features"] if f["properties"]["kind"] == "building")["geometry"])
    c = fp.centroid
    outline = affinity.translate(fp, xoff=0.000008, yoff=0.000005)  # about 0.6 m east, 0.6 m north
    base = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"id": "osm-w42", "kind": "building", "levels_guessed": True}, "geometry": mapping(outline)},
        {"type": "Feature", "properties": {"id": "osm-w50", "kind": "footway", "noded": True}, "geometry": {
            "type": "LineString", "coordinates": [[c.x - 0.0004, c.y - 0.00013], [c.x + 0.0004, c.y - 0.00013]]}},
        {"type": "Feature", "properties": {"id": "osm-w60", "kind": "assembly"}, "geometry": {"type": "Polygon", "coordinates": [[
            [c.x + 0.0003, c.y - 0.0004], [c.x + 0.0008, c.y - 0.0004], [c.x + 0.0008, c.y - 0.0001], [c.x + 0.0003, c.y - 0.0001],
            [c.x + 0.0003, c.y - 0.0004]]]}},
    ]}  # fmt: skip
    (tmp_path / "osm.geojson").write_text(json.dumps(base))
    s = merge_campus(tmp_path / "osm.geojson", [tmp_path / "fzk"], tmp_path / "merged")
    ((m,),) = [s.matched]
    assert (m.interior, m.base, m.how) == ("FZK-Haus", "osm-w42", "overlap") and m.iou > 0.8
    assert m.exits == 2 and m.unjoined == 0 and s.unreachable == []
    summary = load_campus(s.path).summary()
    assert (summary["rooms"], summary["corridors"], summary["stairs"], summary["levels"]) == (6, 1, 1, [0, 1])
    assert summary["buildings_levels_guessed"] == [] and summary["unreachable"] == []

"""The bundled demo campus: regenerated exactly, loads clean, holds what the brief asks for."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from maps.demo.generate import build_campus
from tests.helpers import DEMO
from twin.campus import Campus
from twin.cli import app

def test_generator_reproduces_the_committed_file(tmp_path: Path) -> None:
    committed = json.loads((DEMO / "campus.geojson").read_text())
    assert build_campus() == committed, "run `python -m maps.demo.generate` and commit the result"


def test_demo_loads_clean_with_everyone_reachable(demo: Campus) -> None:
    s = demo.summary()
    assert s["design_occupants"] >= 20_000
    assert s["unreachable"] == []
    assert s["warnings"] == []
    assert s["posts"] >= 10 and s["assembly_areas"] >= 2 and s["gates"] >= 2
    lon, lat = demo.features.to_crs(4326).geometry.union_all().centroid.coords[0]
    assert 100 < lon < 125 and 20 < lat < 45  # real-world coordinates, not (0, 0)


def test_demo_has_what_the_brief_describes(demo: Campus) -> None:
    f = demo.features
    b = f[f.kind == "building"]
    assert {"teaching", "library", "lab", "canteen", "admin", "dorm"} <= set(b.use)
    assert (b.use == "dorm").sum() >= 4
    teaching = b.index[b.use == "teaching"]
    modelled = set(f.building[f.kind == "room"])
    assert 2 <= len(modelled & set(teaching)) <= 3
    for t in modelled:
        assert (b.levels[t]) > 1
        assert ((f.kind == "stair") & (f.building == t)).sum() >= 2
        exits = [n for n, d in demo.indoor(t).nodes(data=True) if d["kind"] == "door" and d["exit"]]
        assert len(exits) >= 2
    doors = f[f.kind == "door"]
    assert set(doors.building[doors.access == "card"]) >= set(b.index[b.use == "dorm"])
    cams = f[f.kind == "camera"]
    assert cams.heading.notna().all() and cams.fov.notna().all()
    assert set(cams.pixels) == {1920, 3840}  # each camera gives its resolution (1080p or 4K UHD): its range follows
    assert {"smoke", "manual_call_point"} <= set(f["type"][f.kind == "detector"])
    assert {"finance", "lab", "library", "dorm", "construction"} <= set(f.category[f.kind == "key_area"])
    kinds = set(f.kind)
    assert {"footway", "road", "shared", "crossing"} <= kinds


def test_info_json_on_the_demo() -> None:
    result = CliRunner().invoke(app, ["info", str(DEMO), "--json"])
    assert result.exit_code == 0, result.output
    info = json.loads(result.output)
    for key in ("buildings", "rooms", "doors", "levels", "design_occupants", "assembly_areas", "graph", "unreachable", "warnings"):
        assert key in info
    assert info["graph"]["nodes"] > 500 and info["graph"]["edges"] > 1000
    assert info["unreachable"] == []

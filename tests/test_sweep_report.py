"""twin sweep -o: one report comparing the variants, with why two variants give the same time."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from scenarios.sweep import ties
from tests.helpers import add, empty, line, point, rect, write
from twin.cli import app

runner = CliRunner()


def two_doors() -> dict:
    """A hall whose 150 people leave by a 0.8 m door or a 0.9 m door side by side, onto one 1 m footway: the footway
    is the critical bottleneck whichever door people choose."""
    doc = empty()
    add(doc, rect(0, 0, 20, 15), id="H", kind="building", levels=1, use="teaching", occupants=150)
    add(doc, point(8, 15), id="H-D1", kind="door", building="H", level=0, width=0.8)
    add(doc, point(12, 15), id="H-D2", kind="door", building="H", level=0, width=0.9)
    add(doc, line((8, 15), (8, 18), (10, 18)), id="FW1", kind="footway", width=2)
    add(doc, line((12, 15), (12, 18), (10, 18)), id="FW2", kind="footway", width=2)
    add(doc, line((10, 18), (10, 60)), id="NECK", kind="footway", width=1.0, name="the narrow lane")
    add(doc, rect(0, 60, 20, 80), id="A1", kind="assembly")
    return doc


def test_sweep_report_compares_variants_and_explains_a_tie(tmp_path: Path) -> None:
    campus = write(two_doors(), tmp_path / "campus.geojson")
    plan = tmp_path / "plan.toml"
    plan.write_text(f'kind = "evacuation"\nname = "two doors"\ncampus = "{campus}"\nseed = 3\nreplications = 2\n'
                    'premovement = {dist = "lognormal", mean = 20, sd = 5}\n')
    result = runner.invoke(app, ["sweep", str(plan), "--vary", "route=shortest,adaptive", "--vary", "settings.flow_door=1.0,1.4",
                                 "-o", str(tmp_path / "out"), "--json", "-j", "1"])
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    names = [r["name"] for r in rows]
    assert names == [f"route={r}, settings.flow_door={f}" for r in ("shortest", "adaptive") for f in (1.0, 1.4)]
    for r in rows:
        assert len(r["times_s"]) == 2 and r["curve"]["safe"][-1] == r["occupants"] == 150
        assert r["critical"]["bottleneck"]["id"] == rows[0]["critical"]["bottleneck"]["id"]
    # the lane, not the doors, sets the time: every pair is the same time, explained by the same critical bottleneck
    same = ties(rows)
    assert len(same) == 6 and all(t["same_bottleneck"] for t in same)
    assert "the same critical bottleneck" in same[0]["why"] and rows[0]["same_time"][0]["same_bottleneck"]
    page = (tmp_path / "out" / "report.html").read_text(encoding="utf-8")
    for name in names:
        assert name in page  # names whole
    assert 'id="sw-curves"' in page and 'id="sw-spread"' in page and 'id="sw-bottlenecks"' in page
    assert page.count('class="sw-why"') == 6 and "http" not in page.split("<body>")[1].split("sw-page")[0]
    # the terminal table keeps names whole too
    plan.write_text(plan.read_text().replace("replications = 2", "replications = 1"))
    text = runner.invoke(app, ["sweep", str(plan), "--vary", "route=shortest,adaptive", "-j", "1"])
    assert text.exit_code == 0 and "route=shortest" in text.output and "the same time" in text.output


def test_a_scenario_lists_its_alternatives_and_sweep_compares_them(tmp_path: Path) -> None:
    """[[alternatives]] in one file: the file's scenario (base) and each option, run and compared in one report."""
    campus = write(two_doors(), tmp_path / "campus.geojson")
    plan = tmp_path / "options.toml"
    head = (f'kind = "evacuation"\nname = "two doors: options"\ncampus = "{campus}"\nseed = 3\nreplications = 2\n'
            'premovement = {dist = "lognormal", mean = 20, sd = 5}\n[occupancy]\ndefault = 1.0\nbuildings = {H = 0.8}\n')
    plan.write_text(head + '[[alternatives]]\nname = "left door closed"\nblocked = ["H-D1"]\n'
                    '[[alternatives]]\nname = "half full, routes adapt"\nroute = "adaptive"\noccupancy = {default = 0.5, buildings = {H = 0.5}}\n'
                    '[[alternatives]]\nname = "faster doors"\nsettings = {flow_door = 1.6}\n')
    result = runner.invoke(app, ["sweep", str(plan), "-o", str(tmp_path / "out"), "--json", "-j", "1"])
    assert result.exit_code == 0, result.output
    rows = {r["name"]: r for r in json.loads(result.stdout)}
    assert list(rows) == ["base", "left door closed", "half full, routes adapt", "faster doors"]
    assert rows["base"]["occupants"] == 120 and rows["half full, routes adapt"]["occupants"] == 75  # tables merge key by key
    assert rows["left door closed"]["changes"] == ["blocked"] and rows["base"]["changes"] == []
    # the lane sets the time: faster doors change nothing, and the report says why in the option's own terms
    tie = next(t for t in rows["faster doors"]["same_time"] if t["variant"] == "base")
    assert tie["same_bottleneck"] and "what settings changes does not reach it" in tie["why"]
    page = (tmp_path / "out" / "report.html").read_text(encoding="utf-8")
    assert all(name in page for name in rows) and 'id="sw-curves"' in page
    assert "base and 3 alternatives (blocked, route, occupancy, settings)" in page
    # with --vary as well, every option with every value, named whole
    from scenarios.sweep import variant_name, variants

    both = variants(plan, [("settings.flow_door", [1.0, 1.4])])
    assert [variant_name(label) for label, _ in both][2:4] == ["left door closed, settings.flow_door=1.0",
                                                                "left door closed, settings.flow_door=1.4"]
    assert both[3][1].blocked == ["H-D1"] and both[3][1].settings["flow_door"] == 1.4 and both[0][1].blocked == []
    # twin run runs the scenario as written and names the alternatives
    ran = runner.invoke(app, ["run", str(plan), "-j", "1"])
    assert ran.exit_code == 0 and "lists 3 alternatives" in ran.output and "twin sweep" in ran.output


def test_bad_alternatives_are_named(tmp_path: Path) -> None:
    campus = write(two_doors(), tmp_path / "campus.geojson")
    plan = tmp_path / "bad.toml"
    base = f'kind = "evacuation"\ncampus = "{campus}"\n'
    for alts, field, says in (
            ('[[alternatives]]\nname = "a"\nroute = "teleport"\n', "alternatives[0].route", "Input should be"),
            ('[[alternatives]]\nname = "a"\nblocked = []\n[[alternatives]]\nname = "a"\nroute = "adaptive"\n', "alternatives",
             "unique"),
            ('[[alternatives]]\nname = "elsewhere"\ncampus = "other.geojson"\n', "alternatives[0]", "cannot change campus"),
            ('[[alternatives]]\nname = "same"\n', "alternatives[0]", "changes nothing"),
            ('[[alternatives]]\nblocked = ["H-D1"]\n', "alternatives[0].name", "missing required key")):
        plan.write_text(base + alts)
        bad = runner.invoke(app, ["sweep", str(plan)])
        assert bad.exit_code == 2 and field in bad.output and says in bad.output and "Traceback" not in bad.output, bad.output
    plan.write_text(base)
    bad = runner.invoke(app, ["sweep", str(plan)])
    assert bad.exit_code == 2 and "nothing to compare" in bad.output

"""Drill report maps and tables on an imported-style campus: zoom to the occupied buildings, the exits used, the
source's names, and a warning block for buildings whose storeys (and so occupants) are estimates."""

from __future__ import annotations

import re

from scenarios.evacuation import run
from scenarios.schema import parse_scenario
from tests.helpers import add, empty, line, point, rect, write
from twin.campus import load_campus
from viz.report import report_page


def test_report_zooms_to_the_drill_and_flags_estimates(tmp_path) -> None:
    doc = empty()
    # the drill's building: no storey count in its source (levels_guessed), named; a far building nobody is in
    add(doc, rect(0, 0, 30, 20), id="osm-w1", kind="building", levels=2, levels_guessed=True, use="teaching",
        name="Main Building")
    add(doc, point(15, 20), id="osm-n10", kind="door", building="osm-w1", level=0, width=1.5, name="Main entrance")
    add(doc, point(0, 10), id="osm-n11", kind="door", building="osm-w1", level=0, width=1.0)
    add(doc, rect(900, 0, 930, 20), id="osm-w2", kind="building", levels=1, use="admin")
    for k in range(12):  # an imported campus has many exits nobody in a one-building drill uses
        add(doc, point(900 + 2.5 * (k + 0.5), 20), id=f"osm-n2{k:02d}", kind="door", building="osm-w2", level=0, width=1.0)
    add(doc, line((15, 20), (15, 40)), id="osm-w3", kind="footway", width=3, name="Campus walk")
    add(doc, line((0, 10), (-10, 10), (-10, 40), (15, 40)), id="osm-w4", kind="footway", width=2)
    add(doc, line((15, 40), (915, 40), (915, 20)), id="osm-w5", kind="footway", width=3)
    add(doc, rect(5, 45, 25, 65), id="A1", kind="assembly")
    add(doc, line((15, 40), (15, 45)), id="osm-w6", kind="footway", width=3)
    campus = load_campus(write(doc, tmp_path / "campus.geojson"))
    sc = parse_scenario({"kind": "evacuation", "campus": str(campus.source), "seed": 1, "replications": 1,
                         "occupancy": {"default": 0.0, "buildings": {"osm-w1": 1.0}}}, "drill")
    outcome = run(sc, campus, workers=1)
    page = report_page(outcome, outcome.summary())
    block = re.search(r'<section class="rp-section rp-estimates" id="rp-estimates">(.*?)</section>', page, re.S).group(1)
    assert "osm-w1" in block and "Main Building" in block and "osm-w2" not in block
    exits = re.search(r'id="rp-exits">.*?<tbody>(.*?)</tbody>', page, re.S).group(1)
    assert "Main entrance" in exits and "13 other exits" in exits and "osm-n205" not in exits
    # the map is fitted to the occupied building (grown by 60 m), not to the far building 900 m away
    (s, w), (n, e) = (tuple(map(float, p)) for p in re.findall(r"\[([\d.-]+), ([\d.-]+)\]", re.search(
        r"fitBounds\(\s*\[\[[^\]]*\], \[[^\]]*\]\]", page).group(0)))
    lon_m = (e - w) * 111_320 * 0.8  # metres east-west, roughly, at the tiny example's latitude
    assert 100 < lon_m < 250


def test_occupants_from_floor_area_are_flagged_where_the_storeys_are_tagged(tmp_path) -> None:
    """An imported building with building:levels but no occupants: its design occupants are floor area × storeys ÷ the
    load factor, an estimate the block lists too; a building whose occupants the file gives is not listed."""
    doc = empty()
    for k, (extra, x) in enumerate((({"levels": 3}, 0), ({"levels": 2, "occupants": 40}, 60), ({"levels": 2, "levels_guessed": True}, 120))):
        b = f"osm-w{k + 1}"
        add(doc, rect(x, 0, x + 30, 20), id=b, kind="building", use="teaching", name=f"Hall {k + 1}", **extra)
        add(doc, point(x + 15, 20), id=f"osm-n{k + 1}", kind="door", building=b, level=0, width=2.0)
        add(doc, line((x + 15, 20), (x + 15, 40)), id=f"osm-w1{k}", kind="footway", width=3)
    add(doc, line((15, 40), (135, 40)), id="osm-w20", kind="footway", width=3)
    add(doc, rect(65, 45, 85, 65), id="A1", kind="assembly")
    add(doc, line((75, 40), (75, 45)), id="osm-w21", kind="footway", width=3)
    campus = load_campus(write(doc, tmp_path / "campus.geojson"))
    assert campus.occupants_estimated == ["osm-w1", "osm-w3"]  # osm-w2 gives its occupants
    sc = parse_scenario({"kind": "evacuation", "campus": str(campus.source), "seed": 1, "replications": 1,
                         "occupancy": {"default": 0.2}}, "drill")
    outcome = run(sc, campus, workers=1)
    page = report_page(outcome, outcome.summary())
    block = re.search(r'<section class="rp-section rp-estimates" id="rp-estimates">(.*?)</section>', page, re.S).group(1)
    cells = (re.findall(r"<td[^>]*>(.*?)</td>", row) for row in re.findall(r"<tr>(.*?)</tr>", block))
    rows = {r[0]: r for r in cells if r}
    assert sorted(rows) == ["osm-w1", "osm-w3"] and "2 of the 3 occupied buildings hold estimated numbers" in block
    assert rows["osm-w1"][2:4] == ["3 (from the source)", "floor area × storeys ÷ load factor"]
    assert rows["osm-w3"][2:4] == ["2 (guessed)", "floor area × storeys ÷ load factor"]

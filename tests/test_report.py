"""The drill report: key numbers, offline and self-contained, escaped, and drawn in a real browser."""

from __future__ import annotations

import base64
import html
import json
import re
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from scenarios.evacuation import Outcome, run
from scenarios.schema import parse_scenario
from tests.helpers import feature, open_offline, tiny, write
from twin.campus import load_campus
from twin.cli import app
from viz.drill_data import closures
from viz.report import write_report

XSS = "<img src=x onerror=alert(1)>"
SCRIPT = "</script><script>alert(2)</script>"


@pytest.fixture(scope="module")
def campus_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tiny example with hostile names on the building and the assembly area."""
    doc = tiny()
    feature(doc, "B1")["properties"]["name"] = XSS
    feature(doc, "A1")["properties"]["name"] = SCRIPT
    return write(doc, tmp_path_factory.mktemp("campus") / "campus.geojson")


@pytest.fixture(scope="module")
def drill(campus_file: Path) -> tuple[Outcome, dict[str, Any]]:
    """Two replications with a blocked door (its room's people are trapped) and a fire."""
    sc = parse_scenario({
        "kind": "evacuation", "campus": str(campus_file), "seed": 1, "replications": 2, "name": f"drill {XSS}",
        "blocked": ["D0b"], "fire": {"origin": "R1c", "start": 30, "spread_delay": 60},
    }, "x")
    outcome = run(sc, load_campus(campus_file), workers=1)
    return outcome, outcome.summary()


@pytest.fixture(scope="module")
def report(drill: tuple[Outcome, dict[str, Any]], tmp_path_factory: pytest.TempPathFactory) -> Path:
    outcome, summary = drill
    return write_report(outcome, summary, tmp_path_factory.mktemp("report") / "out")


@pytest.fixture(scope="module")
def page(report: Path) -> str:
    return report.read_text(encoding="utf-8")


def test_writes_one_file_in_the_folder(report: Path) -> None:
    assert report.name == "report.html"
    assert [p.name for p in report.parent.iterdir()] == ["report.html"]


def test_key_numbers_appear(page: str, drill: tuple[Outcome, dict[str, Any]]) -> None:
    _, s = drill
    assert s["trapped"] > 0  # the blocked door shuts its room's people in
    st = s["evacuation_time_stats"]
    for number in (s["evacuation_time_s"], s["lower_bound_s"], st["p50"], st["p95"], st["min"], st["max"]):
        assert f"{number:,.1f}" in page
    assert f"{s['evacuation_time_s'] / s['lower_bound_s']:.2f}" in page  # simulated ÷ bound
    figures = re.search(r'<section class="rp-figures".*?</section>', page, re.S).group(0)
    assert f">{s['occupants']:,}<" in figures
    assert re.search(r'class="rp-card rp-bad"><div class="rp-label">Trapped</div><div class="rp-value">'
                     rf'{s["trapped"]:g}<', figures)
    assert "seed</b> 1" in page and "replications</b> 2" in page and "route</b> shortest" in page
    assert "What-if: blocked: D0b; fire in R1c at 30 s" in page


def test_tables_hold_bottlenecks_buildings_and_exits(page: str, drill: tuple[Outcome, dict[str, Any]]) -> None:
    _, s = drill

    def cells(table_id: str) -> list[list[str]]:
        body = re.search(rf'<table class="rp-table" id="{table_id}">.*?<tbody>(.*?)</tbody>', page, re.S).group(1)
        return [re.findall(r"<td[^>]*>(.*?)</td>", row) for row in re.findall(r"<tr>(.*?)</tr>", body)]

    bottlenecks = cells("rp-bottlenecks")
    assert [row[2] for row in bottlenecks] == [html.escape(b["id"]) for b in s["bottlenecks"]]
    assert bottlenecks[0][6] == f"{s['bottlenecks'][0]['max_wait_s']:,.1f}"
    # ranked per level, as the map numbers them: each level's first is #1, and the ranks on a level count up
    seen: dict[str, int] = {}
    for row in bottlenecks:
        where, rank = row[1].rsplit(" #", 1)
        seen[where] = seen.get(where, 0) + 1
        assert int(rank) == seen[where] and (where == "outdoors" or re.fullmatch(r"L-?\d+", where))
    assert len(seen) >= 2  # the tiny example's bottlenecks are on two levels: each numbered from 1
    # the map's markers carry the same numbers, each with its level's tag (``out`` outdoors)
    labels = [json.loads(f'"{m}"') for m in re.findall(r'"label": "((?:[^"\\]|\\.)*)"', page)]
    tags = [(r[1].rsplit(" #", 1)[1], "out" if r[1].startswith("outdoors") else r[1].split(" #")[0]) for r in bottlenecks[:10]]
    assert sorted(labels) == sorted(f'<span>{n}</span><b class="rp-lvl">{t}</b>' for n, t in tags)
    assert cells("rp-buildings")[0][1:2] == ["B1"] and cells("rp-buildings")[0][4] == f"{s['by_building']['B1']:,.1f}"
    exits = cells("rp-exits")
    assert exits[0][0] == "EXIT-W" and exits[0][3] == f"{s['by_exit']['EXIT-W']:g}"
    # only the exits people used, and one line for the rest
    used = [d for d, n in s["by_exit"].items() if n > 0]
    assert [row[0] for row in exits[:len(used)]] == sorted(used, key=lambda d: (-s["by_exit"][d], d))
    assert len(exits) <= len(used) + 1 and all("other exit" in row[0] for row in exits[len(used):])


def test_page_is_self_contained(page: str) -> None:
    tags = re.findall(r"<(?:script|link|img|iframe)\b[^>]*>", page, re.IGNORECASE)
    assert not [t for t in tags if re.search(r"(src|href)\s*=\s*[\"']?(https?:)?//", t, re.IGNORECASE)], tags
    assert not re.search(r"<link\b", page, re.IGNORECASE)
    assert not re.search(r"url\((?!data:|#)", page), "CSS must not load anything"
    assert '.version="1.9' in page  # Leaflet itself is inlined
    images = re.findall(r'<img id="(rp-plot-[\w-]+)" src="data:image/png;base64,([A-Za-z0-9+/=]+)"', page)
    assert [i for i, _ in images] == ["rp-plot-safe", "rp-plot-buildings", "rp-plot-exits"]
    for _, data in images:
        assert base64.b64decode(data)[:8] == b"\x89PNG\r\n\x1a\n"


def test_text_from_campus_and_scenario_is_escaped(page: str) -> None:
    assert XSS not in page and SCRIPT not in page
    assert not re.search(r"<img[^>]*onerror", page, re.IGNORECASE)
    assert not re.search(r"<script>\s*alert", page)
    assert f"drill {html.escape(XSS)}" in page  # the scenario name, in the title and the heading


def test_closures_are_the_blocked_door_and_the_fire(drill: tuple[Outcome, dict[str, Any]]) -> None:
    outcome, _ = drill
    closed = closures(outcome.drill, outcome.replications)
    assert closed["D0b"] == (0.0, "blocked")
    assert closed["R1c"] == (30.0, "fire")
    assert {why for _, why in closed.values()} == {"blocked", "fire", "fire spread"}
    spread = sorted({t for t, why in closed.values() if why == "fire spread"})
    assert spread[0] == 90.0 and all((t - 30.0) % 60.0 == 0 for t in spread)  # smoke: one ring of spaces every 60 s


def test_cli_run_writes_the_report_beside_the_recording(campus_file: Path, tmp_path: Path) -> None:
    scenario = tmp_path / "drill.toml"
    scenario.write_text(f'kind = "evacuation"\nname = "cli drill"\ncampus = "{campus_file}"\nseed = 3\n')
    result = CliRunner().invoke(app, ["run", str(scenario), "-o", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "out" / "recording.sqlite").exists()
    assert "Evacuation drill report: cli drill" in (tmp_path / "out" / "report.html").read_text(encoding="utf-8")


@pytest.mark.browser
def test_page_works_offline_in_a_real_browser(browser: Any, report: Path, drill: tuple[Outcome, dict[str, Any]]) -> None:
    outcome, s = drill
    seen = open_offline(browser, report)
    page, errors, remote = seen.page, seen.errors, seen.remote
    try:
        page.wait_for_selector(".leaflet-pane path.rp-building")
        drawn = page.evaluate("""() => ({
            buildings: document.querySelectorAll("path.rp-building").length,
            exits: document.querySelectorAll("path.rp-exit").length,
            closed: document.querySelectorAll("path.rp-closed").length,
            assembly: document.querySelectorAll("path.rp-assembly").length,
            ranks: document.querySelectorAll(".leaflet-marker-pane .rp-rank, .leaflet-rp-ranks-pane .rp-rank").length,
            mapHeight: document.querySelector(".folium-map").getBoundingClientRect().height,
            images: Array.from(document.images).map(i => [i.id, i.complete, i.naturalWidth, i.naturalHeight]),
        })""")
        assert drawn["buildings"] == 1 and drawn["assembly"] == 1
        assert drawn["exits"] == sum(1 for sv in outcome.drill.servers if sv.exit)
        assert drawn["closed"] == len(closures(outcome.drill, outcome.replications))
        assert drawn["ranks"] == min(10, len(s["bottlenecks"])) > 0
        assert drawn["mapHeight"] > 500
        assert [i[0] for i in drawn["images"]] == ["rp-plot-safe", "rp-plot-buildings", "rp-plot-exits"]
        assert all(complete and w > 500 and h > 300 for _, complete, w, h in drawn["images"]), drawn["images"]
        page.click("path.rp-assembly", force=True)
        popup = page.wait_for_selector(".leaflet-popup-content")
        assert SCRIPT in popup.inner_text()  # shown as text, not run as markup
        assert errors == [] and remote == []
    finally:
        page.close()

"""The fire's toll in the drill report and in ``twin run``'s table: exposed, incapacitated (where, when), untenable spaces."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from scenarios.evacuation import Outcome, run
from scenarios.schema import parse_scenario
from tests.helpers import TINY
from twin.campus import load_campus
from twin.cli import app
from viz.report import incapacitated_html, key_figures_html, report_page

FIRE = {"origin": "R0c", "start": 0, "spread_delay": 60}
"""A fire in a ground-floor room of the tiny campus: its corridor is untenable at 60 s, the rooms beside it at 120 s."""


@pytest.fixture(scope="module")
def fire() -> tuple[Outcome, dict[str, Any], str]:
    """Three replications of the fire (their tolls differ), the summary and the report page."""
    sc = parse_scenario({"kind": "evacuation", "campus": str(TINY), "seed": 1, "replications": 3, "fire": FIRE}, "fire")
    outcome = run(sc, load_campus(TINY), workers=1)
    summary = outcome.summary()
    return outcome, summary, report_page(outcome, summary)


def _cells(page: str, table_id: str) -> list[list[str]]:
    body = re.search(rf'<table class="rp-table" id="{table_id}">.*?<tbody>(.*?)</tbody>', page, re.DOTALL).group(1)
    return [re.findall(r"<td[^>]*>(.*?)</td>", row) for row in re.findall(r"<tr>(.*?)</tr>", body)]


def _card(page: str, label: str) -> tuple[str, str, str]:
    """The card ``label``'s class, value and detail."""
    m = re.search(rf'<div class="(rp-card[^"]*)"><div class="rp-label">{label}</div><div class="rp-value">([^<]*)</div>'
                  r'<div class="rp-detail">([^<]*)</div>', page)
    assert m, label
    return m.group(1), m.group(2), m.group(3)


def test_cards_show_exposed_and_incapacitated_with_their_range(fire: tuple[Outcome, dict[str, Any], str]) -> None:
    outcome, s, page = fire
    assert s["incapacitated"] > 0 and s["exposed"] > s["incapacitated"]
    for label, key, per_rep in (("Exposed", "exposed", lambda r: r.exposed), ("Incapacitated", "incapacitated", lambda r: r.incapacitated),
                                ("Safe", "safe", lambda r: len(r.safe_times)), ("Trapped", "trapped", lambda r: r.trapped)):
        counts = [per_rep(r) for r in outcome.replications]
        _, value, detail = _card(page, label)
        assert value == f"{s[key]:,.1f}".removesuffix(".0"), label
        assert min(counts) < max(counts) and f"range {min(counts):,}–{max(counts):,}" in detail, label
    assert _card(page, "Incapacitated")[0] == "rp-card rp-bad"
    # the bound and the design estimate, each with the outcome's own label
    assert s["lower_bound"]["label"] in _card(page, "Flow lower bound")[2]
    assert s["design_estimate"]["label"] in _card(page, "Design estimate")[2]
    assert _card(page, "Design estimate")[1] == f"{s['design_estimate_s']:,.1f} s"


def test_table_says_where_and_when(fire: tuple[Outcome, dict[str, Any], str]) -> None:
    outcome, s, page = fire
    rows = _cells(page, "rp-incapacitated")
    assert {r[0]: float(r[6]) for r in rows} == s["incapacitated_where"]  # every space, its mean count
    assert [r[0] for r in rows] == list(s["incapacitated_where"])  # most first
    when = s["incapacitated_when_s"]
    assert min(float(r[7].replace(",", "")) for r in rows) == when["first"]
    assert max(float(r[9].replace(",", "")) for r in rows) == when["last"]
    nodes = outcome.drill.graph.nodes
    for space, _, level, kind, _, untenable, *_ in rows:
        assert level == str(nodes[space]["level"]) and kind == nodes[space]["kind"]
        assert untenable == (f"{s['untenable'][space]:,.1f}" if space in s["untenable"] else "stayed tenable")
    assert "stayed tenable" in {r[5] for r in rows}  # a smoke-logged corridor upstairs: dose accrues, yet it never closes


def test_map_draws_untenable_spaces_with_their_time(fire: tuple[Outcome, dict[str, Any], str]) -> None:
    _, s, page = fire
    popups = [json.loads(f'"{p}"') for p in re.findall(r'"popup": "((?:[^"\\]|\\.)*)"', page)]
    untenable = {re.search(r"<th>id</th><td>([^<]*)</td>", p).group(1): p for p in popups if "untenable from" in p}
    assert set(untenable) == set(s["untenable"])
    for node, t in s["untenable"].items():
        assert f"<th>untenable from</th><td>{t:,.1f} s</td>" in untenable[node]
        assert f"<th>incapacitated here</th><td>{s['incapacitated_where'].get(node, 0.0):g} people" in untenable[node]
    assert 'id="rp-smoke"' in page and "url(#rp-smoke)" in page  # hatched


def test_nothing_new_without_a_fire(fire: tuple[Outcome, dict[str, Any], str]) -> None:
    outcome, s, _ = fire
    calm = {**s, "fire": None}
    assert incapacitated_html(outcome, calm) == ""
    figures = key_figures_html(calm, outcome)
    assert "Exposed" not in figures and "Incapacitated" not in figures and "Trapped" in figures


def test_twin_run_table_shows_the_toll(fire: tuple[Outcome, dict[str, Any], str], tmp_path: Path,
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    from twin.cli import console

    _, s, _ = fire
    monkeypatch.setattr(console.out, "width", 200)  # the console is made at import: COLUMNS given later is not read
    scenario = tmp_path / "fire.toml"
    scenario.write_text(f'kind = "evacuation"\ncampus = "{TINY}"\nseed = 1\nreplications = 3\n'
                        f'[fire]\norigin = "R0c"\nstart = 0\nspread_delay = 60\n')
    result = CliRunner().invoke(app, ["run", str(scenario)])
    assert result.exit_code == 0, result.output
    when, top = s["incapacitated_when_s"], next(iter(s["incapacitated_where"]))
    assert re.search(rf"│ incapacitated +│ {s['incapacitated']:,.0f} +\(smoke dose 1; first {when['first']:.0f} s, "
                     rf"median {when['p50']:.0f} s, last {when['last']:.0f} s; most in {re.escape(top)} ", result.output)
    assert re.search(rf"│ exposed +│ {s['exposed']:,.0f} +\(any smoke dose; {len(s['untenable'])} spaces untenable\)", result.output)
    assert re.search(rf"│ design estimate +│ {s['design_estimate_s']:.0f} s +\({re.escape(s['design_estimate']['label'])}\)", result.output)

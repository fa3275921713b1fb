"""The coverage scenario: response times with known answers on a straight path, queues, shifts, patrols,
recommendations, determinism, schema errors and the CLI."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from scenarios import coverage
from scenarios.coverage.engine import CoverageModel, CoverageReplication, Layout
from scenarios.coverage.network import best_posts
from scenarios.schema import Coverage, load_scenario, parse_scenario
from tests.helpers import ROOT, add, empty, line, point, rect, write
from twin.campus import Campus, load_campus
from twin.cli import app
from twin.errors import ScenarioError
from twin.settings import default

RUN = default("guard_run_speed")
DELAY = default("call_handling") + default("guard_turnout")
TAIL = default("incident_tail")


@pytest.fixture(scope="module")
def line_campus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 600 m footway with posts at both ends, a junction at 300 m (key area A) and key area B at the east end."""
    doc = empty()
    add(doc, line((0, 0), (300, 0)), id="FW1", kind="footway")
    add(doc, line((300, 0), (600, 0)), id="FW2", kind="footway")
    add(doc, line((300, 0), (300, 50)), id="FW3", kind="footway")
    add(doc, point(0, 0), id="P-WEST", kind="post", staff=1)
    add(doc, point(600, 0), id="P-EAST", kind="post", staff=1)
    add(doc, rect(290, -10, 310, 10), id="KA-A", kind="key_area", category="finance", name="Cash <office>")
    add(doc, rect(590, -10, 610, 10), id="KA-B", kind="key_area", category="lab")
    add(doc, rect(320, 8, 330, 18), id="B1", kind="building")
    add(doc, point(290, -10), id="CAM", kind="camera", heading=45, fov=90, range=30)
    add(doc, line((1000, 0), (1010, 0)), id="ISLAND", kind="footway")  # reached by no path
    path = tmp_path_factory.mktemp("line") / "campus.geojson"
    return write(doc, path)


@pytest.fixture(scope="module")
def campus(line_campus: Path) -> Campus:
    return load_campus(line_campus)


def scenario(campus_path: Path, **kw: Any) -> Coverage:
    sc = parse_scenario({"kind": "coverage", "campus": str(campus_path), "new_cameras": 1, **kw}, "test.toml")
    assert isinstance(sc, Coverage)
    return sc


def responses(campus: Campus, sc: Coverage, layout: Layout | None = None) -> list[float | None]:
    m = CoverageModel(campus, sc)
    return [i.response for i in m.run(0, layout).incidents]


def test_response_is_delay_plus_running_time(campus: Campus, line_campus: Path) -> None:
    sc = scenario(line_campus, posts=["P-WEST"], hours=1, incidents={"given": [
        {"at": 10, "where": "KA-A", "handling": 60}, {"at": 400, "where": "KA-B", "handling": 60}]})
    r = responses(campus, sc)
    assert r[0] == pytest.approx(DELAY + 300 / RUN)  # call handling + turnout + the run
    # done at A at 310 s, the guard walks back west; sent to B at 400 s from where they are on the way
    walked = (400 - (10 + DELAY + 300 / RUN + 60)) * default("patrol_speed")
    assert 0 < walked < 300
    assert r[1] == pytest.approx(DELAY + (walked + 300) / RUN, rel=1e-6)


def test_nearest_free_guard_goes_and_queues_form(campus: Campus, line_campus: Path) -> None:
    given = [{"at": 0, "where": "KA-B", "handling": 100}, {"at": 0, "where": "KA-B", "handling": 100},
             {"at": 0, "where": "KA-B", "handling": 100}]
    r = responses(campus, scenario(line_campus, hours=1, incidents={"given": given}))
    # east guard is on site, west guard runs 600 m, the third waits for the east guard to finish
    assert r[0] == pytest.approx(DELAY)
    assert r[1] == pytest.approx(DELAY + 600 / RUN)
    assert r[2] == pytest.approx(DELAY + 100 + DELAY)


def test_off_duty_guards_are_not_sent(campus: Campus, line_campus: Path) -> None:
    sc = scenario(line_campus, posts=["P-WEST"], hours=3, incidents={"given": [{"at": 0, "where": "KA-A", "handling": 5}]},
                  shifts=[{"name": "late", "start": 1, "end": 23}])
    assert responses(campus, sc)[0] == pytest.approx(3600 + DELAY + 300 / RUN)


def test_shift_staffing_per_post(campus: Campus, line_campus: Path) -> None:
    # by night P-EAST is unmanned, so the west guard answers B
    sc = scenario(line_campus, hours=2, start_hour=22, incidents={"given": [{"at": 60, "where": "KA-B", "handling": 5}]},
                  shifts=[{"start": 7, "end": 19}, {"start": 19, "end": 7, "posts": {"P-EAST": 0}}])
    assert responses(campus, sc)[0] == pytest.approx(DELAY + 600 / RUN)


def test_patrols_pass_the_key_areas(campus: Campus, line_campus: Path) -> None:
    sc = scenario(line_campus, posts=[], hours=2, incidents={"given": []}, patrols=[{"guards": 1, "route": ["KA-A", "KA-B", "P-WEST"]}])
    m = CoverageModel(campus, sc)
    rep = m.run(0)
    loop = 600 * 2 / default("patrol_speed")  # west end -> east end -> west end
    per_loop = len(rep.passes["KA-B"]) / (7200 / loop)
    assert per_loop == pytest.approx(1, abs=0.35)
    assert len(rep.passes["KA-A"]) >= len(rep.passes["KA-B"])  # A is passed on the way out and back


def test_a_patrol_guard_is_sent_from_where_they_are(campus: Campus, line_campus: Path) -> None:
    sc = scenario(line_campus, posts=[], hours=1, patrols=[{"route": ["P-WEST", "KA-B"]}],
                  incidents={"given": [{"at": 100, "where": "KA-A", "handling": 10}]})
    walked = 100 * default("patrol_speed")
    assert responses(campus, sc)[0] == pytest.approx(DELAY + (300 - walked) / RUN, rel=1e-6)


def test_randomised_patrol_over_the_covering_sites(campus: Campus, line_campus: Path) -> None:
    sc = scenario(line_campus, posts=["P-WEST", "P-EAST"], hours=6, incidents={"given": []}, recommend_posts=2,
                  patrols=[{"over": "covering", "randomise": True}])
    m = CoverageModel(campus, sc)
    sites = set(m.layout.patrols[0][1])
    chosen = {m.problem.candidates[j] for j in best_posts(m.problem, 2).chosen}
    assert chosen <= sites
    assert m.run(0).passes  # it walks and passes key areas


def test_unreachable_patrol_stop_is_an_error(campus: Campus, line_campus: Path) -> None:
    with pytest.raises(ScenarioError) as e:
        CoverageModel(campus, scenario(line_campus, patrols=[{"route": ["P-WEST", "ISLAND"]}]), "test.toml")
    assert e.value.problems[0].field == "patrols[0].route" and "no path" in e.value.problems[0].message


def test_poisson_incidents_follow_risk_and_seed(campus: Campus, line_campus: Path) -> None:
    sc = scenario(line_campus, hours=24 * 30, seed=3, incidents={"per_day": 20, "risk": {"finance": 3, "lab": 1}})
    m = CoverageModel(campus, sc)
    inc = m.run(0).incidents
    n_a = sum(i.area == "KA-A" for i in inc)
    assert len(inc) == pytest.approx(600, rel=0.12)
    assert n_a / len(inc) == pytest.approx(0.75, abs=0.06)
    again = CoverageModel(campus, sc).run(0).incidents
    assert [(i.t, i.node, i.response) for i in inc] == [(i.t, i.node, i.response) for i in again]
    other = CoverageModel(campus, scenario(line_campus, hours=24 * 30, seed=4, incidents={"per_day": 20})).run(0).incidents
    assert [i.t for i in other] != [i.t for i in inc]


def test_hourly_profile_shapes_arrivals(campus: Campus, line_campus: Path) -> None:
    hourly = [0.0] * 12 + [1.0] * 12
    sc = scenario(line_campus, hours=24 * 10, incidents={"per_day": 30, "hourly": hourly})
    inc = CoverageModel(campus, sc).run(0).incidents
    assert inc and all((i.t / 3600) % 24 >= 12 for i in inc)


def test_summary_and_recommendations(campus: Campus, line_campus: Path) -> None:
    sc = scenario(line_campus, hours=48, replications=2, incidents={"per_day": 30}, standard=300)
    out = coverage.run(sc, campus, workers=1)
    s = out.summary()
    for key in ("response_time_s", "within_standard", "camera_coverage", "recommended_posts", "by_key_area", "utilisation",
                "patrol_passes", "recommended_cameras", "footway_seen_share"):
        assert key in s
    assert set(s["response_time_s"]) >= {"p50", "p90", "p95", "mean", "max"}
    assert set(s["camera_coverage"]) == {"KA-A", "KA-B"}
    assert s["camera_coverage"]["KA-B"]["seen_share"] == 0
    assert 0 < s["camera_coverage"]["KA-A"]["seen_share"] <= 1
    rec = s["recommended_posts"]
    assert rec["k"] == 2 and rec["covered_share"] == 1.0
    # one post at the junction reaches both key areas within 300 s (90 s call handling and turnout + 150 s)
    assert rec["set_cover"]["posts_needed"] == 1
    assert rec["simulated"]["within_standard"] is not None
    assert len(s["recommended_cameras"]) == 1 and s["recommended_cameras"][0]["gain_m2"] > 0
    assert s["within_standard"] == pytest.approx(
        sum(r <= 300 for rep in out.replications for i in rep.incidents if (r := i.response) is not None)
        / sum(len(rep.incidents) for rep in out.replications), abs=5e-5)  # the summary keeps 4 decimals


def test_optimised_posts_are_placed_and_compared(campus: Campus, line_campus: Path) -> None:
    sc = scenario(line_campus, hours=24, optimise_posts=1, incidents={"per_day": 20})
    out = coverage.run(sc, campus, workers=1)
    s = out.summary()
    assert len(s["posts"]) == 1 and s["posts"][0]["guards"] == 2  # both guards at the one chosen site
    assert s["within_standard"] >= s["scenario_posts_simulated"]["within_standard"]


def test_pinned_posts_stay_and_compared_layouts_keep_the_shifts_staffing(campus: Campus, line_campus: Path) -> None:
    """The optimiser keeps a pinned post; every layout it places has the scenario's guards on duty, shift by shift."""
    shifts = [{"start": 7, "end": 19}, {"start": 19, "end": 7, "posts": {"P-EAST": 0}}]
    free = CoverageModel(campus, scenario(line_campus, optimise_posts=1, shifts=shifts, incidents={"per_day": 10}))
    assert [p for p, _, _ in free.layout.posts] != ["P-WEST"]  # left alone it would not stay at the west end
    m = CoverageModel(campus, scenario(line_campus, optimise_posts=2, pin_posts=["P-WEST"], shifts=shifts,
                                       incidents={"per_day": 10}))
    assert "P-WEST" in [p for p, _, _ in m.layout.posts]
    assert m.shift_totals() == [2, 1]
    for layout in (m.layout, coverage.recommend(m)[1]):
        guards = layout.guards()
        assert len(guards) == 2
        for hour, on in ((12, 2), (23, 1)):  # 2 guards by day, 1 by night, as at the scenario's own posts
            assert sum(m.on_duty(g, hour * 3600.0) for g in guards) == on
    # a pinned post keeps its own guards, the others share the rest; with every post kept, all share the rest
    west, east = m.problem.labels.index("P-WEST"), m.problem.labels.index("P-EAST")
    assert [n for _, _, n in m.staffed([west, east], 5, {"P-WEST": 3})] == [3, 2]
    assert sum(n for _, _, n in m.staffed([west, east], 5, {"P-WEST": 1, "P-EAST": 1})) == 5
    assert [n for _, _, n in m.staffed([west, east], 2, {"P-WEST": 3})] == [2, 0]  # never more guards than there are
    with pytest.raises(ScenarioError) as e:
        CoverageModel(campus, scenario(line_campus, optimise_posts=1, pin_posts=["P-WEST", "P-EAST"]), "t.toml")
    assert [p.field for p in e.value.problems] == ["pin_posts"]


def test_when_one_post_covers_everything_the_standard_tightens_and_says_so(campus: Campus, line_campus: Path) -> None:
    """At a 20-minute standard any post reaches both key areas: covering would decide nothing."""
    m = CoverageModel(campus, scenario(line_campus, standard=1200, optimise_posts=1, incidents={"per_day": 10}))
    sol = m.optimised
    assert sol is not None and "tighter" in sol.method and "1200 s standard" in sol.method
    assert sol.covered == 1.0  # the shares are at the scenario's standard
    tight = float(sol.method.split("tighter ")[1].split(" s")[0])
    assert tight < 1200 and not (m.problem.times <= tight).all(axis=0).any()  # no one post covers all at the tighter one
    ok = CoverageModel(campus, scenario(line_campus, optimise_posts=1, incidents={"per_day": 10}))
    assert ok.optimised is not None and ok.optimised.method == "maximal covering"


def test_local_processes_and_dask_give_the_serial_numbers(dask_scheduler: str, campus: Campus, line_campus: Path) -> None:
    """Every batch (the layout, the recommended posts, the scenario's own posts) runs through the replication runner."""
    sc = scenario(line_campus, hours=12, replications=3, optimise_posts=1, incidents={"per_day": 30},
                  patrols=[{"route": ["KA-A", "KA-B", "P-WEST"], "randomise": True}])
    serial = coverage.run(sc, campus, workers=1)
    pool = coverage.run(sc, campus, workers=2)
    dask = coverage.run(sc, campus, dask=dask_scheduler)
    summaries = [o.summary() for o in (serial, pool, dask)]
    for s in summaries:
        s.pop("wall_s")
    assert summaries[0] == summaries[1] == summaries[2]
    assert summaries[0]["incidents"] > 0 and summaries[0]["scenario_posts_simulated"]["within_standard"] is not None

    def answers(reps: list[CoverageReplication]) -> list[tuple]:
        return [(i.t, i.node, i.guard, i.response) for r in reps for i in r.incidents]

    for other in (pool, dask):  # every incident of every batch, not only the summary
        for batch in ("replications", "checked", "current"):
            assert answers(getattr(other, batch)) == answers(getattr(serial, batch)), batch


@pytest.mark.parametrize(("doc", "key", "text"), [
    ({"posts": ["NOPE"]}, "posts[0]", "not a guard post"),
    ({"incidents": {"given": [{"at": 0, "where": "NOWHERE"}]}}, "incidents.given[0].where", "not a feature"),
    ({"patrols": [{"route": ["KA-A", "NOPE"]}]}, "patrols[0].route[1]", "not a feature"),
    ({"shifts": [{"start": 0, "end": 8, "posts": {"NOPE": 1}}]}, "shifts[0].posts.NOPE", "not a guard post"),
    ({"incidents": {"risk": {"bank": 2}}}, "incidents.risk.bank", "neither a key area"),
    ({"optimise_posts": 1, "pin_posts": ["NOPE"]}, "pin_posts[0]", "not a guard post"),
])
def test_unknown_ids_name_the_key(campus: Campus, line_campus: Path, doc: dict, key: str, text: str) -> None:
    with pytest.raises(ScenarioError) as e:
        CoverageModel(campus, scenario(line_campus, **doc), "test.toml")
    assert any(p.field == key and text in p.message for p in e.value.problems), e.value.problems


@pytest.mark.parametrize(("body", "key"), [
    ('standard = -1', "standard"),
    ('wibble = 1', "wibble"),
    ('[incidents]\nhourly = [1, 2]', "incidents.hourly"),
    ('[[shifts]]\nstart = 25\nend = 3', "shifts[0].start"),
    ('optimise_posts = 0', "optimise_posts"),
])
def test_bad_values_name_the_key(tmp_path: Path, line_campus: Path, body: str, key: str) -> None:
    p = tmp_path / "c.toml"
    p.write_text(f'kind = "coverage"\ncampus = "{line_campus}"\n{body}\n')
    with pytest.raises(ScenarioError) as e:
        load_scenario(p)
    assert [pr.field for pr in e.value.problems] == [key]


def test_cli_json_table_and_report(tmp_path: Path, line_campus: Path) -> None:
    p = tmp_path / "c.toml"
    p.write_text(f'kind = "coverage"\ncampus = "{line_campus}"\nhours = 24\nnew_cameras = 1\n[incidents]\nper_day = 10\n')
    runner = CliRunner()
    res = runner.invoke(app, ["run", str(p), "--json"])
    assert res.exit_code == 0, res.output
    doc = json.loads(res.stdout)
    assert set(doc["response_time_s"]) >= {"p50", "p90", "p95"}
    assert {"within_standard", "camera_coverage", "recommended_posts"} <= set(doc)
    res = runner.invoke(app, ["run", str(p), "-o", str(tmp_path / "out")])
    assert res.exit_code == 0, res.output
    assert "within standard" in res.stdout and "Key areas" in res.stdout
    page = (tmp_path / "out" / "report.html").read_text()
    assert "Coverage report" in page and "Cash <office>" not in page
    assert "Cash &lt;office&gt;" in page or "Cash \\u0026lt;office\\u0026gt;" in page
    bad = tmp_path / "bad.toml"
    bad.write_text(f'kind = "coverage"\ncampus = "{line_campus}"\nposts = ["NOPE"]\n')
    res = runner.invoke(app, ["run", str(bad)])
    assert res.exit_code != 0 and "posts[0]" in res.output


def test_no_guards_leaves_incidents_unanswered(tmp_path: Path, line_campus: Path) -> None:
    p = tmp_path / "c.toml"
    p.write_text(f'kind = "coverage"\ncampus = "{line_campus}"\nposts = []\nnew_cameras = 0\nstandard = 300\n')
    res = CliRunner().invoke(app, ["run", str(p), "--json"])
    assert res.exit_code == 0, res.output
    doc = json.loads(res.stdout)
    assert doc["within_standard"] == 0 and doc["unanswered"] == doc["incidents"] > 0
    assert doc["response_time_s"]["p90"] is None and doc["recommended_posts"]["current_mean_response_s"] is None
    assert doc["recommended_posts"]["k"] == 1 and doc["recommended_posts"]["covered_share"] == 1.0


def test_sweep_says_it_runs_evacuations_only(tmp_path: Path, line_campus: Path) -> None:
    p = tmp_path / "c.toml"
    p.write_text(f'kind = "coverage"\ncampus = "{line_campus}"\n')
    res = CliRunner().invoke(app, ["sweep", str(p), "--vary", "seed=1,2"])
    assert res.exit_code == 2 and "evacuation scenarios only" in res.output


def test_demo_scenarios_parse() -> None:
    files = sorted((ROOT / "scenarios" / "demo").glob("coverage-*.toml"))
    assert files
    for f in files:
        sc = load_scenario(f)
        assert isinstance(sc, Coverage), f


@settings(max_examples=25, deadline=None)
@given(incidents=st.lists(st.tuples(st.floats(0, 3000), st.sampled_from(["KA-A", "KA-B"]), st.floats(0, 900)), max_size=12),
       patrol=st.booleans(), night=st.booleans())
def test_every_incident_is_answered_once_and_never_too_fast(campus: Campus, line_campus: Path,
                                                          incidents: list[tuple[float, str, float]], patrol: bool,
                                                          night: bool) -> None:
    given_ = [{"at": t, "where": w, "handling": h} for t, w, h in incidents]
    sc = scenario(line_campus, hours=2, incidents={"given": given_}, patrols=[{"route": ["KA-A", "KA-B"]}] if patrol else [],
                  shifts=[{"start": 0, "end": 0.5, "posts": {"P-EAST": 0}}, {"start": 0.5, "end": 24}] if night else [])
    m = CoverageModel(campus, sc)
    rep = m.run(0)
    assert len(rep.incidents) == len(incidents)
    guards_at = {}
    for inc in rep.incidents:
        if inc.arrived is None:
            continue
        # nobody beats the dispatch delay plus the run from the nearest point of the network that a guard could be on
        assert inc.response >= DELAY - 1e-9
        assert inc.arrived <= 7200 + TAIL + 1e-6 and inc.dispatched >= inc.t - 1e-9
        guards_at.setdefault(inc.guard, []).append((inc.dispatched, inc.arrived + inc.handling))
    for spans in guards_at.values():  # one guard handles one incident at a time
        spans.sort()
        assert all(b[0] >= a[1] - 1e-6 for a, b in zip(spans, spans[1:]))
    assert all(0 <= u <= 1 + 1e-9 for u in rep.utilisation.values())

"""Scenario files and the evacuation engine: errors, invariants, determinism, parallel runs."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from scenarios.evacuation import Drill, Server, record, run
from scenarios.schema import load_scenario, parse_scenario
from tests.helpers import DEMO, TINY, add, examples, line, newer_recording, tiny, write
from twin.campus import load_campus
from twin.cli import app
from twin.errors import ScenarioError

runner = CliRunner()


def scenario_file(tmp_path: Path, body: str, campus: Path = TINY) -> Path:
    p = tmp_path / "drill.toml"
    p.write_text(f'kind = "evacuation"\ncampus = "{campus}"\n' + body)
    return p


@pytest.mark.parametrize(
    ("body", "key", "text"),
    [
        ("colour = 'red'\n", "colour", "unknown key"),
        ("seed = 'x'\n", "seed", "valid integer"),
        ("replications = 0\n", "replications", "greater than or equal to 1"),
        ("premovement = -5\n", "premovement", ">= 0 s"),
        ("premovement = {dist = 'weibull', shape = 2}\n", "premovement", "needs shape and scale"),
        ("route = 'fastest'\n", "route", "'shortest', 'nearest_exit' or 'adaptive'"),
        ("[fire]\norigin = 'R0a'\nstart = -10\n", "fire.start", "greater than or equal to 0"),
        ("[occupancy]\ndefault = 6\n", "occupancy.default", "less than or equal to 5"),
        ("[settings]\nflow_dor = 1.0\n", "settings", "unknown setting"),
    ],
)
def test_bad_scenario_values(tmp_path: Path, body: str, key: str, text: str) -> None:
    path = scenario_file(tmp_path, body)
    with pytest.raises(ScenarioError) as e:
        load_scenario(path)
    assert any(p.field == key and text in p.message for p in e.value.problems), e.value
    result = runner.invoke(app, ["run", str(path)])
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert f"key '{key}'" in result.output and str(path) in result.output


@pytest.mark.parametrize(
    ("body", "key"),
    [
        ("blocked = ['D0a', 'NOPE']\n", "blocked[1]"),
        ("[fire]\norigin = 'ROOM9'\n", "fire.origin"),
        ("[assembly]\nB1 = 'LAKE'\n", "assembly.B1"),
        ("[occupancy.buildings]\nB7 = 0.5\n", "occupancy.buildings.B7"),
    ],
)
def test_unknown_feature_ids(tmp_path: Path, body: str, key: str) -> None:
    result = runner.invoke(app, ["run", str(scenario_file(tmp_path, body))])
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert f"key '{key}'" in result.output and "not a" in result.output


def test_unreadable_scenario_files(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text("kind = \n")
    for path, text in ((bad, "not a TOML file"), (tmp_path / "none.toml", "no such scenario file")):
        result = runner.invoke(app, ["run", str(path)])
        assert result.exit_code == 2 and text in result.output and "Traceback" not in result.output
    (tmp_path / "k.toml").write_text('kind = "picnic"\ncampus = "x"\n')
    result = runner.invoke(app, ["run", str(tmp_path / "k.toml")])
    assert result.exit_code == 2 and "unknown scenario kind 'picnic'" in result.output


def test_campus_path_is_relative_to_the_scenario(tmp_path: Path) -> None:
    (tmp_path / "c").mkdir()
    write(tiny(), tmp_path / "c" / "campus.geojson")
    (tmp_path / "s").mkdir()
    (tmp_path / "s" / "d.toml").write_text('kind = "evacuation"\ncampus = "../c"\n')
    assert load_scenario(tmp_path / "s" / "d.toml").campus == (tmp_path / "c").resolve()


def test_every_exit_blocked_traps_everyone(tmp_path: Path) -> None:
    result = runner.invoke(app, ["run", str(scenario_file(tmp_path, "blocked = ['EXIT-W']\n")), "--json"])
    assert result.exit_code == 0, result.output
    s = json.loads(result.output)
    assert s["trapped"] == s["occupants"] == 130 and s["safe"] == 0


def _tiny_scenario(**kw: object) -> object:
    return parse_scenario({"kind": "evacuation", "campus": str(TINY), "seed": 3, "replications": 3, **kw}, "t")


def _run(sc: object, **kw: object) -> object:
    """Run ``sc`` on its campus, loaded here (as ``twin run`` loads it once and hands it on)."""
    return run(sc, load_campus(sc.campus), **kw)


def test_same_seed_same_numbers_other_seed_other_numbers() -> None:
    def numbers(seed: int) -> dict:
        s = _run(_tiny_scenario(seed=seed), workers=1).summary()
        s.pop("wall_s")
        return s

    a, b = numbers(3), numbers(3)
    assert json.dumps(a, sort_keys=True) == json.dumps(b, sort_keys=True)
    assert numbers(4)["evacuation_time_s"] != a["evacuation_time_s"]


def test_local_processes_and_dask_give_the_serial_numbers(dask_scheduler: str, tmp_path: Path) -> None:
    """Serial, two local processes and a Dask cluster give the same numbers; the workers get the campus shipped
    (its file is gone before they start)."""
    path = write(tiny(), tmp_path / "campus.geojson")
    sc = parse_scenario({"kind": "evacuation", "campus": str(path), "seed": 3, "replications": 4}, "t")
    campus = load_campus(path)
    path.unlink()
    serial = run(sc, campus, workers=1).summary()
    pool = run(sc, campus, workers=2).summary()
    dask = run(sc, campus, dask=dask_scheduler).summary()
    for s in (serial, pool, dask):
        s.pop("wall_s")
    assert serial == pool == dask


@pytest.mark.parametrize("route", ["shortest", "nearest_exit", "adaptive"])
def test_nobody_is_lost_and_the_bound_holds(route: str) -> None:
    s = _run(_tiny_scenario(route=route, replications=2), workers=1).summary()
    assert s["safe"] + s["trapped"] + s["incapacitated"] + s["unfinished"] == s["occupants"] == 130
    assert s["trapped"] == 0
    assert s["evacuation_time_stats"]["min"] >= s["lower_bound_s"] > 0


@settings(max_examples=examples(12), deadline=None)
@given(occupancy=st.floats(0.0, 1.0), seed=st.integers(0, 2**16), fire=st.booleans(),
       blocked=st.sampled_from([[], ["D0s"], ["D1s"], ["S1"], ["EXIT-W"], ["D0a", "D1c"]]))
def test_occupants_in_equal_occupants_out(occupancy: float, seed: int, fire: bool, blocked: list[str]) -> None:
    extra = {"fire": {"origin": "R0c", "start": 5, "spread_delay": 20}} if fire else {}
    sc = _tiny_scenario(occupancy=occupancy, seed=seed, blocked=blocked, replications=1, **extra)
    drill = Drill(load_campus(TINY), sc)
    r = drill.run(0)
    assert len(r.safe_times) + r.trapped + r.incapacitated + r.unfinished == r.occupants == len(drill.start)
    assert r.unfinished == 0


def test_fire_spread_closes_the_corridor() -> None:
    """Every room of the tiny campus opens onto corridor C0, next to the fire room R0c: once smoke makes it
    untenable before people set off, only some of the fire room's people (who react at once) get out, the rest
    are trapped or incapacitated (those left in the fire room first); if it spreads after they are out, nobody is trapped."""

    def drill(spread: float) -> Any:
        sc = _tiny_scenario(premovement=60, replications=1, fire={"origin": "R0c", "start": 0, "spread_delay": spread})
        d = Drill(load_campus(TINY), sc)
        return d, d.run(0)

    d, early = drill(10)
    origin = d.index["R0c"]
    safe = ~np.isnan(early.safe_at)
    assert 0 < safe.sum() < (d.start == origin).sum() and (d.start[safe] == origin).all()
    assert early.trapped + early.incapacitated + safe.sum() == 130 and early.exposed == 130
    assert early.incapacitated_in is not None and "R0c" in early.incapacitated_in
    assert ("C0" in {n for _, n, why in early.closures if why == "fire spread"})
    _, late = drill(1000)
    assert late.trapped == late.incapacitated == 0 and len(late.safe_times) == 130
    assert all(r != "R0c" for r in late.by_exit)


def test_server_passes_at_most_its_rate_and_serves_early_arrivals_first() -> None:
    s = Server("d", "door", rate=2.0)
    through = [s.reserve(0.0) for _ in range(10)]
    assert through == [k / 2 for k in range(1, 11)]  # N people need N / rate seconds
    late = Server("x", "footway", rate=1.0)
    assert late.reserve(100.0) == 101.0  # someone books ahead …
    assert late.reserve(3.0) == 4.0  # … and does not hold up an earlier arrival
    assert late.reserve(100.2) == 102.0


@given(st.lists(st.floats(0.0, 60.0, allow_nan=False), max_size=80), st.sampled_from([0.7, 1.0, 1.3, 2.6]))
def test_server_books_the_first_free_slot(arrivals: list[float], rate: float) -> None:
    """Its runs of booked slots give what a plain set of booked slots gives, for any order of arrivals."""
    s, booked = Server("d", "door", rate=rate), set()
    for t in arrivals:
        k = int(t * rate)
        while k in booked:
            k += 1
        assert s.wait_at(t) == pytest.approx(max(0.0, k / rate - t))
        booked.add(k)
        assert s.reserve(t) == max(t, k / rate) + 1 / rate
    runs = list(zip(s._los, s._his, strict=True))
    assert sum(hi - lo for lo, hi in runs) == len(booked) and all(a[1] < b[0] for a, b in zip(runs, runs[1:]))


def test_recording_round_trip(tmp_path: Path) -> None:
    from twin.recording import RecordingError, metadata, open_recording

    outcome = _run(_tiny_scenario(replications=1), workers=1)
    path = record(outcome, tmp_path / "r.sqlite")
    con = open_recording(path)
    meta = metadata(con)
    assert meta["schema_version"] == 4 and meta["kind"] == "simulation" and meta["campus_digest"] == outcome.drill.campus.digest
    n_agents, = con.execute("SELECT count(*) FROM agents").fetchone()
    safe, = con.execute("SELECT count(*) FROM agents WHERE outcome = 'safe'").fetchone()
    assert n_agents == safe == 130
    last, = con.execute("SELECT max(t1) FROM moves WHERE state = 'walk'").fetchone()
    rep = outcome.replications[0]  # safe at the assembly area's edge, then drawn walking up to 10 m into it
    assert rep.evacuation_time <= last <= rep.evacuation_time + 10.0 / rep.speed.min()
    con.execute("SELECT 1")
    con.close()
    with pytest.raises(RecordingError, match="newer"):
        open_recording(newer_recording(path, tmp_path / "newer.sqlite"))


def test_sweep_through_the_cli(tmp_path: Path) -> None:
    path = scenario_file(tmp_path, "seed = 2\nreplications = 2\n")
    result = runner.invoke(app, ["sweep", str(path), "--vary", "route=shortest,adaptive", "--vary", "occupancy.default=0.5,1.0",
                                 "--json", "-j", "1"])
    assert result.exit_code == 0, result.output
    rows = json.loads(result.output)
    assert [r["vary"] for r in rows] == [
        {"route": r, "occupancy.default": o} for r in ("shortest", "adaptive") for o in (0.5, 1.0)
    ]
    half, full = rows[0]["occupants"], rows[1]["occupants"]
    assert full == 130 and 60 <= half <= 70  # half of each room, rounded room by room
    assert [r["occupants"] for r in rows] == [half, full, half, full]
    bad = runner.invoke(app, ["sweep", str(path), "--vary", "route=teleport"])
    assert bad.exit_code == 2 and "key 'route'" in bad.output and "Traceback" not in bad.output


def test_verify_through_the_cli() -> None:
    result = runner.invoke(app, ["verify", "--case", "rimea-1-corridor", "--case", "sfpe-door-flow", "--json"])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.output)
    assert doc["passed"] == 2 and doc["failed"] == 0
    assert runner.invoke(app, ["verify", "--case", "rimea-99"]).exit_code == 2


def test_bound_holds_when_some_are_trapped() -> None:
    """The bound counts only people who got out, so a fire that traps some never puts it above the run."""
    sc = _tiny_scenario(replications=3, fire={"origin": "R0c", "start": 0, "spread_delay": 70})
    s = _run(sc, workers=1).summary()
    assert 0 < s["trapped"] < s["occupants"]
    assert s["evacuation_time_stats"]["min"] >= s["lower_bound_s"] > 0


def test_recording_holds_every_node_a_path_passes(tmp_path: Path) -> None:
    from twin.recording import open_recording

    doc = tiny()
    # a second way to the lawn in three pieces: its two inner junctions are merged away
    add(doc, line((0, 5), (0, 25)), id="FW2", kind="footway")
    add(doc, line((0, 25), (-20, 25)), id="FW3", kind="footway")
    add(doc, line((-20, 25), (-50, 15)), id="FW4", kind="footway")
    outcome = _run(parse_scenario({"kind": "evacuation", "campus": str(write(doc, tmp_path / "c.geojson")), "seed": 1}, "t"), workers=1)
    con = open_recording(record(outcome, tmp_path / "r.sqlite"))
    nodes = {n for (n,) in con.execute("SELECT id FROM nodes")}
    vias = [json.loads(v) for (v,) in con.execute("SELECT via FROM edges WHERE via IS NOT NULL")]
    assert vias, "the bent footways should have been merged through their bend"
    for via in vias:
        assert set(via) <= nodes


def test_the_recording_is_the_runs_replication_0(tmp_path: Path) -> None:
    """A run keeps no moves; the recording runs replication 0 again keeping them, and gets that very replication
    (it draws from its own stream), also when the run was spread over local processes."""
    import sqlite3

    outcome = _run(_tiny_scenario(replications=2), workers=2)
    assert all(r.moves is None for r in outcome.replications)
    rep0 = outcome.replications[0]
    con = sqlite3.connect(record(outcome, tmp_path / "r.sqlite"))
    agents = con.execute("SELECT id, premovement, speed, safe_at FROM agents ORDER BY id").fetchall()
    last, = con.execute("SELECT max(t1) FROM moves WHERE state = 'walk'").fetchone()
    con.close()
    assert [a[0] for a in agents] == list(range(rep0.occupants))
    assert [a[1] for a in agents] == rep0.premovement.tolist() and [a[2] for a in agents] == rep0.speed.tolist()
    assert [a[3] for a in agents] == rep0.safe_at.tolist()
    assert rep0.evacuation_time <= last  # drawn walking a few metres into the area after reaching its edge


@pytest.mark.parametrize("route", ["shortest", "adaptive"])
def test_people_in_a_corridor_when_fire_closes_it_walk_out(route: str, demo) -> None:
    """Fire spreads into TB1's level-2 corridor at 60 s: those already walking in it leave it (only those
    still in their rooms are trapped), whichever route they were on: door to door along it included."""
    campus = demo
    sc = parse_scenario({"kind": "evacuation", "campus": str(DEMO), "seed": 0, "route": route,
                         "occupancy": {"default": 0.0, "buildings": {"TB1": 0.3}},
                         "fire": {"origin": "TB1-L2-SD01", "start": 0, "spread_delay": 60}}, "test")
    drill = Drill(campus, sc)
    r = drill.run(0, record=True)
    corridor = drill.node_space[drill.index["TB1-L2-C"]]
    closed_at = next(t for t, n, why in r.closures if n == "TB1-L2-C")
    space_of = {(u, v): drill.e_space[e] for u in range(len(drill.names)) for v, e, *_ in drill.adj[u]}
    in_corridor = {p for p, kind, t0, _, u, v, *_ in r.moves if kind == "walk" and u != v and t0 < closed_at
                   and space_of[(u, v)] == corridor}
    trapped = set(np.flatnonzero(np.isfinite(r.trapped_at)).tolist())
    assert in_corridor and trapped, "the case needs people in the corridor and people caught in rooms"
    assert not in_corridor & trapped
    assert len(r.safe_times) + r.trapped + r.incapacitated == r.occupants

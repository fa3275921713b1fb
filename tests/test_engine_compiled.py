"""The compiled evacuation engine (``scenarios/evacuation/compiled.py``) gives the plain Python engine's results to the
last decimal, pickles alike, and a stale compiled module is refused rather than run."""

from __future__ import annotations

import hashlib
import json
import os
import pickle
import subprocess
import sys
import time
from pathlib import Path

import pytest

from scenarios.evacuation import Physics, Server, compiled
from twin.campus import Campus

ROOT = Path(__file__).resolve().parent.parent

def digests(campus: Campus) -> dict[str, object]:
    """A recorded TB1 fire and two campus drills on the demo ``campus``, replication 1, their results digested
    (SHA-256 of every time, count, server figure and move), and whether the engine that ran them is compiled."""
    from scenarios.evacuation import Drill
    from scenarios.schema import load_scenario

    def digest(values: object) -> str:
        return hashlib.sha256(repr(values).encode()).hexdigest()

    fire = load_scenario(ROOT / "scenarios/demo/tb1-stair-fire.toml")
    drill = load_scenario(ROOT / "scenarios/demo/campus-drill.toml")
    small = drill.occupancy.model_copy(update={"default": 0.05, "buildings": {}})
    cases = {
        "tb1 fire, adaptive, recorded": (fire, True),
        "campus, shortest": (drill.model_copy(update={"route": "shortest", "occupancy": small}), False),
        "campus, nearest_exit": (drill.model_copy(update={"route": "nearest_exit", "occupancy": small}), False),
    }
    out: dict[str, object] = {"compiled": compiled.compiled()}
    for name, (sc, record) in cases.items():
        rep = Drill(campus, sc).run(1, record=record)
        out[name] = {
            "people": len(rep.safe_at), "events": rep.events, "evacuation_time": rep.evacuation_time,
            "safe_at": digest(rep.safe_at.tolist()), "trapped_at": digest(rep.trapped_at.tolist()),
            "left_building": digest(rep.left_building.tolist()), "by_exit": rep.by_exit, "servers": digest(rep.servers),
            "incapacitated_at": digest(None if rep.incapacitated_at is None else rep.incapacitated_at.tolist()),
            "moves": digest(rep.moves),
        }
    return json.loads(json.dumps(out))


PLAIN = ("import json; from tests.test_engine_compiled import digests; from twin.campus import load_campus; "
         "print(json.dumps(digests(load_campus('maps/demo'))))")
"""The same drills in a fresh process that runs the engine as plain Python."""


@pytest.mark.skipif(not compiled.compiled(), reason="the engine is not compiled here (scripts/build_engine.py says why)")
def test_compiled_engine_gives_the_plain_engines_results(demo: Campus) -> None:
    """A fire with smoke, closures and queues (recorded move by move) and two route kinds on the campus: every
    time, count and move alike, since both round every operation the same way (IEEE doubles, no fused multiply-add)."""
    ours = digests(demo)
    env = {**os.environ, "TWIN_PLAIN_ENGINE": "1"}
    done = subprocess.run([sys.executable, "-c", PLAIN], capture_output=True, text=True, cwd=ROOT, env=env, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    plain = json.loads(done.stdout)
    assert ours.pop("compiled") is True
    assert plain.pop("compiled") is False
    assert ours["tb1 fire, adaptive, recorded"]["people"] > 1000  # type: ignore[index]
    for case, got in ours.items():
        assert got == plain[case], case


def test_servers_and_physics_pickle_by_value() -> None:
    """A network is shipped to workers that may run the other build: the pickle names the class, not the build."""
    s = Server("D1", "door", 2.0, exit=True, times=[])
    for t in (3.0, 1.0, 1.0, 7.5):
        s.reserve(t)
    back = pickle.loads(pickle.dumps(s))
    assert (back.id, back.kind, back.rate, back.exit, back.times) == (s.id, s.kind, s.rate, s.exit, s.times)
    assert (back.passed, back.max_wait, back.total_wait, back.until) == (s.passed, s.max_wait, s.total_wait, s.until)
    assert (back._los, back._his) == (s._los, s._his)
    assert back.reserve(1.0) == s.reserve(1.0)
    phys = Physics({"sfpe_a": 0.3}, "measured")
    again = pickle.loads(pickle.dumps(phys))
    assert (again.a, again.capacity, again.overrides) == (0.3, "measured", {"sfpe_a": 0.3})
    assert b"__pyx_unpickle" not in pickle.dumps(s) + pickle.dumps(phys)


def test_a_compiled_module_older_than_its_source_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Python would import the old compiled file in place of the edited source: the package refuses, naming it."""
    monkeypatch.setattr(compiled, "HERE", tmp_path / "scenarios" / "evacuation")
    here = compiled.HERE
    here.mkdir(parents=True)
    for name in ("engine.py", "engine.pxd", "network.py"):
        (here / name).write_text("")
    built = here / f"engine{compiled.EXTENSION_SUFFIXES[0]}"
    built.write_bytes(b"")
    old = time.time() - 60
    os.utime(built, (old, old))
    assert compiled.stale() == [f"scenarios/evacuation/{built.name} is older than engine.py, engine.pxd"]
    with pytest.raises(ImportError, match=r"out of date: scenarios/evacuation/engine.*older than engine\.py.*make install"):
        compiled.check_current()
    os.utime(built)  # rebuilt: now newer than its sources
    assert compiled.stale() == []
    compiled.check_current()
    monkeypatch.setenv("TWIN_PLAIN_ENGINE", "1")
    os.utime(built, (old, old))
    compiled.prepare()  # plain Python asked for: stale compiled files do not matter
    assert any(type(f).__name__ == "_PlainEngine" for f in sys.meta_path)
    sys.meta_path[:] = [f for f in sys.meta_path if type(f).__name__ != "_PlainEngine"]

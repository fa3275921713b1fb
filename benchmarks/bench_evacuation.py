"""Benchmark: the campus-wide drill from 2,000 to 200,000 occupants (targets: 20,000 under 1.5 s, 200,000 under 15 s).

Run with ``make bench`` (or ``python benchmarks/bench_evacuation.py --sizes
2000,20000 --repeats 5 --routes adaptive --json out/bench/evacuation.json``).
What it measures, and how:

* **one fresh process per size and route** (``--child``), so one size's heap,
  caches and imports never help or hurt the next; the sizes run one after
  another (``-j 1``) and each replication runs in that one process on one core
  (``Drill.run``, no workers);
* **the demo's own occupancy**: ``scenarios/demo/campus-drill.toml`` as written
  (design occupancy, dorms at 0.1 by day), every factor scaled alike so the
  campus holds the size asked for;
* **at least 5 repeats** (replications 0, 1, …): the minimum (the machine's
  best) and the median, the load average before and after (the machine is
  shared: a load above the core count means the figures are slow);
* **peak RSS** of the process (``getrusage``: the real memory, interpreter
  and campus included) and how much of it the setup (campus, graphs,
  prepared network) took before the first run;
* **the lower bound timed separately**: computed once per scenario, not per
  replication;
* **runs that stop at ``max_time`` with people still moving** are flagged in
  the table (``!``), in a warning block after it and in the JSON (``unfinished``,
  ``hit_max_time``): their wall time is not the time to evacuate everyone;
* **beside an earlier engine on the same machine at the same time**
  (``--reference REV``, ``make bench`` uses 8e1fdf4, the engine when the speed
  targets were set): the whole tree of that git revision (engine, campus and
  scenario) is checked out in a temporary worktree and each size runs there
  right after ours, so the ratio of the two medians holds however fast or
  loaded the machine is (a shared 2-core VM here ran the same code 1.4-2.1 s
  one day and 3.0-3.5 s another);
* **compiled and plain Python**: the engine as ``make install`` builds it
  (compiled with Cython, ``scenarios/evacuation/compiled.py``), and with
  ``--plain`` the same code as plain Python (``TWIN_PLAIN_ENGINE=1``) right
  after, with the ratio; every row says which engine it timed.

Growth is the exponent of a log-log fit of the median wall time; N log N over
2k..200k is about N^1.2.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))
sys.path.insert(0, str(ROOT))
from bench_load import _machine  # noqa: E402

SCENARIO = ROOT / "scenarios" / "demo" / "campus-drill.toml"
SIZES = (2_000, 5_000, 20_000, 50_000, 200_000)
ROUTES = ("shortest", "adaptive")
TARGETS_S = {20_000: 1.5, 200_000: 15.0}
"""Wall seconds per replication on one core (docs/architecture.md quality bars; BRIEF.md)."""
REPEATS = 5


def _rss_mb() -> float:
    """Peak resident set size of this process so far (MB; Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def child(size: int, route: str, repeats: int, root: Path = ROOT) -> dict[str, object]:
    """Run in a fresh process: prepare the drill at ``size`` occupants on ``route``, time ``repeats`` replications.

    The scenario and campus are those of the tree at ``root``, and so is the code: the caller puts ``root`` first
    on ``sys.path`` before the first import of the project (``--root``).
    """
    from scenarios.evacuation import Drill, lower_bound
    from scenarios.schema import load_scenario
    from twin.campus import load_campus

    try:
        from scenarios.evacuation.compiled import compiled
    except ImportError:  # a reference revision from before the engine was compiled
        def compiled() -> bool:
            return False

    load_before = os.getloadavg()[0]
    t = time.perf_counter()
    base = load_scenario(root / SCENARIO.relative_to(ROOT))
    campus = load_campus(base.campus)
    at_design = len(Drill(campus, base.model_copy(update={"route": route})).start)
    k = size / at_design
    occ = base.occupancy
    scaled = occ.model_copy(update={"default": occ.default * k, "buildings": {b: f * k for b, f in occ.buildings.items()}})
    drill = Drill(campus, base.model_copy(update={"route": route, "occupancy": scaled}))
    setup_s = time.perf_counter() - t
    setup_rss = _rss_mb()
    walls, reps, rss = [], [], []
    for i in range(repeats):
        t = time.perf_counter()
        rep = drill.run(i)
        walls.append(time.perf_counter() - t)
        reps.append(rep)
        rss.append(_rss_mb())
    t = time.perf_counter()
    bound = lower_bound(drill, reps[:1])
    bound_s = time.perf_counter() - t
    unfinished = [r.unfinished for r in reps]
    return {
        "size": size, "route": route, "occupants": len(drill.start), "scale": k, "repeats": repeats,
        "wall_min_s": min(walls), "wall_median_s": statistics.median(walls), "walls_s": walls,
        "events": int(statistics.median(r.events for r in reps)),
        "evacuation_time_s": statistics.median(r.evacuation_time for r in reps),
        "unfinished": unfinished, "max_time_s": drill.scenario.max_time,
        "hit_max_time": any(n > 0 for n in unfinished),
        "peak_rss_mb": _rss_mb(), "setup_rss_mb": setup_rss, "setup_s": setup_s, "peak_rss_after_run_mb": rss,
        "lower_bound_s": bound["seconds"], "lower_bound_wall_s": bound_s,
        "load_before": load_before, "load_after": os.getloadavg()[0],
        "engine": "compiled" if compiled() else "plain Python",
    }


def _spawn(size: int, route: str, repeats: int, root: Path = ROOT, *, plain: bool = False) -> dict[str, object]:
    """Time ``size`` occupants on ``route`` in a fresh process, on the code and files of the tree at ``root``
    (``plain``: the engine as plain Python even where it is compiled)."""
    cmd = [sys.executable, __file__, "--child", str(size), route, "--repeats", str(repeats), "--root", str(root)]
    env = {**os.environ, "TWIN_PLAIN_ENGINE": "1" if plain else "0"}
    done = subprocess.run(cmd, capture_output=True, text=True, check=False, cwd=root, env=env)
    lines = [ln for ln in done.stdout.splitlines() if ln.startswith("RESULT ")]
    if done.returncode or not lines:
        msg = f"{size} occupants, {route}: the child process failed ({done.returncode})\n{done.stderr[-2000:]}"
        raise RuntimeError(msg)
    return json.loads(lines[-1][len("RESULT "):])


@contextlib.contextmanager
def _worktree(rev: str | None) -> Iterator[Path | None]:
    """A temporary git worktree of revision ``rev`` (None: none), removed afterwards."""
    if rev is None:
        yield None
        return
    with tempfile.TemporaryDirectory(prefix="bench-ref-") as tmp:
        tree = Path(tmp) / "tree"
        made = subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", str(tree), rev],
                              check=False, capture_output=True, text=True)
        if made.returncode:  # e.g. a shallow clone without that revision: measure ours alone
            print(f"reference {rev} left out: git could not check it out ({made.stderr.strip()})")
            yield None
            return
        try:
            yield tree
        finally:
            subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(tree)], check=False,
                           capture_output=True)


def main(sizes: tuple[int, ...] = SIZES, routes: tuple[str, ...] = ROUTES, repeats: int = REPEATS,
         json_path: Path | None = None, reference: str | None = None, plain: bool = False) -> list[dict[str, object]]:
    """Time every size and route in its own process (and the plain engine's, and the ``reference`` revision's, right
    after); print; write the JSON."""
    with _worktree(reference) as ref_root:
        return _main(sizes, routes, repeats, json_path, reference, ref_root, plain)


def _main(sizes: tuple[int, ...], routes: tuple[str, ...], repeats: int, json_path: Path | None,  # noqa: C901
          reference: str | None, ref_root: Path | None, plain: bool) -> list[dict[str, object]]:
    print(f"machine: {_machine()}")
    print(f"scenario: {SCENARIO.relative_to(ROOT)} with its own occupancy factors scaled to each size; one fresh process "
          f"per size and route, one after another (-j 1), one core; {repeats} replications each")
    rows = []
    for route in routes:
        print(f"\nroute = {route}")
        print(f"{'occupants':>10} {'min s':>8} {'median s':>9} {'events':>10} {'events/s':>10} {'peak RSS MB':>12} "
              f"{'evac. s':>8} {'unfinished':>11} {'load':>10} {'engine':<12}")
        mine = []
        for n in sizes:
            r = _spawn(n, route, repeats)
            mine.append(r)
            _row(r, "")
            if plain:
                pl = _spawn(n, route, repeats, plain=True)
                r["plain"] = pl
                _row(pl, f"ours is {r['wall_median_s'] / pl['wall_median_s']:.2f} x")  # type: ignore[operator]
            if ref_root is not None:
                ref = _spawn(n, route, repeats, ref_root)
                r["reference"] = {"revision": reference, **ref}
                _row(ref, f"{reference}: ours is {r['wall_median_s'] / ref['wall_median_s']:.2f} x")  # type: ignore[operator]
        rows += mine
        if len(mine) >= 2:
            ns = [math.log(r["occupants"]) for r in mine]  # type: ignore[arg-type]
            ws = [math.log(r["wall_median_s"]) for r in mine]  # type: ignore[arg-type]
            mx, my = statistics.fmean(ns), statistics.fmean(ws)
            slope = sum((x - mx) * (y - my) for x, y in zip(ns, ws, strict=True)) / sum((x - mx) ** 2 for x in ns)
            n0, n1 = mine[0]["occupants"], mine[-1]["occupants"]
            nlogn = math.log(n1 * math.log(n1) / (n0 * math.log(n0))) / math.log(n1 / n0)  # type: ignore[operator, arg-type]
            print(f"growth: wall ~ N^{slope:.2f} (N log N over this range ~ N^{nlogn:.2f}) -> "
                  f"{'OK' if slope <= nlogn + 0.05 else 'WORSE than N log N'}")
        for r in mine:
            target = TARGETS_S.get(r["size"])  # type: ignore[arg-type]
            if target:
                w = r["wall_median_s"]
                print(f"{r['size']:,} occupants ({route}, {r['engine']}): median {w:.2f} s per replication = {w / target:.2f} x the "  # type: ignore[operator]
                      f"{target:g} s target -> {'MET' if w < target else 'MISSED'}"  # type: ignore[operator]
                      + (f"; {r['reference']['revision']} took {r['reference']['wall_median_s']:.2f} s here now "  # type: ignore[index]
                         f"({w / r['reference']['wall_median_s']:.2f} x)" if "reference" in r else ""))  # type: ignore[index, operator]
        r = mine[-1]
        print(f"setup (campus, graphs, network) at {r['occupants']:,}: {r['setup_s']:.1f} s, {r['setup_rss_mb']:,.0f} MB RSS "
              f"before the first run; lower bound computed once in {r['lower_bound_wall_s']:.2f} s "
              f"({r['lower_bound_s']:.0f} s simulated)")
    stuck = [r for r in rows if r["hit_max_time"]]
    if stuck:
        print("\n!!! RUNS STOPPED AT max_time WITH PEOPLE STILL MOVING: their wall time is not a whole evacuation")
        for r in stuck:
            print(f"!!!   {r['occupants']:,} occupants, {r['route']}: {', '.join(f'{u:,}' for u in r['unfinished'])} "  # type: ignore[attr-defined]
                  f"still moving at max_time = {r['max_time_s']:g} s (replications 0..{r['repeats'] - 1})")  # type: ignore[operator]
    if json_path is not None:
        json_path.parent.mkdir(parents=True, exist_ok=True)
        json_path.write_text(json.dumps({"machine": _machine(), "scenario": str(SCENARIO.relative_to(ROOT)),
                                         "runs": rows, "hit_max_time": [f"{r['occupants']} {r['route']}" for r in stuck]},
                                        indent=2))
        print(f"\nJSON: {json_path}")
    return rows


def _row(r: dict[str, object], note: str) -> None:
    """Print one size's line of the table (``note``: after it, e.g. for the reference revision)."""
    flag = "!" if r["hit_max_time"] else " "
    unf = max(r["unfinished"])  # type: ignore[call-overload]
    print(f"{r['occupants']:>10,} {r['wall_min_s']:>8.2f} {r['wall_median_s']:>9.2f} {r['events']:>10,} "
          f"{r['events'] / r['wall_median_s']:>10,.0f} {r['peak_rss_mb']:>12,.0f} {r['evacuation_time_s']:>8.0f} "  # type: ignore[operator]
          f"{unf:>10,}{flag} {r['load_before']:>4.1f}→{r['load_after']:<4.1f} {r['engine']:<12} {note}", flush=True)


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    ap.add_argument("--sizes", default=",".join(map(str, SIZES)), help="occupants, comma-separated")
    ap.add_argument("--routes", default=",".join(ROUTES))
    ap.add_argument("--repeats", type=int, default=REPEATS, help="replications per size (at least 5 for the figures)")
    ap.add_argument("--json", type=Path, default=ROOT / "out" / "bench" / "evacuation.json")
    ap.add_argument("--reference", metavar="REV", help="also time this git revision's engine, size by size, right after ours")
    ap.add_argument("--plain", action="store_true", help="also time our engine as plain Python (not compiled) right after")
    ap.add_argument("--child", nargs=2, metavar=("SIZE", "ROUTE"), help=argparse.SUPPRESS)
    ap.add_argument("--root", type=Path, default=ROOT, help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.child:
        sys.path.insert(0, str(a.root))
        print("RESULT " + json.dumps(child(int(a.child[0]), a.child[1], a.repeats, a.root)))
    else:
        main(tuple(int(s) for s in a.sizes.split(",")), tuple(a.routes.split(",")), a.repeats, a.json, a.reference, a.plain)

#!/usr/bin/env bash
# The trainer's debrief, end to end, on the demo campus (docs/exercises.md, "The debrief demo"):
# a lunchtime fire drill in the canteen is fed into an event store as the site's sensors would report it
# (door counters, cameras, the fire panel; a forecast on the alarm; an operator acknowledging it), cut out
# as an exercise recording, compared with the plan, and the plan calibrated to the drill.
# DRILL=teaching plays a morning drill in teaching building TB1 instead: both its exits queue, so the calibration
# needs its level cameras' counts (`make debrief-teaching`).
# Usage: [DRILL=canteen|teaching] scripts/debrief_demo.sh [OUT]   (default out/debrief; `make debrief` runs it)
set -euo pipefail
cd "$(dirname "$0")/.."
TWIN=${TWIN:-.venv/bin/twin}
PY=${PY:-.venv/bin/python}
OUT=${1:-out/debrief}
DRILL=${DRILL:-canteen}
case "$DRILL" in
  canteen)  DAY=2026-03-02T11:00:00+08:00; DETECTOR=CANTEEN-HD1; FROM=12:05; TO=12:50; PLAN=scenarios/demo/canteen-drill-plan.toml
            WHAT="a day from 11:00, the canteen's heat detector at 12:10 (local)";;
  teaching) DAY=2026-03-02T09:00:00+08:00; DETECTOR=TB1-L2-SD01; FROM=10:05; TO=10:50; PLAN=scenarios/demo/tb1-drill-plan.toml
            WHAT="a day from 09:00, a smoke detector on TB1's level 2 at 10:10 (local), classes on";;
  *) echo "DRILL=$DRILL: choose canteen or teaching" >&2; exit 2;;
esac
mkdir -p "$OUT"
rm -f "$OUT"/events.sqlite "$OUT"/events.sqlite-wal "$OUT"/events.sqlite-shm  # a new drill, not a second copy of the old one

echo "1/3 the drill: $WHAT, people leave, counted at the doors and by the cameras"
$TWIN feed simulate maps/demo --store "$OUT/events.sqlite" --start "$DAY" --duration 7200 \
    --fire-at 4200 --fire-detector "$DETECTOR" --interval 30 --seed 1 --operator trainer --json > "$OUT/feed.json"
echo "2/3 the exercise: the store from $FROM to $TO"
$TWIN exercise "$OUT/events.sqlite" --from "${DAY%%T*}T$FROM:00+08:00" --to "${DAY%%T*}T$TO:00+08:00" -o "$OUT/exercise.sqlite"
echo "3/3 drill versus plan, and the plan calibrated to the drill"
$TWIN compare "$OUT/exercise.sqlite" "$PLAN" -o "$OUT/compare" --calibrate --json > "$OUT/compare.json"
$PY - "$OUT" <<'PYEOF'
import json, sys
from pathlib import Path

out = Path(sys.argv[1])
feed = json.loads((out / "feed.json").read_text())
cmp = json.loads((out / "compare.json").read_text())
store = feed["store"]
print()
print("people counted out at the doors after the alarm:", ", ".join(f"{b} {n:,}" for b, n in store["counted_out"].items()))
print(f"forecasts stored: {store['forecasts']}; operator actions: " + "; ".join(f"{a['action']} by {a['user']}" for a in store["actions"]))
for b, f in cmp["figures"].items():
    a, p = f["actual"], f["simulated"]
    print(f"{b}: drill t50/t90/t100 {a['t50_s']:.0f}/{a['t90_s']:.0f}/{a['t100_s']:.0f} s, plan {p['t50_s']:.0f}/{p['t90_s']:.0f}/{p['t100_s']:.0f} s")
cal, truth = cmp["calibration"], feed["drill"]
seen = f"; camera counts of {', '.join(cal['camera_levels'])} ({cal['camera_people']:,.0f} people seen leaving)" if cal["camera_levels"] else ""
print(f"calibration (door counts{seen}), recovered vs the drill's own values:")
worst = 0.0
for key in ("flow_door", "premovement_mean_s", "premovement_sd_s"):
    got, want = cal[key], truth[key]
    ci = cal["uncertainty"].get(key, {}).get("ci95")
    off = abs(got / want - 1) if got is not None else float("inf")
    worst = max(worst, off)
    print(f"  {key:20s} {got if got is not None else 'not identified'} (true {want:g}, {off:.1%} off; 95 % interval {ci})")
print(f"worst: {worst:.1%} ({'within' if worst <= 0.10 else 'NOT within'} 10 %)")
print(f"compare report: {cmp['report']}")
print(f"calibrated scenario: {cal['written']}")
print(f"replay the drill: .venv/bin/twin replay {out / 'exercise.sqlite'}")
PYEOF

"""The live state: occupancy, alarms, health, fire blocking, late events, replay equality, fire → forecast."""

from __future__ import annotations

import json
import random
import time

import pytest

from scenarios.forecast import Forecaster
from sensors.ingest import Ingestor
from sensors.sources import synthetic_day
from sensors.store import EventStore
from twin import state as state_mod
from twin.state import LiveState

T0 = 1_772_323_200.0  # 2026-03-01 00:00 UTC
SMALL_SHARE = 0.05
"""Share of design occupants the forecasts assume where nobody counts: a few, not the cautious 100 % (20,000 people
to simulate); what is checked here does not depend on it."""


@pytest.fixture
def ing(demo, tmp_path):
    i = Ingestor(demo, EventStore(tmp_path / "e.sqlite", campus_digest=demo.digest), clock=lambda: T0 + 200_000)
    yield i
    i.close()


def e(sid, t, kind, **kw):
    return {"sensor_id": sid, "ts": T0 + t, "kind": kind, **kw}


def test_door_counts_never_negative_and_cameras_reconcile_drift(ing):
    ing.submit([e("DORM1-D1", 0, "crossing", direction="in", count=5), e("DORM1-D2", 1, "crossing", direction="out", count=8)])
    b = ing.state.occupancy()["buildings"]["DORM1"]
    assert b["count"] == 0 and b["drift"] == 3
    ing.submit([e("GATE-N", 2, "crossing", direction="out", count=2), e("GATE-S-P", 3, "crossing", direction="in", count=40)])
    o = ing.state.occupancy()
    assert (o["gate_balance"], o["gate_drift"], o["gates"]["GATE-S-P"]) == (40, 2, {"in": 40, "out": 0})
    # a teaching building whose door counters have not reported yet is counted by its cameras, one per level
    ing.submit([e("CAM-11", 4, "count", count=30), e("CAM-12", 5, "count", count=12)])
    tb1 = ing.state.occupancy()["buildings"]["TB1"]
    assert tb1["count"] == 42 and tb1["source"] == "doors" and tb1["levels"] == {"0": 30, "1": 12}
    assert "LIB" not in ing.state.occupancy()["buildings"]  # counters never heard from: not measured (not 0 people)
    assert ing.state.occupancy()["on_site"] == 42  # at least everyone seen inside


def test_alarms_by_priority_and_cleared_by_their_sensor(ing):
    ing.submit([
        e("CAM-01", 0, "alert", alert="crowding"),
        e("KA-LAB", 1, "intrusion"),
        e("TB1-L0-SD02", 2, "fire", state="fault"),
        e("POST-BASE", 3, "panic"),
        e("TB1-L0-SD01", 4, "fire", state="fire"),
    ])
    a = ing.state.alarms()
    assert [x["kind"] for x in a] == ["panic", "fire", "intrusion", "alert:crowding", "fault"]
    assert [x["priority"] for x in a] == [1, 1, 2, 3, 4]
    assert a[1]["node"] == "TB1-L0-R01" and a[1]["panel_zone"] == "TB1-L0"
    ing.submit([e("POST-BASE", 5, "panic", active=False), e("CAM-01", 6, "alert", alert="crowding", active=False),
                e("TB1-L0-SD02", 7, "fire", state="normal")])
    assert [x["kind"] for x in ing.state.alarms()] == ["fire", "intrusion"]


def test_fire_blocks_its_room_then_the_neighbourhood(ing):
    ing.submit([e("TB1-L0-SD01", 100, "fire", state="fire")])
    st = ing.state
    assert [b["node"] for b in st.blocked()] == ["TB1-L0-R01"]
    later = st.blocked(T0 + 100 + st.spread_delay)
    near = {b["node"] for b in later} - {"TB1-L0-R01"}
    assert near and near == set(st.neighbourhood("TB1-L0-R01"))
    assert all(demo_kind in ("room", "corridor", "stair", "floor") for demo_kind in
               (st.campus.graph.nodes[n]["kind"] for n in near))
    ing.submit([e("TB1-L0-SD01", 200, "fire", state="normal")])
    assert st.blocked(T0 + 1000) == []


def test_sensor_health_offline_faults_and_last_will(ing):
    ing.submit([e("CAM-01", 0, "count", count=3), e("CAM-02", 0, "count", count=3), e("TB1-L0-SD01", 0, "fire", state="fault"),
                e("CAM-03", 0, "heartbeat", status="offline")])
    h = ing.state.health(T0 + 60)
    assert h["problems"]["TB1-L0-SD01"]["status"] == "fault"
    assert h["problems"]["CAM-03"]["status"] == "offline"
    assert "CAM-01" not in h["problems"]
    h = ing.state.health(T0 + 3600)
    assert h["problems"]["CAM-01"]["status"] == "offline"  # silent past its interval
    assert h["never_seen"] == len(ing.registry) - 4


def test_late_events_apply_in_time_order(ing, monkeypatch):
    monkeypatch.setattr(state_mod, "CHECKPOINT_EVERY", 3)
    evs = [e("DORM2-D1", t, "crossing", direction="in" if t % 3 else "out", count=1 + t % 4, seq=t) for t in range(40)]
    ing.submit(evs[20:])
    ing.submit(evs[:20])  # late: they happened before everything already applied
    assert ing.state.rollbacks >= 1
    fresh = LiveState.replay(ing.campus, ing.store)
    assert fresh.snapshot() == ing.state.snapshot()
    assert ing.state.snapshot()["events_applied"] == 40


def test_a_late_forecast_takes_its_place_without_a_rollback(ing, monkeypatch):
    """The twin stores a forecast at its fire's time, seconds (thousands of events) after: it is put in its place in
    the state and in every checkpoint after it, as a fresh replay has it, with no rollback."""
    monkeypatch.setattr(state_mod, "CHECKPOINT_EVERY", 3)
    monkeypatch.setattr(state_mod, "CHECKPOINTS_DENSE", 2)
    evs = [e("DORM2-D1", t, "crossing", direction="in" if t % 3 else "out", count=1 + t % 4, seq=t) for t in range(60)]
    ing.submit(evs[:40])

    def fc(t: float, scope: str, minutes: float) -> dict:
        return e("twin", t, "forecast", forecast={"scope": scope, "evacuation_time_s": minutes * 60, "trigger": {"ts": T0 + t}})

    ing.submit([fc(10.5, "building", 4)], allow_twin=True)  # late: 29 events already applied after it
    ing.submit([fc(5.5, "building", 3)], allow_twin=True)  # later still, and older than the one shown: not shown
    ing.submit([fc(20.5, "campus", 9)], allow_twin=True)
    assert ing.state.rollbacks == 0
    assert ing.state.forecasts()["building"]["evacuation_time_s"] == 240
    late = [e("DORM2-D2", t + 0.25, "crossing", direction="out", count=2, seq=100 + t) for t in (15, 16, 17)]
    ing.submit(evs[40:] + late)  # a batch with late crossings: a rollback through checkpoints the forecasts updated
    assert ing.state.rollbacks == 1
    fresh = LiveState.replay(ing.campus, ing.store)
    assert fresh.snapshot() == ing.state.snapshot() and fresh.strip() == ing.state.strip()
    assert ing.state.snapshot()["events_by_kind"]["forecast"] == 3 and ing.state.snapshot()["events_applied"] == 66


def test_checkpoints_are_dense_near_the_newest_event_and_thinned_further_back(ing, monkeypatch):
    monkeypatch.setattr(state_mod, "CHECKPOINT_EVERY", 2)
    monkeypatch.setattr(state_mod, "CHECKPOINTS_DENSE", 3)
    monkeypatch.setattr(state_mod, "CHECKPOINTS_KEPT", 6)
    evs = [e("GATE-N", t, "crossing", direction="in" if t % 5 else "out", count=1 + t % 3, seq=t) for t in range(60)]
    ing.submit(evs[:50])
    serials = [c[2] for c in ing.state._checkpoints]
    assert serials == [12, 16, 20, 23, 24, 25]  # every 2 events for the newest three, every 4th checkpoint before
    reads = []
    events = ing.store.events
    monkeypatch.setattr(ing.store, "events", lambda *a, **k: reads.append(1) or events(*a, **k))
    ing.submit(evs[50:] + [e("GATE-N", 27.5, "crossing", direction="out", count=3, seq=127)])  # late, behind the dense
    assert (ing.state.rollbacks, reads) == (1, [])  # checkpoints: rolled back in memory to a thinned one
    ing.submit([e("GATE-N", 3.5, "crossing", direction="out", count=3, seq=103)])  # older than every checkpoint kept:
    assert (ing.state.rollbacks, reads) == (2, [1])  # the state is rebuilt from the store
    assert LiveState.replay(ing.campus, ing.store).snapshot() == ing.state.snapshot()


def test_batches_submitted_from_many_threads_give_the_state_a_replay_gives(demo, tmp_path, monkeypatch):
    """Batches are written to disk outside the state's lock and handed over in the order stored: threads submitting
    at once (late events, rollbacks, rebuilds from the store among them) while others read leave the state a fresh
    replay of the store gives."""
    import threading

    monkeypatch.setattr(state_mod, "CHECKPOINT_EVERY", 20)
    monkeypatch.setattr(state_mod, "CHECKPOINTS_KEPT", 4)
    day = synthetic_day(demo, seed=3, start=T0, duration=3 * 3600, interval=900)[:3000]
    ing = Ingestor(demo, EventStore(tmp_path / "e.sqlite"), clock=lambda: T0 + 100_000)
    chunks = [day[k:k + 50] for k in range(0, len(day), 50)]
    random.Random(1).shuffle(chunks)  # most batches arrive late
    done = threading.Event()
    reads: list[int] = []

    def reader() -> None:
        while not done.wait(0.001):  # a read every millisecond or so, not a spin that takes the writers' turns
            with ing.lock:
                reads.append(ing.state.applied)

    def writer(k: int) -> None:
        for c in chunks[k::4]:
            ing.submit(c)

    try:
        threads = [threading.Thread(target=writer, args=(k,)) for k in range(4)]
        r = threading.Thread(target=reader)
        r.start()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        done.set()
        r.join()
        assert ing.state.rollbacks > 0 and reads == sorted(reads)
        assert ing.store.count() == ing.state.applied == len(day)
        assert LiveState.replay(demo, ing.store).snapshot() == ing.state.snapshot()
    finally:
        ing.close()


def test_batches_waiting_for_a_commit_share_the_next_one_and_a_failed_commit_fails_them_all(ing, monkeypatch):
    """Group commit: while one batch is on disk, the batches submitted meanwhile wait and go to disk together in one
    transaction; each is answered only after that commit. A commit that fails fails every batch of its group and
    stores nothing of it."""
    import threading

    from sensors.store import StoreFull
    from tests.helpers import wait_for

    calls: list[int] = []
    on_disk, release = threading.Event(), threading.Event()
    append = ing.store.append
    fail_next = []

    def slow_append(records, **kw):
        records = list(records)
        calls.append(len(records))
        if len(calls) == 1:  # the first commit stays on disk until the others are waiting
            on_disk.set()
            release.wait(30)
        if fail_next:
            raise StoreFull("the disk is full (test)")
        return append(records, **kw)

    monkeypatch.setattr(ing.store, "append", slow_append)
    answers: dict[str, object] = {}

    def post(name: str, batch: list) -> None:
        try:
            answers[name] = [o.status for o in ing.submit(batch)]
        except StoreFull as x:
            answers[name] = x

    first = threading.Thread(target=post, args=("first", [e("CAM-11", 0, "count", count=5, seq=1)]))
    first.start()
    assert on_disk.wait(30)
    later = [threading.Thread(target=post, args=(f"b{k}", [e("GATE-N", 10 + k, "crossing", direction="in", seq=100 + 2 * k),
                                                          e("GATE-N", 10.5 + k, "crossing", direction="in", seq=101 + 2 * k)]))
             for k in range(3)]
    alarm = threading.Thread(target=post, args=("alarm", [e("POST-BASE", 20, "panic", active=True)]))
    for t in [*later, alarm]:
        t.start()
    wait_for(lambda: len(ing._pending) == 4, what="four batches waiting for the commit under way")
    assert answers == {}  # nobody is answered before the commit that holds their batch
    release.set()
    for t in [first, *later, alarm]:
        t.join(30)
    assert calls == [1, 7]  # two commits: the first batch, then the four that waited, together
    assert answers == {"first": ["accepted"], **{f"b{k}": ["accepted", "accepted"] for k in range(3)}, "alarm": ["accepted"]}
    assert ing.store.count() == ing.state.applied == 8 and ing.state.alarms()[0]["kind"] == "panic"
    assert LiveState.replay(ing.campus, ing.store).snapshot() == ing.state.snapshot()

    calls.clear()
    on_disk.clear()
    release.clear()
    first = threading.Thread(target=post, args=("first", [e("CAM-11", 30, "count", count=7, seq=3)]))
    first.start()
    assert on_disk.wait(30)
    later = [threading.Thread(target=post, args=(f"b{k}", [e("GATE-N", 40 + k, "crossing", direction="in", seq=200 + k)]))
             for k in range(2)]
    for t in later:
        t.start()
    wait_for(lambda: len(ing._pending) == 2, what="two batches waiting for the commit under way")
    fail_next.append(True)  # the first commit fails too: its batch alone; the next fails both waiting batches
    release.set()
    for t in [first, *later]:
        t.join(30)
    assert calls == [1, 2] and all(isinstance(answers[k], StoreFull) for k in ("first", "b0", "b1"))
    assert ing.store.count() == ing.state.applied == 8  # nothing of the failed groups is stored or applied


def test_replaying_the_store_reproduces_the_live_state(demo, tmp_path):
    day = synthetic_day(demo, seed=1, start=T0, duration=12 * 3600, interval=900, fire_at=9 * 3600)
    rng = random.Random(0)
    ing = Ingestor(demo, EventStore(tmp_path / "e.sqlite"), clock=lambda: T0 + 100_000)
    forecaster = Forecaster(ing, unmeasured_share=SMALL_SHARE)
    ing.subscribe(forecaster.on_events)
    try:
        i = 0
        while i < len(day):  # batches of random size, some shuffled (late events), some repeated (duplicates)
            n = rng.randint(1, 400)
            batch = day[i:i + n]
            if rng.random() < 0.3:
                rng.shuffle(batch)
            if rng.random() < 0.2 and i:
                batch = batch + day[max(0, i - 50):i]
            ing.submit(batch)
            i += n
        assert forecaster.wait(60)
        assert not forecaster.errors
        live = ing.snapshot()
        store = live.pop("store")
        forecasts = live["events_by_kind"]["forecast"]
        # building and campus after the fire alarm, again when counts change while the fire is on (every REFRESH_S)
        assert forecasts >= 2 and forecasts % 2 == 0
        assert store["accepted"] == store["events"] == len(day) + forecasts
        replayed = LiveState.replay(demo, EventStore(tmp_path / "e.sqlite")).snapshot()
        assert json.dumps(replayed, sort_keys=True) == json.dumps(live, sort_keys=True)
        assert replayed["alarms"][0]["kind"] == "fire"
        assert set(replayed["forecasts"]) == {"building", "campus"}
    finally:
        forecaster.stop()
        ing.close()


def test_fire_alarm_yields_a_stored_forecast(demo, tmp_path):
    """A fire alarm starts a building forecast from the live counts, stored as an event (its latency: benchmarks/bench_ingest.py)."""
    ing = Ingestor(demo, EventStore(tmp_path / "e.sqlite"), clock=lambda: T0 + 10_000)
    forecaster = Forecaster(ing, unmeasured_share=SMALL_SHARE)
    ing.subscribe(forecaster.on_events)
    try:
        ing.submit([e("CAM-11", 0, "count", count=200), e("CAM-12", 0, "count", count=150), e("CAM-13", 0, "count", count=180),
                    e("DORM1-D1", 0, "crossing", direction="in", count=300)])
        ing.submit([e("TB1-L2-SD01", 10, "fire", state="fire", seq=1)])
        deadline = time.monotonic() + 60  # a wait, not a speed limit
        while not ing.state.forecasts().get("building") and time.monotonic() < deadline:
            time.sleep(0.01)
        fc = ing.state.forecasts()["building"]
        assert fc["building"] == "TB1" and fc["trigger"]["sensor_id"] == "TB1-L2-SD01"
        assert fc["occupants"] == 530  # who the cameras count in TB1 now, not its design 2,248
        assert fc["building_clearance_s"] > 0 and fc["routes"]["TB1"]
        assert fc["fire_origin"] == "TB1-L2-SD01"
        stored = [r for _, r in ing.store.events() if r["kind"] == "forecast"]
        assert "building" in {r["forecast"]["scope"] for r in stored}
        assert forecaster.wait(60)
        campus = ing.state.forecasts()["campus"]
        assert campus["occupants"] > fc["occupants"] and "TB1" not in campus["unmeasured"] and "LIB" in campus["unmeasured"]
        # 300 s later a second detector on the floor: the fire has spread, its corridor is closed from the start,
        # and the people still in rooms off it cannot get out, counted by building
        ing.submit([e("TB1-L2-SD05", 310, "fire", state="fire", seq=2)])
        assert forecaster.wait(60)
        late = ing.state.forecasts()["building"]
        assert late["trigger"]["sensor_id"] == "TB1-L2-SD05" and late["spread_delay_s"] == 0
        assert late["trapped"] > 0 and late["trapped_by_building"] == {"TB1": late["trapped"]}, late["trapped"]
        assert fc["trapped_by_building"] == {} or sum(fc["trapped_by_building"].values()) == fc["trapped"]
        print(f"forecast latency: building {forecaster.latency_s['building']:.2f} s, campus {forecaster.latency_s['campus']:.2f} s")
    finally:
        forecaster.stop()
        ing.close()


def test_a_manual_call_point_alarms_but_blocks_nothing(ing):
    ing.submit([e("TB1-L2-MCP1", 0, "fire", state="fire")])
    assert ing.state.alarms()[0]["kind"] == "fire"
    assert ing.state.blocked(T0 + 1000) == []


def test_subscribers_get_each_stored_batch_and_a_failing_one_changes_no_answer(ing):
    got = []

    def broken(records):
        raise RuntimeError("a subscriber's bug")

    ing.subscribe(broken)
    ing.subscribe(got.append)
    batch = [e("CAM-11", 0, "count", count=5, seq=1), e("CAM-11", 1, "count", count=6, seq=2)]
    assert [o.status for o in ing.submit(batch)] == ["accepted", "accepted"]
    assert [o.status for o in ing.submit(batch[:1])] == ["duplicate"]  # nothing new: nobody is called
    assert [[r["count"] for r in records] for records in got] == [[5, 6]]


def test_the_state_is_read_through_its_methods_and_a_copy_stays_put(ing):
    ing.submit([e("TB1-L2-SD01", 0, "fire", state="fire"), e("GATE-N", 5, "crossing", direction="in")])
    st = ing.state
    assert st.clock == T0 + 5 and st.applied == 2 and st.events_by_kind() == {"crossing": 1, "fire": 1}
    assert [f["detector"] for f in st.fires()] == ["TB1-L2-SD01"] and st.forecasts() == {}
    assert st.status("GATE-N") == "ok" and st.status("GATE-N", T0 + 10**6) == "offline" and st.status("CAM-11") == "never_seen"
    frozen = st.copy()
    ing.submit([e("TB1-L2-SD01", 10, "fire", state="normal")])
    assert st.fires() == [] and [f["detector"] for f in frozen.fires()] == ["TB1-L2-SD01"]
    assert frozen.applied == 2 and st.applied == 3

"""Sensor events, registry, the durable store (dedup, append-only, SIGKILL) and the event sources."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time

import pytest

from sensors.events import MAX_CROSSING, parse_event, to_record
from twin.registry import Registry
from sensors.sources import paced, read_ndjson, synthetic_day, write_ndjson
from sensors.store import EventStore, StoreError
from tests.helpers import ROOT

NOW = time.time()


def ev(**kw):
    base = {"sensor_id": "GATE-N", "ts": NOW - 10, "kind": "crossing", "direction": "in"}
    base.update(kw)
    return base


# -- events -------------------------------------------------------------------


@pytest.mark.parametrize("raw", [
    ev(),
    ev(count=12, seq=3, lane="pedestrian"),
    ev(ts="2026-03-01T08:00:00Z"),
    ev(ts="2026-03-01T08:00:00+08:00"),
    ev(ts=str(NOW - 5)),
    {"sensor_id": "CAM-01", "ts": NOW, "kind": "count", "count": 0},
    {"sensor_id": "CAM-01", "ts": NOW, "kind": "alert", "alert": "crowding"},
    {"sensor_id": "CAM-01", "ts": NOW, "kind": "alert", "alert": "intrusion", "active": False},
    {"sensor_id": "TB1-L0-SD01", "ts": NOW, "kind": "fire", "state": "pre_alarm", "panel_zone": "TB1-L0"},
    {"sensor_id": "KA-LAB", "ts": NOW, "kind": "intrusion"},
    {"sensor_id": "POST-BASE", "ts": NOW, "kind": "panic"},
    {"sensor_id": "CAM-01", "ts": NOW, "kind": "heartbeat", "status": "offline"},
])
def test_valid_events_parse(raw):
    e = parse_event(raw)
    assert not isinstance(e, list), e
    assert e.kind == raw["kind"]
    assert isinstance(to_record(e)["ts"], float)


def test_iso_and_epoch_are_the_same_instant():
    a = parse_event(ev(ts="2026-03-01T08:00:00Z"))
    b = parse_event(ev(ts=1772352000))
    assert a.ts == b.ts == 1772352000.0


def test_card_ids_are_dropped_at_the_edge():
    e = parse_event(ev(card="04:A2:19:FF", card_id="123456"))
    rec = to_record(e)
    assert "card" not in rec and "card_id" not in rec
    assert "04:A2" not in json.dumps(rec)


@pytest.mark.parametrize(("raw", "field", "words"), [
    (b"{not json", None, "not valid JSON"),
    (b'["a list"]', None, "JSON object"),
    ("{text}", None, "JSON object"),
    (ev(kind="teleport"), "kind", "unknown kind"),
    ({"sensor_id": "GATE-N", "ts": NOW, "direction": "in"}, "kind", "missing"),
    (ev(direction="sideways"), "direction", "'in' or 'out'"),
    (ev(count="many"), "count", "integer"),
    (ev(count=-3), "count", "greater than or equal to 1"),
    (ev(count=MAX_CROSSING + 1), "count", "less than or equal"),
    ({"sensor_id": "CAM-01", "ts": NOW, "kind": "count", "count": -1}, "count", "greater than or equal to 0"),
    ({"sensor_id": "CAM-01", "ts": NOW, "kind": "count", "count": 10**9}, "count", "less than or equal"),
    (ev(ts=NOW + 86_400), "ts", "in the future"),
    (ev(ts="yesterday"), "ts", "not ISO 8601"),
    (ev(ts="2026-03-01T08:00:00"), "ts", "UTC offset"),
    (ev(ts=12), "ts", "before 2000"),
    (ev(ts=True), "ts", "ISO 8601"),
    (ev(seq=-1), "seq", "greater than or equal to 0"),
    (ev(sensor_id=""), "sensor_id", "at least 1"),
    (ev(sensor_id="a/b"), "sensor_id", "pattern"),
    (ev(colour="red"), "colour", "unknown field"),
    ({"sensor_id": "TB1-L0-SD01", "ts": NOW, "kind": "fire", "state": "smoky"}, "state", "pre_alarm"),
    ({"sensor_id": "twin", "ts": NOW, "kind": "forecast", "forecast": {}}, "kind", "unknown kind"),
])
def test_bad_events_name_the_field(raw, field, words):
    probs = parse_event(raw, source="test")
    assert isinstance(probs, list) and probs
    assert probs[0].field == field
    assert words in str(probs[0]), str(probs[0])


# -- registry -------------------------------------------------------------------


def test_registry_links_every_sensor_to_the_graph(demo):
    reg = Registry(demo)
    f = demo.features
    assert reg.summary() == {"camera": int((f.kind == "camera").sum()), "detector": int((f.kind == "detector").sum()),
                             "door": int(((f.kind == "door") & ((f["access"] == "card") | (f["counter"] == True))).sum()), "gate": 3,  # noqa: E712
                             "key_area": int((f.kind == "key_area").sum()), "post": int((f.kind == "post").sum())}
    for s in reg.sensors.values():
        if s.type in ("camera", "detector", "door", "gate", "post"):
            assert s.node in demo.graph, s
    cam = reg.get("CAM-11")
    assert (cam.building, cam.level, cam.zone) == ("TB1", 0, "TB1-L0")
    assert reg.get("TB1-L0-SD01").node == "TB1-L0-R01"
    # every building exit of the demo campus has a people counter (the dorms' entrances are card doors too)
    exits = f[(f.kind == "door") & (f["exit"] == True)]  # noqa: E712
    assert {s.id for s in reg.by_type["door"]} == set(exits.index)
    assert reg.card_buildings == sorted(f.index[f.kind == "building"])


def test_registry_rejects_unknown_sensors_and_wrong_kinds(demo):
    reg = Registry(demo)
    assert "unknown sensor 'CAM-999'" in reg.check("CAM-999", "count")
    assert "a detector cannot send 'crossing'" in reg.check("TB1-L0-SD01", "crossing")
    assert "unknown sensor" in reg.check("TB1-L0-D01", "crossing")  # a door without a card reader is no sensor
    assert reg.check("DORM1-D1", "crossing") is None


# -- store --------------------------------------------------------------------------


def rec(sid="GATE-N", seq=None, ts=1_700_000_000.0, **kw):
    r = {"sensor_id": sid, "ts": ts, "kind": "crossing", "direction": "in", "count": 1, **kw}
    if seq is not None:
        r["seq"] = seq
    return r


def test_store_is_wal_deduplicates_and_reads_in_time_order(tmp_path):
    st = EventStore(tmp_path / "e.sqlite", campus_digest="abc")
    assert st.db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    ids = st.append([rec(seq=1, ts=30), rec(seq=2, ts=10), rec(seq=1, ts=30), rec(ts=20), rec(ts=20)])
    assert ids[2] is None and None not in (ids[0], ids[1], ids[3], ids[4])  # no seq: never deduplicated
    assert st.append([rec(seq=2, ts=10)]) == [None]
    assert st.count() == 4
    assert st.counters() == {"accepted": 4, "duplicate": 2}
    assert [r["ts"] for _, r in st.events()] == [10, 20, 20, 30]
    assert [r["ts"] for _, r in st.events(after=(20.0, ids[3]))] == [20, 30]
    assert [r["ts"] for _, r in st.events(batch=1)] == [10, 20, 20, 30]


def test_store_is_append_only(tmp_path):
    st = EventStore(tmp_path / "e.sqlite")
    st.append([rec(seq=1)])
    for sql in ("UPDATE events SET ts = 0", "DELETE FROM events"):
        with pytest.raises(sqlite3.DatabaseError, match="append-only"):
            st.db.execute(sql)
    assert st.count() == 1


def test_store_refuses_another_campus_and_keeps_its_campus(tmp_path):
    EventStore(tmp_path / "e.sqlite", campus_digest="abc", campus_path="maps/demo").close()
    again = EventStore(tmp_path / "e.sqlite")
    assert (again.campus_digest, again.campus_path) == ("abc", "maps/demo")
    with pytest.raises(StoreError, match="another campus"):
        EventStore(tmp_path / "e.sqlite", campus_digest="xyz")


WRITER = textwrap.dedent("""
    import sys
    from sensors.store import EventStore
    st = EventStore(sys.argv[1])
    seq = 0
    while True:
        batch = [{"sensor_id": "GATE-N", "seq": seq + i, "ts": 1.7e9 + seq + i, "kind": "crossing", "direction": "in", "count": 1}
                 for i in range(200)]
        st.append(batch)
        seq += 200
        print(seq, flush=True)  # acknowledged: everything below seq is committed
""")


def test_sigkill_loses_nothing_acknowledged(tmp_path):
    path = tmp_path / "e.sqlite"
    p = subprocess.Popen([sys.executable, "-c", WRITER, str(path)], stdout=subprocess.PIPE, text=True, cwd=ROOT)
    acked = 0
    try:
        while acked < 3000:
            line = p.stdout.readline()
            assert line, "writer died"
            acked = int(line)
    finally:
        os.kill(p.pid, signal.SIGKILL)
        p.wait()
    st = EventStore(path)
    seqs = [s for _, s in st.keys()]
    assert len(seqs) >= acked
    assert seqs == list(range(len(seqs)))  # every acknowledged one, once, in order; nothing torn
    assert st.db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


# -- sources ----------------------------------------------------------------------


def test_synthetic_day_is_realistic_and_reproducible(demo):
    start = 1_772_294_400.0  # 2026-03-01 00:00 local on the demo campus (Asia/Shanghai, UTC+8): the day follows local hours
    a = synthetic_day(demo, seed=3, start=start, interval=600, fire_at=10 * 3600)
    b = synthetic_day(demo, seed=3, start=start, interval=600, fire_at=10 * 3600)
    assert a == b
    assert a != synthetic_day(demo, seed=4, start=start, interval=600, fire_at=10 * 3600)
    assert [e["ts"] for e in a] == sorted(e["ts"] for e in a)
    assert all(start <= e["ts"] < start + 86_400 for e in a)
    reg = Registry(demo)
    assert all(reg.check(e["sensor_id"], e["kind"]) is None for e in a)
    assert all(not isinstance(parse_event(e, now=start + 86_400), list) for e in a)
    seqs: dict[str, list[int]] = {}
    for e in a:
        seqs.setdefault(e["sensor_id"], []).append(e["seq"])
    assert all(s == list(range(1, len(s) + 1)) for s in seqs.values())
    kinds = {e["kind"] for e in a}
    assert kinds == {"crossing", "count", "heartbeat", "fire"}
    fire = [e for e in a if e["kind"] == "fire" and e["state"] in ("pre_alarm", "fire")]
    assert fire[0]["state"] == "pre_alarm" and fire[0]["ts"] == start + 36_000 and fire[1]["state"] == "fire"
    # mornings bring people in through the gates, evenings take them out
    gate_in = lambda h0, h1, d: sum(e["count"] for e in a if e["kind"] == "crossing" and e["sensor_id"].startswith("GATE")  # noqa: E731
                                    and e["direction"] == d and start + h0 * 3600 <= e["ts"] < start + h1 * 3600)
    assert gate_in(7, 9, "in") > 3 * gate_in(7, 9, "out")
    assert gate_in(17, 19, "out") > 3 * gate_in(17, 19, "in")
    assert any(e["kind"] == "heartbeat" and e.get("status") == "offline" for e in a)  # cameras go silent
    assert any(e["kind"] == "fire" and e["state"] == "fault" for e in a)


class FakeClock:
    """Stands in for the ``time`` module: ``sleep`` advances ``perf_counter`` exactly and is logged."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def perf_counter(self) -> float:
        return self.now

    monotonic = perf_counter

    def time(self) -> float:
        return 1.7e9 + self.now

    def sleep(self, s: float) -> None:
        self.sleeps.append(s)
        self.now += s


def test_ndjson_round_trip_and_paced_replay(tmp_path, monkeypatch):
    events = [{"sensor_id": "GATE-N", "ts": 1.7e9 + i * 0.1, "kind": "heartbeat", "seq": i} for i in range(6)]
    path = tmp_path / "day.ndjson"
    assert write_ndjson(events, path) == 6
    with path.open("a") as fh:
        fh.write("{broken\n")
    back = list(read_ndjson(path))
    assert back[:6] == events and back[6] == "{broken"
    import sensors.sources

    for kw in ({"speed": 2.0}, {"rate": 20}):  # 0.5 s of feed at 2x, or 6 events at 20/s: each 0.05 s apart
        clock = FakeClock()
        monkeypatch.setattr(sensors.sources, "time", clock)
        out = []
        for ev in paced(events, **kw):
            out.append((ev, clock.now - 1000.0))
        assert [ev for ev, _ in out] == events
        assert [t for _, t in out] == pytest.approx([0.05 * i for i in range(6)]), kw  # each at its time, never early


def test_every_json_example_in_the_docs_is_a_valid_event(demo):
    import re

    text = (ROOT / "docs" / "sensors.md").read_text()
    blocks = re.findall(r"```json\n(.*?)```", text, flags=re.S)
    assert len(blocks) >= 7
    reg = Registry(demo)
    for b in blocks:
        e = parse_event(json.loads(b), now=2e9)
        assert not isinstance(e, list), (b, e)
        assert reg.check(e.sensor_id, e.kind) is None, b

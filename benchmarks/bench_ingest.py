"""Benchmark: sustained sensor ingest through Mosquitto into the store and the live state (target 10,000 events/s).

Run with ``make bench`` (needs Debian's mosquitto). A synthetic day on the demo
campus (a fixed day, 2026-03-01 from local midnight, so the workload never
depends on when the benchmark runs) is published by separate publisher
processes to a Mosquitto of our own (free loopback port); the twin's MQTT
adapter takes it with QoS 1, commits it to a fresh SQLite store (WAL,
``synchronous=FULL``: an acknowledged event survives a power cut) and applies
it to the live state. The publishers are paced at the target together (each
at its share), so their streams interleave in time order instead of drifting
apart and forcing late-event rollbacks; the rollbacks that remain are printed
beside each rate. The clock runs from the first publish to the last event
applied. Three ways:

- one MQTT message per event (``campus/<sensor>/<kind>``), the way single sensors publish;
- gateway batches of 100 events per message (``campus/events``), the way a site gateway or fire panel bridge publishes;
- straight into ``Ingestor.submit`` (no broker): the store and state ceiling.

During the batched run a one-button alarm is published every 0.2 s on its own
topic, stamped with the workload's time at that moment, and the time from its
publish to the live state is measured. Then a fire alarm on the populated demo
campus is timed to its stored forecasts (run in the forecast worker process).
Machines here are shared and noisy: read medians and ratios.
"""

from __future__ import annotations

import json
import multiprocessing as mp
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))
sys.path.insert(0, str(ROOT))
from bench_load import _machine  # noqa: E402

from scenarios.forecast import Forecaster  # noqa: E402
from sensors.broker import mosquitto_binary, start_mosquitto  # noqa: E402
from sensors.ingest import Ingestor  # noqa: E402
from sensors.mqtt import MqttIngest  # noqa: E402
from sensors.sources import publish, synthetic_day  # noqa: E402
from sensors.store import EventStore  # noqa: E402
from twin.campus import load_campus  # noqa: E402

TARGET = 10_000
PUBLISHERS = 2
DAY = (2026, 3, 1)
"""The synthetic day published (from local midnight in the campus's time zone)."""


SLACK_S = 0.005
"""A publisher sleeps only when this far ahead of its schedule: a sleep per message (0.1 ms apart at 10,000/s) costs
more than the message on a busy machine, and would pace it below its rate."""


def paced(events: list, rate: float) -> Iterator[dict]:
    """``events`` at ``rate`` per second from now, in bursts of at most ``SLACK_S`` of them."""
    t0 = time.perf_counter()
    for n, ev in enumerate(events):
        wait = t0 + n / rate - time.perf_counter()
        if wait > SLACK_S:
            time.sleep(wait)
        yield ev


def _publisher(url: str, events: list, batch: int, q: mp.Queue, go: mp.Event, rate: float | None) -> None:
    q.put("ready")
    go.wait()
    q.put(publish(paced(events, rate) if rate else events, url, batch=batch, timeout=300))


def run_mqtt(campus, url: str, events: list, *, batch: int, folder: Path, alarms: bool = False, rate: float | None = None) -> dict:
    """Publish ``events`` from PUBLISHERS processes; time until all are stored and applied."""
    ing = Ingestor(campus, EventStore(folder / f"mqtt-{batch}-{rate}.sqlite"))
    latencies: list[float] = []
    sent: dict[int, float] = {}  # alarm seq -> wall time of its publish
    if alarms:
        def listen(recs: list) -> None:
            t = time.perf_counter()
            latencies.extend(t - sent[r["seq"]] for r in recs if r["kind"] == "panic" and r.get("seq") in sent)
        ing.listeners.append(listen)
    m = MqttIngest(ing, url, client_id=f"bench-{batch}-{rate}")
    m.start()
    assert m.wait_connected()
    parts = [events[i::PUBLISHERS] for i in range(PUBLISHERS)]
    for p in parts:
        p.sort(key=lambda e: e["ts"])
    ctx = mp.get_context("spawn")  # never fork a process that runs threads
    q = ctx.Queue()
    go = ctx.Event()
    procs = [ctx.Process(target=_publisher, args=(url, p, batch, q, go, rate / PUBLISHERS if rate else None)) for p in parts]
    stop = threading.Event()

    def alarm_loop() -> None:
        import paho.mqtt.client as mqtt

        c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="bench-panic-button")
        c.connect("127.0.0.1", int(url.rsplit(":", 1)[1]))
        c.loop_start()
        n = 0
        times = [e["ts"] for e in events]
        while not stop.is_set():
            n += 1
            due = min(len(times) - 1, int((time.perf_counter() - t0) * (rate or TARGET)))  # the workload's time now
            sent[10**9 + n] = time.perf_counter()
            c.publish("campus/POST-BASE/panic", json.dumps({"ts": times[due], "active": n % 2 == 1, "seq": 10**9 + n}), qos=1)
            time.sleep(0.2)
        c.disconnect()
        c.loop_stop()

    for p in procs:
        p.start()
    for _ in procs:
        assert q.get(timeout=120) == "ready"
    t0 = time.perf_counter()
    go.set()
    th = threading.Thread(target=alarm_loop, daemon=True) if alarms else None
    if th:
        th.start()
    n = len(events)
    while _applied(ing) < n:
        time.sleep(0.005)
        if time.perf_counter() - t0 > 300:
            print(f"  timed out: {ing.state.applied:,} applied, store {ing.store.counters()}, mqtt {m.status()} {m.errors[:3]}")
            break
    wall = time.perf_counter() - t0
    stop.set()
    results = [q.get(timeout=60) for _ in procs]
    for p in procs:
        p.join()
    if th:
        th.join()
    m.stop()
    stored = ing.store.count() - ing.state.events_by_kind().get("panic", 0)
    rollbacks = ing.state.rollbacks
    ing.close()
    return {"events": n, "stored": stored, "rollbacks": rollbacks, "messages": sum(r["messages"] for r in results), "wall": wall,
            "rate": n / wall, "publish_s": max(r["seconds"] for r in results), "latencies": latencies}


def _applied(ing: Ingestor) -> int:
    """Events applied, not counting the one-button alarms posted alongside (under the lock: ingest runs meanwhile)."""
    with ing.lock:
        return ing.state.applied - ing.state.events_by_kind().get("panic", 0)


def run_direct(campus, events: list, folder: Path, batch: int = 1000) -> dict:
    ing = Ingestor(campus, EventStore(folder / "direct.sqlite"))
    t0 = time.perf_counter()
    for i in range(0, len(events), batch):
        ing.submit(events[i:i + batch])
    wall = time.perf_counter() - t0
    ing.close()
    return {"events": len(events), "wall": wall, "rate": len(events) / wall}


def forecast_latency(campus, events: list, folder: Path, repeats: int = 3) -> list[dict]:
    """Fire alarm on the populated demo campus → stored building and campus forecasts (seconds)."""
    out = []
    for r in range(repeats):
        ing = Ingestor(campus, EventStore(folder / f"fc-{r}.sqlite"))
        forecaster = Forecaster(ing)
        ing.subscribe(forecaster.on_events)
        for i in range(0, len(events), 5000):
            ing.submit([e for e in events[i:i + 5000] if e["kind"] != "fire"])
        det = f"TB{1 + r % 3}-L2-SD01"
        t0 = time.perf_counter()
        ing.submit([{"sensor_id": det, "ts": events[-1]["ts"] + 1, "kind": "fire", "state": "fire"}])
        while "building" not in ing.state.forecasts():
            time.sleep(0.002)
        t_b = time.perf_counter() - t0
        forecaster.wait(120)
        t_c = time.perf_counter() - t0
        fc = ing.state.forecasts()
        out.append({"detector": det, "building_s": t_b, "campus_s": t_c, "building_people": fc["building"]["occupants"],
                    "campus_people": fc["campus"]["occupants"], "clearance_s": fc["building"]["building_clearance_s"],
                    "campus_evac_s": fc["campus"]["evacuation_time_s"]})
        forecaster.stop()
        ing.close()
    return out


def main() -> None:
    """Run every measurement and print the figures."""
    if mosquitto_binary() is None:
        print("bench_ingest: mosquitto missing: run `apt-get install -y mosquitto`")
        return
    campus = load_campus(ROOT / "maps" / "demo")
    zone = ZoneInfo(campus.features.attrs.get("time_zone", "UTC"))
    day = synthetic_day(campus, seed=0, interval=60, start=datetime(*DAY, tzinfo=zone).timestamp())
    print(f"machine: {_machine()}")
    print(f"ingest: a synthetic day on the demo campus, {len(day):,} events; Mosquitto on loopback; "
          f"{PUBLISHERS} publisher processes; store SQLite WAL synchronous=FULL; target {TARGET:,} events/s")
    broker = start_mosquitto()
    try:
        with tempfile.TemporaryDirectory(prefix="twin-bench-") as tmp:
            folder = Path(tmp)
            for label, batch, n, alarms in (("one message per event", 1, 60_000, False),
                                            ("gateway batches of 100", 100, 10 * TARGET, True)):
                r = run_mqtt(campus, broker.url, day[:n], batch=batch, folder=folder, alarms=alarms, rate=TARGET)
                lat = sorted(r["latencies"])
                lat_txt = (f"; one-button alarm publish → live state: median {statistics.median(lat) * 1000:.0f} ms, "
                           f"p99 {lat[int(0.99 * (len(lat) - 1))] * 1000:.0f} ms over {len(lat)} alarms") if lat else ""
                print(f"  MQTT, {label}, publishers paced at {TARGET:,}/s: {r['events']:,} events in {r['wall']:.2f} s = "
                      f"{r['rate']:,.0f} events/s ({'meets' if r['rate'] >= 0.97 * TARGET else 'BELOW'} target); "
                      f"stored {r['stored']:,}, late-event rollbacks {r['rollbacks']:,}{lat_txt}")
            direct = run_direct(campus, day, folder)
            print(f"  straight into the store and state (no broker): {direct['rate']:,.0f} events/s")
            for f in forecast_latency(campus, day, folder):
                print(f"  fire alarm at {f['detector']} → stored forecast: building {f['building_s']:.2f} s "
                      f"({f['building_people']:,} people, clears in {f['clearance_s']:.0f} s), campus {f['campus_s']:.2f} s "
                      f"({f['campus_people']:,} people, {f['campus_evac_s']:.0f} s)  [target 2 s]")
    finally:
        broker.stop()


if __name__ == "__main__":
    main()

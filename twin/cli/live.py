"""Live-feed commands: ``twin serve``, ``twin feed simulate``, ``twin feed replay``, ``twin state``, ``twin user``.

Registered on the ``twin`` app by importing this module (the last line of
``twin.cli``). Thin: parse, call ``sensors`` / ``twin.state`` / ``viz.live``, print.
``twin serve`` wires the parts: ingest (``sensors``), the forecaster
(``scenarios.forecast``, subscribed to ingest's new events) and the console
(``viz.live``).
"""

from __future__ import annotations

import gc
import json
import os
import sys
import time
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from twin.cli.console import CampusArg, err, fail, load, out

feed = typer.Typer(help="Send sensor events to a running twin: a synthetic day, or a recorded file.", no_args_is_help=True)
user = typer.Typer(help="Operator logins for the live map: add, list, change and remove users (file of scrypt hashes).",
                   no_args_is_help=True)

StoreOpt = Annotated[Path, typer.Option("--store", help="The event store (SQLite, created when missing).")]
UsersOpt = Annotated[Path, typer.Option("--users", help="The users file (JSON of names, roles and scrypt hashes; created by `twin user add`).")]
ToOpt = Annotated[str | None, typer.Option("--to", help="mqtt://HOST:PORT or http://HOST:PORT")]
KeyOpt = Annotated[str | None, typer.Option("--key", help="Device key for http:// (default: $TWIN_DEVICE_KEY).")]
BatchOpt = Annotated[int, typer.Option("--batch", help="Events per message (MQTT: >1 sends gateway batches on campus/events) or per HTTP request.")]


def _store(path: Path, campus: Any = None, *, readonly: bool = False, exclusive: bool = False):  # noqa: ANN202 - sensors.store.EventStore
    from sensors.store import EventStore, StoreError

    try:
        return EventStore(path, campus_digest=campus.digest if campus else None,
                          campus_path=str(campus.source) if campus else None, readonly=readonly, exclusive=exclusive)
    except StoreError as e:
        fail(str(e))
    except OSError as e:
        fail(f"{path}: cannot open the event store ({e.strerror or e})")


def _ingestor(path: Path, campus: Any) -> Any:
    """The one writer of the store at ``path``: an ingest over it, or a clear error (the store is closed again)."""
    from sensors.ingest import Ingestor
    from sensors.store import StoreError

    st = _store(path, campus, exclusive=True)
    try:
        return Ingestor(campus, st)
    except StoreError as e:
        st.close()
        fail(str(e))


def _set_aside(path: Path) -> None:
    """Move a store (and its -wal and -shm files) aside as ``NAME.set-aside-TIME``, never deleting it."""
    stamp = time.strftime("%Y%m%d-%H%M%S")
    for p in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        if p.exists():
            p.rename(p.with_name(f"{p.name}.set-aside-{stamp}"))
    err.print(f"--new-store: the old store is kept as {path.name}.set-aside-{stamp}; starting a new one at {path}", highlight=False)


def serve(
    campus: CampusArg,
    store: StoreOpt,
    port: Annotated[int, typer.Option("--port", help="HTTP port.")] = 8000,
    host: Annotated[str, typer.Option("--host", help="Address to listen on (loopback by default).")] = "127.0.0.1",
    mqtt: Annotated[str | None, typer.Option("--mqtt", help="Also ingest from this broker: mqtt://HOST:PORT or mqtts://[USER@]HOST:PORT?ca=FILE[&cert=FILE&key=FILE][&version=5] (password: $TWIN_MQTT_PASSWORD); Frigate counts and Zigbee2MQTT availability too (docs/sensors.md).")] = None,
    publish: Annotated[bool, typer.Option("--publish/--no-publish", help="With --mqtt: publish alarms, occupancy and forecasts back to the broker, with Home Assistant discovery (docs/sensors.md).")] = False,
    frigate_prefix: Annotated[str, typer.Option("--frigate-prefix", help="With --mqtt: Frigate's topic_prefix (cameras name their Frigate source with the `frigate` property).")] = "frigate",
    bacnet: Annotated[Path | None, typer.Option("--bacnet", help="Read a fire panel's life-safety points and zones over BACnet/IP (subscribed, change of value), mapped to detectors by this TOML file (docs/sensors.md).")] = None,
    zigbee_prefix: Annotated[str, typer.Option("--zigbee-prefix", help="With --mqtt: Zigbee2MQTT's base_topic (devices named as campus sensors give their availability, smoke detectors their fire state).")] = "zigbee2mqtt",
    device_keys: Annotated[Path | None, typer.Option("--device-keys", help="File of device keys, one a line (also $TWIN_DEVICE_KEYS).")] = None,
    forecast: Annotated[bool, typer.Option("--forecast/--no-forecast", help="Run an evacuation forecast on every fire alarm.")] = True,
    client_id: Annotated[str, typer.Option("--client-id", help="MQTT client id (fixed: the broker keeps its session).")] = "campus-twin-ingest",
    users: Annotated[Path | None, typer.Option("--users", help="The users file operators log in with (`twin user add NAME --role operator --users FILE`).")] = None,
    demo: Annotated[bool, typer.Option("--demo", help="Also run a synthetic feed in process (the hour before now at once, then live), so the map moves with nothing else running.")] = False,
    fire_at: Annotated[float | None, typer.Option("--fire-at", help="With --demo: a fire alarm this many seconds after the start (default 60; negative: none).")] = 60.0,
    seed: Annotated[int, typer.Option("--seed", help="With --demo: the seed of the synthetic feed.")] = 0,
    new_store: Annotated[bool, typer.Option("--new-store", help="Move the store file aside (kept, never deleted) and start a new, empty store: for a damaged or empty store file.")] = False,
    trusted_proxy: Annotated[list[str] | None, typer.Option("--trusted-proxy", help="Address of a reverse proxy whose X-Forwarded-For is believed (repeat for several; also $TWIN_TRUSTED_PROXIES). None by default: the connecting address is the client.")] = None,
    procedures: Annotated[Path | None, typer.Option("--procedures", help="The site's alarm procedures (TOML: [kinds] and [buildings.ID]; docs/live-map.md), shown in the alarm cards.")] = None,
) -> None:
    """Run the ingest service, the live state API and the operator's live map (HTTP, and MQTT with --mqtt)."""
    import uvicorn

    from scenarios.forecast import Forecaster
    from sensors.http import load_device_keys
    from sensors.sources import DemoFeed
    from twin.auth import Users, UsersFileError
    from viz.live.app import create_app

    try:
        accounts = Users(users)
    except UsersFileError as e:
        fail(str(e))
    if not accounts.users:
        err.print(f"[yellow]warning:[/] {'no --users file' if users is None else f'{users} holds no users'}: nobody can log in, "
                  "so the map and every read are closed; ingest and the bare health probe still work "
                  "(twin user add NAME --role operator --users FILE)", highlight=False)
    c = load(campus)
    texts = None
    if procedures is not None:
        from viz.live.procedures import ProceduresError, load_procedures

        try:
            texts = load_procedures(procedures, set(c.features.index[c.features["kind"] == "building"]))
        except ProceduresError as e:
            fail(f"--procedures {e}")
    if device_keys is not None and not device_keys.is_file():
        fail(f"--device-keys {device_keys}: no such file")
    keys = load_device_keys(device_keys)
    adapter = publisher = broker = None
    if publish and not mqtt:
        fail("--publish needs --mqtt (the broker to publish to)")
    if mqtt:  # checked before the store is opened
        from sensors.adapters import topic_adapters
        from sensors.mqtt import Broker
        from twin.errors import CampusError

        try:
            broker = Broker.parse(mqtt)
            adapters = topic_adapters(c, frigate_prefix=frigate_prefix, zigbee_prefix=zigbee_prefix)
        except CampusError as e:  # a camera's frigate property
            fail(str(e))
        except ValueError as e:
            fail(f"--mqtt: {e}")
    panel = None
    if bacnet is not None:
        from sensors.adapters.bacnet import MappingError, load_mapping
        from twin.registry import Registry

        try:
            panel = load_mapping(bacnet, {s.id for s in Registry(c).sensors.values() if s.type == "detector"})
        except MappingError as e:
            fail(f"--bacnet {e}")
    if new_store and store.exists():
        _set_aside(store)
    ing = _ingestor(store, c)
    st = ing.store
    if st.quarantined:
        err.print(f"[yellow]warning:[/] {store}: {len(st.quarantined):,} stored events cannot be applied and are skipped "
                  f"(quarantined; `twin store check {store}` lists them), e.g. event {next(iter(st.quarantined))}: "
                  f"{next(iter(st.quarantined.values()))}", highlight=False)
    forecaster = Forecaster(ing) if forecast else None
    if forecaster is not None:
        ing.subscribe(forecaster.on_events)
    if broker is not None:
        from sensors.mqtt import MqttIngest

        adapter = MqttIngest(ing, broker, client_id=client_id, adapters=adapters)
        if publish:
            from sensors.adapters.publish import MqttPublisher

            publisher = MqttPublisher(ing, broker, client_id=f"{client_id}-publish")
            ing.subscribe(publisher.on_events)
            publisher.start()
    bacnet_feed = None
    if panel is not None:
        from sensors.adapters.bacnet import BacnetFeed

        bacnet_feed = BacnetFeed(ing, panel)
        bacnet_feed.start()
    if not keys:
        err.print("[yellow]warning:[/] no device keys (--device-keys FILE or $TWIN_DEVICE_KEYS): POST /api/events refuses every request",
                  highlight=False)
    err.print(f"twin serve: {c.source} ({len(ing.registry)} sensors), store {store} ({st.count():,} events), "
              f"http://{host}:{port}" + (f", MQTT {adapter.broker.address}" if adapter else "")
              + (" (publishing back)" if publisher else "")
              + (f", BACnet panel {panel.address} ({len(panel.points)} objects)" if panel else ""), highlight=False)
    feed_ = None
    if demo:
        from scenarios.feed_drill import engine_drill

        feed_ = DemoFeed(ing, seed=seed, fire_after=fire_at if fire_at is not None and fire_at >= 0 else None,
                         drill=engine_drill(c, seed=seed))
    proxies = [*(trusted_proxy or ()), *os.environ.get("TWIN_TRUSTED_PROXIES", "").replace(",", " ").split()]
    app_ = create_app(ing, users=accounts, device_keys=keys, mqtt=adapter, demo=feed_, trusted_proxies=proxies,
                      procedures=texts, bacnet=bacnet_feed, publisher=publisher)
    # The campus, its graphs and the replayed state live as long as the server: full garbage collections skip them
    # from now on (each walked them all, a 110-130 ms pause of every thread every few seconds under load).
    app_.state.console.render()  # builds the map's layout (footprints, viewsheds) now, to be frozen with the rest
    gc.collect()
    gc.freeze()
    try:  # proxy_headers off: the app itself believes X-Forwarded-For only from --trusted-proxy addresses
        uvicorn.run(app_, host=host, port=port, log_level="warning", proxy_headers=False)
    finally:
        if bacnet_feed is not None:
            bacnet_feed.stop()
        if publisher is not None:
            publisher.stop()
        if forecaster is not None:
            forecaster.stop()
        ing.close()


def state(
    store: StoreOpt,
    campus: Annotated[Path | None, typer.Option("--campus", help="The campus (default: the one the store was made for).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the whole state as one JSON document.")] = False,
    now: Annotated[float | None, typer.Option("--now", help="Read the state at this epoch time (default: the latest event's).")] = None,
) -> None:
    """Rebuild the live state by replaying the event store, and print it."""
    from twin.state import LiveState

    from sensors.store import StoreError

    if not store.is_file():
        fail(f"--store {store}: no such file")
    st = _store(store, readonly=True)
    where = campus or (Path(st.campus_path) if st.campus_path else None)
    if where is None:
        fail(f"{store}: the store does not say which campus it belongs to; pass --campus")
    c = load(where)
    if st.campus_digest and st.campus_digest != c.digest:
        fail(f"{store}: the store belongs to another campus than {where} (digests differ)")
    from twin.audit import AuditLog

    from sensors.ingest import screen

    st.screen = screen(c)
    try:
        live = LiveState.replay(c, st)
    except StoreError as e:
        fail(str(e))
    if st.quarantined:
        err.print(f"[yellow]warning:[/] {len(st.quarantined):,} stored events skipped (`twin store check {store}` lists them)",
                  highlight=False)
    trail = AuditLog(store, readonly=True)
    for rec in trail.records():  # acknowledgements and clears, as the live panel shows them
        live.operator(rec)
    trail.close()
    s = live.snapshot(now)
    if as_json:
        print(json.dumps(s, indent=2))
        return
    o = s["occupancy"]
    t = Table(title=f"Live state of {s['campus']} from {store}", show_header=False)
    t.add_row("events applied", f"{s['events_applied']:,}")
    t.add_row("clock", _when(s["clock"]))
    t.add_row("on site", f"{o['on_site']:,} (gate balance {o['gate_balance']:,}, in buildings {o['in_buildings']:,})")
    h = s["health"]
    t.add_row("sensors", f"{h['sensors']} ({h['ok']} ok, {h['offline']} offline, {h['fault']} fault, {h['never_seen']} never seen)")
    t.add_row("blocked", ", ".join(b["node"] for b in s["blocked"]) or "none")
    out.print(t)
    if s["panel"]:
        a = Table(title="Alarm panel (highest priority first; restored alarms stay until an operator clears them)")
        for col in ("priority", "kind", "sensor", "where", "since", "state", "acknowledged"):
            a.add_column(col)
        for x in s["panel"]:
            ack = f"{x['ack']['user']} at {_when(x['ack']['ts'])}" if x["ack"] else "no"
            a.add_row(str(x["priority"]), x["kind"], x["sensor_id"], x.get("node") or x.get("building") or "", _when(x["since"]),
                      "active" if x["active"] else f"restored {_when(x['restored'])}", ack)
        out.print(a)
    b = Table(title="Occupancy by building")
    for col in ("building", "people", "design", "counted by"):
        b.add_column(col)
    for k, v in o["buildings"].items():
        b.add_row(k, f"{v['count']:,}", f"{v['design']:,}", v["source"])
    out.print(b)
    for scope, fc in s["forecasts"].items():
        out.print(f"forecast ({scope}): evacuation {fc['evacuation_time_s']:.0f} s for {fc['occupants']:,} people"
                  + (f"; {fc['building']} clears in {fc['building_clearance_s']:.0f} s" if fc.get("building") else "")
                  + (f"; worst bottleneck {fc['bottlenecks'][0]['id']}" if fc["bottlenecks"] else ""))


store_app = typer.Typer(help="The event store file: check it for damage and for events the state cannot apply.", no_args_is_help=True)


@store_app.command("check")
def store_check(
    store: Annotated[Path, typer.Argument(help="The event store (SQLite).")],
    campus: Annotated[Path | None, typer.Option("--campus", help="Check sensors against this campus (default: the one the store was made for).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the findings as JSON.")] = False,
) -> None:
    """Check an event store read-only: SQLite's integrity check, then every stored event; exit 1 when anything is wrong."""
    import sqlite3

    from sensors.ingest import screen
    from sensors.store import StoreError

    if not store.is_file():
        fail(f"{store}: no such file")
    st = _store(store, readonly=True)
    where = campus or (Path(st.campus_path) if st.campus_path else None)
    if where is not None and where.exists():
        st.screen = screen(load(where))
    try:
        integrity = [r[0] for r in st.db.execute("PRAGMA integrity_check(20)").fetchall()]
        n = sum(1 for _ in st.events())
    except (sqlite3.DatabaseError, StoreError) as e:
        fail(f"{store}: damaged, not every event can be read ({e}); restore it from a backup, or "
             "move it aside with `twin serve --new-store`", code=1)
    doc = {"store": str(store), "integrity": integrity, "events": n, "checked_against": str(where) if st.screen else None,
           "quarantined": [{"id": i, "reason": r} for i, r in sorted(st.quarantined.items())]}
    ok = integrity == ["ok"] and not st.quarantined
    if as_json:
        print(json.dumps(doc, indent=2))
    else:
        out.print(f"{store}: SQLite integrity {'ok' if integrity == ['ok'] else '; '.join(integrity)}; "
                  f"{n:,} events apply" + (f" (sensors checked against {where})" if st.screen else " (no campus: sensors not checked)"),
                  highlight=False)
        for q in doc["quarantined"]:
            out.print(f"  event {q['id']} skipped: {q['reason']}", highlight=False)
    if not ok:
        raise typer.Exit(1)


def _when(ts: float | None) -> str:
    if ts is None:
        return "-"
    return time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(ts))


def _send(events: Any, to: str, key: str | None, batch: int) -> dict[str, Any]:
    from sensors.sources import publish

    try:
        return publish(events, to, key=key or os.environ.get("TWIN_DEVICE_KEY"), batch=batch)
    except ValueError as e:
        fail(str(e))
    except (OSError, RuntimeError) as e:
        fail(f"--to {to}: {e}")
    except Exception as e:  # noqa: BLE001 - httpx errors: connection refused and the like
        fail(f"--to {to}: {type(e).__name__}: {e}")


@feed.command("simulate")
def simulate(
    campus: CampusArg,
    to: ToOpt = None,
    output: Annotated[Path | None, typer.Option("-o", "--output", help="Write the events to this NDJSON file instead of (or as well as) sending them.")] = None,
    store: Annotated[Path | None, typer.Option("--store", help="Store the events in this event store (created when missing) through ingest, as they would arrive live, with a forecast on the fire alarm.")] = None,
    rate: Annotated[float | None, typer.Option("--rate", help="Events per second (default: as fast as the receiver takes them).")] = None,
    duration: Annotated[float, typer.Option("--duration", help="Seconds of campus time to simulate (a day by default), ending now.")] = 86_400.0,
    start: Annotated[str | None, typer.Option("--start", help="Start of the simulated span (ISO 8601 with offset, or epoch s); default --duration before now.")] = None,
    fire_at: Annotated[float | None, typer.Option("--fire-at", help="A fire alarm this many seconds into the simulated span.")] = None,
    fire_detector: Annotated[str | None, typer.Option("--fire-detector", help="The detector that raises the alarm (default: a smoke detector on level 2 of the first teaching building).")] = None,
    drill: Annotated[str, typer.Option("--drill", help="With --fire-at: who evacuates: 'building' (the alarmed building), 'campus' (everyone) or 'none'.")] = "building",
    premovement: Annotated[str, typer.Option("--drill-premovement", help="The drill's lognormal pre-movement MEAN,SD (s).")] = "90,40",
    flow_door: Annotated[float, typer.Option("--drill-flow-door", help="The drill's door flow (persons/s/m).", min=0.05)] = 1.1,
    operator: Annotated[str | None, typer.Option("--operator", help="With --store: this operator acknowledges the fire alarm, notes the building empty and clears it after the all-clear (the audit trail).")] = None,
    seed: Annotated[int, typer.Option("--seed", help="One seed drives every draw.")] = 0,
    interval: Annotated[float, typer.Option("--interval", help="Seconds between camera counts and gate tallies.")] = 60.0,
    key: KeyOpt = None,
    batch: BatchOpt = 1,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON document of what was made.")] = False,
) -> None:
    """Generate a realistic day of sensor events on a campus (with a fire drill at --fire-at) and publish or store it."""
    from sensors.events import parse_time
    from sensors.sources import paced, synthetic_day, write_ndjson

    if to is None and output is None and store is None:
        fail("give --to mqtt://HOST:PORT or http://HOST:PORT, -o FILE.ndjson, or --store FILE.sqlite")
    if duration <= 0 or interval <= 0:
        fail("--duration and --interval must be positive")
    if fire_at is not None and not 0 <= fire_at < duration:
        fail(f"--fire-at {fire_at:g} is outside the simulated span 0 … {duration:g} s")
    if drill not in ("building", "campus", "none"):
        fail(f"--drill {drill!r}: choose building, campus or none")
    try:
        mean, sd = (float(v) for v in premovement.split(","))
    except ValueError:
        fail(f"--drill-premovement {premovement!r}: expected MEAN,SD in seconds, e.g. 90,40")
    if not (mean > 0 and sd > 0):
        fail(f"--drill-premovement {premovement!r}: the mean and sd must be > 0 s")
    if operator is not None and store is None:
        fail("--operator goes with --store (the actions go into the store's audit trail)")
    try:
        t0 = None if start is None else parse_time(start, "--start")
    except ValueError as e:
        fail(str(e))
    c = load(campus)
    f = c.features
    if fire_detector is not None and (fire_detector not in f.index or f.at[fire_detector, "kind"] != "detector"):
        fail(f"--fire-detector {fire_detector!r}: not a detector of {campus}")
    model = truth = None
    if fire_at is not None and drill != "none":
        from scenarios.feed_drill import DrillTruth, engine_drill

        truth = DrillTruth(premovement_mean=mean, premovement_sd=sd, flow_door=flow_door)
        model = engine_drill(c, truth, seed=seed)
    events = synthetic_day(c, seed=seed, start=t0, duration=duration, interval=interval, fire_at=fire_at, drill=model,
                           drill_scope=drill, fire_detector=fire_detector)
    err.print(f"{len(events):,} events over {duration:,.0f} s of campus time", highlight=False)
    result: dict[str, Any] = {"events": len(events), "from": events[0]["ts"] if events else None,
                              "to": events[-1]["ts"] if events else None, "drill": None if truth is None else {"scope": drill, **truth.as_dict()}}
    if output is not None:
        write_ndjson(events, output)
        result["output"] = str(output)
    if store is not None:
        result["store"] = _feed_store(c, store, events, operator, whole_campus=drill == "campus")
    if to is not None:
        result["sent"] = _send(paced(events, rate=rate), to, key, batch)
    if as_json:
        print(json.dumps(result, indent=2))
        return
    if output is not None:
        out.print(f"events written to {output}")
    if store is not None:
        s = result["store"]
        out.print(f"{s['stored']:,} events stored in {store}; " + (f"fire alarm {s['alarm']['id']} in {s['alarm']['building']}, "
                  f"{s['forecasts']} forecasts, {len(s['actions'])} operator actions" if s["alarm"] else "no fire alarm"), highlight=False)
        for b, n in s["counted_out"].items():
            out.print(f"  {b}: {n:,} people counted out at its doors after the alarm", highlight=False)
    if to is not None:
        out.print(json.dumps(result["sent"]))


def _feed_store(c: Any, store: Path, events: list[dict[str, Any]], operator: str | None, *, whole_campus: bool) -> dict[str, Any]:
    """Store a synthetic feed through ingest with the forecaster listening (as ``twin serve`` wires it); what was stored,
    with the people counted out of the alarmed building (every building for a campus drill) until the all-clear."""
    from scenarios.forecast import Forecaster
    from sensors.drill import feed_store

    ing = _ingestor(store, c)
    forecaster = Forecaster(ing)
    ing.subscribe(forecaster.on_events)
    try:
        done = feed_store(ing, events, settle=forecaster.wait, operator=operator)
        forecaster.wait()
    finally:
        forecaster.stop()
        ing.close()
    alarm = done["alarm"]
    counted: dict[str, int] = {}
    if alarm is not None:
        clear = next((e["ts"] for e in events if e["sensor_id"] == alarm["sensor_id"] and e["kind"] == "fire"
                      and e["state"] == "normal" and e["ts"] > alarm["ts"]), float("inf"))
        for e in events:
            s = ing.registry.get(e["sensor_id"])
            if alarm["ts"] <= e["ts"] < clear and e["kind"] == "crossing" and e["direction"] == "out" and s and s.type == "door" \
                    and (whole_campus or s.building == alarm["building"]):
                counted[s.building] = counted.get(s.building, 0) + e["count"]
    return {"stored": done["stored"], "alarm": alarm, "actions": [{k: a[k] for k in ("ts", "user", "action", "note")} for a in done["actions"]],
            "forecasts": forecaster.done, "forecast_errors": forecaster.errors, "counted_out": dict(sorted(counted.items()))}


@feed.command("replay")
def replay(
    file: Annotated[Path, typer.Argument(help="An NDJSON file of events (one JSON object a line).")],
    to: ToOpt = None,
    speed: Annotated[float | None, typer.Option("--speed", help="Keep the original timing, this many times faster (default: as fast as possible).")] = None,
    rate: Annotated[float | None, typer.Option("--rate", help="Events per second instead of the original timing.")] = None,
    key: KeyOpt = None,
    batch: BatchOpt = 1,
) -> None:
    """Replay a recorded NDJSON file of events to a running twin, with its original timing scaled by --speed."""
    from sensors.sources import paced, read_ndjson

    if to is None:
        fail("give --to mqtt://HOST:PORT or http://HOST:PORT")
    if not file.is_file():
        fail(f"{file}: no such file")
    if speed is not None and speed <= 0:
        fail("--speed must be positive")
    res = _send(paced(read_ndjson(file), rate=rate, speed=speed), to, key, batch)
    out.print(json.dumps(res))


# -- users ------------------------------------------------------------------------


def _users(path: Path):  # noqa: ANN202 - twin.auth.Users
    from twin.auth import Users, UsersFileError

    try:
        return Users(path)
    except UsersFileError as e:
        fail(str(e))


def _password(prompt: str) -> str:
    """The new password: the first line of stdin when it is not a terminal, else typed twice at a hidden prompt."""
    if not sys.stdin.isatty():
        line = sys.stdin.readline()
        if not line:
            fail("no password on stdin (pipe it in, or run in a terminal to be prompted)")
        return line.rstrip("\r\n")
    return typer.prompt(prompt, hide_input=True, confirmation_prompt=True)


def _user_change(fn: Any, *args: Any) -> None:
    from twin.auth import UsersFileError

    try:
        fn(*args)
    except UsersFileError as e:
        fail(str(e))


RoleOpt = Annotated[str, typer.Option("--role", help="viewer (sees), operator (also acknowledges and clears alarms) or admin (also manages users).")]


@user.command("add")
def user_add(name: Annotated[str, typer.Argument(help="User name.")], users: UsersOpt, role: RoleOpt = "viewer") -> None:
    """Add a user; the password comes from stdin (first line) or a hidden prompt."""
    from twin.auth import check_name, check_role

    u = _users(users)
    _user_change(check_name, name)
    _user_change(check_role, role)
    if name in u.users:
        fail(f"user {name!r} already exists in {users} (twin user passwd / twin user role change it)")
    _user_change(u.add, name, role, _password(f"password for {name}"))
    out.print(f"added {name} ({role}) to {users}")


@user.command("passwd")
def user_passwd(name: Annotated[str, typer.Argument(help="User name.")], users: UsersOpt) -> None:
    """Change a user's password (stdin or a hidden prompt); their open sessions end."""
    u = _users(users)
    _user_change(u.get, name)
    _user_change(u.set_password, name, _password(f"new password for {name}"))
    out.print(f"password of {name} changed in {users}")


@user.command("role")
def user_role(name: Annotated[str, typer.Argument(help="User name.")], users: UsersOpt, role: RoleOpt) -> None:
    """Change a user's role (their open sessions end: they log in again)."""
    u = _users(users)
    _user_change(u.set_role, name, role)
    out.print(f"{name} is now {role} in {users}")


@user.command("remove")
def user_remove(name: Annotated[str, typer.Argument(help="User name.")], users: UsersOpt) -> None:
    """Remove a user (their open sessions end within a second)."""
    u = _users(users)
    _user_change(u.remove, name)
    out.print(f"removed {name} from {users}")


@user.command("list")
def user_list(users: UsersOpt, as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False) -> None:
    """List the users and their roles (never the hashes)."""
    u = _users(users)
    rows = [{"name": x.name, "role": x.role, "created": x.created, "changed": x.changed}
            for x in sorted(u.users.values(), key=lambda x: x.name)]
    if as_json:
        print(json.dumps(rows, indent=2))
        return
    t = Table(title=f"Users in {users}")
    for col in ("name", "role", "created", "password changed"):
        t.add_column(col)
    for r in rows:
        t.add_row(r["name"], r["role"], _when(r["created"]), _when(r["changed"]))
    out.print(t)

"""Live-feed commands: ``twin serve``, ``twin feed simulate``, ``twin feed replay``, ``twin state``, ``twin user``.

Registered on the ``twin`` app by importing this module (the last line of
``twin.cli``). Thin: parse, call ``sensors`` / ``twin.state`` / ``viz.live``, print.
``twin serve`` wires the parts: ingest (``sensors``), the forecaster
(``scenarios.forecast``, subscribed to ingest's new events) and the console
(``viz.live``).
"""

from __future__ import annotations

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
    zigbee_prefix: Annotated[str, typer.Option("--zigbee-prefix", help="With --mqtt: Zigbee2MQTT's base_topic (devices named as campus sensors give their availability).")] = "zigbee2mqtt",
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
    from sensors.ingest import Ingestor
    from sensors.sources import DemoFeed
    from sensors.store import StoreError
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
    st = _store(store, c, exclusive=True)
    try:
        ing = Ingestor(c, st)
    except StoreError as e:
        st.close()
        fail(str(e))
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
    feed_ = DemoFeed(ing, seed=seed, fire_after=fire_at if fire_at is not None and fire_at >= 0 else None) if demo else None
    proxies = [*(trusted_proxy or ()), *os.environ.get("TWIN_TRUSTED_PROXIES", "").replace(",", " ").split()]
    app_ = create_app(ing, users=accounts, device_keys=keys, mqtt=adapter, demo=feed_, trusted_proxies=proxies,
                      procedures=texts)
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
    rate: Annotated[float | None, typer.Option("--rate", help="Events per second (default: as fast as the receiver takes them).")] = None,
    duration: Annotated[float, typer.Option("--duration", help="Seconds of campus time to simulate (a day by default), ending now.")] = 86_400.0,
    fire_at: Annotated[float | None, typer.Option("--fire-at", help="A fire alarm this many seconds into the simulated span.")] = None,
    seed: Annotated[int, typer.Option("--seed", help="One seed drives every draw.")] = 0,
    interval: Annotated[float, typer.Option("--interval", help="Seconds between camera counts and gate tallies.")] = 60.0,
    key: KeyOpt = None,
    batch: BatchOpt = 1,
) -> None:
    """Generate a realistic day of sensor events on a campus and publish it (MQTT or HTTP) at a chosen rate."""
    from sensors.sources import paced, synthetic_day, write_ndjson

    if to is None and output is None:
        fail("give --to mqtt://HOST:PORT or http://HOST:PORT, or -o FILE.ndjson")
    if duration <= 0 or interval <= 0:
        fail("--duration and --interval must be positive")
    if fire_at is not None and not 0 <= fire_at < duration:
        fail(f"--fire-at {fire_at:g} is outside the simulated span 0 … {duration:g} s")
    c = load(campus)
    events = synthetic_day(c, seed=seed, duration=duration, interval=interval, fire_at=fire_at)
    err.print(f"{len(events):,} events over {duration:,.0f} s of campus time", highlight=False)
    if output is not None:
        write_ndjson(events, output)
        out.print(f"events written to {output}")
    if to is not None:
        res = _send(paced(events, rate=rate), to, key, batch)
        out.print(json.dumps(res))


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

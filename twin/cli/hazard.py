"""Hazard-ledger commands: ``twin hazard add|list|fix|verify|reject|reopen|report|simulate`` and
``twin hazard round start|mark|show|schedule`` (inspection rounds).

Thin: parse, call ``twin.hazards`` (the ledger in the event store's file)
and ``viz.hazard_report``, print. The campus is the one the store was made
for (``--campus`` to name it, needed for a new store). Whoever runs the
command owns the store file; with ``--users FILE`` the ``--by`` name must also
be a user whose role allows the move (operator adds and fixes, verifier
verifies). See docs/hazards.md.
"""

from __future__ import annotations

import datetime as dt
import json
import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from twin.cli.console import fail, load, out, user_errors
from twin.cli.live import _store

if TYPE_CHECKING:
    from twin.hazard_rounds import Rounds
    from twin.hazards import HazardLedger

hazard = typer.Typer(help="The hazard ledger: inspection findings, their fixes and verification, the closed-loop report.",
                     no_args_is_help=True)

StoreOpt = Annotated[Path, typer.Option("--store", help="The event store (SQLite) holding the ledger.")]
CampusOpt = Annotated[Path | None, typer.Option("--campus", help="The campus (default: the one the store was made for; needed for a new store).")]
ByOpt = Annotated[str, typer.Option("--by", help="Who (a name; a user of --users when given).")]
UsersOpt = Annotated[Path | None, typer.Option("--users", help="Check that --by is a user with the role the step needs.")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print exactly one JSON document on stdout.")]


def _ledger(store: Path, campus: Path | None, *, readonly: bool = False) -> HazardLedger:
    """Open the ledger of ``store`` on its campus (a clear error and exit when either is unusable)."""
    from twin.hazards import HazardError, HazardLedger

    if readonly and not store.is_file():
        fail(f"--store {store}: no such file")
    where = campus
    if where is None and store.is_file():
        st = _store(store)
        where = Path(st.campus_path) if st.campus_path else None
        st.close()
    if where is None:
        fail(f"--store {store}: the store does not say which campus it belongs to; pass --campus")
    c = load(where)
    if not readonly:
        _store(store, c).close()  # a new store is made for this campus; one of another campus is refused
    try:
        return HazardLedger(store, c, readonly=readonly)
    except HazardError as e:
        fail("; ".join(str(p) for p in e.problems))


def _role(users: Path | None, by: str) -> str | None:
    """The role of ``by`` in ``users`` (None without a users file: the weakest role allowed)."""
    if users is None:
        return None
    from twin.auth import Users, UsersFileError

    try:
        return Users(users).get(by).role
    except UsersFileError as e:
        fail(f"--by {by}: {e}")


def add(
    store: StoreOpt,
    kind: Annotated[str, typer.Option("--kind", help="blocked_exit, narrowed, door_not_closing, detector_fault, extinguisher_missing, emergency_lighting or other.")],
    note: Annotated[str, typer.Option("--note", help="What was found.")],
    by: ByOpt,
    feature: Annotated[str | None, typer.Option("--feature", help="The campus feature it is on (door, stair, corridor, room, detector, camera, gate, footway).")] = None,
    at: Annotated[str | None, typer.Option("--at", help="Or a map point X,Y in the campus's metres (with --building and --level).")] = None,
    building: Annotated[str | None, typer.Option("--building", help="The building of a map point.")] = None,
    level: Annotated[int | None, typer.Option("--level", help="The level of a map point.")] = None,
    width: Annotated[float | None, typer.Option("--width", help="narrowed: the remaining clear width (m).")] = None,
    due: Annotated[str | None, typer.Option("--due", help="Due date YYYY-MM-DD (default: hazards.due_days after today).")] = None,
    photo: Annotated[Path | None, typer.Option("--photo", help="A JPEG or PNG photo of the place (never of people).")] = None,
    campus: CampusOpt = None,
    users: UsersOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Record a finding (status open)."""
    point = None
    if at is not None:
        try:
            x, y = (float(v) for v in at.split(","))
            point = (x, y)
        except ValueError:
            fail(f"--at {at!r}: give the map point as X,Y in metres")
    data = None
    if photo is not None:
        try:
            data = photo.read_bytes()
        except OSError as e:
            fail(f"--photo {photo}: cannot read it ({e.strerror or e})")
    role = _role(users, by) or "operator"
    led = _ledger(store, campus)
    with user_errors(f"{store}: finding not recorded"):
        f = led.add(kind=kind, note=note, by=by, feature=feature, width=width, due=due, at=point, building=building,
                    level=level, role=role, photo=data)
    if as_json:
        print(json.dumps(f, indent=2))
        return
    out.print(f"finding {f['id']}: {f['kind']} at {f['feature'] or _point(f)}, due {f['due']} (open)")


def list_(
    store: StoreOpt,
    open_: Annotated[bool, typer.Option("--open", help="Only findings still in force (open, or fixed and not yet verified).")] = False,
    campus: CampusOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """List the findings, oldest first (overdue ones in red)."""
    led = _ledger(store, campus, readonly=True)
    rows = led.findings(in_force=open_)
    if as_json:
        print(json.dumps(rows, indent=2))
        return
    t = Table(title=f"Hazard findings in {store}" + (" (in force)" if open_ else ""))
    for col in ("id", "status", "kind", "where", "building", "found", "by", "due", "note"):
        t.add_column(col, overflow="fold")
    for f in rows:
        due = f"[bold red]{f['due']} overdue[/]" if f["overdue"] else f["due"]
        width = f" ({f['width']:g} m left)" if f["width"] is not None else ""
        t.add_row(str(f["id"]), f["status"], f["kind"] + width, f["feature"] or _point(f), f["building"] or "-",
                  _date(f["found_at"]), f["found_by"], due, f["note"])
    out.print(t)
    if not rows:
        out.print("no findings" + (" in force" if open_ else ""))


def _move(status: str, help_: str):
    def command(
        finding: Annotated[int, typer.Argument(help="The finding's id (twin hazard list).")],
        store: StoreOpt,
        by: ByOpt,
        note: Annotated[str | None, typer.Option("--note", help="What was done.")] = None,
        campus: CampusOpt = None,
        users: UsersOpt = None,
        as_json: JsonOpt = False,
    ) -> None:
        role = _role(users, by)
        led = _ledger(store, campus)
        with user_errors(f"{store}: finding {finding} not {status}"):
            f = led.move(finding, status, by=by, role=role, note=note)
        if as_json:
            print(json.dumps(f, indent=2))
            return
        out.print(f"finding {f['id']}: {f['status']} by {by}")

    command.__doc__ = help_
    return command


fix = _move("fixed", "Mark a finding fixed (operator).")
verify = _move("verified", "Verify a fixed finding: the fix holds, the finding is closed (verifier).")
reject = _move("rejected", "Reject a finding: nothing to fix (verifier).")
reopen = _move("open", "Reopen a fixed finding: the fix did not hold (verifier).")


def report(
    store: StoreOpt,
    output: Annotated[Path, typer.Option("-o", "--output", help="Folder for report.html and the CSV files.")],
    from_: Annotated[str | None, typer.Option("--from", help="First day (YYYY-MM-DD; default: the first finding's).")] = None,
    to: Annotated[str | None, typer.Option("--to", help="Last day (YYYY-MM-DD; default: today).")] = None,
    campus: CampusOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """The closed-loop report: found vs fixed per month, open and overdue, time to fix, by building and kind."""
    from twin.hazards import parse_date
    from viz.hazard_report import hazard_summary, write_report

    with user_errors("report not written"):
        start = parse_date(from_, field="--from", source="command line") if from_ else None
        end = parse_date(to, field="--to", source="command line") if to else None
    if start and end and end < start:
        fail(f"--to {end} is before --from {start}")
    led = _ledger(store, campus, readonly=True)
    s = hazard_summary(led.findings(), start=start, end=end, campus=str(led.campus.source))
    try:
        files = write_report(s, output)
    except OSError as e:
        fail(f"{e.filename or output}: cannot write the report ({e.strerror or e})")
    if as_json:
        print(json.dumps({**s, "files": {k: str(v) for k, v in files.items()}}, indent=2))
        return
    t = s["totals"]
    out.print(f"{t['found']} found, {t['fixed']} fixed, {t['verified']} verified, {t['open']} open ({t['overdue']} overdue) "
              f"from {s['from']} to {s['to']}; time to fix median {_days(t['fix_days_median'])}, p90 {_days(t['fix_days_p90'])}")
    for name, path in files.items():
        out.print(f"{name}: {path}")


def simulate(
    store: StoreOpt,
    campus: CampusOpt = None,
    year: Annotated[int, typer.Option("--year", help="The calendar year of findings to make.")] = dt.date.today().year - 1,
    per_month: Annotated[float, typer.Option("--per-month", help="Mean findings per month over the campus.")] = 6.0,
    seed: Annotated[int, typer.Option("--seed", help="The seed of every random choice.")] = 0,
) -> None:
    """Fill a store with a synthetic year of findings, fixes and verifications (for demos and the report)."""
    from sensors.sources import synthetic_findings

    if per_month < 0:
        fail(f"--per-month {per_month:g}: must be >= 0")
    led = _ledger(store, campus)
    with user_errors(f"{store}: synthetic findings not stored"):
        n = synthetic_findings(led, year=year, per_month=per_month, seed=seed, now=time.time())
    out.print(f"{n} synthetic findings of {year} stored in {store}")


rounds = typer.Typer(help="Inspection rounds: a building's checklist (exits, stairs, detectors, call points, "
                          "extinguishers), each item marked ok or raised as a finding; due monthly.", no_args_is_help=True)


def _rounds(store: Path, campus: Path | None, *, readonly: bool = False) -> Rounds:
    """The inspection rounds of ``store``'s ledger (see :func:`_ledger`)."""
    from twin.hazard_rounds import Rounds

    return Rounds(_ledger(store, campus, readonly=readonly))


def _print_round(r: dict) -> None:
    """A round's checklist as a table: each item's level, id, what to check and its mark."""
    t = Table(title=f"Round {r['id']} of {r['building']}, {r['date']} by {r['started_by']}: "
                    f"{r['marked']} of {len(r['items'])} marked, {r['findings']} finding(s)"
                    + ("" if r["complete"] else " (not complete)"))
    for col in ("level", "item", "check", "result", "by"):
        t.add_column(col)
    for i in r["items"]:
        res = {"ok": "[green]ok[/]", "finding": f"[bold red]finding {i['finding']}[/]"}.get(i["result"], "-")
        t.add_row("all" if i["level"] is None else str(i["level"]), i["feature"], i["what"], res, i["by"] or "")
    out.print(t)


@rounds.command("start")
def round_start(
    store: StoreOpt,
    building: Annotated[str, typer.Option("--building", help="The building to inspect (its id in the campus).")],
    by: ByOpt,
    campus: CampusOpt = None,
    users: UsersOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Start an inspection round of a building and print its checklist (operator)."""
    role = _role(users, by) or "operator"
    rs = _rounds(store, campus)
    with user_errors(f"{store}: round not started"):
        r = rs.start(building, by=by, role=role)
    if as_json:
        print(json.dumps(r, indent=2))
        return
    _print_round(r)


@rounds.command("mark")
def round_mark(
    round_id: Annotated[int, typer.Argument(help="The round's id (twin hazard round schedule).")],
    store: StoreOpt,
    feature: Annotated[str, typer.Option("--feature", help="The checklist item.")],
    by: ByOpt,
    ok: Annotated[bool, typer.Option("--ok", help="Nothing wrong.")] = False,
    kind: Annotated[str | None, typer.Option("--kind", help="Or raise a finding of this kind on the item.")] = None,
    note: Annotated[str, typer.Option("--note", help="What was found (needed with --kind).")] = "",
    width: Annotated[float | None, typer.Option("--width", help="narrowed: the remaining clear width (m).")] = None,
    due: Annotated[str | None, typer.Option("--due", help="The finding's due date YYYY-MM-DD.")] = None,
    campus: CampusOpt = None,
    users: UsersOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Mark one item of a round ok, or raise a finding on it (operator)."""
    if ok == (kind is not None):
        fail("give --ok or --kind (one of them)")
    role = _role(users, by) or "operator"
    rs = _rounds(store, campus)
    with user_errors(f"{store}: item not marked"):
        r = rs.mark(round_id, feature, by=by, role=role, kind=kind, note=note, width=width, due=due)
    if as_json:
        print(json.dumps(r, indent=2))
        return
    item = next(i for i in r["items"] if i["feature"] == feature)
    what = "ok" if item["result"] == "ok" else f"finding {item['finding']} ({kind})"
    out.print(f"round {r['id']}: {feature} {what}; {r['marked']} of {len(r['items'])} marked")


@rounds.command("show")
def round_show(
    round_id: Annotated[int, typer.Argument(help="The round's id.")],
    store: StoreOpt,
    campus: CampusOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """A round's checklist and what each item was marked."""
    rs = _rounds(store, campus, readonly=True)
    with user_errors(f"{store}: no round to show"):
        r = rs.get(round_id)
    if as_json:
        print(json.dumps(r, indent=2))
        return
    _print_round(r)


@rounds.command("schedule")
def round_schedule(
    store: StoreOpt,
    campus: CampusOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Every building's last round and when the next is due (hazards.round_days; overdue in red)."""
    rows = _rounds(store, campus, readonly=True).schedule()
    if as_json:
        print(json.dumps(rows, indent=2))
        return
    t = Table(title=f"Inspection rounds in {store}")
    for col in ("building", "items", "last round", "findings", "next due"):
        t.add_column(col)
    for r in rows:
        last = "never" if r["last_round"] is None else (
            f"{r['last_round']} on {r['last_date']}" + ("" if r["last_complete"] else " (not complete)"))
        due = f"[bold red]{r['due']} overdue[/]" if r["overdue"] else r["due"]
        t.add_row(r["building"], str(r["items"]), last, "-" if r["last_findings"] is None else str(r["last_findings"]), due)
    out.print(t)


def _point(f: dict) -> str:
    return f"({f['x']:.1f}, {f['y']:.1f}) {f['building'] or ''} L{f['level']}"


def _date(ts: float) -> str:
    return dt.datetime.fromtimestamp(ts, dt.UTC).strftime("%Y-%m-%d")


def _days(d: float | None) -> str:
    return "-" if d is None else f"{d:.1f} days"


for _name, _cmd in (("add", add), ("list", list_), ("fix", fix), ("verify", verify), ("reject", reject),
                    ("reopen", reopen), ("report", report), ("simulate", simulate)):
    hazard.command(_name)(_cmd)
hazard.add_typer(rounds, name="round")

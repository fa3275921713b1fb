"""The hazard report (``twin hazard report``): the closed loop of inspection findings, as HTML and CSV.

:func:`hazard_summary` computes, from the findings of a ledger
(``twin.hazards.HazardLedger.findings``) over a window of days:

- per month: findings found, fixed and verified in the month, those in
  force (open or fixed, not yet verified) and overdue at the month's end, and
  the time to fix (median, p90) of the month's fixes;
- the closed-loop figures: found, fixed, verified, rejected and still open
  in the window; time to fix (found → fixed, days: median and p90) and
  time to close (found → verified);
- the same by building and by kind.

:func:`write_report` writes ``report.html`` (one offline page: key figures,
plots as embedded PNGs, tables; every text escaped) and ``monthly.csv``,
``by_building.csv``, ``by_kind.csv`` and ``findings.csv``.
"""

from __future__ import annotations

import csv
import datetime as dt
from collections import defaultdict
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np

from viz.page import card, esc, png_data_uri, report_css, table_html
from viz.plots import figure, style_axes

FOUND, FIXED, IN_FORCE, OVERDUE = "#1565c0", "#2e7d32", "#ef6c00", "#d50000"
"""Colours of found, fixed, in-force and overdue findings in the plots."""
DAY = 86_400.0


def _date(ts: float) -> dt.date:
    return dt.datetime.fromtimestamp(ts, dt.UTC).date()


def _ts(d: dt.date) -> float:
    return dt.datetime(d.year, d.month, d.day, tzinfo=dt.UTC).timestamp()


def _status_at(f: dict[str, Any], t: float) -> str | None:
    """The finding's status at time ``t`` (epoch s; None: not found yet)."""
    status = None
    for m in f["moves"]:
        if m["ts"] <= t:
            status = m["status"]
    return status


def _first(f: dict[str, Any], status: str) -> float | None:
    return next((m["ts"] for m in f["moves"] if m["status"] == status), None)


def _months(start: dt.date, end: dt.date) -> list[dt.date]:
    out, d = [], start.replace(day=1)
    while d <= end:
        out.append(d)
        d = (d + dt.timedelta(days=32)).replace(day=1)
    return out


def _stats(days: list[float]) -> tuple[float | None, float | None]:
    if not days:
        return None, None
    return round(float(np.median(days)), 1), round(float(np.percentile(days, 90)), 1)


def _group(findings: Iterable[dict[str, Any]], end_ts: float) -> dict[str, Any]:
    """Found, fixed, verified, rejected, in force, overdue and time to fix of ``findings`` as of ``end_ts``."""
    fs = list(findings)
    fix_days = [(_first(f, "fixed") - f["found_at"]) / DAY for f in fs if (_first(f, "fixed") or end_ts + 1) <= end_ts]
    close_days = [(_first(f, "verified") - f["found_at"]) / DAY for f in fs if (_first(f, "verified") or end_ts + 1) <= end_ts]
    at = [_status_at(f, end_ts) for f in fs]
    end_day = _date(end_ts)
    med, p90 = _stats(fix_days)
    cmed, cp90 = _stats(close_days)
    return {"found": len(fs), "fixed": len(fix_days), "verified": at.count("verified"), "rejected": at.count("rejected"),
            "open": sum(s in ("open", "fixed") for s in at),
            "overdue": sum(s in ("open", "fixed") and end_day > dt.date.fromisoformat(f["due"]) for f, s in zip(fs, at, strict=True)),
            "fix_days_median": med, "fix_days_p90": p90, "close_days_median": cmed, "close_days_p90": cp90}


def hazard_summary(findings: list[dict[str, Any]], *, start: dt.date | None = None, end: dt.date | None = None,
                   campus: str = "", today: dt.date | None = None) -> dict[str, Any]:
    """The report's figures for the findings found from ``start`` to ``end`` (inclusive days, UTC).

    Parameters
    ----------
    findings : list of dict
        Every finding of the ledger with its moves.
    start, end : date, optional
        The window (default: the first finding's day, and today).
    campus : str
        The campus, for the page's header.
    today : date, optional
        The present (default: today, UTC), the window's end when ``end`` is not given; moves after the
        window's end are not counted.
    """
    today = today or dt.datetime.now(dt.UTC).date()
    start = start or (min((_date(f["found_at"]) for f in findings), default=today))
    end = end or today
    end_ts = _ts(end + dt.timedelta(days=1))
    window = [f for f in findings if _ts(start) <= f["found_at"] < end_ts]
    monthly = []
    for m in _months(start, end):
        nxt = (m + dt.timedelta(days=32)).replace(day=1)
        lo, hi = max(_ts(m), _ts(start)), min(_ts(nxt), end_ts)
        mine = [f for f in window if f["found_at"] < hi]
        at = [(f, _status_at(f, hi)) for f in mine]
        fixed = [(t - f["found_at"]) / DAY for f in window if (t := _first(f, "fixed")) is not None and lo <= t < hi]
        ver = [t for f in window if (t := _first(f, "verified")) is not None and lo <= t < hi]
        med, p90 = _stats(fixed)
        monthly.append({"month": m.strftime("%Y-%m"), "found": sum(lo <= f["found_at"] < hi for f in window),
                        "fixed": len(fixed), "verified": len(ver),
                        "in_force_at_end": sum(s in ("open", "fixed") for _, s in at),
                        "overdue_at_end": sum(s in ("open", "fixed") and _date(hi - 1) > dt.date.fromisoformat(f["due"])
                                              for f, s in at),
                        "fix_days_median": med, "fix_days_p90": p90})
    by_b: dict[str, list[dict[str, Any]]] = defaultdict(list)
    by_k: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for f in window:
        by_b[f["building"] or "outdoors"].append(f)
        by_k[f["kind"]].append(f)
    rows = [{"id": f["id"], "kind": f["kind"], "feature": f["feature"] or "", "building": f["building"] or "",
             "level": "" if f["level"] is None else f["level"], "found": _date(f["found_at"]).isoformat(),
             "found_by": f["found_by"], "due": f["due"], "status": _status_at(f, end_ts),
             "fixed": _date(t).isoformat() if (t := _first(f, "fixed")) is not None and t < end_ts else "",
             "verified": _date(t).isoformat() if (t := _first(f, "verified")) is not None and t < end_ts else "",
             "note": f["note"]} for f in window]
    return {"campus": campus, "from": start.isoformat(), "to": end.isoformat(), "totals": _group(window, end_ts),
            "monthly": monthly,
            "by_building": {b: _group(fs, end_ts) for b, fs in sorted(by_b.items())},
            "by_kind": {k: _group(fs, end_ts) for k, fs in sorted(by_k.items())},
            "fix_days": sorted(round((_first(f, "fixed") - f["found_at"]) / DAY, 2) for f in window
                               if (_first(f, "fixed") or end_ts + 1) < end_ts),
            "findings": rows}


# -- the page ------------------------------------------------------------------------

def _days(v: float | None) -> str:
    return "–" if v is None else f"{v:.1f} d"


def _plots(s: dict[str, Any]) -> str:
    months = [m["month"] for m in s["monthly"]]
    x = np.arange(len(months))
    fig = figure(9.5, 3.6)
    ax = fig.add_subplot()
    ax.bar(x - 0.2, [m["found"] for m in s["monthly"]], 0.4, color=FOUND, label="found")
    ax.bar(x + 0.2, [m["fixed"] for m in s["monthly"]], 0.4, color=FIXED, label="fixed")
    ax.plot(x, [m["in_force_at_end"] for m in s["monthly"]], color=IN_FORCE, marker="o", label="in force at month end")
    ax.plot(x, [m["overdue_at_end"] for m in s["monthly"]], color=OVERDUE, marker="s", linestyle="--", label="overdue at month end")
    ax.set_xticks(x, months, rotation=45 if len(months) > 8 else 0, fontsize=9)
    style_axes(ax, "Found vs fixed per month", "month", "findings")
    ax.set_ylim(0, 1.3 * max([1] + [max(m["found"], m["fixed"], m["in_force_at_end"]) for m in s["monthly"]]))
    ax.legend(fontsize=9, ncols=4, loc="upper left", frameon=False)
    out = f'<div class="rp-plot"><img alt="found vs fixed per month" src="{png_data_uri(fig)}"></div>'
    fig = figure(4.6, 3.6)
    ax = fig.add_subplot()
    days = s["fix_days"]
    if days:
        ax.hist(days, bins=min(30, max(5, len(days) // 3)), color=FIXED, alpha=0.85)
        for v, name, ls in ((s["totals"]["fix_days_median"], "median", "-"), (s["totals"]["fix_days_p90"], "p90", "--")):
            ax.axvline(v, color="#263238", linestyle=ls, linewidth=1.2, label=f"{name} {v:.1f} d")
        ax.legend(fontsize=9, frameon=False)
    style_axes(ax, "Time to fix", "days from found to fixed", "findings", from_zero=True)
    hist = png_data_uri(fig)
    fig = figure(4.6, 3.6)
    ax = fig.add_subplot()
    for key, name, ls in (("fix_days_median", "median", "-"), ("fix_days_p90", "p90", "--")):
        ax.plot(x, [np.nan if m[key] is None else m[key] for m in s["monthly"]], color=FIXED, linestyle=ls, marker="o",
                label=f"{name} of the month's fixes")
    ax.set_xticks(x, [m[5:] if months[0][:4] == months[-1][:4] else m[2:] for m in months], fontsize=9)
    style_axes(ax, "Time to fix, month by month", "month", "days", from_zero=True)
    ax.legend(fontsize=9, frameon=False)
    trend = png_data_uri(fig)
    return out + (f'<div class="rp-two"><div class="rp-plot"><img alt="time to fix" src="{hist}"></div>'
                  f'<div class="rp-plot"><img alt="time to fix by month" src="{trend}"></div>'
                  f'<div class="rp-plot"><img alt="by building" src="{_bars(s["by_building"], "By building")}"></div>'
                  f'<div class="rp-plot"><img alt="by kind" src="{_bars(s["by_kind"], "By kind")}"></div></div>')


def _bars(groups: dict[str, dict[str, Any]], title: str) -> str:
    """Found, in force and overdue findings per group (building or kind), as a PNG data URI."""
    fig = figure(4.6, 3.6)
    ax = fig.add_subplot()
    names = list(groups)
    y = np.arange(len(names))
    ax.barh(y, [groups[b]["found"] for b in names], color=FOUND, alpha=0.35, label="found")
    ax.barh(y, [groups[b]["open"] for b in names], color=IN_FORCE, label="in force")
    ax.barh(y, [groups[b]["overdue"] for b in names], color=OVERDUE, label="overdue")
    ax.set_yticks(y, [n.replace("_", " ") for n in names], fontsize=9)
    ax.invert_yaxis()
    style_axes(ax, title, "findings", "")
    fig.legend(fontsize=9, frameon=False, loc="outside lower center", ncols=3)
    return png_data_uri(fig)


def _group_rows(groups: dict[str, dict[str, Any]]) -> list[list[Any]]:
    return [[name, g["found"], g["fixed"], g["verified"], g["rejected"], g["open"], g["overdue"], _days(g["fix_days_median"]),
             _days(g["fix_days_p90"])] for name, g in groups.items()]


_GROUP_HEAD = ["found", "fixed", "verified", "rejected", "in force", "overdue", "fix median", "fix p90"]


def report_page(s: dict[str, Any], *, generated: dt.datetime | None = None) -> str:
    """The report as one self-contained HTML page (no script, no network)."""
    t = s["totals"]
    share = f"{100 * t['fixed'] / t['found']:.0f} % of found" if t["found"] else ""
    cards = "".join((
        card("closed loop", f"{t['found']} found · {t['fixed']} fixed", share, tone="main"),
        card("verified", str(t["verified"]), f"{t['rejected']} rejected", tone="good"),
        card("in force", str(t["open"]), "open, or fixed and not yet verified", tone="warn" if t["open"] else ""),
        card("overdue", str(t["overdue"]), "in force past the due date", tone="bad" if t["overdue"] else "good"),
        card("time to fix", _days(t["fix_days_median"]), f"median; p90 {_days(t['fix_days_p90'])}"),
        card("time to close", _days(t["close_days_median"]), f"found → verified; p90 {_days(t['close_days_p90'])}"),
    ))
    monthly = table_html(["month", "found", "fixed", "verified", "in force at end", "overdue at end", "fix median", "fix p90"],
                         [[m["month"], m["found"], m["fixed"], m["verified"], m["in_force_at_end"], m["overdue_at_end"],
                           _days(m["fix_days_median"]), _days(m["fix_days_p90"])]
                          for m in s["monthly"]], numeric=range(1, 8), table_id="monthly")
    overdue = [r for r in s["findings"] if r["status"] in ("open", "fixed") and r["due"] < s["to"]]
    stamp = (generated or dt.datetime.now(dt.UTC)).strftime("%Y-%m-%d %H:%M UTC")
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Hazard report {esc(s['from'])} to {esc(s['to'])}</title><style>{report_css()}</style></head>
<body><div class="rp-top"><header class="rp-header"><h1>Hazard inspection report</h1>
<div class="rp-meta"><span><b>campus</b>{esc(s['campus'])}</span><span><b>from</b>{esc(s['from'])}</span>
<span><b>to</b>{esc(s['to'])}</span></div></header>
<div class="rp-figures">{cards}</div></div>
<div class="rp-bottom">{_plots(s)}
<h2>Per month</h2>{monthly}
<h2>By building</h2>{table_html(["building", *_GROUP_HEAD], _group_rows(s["by_building"]), numeric=range(1, 9))}
<h2>By kind</h2>{table_html(["kind", *_GROUP_HEAD], _group_rows(s["by_kind"]), numeric=range(1, 9))}
<h2>Overdue findings</h2>
{table_html(["id", "kind", "where", "building", "found", "due", "status", "note"],
            [[r["id"], r["kind"], r["feature"], r["building"], r["found"], r["due"], r["status"], r["note"]] for r in overdue],
            numeric=[0], table_id="overdue")}
<p class="rp-footer">Campus Twin · twin hazard report · generated {esc(stamp)} · every finding in findings.csv</p></div>
</body></html>
"""


def write_report(s: dict[str, Any], out_dir: Path) -> dict[str, Path]:
    """Write ``report.html`` and the CSV files into ``out_dir`` (created if missing); return their paths by name."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    files = {"report": out_dir / "report.html", "monthly": out_dir / "monthly.csv", "by_building": out_dir / "by_building.csv",
             "by_kind": out_dir / "by_kind.csv", "findings": out_dir / "findings.csv"}
    files["report"].write_text(report_page(s), encoding="utf-8")
    _csv(files["monthly"], s["monthly"])
    for name, key in (("by_building", "building"), ("by_kind", "kind")):
        _csv(files[name], [{key: k, **g} for k, g in s[name].items()])
    _csv(files["findings"], s["findings"])
    return files


def _csv(path: Path, rows: list[dict[str, Any]]) -> None:
    with path.open("w", newline="", encoding="utf-8") as fh:
        if not rows:
            return
        w = csv.DictWriter(fh, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)

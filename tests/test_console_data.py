"""What the operator console is fed: the site's procedures file, the campus time zone, the synthetic day in local hours,
the forecast's counted and assumed people and its refresh while a fire is on."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from typer.testing import CliRunner

from scenarios.forecast import REFRESH_S, Forecaster
from sensors.sources import synthetic_day
from tests.helpers import TINY, tiny, write
from twin.campus import load_campus
from twin.cli import app as cli
from twin.read import CampusError
from viz.live.procedures import ProceduresError, load_procedures

BUILDINGS = {"TB1", "LIB"}


@pytest.mark.parametrize(("text", "says"), [
    ("[kinds]\nfire = 'x'\n[rooms]\n", "unknown table 'rooms'"),
    ("[kinds]\nflood = 'x'\n", "[kinds] 'flood' is not an alarm kind"),
    ("[buildings.XX]\nfire = 'x'\n", "[buildings.XX]: no building 'XX'"),
    ("[buildings.TB1]\nfire = ''\n", "[buildings.TB1] fire: the procedure must be a non-empty string"),
    ("[kinds\n", "not a TOML file"),
])
def test_a_bad_procedures_file_names_the_key(tmp_path, text, says):
    f = tmp_path / "p.toml"
    f.write_text(text, encoding="utf-8")
    with pytest.raises(ProceduresError) as e:
        load_procedures(f, BUILDINGS)
    assert str(e.value).startswith(str(f)) and says in str(e.value)


def test_procedures_most_specific_first(tmp_path):
    f = tmp_path / "p.toml"
    f.write_text('[kinds]\nfire = "Call the brigade."\n[buildings.TB1]\nfire = "Side exits."\n"*" = "Key: desk 2211."\n', encoding="utf-8")
    p = load_procedures(f, BUILDINGS)
    assert [x["text"] for x in p.for_alarm("fire", "TB1")] == ["Side exits.", "Key: desk 2211.", "Call the brigade."]
    assert [x["text"] for x in p.for_alarm("fire", "LIB")] == ["Call the brigade."]
    assert p.for_alarm("panic", None) == []


def test_serve_refuses_a_bad_procedures_file(tmp_path):
    f = tmp_path / "p.toml"
    f.write_text("[buildings.NOPE]\nfire = 'x'\n", encoding="utf-8")
    r = CliRunner().invoke(cli, ["serve", str(TINY), "--store", str(tmp_path / "e.sqlite"), "--procedures", str(f)])
    assert r.exit_code != 0 and "no building 'NOPE'" in r.output and "Traceback" not in r.output


def test_the_campus_file_names_its_time_zone(tmp_path):
    doc = tiny()
    assert load_campus(write(doc, tmp_path / "a.geojson")).features.attrs["time_zone"] == "UTC"  # none named: UTC
    doc["time_zone"] = "Europe/Helsinki"
    assert load_campus(write(doc, tmp_path / "b.geojson")).features.attrs["time_zone"] == "Europe/Helsinki"
    doc["time_zone"] = "Mars/Olympus_Mons"
    with pytest.raises(CampusError) as e:
        load_campus(write(doc, tmp_path / "c.geojson"))
    assert "unknown time zone 'Mars/Olympus_Mons'" in str(e.value) and "time_zone" in str(e.value)


def test_the_synthetic_day_follows_local_hours(demo):
    """Gate arrivals peak in the local morning of the campus (Asia/Shanghai, UTC+8), whatever the UTC hour."""
    start = datetime(2026, 3, 2, tzinfo=UTC).timestamp()  # 08:00 local
    events = synthetic_day(demo, start=start, duration=86_400, interval=300)
    zone = ZoneInfo(demo.features.attrs["time_zone"])
    arrivals = Counter()
    for e in events:
        if e["kind"] == "crossing" and e["direction"] == "in" and e["sensor_id"].startswith("GATE"):
            arrivals[datetime.fromtimestamp(e["ts"], zone).hour] += e.get("count", 1)
    peak = max(arrivals, key=arrivals.get)
    assert 6 <= peak <= 10 and arrivals[3] < arrivals[peak] / 10  # busy at 08:00 local, quiet at 03:00 local


def test_counts_during_a_fire_refresh_the_forecast(monkeypatch):
    asked: list[float] = []
    f = Forecaster.__new__(Forecaster)  # the listener only: no thread, no engine
    f._fire, f._asked = None, 0.0
    monkeypatch.setattr(f, "trigger", lambda fire: (asked.append(fire["ts"]), setattr(f, "_asked", fire["ts"])), raising=False)
    fire = {"sensor_id": "SD1", "ts": 100.0, "kind": "fire", "state": "fire"}
    f.on_events([{"sensor_id": "CAM1", "ts": 90.0, "kind": "count", "count": 5}])  # no fire: nothing
    f.on_events([fire])
    f.on_events([{"sensor_id": "CAM1", "ts": 100.0 + REFRESH_S / 2, "kind": "count", "count": 5}])  # too soon
    f.on_events([{"sensor_id": "G1", "ts": 100.0 + REFRESH_S, "kind": "crossing", "direction": "out", "count": 3}])
    f.on_events([{**fire, "ts": 200.0, "state": "normal"}])
    f.on_events([{"sensor_id": "CAM1", "ts": 400.0, "kind": "count", "count": 5}])  # restored: no more
    assert asked == [100.0, 100.0 + REFRESH_S]

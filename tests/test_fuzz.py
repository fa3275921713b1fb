"""Property tests (hypothesis) over everything that reads sensor input: the event parser, the body splitter, the MQTT decoder
and the ingest route in process. None may raise, answer 500 or send an answer that cannot be encoded.

``make test`` runs a bounded number of inputs per target; ``make fuzz`` sets ``TWIN_FUZZ=1`` for a larger budget and
prints inputs tried and crashes per target.
"""

from __future__ import annotations

import json
import os
import time
from collections import Counter

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sensors.events import BodyError, Outcome, Rejected, parse_event, split_events
from sensors.ingest import Ingestor
from sensors.mqtt import decode
from sensors.store import EventStore
from tests.helpers import tiny, write
from twin.campus import load_campus
from viz.live.app import create_app

FUZZ = os.environ.get("TWIN_FUZZ") == "1"
BUDGET = settings(max_examples=3000 if FUZZ else 60, deadline=None, derandomize=not FUZZ,
                  suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
TRIED: Counter[str] = Counter()
KEY = "k-fuzz"

scalars = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20)
json_values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
                           max_leaves=20)
FIELDS = ["sensor_id", "ts", "kind", "seq", "count", "direction", "active", "state", "alert", "status", "lane", "panel_zone"]
near_events = st.dictionaries(st.sampled_from(FIELDS), scalars | st.sampled_from(
    ["CAM1", "count", "crossing", "fire", "in", "2026-03-01T10:00:00Z", "CAM-\ud800", "Infinity"]), max_size=8)
pieces = st.sampled_from(['{"sensor_id":"CAM1","ts":1772352000,"kind":"count","count":3}', "[", "]", "{", "}", ",", '"', "\\",
                          "\n", "9" * 5000, "[" * 1200, "NaN", "\ud800", "\xff", " ", '"seq":', "null"])
bodies = st.binary(max_size=300) | st.lists(pieces, max_size=12).map(lambda xs: "".join(xs).encode("utf-8", "surrogatepass"))


def encodable(doc: object) -> None:
    json.dumps(doc, ensure_ascii=False, allow_nan=False).encode("utf-8")


@pytest.fixture(scope="module")
def client(tmp_path_factory):
    campus = load_campus(write(tiny(), tmp_path_factory.mktemp("c") / "tiny.geojson"))
    ing = Ingestor(campus, EventStore(tmp_path_factory.mktemp("s") / "e.sqlite"))
    with TestClient(create_app(ing, users=None, device_keys=[KEY])) as c:
        yield c
    ing.close()


@BUDGET
@given(raw=json_values | near_events)
def test_the_event_parser_never_raises(raw):
    TRIED["event parser"] += 1
    got = parse_event(raw, now=time.time())
    if isinstance(got, list):
        assert got and all(p.message for p in got)
        encodable(Outcome("rejected", raw.get("sensor_id") if isinstance(raw, dict) and isinstance(raw.get("sensor_id"), str) else None,
                          None, "; ".join(p.message for p in got), got[0].field).as_dict())


@BUDGET
@given(body=bodies)
def test_the_body_splitter_splits_or_refuses_with_a_reason(body):
    TRIED["body splitter"] += 1
    try:
        raws = split_events(body)
    except BodyError as e:
        assert str(e)
        return
    for r in raws:
        assert not isinstance(r, Rejected) or r.reason
        parse_event(r)


@BUDGET
@given(topic=st.sampled_from(["campus/CAM1/count", "campus/events", "campus/CAM1/availability", "campus/x", "a/b/c/d"]) | st.text(max_size=30),
       payload=bodies)
def test_the_mqtt_decoder_never_raises(topic, payload):
    TRIED["MQTT decoder"] += 1
    for r in decode(topic, payload):
        got = parse_event(r)
        if isinstance(got, list):
            encodable(Outcome("rejected", reason="; ".join(p.message for p in got)).as_dict())


@BUDGET
@given(body=bodies | json_values.map(lambda v: json.dumps(v).encode()) | st.lists(near_events, max_size=5).map(
    lambda v: json.dumps(v).encode("utf-8", "surrogatepass")))
def test_the_ingest_route_answers_every_body_without_a_500(client, body):
    TRIED["HTTP ingest"] += 1
    r = client.post("/api/events", content=body, headers={"Authorization": f"Bearer {KEY}"})
    assert r.status_code in (200, 400, 413), r.text
    doc = r.json()
    assert "results" in doc if r.status_code == 200 else doc["error"]


def test_zz_report():
    """Inputs tried per target (crashes are failures above, so 0 when this runs)."""
    print("\nfuzz: " + ", ".join(f"{k}: {n:,} inputs, 0 crashes" for k, n in sorted(TRIED.items())))

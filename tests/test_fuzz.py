"""Property tests (hypothesis) over every reader of outside input: the campus loader, the scenario loader, the event
parser, the body splitter, the MQTT decoder and the ingest route in process. A loader either loads or raises its
``InputError`` (each problem naming the file); the others never raise, answer 500 or send an answer that cannot be
encoded. The schema-driven fuzz of the whole HTTP API is ``tests/test_api_schema.py``.

``make test`` runs a bounded number of inputs per target; ``make fuzz`` sets ``TWIN_FUZZ=1`` for a larger budget and
prints inputs tried and crashes per target.
"""

from __future__ import annotations

import copy
import json
import math
import time
import tomllib
from collections import Counter
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from scenarios.schema import load_scenario
from sensors.events import BodyError, Outcome, Rejected, parse_event, split_events
from sensors.ingest import Ingestor
from sensors.mqtt import decode
from sensors.store import EventStore
from tests.helpers import FUZZ, ROOT, TINY, tiny, write
from twin.campus import load_campus
from twin.errors import InputError
from viz.live.app import create_app

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


TINY_DOC = tiny()
PROPS = ["id", "kind", "building", "level", "levels", "use", "occupants", "width", "exit", "heading", "fov", "range",
         "type", "zone", "name", "capacity", "lanes", "speed_limit", "snapshot_url", "stream_url"]
KINDS = ["building", "room", "corridor", "door", "stair", "footway", "road", "shared", "crossing", "gate", "assembly",
         "camera", "detector", "post", "key_area", "nonsense"]
numbers = st.floats() | st.integers(-10**12, 10**12) | st.sampled_from([1e11, -1e11, float("nan"), float("inf")])
positions = st.lists(numbers, min_size=0, max_size=3)
geometries = st.none() | json_values | st.fixed_dictionaries({
    "type": st.sampled_from(["Point", "LineString", "Polygon", "MultiPolygon", "GeometryCollection", "Circle", "", 7]),
    "coordinates": positions | st.lists(positions, max_size=4) | st.lists(st.lists(positions, max_size=5), max_size=2)})
campus_edits = st.lists(st.tuples(st.integers(0, len(TINY_DOC["features"]) - 1),
                                  st.sampled_from(PROPS) | st.just("geometry") | st.text(max_size=6),
                                  scalars | st.sampled_from(KINDS) | st.lists(st.sampled_from(KINDS), max_size=2)
                                  | json_values | geometries), min_size=1, max_size=4)
top_edits = st.sampled_from([{}, {"crs": None}, {"crs": {"type": "name", "properties": None}},
                             {"crs": {"type": "name", "properties": {"name": "EPSG:4326"}}}, {"crs": "nonsense"},
                             {"features": None}, {"type": "Feature"}, {"crs": {"type": "name", "properties": {"name": "EPSG:99999"}}}])
SCENARIO = tomllib.loads((ROOT / "scenarios" / "demo" / "tb1-stair-fire.toml").read_text())
SC_KEYS = [*SCENARIO, "occupancy.default", "occupancy.buildings", "fire.origin", "fire.start", "fire.spread_delay",
           "premovement.mean", "premovement.sd", "premovement.dist", "settings", "walls", "nonsense"]
toml_values = st.none() | st.booleans() | st.integers(-10**20, 10**20) | st.floats() | st.text(max_size=12) | st.lists(
    st.integers() | st.text(max_size=6) | st.floats(), max_size=3) | st.dictionaries(st.text(max_size=6), st.floats() | st.text(max_size=6), max_size=3)


def toml_text(doc: dict[str, object]) -> str:
    """A TOML document from a table (inline tables; ``nan``/``inf`` as TOML writes them); ``None`` leaves the key out."""
    def value(v: object) -> str:
        if isinstance(v, bool):
            return "true" if v else "false"
        if isinstance(v, float):
            return "nan" if math.isnan(v) else ("inf" if v == float("inf") else "-inf" if v == float("-inf") else repr(v))
        if isinstance(v, int):
            return str(v)
        if isinstance(v, str):
            return json.dumps(v)
        if isinstance(v, list):
            return "[" + ", ".join(value(x) for x in v if x is not None) + "]"
        if isinstance(v, dict):
            return "{" + ", ".join(f"{json.dumps(str(k))} = {value(x)}" for k, x in v.items() if x is not None) + "}"
        return '""'
    return "\n".join(f"{json.dumps(k)} = {value(v)}" for k, v in doc.items() if v is not None)


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
@given(edits=campus_edits, top=top_edits)
def test_the_campus_loader_loads_or_names_the_problem(edits, top):
    """The documented example with a few properties, geometries or the CRS changed to anything JSON holds."""
    TRIED["campus loader"] += 1
    doc = {**copy.deepcopy(TINY_DOC), **top}
    for i, key, v in edits:
        feat = doc["features"][i] if isinstance(doc.get("features"), list) else {}
        if key == "geometry":
            feat["geometry"] = v
        elif isinstance(feat.get("properties"), dict):
            feat["properties"][key] = v
    try:
        load_campus(TINY, doc=doc)
    except InputError as e:
        assert e.problems and all(p.source and p.message for p in e.problems)


@BUDGET
@given(edits=st.dictionaries(st.sampled_from(SC_KEYS), toml_values, min_size=1, max_size=4), raw=st.text(max_size=40))
def test_the_scenario_loader_loads_or_names_the_problem(tmp_path_factory, edits, raw):
    """A demo scenario with keys set to anything TOML holds (``nan``, ``inf``, huge integers, wrong tables), and junk text."""
    TRIED["scenario loader"] += 1
    doc = copy.deepcopy(SCENARIO)
    doc["campus"] = str(ROOT / "maps" / "demo")
    for key, v in edits.items():
        head, _, tail = key.partition(".")
        if tail and isinstance(doc.get(head), dict):
            doc[head][tail] = v
        else:
            doc[head] = v
    path = tmp_path_factory.mktemp("sc") / "s.toml"
    for text in (toml_text(doc), raw, toml_text(doc) + "\n" + raw):
        Path(path).write_text(text, encoding="utf-8", errors="surrogatepass")
        try:
            load_scenario(path)
        except InputError as e:
            assert e.problems and all(p.source and p.message for p in e.problems)


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

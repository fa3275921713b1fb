"""The offline campus map: layers, escaping, no network, and a real browser."""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import Any

import folium
import geopandas as gpd
import pytest
import shapely

from tests.helpers import TINY, add, empty, line, open_offline, point, rect, write
from twin.campus import load_campus
from twin.read import read_features
from twin.settings import default
from twin.viewshed import camera_viewsheds
from viz.campus_map import campus_map, door_is_exit, popup_html, write_map
from viz.styles import LAYERS

XSS = "<img src=x onerror=alert(1)>"
SCRIPT = "</script><script>alert(2)</script>"


def _campus() -> dict[str, Any]:
    """A tiny campus with a few features of every kind (EPSG:32650, local metres)."""
    doc = empty()
    f = [
        (rect(0, 0, 40, 20), {"id": "B1", "kind": "building", "name": "Teaching Hall", "use": "teaching", "levels": 2}),
        (rect(60, 0, 90, 20), {"id": "B2", "kind": "building", "name": XSS, "use": "lab", "note": SCRIPT}),
        (rect(0, 0, 20, 12), {"id": "R1", "kind": "room", "building": "B1", "level": 0}),
        (rect(20, 0, 40, 12), {"id": "R2", "kind": "room", "building": "B1", "level": 0, "use": "lecture"}),
        (rect(0, 12, 36, 20), {"id": "C0", "kind": "corridor", "building": "B1", "level": 0}),
        (rect(0, 0, 20, 12), {"id": "R3", "kind": "room", "building": "B1", "level": 1, "use": "office"}),
        (rect(0, 12, 36, 20), {"id": "C1", "kind": "corridor", "building": "B1", "level": 1}),
        (rect(36, 12, 40, 20), {"id": "S1", "kind": "stair", "building": "B1", "levels": "0-1"}),
        (point(10, 20), {"id": "D1", "kind": "door", "building": "B1"}),
        (point(10, 12), {"id": "D2", "kind": "door", "building": "B1"}),
        (point(10, 12), {"id": "D3", "kind": "door", "building": "B1", "level": 1}),
        (point(40, 6), {"id": "D4", "kind": "door", "building": "B1", "access": "card", "exit": True}),
        (point(30, 12), {"id": "D6", "kind": "door", "building": "B1", "access": "card"}),
        (point(75, 0), {"id": "D5", "kind": "door", "building": "B2"}),
        (line((10, 20), (10, 50)), {"id": "F1", "kind": "footway"}),
        (line((-20, 60), (120, 60)), {"id": "RD1", "kind": "road"}),
        (line((100, 20), (100, 60)), {"id": "SH1", "kind": "shared"}),
        (line((10, 50), (10, 70)), {"id": "X1", "kind": "crossing"}),
        (point(120, 60), {"id": "G1", "kind": "gate", "mode": "vehicle"}),
        (point(10, 80), {"id": "G2", "kind": "gate", "mode": "pedestrian"}),
        (rect(0, 85, 40, 110), {"id": "A1", "kind": "assembly", "name": "Field"}),
        (point(40, 20), {"id": "CAM1", "kind": "camera", "heading": 45, "fov": 90, "range": 25}),
        (point(50, 40), {"id": "CAM2", "kind": "camera", "heading": 0, "fov": 360, "range": 10}),
        (point(10, 6), {"id": "DT1", "kind": "detector", "building": "B1", "level": 0}),
        (point(34, 16), {"id": "DT2", "kind": "detector", "type": "manual_call_point", "building": "B1", "level": 0}),
        (point(10, 6), {"id": "DT3", "kind": "detector", "building": "B1", "level": 1}),
        (point(50, 50), {"id": "P1", "kind": "post", "staff": 2}),
        (rect(58, -2, 92, 22), {"id": "K1", "kind": "key_area", "category": "lab", "closed": True}),
    ]
    for geometry, props in f:
        add(doc, geometry, **props)
    return doc


@pytest.fixture(scope="module")
def features(tmp_path_factory: pytest.TempPathFactory) -> gpd.GeoDataFrame:
    path = write(_campus(), tmp_path_factory.mktemp("campus") / "campus.geojson")
    return read_features(path)[0]


@pytest.fixture(scope="module")
def page_file(features: gpd.GeoDataFrame, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_map(features, tmp_path_factory.mktemp("map") / "map.html", title="Tiny <campus>")


def _overlays(m: folium.Map) -> dict[str, bool]:
    return {c.layer_name: c.show for c in m._children.values() if isinstance(c, folium.FeatureGroup)}


def test_layers_one_per_table_entry_and_one_per_level(features: gpd.GeoDataFrame) -> None:
    overlays = _overlays(campus_map(features))
    assert list(overlays) == [
        "Buildings",
        "Assembly areas",
        "Roads, lanes & footways",
        "Rooms — level 0",
        "Rooms — level 1",
        "Key areas",
        "Camera coverage",
        "Cameras",
        "Exits & card doors",
        "Gates",
        "Detectors",
        "Guard posts",
    ]
    assert overlays["Rooms — level 0"] and not overlays["Rooms — level 1"]
    assert {layer.name.format(level=0) for layer in LAYERS} <= set(overlays)


def test_no_tiles_and_fitted_to_the_campus(features: gpd.GeoDataFrame) -> None:
    m = campus_map(features)
    assert not any(isinstance(c, folium.TileLayer) for c in m._children.values())
    (s, w), (n, e) = next(c for c in m._children.values() if type(c).__name__ == "FitBounds").bounds
    minx, miny, maxx, maxy = features.to_crs(4326).total_bounds
    assert w <= minx and s <= miny and e >= maxx and n >= maxy
    assert e - w < 0.01 and n - s < 0.01  # a campus, not the world


def test_written_page_is_self_contained(page_file: Path) -> None:
    page = page_file.read_text(encoding="utf-8")
    tags = re.findall(r"<(?:script|link|img|iframe)\b[^>]*>", page, re.IGNORECASE)
    assert not [t for t in tags if re.search(r"(src|href)\s*=", t, re.IGNORECASE)], tags
    assert not re.search(r"url\((?!data:|#)", page), "CSS must not load anything"
    assert not re.search(r"//(cdn|code\.jquery|netdna|cdnjs)", page)
    assert re.search(r"=\s*L\.map\(", page)
    assert '.version="1.9' in page  # Leaflet itself is inlined


def test_feature_text_is_escaped(page_file: Path, features: gpd.GeoDataFrame) -> None:
    page = page_file.read_text(encoding="utf-8")
    assert "<img src=x" not in page and "<script>alert" not in page
    assert "<title>Tiny &lt;campus&gt;</title>" in page
    popup = popup_html(features.loc["B2"].to_dict())
    assert "&lt;img src=x onerror=alert(1)&gt;" in popup
    assert "&lt;/script&gt;&lt;script&gt;alert(2)&lt;/script&gt;" in popup
    assert "<img" not in popup and "<script" not in popup


def test_popup_lists_properties_then_model_values(features: gpd.GeoDataFrame) -> None:
    popup = popup_html(features.loc["D1"].to_dict())
    assert "<th>building</th><td>B1</td>" in popup
    assert '<tr class="ct-derived"><th>level</th><td>0</td></tr>' in popup  # a default, not in the file


def test_doors_on_the_outline_are_exits(features: gpd.GeoDataFrame) -> None:
    exits = door_is_exit(features)
    assert exits.to_dict() == {"D1": True, "D2": False, "D3": False, "D4": True, "D6": False, "D5": True}


@pytest.mark.parametrize(("heading", "fov"), [(0, 90), (90, 60), (225, 120), (300, 360)])
def test_camera_wedge_is_a_sector_clockwise_from_north(heading: float, fov: float) -> None:
    r = 20.0
    cams = gpd.GeoDataFrame(
        {"kind": ["camera"], "heading": [heading], "fov": [fov], "range": [r], "pixels": [20000], "building": [None]},
        geometry=[shapely.Point(500000, 3377000)],
        crs=32650,
    )
    wedge = camera_viewsheds(cams).iloc[0]
    assert wedge.is_valid
    assert wedge.area == pytest.approx(math.pi * r * r * fov / 360, rel=0.02)
    if fov < 360:
        b = math.radians(heading)
        ahead = shapely.Point(500000 + 0.9 * r * math.sin(b), 3377000 + 0.9 * r * math.cos(b))
        behind = shapely.Point(500000 - 0.5 * r * math.sin(b), 3377000 - 0.5 * r * math.cos(b))
        assert wedge.contains(ahead) and not wedge.contains(behind)


def test_camera_range_defaults_to_the_site_density() -> None:
    """No range, no pixels: a 1080p camera, as far as it keeps the site's density (IEC 62676-4 'observe')."""
    cams = gpd.GeoDataFrame({"kind": ["camera"], "heading": [0], "fov": [360], "range": [None], "building": [None]},
                            geometry=[shapely.Point(0, 0)], crs=32650)
    r = default("camera_pixels") / (default("camera_density") * 2 * math.pi)  # a panoramic image over the full circle
    assert camera_viewsheds(cams).iloc[0].area == pytest.approx(math.pi * r**2, rel=0.02)


def test_loaded_campus_maps(tmp_path: Path) -> None:
    campus = load_campus(TINY)
    assert write_map(campus.features, tmp_path / "tiny.html").stat().st_size > 0
    overlays = _overlays(campus_map(campus.features))
    assert {"Buildings", "Rooms — level 0", "Rooms — level 1", "Exits & card doors", "Cameras"} <= set(overlays)


def test_empty_campus_is_an_error(features: gpd.GeoDataFrame) -> None:
    with pytest.raises(ValueError, match="no features"):
        campus_map(features.iloc[:0])


@pytest.mark.browser
def test_map_in_a_real_browser(browser: Any, page_file: Path, tmp_path: Path) -> None:
    seen = open_offline(browser, page_file, width=1200, height=800)
    page, errors, requests, dialogs = seen.page, seen.errors, seen.remote, seen.dialogs
    page.wait_for_selector(".leaflet-container .leaflet-control-layers")

    labels = page.locator(".leaflet-control-layers-overlays label").all_inner_texts()
    assert [t.strip() for t in labels][:5] == [
        "Buildings",
        "Assembly areas",
        "Roads, lanes & footways",
        "Rooms — level 0",
        "Rooms — level 1",
    ]
    for kind in ("building", "room", "road", "crossing", "camera_fov", "camera", "door", "gate", "key_area"):
        assert page.locator(f"path.ct-{kind}").count() > 0, kind
    assert page.locator("#ct-title").inner_text() == "Tiny <campus>"

    # an upper level's rooms and sensors show only while its layer is on
    rooms, detectors = page.locator("path.ct-room").count(), page.locator("path.ct-detector").count()
    page.get_by_label("Rooms — level 1").check()
    assert page.locator("path.ct-room").count() == rooms + 1
    assert page.locator("path.ct-detector").count() == detectors + 1
    page.get_by_label("Detectors").uncheck()
    assert page.locator("path.ct-detector").count() == 0
    page.get_by_label("Rooms — level 1").uncheck()
    page.get_by_label("Detectors").check()
    assert page.locator("path.ct-detector").count() == detectors

    page.locator("path.ct-building").nth(1).click()  # B2, through the hatched key area over it
    popup = page.locator(".leaflet-popup-content")
    popup.wait_for()
    assert XSS in popup.inner_text() and SCRIPT in popup.inner_text()
    assert popup.locator("img, script").count() == 0
    page.wait_for_timeout(400)  # let the popup fade in
    page.screenshot(path=str(tmp_path / "campus_map.png"))
    assert (tmp_path / "campus_map.png").stat().st_size > 10_000
    assert errors == [] and requests == [] and dialogs == []
    page.close()

"""Viewsheds on tiny geometries with known answers: a wall hides exactly what it should."""

from __future__ import annotations

import math
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import shapely

from tests.helpers import add, empty, point, rect, write
from twin.campus import load_campus
from twin.errors import CampusError
from twin.settings import default
from twin.viewshed import camera_coverage, camera_table, camera_viewsheds, density_range, sector, viewshed

R = 10.0
QUARTER = math.pi * R**2 / 4


def seen(v: shapely.Geometry, *pts: tuple[float, float]) -> list[bool]:
    return [bool(v.covers(shapely.Point(p))) for p in pts]


def test_open_sector_is_the_wedge() -> None:
    v = viewshed(0, 0, 0, 90, R)
    assert v.area == pytest.approx(QUARTER, rel=1e-4)
    # looking north: ahead, at the edges of the view, behind, beyond range
    assert seen(v, (0, 9.9), (6.9, 7.0), (-6.9, 7.0), (0, -1), (7.2, 6.9), (0, 10.1)) == [True, True, True, False, False, False]


def test_heading_is_clockwise_from_north() -> None:
    east = viewshed(0, 0, 90, 10, R)
    assert seen(east, (9, 0), (0, 9), (-9, 0)) == [True, False, False]


def test_a_wall_hides_exactly_its_shadow() -> None:
    wall = shapely.box(-1, 5, 1, 5.1)  # 2 m wide, 5 m ahead
    v = viewshed(0, 0, 0, 90, R, [wall])
    # hidden: the wall and the part of the disc behind its near face, the sector of half-angle atan(1/5) less the triangle to the wall
    hidden = R**2 * math.atan(0.2) - 0.5 * 2 * 5
    assert v.area == pytest.approx(QUARTER - hidden, rel=1e-4)
    # just behind the wall, and at the edge of its shadow
    assert seen(v, (0, 7), (0.9, 9.9), (1.05 * 9 / 5, 9), (0.95 * 9 / 5, 9)) == [False, False, True, False]
    # in front of the wall and beside it: seen
    assert seen(v, (0, 4.9), (3, 7), (-3, 7)) == [True, True, True]


def test_a_wall_out_of_range_or_behind_changes_nothing() -> None:
    far = shapely.box(-1, 12, 1, 13)
    behind = shapely.box(-1, -3, 1, -2)
    v = viewshed(0, 0, 0, 90, R, [far, behind])
    assert v.area == pytest.approx(QUARTER, rel=1e-4)


def test_walls_around_a_360_camera() -> None:
    # a 360° camera boxed in by a 4 m square room with walls 0.2 m thick and a 1 m gap (door) in the north wall
    t = 0.2
    walls = [shapely.box(-2, -2 - t, 2, -2), shapely.box(-2 - t, -2 - t, -2, 2 + t), shapely.box(2, -2 - t, 2 + t, 2 + t),
             shapely.box(-2, 2, -0.5, 2 + t), shapely.box(0.5, 2, 2, 2 + t)]
    v = viewshed(0, 0, 0, 360, R, walls)
    # inside the room everything; outside only through the door
    assert seen(v, (1.5, 1.5), (-1.9, -1.9), (0, 9), (2, 9), (0, -5), (5, 0)) == [True, True, True, True, False, False]
    assert seen(v, (2.5, 9)) == [False]
    # the room, the door opening in the wall, and beyond the wall's outer face the wedge through
    # the opening's outer corners (+-0.5, 2.2): half-angle atan(0.5 / 2.2)
    inside, opening = 4 * 4, 1 * t
    beyond = R**2 * math.atan(0.5 / 2.2) - 0.5 * 1 * 2.2
    assert v.area == pytest.approx(inside + opening + beyond, rel=1e-3)


def test_a_camera_on_a_wall_sees_out() -> None:
    block = shapely.box(-5, -5, 5, 0)  # the camera sits on its north face, looking north
    v = viewshed(0, 0, 0, 120, R, [block])
    assert v.area == pytest.approx(math.pi * R**2 / 3, rel=1e-3)
    assert not v.intersection(block).area > 1e-9


def test_an_indoor_camera_sees_only_its_building() -> None:
    b = shapely.box(-3, -3, 3, 3)
    v = viewshed(0, 0, 0, 360, R, inside=b)
    assert v.area == pytest.approx(36.0, rel=1e-6)


def test_sector_is_a_disc_at_360() -> None:
    assert sector(0, 0, 0, 360, R).area == pytest.approx(math.pi * R**2, rel=1e-3)


def _campus(features: list[tuple[str, str, shapely.Geometry, dict]]) -> gpd.GeoDataFrame:
    rows = [{"id": i, "kind": k, "geometry": g, **p} for i, k, g, p in features]
    df = gpd.GeoDataFrame(rows, geometry="geometry", crs=32650).set_index("id", drop=False)
    for col in ("heading", "fov", "range", "building", "category", "density", "pixels"):
        if col not in df:
            df[col] = None
    return df


def test_key_area_coverage_counts_and_blind_spot() -> None:
    # a 20 x 10 m key area; a wall splits it; two cameras on the south edge look north at the west half
    f = _campus([
        ("KA", "key_area", shapely.box(0, 0, 20, 10), {"category": "finance"}),
        ("WALL", "building", shapely.box(9.5, 0, 10.5, 10), {}),
        ("C1", "camera", shapely.Point(0, 0), {"heading": 45, "fov": 90, "range": 40}),
        ("C2", "camera", shapely.Point(9.4, 0), {"heading": 315, "fov": 90, "range": 40}),
        ("PATH", "footway", shapely.LineString([(0, 5), (20, 5)]), {}),
    ])
    cov = camera_coverage(f, camera_viewsheds(f), step=0.5)
    a = cov.areas["KA"]
    assert a.area_m2 == pytest.approx(200)
    assert a.open_ground_m2 == pytest.approx(190)
    # both cameras see the whole west half (9.5 x 10) and nothing east of the wall
    assert a.seen_share == pytest.approx(95 / 200, rel=1e-3)
    assert a.blind_m2 == pytest.approx(95, rel=1e-3)
    assert a.blind_spots.bounds == pytest.approx((10.5, 0, 20, 10))
    assert a.seen_by["2"] == pytest.approx(95 / 200, abs=0.02)
    assert a.seen_by["1"] == pytest.approx(0, abs=0.02)
    assert a.cameras == ["C1", "C2"]
    # the footway: seen west of the wall (9.5 m of 20)
    assert cov.footway_share == pytest.approx(9.5 / 20, rel=1e-3)


def test_demo_cameras_are_occluded_by_buildings(demo) -> None:  # noqa: ANN001
    c = demo
    views = camera_viewsheds(c.features)
    built = shapely.union_all(c.of_kind("building").geometry.to_numpy())
    outdoor = c.features.loc[views.index, "building"].isna().to_numpy()
    overlap = np.array([v.intersection(built).area for v in views.to_numpy()])
    assert (overlap[outdoor] < 1e-6).all()
    assert all(not v.is_empty for v in views.to_numpy())


def ray_area(x: float, y: float, heading: float, fov: float, range_: float, occluders: list[shapely.Geometry],
             n: int = 7200) -> float:
    """The area seen, by brute force: ``n`` rays across the view, each stopped at the first building it meets.

    Area = sum of r² dθ / 2 over the rays (independent of the shadow polygons :func:`viewshed` builds).
    """
    fov_r = math.radians(fov)
    ang = math.radians(heading) + fov_r * ((np.arange(n) + 0.5) / n - 0.5)
    ends = np.column_stack([x + range_ * np.sin(ang), y + range_ * np.cos(ang)])
    rays = shapely.linestrings(np.stack([np.tile([x, y], (n, 1)), ends], axis=1))
    walls = shapely.union_all([shapely.boundary(o) for o in occluders])
    hit = shapely.intersection(rays, walls)
    r = np.full(n, range_)
    for i, h in enumerate(hit):
        if not h.is_empty:
            r[i] = min(range_, shapely.distance(shapely.Point(x, y), h))
    return float((r**2).sum() * fov_r / n / 2)


def test_a_facade_camera_on_an_l_shaped_building_sees_what_a_ray_test_sees() -> None:
    """A camera drawn on the inner wall of an L's long wing, looking into the L: the short wing hides most of it."""
    ell = shapely.Polygon([(0, 0), (40, 0), (40, 10), (10, 10), (10, 40), (0, 40)])
    x, y, heading, fov, rng = 10.0, 25.0, 135.0, 90.0, 30.0  # on the east face of the long (north) wing, looking south-east
    v = viewshed(x, y, heading, fov, rng, [ell])
    off = default("camera_wall_offset")
    rays = ray_area(x + off, y, heading, fov, rng, [ell])
    print(f"viewshed {v.area:.1f} m², ray test {rays:.1f} m², open sector {math.pi * rng**2 / 4:.1f} m²")
    assert v.area == pytest.approx(rays, rel=0.02)
    assert v.area < 0.8 * math.pi * rng**2 / 4  # its own building does hide part of the view
    assert v.intersection(ell).area < 1e-6
    # it stands off its wall, not in it: points just in front of the wall are seen, the far side of the short wing not
    assert seen(v, (x + off + 1, y - 1), (25, -5)) == [True, False]


def test_a_camera_at_a_corner_stands_off_the_wall_it_looks_away_from() -> None:
    block = shapely.box(0, 0, 10, 10)
    for heading, expect in ((90.0, (10.3, 10.0)), (0.0, (10.0, 10.3))):
        v = viewshed(10, 10, heading, 60, R, [block], wall_offset=0.3)
        cx, cy = shapely.get_coordinates(v.exterior)[0]  # the sector starts at the camera
        assert (cx, cy) == pytest.approx(expect)


def test_range_follows_pixels_lens_and_the_iec_densities() -> None:
    """A 1080p camera with a 60° lens: recognise (125 px/m) to 13.3 m; at 30 m it has 55 px/m, which is detect."""
    assert float(density_range(1920, 60, 125.0)) == pytest.approx(1920 / (2 * 125 * math.tan(math.radians(30))), rel=1e-9)
    assert float(density_range(1920, 60, 125.0)) == pytest.approx(13.3, abs=0.05)
    assert float(density_range(1920, 60, 250.0)) == pytest.approx(13.3 / 2, abs=0.05)  # identify: half as far
    f = _campus([
        ("KA", "key_area", shapely.box(-20, 0, 20, 40), {"category": "finance"}),
        ("KA-ID", "key_area", shapely.box(-20, 0, 20, 40), {"category": "finance", "density": "identify"}),
        ("C", "camera", shapely.Point(0, 0), {"heading": 0, "fov": 60, "range": 30, "pixels": 1920}),
    ])
    table = camera_table(f)["C"]
    assert table["range_m"] == {"detect": 66.5, "observe": 26.6, "recognise": 13.3, "identify": 6.7}
    assert table["at_given_range"]["px_per_m"] == pytest.approx(55.4, abs=0.05)
    assert table["at_given_range"]["level"] == "detect"
    cov = camera_coverage(f, step=0.5)
    # the site asks for observe (26.6 m, under the given 30 m); the second area asks for identify (6.7 m)
    wedge = math.pi / 6  # a 60° sector is r² × this
    assert cov.areas["KA"].seen_share * 1600 == pytest.approx(26.6**2 * wedge, rel=0.01)
    assert cov.areas["KA-ID"].seen_share * 1600 == pytest.approx(6.65**2 * wedge, rel=0.02)
    assert cov.areas["KA-ID"].as_dict()["level"] == "identify"
    with pytest.raises(ValueError, match="'sharp'"):
        camera_coverage(_campus([("K", "key_area", shapely.box(0, 0, 1, 1), {"density": "sharp"}),
                                 ("C", "camera", shapely.Point(0, 0), {"heading": 0, "fov": 60})]))


def test_a_campus_file_states_pixels_and_densities_or_is_told_why_not(tmp_path: Path) -> None:
    doc = empty()
    add(doc, rect(0, 0, 40, 40), id="KA", kind="key_area", category="finance", density="identify")
    add(doc, point(0, 0), id="C", kind="camera", heading=45, fov=60, pixels=3840)
    add(doc, rect(50, 50, 60, 60), id="B", kind="building")
    cov = camera_coverage(load_campus(write(doc, tmp_path / "ok.geojson")).features)
    assert cov.areas["KA"].density == default("camera_density.identify")
    assert cov.cameras["C"]["range_m"]["identify"] == pytest.approx(3840 / (2 * 250 * math.tan(math.radians(30))), abs=0.05)
    for fid, key, bad in (("KA", "density", "sharp"), ("C", "pixels", 0)):
        broken = empty()
        broken["features"] = [dict(f, properties=dict(f["properties"])) for f in doc["features"]]
        next(f for f in broken["features"] if f["properties"]["id"] == fid)["properties"][key] = bad
        with pytest.raises(CampusError, match=key):
            load_campus(write(broken, tmp_path / f"bad-{key}.geojson"))

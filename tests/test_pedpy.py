"""The PedPy export of one building level (viz/replay.py write_pedpy): PedPy loads it and measures densities and flow."""

from __future__ import annotations

import importlib.util
import math
import pathlib

import numpy as np
import pytest

from maps.builder import CampusBuilder
from scenarios.evacuation import record, run
from scenarios.schema import parse_scenario
from twin.campus import load_campus
from viz.replay import Replay, write_pedpy

if importlib.util.find_spec("pedpy") is None:  # imported in the tests: only the worker that runs them pays its ~0.5 s
    pytest.skip("pedpy is not installed", allow_module_level=True)


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> tuple[pathlib.Path, Replay]:
    """A two-storey building: 120 people in a ground-floor room and 60 upstairs leave through a corridor; level 0 exported."""
    tmp = tmp_path_factory.mktemp("pedpy")
    c = CampusBuilder("pedpy_corridor")
    c.area("B", "building", (0, 0, 30, 14), levels=2, use="other")
    c.area("S", "stair", (26, 4, 30, 14), building="B", levels="0-1", width=1.2)
    c.area("R0", "room", (0, 4, 20, 14), building="B", level=0, use="other", occupants=120)
    c.area("C0", "corridor", (0, 0, 30, 4), building="B", level=0, occupants=0)
    c.door("D0", (10, 4), building="B", level=0, width=1.2, exit=False)
    c.door("DS0", (28, 4), building="B", level=0, width=1.2, exit=False)
    c.door("EXIT", (30, 2), building="B", level=0, width=1.2)
    c.area("R1", "room", (0, 0, 26, 14), building="B", level=1, use="other", occupants=60)
    c.door("DS1", (26, 11), building="B", level=1, width=1.2, exit=False)
    c.line("FW", "footway", [(30, 2), (40, 2)])
    c.area("AA", "assembly", (40, -10, 60, 14))
    campus = c.write(tmp)
    sc = parse_scenario({"kind": "evacuation", "campus": str(campus), "seed": 3, "replications": 1,
                         "premovement": {"dist": "uniform", "low": 0, "high": 20}}, "pedpy")
    rec_path = record(run(sc, load_campus(campus), workers=1), tmp / "run.sqlite")
    rec = Replay(rec_path)
    return write_pedpy(rec, tmp / "B-L0.sqlite", fps=4.0, building="B", level=0), rec


def test_pedpy_reads_one_level_with_its_walkable_area(exported: tuple[pathlib.Path, Replay]) -> None:
    import pedpy

    path, rec = exported
    traj = pedpy.load_trajectory_from_jupedsim_sqlite(trajectory_file=path)
    area = pedpy.load_walkable_area_from_jupedsim_sqlite(trajectory_file=path)
    # the ground floor only: its room, corridor and stair landing (200 + 120 + 40 m²), not a campus box
    assert 360.0 <= area.polygon.area <= 375.0  # grown by PEDPY_MARGIN
    assert pedpy.is_trajectory_valid(traj_data=traj, walkable_area=area)
    ids = set(traj.data["id"].unique().tolist())
    assert len(ids) == rec.n_agents  # the 60 from upstairs come down through level 0 too
    # nobody jumps: no step between frames faster than the fastest free speed drawn (plus the grid of a queue)
    d = traj.data.sort_values(["id", "frame"])
    same = d["id"].to_numpy()[1:] == d["id"].to_numpy()[:-1]
    step = np.hypot(np.diff(d["x"].to_numpy()), np.diff(d["y"].to_numpy()))[same & (np.diff(d["frame"].to_numpy()) == 1)]
    assert step.max() * traj.frame_rate <= 2.2 + 1e-6


def test_pedpy_densities_and_flow(exported: tuple[pathlib.Path, Replay]) -> None:
    import pedpy

    path, rec = exported
    traj = pedpy.load_trajectory_from_jupedsim_sqlite(trajectory_file=path)
    area = pedpy.load_walkable_area_from_jupedsim_sqlite(trajectory_file=path)
    ox, oy = float(rec.bounds()[0]), float(rec.bounds()[1])
    x0, y0 = rec.node_xy[rec.node("C0")] - (ox, oy) - (15.0, 2.0)  # the corridor's lower-left corner, shifted like the export
    corridor = pedpy.MeasurementArea([(x0 + 12, y0 + 0.2), (x0 + 24, y0 + 0.2), (x0 + 24, y0 + 3.8), (x0 + 12, y0 + 3.8)])
    classic = pedpy.compute_classic_density(traj_data=traj, measurement_area=corridor)
    # Voronoi cells for one frame a second (every 4th of the export's 4 fps): the same method on the same export, a quarter
    # of its ~3 s of CPU; the classic density and N-t below read every frame
    second = pedpy.TrajectoryData(data=traj.data[traj.data["frame"] % 4 == 0], frame_rate=traj.frame_rate)
    polygons = pedpy.compute_individual_voronoi_polygons(traj_data=second, walkable_area=area)
    voronoi, _ = pedpy.compute_voronoi_density(individual_voronoi_data=polygons, measurement_area=corridor)
    peak_classic = float(classic["density"].max())
    peak_voronoi = float(voronoi["density"].max())
    assert 0.0 < peak_classic < 6.0 and 0.0 < peak_voronoi < 6.0  # physically possible (persons/m²)
    ex = rec.node_xy[rec.node("EXIT")] - (ox, oy)
    line = pedpy.MeasurementLine([(ex[0] - 0.5, y0 + 0.05), (ex[0] - 0.5, y0 + 3.95)])  # across the corridor at the exit
    nt, _ = pedpy.compute_n_t(traj_data=traj, measurement_line=line)
    assert int(nt["cumulative_pedestrians"].max()) == rec.n_agents  # everyone crosses the line at the exit
    print(f"corridor peak density: classic {peak_classic:.2f}, Voronoi {peak_voronoi:.2f} persons/m²; "
          f"N-t at the exit: {int(nt['cumulative_pedestrians'].max())} in {float(nt['time'].max()):.0f} s")
    assert math.isfinite(peak_voronoi)


def test_people_on_one_point_are_set_apart_for_voronoi() -> None:
    """Two people passing a door node at one instant share a point; the export sets them centimetres apart."""
    from viz.replay import _apart

    x, y = _apart(np.array([1.0, 1.0, 1.0, 5.0]), np.array([2.0, 2.0, 2.0, 5.0]))
    pts = set(zip(np.round(x, 4).tolist(), np.round(y, 4).tolist(), strict=True))
    assert len(pts) == 4 and np.hypot(x[:3] - 1.0, y[:3] - 2.0).max() < 0.05 and (x[3], y[3]) == (5.0, 5.0)

"""Write the DXF test plans ``eng-ground.dxf`` and ``eng-first.dxf`` (``python tests/data/dxf/make_engineering.py``).

Two floor plans of a fictional two-storey teaching building, drawn the way
architects' CAD drawings are: millimetres (``$INSUNITS`` = 4), AIA layer
names (A-WALL, A-AREA, A-AREA-CIRC, A-AREA-IDEN, A-DOOR, A-FLOR-STRS, A-GLAZ,
A-FURN, A-ANNO-DIMS), walls as pairs of lines, rooms as closed polylines on
the wall faces, the corridor as a hatch, doors as block references (a swing
arc and a leaf line; double doors with two arcs), stairs as a closed outline
with tread lines, room labels as texts, and windows, furniture and
dimensions that the importer must ignore. No freely licensed DXF floor plan
was found, so this one is written with ezdxf; the output is committed and
``eng.toml`` is its mapping. Running it again rewrites them identically but for the timestamps and GUIDs in the DXF header.
"""

from __future__ import annotations

from pathlib import Path

import ezdxf

HERE = Path(__file__).resolve().parent
W, D = 30000, 14000          # building outline, mm
EXT, INT = 300, 150          # wall thickness, mm
CY0, CY1 = 6000, 8000        # corridor between wall faces


def _blocks(doc):
    b = doc.blocks.new("DOOR_0900")
    b.add_arc((0, 0), 900, 0, 90, dxfattribs={"layer": "0"})
    b.add_line((0, 0), (0, 900), dxfattribs={"layer": "0"})
    b = doc.blocks.new("DOOR_1800_DOUBLE")
    b.add_arc((0, 0), 900, 0, 90, dxfattribs={"layer": "0"})
    b.add_line((0, 0), (0, 900))
    b.add_arc((1800, 0), 900, 90, 180, dxfattribs={"layer": "0"})
    b.add_line((1800, 0), (1800, 900))
    b = doc.blocks.new("DESK")
    b.add_lwpolyline([(0, 0), (1600, 0), (1600, 800), (0, 800)], close=True)
    b = doc.blocks.new("WINDOW_1500")
    b.add_line((0, 0), (1500, 0))
    b.add_line((0, EXT), (1500, EXT))


def _rect(msp, x0, y0, x1, y1, layer):
    return msp.add_lwpolyline([(x0, y0), (x1, y0), (x1, y1), (x0, y1)], close=True, dxfattribs={"layer": layer})


def _plan(level: int):
    doc = ezdxf.new("R2013", setup=True)
    doc.header["$INSUNITS"] = 4
    for name, color in (("A-WALL", 7), ("A-WALL-INTR", 8), ("A-AREA", 3), ("A-AREA-CIRC", 4), ("A-AREA-IDEN", 2),
                        ("A-DOOR", 1), ("A-DOOR-EXIT", 1), ("A-FLOR-STRS", 6), ("A-GLAZ", 5), ("A-FURN", 9),
                        ("A-ANNO-DIMS", 2)):
        doc.layers.add(name, color=color)
    _blocks(doc)
    msp = doc.modelspace()
    # exterior walls: outer and inner faces
    for layer, (x0, y0, x1, y1) in (("A-WALL", (0, 0, W, D)), ("A-WALL", (EXT, EXT, W - EXT, D - EXT))):
        for a, b in (((x0, y0), (x1, y0)), ((x1, y0), (x1, y1)), ((x1, y1), (x0, y1)), ((x0, y1), (x0, y0))):
            msp.add_line(a, b, dxfattribs={"layer": layer})
    # interior walls along the corridor and between rooms (double lines)
    for y in (CY0 - INT, CY0, CY1, CY1 + INT):
        msp.add_line((EXT, y), (W - EXT, y), dxfattribs={"layer": "A-WALL-INTR"})
    for x in (9850, 10000, 19850, 20000):
        msp.add_line((x, EXT), (x, CY0 - INT), dxfattribs={"layer": "A-WALL-INTR"})
    for x in (9850, 10000, 13850, 14000):
        msp.add_line((x, CY1 + INT), (x, D - EXT), dxfattribs={"layer": "A-WALL-INTR"})
    # corridor: a hatch
    h = msp.add_hatch(color=4, dxfattribs={"layer": "A-AREA-CIRC"})
    h.paths.add_polyline_path([(EXT, CY0), (W - EXT, CY0), (W - EXT, CY1), (EXT, CY1)], is_closed=True)
    # rooms: closed polylines on the wall faces, labels inside
    south = [(EXT, 9850), (10000, 19850), (20000, W - EXT)] if level == 0 else [(EXT, 19850), (20000, W - EXT)]
    north = [(EXT, 9850), (14000, W - EXT)]
    names_s = ["0.01 SEMINAR", "0.02 SEMINAR", "0.03 OFFICE"] if level == 0 else ["1.01 LECTURE HALL", "1.03 OFFICE"]
    names_n = ["0.05 WC", "0.06 LAB"] if level == 0 else ["1.05 LIBRARY", "1.06 LAB"]
    for (x0, x1), name in zip(south, names_s, strict=True):
        _rect(msp, x0, EXT, x1, CY0 - INT, "A-AREA")
        msp.add_text(name, height=250, dxfattribs={"layer": "A-AREA-IDEN", "insert": ((x0 + x1) / 2 - 1000, 3000)})
    for (x0, x1), name in zip(north, names_n, strict=True):
        _rect(msp, x0, CY1 + INT, x1, D - EXT, "A-AREA")
        msp.add_text(name, height=250, dxfattribs={"layer": "A-AREA-IDEN", "insert": ((x0 + x1) / 2 - 1000, 11000)})
    msp.add_text(f"CORRIDOR {level}", height=250, dxfattribs={"layer": "A-AREA-IDEN", "insert": (5000, 6900)})
    # stair: a closed outline with treads and a walking line (open polyline) on the stair layer
    _rect(msp, 10000, CY1 + INT, 13850, D - EXT, "A-FLOR-STRS")
    for k in range(1, 16):
        msp.add_line((10000, CY1 + INT + 300 * k), (11800, CY1 + INT + 300 * k), dxfattribs={"layer": "A-FLOR-STRS"})
    msp.add_lwpolyline([(10900, CY1 + 400), (10900, 12500), (12900, 12500), (12900, CY1 + 400)],
                       dxfattribs={"layer": "A-FLOR-STRS"})
    # doors: swing into the rooms from the corridor faces (hinge on the corridor face of the wall)
    def door(x, y, rot, layer="A-DOOR", block="DOOR_0900"):
        msp.add_blockref(block, (x, y), dxfattribs={"layer": layer, "rotation": rot})
    if level == 0:
        for x in (1500, 7000, 11500, 17500, 22000):
            door(x + 900, CY0 - INT, 180)           # south rooms: closed leaf along the wall, swing into the room
        door(1500, CY1 + INT, 0)                     # WC
        door(16000, CY1 + INT, 0)                    # lab
        door(25000, CY1 + INT, 0)                    # lab, second door
        door(10500, CY1 + INT, 0)                    # stair
        door(EXT, CY0 + 100, 90, "A-DOOR-EXIT", "DOOR_1800_DOUBLE")   # main entrance, west end (double door)
        door(W - EXT, CY0 + 1400, 270, "A-DOOR-EXIT")                 # east end exit
    else:
        for x in (2000, 16000, 23000):
            door(x + 900, CY0 - INT, 180)
        door(1500, CY1 + INT, 0)
        door(16000, CY1 + INT, 0)
        door(10500, CY1 + INT, 0)
    # things the importer ignores: windows, furniture, a dimension
    for x in (2000, 12000, 22000):
        msp.add_blockref("WINDOW_1500", (x, 0), dxfattribs={"layer": "A-GLAZ"})
    msp.add_blockref("DESK", (3000, 2000), dxfattribs={"layer": "A-FURN"})
    dim = msp.add_linear_dim(base=(0, -1500), p1=(0, 0), p2=(W, 0), dxfattribs={"layer": "A-ANNO-DIMS"})
    dim.render()
    return doc


def main() -> None:
    _plan(0).saveas(HERE / "eng-ground.dxf")
    _plan(1).saveas(HERE / "eng-first.dxf")


if __name__ == "__main__":
    main()

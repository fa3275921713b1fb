"""Write the IMDF test archive ``lecture-hall/`` (run from anywhere: ``python tests/data/imdf/make_lecture_hall.py``).

A fictional three-level university lecture building, drawn in local metres
and placed in Karlsruhe, written as Apple's Indoor Mapping Data Format 1.0
(OGC Community Standard 20-094) lays an archive out: ``manifest.json`` and
one GeoJSON FeatureCollection per feature type, every feature with a UUID
``id`` and ``feature_type`` at the top level, names as LABELS, levels with
``ordinal``, units with categories, openings as LineStrings along unit
edges, amenities with ``unit_ids``, an occupant anchored in a unit, and
fixtures. No real IMDF archive with an open licence was found (Apple's
sample data is licensed for internal evaluation only), so this one follows
the specification instead. The output is committed; this script documents
how it was made and regenerates it byte for byte.
"""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pyproj
from shapely.geometry import LineString, Point, Polygon, box, mapping

OUT = Path(__file__).resolve().parent / "lecture-hall"
NS = uuid.UUID("6f1c2b1e-3d0a-4c55-9a41-2f6e0c1d7a90")
LON0, LAT0 = 8.41650, 49.01180
_fwd = pyproj.Transformer.from_crs(
    pyproj.CRS.from_proj4(f"+proj=tmerc +lat_0={LAT0} +lon_0={LON0} +k=1 +x_0=0 +y_0=0 +ellps=WGS84 +units=m +no_defs"),
    4326, always_xy=True)


def uid(name: str) -> str:
    return str(uuid.uuid5(NS, name))


def ll(geom):  # local metres → lon/lat, 7 decimals as IMDF tools write them
    def conv(c):
        if isinstance(c[0], (int, float)):
            lon, lat = _fwd.transform(c[0], c[1])
            return [round(lon, 7), round(lat, 7)]
        return [conv(x) for x in c]
    g = mapping(geom)
    return {"type": g["type"], "coordinates": conv(json.loads(json.dumps(g["coordinates"])))}


def point(x, y):
    return ll(Point(x, y))


def label(text):
    return {"en": text} if text is not None else None


def feat(ftype, key, geometry, **props):
    return {"id": uid(key), "type": "Feature", "feature_type": ftype, "geometry": geometry, "properties": props}


ADDRESS = uid("address")
BUILDING = uid("building")
LEVELS = {-1: "B1", 0: "G", 1: "L1"}
LEVEL_NAMES = {-1: "Basement", 0: "Ground Floor", 1: "Level 1"}

# units per level: key, category, name, local rectangle or polygon
UNITS = {
    -1: [
        ("b1-walk", "walkway", "Basement corridor", box(10, 10, 34, 14)),
        ("b1-store", "storage", "Archive store", box(14, 0, 34, 10)),
        ("b1-plant", "nonpublic", "Plant room", box(14, 14, 31, 24)),
        ("b1-lift", "elevator", None, box(31, 14, 34, 18)),
        ("stairs-a-b1", "stairs", "Stair A", box(34, 10, 40, 18)),
        ("stairs-b-b1", "stairs", "Stair B", box(10, 14, 14, 20)),
    ],
    0: [
        ("g-lobby", "lobby", "Entrance hall", box(0, 0, 10, 24)),
        ("g-walk", "walkway", "Main corridor", box(10, 10, 34, 14)),
        ("g-class1", "classroom", "Seminar room 0.01", box(10, 0, 22, 10)),
        ("g-class2", "classroom", "Seminar room 0.02", box(22, 0, 34, 10)),
        ("g-cafe", "foodservice", None, box(14, 14, 28, 24)),
        ("g-wc-m", "restroom.male", "Men", box(10, 20, 14, 24)),
        ("g-wc-f", "restroom.female", "Women", box(28, 14, 31, 24)),
        ("g-lift", "elevator", None, box(31, 14, 34, 18)),
        ("g-service", "nonpublic", "Delivery", box(34, 18, 40, 24)),
        ("g-plant", "nonpublic", "Electrical", box(31, 18, 34, 24)),
        ("g-meet", "conferenceroom", "Meeting room 0.10", box(34, 0, 40, 10)),
        ("stairs-a-g", "stairs", "Stair A", box(34, 10, 40, 18)),
        ("stairs-b-g", "stairs", "Stair B", box(10, 14, 14, 20)),
    ],
    1: [
        ("l1-gallery", "walkway", "Gallery", Polygon([(0, 0), (10, 0), (10, 24), (0, 24)], [[(2, 6), (8, 6), (8, 18), (2, 18)]])),
        ("l1-void", "opentobelow", None, box(2, 6, 8, 18)),
        ("l1-walk", "walkway", "Upper corridor", box(10, 10, 34, 14)),
        ("l1-aud", "auditorium", "Lecture theatre 1.01", box(10, 0, 34, 10)),
        ("l1-off1", "office", "Office 1.11", box(14, 14, 22, 24)),
        ("l1-off2", "office", "Office 1.12", box(22, 14, 31, 24)),
        ("l1-store", "storage", None, box(31, 18, 34, 24)),
        ("l1-lift", "elevator", None, box(31, 14, 34, 18)),
        ("l1-wc", "restroom.unisex.wheelchair", "Accessible WC", box(34, 18, 40, 24)),
        ("l1-meet", "conferenceroom", "Meeting room 1.10", box(34, 0, 40, 10)),
        ("stairs-a-l1", "stairs", "Stair A", box(34, 10, 40, 18)),
        ("stairs-b-l1", "stairs", "Stair B", box(10, 14, 14, 20)),
    ],
}

# openings: key, level, category, (x0, y0), (x1, y1), extras
OPENINGS = [
    # basement
    ("o-b1-a", -1, "pedestrian", (34, 11), (34, 12.5), {}),
    ("o-b1-b", -1, "pedestrian", (11, 14), (12.5, 14), {}),
    ("o-b1-store", -1, "pedestrian", (20, 10), (21, 10), {}),
    ("o-b1-plant", -1, "pedestrian", (25, 14), (26, 14), {"access_control": ["keyaccess"]}),
    ("o-b1-lift", -1, "pedestrian", (32, 14), (33, 14), {}),
    # ground floor
    ("o-g-main", 0, "pedestrian.principal", (0, 10), (0, 12.4), {"door": {"type": "sliding", "automatic": True, "material": "glass"}}),
    ("o-g-south", 0, "pedestrian", (3, 0), (4.8, 0), {}),
    ("o-g-lobby-walk", 0, "pedestrian", (10, 10.5), (10, 13.5), {}),
    ("o-g-c1a", 0, "pedestrian", (11, 10), (12, 10), {}),
    ("o-g-c1b", 0, "pedestrian", (20, 10), (21, 10), {}),
    ("o-g-c2a", 0, "pedestrian", (23, 10), (24, 10), {}),
    ("o-g-c2b", 0, "pedestrian", (32, 10), (33, 10), {}),
    ("o-g-cafe1", 0, "pedestrian", (16, 14), (17.8, 14), {}),
    ("o-g-cafe2", 0, "pedestrian", (24, 14), (25.8, 14), {}),
    ("o-g-wcm", 0, "pedestrian", (10, 21), (10, 22), {}),
    ("o-g-wcf", 0, "pedestrian", (29, 14), (30, 14), {}),
    ("o-g-lift", 0, "pedestrian", (32, 14), (33, 14), {}),
    ("o-g-a", 0, "pedestrian", (34, 11), (34, 12.5), {}),
    ("o-g-b", 0, "pedestrian", (11, 14), (12.5, 14), {}),
    ("o-g-b-lobby", 0, "pedestrian", (10, 15), (10, 16.5), {}),
    ("o-g-service-a", 0, "pedestrian", (36, 18), (37.5, 18), {"access_control": ["cardreader"]}),
    ("o-g-plant", 0, "pedestrian", (34, 20), (34, 21), {}),
    ("o-g-service-out", 0, "service", (37, 24), (38.2, 24), {}),
    ("o-g-loading", 0, "automobile", (31.5, 24), (33.5, 24), {}),
    ("o-g-meet-a", 0, "pedestrian", (36, 10), (37, 10), {}),
    ("o-g-fire", 0, "emergencyexit", (40, 4), (40, 5.2), {"door": {"type": "door", "automatic": False, "material": "metal"}}),
    # level 1
    ("o-l1-gal-walk", 1, "pedestrian", (10, 10.5), (10, 13.5), {}),
    ("o-l1-aud1", 1, "pedestrian", (12, 10), (13.8, 10), {}),
    ("o-l1-aud2", 1, "pedestrian", (30, 10), (31.8, 10), {}),
    ("o-l1-off1", 1, "pedestrian", (17, 14), (18, 14), {}),
    ("o-l1-off2", 1, "pedestrian", (26, 14), (27, 14), {}),
    ("o-l1-store", 1, "pedestrian", (31, 21), (31, 22), {}),
    ("o-l1-lift", 1, "pedestrian", (32, 14), (33, 14), {}),
    ("o-l1-a", 1, "pedestrian", (34, 11), (34, 12.5), {}),
    ("o-l1-b", 1, "pedestrian", (11, 14), (12.5, 14), {}),
    ("o-l1-wc", 1, "pedestrian", (36, 18), (37, 18), {}),
    ("o-l1-meet", 1, "pedestrian", (36, 10), (37, 10), {}),
]

FIXTURES = [
    ("f-cafe-counter", 0, "equipment", "Counter", box(14.5, 22.5, 20, 23.5)),
    ("f-cafe-tables1", 0, "furniture", None, box(18, 16.5, 26, 17.3)),
    ("f-cafe-tables2", 0, "furniture", None, box(18, 19.5, 26, 20.3)),
    ("f-stage", 1, "stage", "Stage", box(28, 2, 33.5, 8)),
    ("f-lobby-desk", 0, "desk", "Porter's desk", box(6, 18, 8.5, 19)),
]


def main() -> None:
    OUT.mkdir(exist_ok=True)
    footprint = box(0, 0, 40, 24)
    files: dict[str, list[dict]] = {}
    files["address"] = [{"id": ADDRESS, "type": "Feature", "feature_type": "address", "geometry": None, "properties": {
        "address": "Engesserstraße 1", "unit": None, "locality": "Karlsruhe", "province": "DE-BW", "country": "DE",
        "postal_code": "76131", "postal_code_ext": None, "postal_code_vanity": None}}]
    venue_poly = footprint.buffer(25, join_style="mitre")
    files["venue"] = [feat("venue", "venue", ll(venue_poly), category="university", restriction=None,
                           name=label("Example University, East Campus"), alt_name=None, hours="Mo-Fr 07:00-22:00",
                           phone=None, website=None, display_point=point(20, 12), address_id=ADDRESS)]
    files["building"] = [{"id": BUILDING, "type": "Feature", "feature_type": "building", "geometry": None, "properties": {
        "name": label("Lecture Hall East"), "alt_name": label("LHE"), "category": "unspecified", "restriction": None,
        "display_point": point(20, 12), "address_id": None}}]
    files["footprint"] = [feat("footprint", "footprint-ground", ll(footprint), category="ground", name=None,
                               building_ids=[BUILDING])]
    files["level"] = [feat("level", f"level{o}", ll(footprint if o >= 0 else box(10, 0, 40, 24)), category="unspecified",
                           restriction=None, outdoor=False, ordinal=o, name=label(LEVEL_NAMES[o]),
                           short_name=label(LEVELS[o]), display_point=point(20, 12), address_id=None,
                           building_ids=[BUILDING]) for o in LEVELS]
    files["unit"] = [feat("unit", key, ll(geom), category=cat, restriction="employeesonly" if cat == "nonpublic" else None,
                          accessibility=["wheelchair"] if "wheelchair" in cat else None, name=label(name), alt_name=None,
                          level_id=uid(f"level{o}"), display_point=point(*geom.representative_point().coords[0]))
                     for o, units in UNITS.items() for key, cat, name, geom in units]
    files["opening"] = [feat("opening", key, ll(LineString([a, b])), category=cat, accessibility=None,
                             access_control=extra.get("access_control"), door=extra.get("door"), name=None, alt_name=None,
                             display_point=point((a[0] + b[0]) / 2, (a[1] + b[1]) / 2), level_id=uid(f"level{o}"))
                        for key, o, cat, a, b, extra in OPENINGS]
    files["amenity"] = [
        feat("amenity", "amenity-stairs-a", point(37, 14), category="stairs", accessibility=None, name=label("Stair A"),
             alt_name=None, hours=None, phone=None, website=None, unit_ids=[uid("stairs-a-b1"), uid("stairs-a-g"), uid("stairs-a-l1")],
             address_id=None, correlation_id=None),
        feat("amenity", "amenity-lift", point(32.5, 16), category="elevator", accessibility=["wheelchair"], name=label("Lift"),
             alt_name=None, hours=None, phone=None, website=None, unit_ids=[uid("b1-lift"), uid("g-lift"), uid("l1-lift")],
             address_id=None, correlation_id=None),
        feat("amenity", "amenity-aed", point(2, 12), category="defibrillator", accessibility=None, name=None, alt_name=None,
             hours=None, phone=None, website=None, unit_ids=[uid("g-lobby")], address_id=None, correlation_id=None),
    ]
    files["anchor"] = [feat("anchor", "anchor-cafe", point(21, 19), address_id=None, unit_id=uid("g-cafe"))]
    files["occupant"] = [{"id": uid("occupant-cafe"), "type": "Feature", "feature_type": "occupant", "geometry": None,
                          "properties": {"name": label("Campus Café"), "alt_name": None, "category": "restaurant",
                                         "anchor_id": uid("anchor-cafe"), "hours": "Mo-Fr 08:00-18:00", "phone": None,
                                         "website": None, "validity": None, "correlation_id": None}}]
    files["fixture"] = [feat("fixture", key, ll(geom), category=cat, name=label(name), alt_name=None, anchor_id=None,
                             level_id=uid(f"level{o}"), display_point=None) for key, o, cat, name, geom in FIXTURES]
    for name, feats in files.items():
        doc = {"type": "FeatureCollection", "features": feats}
        (OUT / f"{name}.geojson").write_text(json.dumps(doc, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    (OUT / "manifest.json").write_text(json.dumps({"version": "1.0.0", "created": "2026-01-15T09:00:00Z",
                                                   "generated_by": "tests/data/imdf/make_lecture_hall.py",
                                                   "language": "en"}, indent=1) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()

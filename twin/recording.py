"""Recordings: one versioned SQLite file per run — the schema, the writer and the reader.

The schema is documented in ``docs/recording.md``. :func:`write_recording`
batches its inserts in one transaction and replaces the file only once it is
complete; :func:`open_recording` checks the version and refuses a file written
by a newer schema than this code knows; :class:`Recording` reads a whole file
once into arrays, and is all a viewer needs: the file holds the graph the run
moved on and the building geometry (footprints, the walkable area of each
level with its rooms, corridors and stairs, assembly areas), so no viewer
loads the campus.

Two kinds of run share the schema (``metadata.kind``): a ``simulation``
(written by ``twin run -o``: people and their moves) and an ``exercise``
(written by :func:`sensors.exercise.record_exercise`: the sensor events of a
real drill between two times, with the occupancy per building and the alarms
over time, and no people: counts, never identities).

This module imports nothing outside ``twin``: writers hand it rows.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import networkx as nx
import numpy as np
import shapely
from shapely.geometry.base import BaseGeometry

from twin.graph import SPACES

if TYPE_CHECKING:
    from twin.campus import Campus

SCHEMA_VERSION = 4
"""Version written. 2 added the ``geometry`` table (version 1 files still open: their buildings are drawn as the
outline of their nodes, and :attr:`Recording.note` says to record again for the real outlines). 3 added people's
places: ``agents.x, y, level`` (where each person stands at the start) and ``moves.x0, y0, x1, y1, building, level``
(each move from place to place, on a building level); in older files everyone stands at nodes, as the viewers
drew them then. 4 added the move state ``incapacitated`` (someone whose smoke dose reached 1, stopped where it
happened), which version 3 files wrote as ``trapped``."""

_SCHEMA = """
CREATE TABLE metadata (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE nodes (id TEXT PRIMARY KEY, kind TEXT NOT NULL, x REAL NOT NULL, y REAL NOT NULL,
                    level INTEGER, building TEXT);
CREATE TABLE edges (u TEXT NOT NULL, v TEXT NOT NULL, kind TEXT NOT NULL, length REAL NOT NULL,
                    width REAL NOT NULL, level INTEGER, via TEXT);
CREATE TABLE geometry (id TEXT NOT NULL, kind TEXT NOT NULL, building TEXT, level INTEGER, use TEXT, wkt TEXT NOT NULL);
CREATE INDEX geometry_level ON geometry (level, building);
CREATE TABLE agents (id INTEGER PRIMARY KEY, start TEXT NOT NULL, building TEXT, premovement REAL NOT NULL,
                     speed REAL NOT NULL, outcome TEXT NOT NULL, safe_at REAL, x REAL, y REAL, level INTEGER);
CREATE TABLE moves (agent INTEGER NOT NULL, state TEXT NOT NULL, t0 REAL NOT NULL, t1 REAL NOT NULL,
                    u TEXT NOT NULL, v TEXT NOT NULL, x0 REAL, y0 REAL, x1 REAL, y1 REAL, building TEXT, level INTEGER);
CREATE INDEX moves_time ON moves (t0, t1);
CREATE INDEX moves_agent ON moves (agent, t0);
CREATE TABLE servers (id TEXT PRIMARY KEY, kind TEXT NOT NULL, rate REAL NOT NULL, passed INTEGER NOT NULL,
                      max_queue REAL NOT NULL, max_wait REAL NOT NULL);
CREATE TABLE events (t REAL NOT NULL, kind TEXT NOT NULL, target TEXT, detail TEXT);
"""

_EXERCISE_SCHEMA = """
CREATE TABLE sensor_events (t REAL NOT NULL, sensor_id TEXT NOT NULL, kind TEXT NOT NULL, building TEXT, node TEXT,
                            body TEXT NOT NULL);
CREATE INDEX sensor_events_time ON sensor_events (t);
CREATE TABLE occupancy (t REAL NOT NULL, building TEXT NOT NULL, count INTEGER NOT NULL, design INTEGER NOT NULL,
                        source TEXT NOT NULL);
CREATE INDEX occupancy_time ON occupancy (t);
CREATE TABLE alarms (id TEXT NOT NULL, kind TEXT NOT NULL, priority INTEGER NOT NULL, sensor_id TEXT, building TEXT,
                     node TEXT, t0 REAL NOT NULL, t1 REAL);
CREATE TABLE operator_actions (t REAL NOT NULL, alarm TEXT NOT NULL, alarm_t0 REAL NOT NULL, action TEXT NOT NULL,
                               user TEXT NOT NULL, role TEXT NOT NULL, note TEXT);
CREATE TABLE forecasts (t REAL NOT NULL, trigger_t REAL NOT NULL, scope TEXT NOT NULL, building TEXT,
                        evacuation_time_s REAL, building_clearance_s REAL, body TEXT NOT NULL);
"""
"""Tables only an ``exercise`` recording has (a file without them is a simulation). ``operator_actions`` and
``forecasts`` came later within schema 3: a file without them reads as an exercise with no actions and no forecasts."""

GEOMETRY_KINDS = ("building", "level", "room", "corridor", "stair", "assembly")
"""``geometry.kind``: a building's footprint, the walkable area of one of its levels, the spaces of a level, an assembly area."""

WAITING, WALKING, QUEUED, SAFE, TRAPPED, INCAPACITATED = range(6)
"""State codes of a person at a time (``Recording.m_state``, ``viz.replay.Frame.state``)."""
STATE_NAMES = ("waiting", "walking", "queued", "safe", "trapped", "incapacitated")
MOVE_STATES = {"wait": WAITING, "walk": WALKING, "queue": QUEUED, "trapped": TRAPPED, "incapacitated": INCAPACITATED}
STOPPED = (TRAPPED, INCAPACITATED)
"""States in which a person stays where they are to the end of the run."""
"""``moves.state`` → state code."""

GeometryRow = tuple[str, str, str | None, int | None, str | None, "str | BaseGeometry"]
"""A ``geometry`` row: ``(id, kind, building, level, use, geometry)``; the geometry as WKT or shapely."""


class RecordingError(ValueError):
    """A file that is not a recording this code can read."""


# --------------------------------------------------------------------------
# Writing
# --------------------------------------------------------------------------


def _wkt(g: str | BaseGeometry) -> str:
    """WKT of a geometry given as WKT or shapely, coordinates rounded to the millimetre (the one normalisation)."""
    geom = shapely.from_wkt(g) if isinstance(g, str) else g
    return shapely.to_wkt(geom, rounding_precision=3, trim=True)


def campus_geometry(campus: Campus) -> list[GeometryRow]:
    """The ``geometry`` rows of a campus: what a viewer draws, so it need not load the campus.

    Every building's footprint (``building``, ``level`` null, ``use``); the
    walkable area of each of its levels (``level``, id ``B/L<level>``): the
    union of its rooms, corridors and stairs there, or the footprint for a
    building without indoor features (a generated storey); each room,
    corridor and stair (a stair once per level it joins); assembly areas.
    """
    f = campus.features
    spaces: dict[tuple[str, int], list[GeometryRow]] = {}
    for fid, r in f[f["kind"].isin(SPACES)].iterrows():
        use = r["use"] if isinstance(r.get("use"), str) else None
        for lv in list(r["levels"]) if r["kind"] == "stair" else [r["level"]]:
            spaces.setdefault((str(r["building"]), int(lv)), []).append((str(fid), r["kind"], str(r["building"]), int(lv), use, r.geometry))
    rows: list[GeometryRow] = []
    for fid, r in f[f["kind"] == "building"].iterrows():
        b = str(fid)
        rows.append((b, "building", b, None, r["use"] if isinstance(r.get("use"), str) else None, r.geometry))
        levels = sorted(lv for bb, lv in spaces if bb == b) or range(int(r["levels"]))
        for lv in levels:
            here = spaces.get((b, lv), [])
            area = shapely.union_all([s[5] for s in here]) if here else r.geometry
            rows += [(f"{b}/L{lv}", "level", b, int(lv), None, area), *here]
    rows += [(str(fid), "assembly", None, None, None, r.geometry) for fid, r in f[f["kind"] == "assembly"].iterrows()]
    return rows


def write_recording(
    path: str | Path,
    *,
    metadata: Mapping[str, Any],
    graph: nx.Graph,
    geometry: Iterable[GeometryRow],
    agents: Iterable[tuple[int, str, str | None, float, float, str, float | None, float | None, float | None, int | None]],
    moves: Iterable[tuple[int, str, float, float, str, str, float | None, float | None, float | None, float | None,
                          str | None, int | None]],
    servers: Iterable[tuple[str, str, float, int, float, float]],
    events: Iterable[tuple[float, str, str | None, str | None]],
    exercise: Mapping[str, Iterable[tuple[Any, ...]]] | None = None,
) -> Path:
    """Write a recording; an existing file at ``path`` is replaced only once the new one is complete.

    Parameters
    ----------
    metadata : mapping
        ``kind`` (``simulation`` or ``exercise``), ``campus_digest``, ``crs``, ``scenario`` … (values JSON-encoded).
    graph : networkx.Graph
        The graph the run moved on: nodes with ``kind``, ``x``, ``y`` (m), edges with ``kind``, ``length``, ``width``;
        every node an edge's ``via`` names must be in it.
    geometry : iterable of GeometryRow
        The building geometry viewers draw: :func:`campus_geometry` of the campus.
    agents, moves, servers, events
        Rows of the tables of the same names (times in s, rates in persons/s).
    exercise : mapping, optional
        For an ``exercise``: rows of ``sensor_events``, ``occupancy``, ``alarms``, ``operator_actions`` and
        ``forecasts`` (see ``docs/recording.md``).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".part")
    tmp.unlink(missing_ok=True)
    con = sqlite3.connect(tmp)
    try:
        con.executescript(_SCHEMA)
        meta = {"schema_version": SCHEMA_VERSION, "created": datetime.now(UTC).isoformat(timespec="seconds"), **metadata}
        con.executemany("INSERT INTO metadata VALUES (?, ?)", [(k, json.dumps(v)) for k, v in meta.items()])
        con.executemany(
            "INSERT INTO nodes VALUES (?, ?, ?, ?, ?, ?)",
            [(n, d["kind"], d["x"], d["y"], d.get("level"), d.get("building")) for n, d in graph.nodes(data=True)],
        )
        con.executemany(
            "INSERT INTO edges VALUES (?, ?, ?, ?, ?, ?, ?)",
            [(u, v, d["kind"], d["length"], d["width"], d.get("level"), json.dumps(d["via"]) if d.get("via") else None)
             for u, v, d in graph.edges(data=True)],
        )
        con.executemany("INSERT INTO geometry VALUES (?, ?, ?, ?, ?, ?)",
                        [(*row[:5], _wkt(row[5])) for row in geometry])
        con.executemany("INSERT INTO agents VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", agents)
        con.executemany("INSERT INTO moves VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", moves)
        con.executemany("INSERT INTO servers VALUES (?, ?, ?, ?, ?, ?)", servers)
        con.executemany("INSERT INTO events VALUES (?, ?, ?, ?)", events)
        if exercise is not None:
            con.executescript(_EXERCISE_SCHEMA)
            con.executemany("INSERT INTO sensor_events VALUES (?, ?, ?, ?, ?, ?)", exercise.get("sensor_events", ()))
            con.executemany("INSERT INTO occupancy VALUES (?, ?, ?, ?, ?)", exercise.get("occupancy", ()))
            con.executemany("INSERT INTO alarms VALUES (?, ?, ?, ?, ?, ?, ?, ?)", exercise.get("alarms", ()))
            con.executemany("INSERT INTO operator_actions VALUES (?, ?, ?, ?, ?, ?, ?)", exercise.get("operator_actions", ()))
            con.executemany("INSERT INTO forecasts VALUES (?, ?, ?, ?, ?, ?, ?)", exercise.get("forecasts", ()))
        con.commit()
    finally:
        con.close()
    tmp.replace(path)
    return path


# --------------------------------------------------------------------------
# Reading
# --------------------------------------------------------------------------


def open_recording(path: str | Path) -> sqlite3.Connection:
    """Open a recording read-only after checking its schema version (for SQL on the file; :class:`Recording` reads it all).

    Raises
    ------
    RecordingError
        When the file is missing, not a recording, or written by a newer schema.
    """
    p = Path(path)
    if not p.is_file():
        msg = f"{p}: no such recording"
        raise RecordingError(msg)
    try:
        con = sqlite3.connect(f"file:{p}?mode=ro", uri=True)
        row = con.execute("SELECT value FROM metadata WHERE key = 'schema_version'").fetchone()
    except sqlite3.DatabaseError as e:
        msg = f"{p}: not a Campus Twin recording ({e})"
        raise RecordingError(msg) from None
    if row is None:
        msg = f"{p}: not a Campus Twin recording (no schema_version)"
        raise RecordingError(msg)
    version = json.loads(row[0])
    if version > SCHEMA_VERSION:
        con.close()
        msg = f"{p}: recording schema {version} is newer than this Campus Twin reads ({SCHEMA_VERSION}); upgrade campus-twin"
        raise RecordingError(msg)
    return con


def metadata(con: sqlite3.Connection) -> dict[str, Any]:
    """The metadata table of an open recording as a dict of decoded values."""
    return {k: json.loads(v) for k, v in con.execute("SELECT key, value FROM metadata")}


@dataclass(frozen=True)
class Shape:
    """One row of the ``geometry`` table (see :data:`GEOMETRY_KINDS`); ``geom`` in metres, the recording's CRS."""

    id: str
    kind: str
    building: str | None
    level: int | None
    use: str | None
    geom: BaseGeometry


class Recording:
    """A recording read once into arrays: what every viewer and export reads, and all it reads.

    Parameters
    ----------
    path : str or Path
        A recording (``docs/recording.md``) of schema version 1 or 2.

    Raises
    ------
    RecordingError
        A missing file, not a recording, or one written by a newer schema.

    Attributes
    ----------
    meta : dict
        The metadata table.
    is_exercise : bool
        A recorded exercise (``metadata.kind``), which has no people.
    node_ids : list of str
    node_index : dict of str to int
    node_xy : ndarray (n, 2)
        Node positions (m).
    node_level : ndarray of float
        Level of each node (NaN outdoors).
    node_building : ndarray of object
        Building of each node (None outdoors).
    node_kind : ndarray of object
    edges : list of ndarray (k, 2)
        Every edge as a polyline (through its ``via`` junctions), for drawing.
    edge_kind : list of str
    edge_level : ndarray of float
    edge_paths : dict of (int, int) to list of int
        Node indices each edge ``(u, v)`` passes through.
    exit_nodes : set of str
        Building exits: doors with an outdoor neighbour.
    shapes : list of Shape
        The ``geometry`` table (empty in a version 1 file).
    outlines : list of dict
        Building footprints and assembly areas to draw: ``kind``, ``id``, ``use``, ``xy`` (exterior ring, m); in a
        version 1 file, each building's nodes' hull.
    note : str or None
        What the viewers should say about the file (a version 1 file has no outlines).
    agent_ids, agent_start, agent_building, outcome, safe_at : ndarray
        One per person: id, start node index, building, ``safe``/``trapped``/``unfinished``, time safe (NaN if never).
    agent_xy : ndarray (n, 2)
        Each person's place at the start (m); the start node's position in a file before schema 3.
    placed : bool
        Whether the file holds people's places (schema 3 on); before, everyone stood at nodes.
    m_agent, m_state, m_t0, m_t1, m_u, m_v : ndarray
        The moves sorted by person and time: person index, state code (:data:`MOVE_STATES`), times, node indices.
    m_xy0, m_xy1 : ndarray (m, 2)
        Where each move starts and ends (m); the nodes' positions in a file before schema 3.
    m_level : ndarray of float
        The level each move is on (NaN outdoors); the level of its first node in a file before schema 3.
    events : list of (t, kind, target, detail)
        Closures.
    servers : dict of str to dict
        Doors, stairs, gates and paths with their rate and use.
    buildings : list of str
    duration : float
        Time of the last move (s), or an exercise's window.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        con = open_recording(self.path)
        try:
            self.meta: dict[str, Any] = metadata(con)
            self.version = int(self.meta["schema_version"])
            self.is_exercise = self.meta.get("kind") == "exercise"
            self._load_graph(con)
            self._load_people(con)
            self._load_geometry(con)
            if self.is_exercise:
                self._load_exercise(con)
        except (sqlite3.DatabaseError, KeyError) as e:
            msg = f"{self.path}: a damaged recording ({type(e).__name__}: {e})"
            raise RecordingError(msg) from None
        finally:
            con.close()

    # -- loading -----------------------------------------------------------

    def _load_graph(self, con: sqlite3.Connection) -> None:
        rows = con.execute("SELECT id, kind, x, y, level, building FROM nodes ORDER BY rowid").fetchall()
        self.node_ids: list[str] = [r[0] for r in rows]
        self.node_index = index = {n: i for i, n in enumerate(self.node_ids)}
        self.node_kind = np.array([r[1] for r in rows], dtype=object)
        self.node_xy = np.array([(r[2], r[3]) for r in rows], dtype=float).reshape(-1, 2)
        self.node_level = np.array([np.nan if r[4] is None else r[4] for r in rows], dtype=float)
        self.node_building = np.array([r[5] for r in rows], dtype=object)

        self.edges: list[np.ndarray] = []
        self.edge_kind: list[str] = []
        levels = []
        self.edge_paths: dict[tuple[int, int], list[int]] = {}
        self.exit_nodes: set[str] = set()
        for u, v, kind, level, via in con.execute("SELECT u, v, kind, level, via FROM edges"):
            for a, b in ((u, v), (v, u)):
                if self.node_kind[index[a]] == "door" and np.isnan(self.node_level[index[b]]):
                    self.exit_nodes.add(a)
            path = [index[u], index[v]]
            if via:
                # a version 1 file may lack a merged junction: the edge is then a straight line
                names = json.loads(via)
                if names and names[0] == v:
                    names = names[::-1]
                pts = [index[n] for n in names if n in index]
                if len(pts) >= 2 and pts[0] == index[u] and pts[-1] == index[v]:
                    path = pts
            self.edge_paths[(index[u], index[v])] = path
            self.edges.append(self.node_xy[path])
            self.edge_kind.append(kind)
            levels.append(np.nan if level is None else level)
        self.edge_level = np.array(levels, dtype=float)
        self.events = [tuple(r) for r in con.execute("SELECT t, kind, target, detail FROM events ORDER BY t")]
        self.servers = {
            r[0]: {"kind": r[1], "rate": r[2], "passed": r[3], "max_queue": r[4], "max_wait": r[5]}
            for r in con.execute("SELECT id, kind, rate, passed, max_queue, max_wait FROM servers")
        }

    def _load_people(self, con: sqlite3.Connection) -> None:
        index = self.node_index
        self.placed = self.version >= 3
        xy = ", x, y" if self.placed else ", NULL, NULL"
        a = con.execute(f"SELECT id, start, building, outcome, safe_at{xy} FROM agents ORDER BY id").fetchall()
        self.agent_ids = np.array([r[0] for r in a], dtype=np.int64)
        self.agent_start = np.array([index[r[1]] for r in a], dtype=np.int64)
        self.agent_building = np.array([r[2] for r in a], dtype=object)
        self.outcome = np.array([r[3] for r in a], dtype=object)
        self.safe_at = np.array([np.nan if r[4] is None else r[4] for r in a], dtype=float)
        self.safe_at[self.outcome != "safe"] = np.nan
        self.agent_xy = self.node_xy[self.agent_start] if not self.placed else np.array(
            [(r[5], r[6]) for r in a], dtype=float).reshape(-1, 2)

        cols = ", x0, y0, x1, y1, level" if self.placed else ""
        m = con.execute(f"SELECT agent, state, t0, t1, u, v{cols} FROM moves ORDER BY agent, t0, rowid").fetchall()
        n = len(m)
        agent = np.fromiter((r[0] for r in m), dtype=np.int64, count=n)
        self.m_agent = np.searchsorted(self.agent_ids, agent)
        self.m_state = np.fromiter((MOVE_STATES[r[1]] for r in m), dtype=np.int8, count=n)
        self.m_t0 = np.fromiter((r[2] for r in m), dtype=float, count=n)
        self.m_t1 = np.fromiter((r[3] for r in m), dtype=float, count=n)
        self.m_u = np.fromiter((index[r[4]] for r in m), dtype=np.int64, count=n)
        self.m_v = np.fromiter((index[r[5]] for r in m), dtype=np.int64, count=n)
        if self.placed:
            xy = np.array([r[6:10] for r in m], dtype=float).reshape(-1, 4)
            self.m_xy0, self.m_xy1 = xy[:, :2], xy[:, 2:]
            self.m_level = np.array([np.nan if r[10] is None else r[10] for r in m], dtype=float)
        else:
            self.m_xy0, self.m_xy1 = self.node_xy[self.m_u], self.node_xy[self.m_v]
            self.m_level = self.node_level[self.m_u]
        del m
        self.duration = float(max(self.m_t1.max(initial=0.0), np.nanmax(self.safe_at, initial=0.0)))
        self.buildings = sorted({b for b in self.agent_building if b} | {b for b in self.node_building if b})

    def _load_geometry(self, con: sqlite3.Connection) -> None:
        has = con.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'geometry'").fetchone()
        rows = con.execute("SELECT id, kind, building, level, use, wkt FROM geometry ORDER BY rowid").fetchall() if has else []
        geoms = shapely.from_wkt([r[5] for r in rows]) if rows else []
        self.shapes = [Shape(*r[:5], g) for r, g in zip(rows, geoms, strict=True)]
        self.outlines: list[dict[str, Any]] = []
        for s in self.shapes:
            if s.kind in ("building", "assembly"):
                for p in shapely.get_parts(s.geom):
                    self.outlines.append({"kind": s.kind, "id": s.id, "use": s.use, "xy": np.asarray(p.exterior.coords)[:, :2]})
        self.note = None
        if not any(o["kind"] == "building" for o in self.outlines):
            for b in self.buildings:
                pts = self.node_xy[self.node_building == b]
                hull = shapely.convex_hull(shapely.multipoints(pts)).buffer(2.0)
                self.outlines.append({"kind": "building", "id": b, "use": None, "xy": np.asarray(hull.exterior.coords)})
            if self.version < 2:
                again = "twin exercise" if self.is_exercise else "twin run -o"
                self.note = (f"recording schema {self.version} holds no building outlines: buildings drawn around their "
                             f"nodes; record it again ({again}) to draw them")

    def walkable(self, level: int | None = None, building: str | None = None) -> BaseGeometry:
        """The walkable area of a level (every level when None), of one building or all (m; empty in a version 1 file)."""
        parts = [s.geom for s in self.shapes if s.kind == "level" and (level is None or s.level == level)
                 and (building is None or s.building == building)]
        return shapely.union_all(parts) if parts else shapely.Polygon()

    # -- queries -----------------------------------------------------------

    @property
    def n_agents(self) -> int:
        """Number of people in the run."""
        return int(self.agent_ids.size)

    @property
    def levels(self) -> list[int]:
        """The building levels of the recording, lowest first."""
        return sorted({int(v) for v in self.node_level[~np.isnan(self.node_level)]})

    def bounds(self) -> tuple[float, float, float, float]:
        """``(minx, miny, maxx, maxy)`` of the nodes (m)."""
        lo = self.node_xy.min(axis=0)
        hi = self.node_xy.max(axis=0)
        return float(lo[0]), float(lo[1]), float(hi[0]), float(hi[1])

    def node(self, node_id: str) -> int:
        """Index of a node id (KeyError if the recording has none)."""
        return self.node_index[node_id]

    def closures_at(self, t: float) -> list[tuple[float, str, str]]:
        """Closures in force at ``t``: ``(time, kind, node id)`` of those whose node is in the recording."""
        return [(et, kind, target) for et, kind, target, _ in self.events if et <= t and target in self.node_index]

    # -- recorded exercises ------------------------------------------------

    def _load_exercise(self, con: sqlite3.Connection) -> None:
        """Occupancy samples, alarms and door counts of a recorded exercise."""
        rows = con.execute("SELECT t, building, count, design FROM occupancy ORDER BY t, building").fetchall()
        self.occ_buildings: list[str] = sorted({r[1] for r in rows})
        col = {b: j for j, b in enumerate(self.occ_buildings)}
        self.occ_t = np.array(sorted({r[0] for r in rows}), dtype=float)
        row = {t: i for i, t in enumerate(self.occ_t.tolist())}
        self.occ_count = np.zeros((self.occ_t.size, len(self.occ_buildings)), dtype=np.int64)
        self.design = {b: 0 for b in self.occ_buildings}
        for t, b, n, design in rows:
            self.occ_count[row[t], col[b]] = n
            self.design[b] = int(design)
        self.alarms = [
            {"id": r[0], "kind": r[1], "priority": r[2], "sensor_id": r[3], "building": r[4], "node": r[5],
             "t0": r[6], "t1": r[7]}
            for r in con.execute("SELECT id, kind, priority, sensor_id, building, node, t0, t1 FROM alarms ORDER BY t0, id")
        ]
        tables = {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        self.actions: list[dict[str, Any]] = [
            {"t": r[0], "alarm": r[1], "alarm_t0": r[2], "action": r[3], "user": r[4], "role": r[5], "note": r[6]}
            for r in (con.execute("SELECT t, alarm, alarm_t0, action, user, role, note FROM operator_actions ORDER BY t, rowid")
                      if "operator_actions" in tables else ())
        ]
        """The operators' acknowledgements, notes and clears (who, when, on which alarm instance), oldest first."""
        self.forecasts: list[dict[str, Any]] = [
            {"t": r[0], "trigger_t": r[1], "scope": r[2], "building": r[3], "evacuation_time_s": r[4],
             "building_clearance_s": r[5], "forecast": json.loads(r[6])}
            for r in (con.execute("SELECT t, trigger_t, scope, building, evacuation_time_s, building_clearance_s, body "
                                  "FROM forecasts ORDER BY t, rowid") if "forecasts" in tables else ())
        ]
        """Every forecast the twin made during the window, at the time it was made (``t``), oldest first."""
        self.crossings: list[tuple[float, str, str | None, str | None, int]] = []
        """Every door count in the window: ``(t, sensor_id, building, direction, count)``."""
        for t, sid, building, body in con.execute(
                "SELECT t, sensor_id, building, body FROM sensor_events WHERE kind = 'crossing' ORDER BY t"):
            ev = json.loads(body)
            self.crossings.append((t, sid, building, ev.get("direction"), int(ev.get("count", 1))))
        self.alarm_s = self.meta.get("alarm_s")
        t_alarm = self.alarm_s if self.alarm_s is not None else 0.0
        outs = [(t, b, n) for t, sid, b, d, n in self.crossings
                if sid in self.exit_nodes and b and d == "out" and t >= t_alarm]
        self._out_t = np.array([o[0] for o in outs], dtype=float)
        self._out_b = np.array([o[1] for o in outs], dtype=object)
        self._out_n = np.array([o[2] for o in outs], dtype=np.int64)
        self.buildings = sorted(set(self.buildings) | set(self.occ_buildings))
        self.duration = float(self.meta.get("duration_s") or (self.occ_t.max() if self.occ_t.size else 0.0))

    def occupancy_at(self, t: float) -> dict[str, int]:
        """People in each counted building at ``t`` (the last sample at or before ``t``)."""
        if not self.occ_t.size:
            return {}
        i = max(0, int(np.searchsorted(self.occ_t, t, side="right")) - 1)
        return dict(zip(self.occ_buildings, self.occ_count[i].tolist(), strict=True))

    def alarms_at(self, t: float) -> list[dict[str, Any]]:
        """Alarms on at ``t``, highest priority first, then oldest."""
        on = [a for a in self.alarms if a["t0"] <= t and (a["t1"] is None or t < a["t1"])]
        return sorted(on, key=lambda a: (a["priority"], a["t0"], a["id"]))

    def forecast_at(self, t: float, scope: str | None = None) -> dict[str, Any] | None:
        """The latest forecast made at or before ``t`` (of ``scope``, ``building`` or ``campus``, when given), or None."""
        made = [f for f in self.forecasts if f["t"] <= t and (scope is None or f["scope"] == scope)]
        return made[-1] if made else None

    def actions_until(self, t: float) -> list[dict[str, Any]]:
        """The operators' actions taken at or before ``t``, oldest first."""
        return [a for a in self.actions if a["t"] <= t]

    def out_since_alarm(self, t: float) -> dict[str, int]:
        """People counted out of each building's exits between the alarm and ``t``."""
        sel = self._out_t <= t
        out: dict[str, int] = {}
        for b, n in zip(self._out_b[sel].tolist(), self._out_n[sel].tolist(), strict=True):
            out[b] = out.get(b, 0) + n
        return out

    def out_counts(self) -> tuple[np.ndarray, np.ndarray]:
        """Times (s) and people of every count out of a building exit since the alarm (what :meth:`out_since_alarm` sums)."""
        return self._out_t, self._out_n

    def exercise_numbers(self, building: str, t: float) -> dict[str, Any]:
        """A building's figures at ``t`` in a recorded exercise: people now, design, at the alarm, out since, alarms on."""
        occ = self.occupancy_at(t)
        at_alarm = self.occupancy_at(self.alarm_s).get(building) if self.alarm_s is not None else None
        return {"building": building, "people": occ.get(building), "design": self.design.get(building),
                "at_alarm": at_alarm if self.alarm_s is not None and t >= self.alarm_s else None,
                "out_since_alarm": self.out_since_alarm(t).get(building, 0),
                "alarms": [a["kind"] for a in self.alarms_at(t) if a["building"] == building]}

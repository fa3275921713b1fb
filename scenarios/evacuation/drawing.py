"""What a recording run draws of each step: where people walk, queue and edge forward (the replay's moves, in m)."""

from __future__ import annotations

import math

from scenarios.evacuation.network import Network, Server
from scenarios.evacuation.replication import Move


def record_step(net: Network, servers: list[Server], moves: list[Move], p: int, way: tuple[int, int, int],
                at: tuple[float, float], times: tuple[float, float, float, float], v_free: float) -> tuple[float, float]:
    """Record one booked step of person ``p`` in ``moves``; return where it ends (m).

    ``way`` is (from node, to node, edge), ``at`` the person's place and
    ``times`` (now, set off, arrive, through) as the engine's ``step`` booked them on ``servers``.
    During a wait to pass onto the flight, path or corridor ahead (set
    off after now) they edge forward, at most half way and never faster
    than their free speed. Someone who has to queue at the door ahead walks to their place in
    its queue, the ``k``-th point of :meth:`QueueLines.place <scenarios.evacuation.queues.QueueLines.place>` with
    ``k`` the people booked ahead of them (at their free speed ``v_free``
    m/s, so someone near the door who finds a long queue walks back to
    its end), and moves up to the door as the queue drains: a queue is a
    crowd filling the space outwards from the door, and nobody jumps.
    """
    u, v, e = way
    x, y = at
    now, t0, t_arrive, t_through = times
    dx, dy = net.flight_end(v) if net.e_stair[e] else net.xy[v].tolist()
    if t0 > now:  # the wait to pass onto the flight, path or corridor ahead: edging forward, not stacked on one point
        f = min(1.0, (t0 - now) * v_free / max(math.hypot(dx - x, dy - y), 1e-9), 0.5)
        moves.append((p, "queue", now, t0, u, u, x, y, x + f * (dx - x), y + f * (dy - y)))
        x, y = x + f * (dx - x), y + f * (dy - y)
    s = net.node_server[v]
    qx = qy = math.nan
    if t_through - t_arrive > 1e-9 and s >= 0 and net.e_space_node[e] >= 0:
        ahead = int((t_through - t_arrive) * servers[s].rate - 0.5)
        qx, qy = net.lines.place(v, net.e_space_node[e], ahead)
    to_place, place_to_door = math.hypot(qx - x, qy - y) / v_free, math.hypot(dx - qx, dy - qy) / v_free
    if t0 + to_place + place_to_door <= t_through:  # time to walk to the place in the queue, then up to the door
        t_queue = min(max(t_arrive, t0 + to_place), t_through - place_to_door)
        moves.append((p, "walk", t0, t_queue, u, v, x, y, qx, qy))
        moves.append((p, "queue", t_queue, t_through, v, v, qx, qy, dx, dy))
    elif math.isfinite(qx):  # too short a wait to step into the queue: straight to the door, slowing to pass it
        moves.append((p, "walk", t0, t_through, u, v, x, y, dx, dy))
    else:
        moves.append((p, "walk", t0, t_arrive, u, v, x, y, dx, dy))
        if t_through > t_arrive:
            moves.append((p, "queue", t_arrive, t_through, v, v, dx, dy, dx, dy))
    return dx, dy


def record_outdoors(net: Network, moves: list[Move], p: int, way: tuple[int, int, int], times: tuple[float, float],
                    v_free: float) -> None:
    """Record person ``p``'s walk along outdoor edge ``way`` (from node, to node, edge) over ``times`` (s) in ``moves``.

    An assembly area is reached at its edge (the edge into it may be
    shorter than the way to its node, at its centre): they are drawn walking
    on a few metres into it at their free speed ``v_free`` m/s after that,
    not jumping to its centre.
    """
    u, v, e = way
    t0, t = times
    (x0, y0), (x1, y1) = net.xy[u].tolist(), net.xy[v].tolist()
    d = math.hypot(x1 - x0, y1 - y0)
    if net.is_assembly[v] and d > net.e_len[e] + 1e-6:
        f = min(1.0, (net.e_len[e] + 2.0 + p % 9) / d)
        x1, y1, t = x0 + f * (x1 - x0), y0 + f * (y1 - y0), t + (f * d - net.e_len[e]) / v_free
    moves.append((p, "walk", t0, t, u, v, x0, y0, x1, y1))

"""The evacuation engine's route search: Dijkstra's search from the targets on flat arrays.

A replication searches again after every closure and, on adaptive routes,
every ``reroute_interval`` (80 times in a 12,000-person campus forecast), so
the search runs on ``array`` arrays that the compiled engine reads as C
arrays (``scenarios/evacuation/compiled.py``), with a binary heap of its own
on two of them: as plain Python it is the same code, on the same arrays.
The heap orders entries by (distance, node), so nodes are settled in the
order ``heapq`` on (distance, node) tuples settles them and every tie goes
the same way.
"""

from __future__ import annotations

import math
from array import array

import cython

RouteField = tuple[list[float], list[int], list[int]]
"""Per node: the distance to the nearest target (s at unit speed), the next node and the edge to it (-1: none)."""


def flat_adjacency(adj: list[list[tuple[int, int, float, float]]]) -> tuple[array, array, array, array]:
    """``Network.adj`` (per node: neighbour, edge, cost there, cost back) as the flat arrays :func:`field` searches:
    ``first`` (per node, where its entries start; one more at the end), and per entry the neighbour, the edge and
    the cost back from the neighbour (s at unit speed)."""
    first, to, via, cost = array("l", [0]), array("l"), array("l"), array("d")
    for entries in adj:
        for u, e, _, back in entries:
            to.append(u)
            via.append(e)
            cost.append(back)
        first.append(len(to))
    return first, to, via, cost


@cython.locals(n=cython.Py_ssize_t, size=cython.Py_ssize_t, k=cython.Py_ssize_t, i=cython.Py_ssize_t,
               j=cython.Py_ssize_t, d=cython.double, nd=cython.double, v=cython.long, u=cython.long, e=cython.long,
               sn=cython.long, t=cython.long, out_v=cython.bint, penalised=cython.bint, limited=cython.bint,
               dist=cython.double[:], nxt=cython.long[:], nedge=cython.long[:], shut=cython.schar[:],
               outdoor=cython.schar[:], inside=cython.schar[:], pen=cython.double[:], space_node=cython.long[:],
               first=cython.long[:], to=cython.long[:], via=cython.long[:], cost=cython.double[:],
               keys=cython.double[:], nodes=cython.long[:])
def field(first: array, to: array, via: array, cost: array, outdoor: array, space_node: array, targets: list[int],
          closed: list[bool], within: set[int] | None = None, penalty: array | None = None) -> RouteField:
    """Distances (s at unit speed) to the nearest target, the next hop and the edge to it, avoiding closed nodes.

    Parameters
    ----------
    first, to, via, cost : array
        The graph (:func:`flat_adjacency`): node ``v``'s neighbours are
        ``to[k]``, by edge ``via[k]`` at ``cost[k]`` (s at unit speed, from
        the neighbour to ``v``), for ``k`` from ``first[v]`` to ``first[v + 1] - 1``.
    outdoor : array
        Per node, 1 outdoors (nobody walks from outdoors back into a building).
    space_node : array
        Per edge, the node of the room or corridor it crosses (-1: none).
    targets : list of int
        Target node indices.
    closed : list of bool
        Per node, whether nobody may enter it.
    within : set of int, optional
        Restrict the search to these nodes (a building's, for nearest exits).
    penalty : array of float, optional
        Extra cost per edge (m at unit speed), e.g. the queue ahead of it (``_Run.queues``).
    """
    n = len(first) - 1
    dist_a, nxt_a, nedge_a = array("d", [math.inf]) * n, array("l", [-1]) * n, array("l", [-1]) * n
    dist, nxt, nedge = dist_a, nxt_a, nedge_a
    shut = array("b", closed)
    limited = within is not None
    inside = array("b", [0]) * n
    if within is not None:
        for v in within:
            inside[v] = 1
    penalised = penalty is not None
    pen = penalty if penalty is not None else array("d", [0.0])
    starts = sorted({t for t in targets if not closed[t]})
    keys_a, nodes_a = array("d", [0.0]) * (len(starts) + len(to)), array("l", [0]) * (len(starts) + len(to))
    keys, nodes = keys_a, nodes_a
    size = 0
    for t in starts:  # in (0.0, node) order: already a heap
        dist[t] = 0.0
        keys[size] = 0.0
        nodes[size] = t
        size += 1
    while size:
        d, v = keys[0], nodes[0]  # pop the least (distance, node): the last entry sifts down from the root
        size -= 1
        nd, u = keys[size], nodes[size]
        i = 0
        while True:
            j = 2 * i + 1
            if j >= size:
                break
            if j + 1 < size and (keys[j + 1] < keys[j] or (keys[j + 1] == keys[j] and nodes[j + 1] < nodes[j])):
                j += 1
            if keys[j] < nd or (keys[j] == nd and nodes[j] < u):
                keys[i], nodes[i] = keys[j], nodes[j]
                i = j
            else:
                break
        keys[i], nodes[i] = nd, u
        if d > dist[v]:
            continue
        out_v = outdoor[v]
        for k in range(first[v], first[v + 1]):
            u, e = to[k], via[k]
            if (limited and not inside[u]) or (outdoor[u] and not out_v):
                continue  # nobody walks back into a building on the way out
            sn = space_node[e]
            if sn >= 0 and sn != u and shut[sn]:
                continue  # a closed room or corridor closes the walks across it; those in it may leave
            nd = d + cost[k] + pen[e] if penalised else d + cost[k]
            if nd < dist[u]:
                dist[u] = nd
                nxt[u] = v
                nedge[u] = e
                if not shut[u]:  # a closed node can be left, not crossed: push (nd, u), sifting up
                    i = size
                    size += 1
                    while i > 0:
                        j = (i - 1) // 2
                        if nd < keys[j] or (nd == keys[j] and u < nodes[j]):
                            keys[i], nodes[i] = keys[j], nodes[j]
                            i = j
                        else:
                            break
                    keys[i], nodes[i] = nd, u
    return dist_a.tolist(), nxt_a.tolist(), nedge_a.tolist()

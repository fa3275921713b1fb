# C types for engine.py when it is compiled (scenarios/evacuation/compiled.py, scripts/build_engine.py): a replication's
# state as a C class with typed fields, and its per-step methods as C calls with typed arguments and locals.
# engine.py stays the source: every name here is declared there, and runs as plain Python without this file.
cimport cython
from scenarios.evacuation.network cimport Server
from scenarios.evacuation.physics cimport Physics
from scenarios.evacuation.queues cimport QueueLines, line_space

cdef class _Run:
    cdef public object net, scenario, walks, env, merged, heading, moves
    cdef public long index, events
    cdef public list pre, speed, start, servers, closed, count, walking, waiting, waiting_stair, lined
    cdef public list no_choice, safe_at, left_at, trapped_at, dose, incap_at, incap_in, closures
    cdef public dict fields
    cdef public double merge_floor
    cdef public bint adaptive, nearest_exit, smoky
    cdef public Physics phys
    cdef public list e_space, e_server, e_len, e_stair, node_server, level, adj, is_assembly, space_server, space_area
    cdef public list space_cap, e_space_node, space_node, space_is_flight, space_fed_rate, space_smoke_at
    cdef public list node_xy
    cdef public object start_x, start_y
    cdef public QueueLines lines

    @cython.locals(servers=list, now=double, speed=double, k=Py_ssize_t, s=long, sv=Server, wait=double[:],
                   node_wait=double[:], out=double[:], node_server=long[:], e_server=long[:], e_a=long[:], e_b=long[:])
    cpdef object queues(self)

    @cython.locals(held=list)
    cpdef tuple route(self, tuple key)

    @cython.locals(held=list)
    cpdef list held(self, tuple key)

    cpdef forget(self)

    @cython.locals(best=double, best_v=long, best_e=long, best_w=double, v=long, e=long, w=double, on=double, c=double,
                   s=long, adaptive=bint, closed=list, e_space=list, node_server=list)
    cpdef (long, long, double) first_way(self, long p, long u, tuple route, double v_free)

    @cython.locals(dist=list, nxt=list, nedge=list, steps=list, ways=list, cap=list, servers=list, heading=list,
                   count=list, best=double, best_v=long, best_e=long, base=double, v=long, e=long, s=long, sp=long,
                   c=double, sv=Server, here=double, coming=long, there=long, room=double)
    cpdef (long, long) choose(self, long u, tuple route, double v_free, double now, long behind=*)

    cpdef (long, long) onward(self, long u, long behind, tuple route)

    @cython.locals(floor=object, stair=object, f=long, s=long, take_floor=bint)
    cpdef wake(self, long sp)

    @cython.locals(sn=long, qx=double, qy=double, x0=double, y0=double)
    cpdef object line_place(self, long p, long u, long space, double t0, double t1, long frm, double v_free)

    @cython.locals(fx=double, fy=double, d=double, f=double)
    cpdef (double, double) line_front(self, long u, long space, double x, double y, double reach)

    @cython.locals(servers=list, count=list, walking=list, sp=long, s=long, t0=double, stair=long,
                   speed=double, t_arrive=double, t_through=double, sv=Server, phys=Physics)
    cpdef (double, double, double) step(self, long u, long v, long e, double length, long space, double v_free, double now)

    @cython.locals(servers=list, nxt=list, nedge=list, v=long, e=long, s=long, t0=double)
    cpdef double outside(self, long p, long u, tuple key, double v_free, double t)

    @cython.locals(rate=double, a=double, t=double)
    cpdef bint exposed(self, long p, long u, long space, double t0, double t1, double x, double y) except -1

# C types for queues.py when it is compiled (scenarios/evacuation/compiled.py): the engine asks for a line's places as
# C calls with typed arguments. queues.py stays the source, and runs as plain Python without this file.
cimport cython

@cython.locals(sn=long)
cpdef long line_space(long u, long space, list space_node, list space_is_flight)

cdef class QueueLines:
    cdef public list names
    cdef public object xy
    cdef public dict space_geom, lines, kept_lines, kept_grids
    cdef public double d_max
    cdef public long n

    cpdef bint planned(self, long space) except -1
    @cython.locals(key=long, pts=tuple)
    cpdef tuple line(self, long door, long space)
    @cython.locals(n=long, i=long, layer=long, head=list, x=double, y=double, r=double, a=double)
    cpdef (double, double) place(self, long door, long space, long k)
    cpdef (double, double) front(self, long door, long space)

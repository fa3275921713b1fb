# C types for network.py when it is compiled (scenarios/evacuation/compiled.py): a server as a C class whose bookings
# are C calls. network.py stays the source, and runs as plain Python without this file.
cimport cython

cdef class Server:
    cdef public str id
    cdef public str kind
    cdef public double rate
    cdef public bint exit
    cdef public long passed
    cdef public double max_queue, max_wait, total_wait, until
    cdef public object times
    cdef public list _los, _his
    cdef public Py_ssize_t _hint

    @cython.locals(los=list, i=Py_ssize_t, n=Py_ssize_t, lo=long, nxt=long)
    cdef Py_ssize_t _run_at(self, long k)

    @cython.locals(los=list, his=list, i=Py_ssize_t, lo=long, hi=long, nxt=long)
    cpdef long _book(self, long k)
    @cython.locals(rate=double, start=double, wait=double, end=double)
    cpdef double reserve(self, double t)
    @cython.locals(k=long, los=list, his=list, i=Py_ssize_t, w=double, lo=long, hi=long)
    cpdef double wait_at(self, double t)

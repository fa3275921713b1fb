# C types for physics.py when it is compiled (scenarios/evacuation/compiled.py): the movement parameters as C fields,
# so the speed of every step is a C call. physics.py stays the source, and runs as plain Python without this file.
cdef class Physics:
    cdef public dict overrides
    cdef public str capacity
    cdef public double a, k, k_stair, d_free, d_max, gamma, d_jam, walk_speed_mean, speed_floor
    cdef public double density_factor_min, width_min, width_unknown, reroute_interval, full_space_penalty
    cdef public double stair_down, stair_up, stair_up_flow

    cpdef double speed(self, double v_free, double density, long stair=*) except? -1.0

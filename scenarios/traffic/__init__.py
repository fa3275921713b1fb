"""The traffic engine: pedestrians and vehicles at the gates, on alternative layouts (SimPy).

A ``traffic`` scenario (``docs/traffic.md``) runs one day, or part of one, on
the campus graph:

* **Vehicles** (cars, buses, deliveries, emergency vehicles) arrive at vehicle
  gates (Poisson, hourly rates), queue for the barrier (a SimPy resource with
  one server per lane: a stop of lognormal duration, or fixed with
  ``traffic.service_cv = 0``, plus the move-up of the next vehicle, as a SUMO
  stop's duration) and
  drive on roads and shared lanes to their destination, park for a dwell
  time and drive out through the nearest vehicle gate. A queue longer than the
  street in front of the gate holds (``traffic.approach_length``) spills back
  onto the street; the run reports for how long.
* **Car-following** is Newell's (2002) simplified model on directed links (one
  lane per direction): vehicles leave a link in the order they entered it, a
  follower no earlier than ``tau + d / v`` after its leader (reaction time
  ``tau``, jam spacing ``d``, free speed ``v`` = the lower of the speed limit
  and the vehicle's desired speed), and a link holds at most ``length / d``
  vehicles: a full link blocks the links upstream of it (spill-back). So no
  vehicle ever passes another on a lane, by construction.
* **Pedestrians** arrive at pedestrian gates and follow a timetable of class
  changes between buildings. They walk the shortest way on footways, shared
  lanes and crossings; a share (``jaywalk``) also walks on roads. At the kerb
  they wait for a gap of at least the HCM critical gap ``t_c = W / S_p + t_s``
  (HCM 2010 ch. 19), or step off in front of drivers who give way and can still
  stop. A driver gives way (probability ``compliance``) only with notice of a
  reaction plus braking distance (``traffic.brake_reaction``,
  ``traffic.brake_decel``), counted from when they could see the person walking
  towards the crossing (``traffic.ped_intent_distance`` before its kerb); a
  driver already standing waits for people in their path; one who gave way moves off ``traffic.yield_restart``
  s after the crossing clears, or edges through after ``traffic.yield_patience``
  s of a steady stream of people.
* **Signals**: a crossing with ``signal = true`` runs a fixed cycle
  (``traffic.signal_cycle``): people step off during the walk signal
  (``traffic.signal_walk``), an all-red clearance follows, and vehicles pass
  in the rest of the cycle; shares of drivers and pedestrians cross on red
  (``traffic.driver_red_violation``, ``traffic.ped_red_violation``).
* **Conflicts** (:mod:`scenarios.traffic.conflicts`): at crossing points, lane
  by lane, a vehicle and a group of people in the same conflict area at the
  same time are a conflict event graded by time to accident against the
  conflicting speed (Hydén 1987; Laureshyn & Várhelyi 2018); pairs apart by
  less than ``traffic.pet_threshold`` (post-encroachment time, Allen et al.
  1978) are PET events. Once per vehicle, group and crossing point. On shared
  lanes people and vehicles going along the lane *pass* each other: passings
  with passing speed and lateral clearance, not conflicts.
* **Layouts**: the same demand (common random numbers: replication ``i`` uses
  stream ``i`` of ``SeedSequence(seed).spawn``, split into a demand stream
  and a behaviour stream) runs on every layout of the scenario, so the
  layouts are compared side by side.
* **Closures** of roads at given times: vehicles re-route at the next junction,
  or wait where they are until the road opens; a vehicle that cannot reach
  its destination from the gate and never will turns back at the gate. No one
  vanishes: every vehicle and pedestrian ends the run in a counted state.

The package has the shape every engine shares:

* :mod:`scenarios.traffic.network`: what it derives from the campus (each
  layout a campus variant, :mod:`twin.variants`; the :class:`Network` of
  links, walking graphs, conflict areas; pedestrians' routes);
* :mod:`scenarios.traffic.demand`: the arrivals of one replication;
* :mod:`scenarios.traffic.conflicts`: conflict events and passings, measured
  from the times people and vehicles spend in the conflict areas and lanes;
* :mod:`scenarios.traffic.engine`: the SimPy processes, the prepared :class:`TrafficModel` and :func:`run`, which runs the
  replications through :func:`scenarios.replicate.replicate` (serially, on
  local cores or on a Dask cluster, with identical results);
* :mod:`scenarios.traffic.outcome`: what a run measured and its summary.
"""

from __future__ import annotations

from scenarios.traffic.engine import TrafficModel, run
from scenarios.traffic.network import AS_IS
from scenarios.traffic.outcome import TrafficOutcome, TrafficReplication

__all__ = ["AS_IS", "TrafficModel", "TrafficOutcome", "TrafficReplication", "run"]

"""The one table of documented defaults, each with its unit and source.

Every default number the model uses lives here. ``docs/settings.md`` is
rendered from this table (``python -m twin.settings``) and a test checks that
the two agree, so no setting goes undocumented.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

FT2 = 0.09290304
"""Square metres in one square foot."""


@dataclass(frozen=True)
class Setting:
    """One documented default.

    Attributes
    ----------
    name : str
        Key used in code and scenario files.
    default : float
        Value in ``unit``.
    unit : str
        SI unit of the value (``m``, ``m2/person``, ``km/h``, ``1``).
    help : str
        What the value means.
    source : str
        Where the number comes from.
    """

    name: str
    default: float
    unit: str
    help: str
    source: str


IBC = "IBC 2021 Table 1004.5 (occupant load factor)"
NET_TO_GROSS = 0.6
"""Net-to-gross floor area ratio assumed for whole academic buildings."""
_NTG = f"{IBC}, net area ÷ {NET_TO_GROSS} net-to-gross ratio typical of academic buildings"

_TABLE = (
    # Geometry and snapping
    Setting("snap_tolerance", 2.0, "m", "Line ends closer than this to another line, gate or assembly area are joined to it.", "Modelling choice; OSM footway/road digitising error is ~1-2 m."),
    Setting("door_snap", 0.5, "m", "A door must lie this close to the boundary between its two spaces.", "Modelling choice; half a wall thickness plus digitising error."),
    Setting("exit_snap", 15.0, "m", "A building exit joins the nearest walkable line within this distance.", "Modelling choice; typical setback of a footway from a facade."),
    Setting("exit_link_max", 100.0, "m", "An exit with no walkable line within exit_snap is joined, with a warning, to the nearest one within this distance (OSM rarely maps the last metres to a door).", "Modelling choice."),
    Setting("storey_height", 3.6, "m", "Floor-to-floor height when a building gives no level_height.", "Typical teaching building storey (GB 50099-2011 §4.2: classroom clear height >= 3.0 m plus slab)."),
    Setting("stair_riser", 0.178, "m", "Riser height used to turn a storey height into a flight length.", "IBC 2021 §1011.5.2: riser at most 7 in (178 mm)."),
    Setting("stair_tread", 0.279, "m", "Tread depth used to turn a storey height into a flight length.", "IBC 2021 §1011.5.2: tread at least 11 in (279 mm)."),
    Setting("stair_landing", 2.4, "m", "Walking length added per flight for the half landing between storeys.", "Two landing widths of 1.2 m (IBC 2021 §1011.6: landing depth >= stair width)."),
    # Widths
    Setting("door_width", 0.9, "m", "Clear width of a door without a width.", "IBC 2021 §1010.1.1: minimum clear width 32 in (0.81 m); common 0.9 m leaf."),
    Setting("generated_stairs", 2, "1", "Stairs in the stair core of a generated interior (their widths add up).", "IBC 2021 §1006.3.3: two exits from any storey with more than 49 occupants."),
    Setting("egress_stair_per_person", 0.3 * 0.0254, "m/person", "Stair width a generated interior provides per occupant of its fullest upper storey.", "IBC 2021 §1005.3.1: 0.3 in (7.6 mm) of stair width per occupant."),
    Setting("egress_other_per_person", 0.2 * 0.0254, "m/person", "Exit door width a generated interior provides per occupant.", "IBC 2021 §1005.3.2: 0.2 in (5.1 mm) of width per occupant for other egress components."),
    Setting("stair_width", 1.2, "m", "Clear width of a stair without a width.", "IBC 2021 §1011.2: minimum 44 in (1.12 m)."),
    Setting("exit_width", 1.8, "m", "Width of each exit of a generated interior.", "A double door of two 0.9 m leaves (IBC 2021 §1010.1.1)."),
    Setting("footway_width", 3.0, "m", "Width of a footway without a width.", "Typical campus footway; NACTO Urban Street Design Guide clear path 1.8-2.4 m plus buffer."),
    Setting("road_width", 7.0, "m", "Width of a road without a width.", "Two 3.5 m lanes (AASHTO Green Book 2018 §4.3: lane widths 2.7-3.6 m)."),
    Setting("shared_width", 6.0, "m", "Width of a shared lane without a width.", "Typical campus shared surface; modelling choice."),
    Setting("crossing_width", 4.0, "m", "Width of a crossing without a width.", "MUTCD 2009 §3B.18: crosswalk at least 6 ft; campus zebra crossings are commonly 4 m."),
    Setting("gate_width", 4.0, "m", "Pedestrian clear width of a gate without a width.", "Modelling choice; a campus pedestrian gate of several turnstile lanes."),
    Setting("speed_limit", 30.0, "km/h", "Speed limit on roads and shared lanes without one.", "Common campus limit; modelling choice."),
    # Importing building plans (maps/importing.py: IFC, IMDF, DXF)
    Setting("import.cut_height", 1.2, "m", "An imported IFC space's footprint is its horizontal section this high above its floor (its plan projection where the section is empty).", "Drawing convention: floor plans are cut about 1-1.5 m above the floor, so a sloping roof's low edge is not floor area."),
    Setting("import.open_edge", 0.8, "m", "Imported spaces whose outlines touch along at least this length, with no wall between them, are joined by an opening as wide as the shared edge (IFC spaces; IMDF corridor units).", "IBC 2021 §1010.1.1: 32 in (0.81 m), the narrowest clear door width; a shorter shared edge is a corner, not a way through."),
    Setting("import.walk_offset", 4.0, "m", "The placeholder footway an importer draws round an imported building runs this far from its outline.", "Modelling choice: a path along the facade, well within exit_snap; replaced by the real paths when the building is merged into a campus."),
    Setting("import.assembly_distance", 30.0, "m", "The placeholder assembly area lies this far beyond the placeholder footway, on the side the exits face.", "Modelling choice: assembly points are usually 15-50 m from a building, clear of falling glass and of the fire brigade's access."),
    Setting("import.area_per_person", 2.0, "m2/person", "Sizes the placeholder assembly area: room (at assembly_area_per_person each) for the imported floor area at this many m² per person, and at least 15 m square.", "Modelling choice: denser than every design load factor but dining and lecture (1.39 m²/person), so the area rarely fills."),
    # Sensors and places
    Setting("camera_pixels", 1920.0, "px", "Horizontal resolution of a camera that gives no pixels (its range at a pixel density follows from this and its field of view).", "The common 1080p (1920 x 1080) IP camera; give a camera's own pixels in the campus file."),
    Setting("camera_density", 62.5, "px/m", "Pixel density the site asks of its cameras, where a key area asks for none: a camera's range is where its image still has this many pixels per metre of scene width.", "IEC 62676-4:2014 'observe' (62.5 px/m: what a person is doing); a key area can ask for detect, observe, recognise or identify."),
    Setting("camera_density.detect", 25.0, "px/m", "IEC 62676-4 'detect': whether a person is there.", "IEC 62676-4:2014, Video surveillance systems, part 4: application guidelines, the DORI pixel densities (25 / 62.5 / 125 / 250 px/m)."),
    Setting("camera_density.observe", 62.5, "px/m", "IEC 62676-4 'observe': what a person is doing.", "IEC 62676-4:2014 (as camera_density.detect)."),
    Setting("camera_density.recognise", 125.0, "px/m", "IEC 62676-4 'recognise': whether a person is someone the viewer knows.", "IEC 62676-4:2014 (as camera_density.detect)."),
    Setting("camera_density.identify", 250.0, "px/m", "IEC 62676-4 'identify': who a person is, beyond reasonable doubt.", "IEC 62676-4:2014 (as camera_density.detect)."),
    Setting("assembly_area_per_person", 0.46, "m2/person", "Area per person used to derive an assembly area's capacity.", f"{IBC}: standing space 5 ft² net."),
    Setting("occupancy_warn_ratio", 10.0, "1", "Warn when a room's given occupants differ from its use's design density by more than this factor.", "Modelling choice."),
    # Movement (evacuation engine)
    Setting("walk_speed_mean", 1.34, "m/s", "Mean free walking speed on the level.", "Weidmann (1993), Transporttechnik der Fussgaenger, ETH IVT Schriftenreihe 90: 1.34 m/s (sd 0.26)."),
    Setting("walk_speed_sd", 0.26, "m/s", "Standard deviation of the free walking speed.", "Weidmann (1993)."),
    Setting("walk_speed_min", 0.5, "m/s", "Free walking speeds drawn below this are raised to it.", "Truncation; Weidmann (1993) data hold few adults below 0.5 m/s."),
    Setting("walk_speed_max", 2.2, "m/s", "Free walking speeds drawn above this are lowered to it.", "Truncation; brisk adult walking (Weidmann 1993 upper tail)."),
    Setting("stair_speed_down", 0.694, "m/s", "Mean horizontal speed down stairs (scaled by each person's free speed).", "Weidmann (1993): stairs down, horizontal component 0.694 m/s."),
    Setting("stair_speed_up", 0.610, "m/s", "Mean horizontal speed up stairs (scaled by each person's free speed).", "Weidmann (1993): stairs up, horizontal component 0.610 m/s."),
    Setting("sfpe_a", 0.266, "m2/person", "Slope a of the SFPE speed-density relation v = k (1 - a D).", "SFPE Handbook, 5th ed. (2016), ch. 64 (Gwynne & Rosenbaum), hydraulic model."),
    Setting("density_free", 0.54, "persons/m2", "Below this density people walk at their free speed.", "SFPE Handbook (2016) ch. 64: speed is unimpeded below 0.54 persons/m²."),
    Setting("density_max", 1.88, "persons/m2", "People do not enter a space (room, corridor, stair, path) above this density; they queue at its door.", "SFPE Handbook (2016) ch. 64: specific flow peaks at 1.88 persons/m²; Pathfinder's SFPE mode uses it as the maximum room density."),
    Setting("flow_door", 1.32, "persons/s/m", "Maximum specific flow through a door or opening, per metre of effective width.", "SFPE Handbook (2016) ch. 64, Table 64.3: doorways 1.32 persons/s per m effective width."),
    Setting("flow_corridor", 1.32, "persons/s/m", "Maximum specific flow along a corridor, footway or gate.", "SFPE Handbook (2016) ch. 64, Table 64.3: corridors, aisles, ramps 1.32 persons/s/m."),
    Setting("flow_stair", 1.01, "persons/s/m", "Maximum specific flow on a stair (7 in riser, 11 in tread).", "SFPE Handbook (2016) ch. 64, Table 64.3: stairs 7/11 1.01 persons/s/m."),
    Setting("boundary_door", 0.15, "m", "Boundary layer subtracted from each side of a door to get its effective width.", "SFPE Handbook (2016) ch. 64, Table 64.1: door jambs 15 cm."),
    Setting("boundary_stair", 0.15, "m", "Boundary layer on each side of a stair.", "SFPE Handbook (2016) ch. 64, Table 64.1: stairway walls or sides of treads 15 cm."),
    Setting("boundary_corridor", 0.20, "m", "Boundary layer on each side of a corridor or footway.", "SFPE Handbook (2016) ch. 64, Table 64.1: corridor and ramp walls 20 cm."),
    Setting("sfpe_k", 1.40, "m/s", "Constant k of the SFPE speed-density relation v = k (1 - a D) for corridors, aisles, ramps and doorways (design capacity mode: a crowd above density_free walks at most this).", "SFPE Handbook, 5th ed. (2016), ch. 64, Table 64.2: k = 1.40 m/s (corridor, aisle, ramp, doorway)."),
    Setting("sfpe_k_stair", 1.08, "m/s", "Constant k of the SFPE speed-density relation on a stair (7 in riser, 11 in tread), speed along the line of travel: a crowd on a flight above density_free walks at most k (1 - a D) down, times stair_speed_up / stair_speed_down up.", "SFPE Handbook, 5th ed. (2016), ch. 64, Table 64.2: k = 1.08 m/s for 7/11 stairs."),
    Setting("weidmann_gamma", 1.913, "persons/m2", "Shape constant gamma of Weidmann's speed-density relation v = v_free (1 - exp(-gamma (1/D - 1/D_jam))), the reference of RiMEA test 4 (twin verify; movement uses the SFPE relation).", "Weidmann (1993), Transporttechnik der Fussgaenger, ETH IVT Schriftenreihe 90, eq. for level walking after Kladek (gamma = 1.913 m^-2)."),
    Setting("weidmann_jam", 5.4, "persons/m2", "Jam density D_jam of Weidmann's relation: speed and flow fall to zero there (the end of the congested branch).", "Weidmann (1993): D_max = 5.4 persons/m²."),
    Setting("flow_measured_door", 1.9, "persons/s/m", "Measured capacity mode: flow through a door or opening (a short bottleneck) per metre of clear width, no boundary layer.", "Seyfried et al. (2009), New insights into pedestrian flow through bottlenecks, Transportation Science 43(3) 395-406: about 1.9 persons/(m·s) for 0.8-1.2 m; linear in width up to 5 m, Liao et al. (2014), Transportation Research Procedia 2, 26-33; Kretz, Gruenebohm & Schreckenberg (2006), J. Stat. Mech. P10014 (short bottlenecks)."),
    Setting("flow_measured_corridor", 1.6, "persons/s/m", "Measured capacity mode: flow along a corridor, footway or gate (a long bottleneck) per metre of clear width.", "Zhang & Seyfried (2013), Empirical characteristics of different types of pedestrian streams, Procedia Engineering 62, 655-662: long bottlenecks and corridors pass less than short bottlenecks; 1.6 is a modelling choice inside the maximum specific flows of unidirectional corridor experiments (about 1.5-2.0, Zhang et al. 2011, J. Stat. Mech. P06004). Check against the data before relying on it."),
    Setting("flow_measured_stair", 1.3, "persons/s/m", "Measured capacity mode: flow down a stair flight per metre of clear width (going up: times stair_speed_up / stair_speed_down).", "Modelling choice between the SFPE design value (1.01 on the effective width, about 0.8 on the clear width of a 1.2 m stair) and level short bottlenecks (1.9); stair fundamental diagrams: Burghardt, Seyfried & Klingsch (2013), Transportation Research C 37, 268-278. Check against their data before relying on it."),
    Setting("stair_merge_floor", 0.5, "1", "Where a floor's stream and the stream coming down (or up) the stair compete for places on the next flight, the floor's share of them (the rest go to the stair's).", "Boyce, Purser & Shields (2012), Experimental studies to investigate merging behaviour in a staircase, Fire and Materials 36(5-6) 383-398: about 50:50 on average; Galea et al. (2008) found the floor favoured where its door is next to the incoming flight (raise it for such a layout)."),
    Setting("reroute_interval", 20.0, "s", "How often adaptive routing re-reads the queues at doors, stairs and paths.", "Modelling choice; short against the minutes a campus evacuation takes."),
    Setting("reroute_full_space", 5.0, "s", "Adaptive routing: cost added to a step into a full space when no door, flight or path on the step holds a queue to wait in (where one does, the step costs one passage of its flow instead).", "Modelling choice: of the order of the wait for one person to leave a small full room."),
    Setting("walk_speed_floor", 0.05, "m/s", "Free walking speeds below this (a scenario's own speed distribution may draw them when it sets no min) are raised to it, so nobody stands still.", "Modelling choice: a guard, not a measured speed; the default distribution stops at walk_speed_min."),
    Setting("density_speed_factor_min", 0.05, "1", "Density never slows people below this share of their free speed (reached only when density_max is raised above about 3.6 persons/m²).", "Modelling choice: the SFPE relation reaches standstill at 1/a = 3.76 persons/m²; a crowd that dense still creeps."),
    Setting("effective_width_min", 0.1, "m", "The effective width of a door, stair, corridor or path (clear width less both boundary layers) is never taken below this, so a very narrow one still passes people, slowly.", "Modelling choice: a guard for clear widths under the two SFPE boundary layers (0.3-0.4 m)."),
    Setting("width_unknown", 1.0, "m", "Clear width of a door, opening or gate that reaches the evacuation engine with no width (zero or missing); loading normally fills door_width or gate_width first.", "Modelling choice: a guard, about one door leaf."),
    Setting("fed_co_dose", 35000.0, "ppm·min", "Carbon monoxide exposure dose that incapacitates (fractional effective dose 1): FED accrues C_CO / this per minute.", "ISO 13571:2012, eq. for asphyxiant gases (CO term, 35,000 ppm·min); Purser, SFPE Handbook 5th ed. (2016) ch. 63."),
    Setting("fed_heat_a", 5.0e7, "min·°C^b", "Convected heat: time to incapacitation t_Iconv = a T^-b minutes at gas temperature T (°C); FED accrues 1 / t_Iconv per minute.", "ISO 13571:2012, convected heat, t_Iconv = 5 x 10^7 T^-3.4 min (fully clothed); Purser, SFPE Handbook (2016) ch. 63."),
    Setting("fed_heat_b", 3.4, "1", "Exponent b of the convected-heat time to incapacitation t_Iconv = a T^-b.", "ISO 13571:2012 (see fed_heat_a)."),
    Setting("ambient_temperature", 20.0, "°C", "Temperature of a space without smoke; no heat dose at or below it.", "Modelling choice: indoor ambient."),
    Setting("fire_co_ppm", 8000.0, "ppm", "Carbon monoxide concentration at head height in the smoke-logged room of fire origin (a space k rooms away has smoke_dilution^k of it).", "Modelling choice inside the range of post-flashover compartment fires, CO of about 0.5-3 % near the fire room (Purser, SFPE Handbook 5th ed. 2016, ch. 63); give a scenario's own value with [settings] when a fire model gives one."),
    Setting("fire_temperature", 150.0, "°C", "Gas temperature at head height in the smoke-logged room of fire origin (a space k rooms away has ambient + smoke_dilution^k of the excess).", "Modelling choice: a hot layer down to head height in a developing room fire; ISO 13571 radiant-heat tenability is lost above about 2.5 kW/m² (a layer near 200 °C), so below that the convected term alone is used."),
    Setting("smoke_dilution", 0.5, "1", "Share of the CO concentration and of the temperature excess a smoke-logged space passes on to the next (per room, corridor or landing the smoke crosses).", "Modelling choice: entrainment of clean air as smoke spreads door to door roughly halves concentrations per compartment in zone-model runs of corridor spread (order of magnitude; compare with a CFAST or FDS run for a real design)."),
    Setting("tenability_fed", 0.3, "1", "A space is untenable (nobody walks into it; it closes at its smoke time) when its conditions would give this dose in tenability_time.", "ISO 13571:2012 §6: FED 0.3 as the tenability limit, protecting about 89 % of a population including susceptible people."),
    Setting("tenability_time", 300.0, "s", "Exposure time the tenability_fed limit is reckoned over (a walk through a smoke-logged space of up to this long).", "Modelling choice: five minutes, of the order of the time to walk out of a storey."),
    Setting("fire_origin_premovement", 0.1, "1", "People in the room of fire origin set off after this share of their pre-movement time (they see the fire); people anywhere else set off at the latest when smoke reaches their space.", "PD 7974-6:2019 Annex C: occupants of the enclosure of fire origin respond quickly to the fire's own cues; the factor is a modelling choice."),
    Setting("premovement_mean", 60.0, "s", "Mean pre-movement time when a scenario gives none (lognormal).", "Assumption for an alarmed, awake, familiar population, within the ranges of PD 7974-6:2019 Annex C for such occupancies; calibrate with drill data."),
    Setting("premovement_sd", 30.0, "s", "Standard deviation of the default pre-movement time.", "As premovement_mean."),
    Setting("fire_spread_delay", 120.0, "s", "Time after a fire starts until the spaces next to it become impassable, when a scenario gives none.", "Assumption: order of the untenability time of a corridor next to a room fire (smoke-filling estimates in the SFPE Handbook ch. 61 for ordinary rooms)."),
    # Security coverage (guard posts, patrols, cameras; scenarios/coverage/)
    Setting("response_standard", 180.0, "s", "Response standard: an incident is answered in time when a guard reaches it within this.", "The campus security brief (issue 8): 3 min from the alarm to a guard on site."),
    Setting("call_handling", 30.0, "s", "Call handling: from an alarm or call to a guard being told to go (the control room takes it, checks it and radios a guard).", "EN 50518:2019 (monitoring and alarm receiving centres): 80 % of alarms handled within 30 s, 98.5 % within 60 s; the 80 % figure."),
    Setting("guard_turnout", 60.0, "s", "Turnout: from being told to setting off (leaving or locking the post, taking the radio, torch and keys, breaking off a patrol).", "NFPA 1710 (2020) §4.1.2.1: turnout time 60 s for EMS calls, 80 s for fire, the nearest published standard for a crew leaving its station; time it in drills."),
    Setting("guard_run_speed", 2.0, "m/s", "Speed of a guard hurrying to an incident on the level (stairs: scaled by stair_speed_down / walk_speed_mean): a run of a few hundred metres in uniform and kit, through doors and crowds.", "Baker, Long & Srinivasan (2025), Overground gait transitions are not sharp but involve gradually changing walk-run mixtures even over long distances, arXiv:2501.00720 (after Long & Srinivasan 2013, J. R. Soc. Interface 10: 20120980, over 120 m): adults covering 800 m or 2,400 m in a set time walk and run in mixtures between average speeds of 1.9 m/s (mostly walking) and 3.0 m/s (mostly running). 2.0 m/s, the hurrying walk with some running at the slow end of that regime, because a guard runs in uniform and duty kit (police in body armour and appointments were 12-42 % slower in simulated tasks: Dempsey, Handcock & Rehrer 2013, Applied Ergonomics 44(6) 957-961) and through doors and crowds; 3.0 m/s is the fit runner in sports kit (Cooper Institute 2.4 km police test). Calibrate with timed runs from the posts."),
    Setting("patrol_speed", 1.1, "m/s", "Walking speed of a guard on patrol or walking back to the post.", "An observing walk, below Weidmann's (1993) free speed of 1.34 m/s; modelling choice."),
    Setting("handling_mean", 600.0, "s", "Mean time a guard spends at an incident (lognormal), when a scenario gives none.", "Assumption (10 min: assess, report, hand over); calibrate with the security office's incident log."),
    Setting("handling_sd", 300.0, "s", "Standard deviation of the default handling time.", "As handling_mean."),
    Setting("incidents_per_day", 12.0, "1/day", "Incidents per day in all key areas together, when a scenario gives no rate.", "Assumption for a 20,000-person campus (alarms, intrusions, disturbances needing a guard); calibrate with the incident log."),
    Setting("key_area_reach", 25.0, "m", "A key area with no graph node inside is reached at the nodes within this distance of it.", "Modelling choice; about a building's setback from its footway."),
    Setting("camera_fov", 90.0, "deg", "Horizontal field of view of a proposed (optimised) camera.", "A 2.8 mm lens on a 1/2.8-inch sensor, the common fixed dome camera, sees ~90-100 deg."),
    Setting("camera_wall_offset", 0.3, "m", "A camera drawn on (or inside) a building outline stands this far out from its wall; its own building then hides what lies behind it, like any other.", "Modelling choice: the arm of a common wall-mount bracket for dome and bullet cameras (about 0.2-0.35 m)."),
    Setting("camera_site_reach", 40.0, "m", "Proposed cameras are sited within this distance of a key area (outdoor graph nodes and building corners).", "Modelling choice: beyond a proposed camera's observe range (15 m for 1920 px at camera_fov 90 deg, 31 m at detect), so a camera there can still see into the key area."),
    Setting("camera_corner_offset", 1.5, "m", "A proposed camera at a building corner stands this far out from the corner (away from the building's centre), so the building does not hide its own view.", "Modelling choice: a wall bracket or pole just clear of the facade."),
    Setting("incident_tail", 3600.0, "s", "A coverage run goes on this long after its hours, with no new incidents, so incidents near the end are answered too (an incident still unreached then is unanswered).", "Modelling choice: well beyond the response standard (180 s) plus a mean handling time (600 s), so only a queue hours long leaves incidents unanswered."),
    Setting("risk.finance", 3.0, "1", "Relative incident rate of a finance key area.", "Modelling choice after the brief (cash and records); override per scenario."),
    Setting("risk.lab", 3.0, "1", "Relative incident rate of a laboratory key area.", "Modelling choice after the brief (hazardous materials); override per scenario."),
    Setting("risk.library", 2.0, "1", "Relative incident rate of a library key area.", "Modelling choice after the brief (rare books, archives); override per scenario."),
    Setting("risk.dorm", 2.0, "1", "Relative incident rate of a dorm key area.", "Modelling choice after the brief; override per scenario."),
    Setting("risk.construction", 2.0, "1", "Relative incident rate of a construction-site key area.", "Modelling choice after the brief (theft, trespass); override per scenario."),
    Setting("risk.other", 1.0, "1", "Relative incident rate of a key area of another category.", "Modelling choice; the reference weight."),
    # Traffic at the gates (scenarios/traffic/)
    Setting("traffic.reaction_time", 1.0, "s", "Newell's time shift tau: a follower repeats its leader's trajectory this much later (and a jam spacing behind).", "Newell (2002), A simplified car-following theory: a lower order model, Transp. Res. B 36(3) 195-205; Ahn, Cassidy & Laval (2004) estimate tau of about 1.0-1.6 s from freeway data."),
    Setting("traffic.jam_spacing", 7.0, "m", "Space a car takes in a standing queue (front to front); larger vehicles add their extra length.", "Newell (2002): jam spacing d of about 7 m; Ahn, Cassidy & Laval (2004) 6.6-8.4 m."),
    Setting("traffic.compliance", 0.7, "1", "Probability that a driver yields to a pedestrian on a crossing, when a scenario gives none.", "Modelling choice within the observed range: driver yielding at marked uncontrolled crosswalks 17-95 % by treatment (Fitzpatrick et al. 2006, TCRP Report 112 / NCHRP Report 562)."),
    Setting("traffic.jaywalk", 0.05, "1", "Share of pedestrians who do not keep to footways and crossings (they walk on roads too), when a scenario gives none.", "Modelling choice; calibrate with counts at the gate."),
    Setting("traffic.road_walk_penalty", 1.25, "1", "Someone who does not keep to crossings walks on a road only where that makes the way this many times shorter.", "Modelling choice: people cut corners over the road, they do not walk along it where a footway runs beside it."),
    Setting("traffic.pet_threshold", 1.0, "s", "A person and a vehicle that pass the same lane's conflict area at a crossing point less than this apart in time (post-encroachment time) make a PET event, the second conflict measure.", "PET as defined by Allen, Shin & Cooper (1978), Analysis of traffic conflicts and collisions, TRR 667; PET <= 1 s is the serious-conflict limit most vehicle-pedestrian studies use (reviewed by Zheng, Ismail & Meng 2014, Traffic conflict techniques for road safety analysis, Can. J. Civ. Eng. 41(7) 633-641)."),
    Setting("traffic.serious_decel", 3.4, "m/s2", "A conflict on a collision course is serious when the road user who had to give way would need at least this deceleration to stop in the time to accident: conflicting speed / (2 TA).", "Severity by time to accident against conflicting speed, the Swedish Traffic Conflict Technique (Hyden 1987, Lund Bulletin 70; method: Laureshyn & Varhelyi 2018, The Swedish TCT observer's manual); its serious-conflict border is approximated here by a constant needed deceleration, set to the braking most drivers exceed only when surprised (AASHTO 2011 Green Book §3.2.2: 3.4 m/s2). Modelling choice: check against the manual's severity chart."),
    Setting("traffic.brake_reaction", 1.5, "s", "Time a driver needs to react to a person stepping onto a crossing before braking.", "Green (2000), How long does it take to stop? Transportation Human Factors 2(3) 195-216: about 1.5 s for an unexpected but common event (AASHTO's design value is 2.5 s)."),
    Setting("traffic.brake_decel", 3.4, "m/s2", "Deceleration a driver brakes at to stop for a person on a crossing; a driver gives way only with notice of brake_reaction + speed / (2 x this).", "AASHTO 2011 Green Book §3.2.2: 3.4 m/s2, the deceleration 90 % of drivers exceed when stopping for an unexpected object."),
    Setting("traffic.accel", 2.6, "m/s2", "Acceleration of a vehicle moving off from a stop (the barrier's move-up, moving off after giving way).", "SUMO's default passenger-car vType accel (Krauss model, sumo.dlr.de vehicle type parameters), the model the side-by-side check runs."),
    Setting("traffic.stop_decel", 4.5, "m/s2", "Deceleration of a vehicle pulling up to the barrier behind the one leaving.", "SUMO's default passenger-car vType decel (sumo.dlr.de vehicle type parameters)."),
    Setting("traffic.ped_intent_distance", 10.0, "m", "A person walking towards a zebra (or a shared lane's crossing point) is seen by drivers to mean to cross from this far before its kerb; a driver who gives way stops for them if that leaves notice enough to stop (brake_reaction + braking at brake_decel), so they need not wait at the kerb for such a driver.", "The rule: drivers must let people who evidently mean to use a zebra cross, approach it at moderate speed and wait if need be (German StVO §26(1); UK Highway Code rule 195, 2022: give way to people waiting to cross). The distance: SUMO's jmCrossingGap default (10 m; sumo.dlr.de, junction model parameters), its drivers' threshold for people walking towards a crossing; a model value, not a measurement: calibrate with video of the crossing."),
    Setting("traffic.ped_start_time", 3.0, "s", "Start-up and end clearance time t_s of a pedestrian's critical gap t_c = W / S_p + t_s at an unsignalised crossing (W the road's width, S_p their walking speed).", "HCM 2010 ch. 19 (two-way stop-controlled intersections, pedestrian mode): critical headway t_c = L / S_p + t_s with t_s = 3 s pedestrian start-up and end clearance time."),
    Setting("traffic.ped_red_violation", 0.1, "1", "Share of pedestrians at a signalised crossing who do not wait for the walk signal but cross on red at a gap they accept.", "Modelling choice; observed shares vary widely with the wait and the site (Brosseau et al. 2013, Transp. Res. F 21, 159-172: more violations the longer the wait); count at the crossing."),
    Setting("traffic.driver_red_violation", 0.02, "1", "Share of drivers who pass a pedestrian signal on red (they still give way to people on the crossing when they can stop).", "Modelling choice, a few per cent of drivers facing a red; count at the crossing."),
    Setting("traffic.ped_width", 0.46, "m", "Shoulder width of a person, for the lateral clearance of passings on shared lanes.", "Fruin (1971) body ellipse, 0.46 m x 0.61 m (SFPE Handbook, 5th ed., ch. 56)."),
    Setting("traffic.width.car", 1.8, "m", "Width of a car (without mirrors), for the lateral clearance of passings.", "Typical EU M1 segment C car, about 1.75-1.85 m."),
    Setting("traffic.width.bus", 2.55, "m", "Width of a bus.", "EU maximum width, Directive 96/53/EC."),
    Setting("traffic.width.delivery", 2.3, "m", "Width of a delivery truck.", "Light rigid truck (7.5 t class), about 2.2-2.4 m."),
    Setting("traffic.width.emergency", 2.1, "m", "Width of an ambulance or fire car.", "Type C ambulance on a van chassis, about 2.0-2.1 m (EN 1789)."),
    Setting("traffic.yield_restart", 2.0, "s", "Time a driver who stopped for pedestrians needs to move off after the crossing clears.", "HCM 2010 ch. 18: start-up lost time 2.0 s."),
    Setting("traffic.yield_patience", 60.0, "s", "A driver yielding at a crossing who has waited this long while people keep coming edges through them.", "Modelling choice; drivers' waiting tolerance at busy zebra crossings is rarely over a minute (calibrate with video of the crossing)."),
    Setting("traffic.signal_cycle", 60.0, "s", "Cycle of a signalised crossing (signal = true on the crossing).", "FHWA Signal Timing Manual, 2nd ed. (2015): short cycles, 60-90 s, for mid-block pedestrian signals; modelling choice."),
    Setting("traffic.signal_walk", 10.0, "s", "Walk interval of a signalised crossing: people step off only then.", "MUTCD 2009 §4E.06: walk interval at least 7 s, longer where many people cross."),
    Setting("traffic.signal_clear_speed", 1.07, "m/s", "Walking speed the all-red clearance after the walk interval is timed for (clearance = road width / this).", "MUTCD 2009 §4E.06: pedestrian clearance time at 3.5 ft/s (1.07 m/s)."),
    Setting("traffic.ped_restart", 2.0, "s", "At a signalised crossing, the time a pedestrian needs after the walk signal to be clear of the first lane; the last vehicle of a green leaves the crossing this long before the next walk signal.", "Modelling choice below the HCM 2000 (eq. 18-5) pedestrian start-up time of 3.2 s at signals, which includes reacting to the signal."),
    Setting("traffic.approach_length", 60.0, "m", "Street length in front of a vehicle gate that holds its queue; a longer queue spills back onto the street.", "Modelling choice; measure at the gate."),
    Setting("traffic.emergency_factor", 1.5, "1", "Emergency vehicles on a run may drive this many times the speed limit on roads (not on shared lanes).", "Modelling choice; blue-light exemption (e.g. UK Road Traffic Regulation Act 1984 s.87) used with care on a campus."),
    Setting("traffic.length.car", 4.5, "m", "Length of a car.", "Typical passenger car (EU M1 segment C, about 4.4-4.6 m)."),
    Setting("traffic.length.bus", 12.0, "m", "Length of a bus.", "Standard single-deck city bus (EU max rigid length 12 m, Directive 96/53/EC)."),
    Setting("traffic.length.delivery", 7.5, "m", "Length of a delivery truck.", "Light rigid truck (7.5 t class)."),
    Setting("traffic.length.emergency", 6.5, "m", "Length of an ambulance or fire car.", "Type C ambulance on a van chassis, about 6-7 m (EN 1789)."),
    Setting("traffic.speed.car", 40.0, "km/h", "Desired speed of a car (it drives at the lower of this and the speed limit).", "Modelling choice above campus limits, so the limit binds."),
    Setting("traffic.speed.bus", 30.0, "km/h", "Desired speed of a bus.", "Modelling choice."),
    Setting("traffic.speed.delivery", 30.0, "km/h", "Desired speed of a delivery truck.", "Modelling choice."),
    Setting("traffic.speed.emergency", 50.0, "km/h", "Desired speed of an emergency vehicle on a run.", "Modelling choice; urban blue-light runs average 40-60 km/h."),
    Setting("traffic.service.car", 6.0, "s", "Mean time a car stands at the barrier (plate recognition and the arm), lognormal; the barrier is then taken for the move-up too (pulling away, the next car pulling up), as a SUMO stop's duration.", "Modelling choice: ANPR recognition under 1 s plus 3-5 s for a barrier arm to open; measure the stop at the gate."),
    Setting("traffic.service.bus", 15.0, "s", "Mean time a bus spends at the barrier (checked by the guard).", "Modelling choice; measure at the gate."),
    Setting("traffic.service.delivery", 25.0, "s", "Mean time a delivery truck spends at the barrier (registration checked).", "Modelling choice; measure at the gate."),
    Setting("traffic.service.emergency", 0.5, "s", "Mean time an emergency vehicle spends at the barrier (the guard opens it ahead).", "Modelling choice."),
    Setting("traffic.service_cv", 0.4, "1", "Coefficient of variation of barrier stop times (0: every stop the mean).", "Modelling choice."),
    Setting("traffic.dwell.car", 14400.0, "s", "Mean time a car stays parked (lognormal, cv traffic.dwell_cv) when a stream gives no dwell.", "Modelling choice: a half working day; calibrate with the gate log."),
    Setting("traffic.dwell.bus", 60.0, "s", "Mean time a bus stands at its stop.", "Modelling choice."),
    Setting("traffic.dwell.delivery", 1200.0, "s", "Mean time a delivery truck stays to unload.", "Modelling choice."),
    Setting("traffic.dwell.emergency", 1800.0, "s", "Mean time an emergency vehicle stays on site.", "Modelling choice."),
    Setting("traffic.dwell_cv", 0.5, "1", "Coefficient of variation of dwell times drawn from the traffic.dwell.* means (lognormal), when a stream gives no dwell.", "Modelling choice: parking durations spread widely around their mean; calibrate with the gate log."),
    Setting("traffic.walk_speed_floor", 0.1, "m/s", "Walking speeds drawn from a traffic scenario's speed distribution below this are raised to it, so every walk ends.", "Modelling guard far below observed speeds (Weidmann 1993: few adults walk below 0.5 m/s); it only acts on a distribution that reaches zero."),
    # Occupant load factors for rooms (net area)
    Setting("load_factor.classroom", 20 * FT2, "m2/person", "Design floor area per person in a classroom.", f"{IBC}: classroom area 20 ft² net."),
    Setting("load_factor.lecture", 15 * FT2, "m2/person", "Design floor area per person in a lecture hall.", f"{IBC}: assembly, unconcentrated (tables and chairs) 15 ft² net."),
    Setting("load_factor.office", 150 * FT2, "m2/person", "Design floor area per person in an office.", f"{IBC}: business areas 150 ft² gross."),
    Setting("load_factor.lab", 50 * FT2, "m2/person", "Design floor area per person in a teaching laboratory.", f"{IBC}: educational shops and vocational rooms 50 ft² net."),
    Setting("load_factor.library", 50 * FT2, "m2/person", "Design floor area per person in a library reading room.", f"{IBC}: library reading rooms 50 ft² net."),
    Setting("load_factor.dining", 15 * FT2, "m2/person", "Design floor area per person in a dining hall.", f"{IBC}: assembly, unconcentrated 15 ft² net."),
    Setting("load_factor.dorm_room", 200 * FT2 / 4, "m2/person", "Design floor area per person in a student dorm room.", "Four students to a ~19 m² room, the usual layout in the brief's campuses; IBC 2021 Table 1004.5 gives 200 ft² gross per person for residential buildings, which would undercount them fourfold."),
    Setting("load_factor.gym", 50 * FT2, "m2/person", "Design floor area per person in a gym.", f"{IBC}: exercise rooms 50 ft² gross."),
    Setting("load_factor.storage", 300 * FT2, "m2/person", "Design floor area per person in storage.", f"{IBC}: warehouses/storage 300 ft² gross."),
    Setting("load_factor.other", 100 * FT2, "m2/person", "Design floor area per person in a room of other use.", f"{IBC}: mercantile/other 60-150 ft²; 100 ft² as a middle value."),
    # Occupant load factors for whole buildings (gross area per storey)
    Setting("building_load_factor.teaching", 20 * FT2 / NET_TO_GROSS, "m2/person", "Gross floor area per person in a generated teaching building.", f"{_NTG} (classroom 20 ft² net)."),
    Setting("building_load_factor.library", 50 * FT2 / NET_TO_GROSS, "m2/person", "Gross floor area per person in a generated library.", f"{_NTG} (reading rooms 50 ft² net)."),
    Setting("building_load_factor.lab", 50 * FT2 / NET_TO_GROSS, "m2/person", "Gross floor area per person in a generated lab building.", f"{_NTG} (laboratories 50 ft² net)."),
    Setting("building_load_factor.canteen", 15 * FT2 / NET_TO_GROSS, "m2/person", "Gross floor area per person in a generated canteen.", f"{_NTG} (unconcentrated assembly 15 ft² net)."),
    Setting("building_load_factor.admin", 150 * FT2, "m2/person", "Gross floor area per person in a generated admin building.", f"{IBC}: business areas 150 ft² gross."),
    Setting("building_load_factor.dorm", 200 * FT2 / 4 / NET_TO_GROSS, "m2/person", "Gross floor area per person in a generated dorm.", "Four students to a ~19 m² room (see load_factor.dorm_room) ÷ 0.6 net-to-gross."),
    Setting("building_load_factor.sports", 50 * FT2, "m2/person", "Gross floor area per person in a generated sports hall.", f"{IBC}: exercise rooms 50 ft² gross."),
    Setting("building_load_factor.other", 150 * FT2, "m2/person", "Gross floor area per person in a generated building of other use.", f"{IBC}: business areas 150 ft² gross."),
    # Live map and operator access (twin serve)
    Setting("live.push_interval", 0.5, "s", "Longest time between two live-map updates sent to the operator's browser while events arrive; a new or changed alarm is sent at once.", "Modelling choice: twice a second reads as live without redrawing faster than an operator looks."),
    Setting("live.push_min_gap", 0.02, "s", "Shortest time between two live-map updates, even for alarms (bursts of alarms are sent together).", "Modelling choice, well under the brief's 250 ms alarm-to-map target."),
    Setting("live.idle_refresh", 5.0, "s", "With no new events, the live map still gets a fresh view this often (sensors fall silent, fires spread, the clock moves).", "Modelling choice: well under the shortest sensor interval (cameras, 120 s)."),
    Setting("live.strip_window", 3600.0, "s", "Span of the events strip under the map (events per minute and alarm marks).", "Issue #5: the last hour of events."),
    Setting("live.camera_reach", 10.0, "m", "A camera is shown as covering an alarm when what it sees (its viewshed) comes this close to the alarm's sensor, on the same floor: a smoke detector in a room is watched by the corridor camera outside its door.", "Modelling choice: a room's depth from its corridor."),
    Setting("live.note_max", 1000.0, "characters", "Longest operator note on an alarm.", "Modelling choice: a short log entry, not a report."),
    Setting("auth.session_idle", 12 * 3600.0, "s", "An operator session ends after this long without a request (log in again).", "Modelling choice: one control-room shift."),
    Setting("auth.login_failures", 5.0, "1", "Failed logins allowed for one user name from one client address within auth.login_window; the next lock that name for that address only (HTTP 429), so other users on a shared machine still log in.", "OWASP Authentication Cheat Sheet (login throttling; lock-outs must not become a denial of service); modelling choice of the count."),
    Setting("auth.login_window", 300.0, "s", "Window over which failed logins are counted (see auth.login_failures).", "Modelling choice."),
    Setting("auth.login_lock", 30.0, "s", "First lock-out of a user name for one address after auth.login_failures failures; it doubles with each further failure (exponential back-off) up to auth.login_lock_max. An admin unlocks with POST /api/users/{name}/unlock.", "OWASP Authentication Cheat Sheet (exponential back-off); modelling choice of the start."),
    Setting("auth.login_lock_max", 3600.0, "s", "Longest lock-out of a user name for one address (see auth.login_lock).", "Modelling choice: one hour, then an admin's unlock or the owner's patience."),
    Setting("auth.scrypt_log2_n", 14.0, "1", "Password hashing: log2 of scrypt's CPU/memory cost N (with r = 8, p = 5: 16 MiB and about 0.25 s per hash).", "OWASP Password Storage Cheat Sheet: scrypt N=2^14, r=8, p=5 (equivalent to N=2^17, r=8, p=1)."),
    Setting("auth.scrypt_p", 5.0, "1", "Password hashing: scrypt's parallelisation p (r = 8).", "OWASP Password Storage Cheat Sheet (see auth.scrypt_log2_n)."),
    Setting("auth.password_min", 10.0, "characters", "Shortest password twin user add/passwd accept.", "NIST SP 800-63B §3.1.1.2 asks at least 8; 10 as a modelling choice for shared control-room accounts."),
    # Drill vs plan and calibration (twin exercise, twin compare)
    Setting("exercise.sample", 5.0, "s", "Spacing of the occupancy samples twin exercise keeps (people per building between two times of the event store).", "Modelling choice: cameras report every minute, card doors as people pass; 5 s resolves a building emptying in a drill."),
    Setting("compare.bin", 10.0, "s", "Time step of the evacuation curves twin compare draws and fits (people out of each exit, counted at the end of each step from the alarm).", "Modelling choice: card doors and gate counters report tallies every 5-30 s."),
    Setting("calibrate.plateau_level", 0.8, "1", "An exit's flow in a time step counts as 'at its peak' when it is at least this share of its steadiest 3-step peak flow.", "Modelling choice (see docs/recording.md, Calibration): a queue discharges at a steady rate, a crowd that sets off over time rises and falls."),
    Setting("calibrate.plateau_share", 0.8, "1", "An exit is flow-limited when one unbroken stretch at its peak flow carries at least this share of its people (and lasts calibrate.plateau_steps): its steady rate identifies the door flow.", "Modelling choice (docs/recording.md, Calibration): a queue discharging at capacity puts 90-100 % of its people in that stretch; a crowd arriving without queueing about 50 % (a normal curve holds 49.6 % of its mass where it is above 0.8 of its peak), up to ~75 % when the time step is coarse."),
    Setting("calibrate.plateau_steps", 6.0, "steps", "Shortest steady stretch (in compare.bin time steps) that makes an exit flow-limited.", "Modelling choice: a queue of under a minute says little about the door flow, and a crowd without a queue stays at its peak for about one pre-movement sd."),
    Setting("calibrate.min_people", 100.0, "persons", "Fewest people whose exit times are not flow-limited (exits that never queued, and the people through queued exits before the queue formed) needed to fit the pre-movement mean and sd.", "Sampling error of a lognormal sd from n draws is about sd·sqrt((kurtosis-1)/(4n)): ~10 % at n = 100 for a CV of 0.33."),
    Setting("calibrate.max_misfit", 0.2, "1", "After the fit, a warning when the fitted simulation is still off by more than this share: of an exit's people at any time (pre-movement), or of an exit's steady flow (door flow).", "Modelling choice: a fit that leaves a fifth of the people unexplained says the model or the data window is wrong, not the parameters."),
    Setting("calibrate.camera_weight", 1.0, "1", "Weight of the camera counts of building levels in the calibration's pre-movement loss, per person and time step, against the door counts' weight of 1.", "Modelling choice (docs/recording.md, Calibration): a person counted on a level by a camera tells as much about when they set off as one counted through a door (both are counts of people per time step); 0 fits the door counts alone."),
    Setting("calibrate.replications", 4.0, "1", "Simulated replications averaged at every step of the calibration fit (common random numbers: the same seeds at every step).", "Modelling choice: halves the simulation's own noise against a single replication."),
    # Hazard ledger and inspection rounds (twin hazard)
    Setting("hazards.due_days", 30.0, "days", "A finding without a due date is due this long after it was found.", "Modelling choice: fixed before the next monthly inspection round (hazards.round_days)."),
    Setting("hazards.round_days", 30.0, "days", "Interval between inspection rounds of a building.", "The campuses in the brief inspect monthly; stricter than MPS Order No. 61 (2001) Art. 26, which asks institutions for a fire-safety inspection at least quarterly."),
)

SETTINGS: dict[str, Setting] = {s.name: s for s in _TABLE}
MAY_BE_ZERO = frozenset({"traffic.service_cv", "traffic.ped_red_violation", "traffic.driver_red_violation", "traffic.ped_intent_distance"})
"""Settings a scenario may set to 0 (shares, switches, a fixed service, drivers who notice people only on a crossing);
every other one must be > 0."""

ROOM_USES = tuple(n.split(".", 1)[1] for n in SETTINGS if n.startswith("load_factor."))
BUILDING_USES = tuple(n.split(".", 1)[1] for n in SETTINGS if n.startswith("building_load_factor."))


def default(name: str) -> float:
    """Return the default value of setting ``name`` in its documented unit."""
    return SETTINGS[name].default


def value(name: str, overrides: Mapping[str, float] | None = None) -> float:
    """A setting's value for one scenario: its override (a scenario's ``[settings]``), else the documented default.

    The one lookup every engine uses; ``name`` must be in the table (``KeyError`` otherwise).
    """
    if overrides and name in overrides:
        return float(overrides[name])
    return float(SETTINGS[name].default)


def render_markdown() -> str:
    """Render the settings table as the Markdown page ``docs/settings.md``."""
    lines = [
        "# Settings",
        "",
        "Every default number the model uses, its unit and its source. Rendered from",
        "`twin/settings.py` by `python -m twin.settings > docs/settings.md`; a test",
        "checks that this page matches the code.",
        "",
        "| name | default | unit | meaning | source |",
        "|---|---|---|---|---|",
    ]
    for s in _TABLE:
        lines.append(f"| `{s.name}` | {s.default:.4g} | {s.unit} | {s.help} | {s.source} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    print(render_markdown(), end="")

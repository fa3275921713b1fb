"""Scenario files: TOML, one schema for every kind of scenario.

Every scenario has the common keys (``kind``, ``name``, ``campus``, ``seed``,
``replications``, ``settings``); the rest depends on ``kind``. Unknown keys,
wrong types and feature ids the campus does not have are errors that name the
file and the key. See ``docs/scenarios.md``.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Annotated, Any, Literal

import numpy as np
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    TypeAdapter,
    ValidationError,
    field_validator,
    model_validator,
)

from twin.errors import Problem, ScenarioError
from twin.settings import MAY_BE_ZERO, SETTINGS, default
from twin.tomlfile import TomlFileError, read_toml


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Distribution(_Model):
    """A random quantity, drawn from the scenario's seed.

    ``uniform`` needs ``low`` and ``high``; ``normal`` and ``lognormal`` need
    ``mean`` and ``sd`` (of the quantity itself, not of its logarithm);
    ``weibull`` needs ``shape`` and ``scale``. ``min``/``max`` clip every draw.
    """

    dist: Literal["uniform", "normal", "lognormal", "weibull", "constant"]
    value: float | None = None
    low: float | None = None
    high: float | None = None
    mean: float | None = None
    sd: Annotated[float, Field(ge=0)] | None = None
    shape: Annotated[float, Field(gt=0)] | None = None
    scale: Annotated[float, Field(gt=0)] | None = None
    min: float | None = None
    max: float | None = None

    @model_validator(mode="after")
    def _parameters(self) -> Distribution:
        need = {"uniform": ("low", "high"), "normal": ("mean", "sd"), "lognormal": ("mean", "sd"),
                "weibull": ("shape", "scale"), "constant": ("value",)}[self.dist]
        missing = [k for k in need if getattr(self, k) is None]
        if missing:
            msg = f"a {self.dist} distribution needs {' and '.join(need)} (missing: {', '.join(missing)})"
            raise ValueError(msg)
        if self.dist == "uniform" and self.low > self.high:  # type: ignore[operator]
            msg = "low must not exceed high"
            raise ValueError(msg)
        if self.dist == "lognormal" and (self.mean is None or self.mean <= 0):
            msg = "a lognormal distribution needs mean > 0"
            raise ValueError(msg)
        return self

    def draw(self, rng: np.random.Generator, n: int) -> np.ndarray:
        """Draw ``n`` values (units of the quantity: s or m/s)."""
        match self.dist:
            case "constant":
                x = np.full(n, float(self.value))  # type: ignore[arg-type]
            case "uniform":
                x = rng.uniform(self.low, self.high, n)  # type: ignore[arg-type]
            case "normal":
                x = rng.normal(self.mean, self.sd, n)  # type: ignore[arg-type]
            case "lognormal":
                m, s = float(self.mean), float(self.sd)  # type: ignore[arg-type]
                sigma2 = math.log1p((s / m) ** 2)
                x = rng.lognormal(math.log(m) - sigma2 / 2, math.sqrt(sigma2), n)
            case "weibull":
                x = self.scale * rng.weibull(self.shape, n)  # type: ignore[operator]
        return np.clip(x, self.min if self.min is not None else -np.inf, self.max if self.max is not None else np.inf)


def _as_distribution(v: Any) -> Any:
    if isinstance(v, bool):
        return v
    if isinstance(v, int | float):
        return {"dist": "constant", "value": v}
    return v


Quantity = Annotated[Distribution, Field()]


class Smoke(_Model):
    """Conditions a user gives for one space (from a zone or CFD model): smoke reaches it at ``at`` s with
    ``co_ppm`` ppm CO at ``temperature`` °C at head height."""

    at: Annotated[float, Field(ge=0)]
    co_ppm: Annotated[float, Field(ge=0)] = 0.0
    temperature: float = Field(default_factory=lambda: default("ambient_temperature"))


class Fire(_Model):
    """A fire in ``origin`` (room, corridor or detector id) at ``start`` s: smoke spreads one ring of spaces every
    ``spread_delay`` s (``scenarios.evacuation.network``); ``conditions`` replace the model's for the spaces named."""

    origin: str
    start: Annotated[float, Field(ge=0)] = 0.0
    spread_delay: Annotated[float, Field(ge=0)] = Field(default_factory=lambda: default("fire_spread_delay"))
    conditions: dict[str, Smoke] = {}


Fraction = Annotated[float, Field(ge=0, le=5)]


class Occupancy(_Model):
    """Share of design occupants present: ``default`` and per-building overrides.

    1 is the design occupancy; up to 5 is accepted for overcrowded events
    (open days, exams in the sports hall) and for load tests.
    """

    default: Fraction = 1.0
    buildings: dict[str, Fraction] = {}


class Common(_Model):
    """Keys every scenario kind has."""

    kind: str
    name: str = ""
    description: str = ""
    campus: Path
    seed: Annotated[int, Field(ge=0)] = 0
    replications: Annotated[int, Field(ge=1, le=10_000)] = 1
    settings: dict[str, float] = {}

    @field_validator("settings")
    @classmethod
    def _known_settings(cls, v: dict[str, float]) -> dict[str, float]:
        unknown = [k for k in v if k not in SETTINGS]
        if unknown:
            msg = f"unknown setting(s) {unknown}; see docs/settings.md for the names"
            raise ValueError(msg)
        bad = [k for k, x in v.items() if not (x >= 0 if k in MAY_BE_ZERO else x > 0)]
        if bad:
            msg = f"setting(s) {bad} must be > 0 ({', '.join(sorted(MAY_BE_ZERO))} may be 0)"
            raise ValueError(msg)
        return v


class Walkers(Common):
    """What every scenario with people walking has: their free walking speed."""

    speed: Quantity = Field(default_factory=lambda: Distribution(
        dist="normal", mean=default("walk_speed_mean"), sd=default("walk_speed_sd"),
        min=default("walk_speed_min"), max=default("walk_speed_max")))
    """Free walking speed (m/s): Weidmann (1993) by default, see docs/settings.md."""

    @field_validator("speed", mode="before")
    @classmethod
    def _speed_number_is_constant(cls, v: Any) -> Any:
        return _as_distribution(v)

    @field_validator("speed")
    @classmethod
    def _positive_speed(cls, v: Distribution) -> Distribution:
        if v.dist == "constant" and not v.value > 0:  # type: ignore[operator]
            msg = "speed must be > 0 m/s"
            raise ValueError(msg)
        return v


ALTERNATIVE_FIXED = ("kind", "campus", "alternatives")
"""Keys an alternative cannot change: the options of one scenario run on its campus, as its kind."""


class Alternative(_Model):
    """One option of an evacuation scenario (``[[alternatives]]``): a ``name`` and the keys it changes.

    Its scenario is the file's with these keys in: a table merges key by key
    into the file's (``occupancy = {default = 0.5}`` keeps the file's
    per-building shares), any other value replaces the file's. ``twin sweep
    FILE -o DIR`` compares the file's scenario (``base``) with every
    alternative; :func:`alternatives` builds them.
    """

    model_config = ConfigDict(extra="allow")
    name: Annotated[str, Field(min_length=1)]

    @property
    def changes(self) -> dict[str, Any]:
        """The keys it changes, as written."""
        return dict(self.model_extra or {})

    @model_validator(mode="after")
    def _changes_something(self) -> Alternative:
        fixed = [k for k in ALTERNATIVE_FIXED if k in self.changes]
        if fixed:
            msg = f"an alternative runs on the scenario's campus, as its kind: it cannot change {', '.join(fixed)}"
            raise ValueError(msg)
        if not self.changes:
            msg = f"alternative {self.name!r} changes nothing: give the keys it changes (e.g. blocked = [\"S1\"])"
            raise ValueError(msg)
        return self


class Evacuation(Walkers):
    """An evacuation drill (``kind = "evacuation"``)."""

    kind: Literal["evacuation"]
    occupancy: Occupancy = Occupancy()
    premovement: Quantity = Field(default_factory=lambda: Distribution(
        dist="lognormal", mean=default("premovement_mean"), sd=default("premovement_sd")))
    route: Literal["shortest", "nearest_exit", "adaptive"] = "shortest"
    capacity: Literal["design", "measured"] = "design"
    """Door, stair and path capacities: SFPE design flows (what codes accept) or measured bottleneck flows
    (``scenarios.evacuation.physics``; docs/scenarios.md says why design is the default)."""
    blocked: list[str] = []
    fire: Fire | None = None
    assembly: dict[str, str] = {}
    max_time: Annotated[float, Field(gt=0)] = 7200.0
    roads: bool = True
    """People may walk on roads (traffic is stopped during an evacuation)."""
    hazards: str | None = None
    """Run "as inspected": the event store whose hazard findings in force block or narrow exits
    (a path relative to this file, or ``"open"`` for the live server's store; ``scenarios.hazards``)."""
    alternatives: list[Alternative] = []
    """Options to compare with this scenario (``twin sweep FILE -o DIR``); ``twin run`` runs the scenario itself."""

    @field_validator("alternatives")
    @classmethod
    def _unique_names(cls, v: list[Alternative]) -> list[Alternative]:
        names = [a.name for a in v]
        twice = sorted({n for n in names if names.count(n) > 1 or n == BASE})
        if twice:
            msg = f"alternative names must be unique and not {BASE!r}: {', '.join(map(repr, twice))}"
            raise ValueError(msg)
        return v

    @field_validator("occupancy", mode="before")
    @classmethod
    def _occupancy_number(cls, v: Any) -> Any:
        return {"default": v} if isinstance(v, int | float) and not isinstance(v, bool) else v

    @field_validator("premovement", mode="before")
    @classmethod
    def _number_is_constant(cls, v: Any) -> Any:
        return _as_distribution(v)

    @field_validator("premovement")
    @classmethod
    def _non_negative(cls, v: Distribution) -> Distribution:
        if v.dist == "constant" and v.value < 0:  # type: ignore[operator]
            msg = "pre-movement time must be >= 0 s"
            raise ValueError(msg)
        return v

    @field_validator("assembly", mode="before")
    @classmethod
    def _nearest(cls, v: Any) -> Any:
        return {} if v == "nearest" else v


BASE = "base"
"""The name of the scenario itself among its alternatives."""


def _merge(doc: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
    """``doc`` with ``changes`` in: a table merges key by key into a table, any other value replaces."""
    out = dict(doc)
    for k, v in changes.items():
        out[k] = _merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out


def alternatives(scenario: Evacuation, source: str) -> list[tuple[str, Evacuation]]:
    """The scenario itself (named :data:`BASE`) and each of its alternatives, validated, in the file's order."""
    doc = scenario.model_dump(mode="json", exclude={"alternatives"})
    out: list[tuple[str, Evacuation]] = [(BASE, scenario)]
    for k, alt in enumerate(scenario.alternatives):
        sc = _validate(_merge(doc, alt.changes), source, prefix=f"alternatives[{k}].")
        out.append((alt.name, sc))  # type: ignore[arg-type]
    return out


Hour = Annotated[float, Field(ge=0, le=24)]


class GivenIncident(_Model):
    """One incident of a given list: when (s from the start) and where (a key area, or any feature or graph node)."""

    at: Annotated[float, Field(ge=0)]
    where: str
    handling: Annotated[float, Field(ge=0)] | None = None
    """Handling time (s); drawn from ``handling`` when not given."""


class Incidents(_Model):
    """Where and when incidents happen: Poisson arrivals, or a given list."""

    per_day: Annotated[float, Field(ge=0)] = Field(default_factory=lambda: default("incidents_per_day"))
    """Incidents per day over all key areas (shared by their risk weights and the hourly profile)."""
    risk: dict[str, Annotated[float, Field(ge=0)]] = {}
    """Weight by key-area category or key-area id (defaults: the ``risk.*`` settings)."""
    hourly: Annotated[list[Annotated[float, Field(ge=0)]], Field(min_length=24, max_length=24)] | None = None
    """24 relative rates, hour 0 to 23 (default: the profile in docs/coverage.md)."""
    given: list[GivenIncident] | None = None
    """Incidents at given times and places; when set (even to ``[]``), no Poisson arrivals are drawn."""


class Patrol(_Model):
    """Guards walking a loop: through the given feature ids in order, or a generated loop."""

    guards: Annotated[int, Field(ge=1)] = 1
    route: list[str] = []
    """Feature ids (key areas, posts, buildings, gates) or graph nodes visited in turn; empty: a generated loop."""
    over: Literal["key_areas", "covering"] = "key_areas"
    """What a generated loop visits: every key area, or the sites of the maximal-covering solution."""
    randomise: bool = False
    """Visit the route's stops in a new random order every round, so the patrol is not predictable."""


class Shift(_Model):
    """Who is on duty from ``start`` to ``end`` (hours of the day; may wrap past midnight)."""

    name: str = ""
    start: Hour
    end: Hour
    posts: dict[str, Annotated[int, Field(ge=0)]] = {}
    """Guards on duty at each post in this shift (posts not named keep their ``staff``)."""
    patrols: Annotated[int, Field(ge=0)] | None = None
    """How many patrol guards are on duty (default: all)."""


class Coverage(Common):
    """Guard posts, patrols and cameras against incidents (``kind = "coverage"``)."""

    kind: Literal["coverage"]
    posts: list[str] | None = None
    """Guard posts used (default: every post of the campus)."""
    optimise_posts: Annotated[int, Field(ge=1)] | None = None
    """Place this many posts by maximal covering instead (the guards of ``posts`` are shared among them)."""
    pin_posts: list[str] = []
    """Posts every placement keeps (the gates, say): the optimised and the recommended posts include them."""
    patrols: list[Patrol] = []
    incidents: Incidents = Incidents()
    hours: Annotated[float, Field(gt=0, le=24 * 366)] = 24.0
    """Simulated time (h)."""
    start_hour: Hour = 0.0
    """Hour of the day the simulation starts."""
    shifts: list[Shift] = []
    """Duty plan; without shifts every guard is on duty all the time."""
    standard: Annotated[float, Field(gt=0)] = Field(default_factory=lambda: default("response_standard"))
    """Response standard (s)."""
    handling: Quantity = Field(default_factory=lambda: Distribution(
        dist="lognormal", mean=default("handling_mean"), sd=default("handling_sd")))
    recommend_posts: Annotated[int, Field(ge=1)] | None = None
    """k of the maximal-covering recommendation (default: the number of posts used)."""
    new_cameras: Annotated[int, Field(ge=0)] = 3
    """Cameras to recommend adding over the key areas' blind spots."""

    @field_validator("handling", mode="before")
    @classmethod
    def _number_is_constant(cls, v: Any) -> Any:
        return _as_distribution(v)


def _hours(v: Any) -> Any:
    """A time of day: hours (``7.5``) or ``"HH:MM"`` text (``"07:30"``) → hours."""
    if isinstance(v, str):
        hh, sep, mm = v.strip().partition(":")
        if not sep or not hh.isdigit() or not mm.isdigit() or int(mm) > 59:
            msg = f"a time of day is hours (7.5) or 'HH:MM' text ('07:30'), not {v!r}"
            raise ValueError(msg)
        return int(hh) + int(mm) / 60
    return v


Clock = Annotated[float, BeforeValidator(_hours), Field(ge=0, le=48)]
"""A time of day in hours; ``"HH:MM"`` text is accepted (past 24 for a run that goes on past midnight)."""
Share = Annotated[float, Field(ge=0, le=1)]
Rates = Annotated[list[Annotated[float, Field(ge=0)]], Field(min_length=24, max_length=24)]
Targets = dict[str, Annotated[float, Field(ge=0)]]


def _weights(v: Any) -> Any:
    """A list of ids means equal weights."""
    return {str(x): 1.0 for x in v} if isinstance(v, list) else v


class _Stream(_Model):
    """Arrivals at a gate: a flat ``per_hour`` rate, or 24 ``hourly`` rates (hour 0 to 23)."""

    gate: str
    per_hour: Annotated[float, Field(ge=0)] | None = None
    hourly: Rates | None = None
    to: Targets = {}
    """Destinations (buildings or gates) with weights; a list means equal weights; empty: every building,
    weighted by its design occupants."""

    @field_validator("to", mode="before")
    @classmethod
    def _list(cls, v: Any) -> Any:
        return _weights(v)

    @model_validator(mode="after")
    def _one_rate(self) -> _Stream:
        if (self.per_hour is None) == (self.hourly is None):
            msg = "give either per_hour or hourly (24 rates per hour, hour 0 to 23)"
            raise ValueError(msg)
        return self

    def rate(self, hour: int) -> float:
        """Arrivals per hour in hour ``hour`` of the day (0-23)."""
        return float(self.per_hour) if self.hourly is None else float(self.hourly[hour % 24])


class VehicleStream(_Stream):
    """Vehicles of one class arriving at a vehicle gate."""

    vehicle: Literal["car", "bus", "delivery", "emergency"] = "car"
    dwell: Quantity | None = None
    """Time (s) parked at the destination before driving out through the nearest vehicle gate
    (default: the class's ``traffic.dwell.*`` setting, lognormal)."""

    @field_validator("dwell", mode="before")
    @classmethod
    def _number_is_constant(cls, v: Any) -> Any:
        return _as_distribution(v)


class PedestrianStream(_Stream):
    """People arriving on foot at a pedestrian gate."""


class ClassChange(_Model):
    """A timetable entry: ``people`` walk from the ``from`` buildings to the ``to`` buildings, setting off
    evenly over ``window`` s from ``at``."""

    at: Clock
    window: Annotated[float, Field(ge=0)] = 600.0
    people: Annotated[int, Field(ge=0)]
    from_: Annotated[Targets, Field(alias="from")]
    to: Targets

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    @field_validator("from_", "to", mode="before")
    @classmethod
    def _list(cls, v: Any) -> Any:
        return _weights(v)


class Closure(_Model):
    """A road, shared lane or crossing closed to vehicles from ``start`` to ``end`` (default: the whole run)."""

    feature: str
    start: Clock | None = None
    end: Clock | None = None


class LayoutOverride(_Model):
    """One layout to compare: a campus file of its own, and/or changes to the scenario's campus.

    Changes need a GeoJSON campus: ``remove`` drops features, ``retag`` gives
    features a new kind (e.g. a shared lane becomes a ``road``), ``set``
    changes their properties (``speed_limit``, ``width``, ...), and ``add``
    appends the features of a small GeoJSON file (same CRS as the campus).
    """

    campus: Path | None = None
    remove: list[str] = []
    retag: dict[str, Literal["road", "shared", "footway", "crossing"]] = {}
    set: dict[str, dict[str, Any]] = {}
    add: Path | None = None
    description: str = ""


class Traffic(Walkers):
    """Pedestrians and vehicles at the gates, on one or more layouts (``kind = "traffic"``)."""

    kind: Literal["traffic"]
    start: Clock = 6.0
    """Time of day the run starts (hours or 'HH:MM')."""
    end: Clock = 23.0
    """Time of day the run ends."""
    vehicles: list[VehicleStream] = []
    pedestrians: list[PedestrianStream] = []
    timetable: list[ClassChange] = []
    closures: list[Closure] = []
    layouts: dict[str, LayoutOverride] = {}
    """Alternative layouts run with the same seeds; empty: the campus as it is."""
    compliance: Share = Field(default_factory=lambda: default("traffic.compliance"))
    """Probability that a driver yields to a pedestrian on a crossing."""
    jaywalk: Share = Field(default_factory=lambda: default("traffic.jaywalk"))
    """Share of pedestrians who do not keep to crossings and footways (they also walk on roads)."""

    @model_validator(mode="after")
    def _span(self) -> Traffic:
        if not self.end > self.start:
            msg = f"end ({self.end:g} h) must be after start ({self.start:g} h)"
            raise ValueError(msg)
        return self


AnyScenario = Evacuation | Coverage | Traffic
Scenario = Annotated[AnyScenario, Field(discriminator="kind")]
KINDS = ("evacuation", "coverage", "traffic")
_adapter: TypeAdapter[AnyScenario] = TypeAdapter(Scenario)


def _key(loc: tuple[Any, ...]) -> str:
    parts: list[str] = []
    for x in loc:
        if isinstance(x, int):
            parts.append(f"[{x}]")
        elif x in (*KINDS, "function-after[_parameters(), Distribution]") or str(x).startswith(("function-", "constrained-")):
            continue
        else:
            parts.append(("." if parts else "") + str(x))
    return "".join(parts)


def parse_scenario(doc: dict[str, Any], source: str) -> AnyScenario:
    """Validate a scenario document (a TOML table) and return the scenario.

    Raises
    ------
    ScenarioError
        Naming the file and the key of every problem.
    """
    kind = doc.get("kind")
    if kind is None:
        raise ScenarioError([Problem(source, "missing required key 'kind'", field="kind")])
    if kind not in KINDS:
        raise ScenarioError([Problem(source, f"unknown scenario kind {kind!r} (expected one of: {', '.join(KINDS)})", field="kind")])
    scenario = _validate(doc, source)
    if isinstance(scenario, Evacuation):  # each alternative must be a valid scenario too: its errors name its keys
        base = {k: v for k, v in doc.items() if k != "alternatives"}
        problems: list[Problem] = []
        for k, alt in enumerate(scenario.alternatives):
            try:
                _validate(_merge(base, alt.changes), source, prefix=f"alternatives[{k}].")
            except ScenarioError as e:
                problems += e.problems
        if problems:
            raise ScenarioError(problems)
    return scenario


def _validate(doc: dict[str, Any], source: str, *, prefix: str = "") -> AnyScenario:
    """Validate one scenario document; errors name ``prefix`` + the key."""
    try:
        return _adapter.validate_python(doc)
    except ValidationError as e:
        problems = []
        for err in e.errors():
            key = prefix + _key(err["loc"])
            if err["type"] == "extra_forbidden":
                msg = "unknown key"
            elif err["type"] == "missing":
                msg = "missing required key"
            else:
                msg = err["msg"].removeprefix("Value error, ")
                if "input" in err and not isinstance(err["input"], dict):
                    msg += f" (got {err['input']!r})"
            problems.append(Problem(source, msg, field=key.rstrip(".") or None))
        raise ScenarioError(problems) from None


def load_scenario(path: str | Path) -> AnyScenario:
    """Read and validate a scenario file; ``campus`` is resolved relative to it."""
    p = Path(path)
    try:
        doc = read_toml(p, "scenario")
    except TomlFileError as e:
        raise ScenarioError([Problem(str(p), e.reason)]) from None
    scenario = parse_scenario(doc, str(p))
    if not scenario.campus.is_absolute():
        scenario.campus = (p.parent / scenario.campus).resolve()
    return scenario

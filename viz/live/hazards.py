"""The live console's hazard panel: the ledger's API, and the findings in force applied to the live state.

Routes (behind the login, ``viz.live.security``; roles as for alarms, with
the ``verifier`` between operator and admin):

- ``GET /api/hazards``: every finding in force, and those closed in the last
  ``CLOSED_SHOWN_DAYS`` days, with their place in WGS 84, age and overdue
  flag, the rooms whose detectors are all in fault (``no_working_detector``),
  and the caller's user and role (viewer);
- ``POST /api/hazards``: add a finding (operator); body :class:`NewFinding`;
- ``POST /api/hazards/{id}/fix`` (operator), ``/verify``, ``/reject``,
  ``/reopen`` (verifier): move it; body :class:`Move`;
- ``POST /api/hazards/{id}/photo`` (operator; the body is the JPEG or PNG
  file, of the place, never of people) and ``GET /api/hazards/photos/{name}``
  (viewer; the names are in each finding's ``photos``);
- inspection rounds (``twin.hazard_rounds``): ``GET /api/hazards/rounds``
  (the schedule, viewer), ``POST /api/hazards/rounds`` (start one, operator;
  body :class:`NewRound`), ``GET /api/hazards/rounds/{id}`` (its checklist),
  ``POST /api/hazards/rounds/{id}/mark`` (an item ok or a finding raised on
  it, operator; body :class:`Mark`).

Every change is committed to the ledger (``twin.hazards``, in the event
store's file) before the answer; then the findings in force are set on the
live state (a blocked exit shows closed on the map and the forecasts route
around it; a narrowed one is as wide in the forecasts as the width left) and
the view is pushed. A bad finding answers 422 with the
problems, each naming its field; a role too weak 403; an unknown finding 404.
The panel itself is ``static/hazards.js`` and ``static/hazards.css``.
"""

from __future__ import annotations

import time
from typing import Any

from fastapi import Depends, FastAPI, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field
from pyproj import Transformer
from starlette.concurrency import run_in_threadpool

from scenarios.hazards import rooms_without_detector
from twin.hazard_rounds import Rounds
from twin.hazards import KINDS, NOTE_MAX, PHOTO_MAX, HazardError, HazardLedger
from viz.live.security import Session, needs

CLOSED_SHOWN_DAYS = 7
"""Verified or rejected findings stay in the panel's list this many days (greyed)."""
MOVES = {"fix": "fixed", "verify": "verified", "reject": "rejected", "reopen": "open"}
"""Route word → status it moves a finding to."""


class NewFinding(BaseModel):
    """Body of ``POST /api/hazards`` (who found it is the logged-in user)."""

    feature: str = Field(min_length=1, max_length=200, description="The campus feature it is on (door, stair, corridor, …).")
    kind: str = Field(description=f"One of: {', '.join(KINDS)}.")
    note: str = Field(max_length=NOTE_MAX, description="What was found.")
    width: float | None = Field(None, description="narrowed: the remaining clear width (m).")
    due: str | None = Field(None, max_length=10, description="Due date YYYY-MM-DD (default: hazards.due_days from today).")


class Move(BaseModel):
    """Body of ``POST /api/hazards/{id}/fix|verify|reject|reopen``."""

    note: str | None = Field(None, max_length=NOTE_MAX, description="What was done.")


class NewRound(BaseModel):
    """Body of ``POST /api/hazards/rounds``."""

    building: str = Field(min_length=1, max_length=200, description="The building to inspect.")


class Mark(BaseModel):
    """Body of ``POST /api/hazards/rounds/{id}/mark``: an item ok, or a finding raised on it (with ``kind``)."""

    feature: str = Field(min_length=1, max_length=200, description="The checklist item.")
    kind: str | None = Field(None, description="Raise a finding of this kind on it (absent: the item is ok).")
    note: str = Field("", max_length=NOTE_MAX, description="What was found.")
    width: float | None = Field(None, description="narrowed: the remaining clear width (m).")
    due: str | None = Field(None, max_length=10, description="The finding's due date YYYY-MM-DD.")


class HazardDesk:
    """One server's ledger, its places in WGS 84, and the hook that applies the findings in force to the live state."""

    def __init__(self, app: FastAPI) -> None:
        ing = app.state.ingestor
        self.ingestor = ing
        self.hub = app.state.hub
        self.ledger = HazardLedger(ing.store.path, ing.campus)
        self.rounds = Rounds(self.ledger)
        crs = ing.campus.features.crs
        self._to_wgs = Transformer.from_crs(crs, 4326, always_xy=True) if crs is not None and not crs.is_geographic else None
        self.refresh()

    def refresh(self) -> None:
        """Set the findings in force on the live state and push the view."""
        found = self.ledger.findings(in_force=True)
        with self.ingestor.lock:
            self.ingestor.state.set_hazards(found)
        self.hub.poke()

    def at(self, f: dict[str, Any]) -> list[float] | None:
        """A finding's place as ``[lat, lon]``."""
        if f["x"] is None:
            return None
        lon, lat = self._to_wgs.transform(f["x"], f["y"]) if self._to_wgs else (f["x"], f["y"])
        return [round(lat, 7), round(lon, 7)]

    def listing(self) -> list[dict[str, Any]]:
        """The findings the panel shows: in force, and closed in the last ``CLOSED_SHOWN_DAYS`` days."""
        since = time.time() - CLOSED_SHOWN_DAYS * 86_400
        keep = [f for f in self.ledger.findings() if f["in_force"] or (f["closed_at"] or 0) >= since]
        return [{k: v for k, v in f.items() if k not in ("x", "y", "campus")} | {"at": self.at(f)} for f in keep]


def _desk(request: Request) -> HazardDesk:
    return request.app.state.hazards


def _refused(e: HazardError, *, missing: str = "id") -> JSONResponse:
    """The answer to a refused change: 403 role, 404 unknown ``missing`` (finding or round), 409 status, else 422."""
    problems = [{"field": p.field, "message": p.message} for p in e.problems]
    fields = {p.field for p in e.problems}
    status = 403 if fields == {"role"} else 404 if fields == {missing} else 409 if fields == {"status"} else 422
    return JSONResponse({"error": "; ".join(f"{p['field']}: {p['message']}" for p in problems), "problems": problems},
                        status_code=status)


def get_hazards(request: Request, s: Session = Depends(needs("viewer"))) -> JSONResponse:  # noqa: B008 - FastAPI dependency
    """The findings for the panel and the map, and who is asking."""
    desk = _desk(request)
    found = desk.listing()
    faulty = [f["feature"] for f in found if f["in_force"] and f["kind"] == "detector_fault" and f["feature"]]
    return JSONResponse({"user": s.user, "role": s.role, "kinds": list(KINDS), "findings": found,
                         "no_working_detector": sorted(rooms_without_detector(desk.ingestor.campus, faulty))})


async def post_hazard(request: Request, body: NewFinding, s: Session = Depends(needs("operator"))) -> JSONResponse:  # noqa: B008
    """Add a finding; it is stored before the answer."""
    desk = _desk(request)
    try:
        f = await run_in_threadpool(desk.ledger.add, feature=body.feature, kind=body.kind, note=body.note, width=body.width,
                                    due=body.due, by=s.user, role=s.role)
    except HazardError as e:
        return _refused(e)
    await run_in_threadpool(desk.refresh)
    return JSONResponse({"finding": f}, status_code=201)


def _move_route(word: str, status: str, role: str) -> Any:
    async def move(request: Request, finding: int, body: Move | None = None,
                   s: Session = Depends(needs(role))) -> JSONResponse:  # noqa: B008 - FastAPI dependency
        desk = _desk(request)
        try:
            f = await run_in_threadpool(desk.ledger.move, finding, status, by=s.user, role=s.role,
                                        note=body.note if body else None)
        except HazardError as e:
            return _refused(e)
        await run_in_threadpool(desk.refresh)
        return JSONResponse({"finding": f})

    move.__name__ = f"post_hazard_{word}"
    move.__doc__ = f"Move a finding to {status} ({role})."
    return move


async def post_photo(request: Request, finding: int, s: Session = Depends(needs("operator"))) -> JSONResponse:  # noqa: B008
    """Add a photo of a finding's place (the body: the JPEG or PNG file; never of people)."""
    if int(request.headers.get("content-length") or 0) > PHOTO_MAX:
        return JSONResponse({"error": f"photo: larger than {PHOTO_MAX // (1024 * 1024)} MB"}, status_code=413)
    data = await request.body()
    try:
        f = await run_in_threadpool(_desk(request).ledger.add_photo, finding, data, by=s.user, role=s.role)
    except HazardError as e:
        return _refused(e)
    return JSONResponse({"finding": f}, status_code=201)


def get_photo(request: Request, name: str, s: Session = Depends(needs("viewer"))) -> Response:  # noqa: B008
    """A stored photo by its file name (``<sha256>.jpg|png``), as the list gives it."""
    got = _desk(request).ledger.photo(name)
    if got is None:
        return JSONResponse({"error": f"no photo {name!r}"}, status_code=404)
    return Response(got[0], media_type=got[1], headers={"Cache-Control": "private, max-age=86400"})


def get_rounds(request: Request, s: Session = Depends(needs("viewer"))) -> JSONResponse:  # noqa: B008
    """Every building's inspection schedule (last round, next due, overdue)."""
    return JSONResponse({"rounds": _desk(request).rounds.schedule()})


def get_round(request: Request, round_id: int, s: Session = Depends(needs("viewer"))) -> JSONResponse:  # noqa: B008
    """One round's checklist and marks."""
    try:
        return JSONResponse({"round": _desk(request).rounds.get(round_id)})
    except HazardError as e:
        return _refused(e, missing="round")


async def post_round(request: Request, body: NewRound, s: Session = Depends(needs("operator"))) -> JSONResponse:  # noqa: B008
    """Start an inspection round of a building (operator)."""
    try:
        r = await run_in_threadpool(_desk(request).rounds.start, body.building, by=s.user, role=s.role)
    except HazardError as e:
        return _refused(e)
    return JSONResponse({"round": r}, status_code=201)


async def post_mark(request: Request, round_id: int, body: Mark,
                    s: Session = Depends(needs("operator"))) -> JSONResponse:  # noqa: B008
    """Mark a round's item ok, or raise a finding on it (operator); a finding is applied to the live state."""
    desk = _desk(request)
    try:
        r = await run_in_threadpool(desk.rounds.mark, round_id, body.feature, by=s.user, role=s.role, kind=body.kind,
                                    note=body.note, width=body.width, due=body.due)
    except HazardError as e:
        return _refused(e, missing="round")
    if body.kind is not None:
        await run_in_threadpool(desk.refresh)
    return JSONResponse({"round": r})


def add_routes(app: FastAPI) -> None:
    """The hazard routes, and the ledger opened on the server's store (the findings in force applied at once)."""
    app.state.hazards = HazardDesk(app)
    app.add_api_route("/api/hazards", get_hazards, methods=["GET"], summary="Hazard findings for the panel")
    app.add_api_route("/api/hazards", post_hazard, methods=["POST"], summary="Add a hazard finding (operator)")
    app.add_api_route("/api/hazards/{finding}/photo", post_photo, methods=["POST"],
                      summary="Add a photo of a finding's place (operator)")
    app.add_api_route("/api/hazards/photos/{name}", get_photo, methods=["GET"], summary="A finding's photo")
    app.add_api_route("/api/hazards/rounds", get_rounds, methods=["GET"], summary="Inspection schedule per building")
    app.add_api_route("/api/hazards/rounds", post_round, methods=["POST"], summary="Start an inspection round (operator)")
    app.add_api_route("/api/hazards/rounds/{round_id}", get_round, methods=["GET"], summary="An inspection round")
    app.add_api_route("/api/hazards/rounds/{round_id}/mark", post_mark, methods=["POST"],
                      summary="Mark a round's item ok or raise a finding on it (operator)")
    for word, status in MOVES.items():
        role = "operator" if status == "fixed" else "verifier"
        app.add_api_route(f"/api/hazards/{{finding}}/{word}", _move_route(word, status, role), methods=["POST"],
                          summary=f"Move a finding to {status} ({role})")

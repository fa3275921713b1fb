"""Camera snapshots through the console's server: ``GET /api/cameras/{id}/snapshot``.

A camera in the campus file may carry ``snapshot_url`` (a JPEG of the camera
now, HTTP or HTTPS) and ``stream_url`` (its live stream, HTTP(S) or RTSP;
docs/campus-format.md). The alarm card and the camera's popup show the
snapshot through this route, so the operator's browser needs no access to
the camera network, and link the stream. The server fetches the snapshot at
each request with a timeout (:data:`TIMEOUT_S`), checks it is an image no
larger than :data:`MAX_BYTES`, and passes it on with ``Cache-Control:
no-store``: nothing is written to disk, on the server or in the browser's
cache. Refusals: 404 (no such camera, or it has no ``snapshot_url``), 502
(the camera answered with an error or something that is not an image), 504
(no answer within the timeout).
"""

from __future__ import annotations

import urllib.error
import urllib.request
from typing import Any

from fastapi import Depends, FastAPI, Request
from fastapi.responses import JSONResponse, Response
from starlette.concurrency import run_in_threadpool

from sensors.events import echo
from twin.campus import Campus
from viz.live.security import Session, needs

TIMEOUT_S = 3.0
"""Longest wait for a camera's snapshot (connect and each read), s: a snapshot older than that is no longer 'now'."""
ERROR = {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
"""How a refusal is described in the OpenAPI document (``viz.live.openapi``)."""
MAX_BYTES = 8 * 1024 * 1024
"""Largest snapshot passed on (a 4K JPEG is about 1-2 MiB)."""


def camera_links(campus: Campus) -> dict[str, dict[str, str]]:
    """Each camera's ``snapshot`` (this server's route) and ``stream`` (its own URL), where the campus file gives them."""
    f = campus.features
    out: dict[str, dict[str, str]] = {}
    for cid in f.index[f["kind"] == "camera"]:
        links = {}
        if isinstance(f.at[cid, "snapshot_url"] if "snapshot_url" in f else None, str):
            links["snapshot"] = f"/api/cameras/{cid}/snapshot"
        if isinstance(f.at[cid, "stream_url"] if "stream_url" in f else None, str):
            links["stream"] = str(f.at[cid, "stream_url"])
        if links:
            out[str(cid)] = links
    return out


class SnapshotError(Exception):
    """A snapshot that could not be fetched: ``status`` (502, 504) and the reason."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status


def fetch_snapshot(url: str, *, timeout: float = TIMEOUT_S, max_bytes: int = MAX_BYTES) -> tuple[bytes, str]:
    """The image at ``url`` and its content type (blocking; run it on a worker thread).

    Raises
    ------
    SnapshotError
        502 when the camera answers with an error, something not an image or
        too large; 504 when it does not answer within ``timeout`` seconds.
    """
    req = urllib.request.Request(url, headers={"Accept": "image/jpeg, image/*"})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            kind = r.headers.get_content_type()
            if not kind.startswith("image/"):
                raise SnapshotError(502, f"the camera answered {kind}, not an image")
            body = r.read(max_bytes + 1)
    except urllib.error.HTTPError as e:
        raise SnapshotError(502, f"the camera answered {e.code} {e.reason}") from None
    except TimeoutError:
        raise SnapshotError(504, f"the camera did not answer within {timeout:g} s") from None
    except (urllib.error.URLError, OSError, ValueError) as e:
        reason = getattr(e, "reason", e)
        if isinstance(reason, TimeoutError):
            raise SnapshotError(504, f"the camera did not answer within {timeout:g} s") from None
        raise SnapshotError(502, f"the camera cannot be reached ({reason})") from None
    if len(body) > max_bytes:
        raise SnapshotError(502, f"the snapshot is over {max_bytes:,} bytes")
    return body, kind


async def get_snapshot(request: Request, camera_id: str,
                       s: Session = Depends(needs("viewer"))) -> Response:  # noqa: B008 - FastAPI dependency
    f = request.app.state.ingestor.campus.features
    if camera_id not in f.index or f.at[camera_id, "kind"] != "camera":
        return JSONResponse({"error": f"no camera {echo(camera_id)!r} in this campus"}, status_code=404)
    url: Any = f.at[camera_id, "snapshot_url"] if "snapshot_url" in f else None
    if not isinstance(url, str):
        return JSONResponse({"error": f"camera {camera_id!r} has no snapshot_url in the campus file"}, status_code=404)
    try:
        body, kind = await run_in_threadpool(fetch_snapshot, url, timeout=TIMEOUT_S)
    except SnapshotError as e:
        return JSONResponse({"error": f"camera {camera_id!r}: {e}"}, status_code=e.status)
    return Response(body, media_type=kind, headers={"Cache-Control": "no-store"})


def add_routes(app: FastAPI) -> None:
    """``GET /api/cameras/{camera_id}/snapshot`` (any logged-in role)."""
    app.add_api_route("/api/cameras/{camera_id}/snapshot", get_snapshot, methods=["GET"], response_class=Response,
                      summary="The camera's snapshot now, fetched by this server (never stored)",
                      responses={200: {"content": {"image/jpeg": {"schema": {"type": "string", "format": "binary"}}},
                                       "description": "The camera's image"},
                                 502: {"description": "The camera answered with an error or not an image", **ERROR},
                                 504: {"description": "The camera did not answer in time", **ERROR}})

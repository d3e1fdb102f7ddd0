"""Runs: resume a stream from its last event id, or abort a run wherever it is."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Header, Request, Response

from sluice.api.errors import APIError
from sluice.api.eventstream import event_stream_response
from sluice.api.state import ServerState
from sluice.api.streaming import stream_run

router = APIRouter(prefix="/api/v1/runs", tags=["runs"])


@router.get("/{run_id}/events", response_model=None)
async def run_events(
    run_id: str,
    request: Request,
    last_event_id: str | None = Header(default=None, alias="Last-Event-ID"),
    lastEventId: str | None = None,
) -> Response:
    """Replay what came after ``Last-Event-ID`` (header or query), then follow live."""
    state = ServerState.of(request)
    raw = last_event_id if last_event_id is not None else lastEventId
    try:
        after = int(raw) if raw not in (None, "") else 0
    except ValueError as exc:
        raise APIError(422, "invalid_request", "expected a number", field="Last-Event-ID") from exc
    await state.runs.log.is_closed(run_id)  # RunNotFoundError → 404 before streaming
    render = state.renderers.get(run_id)
    if render is None:
        raise APIError(
            404, "run_not_found", f"no stream to resume for run {run_id!r}", field="run_id"
        )
    return event_stream_response(
        stream_run(state, run_id, render, after_seq=after), headers={"X-Run-Id": run_id}
    )


@router.post("/{run_id}/abort")
async def abort_run(run_id: str, request: Request) -> dict[str, Any]:
    state = ServerState.of(request)
    await state.runs.log.is_closed(run_id)
    aborted = await state.runs.abort(run_id)
    return {"runId": run_id, "aborted": aborted}

"""Following a run for one HTTP client: rendered batches, keep-alives, stop on disconnect.

The slow-consumer policy: the response is pulled, never pushed. Starlette awaits each
write, and uvicorn's write waits while the socket's send buffer is over its high-water
mark (64 KiB), so a client that reads slowly stops the follower; the events it has not
read stay in the run log (which keeps the run anyway, for resuming). Its next read gets
them as one batch of at most ``Settings.max_batch`` events, with each run of tokens merged
into one (``Settings.coalesce_tokens``): fewer, larger writes, and per slow client at most
one rendered batch and the transport's buffer held, never an unbounded queue. A client
that keeps up gets every token as the run said it.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence

from sluice.api.eventstream import Last
from sluice.api.state import Renderer, ServerState
from sluice.api.wire import KEEP_ALIVE
from sluice.events import End, Event


async def stream_run(
    state: ServerState,
    run_id: str,
    render: Renderer,
    *,
    after_seq: int = 0,
    stop_on_disconnect: bool = False,
) -> AsyncIterator[bytes]:
    """Each batch of the run's events as one write; a comment when nothing came for a while.

    If the client leaves before the run ends and ``stop_on_disconnect``, the run is
    aborted (in a task: the request's own task is being cancelled).
    """
    settings = state.settings
    is_finished = False
    is_delivered = after_seq > 0
    try:
        async for batch in state.runs.follow(
            run_id,
            after_seq,
            idle_s=settings.keepalive_s,
            max_batch=settings.max_batch,
            coalesce=settings.coalesce_tokens,
            hold_start_s=settings.hold_start_s,
        ):
            if not batch:
                yield KEEP_ALIVE
            elif isinstance(batch[-1][1], End):
                yield Last(render(batch))  # ends the body in the same write
            else:
                yield render(batch)
            if not is_delivered and batch and batch[-1][0] > 1:  # past Start (seq 1)
                is_delivered = True
                state.turns.delivered(run_id)
        is_finished = True
    finally:
        if not is_finished and stop_on_disconnect and state.runs.is_running(run_id):
            state.spawn(asyncio.get_running_loop().create_task(state.runs.abort(run_id)))


async def collect_run(state: ServerState, run_id: str) -> list[Event]:
    """Every event of the run once it has ended (the non-streaming answer)."""
    events: list[Event] = []
    async for batch in state.runs.follow(run_id, 0, idle_s=state.settings.keepalive_s):
        events += [event for _, event in batch]
    return events


def events_of(batch: Sequence[tuple[int, Event]]) -> list[Event]:
    return [event for _, event in batch]

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
from collections.abc import Sequence

from sluice.api.eventstream import Last
from sluice.api.state import Renderer, ServerState
from sluice.api.wire import KEEP_ALIVE
from sluice.events import End, Event


def stream_run(
    state: ServerState,
    run_id: str,
    render: Renderer,
    *,
    after_seq: int = 0,
    stop_on_disconnect: bool = False,
) -> RunStream:
    """Each batch of the run's events as one write; a comment when nothing came for a while.

    If the client leaves before the run ends and ``stop_on_disconnect``, the run is
    aborted (in a task: the request's own task is being cancelled).
    """
    return RunStream(state, run_id, render, after_seq, stop_on_disconnect)


class RunStream:
    """``stream_run``'s writes, as a plain async iterator: no generator frame (and loop
    weak reference) held for as long as a stream lasts. Close it with ``aclose()``."""

    __slots__ = (
        "_batches",
        "_is_delivered",
        "_is_finished",
        "_owes_delivery",
        "_render",
        "_run_id",
        "_state",
        "_stop_on_disconnect",
    )

    def __init__(
        self,
        state: ServerState,
        run_id: str,
        render: Renderer,
        after_seq: int,
        stop_on_disconnect: bool,
    ) -> None:
        settings = state.settings
        self._batches = state.runs.follow(
            run_id,
            after_seq,
            idle_s=settings.keepalive_s,
            max_batch=settings.max_batch,
            coalesce=settings.coalesce_tokens,
            hold_start_s=settings.hold_start_s,
        )
        self._state = state
        self._run_id = run_id
        self._render = render
        self._stop_on_disconnect = stop_on_disconnect
        self._is_delivered = after_seq > 0
        self._owes_delivery = False
        self._is_finished = False

    def __aiter__(self) -> RunStream:
        return self

    async def __anext__(self) -> bytes:
        if self._owes_delivery:  # the first token's write has returned: store the turn
            self._owes_delivery = False
            self._state.turns.delivered(self._run_id)
        try:
            batch = await anext(self._batches)
        except StopAsyncIteration:
            self._is_finished = True
            raise
        if not batch:
            return KEEP_ALIVE
        if not self._is_delivered and batch[-1][0] > 1:  # past Start (seq 1)
            self._is_delivered = self._owes_delivery = True
        if isinstance(batch[-1][1], End):
            return Last(self._render(batch))  # ends the body in the same write
        return self._render(batch)

    async def aclose(self) -> None:
        await self._batches.aclose()
        state, run_id = self._state, self._run_id
        if not self._is_finished and self._stop_on_disconnect and state.runs.is_running(run_id):
            state.spawn(asyncio.get_running_loop().create_task(state.runs.abort(run_id)))
        self._is_finished = True


async def collect_run(state: ServerState, run_id: str) -> list[Event]:
    """Every event of the run once it has ended (the non-streaming answer)."""
    events: list[Event] = []
    async for batch in state.runs.follow(run_id, 0, idle_s=state.settings.keepalive_s):
        events += [event for _, event in batch]
    return events


def events_of(batch: Sequence[tuple[int, Event]]) -> list[Event]:
    return [event for _, event in batch]

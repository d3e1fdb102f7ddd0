"""A user turn: the run of a flow for one message, stored beside the stream.

The run starts at once; the chat, the user's message and the bot's message (``streaming``)
are written (one transaction) by a task beside it, never in front of the first token: it
starts once the first token has been written to a client (``delivered``), or after
``OPEN_WITHIN_S`` when none has (a slow model, or a client not streaming). When
the run ends the bot's message is updated with what was said, how it ended, tools,
sources, usage and timings, and a ``Saved`` event goes into the run's log before its ``End``.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from sluice.events import Error, Event, Final, Saved, Token
from sluice.flows.model import Flow
from sluice.flows.runner import run_flow
from sluice.flows.state import FlowServices, RunInput
from sluice.ids import new_id
from sluice.runs import RunRegistry
from sluice.store import ChatTurn, Database, MessageStatus, OpenTurn, StoreError

logger = logging.getLogger(__name__)

Notify = Callable[[str, dict[str, Any]], Awaitable[None]]
"""Called with (chat id, stored message) for every completed message (socket.io)."""

CHECKPOINT_S = 2.0
"""While a message streams, its text so far is saved this often (never per token)."""

OPEN_WITHIN_S = 2.0
"""A turn's rows are written at the latest this long after it started (the bound on what a
crash may lose is the same as for the text checkpoints). Sooner timers added a thousand
transactions into the first-token window when a thousand turns started at once."""

_STATUS = {
    "complete": MessageStatus.COMPLETE,
    "error": MessageStatus.ERROR,
    "aborted": MessageStatus.ABORTED,
}


@dataclass(slots=True)
class Turn:
    """A turn in progress: its ids and timings."""

    run_id: str
    chat_id: str
    message_id: str
    flow: Flow
    question: str
    model_id: str | None = None
    started_at: float = field(default_factory=time.perf_counter)
    first_token_at: float | None = None
    opening: asyncio.Future[None] | None = None
    """Done when the write holding this turn's rows has ended (shared by the turns that
    write together); None before it starts and once it has ended."""
    is_opened: bool = False
    """Whether that write has ended: the rows are stored unless ``open_error`` says why
    not (a failed write is not tried again)."""
    open_error: Exception | None = None
    checkpointed_at: float = 0.0
    checkpoint: asyncio.Task[None] | None = None


class Turns:
    """Starts turns as runs and stores them; ``on_finished`` is the registry's hook."""

    def __init__(
        self,
        db: Database,
        services: FlowServices,
        notify: Notify | None = None,
        *,
        checkpoint_s: float = CHECKPOINT_S,
    ):
        self.db = db
        self.services = services
        self.notify = notify
        self.checkpoint_s = checkpoint_s
        self.registry: RunRegistry | None = None
        self._turns: dict[str, Turn] = {}
        # Turns to store by a time if no token has been delivered first, oldest first: one
        # timer for all of them (the wait is the same for all), not a loop timer per turn.
        self._due: deque[tuple[float, Turn]] = deque()
        self._due_timer: asyncio.TimerHandle | None = None
        # Turns to store, written together by one task: a thousand turns starting at once
        # are a few writes, and no task or coroutine is held per turn while they wait.
        self._to_open: list[Turn] = []
        self._opened: asyncio.Future[None] | None = None
        self._opener: asyncio.Task[None] | None = None

    async def start(
        self,
        flow: Flow,
        question: str,
        *,
        chat_id: str | None = None,
        vars: Mapping[str, Any] | None = None,
        history: Sequence[ChatTurn] | None = None,
        model_id: str | None = None,
    ) -> Turn:
        """Start the run; ``history`` given by the client wins over the stored one."""
        if self.registry is None:
            raise RuntimeError("expected Turns.registry to be set, got None")
        is_new = chat_id is None
        turn = Turn(
            new_id(),
            chat_id or new_id(),
            new_id(),
            flow,
            question,
            model_id,
        )
        if history is None:
            history = [] if is_new else await self.db.messages.history(turn.chat_id)
        past = tuple({"role": t["role"], "content": t["content"]} for t in history)
        run_input = RunInput(question, past, dict(vars or {}), turn.chat_id)
        self._turns[turn.run_id] = turn
        self._open_by(asyncio.get_running_loop().time() + OPEN_WITHIN_S, turn)
        await self.registry.start(
            partial(run_flow, flow, run_input, self.services, run_id=turn.run_id, framed=False),
            run_id=turn.run_id,
            on_event=partial(self._on_event, turn),
        )
        # Let the run send its upstream request before this request writes its client's
        # headers: the upstream's wait then covers ours. The run writes the whole request
        # in its first step (``integrations.http1``), so one loop turn is enough.
        await asyncio.sleep(0)
        return turn

    def _on_event(self, turn: Turn, event: Event) -> None:
        if isinstance(event, Token):
            now = time.perf_counter()
            if turn.first_token_at is None:
                turn.first_token_at = turn.checkpointed_at = now
            if now - turn.checkpointed_at >= self.checkpoint_s:
                self._checkpoint(turn, now)

    def _checkpoint(self, turn: Turn, now: float) -> None:
        """Save the text said so far beside the stream, so a crash keeps it (one at a time)."""
        if turn.checkpoint is not None:
            return
        turn.checkpointed_at = now
        turn.checkpoint = asyncio.create_task(self._save_progress(turn))

    def delivered(self, run_id: str) -> None:
        """The run's first token has been written to a client: store the turn now."""
        turn = self._turns.get(run_id)
        if turn is not None:
            self._start_opening(turn)

    def _open_by(self, when: float, turn: Turn) -> None:
        self._due.append((when, turn))
        if self._due_timer is None:
            self._due_timer = asyncio.get_running_loop().call_at(when, self._open_due)

    def _open_due(self) -> None:
        loop = asyncio.get_running_loop()
        now = loop.time()
        while self._due and self._due[0][0] <= now:
            _, turn = self._due.popleft()
            if turn.run_id in self._turns:  # still running: store it now
                self._start_opening(turn)
        when = self._due[0][0] if self._due else None
        self._due_timer = None if when is None else loop.call_at(when, self._open_due)

    def _start_opening(self, turn: Turn) -> None:
        if turn.opening is not None or turn.is_opened:
            return
        loop = asyncio.get_running_loop()
        if self._opened is None:
            self._opened = loop.create_future()
        turn.opening = self._opened
        self._to_open.append(turn)
        if self._opener is None:
            self._opener = loop.create_task(self._open_waiting())

    async def _wait_open(self, turn: Turn) -> None:
        """Write the turn's rows now if nothing has yet, and wait until they are written
        (raises ``StoreError`` when writing them failed)."""
        self._start_opening(turn)
        if turn.opening is not None:
            await asyncio.shield(turn.opening)  # shared: a cancelled waiter must not cancel it
        if turn.open_error is not None:
            raise turn.open_error

    async def _open_waiting(self) -> None:
        """Write the turns waiting to be stored, all in one write, until none is left."""
        try:
            while self._to_open:
                turns, self._to_open = self._to_open, []
                opened, self._opened = self._opened, None
                try:
                    user_ids = await self._open(turns)
                finally:  # whatever happened, nobody waits on these turns any longer
                    for turn in turns:
                        turn.is_opened, turn.opening = True, None
                    if opened is not None and not opened.done():
                        opened.set_result(None)
                for turn, user_id in zip(turns, user_ids, strict=True):
                    if user_id is not None:
                        await self._notify(turn.chat_id, user_id, "user", turn.question, "complete")
        finally:
            self._opener = None

    async def _open(self, turns: list[Turn]) -> list[str | None]:
        """The user messages' ids; when the shared write fails, each turn is written alone so
        that only a turn that cannot be stored fails (its ``open_error``)."""
        messages = self.db.messages
        items = [
            OpenTurn(t.chat_id, t.question, t.message_id, t.flow.id, t.model_id) for t in turns
        ]
        try:
            return list(await messages.open_turns(items))
        except Exception as exc:  # a turn's own error is raised where it is awaited
            if len(items) == 1:
                turns[0].open_error = exc
                return [None]
        user_ids: list[str | None] = []
        for turn, item in zip(turns, items, strict=True):
            try:
                [user_id] = await messages.open_turns([item])
            except Exception as exc:
                turn.open_error, user_id = exc, None
            user_ids.append(user_id)
        return user_ids

    async def _save_progress(self, turn: Turn) -> None:
        assert self.registry is not None
        try:
            await self._wait_open(turn)
            text = self.registry.text_so_far(turn.run_id)  # the log's, read when saved
            await self.db.messages.checkpoint_message(turn.message_id, text)
        except StoreError as exc:  # best effort: the final write still records the message
            logger.warning("run %s: saving the text so far failed: %s", turn.run_id, exc)
        finally:
            turn.checkpoint = None

    async def on_finished(self, run_id: str, final: Final, error: Error | None) -> Sequence[Event]:
        turn = self._turns.pop(run_id, None)
        if turn is None:
            return ()
        await self._wait_open(turn)
        if turn.checkpoint is not None:
            await turn.checkpoint
        now = time.perf_counter()
        status = _STATUS[final.reason]
        await self.db.messages.finish_message(
            turn.message_id,
            content=final.text,
            status=status,
            error=error.message
            if error
            else ("aborted" if status is MessageStatus.ABORTED else None),
            error_code=error.code if error else None,
            tools=final.tools,
            sources=final.sources,
            usage=final.usage,
            ttft_ms=_ms(turn.started_at, turn.first_token_at),
            duration_ms=_ms(turn.started_at, now),
        )
        await self._notify(turn.chat_id, turn.message_id, "assistant", final.text, status.value)
        return (Saved(turn.message_id),)

    def turn(self, run_id: str) -> Turn | None:
        return self._turns.get(run_id)

    def running_in(self, chat_id: str) -> list[str]:
        """The run ids of this chat's turns still going."""
        return [run_id for run_id, turn in self._turns.items() if turn.chat_id == chat_id]

    async def _notify(
        self, chat_id: str, message_id: str, role: str, text: str, status: str
    ) -> None:
        if self.notify is None:
            return
        message = {
            "id": message_id,
            "chatId": chat_id,
            "role": role,
            "content": text,
            "status": status,
        }
        try:
            await self.notify(chat_id, message)
        except Exception:  # a notification must never fail the turn
            logger.exception("chat %s: socket.io notification failed", chat_id)


def _ms(start: float, end: float | None) -> float | None:
    return None if end is None else round((end - start) * 1000, 3)

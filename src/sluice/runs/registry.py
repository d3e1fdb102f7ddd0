"""The run registry: starts runs apart from the requests that asked for them, and aborts them.

Each run is one task in the registry's task group: it appends each event of the flow's
iterator to the log as it comes (a log on the network batches its own writes), then closes
the run: its ``Final`` when the producer gave none, storage, ``End``. Every run log reads
``Start(run_id)`` first and ``End`` last. After the first token the producer lets the
loop turn once, so a follower writes it to its client before the run reads on (an upstream
that sent a burst would otherwise be parsed whole first; the upstream call holds its reads
for that turn, ``UpstreamCall.hold_reading``).

Abort cancels the run's task while it produces, so its upstream connection closes at
once. A producer may catch ``CancelledError`` to yield its own closing events (a ``Final``
with reason ``aborted``); when it does not, the registry builds that ``Final`` from the
tokens, tools and sources it saw. An abort is not a failure: no ``Error`` event is added
for it. A client that disconnects does not stop its run; the server calls ``abort`` when
the flow asks to stop on disconnect.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable, Sequence
from types import TracebackType
from typing import Self, TypeAlias

from sluice.errors import ConfigError, UpstreamError
from sluice.events import End, Error, Event, Final, Start, Token
from sluice.ids import new_id
from sluice.runs.follow import follow
from sluice.runs.log import LogEntry, RunLog
from sluice.runs.transcript import Transcript

logger = logging.getLogger(__name__)

Producer: TypeAlias = Callable[[], AsyncIterator[Event]]
"""Starts a run's events (a flow run); called once, inside the run's own task."""

OnEvent: TypeAlias = Callable[[Event], None]
"""Called with each event the producer yields, before it goes into the log."""

OnFinished: TypeAlias = Callable[[str, Final, Error | None], Awaitable[Sequence[Event]]]
"""Called with (run id, the run's ``Final``, its ``Error`` if it failed) before ``End``;
stores the message and returns the events to add (``Saved``), appended before ``End``."""


class _Run:
    __slots__ = ("failure", "is_aborted", "is_producing", "run_id", "task", "transcript")

    def __init__(self, run_id: str) -> None:
        self.run_id = run_id
        self.transcript = Transcript()
        self.is_producing = True
        self.failure: Exception | None = None
        self.is_aborted = False
        self.task: asyncio.Task[None] | None = None


_FRAMING = (Start, End)
"""The producer's own framing events: the registry writes its own (built once, not per
event: ``Start | End`` makes a new union each time it is evaluated)."""


def _new_run_id() -> str:
    return new_id()


class RunRegistry:
    """Owns the runs of this process; use as ``async with RunRegistry(log) as runs``.

    Leaving the block aborts the runs still going and waits until each has written its
    closing events.
    """

    def __init__(
        self,
        log: RunLog,
        *,
        on_finished: OnFinished | None = None,
        new_id: Callable[[], str] = _new_run_id,
    ) -> None:
        self.log = log
        self._on_finished = on_finished
        self._new_id = new_id
        self._runs: dict[str, _Run] = {}
        self._group: asyncio.TaskGroup | None = None

    async def __aenter__(self) -> Self:
        group = asyncio.TaskGroup()
        await group.__aenter__()
        self._group = group
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        for run in list(self._runs.values()):
            self._cancel_producer(run)
        group, self._group = self._group, None
        if group is not None:
            await group.__aexit__(exc_type, exc, traceback)

    async def start(
        self, produce: Producer, *, run_id: str | None = None, on_event: OnEvent | None = None
    ) -> str:
        """Start a run and return its id once ``Start(run_id)`` is in its log.

        ``on_event`` sees each event the producer yields (a watcher that needs no generator
        of its own around the producer's).
        """
        if self._group is None:
            raise RuntimeError("expected an entered RunRegistry (async with), got none")
        if run_id is None:
            run_id = self._new_id()
        elif run_id in self._runs or await self.log.exists(run_id):
            raise ValueError(f"run_id: expected a new id, got {run_id!r}")
        await self.log.append(run_id, [Start(run_id)])
        run = _Run(run_id)
        self._runs[run_id] = run
        run.task = self._group.create_task(self._run(run, produce, on_event))
        logger.info("run %s started", run_id)
        return run_id

    def is_running(self, run_id: str) -> bool:
        return run_id in self._runs

    def text_so_far(self, run_id: str) -> str:
        """The tokens a running run of this process has logged, joined ("" once it ended)."""
        run = self._runs.get(run_id)
        return "" if run is None else run.transcript.text

    async def abort(self, run_id: str) -> bool:
        """Stop a run of this process and wait until its closing events are in the log.

        Returns whether the abort stopped it (``False`` when it had already ended, or runs
        in another process). Raises ``RunNotFoundError`` for an unknown run.
        """
        run = self._runs.get(run_id)
        if run is None or run.task is None:
            await self.log.is_closed(run_id)  # raises RunNotFoundError when unknown
            return False
        stopped = self._cancel_producer(run)
        await asyncio.wait([run.task])  # waiting never cancels the run
        return stopped

    def follow(
        self,
        run_id: str,
        after_seq: int = 0,
        *,
        idle_s: float = 15.0,
        max_batch: int = 512,
        coalesce: bool = False,
        hold_start_s: float = 0.0,
    ) -> AsyncGenerator[list[LogEntry], None]:
        """``sluice.runs.follow.follow`` on this registry's log; close it (``aclosing``)."""
        return follow(
            self.log,
            run_id,
            after_seq,
            idle_s=idle_s,
            max_batch=max_batch,
            coalesce=coalesce,
            hold_start_s=hold_start_s,
        )

    def _cancel_producer(self, run: _Run) -> bool:
        """Cancel the run's task while it produces (never while it stores and closes)."""
        if run.task is None or run.task.done() or run.is_aborted or not run.is_producing:
            return False
        run.is_aborted = True
        run.task.cancel()
        return True

    async def _run(self, run: _Run, produce: Producer, on_event: OnEvent | None) -> None:
        # The producer's loop is here rather than in a coroutine of its own: one frame less
        # held for as long as the run lasts.
        events = produce()
        append, run_id, observe = self.log.append, run.run_id, run.transcript.observe
        is_first_token = True
        try:
            async for event in events:
                if isinstance(event, _FRAMING):
                    continue
                if on_event is not None:
                    on_event(event)
                observe(event)
                await append(run_id, (event,))
                if is_first_token and isinstance(event, Token):
                    is_first_token = False
                    await asyncio.sleep(0)  # followers write the first token now
        except asyncio.CancelledError:
            if not run.is_aborted:
                raise
        except Exception as exc:  # reported as an Error event when the run closes
            run.failure = exc
        finally:
            if isinstance(events, AsyncGenerator):
                await events.aclose()
        run.is_producing = False
        task = asyncio.current_task()
        if run.is_aborted and task is not None and task.cancelling():
            task.uncancel()  # the abort is handled: closing the run must not be cancelled
        try:
            await self._finish(run)
        except Exception:
            # The log itself failed (a backend outage): nothing more can be said to readers.
            logger.exception("run %s: the run log failed", run.run_id)
        finally:
            del self._runs[run.run_id]

    async def _finish(self, run: _Run) -> None:
        closing: list[Event] = []
        error = run.transcript.error
        if run.failure is not None and not run.is_aborted:
            error = _error_event(run.run_id, run.failure)
            closing.append(error)
        final = run.transcript.final
        if final is None:
            final = run.transcript.build_final(
                "aborted" if run.is_aborted else "error" if error else "complete"
            )
            closing.append(final)
        if closing:
            await self.log.append(run.run_id, closing)
        stored = await self._store(run.run_id, final, error)
        await self.log.append(run.run_id, [*stored, End()])
        await self.log.close(run.run_id)
        logger.info("run %s ended: %s", run.run_id, final.reason)

    async def _store(self, run_id: str, final: Final, error: Error | None) -> Sequence[Event]:
        if self._on_finished is None:
            return ()
        try:
            return await self._on_finished(run_id, final, error)
        except Exception:
            logger.exception("run %s: storing the message failed", run_id)
            return (Error("store_failed", "the message could not be stored"),)


def _error_event(run_id: str, exc: Exception) -> Error:
    if isinstance(exc, UpstreamError):
        return Error(exc.code, exc.message)
    if isinstance(exc, ConfigError):
        return Error("config_error", str(exc))
    logger.error("run %s failed", run_id, exc_info=exc)
    return Error("internal_error", "the run failed unexpectedly")

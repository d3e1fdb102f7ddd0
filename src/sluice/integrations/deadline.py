"""A read deadline that moves on every read without touching the loop's timers.

``asyncio.timeout_at`` around each read creates, arms and cancels a timer per read: with
thousands of streams that was a tenth of the event loop's time. ``ReadDeadline`` keeps
one timer per body, armed at the deadline it knew; when the timer fires early (the
deadline has moved on since), it re-arms itself at the new one, so a stream that keeps
reading costs one timer per period instead of one per read. A deadline moved earlier
(a gap shorter than the wait for the first chunk) re-arms it at the next read.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

T = TypeVar("T")


class ReadDeadline:
    """Cancels the task's read (as ``TimeoutError``) once the loop clock passes ``when``.

    Only a read awaited through ``read()`` is cut: time the task spends elsewhere counts
    towards the deadline but is never interrupted; the next ``read()`` raises at once if
    the deadline passed meanwhile. Call ``close()`` when done.
    """

    __slots__ = (
        "_armed_for",
        "_cancelling",
        "_expired",
        "_handle",
        "_loop",
        "_reading",
        "_task",
        "when",
    )

    def __init__(self, when: float) -> None:
        self.when = when
        self._loop = asyncio.get_running_loop()
        self._task: asyncio.Task[object] | None = None
        self._cancelling = 0
        self._handle: asyncio.TimerHandle | None = None
        self._armed_for = 0.0
        self._reading = False
        self._expired = False

    async def read(self, read: Callable[[], Awaitable[T]]) -> T:
        """``await read()``, cut with ``TimeoutError`` when the deadline passes."""
        if self._handle is None or self._armed_for > self.when:  # none, or too late now
            if self._loop.time() >= self.when:
                raise TimeoutError
            self._arm()
        # The reading task, each time: a body may be read from one task per read.
        task = asyncio.current_task()
        if task is None:
            raise RuntimeError("expected ReadDeadline.read to run in a task, got none")
        self._task, self._cancelling = task, task.cancelling()
        self._reading = True
        try:
            return await read()
        except asyncio.CancelledError:
            if self._expired and task.uncancel() <= self._cancelling:
                raise TimeoutError from None
            raise
        finally:
            self._reading = False
            self._expired = False

    def close(self) -> None:
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None

    def _arm(self) -> None:
        if self._handle is not None:
            self._handle.cancel()
        self._armed_for = self.when
        self._handle = self._loop.call_at(self.when, self._on_timer)

    def _on_timer(self) -> None:
        self._handle = None
        if self._loop.time() < self.when:
            self._arm()
        elif self._reading and not self._expired and self._task is not None:
            self._expired = True
            self._task.cancel()
        # Not reading: the next read() finds the deadline passed.

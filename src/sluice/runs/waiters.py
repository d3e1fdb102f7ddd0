"""Readers waiting for a run's next events, each until a deadline, without a timer each.

A follower waits once per batch, usually for the next token and at most the keep-alive
interval. ``asyncio.timeout`` around ``Event.wait`` armed and cancelled a loop timer, made a
``Timeout``, a future and a 760-byte deque per wait: with a thousand streams that was a
tenth of the loop. Here a wait is one future; waits of ``COARSE_S`` or more are expired by
one periodic callback (``Expiry``) shared by the whole log, shorter ones by a timer of
their own.
"""

from __future__ import annotations

import asyncio

COARSE_S = 1.0
"""Waits at least this long may end up to ``TICK_S`` late (keep-alives: 15 s by default)."""
TICK_S = 0.25


class Waiters:
    """The futures of the readers waiting on one run; ``wake`` ends every wait with True."""

    __slots__ = ("_futures",)

    def __init__(self) -> None:
        self._futures: list[asyncio.Future[bool]] | None = None

    def __bool__(self) -> bool:
        return bool(self._futures)

    def add(self, future: asyncio.Future[bool]) -> None:
        if self._futures is None:
            self._futures = [future]
        else:
            self._futures.append(future)

    def discard(self, future: asyncio.Future[bool]) -> None:
        if self._futures and future in self._futures:
            self._futures.remove(future)

    def wake(self) -> None:
        futures, self._futures = self._futures, None
        for future in futures or ():
            if not future.done():
                future.set_result(True)


class Expiry:
    """Ends long waits with False once their deadline passes, checking every ``TICK_S``."""

    __slots__ = ("_deadlines", "_handle", "_loop")

    def __init__(self) -> None:
        self._deadlines: dict[asyncio.Future[bool], float] = {}
        self._handle: asyncio.TimerHandle | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    def add(self, future: asyncio.Future[bool], deadline: float) -> None:
        self._deadlines[future] = deadline
        loop = future.get_loop()
        if self._handle is None or self._loop is not loop:  # none yet, or a loop gone
            self._loop = loop
            self._handle = loop.call_later(TICK_S, self._tick, loop)

    def discard(self, future: asyncio.Future[bool]) -> None:
        self._deadlines.pop(future, None)

    def _tick(self, loop: asyncio.AbstractEventLoop) -> None:
        now = loop.time()
        due = [future for future, deadline in self._deadlines.items() if deadline <= now]
        for future in due:
            del self._deadlines[future]
            if not future.done():
                future.set_result(False)
        self._handle = loop.call_later(TICK_S, self._tick, loop) if self._deadlines else None


async def wait(waiters: Waiters, expiry: Expiry, wait_s: float) -> bool:
    """Wait up to ``wait_s`` for ``waiters.wake()``; whether it came."""
    loop = asyncio.get_running_loop()
    future: asyncio.Future[bool] = loop.create_future()
    waiters.add(future)
    if wait_s >= COARSE_S:
        expiry.add(future, loop.time() + wait_s)
        try:
            return await future
        finally:
            expiry.discard(future)
            waiters.discard(future)
    handle = loop.call_later(wait_s, _time_out, future)
    try:
        return await future
    finally:
        handle.cancel()
        waiters.discard(future)


def _time_out(future: asyncio.Future[bool]) -> None:
    if not future.done():
        future.set_result(False)

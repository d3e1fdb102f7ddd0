"""The in-memory run log: one list of events per run, woken readers (``waiters.py``),
retention by a clock.

A closed run is compacted (``compact.py``: its tokens kept as one text per stretch, read
back as one token each) soon after a follower has read it through its ``End``
(``read_to_end``; ``compact_delay_s`` later, runs read through meanwhile together, so that
the work is off the path of the next request), or ``compact_after_s`` after it closed when
none has: a live follower sees every token as it was said, and a thousand finished runs do
not hold a thousand lists of token strings until a timer.

It serves one process. Several replicas behind one deployment need the Redis Streams
backend, which implements the same ``RunLog`` protocol.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Callable, Sequence

from sluice.events import Event, Token
from sluice.runs.compact import CompactRun
from sluice.runs.log import LogEntry, RunNotFoundError
from sluice.runs.waiters import Expiry, Waiters, wait

logger = logging.getLogger(__name__)


class _Run:
    __slots__ = ("closed_at", "compact", "events", "waiters")

    def __init__(self) -> None:
        # A token is kept as its text (a Token object is 40 bytes more per token, most of
        # a long run's memory beside the text): ``read`` gives Token objects back.
        self.events: list[Event | str] = []
        self.compact: CompactRun | None = None
        self.waiters: Waiters | None = Waiters()  # None once closed: nobody waits then
        self.closed_at: float | None = None


_COMPACT_BATCH = 256
"""Runs compacted per loop turn: a thousand streams ending together never stall the loop
for long."""

_COMPACTED: list[Event | str] = []
"""A compacted run's ``events``, shared (a closed run is never appended to)."""


class MemoryRunLog:
    """``RunLog`` in process memory.

    A closed run is kept for ``retention_s`` seconds of ``clock`` (``time.monotonic`` by
    default; tests pass a fake). Expired runs are dropped by ``expire()`` and, so that an
    idle server needs no sweeper task, whenever a new run is created.
    """

    def __init__(
        self,
        *,
        retention_s: float = 3600.0,
        compact_after_s: float = 10.0,
        compact_delay_s: float = 0.25,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if retention_s < 0:
            raise ValueError(f"retention_s: expected >= 0, got {retention_s}")
        self._retention_s = retention_s
        self._compact_after_s = compact_after_s
        self._clock = clock
        self._runs: dict[str, _Run] = {}
        self._closed: dict[str, float] = {}  # run id -> closed at, oldest first
        self._to_compact: deque[tuple[float, str]] = deque()
        self._expiry = Expiry()
        self._compact_delay_s = compact_delay_s
        self._read_through: list[str] = []
        self._compacting: asyncio.Handle | None = None

    def __len__(self) -> int:
        """The number of runs held, open or within retention."""
        return len(self._runs)

    async def append(self, run_id: str, events: Sequence[Event]) -> int:
        run = self._runs.get(run_id)
        if run is None:
            self._expire()
            run = self._runs[run_id] = _Run()
        if run.closed_at is not None:
            raise RuntimeError(f"expected an open run, got closed run {run_id!r}")
        if events:
            run.events.extend([event.text if type(event) is Token else event for event in events])
            if run.waiters:  # not None: the run is open
                run.waiters.wake()
        return len(run.events)

    async def read(
        self, run_id: str, after_seq: int, *, wait_s: float, limit: int | None = None
    ) -> list[LogEntry]:
        if after_seq < 0:
            raise ValueError(f"after_seq: expected >= 0, got {after_seq}")
        run = self._get(run_id)
        if run.compact is not None:
            return run.compact.read(after_seq, limit)
        if after_seq >= len(run.events) and run.waiters is not None and wait_s > 0:
            if not await wait(run.waiters, self._expiry, wait_s):
                return []
        stop = len(run.events) if limit is None else min(len(run.events), after_seq + limit)
        return [
            (seq, Token(event) if isinstance(event, str) else event)
            for seq, event in enumerate(run.events[after_seq:stop], after_seq + 1)
        ]

    async def read_to_end(self, run_id: str) -> None:
        run = self._runs.get(run_id)
        if run is None or run.closed_at is None:
            return
        if self._compact_delay_s <= 0:
            _compact(run)
            return
        self._read_through.append(run_id)
        if self._compacting is None:
            loop = asyncio.get_running_loop()
            self._compacting = loop.call_later(self._compact_delay_s, self._compact_read_through)

    def _compact_read_through(self) -> None:
        """Compact the runs read through, at most ``_COMPACT_BATCH`` per loop turn."""
        batch = self._read_through[:_COMPACT_BATCH]
        del self._read_through[:_COMPACT_BATCH]
        for run_id in batch:
            run = self._runs.get(run_id)
            if run is not None:
                _compact(run)
        loop = asyncio.get_running_loop()
        self._compacting = (
            loop.call_soon(self._compact_read_through) if self._read_through else None
        )

    async def close(self, run_id: str) -> None:
        run = self._get(run_id)
        if run.closed_at is None:
            run.closed_at = self._clock()
            self._closed[run_id] = run.closed_at
            self._to_compact.append((run.closed_at, run_id))
            if run.waiters is not None:
                run.waiters.wake()
                run.waiters = None

    async def is_closed(self, run_id: str) -> bool:
        return self._get(run_id).closed_at is not None

    async def exists(self, run_id: str) -> bool:
        return run_id in self._runs

    async def expire(self) -> int:
        return self._expire()

    def _expire(self) -> int:
        # Retention is one constant and the clock is monotonic, so runs expire (and are
        # compacted) in the order they closed: stop at the first one still kept.
        now = self._clock()
        compact_by = now - self._compact_after_s
        while self._to_compact and self._to_compact[0][0] <= compact_by:
            _, run_id = self._to_compact.popleft()
            run = self._runs.get(run_id)
            if run is not None:
                _compact(run)
        deadline = now - self._retention_s
        dropped = 0
        while self._closed:
            run_id, closed_at = next(iter(self._closed.items()))
            if closed_at > deadline:
                break
            del self._closed[run_id]
            del self._runs[run_id]
            dropped += 1
        return dropped

    def _get(self, run_id: str) -> _Run:
        run = self._runs.get(run_id)
        if run is None:
            raise RunNotFoundError(run_id)
        return run


def _compact(run: _Run) -> None:
    if run.compact is None and run.events is not _COMPACTED:
        try:
            run.compact = CompactRun(run.events)
        except TypeError:  # an event JSON cannot carry (orjson's error): keep it as it is
            logger.warning("a finished run could not be compacted", exc_info=True)
            return
        run.events = _COMPACTED

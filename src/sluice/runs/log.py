"""The run log port: numbered events per run, read from any position, waited on with a deadline.

Backends (in memory here, Redis Streams for several replicas) implement ``RunLog``; the
registry and the HTTP routes depend on this protocol only.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, TypeAlias

from sluice.errors import SluiceError
from sluice.events import Event

LogEntry: TypeAlias = tuple[int, Event]
"""An event with its sequence number in its run; numbers start at 1 and have no gaps."""


class RunNotFoundError(SluiceError):
    """No run has this id: it never existed here, or its retention ran out (HTTP 404)."""

    def __init__(self, run_id: str):
        self.run_id = run_id
        super().__init__(f"run {run_id!r} not found")

    def __repr__(self) -> str:
        return f"RunNotFoundError({self.run_id!r})"


class RunLog(Protocol):
    """Where a run's events are kept, numbered, for every reader from any position.

    A Redis Streams backend maps a sequence number ``n`` to the entry id ``0-n``, ``read``
    to ``XREAD BLOCK`` and retention to ``EXPIRE`` on ``close``.
    """

    async def append(self, run_id: str, events: Sequence[Event]) -> int:
        """Append ``events`` in order (creating the run on its first append).

        Returns the sequence number of the last event now in the run. Raises
        ``RuntimeError`` when the run is closed.
        """
        ...

    async def read(
        self, run_id: str, after_seq: int, *, wait_s: float, limit: int | None = None
    ) -> list[LogEntry]:
        """Every event numbered after ``after_seq`` (at most ``limit``), oldest first.

        When there is none yet and the run is open, waits up to ``wait_s`` seconds for the
        next append; returns ``[]`` when the deadline passes or the run is closed. Raises
        ``RunNotFoundError`` for an unknown or expired run.
        """
        ...

    async def read_to_end(self, run_id: str) -> None:
        """A follower has read the run through its ``End``: the backend may keep it smaller
        from now on (a reader still behind then gets each stretch of tokens as one token,
        the same text). Does nothing for an open or unknown run."""
        ...

    async def close(self, run_id: str) -> None:
        """Mark the run finished (idempotent): readers stop waiting; retention starts."""
        ...

    async def is_closed(self, run_id: str) -> bool:
        """Whether the run is finished; raises ``RunNotFoundError`` for an unknown run."""
        ...

    async def exists(self, run_id: str) -> bool:
        """Whether the log holds the run (open, or closed and within retention)."""
        ...

    async def expire(self) -> int:
        """Forget closed runs whose retention has passed; returns how many were dropped."""
        ...

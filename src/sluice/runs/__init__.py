"""Runs: a generation decoupled from the request that started it, numbered in a run log.

``RunLog`` is the port (``MemoryRunLog`` in process; Redis Streams for several replicas),
``RunRegistry`` starts, supervises and aborts runs, ``follow`` reads a run from any position.
"""

from sluice.runs.follow import coalesce_tokens, follow
from sluice.runs.log import LogEntry, RunLog, RunNotFoundError
from sluice.runs.memory import MemoryRunLog
from sluice.runs.registry import OnFinished, Producer, RunRegistry
from sluice.runs.transcript import Transcript

__all__ = [
    "LogEntry",
    "MemoryRunLog",
    "OnFinished",
    "Producer",
    "RunLog",
    "RunNotFoundError",
    "RunRegistry",
    "Transcript",
    "coalesce_tokens",
    "follow",
]

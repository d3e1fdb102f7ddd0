"""The retriever port: what a ``retrieve`` node needs from any index (full text, vectors…)."""

from __future__ import annotations

from typing import Protocol

from sluice.events import SourceDocument


class Retriever(Protocol):
    """Finds the passages that best answer a query."""

    async def search(self, query: str, k: int) -> list[SourceDocument]:
        """At most ``k`` passages, best first; none for a query with nothing to search for.

        Any user text is a valid query: it never raises for the query's syntax.
        """
        ...

"""Full-text retrieval on SQLite FTS5, ranked by BM25 with the title weighted above the body.

User text never reaches FTS5's query syntax: ``match_query`` keeps the words, drops stop
words and punctuation, quotes each word and ORs them, so ``AND``, ``NEAR(``, ``*`` or an
unbalanced quote are searched for as words (or not at all), never parsed as operators.
"""

from __future__ import annotations

import asyncio
import re
import sqlite3
import threading
from collections.abc import Iterable

import orjson

from sluice.events import SourceDocument

TITLE_WEIGHT = 5.0
"""BM25 weight of a passage's title relative to its body (1.0)."""

MAX_QUERY_TERMS = 32
"""Words beyond this many in one query are ignored, so a pasted essay stays a cheap query."""

STOP_WORDS = frozenset(
    """a about above after again against all am an and any are as at be because been before
    being below between both but by can could did do does doing down during each few for from
    further had has have having he her here hers herself him himself his how i if in into is it
    its itself just me more most my myself no nor not of off on once only or other our ours
    ourselves out over own same she should so some such than that the their theirs them
    themselves then there these they this those through to too under until up very was we were
    what when where which while who whom why will with would you your yours yourself
    yourselves""".split()
)

_WORD = re.compile(r"\w+")

_SCHEMA = """
CREATE VIRTUAL TABLE IF NOT EXISTS passages USING fts5(
    title, body, metadata UNINDEXED, tokenize = 'porter unicode61 remove_diacritics 2'
)
"""
_SEARCH = """
SELECT body, metadata FROM passages WHERE passages MATCH ?
ORDER BY bm25(passages, ?, 1.0) LIMIT ?
"""


def match_query(text: str, *, max_terms: int = MAX_QUERY_TERMS) -> str | None:
    """An FTS5 query matching any word of ``text``; ``None`` when no word is left to search.

    Words are lowercased (FTS5 operators are upper case), deduplicated and double-quoted;
    ``\\w+`` words never contain a quote, so each one is a plain FTS5 string.
    """
    terms: list[str] = []
    for word in _WORD.findall(text.lower()):
        if word not in STOP_WORDS and word not in terms:
            terms.append(word)
            if len(terms) == max_terms:
                break
    return " OR ".join(f'"{term}"' for term in terms) or None


class FTSRetriever:
    """A BM25 full-text index of passages in SQLite (in memory, or a file at ``path``).

    Queries and additions run in a worker thread; one lock serialises them on the single
    connection. A passage's title is ``metadata["title"]`` when it is a string.
    """

    def __init__(self, path: str = ":memory:", *, title_weight: float = TITLE_WEIGHT) -> None:
        self.title_weight = title_weight
        self._lock = threading.Lock()
        self._connection = sqlite3.connect(path, check_same_thread=False)
        with self._connection:
            self._connection.execute(_SCHEMA)

    async def add(self, documents: Iterable[SourceDocument]) -> None:
        """Index ``documents`` (in a worker thread); they are searchable once this returns."""
        rows = [_row(document) for document in documents]
        await asyncio.to_thread(self._insert, rows)

    async def search(self, query: str, k: int) -> list[SourceDocument]:
        """At most ``k`` passages matching any word of ``query``, best BM25 score first."""
        expression = match_query(query)
        if expression is None or k < 1:
            return []
        rows = await asyncio.to_thread(self._select, expression, k)
        return [SourceDocument(body, orjson.loads(metadata)) for body, metadata in rows]

    def close(self) -> None:
        """Close the connection; the retriever cannot be used afterwards."""
        with self._lock:
            self._connection.close()

    def _insert(self, rows: list[tuple[str, str, str]]) -> None:
        with self._lock, self._connection:
            self._connection.executemany("INSERT INTO passages VALUES (?, ?, ?)", rows)

    def _select(self, expression: str, k: int) -> list[tuple[str, str]]:
        with self._lock:
            cursor = self._connection.execute(_SEARCH, (expression, self.title_weight, k))
            return cursor.fetchall()


def _row(document: SourceDocument) -> tuple[str, str, str]:
    title = document.metadata.get("title")
    return (
        title if isinstance(title, str) else "",
        document.page_content,
        orjson.dumps(document.metadata).decode(),
    )

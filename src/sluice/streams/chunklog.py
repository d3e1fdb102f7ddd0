"""Every chunk of a stream, kept as the text that arrived and parsed again when read.

A stream's chunks must stay available to the rest of the flow (``nodes.<id>.chunks``),
but keeping each parsed chunk alive measured 1.6 µs per chunk on the hot path, more than
parsing it: the allocator can no longer reuse the memory of the last chunk's objects,
and the garbage collector walks every retained dict. Strings are neither, so the log
keeps the raw text and parses it when someone reads it.

A stream whose chunks nobody will read (a flow with no node after it) gets a log made with
``keep=False``, which drops them: at a thousand concurrent streams the raw chunks were
most of a turn's memory (~350 bytes a token for a 300-byte OpenAI chunk).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import overload

import orjson

from sluice.streams.types import JSONValue


class ChunkLog(Sequence[JSONValue]):
    """A read-only sequence of chunk values, stored as their text."""

    __slots__ = ("_keep", "_raw", "_text_at", "append_json", "extend_json")

    def __init__(self, *, keep: bool = True) -> None:
        self._raw: list[str] = []
        self._text_at: set[int] | None = None  # made for the first text chunk, if any
        self._keep = keep
        self.append_json: Callable[[str], None] = self._raw.append if keep else _drop
        """Keep a chunk whose value is the JSON text ``raw`` (a bound ``list.append``)."""
        self.extend_json: Callable[[Iterable[str]], None] = self._raw.extend if keep else _drop
        """Keep chunks whose values are these JSON texts (a bound ``list.extend``)."""

    def append_text(self, text: str) -> None:
        """Keep a chunk whose value is the string ``text`` itself (not JSON).

        A method, not a bound method kept on the log like ``append_json``: that would be a
        cycle (log, method, log) left for the collector.
        """
        if self._keep:
            if self._text_at is None:
                self._text_at = set()
            self._text_at.add(len(self._raw))
            self._raw.append(text)

    def clear(self) -> None:
        """Forget every chunk held (a reader that has seen them and keeps none)."""
        self._raw.clear()
        self._text_at = None

    def raw(self, index: int) -> str:
        """The chunk's text as it arrived."""
        return self._raw[index]

    def _value(self, index: int) -> JSONValue:
        raw = self._raw[index]
        if index < 0:
            index += len(self._raw)
        is_text = self._text_at is not None and index in self._text_at
        return raw if is_text else orjson.loads(raw)

    @overload
    def __getitem__(self, index: int) -> JSONValue: ...

    @overload
    def __getitem__(self, index: slice) -> list[JSONValue]: ...

    def __getitem__(self, index: int | slice) -> JSONValue:
        if isinstance(index, slice):
            return [self._value(i) for i in range(*index.indices(len(self._raw)))]
        return self._value(index)

    def __len__(self) -> int:
        return len(self._raw)

    def __iter__(self) -> Iterator[JSONValue]:
        return (self._value(i) for i in range(len(self._raw)))

    def __eq__(self, other: object) -> bool:
        if isinstance(other, ChunkLog | list | tuple):
            return list(self) == list(other)
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]  # mutable, like list

    def __repr__(self) -> str:
        return f"ChunkLog({list(self)!r})"


def _drop(_: object) -> None:
    """What a log that keeps no chunks does with one."""

"""Raw-lines framing: every line of the body is one chunk of text, blank lines included."""

from __future__ import annotations

from collections.abc import Callable
from typing import Generic, TypeVar, cast, overload

from sluice.streams.ndjson import plain_chunk
from sluice.streams.textdecode import LineSplitter
from sluice.streams.types import Chunk, JSONValue

T = TypeVar("T")


class LineDecoder(Generic[T]):
    """Incremental line decoder: bytes in, one item per line (terminator removed) out.

    Items are ``Chunk`` by default, with the line as both data and raw text; ``factory``
    builds something else. Blank lines are kept: they are part of the text (paragraph
    breaks). A last line without a terminator is released by ``flush``.
    """

    __slots__ = ("_factory", "_lines")

    @overload
    def __init__(self: LineDecoder[Chunk]) -> None: ...

    @overload
    def __init__(self, factory: Callable[[JSONValue, str], T]) -> None: ...

    def __init__(self, factory: Callable[[JSONValue, str], object] = plain_chunk) -> None:
        self._factory = cast("Callable[[JSONValue, str], T]", factory)  # T is Chunk by default
        self._lines = LineSplitter(strip_bom=True)

    def decode(self, data: bytes) -> list[T]:
        return [self._factory(line, line) for line in self._lines.decode(data)]

    def flush(self) -> list[T]:
        return [self._factory(line, line) for line in self._lines.flush()]

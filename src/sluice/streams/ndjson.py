"""JSON-per-line framing: one JSON value per line, blank lines skipped.

Some servers send one JSON value per blank-line-separated block, pretty-printed over
several lines (and some of them label it ``text/event-stream``). A line that is a JSON
value cut short is therefore held and joined with the following lines until the value
is complete; a line that is not JSON at all is an error at once.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Generic, TypeVar, cast, overload

import orjson

from sluice.errors import StreamFormatError
from sluice.streams.textdecode import LineSplitter
from sluice.streams.types import Chunk, JSONValue

T = TypeVar("T")

MAX_VALUE_CHARS = 4 * 1024 * 1024
"""A multi-line value longer than this is an error rather than unbounded memory."""


def plain_chunk(data: JSONValue, raw: str) -> Chunk:
    return Chunk(data, raw)


class NDJSONDecoder(Generic[T]):
    """Incremental JSON-lines decoder: bytes in, one item per JSON value out.

    Items are ``Chunk`` by default; ``factory(value, raw_text)`` builds something else.
    """

    __slots__ = ("_factory", "_held", "_held_chars", "_lines")

    @overload
    def __init__(self: NDJSONDecoder[Chunk]) -> None: ...

    @overload
    def __init__(self, factory: Callable[[JSONValue, str], T]) -> None: ...

    def __init__(self, factory: Callable[[JSONValue, str], object] = plain_chunk) -> None:
        self._factory = cast("Callable[[JSONValue, str], T]", factory)  # T is Chunk by default
        self._lines = LineSplitter()
        self._held: list[str] = []
        self._held_chars = 0

    def decode(self, data: bytes) -> list[T]:
        return self._parse(self._lines.decode(data))

    def flush(self) -> list[T]:
        out = self._parse(self._lines.flush())
        if self._held:
            text = "\n".join(self._held)
            self._held = []
            raise StreamFormatError(f"the stream ended inside a JSON value: {_excerpt(text)}")
        return out

    def _parse(self, lines: list[str]) -> list[T]:
        out: list[T] = []
        for line in lines:
            if self._held:
                chunk = self._continue(line)
            elif not line or line.isspace():
                continue
            else:
                chunk = self._start(line)
            if chunk is not None:
                out.append(chunk)
        return out

    def _start(self, line: str) -> T | None:
        try:
            return self._factory(orjson.loads(line), line)
        except orjson.JSONDecodeError as exc:
            if not _is_truncated(exc):
                raise StreamFormatError(f"a line is not JSON ({exc}): {_excerpt(line)}") from exc
        self._held = [line]
        self._held_chars = len(line)
        return None

    def _continue(self, line: str) -> T | None:
        if not line or line.isspace():
            return None
        self._held.append(line)
        self._held_chars += len(line)
        text = "\n".join(self._held)
        try:
            value = orjson.loads(text)
        except orjson.JSONDecodeError as exc:
            if not _is_truncated(exc) or self._held_chars > MAX_VALUE_CHARS:
                self._held = []
                message = f"a JSON value is malformed ({exc}): {_excerpt(text)}"
                raise StreamFormatError(message) from exc
            return None
        self._held = []
        return self._factory(value, text)


def _is_truncated(exc: orjson.JSONDecodeError) -> bool:
    """True when the text was valid JSON so far and simply ended too early."""
    return exc.pos >= len(exc.doc.rstrip()) if exc.doc else True


def _excerpt(text: str, limit: int = 80) -> str:
    return repr(text if len(text) <= limit else text[:limit] + "…")

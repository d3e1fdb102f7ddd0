"""JSON-per-line framing: one JSON value per line, blank lines skipped.

Some servers send one JSON value per blank-line-separated block, pretty-printed over
several lines (and some of them label it ``text/event-stream``). A line that is a JSON
value cut short is therefore held and joined with the following lines until the value
is complete; a line that is not JSON at all is an error at once.
"""

from __future__ import annotations

import orjson

from sluice.errors import StreamFormatError
from sluice.streams.textdecode import LineSplitter
from sluice.streams.types import Chunk

MAX_VALUE_CHARS = 4 * 1024 * 1024
"""A multi-line value longer than this is an error rather than unbounded memory."""


class NDJSONDecoder:
    """Incremental JSON-lines decoder: bytes in, one ``Chunk`` per JSON value out."""

    __slots__ = ("_held", "_held_chars", "_lines")

    def __init__(self) -> None:
        self._lines = LineSplitter()
        self._held: list[str] = []
        self._held_chars = 0

    def decode(self, data: bytes) -> list[Chunk]:
        return self._parse(self._lines.decode(data))

    def flush(self) -> list[Chunk]:
        out = self._parse(self._lines.flush())
        if self._held:
            text = "\n".join(self._held)
            self._held = []
            raise StreamFormatError(f"the stream ended inside a JSON value: {_excerpt(text)}")
        return out

    def _parse(self, lines: list[str]) -> list[Chunk]:
        out: list[Chunk] = []
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

    def _start(self, line: str) -> Chunk | None:
        try:
            return Chunk(orjson.loads(line), line)
        except orjson.JSONDecodeError as exc:
            if not _is_truncated(exc):
                raise StreamFormatError(f"a line is not JSON ({exc}): {_excerpt(line)}") from exc
        self._held = [line]
        self._held_chars = len(line)
        return None

    def _continue(self, line: str) -> Chunk | None:
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
        return Chunk(value, text)


def _is_truncated(exc: orjson.JSONDecodeError) -> bool:
    """True when the text was valid JSON so far and simply ended too early."""
    return exc.pos >= len(exc.doc.rstrip()) if exc.doc else True


def _excerpt(text: str, limit: int = 80) -> str:
    return repr(text if len(text) <= limit else text[:limit] + "…")

"""Raw-lines framing: every line of the body is one chunk of text, blank lines included."""

from __future__ import annotations

from sluice.streams.textdecode import LineSplitter
from sluice.streams.types import Chunk


class LineDecoder:
    """Incremental line decoder: bytes in, one ``Chunk`` per line (terminator removed) out.

    Blank lines are kept: they are part of the text (paragraph breaks). A last line without
    a terminator is released by ``flush``.
    """

    __slots__ = ("_lines",)

    def __init__(self) -> None:
        self._lines = LineSplitter(strip_bom=True)

    def decode(self, data: bytes) -> list[Chunk]:
        return [Chunk(line, line) for line in self._lines.decode(data)]

    def flush(self) -> list[Chunk]:
        return [Chunk(line, line) for line in self._lines.flush()]

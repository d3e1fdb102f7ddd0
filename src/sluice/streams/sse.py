"""Server-sent events framing, as the WHATWG HTML standard interprets an event stream.

https://html.spec.whatwg.org/multipage/server-sent-events.html#event-stream-interpretation

One deliberate difference: at the end of the body the spec discards an event that was
not followed by a blank line. Many servers (and several recorded provider streams) end
without that blank line while their last event is complete, so ``flush`` dispatches a
pending event that has data. An event with no ``data`` line is never dispatched.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Generic, TypeVar, cast, overload

from sluice.streams.textdecode import TextDecoder
from sluice.streams.types import SSEEvent

T = TypeVar("T")

EventFactory = Callable[[str, str, "str | None", "int | None"], T]
"""Builds one output item from (data, event type, last event id, retry ms)."""


def _sse_event(data: str, event: str, id: str | None, retry_ms: int | None) -> SSEEvent:
    return SSEEvent(data, event, id, retry_ms)


class SSEDecoder(Generic[T]):
    """Incremental event-stream decoder: bytes in, dispatched events out.

    By default it yields ``SSEEvent``; the pipeline passes its own ``factory`` so that the
    hot path builds one object per event instead of two.
    """

    __slots__ = ("_data", "_event", "_factory", "_last_id", "_pending", "_retry_ms", "_text")

    @overload
    def __init__(self: SSEDecoder[SSEEvent]) -> None: ...

    @overload
    def __init__(self, factory: EventFactory[T]) -> None: ...

    def __init__(self, factory: EventFactory[object] = _sse_event) -> None:
        self._factory = cast("EventFactory[T]", factory)  # T is SSEEvent by default
        self._text = TextDecoder()
        self._pending = ""
        self._data: list[str] = []
        self._event = ""
        self._last_id: str | None = None
        self._retry_ms: int | None = None

    @property
    def last_event_id(self) -> str | None:
        """The id a reconnecting client would send as ``Last-Event-ID``."""
        return self._last_id

    def decode(self, data: bytes) -> list[T]:
        out: list[T] = []
        for block in self.split_blocks(data):
            if block.startswith("data: ") and block.find("\n", 6) < 0:
                out.append(self.dispatch_data(block[6:]))
            else:
                out += self.interpret_block(block)
        return out

    def split_blocks(self, data: bytes) -> list[str]:
        """The event blocks (text between blank lines) this read completes.

        ``decode`` is ``interpret_block`` over these; a caller on the hot path may take a
        block that is a single ``data: `` line itself and hand it to ``dispatch_data``.
        """
        return self.blocks_of(self.complete_text(data))

    def complete_text(self, data: bytes) -> str:
        """The event blocks this read completes, as one text ending with a blank line.

        Returns "" when the read completes none; the rest is held for the next read.
        """
        text = self._text.decode(data)
        if not text:
            return ""
        if self._pending:
            text = self._pending + text
        end = text.rfind("\n\n") + 2
        if end == 1:
            self._pending = text
            return ""
        self._pending = text[end:]
        return text[:end]

    @staticmethod
    def blocks_of(text: str) -> list[str]:
        """The blocks of a ``complete_text``."""
        blocks = text.split("\n\n")
        blocks.pop()
        return blocks

    def take_object_lines(self, text: str) -> list[str] | None:
        """The data of every block of a ``complete_text`` when each is one ``data: {`` line.

        Returns None when any block is something else (another field, a comment, a
        non-object value); the caller then reads ``blocks_of(text)``. Taking the data
        marks the blocks dispatched, as ``event: message`` with the current last event id.
        """
        # Split, count and ``in`` are single C passes over the read; this measured 0.34 µs
        # per block against 0.40 for one regex pass and 0.53 for splitting into blocks.
        found = text[6:-2].split("\n\ndata: ")
        if not (
            text.startswith("data: {")
            and text.count("\n\ndata: {") == len(found) - 1  # every data is an object
            and "\n" not in "".join(found)  # every block is one line
        ):
            return None
        self._retry_ms = None
        return found

    def dispatch_data(self, data: str) -> T:
        """Dispatch a block that was one ``data`` line (the most common event by far)."""
        retry_ms, self._retry_ms = self._retry_ms, None
        return self._factory(data, "message", self._last_id, retry_ms)

    def interpret_block(self, block: str) -> list[T]:
        """Interpret one complete event block and dispatch its event, if it has data."""
        out = self._interpret(block.split("\n"))
        if self._data:
            out.append(self._dispatch())
        else:
            self._event = ""
        return out

    def flush(self) -> list[T]:
        tail = self._pending + self._text.decode(b"", final=True)
        self._pending = ""
        out = self._interpret(tail.split("\n")) if tail else []
        if self._data:
            out.append(self._dispatch())
        self._event = ""
        return out

    def _interpret(self, lines: list[str]) -> list[T]:
        out: list[T] = []
        for line in lines:
            if not line:
                if self._data:
                    out.append(self._dispatch())
                else:
                    self._event = ""
                continue
            if line[0] == ":":
                continue
            name, colon, value = line.partition(":")
            if colon and value[:1] == " ":
                value = value[1:]
            if name == "data":
                self._data.append(value)
            elif name == "event":
                self._event = value
            elif name == "id":
                if "\0" not in value:
                    self._last_id = value
            elif name == "retry" and value.isascii() and value.isdigit():
                self._retry_ms = int(value)
        return out

    def _dispatch(self) -> T:
        data = self._data[0] if len(self._data) == 1 else "\n".join(self._data)
        item = self._factory(data, self._event or "message", self._last_id, self._retry_ms)
        self._data = []
        self._event = ""
        self._retry_ms = None
        return item

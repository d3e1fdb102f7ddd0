"""The streaming pipeline: framing, mapping and buffering composed, bytes in, pieces out.

``StreamReader`` is the synchronous core (no I/O, driven by tests with plain bytes);
``read_batches`` and ``read_stream`` are the thin async adapters around it. The reader
never raises for a problem in the stream: it keeps what was said and the chunks that
arrived, records the error in ``error`` and ignores later input, so the caller decides
how to report it.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass

from sluice.errors import (
    StreamCutError,
    StreamError,
    StreamErrorEvent,
    StreamFormatError,
    UpstreamError,
)
from sluice.streams.buffering import make_buffer
from sluice.streams.framing import AutoFramer, make_framer
from sluice.streams.mapping import Mapping, build_mapping
from sluice.streams.types import Buffering, Chunk, JSONValue, StreamState, StreamType

_TEXT_MAPPINGS = frozenset({"none", "whole"})
"""Mappings that accept chunks that are not JSON; every other one needs JSON chunks."""


@dataclass(frozen=True, slots=True)
class StreamSettings:
    """How to read one upstream stream (the ``stream`` block of an integration)."""

    type: StreamType = StreamType.SSE
    mapping: str = "openai"
    expression: str | None = None
    buffering: Buffering = Buffering.NONE
    max_hold_chars: int | None = None
    max_hold_ms: int | None = None


class StreamReader:
    """Bytes of one response body in, released pieces of bot response out.

    Invariant: ``text`` (all released pieces) is exactly the concatenation of the mapped
    pieces; buffering changes when text leaves, never what leaves.
    """

    def __init__(
        self,
        settings: StreamSettings,
        *,
        content_type: str | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.settings = settings
        self.clock = clock
        self.chunks: list[JSONValue] = []
        self.state = StreamState()
        self.error: UpstreamError | None = None
        self._released: list[str] = []
        self._framer = make_framer(settings.type, content_type)
        self._mapping = self._build_mapping(settings.type)
        if isinstance(self._framer, AutoFramer):
            self._framer.on_resolved = self._on_framing_resolved
            if self._framer.resolved is not None:
                self._on_framing_resolved(self._framer.resolved)
        self._needs_json = settings.mapping not in _TEXT_MAPPINGS
        self._buffer = make_buffer(
            settings.buffering,
            max_hold_chars=settings.max_hold_chars,
            max_hold_ms=settings.max_hold_ms,
            clock=clock,
        )
        self._is_buffered = settings.buffering is not Buffering.NONE
        self._is_closed = False

    @property
    def text(self) -> str:
        """Everything released so far."""
        return "".join(self._released)

    @property
    def holds_by_time(self) -> bool:
        """Whether held text must be released on a timer (buffering with ``max_hold_ms``)."""
        return self._is_buffered and self.settings.max_hold_ms is not None

    def feed(self, data: bytes) -> list[str]:
        """Take one read of the body; return the pieces it releases."""
        if self._is_closed:
            return []
        try:
            chunks = self._framer.decode(data)
        except StreamFormatError as exc:
            return self._fail(exc)
        return self._map(chunks) if chunks else []

    def poll(self) -> list[str]:
        """Release held text whose ``max_hold_ms`` has passed."""
        return self._release(self._buffer.poll())

    def hold_deadline(self) -> float | None:
        """Clock time at which held text becomes due, or None."""
        return self._buffer.hold_deadline()

    def finish(self) -> list[str]:
        """The body ended: flush every stage; a missing end marker becomes ``StreamCutError``."""
        if self._is_closed:
            return []
        try:
            pieces = self._map(self._framer.flush())
        except StreamFormatError as exc:
            return self._fail(exc)
        if self._is_closed:
            return pieces
        pieces += self._close()
        if self._mapping.needs_end_marker and not self.state.is_done:
            self.error = StreamCutError("the stream ended before the upstream marked it complete")
        return pieces

    def fail(self, error: UpstreamError) -> list[str]:
        """The body broke off (timeout, reset): keep what was mapped, release what is held."""
        return [] if self._is_closed else self._fail(error)

    def _map(self, chunks: list[Chunk]) -> list[str]:
        out: list[str] = []
        mapping, state, chunk_data = self._mapping, self.state, self.chunks
        for chunk in chunks:
            if self._needs_json and chunk.data is chunk.raw and chunk.event is not None:
                if not chunk.raw.strip():
                    continue
                if chunk.raw != "[DONE]":
                    return out + self._fail(_not_json(chunk, self.settings.mapping))
            chunk_data.append(chunk.data)
            text = mapping.map(chunk, state)
            if state.error is not None:
                if text:
                    out += self._release(self._buffer.decode(text))
                message = state.error_message or "the upstream reported an error"
                return out + self._fail(StreamErrorEvent(message, error=state.error))
            if text:
                if self._is_buffered:
                    out += self._release(self._buffer.decode(text))
                else:
                    self._released.append(text)
                    out.append(text)
        return out

    def _release(self, pieces: list[str]) -> list[str]:
        self._released += pieces
        return pieces

    def _close(self) -> list[str]:
        self._is_closed = True
        return self._release(self._buffer.flush())

    def _fail(self, error: UpstreamError) -> list[str]:
        self.error = error
        return self._close()

    def _build_mapping(self, stream_type: StreamType) -> Mapping:
        separator = "" if stream_type in (StreamType.SSE, StreamType.AUTO) else "\n"
        return build_mapping(self.settings.mapping, self.settings.expression, separator=separator)

    def _on_framing_resolved(self, stream_type: StreamType) -> None:
        if self.settings.mapping == "whole":
            self._mapping = self._build_mapping(stream_type)


def _not_json(chunk: Chunk, mapping: str) -> StreamError:
    excerpt = chunk.raw if len(chunk.raw) <= 80 else chunk.raw[:80] + "…"
    return StreamFormatError(
        f"a chunk is not JSON, but the {mapping!r} mapping reads JSON: {excerpt!r}"
        " (use mapping 'whole' to say raw text)"
    )


async def read_batches(
    body: AsyncIterator[bytes], reader: StreamReader
) -> AsyncIterator[list[str]]:
    """Yield the pieces each read of ``body`` releases, as one list per read.

    Empty lists are not yielded. When the stream fails, the pieces said before the failure
    are yielded first and then ``reader.error`` is raised. With ``max_hold_ms`` held text is
    released on time even while the upstream is silent.
    """
    if reader.holds_by_time:
        reads = _reads_with_hold(body, reader)
    else:
        reads = _plain_reads(body, reader)
    async for pieces in reads:
        if pieces:
            yield pieces
        if reader.error is not None:
            break
    else:
        tail = reader.finish()
        if tail:
            yield tail
    if reader.error is not None:
        raise reader.error


async def read_stream(body: AsyncIterator[bytes], reader: StreamReader) -> AsyncIterator[str]:
    """Yield released pieces one by one (see ``read_batches``)."""
    async for pieces in read_batches(body, reader):
        for piece in pieces:
            yield piece


async def _plain_reads(
    body: AsyncIterator[bytes], reader: StreamReader
) -> AsyncIterator[list[str]]:
    async for data in body:
        yield reader.feed(data)


async def _next_read(body: AsyncIterator[bytes]) -> bytes | None:
    try:
        return await anext(body)
    except StopAsyncIteration:
        return None


async def _reads_with_hold(
    body: AsyncIterator[bytes], reader: StreamReader
) -> AsyncIterator[list[str]]:
    loop = asyncio.get_running_loop()
    pending: asyncio.Task[bytes | None] | None = None
    try:
        while True:
            if pending is None:
                pending = loop.create_task(_next_read(body))
            deadline = reader.hold_deadline()
            if deadline is not None:
                done, _ = await asyncio.wait({pending}, timeout=max(0.0, deadline - reader.clock()))
                if not done:
                    yield reader.poll()
                    continue
            data = await pending
            pending = None
            if data is None:
                return
            yield reader.feed(data)
    finally:
        if pending is not None:
            pending.cancel()

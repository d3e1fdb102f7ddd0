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
from collections.abc import AsyncGenerator, AsyncIterator, Callable
from dataclasses import dataclass
from typing import Protocol

import orjson

from sluice.errors import (
    StreamCutError,
    StreamError,
    StreamErrorEvent,
    StreamFormatError,
    UpstreamError,
)
from sluice.streams.buffering import make_buffer
from sluice.streams.chunklog import ChunkLog
from sluice.streams.framing import JSON_STARTS, AutoFramer, Framer, make_framer_with
from sluice.streams.lines import LineDecoder
from sluice.streams.mapping import Mapping, RuleMapping, build_mapping
from sluice.streams.rules import MappedFunction, ReadFunction
from sluice.streams.sse import SSEDecoder
from sluice.streams.types import Buffering, JSONValue, StreamState, StreamType

_TEXT_MAPPINGS = frozenset({"none", "whole"})
"""Mappings that accept chunks that are not JSON; every other one needs JSON chunks."""
_SSE_EVENT_ENDS = (b"\n\n", b"\r\n\r\n")
_LINE_ENDS = (b"\n",)

FIRST_EVENTS_ALONE = 4
"""At most this many events of a stream are fed one at a time until it says something: a
chat stream's role-only chunk and first delta, with room to spare. A stream that says
nothing for longer (reasoning, tool calls, a sentence held back) is fed read by read."""


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
        keep_chunks: bool = True,
    ) -> None:
        self.settings = settings
        self.clock = clock
        self.chunks = ChunkLog(keep=keep_chunks)
        self.state = StreamState()
        self.error: UpstreamError | None = None
        self._released: list[str] = []
        self._framer = self._make_framer(settings.type, content_type)
        self._sse = self._framer if isinstance(self._framer, SSEDecoder) else None
        self._mapping = self._build_mapping(settings.type)
        if isinstance(self._framer, AutoFramer):
            self._framer.on_resolved = self._on_framing_resolved
            if self._framer.resolved is not None:
                self._on_framing_resolved(self._framer.resolved)
        self._needs_json = settings.mapping not in _TEXT_MAPPINGS
        self._keep_json = self.chunks.append_json
        self._map_fields = self._mapping.map_fields
        self._map_message: MappedFunction | None = None
        self._read_messages: ReadFunction | None = None
        if isinstance(self._mapping, RuleMapping):
            self._map_message = self._mapping.function_for("message")
            self._read_messages = self._mapping.messages_reader()
        self._buffer = make_buffer(
            settings.buffering,
            max_hold_chars=settings.max_hold_chars,
            max_hold_ms=settings.max_hold_ms,
            clock=clock,
        )
        self._is_buffered = settings.buffering is not Buffering.NONE
        self._is_closed = False
        self._failure: UpstreamError | None = None
        self._event_ends = _SSE_EVENT_ENDS if self._sse is not None else _LINE_ENDS
        self._alone_left = FIRST_EVENTS_ALONE

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
            said = self._read_sse(data) if self._sse is not None else self._framer.decode(data)
        except StreamFormatError as exc:
            return self._fail(exc)
        return self._release_said(said) if said or self._failure is not None else []

    def feed_first(self, data: bytes) -> tuple[list[str], bytes]:
        """``feed`` that takes only the first event of ``data`` while the stream is in its
        first ``FIRST_EVENTS_ALONE`` events and has said nothing (text or reasoning): its
        first text then leaves without waiting for the rest of a burst. Returns the pieces
        and the bytes still to feed (empty once ``data`` is all taken)."""
        if not self._alone_left:
            return self.feed(data), b""
        self._alone_left -= 1
        data, rest = split_first_event(data, self._event_ends)
        pieces = self.feed(data)
        if pieces or self.state.reasoning:
            self._alone_left = 0
        return pieces, rest

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
            pieces = self._release_said(self._framer.flush())
        except StreamFormatError as exc:
            return self._fail(exc)
        if self.error is not None:
            return pieces
        pieces += self._close()
        if self._mapping.needs_end_marker and not self.state.is_done:
            self.error = StreamCutError("the stream ended before the upstream marked it complete")
        return pieces

    def fail(self, error: UpstreamError) -> list[str]:
        """The body broke off (timeout, reset): keep what was mapped, release what is held."""
        return [] if self._is_closed else self._fail(error)

    def close(self) -> None:
        """Read no more: later reads are ignored; ``text``, ``chunks`` and ``state`` stay.

        The framer calls back into this reader, so the two form a cycle that only the
        collector's full pass would free (rare while serving): closing lets the reader go
        the moment its run is done with it.
        """
        self._is_closed = True
        self._framer, self._sse = _CLOSED_FRAMER, None

    def _on_sse_event(self, data: str, event: str, id: str | None, retry_ms: int | None) -> str:
        """The SSE decoder's factory: parse, keep and map one event; return what it says.

        The JSON case is written out inline: it runs once per upstream token.
        """
        # ``[DONE]`` starts like JSON: orjson's error for it builds the stdlib's
        # JSONDecodeError (line and column counted), once per stream.
        if (
            data[:1] in JSON_STARTS
            and data != "[DONE]"
            and self._failure is None
            and self.error is None
        ):
            try:
                value = orjson.loads(data)
            except orjson.JSONDecodeError:
                return self._on_chunk(data, data, event)
            self._keep_json(data)
            try:
                if event == "message" and self._map_message is not None:
                    text = self._map_message(value, self.state)
                else:
                    text = self._map_fields(value, data, event, self.state)
            except StreamFormatError as exc:
                self._failure = exc
                return ""
            if self.state.error is not None:
                self._note_stream_error()
            return text or ""
        return self._on_chunk(data, data, event)

    def _read_sse(self, data: bytes) -> list[str]:
        """The hot path: the SSE events of one read, mapped; returns only non-empty texts.

        A read whose blocks are all one ``data: {`` line (nearly every read of a provider
        stream) goes to the mapping's compiled loop in one call; see bench/streams.py.
        """
        assert self._sse is not None
        text = self._sse.complete_text(data)
        if not text:
            return []
        said: list[str] = []
        if self._read_messages is not None:
            raws = self._sse.take_object_lines(text)
            if raws is not None:
                return self._read_objects(raws, self._read_messages)
            # A stream's last read often holds many chunks and then ``data: [DONE]``:
            # take the chunks on the fast path and interpret only the last block.
            head, _, last = text[:-2].rpartition("\n\n")
            raws = self._sse.take_object_lines(head + "\n\n") if head else None
            if raws is not None:
                said = self._read_objects(raws, self._read_messages)
                if self._failure is not None or self.error is not None:
                    return said
                text = last + "\n\n"
        for block in self._sse.blocks_of(text):
            said += [piece for piece in self._sse.interpret_block(block) if piece]
            if self._failure is not None or self.error is not None:
                break
        return said

    def _read_objects(self, raws: list[str], read_messages: ReadFunction) -> list[str]:
        """Parse, keep and map the JSON objects of ``message`` events, up to a failure."""
        said: list[str] = []
        state = self.state
        count = read_messages(raws, state, said.append, self._set_failure)
        self.chunks.extend_json(raws if count == len(raws) else raws[:count])
        if self._failure is None:
            if state.error is not None:
                self._note_stream_error()
            elif count < len(raws):
                self._on_chunk(raws[count], raws[count], "message")  # not JSON: records it
        return said

    def _set_failure(self, error: StreamFormatError) -> None:
        self._failure = error

    def _on_line_chunk(self, data: JSONValue, raw: str) -> str:
        return self._on_chunk(data, raw, None)

    def _on_chunk(self, data: JSONValue, raw: str, event: str | None) -> str:
        """Keep and map one chunk; return the text it says ("" for nothing).

        A failure is recorded in ``_failure`` and the rest of the read is ignored, so the
        text said before it in the same read still leaves.
        """
        if self._failure is not None or self.error is not None:
            return ""
        if data is raw:
            if event is not None and raw == "[DONE]":
                self._mapping.map_fields(data, raw, event, self.state)
                return ""  # the end marker: noted, not kept as a chunk
            if self._needs_json:
                if raw.strip():
                    self._failure = _not_json(raw, self.settings.mapping)
                return ""
            self.chunks.append_text(raw)
        else:
            self.chunks.append_json(raw)
        state = self.state
        try:
            text = self._mapping.map_fields(data, raw, event, state)
        except StreamFormatError as exc:
            self._failure = exc
            return ""
        if state.error is not None:
            self._note_stream_error()
        return text or ""

    def _note_stream_error(self) -> None:
        message = self.state.error_message or "the upstream reported an error"
        self._failure = StreamErrorEvent(message, error=self.state.error)

    def _release_said(self, said: list[str]) -> list[str]:
        """Buffer the text the chunks of one read said; close on a failure among them."""
        out: list[str] = []
        if self._is_buffered:
            out = self._buffer.decode_all(said)
        elif self._sse is not None:
            out = said  # _read_sse says only non-empty texts
        else:
            out = [text for text in said if text]
        self._released += out
        if self._failure is not None:
            failure, self._failure = self._failure, None
            out += self._fail(failure)
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

    def _make_framer(self, stream_type: StreamType, content_type: str | None) -> Framer[str]:
        return make_framer_with(
            stream_type, content_type, on_sse=self._on_sse_event, on_chunk=self._on_line_chunk
        )

    def _build_mapping(self, stream_type: StreamType) -> Mapping:
        separator = "" if stream_type in (StreamType.SSE, StreamType.AUTO) else "\n"
        return build_mapping(self.settings.mapping, self.settings.expression, separator=separator)

    def _on_framing_resolved(self, stream_type: StreamType) -> None:
        if self.settings.mapping == "whole":
            self._mapping = self._build_mapping(stream_type)
            self._map_fields = self._mapping.map_fields


class EarlyReader:
    """A response's ``StreamReader``, built as soon as its request is out when the framing
    does not wait on the Content-Type (every type but AUTO): the upstream's first bytes
    then meet a reader that is ready. Give ``build`` as the call's ``on_sent``; it holds
    nothing of its owner, so the call and the owner make no cycle through it."""

    __slots__ = ("_keep_chunks", "_reader", "_settings")

    def __init__(self, settings: StreamSettings, *, keep_chunks: bool = True) -> None:
        self._settings = settings
        self._keep_chunks = keep_chunks
        self._reader: StreamReader | None = None

    @property
    def can_build_early(self) -> bool:
        return self._settings.type is not StreamType.AUTO

    def build(self) -> None:
        self._reader = StreamReader(self._settings, keep_chunks=self._keep_chunks)

    def take(self, content_type: str | None) -> StreamReader:
        """The reader built early, or one built now for ``content_type``."""
        reader = self._reader
        if reader is None:
            reader = StreamReader(
                self._settings, content_type=content_type, keep_chunks=self._keep_chunks
            )
        return reader


def _ignore_chunk(value: JSONValue, raw: str) -> str:
    return ""


_CLOSED_FRAMER: Framer[str] = LineDecoder(_ignore_chunk)
"""What a closed reader holds instead of its framer (shared: a closed reader never feeds it)."""


def _not_json(raw: str, mapping: str) -> StreamError:
    excerpt = raw if len(raw) <= 80 else raw[:80] + "…"
    return StreamFormatError(
        f"a chunk is not JSON, but the {mapping!r} mapping reads JSON: {excerpt!r}"
        " (use mapping 'whole' to say raw text)"
    )


class Batches(Protocol):
    """What ``read_batches`` returns: an async iterator of piece lists, closed by ``aclose``."""

    def __aiter__(self) -> AsyncIterator[list[str]]: ...

    async def __anext__(self) -> list[str]: ...

    async def aclose(self) -> None: ...


def split_first_event(data: bytes, ends: tuple[bytes, ...]) -> tuple[bytes, bytes]:
    """``data`` cut after the first of ``ends`` it holds (an event's end): the first part,
    and the rest (empty when ``data`` holds no end before its last bytes).

    ``StreamReader.feed_first`` feeds a stream's first events one at a time with it: a
    burst of fifty chunks in one read then costs the first token the parse of one, not
    fifty. Any cut is safe: the reader takes a body cut anywhere, as the network cuts it.
    """
    cut = len(data)
    for end in ends:
        found = data.find(end, 0, cut)  # only before the end found so far: no second full scan
        if found >= 0:
            cut = found + len(end)
    if cut >= len(data):
        return data, b""
    return data[:cut], data[cut:]


def read_batches(body: AsyncIterator[bytes], reader: StreamReader) -> Batches:
    """The pieces each read of ``body`` releases, as one list per read.

    Empty lists are not given. Reads are fed with ``StreamReader.feed_first``: the first
    text leaves without waiting for the rest of its read. When the stream fails, the
    pieces said before the failure come first and then ``reader.error`` is raised. With
    ``max_hold_ms`` held text is released on time even while the upstream is silent.
    ``aclose()`` closes ``body``.
    """
    if reader.holds_by_time:
        return _held_batches(body, reader)
    return _FedBatches(body, reader)


class _FedBatches:
    """``read_batches`` without timed release (the common case), as a plain async
    iterator: no generator frame, nor the loop's weak reference to it, held per stream."""

    __slots__ = ("_body", "_is_done", "_reader", "_rest")

    def __init__(self, body: AsyncIterator[bytes], reader: StreamReader) -> None:
        self._body = body
        self._reader = reader
        self._is_done = False
        self._rest = b""  # what ``feed_first`` left of the last read

    def __aiter__(self) -> _FedBatches:
        return self

    async def __anext__(self) -> list[str]:
        reader = self._reader
        while not self._is_done:
            if reader.error is not None:
                raise reader.error
            if self._rest:
                data, self._rest = self._rest, b""
            else:
                try:
                    data = await anext(self._body)
                except StopAsyncIteration:
                    self._is_done = True
                    tail = reader.finish()
                    if tail:
                        return tail
                    break
            pieces, self._rest = reader.feed_first(data)
            if pieces:
                return pieces
        if reader.error is not None:
            raise reader.error
        raise StopAsyncIteration

    async def aclose(self) -> None:
        self._is_done = True
        aclose = getattr(self._body, "aclose", None)
        if aclose is not None:
            await aclose()


async def _held_batches(
    body: AsyncIterator[bytes], reader: StreamReader
) -> AsyncGenerator[list[str], None]:
    try:
        async for pieces in _reads_with_hold(body, reader):
            if pieces:
                yield pieces
            if reader.error is not None:
                raise reader.error
        tail = reader.finish()
        if tail:
            yield tail
        if reader.error is not None:
            raise reader.error
    finally:
        aclose = getattr(body, "aclose", None)
        if aclose is not None:
            await aclose()


async def read_stream(body: AsyncIterator[bytes], reader: StreamReader) -> AsyncIterator[str]:
    """Yield released pieces one by one (see ``read_batches``)."""
    async for pieces in read_batches(body, reader):
        for piece in pieces:
            yield piece


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

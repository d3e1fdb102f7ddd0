"""Choosing the framing of a response body, including ``type: auto``.

``auto`` reads the response's Content-Type and, where that is missing or ambiguous,
the first bytes of the body:

| Content-Type                                     | framing                               |
|--------------------------------------------------|---------------------------------------|
| application/x-ndjson, application/ndjson,        | ndjson                                |
| application/jsonl, application/x-jsonlines,      |                                       |
| application/stream+json, application/json        |                                       |
| text/event-stream                                | sse, or ndjson when the body starts   |
|                                                  | with ``{``/``[`` (mislabelled JSON)   |
| text/plain, anything else, or none               | sniffed: sse when the first line is an|
|                                                  | SSE field or comment, ndjson when it  |
|                                                  | starts with ``{``/``[``, else lines   |
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Generic, TypeVar, cast, overload

import orjson

from sluice.streams.lines import LineDecoder
from sluice.streams.ndjson import NDJSONDecoder, plain_chunk
from sluice.streams.sse import EventFactory, SSEDecoder
from sluice.streams.types import Chunk, JSONValue, Stage, StreamType

T = TypeVar("T")
Framer = Stage[bytes, T]
ChunkFactory = Callable[[JSONValue, str], T]
"""Builds one output item from (parsed value, raw text) for JSON lines and raw lines."""

_NDJSON_TYPES = frozenset(
    {
        "application/x-ndjson",
        "application/ndjson",
        "application/jsonl",
        "application/x-jsonlines",
        "application/jsonlines",
        "application/stream+json",
        "application/json",
        "application/x-json-stream",
    }
)
_SSE_FIELD = re.compile(r"(?:data|event|id|retry)(?::|$)|:")
_SNIFF_LIMIT = 1024
"""Bytes read before deciding even without a complete first line."""


def sse_chunk(data: str, event: str, id: str | None, retry_ms: int | None) -> Chunk:
    """Build the chunk for one SSE event: its data parsed as JSON where it is JSON."""
    if data[:1] in JSON_STARTS:
        try:
            return Chunk(orjson.loads(data), data, event)
        except orjson.JSONDecodeError:
            pass
    return Chunk(data, data, event)


JSON_STARTS = frozenset('{["-0123456789tfn')
"""First characters of a JSON text; SSE data starting otherwise is not parsed."""


def media_type(content_type: str | None) -> str:
    """The bare, lower-case media type of a Content-Type header value ('' when absent)."""
    return (content_type or "").split(";", 1)[0].strip().lower()


def framing_for_content_type(content_type: str | None) -> StreamType | None:
    """The framing a Content-Type settles on its own, or None when the body must decide."""
    kind = media_type(content_type)
    if kind in _NDJSON_TYPES:
        return StreamType.NDJSON
    return None


def sniff_framing(head: bytes, content_type: str | None) -> StreamType:
    """Decide the framing from the first bytes of the body (BOM and blank lines skipped)."""
    text = head.decode("utf-8", errors="replace").lstrip("\ufeff \t\r\n")
    if text[:1] in ("{", "["):
        return StreamType.NDJSON
    if media_type(content_type) == "text/event-stream" or _SSE_FIELD.match(text):
        return StreamType.SSE
    return StreamType.LINES


def make_framer(stream_type: StreamType, content_type: str | None = None) -> Framer[Chunk]:
    """A framing stage yielding ``Chunk``; for AUTO, one that decides on the first bytes."""
    return make_framer_with(stream_type, content_type, on_sse=sse_chunk, on_chunk=plain_chunk)


def make_framer_with(
    stream_type: StreamType,
    content_type: str | None,
    *,
    on_sse: EventFactory[T],
    on_chunk: ChunkFactory[T],
) -> Framer[T]:
    """A framing stage whose items the given factories build (the pipeline's hot path)."""
    if stream_type is StreamType.AUTO:
        return AutoFramer(content_type, on_sse=on_sse, on_chunk=on_chunk)
    if stream_type is StreamType.SSE:
        return SSEDecoder(on_sse)
    if stream_type is StreamType.NDJSON:
        return NDJSONDecoder(on_chunk)
    return LineDecoder(on_chunk)


class AutoFramer(Generic[T]):
    """Holds the first bytes until the framing is known, then delegates to that framer."""

    __slots__ = (
        "_content_type",
        "_head",
        "_inner",
        "_on_chunk",
        "_on_sse",
        "on_resolved",
        "resolved",
    )

    @overload
    def __init__(
        self: AutoFramer[Chunk],
        content_type: str | None,
        on_resolved: Callable[[StreamType], None] | None = None,
    ) -> None: ...

    @overload
    def __init__(
        self,
        content_type: str | None,
        on_resolved: Callable[[StreamType], None] | None = None,
        *,
        on_sse: EventFactory[T],
        on_chunk: ChunkFactory[T],
    ) -> None: ...

    def __init__(
        self,
        content_type: str | None,
        on_resolved: Callable[[StreamType], None] | None = None,
        *,
        on_sse: EventFactory[object] = sse_chunk,
        on_chunk: ChunkFactory[object] = plain_chunk,
    ) -> None:
        self._content_type = content_type
        self._on_sse = cast("EventFactory[T]", on_sse)  # T is Chunk by default
        self._on_chunk = cast("ChunkFactory[T]", on_chunk)
        self._head = b""
        self.on_resolved = on_resolved
        self.resolved = framing_for_content_type(content_type)
        self._inner: Framer[T] | None = None
        if self.resolved is not None:
            self._inner = self._framer(self.resolved)

    def decode(self, data: bytes) -> list[T]:
        if self._inner is not None:
            return self._inner.decode(data)
        self._head += data
        stripped = self._head.lstrip(b"\xef\xbb\xbf \t\r\n")
        if b"\n" not in stripped and b"\r" not in stripped and len(self._head) < _SNIFF_LIMIT:
            return []
        return self._resolve().decode(self._take_head())

    def flush(self) -> list[T]:
        if self._inner is None:
            head = self._take_head()
            inner = self._resolve()
            return inner.decode(head) + inner.flush()
        return self._inner.flush()

    def _framer(self, stream_type: StreamType) -> Framer[T]:
        return make_framer_with(stream_type, None, on_sse=self._on_sse, on_chunk=self._on_chunk)

    def _resolve(self) -> Framer[T]:
        self.resolved = sniff_framing(self._head, self._content_type)
        self._inner = self._framer(self.resolved)
        if self.on_resolved is not None:
            self.on_resolved(self.resolved)
        return self._inner

    def _take_head(self) -> bytes:
        head, self._head = self._head, b""
        return head

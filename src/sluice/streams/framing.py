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

import orjson

from sluice.streams.lines import LineDecoder
from sluice.streams.ndjson import NDJSONDecoder
from sluice.streams.sse import SSEDecoder
from sluice.streams.types import Chunk, Stage, StreamType

Framer = Stage[bytes, Chunk]

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
    if data[:1] in _JSON_STARTS:
        try:
            return Chunk(orjson.loads(data), data, event)
        except orjson.JSONDecodeError:
            pass
    return Chunk(data, data, event)


_JSON_STARTS = frozenset('{["-0123456789tfn')


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


def make_framer(stream_type: StreamType, content_type: str | None = None) -> Framer:
    """A framing stage for ``stream_type``; for AUTO, one that decides on the first bytes."""
    if stream_type is StreamType.AUTO:
        return AutoFramer(content_type)
    if stream_type is StreamType.SSE:
        return SSEDecoder(sse_chunk)
    if stream_type is StreamType.NDJSON:
        return NDJSONDecoder()
    return LineDecoder()


class AutoFramer:
    """Holds the first bytes until the framing is known, then delegates to that framer."""

    __slots__ = ("_content_type", "_head", "_inner", "on_resolved", "resolved")

    def __init__(
        self,
        content_type: str | None,
        on_resolved: Callable[[StreamType], None] | None = None,
    ) -> None:
        self._content_type = content_type
        self._head = b""
        self.on_resolved = on_resolved
        self.resolved = framing_for_content_type(content_type)
        self._inner: Framer | None = None
        if self.resolved is not None:
            self._inner = make_framer(self.resolved)

    def decode(self, data: bytes) -> list[Chunk]:
        if self._inner is not None:
            return self._inner.decode(data)
        self._head += data
        stripped = self._head.lstrip(b"\xef\xbb\xbf \t\r\n")
        if b"\n" not in stripped and b"\r" not in stripped and len(self._head) < _SNIFF_LIMIT:
            return []
        return self._resolve().decode(self._take_head())

    def flush(self) -> list[Chunk]:
        if self._inner is None:
            head = self._take_head()
            inner = self._resolve()
            return inner.decode(head) + inner.flush()
        return self._inner.flush()

    def _resolve(self) -> Framer:
        self.resolved = sniff_framing(self._head, self._content_type)
        self._inner = make_framer(self.resolved)
        if self.on_resolved is not None:
            self.on_resolved(self.resolved)
        return self._inner

    def _take_head(self) -> bytes:
        head, self._head = self._head, b""
        return head

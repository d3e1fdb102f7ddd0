"""The vocabulary of the streaming core: stream settings, frames, chunks and the stage shape.

Data flows bytes -> frames (framing) -> chunks -> pieces of bot response (mapping)
-> released pieces (buffering). Every stage is an incremental object with
``decode(item) -> list[out]`` returning what is complete and ``flush() -> list[out]``
returning what is left at the end of the stream.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Protocol, TypeVar

JSONValue = Any
"""A value as ``orjson.loads`` returns it; narrowed by the first function that reads it."""


class StreamType(StrEnum):
    """How the response body is cut into frames."""

    SSE = "sse"
    NDJSON = "ndjson"
    LINES = "lines"
    AUTO = "auto"


class Buffering(StrEnum):
    """When mapped text is released to the user."""

    NONE = "none"
    WORDS = "words"
    SENTENCES = "sentences"


@dataclass(frozen=True, slots=True)
class SSEEvent:
    """One dispatched server-sent event (WHATWG HTML, "Interpreting an event stream").

    ``event`` is the event type (``"message"`` when the stream named none), ``data`` the
    data lines joined with ``\\n``, ``id`` the last event id in force when it was
    dispatched, ``retry_ms`` the reconnection time the event block set, if any.
    """

    data: str
    event: str = "message"
    id: str | None = None
    retry_ms: int | None = None


@dataclass(frozen=True, slots=True)
class Chunk:
    """One parsed unit of an upstream stream, as the mapping and the flow see it.

    ``data`` is the parsed JSON value when the frame holds JSON, else the frame's text;
    ``raw`` is the frame's text as received; ``event`` is the SSE event type (``None``
    for JSON lines and raw lines).
    """

    data: JSONValue
    raw: str
    event: str | None = None


@dataclass(slots=True)
class StreamState:
    """What a mapping learns about a stream besides its answer text.

    Written by the mapping as chunks pass; read by the pipeline at the end.
    """

    is_done: bool = False
    finish_reason: str | None = None
    usage: dict[str, JSONValue] | None = None
    reasoning: list[str] = field(default_factory=list)
    error: JSONValue = None
    error_message: str | None = None


In_contra = TypeVar("In_contra", contravariant=True)
Out = TypeVar("Out")


class Stage(Protocol[In_contra, Out]):
    """An incremental stream stage: feed items, get back what is complete."""

    def decode(self, item: In_contra, /) -> list[Out]: ...

    def flush(self) -> list[Out]: ...

"""Reading a run's event stream: SSE bytes in, typed events out, resumable across connections.

``StreamCursor`` holds no socket: the sync and async clients feed it the bytes they read,
and it remembers what a reconnect needs (the run id, the last event id, whether the end
event came) and how long to wait before one.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import orjson

from sluice.client._errors import ResponseFormatError, StreamInterruptedError
from sluice.client._replies import (
    as_object,
    chat_reply_events,
    optional_str,
    prediction_events,
    read_documents,
    read_json,
    read_objects,
    read_used_tools,
)
from sluice.client._types import (
    AgentResponse,
    ChatError,
    ChatEvent,
    ChatToken,
    End,
    MessageSaved,
    Metadata,
    PredictionEvent,
    SourceDocuments,
    Start,
    Status,
    StreamEnd,
    StreamError,
    StreamStart,
    Token,
    ToolEnd,
    ToolStart,
    UsageMetadata,
    UsedTools,
)
from sluice.streams.sse import SSEDecoder
from sluice.streams.types import SSEEvent

logger = logging.getLogger(__name__)

E = TypeVar("E")


@dataclass(frozen=True, slots=True)
class WireFormat(Generic[E]):
    """One family of events: how an SSE payload reads, and how a whole JSON reply does."""

    read_event: Callable[[Any, str | None], E | None]
    read_reply: Callable[[Any], list[E]]


def read_prediction_event(payload: Any, event_id: str | None) -> PredictionEvent | None:
    """``{"event": E, "data": D}`` (Flowise's prediction stream); ``None`` for unknown E."""
    body = as_object(payload, "a prediction event")
    name, data = body.get("event"), body.get("data")
    if name == "token":
        return Token(optional_str(data) or "", event_id)
    if name == "start":
        return Start(optional_str(data) or "", event_id)
    if name == "end":
        return End(event_id)
    if name == "sourceDocuments":
        return SourceDocuments(read_documents(data), event_id)
    if name == "usedTools":
        return UsedTools(read_used_tools(data), event_id)
    if name == "usageMetadata":
        return UsageMetadata(as_object(data, "usageMetadata"), event_id)
    if name == "metadata":
        meta = as_object(data, "metadata")
        return Metadata(
            optional_str(meta.get("chatId")),
            optional_str(meta.get("chatMessageId")),
            optional_str(meta.get("question")),
            optional_str(meta.get("sessionId")),
            event_id,
        )
    if name == "error":
        message = data if isinstance(data, str) else orjson.dumps(data).decode()
        return StreamError(message, event_id)
    logger.debug("skipping prediction event %r", name)
    return None


def read_chat_event(payload: Any, event_id: str | None) -> ChatEvent | None:
    """``{"type": T, ...}`` (the chat API's stream); ``None`` for unknown T."""
    body = as_object(payload, "a chat event")
    kind = body.get("type")
    if kind == "token":
        return ChatToken(optional_str(body.get("content")) or "", event_id)
    if kind == "stream_start":
        run_id = optional_str(body.get("runId")) or ""
        message_id = optional_str(body.get("messageId"))
        return StreamStart(run_id, message_id, optional_str(body.get("chatInstanceId")), event_id)
    if kind == "stream_end":
        return StreamEnd(event_id)
    if kind == "tool_start":
        return ToolStart(optional_str(body.get("tool")) or "", body.get("input"), event_id)
    if kind == "tool_end":
        tool, error = optional_str(body.get("tool")) or "", optional_str(body.get("error"))
        return ToolEnd(tool, body.get("output"), error, event_id)
    if kind == "status":
        return Status(optional_str(body.get("content")) or "", event_id)
    if kind == "agent_response":
        return _read_agent_response(body, event_id)
    if kind == "message_saved":
        return MessageSaved(optional_str(body.get("messageId")) or "", event_id)
    if kind == "error":
        code = optional_str(body.get("code")) or "error"
        return ChatError(code, optional_str(body.get("message")) or "", event_id)
    logger.debug("skipping chat event %r", kind)
    return None


def _read_agent_response(body: dict[str, Any], event_id: str | None) -> AgentResponse:
    usage = body.get("usage")
    return AgentResponse(
        optional_str(body.get("content")) or "",
        read_objects(body.get("tools"), "tools"),
        read_objects(body.get("sources"), "sources"),
        usage if isinstance(usage, dict) else None,
        event_id,
    )


PREDICTION: WireFormat[PredictionEvent] = WireFormat(read_prediction_event, prediction_events)
CHAT: WireFormat[ChatEvent] = WireFormat(read_chat_event, chat_reply_events)

_FIRST_EVENTS = (Start, StreamStart)
_LAST_EVENTS = (End, StreamEnd)
_MAX_BACKOFF_S = 4.0


class StreamCursor(Generic[E]):
    """Where a reader stands in one run's events, across however many connections.

    ``max_resumes`` bounds reconnects in a row that bring no new event (0: never resume).
    """

    def __init__(
        self,
        wire: WireFormat[E],
        *,
        run_id: str | None = None,
        last_event_id: str | None = None,
        max_resumes: int = 0,
    ):
        self.wire = wire
        self.run_id = run_id
        self.last_event_id = last_event_id
        self.is_done = False
        self.events_seen = 0
        self.retry_ms: int | None = None
        self._decoder: SSEDecoder[SSEEvent] = SSEDecoder()
        self._max_resumes = max_resumes
        self._failures = 0
        self._seen_at_failure = 0

    def connect(self, headers: Mapping[str, str]) -> bool:
        """Start reading a new response; whether its body is an event stream (else JSON)."""
        self._decoder = SSEDecoder()
        if self.run_id is None:
            self.run_id = headers.get("x-run-id")
        return headers.get("content-type", "").startswith("text/event-stream")

    def feed(self, data: bytes) -> list[E]:
        return self._accept(self._decoder.decode(data))

    def flush(self) -> list[E]:
        return self._accept(self._decoder.flush())

    def read_reply(self, body: bytes) -> list[E]:
        """The events of a whole JSON reply (the server answered a stream request in full)."""
        events = self.wire.read_reply(read_json(body))
        self.is_done = True
        self.events_seen += len(events)
        return events

    def interrupted(self) -> StreamInterruptedError:
        return StreamInterruptedError(self.run_id, self.last_event_id)

    def resume_delay_s(self, error: Exception) -> float:
        """Seconds to wait before reconnecting after ``error``.

        Raises the ``StreamInterruptedError`` the caller should see when the stream may
        not be resumed: no run id, resuming is off, or too many reconnects in a row failed.
        """
        if self.events_seen > self._seen_at_failure:
            self._failures = 0
        self._seen_at_failure = self.events_seen
        self._failures += 1
        if self.run_id is None or self._failures > self._max_resumes:
            if isinstance(error, StreamInterruptedError):
                raise error
            raise self.interrupted() from error
        logger.debug("resuming run %s after event %s", self.run_id, self.last_event_id)
        if self.retry_ms is not None:
            return self.retry_ms / 1000
        return 0.0 if self._failures == 1 else min(0.25 * 2 ** (self._failures - 2), _MAX_BACKOFF_S)

    def _accept(self, frames: list[SSEEvent]) -> list[E]:
        out: list[E] = []
        for frame in frames:
            if self.is_done:
                break
            if frame.retry_ms is not None:
                self.retry_ms = frame.retry_ms
            try:
                event = self.wire.read_event(orjson.loads(frame.data), frame.id)
            except orjson.JSONDecodeError as exc:
                raise ResponseFormatError(
                    f"expected JSON event data, got {frame.data[:80]!r}"
                ) from exc
            if frame.id is not None:
                self.last_event_id = frame.id
            if event is None:
                continue
            if isinstance(event, _FIRST_EVENTS) and event.run_id:
                self.run_id = event.run_id
            self.is_done = isinstance(event, _LAST_EVENTS)
            self.events_seen += 1
            out.append(event)
        return out

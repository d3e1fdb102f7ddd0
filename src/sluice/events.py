"""The events a run yields: the vocabulary every API, wire format and store speaks.

Each event is a frozen dataclass with a stable JSON form: ``to_dict()`` returns a dict
whose ``type`` names the event in snake_case (``{"type": "token", "text": " Hello"}``),
and ``event_from_dict`` reads it back. Sequences are tuples; a source document has
Flowise's ``sourceDocuments`` shape (``pageContent`` and ``metadata``) in JSON.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar, Literal, TypeAlias

JSONObject: TypeAlias = dict[str, Any]
"""A JSON object as ``orjson.loads`` returns it (tool input, usage, document metadata)."""

FinishReason: TypeAlias = Literal["complete", "error", "aborted"]
"""Why a message ended: it ran to its end, a failure cut it, or an abort request stopped it."""


@dataclass(frozen=True, slots=True)
class SourceDocument:
    """A passage a retriever found; ``metadata`` holds at least ``source`` for documents."""

    page_content: str
    metadata: JSONObject

    def to_dict(self) -> JSONObject:
        return {"pageContent": self.page_content, "metadata": self.metadata}


@dataclass(frozen=True, slots=True)
class ToolUse:
    """One finished tool call as the final message reports it."""

    name: str
    input: JSONObject
    output: str
    call_id: str | None = None
    error: str | None = None

    def to_dict(self) -> JSONObject:
        return {
            "name": self.name,
            "input": self.input,
            "output": self.output,
            "call_id": self.call_id,
            "error": self.error,
        }


@dataclass(frozen=True, slots=True)
class Start:
    """A run began; the first event of every run."""

    type: ClassVar[str] = "start"
    run_id: str | None = None

    def to_dict(self) -> JSONObject:
        return {"type": "start", "run_id": self.run_id}


@dataclass(frozen=True, slots=True)
class Token:
    """A piece of the bot's answer, to show at once; the pieces concatenate to the answer."""

    type: ClassVar[str] = "token"
    text: str

    def to_dict(self) -> JSONObject:
        return {"type": "token", "text": self.text}


@dataclass(frozen=True, slots=True)
class Status:
    """What the bot is doing (thinking, searching…); never part of the answer."""

    type: ClassVar[str] = "status"
    text: str

    def to_dict(self) -> JSONObject:
        return {"type": "status", "text": self.text}


@dataclass(frozen=True, slots=True)
class ToolStart:
    """A tool call began with ``input`` (the parsed arguments)."""

    type: ClassVar[str] = "tool_start"
    name: str
    input: JSONObject
    call_id: str | None = None

    def to_dict(self) -> JSONObject:
        return {
            "type": "tool_start",
            "name": self.name,
            "input": self.input,
            "call_id": self.call_id,
        }


@dataclass(frozen=True, slots=True)
class ToolEnd:
    """A tool call ended; ``error`` is set (and ``output`` may be empty) when it failed."""

    type: ClassVar[str] = "tool_end"
    name: str
    output: str
    call_id: str | None = None
    duration_ms: float | None = None
    error: str | None = None

    def to_dict(self) -> JSONObject:
        return {
            "type": "tool_end",
            "name": self.name,
            "output": self.output,
            "call_id": self.call_id,
            "duration_ms": self.duration_ms,
            "error": self.error,
        }


@dataclass(frozen=True, slots=True)
class Sources:
    """Documents a retrieval found, best first."""

    type: ClassVar[str] = "sources"
    documents: tuple[SourceDocument, ...]

    def to_dict(self) -> JSONObject:
        return {"type": "sources", "documents": [doc.to_dict() for doc in self.documents]}


@dataclass(frozen=True, slots=True)
class Transcription:
    """What speech-to-text heard the user say."""

    type: ClassVar[str] = "transcription"
    text: str

    def to_dict(self) -> JSONObject:
        return {"type": "transcription", "text": self.text}


@dataclass(frozen=True, slots=True)
class Final:
    """The whole message once it ended, as stored: text, tools used, sources, usage, reason."""

    type: ClassVar[str] = "final"
    text: str
    tools: tuple[ToolUse, ...] = ()
    sources: tuple[SourceDocument, ...] = ()
    usage: JSONObject | None = None
    reason: FinishReason = "complete"

    def to_dict(self) -> JSONObject:
        return {
            "type": "final",
            "text": self.text,
            "tools": [tool.to_dict() for tool in self.tools],
            "sources": [doc.to_dict() for doc in self.sources],
            "usage": self.usage,
            "reason": self.reason,
        }


@dataclass(frozen=True, slots=True)
class Saved:
    """The message was stored under ``message_id``."""

    type: ClassVar[str] = "saved"
    message_id: str

    def to_dict(self) -> JSONObject:
        return {"type": "saved", "message_id": self.message_id}


@dataclass(frozen=True, slots=True)
class Error:
    """The run failed after streaming began; ``code`` is stable snake_case, ``message`` human."""

    type: ClassVar[str] = "error"
    code: str
    message: str

    def to_dict(self) -> JSONObject:
        return {"type": "error", "code": self.code, "message": self.message}


@dataclass(frozen=True, slots=True)
class End:
    """The run is over; the last event of every run, after ``Error`` too."""

    type: ClassVar[str] = "end"

    def to_dict(self) -> JSONObject:
        return {"type": "end"}


Event: TypeAlias = (
    Start
    | Token
    | Status
    | ToolStart
    | ToolEnd
    | Sources
    | Transcription
    | Final
    | Saved
    | Error
    | End
)


def event_from_dict(data: Mapping[str, Any]) -> Event:
    """Read an event back from its ``to_dict`` form; raises ``ValueError`` naming the field."""
    kind = data.get("type")
    if kind == "token":
        return Token(_str(data, "text"))
    if kind == "status":
        return Status(_str(data, "text"))
    if kind == "transcription":
        return Transcription(_str(data, "text"))
    if kind == "start":
        return Start(_opt_str(data, "run_id"))
    if kind == "tool_start":
        return ToolStart(_str(data, "name"), _object(data, "input"), _opt_str(data, "call_id"))
    if kind == "tool_end":
        return ToolEnd(
            _str(data, "name"),
            _str(data, "output"),
            _opt_str(data, "call_id"),
            _opt_number(data, "duration_ms"),
            _opt_str(data, "error"),
        )
    if kind == "sources":
        return Sources(_documents(data, "documents"))
    if kind == "final":
        return _final_from_dict(data)
    if kind == "saved":
        return Saved(_str(data, "message_id"))
    if kind == "error":
        return Error(_str(data, "code"), _str(data, "message"))
    if kind == "end":
        return End()
    raise ValueError(f"type: expected an event type, got {kind!r}")


def _final_from_dict(data: Mapping[str, Any]) -> Final:
    reason = data.get("reason", "complete")
    if reason not in ("complete", "error", "aborted"):
        raise ValueError(f"reason: expected complete, error or aborted, got {reason!r}")
    usage = data.get("usage")
    return Final(
        _str(data, "text"),
        tuple(_tool_use(item) for item in _list(data, "tools")),
        _documents(data, "sources"),
        None if usage is None else _object(data, "usage"),
        reason,
    )


def _tool_use(data: object) -> ToolUse:
    if not isinstance(data, dict):
        raise ValueError(f"tools: expected an object, got {type(data).__name__}")
    return ToolUse(
        _str(data, "name"),
        _object(data, "input"),
        _str(data, "output"),
        _opt_str(data, "call_id"),
        _opt_str(data, "error"),
    )


def _documents(data: Mapping[str, Any], key: str) -> tuple[SourceDocument, ...]:
    documents = []
    for item in _list(data, key):
        if not isinstance(item, dict):
            raise ValueError(f"{key}: expected an object, got {type(item).__name__}")
        documents.append(SourceDocument(_str(item, "pageContent"), _object(item, "metadata")))
    return tuple(documents)


def _str(data: Mapping[str, Any], key: str) -> str:
    value = data.get(key)
    if not isinstance(value, str):
        raise ValueError(f"{key}: expected a string, got {type(value).__name__}")
    return value


def _opt_str(data: Mapping[str, Any], key: str) -> str | None:
    value = data.get(key)
    if value is not None and not isinstance(value, str):
        raise ValueError(f"{key}: expected a string or null, got {type(value).__name__}")
    return value


def _opt_number(data: Mapping[str, Any], key: str) -> float | None:
    value = data.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"{key}: expected a number or null, got {type(value).__name__}")
    return float(value)


def _object(data: Mapping[str, Any], key: str) -> JSONObject:
    value = data.get(key)
    if not isinstance(value, dict):
        raise ValueError(f"{key}: expected an object, got {type(value).__name__}")
    return value


def _list(data: Mapping[str, Any], key: str) -> list[Any]:
    value = data.get(key, [])
    if not isinstance(value, list | tuple):
        raise ValueError(f"{key}: expected a list, got {type(value).__name__}")
    return list(value)

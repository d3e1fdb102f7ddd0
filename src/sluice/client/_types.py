"""The SDK's vocabulary: the events a stream yields and the replies the API returns.

Every type is a frozen dataclass of plain values. Prediction-stream events (Flowise's wire
format) and chat-API events are separate families; each event carries ``event_id``, the SSE
``id`` the server numbered it with, which is what ``resume`` takes to continue a run.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal, TypeAlias

JSONObject: TypeAlias = dict[str, Any]
"""A JSON object as the server sent it (document metadata, tool input, usage, a flow)."""

Role: TypeAlias = Literal["userMessage", "apiMessage"]
"""Who said a message of a conversation's history, in Flowise's words."""


@dataclass(frozen=True, slots=True)
class SourceDocument:
    """A passage the flow's retriever found."""

    page_content: str
    metadata: JSONObject


@dataclass(frozen=True, slots=True)
class UsedTool:
    """One tool call the flow made while answering."""

    tool: str
    tool_input: Any
    tool_output: Any


@dataclass(frozen=True, slots=True)
class Start:
    """The run began; ``run_id`` names it for ``resume`` and ``abort``."""

    run_id: str
    event_id: str | None = None


@dataclass(frozen=True, slots=True)
class Token:
    """A piece of the answer's text."""

    text: str
    event_id: str | None = None


@dataclass(frozen=True, slots=True)
class SourceDocuments:
    documents: tuple[SourceDocument, ...]
    event_id: str | None = None


@dataclass(frozen=True, slots=True)
class UsedTools:
    tools: tuple[UsedTool, ...]
    event_id: str | None = None


@dataclass(frozen=True, slots=True)
class UsageMetadata:
    """Token counts as the model reported them."""

    usage: JSONObject
    event_id: str | None = None


@dataclass(frozen=True, slots=True)
class Metadata:
    """Where the answer was stored: pass ``chat_id`` to the next ``predict`` to continue."""

    chat_id: str | None
    message_id: str | None
    question: str | None
    session_id: str | None
    event_id: str | None = None


@dataclass(frozen=True, slots=True)
class StreamError:
    """The run failed after it started streaming; an ``End`` follows."""

    message: str
    event_id: str | None = None


@dataclass(frozen=True, slots=True)
class End:
    """The run's last event."""

    event_id: str | None = None


PredictionEvent: TypeAlias = (
    Start | Token | SourceDocuments | UsedTools | UsageMetadata | Metadata | StreamError | End
)


@dataclass(frozen=True, slots=True)
class Prediction:
    """A whole answer, as ``predict(..., stream=False)`` returns it."""

    text: str
    question: str | None
    chat_id: str | None
    message_id: str | None
    session_id: str | None
    source_documents: tuple[SourceDocument, ...] = ()
    used_tools: tuple[UsedTool, ...] = ()


@dataclass(frozen=True, slots=True)
class StreamStart:
    """A chat-API run began."""

    run_id: str
    message_id: str | None
    chat_instance_id: str | None
    event_id: str | None = None


@dataclass(frozen=True, slots=True)
class ChatToken:
    content: str
    event_id: str | None = None


@dataclass(frozen=True, slots=True)
class ToolStart:
    tool: str
    input: Any
    event_id: str | None = None


@dataclass(frozen=True, slots=True)
class ToolEnd:
    tool: str
    output: Any
    error: str | None = None
    event_id: str | None = None


@dataclass(frozen=True, slots=True)
class Status:
    """What the bot is doing (thinking, searching...), not part of the answer."""

    content: str
    event_id: str | None = None


@dataclass(frozen=True, slots=True)
class AgentResponse:
    """The whole answer, once it is complete."""

    content: str
    tools: tuple[JSONObject, ...] = ()
    sources: tuple[JSONObject, ...] = ()
    usage: JSONObject | None = None
    event_id: str | None = None


@dataclass(frozen=True, slots=True)
class MessageSaved:
    message_id: str
    event_id: str | None = None


@dataclass(frozen=True, slots=True)
class ChatError:
    """The run failed after it started streaming; a ``StreamEnd`` follows."""

    code: str
    message: str
    event_id: str | None = None


@dataclass(frozen=True, slots=True)
class StreamEnd:
    """The chat-API run's last event."""

    event_id: str | None = None


ChatEvent: TypeAlias = (
    StreamStart
    | ChatToken
    | ToolStart
    | ToolEnd
    | Status
    | AgentResponse
    | MessageSaved
    | ChatError
    | StreamEnd
)


@dataclass(frozen=True, slots=True)
class ChatReply:
    """A whole chat-API answer, as ``chat(..., stream=False)`` returns it."""

    content: str
    message_id: str | None
    chat_instance_id: str | None
    run_id: str | None
    tools: tuple[JSONObject, ...] = ()
    sources: tuple[JSONObject, ...] = ()
    usage: JSONObject | None = None


@dataclass(frozen=True, slots=True)
class Flow:
    """A flow as the server stores it; ``document`` is its definition (``flowData`` parsed)."""

    id: str
    name: str | None
    document: JSONObject
    is_public: bool = False
    raw: JSONObject = field(default_factory=dict, repr=False, compare=False)


@dataclass(frozen=True, slots=True)
class ChatMessage:
    """One stored message of a conversation; ``raw`` keeps every field the server sent."""

    id: str
    role: str
    content: str
    status: str | None
    chat_id: str | None
    created_date: str | None
    raw: JSONObject = field(default_factory=dict, repr=False, compare=False)

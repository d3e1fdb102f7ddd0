"""The vocabulary of LLM providers: a provider-neutral conversation, what a chat stream
yields and returns, and the shape every provider module fills in.

Conversation items and deltas are plain frozen dataclasses; each provider module turns them
into its own request format and reads its own responses back into them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from sluice.errors import UpstreamError
from sluice.providers.toolcalls import ToolCall
from sluice.streams.types import JSONValue, StreamType

if TYPE_CHECKING:
    from sluice.providers.model import ModelConfig

Role = Literal["system", "user", "assistant", "tool"]


@dataclass(frozen=True, slots=True)
class ChatMessage:
    """One conversation item.

    ``tool_calls`` are set on assistant turns that called tools; ``tool_call_id`` and
    ``name`` (the tool's) on tool results, whose ``content`` is the tool's output.
    """

    role: Role
    content: str = ""
    tool_calls: tuple[ToolCall, ...] = ()
    tool_call_id: str | None = None
    name: str | None = None


@dataclass(frozen=True, slots=True)
class ToolSpec:
    """A tool the model may call; ``parameters`` is the JSON schema of its arguments."""

    name: str
    description: str
    parameters: dict[str, Any]


@dataclass(frozen=True, slots=True)
class TextDelta:
    """Answer text, as the reader released it (the text of one upstream read)."""

    text: str


@dataclass(frozen=True, slots=True)
class ReasoningDelta:
    """Thinking or reasoning text, never part of the answer (the runner says it as Status)."""

    text: str


@dataclass(frozen=True, slots=True)
class ToolCallStarted:
    """The stream shows a tool call has begun; its arguments may still be arriving."""

    name: str
    call_id: str | None


ChatDelta = TextDelta | ReasoningDelta | ToolCallStarted


@dataclass(frozen=True, slots=True)
class ChatResult:
    """What one chat call produced, kept whole even when it failed (``error``).

    ``text`` is the answer (the concatenation of every ``TextDelta``), ``tool_calls`` the
    calls the model asked Sluice to run, in the order they started (provider-executed calls
    are left out), ``usage`` the provider's own usage object, ``finish_reason`` its own
    value, ``chunks`` every parsed chunk (the one parsed body when not streamed).
    """

    text: str
    tool_calls: tuple[ToolCall, ...]
    usage: dict[str, Any] | None
    finish_reason: str | None
    chunks: Sequence[Any]
    reasoning: str = ""
    error: UpstreamError | None = None
    status: int | None = None

    def message(self) -> ChatMessage:
        """The assistant turn to append to the conversation before sending tool results."""
        return ChatMessage("assistant", self.text, self.tool_calls)


@dataclass(slots=True)
class Reply:
    """A whole (non-streamed) response, read by a provider's ``parse_response``."""

    text: str = ""
    reasoning: str = ""
    tool_calls: list[ToolCall] = field(default_factory=list)
    usage: dict[str, Any] | None = None
    finish_reason: str | None = None


@dataclass(frozen=True, slots=True)
class HTTPParts:
    """The request a provider builds: where to send it, and what."""

    url: str
    headers: dict[str, str]
    body: JSONValue
    query: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True, slots=True)
class Endpoint:
    """A model's resolved address: base URL without a trailing slash, and the API key."""

    model: ModelConfig
    base_url: str
    api_key: str | None


BuildRequest = Callable[
    [Endpoint, Sequence[ChatMessage], Sequence[ToolSpec], bool, Mapping[str, Any]], HTTPParts
]
"""``(endpoint, messages, tools, stream, params) -> HTTPParts``."""

ParseResponse = Callable[[JSONValue], Reply]
"""The parsed body of a non-streamed response -> ``Reply``."""


@dataclass(frozen=True, slots=True)
class Provider:
    """One provider's protocol: its request builder, response reader and stream settings.

    ``preset`` names both the mapping preset and the tool-call reader of
    ``ToolCallAccumulator``; ``tool_markers`` are strings every chunk that carries a tool
    call contains, so that other chunks are not parsed twice.
    """

    name: str
    build_request: BuildRequest
    parse_response: ParseResponse
    stream_type: StreamType = StreamType.SSE
    preset: str = "openai"
    tool_markers: tuple[str, ...] = ('"tool_calls"',)

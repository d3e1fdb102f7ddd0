"""The Sluice Python SDK: ask flows, stream their answers, resume and abort runs, manage flows.

    with SluiceClient("http://127.0.0.1:8000", api_key=key) as client:
        with client.predict("support", "Hello?") as stream:
            for event in stream:
                if isinstance(event, Token):
                    ...

``AsyncSluiceClient`` is the same API for asyncio (``await client.predict(...)``, then
``async for``). This module only re-exports the public names.
"""

from sluice.client._async import AsyncEventStream, AsyncSluiceClient
from sluice.client._errors import (
    AuthenticationError,
    NotFoundError,
    RateLimitError,
    ResponseFormatError,
    ServerError,
    SluiceAPIError,
    SluiceClientError,
    SluiceConnectionError,
    StreamInterruptedError,
    ValidationError,
)
from sluice.client._sync import EventStream, SluiceClient
from sluice.client._types import (
    AgentResponse,
    ChatError,
    ChatEvent,
    ChatMessage,
    ChatReply,
    ChatToken,
    End,
    Flow,
    MessageSaved,
    Metadata,
    Prediction,
    PredictionEvent,
    SourceDocument,
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
    UsedTool,
    UsedTools,
)

__all__ = [
    "AgentResponse",
    "AsyncEventStream",
    "AsyncSluiceClient",
    "AuthenticationError",
    "ChatError",
    "ChatEvent",
    "ChatMessage",
    "ChatReply",
    "ChatToken",
    "End",
    "EventStream",
    "Flow",
    "MessageSaved",
    "Metadata",
    "NotFoundError",
    "Prediction",
    "PredictionEvent",
    "RateLimitError",
    "ResponseFormatError",
    "ServerError",
    "SluiceAPIError",
    "SluiceClient",
    "SluiceClientError",
    "SluiceConnectionError",
    "SourceDocument",
    "SourceDocuments",
    "Start",
    "Status",
    "StreamEnd",
    "StreamError",
    "StreamInterruptedError",
    "StreamStart",
    "Token",
    "ToolEnd",
    "ToolStart",
    "UsageMetadata",
    "UsedTool",
    "UsedTools",
    "ValidationError",
]

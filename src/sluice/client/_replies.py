"""Reading the server's JSON replies into the SDK's types; the one place JSON enters.

Each reader takes a value as ``orjson.loads`` returned it and returns typed data, or
raises ``ResponseFormatError`` naming what was wrong. Fields the server may leave out
become ``None`` or empty; fields the SDK cannot do without must be present.
"""

from __future__ import annotations

from typing import Any

import orjson

from sluice.client._errors import ResponseFormatError
from sluice.client._types import (
    AgentResponse,
    ChatEvent,
    ChatMessage,
    ChatReply,
    ChatToken,
    End,
    Flow,
    JSONObject,
    MessageSaved,
    Metadata,
    Prediction,
    PredictionEvent,
    SourceDocument,
    SourceDocuments,
    StreamEnd,
    Token,
    UsedTool,
    UsedTools,
)


def read_json(body: bytes) -> Any:
    """The JSON value of a body; an empty body is ``None``."""
    if not body:
        return None
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise ResponseFormatError(f"expected a JSON body, got {body[:80]!r}") from exc


def as_object(value: Any, what: str) -> JSONObject:
    if not isinstance(value, dict):
        raise ResponseFormatError(f"expected {what} as a JSON object, got {type(value).__name__}")
    return value


def as_list(value: Any, what: str) -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise ResponseFormatError(f"expected {what} as a JSON array, got {type(value).__name__}")
    return value


def optional_str(value: Any) -> str | None:
    """A string field; numbers (ids some servers send as integers) become strings."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    raise ResponseFormatError(f"expected a string, got {type(value).__name__}")


def required_str(data: JSONObject, key: str, what: str) -> str:
    value = optional_str(data.get(key))
    if value is None:
        raise ResponseFormatError(f"{what} has no {key!r}")
    return value


def read_documents(value: Any) -> tuple[SourceDocument, ...]:
    documents = []
    for item in as_list(value, "sourceDocuments"):
        doc = as_object(item, "a source document")
        metadata = doc.get("metadata")
        documents.append(
            SourceDocument(
                page_content=optional_str(doc.get("pageContent")) or "",
                metadata=metadata if isinstance(metadata, dict) else {},
            )
        )
    return tuple(documents)


def read_used_tools(value: Any) -> tuple[UsedTool, ...]:
    tools = []
    for item in as_list(value, "usedTools"):
        tool = as_object(item, "a used tool")
        tools.append(
            UsedTool(
                tool=optional_str(tool.get("tool")) or "",
                tool_input=tool.get("toolInput"),
                tool_output=tool.get("toolOutput"),
            )
        )
    return tuple(tools)


def read_objects(value: Any, what: str) -> tuple[JSONObject, ...]:
    return tuple(as_object(item, what) for item in as_list(value, what))


def read_prediction(value: Any) -> Prediction:
    data = as_object(value, "a prediction")
    return Prediction(
        text=optional_str(data.get("text")) or "",
        question=optional_str(data.get("question")),
        chat_id=optional_str(data.get("chatId")),
        message_id=optional_str(data.get("chatMessageId")),
        session_id=optional_str(data.get("sessionId")),
        source_documents=read_documents(data.get("sourceDocuments")),
        used_tools=read_used_tools(data.get("usedTools")),
    )


def read_chat_reply(value: Any) -> ChatReply:
    data = as_object(value, "a chat reply")
    usage = data.get("usage")
    return ChatReply(
        content=optional_str(data.get("content")) or "",
        message_id=optional_str(data.get("messageId")),
        chat_instance_id=optional_str(data.get("chatInstanceId")),
        run_id=optional_str(data.get("runId")),
        tools=read_objects(data.get("tools"), "tools"),
        sources=read_objects(data.get("sources"), "sources"),
        usage=usage if isinstance(usage, dict) else None,
    )


def prediction_events(value: Any) -> list[PredictionEvent]:
    """The events a whole prediction amounts to (a flow that could not stream)."""
    reply = read_prediction(value)
    events: list[PredictionEvent] = [Token(reply.text)] if reply.text else []
    if reply.source_documents:
        events.append(SourceDocuments(reply.source_documents))
    if reply.used_tools:
        events.append(UsedTools(reply.used_tools))
    meta = Metadata(reply.chat_id, reply.message_id, reply.question, reply.session_id)
    return [*events, meta, End()]


def chat_reply_events(value: Any) -> list[ChatEvent]:
    """The events a whole chat-API reply amounts to."""
    reply = read_chat_reply(value)
    events: list[ChatEvent] = [ChatToken(reply.content)] if reply.content else []
    events.append(AgentResponse(reply.content, reply.tools, reply.sources, reply.usage))
    if reply.message_id is not None:
        events.append(MessageSaved(reply.message_id))
    return [*events, StreamEnd()]


def read_flow(value: Any) -> Flow:
    data = as_object(value, "a flow")
    document = data.get("flowData")
    if isinstance(document, str):
        document = read_json(document.encode())
    return Flow(
        id=required_str(data, "id", "a flow"),
        name=optional_str(data.get("name")),
        document=as_object(document, "flowData") if document is not None else {},
        is_public=data.get("isPublic") is True,
        raw=data,
    )


def read_flows(value: Any) -> list[Flow]:
    return [read_flow(item) for item in as_list(value, "the flow list")]


def read_message(value: Any) -> ChatMessage:
    data = as_object(value, "a chat message")
    return ChatMessage(
        id=required_str(data, "id", "a chat message"),
        role=required_str(data, "role", "a chat message"),
        content=optional_str(data.get("content")) or "",
        status=optional_str(data.get("status")),
        chat_id=optional_str(data.get("chatId")),
        created_date=optional_str(data.get("createdDate")),
        raw=data,
    )


def read_messages(value: Any) -> list[ChatMessage]:
    return [read_message(item) for item in as_list(value, "the message list")]


def read_aborted(value: Any) -> bool:
    """Whether an abort request stopped a run (``{"runId": ..., "aborted": true}``)."""
    return as_object(value, "an abort reply").get("aborted") is True


def ignore_reply(value: Any) -> None:
    """For calls whose reply carries nothing the caller needs (a delete)."""

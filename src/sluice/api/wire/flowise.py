"""Flowise's prediction stream and JSON body, byte for byte as Flowise writes them.

Flowise (``packages/server/src/utils/SSEStreamer.ts``) writes each message as
``message:\\ndata:`` + ``JSON.stringify({event, data})`` + ``\\n\\n``, except ``error``,
``abort`` and ``end``, which it writes with ``message\\ndata:`` (no colon). Both lines are a
field named ``message`` that every event-stream parser ignores; we copy them exactly.
``orjson`` writes the same bytes as ``JSON.stringify``: compact, UTF-8 unescaped, the same
short escapes. Each message group also carries ``id: <seq>`` (on its last message, so a
resumed client may see a group twice but never misses one).

Events to Flowise messages: ``Start`` → ``start`` (data: the run id), ``Token`` →
``token``, ``Sources`` → ``sourceDocuments``, ``Final`` → ``usedTools`` (when tools ran),
``usageMetadata`` (when usage is known) and ``abort`` (when aborted), ``Saved`` →
``metadata`` (chatId, chatMessageId, question, sessionId: Flowise sends it after storing
the message), ``Error`` → ``error`` (data: the message), ``End`` → ``end`` (``[DONE]``).
``Status``, ``ToolStart``, ``ToolEnd`` and ``Transcription`` have no Flowise message and
are not written; tool calls reach Flowise clients as ``usedTools``. A client that asks for
them (``FlowiseContext.has_progress``, the web chat's ``?events=sluice``) also gets
``status`` (data: the text), ``toolStart`` ({tool, input}) and ``toolEnd`` ({tool, output,
and error when it failed}) in the same ``message:\ndata:`` shape.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import orjson

from sluice.events import (
    End,
    Error,
    Event,
    Final,
    Saved,
    SourceDocument,
    Sources,
    Start,
    Status,
    Token,
    ToolEnd,
    ToolStart,
    ToolUse,
)
from sluice.runs.log import LogEntry
from sluice.runs.transcript import Transcript

_MESSAGE = b"message:\ndata:"
_MESSAGE_BARE = b"message\ndata:"  # Flowise's spelling for error, abort and end
_END = b'message\ndata:{"event":"end","data":"[DONE]"}\n\n'
_ABORT = b'message\ndata:{"event":"abort","data":"[DONE]"}\n\n'


@dataclass(frozen=True, slots=True)
class FlowiseContext:
    """What a Flowise client is told beside the events; Flowise's session id defaults to
    the chat id, so pass that when the request named none."""

    chat_id: str
    question: str
    session_id: str | None = None
    has_progress: bool = False
    """Also write Sluice's ``status``, ``toolStart`` and ``toolEnd`` messages."""


def render_flowise_sse(batch: Sequence[LogEntry], context: FlowiseContext) -> bytes:
    """The Flowise event-stream bytes for a batch: the concatenation of each event's."""
    out = bytearray()
    for seq, event in batch:
        if isinstance(event, Token):
            out += b'id: %d\nmessage:\ndata:{"event":"token","data":%s}\n\n' % (
                seq,
                orjson.dumps(event.text),
            )
            continue
        messages = _messages(event, context)
        if messages:
            out += b"".join(messages[:-1])
            out += b"id: %d\n" % seq
            out += messages[-1]
    return bytes(out)


def render_flowise_json(events: Sequence[Event], context: FlowiseContext) -> bytes:
    """Flowise's non-streaming prediction body for a whole run."""
    transcript = Transcript()
    for event in events:
        transcript.observe(event)
    final = transcript.final or transcript.build_final()
    body: dict[str, Any] = {
        "text": final.text,
        "question": context.question,
        "chatId": context.chat_id,
        "chatMessageId": transcript.message_id,
        "sessionId": context.session_id,
    }
    if final.sources:  # Flowise sends these two only when there are some
        body["sourceDocuments"] = _documents(final.sources)
    if final.tools:
        body["usedTools"] = _tools(final.tools)
    return orjson.dumps(body)


def _messages(event: Event, context: FlowiseContext) -> list[bytes]:
    if isinstance(event, Start):
        return [_message("start", event.run_id or "")]
    if isinstance(event, Sources):
        return [_message("sourceDocuments", _documents(event.documents))]
    if isinstance(event, Final):
        return _final_messages(event)
    if isinstance(event, Saved):
        return [_message("metadata", _metadata(context, event.message_id))]
    if isinstance(event, Error):
        return [_MESSAGE_BARE + orjson.dumps({"event": "error", "data": event.message}) + b"\n\n"]
    if isinstance(event, End):
        return [_END]
    if context.has_progress:
        return _progress(event)
    return []


def _progress(event: Event) -> list[bytes]:
    if isinstance(event, Status):
        return [_message("status", event.text)]
    if isinstance(event, ToolStart):
        return [_message("toolStart", {"tool": event.name, "input": event.input})]
    if isinstance(event, ToolEnd):
        data: dict[str, Any] = {"tool": event.name, "output": event.output}
        if event.error is not None:
            data["error"] = event.error
        return [_message("toolEnd", data)]
    return []


def _final_messages(final: Final) -> list[bytes]:
    messages = []
    if final.tools:
        messages.append(_message("usedTools", _tools(final.tools)))
    if final.usage is not None:
        messages.append(_message("usageMetadata", final.usage))
    if final.reason == "aborted":
        messages.append(_ABORT)
    return messages


def _message(name: str, data: object) -> bytes:
    return _MESSAGE + orjson.dumps({"event": name, "data": data}) + b"\n\n"


def _metadata(context: FlowiseContext, message_id: str) -> dict[str, str]:
    fields = {
        "chatId": context.chat_id,
        "chatMessageId": message_id,
        "question": context.question,
        "sessionId": context.session_id,
    }
    return {key: value for key, value in fields.items() if value}  # Flowise drops empty ones


def _documents(documents: Sequence[SourceDocument]) -> list[dict[str, Any]]:
    return [document.to_dict() for document in documents]


def _tools(tools: Sequence[ToolUse]) -> list[dict[str, Any]]:
    out = []
    for tool in tools:
        item: dict[str, Any] = {
            "tool": tool.name,
            "toolInput": tool.input,
            "toolOutput": tool.output,
        }
        if tool.error is not None:
            item["error"] = tool.error
        out.append(item)
    return out

"""The chat API's event stream (``data: {json}``, with ``id: <seq>``) and its JSON body.

Events to messages, each an object whose ``type`` names it: ``Start`` → ``stream_start``
{runId, messageId, chatInstanceId}, ``Token`` → ``token`` {content}, ``Status`` →
``status`` {content}, ``ToolStart`` → ``tool_start`` {tool, input}, ``ToolEnd`` →
``tool_end`` {tool, output, and error when it failed}, ``Transcription`` →
``transcription`` {content}, ``Final`` → ``agent_response`` {content, tools, sources,
usage, reason}, ``Saved`` → ``message_saved`` {messageId}, ``Error`` → ``error``
{message, code}, ``End`` → ``stream_end``. ``Sources`` is not written on its own: the
sources arrive in ``agent_response``.
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
    Start,
    Status,
    Token,
    ToolEnd,
    ToolStart,
    ToolUse,
    Transcription,
)
from sluice.runs.log import LogEntry
from sluice.runs.transcript import Transcript

_STREAM_END = b'data: {"type":"stream_end"}\n\n'


@dataclass(frozen=True, slots=True)
class ChatContext:
    """What the chat API adds to the events: the conversation and the reply's message id
    (chosen before the run starts, so that ``stream_start`` can carry it)."""

    chat_instance_id: str
    message_id: str | None = None


def render_chat_sse(
    batch: Sequence[LogEntry], context: ChatContext, *, include_tokens: bool = True
) -> bytes:
    """The chat API event-stream bytes for a batch; ``include_tokens=False`` leaves out
    ``token`` messages only (the answer still arrives whole in ``agent_response``)."""
    out = bytearray()
    for seq, event in batch:
        if isinstance(event, Token):
            if include_tokens:
                out += b'id: %d\ndata: {"type":"token","content":%s}\n\n' % (
                    seq,
                    orjson.dumps(event.text),
                )
        elif isinstance(event, End):
            out += b"id: %d\n" % seq + _STREAM_END
        else:
            message = _message(event, context)
            if message is not None:
                out += b"id: %d\ndata: %s\n\n" % (seq, orjson.dumps(message))
    return bytes(out)


def render_chat_json(events: Sequence[Event], context: ChatContext) -> bytes:
    """The chat API's non-streaming body for a whole run."""
    transcript = Transcript()
    run_id = None
    for event in events:
        transcript.observe(event)
        if isinstance(event, Start):
            run_id = event.run_id
    final = transcript.final or transcript.build_final()
    error = transcript.error
    body = {
        "content": final.text,
        "messageId": transcript.message_id or context.message_id,
        "chatInstanceId": context.chat_instance_id,
        "runId": run_id,
        "tools": [_tool(tool) for tool in final.tools],
        "sources": [document.to_dict() for document in final.sources],
        "usage": final.usage,
        "reason": final.reason,
        "error": None if error is None else {"message": error.message, "code": error.code},
    }
    return orjson.dumps(body)


def _message(event: Event, context: ChatContext) -> dict[str, Any] | None:
    if isinstance(event, Start):
        return {
            "type": "stream_start",
            "runId": event.run_id,
            "messageId": context.message_id,
            "chatInstanceId": context.chat_instance_id,
        }
    if isinstance(event, Status):
        return {"type": "status", "content": event.text}
    if isinstance(event, ToolStart):
        return {"type": "tool_start", "tool": event.name, "input": event.input}
    if isinstance(event, ToolEnd):
        message = {"type": "tool_end", "tool": event.name, "output": event.output}
        if event.error is not None:
            message["error"] = event.error
        return message
    if isinstance(event, Transcription):
        return {"type": "transcription", "content": event.text}
    if isinstance(event, Final):
        return _agent_response(event)
    if isinstance(event, Saved):
        return {"type": "message_saved", "messageId": event.message_id}
    if isinstance(event, Error):
        return {"type": "error", "message": event.message, "code": event.code}
    return None


def _agent_response(final: Final) -> dict[str, Any]:
    return {
        "type": "agent_response",
        "content": final.text,
        "tools": [_tool(tool) for tool in final.tools],
        "sources": [document.to_dict() for document in final.sources],
        "usage": final.usage,
        "reason": final.reason,
    }


def _tool(tool: ToolUse) -> dict[str, Any]:
    item: dict[str, Any] = {"tool": tool.name, "input": tool.input, "output": tool.output}
    if tool.error is not None:
        item["error"] = tool.error
    return item

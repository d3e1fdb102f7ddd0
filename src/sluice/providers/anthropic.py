"""Anthropic's Messages API: the request builder (system prompt at the top level, tool calls
and results as ``tool_use``/``tool_result`` content blocks) and the whole-response reader;
the stream is read by the ``anthropic`` mapping preset.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import orjson

from sluice.providers.toolcalls import ToolCall
from sluice.providers.types import ChatMessage, Endpoint, HTTPParts, Provider, Reply, ToolSpec
from sluice.streams.types import JSONValue

API_VERSION = "2023-06-01"
DEFAULT_MAX_TOKENS = 4096
"""The API requires ``max_tokens``; ``params`` overrides it."""


def encode_messages(messages: Sequence[ChatMessage]) -> tuple[str, list[dict[str, Any]]]:
    """The system prompt and the turns, consecutive turns of one role merged into one.

    Tool results travel in a user turn, as the API requires.
    """
    system = "\n\n".join(m.content for m in messages if m.role == "system" and m.content)
    turns: list[dict[str, Any]] = []
    for message in messages:
        if message.role == "system":
            continue
        role = "assistant" if message.role == "assistant" else "user"
        blocks = _blocks(message)
        if turns and turns[-1]["role"] == role:
            turns[-1]["content"].extend(blocks)
        else:
            turns.append({"role": role, "content": blocks})
    return system, turns


def _blocks(message: ChatMessage) -> list[dict[str, Any]]:
    if message.role == "tool":
        return [
            {
                "type": "tool_result",
                "tool_use_id": message.tool_call_id,
                "content": message.content,
            }
        ]
    blocks: list[dict[str, Any]] = []
    if message.content:
        blocks.append({"type": "text", "text": message.content})
    for call in message.tool_calls:
        blocks.append(
            {"type": "tool_use", "id": call.id, "name": call.name, "input": call.arguments()}
        )
    return blocks


def build_anthropic(
    endpoint: Endpoint,
    messages: Sequence[ChatMessage],
    tools: Sequence[ToolSpec],
    stream: bool,
    params: Mapping[str, Any],
) -> HTTPParts:
    """``POST {base_url}/v1/messages`` with ``x-api-key`` and ``anthropic-version``."""
    system, turns = encode_messages(messages)
    body: dict[str, Any] = {
        "model": endpoint.model.model,
        "max_tokens": DEFAULT_MAX_TOKENS,
        "messages": turns,
    }
    if system:
        body["system"] = system
    if tools:
        body["tools"] = [
            {"name": t.name, "description": t.description, "input_schema": t.parameters}
            for t in tools
        ]
    body.update(params)
    body["stream"] = stream
    headers = {"anthropic-version": API_VERSION}
    if endpoint.api_key is not None:
        headers["x-api-key"] = endpoint.api_key
    return HTTPParts(f"{endpoint.base_url}/v1/messages", headers, body)


def parse_anthropic(value: JSONValue) -> Reply:
    """A ``message`` object: text blocks joined, thinking apart, ``tool_use`` blocks as calls."""
    reply = Reply()
    if not isinstance(value, dict):
        return reply
    text: list[str] = []
    thinking: list[str] = []
    for block in value.get("content") or ():
        kind = block.get("type")
        if kind == "text":
            text.append(block.get("text") or "")
        elif kind == "thinking":
            thinking.append(block.get("thinking") or "")
        elif kind == "tool_use":
            arguments = orjson.dumps(block.get("input") or {}).decode()
            reply.tool_calls.append(ToolCall(str(block.get("name")), arguments, block.get("id")))
    reply.text, reply.reasoning = "".join(text), "".join(thinking)
    reply.finish_reason = value.get("stop_reason")
    usage = value.get("usage")
    reply.usage = usage if isinstance(usage, dict) else None
    return reply


ANTHROPIC = Provider(
    "anthropic",
    build_anthropic,
    parse_anthropic,
    preset="anthropic",
    tool_markers=('"tool_use"', '"input_json_delta"'),
)

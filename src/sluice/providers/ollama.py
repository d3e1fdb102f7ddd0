"""Ollama's ``/api/chat``: the request builder (tool calls with object arguments,
``role: tool`` results, sampling parameters under ``options``) and the whole-response
reader; the JSON-per-line stream is read by the ``ollama`` mapping preset.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import orjson

from sluice.providers.openai import encode_tools
from sluice.providers.toolcalls import ToolCall
from sluice.providers.types import ChatMessage, Endpoint, HTTPParts, Provider, Reply, ToolSpec
from sluice.streams.types import JSONValue, StreamType

_TOP_LEVEL = frozenset({"think", "format", "keep_alive", "options"})
"""Parameters that belong in the body itself; every other one goes under ``options``."""
_OPTION_NAMES = {"max_tokens": "num_predict"}
_USAGE_COUNTERS = (
    "prompt_eval_count",
    "eval_count",
    "total_duration",
    "load_duration",
    "prompt_eval_duration",
    "eval_duration",
)
"""The counters of the ``done`` line, as the ``ollama`` preset reports them."""


def encode_messages(messages: Sequence[ChatMessage]) -> list[dict[str, Any]]:
    """The conversation in Ollama's shape: ``tool_calls`` whose arguments are objects."""
    encoded: list[dict[str, Any]] = []
    for message in messages:
        item: dict[str, Any] = {"role": message.role, "content": message.content}
        if message.tool_calls:
            item["tool_calls"] = [
                {"function": {"name": call.name, "arguments": call.arguments()}}
                for call in message.tool_calls
            ]
        if message.role == "tool" and message.name is not None:
            item["tool_name"] = message.name
        encoded.append(item)
    return encoded


def build_ollama(
    endpoint: Endpoint,
    messages: Sequence[ChatMessage],
    tools: Sequence[ToolSpec],
    stream: bool,
    params: Mapping[str, Any],
) -> HTTPParts:
    """``POST {base_url}/api/chat``; a key, when configured, is sent as a bearer token."""
    body: dict[str, Any] = {"model": endpoint.model.model, "messages": encode_messages(messages)}
    if tools:
        body["tools"] = encode_tools(tools)
    options: dict[str, Any] = {}
    for name, value in params.items():
        if name == "options" and isinstance(value, dict):
            options.update(value)
        elif name in _TOP_LEVEL:
            body[name] = value
        else:
            options[_OPTION_NAMES.get(name, name)] = value
    if options:
        body["options"] = options
    body["stream"] = stream
    headers = {} if endpoint.api_key is None else {"Authorization": f"Bearer {endpoint.api_key}"}
    return HTTPParts(f"{endpoint.base_url}/api/chat", headers, body)


def parse_ollama(value: JSONValue) -> Reply:
    """The one ``done: true`` object: message content, thinking, tool calls and counters."""
    reply = Reply()
    if not isinstance(value, dict):
        return reply
    message = value.get("message") or {}
    content, thinking = message.get("content"), message.get("thinking")
    reply.text = content if isinstance(content, str) else ""
    reply.reasoning = thinking if isinstance(thinking, str) else ""
    for call in message.get("tool_calls") or ():
        function = call.get("function") or {}
        arguments = orjson.dumps(function.get("arguments") or {}).decode()
        reply.tool_calls.append(ToolCall(str(function.get("name")), arguments, function.get("id")))
    reply.finish_reason = value.get("done_reason")
    if "eval_count" in value:
        reply.usage = {name: value.get(name) for name in _USAGE_COUNTERS}
    return reply


OLLAMA = Provider(
    "ollama",
    build_ollama,
    parse_ollama,
    stream_type=StreamType.NDJSON,
    preset="ollama",
)

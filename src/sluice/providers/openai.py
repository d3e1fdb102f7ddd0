"""OpenAI Chat Completions, also spoken by Azure OpenAI and every OpenAI-compatible server
(vLLM, llama.cpp, LM Studio, Groq, DeepSeek…): the request builder and the whole-response
reader; the stream is read by the ``openai`` mapping preset.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import orjson

from sluice.providers.toolcalls import ToolCall
from sluice.providers.types import ChatMessage, Endpoint, HTTPParts, Provider, Reply, ToolSpec
from sluice.streams.types import JSONValue


def encode_messages(messages: Sequence[ChatMessage]) -> list[dict[str, Any]]:
    """The conversation in the chat-completions shape: ``tool_calls`` and ``role: tool``."""
    encoded: list[dict[str, Any]] = []
    for message in messages:
        if message.role == "tool":
            encoded.append(
                {"role": "tool", "tool_call_id": message.tool_call_id, "content": message.content}
            )
        elif message.role == "assistant" and message.tool_calls:
            encoded.append(
                {
                    "role": "assistant",
                    "content": message.content or None,
                    "tool_calls": [_encode_call(call) for call in message.tool_calls],
                }
            )
        else:
            encoded.append({"role": message.role, "content": message.content})
    return encoded


def _encode_call(call: ToolCall) -> dict[str, Any]:
    return {
        "id": call.id,
        "type": "function",
        "function": {"name": call.name, "arguments": call.arguments_json or "{}"},
    }


def encode_tools(tools: Sequence[ToolSpec]) -> list[dict[str, Any]]:
    """Tools as OpenAI functions (Ollama reads the same shape)."""
    return [
        {
            "type": "function",
            "function": {
                "name": tool.name,
                "description": tool.description,
                "parameters": tool.parameters,
            },
        }
        for tool in tools
    ]


def _body(
    endpoint: Endpoint,
    messages: Sequence[ChatMessage],
    tools: Sequence[ToolSpec],
    stream: bool,
    params: Mapping[str, Any],
) -> dict[str, Any]:
    body: dict[str, Any] = {"model": endpoint.model.model, "messages": encode_messages(messages)}
    if tools:
        body["tools"] = encode_tools(tools)
    body.update(params)
    body["stream"] = stream
    if stream:
        body.setdefault("stream_options", {"include_usage": True})
    return body


def build_openai(
    endpoint: Endpoint,
    messages: Sequence[ChatMessage],
    tools: Sequence[ToolSpec],
    stream: bool,
    params: Mapping[str, Any],
) -> HTTPParts:
    """``POST {base_url}/chat/completions`` with a bearer key (none for a keyless server)."""
    headers = {} if endpoint.api_key is None else {"Authorization": f"Bearer {endpoint.api_key}"}
    body = _body(endpoint, messages, tools, stream, params)
    return HTTPParts(f"{endpoint.base_url}/chat/completions", headers, body)


def build_azure(
    endpoint: Endpoint,
    messages: Sequence[ChatMessage],
    tools: Sequence[ToolSpec],
    stream: bool,
    params: Mapping[str, Any],
) -> HTTPParts:
    """``POST {endpoint}/openai/deployments/{deployment}/chat/completions?api-version=…``."""
    model = endpoint.model
    deployment = model.deployment or model.model
    headers = {} if endpoint.api_key is None else {"api-key": endpoint.api_key}
    url = f"{endpoint.base_url}/openai/deployments/{deployment}/chat/completions"
    body = _body(endpoint, messages, tools, stream, params)
    return HTTPParts(url, headers, body, query=(("api-version", model.api_version),))


def parse_openai(value: JSONValue) -> Reply:
    """A ``chat.completion`` object: the first choice's message, finish reason and usage."""
    reply = Reply()
    if not isinstance(value, dict):
        return reply
    choices = value.get("choices")
    choice = choices[0] if isinstance(choices, list) and choices else {}
    message = choice.get("message") or {}
    content = message.get("content")
    reply.text = "".join(
        part for part in (content, message.get("refusal")) if isinstance(part, str)
    )
    reasoning = message.get("reasoning_content") or message.get("reasoning")
    reply.reasoning = reasoning if isinstance(reasoning, str) else ""
    for call in message.get("tool_calls") or ():
        function = call.get("function") or {}
        arguments = function.get("arguments")
        if not isinstance(arguments, str):  # some compatible servers send an object
            arguments = orjson.dumps(arguments or {}).decode()
        reply.tool_calls.append(ToolCall(str(function.get("name")), arguments, call.get("id")))
    reply.finish_reason = choice.get("finish_reason")
    usage = value.get("usage")
    reply.usage = usage if isinstance(usage, dict) else None
    return reply


OPENAI = Provider("openai", build_openai, parse_openai)
AZURE_OPENAI = Provider("azure_openai", build_azure, parse_openai)

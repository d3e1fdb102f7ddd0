"""Google Gemini's ``generateContent``: the request builder (``systemInstruction``,
``functionCall``/``functionResponse`` parts, ``generationConfig``) and the whole-response
reader; the stream (``streamGenerateContent?alt=sse``) is read by the ``gemini`` preset.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import orjson

from sluice.providers.toolcalls import ToolCall
from sluice.providers.types import ChatMessage, Endpoint, HTTPParts, Provider, Reply, ToolSpec
from sluice.streams.types import JSONValue

_PARAM_NAMES = {
    "max_tokens": "maxOutputTokens",
    "top_p": "topP",
    "top_k": "topK",
    "stop": "stopSequences",
}
"""The common parameter names Gemini spells its own way in ``generationConfig``."""
_TOP_LEVEL = frozenset({"safetySettings", "toolConfig", "cachedContent", "labels"})
"""Parameters that belong beside ``generationConfig``, not in it."""


def encode_contents(messages: Sequence[ChatMessage]) -> list[dict[str, Any]]:
    """The turns as ``contents``: ``user`` and ``model`` roles, tool results as user parts."""
    contents: list[dict[str, Any]] = []
    for message in messages:
        if message.role == "system":
            continue
        role = "model" if message.role == "assistant" else "user"
        parts = _parts(message)
        if contents and contents[-1]["role"] == role:
            contents[-1]["parts"].extend(parts)
        else:
            contents.append({"role": role, "parts": parts})
    return contents


def _parts(message: ChatMessage) -> list[dict[str, Any]]:
    if message.role == "tool":
        return [{"functionResponse": {"name": message.name, "response": _response(message)}}]
    parts: list[dict[str, Any]] = []
    if message.content:
        parts.append({"text": message.content})
    for call in message.tool_calls:
        parts.append({"functionCall": {"name": call.name, "args": call.arguments()}})
    return parts


def _response(message: ChatMessage) -> dict[str, Any]:
    """A tool's output as the object ``functionResponse.response`` must be."""
    try:
        value = orjson.loads(message.content)
    except orjson.JSONDecodeError:
        value = None
    return value if isinstance(value, dict) else {"result": message.content}


def _apply_params(body: dict[str, Any], params: Mapping[str, Any]) -> None:
    config: dict[str, Any] = dict(body.get("generationConfig") or {})
    for name, value in params.items():
        if name in _TOP_LEVEL:
            body[name] = value
        elif name == "generationConfig" and isinstance(value, dict):
            config.update(value)
        else:
            config[_PARAM_NAMES.get(name, name)] = value
    if config:
        body["generationConfig"] = config


def build_gemini(
    endpoint: Endpoint,
    messages: Sequence[ChatMessage],
    tools: Sequence[ToolSpec],
    stream: bool,
    params: Mapping[str, Any],
) -> HTTPParts:
    """``POST {base_url}/v1beta/models/{model}:streamGenerateContent?alt=sse`` (or
    ``:generateContent`` when not streaming) with ``x-goog-api-key``."""
    body: dict[str, Any] = {"contents": encode_contents(messages)}
    system = "\n\n".join(m.content for m in messages if m.role == "system" and m.content)
    if system:
        body["systemInstruction"] = {"parts": [{"text": system}]}
    if tools:
        declarations = [
            {"name": t.name, "description": t.description, "parameters": t.parameters}
            for t in tools
        ]
        body["tools"] = [{"functionDeclarations": declarations}]
    _apply_params(body, params)
    headers = {} if endpoint.api_key is None else {"x-goog-api-key": endpoint.api_key}
    model = endpoint.model.model.removeprefix("models/")
    method, query = (
        ("streamGenerateContent", (("alt", "sse"),)) if stream else ("generateContent", ())
    )
    url = f"{endpoint.base_url}/v1beta/models/{model}:{method}"
    return HTTPParts(url, headers, body, query=query)


def parse_gemini(value: JSONValue) -> Reply:
    """A ``GenerateContentResponse``: the first candidate's parts, finish reason and usage."""
    reply = Reply()
    if not isinstance(value, dict):
        return reply
    candidates = value.get("candidates")
    candidate = candidates[0] if isinstance(candidates, list) and candidates else {}
    text: list[str] = []
    thoughts: list[str] = []
    for part in (candidate.get("content") or {}).get("parts") or ():
        call = part.get("functionCall")
        if isinstance(call, dict):
            arguments = orjson.dumps(call.get("args") or {}).decode()
            reply.tool_calls.append(ToolCall(str(call.get("name")), arguments, call.get("id")))
        elif isinstance(part.get("text"), str):
            (thoughts if part.get("thought") else text).append(part["text"])
    reply.text, reply.reasoning = "".join(text), "".join(thoughts)
    blocked = (value.get("promptFeedback") or {}).get("blockReason")
    reply.finish_reason = candidate.get("finishReason") or blocked
    usage = value.get("usageMetadata")
    reply.usage = usage if isinstance(usage, dict) else None
    return reply


GEMINI = Provider(
    "gemini",
    build_gemini,
    parse_gemini,
    preset="gemini",
    tool_markers=('"functionCall"',),
)

"""Tool calls accumulated from a provider's stream, chunk by chunk.

Each provider streams tool calls in its own shape: OpenAI-style chat sends argument
fragments keyed by ``index``, the Responses API and Anthropic key them by output item or
content block, Cohere by ``index`` under its own event names, and Gemini and Ollama send
each call whole with its arguments as an object. An accumulator reads one chunk at a time,
so the runner knows a call has begun while the stream is still running.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import orjson

from sluice.streams.types import Chunk


@dataclass(slots=True)
class ToolCall:
    """One call the model asked for; ``arguments_json`` is the exact concatenated text."""

    name: str
    arguments_json: str = ""
    id: str | None = None
    is_server: bool = False
    """Executed by the provider itself (Anthropic ``server_tool_use``), not by us."""

    def arguments(self) -> dict[str, Any]:
        """The parsed arguments; raises ``ValueError`` when they are not a JSON object."""
        text = self.arguments_json.strip() or "{}"
        try:
            value = orjson.loads(text)
        except orjson.JSONDecodeError as exc:
            raise ValueError(f"tool arguments are not valid JSON: {exc}") from exc
        if not isinstance(value, dict):
            raise ValueError(f"expected a JSON object of arguments, got {type(value).__name__}")
        return value


@dataclass(slots=True)
class ToolCallAccumulator:
    """Collects tool calls from one stream; ``calls`` keeps the order the calls started."""

    provider: str
    calls: list[ToolCall] = field(default_factory=list)
    _by_key: dict[object, ToolCall] = field(default_factory=dict)

    def add(self, chunk: Chunk) -> None:
        data = chunk.data
        if isinstance(data, dict):
            _READERS.get(self.provider, _read_openai)(self, chunk.event, data)

    @property
    def client_calls(self) -> list[ToolCall]:
        """The calls Sluice must execute (provider-executed calls left out)."""
        return [call for call in self.calls if not call.is_server]

    def _start(
        self, key: object, name: str, call_id: str | None, *, is_server: bool = False
    ) -> ToolCall:
        call = ToolCall(name=name, id=call_id, is_server=is_server)
        self._by_key[key] = call
        self.calls.append(call)
        return call

    def _append(self, key: object, fragment: object) -> None:
        call = self._by_key.get(key)
        if call is not None and isinstance(fragment, str):
            call.arguments_json += fragment


def _dig(value: object, *path: str | int) -> Any:
    for step in path:
        if isinstance(step, str) and isinstance(value, dict):
            value = value.get(step)
        elif isinstance(step, int) and isinstance(value, list) and -len(value) <= step < len(value):
            value = value[step]
        else:
            return None
    return value


def _read_openai(acc: ToolCallAccumulator, event: str | None, data: dict[str, Any]) -> None:
    deltas = _dig(data, "choices", 0, "delta", "tool_calls")
    if not isinstance(deltas, list):
        return
    for position, delta in enumerate(deltas):
        if not isinstance(delta, dict):
            continue
        key = delta.get("index", position if delta.get("id") is None else delta.get("id"))
        function = delta.get("function") or {}
        name = function.get("name")
        if key not in acc._by_key and isinstance(name, str):
            acc._start(key, name, delta.get("id"))
        acc._append(key, function.get("arguments"))


def _read_responses(acc: ToolCallAccumulator, event: str | None, data: dict[str, Any]) -> None:
    kind = data.get("type")
    if kind == "response.output_item.added":
        item = data.get("item") or {}
        if item.get("type") == "function_call":
            call = acc._start(item.get("id"), str(item.get("name")), item.get("call_id"))
            call.arguments_json = item.get("arguments") or ""
    elif kind == "response.function_call_arguments.delta":
        acc._append(data.get("item_id"), data.get("delta"))
    elif kind == "response.function_call_arguments.done":
        done = acc._by_key.get(data.get("item_id"))
        if done is not None and isinstance(data.get("arguments"), str):
            done.arguments_json = data["arguments"]


def _read_anthropic(acc: ToolCallAccumulator, event: str | None, data: dict[str, Any]) -> None:
    kind = data.get("type")
    if kind == "content_block_start":
        block = data.get("content_block") or {}
        if block.get("type") in ("tool_use", "server_tool_use"):
            call = acc._start(
                data.get("index"),
                str(block.get("name")),
                block.get("id"),
                is_server=block.get("type") == "server_tool_use",
            )
            if block.get("input"):
                call.arguments_json = orjson.dumps(block["input"]).decode()
    elif kind == "content_block_delta":
        delta = data.get("delta") or {}
        if delta.get("type") == "input_json_delta":
            acc._append(data.get("index"), delta.get("partial_json"))


def _read_whole_calls(calls: object, acc: ToolCallAccumulator) -> None:
    """Gemini parts and Ollama tool calls: each call arrives whole, arguments as an object."""
    if not isinstance(calls, list):
        return
    for item in calls:
        function = _dig(item, "functionCall") or _dig(item, "function")
        if isinstance(function, dict) and isinstance(function.get("name"), str):
            arguments = function.get("args", function.get("arguments")) or {}
            call = acc._start(len(acc.calls), function["name"], function.get("id"))
            call.arguments_json = orjson.dumps(arguments).decode()


def _read_gemini(acc: ToolCallAccumulator, event: str | None, data: dict[str, Any]) -> None:
    _read_whole_calls(_dig(data, "candidates", 0, "content", "parts"), acc)


def _read_ollama(acc: ToolCallAccumulator, event: str | None, data: dict[str, Any]) -> None:
    _read_whole_calls(_dig(data, "message", "tool_calls"), acc)


def _read_cohere(acc: ToolCallAccumulator, event: str | None, data: dict[str, Any]) -> None:
    kind = data.get("type")
    call = _dig(data, "delta", "message", "tool_calls")
    if not isinstance(call, dict):
        return
    function = call.get("function") or {}
    if kind == "tool-call-start":
        started = acc._start(data.get("index"), str(function.get("name")), call.get("id"))
        started.arguments_json = function.get("arguments") or ""
    elif kind == "tool-call-delta":
        acc._append(data.get("index"), function.get("arguments"))


_Reader = Callable[[ToolCallAccumulator, "str | None", dict[str, Any]], None]
_READERS: dict[str, _Reader] = {
    "openai": _read_openai,
    "openai_responses": _read_responses,
    "anthropic": _read_anthropic,
    "gemini": _read_gemini,
    "ollama": _read_ollama,
    "cohere": _read_cohere,
}

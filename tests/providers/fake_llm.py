"""A fake LLM server for provider tests: a real aiohttp.web app on 127.0.0.1, port 0, that
speaks each provider's protocol (OpenAI, Azure OpenAI, Anthropic, Ollama, Gemini).

Replies are queued before the client asks: a scripted ``Turn`` (provider-neutral text,
reasoning and tool calls, rendered as the provider streams it, or as one JSON body when
the request does not stream), a recorded body to ``Replay``, or an error ``Status``. A
turn may hold its stream on an ``asyncio.Event`` after its first text, so a test can see
tokens arrive before the upstream has finished. Nothing sleeps.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import orjson
from aiohttp import web


@dataclass
class Call:
    """A scripted tool call; its arguments are streamed as these fragments, in order."""

    id: str
    name: str
    fragments: list[str]

    @property
    def arguments(self) -> dict[str, Any]:
        value = orjson.loads("".join(self.fragments))
        assert isinstance(value, dict)
        return value


@dataclass
class Turn:
    """One scripted answer; each text or reasoning piece is one chunk."""

    text: list[str] = field(default_factory=list)
    reasoning: list[str] = field(default_factory=list)
    calls: list[Call] = field(default_factory=list)
    hold: asyncio.Event | None = None
    """Held after the first text chunk until set."""
    cut: bool = False
    """Abort the connection where the end of the stream would be."""


@dataclass
class Replay:
    """A recorded body, written in ``piece_bytes`` writes."""

    body: bytes
    content_type: str
    piece_bytes: int = 7


@dataclass
class Status:
    """An error response."""

    status: int
    body: Any


Reply = Turn | Replay | Status


@dataclass(frozen=True)
class Recorded:
    """A request as the server received it."""

    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: Any


class FakeLLM:
    """The server; ``url`` is its base URL once started."""

    def __init__(self) -> None:
        self.requests: list[Recorded] = []
        self.disconnected = asyncio.Event()
        """Set when a client goes away while a reply is still being written."""
        self.url = ""
        self._replies: list[Reply] = []
        self._runner: web.AppRunner | None = None

    def reply(self, *replies: Reply) -> None:
        self._replies.extend(replies)

    async def start(self) -> None:
        app = web.Application()
        app.router.add_post("/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app, handler_cancellation=True, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        server = site._server
        assert isinstance(server, asyncio.Server)
        self.url = f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}"

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        body = orjson.loads(await request.read())
        self.requests.append(
            Recorded(request.path, dict(request.query), dict(request.headers), body)
        )
        reply = self._replies.pop(0) if self._replies else Status(599, {"error": "no reply"})
        if isinstance(reply, Status):
            return web.Response(
                status=reply.status, body=orjson.dumps(reply.body), content_type="application/json"
            )
        if isinstance(reply, Replay):
            steps: list[bytes | asyncio.Event] = [
                reply.body[i : i + reply.piece_bytes]
                for i in range(0, len(reply.body), reply.piece_bytes)
            ]
            return await _write(request, steps, reply.content_type, cut=False)
        protocol = _protocol(request.path)
        if not _is_streamed(protocol, request.path, body):
            whole = WHOLE[protocol](reply)
            return web.Response(body=orjson.dumps(whole), content_type="application/json")
        content_type = "application/x-ndjson" if protocol == "ollama" else "text/event-stream"
        try:
            return await _write(request, STREAMED[protocol](reply), content_type, cut=reply.cut)
        except (asyncio.CancelledError, ConnectionResetError):
            self.disconnected.set()
            raise


def _protocol(path: str) -> str:
    if path.endswith("/v1/messages"):
        return "anthropic"
    if path.endswith("/api/chat"):
        return "ollama"
    if ":streamGenerateContent" in path or ":generateContent" in path:
        return "gemini"
    if "/openai/deployments/" in path:
        return "azure"
    return "openai"


def _is_streamed(protocol: str, path: str, body: dict[str, Any]) -> bool:
    if protocol == "gemini":
        return ":streamGenerateContent" in path
    return bool(body.get("stream", protocol == "ollama"))


async def _write(
    request: web.Request, steps: list[bytes | asyncio.Event], content_type: str, *, cut: bool
) -> web.StreamResponse:
    response = web.StreamResponse(headers={"Content-Type": content_type})
    await response.prepare(request)
    for step in steps:
        if isinstance(step, asyncio.Event):
            await step.wait()
        else:
            await response.write(step)
    if cut:
        assert request.transport is not None
        request.transport.abort()
        return response
    await response.write_eof()
    return response


def _sse(data: Any, event: str | None = None) -> bytes:
    head = b"" if event is None else b"event: " + event.encode() + b"\n"
    return head + b"data: " + orjson.dumps(data) + b"\n\n"


def _with_hold(turn: Turn, chunks: list[bytes], first_text_at: int) -> list[bytes | asyncio.Event]:
    steps: list[bytes | asyncio.Event] = list(chunks)
    if turn.hold is not None and turn.text:
        steps.insert(first_text_at + 1, turn.hold)
    return steps


OPENAI_USAGE = {"prompt_tokens": 12, "completion_tokens": 5, "total_tokens": 17}


def _openai_chunk(delta: dict[str, Any], finish: str | None = None) -> bytes:
    choice = {"index": 0, "delta": delta, "finish_reason": finish}
    return _sse({"object": "chat.completion.chunk", "choices": [choice]})


def stream_openai(turn: Turn, *, azure: bool = False) -> list[bytes | asyncio.Event]:
    chunks = [_openai_chunk({"role": "assistant", "content": ""})]
    if azure:  # Azure opens with the prompt's content-filter results and no choices
        chunks.insert(0, _sse({"choices": [], "prompt_filter_results": [{"prompt_index": 0}]}))
    chunks += [_openai_chunk({"reasoning_content": piece}) for piece in turn.reasoning]
    first_text_at = len(chunks)
    chunks += [_openai_chunk({"content": piece}) for piece in turn.text]
    for index, call in enumerate(turn.calls):
        function = {"name": call.name, "arguments": ""}
        start = {"index": index, "id": call.id, "type": "function", "function": function}
        chunks.append(_openai_chunk({"tool_calls": [start]}))
        chunks += [
            _openai_chunk({"tool_calls": [{"index": index, "function": {"arguments": fragment}}]})
            for fragment in call.fragments
        ]
    chunks.append(_openai_chunk({}, "tool_calls" if turn.calls else "stop"))
    chunks.append(_sse({"object": "chat.completion.chunk", "choices": [], "usage": OPENAI_USAGE}))
    if not turn.cut:
        chunks.append(b"data: [DONE]\n\n")
    return _with_hold(turn, chunks, first_text_at)


def whole_openai(turn: Turn) -> dict[str, Any]:
    message: dict[str, Any] = {"role": "assistant", "content": "".join(turn.text) or None}
    if turn.reasoning:
        message["reasoning_content"] = "".join(turn.reasoning)
    if turn.calls:
        message["tool_calls"] = [
            {
                "id": call.id,
                "type": "function",
                "function": {"name": call.name, "arguments": "".join(call.fragments)},
            }
            for call in turn.calls
        ]
    finish = "tool_calls" if turn.calls else "stop"
    choice = {"index": 0, "message": message, "finish_reason": finish}
    return {"object": "chat.completion", "choices": [choice], "usage": OPENAI_USAGE}


def stream_anthropic(turn: Turn) -> list[bytes | asyncio.Event]:
    start = {"type": "message", "role": "assistant", "content": [], "usage": {"input_tokens": 12}}
    chunks = [_sse({"type": "message_start", "message": start}, "message_start")]
    blocks: list[tuple[dict[str, Any], str, str, list[str]]] = []
    if turn.reasoning:
        blocks.append(
            ({"type": "thinking", "thinking": ""}, "thinking_delta", "thinking", turn.reasoning)
        )
    if turn.text:
        blocks.append(({"type": "text", "text": ""}, "text_delta", "text", turn.text))
    for call in turn.calls:
        block = {"type": "tool_use", "id": call.id, "name": call.name, "input": {}}
        blocks.append((block, "input_json_delta", "partial_json", call.fragments))
    first_text_at = 0
    for index, (block, delta_type, key, pieces) in enumerate(blocks):
        chunks.append(
            _sse(
                {"type": "content_block_start", "index": index, "content_block": block},
                "content_block_start",
            )
        )
        if key == "text":
            first_text_at = len(chunks)
        for piece in pieces:
            delta = {"type": delta_type, key: piece}
            chunks.append(
                _sse(
                    {"type": "content_block_delta", "index": index, "delta": delta},
                    "content_block_delta",
                )
            )
        chunks.append(_sse({"type": "content_block_stop", "index": index}, "content_block_stop"))
    stop = "tool_use" if turn.calls else "end_turn"
    ending: dict[str, Any] = {
        "type": "message_delta",
        "delta": {"stop_reason": stop},
        "usage": {"output_tokens": 5},
    }
    chunks.append(_sse(ending, "message_delta"))
    if not turn.cut:
        chunks.append(_sse({"type": "message_stop"}, "message_stop"))
    return _with_hold(turn, chunks, first_text_at)


def whole_anthropic(turn: Turn) -> dict[str, Any]:
    content: list[dict[str, Any]] = []
    if turn.reasoning:
        content.append({"type": "thinking", "thinking": "".join(turn.reasoning), "signature": "s"})
    if turn.text:
        content.append({"type": "text", "text": "".join(turn.text)})
    content += [
        {"type": "tool_use", "id": call.id, "name": call.name, "input": call.arguments}
        for call in turn.calls
    ]
    return {
        "type": "message",
        "role": "assistant",
        "content": content,
        "stop_reason": "tool_use" if turn.calls else "end_turn",
        "usage": {"input_tokens": 12, "output_tokens": 5},
    }


OLLAMA_COUNTERS = {
    "total_duration": 900,
    "load_duration": 100,
    "prompt_eval_count": 12,
    "prompt_eval_duration": 200,
    "eval_count": 5,
    "eval_duration": 600,
}


def _ollama_line(message: dict[str, Any], **extra: Any) -> bytes:
    line = {"model": "fake", "message": {"role": "assistant", "content": "", **message}}
    return orjson.dumps({**line, "done": False, **extra}) + b"\n"


def stream_ollama(turn: Turn) -> list[bytes | asyncio.Event]:
    chunks = [_ollama_line({"thinking": piece}) for piece in turn.reasoning]
    first_text_at = len(chunks)
    chunks += [_ollama_line({"content": piece}) for piece in turn.text]
    if turn.calls:  # Ollama sends the calls whole, in one line
        calls = [{"function": {"name": c.name, "arguments": c.arguments}} for c in turn.calls]
        chunks.append(_ollama_line({"tool_calls": calls}))
    if not turn.cut:
        chunks.append(_ollama_line({}, done=True, done_reason="stop", **OLLAMA_COUNTERS))
    return _with_hold(turn, chunks, first_text_at)


def whole_ollama(turn: Turn) -> dict[str, Any]:
    message: dict[str, Any] = {"role": "assistant", "content": "".join(turn.text)}
    if turn.reasoning:
        message["thinking"] = "".join(turn.reasoning)
    if turn.calls:
        message["tool_calls"] = [
            {"function": {"name": c.name, "arguments": c.arguments}} for c in turn.calls
        ]
    return {
        "model": "fake",
        "message": message,
        "done": True,
        "done_reason": "stop",
        **OLLAMA_COUNTERS,
    }


GEMINI_USAGE = {"promptTokenCount": 12, "candidatesTokenCount": 5, "totalTokenCount": 17}


def _gemini_chunk(parts: list[dict[str, Any]], **candidate: Any) -> bytes:
    content = {"role": "model", "parts": parts}
    return _sse({"candidates": [{"content": content, "index": 0, **candidate}]})


def stream_gemini(turn: Turn) -> list[bytes | asyncio.Event]:
    chunks = [_gemini_chunk([{"text": piece, "thought": True}]) for piece in turn.reasoning]
    first_text_at = len(chunks)
    chunks += [_gemini_chunk([{"text": piece}]) for piece in turn.text]
    chunks += [
        _gemini_chunk([{"functionCall": {"name": c.name, "args": c.arguments}}]) for c in turn.calls
    ]
    if not turn.cut:
        last = {
            "candidates": [
                {"content": {"role": "model", "parts": [{"text": ""}]}, "finishReason": "STOP"}
            ]
        }
        chunks.append(_sse({**last, "usageMetadata": GEMINI_USAGE}))
    return _with_hold(turn, chunks, first_text_at)


def whole_gemini(turn: Turn) -> dict[str, Any]:
    parts: list[dict[str, Any]] = []
    if turn.reasoning:
        parts.append({"text": "".join(turn.reasoning), "thought": True})
    if turn.text:
        parts.append({"text": "".join(turn.text)})
    parts += [{"functionCall": {"name": c.name, "args": c.arguments}} for c in turn.calls]
    candidate = {"content": {"role": "model", "parts": parts}, "finishReason": "STOP", "index": 0}
    return {"candidates": [candidate], "usageMetadata": GEMINI_USAGE}


STREAMED: dict[str, Callable[[Turn], list[bytes | asyncio.Event]]] = {
    "openai": stream_openai,
    "azure": lambda turn: stream_openai(turn, azure=True),
    "anthropic": stream_anthropic,
    "ollama": stream_ollama,
    "gemini": stream_gemini,
}
WHOLE: dict[str, Callable[[Turn], dict[str, Any]]] = {
    "openai": whole_openai,
    "azure": whole_openai,
    "anthropic": whole_anthropic,
    "ollama": whole_ollama,
    "gemini": whole_gemini,
}

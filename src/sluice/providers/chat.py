"""A chat call to a configured model: the provider's request over the shared session, its
stream read by the streaming core with tool calls and reasoning noted as they arrive.

``stream_chat`` (or the ``open_chat`` context manager) returns a ``ChatStream``: iterate it
for ``ChatDelta``s, then read ``result``. The same code path serves every provider; what
differs is the ``Provider`` (request builder, whole-response reader, stream settings).
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterator, Mapping, Sequence
from typing import Self

import orjson

from sluice.errors import StreamFormatError, UpstreamError
from sluice.integrations.http1 import Response
from sluice.integrations.session import UpstreamSession
from sluice.integrations.templating import RenderedRequest, scrub_json
from sluice.integrations.upstream import UpstreamCall, scrub_state
from sluice.providers.anthropic import ANTHROPIC
from sluice.providers.gemini import GEMINI
from sluice.providers.model import ModelConfig
from sluice.providers.ollama import OLLAMA
from sluice.providers.openai import AZURE_OPENAI, OPENAI
from sluice.providers.toolcalls import ToolCall, ToolCallAccumulator
from sluice.providers.types import (
    ChatDelta,
    ChatMessage,
    ChatResult,
    Endpoint,
    Provider,
    ReasoningDelta,
    Reply,
    TextDelta,
    ToolCallStarted,
    ToolSpec,
)
from sluice.streams.pipeline import EarlyReader, StreamReader, StreamSettings
from sluice.streams.types import Chunk, JSONValue

__all__ = [
    "PROVIDERS",
    "ChatDelta",
    "ChatMessage",
    "ChatResult",
    "ChatStream",
    "ReasoningDelta",
    "TextDelta",
    "ToolCallStarted",
    "ToolSpec",
    "open_chat",
    "stream_chat",
]

PROVIDERS: Mapping[str, Provider] = {
    p.name: p for p in (OPENAI, AZURE_OPENAI, ANTHROPIC, OLLAMA, GEMINI)
}


class ChatStream:
    """One chat call; iterate it (once) for ``ChatDelta``s, then read ``result``.

    The request is sent when iteration starts. Within one upstream read the deltas leave
    in the order reasoning, text, started tool calls. Iteration raises ``UpstreamError``
    after yielding everything said before the failure; ``result`` keeps the text, calls
    and chunks either way. ``aclose()`` closes the upstream response at once.
    """

    def __init__(
        self, provider: Provider, call: UpstreamCall, *, stream: bool, keep_chunks: bool = True
    ) -> None:
        self.provider = provider
        self.is_streamed = stream
        self.keeps_chunks = keep_chunks
        self._call = call
        self._reader: StreamReader | None = None
        self._tools = ToolCallAccumulator(provider.preset)
        self._reply = Reply()
        self._chunks: list[JSONValue] = []
        self._error: UpstreamError | None = None
        self._deltas = self._run()

    def __aiter__(self) -> AsyncIterator[ChatDelta]:
        return self._deltas

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Stop the call; the upstream connection is closed, not returned to the pool."""
        await self._deltas.aclose()

    @property
    def result(self) -> ChatResult:
        """What the call has produced so far (all of it once iteration has ended)."""
        reader, reply = self._reader, self._reply
        chunks: Sequence[JSONValue]
        if reader is None:
            text, reasoning, chunks = reply.text, reply.reasoning, self._chunks
            calls, usage, finish_reason = reply.tool_calls, reply.usage, reply.finish_reason
        else:
            state = reader.state
            text, reasoning, chunks = reader.text, "".join(state.reasoning), self._stream_chunks()
            calls, usage, finish_reason = self._tools.client_calls, state.usage, state.finish_reason
        return ChatResult(
            text=text,
            tool_calls=tuple(calls),
            usage=usage,
            finish_reason=finish_reason,
            chunks=chunks,
            reasoning=reasoning,
            error=self._error,
            status=self._call.status,
        )

    async def _run(self) -> AsyncGenerator[ChatDelta, None]:
        call = self._call
        provider = self.provider
        settings = StreamSettings(type=provider.stream_type, mapping=provider.preset)
        early = EarlyReader(settings)
        if self.is_streamed and early.can_build_early:
            call.on_sent = early.build
        try:
            async with call.response() as response:
                content_type = response.headers.get("Content-Type")
                deltas = (
                    self._stream(response, early.take(content_type))
                    if self.is_streamed
                    else self._whole(response)
                )
                try:  # not ``aclosing``: one object less for as long as the call lasts
                    async for delta in deltas:
                        yield delta
                finally:
                    await deltas.aclose()
        except UpstreamError as exc:
            if call.error_body is not None:
                self._chunks = [call.error_body]
            self._error = call.scrub_error(exc)
            if self._reader is not None and call.request.secrets:
                scrub_state(self._reader.state, call.request)
            raise

    async def _stream(
        self, response: Response, reader: StreamReader
    ) -> AsyncGenerator[ChatDelta, None]:
        self._reader = reader
        provider = self.provider
        watch = _Watch(reader, self._tools, provider.tool_markers, keep=self.keeps_chunks)
        body = self._call.body(response)
        is_quiet = True
        try:
            async for data in body:
                rest = data
                while rest:  # more than one step only for a stream's first events
                    pieces, rest = reader.feed_first(rest)
                    deltas = watch.deltas(pieces)
                    if deltas and is_quiet:  # the first news: out before anything more is read
                        is_quiet = False
                        self._call.hold_reading()
                    for delta in deltas:
                        yield delta
                    if reader.error is not None:
                        break
                if reader.error is not None:
                    break
            else:
                for delta in watch.deltas(reader.finish()):
                    yield delta
        except UpstreamError as exc:
            if reader.error is None:
                reader.fail(exc)  # nothing is held: this reader does not buffer
            raise
        finally:
            reader.close()
            await body.aclose()
        if reader.error is not None:
            raise reader.error

    async def _whole(self, response: Response) -> AsyncGenerator[ChatDelta, None]:
        parts = [data async for data in self._call.body(response)]
        try:
            value = orjson.loads(b"".join(parts))
        except orjson.JSONDecodeError as exc:
            raise StreamFormatError(f"the response is not JSON: {exc}") from exc
        self._chunks = [value]
        reply = self._reply = self.provider.parse_response(value)
        _name_calls(reply.tool_calls, 0)
        if reply.reasoning:
            yield ReasoningDelta(reply.reasoning)
        if reply.text:
            yield TextDelta(reply.text)
        for tool_call in reply.tool_calls:
            yield ToolCallStarted(tool_call.name, tool_call.id)

    def _stream_chunks(self) -> Sequence[JSONValue]:
        assert self._reader is not None
        chunks, secrets = self._reader.chunks, self._call.request.secrets
        if any(secret in chunks.raw(i) for i in range(len(chunks)) for secret in secrets):
            return [scrub_json(chunk, secrets) for chunk in chunks]
        return chunks


class _Watch:
    """Turns what one read told the reader into deltas: new reasoning, text, started calls.

    Only chunks holding one of ``markers`` are parsed again for tool calls, so text
    chunks cost a substring search, not a second parse.
    """

    __slots__ = (
        "_accumulator",
        "_keep",
        "_markers",
        "_reader",
        "_seen_calls",
        "_seen_chunks",
        "_seen_reasoning",
    )

    def __init__(
        self,
        reader: StreamReader,
        accumulator: ToolCallAccumulator,
        markers: tuple[str, ...],
        *,
        keep: bool = True,
    ) -> None:
        self._reader = reader
        self._accumulator = accumulator
        self._markers = markers
        self._keep = keep
        self._seen_chunks = self._seen_reasoning = self._seen_calls = 0

    def deltas(self, pieces: list[str]) -> list[ChatDelta]:
        out: list[ChatDelta] = []
        reasoning = self._reader.state.reasoning
        if len(reasoning) > self._seen_reasoning:
            out.append(ReasoningDelta("".join(reasoning[self._seen_reasoning :])))
            self._seen_reasoning = len(reasoning)
        if pieces:
            out.append(TextDelta("".join(pieces)))
        self._add_tool_chunks()
        calls = self._accumulator.calls
        if len(calls) > self._seen_calls:
            started = calls[self._seen_calls :]
            _name_calls(started, self._seen_calls)
            self._seen_calls = len(calls)
            out += [ToolCallStarted(c.name, c.id) for c in started if not c.is_server]
        return out

    def _add_tool_chunks(self) -> None:
        chunks, markers = self._reader.chunks, self._markers
        for index in range(self._seen_chunks, len(chunks)):
            raw = chunks.raw(index)
            if any(marker in raw for marker in markers):
                try:
                    value = orjson.loads(raw)
                except orjson.JSONDecodeError:
                    continue  # kept as text, never a tool call
                self._accumulator.add(Chunk(value, raw))
        if self._keep:
            self._seen_chunks = len(chunks)
        else:  # seen, and nobody will read them again
            chunks.clear()


def _name_calls(calls: Sequence[ToolCall], start: int) -> None:
    """Give every call an id (``call_<n>``) where the provider sent none (Gemini, Ollama),
    so that its result can be matched to it."""
    for number, tool_call in enumerate(calls, start):
        if not tool_call.id:
            tool_call.id = f"call_{number}"


async def stream_chat(
    model: ModelConfig,
    messages: Sequence[ChatMessage],
    *,
    tools: Sequence[ToolSpec] = (),
    session: UpstreamSession,
    stream: bool = True,
    params: Mapping[str, object] | None = None,
    secrets: Mapping[str, str] | None = None,
    keep_chunks: bool = True,
) -> ChatStream:
    """Build the provider's request and return its ``ChatStream`` (sent when iterated).

    ``params`` are merged over ``model.params`` into the body. ``stream=False`` sends the
    provider's non-streaming request and yields its whole text as one ``TextDelta``.
    Raises ``ConfigError`` when the model cannot be addressed (no key, no base URL).
    """
    return open_chat(
        model,
        messages,
        tools=tools,
        session=session,
        stream=stream,
        params=params,
        secrets=secrets,
        keep_chunks=keep_chunks,
    )


def open_chat(
    model: ModelConfig,
    messages: Sequence[ChatMessage],
    *,
    tools: Sequence[ToolSpec] = (),
    session: UpstreamSession,
    stream: bool = True,
    params: Mapping[str, object] | None = None,
    secrets: Mapping[str, str] | None = None,
    keep_chunks: bool = True,
) -> ChatStream:
    """``stream_chat`` as a block (``async with open_chat(...) as chat``); leaving it closes
    the upstream response at once. Raises ``ConfigError`` as ``stream_chat`` does."""
    provider = PROVIDERS[model.provider]
    api_key = model.resolve_api_key(secrets)
    endpoint = Endpoint(model, model.resolve_base_url(), api_key)
    merged = {**model.params, **(params or {})}
    parts = provider.build_request(endpoint, messages, tools, stream, merged)
    request = RenderedRequest(
        method="POST",
        url=parts.url,
        headers=parts.headers,
        query=list(parts.query),
        body=parts.body,
        secrets=frozenset({api_key} if api_key else ()),
    )
    call = UpstreamCall(request, model.timeouts, session, source=f"model {model.id}")
    return ChatStream(provider, call, stream=stream, keep_chunks=keep_chunks)

"""Running an integration: its rendered request over the shared aiohttp session, the body
read under connect, first-chunk, gap and total deadlines and streamed through the reader.

``UpstreamCall`` holds the HTTP mechanics every upstream request shares (integrations and
LLM providers alike): aiohttp's exceptions are translated to ``UpstreamError`` there and
nowhere else, and every message is scrubbed of the secrets the request used.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Mapping, Sequence
from contextlib import aclosing, asynccontextmanager, suppress
from dataclasses import dataclass, field
from typing import NoReturn, cast
from urllib.parse import urlsplit

import aiohttp
import orjson

from sluice.errors import (
    ConfigError,
    StreamCutError,
    StreamErrorEvent,
    UpstreamConnectionError,
    UpstreamError,
    UpstreamStatusError,
    UpstreamTimeoutError,
)
from sluice.integrations.model import Integration, StreamBlock, Timeouts
from sluice.integrations.response import decode_whole, error_message
from sluice.integrations.templating import RenderedRequest, scrub_json
from sluice.streams.pipeline import StreamReader, read_batches
from sluice.streams.types import JSONValue, StreamState

logger = logging.getLogger(__name__)

_ERROR_BODY_MAX_BYTES = 64 * 1024


class UpstreamCall:
    """One rendered request sent over the shared session under ``timeouts``.

    ``response()`` sends it and yields the 2xx response (any other status raises
    ``UpstreamStatusError`` with the provider's own message; its parsed body is kept in
    ``error_body``); ``body(response)`` yields the body's reads, each under the first-chunk
    or gap deadline and the total one. One INFO line is logged per request, naming
    ``source``. Times are event-loop clock seconds.
    """

    def __init__(
        self,
        request: RenderedRequest,
        timeouts: Timeouts,
        session: aiohttp.ClientSession,
        *,
        source: str,
    ) -> None:
        self.request = request
        self.timeouts = timeouts
        self.source = source
        self.status: int | None = None
        self.error_body: JSONValue = None
        self.started_at = 0.0
        self.first_chunk_at: float | None = None
        self.ended_at: float | None = None
        self._session = session
        self._total_deadline = 0.0
        self._is_read = False

    @property
    def first_chunk_s(self) -> float | None:
        """Seconds from sending the request to the first body bytes."""
        return _since(self.started_at, self.first_chunk_at)

    @property
    def elapsed_s(self) -> float | None:
        """Seconds the whole request took (None until it ends)."""
        return _since(self.started_at, self.ended_at)

    @asynccontextmanager
    async def response(self) -> AsyncIterator[aiohttp.ClientResponse]:
        """Send the request and yield its 2xx response.

        Leaving the block releases the connection to the pool when the body was read to
        its end, and closes it otherwise (an abandoned stream must not be reused).
        """
        self.started_at = self._now()
        self._total_deadline = self.started_at + self.timeouts.total_s
        outcome = "cancelled"
        try:
            response = await self._open()
            self.status = response.status
            try:
                if not 200 <= response.status < 300:
                    await self._fail_status(response)
                yield response
            finally:
                if self._is_read:
                    response.release()
                else:
                    response.close()
            outcome = "ok"
        except UpstreamError as exc:
            outcome = exc.code
            raise
        finally:
            self.ended_at = self._now()
            self._log(outcome)

    async def body(self, response: aiohttp.ClientResponse) -> AsyncGenerator[bytes, None]:
        """The body's reads, each under the first-chunk or gap deadline and the total one."""
        content, gap_s, total_deadline = response.content, self.timeouts.gap_s, self._total_deadline
        deadline = min(self.started_at + self.timeouts.first_chunk_s, total_deadline)
        while True:
            try:
                async with asyncio.timeout_at(deadline):
                    data = await content.readany()
            except TimeoutError as exc:
                raise self._timeout_error(deadline) from exc
            except aiohttp.ClientError as exc:
                message = self.request.scrub(f"the upstream connection broke: {exc}")
                raise StreamCutError(message) from self._cause(exc)
            if not data:
                self._is_read = True
                return
            now = self._now()
            if self.first_chunk_at is None:
                self.first_chunk_at = now
            deadline = min(now + gap_s, total_deadline)
            yield data

    def scrub_error(self, exc: UpstreamError) -> UpstreamError:
        """``exc`` with the request's secrets removed from its message and error object."""
        secrets, scrub = self.request.secrets, self.request.scrub
        if secrets:
            exc.message = scrub(exc.message)
            exc.args = (exc.message,)
            if isinstance(exc, StreamErrorEvent):
                exc.error = scrub_json(exc.error, secrets)
        return exc

    async def _open(self) -> aiohttp.ClientResponse:
        request = self.request
        headers = dict(request.headers)
        data = None
        if request.body is not None:
            data = orjson.dumps(request.body)
            if not any(name.lower() == "content-type" for name in headers):
                headers["Content-Type"] = "application/json"
        deadline = min(self.started_at + self.timeouts.first_chunk_s, self._total_deadline)
        try:
            async with asyncio.timeout_at(deadline):
                return await self._session.request(
                    request.method,
                    request.url,
                    params=request.query or None,
                    headers=headers,
                    data=data,
                    timeout=aiohttp.ClientTimeout(total=None, connect=self.timeouts.connect_s),
                )
        except aiohttp.ServerTimeoutError as exc:  # only connect is set on ClientTimeout
            raise UpstreamTimeoutError("connect", self.timeouts.connect_s) from exc
        except TimeoutError as exc:
            raise self._timeout_error(deadline) from exc
        except (aiohttp.InvalidURL, aiohttp.NonHttpUrlClientError) as exc:  # retrying cannot help
            message = request.scrub(f"the URL cannot be requested: {exc}")
            raise ConfigError(message, source=self.source, field="request.url") from None
        except aiohttp.ClientError as exc:
            message = request.scrub(f"cannot reach the upstream: {exc}")
            raise UpstreamConnectionError(message) from self._cause(exc)

    async def _fail_status(self, response: aiohttp.ClientResponse) -> NoReturn:
        parts: list[bytes] = []
        size = 0
        with suppress(UpstreamError):  # an unreadable error body still leaves the status
            async with aclosing(self.body(response)) as body:
                async for data in body:
                    parts.append(data)
                    size += len(data)
                    if size >= _ERROR_BODY_MAX_BYTES:
                        break
        message, value = error_message(b"".join(parts)[:_ERROR_BODY_MAX_BYTES], response.reason)
        self.error_body = value
        raise UpstreamStatusError(response.status, self.request.scrub(message))

    def _timeout_error(self, deadline: float) -> UpstreamTimeoutError:
        if deadline >= self._total_deadline:
            return UpstreamTimeoutError("total", self.timeouts.total_s)
        if self.first_chunk_at is None:
            return UpstreamTimeoutError("first_chunk", self.timeouts.first_chunk_s)
        return UpstreamTimeoutError("gap", self.timeouts.gap_s)

    def _cause(self, exc: BaseException) -> BaseException | None:
        """``exc`` as the cause to chain, unless its text carries a secret."""
        text = str(exc)
        return exc if self.request.scrub(text) == text else None

    def _now(self) -> float:
        return asyncio.get_running_loop().time()

    def _log(self, outcome: str) -> None:
        host = urlsplit(self.request.url).hostname or "?"
        elapsed_ms = ((self.ended_at or 0.0) - self.started_at) * 1000
        logger.info(
            "%s: %s %s -> %s in %.0f ms (%s)",
            self.source,
            self.request.method,
            host,
            self.status,
            elapsed_ms,
            outcome,
        )


@dataclass(frozen=True, slots=True)
class IntegrationResult:
    """What a run produced: ``text`` (all released text), ``chunks`` (every parsed chunk, or
    the parsed body of a request read whole), the HTTP ``status`` and the ``error`` if it failed.

    ``first_chunk_s`` is the time from sending the request to the first body bytes,
    ``elapsed_s`` the whole run's (None until it ends).
    """

    text: str
    chunks: Sequence[JSONValue]
    status: int | None
    error: UpstreamError | None = None
    state: StreamState = field(default_factory=StreamState)
    first_chunk_s: float | None = None
    elapsed_s: float | None = None

    @property
    def is_ok(self) -> bool:
        """Whether the request ran to its end without an error."""
        return self.error is None


class IntegrationRun:
    """One request of an integration; iterate it (once) for the released pieces of text,
    or iterate ``batches()`` for them grouped by upstream read.

    The request is sent when iteration starts. Iteration raises ``UpstreamError`` after
    yielding every piece said before the failure (``ConfigError`` for a URL that cannot be
    requested); ``result`` is a snapshot that keeps the pieces and chunks either way.
    ``aclose()`` (or leaving ``stream_integration``) closes the upstream response at once.
    ``on_read``, when given, is called after each read of a streamed body has been parsed,
    whether or not it released text (the admin Test panel shows chunks as they arrive).
    """

    def __init__(
        self,
        integration: Integration,
        request: RenderedRequest,
        session: aiohttp.ClientSession,
        *,
        on_read: Callable[[], None] | None = None,
    ) -> None:
        self.integration = integration
        self.request = request
        self._on_read = on_read
        self._call = UpstreamCall(
            request,
            integration.request.effective_timeouts,
            session,
            source=f"integration {integration.id}",
        )
        self._reader: StreamReader | None = None
        self._text = ""
        self._chunks: list[JSONValue] = []
        self._error: UpstreamError | None = None
        self._batches = self._run()
        self._pieces: AsyncGenerator[str, None] | None = None

    def __aiter__(self) -> AsyncIterator[str]:
        if self._pieces is None:
            self._pieces = self._flatten()
        return self._pieces

    def batches(self) -> AsyncIterator[list[str]]:
        """The pieces grouped as each upstream read released them (never an empty list).

        Iterate either this or the run itself, not both.
        """
        return self._batches

    async def aclose(self) -> None:
        """Stop the run; the upstream connection is closed, not returned to the pool."""
        if self._pieces is not None:
            await self._pieces.aclose()
        await self._batches.aclose()

    async def _flatten(self) -> AsyncGenerator[str, None]:
        async for batch in self._batches:
            for piece in batch:
                yield piece

    @property
    def result(self) -> IntegrationResult:
        """What the run has produced so far (all of it once iteration has ended)."""
        reader = self._reader
        chunks: Sequence[JSONValue]
        if reader is not None:
            text, chunks, state = reader.text, reader.chunks, reader.state
        else:
            text, chunks, state = self._text, self._chunks, StreamState()
        secrets = self.request.secrets
        return IntegrationResult(
            text=text,
            chunks=[scrub_json(chunk, secrets) for chunk in chunks] if secrets else chunks,
            status=self._call.status,
            error=self._error,
            state=state,
            first_chunk_s=self._call.first_chunk_s,
            elapsed_s=self._call.elapsed_s,
        )

    def chunks_since(self, start: int) -> list[JSONValue]:
        """The chunks parsed so far from index ``start`` on (secrets removed)."""
        reader = self._reader
        chunks = reader.chunks[start:] if reader is not None else self._chunks[start:]
        secrets = self.request.secrets
        return [scrub_json(chunk, secrets) for chunk in chunks] if secrets else chunks

    async def _run(self) -> AsyncGenerator[list[str], None]:
        try:
            async with self._call.response() as response:
                block = self.integration.stream
                batches = (
                    self._read_whole(response) if block is None else self._stream(response, block)
                )
                async with aclosing(batches):
                    async for batch in batches:
                        yield batch
        except UpstreamError as exc:
            if self._call.error_body is not None:
                self._chunks = [self._call.error_body]
            self._error = self._scrubbed(exc)
            raise

    async def _stream(
        self, response: aiohttp.ClientResponse, block: StreamBlock
    ) -> AsyncGenerator[list[str], None]:
        reader = StreamReader(block.settings(), content_type=response.headers.get("Content-Type"))
        self._reader = reader
        body = self._call.body(response)
        if self._on_read is not None:
            body = _observed(body, self._on_read)
        # read_batches is an async generator function; its annotation says only AsyncIterator
        stream = cast(AsyncGenerator[list[str], None], read_batches(body, reader))
        async with aclosing(body), aclosing(stream) as batches:
            try:
                async for batch in batches:
                    yield batch
            except UpstreamError as exc:
                if reader.error is None:  # the body broke off: release what buffering held
                    held = reader.fail(exc)
                    if held:
                        yield held
                raise

    async def _read_whole(
        self, response: aiohttp.ClientResponse
    ) -> AsyncGenerator[list[str], None]:
        parts = [data async for data in self._call.body(response)]
        text, value = decode_whole(b"".join(parts), response.headers.get("Content-Type"))
        self._text, self._chunks = text, [value]
        if text:
            yield [text]

    def _scrubbed(self, exc: UpstreamError) -> UpstreamError:
        """``exc`` (and the stream state) with the request's secrets removed."""
        exc = self._call.scrub_error(exc)
        if self.request.secrets and self._reader is not None:
            scrub_state(self._reader.state, self.request)
        return exc


def scrub_state(state: StreamState, request: RenderedRequest) -> None:
    """Remove ``request``'s secrets from the error a stream's state recorded, in place."""
    state.error = scrub_json(state.error, request.secrets)
    if state.error_message is not None:
        state.error_message = request.scrub(state.error_message)


async def _observed(
    body: AsyncGenerator[bytes, None], on_read: Callable[[], None]
) -> AsyncGenerator[bytes, None]:
    """``body``, calling ``on_read`` when the reader asks for the next read (the last is parsed)."""
    async with aclosing(body):
        async for data in body:
            yield data
            on_read()


def _since(start: float, end: float | None) -> float | None:
    return None if end is None else end - start


@asynccontextmanager
async def stream_integration(
    integration: Integration,
    context: Mapping[str, object],
    *,
    session: aiohttp.ClientSession,
    on_read: Callable[[], None] | None = None,
) -> AsyncIterator[IntegrationRun]:
    """Render the request (``ConfigError`` if a template fails) and yield its run.

    Leaving the block closes the run, and with it the upstream response, at once.
    """
    run = IntegrationRun(integration, integration.render(context), session, on_read=on_read)
    try:
        yield run
    finally:
        await run.aclose()


async def execute_integration(
    integration: Integration, context: Mapping[str, object], *, session: aiohttp.ClientSession
) -> IntegrationResult:
    """Run the request to its end and return the result; a failure is in ``result.error``."""
    async with stream_integration(integration, context, session=session) as run:
        with suppress(UpstreamError):  # kept in run.result.error with the partial output
            async for _ in run:
                pass
    return run.result

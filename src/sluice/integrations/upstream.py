"""The HTTP mechanics every upstream request shares (integrations and LLM providers).

``UpstreamCall`` sends one rendered request over the shared session under its deadlines;
the HTTP client's exceptions are translated to ``UpstreamError`` here and nowhere else, and
every message is scrubbed of the secrets the request used.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from contextlib import aclosing, suppress
from functools import partial
from types import TracebackType
from typing import NoReturn, Self
from urllib.parse import urlsplit

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
from sluice.integrations.deadline import ReadDeadline
from sluice.integrations.http1 import ConnectTimeout, HTTPClientError, InvalidRequest, Response
from sluice.integrations.model import Timeouts
from sluice.integrations.response import error_message
from sluice.integrations.session import UpstreamSession
from sluice.integrations.templating import RenderedRequest, scrub_json
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
        session: UpstreamSession,
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
        self._deadline: ReadDeadline | None = None
        self._is_read = False
        self._response: Response | None = None
        self.on_sent: Callable[[], None] | None = None
        """Called once the request is written, before its answer is awaited (see
        ``UpstreamSession.request``). Dropped as the request goes out: a hook that refers
        back to the call's owner would otherwise make a cycle kept until the collector runs."""

    @property
    def first_chunk_s(self) -> float | None:
        """Seconds from sending the request to the first body bytes."""
        return _since(self.started_at, self.first_chunk_at)

    @property
    def elapsed_s(self) -> float | None:
        """Seconds the whole request took (None until it ends)."""
        return _since(self.started_at, self.ended_at)

    def response(self) -> Self:
        """Use as ``async with call.response() as response``: sends the request and gives
        its 2xx response.

        Leaving the block releases the connection to the pool when the body was read to
        its end, and closes it otherwise (an abandoned stream must not be reused). The call
        is its own context manager, not a generator-based one: nothing more to hold for as
        long as a stream lasts.
        """
        return self

    async def __aenter__(self) -> Response:
        self.started_at = self._now()
        self._total_deadline = self.started_at + self.timeouts.total_s
        # One timer for the call: the first-chunk deadline covers the response's head, then
        # the body's reads move it on (``BodyReads``).
        first = min(self.started_at + self.timeouts.first_chunk_s, self._total_deadline)
        self._deadline = ReadDeadline(first)
        try:
            response = await self._open()
            self.status = response.status
            if not 200 <= response.status < 300:
                try:
                    await self._fail_status(response)
                finally:
                    self._let_go(response)
        except UpstreamError as exc:
            self._end(exc.code)
            raise
        except BaseException:
            self._end("cancelled")
            raise
        self._response = response
        return response

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        response, self._response = self._response, None
        if response is not None:
            self._let_go(response)
        if exc is None:
            self._end("ok")
        else:
            self._end(exc.code if isinstance(exc, UpstreamError) else "cancelled")

    def _let_go(self, response: Response) -> None:
        if self._is_read:
            response.release()
        else:
            response.close()

    def _end(self, outcome: str) -> None:
        self.ended_at = self._now()
        if self._deadline is not None:
            self._deadline.close()
        if logger.isEnabledFor(logging.INFO):
            self._log(outcome)

    def hold_reading(self) -> None:
        """Read nothing more from the upstream until the event loop's next turn.

        For the first text of a stream: the run hands it to its followers with one loop
        turn (``RunRegistry``), and whatever the upstream sent after it would otherwise be
        read and parsed in that turn, ahead of them. The bytes wait in the
        socket meanwhile; reading resumes at the next turn. In the relay benchmark's S1
        (an upstream that writes 50 chunks back to back) the first token reached the
        client 25 to 35 µs sooner (docs/performance.md).
        """
        if self._response is not None:  # not yet released
            self._response.hold_reading()

    def body(self, response: Response) -> BodyReads:
        """The body's reads, each under the first-chunk or gap deadline and the total one."""
        return BodyReads(self, response)

    def scrub_error(self, exc: UpstreamError) -> UpstreamError:
        """``exc`` with the request's secrets removed from its message and error object."""
        secrets, scrub = self.request.secrets, self.request.scrub
        if secrets:
            exc.message = scrub(exc.message)
            exc.args = (exc.message,)
            if isinstance(exc, StreamErrorEvent):
                exc.error = scrub_json(exc.error, secrets)
        return exc

    async def _open(self) -> Response:
        request = self.request
        headers = request.headers
        data = None
        if request.body is not None:
            data = orjson.dumps(request.body)
            if not any(name.lower() == "content-type" for name in headers):
                headers = {**headers, "Content-Type": "application/json"}
        deadline = self._deadline
        assert deadline is not None  # set by __aenter__
        send = partial(
            self._session.request,
            request.method,
            request.url,
            params=request.query or None,
            headers=headers,
            data=data,
            connect_timeout_s=self.timeouts.connect_s,
            sensitive=request.secrets,
            on_sent=self.on_sent,
        )
        self.on_sent = None
        try:
            return await deadline.read(send)
        except ConnectTimeout as exc:
            raise UpstreamTimeoutError("connect", self.timeouts.connect_s) from exc
        except TimeoutError as exc:
            raise self._timeout_error(deadline.when) from exc
        except InvalidRequest as exc:  # retrying cannot help
            what = "the URL cannot be requested" if exc.field == "request.url" else "not sendable"
            message = request.scrub(f"{what}: {exc}")
            raise ConfigError(message, source=self.source, field=exc.field) from None
        except HTTPClientError as exc:
            message = request.scrub(f"cannot reach the upstream: {exc}")
            raise UpstreamConnectionError(message) from self._cause(exc)

    async def _fail_status(self, response: Response) -> NoReturn:
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


class BodyReads:
    """The reads of one response body (``UpstreamCall.body``): an async iterator of bytes.

    A class, not an async generator: a generator's frame, and the loop's weak reference to
    it, would be held for as long as a stream lasts. Ends (``StopAsyncIteration``) when the
    body ends; raises ``UpstreamTimeoutError`` or ``StreamCutError``; closed by any error,
    by the end, or by ``aclose()``.
    """

    __slots__ = ("_call", "_deadline", "_gap_s", "_is_closed", "_loop", "_response", "_total")

    def __init__(self, call: UpstreamCall, response: Response) -> None:
        assert call._deadline is not None  # the call has been sent
        self._call = call
        self._response = response
        self._gap_s = call.timeouts.gap_s
        self._total = call._total_deadline
        self._deadline = call._deadline  # still the first-chunk deadline: no timer to make
        self._loop = asyncio.get_running_loop()
        self._is_closed = False

    def __aiter__(self) -> BodyReads:
        return self

    async def __anext__(self) -> bytes:
        if self._is_closed:
            raise StopAsyncIteration
        call, deadline = self._call, self._deadline
        try:
            data = await deadline.read(self._response.readany)
        except TimeoutError as exc:
            self.close()
            raise call._timeout_error(deadline.when) from exc
        except HTTPClientError as exc:
            self.close()
            message = call.request.scrub(f"the upstream connection broke: {exc}")
            raise StreamCutError(message) from call._cause(exc)
        except BaseException:
            self.close()
            raise
        if not data:
            call._is_read = True
            self.close()
            raise StopAsyncIteration
        now = self._loop.time()
        if call.first_chunk_at is None:
            call.first_chunk_at = now
        deadline.when = min(now + self._gap_s, self._total)
        return data

    async def aclose(self) -> None:
        self.close()

    def close(self) -> None:
        if not self._is_closed:
            self._is_closed = True
            self._deadline.close()


def scrub_state(state: StreamState, request: RenderedRequest) -> None:
    """Remove ``request``'s secrets from the error a stream's state recorded, in place."""
    state.error = scrub_json(state.error, request.secrets)
    if state.error_message is not None:
        state.error_message = request.scrub(state.error_message)


def _since(start: float, end: float | None) -> float | None:
    return None if end is None else end - start

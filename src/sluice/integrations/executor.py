"""Running an integration: its rendered request over the shared session (see
``upstream.UpstreamCall``), the body read under connect, first-chunk, gap and total
deadlines and streamed through the reader.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Mapping, Sequence
from contextlib import aclosing, suppress
from dataclasses import dataclass, field
from typing import Self

from sluice.errors import (
    UpstreamError,
)
from sluice.integrations.http1 import Response
from sluice.integrations.model import Integration
from sluice.integrations.response import decode_whole
from sluice.integrations.session import UpstreamSession
from sluice.integrations.templating import RenderedRequest, scrub_json
from sluice.integrations.upstream import BodyReads, UpstreamCall, scrub_state
from sluice.streams.pipeline import EarlyReader, StreamReader, read_batches
from sluice.streams.types import JSONValue, StreamState

logger = logging.getLogger(__name__)


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
        session: UpstreamSession,
        *,
        on_read: Callable[[], None] | None = None,
        keep_chunks: bool = True,
    ) -> None:
        self.integration = integration
        self.request = request
        self._on_read = on_read
        self._keep_chunks = keep_chunks
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

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

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
        block = self.integration.stream
        early = (
            None if block is None else EarlyReader(block.settings(), keep_chunks=self._keep_chunks)
        )
        if early is not None and early.can_build_early:
            self._call.on_sent = early.build
        try:
            async with self._call.response() as response:
                if early is None:
                    async with aclosing(self._read_whole(response)) as whole:
                        async for batch in whole:
                            yield batch
                    return
                # Read here rather than in a generator of its own: one layer less per read.
                reader = self._reader = early.take(response.headers.get("Content-Type"))
                body = self._call.body(response)
                reads = body if self._on_read is None else _observed(body, self._on_read)
                stream = read_batches(reads, reader)
                is_quiet = True
                try:  # not ``aclosing``: two objects less for as long as the stream lasts
                    async for batch in stream:
                        if is_quiet:  # the first text: out before anything more is read
                            is_quiet = False
                            self._call.hold_reading()
                        yield batch
                except UpstreamError as exc:
                    if reader.error is None:  # the body broke off: release what was held
                        held = reader.fail(exc)
                        if held:
                            yield held
                    raise
                finally:
                    reader.close()
                    await stream.aclose()  # and with it the body
        except UpstreamError as exc:
            if self._call.error_body is not None:
                self._chunks = [self._call.error_body]
            self._error = self._scrubbed(exc)
            raise

    async def _read_whole(self, response: Response) -> AsyncGenerator[list[str], None]:
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


async def _observed(body: BodyReads, on_read: Callable[[], None]) -> AsyncGenerator[bytes, None]:
    """``body``, calling ``on_read`` when the reader asks for the next read (the last is parsed)."""
    async with aclosing(body):
        async for data in body:
            yield data
            on_read()


def stream_integration(
    integration: Integration,
    context: Mapping[str, object],
    *,
    session: UpstreamSession,
    on_read: Callable[[], None] | None = None,
    keep_chunks: bool = True,
) -> IntegrationRun:
    """Render the request (``ConfigError`` if a template fails) and return its run, to use
    as ``async with stream_integration(...) as run``.

    Leaving the block closes the run, and with it the upstream response, at once. With
    ``keep_chunks=False`` the result's ``chunks`` stay empty (nobody will read them).
    """
    return IntegrationRun(
        integration,
        integration.render(context),
        session,
        on_read=on_read,
        keep_chunks=keep_chunks,
    )


async def execute_integration(
    integration: Integration, context: Mapping[str, object], *, session: UpstreamSession
) -> IntegrationResult:
    """Run the request to its end and return the result; a failure is in ``result.error``."""
    async with stream_integration(integration, context, session=session) as run:
        with suppress(UpstreamError):  # kept in run.result.error with the partial output
            async for _ in run:
                pass
    return run.result

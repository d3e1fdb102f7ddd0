"""The asyncio client: ``AsyncSluiceClient`` and the ``AsyncEventStream`` it returns.

The same calls as the sync client (``_calls``), the same cursor (``_sse``); only the
transport differs: an ``httpx.AsyncClient``, awaited.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, Awaitable, Callable, Mapping, Sequence
from contextlib import aclosing
from types import TracebackType
from typing import Any, Generic, Literal, Self, TypeVar, overload

import httpx

from sluice.client import _calls
from sluice.client._calls import Call, StreamCall
from sluice.client._errors import ServerError, SluiceConnectionError, api_error
from sluice.client._sse import CHAT, PREDICTION, StreamCursor
from sluice.client._types import (
    ChatEvent,
    ChatMessage,
    ChatReply,
    Flow,
    Prediction,
    PredictionEvent,
)

E = TypeVar("E")
T = TypeVar("T")


class AsyncEventStream(Generic[E]):
    """The events of one run as they arrive. Iterate it with ``async for``; use it as an async
    context manager (or call ``aclose``) when you may stop early, so the connection is released.

    ``run_id`` is known once the server sent its ``X-Run-Id`` header or first event.
    A dropped connection raises ``StreamInterruptedError``, unless the stream was opened
    with ``auto_resume``: then it reconnects from ``last_event_id`` and goes on.
    """

    def __init__(
        self,
        cursor: StreamCursor[E],
        response: httpx.Response,
        open_stream: Callable[[StreamCall[E]], Awaitable[httpx.Response]],
    ):
        self._cursor = cursor
        self._response = response
        self._open_stream = open_stream
        self._is_sse = cursor.connect(response.headers)
        self._events = self._iterate()

    @property
    def run_id(self) -> str | None:
        return self._cursor.run_id

    @property
    def last_event_id(self) -> str | None:
        """The id of the last event received: what ``resume`` takes."""
        return self._cursor.last_event_id

    def __aiter__(self) -> Self:
        return self

    async def __anext__(self) -> E:
        return await anext(self._events)

    async def aclose(self) -> None:
        await self._events.aclose()
        await self._response.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def _iterate(self) -> AsyncGenerator[E]:
        response: httpx.Response | None = self._response
        while True:
            try:
                if response is None:
                    response = await self._reopen()
                async with aclosing(self._read(response)) as events:
                    async for event in events:
                        yield event
                return
            except (SluiceConnectionError, ServerError) as exc:
                response = None
                delay_s = self._cursor.resume_delay_s(exc)
            if delay_s > 0:
                await asyncio.sleep(delay_s)

    async def _reopen(self) -> httpx.Response:
        self._response = await self._open_stream(_calls.resume(self._cursor))
        self._is_sse = self._cursor.connect(self._response.headers)
        return self._response

    async def _read(self, response: httpx.Response) -> AsyncGenerator[E]:
        cursor = self._cursor
        try:
            if not self._is_sse:
                for event in cursor.read_reply(await response.aread()):
                    yield event
                return
            async for chunk in response.aiter_bytes():
                for event in cursor.feed(chunk):
                    yield event
                if cursor.is_done:
                    return
            for event in cursor.flush():
                yield event
        except httpx.RequestError as exc:
            raise cursor.interrupted() from exc
        finally:
            await response.aclose()
        if not cursor.is_done:
            raise cursor.interrupted()


class AsyncSluiceClient:
    """An asyncio client for a Sluice server; use it as an async context manager or ``aclose`` it.

    ``timeout`` is in seconds (or an ``httpx.Timeout``); streams stay open as long as the
    server writes something (tokens or keep-alive comments) within the read timeout.
    ``max_resumes`` bounds the reconnects in a row, without a new event, of a stream
    opened with ``auto_resume=True``.
    """

    def __init__(
        self,
        base_url: str,
        *,
        api_key: str | None = None,
        timeout: float | httpx.Timeout = _calls.DEFAULT_TIMEOUT,
        max_resumes: int = 3,
        transport: httpx.AsyncBaseTransport | None = None,
    ):
        self.base_url = base_url.rstrip("/")
        self.max_resumes = max_resumes
        self._http = httpx.AsyncClient(
            base_url=self.base_url,
            headers=_calls.client_headers(api_key),
            timeout=timeout,
            transport=transport,
        )

    def __repr__(self) -> str:
        return f"AsyncSluiceClient({self.base_url!r})"

    async def aclose(self) -> None:
        await self._http.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    @overload
    async def predict(
        self,
        flow_id: str,
        question: str,
        *,
        stream: Literal[True] = True,
        chat_id: str | None = None,
        vars: Mapping[str, object] | None = None,
        history: Sequence[Mapping[str, str]] | None = None,
        auto_resume: bool = False,
    ) -> AsyncEventStream[PredictionEvent]: ...

    @overload
    async def predict(
        self,
        flow_id: str,
        question: str,
        *,
        stream: Literal[False],
        chat_id: str | None = None,
        vars: Mapping[str, object] | None = None,
        history: Sequence[Mapping[str, str]] | None = None,
        auto_resume: bool = False,
    ) -> Prediction: ...

    async def predict(
        self,
        flow_id: str,
        question: str,
        *,
        stream: bool = True,
        chat_id: str | None = None,
        vars: Mapping[str, object] | None = None,
        history: Sequence[Mapping[str, str]] | None = None,
        auto_resume: bool = False,
    ) -> AsyncEventStream[PredictionEvent] | Prediction:
        """Ask a flow; ``history`` items are ``{"role": "userMessage"|"apiMessage", "content"}``.

        Streaming returns the run's events (a flow that cannot stream still yields them,
        all at once); otherwise the whole ``Prediction``. API errors raise before either.
        """
        if not stream:
            return await self._send(_calls.predict(flow_id, question, chat_id, vars, history))
        call = _calls.predict_stream(flow_id, question, chat_id, vars, history)
        return await self._stream(call, auto_resume=auto_resume)

    @overload
    async def chat(
        self,
        message: str,
        *,
        chat_instance_id: str | None = None,
        model_id: str | None = None,
        stream: Literal[True] = True,
        include_tokens: bool = True,
        auto_resume: bool = False,
    ) -> AsyncEventStream[ChatEvent]: ...

    @overload
    async def chat(
        self,
        message: str,
        *,
        chat_instance_id: str | None = None,
        model_id: str | None = None,
        stream: Literal[False],
        include_tokens: bool = True,
        auto_resume: bool = False,
    ) -> ChatReply: ...

    async def chat(
        self,
        message: str,
        *,
        chat_instance_id: str | None = None,
        model_id: str | None = None,
        stream: bool = True,
        include_tokens: bool = True,
        auto_resume: bool = False,
    ) -> AsyncEventStream[ChatEvent] | ChatReply:
        """Send a message through the chat API; streams its events or returns the reply."""
        if not stream:
            return await self._send(_calls.chat(message, chat_instance_id, model_id))
        call = _calls.chat_stream(message, chat_instance_id, model_id, include_tokens)
        return await self._stream(call, auto_resume=auto_resume)

    async def resume(
        self, run_id: str, last_event_id: str | int | None = None, *, auto_resume: bool = False
    ) -> AsyncEventStream[PredictionEvent]:
        """The events of a ``predict`` run after ``last_event_id`` (all of them when ``None``)."""
        last = None if last_event_id is None else str(last_event_id)
        call = _calls.run_events(run_id, last, PREDICTION)
        return await self._stream(call, auto_resume=auto_resume, run_id=run_id, last_event_id=last)

    async def resume_chat(
        self, run_id: str, last_event_id: str | int | None = None, *, auto_resume: bool = False
    ) -> AsyncEventStream[ChatEvent]:
        """The events of a ``chat`` run after ``last_event_id`` (all of them when ``None``)."""
        last = None if last_event_id is None else str(last_event_id)
        call = _calls.run_events(run_id, last, CHAT)
        return await self._stream(call, auto_resume=auto_resume, run_id=run_id, last_event_id=last)

    async def abort(self, run_id: str) -> bool:
        """Stop a run; whether the server stopped it. Its stream ends with an error and end."""
        return await self._send(_calls.abort(run_id))

    async def list_flows(self) -> list[Flow]:
        return await self._send(_calls.list_flows())

    async def get_flow(self, flow_id: str) -> Flow:
        return await self._send(_calls.get_flow(flow_id))

    async def create_flow(
        self, document: Mapping[str, object] | str, *, name: str | None = None
    ) -> Flow:
        """Store a flow; ``document`` is the flow definition (a mapping or its JSON text)."""
        return await self._send(_calls.create_flow(document, name))

    async def update_flow(
        self, flow_id: str, document: Mapping[str, object] | str, *, name: str | None = None
    ) -> Flow:
        return await self._send(_calls.update_flow(flow_id, document, name))

    async def delete_flow(self, flow_id: str) -> None:
        await self._send(_calls.delete_flow(flow_id))

    async def messages(self, flow_id: str, chat_id: str | None = None) -> list[ChatMessage]:
        """The stored messages of a flow's conversations, of one when ``chat_id`` is given."""
        return await self._send(_calls.messages(flow_id, chat_id))

    async def _send(self, call: Call[T]) -> T:
        try:
            response = await self._http.send(_calls.build_request(self._http, call))
        except httpx.RequestError as exc:
            raise _calls.connection_error(exc) from exc
        return _calls.read_reply(call, response.status_code, response.content)

    async def _stream(
        self,
        call: StreamCall[E],
        *,
        auto_resume: bool,
        run_id: str | None = None,
        last_event_id: str | None = None,
    ) -> AsyncEventStream[E]:
        max_resumes = self.max_resumes if auto_resume else 0
        cursor = StreamCursor(
            call.wire, run_id=run_id, last_event_id=last_event_id, max_resumes=max_resumes
        )
        return AsyncEventStream(cursor, await self._open_stream(call), self._open_stream)

    async def _open_stream(self, call: StreamCall[Any]) -> httpx.Response:
        """Send a stream request; the open response, or the error its status says."""
        try:
            response = await self._http.send(_calls.build_request(self._http, call), stream=True)
            if response.status_code >= 400:
                try:
                    raise api_error(response.status_code, await response.aread())
                finally:
                    await response.aclose()
        except httpx.RequestError as exc:
            raise _calls.connection_error(exc) from exc
        return response

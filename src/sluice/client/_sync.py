"""The synchronous client: ``SluiceClient`` and the ``EventStream`` it returns.

It sends the calls ``_calls`` describes over an ``httpx.Client`` and feeds streamed bytes
to a ``StreamCursor``; request shapes, reply parsing and resume policy live there, shared
with the async client.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Generator, Mapping, Sequence
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


class EventStream(Generic[E]):
    """The events of one run as they arrive. Iterate it; use it as a context manager (or
    call ``close``) when you may stop early, so the connection is released.

    ``run_id`` is known once the server sent its ``X-Run-Id`` header or first event.
    A dropped connection raises ``StreamInterruptedError``, unless the stream was opened
    with ``auto_resume``: then it reconnects from ``last_event_id`` and goes on.
    """

    def __init__(
        self,
        cursor: StreamCursor[E],
        response: httpx.Response,
        open_stream: Callable[[StreamCall[E]], httpx.Response],
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

    def __iter__(self) -> Self:
        return self

    def __next__(self) -> E:
        return next(self._events)

    def close(self) -> None:
        self._events.close()
        self._response.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def _iterate(self) -> Generator[E]:
        response: httpx.Response | None = self._response
        while True:
            try:
                if response is None:
                    response = self._reopen()
                yield from self._read(response)
                return
            except (SluiceConnectionError, ServerError) as exc:
                response = None
                delay_s = self._cursor.resume_delay_s(exc)
            if delay_s > 0:
                time.sleep(delay_s)

    def _reopen(self) -> httpx.Response:
        self._response = self._open_stream(_calls.resume(self._cursor))
        self._is_sse = self._cursor.connect(self._response.headers)
        return self._response

    def _read(self, response: httpx.Response) -> Generator[E]:
        cursor = self._cursor
        try:
            if not self._is_sse:
                yield from cursor.read_reply(response.read())
                return
            for chunk in response.iter_bytes():
                yield from cursor.feed(chunk)
                if cursor.is_done:
                    return
            yield from cursor.flush()
        except httpx.RequestError as exc:
            raise cursor.interrupted() from exc
        finally:
            response.close()
        if not cursor.is_done:
            raise cursor.interrupted()


class SluiceClient:
    """A blocking client for a Sluice server; use it as a context manager or ``close`` it.

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
        transport: httpx.BaseTransport | None = None,
    ):
        self.base_url = base_url.rstrip("/")
        self.max_resumes = max_resumes
        self._http = httpx.Client(
            base_url=self.base_url,
            headers=_calls.client_headers(api_key),
            timeout=timeout,
            transport=transport,
        )

    def __repr__(self) -> str:
        return f"SluiceClient({self.base_url!r})"

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    @overload
    def predict(
        self,
        flow_id: str,
        question: str,
        *,
        stream: Literal[True] = True,
        chat_id: str | None = None,
        vars: Mapping[str, object] | None = None,
        history: Sequence[Mapping[str, str]] | None = None,
        auto_resume: bool = False,
    ) -> EventStream[PredictionEvent]: ...

    @overload
    def predict(
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

    def predict(
        self,
        flow_id: str,
        question: str,
        *,
        stream: bool = True,
        chat_id: str | None = None,
        vars: Mapping[str, object] | None = None,
        history: Sequence[Mapping[str, str]] | None = None,
        auto_resume: bool = False,
    ) -> EventStream[PredictionEvent] | Prediction:
        """Ask a flow; ``history`` items are ``{"role": "userMessage"|"apiMessage", "content"}``.

        Streaming returns the run's events (a flow that cannot stream still yields them,
        all at once); otherwise the whole ``Prediction``. API errors raise before either.
        """
        if not stream:
            return self._send(_calls.predict(flow_id, question, chat_id, vars, history))
        call = _calls.predict_stream(flow_id, question, chat_id, vars, history)
        return self._stream(call, auto_resume=auto_resume)

    @overload
    def chat(
        self,
        message: str,
        *,
        chat_instance_id: str | None = None,
        model_id: str | None = None,
        stream: Literal[True] = True,
        include_tokens: bool = True,
        auto_resume: bool = False,
    ) -> EventStream[ChatEvent]: ...

    @overload
    def chat(
        self,
        message: str,
        *,
        chat_instance_id: str | None = None,
        model_id: str | None = None,
        stream: Literal[False],
        include_tokens: bool = True,
        auto_resume: bool = False,
    ) -> ChatReply: ...

    def chat(
        self,
        message: str,
        *,
        chat_instance_id: str | None = None,
        model_id: str | None = None,
        stream: bool = True,
        include_tokens: bool = True,
        auto_resume: bool = False,
    ) -> EventStream[ChatEvent] | ChatReply:
        """Send a message through the chat API; streams its events or returns the reply."""
        if not stream:
            return self._send(_calls.chat(message, chat_instance_id, model_id))
        call = _calls.chat_stream(message, chat_instance_id, model_id, include_tokens)
        return self._stream(call, auto_resume=auto_resume)

    def resume(
        self, run_id: str, last_event_id: str | int | None = None, *, auto_resume: bool = False
    ) -> EventStream[PredictionEvent]:
        """The events of a ``predict`` run after ``last_event_id`` (all of them when ``None``)."""
        last = None if last_event_id is None else str(last_event_id)
        call = _calls.run_events(run_id, last, PREDICTION)
        return self._stream(call, auto_resume=auto_resume, run_id=run_id, last_event_id=last)

    def resume_chat(
        self, run_id: str, last_event_id: str | int | None = None, *, auto_resume: bool = False
    ) -> EventStream[ChatEvent]:
        """The events of a ``chat`` run after ``last_event_id`` (all of them when ``None``)."""
        last = None if last_event_id is None else str(last_event_id)
        call = _calls.run_events(run_id, last, CHAT)
        return self._stream(call, auto_resume=auto_resume, run_id=run_id, last_event_id=last)

    def abort(self, run_id: str) -> bool:
        """Stop a run; whether the server stopped it. Its stream ends with an error and end."""
        return self._send(_calls.abort(run_id))

    def list_flows(self) -> list[Flow]:
        return self._send(_calls.list_flows())

    def get_flow(self, flow_id: str) -> Flow:
        return self._send(_calls.get_flow(flow_id))

    def create_flow(self, document: Mapping[str, object] | str, *, name: str | None = None) -> Flow:
        """Store a flow; ``document`` is the flow definition (a mapping or its JSON text)."""
        return self._send(_calls.create_flow(document, name))

    def update_flow(
        self, flow_id: str, document: Mapping[str, object] | str, *, name: str | None = None
    ) -> Flow:
        return self._send(_calls.update_flow(flow_id, document, name))

    def delete_flow(self, flow_id: str) -> None:
        self._send(_calls.delete_flow(flow_id))

    def messages(self, flow_id: str, chat_id: str | None = None) -> list[ChatMessage]:
        """The stored messages of a flow's conversations, of one when ``chat_id`` is given."""
        return self._send(_calls.messages(flow_id, chat_id))

    def _send(self, call: Call[T]) -> T:
        try:
            response = self._http.send(_calls.build_request(self._http, call))
        except httpx.RequestError as exc:
            raise _calls.connection_error(exc) from exc
        return _calls.read_reply(call, response.status_code, response.content)

    def _stream(
        self,
        call: StreamCall[E],
        *,
        auto_resume: bool,
        run_id: str | None = None,
        last_event_id: str | None = None,
    ) -> EventStream[E]:
        max_resumes = self.max_resumes if auto_resume else 0
        cursor = StreamCursor(
            call.wire, run_id=run_id, last_event_id=last_event_id, max_resumes=max_resumes
        )
        return EventStream(cursor, self._open_stream(call), self._open_stream)

    def _open_stream(self, call: StreamCall[Any]) -> httpx.Response:
        """Send a stream request; the open response, or the error its status says."""
        try:
            response = self._http.send(_calls.build_request(self._http, call), stream=True)
            if response.status_code >= 400:
                try:
                    raise api_error(response.status_code, response.read())
                finally:
                    response.close()
        except httpx.RequestError as exc:
            raise _calls.connection_error(exc) from exc
        return response

"""A ``text/event-stream`` response that starts at once and is never buffered on the way.

Headers leave at once, with ``Cache-Control: no-cache`` and ``X-Accel-Buffering: no``
so no proxy holds the stream back. A new run's stream (``headers_with_first``) sends them
with its first item instead, which its follower gives at once (the run's start event) or,
when ``Settings.hold_start_s`` is set and the first token comes within it, with that
token: the client is then woken once for both. Keep-alive comments come from the
follower (an empty batch after ``keepalive_s``).

Each item of the body is one ASGI send (one socket write); the opening comment goes with
the first, and an item of type ``Last`` ends the chunked body in the same write. When the
client disconnects, the iteration is cancelled and the body closed (its ``finally``
runs). This is plain asyncio: a task waits on ``receive()`` for ``http.disconnect`` and
cancels the writer, where Starlette's ``StreamingResponse`` opens an anyio task group per
response.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Mapping

from starlette.background import BackgroundTask
from starlette.responses import Response
from starlette.types import Message, Receive, Scope, Send

OPENING = b": stream open\n\n"

SSE_HEADERS = {
    "Cache-Control": "no-cache",
    "X-Accel-Buffering": "no",
    "Connection": "keep-alive",
}

_START_HEADERS = [(b"content-type", b"text/event-stream; charset=utf-8")] + [
    (name.lower().encode(), value.encode()) for name, value in SSE_HEADERS.items()
]
_LAST: dict[str, object] = {"type": "http.response.body", "body": b"", "more_body": False}


class Last(bytes):
    """The body's last item: written with the end of the chunked body, one write."""


class EventStreamResponse(Response):
    """An ASGI response writing ``body``'s items after an opening comment."""

    media_type = "text/event-stream"

    def __init__(
        self,
        body: AsyncIterator[bytes],
        *,
        headers: Mapping[str, str] | None = None,
        headers_with_first: bool = False,
    ) -> None:
        self.stream = body
        self.headers_with_first = headers_with_first
        """Hold the headers until the first item (only for a body whose first item comes
        soon: a new run's follower gives it within ``hold_start_s``)."""
        self.status_code = 200
        self.background: BackgroundTask | None = None
        extra = [
            (k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in (headers or {}).items()
        ]
        self.raw_headers = _START_HEADERS + extra
        self.has_left = False
        """Whether the client disconnected before the stream ended."""
        self._watcher: asyncio.Future[Message] | None = None

    @property
    def _start(self) -> dict[str, object]:
        return {"type": "http.response.start", "status": 200, "headers": self.raw_headers}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        writer = asyncio.current_task()
        assert writer is not None
        self._watch(receive, writer)
        try:
            # Headers go out with the first item, back to back (uvicorn writes them at once
            # when told), and the opening comment in it; the last item carries the end of
            # the body (``Last``): each a write less per stream.
            is_first, more_body = True, True
            if not self.headers_with_first:
                await send(self._start)
            async for data in self.stream:
                more_body = type(data) is not Last
                if is_first:
                    is_first = False
                    if self.headers_with_first:
                        await send(self._start)
                    data = OPENING + data
                await send({"type": "http.response.body", "body": data, "more_body": more_body})
            if is_first:
                if self.headers_with_first:
                    await send(self._start)
                await send({"type": "http.response.body", "body": OPENING, "more_body": True})
            if more_body:
                await send(_LAST)
        except asyncio.CancelledError:
            if not self.has_left:
                raise
            writer.uncancel()  # the client left: not an error, nothing more to write
        finally:
            if self._watcher is not None:
                self._watcher.cancel()
            aclose = getattr(self.stream, "aclose", None)
            if aclose is not None:
                await aclose()
        if self.background is not None:
            await self.background()

    def _watch(self, receive: Receive, writer: asyncio.Task[object]) -> None:
        """Cancel ``writer`` when the client disconnects: ``receive()`` runs as a task of
        its own, read by a callback (no coroutine of ours held per stream)."""
        self._receive, self._writer = receive, writer
        self._watcher = asyncio.ensure_future(receive())
        self._watcher.add_done_callback(self._on_message)

    def _on_message(self, task: asyncio.Future[Message]) -> None:
        if task.cancelled() or task.exception() is not None:
            return
        if task.result()["type"] != "http.disconnect":
            self._watch(self._receive, self._writer)  # more of the request: wait on
        elif not self._writer.done():
            self.has_left = True
            self._writer.cancel()


def event_stream_response(
    body: AsyncIterator[bytes],
    *,
    headers: Mapping[str, str] | None = None,
    headers_with_first: bool = False,
) -> EventStreamResponse:
    """Stream ``body`` (each item one rendered write) after an opening comment."""
    return EventStreamResponse(body, headers=headers, headers_with_first=headers_with_first)

"""A ``text/event-stream`` response that starts at once and is never buffered on the way.

Headers and a first comment line leave before any token exists, with
``Cache-Control: no-cache`` and ``X-Accel-Buffering: no`` so no proxy holds the stream
back. Keep-alive comments come from the follower (an empty batch after ``keepalive_s``).
When the client disconnects, Starlette cancels the iteration and the source is closed.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping

from starlette.responses import StreamingResponse

OPENING = b": stream open\n\n"

SSE_HEADERS = {
    "Cache-Control": "no-cache",
    "X-Accel-Buffering": "no",
    "Connection": "keep-alive",
}


def event_stream_response(
    body: AsyncIterator[bytes], *, headers: Mapping[str, str] | None = None
) -> StreamingResponse:
    """Stream ``body`` (each item one rendered write) after an opening comment."""
    return StreamingResponse(
        _opened(body), media_type="text/event-stream", headers={**SSE_HEADERS, **(headers or {})}
    )


async def _opened(body: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
    yield OPENING
    async for data in body:
        yield data

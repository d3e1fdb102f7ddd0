"""A pure ASGI middleware refusing request bodies over ``max_bytes`` with 413.

It reads the declared Content-Length first and counts chunked bodies as they arrive, so a
client cannot make the server buffer more than the limit. Responses pass untouched.
"""

from __future__ import annotations

from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from sluice.api.errors import error_response


class BodyLimitMiddleware:
    def __init__(self, app: ASGIApp, *, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        for name, value in scope.get("headers", ()):
            if name == b"content-length" and value.isdigit() and int(value) > self.max_bytes:
                await self._refuse(scope, receive, send)
                return
        seen = 0

        async def counted() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:
                    raise _TooLargeError
            return message

        try:
            await self.app(scope, counted, send)
        except _TooLargeError:
            await self._refuse(scope, receive, send)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send) -> None:
        await too_large(self.max_bytes)(scope, receive, send)


def too_large(max_bytes: int) -> JSONResponse:
    """The 413 every route answers for a body over the limit."""
    return error_response(413, "body_too_large", f"the request body is over {max_bytes} bytes")


class _TooLargeError(Exception):
    """Raised inside the app's receive when the body passes the limit."""

"""A small real upstream for integration tests: an aiohttp.web server on 127.0.0.1, port 0,
whose replies a test scripts step by step: bytes to write, events to wait on, a cut.

A test never sleeps: it holds the server on an ``asyncio.Event`` and sets it when ready.
``disconnected`` is set when a client goes away while a reply is still being written.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from aiohttp import web

from sluice.integrations.loader import parse_integration
from sluice.integrations.model import Integration

CORPUS = Path(__file__).resolve().parents[2].parent / "shared" / "corpus" / "streams"


class Cut:
    """A step that aborts the connection mid-body (no end of the chunked body)."""


CUT = Cut()
Step = bytes | asyncio.Event | Cut


@dataclass
class Reply:
    """One scripted response."""

    steps: list[Step] = field(default_factory=list)
    status: int = 200
    content_type: str | None = "text/event-stream"
    before_headers: asyncio.Event | None = None
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Recorded:
    """A request as the upstream received it."""

    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes
    peer: tuple[str, int] | None = None  # the client's address: one per connection


def pieces(data: bytes, size: int) -> list[Step]:
    """``data`` cut into writes of ``size`` bytes."""
    return [data[i : i + size] for i in range(0, len(data), size)]


class Upstream:
    """The server; queue replies with ``reply`` before the client sends its request."""

    def __init__(self) -> None:
        self.requests: list[Recorded] = []
        self.disconnected = asyncio.Event()
        self._replies: list[Reply] = []
        self._runner: web.AppRunner | None = None
        self.url = ""

    def reply(
        self,
        steps: Iterable[Step] = (),
        *,
        status: int = 200,
        content_type: str | None = "text/event-stream",
        before_headers: asyncio.Event | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        self._replies.append(
            Reply(list(steps), status, content_type, before_headers, dict(headers or {}))
        )

    async def start(self) -> None:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app, handler_cancellation=True, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        server = site._server
        assert isinstance(server, asyncio.Server)
        port = server.sockets[0].getsockname()[1]
        self.url = f"http://127.0.0.1:{port}"

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        self.requests.append(
            Recorded(
                request.method,
                request.path,
                {key: request.query.getall(key) for key in request.query},
                dict(request.headers),
                await request.read(),
                request.transport.get_extra_info("peername") if request.transport else None,
            )
        )
        reply = self._replies.pop(0) if self._replies else Reply(status=599)
        try:
            return await self._play(request, reply)
        except (asyncio.CancelledError, ConnectionResetError):
            self.disconnected.set()
            raise

    async def _play(self, request: web.Request, reply: Reply) -> web.StreamResponse:
        if reply.before_headers is not None:
            await reply.before_headers.wait()
        response = web.StreamResponse(status=reply.status)
        if reply.content_type is not None:
            response.headers["Content-Type"] = reply.content_type
        response.headers.update(reply.headers)
        await response.prepare(request)
        for step in reply.steps:
            if isinstance(step, asyncio.Event):
                await step.wait()
            elif isinstance(step, Cut):
                assert request.transport is not None
                request.transport.abort()
                return response
            else:
                await response.write(step)
        await response.write_eof()
        return response


def make_integration(
    url: str, *, stream: Mapping[str, object] | None = None, **request: object
) -> Integration:
    """An integration posting to ``url`` (validated as a loaded file would be)."""
    data: dict[str, object] = {
        "kind": "integration",
        "id": "test",
        "request": {"method": "POST", "url": url, **request},
    }
    if stream is not None:
        data["stream"] = stream
    return parse_integration(data, source="test.yaml")

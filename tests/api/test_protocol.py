"""The head-joining HTTP protocol: a response's head leaves with its first body bytes, or
at the loop's next turn when the body is not ready, never later."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from contextlib import AbstractAsyncContextManager
from typing import Any

import pytest
import uvicorn
from uvicorn.server import ServerState

from sluice.api.protocol import (
    HeadJoiningH11,
    HeadJoiningTransport,
    http_protocol,
)
from tests.loopback import uvicorn_on_loopback

pytestmark = pytest.mark.anyio

HEAD = b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\n\r\n"


class RecordingTransport(asyncio.Transport):
    """A transport that keeps each write as it was given (one entry per socket write)."""

    def __init__(self) -> None:
        super().__init__()
        self.writes: list[bytes] = []
        self.closed = self.aborted = False

    def write(self, data: Any) -> None:
        self.writes.append(bytes(data))

    def is_closing(self) -> bool:
        return self.closed or self.aborted

    def close(self) -> None:
        self.closed = True

    def abort(self) -> None:
        self.aborted = True

    def get_write_buffer_size(self) -> int:
        return 0

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return {"peername": ("127.0.0.1", 1)}.get(name, default)


async def next_loop_turn() -> None:
    """Return once the callbacks scheduled before this call have run (FIFO ready queue)."""
    turned = asyncio.get_running_loop().create_future()
    asyncio.get_running_loop().call_soon(turned.set_result, None)
    await turned


async def test_a_head_and_the_body_after_it_are_one_write() -> None:
    raw = RecordingTransport()
    transport = HeadJoiningTransport(raw)
    transport.write(HEAD)
    transport.write(b"data: start\n\n")
    transport.write(b"data: token\n\n")
    assert raw.writes == [HEAD + b"data: start\n\n", b"data: token\n\n"]
    await next_loop_turn()  # the flush scheduled for the head finds nothing left
    assert raw.writes == [HEAD + b"data: start\n\n", b"data: token\n\n"]


async def test_a_head_alone_leaves_at_the_next_loop_turn() -> None:
    raw = RecordingTransport()
    transport = HeadJoiningTransport(raw)
    transport.write(HEAD)
    assert raw.writes == []
    assert transport.get_write_buffer_size() == len(HEAD)
    await next_loop_turn()
    assert raw.writes == [HEAD]
    transport.write(b"later")
    assert raw.writes == [HEAD, b"later"]


async def test_closing_writes_the_held_head_first_and_abort_drops_it() -> None:
    raw = RecordingTransport()
    transport = HeadJoiningTransport(raw)
    transport.write(HEAD)
    transport.close()
    assert raw.writes == [HEAD]
    assert raw.closed

    raw = RecordingTransport()
    transport = HeadJoiningTransport(raw)
    transport.write(HEAD)
    transport.abort()
    await next_loop_turn()
    assert raw.writes == []
    assert raw.aborted


async def test_other_writes_pass_straight_through_and_the_rest_is_the_transports() -> None:
    raw = RecordingTransport()
    transport = HeadJoiningTransport(raw)
    transport.write(b"0\r\n\r\n")
    transport.writelines([b"a", b"b"])
    assert raw.writes == [b"0\r\n\r\n", b"ab"]
    assert transport.get_extra_info("peername") == ("127.0.0.1", 1)
    assert not transport.is_closing()


def serving(
    app: Any, http: type[asyncio.Protocol] | None = None
) -> AbstractAsyncContextManager[int]:
    """``app`` under uvicorn with Sluice's protocol (or ``http``) on 127.0.0.1; its port."""
    options: dict[str, Any] = {} if http is None else {"http": http}
    return uvicorn_on_loopback(app, lifespan="off", timeout_graceful_shutdown=1, **options)


async def test_a_client_gets_the_head_before_a_body_that_is_not_ready() -> None:
    """A stream whose first bytes wait on something (here, on the client having the head)
    must not have its head wait with them."""
    released = asyncio.Event()

    async def app(scope: Any, receive: Any, send: Any) -> None:
        assert scope["type"] == "http"
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await released.wait()
        await send({"type": "http.response.body", "body": b"late", "more_body": False})

    async with serving(app) as port:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            writer.write(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
            async with asyncio.timeout(5):
                head = await reader.readuntil(b"\r\n\r\n")
            assert head.startswith(b"HTTP/1.1 200 OK\r\n")
            released.set()
            async with asyncio.timeout(5):
                body = await reader.readuntil(b"0\r\n\r\n")
            assert body == b"4\r\nlate\r\n0\r\n\r\n"
        finally:
            released.set()  # the app ends either way, and the server with it
            writer.close()
            await writer.wait_closed()


@pytest.mark.parametrize("parser", ["httptools", "h11"])
async def test_both_parsers_answer_through_it(parser: str) -> None:
    http = http_protocol() if parser == "httptools" else HeadJoiningH11

    async def app(scope: Any, receive: Any, send: Any) -> None:
        headers = [(b"content-type", b"application/json"), (b"content-length", b"2")]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": b"{}"})

    async with serving(app, http) as port, asyncio.timeout(5):
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        for _ in range(2):  # kept alive: the second answer's head is held like the first
            writer.write(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
            head = await reader.readuntil(b"\r\n\r\n")
            assert head.startswith(b"HTTP/1.1 200 OK\r\n")
            assert await reader.readexactly(2) == b"{}"
        writer.close()
        await writer.wait_closed()


def test_without_httptools_the_protocol_is_h11s() -> None:
    code = (
        "import sys; sys.modules['httptools'] = None\n"
        "from sluice.api.protocol import HeadJoiningH11, http_protocol\n"
        "assert http_protocol() is HeadJoiningH11, http_protocol()\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, timeout=60)
    assert done.returncode == 0, done.stderr.decode()


@pytest.mark.parametrize("parser", ["httptools", "h11"])
async def test_a_held_head_is_written_before_the_connection_closes_on_eof(parser: str) -> None:
    """A client that half-closes after its request: uvicorn closes the transport itself
    after ``eof_received``, so a head held at that moment is written first."""

    async def app(scope: Any, receive: Any, send: Any) -> None:
        raise AssertionError("no request is made")

    http = http_protocol() if parser == "httptools" else HeadJoiningH11
    config = uvicorn.Config(app, http=http, log_level="warning")
    config.load()
    protocol: Any = http(config=config, server_state=ServerState(), app_state={})  # type: ignore[call-arg]
    raw = RecordingTransport()
    protocol.connection_made(raw)
    protocol.transport.write(HEAD)
    protocol.eof_received()
    assert raw.writes == [HEAD]
    await next_loop_turn()
    assert raw.writes == [HEAD]  # and written once

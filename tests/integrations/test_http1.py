"""Sluice's upstream HTTP/1.1 client (``UpstreamSession``) against raw local servers that
answer with exactly the bytes a test gives: framing, keep-alive, redirects, compression,
flow control and the ways a response breaks."""

from __future__ import annotations

import asyncio
import gc
import gzip
import socket
import ssl
import struct
import zlib
from collections.abc import AsyncIterator, Callable

import pytest
import trustme

from sluice.errors import ConfigError, StreamCutError, UpstreamConnectionError
from sluice.integrations.executor import execute_integration
from sluice.integrations.http1 import (
    ConnectFailed,
    ConnectTimeout,
    InvalidRequest,
    Response,
    ResponseBroken,
)
from sluice.integrations.session import UpstreamSession, upstream_session
from sluice.integrations.templating import template_context
from tests.integrations.upstream import make_integration

pytestmark = pytest.mark.anyio


@pytest.fixture(
    params=[
        pytest.param(("asyncio", {"use_uvloop": False}), id="asyncio"),
        pytest.param(("asyncio", {"use_uvloop": True}), id="uvloop"),  # `sluice serve`'s
    ]
)
def anyio_backend(request: pytest.FixtureRequest) -> object:
    return request.param


CONTEXT = template_context(question="hi")
SSE = {"type": "sse", "mapping": "openai"}
HELLO = b'data: {"choices":[{"delta":{"content":"Hello"}}]}\n\ndata: [DONE]\n\n'


def chunked(*parts: bytes) -> bytes:
    return b"".join(b"%x\r\n%s\r\n" % (len(p), p) for p in parts) + b"0\r\n\r\n"


def ok(body: bytes, *headers: str, chunks: bool = False) -> bytes:
    lines = ["HTTP/1.1 200 OK", "Content-Type: text/event-stream", *headers]
    if chunks:
        lines.append("Transfer-Encoding: chunked")
        body = chunked(body)
    elif not any(h.lower().startswith("connection: close") for h in headers):
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


class RawServer:
    """A loopback server: each request it reads (head and ``Content-Length`` body) is kept
    in ``requests`` with the connection it came on, and answered by the next script, a
    function given the request that returns the bytes to write and whether to close."""

    def __init__(self) -> None:
        self.requests: list[tuple[int, bytes]] = []  # (connection number, request bytes)
        self.scripts: list[Callable[[bytes], tuple[bytes, bool | str]]] = []
        self.connections = 0
        self.closed = asyncio.Event()
        self.url = ""
        self._server: asyncio.Server | None = None

    def answer(self, data: bytes, *, close: bool | str = False) -> None:
        """Write ``data``, then close the connection if ``close`` (``"reset"``: abortively)."""
        self.scripts.append(lambda _request: (data, close))

    async def start(self, tls: ssl.SSLContext | None = None) -> None:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0, ssl=tls)
        port = self._server.sockets[0].getsockname()[1]
        # The test certificate names localhost (resolved to 127.0.0.1, bound here).
        self.url = f"https://localhost:{port}" if tls else f"http://127.0.0.1:{port}"

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        number = self.connections
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = 0
                for line in head.split(b"\r\n"):
                    if line.lower().startswith(b"content-length:"):
                        length = int(line.split(b":")[1])
                request = head + await reader.readexactly(length)
                self.requests.append((number, request))
                data, close = self.scripts.pop(0)(request)
                writer.write(data)
                await writer.drain()
                if close == "reset":  # SO_LINGER 0: the close is a TCP reset
                    sock = writer.get_extra_info("socket")
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                if close:
                    break
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()
            self.closed.set()


@pytest.fixture
async def raw() -> AsyncIterator[RawServer]:
    server = RawServer()
    await server.start()
    try:
        yield server
    finally:
        await server.stop()


async def text_of(raw: RawServer, session: UpstreamSession, url: str = "", **request: object):
    integration = make_integration(url or raw.url + "/v1/chat", stream=SSE, **request)
    async with asyncio.timeout(5):
        return await execute_integration(integration, CONTEXT, session=session)


async def let_the_loop_turn(times: int = 5) -> None:
    """Give the scheduler a few turns, in which a request let through would connect: no
    event says that a request is still waiting for the pool's room."""
    for _ in range(times):
        await asyncio.sleep(0)


async def read_to_end(response: Response) -> bytes:
    """The rest of ``response``'s body; its connection is then given back."""
    parts = []
    while data := await response.readany():
        parts.append(data)
    response.release()
    return b"".join(parts)


async def test_a_content_length_body_and_a_chunked_one_read_the_same(raw, session):
    raw.answer(ok(HELLO))
    raw.answer(ok(HELLO, chunks=True))
    first, second = await text_of(raw, session), await text_of(raw, session)
    assert (first.text, second.text) == ("Hello", "Hello")
    assert [number for number, _ in raw.requests] == [1, 1]  # kept alive across both


async def test_a_body_that_ends_with_the_connection_is_whole_and_not_reused(raw, session):
    raw.answer(ok(HELLO, "Connection: close"), close=True)
    raw.answer(ok(HELLO))
    first = await text_of(raw, session)
    await raw.closed.wait()
    second = await text_of(raw, session)
    assert (first.text, second.text) == ("Hello", "Hello")
    assert [number for number, _ in raw.requests] == [1, 2]


async def test_a_connection_the_server_closed_while_idle_is_not_used_again(raw, session):
    raw.answer(ok(HELLO), close=True)  # no "Connection: close": the client finds out later
    raw.answer(ok(HELLO))
    assert (await text_of(raw, session)).text == "Hello"
    await raw.closed.wait()
    assert (await text_of(raw, session)).text == "Hello"
    assert [number for number, _ in raw.requests] == [1, 2]


async def test_the_request_is_one_write_with_host_agent_length_and_body(raw, session):
    raw.answer(ok(HELLO))
    await text_of(raw, session, raw.url + "/v1/chat?a=1", query={"b": "two words"}, body={"n": 1})
    (_, request), port = raw.requests[0], raw.url.rsplit(":", 1)[1]
    head, _, body = request.partition(b"\r\n\r\n")
    lines = head.decode().split("\r\n")
    assert lines[0] == "POST /v1/chat?a=1&b=two+words HTTP/1.1"
    assert f"Host: 127.0.0.1:{port}" in lines
    assert any(line.startswith("User-Agent: sluice/") for line in lines)
    assert f"Content-Length: {len(body)}" in lines
    assert "Content-Type: application/json" in lines
    assert body == b'{"n":1}'


async def test_a_gzip_body_is_decoded(raw, session):
    raw.answer(ok(gzip.compress(HELLO), "Content-Encoding: gzip", chunks=True))
    assert (await text_of(raw, session)).text == "Hello"


async def test_a_header_with_a_line_break_is_refused_before_anything_is_sent(raw, session):
    integration = make_integration(raw.url, stream=SSE, headers={"X-Note": "{{ question }}"})
    context = template_context(question="hi\r\nX-Injected: yes")
    with pytest.raises(ConfigError, match=r"request\.headers: .*line break"):
        await execute_integration(integration, context, session=session)
    assert raw.requests == []


async def test_a_307_is_followed_with_the_same_method_and_body(raw, session):
    raw.answer(b"HTTP/1.1 307 X\r\nLocation: /v2/chat\r\nContent-Length: 0\r\n\r\n")
    raw.answer(ok(HELLO))
    assert (await text_of(raw, session, body={"n": 1})).text == "Hello"
    (_, first), (_, second) = raw.requests
    assert second.startswith(b"POST /v2/chat ")
    assert first.partition(b"\r\n\r\n")[2] == second.partition(b"\r\n\r\n")[2] != b""


async def test_a_302_after_a_post_is_a_get_without_body(raw, session):
    raw.answer(b"HTTP/1.1 302 Found\r\nLocation: /elsewhere\r\nContent-Length: 0\r\n\r\n")
    raw.answer(ok(HELLO))
    assert (await text_of(raw, session, body={"n": 1})).text == "Hello"
    second = raw.requests[1][1]
    assert second.startswith(b"GET /elsewhere ")
    assert b"content-length" not in second.lower()
    assert b"content-type" not in second.lower()


async def test_authorization_goes_with_a_redirect_only_to_the_same_origin(raw, session):
    other = RawServer()
    await other.start()
    try:
        raw.answer(b"HTTP/1.1 307 X\r\nLocation: /same\r\nContent-Length: 0\r\n\r\n")
        raw.answer(
            f"HTTP/1.1 307 X\r\nLocation: {other.url}/x\r\nContent-Length: 0\r\n\r\n".encode()
        )
        other.answer(ok(HELLO))
        result = await text_of(raw, session, headers={"Authorization": "Bearer k"})
    finally:
        await other.stop()
    assert result.text == "Hello"
    assert b"Authorization: Bearer k" in raw.requests[1][1]
    assert b"authorization" not in other.requests[0][1].lower()


async def test_a_redirect_loop_is_a_connection_error(raw, session):
    for _ in range(11):
        raw.answer(b"HTTP/1.1 307 X\r\nLocation: /again\r\nContent-Length: 0\r\n\r\n")
    result = await text_of(raw, session)
    assert isinstance(result.error, UpstreamConnectionError)
    assert "redirected more than 10 times" in result.error.message


async def test_a_reply_that_is_not_http_is_a_connection_error(raw, session):
    raw.answer(b"SSH-2.0-OpenSSH_9.6\r\n\r\n", close=True)
    result = await text_of(raw, session)
    assert isinstance(result.error, UpstreamConnectionError)
    assert "invalid response" in result.error.message


async def test_a_body_cut_short_of_its_length_is_cut_with_what_came(raw, session):
    whole = ok(HELLO)
    raw.answer(whole[: whole.index(b"[DONE]")], close=True)
    result = await text_of(raw, session)
    assert isinstance(result.error, StreamCutError)
    assert result.text == "Hello"


async def test_an_interim_response_is_skipped(raw, session):
    raw.answer(b"HTTP/1.1 100 Continue\r\n\r\n" + ok(HELLO))
    assert (await text_of(raw, session)).text == "Hello"


async def test_at_most_max_connections_are_open_and_the_next_request_waits(raw):
    raw.answer(ok(HELLO))
    raw.answer(ok(HELLO))
    async with asyncio.timeout(5), upstream_session(max_connections=1) as limited:
        first = await limited.request("POST", raw.url, data=b"{}")
        second = asyncio.create_task(limited.request("POST", raw.url, data=b"{}"))
        await let_the_loop_turn()
        assert not second.done()
        assert raw.connections == 1
        await read_to_end(first)
        response = await second
        assert response.status == 200
        response.close()
    assert [number for number, _ in raw.requests] == [1, 1]


async def test_a_reader_that_falls_behind_stops_the_socket_being_read(raw, session):
    body = b"x" * (4 * 1024 * 1024)
    raw.answer(ok(body, chunks=True))
    async with asyncio.timeout(5):
        response = await session.request("POST", raw.url, data=b"{}")
        try:
            transport = response.transport
            assert transport is not None
            for _ in range(10_000):  # 4 MiB pass the 256 KiB mark in a few reads
                if not transport.is_reading():
                    break
                await asyncio.sleep(0)
            assert not transport.is_reading()
            got = len(await response.readany())
            assert got < len(body)
            assert transport.is_reading()  # read again once the body was taken
            while data := await response.readany():
                got += len(data)
        finally:
            response.release()
    assert got == len(body)


@pytest.mark.parametrize("url", ["ftp://x.test/", "http:///nohost", "not a url"])
async def test_a_url_that_cannot_be_requested_is_refused(session, url):
    with pytest.raises(InvalidRequest):
        await session.request("GET", url)


async def test_a_closed_session_refuses_requests(raw):
    async with upstream_session() as closed:
        pass
    with pytest.raises(ConnectFailed, match="closed"):
        await closed.request("GET", raw.url)


async def test_https_is_verified_against_the_trusted_authorities():
    authority = trustme.CA()
    server_tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    authority.issue_cert("localhost").configure_cert(server_tls)
    trusting = ssl.create_default_context()
    authority.configure_trust(trusting)
    server = RawServer()
    await server.start(tls=server_tls)
    server.answer(ok(HELLO))
    server.answer(ok(HELLO))
    try:
        async with asyncio.timeout(5):
            async with upstream_session(ssl_context=trusting) as verified:
                assert (await text_of(server, verified)).text == "Hello"
            async with upstream_session() as system:  # the system's authorities only
                result = await text_of(server, system)
    finally:
        await server.stop()
    assert isinstance(result.error, UpstreamConnectionError)
    assert "certificate verify failed" in result.error.message


async def test_an_idle_connection_is_closed_after_the_keepalive(raw):
    raw.answer(ok(HELLO))
    raw.answer(ok(HELLO))
    async with asyncio.timeout(5), upstream_session(keepalive_s=0.05) as quick:
        assert (await text_of(raw, quick)).text == "Hello"
        await raw.closed.wait()  # the client hung up on its own, after 50 ms idle
        assert (await text_of(raw, quick)).text == "Hello"
    assert [number for number, _ in raw.requests] == [1, 2]


async def test_a_connect_that_fails_hands_its_room_to_a_waiting_request(raw, unaccepting_url):
    raw.answer(ok(HELLO))
    async with asyncio.timeout(5), upstream_session(max_connections=1) as limited:
        stuck = asyncio.create_task(
            limited.request("POST", unaccepting_url, data=b"{}", connect_timeout_s=0.2)
        )
        await let_the_loop_turn()
        waiting = asyncio.create_task(limited.request("POST", raw.url, data=b"{}"))
        await let_the_loop_turn()
        assert not waiting.done()  # the one connection is being opened by ``stuck``
        with pytest.raises(ConnectTimeout):
            await stuck
        response = await waiting
        assert response.status == 200
        response.close()


async def test_a_cancelled_waiter_hands_its_turn_on(raw):
    raw.answer(ok(HELLO))
    raw.answer(ok(HELLO))
    async with asyncio.timeout(5), upstream_session(max_connections=1) as limited:
        first = await limited.request("POST", raw.url, data=b"{}")
        gone = asyncio.create_task(limited.request("POST", raw.url, data=b"{}"))
        later = asyncio.create_task(limited.request("POST", raw.url, data=b"{}"))
        await let_the_loop_turn()
        await read_to_end(first)  # wakes ``gone``, which is cancelled before it runs
        gone.cancel()
        response = await later
        assert response.status == 200
        response.close()


async def test_bytes_after_a_response_are_never_read_as_part_of_it(raw, session):
    extra = b"HTTP/1.1 500 Oops\r\nX-A: evil\r\nContent-Length: 3\r\n\r\nbad"
    raw.answer(b"HTTP/1.1 200 OK\r\nX-A: 1\r\nContent-Length: 2\r\n\r\nhi" + extra)
    raw.answer(ok(HELLO))
    async with asyncio.timeout(5):
        response = await session.request("GET", raw.url)
        body = await read_to_end(response)
        assert (response.status, response.reason, response.headers["x-a"], body) == (
            200,
            "OK",
            "1",
            b"hi",
        )
        assert (await text_of(raw, session)).text == "Hello"
    assert [number for number, _ in raw.requests] == [1, 2]  # that connection was dropped


async def test_a_post_is_not_sent_twice_when_its_connection_closes_unanswered(raw, session):
    raw.answer(ok(HELLO))
    raw.answer(b"", close=True)  # reads the second request, then hangs up without a word
    assert (await text_of(raw, session)).text == "Hello"
    result = await text_of(raw, session)
    assert isinstance(result.error, UpstreamConnectionError)
    assert len(raw.requests) == 2  # the POST went out once


async def test_a_get_is_sent_again_when_its_connection_closes_unanswered(raw, session):
    raw.answer(ok(HELLO))
    raw.answer(b"", close=True)
    raw.answer(ok(HELLO))
    async with asyncio.timeout(5):
        for _ in range(2):
            response = await session.request("GET", raw.url)
            await read_to_end(response)
    assert [number for number, _ in raw.requests] == [1, 1, 2]


async def test_closing_a_response_already_released_leaves_its_connection_alone(raw, session):
    raw.answer(ok(HELLO))
    raw.answer(ok(HELLO))
    async with asyncio.timeout(5):
        first = await session.request("GET", raw.url)
        await read_to_end(first)
        second = await session.request("GET", raw.url)  # on the same connection
        first.close()  # late, and harmless
        transport = second.transport
        assert transport is not None
        assert not transport.is_closing()
        second.release()
    assert [number for number, _ in raw.requests] == [1, 1]


async def test_a_reset_during_a_body_without_length_is_a_break_not_its_end(raw, session):
    head = b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\n"
    raw.answer(head + b"part of it", close="reset")
    async with asyncio.timeout(5):
        response = await session.request("GET", raw.url)
        got, broken = b"", None
        try:
            while data := await response.readany():
                got += data
        except ResponseBroken as exc:
            broken = exc
        response.close()
    assert got == b"part of it"
    assert broken is not None


async def test_a_close_ends_a_body_without_length(raw, session):
    head = b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\n"
    raw.answer(head + b"all of it", close=True)
    async with asyncio.timeout(5):
        response = await session.request("GET", raw.url)
        got = await read_to_end(response)
    assert got == b"all of it"


async def test_a_redirect_to_another_origin_carries_no_secret(raw, session, monkeypatch):
    monkeypatch.setenv("SLUICE_TEST_KEY", "sk-secret-1")
    other = RawServer()
    await other.start()
    try:
        raw.answer(b"HTTP/1.1 307 X\r\nLocation: /same\r\nContent-Length: 0\r\n\r\n")
        away = f"HTTP/1.1 307 X\r\nLocation: {other.url}/x\r\nContent-Length: 0\r\n\r\n"
        raw.answer(away.encode())
        other.answer(ok(HELLO))
        headers = {"X-Api-Key": "{{ secrets.SLUICE_TEST_KEY }}", "X-Trace": "t1"}
        result = await text_of(raw, session, headers=headers)
    finally:
        await other.stop()
    assert result.text == "Hello"
    assert b"X-Api-Key: sk-secret-1" in raw.requests[1][1]  # same origin: kept
    assert b"sk-secret-1" not in other.requests[0][1]
    assert b"X-Trace: t1" in other.requests[0][1]
    assert [number for number, _ in raw.requests] == [1, 1]  # the redirect's connection kept


async def test_framing_headers_from_a_template_are_left_out(raw, session):
    raw.answer(ok(HELLO))
    headers = {"Transfer-Encoding": "chunked", "Connection": "close", "X-Kept": "yes"}
    result = await text_of(raw, session, headers=headers, body={"n": 1})
    assert result.text == "Hello"
    request = raw.requests[0][1].lower()
    assert b"transfer-encoding" not in request
    assert b"connection: close" not in request
    assert b"x-kept: yes" in request


async def test_a_head_past_64_kib_is_a_connection_error(raw, session):
    raw.answer(b"HTTP/1.1 200 OK\r\nX-Big: " + b"x" * 70_000 + b"\r\n\r\n", close=True)
    result = await text_of(raw, session)
    assert isinstance(result.error, UpstreamConnectionError)
    assert "64 KiB" in result.error.message


async def test_a_compressed_body_is_handed_over_a_mebibyte_at_a_time(raw, session):
    body = b"0" * (5 * 1024 * 1024)
    raw.answer(ok(gzip.compress(body), "Content-Encoding: gzip"))
    async with asyncio.timeout(5):
        response = await session.request("GET", raw.url)
        sizes = []
        while data := await response.readany():
            sizes.append(len(data))
        response.release()
    assert sum(sizes) == len(body)
    assert max(sizes) <= 1024 * 1024


async def test_a_compressed_body_cut_short_is_an_error(raw, session):
    whole = gzip.compress(HELLO)
    raw.answer(ok(whole[: len(whole) - 6], "Content-Encoding: gzip"))  # no gzip trailer
    result = await text_of(raw, session)
    assert isinstance(result.error, StreamCutError)


async def test_deflate_is_read_with_or_without_its_zlib_wrapper(raw, session):
    raw_deflate = zlib.compressobj(wbits=-zlib.MAX_WBITS)
    raw.answer(ok(zlib.compress(HELLO), "Content-Encoding: deflate"))
    raw.answer(ok(raw_deflate.compress(HELLO) + raw_deflate.flush(), "Content-Encoding: deflate"))
    first, second = await text_of(raw, session), await text_of(raw, session)
    assert (first.text, second.text) == ("Hello", "Hello")


async def test_a_204_keeps_its_connection(raw, session):
    raw.answer(b"HTTP/1.1 204 No Content\r\n\r\n")
    raw.answer(ok(HELLO))
    async with asyncio.timeout(5):
        response = await session.request("DELETE", raw.url)
        assert (response.status, await response.readany()) == (204, b"")
        response.release()
        assert (await text_of(raw, session)).text == "Hello"
    assert [number for number, _ in raw.requests] == [1, 1]


async def test_a_response_dropped_unreleased_frees_its_connection(raw):
    raw.answer(ok(HELLO))
    raw.answer(ok(HELLO))
    async with asyncio.timeout(5), upstream_session(max_connections=1) as limited:
        await limited.request("GET", raw.url)  # never released nor closed
        gc.collect()
        response = await limited.request("GET", raw.url)
        assert response.status == 200
        response.close()
    assert [number for number, _ in raw.requests] == [1, 2]

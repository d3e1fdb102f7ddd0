"""One HTTP/1.1 client connection to an upstream: an asyncio protocol over httptools' parser.

Why not aiohttp's client: from sending a request to its first body bytes this takes ~0.7x
aiohttp's time (``bench/relay/client.py``; ~100 µs less on the benchmark's machine), and
the relay benchmark's S1 target leaves Sluice less than that over a bare relay
(docs/architecture.md, "The upstream HTTP client"). What a streaming upstream
needs is small: one request written in one call, the head parsed, the body handed over
read by read; keep-alive, flow control and the breaks in between are what this module
does. ``session.UpstreamSession`` pools the connections and follows redirects.
"""

from __future__ import annotations

import asyncio
import contextlib
import select
import weakref
import zlib
from collections.abc import Callable, Iterator, Mapping
from typing import cast

import httptools

# Stop reading the socket while this much of a body waits unread (a slow reader).
_HIGH_WATER = 256 * 1024
# A status line and headers longer than this are not an HTTP server's answer.
_MAX_HEAD_BYTES = 64 * 1024
# At most this much decompressed body per read (a small gzip body can inflate to gigabytes).
_MAX_DECODED = 1024 * 1024


class HTTPClientError(Exception):
    """A request to an upstream failed below HTTP (connecting, or a broken response)."""


class ConnectFailed(HTTPClientError):
    """The connection could not be opened (refused, unresolvable, TLS failure)."""


class ConnectTimeout(HTTPClientError):
    """The connection did not open within the connect timeout."""


class ResponseBroken(HTTPClientError):
    """The connection closed or sent something that is not HTTP before the response ended."""


class InvalidRequest(HTTPClientError):
    """The request cannot be sent as given (the URL or a header); retrying cannot help.

    ``field`` names the part of an integration's request block at fault.
    """

    def __init__(self, message: str, *, field: str = "request.url") -> None:
        super().__init__(message)
        self.field = field


class Headers(Mapping[str, str]):
    """A response's headers, looked up without regard to case (repeated ones joined by ", ")."""

    __slots__ = ("_items",)

    def __init__(self, items: dict[str, str]) -> None:
        self._items = items  # lower-case names

    def __getitem__(self, name: str) -> str:
        return self._items[name.lower()]

    def get(self, name: str, default: str | None = None) -> str | None:  # type: ignore[override]
        return self._items.get(name.lower(), default)

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name.lower() in self._items

    def __iter__(self) -> Iterator[str]:
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)


class Connection(asyncio.Protocol):
    """One kept-alive connection; ``send`` a request, then read its ``Response``.

    ``on_idle`` is called when a response read to its end leaves the connection free for
    the next request; ``on_lost`` once when the connection closes, whoever closed it, so
    that a pool never hands out a dead one.
    """

    def __init__(
        self,
        key: tuple[str, str, int],
        on_idle: Callable[[Connection], None],
        on_lost: Callable[[Connection], None],
    ) -> None:
        self.key = key
        self.idle_since = 0.0
        self.requests = 0  # sent on this connection so far
        self.transport: asyncio.Transport | None = None
        self.is_closed_here = False
        """Whether this side closed it (so an end of the connection is not the server's)."""
        self._on_idle = on_idle
        self._on_lost = on_lost
        # Weak: a response its reader dropped unreleased is collected, and closes this.
        self._response: weakref.ref[Response] | None = None
        self._is_lost = False

    @property
    def is_usable(self) -> bool:
        transport = self.transport
        return not self._is_lost and transport is not None and not transport.is_closing()

    def looks_closed(self) -> bool:
        """Whether the idle socket has something to read: the server's end of the
        connection (or bytes out of turn) not yet seen by the loop. One ``poll``."""
        transport = self.transport
        sock = transport.get_extra_info("socket") if transport is not None else None
        if sock is None or not hasattr(select, "poll"):  # no poll() on Windows
            return False
        poller = select.poll()
        poller.register(sock.fileno(), select.POLLIN)
        return bool(poller.poll(0))

    def send(self, data: bytes, *, method: str) -> Response:
        """Write the request and return its response, whose head ``Response.head`` awaits."""
        assert self.transport is not None
        assert self._response is None
        response = Response(self, method)
        self._response = weakref.ref(response)
        self.requests += 1
        self.transport.write(data)
        return response

    def close(self) -> None:
        self.is_closed_here = True
        if self.transport is not None:
            self.transport.close()
        self._lose()

    # asyncio.Protocol

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's is not a subclass

    def data_received(self, data: bytes) -> None:
        ref = self._response
        response = ref() if ref is not None else None
        if response is None:  # nothing asked for: a server that talks out of turn
            self.close()
            return
        response.feed(data)

    def eof_received(self) -> bool:
        return False  # close the transport; connection_lost follows

    def connection_lost(self, exc: Exception | None) -> None:
        ref = self._response
        response = ref() if ref is not None else None
        if response is not None:
            response.connection_lost(exc)
        self._lose()

    def pause_writing(self) -> None:  # a request is written in one call and never waits
        pass

    def resume_writing(self) -> None:
        pass

    def _detach(self, response: Response) -> None:
        if self._response is not None and self._response() is response:
            self._response = None

    def _idle(self) -> None:
        if self.is_usable:
            self._on_idle(self)

    def _lose(self) -> None:
        if not self._is_lost:
            self._is_lost = True
            self._on_lost(self)


class _Stop(Exception):
    """Raised from a parser callback to stop parsing what follows (a signal, not an error)."""


class Response:
    """The response to one request: ``status``, ``reason`` and ``headers`` once ``head()``
    has returned, then the body read by read with ``readany()`` (``b""`` at its end).

    ``release()`` gives the connection back for reuse when the body was read to its end
    and the server keeps it alive, and closes it otherwise; ``close()`` always closes it
    (unless already let go). A response dropped without either closes its connection.
    """

    __slots__ = (
        "__weakref__",
        "_body",
        "_buffered",
        "_complete",
        "_connection",
        "_decoder",
        "_error",
        "_framed",
        "_got_bytes",
        "_has_head",
        "_head_bytes",
        "_header_items",
        "_held",
        "_is_deflate",
        "_is_head",
        "_keep_alive",
        "_paused",
        "_released",
        "_stop",
        "_tail",
        "_waiter",
        "headers",
        "parser",
        "reason",
        "status",
    )

    def __init__(self, connection: Connection, method: str) -> None:
        self._connection = connection
        self._is_head = method == "HEAD"
        # The parser calls back into this response: a cycle, broken once it is let go.
        self.parser: httptools.HttpResponseParser | None = httptools.HttpResponseParser(self)
        self.status = 0
        self.reason = ""
        self.headers = Headers({})
        self._header_items: dict[str, str] = {}
        self._head_bytes = 0
        self._body: list[bytes] = []
        self._buffered = 0
        self._complete = False
        self._has_head = False
        self._got_bytes = False
        self._framed = False
        self._keep_alive = False
        self._error: HTTPClientError | None = None
        self._stop: HTTPClientError | None = None
        self._waiter: asyncio.Future[None] | None = None
        self._paused = False
        self._held = False
        self._released = False
        self._decoder: zlib._Decompress | None = None
        self._is_deflate = False
        self._tail = b""

    @property
    def transport(self) -> asyncio.Transport | None:
        return self._connection.transport

    @property
    def is_complete(self) -> bool:
        """Whether the whole response has arrived (the body may still wait to be read)."""
        return self._complete

    async def head(self) -> Response:
        """Wait for the status line and headers."""
        while not self._has_head:
            await self._wait()
        return self

    async def readany(self) -> bytes:
        """What the body has brought since the last call, waiting for some; ``b""`` at its
        end. Raises ``ResponseBroken`` (after every byte received) if the body broke off."""
        while True:
            if self._tail:  # compressed input left over from the last read
                data, self._tail = self._tail, b""
            else:
                while not self._body:
                    if self._complete:
                        return self._flush()
                    await self._wait()
                body = self._body
                data = body[0] if len(body) == 1 else b"".join(body)
                body.clear()
                self._buffered = 0
                if self._paused:  # drained: read the socket again (now, or once unheld)
                    self._paused = False
                    if not self._held:
                        self._resume()
                if self._decoder is None:
                    return data
            data = self._decode(data)
            if data:  # a compressed read can hold no whole byte of the body yet
                return data

    def hold_reading(self) -> None:
        """Read nothing more from the socket until the event loop's next turn."""
        transport = self._connection.transport
        if self._complete or self._held or self._paused or transport is None:
            return
        if transport.is_closing():
            return
        self._held = True
        transport.pause_reading()
        asyncio.get_running_loop().call_soon(self._unhold)

    def release(self) -> None:
        """Give the connection back to its pool, or close it if it cannot be reused."""
        if self._released:
            return
        self._released = True
        self.parser = None
        connection = self._connection
        connection._detach(self)
        if not (self._complete and self._keep_alive and self._error is None) or self._body:
            connection.close()
            return
        if self._paused or self._held:  # nothing more to read: idle, it reads for its EOF
            self._paused = self._held = False
            self._resume()
        connection._idle()

    def close(self) -> None:
        """Close the connection (a body not read to its end must not be reused)."""
        if self._released:  # let go already: the connection may serve another request
            return
        self._released = True
        self.parser = None
        self._connection._detach(self)
        self._connection.close()

    def __del__(self) -> None:
        if not self._released:  # dropped without release() or close(): never reused
            with contextlib.suppress(Exception):  # a finalizer must not raise (loop gone)
                self._connection.close()

    @property
    def closed_unanswered(self) -> bool:
        """Whether the connection closed before a byte of the response: a kept-alive
        connection the server had closed as the request went out."""
        return not self._got_bytes and isinstance(self._error, ResponseBroken)

    # fed by the connection

    def feed(self, data: bytes) -> None:
        self._got_bytes = True
        parser = self.parser
        if self._complete or parser is None:  # bytes past the end: not a connection to keep
            self._keep_alive = False
            return
        try:
            parser.feed_data(data)
        except httptools.HttpParserUpgrade:
            self._fail(ResponseBroken("the upstream switched protocols"))
        except httptools.HttpParserError as exc:
            stop, self._stop = self._stop, None
            if self.is_complete:  # a second message began after this one: never reused
                self._keep_alive = False
            else:
                self._fail(stop or ResponseBroken(f"the upstream sent an invalid response: {exc}"))

    def connection_lost(self, exc: Exception | None) -> None:
        if self._complete:
            return
        connection = self._connection
        if self._has_head and not self._framed and exc is None and not connection.is_closed_here:
            self._keep_alive = False  # a body that ends with the connection: it has ended
            self.on_message_complete()
            return
        reason = f": {exc}" if exc is not None else ""
        self._fail(ResponseBroken(f"the server closed the connection{reason}"))

    # httptools' callbacks

    def on_message_begin(self) -> None:
        if self._complete:  # bytes after the response: another response nobody asked for
            raise _Stop

    def on_status(self, status: bytes) -> None:
        self._count_head(len(status))
        self.reason += status.decode("latin-1")

    def on_header(self, name: bytes, value: bytes) -> None:
        if self._has_head:  # a chunked body's trailers: not headers of the response
            return
        self._count_head(len(name) + len(value))
        key = name.decode("latin-1").lower()
        text = value.decode("latin-1")
        items = self._header_items
        items[key] = f"{items[key]}, {text}" if key in items else text

    def on_headers_complete(self) -> None:
        assert self.parser is not None  # it is the one calling
        self.status = self.parser.get_status_code()
        if self.status < 200:  # an interim response: the real one follows
            self.reason, self._header_items, self._head_bytes = "", {}, 0
            return
        items = self._header_items
        self.headers = Headers(dict(items))
        self._framed = (
            "content-length" in items or "chunked" in items.get("transfer-encoding", "").lower()
        )
        encoding = items.get("content-encoding", "").strip().lower()
        if encoding in ("gzip", "x-gzip"):
            self._decoder = zlib.decompressobj(16 + zlib.MAX_WBITS)
        elif encoding == "deflate":
            self._decoder = zlib.decompressobj()
            self._is_deflate = True
        self._has_head = True
        self._wake()
        if self._is_head:  # no body, whatever the headers say, and none the parser knows of
            self._keep_alive = False
            self.on_message_complete()

    def on_body(self, body: bytes) -> None:
        self._body.append(body)
        self._buffered += len(body)
        if self._buffered > _HIGH_WATER and not self._paused:
            self._paused = True
            transport = self._connection.transport
            if transport is not None and not self._held:
                transport.pause_reading()
        waiter = self._waiter  # ``_wake``, inlined: once per chunk of a streamed body
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def on_message_complete(self) -> None:
        if self._complete or not self._has_head:  # done, or the end of an interim response
            return
        self._complete = True
        if not self._is_head and self.parser is not None:
            self._keep_alive = self._keep_alive or self.parser.should_keep_alive()
        self._wake()

    # internals

    def _count_head(self, size: int) -> None:
        self._head_bytes += size
        if self._head_bytes > _MAX_HEAD_BYTES:
            self._stop = ResponseBroken(
                f"the upstream's status line and headers pass {_MAX_HEAD_BYTES // 1024} KiB"
            )
            raise _Stop

    def _decode(self, data: bytes) -> bytes:
        decoder = self._decoder
        assert decoder is not None
        try:
            out = decoder.decompress(data, _MAX_DECODED)
        except zlib.error as exc:
            if self._is_deflate and not decoder.unused_data and not self._tail:
                # "deflate" sent raw, without its zlib wrapper (as some servers do)
                self._is_deflate = False
                self._decoder = zlib.decompressobj(-zlib.MAX_WBITS)
                return self._decode(data)
            raise ResponseBroken(f"the upstream's compressed body is invalid: {exc}") from None
        self._is_deflate = False  # it decoded: the wrapper question is settled
        self._tail = decoder.unconsumed_tail
        return out

    async def _wait(self) -> None:
        """Wait for the parser's next news; raise the failure once no body is left to read."""
        self._raise_failure()
        waiter = self._waiter = asyncio.get_running_loop().create_future()
        try:
            await waiter
        finally:
            self._waiter = None
        if not self._body:
            self._raise_failure()

    def _raise_failure(self) -> None:
        if self._error is not None:
            raise self._error

    def _wake(self) -> None:
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def _fail(self, error: HTTPClientError) -> None:
        if self._error is None:
            self._error = error
        self._keep_alive = False
        self._wake()
        self._connection.close()

    def _flush(self) -> bytes:
        decoder, self._decoder = self._decoder, None
        if decoder is None:
            return b""
        try:
            out = decoder.flush()
        except zlib.error as exc:
            raise ResponseBroken(f"the upstream's compressed body is invalid: {exc}") from None
        if not decoder.eof:
            raise ResponseBroken("the upstream's compressed body ended before its end")
        return out

    def _resume(self) -> None:
        transport = self._connection.transport
        if transport is not None and not transport.is_closing():
            transport.resume_reading()

    def _unhold(self) -> None:
        self._held = False
        if not self._paused:
            self._resume()

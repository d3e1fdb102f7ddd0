"""uvicorn's HTTP protocol with a response's head written together with its first body bytes.

uvicorn writes a response's status line and headers as soon as the app sends
``http.response.start``, then each body message as a write of its own: two socket writes
and, for a client waiting on the response, two wake-ups where one would do. An event
stream sends its first event right after its headers (``api.eventstream``) and a JSON
answer its body right after its head, in the same task step, so the second write follows
the first by microseconds.

``HeadJoiningTransport`` sits between the protocol and its transport: a write that is a
response head (it starts with ``HTTP/``) is held and goes out with the next write, or at
the event loop's next turn (``call_soon``) when nothing follows in this one, so a
response whose body comes later still has its head on the wire at once. Closing, and the
client's end of input (uvicorn then closes the connection), write what is held first.
Nothing else changes: every other write, flow control and the transport's own buffering
pass straight through. aiohttp's server does the same (headers go with the first body
chunk); the bench's bare relay is built on it.
"""

from __future__ import annotations

import asyncio
import functools
from typing import Any

from uvicorn.protocols.http.h11_impl import H11Protocol

_HEAD = b"HTTP/"


class HeadJoiningTransport:
    """A transport whose response heads wait for the next write (at most one loop turn)."""

    __slots__ = ("_flush", "_head", "_loop", "_transport")

    def __init__(self, transport: asyncio.Transport) -> None:
        self._transport = transport
        self._loop = asyncio.get_running_loop()
        self._head: bytes | None = None
        self._flush: asyncio.Handle | None = None

    def write(self, data: bytes | bytearray | memoryview) -> None:
        head = self._head
        if head is not None:
            self._head = None
            self._cancel_flush()
            self._transport.write(head + data)
        elif data[:5] == _HEAD and not self._transport.is_closing():
            self._head = bytes(data)
            if self._flush is None:
                self._flush = self._loop.call_soon(self.write_held)
        else:
            self._transport.write(data)

    def writelines(self, lines: Any) -> None:
        self.write(b"".join(lines))

    def close(self) -> None:
        self.write_held()
        self._transport.close()

    def write_eof(self) -> None:
        self.write_held()
        self._transport.write_eof()

    def abort(self) -> None:
        self._head = None
        self._cancel_flush()
        self._transport.abort()

    def get_write_buffer_size(self) -> int:
        held = self._head
        return self._transport.get_write_buffer_size() + (0 if held is None else len(held))

    def write_held(self) -> None:
        """Write the held head now (nothing when none is held)."""
        self._cancel_flush()
        head, self._head = self._head, None
        if head is not None and not self._transport.is_closing():
            self._transport.write(head)

    def _cancel_flush(self) -> None:
        if self._flush is not None:
            self._flush.cancel()
            self._flush = None

    def __getattr__(self, name: str) -> Any:
        # Everything else (is_closing, pause_reading, get_extra_info, set_protocol…) is the
        # transport's own.
        return getattr(self._transport, name)


class _JoinsHeads(asyncio.Protocol):
    """Put before a uvicorn HTTP protocol in the bases: it runs on a ``HeadJoiningTransport``."""

    transport: Any

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(HeadJoiningTransport(transport))  # type: ignore[arg-type]

    def eof_received(self) -> None:
        # The transport closes itself after this (uvicorn keeps no half-open connection),
        # without a write through the wrapper: the held head goes first, as uvicorn
        # would have written it already.
        self.transport.write_held()
        super().eof_received()


class HeadJoiningH11(_JoinsHeads, H11Protocol):
    """uvicorn's h11 protocol on a ``HeadJoiningTransport``."""


@functools.cache
def http_protocol() -> type[asyncio.Protocol]:
    """The protocol class to give uvicorn (``http=``): httptools' when it is installed, as
    uvicorn's ``auto`` would choose, else h11's."""
    try:
        from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
    except ImportError:
        return HeadJoiningH11

    class HeadJoiningHttpTools(_JoinsHeads, HttpToolsProtocol):
        """uvicorn's httptools protocol on a ``HeadJoiningTransport``."""

    return HeadJoiningHttpTools

"""The one ``UpstreamSession`` all upstream requests share, and with it one pool.

One session per process keeps connections alive across requests. Its connections are
Sluice's own HTTP/1.1 client (``http1``): DESIGN.md chose aiohttp's client, and this keeps
what it was chosen for (a pool that costs little per request at a thousand concurrent
streams) at ~0.7x its time to the first body bytes (docs/architecture.md).

What a request gets, as it got from aiohttp's session: the URL's query extended by
``params``, ``Host``, ``User-Agent: sluice/<version>``, ``Accept: */*`` and
``Accept-Encoding: gzip, deflate`` unless the request sets its own, gzip and deflate
bodies decoded, up to 10 redirects followed (a 303, or a 301/302 answering a POST, turns
into a GET without a body; to another origin no credential goes along: see ``request``),
Happy Eyeballs over addresses kept for five minutes, TLS verified against the system's
certificates, no cookies and no proxy. A kept-alive connection that closes before a byte
of its answer is retried once, for idempotent methods only.
"""

from __future__ import annotations

import asyncio
import socket
import ssl
from collections import deque
from collections.abc import AsyncIterator, Callable, Collection, Iterable, Mapping
from contextlib import asynccontextmanager
from functools import lru_cache
from typing import Any

import aiohappyeyeballs
from yarl import URL

from sluice import __version__
from sluice.integrations.http1 import (
    ConnectFailed,
    Connection,
    ConnectTimeout,
    InvalidRequest,
    Response,
    ResponseBroken,
)

_MAX_REDIRECTS = 10
_REDIRECTS = frozenset((301, 302, 303, 307, 308))
_DEFAULT_PORTS = {"http": 80, "https": 443}
_FORBIDDEN_IN_HEADERS = str.maketrans("", "", "\r\n\0")
# Request headers this client sets or leaves out itself: a template's would break framing.
_FRAMING_HEADERS = frozenset(
    (
        "content-length",
        "transfer-encoding",
        "connection",
        "keep-alive",
        "proxy-connection",
        "te",
        "upgrade",
    )
)
_CREDENTIAL_HEADERS = frozenset(("authorization", "proxy-authorization", "cookie"))
# Sent again after a kept-alive connection closed unanswered (RFC 9110's idempotent methods).
_IDEMPOTENT = frozenset(("GET", "HEAD", "OPTIONS", "TRACE", "PUT", "DELETE"))
_DNS_TTL_S = 300.0
_HAPPY_EYEBALLS_DELAY_S = 0.25

AddrInfo = tuple[Any, Any, int, str, tuple[Any, ...]]

Key = tuple[str, str, int]  # scheme, host, port


class UpstreamSession:
    """Kept-alive connections by origin, at most ``max_connections`` in use at once (a
    request waits for one to come free), idle ones closed after ``keepalive_s``."""

    def __init__(
        self,
        *,
        max_connections: int = 1000,
        keepalive_s: float = 15.0,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        self.max_connections = max_connections
        self.keepalive_s = keepalive_s
        self._ssl = ssl_context
        self._idle: dict[Key, list[Connection]] = {}
        self._in_use: set[Connection] = set()
        self._opening = 0
        self._waiters: deque[asyncio.Future[None]] = deque()
        self._sweep: asyncio.TimerHandle | None = None
        self._addresses: dict[tuple[str, int], tuple[float, list[AddrInfo]]] = {}
        self._user_agent = f"sluice/{__version__}"
        self._is_closed = False

    async def request(
        self,
        method: str,
        url: str,
        *,
        params: Iterable[tuple[str, str]] | None = None,
        headers: Mapping[str, str] | None = None,
        data: bytes | None = None,
        connect_timeout_s: float | None = None,
        sensitive: Collection[str] = (),
        on_sent: Callable[[], None] | None = None,
    ) -> Response:
        """Send the request and return its response once its head has arrived (after
        following redirects). ``InvalidRequest`` for a URL or header that cannot be sent,
        ``ConnectFailed``/``ConnectTimeout`` for a connection that does not open,
        ``ResponseBroken`` for one that breaks before the head.

        A redirect to another origin carries no ``Authorization``, ``Cookie`` or header
        whose value holds one of the ``sensitive`` strings (the request's secrets: an
        API key in ``x-api-key`` must not follow a redirect to another host).

        ``on_sent`` is called once, right after the request has been written and before
        its answer is awaited: work that needs no answer is done while the upstream works.
        """
        if self._is_closed:
            raise ConnectFailed("the upstream session is closed")
        target = _url(url, tuple(params) if params else ())
        sent = dict(headers) if headers else {}
        for _ in range(_MAX_REDIRECTS + 1):
            response = await self._send(method, target, sent, data, connect_timeout_s, on_sent)
            on_sent = None
            location = response.headers.get("Location")
            if response.status not in _REDIRECTS or location is None:
                return response
            if response.is_complete:  # an empty body, as redirects have: the connection stays
                response.release()
            else:
                response.close()
            origin = _origin(target)
            target, method, data = _redirected(target, location, response.status, method, data)
            if _origin(target) != origin:
                sent = _without_credentials(sent, sensitive)
            sent = _headers_after_redirect(sent, data)
        raise ResponseBroken(f"the upstream redirected more than {_MAX_REDIRECTS} times")

    async def close(self) -> None:
        """Close every connection; requests after this fail with ``ConnectFailed``."""
        self._is_closed = True
        if self._sweep is not None:
            self._sweep.cancel()
            self._sweep = None
        for connection in [c for idle in self._idle.values() for c in idle] + list(self._in_use):
            connection.close()
        self._idle.clear()
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)

    async def _send(
        self,
        method: str,
        url: URL,
        headers: dict[str, str],
        data: bytes | None,
        connect_timeout_s: float | None,
        on_sent: Callable[[], None] | None = None,
    ) -> Response:
        key = _origin(url)
        head = _request_head(method, url, headers, data, self._user_agent)
        request = head if data is None else head + data
        connection = await self._acquire(key, connect_timeout_s)
        response = connection.send(request, method=method)
        try:
            if on_sent is not None:
                on_sent()
            return await response.head()
        except ResponseBroken:
            response.close()
            retry = connection.requests > 1 and response.closed_unanswered
            if not (retry and method in _IDEMPOTENT):
                raise
        except BaseException:
            response.close()
            raise
        # A kept-alive connection that closed before a byte of the answer: most likely the
        # server had closed it as the request went out. Sent again once, on a new
        # connection, when sending it twice does no harm (as aiohttp does): a POST might
        # have been read, and an LLM call made twice is paid twice.
        connection = await self._acquire(key, connect_timeout_s, reuse=False)
        response = connection.send(request, method=method)
        try:
            return await response.head()
        except BaseException:
            response.close()
            raise

    async def _acquire(
        self, key: Key, connect_timeout_s: float | None, *, reuse: bool = True
    ) -> Connection:
        if self._is_closed:
            raise ConnectFailed("the upstream session is closed")
        connection = self._take_idle(key) if reuse else None
        while connection is None and len(self._in_use) + self._opening >= self.max_connections:
            waiter = asyncio.get_running_loop().create_future()
            self._waiters.append(waiter)
            try:
                await waiter
            except BaseException:
                if waiter.done() and not waiter.cancelled():
                    self._wake_one()  # woken, but leaving: the room goes to the next one
                raise
            finally:
                if waiter in self._waiters:
                    self._waiters.remove(waiter)
            if self._is_closed:
                raise ConnectFailed("the upstream session is closed")
            connection = self._take_idle(key) if reuse else None
        if connection is not None:
            self._in_use.add(connection)
            return connection
        self._opening += 1
        try:
            connection = await self._connect(key, connect_timeout_s)
        except BaseException:
            self._opening -= 1
            self._wake_one()  # the room this connection would have taken is free again
            raise
        self._opening -= 1
        self._in_use.add(connection)
        return connection

    def _take_idle(self, key: Key) -> Connection | None:
        """The most recently used live idle connection to ``key``, if any."""
        idle = self._idle.get(key)
        while idle:
            connection = idle.pop()
            if not connection.is_usable:
                continue
            if connection.looks_closed():  # closed by the server, not yet seen by the loop
                connection.close()
                continue
            return connection
        return None

    async def _connect(self, key: Key, timeout_s: float | None) -> Connection:
        scheme, host, port = key
        loop = asyncio.get_running_loop()
        tls = self._tls() if scheme == "https" else None

        def connection() -> Connection:
            return Connection(key, self._on_idle, self._on_lost)

        try:
            async with asyncio.timeout(timeout_s):
                addresses = await self._resolve(host, port)
                sock = await aiohappyeyeballs.start_connection(
                    addresses, happy_eyeballs_delay=_HAPPY_EYEBALLS_DELAY_S
                )
                try:
                    transport, made = await loop.create_connection(
                        connection, sock=sock, ssl=tls, server_hostname=host if tls else None
                    )
                except BaseException:
                    sock.close()
                    raise
        except TimeoutError:
            raise ConnectTimeout(f"connecting to {host}:{port} timed out") from None
        except ssl.SSLError as exc:
            raise ConnectFailed(f"TLS with {host}:{port} failed: {exc}") from exc
        except OSError as exc:
            raise ConnectFailed(f"cannot connect to {host}:{port}: {exc}") from exc
        made.transport = transport  # uvloop may call connection_made a turn later
        return made

    async def _resolve(self, host: str, port: int) -> list[AddrInfo]:
        """The host's addresses, kept for ``_DNS_TTL_S`` (as aiohttp's connector did)."""
        loop = asyncio.get_running_loop()
        cached = self._addresses.get((host, port))
        if cached is not None and cached[0] > loop.time():
            return cached[1]
        infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        if not infos:
            raise OSError(f"no address for {host}")
        self._addresses[(host, port)] = (loop.time() + _DNS_TTL_S, infos)
        return infos

    def _tls(self) -> ssl.SSLContext:
        if self._ssl is None:
            self._ssl = ssl.create_default_context()
        return self._ssl

    def _on_idle(self, connection: Connection) -> None:
        self._in_use.discard(connection)
        if self._is_closed:
            connection.close()
            return
        connection.idle_since = asyncio.get_running_loop().time()
        self._idle.setdefault(connection.key, []).append(connection)
        self._schedule_sweep()
        self._wake_one()

    def _on_lost(self, connection: Connection) -> None:
        if connection in self._in_use:
            self._in_use.discard(connection)
        else:
            idle = self._idle.get(connection.key)
            if idle and connection in idle:
                idle.remove(connection)
        self._wake_one()

    def _wake_one(self) -> None:
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)
                return

    def _schedule_sweep(self) -> None:
        if self._sweep is None:
            loop = asyncio.get_running_loop()
            self._sweep = loop.call_later(self.keepalive_s, self._sweep_idle)

    def _sweep_idle(self) -> None:
        """Close the connections idle for longer than ``keepalive_s`` (the server would)."""
        self._sweep = None
        cutoff = asyncio.get_running_loop().time() - self.keepalive_s
        for key, idle in list(self._idle.items()):
            stale = [c for c in idle if c.idle_since <= cutoff]
            for connection in stale:
                connection.close()  # on_lost takes it out of the list
            if not self._idle.get(key):
                self._idle.pop(key, None)
        if any(self._idle.values()):
            self._schedule_sweep()


@asynccontextmanager
async def upstream_session(
    *,
    max_connections: int = 1000,
    keepalive_s: float = 15.0,
    ssl_context: ssl.SSLContext | None = None,
) -> AsyncIterator[UpstreamSession]:
    """Open a session, closed on leaving; deadlines are set per request by the executor.

    No cookies: the session carries every user's requests, so a cookie one upstream
    response set must never ride along on another user's request.
    """
    session = UpstreamSession(
        max_connections=max_connections, keepalive_s=keepalive_s, ssl_context=ssl_context
    )
    try:
        yield session
    finally:
        await session.close()


@lru_cache(maxsize=1024)
def _url(url: str, params: tuple[tuple[str, str], ...]) -> URL:
    """The URL to request, its query extended by ``params`` (made once per distinct pair)."""
    try:
        parsed = URL(url)
    except (TypeError, ValueError) as exc:
        raise InvalidRequest(f"invalid URL {url!r}: {exc}") from None
    if parsed.scheme not in _DEFAULT_PORTS:
        raise InvalidRequest(f"not an http or https URL: {url!r}")
    if not parsed.host:
        raise InvalidRequest(f"no host in the URL {url!r}")
    return parsed.extend_query(params) if params else parsed


def _origin(url: URL) -> Key:
    host = url.raw_host
    assert host is not None  # checked by _url
    return url.scheme, host, url.port or _DEFAULT_PORTS[url.scheme]


def _request_head(
    method: str, url: URL, headers: Mapping[str, str], data: bytes | None, user_agent: str
) -> bytes:
    given = {name.lower() for name in headers}
    lines = [f"{method} {url.raw_path_qs} HTTP/1.1"]
    if "host" not in given:
        port = url.port
        host = url.raw_host or ""
        if ":" in host:  # an IPv6 literal
            host = f"[{host}]"
        default = port is None or port == _DEFAULT_PORTS[url.scheme]
        lines.append(f"Host: {host}" if default else f"Host: {host}:{port}")
    if "user-agent" not in given:
        lines.append(f"User-Agent: {user_agent}")
    if "accept" not in given:
        lines.append("Accept: */*")
    if "accept-encoding" not in given:
        lines.append("Accept-Encoding: gzip, deflate")
    for name, value in headers.items():
        if name.lower() in _FRAMING_HEADERS:
            continue  # the connection's and the body's framing are this client's to say
        if not name or name != name.translate(_FORBIDDEN_IN_HEADERS) or ":" in name:
            raise InvalidRequest(f"invalid header name {name!r}", field="request.headers")
        if value != value.translate(_FORBIDDEN_IN_HEADERS):
            raise InvalidRequest(f"the header {name} holds a line break", field="request.headers")
        lines.append(f"{name}: {value}")
    if data is not None:
        lines.append(f"Content-Length: {len(data)}")
    elif method in ("POST", "PUT", "PATCH"):
        lines.append("Content-Length: 0")
    lines.append("\r\n")
    return "\r\n".join(lines).encode()


def _redirected(
    url: URL, location: str, status: int, method: str, data: bytes | None
) -> tuple[URL, str, bytes | None]:
    try:
        target = url.join(URL(location))
    except (TypeError, ValueError) as exc:
        raise ResponseBroken(f"the upstream redirected to an invalid URL: {exc}") from None
    if target.scheme not in _DEFAULT_PORTS or not target.host:
        raise ResponseBroken(f"the upstream redirected to a URL that is not http(s): {location}")
    if (status == 303 and method != "HEAD") or (status in (301, 302) and method == "POST"):
        return target, "GET", None
    return target, method, data


def _headers_after_redirect(headers: dict[str, str], data: bytes | None) -> dict[str, str]:
    """The headers to send on: never the old ``Host``, no ``Content-Type`` without a body."""
    dropped = ("host",) if data is not None else ("host", "content-type")
    return {name: value for name, value in headers.items() if name.lower() not in dropped}


def _without_credentials(headers: dict[str, str], sensitive: Collection[str]) -> dict[str, str]:
    """``headers`` less what is a credential for the origin they were set for."""
    return {
        name: value
        for name, value in headers.items()
        if name.lower() not in _CREDENTIAL_HEADERS
        and not any(secret and secret in value for secret in sensitive)
    }

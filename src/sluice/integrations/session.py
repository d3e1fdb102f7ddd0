"""The one aiohttp ``ClientSession`` all upstream requests share, and with it one pool.

One session per process keeps connections alive across requests; DESIGN.md records why
aiohttp (its pool costs little per request at a thousand concurrent streams).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import aiohttp

from sluice import __version__


@asynccontextmanager
async def upstream_session(*, max_connections: int = 1000) -> AsyncIterator[aiohttp.ClientSession]:
    """Open the shared session; deadlines are set per request by the executor, not here.

    No cookie jar: the session carries every user's requests, so a cookie one upstream
    response set must not ride along on another user's request (and filtering a jar per
    request cost time on every one).
    """
    connector = aiohttp.TCPConnector(limit=max_connections, ttl_dns_cache=300)
    async with aiohttp.ClientSession(
        connector=connector,
        cookie_jar=aiohttp.DummyCookieJar(),
        timeout=aiohttp.ClientTimeout(total=None),
        headers={"User-Agent": f"sluice/{__version__}"},
        raise_for_status=False,
    ) as session:
        yield session

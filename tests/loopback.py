"""An ASGI app under a real uvicorn on 127.0.0.1 (port 0), as ``sluice serve`` runs it."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import uvicorn

from sluice.api.protocol import http_protocol


@asynccontextmanager
async def uvicorn_on_loopback(app: Any, **options: Any) -> AsyncIterator[int]:
    """Serve ``app`` (uvicorn's ``options`` over Sluice's protocol and quiet logs) until the
    block ends; its port."""
    config = uvicorn.Config(app, **{"http": http_protocol(), "log_level": "warning", **options})
    config.load()
    server = uvicorn.Server(config)
    server.lifespan = config.lifespan_class(config)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    await server.startup(sockets=[sock])
    assert server.started, "the server did not start"
    main = asyncio.create_task(server.main_loop())
    try:
        yield sock.getsockname()[1]
    finally:
        server.should_exit = True
        await main
        await server.shutdown(sockets=[sock])
        sock.close()

"""The baseline relay: aiohttp in, aiohttp out, bytes passed through as they arrive.

It does the least a relay must (one pooled upstream session, each read written at once)
and nothing a product does (no parsing, no storage, no run log), so Sluice's figures are
read against it.

    python bench/relay/bare.py --port 9101 --upstream http://127.0.0.1:9100
"""

from __future__ import annotations

import argparse
import logging

import aiohttp
import uvloop
from aiohttp import web


class BareRelay:
    def __init__(self, upstream: str) -> None:
        self.upstream = upstream.rstrip("/")
        self.session: aiohttp.ClientSession | None = None

    async def open(self, app: web.Application) -> None:
        connector = aiohttp.TCPConnector(limit=0, ttl_dns_cache=None)
        self.session = aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout())

    async def close(self, app: web.Application) -> None:
        if self.session is not None:
            await self.session.close()

    async def relay(self, request: web.Request) -> web.StreamResponse:
        assert self.session is not None
        body = await request.read()
        headers = {"Content-Type": request.headers.get("Content-Type", "application/json")}
        url = self.upstream + request.path_qs
        async with self.session.post(url, data=body, headers=headers) as upstream:
            response = web.StreamResponse(
                status=upstream.status,
                headers={"Content-Type": upstream.headers.get("Content-Type", "text/plain")},
            )
            await response.prepare(request)
            async for data in upstream.content.iter_any():
                await response.write(data)
            await response.write_eof()
            return response


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=9101)
    parser.add_argument("--upstream", required=True)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    relay = BareRelay(args.upstream)
    app = web.Application()
    app.on_startup.append(relay.open)
    app.on_cleanup.append(relay.close)
    app.router.add_post("/{tail:.*}", relay.relay)
    uvloop.install()
    web.run_app(app, host=args.host, port=args.port, access_log=None, print=None, backlog=4096)


if __name__ == "__main__":
    main()

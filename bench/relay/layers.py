"""Sluice served with two bench-only routes that peel its layers off, for ``run.py --layers``.

The server is ``sluice serve``'s (the same app, uvicorn with the same options); in front
of it, two routes answer what a stream would cost with less of Sluice on the way:

- ``POST /bench/relay/{path}``: the bare relay's work inside Sluice's process: the body
  posted to ``--upstream`` + path over the shared upstream session, the upstream's bytes
  written to the client as they come (uvicorn, the fast lane's dispatch and the upstream
  client; no parsing).
- ``POST /bench/integration/{id}``: the integration run in the request's own task:
  template, upstream call, stream reader and Flowise rendering, the start event written
  at once as the prediction route does; no flow, turn, run log or storage.

Measured beside the prediction route in one process, the three say how much of Sluice's
added time to first token each layer carries (docs/performance.md, "Layers"). Nothing
here is part of the server.

    python -m bench.relay.layers --port 9102 --flows DIR --database-url URL --upstream URL
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path
from typing import Any

import uvicorn
from fastapi import FastAPI
from starlette.types import ASGIApp, Receive, Scope, Send

from sluice.api.app import build_app
from sluice.api.eventstream import OPENING
from sluice.api.protocol import http_protocol
from sluice.api.settings import Settings
from sluice.api.state import ServerState
from sluice.api.wire import FlowiseContext, render_flowise_sse
from sluice.events import Token
from sluice.integrations.executor import stream_integration
from sluice.integrations.templating import template_context

RELAY = "/bench/relay/"
INTEGRATION = "/bench/integration/"
_HEADERS = [(b"content-type", b"text/event-stream; charset=utf-8")]
_START = b'message:\ndata:{"event":"start","data":"bench"}\n\n'
_END = b'message\ndata:{"event":"end","data":"[DONE]"}\n\n'


class Layers:
    """The bench routes in front of Sluice's ASGI app; every other request goes to it."""

    def __init__(self, outer: ASGIApp, app: FastAPI, upstream: str) -> None:
        self.outer = outer
        self.app = app
        self.upstream = upstream.rstrip("/")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path: str = scope.get("path", "")
        if scope["type"] == "http" and path.startswith(RELAY):
            await self._relay(path[len(RELAY) - 1 :], receive, send)
        elif scope["type"] == "http" and path.startswith(INTEGRATION):
            await self._integration(path[len(INTEGRATION) :], receive, send)
        else:
            await self.outer(scope, receive, send)

    @property
    def _state(self) -> ServerState:
        state: ServerState = self.app.state.sluice
        return state

    async def _relay(self, path: str, receive: Receive, send: Send) -> None:
        body = await _body(receive)
        session = self._state.services.session
        headers = {"Content-Type": "application/json"}
        upstream = await session.request("POST", self.upstream + path, data=body, headers=headers)
        try:
            await send({"type": "http.response.start", "status": 200, "headers": _HEADERS})
            while data := await upstream.readany():
                await send({"type": "http.response.body", "body": data, "more_body": True})
        finally:
            upstream.release()
        await send({"type": "http.response.body", "body": b"", "more_body": False})

    async def _integration(self, integration_id: str, receive: Receive, send: Send) -> None:
        await _body(receive)
        state = self._state
        integration = state.services.integrations[integration_id]
        context = template_context(
            question="hi", history=[], vars={}, nodes={}, env=None, secrets=None
        )
        flowise = FlowiseContext("bench", "hi", "bench")
        await send({"type": "http.response.start", "status": 200, "headers": _HEADERS})
        await send({"type": "http.response.body", "body": OPENING + _START, "more_body": True})
        seq = 1
        session = state.services.session
        async with stream_integration(
            integration, context, session=session, keep_chunks=False
        ) as run:
            async for batch in run.batches():
                text = "".join(batch)
                seq += 1
                body = render_flowise_sse([(seq, Token(text))], flowise)
                await send({"type": "http.response.body", "body": body, "more_body": True})
        await send({"type": "http.response.body", "body": _END, "more_body": False})


async def _body(receive: Receive) -> bytes:
    parts: list[bytes] = []
    while True:
        message: dict[str, Any] = dict(await receive())
        parts.append(message.get("body", b""))
        if not message.get("more_body", False):
            return b"".join(parts)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--flows", type=Path, required=True)
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--upstream", required=True)
    parser.add_argument("--log-level", default="warning")
    args = parser.parse_args()
    logging.basicConfig(level=args.log_level.upper())
    settings = Settings.from_env(
        host=args.host, port=args.port, flows=args.flows, database_url=args.database_url
    )
    outer, app = build_app(settings)
    # As ``sluice serve`` runs it (sluice/commands/serve.py).
    uvicorn.run(
        Layers(outer, app, args.upstream),
        host=settings.host,
        port=settings.port,
        http=http_protocol(),
        log_level=args.log_level,
        access_log=False,
        timeout_graceful_shutdown=10,
    )


if __name__ == "__main__":
    main()

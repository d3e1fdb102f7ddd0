"""What the running server holds: settings, database, runs, turns, catalog, renderers."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from starlette.requests import HTTPConnection

from sluice.api.catalog import Catalog
from sluice.api.settings import Settings
from sluice.api.sockets import SocketIO
from sluice.api.turns import Turns
from sluice.flows.state import FlowServices
from sluice.runs import LogEntry, RunRegistry
from sluice.store import Database

Renderer = Callable[[Sequence[LogEntry]], bytes]
"""Renders a batch of a run's events in the wire format of the request that started it."""

MAX_REMEMBERED_RUNS = 10_000


@dataclass(slots=True)
class ServerState:
    settings: Settings
    db: Database
    catalog: Catalog
    services: FlowServices
    turns: Turns
    runs: RunRegistry
    sockets: SocketIO | None = None
    renderers: dict[str, Renderer] = field(default_factory=dict)
    background: set[asyncio.Task[object]] = field(default_factory=set)

    @staticmethod
    def of(connection: HTTPConnection) -> ServerState:
        state = connection.app.state.sluice
        assert isinstance(state, ServerState)
        return state

    def remember_renderer(self, run_id: str, renderer: Renderer) -> None:
        """How to render this run for a client that resumes it (bounded, oldest dropped)."""
        self.renderers[run_id] = renderer  # a dict keeps insertion order: oldest first
        while len(self.renderers) > MAX_REMEMBERED_RUNS:
            del self.renderers[next(iter(self.renderers))]

    async def join_chat_room(self, sid: str, chat_id: str) -> None:
        """Let a socket.io client (Flowise's ``socketIOClientId``) hear this chat's messages."""
        if self.sockets is not None:
            await self.sockets.enter_room(sid, chat_id)

    def spawn(self, task: asyncio.Task[object]) -> None:
        """Keep a background task referenced until it ends (abort on disconnect…)."""
        self.background.add(task)
        task.add_done_callback(self.background.discard)

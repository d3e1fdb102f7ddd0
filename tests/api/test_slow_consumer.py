"""The slow-consumer policy: a client that reads slower than tokens arrive gets them merged,
in writes of at most ``max_batch`` events, and the server holds no queue for it.

The app is called as ASGI with a ``send`` that blocks while the reader is paused: that is
what uvicorn's ``send`` does when a slow client has let the socket's buffer fill up, made
exact, so the test needs no timing.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, MutableMapping
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import orjson
import pytest
from fastapi import FastAPI

from sluice.api.app import build_app
from sluice.api.settings import Settings
from sluice.api.state import ServerState
from sluice.events import Token
from sluice.streams.sse import SSEDecoder
from sluice.streams.types import SSEEvent
from tests.integrations.upstream import Step, Upstream

pytestmark = pytest.mark.anyio

TOKENS = [f"t{i} " for i in range(400)]  # a word each: what words buffering releases
MAX_BATCH = 32

PREDICTION_SCOPE = {
    "type": "http",
    "asgi": {"version": "3.0", "spec_version": "2.3"},
    "http_version": "1.1",
    "method": "POST",
    "scheme": "http",
    "path": "/api/v1/prediction/relay",
    "raw_path": b"/api/v1/prediction/relay",
    "query_string": b"",
    "root_path": "",
    "headers": [(b"content-type", b"application/json")],
    "client": ("127.0.0.1", 1),
    "server": ("127.0.0.1", 80),
}
"""An ASGI scope of ``POST /api/v1/prediction/relay`` as uvicorn gives it."""

FLOWS = """\
kind: integration
id: relay
request:
  url: "{upstream}/v1/chat/completions"
  body: {{model: m, stream: true, messages: "{{{{ messages }}}}"}}
stream: {{type: sse, mapping: openai, buffering: {buffering}}}
---
kind: flow
id: relay
public: true
nodes:
  - {{id: answer, type: integration, integration: relay}}
"""


def delta(text: str) -> bytes:
    return b'data: {"choices":[{"delta":{"content":' + orjson.dumps(text) + b"}}]}\n\n"


@asynccontextmanager
async def running(
    tmp_path: Path, upstream: Upstream, *, buffering: str = "none", **settings: Any
) -> AsyncIterator[FastAPI]:
    """The app on ``FLOWS``; with ``buffering: none`` the run says each upstream read's text
    as one token, with ``words`` each word as its own."""
    flows = tmp_path / "flows"
    flows.mkdir()
    (flows / "flows.yaml").write_text(FLOWS.format(upstream=upstream.url, buffering=buffering))
    database_url = f"sqlite+aiosqlite:///{tmp_path / 'sluice.db'}"
    _, app = build_app(Settings(flows=flows, database_url=database_url, **settings))
    async with app.router.lifespan_context(app):
        yield app


class SlowReader:
    """An ASGI client that stops reading after its first token until ``resume()`` (unless
    ``pauses`` is false: then it reads every write at once)."""

    def __init__(self, first_token_read: asyncio.Event, *, pauses: bool = True) -> None:
        self.first_token_read = first_token_read
        self.reading = asyncio.Event()
        if not pauses:
            self.reading.set()
        self.gone = asyncio.Event()
        self.run_id = ""
        self.writes: list[bytes] = []
        self._has_sent_body = False

    async def receive(self) -> dict[str, Any]:
        if not self._has_sent_body:
            self._has_sent_body = True
            body = orjson.dumps({"question": "q", "streaming": True})
            return {"type": "http.request", "body": body, "more_body": False}
        await self.gone.wait()
        return {"type": "http.disconnect"}

    async def send(self, message: MutableMapping[str, Any]) -> None:
        if message["type"] == "http.response.start":
            self.run_id = dict(message["headers"])[b"x-run-id"].decode()
            return
        if self.first_token_read.is_set():
            await self.reading.wait()  # the socket's buffer is full: the write waits
        self.writes.append(message["body"])
        if b'"token"' in message["body"]:
            self.first_token_read.set()

    def resume(self) -> None:
        self.reading.set()


async def read_slowly(
    app: FastAPI, upstream: Upstream, *, pauses: bool = True
) -> tuple[SlowReader, int]:
    """Post a streaming prediction, pause after the first token until the run has ended,
    then read the rest; returns the reader and the number of tokens the run said."""
    first_token_read = asyncio.Event()
    steps: list[Step] = [delta(TOKENS[0]), first_token_read]
    upstream.reply([*steps, *(delta(token) for token in TOKENS[1:]), b"data: [DONE]\n\n"])
    reader = SlowReader(first_token_read, pauses=pauses)
    state: ServerState = app.state.sluice
    log = state.runs.log
    async with asyncio.timeout(5):
        request = asyncio.create_task(app(PREDICTION_SCOPE, reader.receive, reader.send))
        await first_token_read.wait()
        seen, said = 0, 0
        while not await log.is_closed(reader.run_id):  # the whole run arrives meanwhile
            entries = await log.read(reader.run_id, seen, wait_s=1)
            seen += len(entries)
            said += sum(isinstance(e, Token) for _, e in entries)
        # Counted here: once the reader has read it through, the run is compacted.
        said += sum(isinstance(e, Token) for _, e in await log.read(reader.run_id, seen, wait_s=0))
        reader.resume()
        await request
    return reader, said


def token_events(writes: list[bytes]) -> list[str]:
    decoder: SSEDecoder[SSEEvent] = SSEDecoder()
    events = [orjson.loads(e.data) for e in decoder.decode(b"".join(writes)) + decoder.flush()]
    return [e["data"] for e in events if e["event"] == "token"]


def event_ids(write: bytes) -> int:
    return write.count(b"\nid: ") + write.startswith(b"id: ")


async def test_slow_reader_gets_the_whole_text_in_fewer_token_events(
    tmp_path: Path, upstream: Upstream
):
    async with running(tmp_path, upstream, buffering="words", max_batch=MAX_BATCH) as app:
        reader, said = await read_slowly(app, upstream)
    tokens = token_events(reader.writes)
    assert said == len(TOKENS)
    assert "".join(tokens) == "".join(TOKENS)
    assert len(tokens) < len(TOKENS) // 4
    assert all(event_ids(write) <= MAX_BATCH for write in reader.writes)


async def test_without_coalescing_a_slow_reader_still_gets_bounded_writes(
    tmp_path: Path, upstream: Upstream
):
    async with running(
        tmp_path, upstream, buffering="words", max_batch=MAX_BATCH, coalesce_tokens=False
    ) as app:
        reader, said = await read_slowly(app, upstream)
    tokens = token_events(reader.writes)
    assert tokens == TOKENS
    assert said == len(TOKENS)
    assert all(event_ids(write) <= MAX_BATCH for write in reader.writes)
    assert max(event_ids(write) for write in reader.writes) == MAX_BATCH


async def test_reader_that_keeps_up_gets_every_token_as_said(tmp_path: Path, upstream: Upstream):
    async with running(tmp_path, upstream, buffering="words") as app:  # never cut: max_batch > 400
        reader, _ = await read_slowly(app, upstream, pauses=False)
    assert token_events(reader.writes) == TOKENS


def test_settings_read_the_policy_from_the_environment():
    env = {"SLUICE_COALESCE_TOKENS": "false", "SLUICE_MAX_BATCH": "64"}
    settings = Settings.from_env(env)
    assert (settings.coalesce_tokens, settings.max_batch) == (False, 64)
    assert Settings.from_env({}).coalesce_tokens is True

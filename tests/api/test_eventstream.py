"""An event stream's writes: headers with the first item, the first token with the start
event when it comes within ``hold_start_s``, the end of the body in the last write.

The app is called as ASGI with a recording ``send``: each message is one socket write in
uvicorn, so the messages are what the client's socket sees.
"""

from __future__ import annotations

import asyncio
from collections.abc import MutableMapping
from pathlib import Path
from typing import Any

import orjson
import pytest
from fastapi import FastAPI

from tests.api.test_slow_consumer import PREDICTION_SCOPE, delta, running
from tests.integrations.upstream import Step, Upstream

pytestmark = pytest.mark.anyio


class Recorder:
    """An ASGI client that records every message the response sends."""

    def __init__(self) -> None:
        self.messages: list[MutableMapping[str, Any]] = []
        self.started = asyncio.Event()
        self.first_body = asyncio.Event()
        self.first_token = asyncio.Event()
        self._has_sent_body = False
        self._gone = asyncio.Event()

    async def receive(self) -> dict[str, Any]:
        if not self._has_sent_body:
            self._has_sent_body = True
            body = orjson.dumps({"question": "q", "streaming": True})
            return {"type": "http.request", "body": body, "more_body": False}
        await self._gone.wait()
        return {"type": "http.disconnect"}

    async def send(self, message: MutableMapping[str, Any]) -> None:
        self.messages.append(message)
        if message["type"] == "http.response.start":
            self.started.set()
        if message["type"] == "http.response.body":
            self.first_body.set()
            if b'"event":"token"' in message["body"]:
                self.first_token.set()


async def post(app: FastAPI, recorder: Recorder) -> None:
    async with asyncio.timeout(5):
        await app(PREDICTION_SCOPE, recorder.receive, recorder.send)


async def test_a_quick_first_token_leaves_with_the_headers_and_the_end_with_the_last_events(
    tmp_path: Path, upstream: Upstream
):
    upstream.reply([delta("Hello"), delta(" there"), b"data: [DONE]\n\n"])
    async with running(tmp_path, upstream, hold_start_s=10) as app:
        recorder = Recorder()
        await post(app, recorder)
    kinds = [message["type"] for message in recorder.messages]
    assert kinds[0] == "http.response.start"
    assert set(kinds[1:]) == {"http.response.body"}
    first = recorder.messages[1]["body"]
    assert first.startswith(b": stream open\n\n")
    assert b'"event":"start"' in first
    assert b'"event":"token"' in first
    assert b"Hello" in first
    last = recorder.messages[-1]
    assert last["more_body"] is False
    assert b'"event":"end"' in last["body"]
    assert all(message.get("more_body", True) for message in recorder.messages[:-1])


async def test_a_slow_first_token_lets_the_start_go_first(tmp_path: Path, upstream: Upstream):
    recorder = Recorder()
    steps: list[Step] = [recorder.first_body, delta("Late"), b"data: [DONE]\n\n"]
    upstream.reply(steps)
    async with running(tmp_path, upstream, hold_start_s=0.01) as app:
        await post(app, recorder)
    assert recorder.messages[0]["type"] == "http.response.start"
    first = recorder.messages[1]["body"]
    assert b'"event":"start"' in first
    assert b'"event":"token"' not in first
    body = b"".join(message["body"] for message in recorder.messages[1:])
    assert b'"data":"Late"' in body


async def test_by_default_the_headers_and_start_leave_while_the_upstream_works(
    tmp_path: Path, upstream: Upstream
):
    recorder = Recorder()
    # The upstream answers only once the client has its first body write.
    upstream.reply([recorder.first_body, delta("Hi"), b"data: [DONE]\n\n"])
    async with running(tmp_path, upstream) as app:
        assert app.state.sluice.settings.hold_start_s == 0
        await post(app, recorder)
    assert recorder.messages[0]["type"] == "http.response.start"
    first = recorder.messages[1]["body"]
    assert first.startswith(b": stream open\n\n")
    assert b'"event":"start"' in first
    assert b'"event":"token"' not in first


async def test_resuming_an_ended_run_is_one_write_that_ends_the_body(
    tmp_path: Path, upstream: Upstream
):
    upstream.reply([delta("All"), delta(" done."), b"data: [DONE]\n\n"])
    async with running(tmp_path, upstream) as app:
        first = Recorder()
        await post(app, first)
        run_id = dict(first.messages[0]["headers"])[b"x-run-id"].decode()
        resume = Recorder()
        scope = {
            **PREDICTION_SCOPE,
            "method": "GET",
            "path": f"/api/v1/runs/{run_id}/events",
            "raw_path": f"/api/v1/runs/{run_id}/events".encode(),
            "headers": [(b"last-event-id", b"1")],
        }
        async with asyncio.timeout(5):
            await app(scope, resume.receive, resume.send)
    start, body = resume.messages
    assert (start["type"], start["status"]) == ("http.response.start", 200)
    assert body["more_body"] is False
    assert body["body"].startswith(b": stream open\n\n")
    # The text, as tokens or (once the run is compacted) as one: either is the answer.
    assert body["body"].count(b'"event":"token"') in (1, 2)
    assert b"All" in body["body"]
    assert b"done." in body["body"]
    assert b'"event":"end"' in body["body"]


async def test_resuming_a_quiet_run_answers_its_headers_at_once(tmp_path: Path, upstream: Upstream):
    first = Recorder()
    more = asyncio.Event()
    upstream.reply([delta("One"), more, delta(" two"), b"data: [DONE]\n\n"])
    async with running(tmp_path, upstream) as app, asyncio.timeout(5):
        posting = asyncio.create_task(post(app, first))
        await first.first_token.wait()  # "One" is out; the upstream is quiet now
        run_id = dict(first.messages[0]["headers"])[b"x-run-id"].decode()
        resume = Recorder()
        path = f"/api/v1/runs/{run_id}/events"
        scope = {**PREDICTION_SCOPE, "method": "GET", "path": path, "raw_path": path.encode()}
        scope["headers"] = [(b"last-event-id", b"2")]
        resuming = asyncio.create_task(app(scope, resume.receive, resume.send))
        await asyncio.wait_for(resume.started.wait(), 1)  # not after keepalive_s (15 s)
        more.set()
        await posting
        await resuming
    body = b"".join(message.get("body", b"") for message in resume.messages)
    assert b'"data":" two"' in body

"""socket.io notifications and the Python SDK against the real server."""

from __future__ import annotations

import asyncio
from typing import Any

import orjson
import pytest
import socketio

from sluice.client import AsyncSluiceClient, Token
from tests.api.conftest import Server

pytestmark = pytest.mark.anyio


def delta(text: str) -> bytes:
    return b'data: {"choices":[{"delta":{"content":' + orjson.dumps(text) + b"}}]}\n\n"


async def test_socketio_client_hears_each_completed_message(server: Server):
    server.upstream.reply([delta("Hello "), delta("you."), b"data: [DONE]\n\n"])
    heard: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    sio = socketio.AsyncClient()
    sio.on("message", heard.put)
    await sio.connect(server.url, transports=["websocket"])
    try:
        await sio.emit("join", {"chatId": "room-1"})
        async with server.client() as client:
            response = await client.post(
                "/api/v1/prediction/relay", json={"question": "hi", "chatId": "room-1"}
            )
        assert response.json()["text"] == "Hello you."
        async with asyncio.timeout(5):
            user, bot = await heard.get(), await heard.get()
    finally:
        await sio.disconnect()
    assert (user["role"], user["content"], user["chatId"]) == ("user", "hi", "room-1")
    assert (bot["role"], bot["content"], bot["status"]) == ("assistant", "Hello you.", "complete")


async def test_sdk_streams_resumes_and_reads_history(server: Server):
    hold = asyncio.Event()
    server.upstream.reply([delta("one "), delta("two "), hold, delta("three"), b"data: [DONE]\n\n"])
    async with AsyncSluiceClient(server.url) as client:
        stream = await client.predict("relay", "count", chat_id="sdk")
        said: list[str] = []
        async for event in stream:
            if isinstance(event, Token):
                said.append(event.text)
                if "".join(said) == "one two ":  # one token or two: one upstream read or two
                    break
        run_id, last = stream.run_id, stream.last_event_id
        await stream.aclose()
        hold.set()
        assert run_id is not None
        resumed = await client.resume(run_id, last)
        said += [event.text async for event in resumed if isinstance(event, Token)]
        assert "".join(said) == "one two three"
        history = await client.messages("relay", "sdk")
    assert [m.content for m in history] == ["count", "one two three"]

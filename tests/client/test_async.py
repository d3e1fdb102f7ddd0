"""The asyncio client against the stub server: the same behaviours, awaited."""

from __future__ import annotations

import asyncio

import pytest

from sluice.client import (
    AsyncEventStream,
    AsyncSluiceClient,
    ChatReply,
    End,
    NotFoundError,
    Prediction,
    PredictionEvent,
    Start,
    StreamError,
    StreamInterruptedError,
    Token,
    ValidationError,
)
from tests.client.server import TOKENS, StubServer

ANSWER = "".join(TOKENS)


def text_of(events: list[PredictionEvent]) -> str:
    return "".join(event.text for event in events if isinstance(event, Token))


async def collect(stream: AsyncEventStream[PredictionEvent], into: list[PredictionEvent]) -> None:
    async for event in stream:
        into.append(event)


@pytest.mark.anyio
async def test_predict_streams_events(aclient: AsyncSluiceClient):
    async with asyncio.timeout(5):
        async with await aclient.predict("f1", "hello") as stream:
            events = [event async for event in stream]
    assert text_of(events) == ANSWER
    assert isinstance(events[0], Start)
    assert isinstance(events[-1], End)
    assert stream.run_id == events[0].run_id


@pytest.mark.anyio
async def test_predict_without_streaming(aclient: AsyncSluiceClient):
    async with asyncio.timeout(5):
        reply = await aclient.predict("f1", "hello", stream=False)
    assert isinstance(reply, Prediction)
    assert reply.text == ANSWER


@pytest.mark.anyio
async def test_dropped_stream_raises_then_resumes(aclient: AsyncSluiceClient):
    received: list[PredictionEvent] = []
    async with asyncio.timeout(5):
        stream = await aclient.predict("f1", "cut")
        with pytest.raises(StreamInterruptedError) as caught:
            await collect(stream, received)
        assert caught.value.run_id is not None
        resumed = await aclient.resume(caught.value.run_id, caught.value.last_event_id)
        rest = [event async for event in resumed]
    assert text_of(received + rest) == ANSWER


@pytest.mark.anyio
async def test_auto_resume_is_transparent(aclient: AsyncSluiceClient, server: StubServer):
    async with asyncio.timeout(5):
        stream = await aclient.predict("f1", "cut", auto_resume=True)
        events = [event async for event in stream]
    assert [e.event_id for e in events] == [str(n) for n in range(1, 10)]
    assert server.requests[-1][2]["Last-Event-ID"] == "3"


@pytest.mark.anyio
async def test_abort_ends_the_stream(aclient: AsyncSluiceClient):
    async with asyncio.timeout(5), await aclient.predict("f1", "slow") as stream:
        assert isinstance(await anext(stream), Start)
        assert isinstance(await anext(stream), Token)
        assert stream.run_id is not None
        assert await aclient.abort(stream.run_id)
        rest = [event async for event in stream]
    assert [type(e) for e in rest] == [StreamError, End]


@pytest.mark.anyio
async def test_closing_early_releases_the_stream(aclient: AsyncSluiceClient):
    async with asyncio.timeout(5):
        stream = await aclient.predict("f1", "slow")
        assert isinstance(await anext(stream), Start)
        await stream.aclose()
        assert [event async for event in stream] == []


@pytest.mark.anyio
async def test_api_errors_raise_typed_exceptions(aclient: AsyncSluiceClient):
    async with asyncio.timeout(5):
        with pytest.raises(NotFoundError):
            await aclient.predict("nope", "hello")
        with pytest.raises(ValidationError):
            await aclient.predict("f1", "")


@pytest.mark.anyio
async def test_chat_and_flows(aclient: AsyncSluiceClient):
    async with asyncio.timeout(5):
        reply = await aclient.chat("hello", stream=False)
        flows = await aclient.list_flows()
        created = await aclient.create_flow({"id": "x", "nodes": []})
        await aclient.delete_flow(created.id)
        messages = await aclient.messages("f1")
    assert isinstance(reply, ChatReply)
    assert [flow.id for flow in flows] == ["f1"]
    assert messages == []

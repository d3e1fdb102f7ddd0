"""``UpstreamCall`` against a real local upstream: holding the reads for the first text."""

from __future__ import annotations

import asyncio

import pytest

from sluice.integrations.model import Timeouts
from sluice.integrations.templating import RenderedRequest
from sluice.integrations.upstream import UpstreamCall
from tests.integrations.upstream import Upstream

pytestmark = pytest.mark.anyio

FIRST = b'data: {"choices":[{"delta":{"content":"Hello"}}]}\n\n'
REST = b'data: {"choices":[{"delta":{"content":" world"}}]}\n\ndata: [DONE]\n\n'


def call_to(url: str, session) -> UpstreamCall:
    request = RenderedRequest("POST", url, {}, [], {"stream": True}, frozenset())
    return UpstreamCall(request, Timeouts(first_chunk_s=5, gap_s=5), session, source="test")


async def test_holding_reads_leaves_the_next_bytes_in_the_socket_for_one_loop_turn(
    upstream: Upstream, session
):
    go = asyncio.Event()
    upstream.reply([FIRST, go, REST])
    call = call_to(upstream.url, session)
    async with asyncio.timeout(5), call.response() as response:
        reads = call.body(response)
        first = await anext(reads)
        transport = response.transport
        assert transport is not None
        assert transport.is_reading()

        call.hold_reading()
        assert not transport.is_reading()
        await asyncio.sleep(0)  # the loop's next turn: the first text's followers ran
        assert transport.is_reading()

        go.set()
        rest = b"".join([data async for data in reads])
    assert first + rest == FIRST + REST


async def test_holding_reads_of_a_body_already_read_does_nothing(upstream: Upstream, session):
    upstream.reply([FIRST + REST])
    call = call_to(upstream.url, session)
    async with asyncio.timeout(5), call.response() as response:
        body = b"".join([data async for data in call.body(response)])
        call.hold_reading()  # the connection went back to the pool with the body's end
    call.hold_reading()  # and after the call
    assert body == FIRST + REST

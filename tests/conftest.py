"""Suite-wide fixtures: anyio on asyncio, a real local upstream and the client session."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from sluice.integrations.session import UpstreamSession, upstream_session
from tests.integrations.upstream import Upstream
from tests.providers.fake_llm import FakeLLM


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
async def upstream() -> AsyncIterator[Upstream]:
    server = Upstream()
    await server.start()
    try:
        yield server
    finally:
        await server.stop()


@pytest.fixture
async def session() -> AsyncIterator[UpstreamSession]:
    async with upstream_session() as client:
        yield client


@pytest.fixture
async def llm() -> AsyncIterator[FakeLLM]:
    server = FakeLLM()
    await server.start()
    try:
        yield server
    finally:
        await server.stop()

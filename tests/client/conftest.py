"""Fixtures for the SDK's tests: the stub server, and sync and async clients bound to it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest

from sluice.client import AsyncSluiceClient, SluiceClient
from tests.client.server import StubServer


@pytest.fixture
def server() -> Iterator[StubServer]:
    stub = StubServer()
    stub.start()
    try:
        yield stub
    finally:
        stub.stop()


@pytest.fixture
def client(server: StubServer) -> Iterator[SluiceClient]:
    with SluiceClient(server.url, timeout=5.0) as sluice:
        yield sluice


@pytest.fixture
async def aclient(server: StubServer) -> AsyncIterator[AsyncSluiceClient]:
    async with AsyncSluiceClient(server.url, timeout=5.0) as sluice:
        yield sluice

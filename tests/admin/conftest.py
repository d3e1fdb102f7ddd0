"""Admin tests run against the API tests' real server; ``admin_key`` is a fresh API key."""

from __future__ import annotations

import pytest

from tests.api.conftest import Server, server  # noqa: F401  # the fixture
from tests.store.conftest import database_url  # noqa: F401  # the fixture, on both backends


@pytest.fixture
async def admin_key(server: Server) -> str:  # noqa: F811  # the imported fixture
    return await server.state.db.keys.create_key("admin tests")

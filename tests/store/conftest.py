"""Store fixtures: every repository test runs on a SQLite file and on a real PostgreSQL.

PostgreSQL is the one on 127.0.0.1:5432 (trust auth, user ``postgres`` or ``root``,
database ``test``); each test gets a database of its own, created and dropped around it,
so parallel runs never collide. The PostgreSQL cases are skipped only when nothing
answers on that port.
"""

from __future__ import annotations

import socket
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg
import pytest

from sluice.store import Database

PG_HOST = "127.0.0.1"
PG_PORT = 5432
PG_USERS = ("postgres", "root")


def _pg_answers() -> bool:
    try:
        with socket.create_connection((PG_HOST, PG_PORT), timeout=1):
            return True
    except OSError:
        return False


async def _admin_connection() -> asyncpg.Connection:
    last: Exception | None = None
    for user in PG_USERS:
        try:
            return await asyncpg.connect(
                host=PG_HOST, port=PG_PORT, user=user, database="test", timeout=5
            )
        except (asyncpg.PostgresError, OSError) as exc:
            last = exc
    raise RuntimeError(f"PostgreSQL answers on {PG_HOST}:{PG_PORT} but refuses us: {last}")


@asynccontextmanager
async def _pg_database() -> AsyncIterator[str]:
    """A new, empty PostgreSQL database's URL; the database is dropped afterwards."""
    if not _pg_answers():
        pytest.skip(f"no PostgreSQL answers on {PG_HOST}:{PG_PORT}")
    name = f"sluice_test_{uuid.uuid4().hex}"
    admin = await _admin_connection()
    try:
        user = await admin.fetchval("SELECT current_user")
        await admin.execute(f'CREATE DATABASE "{name}"')
        try:
            yield f"postgresql://{user}@{PG_HOST}:{PG_PORT}/{name}"
        finally:
            await admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
    finally:
        await admin.close()


@pytest.fixture(params=["sqlite", "postgresql"])
async def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """An empty database's URL, on each backend."""
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'sluice.db'}"
        return
    async with _pg_database() as url:
        yield url


@pytest.fixture
async def pg_url() -> AsyncIterator[str]:
    """An empty PostgreSQL database's URL, for what only PostgreSQL does."""
    async with _pg_database() as url:
        yield url


class TickingClock:
    """A fake clock one millisecond later on every reading, so stored times never tie."""

    def __init__(self, start: datetime = datetime(2025, 1, 2, 3, 4, 5, tzinfo=UTC)):
        self.now = start

    def __call__(self) -> datetime:
        self.now += timedelta(milliseconds=1)
        return self.now


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[Database]:
    """A migrated database on a ticking clock, closed after the test."""
    async with Database.open(database_url, clock=TickingClock()) as database:
        await database.migrate()
        yield database

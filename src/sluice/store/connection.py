"""Transactions on the engine, with SQLAlchemy and driver errors translated once, here.

``begin()`` is an async transaction (aiosqlite or asyncpg). ``write(work)`` runs a whole
transaction of synchronous SQLAlchemy: the writes every turn makes (open, checkpoint,
finish). On a SQLite file it runs in the store's writer thread (``writer.py``) with the
standard ``sqlite3`` driver: one hop off the event loop, where aiosqlite takes one per
statement plus BEGIN, COMMIT and the pool's reset, each with SQLAlchemy's async machinery
on the loop (a fifth of the loop's time per turn in the relay benchmark), and writes
waiting together share a commit. On PostgreSQL (and in-memory SQLite) it runs through
the async engine.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager, nullcontext
from datetime import UTC, datetime
from typing import TypeVar

from sqlalchemy import Connection, Engine
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from sluice.store.errors import database_error
from sluice.store.models import Base
from sluice.store.writer import SQLiteWriter

T = TypeVar("T")

Clock = Callable[[], datetime]
"""Returns the current time, timezone-aware UTC; tests pass a fake one."""


def utc_now() -> datetime:
    return datetime.now(UTC)


def as_utc(value: datetime) -> datetime:
    """Put back the zone SQLite drops: every stored time is UTC."""
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


class Connector:
    """What repositories share: the engine, the clock, and translated transactions.

    ``writer`` is the synchronous engine ``write`` uses on a SQLite file (None otherwise).
    """

    def __init__(self, engine: AsyncEngine, clock: Clock, *, writer: Engine | None = None):
        self.engine = engine
        self.now = clock
        # SQLite takes one writer at a time: many concurrent turns otherwise exhaust the
        # connection pool and hit "database is locked" (the relay bench lost ~1,100 of
        # 3,000 messages at 1,000 concurrent streams). Queued here, nobody times out.
        self._serial = asyncio.Lock() if engine.dialect.name == "sqlite" else None
        self._writer = SQLiteWriter(writer) if writer is not None else None

    async def write(self, work: Callable[[Connection], T]) -> T:
        """Run ``work`` on one connection as one transaction, committed when it returns.

        Failures raise ``StoreError`` as in ``begin``. On a SQLite file, calls run one at a
        time in the order they were made (another writer's lock is waited for, up to the
        store's timeout, in the writer thread).
        """
        if self._writer is None:
            async with self.begin() as connection:
                return await connection.run_sync(work)
        result: T = await self._writer.write(work)
        return result

    async def close(self) -> None:
        """Finish the writes queued, then close the writer's connection and thread."""
        if self._writer is not None:
            await self._writer.close()

    @asynccontextmanager
    async def begin(self) -> AsyncIterator[AsyncConnection]:
        """One transaction, committed when the block ends; failures raise ``StoreError``.

        Driver errors (SQLAlchemy's wrappers, and the ``OSError``/``TimeoutError`` a driver
        raises while connecting) become ``StoreError`` carrying the database's own one-line
        reason; the statement's parameters never appear in it.
        """
        try:
            async with self._serial or nullcontext(), self.engine.begin() as connection:
                yield connection
        except (SQLAlchemyError, OSError) as exc:
            raise database_error(exc) from exc

    def insert(self, table: type[Base]) -> sqlite.Insert | postgresql.Insert:
        """An INSERT that can take ``on_conflict_do_nothing``/``do_update`` on either backend."""
        if self.engine.dialect.name == "postgresql":
            return postgresql.insert(table)
        return sqlite.insert(table)

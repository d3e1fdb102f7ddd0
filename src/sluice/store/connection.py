"""Transactions on the store, with SQLAlchemy and driver errors translated once, here.

Every repository call is ``run(work)``: a function of a synchronous SQLAlchemy
``Connection``, run as one transaction. On a SQLite file it runs in the store's thread
(``writer.py``) with the standard ``sqlite3`` driver: one hop off the event loop, where
aiosqlite takes one per statement plus BEGIN, COMMIT and the pool's reset (a fifth of the
loop's time per turn in the relay benchmark), and works waiting together share a commit.
A server on a SQLite file so never loads SQLAlchemy's asyncio extension, its ORM (which
that extension imports) or aiosqlite: about 7 MB of a server's ~90 MB at rest. On
PostgreSQL (and in-memory SQLite) the work runs through the async engine (``run_sync``).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager, nullcontext
from datetime import UTC, datetime
from typing import TYPE_CHECKING, TypeVar

from sqlalchemy import Connection, Engine, Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import SQLAlchemyError

from sluice.store.errors import database_error
from sluice.store.writer import SQLiteWriter

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

T = TypeVar("T")

Clock = Callable[[], datetime]
"""Returns the current time, timezone-aware UTC; tests pass a fake one."""


def utc_now() -> datetime:
    return datetime.now(UTC)


def as_utc(value: datetime) -> datetime:
    """Put back the zone SQLite drops: every stored time is UTC."""
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


class Connector:
    """What repositories share: the store's engine, the clock, and translated transactions.

    ``engine`` is the async engine (PostgreSQL, in-memory SQLite); ``writer`` the
    synchronous engine of a SQLite file, whose works run in one thread. One of the two.
    ``reader``, with ``writer``, is a second engine on the same file whose thread runs
    ``read`` works: WAL lets them read beside the writer instead of queueing behind the
    turn writes of a burst (a key check, a chat's history).
    """

    def __init__(
        self,
        engine: AsyncEngine | None,
        clock: Clock,
        *,
        writer: Engine | None = None,
        reader: Engine | None = None,
    ):
        if engine is not None and writer is None:
            self.dialect = engine.dialect.name
        elif writer is not None and engine is None:
            self.dialect = writer.dialect.name
        else:
            raise ValueError("expected an async engine or a SQLite file's engine, one of them")
        self.engine = engine
        self.now = clock
        # SQLite takes one writer at a time: many concurrent turns otherwise exhaust the
        # connection pool and hit "database is locked" (the relay bench lost ~1,100 of
        # 3,000 messages at 1,000 concurrent streams). Queued here, nobody times out.
        self._serial = asyncio.Lock() if self.dialect == "sqlite" else None
        self._writer = SQLiteWriter(writer) if writer is not None else None
        self._reader = SQLiteWriter(reader) if reader is not None else self._writer

    async def run(self, work: Callable[[Connection], T]) -> T:
        """Run ``work`` on one connection as one transaction, committed when it returns.

        Driver errors (SQLAlchemy's wrappers, and the ``OSError``/``TimeoutError`` a driver
        raises while connecting) raise ``StoreError`` carrying the database's own one-line
        reason; the statement's parameters never appear in it. On a SQLite file, works run
        one at a time in the order they were made (another process's lock is waited for, up
        to the store's timeout, in the store's thread).
        """
        if self._writer is None:
            async with self._begin() as connection:
                return await connection.run_sync(work)
        result: T = await self._writer.write(work)
        return result

    write = run
    """``run``, named for the turn writes that read better so."""

    async def read(self, work: Callable[[Connection], T]) -> T:
        """``run`` for a ``work`` that only reads: on a SQLite file in the reader's thread."""
        if self._reader is None:
            return await self.run(work)
        result: T = await self._reader.write(work)
        return result

    async def close(self) -> None:
        """Finish the works queued, then close the SQLite file's connection and thread."""
        if self._reader is not None and self._reader is not self._writer:
            await self._reader.close()
        if self._writer is not None:
            await self._writer.close()

    @asynccontextmanager
    async def _begin(self) -> AsyncIterator[AsyncConnection]:
        assert self.engine is not None
        try:
            async with self._serial or nullcontext(), self.engine.begin() as connection:
                yield connection
        except (SQLAlchemyError, OSError) as exc:
            raise database_error(exc) from exc

    def insert(self, table: Table) -> sqlite.Insert | postgresql.Insert:
        """An INSERT that can take ``on_conflict_do_nothing``/``do_update`` on either backend."""
        if self.dialect == "postgresql":
            return postgresql.insert(table)
        return sqlite.insert(table)

"""Transactions on the engine, with SQLAlchemy and driver errors translated once, here."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager, nullcontext
from datetime import UTC, datetime

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from sluice.store.errors import StoreError
from sluice.store.models import Base

Clock = Callable[[], datetime]
"""Returns the current time, timezone-aware UTC; tests pass a fake one."""


def utc_now() -> datetime:
    return datetime.now(UTC)


def as_utc(value: datetime) -> datetime:
    """Put back the zone SQLite drops: every stored time is UTC."""
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


class Connector:
    """What repositories share: the engine, the clock, and translated transactions."""

    def __init__(self, engine: AsyncEngine, clock: Clock):
        self.engine = engine
        self.now = clock
        # SQLite takes one writer at a time: many concurrent turns otherwise exhaust the
        # connection pool and hit "database is locked" (the relay bench lost ~1,100 of
        # 3,000 messages at 1,000 concurrent streams). Queued here, nobody times out.
        self._serial = asyncio.Lock() if engine.dialect.name == "sqlite" else None

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
            raise StoreError(f"database error: {_reason(exc)}") from exc

    def insert(self, table: type[Base]) -> sqlite.Insert | postgresql.Insert:
        """An INSERT that can take ``on_conflict_do_nothing``/``do_update`` on either backend."""
        if self.engine.dialect.name == "postgresql":
            return postgresql.insert(table)
        return sqlite.insert(table)


def _reason(exc: BaseException) -> str:
    cause = getattr(exc, "orig", None) or exc
    lines = str(cause).strip().splitlines()
    text = lines[0] if lines else ""
    return (text or type(cause).__name__)[:200]

"""The database: its engine (a SQLite file's thread, or an async engine), its migrations, and
the repositories that use it."""

from __future__ import annotations

import logging
from collections.abc import Callable
from types import TracebackType
from typing import TYPE_CHECKING, Any, Self, TypeVar

import orjson
from sqlalchemy import Connection, Engine, create_engine, text
from sqlalchemy.engine import URL
from sqlalchemy.event import listen

from sluice.store import migrate
from sluice.store.chats import ChatRepository
from sluice.store.connection import Clock, Connector, utc_now
from sluice.store.definitions import DefinitionRepository
from sluice.store.keys import KeyRepository
from sluice.store.messages import MessageRepository
from sluice.store.url import DEFAULT_URL, database_url, display_url

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncEngine

logger = logging.getLogger(__name__)

T = TypeVar("T")

_MIGRATION_LOCK = 0x511CE
"""The PostgreSQL advisory lock id replicas take so that one of them migrates at a time."""


class Database:
    """An open database and its repositories: ``chats``, ``messages``, ``definitions``, ``keys``.

    Every repository call is one short transaction, off the event loop: on a SQLite file in
    the store's own thread (``writer.py``), elsewhere through the async driver (asyncpg;
    aiosqlite for an in-memory SQLite). Open with ``Database.open(url)``, run
    ``await db.migrate()`` at start, ``await db.close()`` at the end (or use ``async with``).

    ``engine`` is the async engine, None on a SQLite file (whose synchronous engine is
    ``writer``).
    """

    def __init__(
        self,
        engine: AsyncEngine | None,
        *,
        clock: Clock = utc_now,
        writer: Engine | None = None,
        timeout_s: float = 10.0,
    ):
        self.engine = engine
        self.writer = writer
        reader = None if writer is None else _create_sqlite_engine(writer.url, timeout_s)
        connector = Connector(engine, clock, writer=writer, reader=reader)
        self.chats = ChatRepository(connector)
        self.messages = MessageRepository(connector)
        self.definitions = DefinitionRepository(connector)
        self.keys = KeyRepository(connector)
        self._connector = connector

    @classmethod
    def open(
        cls, url: str | URL = DEFAULT_URL, *, clock: Clock = utc_now, timeout_s: float = 10.0
    ) -> Self:
        """Make the engine (no connection yet). ``postgresql://`` URLs get asyncpg.

        ``timeout_s`` bounds waiting for a pooled connection, connecting, a PostgreSQL
        statement, and a SQLite lock held by another writer. Raises ``ConfigError`` for a
        URL that is not SQLite or PostgreSQL.
        """
        url = database_url(url)
        writer = _create_writer(url, timeout_s)
        engine = None if writer is not None else _create_engine(url, timeout_s)
        return cls(engine, clock=clock, writer=writer, timeout_s=timeout_s)

    @property
    def url(self) -> str:
        """The URL with its password hidden."""
        engine = self.engine or self.writer
        assert engine is not None
        return display_url(engine.url)

    async def run(self, work: Callable[[Connection], T]) -> T:
        """Run ``work`` (a function of a synchronous SQLAlchemy ``Connection``) as one
        transaction, as the repositories do; failures raise ``StoreError``."""
        return await self._connector.run(work)

    async def migrate(self) -> str:
        """Apply every migration not yet applied; returns the revision the database is at.

        Safe to run on every start and from several replicas at once: on PostgreSQL a
        transaction-scoped advisory lock lets one migrate while the others wait. A database
        already at ``migrate.HEAD_REVISION`` is left as it is without loading Alembic.
        """

        def work(connection: Connection) -> str | None:
            if connection.dialect.name == "postgresql":
                connection.execute(
                    text("SELECT pg_advisory_xact_lock(:key)"), {"key": _MIGRATION_LOCK}
                )
            revision = migrate.stamped_revision(connection)
            if revision != migrate.HEAD_REVISION:
                migrate.upgrade(connection)
                revision = migrate.current_revision(connection)
            return revision

        revision = await self._connector.run(work)
        logger.info("database %s at revision %s", self.url, revision)
        return revision or ""

    async def current_revision(self) -> str | None:
        """The revision the database is at, ``None`` when it has never been migrated."""
        return await self._connector.run(migrate.current_revision)

    async def close(self) -> None:
        """Close every pooled connection."""
        await self._connector.close()
        if self.engine is not None:
            await self.engine.dispose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.close()


def _create_engine(url: URL, timeout_s: float) -> AsyncEngine:
    # Imported here: a server on a SQLite file never needs it (nor the ORM it imports).
    from sqlalchemy.ext.asyncio import create_async_engine

    options: dict[str, Any] = {
        "hide_parameters": True,  # message text and key hashes never reach errors or logs
        "json_serializer": _dump_json,
        "json_deserializer": orjson.loads,
        "pool_timeout": timeout_s,
    }
    if url.get_backend_name() == "postgresql":
        options["pool_pre_ping"] = True
        options["connect_args"] = {"timeout": timeout_s, "command_timeout": timeout_s}
        return create_async_engine(url, **options)
    # sqlite3's ``timeout`` is how long a writer waits for another writer's lock.
    options["connect_args"] = {"timeout": timeout_s}
    engine = create_async_engine(url, **options)
    listen(engine.sync_engine, "connect", _configure_sqlite)
    return engine


def _create_writer(url: URL, timeout_s: float) -> Engine | None:
    """The synchronous engine of a SQLite file's writer thread (None for other stores:
    an in-memory database would be another database on another connection)."""
    if url.get_backend_name() != "sqlite" or url.database in (None, "", ":memory:"):
        return None
    return _create_sqlite_engine(url.set(drivername="sqlite+pysqlite"), timeout_s)


def _create_sqlite_engine(url: URL, timeout_s: float) -> Engine:
    """One connection on a SQLite file, used by one thread (closing it may happen elsewhere)."""
    engine = create_engine(
        url,
        hide_parameters=True,
        json_serializer=_dump_json,
        json_deserializer=orjson.loads,
        pool_size=1,
        max_overflow=0,
        connect_args={"timeout": timeout_s, "check_same_thread": False},
    )
    listen(engine, "connect", _configure_sqlite)
    return engine


def _dump_json(value: object) -> str:
    return orjson.dumps(value).decode()


def _configure_sqlite(dbapi_connection: Any, _record: object) -> None:
    """Per connection: enforce foreign keys; WAL so readers never wait for the writer."""
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()

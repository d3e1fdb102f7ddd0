"""Migrations apply from empty, are idempotent, match the models, and can be undone."""

from __future__ import annotations

import asyncio

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Connection, inspect

from sluice.store import Database, MessageRole, MessageStatus
from sluice.store.migrate import alembic_config, head_revision
from sluice.store.models import Base

TABLES = {"alembic_version", "api_keys", "chats", "definitions", "messages"}


def _tables(connection: Connection) -> set[str]:
    return set(inspect(connection).get_table_names())


def _differences(connection: Connection) -> list[object]:
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    return list(compare_metadata(context, Base.metadata))


@pytest.mark.anyio
async def test_migrate_builds_the_schema_on_an_empty_database(database_url: str):
    async with Database.open(database_url) as db:
        assert await db.current_revision() is None
        assert await db.migrate() == head_revision()
        assert await db.current_revision() == head_revision()
        async with db.engine.connect() as connection:
            assert await connection.run_sync(_tables) == TABLES


@pytest.mark.anyio
async def test_migrate_again_changes_nothing_and_keeps_data(database_url: str):
    async with Database.open(database_url) as db:
        await db.migrate()
        await db.chats.ensure_chat("chat-1")
        await db.messages.add_message("chat-1", MessageRole.USER, "hi", MessageStatus.COMPLETE)
        assert await db.migrate() == head_revision()
        assert [m.content for m in await db.messages.list_messages("chat-1")] == ["hi"]


@pytest.mark.anyio
async def test_models_and_migrations_agree(db: Database):
    async with db.engine.connect() as connection:
        assert await connection.run_sync(_differences) == []


@pytest.mark.anyio
async def test_downgrade_to_empty_then_upgrade_again(db: Database):
    async with db.engine.begin() as connection:
        await connection.run_sync(lambda sync: command.downgrade(alembic_config(sync), "base"))
        assert await connection.run_sync(_tables) == {"alembic_version"}
    assert await db.migrate() == head_revision()


@pytest.mark.anyio
async def test_replicas_starting_together_on_postgresql_migrate_once(pg_url: str):
    replicas = [Database.open(pg_url) for _ in range(4)]
    try:
        async with asyncio.timeout(30):
            revisions = await asyncio.gather(*(replica.migrate() for replica in replicas))
    finally:
        for replica in replicas:
            await replica.close()
    assert revisions == [head_revision()] * 4

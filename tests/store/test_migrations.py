"""Migrations apply from empty, are idempotent, match the models, and can be undone."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Connection, inspect

from sluice.store import Database, MessageRole, MessageStatus
from sluice.store.migrate import HEAD_REVISION, alembic_config, head_revision
from sluice.store.models import metadata

TABLES = {"alembic_version", "api_keys", "chats", "definitions", "messages"}


def _tables(connection: Connection) -> set[str]:
    return set(inspect(connection).get_table_names())


def _differences(connection: Connection) -> list[object]:
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    return list(compare_metadata(context, metadata))


@pytest.mark.anyio
async def test_migrate_builds_the_schema_on_an_empty_database(database_url: str):
    async with Database.open(database_url) as db:
        assert await db.current_revision() is None
        assert await db.migrate() == head_revision()
        assert await db.current_revision() == head_revision()
        assert await db.run(_tables) == TABLES


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
    assert await db.run(_differences) == []


@pytest.mark.anyio
async def test_downgrade_to_empty_then_upgrade_again(db: Database):

    def downgrade(connection: Connection) -> set[str]:
        command.downgrade(alembic_config(connection), "base")
        return _tables(connection)

    assert await db.run(downgrade) == {"alembic_version"}
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


def test_head_revision_names_the_newest_script():
    assert HEAD_REVISION == head_revision()


def test_a_start_on_an_up_to_date_database_does_not_load_alembic(tmp_path: Path):
    url = f"sqlite+aiosqlite:///{tmp_path / 'ready.db'}"

    async def migrate() -> None:
        async with Database.open(url) as db:
            await db.migrate()

    asyncio.run(migrate())
    script = (
        "import asyncio, sys\n"
        "from sluice.store import Database\n"
        "async def main():\n"
        f"    async with Database.open({url!r}) as db:\n"
        "        print(await db.migrate(), 'alembic' in sys.modules)\n"
        "asyncio.run(main())\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=True
    )
    assert done.stdout.split() == [HEAD_REVISION, "False"]

"""A server on a SQLite file runs on the standard ``sqlite3`` driver in the store's thread:
SQLAlchemy's asyncio extension, its ORM (which that extension imports) and aiosqlite are
never loaded (~7 MB of a server's memory at rest)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

SCRIPT = """
import asyncio, sys
from sluice.store import Database, MessageRole, MessageStatus

async def main():
    async with Database.open("sqlite+aiosqlite:///{db}") as db:
        await db.migrate()
        await db.chats.ensure_chat("c")
        await db.messages.add_message("c", MessageRole.USER, "hi", MessageStatus.COMPLETE)
        assert [m.content for m in await db.messages.list_messages("c")] == ["hi"]

asyncio.run(main())
print(*(name in sys.modules for name in ("sqlalchemy.ext.asyncio", "sqlalchemy.orm", "aiosqlite")))
"""


def test_a_sqlite_file_store_never_loads_the_async_engine_or_the_orm(tmp_path: Path):
    script = SCRIPT.format(db=tmp_path / "sluice.db")
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=True
    )
    assert result.stdout.split() == ["False", "False", "False"]

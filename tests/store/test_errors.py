"""Database failures reach callers as ``StoreError``, never as SQLAlchemy exceptions."""

from __future__ import annotations

import asyncio
import socket
import threading
from pathlib import Path

import pytest

from sluice.store import Database, MessageRole, MessageStatus, StoreError


def _unused_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.mark.anyio
async def test_an_unreachable_postgresql_is_a_store_error_without_the_password():
    url = f"postgresql://sluice:hunter2@127.0.0.1:{_unused_port()}/sluice"
    async with Database.open(url, timeout_s=2) as db:
        with pytest.raises(StoreError, match="database error") as caught:
            await db.migrate()
    assert "hunter2" not in str(caught.value)
    assert "hunter2" not in db.url


async def _join_sqlite_threads() -> None:
    """aiosqlite stops its worker thread after a failed connect without awaiting it; the
    thread then reports to the event loop, so wait for it while the loop is still open."""
    for thread in threading.enumerate():
        if thread.name.endswith("(_connection_worker_thread)"):
            await asyncio.to_thread(thread.join, 5)


@pytest.mark.anyio
async def test_a_sqlite_file_that_cannot_be_created_is_a_store_error(tmp_path: Path):
    async with Database.open(f"sqlite:///{tmp_path / 'missing' / 'sluice.db'}") as db:
        with pytest.raises(StoreError, match="unable to open database file"):
            await db.migrate()
    await _join_sqlite_threads()


@pytest.mark.anyio
async def test_a_failed_statement_does_not_show_its_parameters(db: Database):
    await db.chats.ensure_chat("chat-1")
    message_id = await db.messages.add_message(
        "chat-1", MessageRole.USER, "private words", MessageStatus.COMPLETE
    )
    with pytest.raises(StoreError) as caught:
        # ``usage`` must be JSON: a set cannot be stored, and the failure names no values.
        await db.messages.finish_message(
            message_id,
            content="private words",
            status=MessageStatus.COMPLETE,
            usage={"tokens": {1, 2}},
        )
    assert "private words" not in str(caught.value)

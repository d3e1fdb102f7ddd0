"""The SQLite writer thread: writes waiting together share a commit, a failure stays its own;
reads run beside it on a thread of their own."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path

import pytest
from sqlalchemy import Connection, create_engine, event, text

from sluice.store import Database, StoreError
from sluice.store.writer import SQLiteWriter

pytestmark = pytest.mark.anyio


@pytest.fixture
def writer(tmp_path: Path) -> SQLiteWriter:
    engine = create_engine(f"sqlite:///{tmp_path / 'w.db'}")
    with engine.begin() as connection:
        connection.execute(text("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT NOT NULL)"))
    return SQLiteWriter(engine)


def insert(row_id: int, value: str | None = "x"):
    def work(connection: Connection) -> int:
        connection.execute(text("INSERT INTO t (id, v) VALUES (:i, :v)"), {"i": row_id, "v": value})
        return row_id

    return work


def count(connection: Connection) -> int:
    return int(connection.execute(text("SELECT count(*) FROM t")).scalar_one())


async def test_writes_waiting_together_share_commits_and_all_land(writer: SQLiteWriter):
    commits: list[int] = []
    event.listen(writer.engine, "commit", lambda _: commits.append(1))
    async with asyncio.timeout(10):
        results = await asyncio.gather(*(writer.write(insert(i)) for i in range(200)))
        assert results == list(range(200))
        assert await writer.write(count) == 200
        await writer.close()
    assert 2 <= len(commits) < 200


async def test_a_failing_write_fails_alone(writer: SQLiteWriter):
    async with asyncio.timeout(10):
        outcomes = await asyncio.gather(
            writer.write(insert(1)),
            writer.write(insert(2, None)),  # NOT NULL: this one fails
            writer.write(insert(3)),
            return_exceptions=True,
        )
        assert outcomes[0] == 1
        assert outcomes[2] == 3
        assert isinstance(outcomes[1], StoreError)
        assert "NOT NULL" in str(outcomes[1])
        assert await writer.write(count) == 2
        await writer.close()


async def test_close_finishes_the_writes_queued_before_it(writer: SQLiteWriter):
    async with asyncio.timeout(10):
        # gather starts them in order: the twenty writes are queued before close
        *written, _ = await asyncio.gather(
            *(writer.write(insert(i)) for i in range(20)), writer.close()
        )
        assert written == list(range(20))
    with writer.engine.connect() as connection:
        assert count(connection) == 20


async def test_a_write_after_close_is_refused(writer: SQLiteWriter):
    async with asyncio.timeout(10):
        assert await writer.write(insert(1)) == 1
        await writer.close()
        await writer.close()  # twice is fine
        with pytest.raises(StoreError, match="closed"):
            await writer.write(insert(2))


@pytest.mark.anyio
async def test_a_read_on_a_sqlite_file_does_not_wait_behind_a_write(tmp_path: Path):
    entered, release = threading.Event(), threading.Event()

    def slow_write(connection: Connection) -> None:
        entered.set()
        release.wait(10)

    async with Database.open(f"sqlite+aiosqlite:///{tmp_path / 'sluice.db'}") as db:
        await db.migrate()
        write = asyncio.ensure_future(db.run(slow_write))
        try:
            assert await asyncio.to_thread(entered.wait, 10)
            async with asyncio.timeout(5):  # the writer's thread is held meanwhile
                assert await db.chats.get_chat("nobody") is None
        finally:
            release.set()
            await write

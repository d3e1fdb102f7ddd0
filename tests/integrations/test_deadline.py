"""ReadDeadline: one timer per body, moved by reads, cutting only a read in progress."""

from __future__ import annotations

import asyncio

import pytest

from sluice.integrations.deadline import ReadDeadline

pytestmark = pytest.mark.anyio


async def test_a_stalled_read_is_cut_with_timeout_error_and_the_task_is_not_left_cancelled():
    loop = asyncio.get_running_loop()
    deadline = ReadDeadline(loop.time() + 0.05)
    never = asyncio.Event()
    try:
        with pytest.raises(TimeoutError):
            await deadline.read(never.wait)
    finally:
        deadline.close()
    task = asyncio.current_task()
    assert task is not None
    assert task.cancelling() == 0
    assert loop.time() >= deadline.when


async def test_reads_that_move_the_deadline_outlive_its_first_value():
    loop = asyncio.get_running_loop()
    start = loop.time()
    deadline = ReadDeadline(start + 0.05)
    queue: asyncio.Queue[int] = asyncio.Queue()

    async def feed() -> None:
        for n in range(8):  # 8 reads 20 ms apart: 160 ms, past the first deadline
            await asyncio.sleep(0.02)
            queue.put_nowait(n)

    feeder = asyncio.create_task(feed())
    got = []
    try:
        for _ in range(8):
            got.append(await deadline.read(queue.get))
            deadline.when = loop.time() + 0.05
    finally:
        deadline.close()
        await feeder
    assert got == list(range(8))
    assert loop.time() - start > 0.1


async def test_time_spent_between_reads_counts_and_the_next_read_fails_at_once():
    loop = asyncio.get_running_loop()
    deadline = ReadDeadline(loop.time() + 0.03)
    queue: asyncio.Queue[int] = asyncio.Queue()
    queue.put_nowait(1)
    started: list[bool] = []

    async def read() -> int:
        started.append(True)
        return await queue.get()

    try:
        assert await deadline.read(read) == 1
        # The consumer's own work, until just past the deadline (a timer, not a guess).
        past = asyncio.Event()
        loop.call_at(deadline.when + 0.001, past.set)
        await past.wait()
        with pytest.raises(TimeoutError):
            await deadline.read(read)
    finally:
        deadline.close()
    assert started == [True]


async def test_a_cancel_from_outside_stays_a_cancel():
    loop = asyncio.get_running_loop()
    reading = asyncio.Event()

    async def reader() -> None:
        deadline = ReadDeadline(loop.time() + 10)

        async def read() -> None:
            reading.set()
            await asyncio.Event().wait()

        try:
            await deadline.read(read)
        finally:
            deadline.close()

    task = asyncio.create_task(reader())
    await reading.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


async def test_a_deadline_moved_earlier_cuts_at_the_new_time():
    loop = asyncio.get_running_loop()
    deadline = ReadDeadline(loop.time() + 10)  # the wait for a first chunk: long
    queue: asyncio.Queue[int] = asyncio.Queue()
    queue.put_nowait(1)
    never = asyncio.Event()
    try:
        assert await deadline.read(queue.get) == 1  # its timer is armed for +10 s
        deadline.when = loop.time() + 0.03  # then a gap, much shorter
        started = loop.time()
        reading = asyncio.create_task(deadline.read(never.wait))
        await asyncio.wait({reading}, timeout=2)
        assert reading.done()
        assert isinstance(reading.exception(), TimeoutError)
        assert loop.time() - started < 1
    finally:
        deadline.close()


async def test_each_read_may_come_from_a_task_of_its_own():
    loop = asyncio.get_running_loop()

    async def make() -> ReadDeadline:
        return ReadDeadline(loop.time() + 0.05)

    deadline = await asyncio.create_task(make())  # made in a task that has ended since
    never, reading_started = asyncio.Event(), asyncio.Event()

    async def read_until_given_up() -> None:
        reading_started.set()
        await never.wait()

    try:
        given_up = asyncio.create_task(deadline.read(read_until_given_up))
        await reading_started.wait()
        given_up.cancel()  # the reader gave this read up: a cancel, not a timeout
        await asyncio.wait({given_up}, timeout=2)
        assert given_up.cancelled()
        reading = asyncio.create_task(deadline.read(never.wait))
        await asyncio.wait({reading}, timeout=2)
        assert reading.done()
        assert isinstance(reading.exception(), TimeoutError)
    finally:
        deadline.close()

"""Waits for a run's next events: woken, timed out by their own timer or by the shared tick."""

from __future__ import annotations

import asyncio

import pytest

from sluice.runs import waiters
from sluice.runs.waiters import Expiry, Waiters, wait

pytestmark = pytest.mark.anyio


async def test_wake_ends_every_wait_with_true():
    run, expiry = Waiters(), Expiry()
    async with asyncio.timeout(2):
        first = asyncio.create_task(wait(run, expiry, 0.5))
        second = asyncio.create_task(wait(run, expiry, 30))
        await asyncio.sleep(0)  # both tasks take their first step: each waits
        assert len(run._futures or ()) == 2
        run.wake()
        assert await first is True
        assert await second is True
    assert not run
    assert expiry._deadlines == {}


async def test_a_short_wait_times_out_on_its_own_timer_and_leaves_nothing_behind():
    run, expiry = Waiters(), Expiry()
    async with asyncio.timeout(2):
        assert await wait(run, expiry, 0.01) is False
    assert not run
    assert expiry._handle is None


async def test_long_waits_time_out_on_the_shared_tick(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(waiters, "COARSE_S", 0.02)
    monkeypatch.setattr(waiters, "TICK_S", 0.01)
    run, expiry = Waiters(), Expiry()
    loop = asyncio.get_running_loop()
    started = loop.time()
    async with asyncio.timeout(2):
        results = await asyncio.gather(*(wait(run, expiry, 0.03) for _ in range(5)))
    assert results == [False] * 5
    assert loop.time() - started >= 0.03
    assert not run
    assert expiry._deadlines == {}
    assert expiry._handle is None  # the tick that ended the last wait did not re-arm


async def test_a_cancelled_wait_does_not_disturb_the_others():
    run, expiry = Waiters(), Expiry()
    async with asyncio.timeout(2):
        gone = asyncio.create_task(wait(run, expiry, 30))
        staying = asyncio.create_task(wait(run, expiry, 30))
        await asyncio.sleep(0)  # a scheduler turn, not time: both tasks reach their wait
        assert len(run._futures or ()) == 2
        gone.cancel()
        with pytest.raises(asyncio.CancelledError):
            await gone
        run.wake()
        assert await staying is True


def test_long_waits_still_expire_on_a_second_event_loop(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(waiters, "COARSE_S", 0.02)
    monkeypatch.setattr(waiters, "TICK_S", 0.01)
    run, expiry = Waiters(), Expiry()

    async def one_wait_then_leave() -> bool:
        async with asyncio.timeout(2):
            ended = await wait(run, expiry, 0.03)
            # a wait still pending when its loop stops, as a server stopping would leave
            expiry.add(asyncio.get_running_loop().create_future(), 10**9)
            return ended

    assert asyncio.run(one_wait_then_leave()) is False  # timed out on the first loop
    assert asyncio.run(one_wait_then_leave()) is False  # and on the next one

"""The in-memory run log: numbering, reads after a position, waits with deadlines, retention."""

from __future__ import annotations

import asyncio
import zlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sluice.events import End, Event, Final, Start, Token
from sluice.runs.follow import coalesce_tokens
from sluice.runs.log import LogEntry, RunLog, RunNotFoundError
from sluice.runs.memory import MemoryRunLog
from tests.test_events import any_event

pytestmark = pytest.mark.anyio


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_memory_run_log_implements_the_protocol():
    log: RunLog = MemoryRunLog()
    assert log is not None


async def test_append_numbers_events_from_one():
    log = MemoryRunLog()
    assert await log.append("r", [Start("r")]) == 1
    assert await log.append("r", [Token("a"), Token("b")]) == 3
    assert await log.read("r", 0, wait_s=0) == [(1, Start("r")), (2, Token("a")), (3, Token("b"))]


async def test_read_returns_only_events_after_the_position():
    log = MemoryRunLog()
    await log.append("r", [Token(str(n)) for n in range(5)])
    assert await log.read("r", 3, wait_s=0) == [(4, Token("3")), (5, Token("4"))]
    assert await log.read("r", 1, wait_s=0, limit=2) == [(2, Token("1")), (3, Token("2"))]


async def test_read_past_the_end_of_an_open_run_waits_until_its_deadline():
    log = MemoryRunLog()
    await log.append("r", [Token("a")])
    async with asyncio.timeout(2):
        assert await log.read("r", 1, wait_s=0.01) == []


async def test_a_waiting_reader_wakes_on_append():
    log = MemoryRunLog()
    await log.append("r", [Token("a")])
    async with asyncio.timeout(2):
        reader = asyncio.create_task(log.read("r", 1, wait_s=30))
        await asyncio.sleep(0)  # let the reader reach its wait
        await log.append("r", [Token("b"), Token("c")])
        assert await reader == [(2, Token("b")), (3, Token("c"))]


async def test_close_wakes_a_waiting_reader_with_nothing():
    log = MemoryRunLog()
    await log.append("r", [Token("a")])
    async with asyncio.timeout(2):
        reader = asyncio.create_task(log.read("r", 1, wait_s=30))
        await asyncio.sleep(0)  # a scheduler turn, not time: let the reader reach its wait
        await log.close("r")
        assert await reader == []


async def test_reading_a_closed_run_never_waits():
    log = MemoryRunLog()
    await log.append("r", [End()])
    await log.close("r")
    async with asyncio.timeout(2):
        assert await log.read("r", 1, wait_s=30) == []
    assert await log.is_closed("r")


async def test_unknown_run_raises_run_not_found():
    log = MemoryRunLog()
    with pytest.raises(RunNotFoundError, match="'nope'"):
        await log.read("nope", 0, wait_s=0)
    with pytest.raises(RunNotFoundError):
        await log.is_closed("nope")
    with pytest.raises(RunNotFoundError):
        await log.close("nope")


async def test_appending_to_a_closed_run_is_an_error():
    log = MemoryRunLog()
    await log.append("r", [End()])
    await log.close("r")
    with pytest.raises(RuntimeError, match="closed run"):
        await log.append("r", [Token("late")])


async def test_negative_position_is_rejected():
    log = MemoryRunLog()
    await log.append("r", [Token("a")])
    with pytest.raises(ValueError, match="after_seq"):
        await log.read("r", -1, wait_s=0)


async def test_closed_runs_are_kept_for_the_retention_then_dropped():
    clock = FakeClock()
    log = MemoryRunLog(retention_s=10, clock=clock)
    await log.append("old", [End()])
    await log.close("old")
    await log.append("open", [Token("a")])
    clock.now = 9.9
    assert await log.expire() == 0
    assert await log.read("old", 0, wait_s=0) == [(1, End())]
    clock.now = 10.0
    assert await log.expire() == 1
    with pytest.raises(RunNotFoundError):
        await log.read("old", 0, wait_s=0)
    assert not await log.exists("old")
    assert await log.exists("open")
    assert not await log.is_closed("open")  # open runs never expire
    assert len(log) == 1


async def test_creating_a_run_drops_expired_ones():
    clock = FakeClock()
    log = MemoryRunLog(retention_s=5, clock=clock)
    for n in range(3):
        await log.append(f"r{n}", [End()])
        await log.close(f"r{n}")
    clock.now = 5
    await log.append("new", [Start("new")])
    assert len(log) == 1


async def test_closing_twice_keeps_the_first_close_time():
    clock = FakeClock()
    log = MemoryRunLog(retention_s=5, clock=clock)
    await log.append("r", [End()])
    await log.close("r")
    clock.now = 4
    await log.close("r")
    clock.now = 5
    assert await log.expire() == 1


def test_negative_retention_is_rejected():
    with pytest.raises(ValueError, match="retention_s"):
        MemoryRunLog(retention_s=-1)


async def closed_run(log: MemoryRunLog, clock: FakeClock) -> None:
    await log.append("r", [Start("r"), Token("Hel"), Token("lo"), Token(" you")])
    await log.append("r", [Final("Hello you"), Token("!"), End()])
    await log.close("r")
    clock.now += 11  # past compact_after_s
    await log.append("next", [Start("next")])  # a new run sweeps the old ones


async def test_a_run_closed_a_while_reads_each_stretch_of_tokens_as_one():
    clock = FakeClock()
    log = MemoryRunLog(compact_after_s=10, clock=clock)
    await closed_run(log, clock)
    assert await log.read("r", 0, wait_s=1) == [
        (1, Start("r")),
        (4, Token("Hello you")),
        (5, Final("Hello you")),
        (6, Token("!")),
        (7, End()),
    ]
    assert await log.read("r", 0, wait_s=1, limit=2) == [(1, Start("r")), (4, Token("Hello you"))]


async def test_resuming_a_compacted_run_inside_a_stretch_misses_nothing():
    clock = FakeClock()
    log = MemoryRunLog(compact_after_s=10, clock=clock)
    await closed_run(log, clock)
    assert await log.read("r", 2, wait_s=0) == [
        (4, Token("lo you")),
        (5, Final("Hello you")),
        (6, Token("!")),
        (7, End()),
    ]
    assert await log.read("r", 4, wait_s=0) == [
        (5, Final("Hello you")),
        (6, Token("!")),
        (7, End()),
    ]
    assert await log.read("r", 7, wait_s=0) == []


async def test_a_run_nobody_read_to_its_end_is_compacted_only_after_compact_after_s():
    clock = FakeClock()
    log = MemoryRunLog(compact_after_s=10, clock=clock)
    await log.append("r", [Token("a"), Token("b"), End()])
    await log.close("r")
    clock.now += 9
    await log.append("next", [Start("next")])
    assert await log.read("r", 0, wait_s=0, limit=2) == [(1, Token("a")), (2, Token("b"))]
    assert await log.read("r", 0, wait_s=0) == [(1, Token("a")), (2, Token("b")), (3, End())]


async def test_a_closed_run_a_follower_read_to_its_end_is_compacted_at_once():
    log = MemoryRunLog(compact_after_s=600, compact_delay_s=0)
    await log.append("r", [Start("r"), Token("Hel"), Token("lo")])
    await log.read_to_end("r")  # still open: nothing changes
    await log.append("r", [Token(" you"), Final("Hello you"), End()])
    await log.close("r")
    assert [e for _, e in await log.read("r", 0, wait_s=0)] == [
        Start("r"),
        Token("Hel"),
        Token("lo"),
        Token(" you"),
        Final("Hello you"),
        End(),
    ]
    await log.read_to_end("r")
    await log.read_to_end("unknown")  # nothing to do, no error
    assert await log.read("r", 0, wait_s=0) == [
        (1, Start("r")),
        (4, Token("Hello you")),
        (5, Final("Hello you")),
        (6, End()),
    ]
    assert log._runs["r"].events == []  # the token strings are let go


async def test_a_compacted_run_keeps_its_text_once_when_the_final_says_it():
    clock = FakeClock()
    log = MemoryRunLog(compact_after_s=10, clock=clock)
    await log.append("r", [Start("r"), Token("Hel"), Token("lo")])
    await log.append("r", [Final("".join(["Hel", "lo"])), End()])
    await log.close("r")
    clock.now += 11
    await log.append("next", [Start("next")])
    entries = await log.read("r", 0, wait_s=0)
    assert entries == [(1, Start("r")), (3, Token("Hello")), (4, Final("Hello")), (5, End())]
    compact = log._runs["r"].compact
    assert compact is not None
    assert zlib.decompress(compact._blob).count(b"Hello") == 1


async def test_a_compacted_run_with_a_token_over_255_characters_resumes_inside_it():
    log = MemoryRunLog(compact_delay_s=0)
    long = "x" * 300
    await log.append("r", [Start("r"), Token("a"), Token(long), Token("b"), End()])
    await log.close("r")
    await log.read_to_end("r")
    assert await log.read("r", 2, wait_s=0) == [(4, Token(long + "b")), (5, End())]
    assert await log.read("r", 3, wait_s=0) == [(4, Token("b")), (5, End())]


@given(st.lists(any_event, max_size=12), st.integers(min_value=0, max_value=14))
@settings(max_examples=200, deadline=None)
def test_a_compacted_run_reads_as_its_events_with_each_stretch_of_tokens_merged(
    events: list[Event], after_seq: int
):
    async def read_both() -> tuple[list[LogEntry], list[LogEntry]]:
        log = MemoryRunLog(compact_delay_s=0)
        await log.append("r", [*events, End()])
        await log.close("r")
        whole = await log.read("r", after_seq, wait_s=0)
        await log.read_to_end("r")
        return whole, await log.read("r", after_seq, wait_s=0)

    whole, compacted = asyncio.run(read_both())
    assert compacted == coalesce_tokens(whole)


async def test_runs_read_through_are_compacted_together_a_little_later():
    log = MemoryRunLog(compact_delay_s=0.01)
    for run_id in ("a", "b"):
        await log.append(run_id, [Start(run_id), Token("x"), Token("y"), End()])
        await log.close(run_id)
        await log.read_to_end(run_id)
    assert log._runs["a"].compact is None  # not on the path of what runs next
    handle = log._compacting
    assert handle is not None
    done = asyncio.Event()
    # A timer just after the compaction's own: the loop has run that one by then.
    asyncio.get_running_loop().call_at(handle.when() + 0.001, done.set)  # type: ignore[attr-defined]
    await done.wait()
    assert all(log._runs[run_id].compact is not None for run_id in ("a", "b"))
    assert await log.read("b", 0, wait_s=0) == [(1, Start("b")), (3, Token("xy")), (4, End())]

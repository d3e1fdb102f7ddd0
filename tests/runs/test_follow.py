"""Following a run from any position: each missing event once, bounded batches, idle ticks."""

from __future__ import annotations

import asyncio
from contextlib import aclosing

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sluice.events import End, Event, Final, Start, Status, Token
from sluice.runs.follow import coalesce_tokens, follow
from sluice.runs.log import LogEntry, RunNotFoundError
from sluice.runs.memory import MemoryRunLog

pytestmark = pytest.mark.anyio

RUN: list[Event] = [Start("r"), *(Token(f"t{n} ") for n in range(20)), Final("..."), End()]


async def collect(log: MemoryRunLog, after_seq: int) -> list[list[LogEntry]]:
    batches = []
    async with asyncio.timeout(2), aclosing(follow(log, "r", after_seq)) as stream:
        async for batch in stream:
            batches.append(batch)
    return batches


async def test_follow_from_any_position_yields_exactly_the_missing_events_once():
    for position in range(len(RUN) + 1):
        log = MemoryRunLog()  # a fresh one: a run read to its end is compacted
        await log.append("r", RUN)
        await log.close("r")
        batches = await collect(log, position)
        entries = [entry for batch in batches for entry in batch]
        assert entries == list(enumerate(RUN, 1))[position:]


async def test_follow_a_live_run_with_concurrent_readers():
    log = MemoryRunLog()
    await log.append("r", RUN[:1])

    async def write() -> None:
        for event in RUN[1:]:
            await log.append("r", [event])
            await asyncio.sleep(0)
        await log.close("r")

    async with asyncio.timeout(2), asyncio.TaskGroup() as group:
        readers = [group.create_task(collect(log, start)) for start in (0, 1, 5)]
        group.create_task(write())
    for start, reader in zip((0, 1, 5), readers, strict=True):
        entries = [entry for batch in reader.result() for entry in batch]
        assert entries == list(enumerate(RUN, 1))[start:]


async def test_a_slow_reader_gets_bounded_batches_of_everything_waiting():
    log = MemoryRunLog()
    events: list[Event] = [Token("x")] * 1000
    await log.append("r", events)
    async with asyncio.timeout(2), aclosing(follow(log, "r", max_batch=64)) as stream:
        first = await anext(stream)
        assert len(first) == 64
        await log.append("r", [End()])
        sizes = [len(first)] + [len(batch) async for batch in stream]
    assert max(sizes) == 64
    assert sum(sizes) == 1001


async def test_follow_yields_an_empty_batch_when_idle():
    log = MemoryRunLog()
    await log.append("r", [Start("r")])
    async with asyncio.timeout(2), aclosing(follow(log, "r", 1, idle_s=0.01)) as stream:
        assert await anext(stream) == []
        await log.append("r", [End()])
        assert await anext(stream) == [(2, End())]
        with pytest.raises(StopAsyncIteration):
            await anext(stream)


async def test_follow_ends_when_the_run_is_closed_without_end():
    log = MemoryRunLog()
    await log.append("r", [Start("r")])
    await log.close("r")
    assert await collect(log, 0) == [[(1, Start("r"))]]
    assert await collect(log, 1) == []


async def test_follow_an_unknown_run_raises():
    log = MemoryRunLog()
    with pytest.raises(RunNotFoundError):
        await anext(follow(log, "nope"))


async def test_max_batch_must_be_positive():
    with pytest.raises(ValueError, match="max_batch"):
        await anext(follow(MemoryRunLog(), "r", max_batch=0))


def test_coalesce_merges_consecutive_tokens_numbered_as_the_last():
    batch: list[LogEntry] = [
        (1, Start("r")),
        (2, Token("a")),
        (3, Token("b")),
        (4, Status("...")),
        (5, Token("c")),
        (6, Token("d")),
    ]
    assert coalesce_tokens(batch) == [
        (1, Start("r")),
        (3, Token("ab")),
        (4, Status("...")),
        (6, Token("cd")),
    ]


def test_coalesce_keeps_a_lone_token_object():
    token = Token("a")
    assert coalesce_tokens([(7, token)])[0][1] is token


@given(st.lists(st.one_of(st.text().map(Token), st.just(Status("s")))))
def test_coalesce_keeps_the_text_and_the_other_events(events: list[Token | Status]):
    batch: list[LogEntry] = list(enumerate(events, 1))
    merged = coalesce_tokens(batch)
    text = "".join(event.text for event in events if isinstance(event, Token))
    assert "".join(event.text for _, event in merged if isinstance(event, Token)) == text
    assert [e for _, e in merged if isinstance(e, Status)] == [
        e for e in events if isinstance(e, Status)
    ]
    assert [seq for seq, _ in merged] == sorted({seq for seq, _ in merged})
    if batch:
        assert merged[-1][0] == batch[-1][0]


async def until_awaited(log: MemoryRunLog, run_id: str) -> None:
    """Let the loop run until a reader waits on ``run_id`` (bounded)."""
    for _ in range(100):
        if log._get(run_id).waiters:
            return
        await asyncio.sleep(0)
    raise AssertionError("expected a reader waiting on the run, got none")


async def test_a_first_batch_of_only_start_waits_for_the_first_token_and_goes_with_it():
    log = MemoryRunLog()
    await log.append("r", [Start("r")])
    async with asyncio.timeout(2), aclosing(follow(log, "r", hold_start_s=10)) as stream:
        first = asyncio.create_task(anext(stream))
        await until_awaited(log, "r")  # the follower holds Start, waiting for more
        await log.append("r", [Token("Hi")])
        assert await first == [(1, Start("r")), (2, Token("Hi"))]
        await log.append("r", [Token(" there")])
        assert await anext(stream) == [(3, Token(" there"))]


async def test_start_goes_alone_once_the_hold_has_passed():
    log = MemoryRunLog()
    await log.append("r", [Start("r")])
    async with asyncio.timeout(2), aclosing(follow(log, "r", hold_start_s=0.01)) as stream:
        assert await anext(stream) == [(1, Start("r"))]
        await log.append("r", [Token("late"), End()])
        assert await anext(stream) == [(2, Token("late")), (3, End())]


async def test_without_a_hold_start_goes_at_once():
    log = MemoryRunLog()
    await log.append("r", [Start("r")])
    async with asyncio.timeout(2), aclosing(follow(log, "r")) as stream:
        assert await anext(stream) == [(1, Start("r"))]

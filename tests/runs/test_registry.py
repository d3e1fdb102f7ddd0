"""The run registry: runs apart from requests, appends as events come, abort, storage hook."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from contextlib import aclosing

import pytest

from sluice.errors import ConfigError, UpstreamTimeoutError
from sluice.events import (
    End,
    Error,
    Event,
    Final,
    Saved,
    SourceDocument,
    Sources,
    Start,
    Token,
    ToolEnd,
    ToolStart,
    ToolUse,
)
from sluice.runs.log import LogEntry, RunNotFoundError
from sluice.runs.memory import MemoryRunLog
from sluice.runs.registry import RunRegistry

pytestmark = pytest.mark.anyio


class RecordingLog(MemoryRunLog):
    """The memory log, noting the size of every append; ``gate`` can hold appends back."""

    def __init__(self) -> None:
        super().__init__()
        self.appends: list[int] = []
        self.gate = asyncio.Event()
        self.gate.set()

    async def append(self, run_id: str, events: Sequence[Event]) -> int:
        self.appends.append(len(events))
        await self.gate.wait()
        return await super().append(run_id, events)


async def events_of(runs: RunRegistry, run_id: str, after_seq: int = 0) -> list[Event]:
    async with asyncio.timeout(2), aclosing(runs.follow(run_id, after_seq)) as stream:
        return [event async for batch in stream for _, event in batch]


def tokens(*texts: str) -> AsyncIterator[Event]:
    async def produce() -> AsyncIterator[Event]:
        for text in texts:
            yield Token(text)

    return produce()


async def test_a_run_starts_with_its_id_and_ends_with_end():
    async with RunRegistry(MemoryRunLog(), new_id=lambda: "run-1") as runs:
        run_id = await runs.start(lambda: tokens("Hel", "lo"))
        assert run_id == "run-1"
        assert await events_of(runs, run_id) == [
            Start("run-1"),
            Token("Hel"),
            Token("lo"),
            Final("Hello"),
            End(),
        ]
    assert not runs.is_running(run_id)


async def test_the_producers_own_start_and_end_are_replaced():
    async def produce() -> AsyncIterator[Event]:
        yield Start()
        yield Token("a")
        yield Final("a")
        yield End()

    async with RunRegistry(MemoryRunLog()) as runs:
        run_id = await runs.start(produce)
        assert await events_of(runs, run_id) == [Start(run_id), Token("a"), Final("a"), End()]


async def test_a_follower_gets_the_first_token_before_the_run_reads_on():
    went_on = False

    async def produce() -> AsyncIterator[Event]:
        nonlocal went_on
        yield Token("first")
        went_on = True  # an upstream burst: more tokens without waiting
        yield Token("second")

    async with RunRegistry(MemoryRunLog()) as runs:
        run_id = await runs.start(produce)
        async with aclosing(runs.follow(run_id)) as follower:
            assert [event for _, event in await anext(follower)] == [Start(run_id)]
            batch = await anext(follower)
            assert ([event for _, event in batch], went_on) == ([Token("first")], False)


async def test_a_slow_log_holds_the_producer_back():
    log = RecordingLog()
    produced = 0

    async def produce() -> AsyncIterator[Event]:
        nonlocal produced
        for _ in range(100):
            produced += 1
            yield Token("x")

    async with RunRegistry(log) as runs:
        run_id = await runs.start(produce)
        log.gate.clear()  # Start is in; the producer has not run yet
        for _ in range(50):  # scheduler turns, not time: let the producer run ahead
            await asyncio.sleep(0)
        assert produced == 1  # its first token is held in the stuck append
        log.gate.set()
        events = await events_of(runs, run_id)
    assert events.count(Token("x")) == 100


async def test_abort_cancels_the_producer_and_keeps_what_was_said():
    saw_cancel = asyncio.Event()
    said = asyncio.Event()

    async def produce() -> AsyncIterator[Event]:
        yield Token("Hel")
        yield ToolStart("search", {"q": "x"}, "c1")
        yield ToolEnd("search", "found", "c1")
        yield Sources((SourceDocument("p", {"source": "s"}),))
        said.set()
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            saw_cancel.set()
            raise
        yield Token("never")

    async with asyncio.timeout(2), RunRegistry(MemoryRunLog()) as runs:
        run_id = await runs.start(produce)
        await said.wait()
        assert await runs.abort(run_id) is True
        assert saw_cancel.is_set()
        assert not runs.is_running(run_id)
        assert await runs.abort(run_id) is False
        events = await events_of(runs, run_id)
    assert events[-2:] == [
        Final(
            "Hel",
            tools=(ToolUse("search", {"q": "x"}, "found", "c1"),),
            sources=(SourceDocument("p", {"source": "s"}),),
            reason="aborted",
        ),
        End(),
    ]
    assert not any(isinstance(event, Error) for event in events)


async def test_a_producer_may_say_its_own_final_when_aborted():
    started = asyncio.Event()

    async def produce() -> AsyncIterator[Event]:
        yield Token("a")
        started.set()
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            yield Final("a (cut)", reason="aborted")
            return

    async with asyncio.timeout(2), RunRegistry(MemoryRunLog()) as runs:
        run_id = await runs.start(produce)
        await started.wait()
        await runs.abort(run_id)
        events = await events_of(runs, run_id)
    assert [event for event in events if isinstance(event, Final)] == [
        Final("a (cut)", reason="aborted")
    ]


async def test_a_failing_producer_ends_with_its_error_and_what_was_said():
    async def produce() -> AsyncIterator[Event]:
        yield Token("part")
        raise UpstreamTimeoutError("gap", 5)

    async with RunRegistry(MemoryRunLog()) as runs:
        run_id = await runs.start(produce)
        events = await events_of(runs, run_id)
    assert events[1:] == [
        Token("part"),
        Error("timeout", "upstream gap timeout after 5 s"),
        Final("part", reason="error"),
        End(),
    ]


async def test_an_unexpected_failure_is_reported_without_its_details(caplog):
    async def produce() -> AsyncIterator[Event]:
        nothing: tuple[Event, ...] = ()
        for event in nothing:  # an async generator that fails before its first event
            yield event
        raise RuntimeError("secret detail")

    async with RunRegistry(MemoryRunLog()) as runs:
        run_id = await runs.start(produce)
        events = await events_of(runs, run_id)
    assert events[1] == Error("internal_error", "the run failed unexpectedly")
    assert "secret detail" not in repr(events)
    assert any(record.exc_info for record in caplog.records)


async def test_an_error_event_from_the_producer_marks_the_final():
    async def produce() -> AsyncIterator[Event]:
        yield Error("upstream_status", "HTTP 500")

    async with RunRegistry(MemoryRunLog()) as runs:
        events = await events_of(runs, await runs.start(produce))
    assert events[-2] == Final("", reason="error")


async def test_on_finished_stores_the_message_before_end():
    stored: list[tuple[str, Final, Error | None]] = []

    async def on_finished(run_id: str, final: Final, error: Error | None) -> Sequence[Event]:
        stored.append((run_id, final, error))
        return [Saved("m-1")]

    async with RunRegistry(MemoryRunLog(), on_finished=on_finished) as runs:
        run_id = await runs.start(lambda: tokens("hi"))
        events = await events_of(runs, run_id)
    assert stored == [(run_id, Final("hi"), None)]
    assert events[-3:] == [Final("hi"), Saved("m-1"), End()]


async def test_a_failing_store_is_reported_and_the_run_still_ends():
    async def on_finished(run_id: str, final: Final, error: Error | None) -> Sequence[Event]:
        raise OSError("disk full")

    async with RunRegistry(MemoryRunLog(), on_finished=on_finished) as runs:
        events = await events_of(runs, await runs.start(lambda: tokens("hi")))
    assert events[-2:] == [Error("store_failed", "the message could not be stored"), End()]


async def test_follow_resumes_a_running_run_from_the_middle():
    release = asyncio.Event()

    async def produce() -> AsyncIterator[Event]:
        yield Token("a")
        yield Token("b")
        await release.wait()
        yield Token("c")

    async with asyncio.timeout(2), RunRegistry(MemoryRunLog()) as runs:
        run_id = await runs.start(produce)
        async with aclosing(runs.follow(run_id)) as stream:
            seen: list[LogEntry] = []
            while len(seen) < 3:
                seen += await anext(stream)
        assert seen == [(1, Start(run_id)), (2, Token("a")), (3, Token("b"))]
        release.set()
        rest = await events_of(runs, run_id, after_seq=2)
    assert rest == [Token("b"), Token("c"), Final("abc"), End()]


async def test_leaving_the_registry_aborts_running_runs_and_closes_their_logs():
    log = MemoryRunLog()
    started = asyncio.Event()

    async def produce() -> AsyncIterator[Event]:
        yield Token("a")
        started.set()
        await asyncio.Event().wait()
        yield Token("never")

    async with asyncio.timeout(2):
        async with RunRegistry(log) as runs:
            run_id = await runs.start(produce)
            await started.wait()
        assert await log.is_closed(run_id)
        entries = await log.read(run_id, 0, wait_s=0)
    assert [event for _, event in entries][-2:] == [Final("a", reason="aborted"), End()]


async def test_unknown_runs_raise_run_not_found():
    async with RunRegistry(MemoryRunLog()) as runs:
        with pytest.raises(RunNotFoundError):
            await runs.abort("nope")
        with pytest.raises(RunNotFoundError):
            await events_of(runs, "nope")


async def test_a_run_id_cannot_be_reused():
    async with RunRegistry(MemoryRunLog()) as runs:
        run_id = await runs.start(lambda: tokens("a"), run_id="fixed")
        await events_of(runs, run_id)
        with pytest.raises(ValueError, match="run_id"):
            await runs.start(lambda: tokens("b"), run_id="fixed")


async def test_starting_outside_the_registry_block_is_an_error():
    runs = RunRegistry(MemoryRunLog())
    with pytest.raises(RuntimeError, match="async with"):
        await runs.start(lambda: tokens("a"))


class BrokenLog(MemoryRunLog):
    """A log whose backend fails for one run after its first append."""

    async def append(self, run_id: str, events: Sequence[Event]) -> int:
        if run_id == "broken" and not isinstance(events[0], Start):
            raise ConnectionError("backend down")
        return await super().append(run_id, events)


async def test_a_run_whose_log_fails_does_not_stop_the_others(caplog):
    async with asyncio.timeout(2), RunRegistry(BrokenLog()) as runs:
        await runs.start(lambda: tokens("a"), run_id="broken")
        run_id = await runs.start(lambda: tokens("fine"))
        assert await events_of(runs, run_id) == [Start(run_id), Token("fine"), Final("fine"), End()]
    assert not runs.is_running("broken")
    assert any("run log failed" in record.getMessage() for record in caplog.records)


async def test_a_configuration_error_is_reported_with_its_message():
    async def produce() -> AsyncIterator[Event]:
        yield Token("")
        raise ConfigError("expected a URL", source="flows/a.yaml", field="url")

    async with RunRegistry(MemoryRunLog()) as runs:
        events = await events_of(runs, await runs.start(produce))
    assert Error("config_error", "flows/a.yaml: url: expected a URL") in events


async def test_concurrent_aborts_stop_the_run_once():
    started = asyncio.Event()

    async def produce() -> AsyncIterator[Event]:
        started.set()
        await asyncio.Event().wait()
        yield Token("never")

    async with asyncio.timeout(2), RunRegistry(MemoryRunLog()) as runs:
        run_id = await runs.start(produce)
        await started.wait()
        first, second = await asyncio.gather(runs.abort(run_id), runs.abort(run_id))
        events = await events_of(runs, run_id)
    assert sorted([first, second]) == [False, True]
    assert events == [Start(run_id), Final("", reason="aborted"), End()]

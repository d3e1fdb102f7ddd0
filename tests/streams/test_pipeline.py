"""The composed pipeline: every recorded provider stream, any split, and the failure modes."""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator

import pytest

from sluice.errors import StreamCutError, StreamErrorEvent, StreamFormatError
from sluice.streams.pipeline import (
    FIRST_EVENTS_ALONE,
    StreamReader,
    StreamSettings,
    read_batches,
    read_stream,
    split_first_event,
)
from sluice.streams.types import Buffering, StreamType
from tests.corpus import Case, corpus_params


def settings_for(case: Case, **overrides) -> StreamSettings:
    values = {"type": StreamType(case.framing), "mapping": case.preset} | overrides
    return StreamSettings(**values)


def run(reader: StreamReader, body: bytes, reads: list[int]) -> list[str]:
    pieces: list[str] = []
    position = 0
    for size in reads:
        pieces += reader.feed(body[position : position + size])
        position += size
    pieces += reader.feed(body[position:])
    return pieces + reader.finish()


def splits(length: int, seed: int) -> list[int]:
    rng = random.Random(seed)
    sizes: list[int] = []
    while sum(sizes) < length:
        sizes.append(rng.choice([1, 2, 3, 5, 8, 13, 64, 200]))
    return sizes


@pytest.mark.parametrize("case", corpus_params())
@pytest.mark.parametrize("split", ["whole", "bytewise", "random-1", "random-2"])
def test_corpus_case_decodes_to_expected_text(case: Case, split: str):
    body = case.body
    reads = {
        "whole": [],
        "bytewise": [1] * len(body),
        "random-1": splits(len(body), 1),
        "random-2": splits(len(body), 2),
    }[split]
    reader = StreamReader(settings_for(case), content_type=case.content_type)
    pieces = run(reader, body, reads)
    assert "".join(pieces) == reader.text == case.expected["text"]
    assert "".join(reader.state.reasoning) == case.expected.get("reasoning", "")
    if case.has_error:
        assert isinstance(reader.error, StreamErrorEvent)
    else:
        assert reader.error is None, reader.error
        assert reader.state.finish_reason == case.expected.get("finish_reason")


@pytest.mark.parametrize("case", corpus_params())
@pytest.mark.parametrize("buffering", [Buffering.WORDS, Buffering.SENTENCES])
def test_buffering_never_changes_the_text(case: Case, buffering: Buffering):
    reader = StreamReader(settings_for(case, buffering=buffering), content_type=case.content_type)
    assert "".join(run(reader, case.body, splits(len(case.body), 3))) == case.expected["text"]


@pytest.mark.parametrize("case", corpus_params())
def test_auto_framing_matches_declared_framing(case: Case):
    reader = StreamReader(settings_for(case, type=StreamType.AUTO), content_type=case.content_type)
    assert "".join(run(reader, case.body, splits(len(case.body), 4))) == case.expected["text"]


def test_mapping_none_keeps_chunks_and_says_nothing():
    body = b'data: {"a": 1}\n\ndata: {"a": 2}\n\n'
    reader = StreamReader(StreamSettings(mapping="none"))
    assert run(reader, body, []) == []
    assert reader.chunks == [{"a": 1}, {"a": 2}]
    assert reader.error is None


def test_whole_mapping_on_lines_keeps_line_breaks():
    reader = StreamReader(StreamSettings(type=StreamType.LINES, mapping="whole"))
    assert "".join(run(reader, b"Roses are red,\n\nviolets are blue\n", [3])) == (
        "Roses are red,\n\nviolets are blue"
    )
    assert reader.chunks == ["Roses are red,", "", "violets are blue"]


def test_whole_mapping_with_auto_framing_resolved_to_lines():
    reader = StreamReader(
        StreamSettings(type=StreamType.AUTO, mapping="whole"), content_type="text/plain"
    )
    assert "".join(run(reader, b"one\ntwo\n", [1])) == "one\ntwo"


def test_chunk_that_is_not_json_fails_and_keeps_what_was_said():
    body = b'data: {"choices":[{"delta":{"content":"Hi"}}]}\n\ndata: oops\n\ndata: [DONE]\n\n'
    reader = StreamReader(StreamSettings())
    assert run(reader, body, []) == ["Hi"]
    assert isinstance(reader.error, StreamFormatError)
    assert "oops" in str(reader.error)
    assert reader.chunks == [{"choices": [{"delta": {"content": "Hi"}}]}]


def test_object_line_that_is_not_json_fails_and_keeps_the_chunks_before_it():
    body = (
        b'data: {"choices":[{"delta":{"content":"Hi"}}]}\n\n'
        b"data: {oops\n\n"
        b'data: {"choices":[{"delta":{"content":"lo"}}]}\n\n'
    )
    reader = StreamReader(StreamSettings())
    assert run(reader, body, []) == ["Hi"]
    assert isinstance(reader.error, StreamFormatError)
    assert "{oops" in str(reader.error)
    assert reader.chunks == [{"choices": [{"delta": {"content": "Hi"}}]}]


def test_one_read_of_chunks_then_done_says_every_chunk_and_ends():
    body = (
        b'data: {"choices":[{"delta":{"content":"Hi"}}]}\n\n'
        b'data: {"choices":[{"delta":{"content":" there"}}]}\n\n'
        b"data: [DONE]\n\n"
    )
    reader = StreamReader(StreamSettings())
    assert run(reader, body, []) == ["Hi", " there"]
    assert reader.error is None
    assert len(reader.chunks) == 2


def test_a_failing_chunk_before_done_in_one_read_stops_there():
    body = b'data: {"choices":[{"delta":{"content":"Hi"}}]}\n\ndata: {oops\n\ndata: [DONE]\n\n'
    reader = StreamReader(StreamSettings())
    assert run(reader, body, []) == ["Hi"]
    assert isinstance(reader.error, StreamFormatError)


def test_stream_without_end_marker_is_cut():
    reader = StreamReader(StreamSettings())
    assert run(reader, b'data: {"choices":[{"delta":{"content":"Hi"}}]}\n\n', []) == ["Hi"]
    assert isinstance(reader.error, StreamCutError)


def test_error_object_mid_stream_stops_the_reader():
    body = (
        b'data: {"choices":[{"delta":{"content":"Hel"}}]}\n\n'
        b'data: {"error": {"message": "overloaded", "type": "server_error"}}\n\n'
        b'data: {"choices":[{"delta":{"content":"lo"}}]}\n\n'
    )
    reader = StreamReader(StreamSettings())
    assert run(reader, body, []) == ["Hel"]
    assert isinstance(reader.error, StreamErrorEvent)
    assert "overloaded" in reader.error.message


def test_held_text_is_released_when_the_stream_fails():
    reader = StreamReader(StreamSettings(buffering=Buffering.SENTENCES))
    assert reader.feed(b'data: {"choices":[{"delta":{"content":"Half a sent"}}]}\n\n') == []
    assert reader.feed(b"data: broken\n\n") == ["Half a sent"]
    assert reader.text == "Half a sent"


async def body_of(*reads: bytes) -> AsyncIterator[bytes]:
    for data in reads:
        yield data


@pytest.mark.anyio
async def test_read_stream_yields_pieces_then_raises_the_error():
    reader = StreamReader(StreamSettings())
    seen: list[str] = []

    async def consume() -> None:
        body = body_of(b'data: {"choices":[{"delta":{"content":"a"}}]}\n\n')
        async for piece in read_stream(body, reader):
            seen.append(piece)

    with pytest.raises(StreamCutError):
        await consume()
    assert seen == ["a"]


def sse_chunks(*texts: str) -> bytes:
    return b"".join(
        b'data: {"choices":[{"delta":{"content":"%s"}}]}\n\n' % text.encode() for text in texts
    )


@pytest.mark.anyio
async def test_one_batch_per_read_after_the_first_text_which_leaves_alone():
    role_only = b'data: {"choices":[{"delta":{"role":"assistant","content":""}}]}\n\n'
    reads = (role_only + sse_chunks("a", "b", "c"), sse_chunks("d", "e"), b"data: [DONE]\n\n")
    reader = StreamReader(StreamSettings())
    batches = [b async for b in read_batches(body_of(*reads), reader)]
    assert batches == [["a"], ["b", "c"], ["d", "e"]]
    assert reader.text == "abcde"
    assert len(reader.chunks) == 6


@pytest.mark.anyio
async def test_the_first_text_of_a_read_leaves_before_the_rest_of_it_is_parsed():
    reader = StreamReader(StreamSettings())
    batches = read_batches(body_of(sse_chunks("a", "b", "c")), reader)
    assert await anext(batches) == ["a"]
    assert len(reader.chunks) == 1  # "b" and "c" are not yet parsed
    assert await anext(batches) == ["b", "c"]


@pytest.mark.anyio
async def test_json_lines_are_cut_at_newlines_until_the_first_text():
    lines = b"".join(
        b'{"choices":[{"delta":{"content":"%s"}}]}\n' % text for text in (b"a", b"b", b"c")
    )
    lines += b'{"choices":[{"delta":{},"finish_reason":"stop"}]}\n'
    reader = StreamReader(StreamSettings(type=StreamType.NDJSON))
    batches = [b async for b in read_batches(body_of(lines), reader)]
    assert batches == [["a"], ["b", "c"]]


def test_split_first_event_cuts_after_the_first_end_only():
    sse = (b"\n\n", b"\r\n\r\n")
    assert split_first_event(b"a\n\nb\n\nc", sse) == (b"a\n\n", b"b\n\nc")
    assert split_first_event(b"a\r\n\r\nb\n\n", sse) == (b"a\r\n\r\n", b"b\n\n")
    assert split_first_event(b"a\n\n", sse) == (b"a\n\n", b"")
    assert split_first_event(b"a\nb", sse) == (b"a\nb", b"")


@pytest.mark.anyio
async def test_crlf_events_are_cut_too():
    body = sse_chunks("a", "b", "c").replace(b"\n", b"\r\n") + b"data: [DONE]\r\n\r\n"
    reader = StreamReader(StreamSettings())
    assert [b async for b in read_batches(body_of(body), reader)] == [["a"], ["b", "c"]]


@pytest.mark.anyio
async def test_a_stream_quiet_for_more_than_a_few_events_is_fed_read_by_read():
    role_only = b'data: {"choices":[{"delta":{"role":"assistant"}}]}\n\n'
    late = role_only * (FIRST_EVENTS_ALONE + 1) + sse_chunks("a", "b") + b"data: [DONE]\n\n"
    reader = StreamReader(StreamSettings())
    assert [b async for b in read_batches(body_of(late), reader)] == [["a", "b"]]
    assert len(reader.chunks) == FIRST_EVENTS_ALONE + 3


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


@pytest.mark.anyio
async def test_max_hold_ms_releases_text_while_upstream_is_silent():
    clock = FakeClock()
    reads: asyncio.Queue[bytes | None] = asyncio.Queue()

    async def body() -> AsyncIterator[bytes]:
        yield b'data: {"choices":[{"delta":{"content":"Still thinking"}}]}\n\n'
        clock.now = 10.0  # asked for the next read: the upstream now stays quiet for 10 s
        while (data := await reads.get()) is not None:
            yield data

    settings = StreamSettings(buffering=Buffering.SENTENCES, max_hold_ms=500)
    batches = read_batches(body(), StreamReader(settings, clock=clock))
    async with asyncio.timeout(5):
        assert await anext(batches) == ["Still thinking"]
        await reads.put(b'data: {"choices":[{"delta":{"content":". Done."}}]}\n\ndata: [DONE]\n\n')
        await reads.put(None)
        rest = [piece async for batch in batches for piece in batch]
    assert "".join(rest) == ". Done."


def test_a_reader_that_keeps_no_chunks_releases_the_same_text():
    body = b"".join(
        b'data: {"choices":[{"delta":{"content":"%s"}}]}\n\n' % text for text in (b"Hi", b" there")
    )
    kept, dropped = (StreamReader(StreamSettings(), keep_chunks=keep) for keep in (True, False))
    assert kept.feed(body) == dropped.feed(body) == ["Hi", " there"]
    assert (len(kept.chunks), len(dropped.chunks)) == (2, 0)

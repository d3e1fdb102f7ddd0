"""Choosing the framing, and ``type: auto``."""

from __future__ import annotations

import pytest

from sluice.streams.framing import AutoFramer, Framer, make_framer, sse_chunk
from sluice.streams.types import Chunk, StreamType


def frame(framer: Framer[Chunk], body: bytes, reads: int = 1) -> list[Chunk]:
    out: list[Chunk] = []
    step = max(1, len(body) // reads)
    for start in range(0, len(body), step):
        out += framer.decode(body[start : start + step])
    return out + framer.flush()


@pytest.mark.parametrize(
    ("content_type", "body", "expected"),
    [
        ("text/event-stream; charset=utf-8", b'data: {"a":1}\n\n', StreamType.SSE),
        ("text/event-stream", b': keepalive\n\ndata: {"a":1}\n\n', StreamType.SSE),
        ("text/event-stream", b'{"a": 1}\n\n{"a": 2}\n\n', StreamType.NDJSON),
        ("application/x-ndjson", b'{"a": 1}\n', StreamType.NDJSON),
        ("application/json", b'{"a": 1}\n', StreamType.NDJSON),
        ("text/plain", b'data: {"a":1}\n\n', StreamType.SSE),
        ("text/plain", b"Hello\nworld\n", StreamType.LINES),
        (None, b'\xef\xbb\xbf\n\n{"a": 1}\n', StreamType.NDJSON),
        (None, b"event: x\ndata: 1\n\n", StreamType.SSE),
        (None, b"just text", StreamType.LINES),
    ],
)
def test_auto_picks_framing(content_type, body, expected):
    framer = AutoFramer(content_type)
    chunks = frame(framer, body, reads=len(body))
    assert framer.resolved is expected
    assert chunks


def test_auto_waits_for_first_line_then_replays_it():
    framer = AutoFramer(None)
    assert framer.decode(b"da") == []
    assert framer.resolved is None
    chunks = framer.decode(b'ta: {"x": 1}\n\n')
    assert [c.data for c in chunks] == [{"x": 1}]


def test_auto_reports_resolution():
    seen: list[StreamType] = []
    framer = AutoFramer("text/plain", on_resolved=seen.append)
    frame(framer, b"a\nb\n")
    assert seen == [StreamType.LINES]


def test_sse_chunk_parses_json_and_keeps_text_otherwise():
    assert sse_chunk('{"a": 1}', "message", None, None) == Chunk({"a": 1}, '{"a": 1}', "message")
    done = sse_chunk("[DONE]", "message", None, None)
    assert done.data is done.raw == "[DONE]"
    assert sse_chunk("hello", "message", None, None).data == "hello"


def test_make_framer_fixed_types():
    assert [c.data for c in frame(make_framer(StreamType.LINES), b"a\nb")] == ["a", "b"]
    assert [c.data for c in frame(make_framer(StreamType.NDJSON), b"1\n2\n")] == [1, 2]
    assert [c.event for c in frame(make_framer(StreamType.SSE), b"data: 1\n\n")] == ["message"]

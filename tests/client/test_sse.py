"""The stream cursor without a network: wire payloads into typed events, resume policy."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sluice.client import (
    ChatError,
    End,
    Metadata,
    PredictionEvent,
    ResponseFormatError,
    Start,
    StreamError,
    StreamInterruptedError,
    Token,
)
from sluice.client._sse import CHAT, PREDICTION, StreamCursor

STREAM = (
    b'id: 1\nmessage:\ndata:{"event": "start", "data": "run-7"}\n\n'
    b": ping\n\n"
    b'id: 2\nmessage:\ndata:{"event": "token", "data": "H\xc3\xa9"}\n\n'
    b'id: 3\nmessage:\ndata:{"event": "agentReasoning", "data": []}\n\n'
    b'id: 4\nmessage:\ndata:{"event": "metadata", "data": {"chatId": "c", '
    b'"chatMessageId": "m"}}\n\n'
    b'id: 5\nmessage:\ndata:{"event": "error", "data": "boom"}\n\n'
    b'id: 6\nmessage:\ndata:{"event": "end", "data": "[DONE]"}\n\n'
    b'id: 7\nmessage:\ndata:{"event": "token", "data": "after the end"}\n\n'
)
EXPECTED = [
    Start("run-7", "1"),
    Token("Hé", "2"),
    Metadata("c", "m", None, None, "4"),
    StreamError("boom", "5"),
    End("6"),
]


def read_all(
    pieces: list[bytes],
) -> tuple[list[PredictionEvent], StreamCursor[PredictionEvent]]:
    cursor = StreamCursor(PREDICTION)
    cursor.connect({"content-type": "text/event-stream"})
    events: list[PredictionEvent] = []
    for piece in pieces:
        events += cursor.feed(piece)
    return events + cursor.flush(), cursor


@given(st.lists(st.integers(min_value=0, max_value=len(STREAM)), max_size=12))
def test_any_split_of_the_bytes_yields_the_same_events(cuts: list[int]):
    bounds = [0, *sorted(cuts), len(STREAM)]
    events, cursor = read_all([STREAM[a:b] for a, b in itertools.pairwise(bounds)])
    assert events == EXPECTED
    assert (cursor.run_id, cursor.last_event_id, cursor.is_done) == ("run-7", "6", True)


def test_run_id_comes_from_the_header_before_any_event():
    cursor = StreamCursor(PREDICTION)
    assert cursor.connect({"content-type": "text/event-stream", "x-run-id": "r1"})
    assert cursor.run_id == "r1"


def test_chat_events_read_their_fields():
    cursor = StreamCursor(CHAT)
    cursor.connect({"content-type": "text/event-stream"})
    events = cursor.feed(b'id: 9\ndata: {"type": "error", "code": "upstream", "message": "x"}\n\n')
    assert events == [ChatError("upstream", "x", "9")]


def test_event_data_that_is_not_json_raises_format_error():
    cursor = StreamCursor(PREDICTION)
    cursor.connect({"content-type": "text/event-stream"})
    with pytest.raises(ResponseFormatError):
        cursor.feed(b"data: [DONE]\n\n")


def test_resume_is_refused_without_a_run_id():
    cursor = StreamCursor(PREDICTION, max_resumes=3)
    with pytest.raises(StreamInterruptedError) as caught:
        cursor.resume_delay_s(cursor.interrupted())
    assert caught.value.run_id is None


def test_resume_failures_reset_when_events_arrive():
    cursor = StreamCursor(PREDICTION, run_id="r", max_resumes=1)
    cursor.connect({"content-type": "text/event-stream"})
    assert cursor.resume_delay_s(cursor.interrupted()) == 0.0
    cursor.feed(b'id: 1\ndata: {"event": "token", "data": "x"}\n\n')
    assert cursor.resume_delay_s(cursor.interrupted()) == 0.0
    with pytest.raises(StreamInterruptedError) as caught:
        cursor.resume_delay_s(cursor.interrupted())
    assert caught.value.last_event_id == "1"


def test_server_retry_field_sets_the_delay():
    cursor = StreamCursor(PREDICTION, run_id="r", max_resumes=1)
    cursor.connect({"content-type": "text/event-stream"})
    cursor.feed(b'retry: 1500\nid: 1\ndata: {"event": "token", "data": "x"}\n\n')
    assert cursor.resume_delay_s(cursor.interrupted()) == 1.5

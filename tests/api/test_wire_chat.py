"""The chat API's event stream and JSON body: golden bytes, batches, tokens left out."""

from __future__ import annotations

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from sluice.api.wire import KEEP_ALIVE, ChatContext, render_chat_json, render_chat_sse
from sluice.events import (
    End,
    Error,
    Event,
    Final,
    Saved,
    SourceDocument,
    Sources,
    Start,
    Status,
    Token,
    ToolEnd,
    ToolStart,
    ToolUse,
    Transcription,
)
from sluice.runs.log import LogEntry
from sluice.streams.sse import SSEDecoder

CONTEXT = ChatContext(chat_instance_id="ci-1", message_id="m-1")
DOC = SourceDocument("p", {"source": "s"})

GOLDEN: list[tuple[Event, bytes]] = [
    (
        Start("r-1"),
        b'id: 3\ndata: {"type":"stream_start","runId":"r-1","messageId":"m-1",'
        b'"chatInstanceId":"ci-1"}\n\n',
    ),
    (Token(" Hi"), b'id: 3\ndata: {"type":"token","content":" Hi"}\n\n'),
    (Status("searching"), b'id: 3\ndata: {"type":"status","content":"searching"}\n\n'),
    (
        ToolStart("calc", {"x": 1}, "c1"),
        b'id: 3\ndata: {"type":"tool_start","tool":"calc","input":{"x":1}}\n\n',
    ),
    (ToolEnd("calc", "2"), b'id: 3\ndata: {"type":"tool_end","tool":"calc","output":"2"}\n\n'),
    (
        ToolEnd("calc", "", error="bad"),
        b'id: 3\ndata: {"type":"tool_end","tool":"calc","output":"","error":"bad"}\n\n',
    ),
    (Transcription("hello"), b'id: 3\ndata: {"type":"transcription","content":"hello"}\n\n'),
    (Sources((DOC,)), b""),
    (
        Final("Hi", tools=(ToolUse("calc", {"x": 1}, "2"),), sources=(DOC,), usage={"n": 1}),
        b'id: 3\ndata: {"type":"agent_response","content":"Hi","tools":[{"tool":"calc",'
        b'"input":{"x":1},"output":"2"}],"sources":[{"pageContent":"p","metadata":'
        b'{"source":"s"}}],"usage":{"n":1},"reason":"complete"}\n\n',
    ),
    (Saved("m-1"), b'id: 3\ndata: {"type":"message_saved","messageId":"m-1"}\n\n'),
    (
        Error("timeout", "too slow"),
        b'id: 3\ndata: {"type":"error","message":"too slow","code":"timeout"}\n\n',
    ),
    (End(), b'id: 3\ndata: {"type":"stream_end"}\n\n'),
]


@pytest.mark.parametrize(("event", "expected"), GOLDEN)
def test_each_event_renders_to_its_chat_message(event: Event, expected: bytes):
    assert render_chat_sse([(3, event)], CONTEXT) == expected


def test_without_tokens_only_token_messages_are_left_out():
    run: list[Event] = [Start("r"), Token("a"), Status("s"), Token("b"), Final("ab"), End()]
    batch: list[LogEntry] = list(enumerate(run, 1))
    without = render_chat_sse(batch, CONTEXT, include_tokens=False)
    expected = b"".join(
        render_chat_sse([entry], CONTEXT) for entry in batch if not isinstance(entry[1], Token)
    )
    assert without == expected


events = st.one_of(
    st.text().map(Token),
    st.builds(Start, st.one_of(st.none(), st.text())),
    st.text().map(Status),
    st.text().map(Transcription),
    st.builds(ToolStart, st.text(), st.dictionaries(st.text(), st.integers(-(2**63), 2**64 - 1))),
    st.builds(ToolEnd, st.text(), st.text()),
    st.builds(Error, st.text(), st.text()),
    st.builds(Final, st.text()),
    st.text().map(Saved),
    st.just(End()),
)


@given(st.lists(events), st.booleans())
def test_a_batch_renders_to_the_concatenation_of_its_events(
    batch_events: list[Event], include_tokens: bool
):
    batch: list[LogEntry] = list(enumerate(batch_events, 1))
    expected = b"".join(
        render_chat_sse([entry], CONTEXT, include_tokens=include_tokens) for entry in batch
    )
    assert render_chat_sse(batch, CONTEXT, include_tokens=include_tokens) == expected


@given(st.lists(events))
def test_the_stream_round_trips_through_an_event_stream_parser(batch_events: list[Event]):
    batch: list[LogEntry] = list(enumerate(batch_events, 1))
    body = KEEP_ALIVE + render_chat_sse(batch, CONTEXT)
    decoder = SSEDecoder()
    frames = decoder.decode(body) + decoder.flush()
    kinds = [orjson.loads(frame.data)["type"] for frame in frames]
    assert len(kinds) == len(batch_events)
    texts = [
        orjson.loads(f.data)["content"] for f in frames if b'"type":"token"' in f.data.encode()
    ]
    assert texts == [event.text for event in batch_events if isinstance(event, Token)]
    if batch_events:
        assert decoder.last_event_id == str(len(batch_events))


def test_json_body_of_a_whole_run():
    run: list[Event] = [
        Start("r-1"),
        Token("4"),
        Final("4", tools=(ToolUse("calc", {"x": 1}, "4"),), sources=(DOC,), usage={"n": 2}),
        Saved("m-9"),
        End(),
    ]
    assert orjson.loads(render_chat_json(run, CONTEXT)) == {
        "content": "4",
        "messageId": "m-9",
        "chatInstanceId": "ci-1",
        "runId": "r-1",
        "tools": [{"tool": "calc", "input": {"x": 1}, "output": "4"}],
        "sources": [{"pageContent": "p", "metadata": {"source": "s"}}],
        "usage": {"n": 2},
        "reason": "complete",
        "error": None,
    }


def test_json_body_of_a_failed_run_names_the_error():
    run: list[Event] = [Start("r"), Token("par"), Error("stream_cut", "cut"), End()]
    body = orjson.loads(render_chat_json(run, CONTEXT))
    assert (body["content"], body["reason"], body["messageId"]) == ("par", "error", "m-1")
    assert body["error"] == {"message": "cut", "code": "stream_cut"}

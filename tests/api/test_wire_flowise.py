"""Flowise's prediction stream and JSON body: golden bytes, batches, and a parse round trip."""

from __future__ import annotations

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from sluice.api.wire import KEEP_ALIVE, FlowiseContext, render_flowise_json, render_flowise_sse
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

CONTEXT = FlowiseContext(chat_id="c-1", question="Hi?", session_id="c-1")
DOC = SourceDocument("Paris is in France.", {"source": "a.md"})
TOOL = ToolUse("search", {"q": "x"}, "found")

GOLDEN: list[tuple[Event, bytes]] = [
    (Start("r-1"), b'id: 7\nmessage:\ndata:{"event":"start","data":"r-1"}\n\n'),
    (Start(), b'id: 7\nmessage:\ndata:{"event":"start","data":""}\n\n'),
    (Token(" Hello"), b'id: 7\nmessage:\ndata:{"event":"token","data":" Hello"}\n\n'),
    (
        Token('é "q"\n'),
        b'id: 7\nmessage:\ndata:{"event":"token","data":"\xc3\xa9 \\"q\\"\\n"}\n\n',
    ),
    (
        Sources((DOC,)),
        b'id: 7\nmessage:\ndata:{"event":"sourceDocuments","data":[{"pageContent":'
        b'"Paris is in France.","metadata":{"source":"a.md"}}]}\n\n',
    ),
    (Final("Hello"), b""),
    (
        Final("Hello", tools=(TOOL,), usage={"total_tokens": 3}),
        b'message:\ndata:{"event":"usedTools","data":[{"tool":"search","toolInput":{"q":"x"},'
        b'"toolOutput":"found"}]}\n\n'
        b'id: 7\nmessage:\ndata:{"event":"usageMetadata","data":{"total_tokens":3}}\n\n',
    ),
    (
        Final("He", reason="aborted"),
        b'id: 7\nmessage\ndata:{"event":"abort","data":"[DONE]"}\n\n',
    ),
    (
        Saved("m-1"),
        b'id: 7\nmessage:\ndata:{"event":"metadata","data":{"chatId":"c-1",'
        b'"chatMessageId":"m-1","question":"Hi?","sessionId":"c-1"}}\n\n',
    ),
    (
        Error("timeout", "upstream gap timeout after 5 s"),
        b'id: 7\nmessage\ndata:{"event":"error","data":"upstream gap timeout after 5 s"}\n\n',
    ),
    (End(), b'id: 7\nmessage\ndata:{"event":"end","data":"[DONE]"}\n\n'),
    (Status("thinking"), b""),
    (ToolStart("search", {"q": "x"}), b""),
    (ToolEnd("search", "found"), b""),
    (Transcription("hello"), b""),
]


@pytest.mark.parametrize(("event", "expected"), GOLDEN)
def test_each_event_renders_as_flowise_writes_it(event: Event, expected: bytes):
    assert render_flowise_sse([(7, event)], CONTEXT) == expected


def test_a_failed_tool_keeps_its_error():
    final = Final("", tools=(ToolUse("t", {}, "", error="boom"),))
    data = render_flowise_sse([(1, final)], CONTEXT).split(b"data:", 1)[1]
    assert orjson.loads(data)["data"] == [
        {"tool": "t", "toolInput": {}, "toolOutput": "", "error": "boom"}
    ]


def test_metadata_leaves_out_empty_fields_as_flowise_does():
    context = FlowiseContext(chat_id="c-1", question="")
    data = render_flowise_sse([(1, Saved("m-1"))], context).split(b"data:", 1)[1]
    assert orjson.loads(data)["data"] == {"chatId": "c-1", "chatMessageId": "m-1"}


events = st.one_of(
    st.text().map(Token),
    st.builds(Start, st.one_of(st.none(), st.text())),
    st.text().map(Status),
    st.builds(Error, st.text(), st.text()),
    st.builds(Final, st.text(), reason=st.sampled_from(["complete", "error", "aborted"])),
    st.text(min_size=1).map(Saved),
    st.just(Sources((DOC,))),
    st.just(End()),
)


@given(st.lists(events))
def test_a_batch_renders_to_the_concatenation_of_its_events(batch_events: list[Event]):
    batch: list[LogEntry] = list(enumerate(batch_events, 1))
    expected = b"".join(render_flowise_sse([entry], CONTEXT) for entry in batch)
    assert render_flowise_sse(batch, CONTEXT) == expected


@given(st.lists(st.text()), st.integers(min_value=0, max_value=200))
def test_the_stream_round_trips_through_an_event_stream_parser(texts: list[str], cut: int):
    run: list[Event] = [Start("r-1"), *map(Token, texts), Final("".join(texts)), End()]
    body = render_flowise_sse(list(enumerate(run, 1)), CONTEXT) + KEEP_ALIVE
    decoder = SSEDecoder()
    cut = min(cut, len(body))
    frames = decoder.decode(body[:cut]) + decoder.decode(body[cut:]) + decoder.flush()
    messages = [orjson.loads(frame.data) for frame in frames]
    assert messages[0] == {"event": "start", "data": "r-1"}
    assert "".join(m["data"] for m in messages if m["event"] == "token") == "".join(texts)
    assert messages[-1] == {"event": "end", "data": "[DONE]"}
    assert decoder.last_event_id == str(len(run))


def test_every_data_line_is_json_as_the_flowise_sdk_reads_it():
    run: list[Event] = [Start("r"), Token("a\nb"), Sources((DOC,)), Saved("m"), End()]
    body = render_flowise_sse(list(enumerate(run, 1)), CONTEXT)
    lines = [line for line in body.decode().splitlines() if line.startswith("data:")]
    # flowise==1.0.4 yields line.replace("data:", "").strip() for each such line.
    assert [orjson.loads(line.removeprefix("data:"))["event"] for line in lines] == [
        "start",
        "token",
        "sourceDocuments",
        "metadata",
        "end",
    ]


def test_json_body_has_flowise_fields():
    run: list[Event] = [
        Start("r-1"),
        Token("Hel"),
        Token("lo"),
        Final("Hello", tools=(TOOL,), sources=(DOC,)),
        Saved("m-1"),
        End(),
    ]
    assert orjson.loads(render_flowise_json(run, CONTEXT)) == {
        "text": "Hello",
        "question": "Hi?",
        "chatId": "c-1",
        "chatMessageId": "m-1",
        "sessionId": "c-1",
        "sourceDocuments": [{"pageContent": "Paris is in France.", "metadata": {"source": "a.md"}}],
        "usedTools": [{"tool": "search", "toolInput": {"q": "x"}, "toolOutput": "found"}],
    }


def test_json_body_without_final_joins_the_tokens_and_leaves_out_empty_lists():
    body = render_flowise_json([Start("r"), Token("a"), Token("b"), End()], CONTEXT)
    assert body == (
        b'{"text":"ab","question":"Hi?","chatId":"c-1","chatMessageId":null,"sessionId":"c-1"}'
    )


PROGRESS = FlowiseContext(chat_id="c-1", question="Hi?", session_id="c-1", has_progress=True)


@pytest.mark.parametrize(
    ("event", "expected"),
    [
        (
            Status("Searching…"),
            b'id: 7\nmessage:\ndata:{"event":"status","data":"Searching\xe2\x80\xa6"}\n\n',
        ),
        (
            ToolStart("search", {"q": "x"}),
            b'id: 7\nmessage:\ndata:{"event":"toolStart","data":{"tool":"search",'
            b'"input":{"q":"x"}}}\n\n',
        ),
        (
            ToolEnd("search", "found"),
            b'id: 7\nmessage:\ndata:{"event":"toolEnd","data":{"tool":"search",'
            b'"output":"found"}}\n\n',
        ),
        (
            ToolEnd("search", "", error="boom"),
            b'id: 7\nmessage:\ndata:{"event":"toolEnd","data":{"tool":"search","output":"",'
            b'"error":"boom"}}\n\n',
        ),
        (Transcription("hello"), b""),
    ],
)
def test_progress_messages_are_written_only_when_asked(event: Event, expected: bytes):
    assert render_flowise_sse([(7, event)], PROGRESS) == expected
    assert render_flowise_sse([(7, event)], CONTEXT) == b""


@pytest.mark.parametrize(("event", "expected"), GOLDEN)
def test_asking_for_progress_leaves_every_flowise_message_as_it_was(event: Event, expected: bytes):
    if not isinstance(event, Status | ToolStart | ToolEnd):
        assert render_flowise_sse([(7, event)], PROGRESS) == expected

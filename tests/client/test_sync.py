"""The blocking client against the stub server: streams, replies, resume, abort, errors."""

from __future__ import annotations

import pytest

from sluice.client import (
    AuthenticationError,
    End,
    Metadata,
    NotFoundError,
    Prediction,
    PredictionEvent,
    SluiceClient,
    SluiceConnectionError,
    SourceDocument,
    SourceDocuments,
    Start,
    StreamError,
    StreamInterruptedError,
    Token,
    UsageMetadata,
    UsedTool,
    UsedTools,
    ValidationError,
)
from tests.client.server import DOCUMENTS, TOKENS, USAGE, StubServer

ANSWER = "".join(TOKENS)


def text_of(events: list[PredictionEvent]) -> str:
    return "".join(event.text for event in events if isinstance(event, Token))


def client_run_id(events: list[PredictionEvent]) -> str:
    start = events[0]
    assert isinstance(start, Start)
    return start.run_id


def test_predict_streams_typed_events_in_order(client: SluiceClient):
    with client.predict("f1", "hello") as stream:
        events = list(stream)
    assert [type(e) for e in events] == [
        Start, Token, Token, Token, SourceDocuments, UsedTools, UsageMetadata, Metadata, End
    ]  # fmt: skip
    assert text_of(events) == ANSWER
    assert [e.event_id for e in events] == [str(n) for n in range(1, 10)]
    start = events[0]
    assert isinstance(start, Start)
    assert stream.run_id == start.run_id
    assert stream.last_event_id == "9"


def test_streamed_details_are_typed(client: SluiceClient):
    events = list(client.predict("f1", "hello"))
    docs = next(e for e in events if isinstance(e, SourceDocuments))
    tools = next(e for e in events if isinstance(e, UsedTools))
    usage = next(e for e in events if isinstance(e, UsageMetadata))
    meta = next(e for e in events if isinstance(e, Metadata))
    assert docs.documents == (SourceDocument("A passage", {"source": "a.md"}),)
    assert tools.tools == (UsedTool("search", {"q": "x"}, "found"),)
    assert usage.usage == USAGE
    assert meta.message_id == f"msg-{client_run_id(events)}"
    assert meta.chat_id is not None


def test_request_carries_the_flowise_body(client: SluiceClient, server: StubServer):
    history = [{"role": "userMessage", "content": "hi"}]
    list(client.predict("f1", "hello", chat_id="c9", vars={"lang": "fr"}, history=history))
    method, path, headers, body = server.requests[-1]
    assert (method, path) == ("POST", "/api/v1/prediction/f1")
    assert headers["Accept"] == "text/event-stream"
    assert body == (
        b'{"question":"hello","streaming":true,"chatId":"c9",'
        b'"overrideConfig":{"vars":{"lang":"fr"}},"history":[{"role":"userMessage","content":"hi"}]}'
    )


def test_predict_without_streaming_returns_the_whole_prediction(client: SluiceClient):
    reply = client.predict("f1", "hello", stream=False, chat_id="c1")
    assert isinstance(reply, Prediction)
    assert (reply.text, reply.chat_id, reply.question) == (ANSWER, "c1", "hello")
    assert reply.source_documents == (SourceDocument("A passage", {"source": "a.md"}),)


def test_flow_that_cannot_stream_still_yields_events(client: SluiceClient):
    events = list(client.predict("f1", "whole"))
    assert [type(e) for e in events] == [Token, SourceDocuments, UsedTools, Metadata, End]
    assert text_of(events) == ANSWER
    assert (
        len(events[1].documents) == len(DOCUMENTS)
        if isinstance(events[1], SourceDocuments)
        else False
    )


def test_error_after_start_is_an_event_followed_by_end(client: SluiceClient):
    events = list(client.predict("f1", "boom"))
    assert events[-2:] == [StreamError("upstream failed", "3"), End("4")]


def test_dropped_stream_raises_with_its_resume_position(client: SluiceClient):
    received: list[PredictionEvent] = []
    with pytest.raises(StreamInterruptedError) as caught:
        received.extend(client.predict("f1", "cut"))
    assert caught.value.last_event_id == "3"
    assert caught.value.run_id is not None
    rest = list(client.resume(caught.value.run_id, caught.value.last_event_id))
    assert rest[0].event_id == "4"
    assert text_of(received + rest) == ANSWER
    assert isinstance(rest[-1], End)


def test_auto_resume_reconnects_with_last_event_id(client: SluiceClient, server: StubServer):
    events = list(client.predict("f1", "cut", auto_resume=True))
    assert [e.event_id for e in events] == [str(n) for n in range(1, 10)]
    assert text_of(events) == ANSWER
    method, path, headers, _ = server.requests[-1]
    assert (method, headers["Last-Event-ID"]) == ("GET", "3")
    assert path.endswith("/events")


def test_auto_resume_gives_up_after_max_resumes(server: StubServer):
    with SluiceClient(server.url, timeout=5.0, max_resumes=2) as client:
        stream = client.predict("f1", "drop", auto_resume=True)
        with pytest.raises(StreamInterruptedError) as caught:
            list(stream)
    assert caught.value.last_event_id == "3"
    assert sum(path.endswith("/events") for _, path, _, _ in server.requests) == 2


def test_resume_of_unknown_run_raises_not_found(client: SluiceClient):
    with pytest.raises(NotFoundError) as caught:
        client.resume("run-nope", 3)
    assert caught.value.code == "run_not_found"


def test_abort_stops_a_running_stream(client: SluiceClient, server: StubServer):
    with client.predict("f1", "slow") as stream:
        start, token = next(stream), next(stream)
        assert server.waiting.wait(5)
        assert isinstance(start, Start)
        assert isinstance(token, Token)
        assert stream.run_id is not None
        assert client.abort(stream.run_id) is True
        rest = list(stream)
    assert server.aborted.is_set()
    assert [type(e) for e in rest] == [StreamError, End]


def test_closing_a_stream_early_stops_iteration(client: SluiceClient):
    stream = client.predict("f1", "slow")
    assert isinstance(next(stream), Start)
    stream.close()
    assert list(stream) == []


def test_unknown_flow_raises_not_found_with_the_server_code(client: SluiceClient):
    with pytest.raises(NotFoundError) as caught:
        client.predict("nope", "hello")
    assert (caught.value.status, caught.value.code) == (404, "flow_not_found")


def test_empty_question_raises_validation_error_naming_the_field(client: SluiceClient):
    with pytest.raises(ValidationError) as caught:
        client.predict("f1", "", stream=False)
    assert (caught.value.status, caught.value.field) == (422, "question")
    assert "question must not be empty" in str(caught.value)


def test_api_key_is_sent_as_bearer(server: StubServer):
    server.api_key = "s3cret"
    with SluiceClient(server.url, api_key="s3cret", timeout=5.0) as client:
        assert client.list_flows()[0].id == "f1"
        assert "s3cret" not in repr(client)


def test_wrong_api_key_raises_authentication_error(server: StubServer):
    server.api_key = "s3cret"
    with SluiceClient(server.url, api_key="wrong", timeout=5.0) as client:
        with pytest.raises(AuthenticationError) as caught:
            client.predict("f1", "hello")
    assert caught.value.status == 401


def test_unreachable_server_raises_connection_error(server: StubServer):
    url = server.url
    server.stop()
    with SluiceClient(url, timeout=5.0) as client, pytest.raises(SluiceConnectionError):
        client.list_flows()

"""Flows, stored messages and the chat API through the blocking client."""

from __future__ import annotations

import pytest

from sluice.client import (
    AgentResponse,
    ChatEvent,
    ChatReply,
    ChatToken,
    MessageSaved,
    NotFoundError,
    SluiceClient,
    StreamEnd,
    StreamInterruptedError,
    StreamStart,
    ToolEnd,
    ToolStart,
)
from tests.client.server import TOKENS, StubServer

ANSWER = "".join(TOKENS)


def chat_text(events: list[ChatEvent]) -> str:
    return "".join(e.content for e in events if isinstance(e, ChatToken))


def test_flows_can_be_created_read_updated_and_deleted(client: SluiceClient):
    created = client.create_flow({"id": "support", "kind": "flow", "nodes": []}, name="Support")
    assert (created.id, created.name, created.document["kind"]) == ("support", "Support", "flow")
    assert {flow.id for flow in client.list_flows()} == {"f1", "support"}
    updated = client.update_flow("support", {"kind": "flow", "nodes": [{"id": "a"}]})
    assert updated.document["nodes"] == [{"id": "a"}]
    assert client.get_flow("support") == updated
    client.delete_flow("support")
    with pytest.raises(NotFoundError):
        client.get_flow("support")


def test_messages_of_one_chat(client: SluiceClient, server: StubServer):
    list(client.predict("f1", "hello", chat_id="c1"))
    list(client.predict("f1", "again", chat_id="c2"))
    messages = client.messages("f1", "c1")
    assert [(m.role, m.content, m.chat_id) for m in messages] == [("userMessage", "hello", "c1")]
    assert server.requests[-1][1] == "/api/v1/chatmessage/f1?chatId=c1"


def test_chat_streams_chat_api_events(client: SluiceClient, server: StubServer):
    with client.chat("hello", chat_instance_id="ci", model_id="m") as stream:
        events = list(stream)
    kinds = [type(e) for e in events]
    assert kinds[0] is StreamStart
    assert kinds[-3:] == [AgentResponse, MessageSaved, StreamEnd]
    assert ToolStart in kinds
    assert ToolEnd in kinds
    assert chat_text(events) == ANSWER
    start = events[0]
    assert isinstance(start, StreamStart)
    assert (start.chat_instance_id, stream.run_id) == ("ci", start.run_id)
    _, path, _, body = server.requests[-1]
    assert path == "/api/chat?stream=true&includeTokens=true"
    assert body == (
        b'{"message":"hello","stream":true,"includeTokens":true,'
        b'"chatInstanceId":"ci","chatModelId":"m"}'
    )


def test_chat_without_streaming_returns_the_reply(client: SluiceClient):
    reply = client.chat("hello", stream=False)
    assert isinstance(reply, ChatReply)
    assert reply.content == ANSWER
    assert reply.run_id is not None


def test_chat_stream_resumes_after_a_drop(client: SluiceClient):
    received: list[ChatEvent] = []
    with pytest.raises(StreamInterruptedError) as caught:
        received.extend(client.chat("cut"))
    run_id, last = caught.value.run_id, caught.value.last_event_id
    assert run_id is not None
    rest = list(client.resume_chat(run_id, last))
    assert chat_text(received + rest) == ANSWER
    assert isinstance(rest[-1], StreamEnd)

"""The server end to end: real uvicorn, real upstream, real clients, SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from typing import Any

import orjson
import pytest
from flowise import Flowise, PredictionData

from sluice.streams.sse import SSEDecoder
from sluice.streams.types import SSEEvent
from tests.api.conftest import Server

pytestmark = pytest.mark.anyio


def delta(text: str) -> bytes:
    return b'data: {"choices":[{"delta":{"content":' + orjson.dumps(text) + b"}}]}\n\n"


DONE = b"data: [DONE]\n\n"


def flowise_events(body: bytes) -> list[dict[str, Any]]:
    decoder: SSEDecoder[SSEEvent] = SSEDecoder()
    return [orjson.loads(e.data) for e in decoder.decode(body) + decoder.flush()]


async def stored(server: Server, flow_id: str, chat_id: str) -> list[dict[str, Any]]:
    async with server.client() as client:
        response = await client.get(f"/api/v1/chatmessage/{flow_id}", params={"chatId": chat_id})
    assert response.status_code == 200, response.text
    messages: list[dict[str, Any]] = response.json()
    return messages


async def test_flowise_sdk_streams_every_token_in_order(server: Server):
    words = ["Stream", "ing ", "works", " fine."]
    server.upstream.reply([*(delta(w) for w in words), DONE])
    client = Flowise(base_url=server.url)
    data = PredictionData(chatflowId="relay", question="hi", streaming=True, chatId="sdk-chat")

    def run() -> list[dict[str, Any]]:
        return [orjson.loads(line) for line in client.create_prediction(data)]

    events = await asyncio.wait_for(asyncio.to_thread(run), 20)
    names = [e["event"] for e in events]
    assert names[0] == "start"
    assert names[-1] == "end"
    assert names.index("metadata") > max(i for i, n in enumerate(names) if n == "token")
    assert "".join(e["data"] for e in events if e["event"] == "token") == "".join(words)
    metadata = next(e["data"] for e in events if e["event"] == "metadata")
    assert metadata["chatId"] == "sdk-chat"
    messages = await stored(server, "relay", "sdk-chat")
    assert [(m["role"], m["content"], m["status"]) for m in messages] == [
        ("userMessage", "hi", "complete"),
        ("apiMessage", "Streaming works fine.", "complete"),
    ]
    assert messages[1]["id"] == metadata["chatMessageId"]
    assert messages[1]["ttftMs"] is not None


async def test_flowise_sdk_gets_the_json_answer_without_streaming(server: Server):
    server.upstream.reply([delta("Whole "), delta("answer."), DONE])
    client = Flowise(base_url=server.url)
    data = PredictionData(chatflowId="relay", question="hi", streaming=False)
    (answer,) = await asyncio.wait_for(
        asyncio.to_thread(lambda: list(client.create_prediction(data))), 20
    )
    assert answer["text"] == "Whole answer."
    assert answer["question"] == "hi"
    assert answer["chatId"]
    assert answer["chatMessageId"]


async def test_flow_that_cannot_stream_answers_with_json(server: Server):
    async with server.client() as client:
        response = await client.post(
            "/api/v1/prediction/whole", json={"question": "x", "streaming": "true"}
        )
    assert response.headers["content-type"].startswith("application/json")
    assert response.json()["text"] == "all at once"


async def test_stream_has_run_id_header_and_no_buffering_headers(server: Server):
    server.upstream.reply([delta("a"), DONE])
    async with server.client() as client:
        async with client.stream(
            "POST", "/api/v1/prediction/relay", json={"question": "q", "streaming": True}
        ) as r:
            body = await r.aread()
    assert r.headers["cache-control"] == "no-cache"
    assert r.headers["x-accel-buffering"] == "no"
    assert r.headers["content-type"].startswith("text/event-stream")
    events = flowise_events(body)
    assert events[0] == {"event": "start", "data": r.headers["x-run-id"]}


async def test_chat_api_streams_events_in_order_with_and_without_tokens(server: Server):
    from tests.providers.fake_llm import Turn

    server.llm.reply(
        Turn(text=["Hi ", "there."]), Turn(text=["Hi ", "there."]), Turn(text=["Hi ", "there."])
    )
    bodies = {}
    async with server.client() as client:
        for include in ("true", "false"):
            response = await client.post(
                "/api/chat",
                params={"stream": "true", "includeTokens": include},
                json={"message": "hello", "chatModelId": "fake"},
            )
            bodies[include] = [
                orjson.loads(e["data"]) if isinstance(e, dict) else e
                for e in _data(response.content)
            ]
        whole = await client.post("/api/chat", json={"message": "hello", "chatModelId": "fake"})
    types = [e["type"] for e in bodies["true"]]
    assert types[0] == "stream_start"
    assert types[-3:] == ["agent_response", "message_saved", "stream_end"]
    assert "".join(e["content"] for e in bodies["true"] if e["type"] == "token") == "Hi there."
    assert "token" not in [e["type"] for e in bodies["false"]]
    assert [t for t in types if t != "token"] == [e["type"] for e in bodies["false"]]
    agent_response = next(e for e in bodies["true"] if e["type"] == "agent_response")
    assert agent_response["content"] == whole.json()["content"] == "Hi there."


def _data(body: bytes) -> list[dict[str, Any]]:
    decoder: SSEDecoder[SSEEvent] = SSEDecoder()
    return [{"data": e.data, "id": e.id} for e in decoder.decode(body) + decoder.flush()]


async def test_dropped_stream_resumes_with_exactly_the_missing_text(server: Server):
    hold = asyncio.Event()
    words = [f"w{i} " for i in range(12)]
    server.upstream.reply(
        [*(delta(w) for w in words[:6]), hold, *(delta(w) for w in words[6:]), DONE]
    )
    seen: list[str] = []
    last_id = None
    async with server.client() as client:
        async with client.stream(
            "POST", "/api/v1/prediction/relay", json={"question": "q", "streaming": True}
        ) as r:
            run_id = r.headers["x-run-id"]
            decoder: SSEDecoder[SSEEvent] = SSEDecoder()
            async for raw in r.aiter_raw():
                for event in decoder.decode(raw):
                    payload = orjson.loads(event.data)
                    if payload["event"] == "token":
                        seen.append(payload["data"])
                    last_id = event.id
                if len("".join(seen).split()) >= 3:
                    break  # the connection drops here, mid-answer
        hold.set()
        async with client.stream(
            "GET", f"/api/v1/runs/{run_id}/events", headers={"Last-Event-ID": str(last_id)}
        ) as resumed:
            rest = flowise_events(await resumed.aread())
    seen += [e["data"] for e in rest if e["event"] == "token"]
    assert "".join(seen) == "".join(words)
    assert rest[-1]["event"] == "end"


async def test_abort_stops_the_upstream_and_stores_the_partial_answer(server: Server):
    hold = asyncio.Event()
    server.upstream.reply([delta("Half "), delta("an "), hold, delta("answer"), DONE])
    async with server.client() as client:
        async with client.stream(
            "POST",
            "/api/v1/prediction/relay",
            json={"question": "q", "streaming": True, "chatId": "ab"},
        ) as r:
            run_id = r.headers["x-run-id"]
            decoder: SSEDecoder[SSEEvent] = SSEDecoder()
            said = ""
            async for raw in r.aiter_raw():
                for event in decoder.decode(raw):
                    payload = orjson.loads(event.data)
                    if payload["event"] == "token":
                        said += payload["data"]
                if said == "Half an ":  # one token or two: one upstream read or two
                    break
        response = await client.post(f"/api/v1/runs/{run_id}/abort")
        assert response.json() == {"runId": run_id, "aborted": True}
    async with asyncio.timeout(5):
        await server.upstream.disconnected.wait()
    (_, bot) = await stored(server, "relay", "ab")
    assert (bot["status"], bot["content"]) == ("aborted", "Half an ")


async def test_upstream_failure_is_an_error_event_and_stored_as_error(server: Server):
    server.upstream.reply([delta("So far"), b'data: {"error": {"message": "overloaded"}}\n\n'])
    async with server.client() as client:
        response = await client.post(
            "/api/v1/prediction/relay", json={"question": "q", "streaming": True, "chatId": "err"}
        )
    events = flowise_events(response.content)
    assert next(e for e in events if e["event"] == "error")["data"] == "overloaded"
    assert events[-1]["event"] == "end"
    (_, bot) = await stored(server, "relay", "err")
    assert (bot["status"], bot["content"], bot["error"]) == ("error", "So far", "overloaded")


async def test_client_gone_run_still_finishes_and_is_stored(server: Server):
    hold = asyncio.Event()
    server.upstream.reply([delta("one "), hold, delta("two"), DONE])
    async with server.client() as client:
        async with client.stream(
            "POST",
            "/api/v1/prediction/relay",
            json={"question": "q", "streaming": True, "chatId": "gone"},
        ) as r:
            run_id = r.headers["x-run-id"]
            async for raw in r.aiter_raw():
                if b'"token"' in raw:
                    break
        hold.set()
        async with client.stream("GET", f"/api/v1/runs/{run_id}/events") as follow:
            await follow.aread()  # ends when the run has ended
    (_, bot) = await stored(server, "relay", "gone")
    assert (bot["status"], bot["content"]) == ("complete", "one two")


async def test_stop_on_disconnect_flow_is_aborted_when_the_client_leaves(server: Server):
    hold = asyncio.Event()
    server.upstream.reply([delta("one "), hold, delta("two"), DONE])
    async with server.client() as client:
        async with client.stream(
            "POST", "/api/v1/prediction/relay-stop", json={"question": "q", "streaming": True}
        ) as r:
            async for raw in r.aiter_raw():
                if b'"token"' in raw:
                    break
    async with asyncio.timeout(5):
        await server.upstream.disconnected.wait()


@pytest.mark.parametrize(
    ("method", "path", "body", "status", "code"),
    [
        ("POST", "/api/v1/prediction/nope", {"question": "x"}, 404, "flow_not_found"),
        ("POST", "/api/v1/prediction/relay", b'{"question": ', 422, "invalid_request"),
        ("POST", "/api/v1/prediction/relay", {"question": 5}, 422, "invalid_request"),
        ("POST", "/api/v1/prediction/relay", {}, 422, "invalid_request"),
        ("POST", "/api/v1/prediction/private", {"question": "x"}, 401, "unauthorized"),
        ("GET", "/api/v1/chatflows", None, 401, "unauthorized"),
        ("POST", "/api/v1/prediction/relay", {"question": "x" * 70_000}, 413, "body_too_large"),
        ("GET", "/api/v1/runs/nope/events", None, 404, "run_not_found"),
        ("POST", "/api/chat", {"message": "x", "chatModelId": "nope"}, 404, "model_not_found"),
    ],
)
async def test_bad_input_gets_a_clear_error_and_the_server_keeps_serving(
    server: Server, method: str, path: str, body: Any, status: int, code: str
):
    async with server.client() as client:
        content = (
            body if isinstance(body, bytes) else (orjson.dumps(body) if body is not None else None)
        )
        response = await client.request(
            method, path, content=content, headers={"content-type": "application/json"}
        )
        assert response.status_code == status, response.text
        assert response.json()["error"]["code"] == code
        assert (await client.get("/api/v1/ping")).text == "pong"


async def test_api_key_opens_private_flows_and_admin_routes(server: Server):
    key = await server.state.db.keys.create_key("test")
    headers = {"Authorization": f"Bearer {key}"}
    async with server.client(headers=headers) as client:
        answer = await client.post("/api/v1/prediction/private", json={"question": "x"})
        assert answer.json()["text"] == "secret hello"
        created = await client.post(
            "/api/v1/chatflows",
            json={
                "flowData": {
                    "id": "made",
                    "public": True,
                    "nodes": [{"id": "s", "type": "say", "text": "made here"}],
                }
            },
        )
        assert created.status_code == 201, created.text
        listed = [flow["id"] for flow in (await client.get("/api/v1/chatflows")).json()]
        assert "made" in listed
        bad = await client.post(
            "/api/v1/chatflows",
            json={"flowData": {"id": "bad", "nodes": [{"id": "s", "type": "say"}]}},
        )
        assert bad.status_code == 400
        assert bad.json()["error"]["field"] == "nodes.s.text"
    async with server.client() as anonymous:
        made = await anonymous.post("/api/v1/prediction/made", json={"question": "x"})
        assert made.json()["text"] == "made here"
        wrong = await anonymous.get("/api/v1/chatflows", headers={"Authorization": "Bearer nope"})
        assert wrong.status_code == 401


async def test_chat_id_continues_the_conversation_from_the_store(server: Server):
    from tests.providers.fake_llm import Turn

    server.llm.reply(Turn(text=["First."]), Turn(text=["Second."]))
    async with server.client() as client:
        first = await client.post(
            "/api/chat", json={"message": "one", "chatModelId": "fake", "chatInstanceId": "conv"}
        )
        assert first.json()["content"] == "First."
        second = await client.post("/api/chat", json={"message": "two", "chatInstanceId": "conv"})
        assert second.json()["content"] == "Second."
    sent = server.llm.requests[1].body["messages"]
    assert [(m["role"], m["content"]) for m in sent] == [
        ("system", "You are a helpful assistant."),
        ("user", "one"),
        ("assistant", "First."),
        ("user", "two"),
    ]


async def test_text_said_so_far_is_saved_while_the_message_streams(server: Server):
    server.state.turns.checkpoint_s = 0.0  # save on every token (the default is every 2 s)
    hold = asyncio.Event()
    server.upstream.reply([delta("one "), hold, delta("two"), DONE])
    async with server.client() as client:
        async with client.stream(
            "POST", "/api/v1/prediction/relay", json={"question": "q", "streaming": True}
        ) as r:
            run_id = r.headers["x-run-id"]
            async for raw in r.aiter_raw():
                if b'"token"' in raw:
                    break
            turn = server.state.turns.turn(run_id)
            assert turn is not None
            assert turn.checkpoint is not None
            async with asyncio.timeout(5):
                await turn.checkpoint
            saved = await server.state.db.messages.get_message(turn.message_id)
            assert saved is not None
            assert (saved.status.value, saved.content) == ("streaming", "one ")
        hold.set()
        async with client.stream("GET", f"/api/v1/runs/{run_id}/events") as follow:
            await follow.aread()  # ends when the run has ended
    final = await server.state.db.messages.get_message(turn.message_id)
    assert final is not None
    assert (final.status.value, final.content) == ("complete", "one two")

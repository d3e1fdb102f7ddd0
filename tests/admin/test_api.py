"""The admin API on a real server: integrations, expressions, the Test stream, flows, chats."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import httpx
import orjson
import pytest

from sluice.streams.sse import SSEDecoder
from sluice.streams.types import SSEEvent
from tests.api.conftest import Server
from tests.api.test_server import DONE, delta

pytestmark = pytest.mark.anyio

ADMIN = "/api/v1/admin"


def echo_integration(server: Server, **stream: object) -> dict[str, Any]:
    document: dict[str, Any] = {
        "id": "echo",
        "request": {
            "url": f"{server.upstream.url}/v1/chat/completions",
            "body": {"stream": True, "messages": "{{ messages }}"},
        },
    }
    if stream:
        document["stream"] = stream
    return document


def client(server: Server, key: str) -> httpx.AsyncClient:
    return server.client(headers={"Authorization": f"Bearer {key}"})


async def test_admin_routes_need_an_api_key(server: Server):
    async with server.client() as anonymous:
        response = await anonymous.get(f"{ADMIN}/integrations")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "unauthorized"


async def test_admin_page_is_served_with_its_assets(server: Server):
    async with server.client() as anonymous:
        page = await anonymous.get("/admin")
        script = await anonymous.get("/admin/admin.js")
        missing = await anonymous.get("/admin/nothing.js")
    assert page.status_code == 200
    assert "Should stream response" in page.text
    assert script.headers["content-type"].startswith("text/javascript")
    assert missing.status_code == 404


async def test_integrations_are_created_read_updated_and_deleted(server: Server, admin_key: str):
    document = echo_integration(server, type="sse", mapping="openai", buffering="words")
    async with client(server, admin_key) as admin:
        created = await admin.post(f"{ADMIN}/integrations", json=document)
        assert created.status_code == 201, created.text
        listed = {i["id"]: i["source"] for i in (await admin.get(f"{ADMIN}/integrations")).json()}
        assert listed == {"relay": "file", "echo": "stored"}
        again = await admin.post(f"{ADMIN}/integrations", json=document)
        assert again.status_code == 409
        document["stream"]["buffering"] = "sentences"
        updated = await admin.put(f"{ADMIN}/integrations/echo", json=document)
        assert updated.status_code == 200, updated.text
        read = (await admin.get(f"{ADMIN}/integrations/echo")).json()
        assert read["document"]["stream"]["buffering"] == "sentences"
        assert (await admin.delete(f"{ADMIN}/integrations/echo")).json()["deleted"] is True
        assert (await admin.get(f"{ADMIN}/integrations/echo")).status_code == 404
        assert (await admin.delete(f"{ADMIN}/integrations/echo")).status_code == 404


async def test_an_invalid_integration_is_refused_naming_the_field(server: Server, admin_key: str):
    document = echo_integration(server, mapping="custom", expression="choices[0")
    async with client(server, admin_key) as admin:
        response = await admin.post(f"{ADMIN}/integrations", json=document)
    assert response.status_code == 400
    assert response.json()["error"]["field"] == "stream.expression"


async def test_a_file_integration_cannot_be_replaced(server: Server, admin_key: str):
    document = echo_integration(server)
    document["id"] = "relay"
    async with client(server, admin_key) as admin:
        response = await admin.post(f"{ADMIN}/integrations", json=document)
    assert response.status_code == 409
    assert response.json()["error"]["field"] == "id"


async def test_a_stored_flow_runs_a_stored_integration(server: Server, admin_key: str):
    flow = {"id": "echo-flow", "nodes": [{"id": "a", "type": "integration", "integration": "echo"}]}
    server.upstream.reply([delta("From "), delta("the store."), DONE])
    async with client(server, admin_key) as admin:
        document = echo_integration(server, mapping="openai")
        created = await admin.post(f"{ADMIN}/integrations", json=document)
        assert created.status_code == 201, created.text
        saved = await admin.post(
            "/api/v1/chatflows", json={"flowData": orjson.dumps(flow).decode()}
        )
        assert saved.status_code == 201, saved.text
        answer = await admin.post("/api/v1/prediction/echo-flow", json={"question": "hi"})
    assert answer.status_code == 200, answer.text
    assert answer.json()["text"] == "From the store."


@pytest.mark.parametrize(
    ("expression", "is_ok"), [("choices[0].delta.content", True), ("choices[0", False)]
)
async def test_expressions_are_checked(
    server: Server, admin_key: str, expression: str, is_ok: bool
):
    async with client(server, admin_key) as admin:
        response = await admin.post(f"{ADMIN}/expressions/check", json={"expression": expression})
    answer = response.json()
    assert answer["ok"] is is_ok
    if not is_ok:
        assert answer["message"]
        assert isinstance(answer["position"], int)


async def sse_events(response: httpx.Response) -> AsyncIterator[dict[str, Any]]:
    decoder: SSEDecoder[SSEEvent] = SSEDecoder()
    async for data in response.aiter_bytes():
        for event in decoder.decode(data):
            yield orjson.loads(event.data)


async def test_test_stream_shows_raw_chunks_before_any_text_is_released(
    server: Server, admin_key: str
):
    first, second = asyncio.Event(), asyncio.Event()
    server.upstream.reply([delta("Hel"), first, delta("lo world"), second, DONE])
    body = {"integration": echo_integration(server, mapping="openai", buffering="words")}
    seen: list[dict[str, Any]] = []
    async with asyncio.timeout(10), client(server, admin_key) as admin:
        async with admin.stream("POST", f"{ADMIN}/integrations/test", json=body) as response:
            assert response.status_code == 200
            async for event in sse_events(response):
                seen.append(event)
                if len(seen) == 1:  # "Hel" is held by word buffering, its chunk is shown
                    assert event == {"type": "raw", "chunk": chunk("Hel")}
                    first.set()
                elif event == {"type": "piece", "text": "Hello "}:
                    assert seen[-2] == {"type": "raw", "chunk": chunk("lo world")}
                    second.set()
    done = seen[-1]
    assert done["type"] == "done"
    assert done["text"] == "Hello world"
    assert done["status"] == 200
    assert done["error"] is None
    assert done["chunks"] == [chunk("Hel"), chunk("lo world")]
    assert [e["text"] for e in seen if e["type"] == "piece"] == ["Hello ", "world"]


def chunk(text: str) -> dict[str, Any]:
    return {"choices": [{"delta": {"content": text}}]}


async def test_test_stream_reports_an_upstream_failure_in_done(server: Server, admin_key: str):
    server.upstream.reply([b'{"error": {"message": "no such model"}}'], status=404)
    body = {"integration": echo_integration(server, mapping="openai")}
    async with asyncio.timeout(10), client(server, admin_key) as admin:
        async with admin.stream("POST", f"{ADMIN}/integrations/test", json=body) as response:
            events = [event async for event in sse_events(response)]
    *raws, done = events
    assert raws == [{"type": "raw", "chunk": {"error": {"message": "no such model"}}}]
    assert done["status"] == 404
    assert done["error"]["code"] == "upstream_status"
    assert "no such model" in done["error"]["message"]


FLOW_WITH_BAD_FIELD = """\
id: greet
nodes:
  - id: hello
    type: say
    text: Hello
  - id: answer
    type: say
    text: Bye
    stream: maybe
"""


@pytest.mark.parametrize(
    ("text", "text_format", "line", "field"),
    [
        (FLOW_WITH_BAD_FIELD, "yaml", 9, "nodes.answer.stream"),
        (
            "id: x\nnodes:\n  - {id: a, type: integration, integration: nope}\n",
            "yaml",
            3,
            "nodes.a",
        ),
        ("id: x\nnodes: [\n  {id: a\n", "yaml", 4, None),
        (
            '{\n  "id": "x",\n  "nodes": [\n    {"id": "a", "type": "say"}\n  ]\n}',
            "json",
            4,
            "nodes.a.text",
        ),
        ('{\n  "id": "x",\n  "nodes": [,]\n}', "json", 3, None),
    ],
)
async def test_flow_validation_places_the_error_at_its_line(
    server: Server, admin_key: str, text: str, text_format: str, line: int, field: str | None
):
    body = {"text": text, "format": text_format}
    async with client(server, admin_key) as admin:
        answer = (await admin.post(f"{ADMIN}/flows/validate", json=body)).json()
    assert answer["ok"] is False
    (error,) = answer["errors"]
    assert (error["line"], error["field"]) == (line, field), error


async def test_a_valid_flow_comes_back_as_its_document(server: Server, admin_key: str):
    text = "kind: flow\nid: greet\nnodes:\n  - {id: hello, type: say, text: Hi}\n"
    async with client(server, admin_key) as admin:
        answer = (await admin.post(f"{ADMIN}/flows/validate", json={"text": text})).json()
        flows = {f["id"]: f for f in (await admin.get(f"{ADMIN}/flows")).json()}
    assert answer == {
        "ok": True,
        "errors": [],
        "document": {"id": "greet", "nodes": [{"id": "hello", "type": "say", "text": "Hi"}]},
    }
    assert flows["relay"]["source"] == "file"
    assert "integration: relay" in flows["relay"]["yaml"]
    assert flows["default"]["source"] == "builtin"


async def test_chats_and_their_messages_are_listed(server: Server, admin_key: str):
    server.upstream.reply([delta("Stored "), delta("answer."), DONE])
    async with client(server, admin_key) as admin:
        body = {"question": "hi", "chatId": "admin-chat"}
        answer = await admin.post("/api/v1/prediction/relay", json=body)
        assert answer.status_code == 200, answer.text
        chats = (await admin.get(f"{ADMIN}/chats", params={"flowId": "relay"})).json()
        other = (await admin.get(f"{ADMIN}/chats", params={"flowId": "whole"})).json()
        messages = (await admin.get(f"{ADMIN}/chats/admin-chat/messages")).json()
    assert [c["id"] for c in chats] == ["admin-chat"]
    assert other == []
    assert [(m["role"], m["content"], m["status"]) for m in messages] == [
        ("user", "hi", "complete"),
        ("assistant", "Stored answer.", "complete"),
    ]
    assert messages[1]["durationMs"] is not None

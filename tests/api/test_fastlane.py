"""The fast lane answers prediction and chat like the FastAPI routes it stands in front of."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.api.conftest import Server, serving
from tests.api.test_server import flowise_events
from tests.integrations.upstream import Upstream
from tests.providers.fake_llm import FakeLLM

pytestmark = pytest.mark.anyio

ORIGIN = "http://app.example"


def delta(text: str) -> bytes:
    return b'data: {"choices":[{"delta":{"content":"' + text.encode() + b'"}}]}\n\n'


async def tokens_of(server: Server, headers: dict[str, str]) -> tuple[str, dict[str, str]]:
    server.upstream.reply([delta("Hel"), delta("lo"), b"data: [DONE]\n\n"])
    async with server.client() as client:
        response = await client.post(
            "/api/v1/prediction/relay",
            json={"question": "hi", "streaming": True},
            headers=headers,
        )
    events = flowise_events(response.content)
    text = "".join(e["data"] for e in events if e["event"] == "token")
    return text, dict(response.headers)


async def test_with_cors_a_request_from_an_origin_goes_through_fastapi_and_its_cors(
    database_url: str, tmp_path: Path, upstream: Upstream, llm: FakeLLM
):
    async with serving(database_url, tmp_path, upstream, llm, cors_origins=(ORIGIN,)) as server:
        from_origin = await tokens_of(server, {"origin": ORIGIN})
        plain = await tokens_of(server, {})
    assert from_origin[0] == plain[0] == "Hello"
    assert from_origin[1]["access-control-allow-origin"] == ORIGIN
    assert "access-control-allow-origin" not in plain[1]
    assert from_origin[1]["content-type"] == plain[1]["content-type"]


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("/api/v1/prediction/relay?events=bogus", {"question": "q"}, "query.events"),
        ("/api/chat?stream=maybe", {"message": "m"}, "query.stream"),
        ("/api/v1/prediction/relay", {"question": ""}, "question"),
        ("/api/chat", {"message": 3}, "message"),
    ],
)
async def test_invalid_input_names_its_field_as_fastapi_would(
    server: Server, path: str, body: dict[str, object], field: str
):
    async with server.client() as client:
        response = await client.post(path, json=body)
    assert response.status_code == 422, response.text
    assert response.json()["error"]["code"] == "invalid_request"
    assert response.json()["error"]["field"] == field


async def test_a_chunked_body_over_the_limit_is_refused(server: Server):
    async def body() -> AsyncIterator[bytes]:
        for _ in range(70):
            yield b"x" * 1_000

    async with server.client() as client:
        response = await client.post("/api/v1/prediction/relay", content=body())
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "body_too_large"

"""Chat models created through the API are used by the chat API and by flows."""

from __future__ import annotations

import pytest

from tests.api.conftest import Server
from tests.providers.fake_llm import Turn

pytestmark = pytest.mark.anyio


async def test_stored_model_answers_chats_and_flows(server: Server):
    key = await server.state.db.keys.create_key("admin")
    headers = {"Authorization": f"Bearer {key}"}
    model = {
        "id": "stored",
        "provider": "openai",
        "model": "fake",
        "base_url": f"{server.llm.url}/v1",
    }
    server.llm.reply(Turn(text=["From ", "the stored model."]), Turn(text=["Flow answer."]))
    async with server.client(headers=headers) as client:
        created = await client.post("/api/v1/admin/models", json=model)
        assert created.status_code == 201, created.text
        assert created.json()["source"] == "stored"
        listed = {m["id"]: m["source"] for m in (await client.get("/api/v1/admin/models")).json()}
        assert listed == {"fake": "file", "stored": "stored"}
        chat = await client.post("/api/chat", json={"message": "hi", "chatModelId": "stored"})
        assert chat.json()["content"] == "From the stored model."
        flow = {"id": "uses-stored", "nodes": [{"id": "a", "type": "prompt", "model": "stored"}]}
        saved = await client.post("/api/v1/chatflows", json={"flowData": flow})
        assert saved.status_code == 201, saved.text
        answer = await client.post("/api/v1/prediction/uses-stored", json={"question": "q"})
        assert answer.json()["text"] == "Flow answer."
        deleted = await client.delete("/api/v1/admin/models/stored")
        assert deleted.json() == {"id": "stored", "deleted": True}
        gone = await client.post("/api/chat", json={"message": "hi", "chatModelId": "stored"})
        assert gone.status_code == 404


async def test_invalid_or_file_model_is_refused_with_the_field(server: Server):
    key = await server.state.db.keys.create_key("admin")
    async with server.client(headers={"Authorization": f"Bearer {key}"}) as client:
        bad = await client.post(
            "/api/v1/admin/models", json={"id": "x", "provider": "nope", "model": "m"}
        )
        assert bad.status_code == 400
        assert bad.json()["error"]["field"] == "provider"
        clash = await client.post(
            "/api/v1/admin/models", json={"id": "fake", "provider": "openai", "model": "m"}
        )
        assert clash.status_code == 409
    async with server.client() as anonymous:
        assert (await anonymous.get("/api/v1/admin/models")).status_code == 401

"""Flows, integrations and models created through the API are kept as JSON documents."""

from __future__ import annotations

import pytest

from sluice.store import Database

FLOW = {
    "kind": "flow",
    "id": "support",
    "nodes": [{"id": "answer", "type": "integration", "integration": "openai-chat"}],
    "vars": {"greeting": "Grüß Gott 👋", "limit": 3, "ratio": 0.5, "on": True, "none": None},
}


@pytest.mark.anyio
async def test_put_then_get_round_trips_the_document(db: Database):
    stored = await db.definitions.put_definition("flow", "support", FLOW)
    assert (stored.kind, stored.id, stored.document) == ("flow", "support", FLOW)
    assert await db.definitions.get_definition("flow", "support") == stored


@pytest.mark.anyio
async def test_put_again_replaces_the_document_and_keeps_created_at(db: Database):
    first = await db.definitions.put_definition("flow", "support", FLOW)
    second = await db.definitions.put_definition("flow", "support", {"kind": "flow", "id": "v2"})
    assert second.document == {"kind": "flow", "id": "v2"}
    assert second.created_at == first.created_at
    assert second.updated_at >= first.updated_at
    assert await db.definitions.get_definition("flow", "support") == second


@pytest.mark.anyio
async def test_list_is_by_id_and_per_kind(db: Database):
    for definition_id in ("b", "a", "c"):
        await db.definitions.put_definition("integration", definition_id, {"id": definition_id})
    await db.definitions.put_definition("flow", "a", {"id": "a"})
    listed = await db.definitions.list_definitions("integration")
    assert [record.id for record in listed] == ["a", "b", "c"]
    assert await db.definitions.list_definitions("model") == []


@pytest.mark.anyio
async def test_delete_removes_one_definition(db: Database):
    await db.definitions.put_definition("flow", "a", {"id": "a"})
    await db.definitions.put_definition("integration", "a", {"id": "a"})
    assert await db.definitions.delete_definition("flow", "a") is True
    assert await db.definitions.get_definition("flow", "a") is None
    assert await db.definitions.get_definition("integration", "a") is not None
    assert await db.definitions.delete_definition("flow", "a") is False


@pytest.mark.anyio
async def test_get_of_a_missing_definition_is_none(db: Database):
    assert await db.definitions.get_definition("flow", "nope") is None

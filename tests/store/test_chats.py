"""Chats: created on first use with their flow and model, once; deleted with their messages."""

from __future__ import annotations

import asyncio

import pytest

from sluice.store import Database, MessageRole, MessageStatus


@pytest.mark.anyio
async def test_ensure_chat_creates_it_with_flow_and_model(db: Database):
    chat = await db.chats.ensure_chat("chat-1", flow_id="support", model_id="gpt")
    assert (chat.id, chat.flow_id, chat.model_id) == ("chat-1", "support", "gpt")
    assert chat.created_at.tzinfo is not None
    assert await db.chats.get_chat("chat-1") == chat


@pytest.mark.anyio
async def test_ensure_chat_again_keeps_what_it_was_created_with(db: Database):
    first = await db.chats.ensure_chat("chat-1", flow_id="support")
    again = await db.chats.ensure_chat("chat-1", flow_id="other", model_id="gpt")
    assert again == first


@pytest.mark.anyio
async def test_concurrent_first_messages_create_one_chat(db: Database):
    async with asyncio.timeout(10):
        chats = await asyncio.gather(*(db.chats.ensure_chat("chat-1", "f") for _ in range(10)))
    assert len(set(chats)) == 1
    assert len(await db.chats.list_chats()) == 1


@pytest.mark.anyio
async def test_list_chats_of_one_flow(db: Database):
    await db.chats.ensure_chat("a", flow_id="support")
    await db.chats.ensure_chat("b", flow_id="sales")
    await db.chats.ensure_chat("c", flow_id="support")
    assert {chat.id for chat in await db.chats.list_chats("support")} == {"a", "c"}
    assert len(await db.chats.list_chats()) == 3


@pytest.mark.anyio
async def test_delete_chat_deletes_its_messages(db: Database):
    await db.chats.ensure_chat("chat-1")
    message_id = await db.messages.add_message(
        "chat-1", MessageRole.USER, "hi", MessageStatus.COMPLETE
    )
    assert await db.chats.delete_chat("chat-1") is True
    assert await db.chats.get_chat("chat-1") is None
    assert await db.messages.get_message(message_id) is None
    assert await db.chats.delete_chat("chat-1") is False


@pytest.mark.anyio
@pytest.mark.parametrize("chat_id", ["", "x" * 256])
async def test_chat_id_must_fit(db: Database, chat_id: str):
    with pytest.raises(ValueError, match="chatId: expected 1 to 255 characters"):
        await db.chats.ensure_chat(chat_id)

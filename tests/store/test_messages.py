"""Messages are stored when they start, finished once, and read back in order."""

from __future__ import annotations

import asyncio

import pytest

from sluice.events import SourceDocument, ToolUse
from sluice.store import (
    Database,
    MessageRole,
    MessageStatus,
    RecordNotFoundError,
    StoreError,
)
from sluice.store.messages import OpenTurn

USER = MessageRole.USER
BOT = MessageRole.ASSISTANT
DONE = MessageStatus.COMPLETE


async def _chat(db: Database, chat_id: str = "chat-1", flow_id: str | None = "support") -> str:
    await db.chats.ensure_chat(chat_id, flow_id=flow_id)
    return chat_id


@pytest.mark.anyio
async def test_a_streaming_message_is_visible_before_it_finishes(db: Database):
    chat = await _chat(db)
    message_id = await db.messages.add_message(chat, BOT)
    [message] = await db.messages.list_messages(chat)
    assert (message.id, message.status, message.content) == (message_id, "streaming", "")
    assert message.flow_id == "support"


@pytest.mark.anyio
async def test_a_message_can_take_the_id_its_caller_announced(db: Database):
    chat = await _chat(db)
    announced = "8f14e45f-ceea-467f-a0e6-8e0a4d5a1b2c"
    assert await db.messages.add_message(chat, BOT, message_id=announced) == announced
    message = await db.messages.get_message(announced)
    assert message is not None
    assert message.status is MessageStatus.STREAMING
    with pytest.raises(ValueError, match="message_id: expected 1 to 36 characters"):
        await db.messages.add_message(chat, BOT, message_id="x" * 37)


@pytest.mark.anyio
async def test_open_turn_stores_chat_question_and_streaming_answer_at_once(db: Database):
    user_id = await db.messages.open_turn("chat-1", "hi", message_id="bot-1", flow_id="support")
    chat = await db.chats.get_chat("chat-1")
    assert chat is not None
    assert chat.flow_id == "support"
    messages = await db.messages.list_messages("chat-1")
    assert [(m.id, m.role, m.status, m.content) for m in messages] == [
        (user_id, "user", "complete", "hi"),
        ("bot-1", "assistant", "streaming", ""),
    ]


@pytest.mark.anyio
async def test_open_turn_in_an_existing_chat_keeps_its_flow(db: Database):
    await _chat(db, flow_id="support")
    await db.messages.open_turn("chat-1", "again", message_id="bot-2", flow_id="other")
    chat = await db.chats.get_chat("chat-1")
    assert chat is not None
    assert chat.flow_id == "support"
    assert len(await db.messages.list_messages("chat-1")) == 2


@pytest.mark.anyio
async def test_open_turns_stores_many_turns_in_one_write_new_chats_and_old(db: Database):
    await _chat(db, flow_id="support")
    user_ids = await db.messages.open_turns(
        [
            OpenTurn("chat-1", "again", "bot-a", flow_id="other"),
            OpenTurn("chat-2", "first", "bot-b", flow_id="sales"),
            OpenTurn("chat-2", "second", "bot-c", flow_id="sales"),
        ]
    )
    assert len(set(user_ids)) == 3
    chats = {c: await db.chats.get_chat(c) for c in ("chat-1", "chat-2")}
    assert {c: chat.flow_id for c, chat in chats.items() if chat} == {
        "chat-1": "support",
        "chat-2": "sales",
    }
    second = await db.messages.list_messages("chat-2")
    assert [(m.id, m.role, m.status, m.content) for m in second] == [
        (user_ids[1], "user", "complete", "first"),
        ("bot-b", "assistant", "streaming", ""),
        (user_ids[2], "user", "complete", "second"),
        ("bot-c", "assistant", "streaming", ""),
    ]


@pytest.mark.anyio
async def test_open_turns_stores_none_when_one_cannot_be_stored(db: Database):
    await db.messages.open_turn("chat-1", "hi", message_id="taken")
    with pytest.raises(StoreError):
        await db.messages.open_turns(
            [OpenTurn("chat-2", "hi", "fresh"), OpenTurn("chat-3", "hi", "taken")]
        )
    assert await db.chats.get_chat("chat-2") is None


@pytest.mark.anyio
async def test_checkpoint_saves_the_text_so_far(db: Database):
    chat = await _chat(db)
    message_id = await db.messages.add_message(chat, BOT)
    await db.messages.checkpoint_message(message_id, "Hello, wor")
    message = await db.messages.get_message(message_id)
    assert message is not None
    assert (message.status, message.content) == ("streaming", "Hello, wor")


@pytest.mark.anyio
async def test_finish_records_text_timings_tools_sources_and_usage(db: Database):
    chat = await _chat(db)
    message_id = await db.messages.add_message(chat, BOT)
    tool = ToolUse("calculator", {"expression": "2+2"}, "4", call_id="call_1")
    source = SourceDocument("Paris is in France.", {"source": "atlas.md", "page": 3})
    usage = {"prompt_tokens": 12, "completion_tokens": 5}
    finished = await db.messages.finish_message(
        message_id,
        content="It is 4 — « déjà vu » 🎉",
        status=DONE,
        tools=[tool],
        sources=[source],
        usage=usage,
        ttft_ms=123.5,
        duration_ms=2048.25,
    )
    assert finished is True
    message = await db.messages.get_message(message_id)
    assert message is not None
    assert message.content == "It is 4 — « déjà vu » 🎉"
    assert message.status is DONE
    assert (message.tools, message.sources, message.usage) == ((tool,), (source,), usage)
    assert (message.ttft_ms, message.duration_ms) == (123.5, 2048.25)
    assert (message.error, message.error_code) == (None, None)
    assert message.updated_at >= message.created_at


@pytest.mark.anyio
async def test_an_aborted_message_keeps_its_partial_text_and_reason(db: Database):
    chat = await _chat(db)
    message_id = await db.messages.add_message(chat, BOT)
    await db.messages.finish_message(
        message_id,
        content="The answer is",
        status=MessageStatus.ABORTED,
        error="aborted by the user",
        duration_ms=900.0,
    )
    [message] = await db.messages.list_messages(chat)
    assert (message.status, message.content) == ("aborted", "The answer is")
    assert message.error == "aborted by the user"
    assert (message.ttft_ms, message.usage, message.tools) == (None, None, ())


@pytest.mark.anyio
async def test_a_failed_message_keeps_its_error_code(db: Database):
    chat = await _chat(db)
    message_id = await db.messages.add_message(chat, BOT)
    await db.messages.finish_message(
        message_id,
        content="Half",
        status=MessageStatus.ERROR,
        error="the stream ended before its end marker",
        error_code="stream_cut",
    )
    message = await db.messages.get_message(message_id)
    assert message is not None
    assert (message.status, message.error_code) == ("error", "stream_cut")


@pytest.mark.anyio
async def test_the_first_finish_wins(db: Database):
    chat = await _chat(db)
    message_id = await db.messages.add_message(chat, BOT)
    assert await db.messages.finish_message(message_id, content="done", status=DONE)
    late = await db.messages.finish_message(
        message_id, content="", status=MessageStatus.ABORTED, error="late abort"
    )
    assert late is False
    await db.messages.checkpoint_message(message_id, "overwritten?")
    message = await db.messages.get_message(message_id)
    assert message is not None
    assert (message.status, message.content, message.error) == ("complete", "done", None)


@pytest.mark.anyio
async def test_finishing_an_unknown_message_raises_not_found(db: Database):
    with pytest.raises(RecordNotFoundError, match="no message 'nope'"):
        await db.messages.finish_message("nope", content="", status=DONE)


@pytest.mark.anyio
async def test_finishing_as_streaming_is_refused(db: Database):
    chat = await _chat(db)
    message_id = await db.messages.add_message(chat, BOT)
    with pytest.raises(ValueError, match="got streaming"):
        await db.messages.finish_message(message_id, content="", status=MessageStatus.STREAMING)


@pytest.mark.anyio
async def test_a_message_needs_its_chat(db: Database):
    with pytest.raises(RecordNotFoundError, match="no chat 'ghost'"):
        await db.messages.add_message("ghost", USER, "hi", DONE)


@pytest.mark.anyio
async def test_messages_list_in_the_order_they_started(db: Database):
    chat = await _chat(db)
    texts = [f"message {n}" for n in range(12)]
    for n, text in enumerate(texts):
        await db.messages.add_message(chat, USER if n % 2 == 0 else BOT, text, DONE)
    listed = await db.messages.list_messages(chat)
    assert [message.content for message in listed] == texts
    assert [message.role for message in listed[:2]] == [USER, BOT]


@pytest.mark.anyio
async def test_messages_list_by_flow_across_chats(db: Database):
    await _chat(db, "a", "support")
    await _chat(db, "b", "sales")
    await _chat(db, "c", "support")
    for chat in ("a", "b", "c"):
        await db.messages.add_message(chat, USER, f"in {chat}", DONE)
    support = await db.messages.list_messages(None, flow_id="support")
    assert [message.content for message in support] == ["in a", "in c"]
    assert await db.messages.list_messages("a", flow_id="sales") == []
    with pytest.raises(ValueError, match="expected a chat id or a flow id"):
        await db.messages.list_messages(None)


@pytest.mark.anyio
async def test_history_is_the_newest_finished_turns_oldest_first(db: Database):
    chat = await _chat(db)
    for n in range(6):
        await db.messages.add_message(chat, USER if n % 2 == 0 else BOT, f"turn {n}", DONE)
    cut = await db.messages.add_message(chat, BOT)
    await db.messages.finish_message(
        cut, content="partial", status=MessageStatus.ABORTED, error="client left"
    )
    empty = await db.messages.add_message(chat, BOT)
    await db.messages.finish_message(empty, content="", status=MessageStatus.ERROR, error="x")
    await db.messages.add_message(chat, USER, "now", DONE)
    await db.messages.add_message(chat, BOT)  # the answer being streamed now
    assert await db.messages.history(chat, limit=4) == [
        {"role": "user", "content": "turn 4"},
        {"role": "assistant", "content": "turn 5"},
        {"role": "assistant", "content": "partial"},
        {"role": "user", "content": "now"},
    ]
    assert len(await db.messages.history(chat)) == 8


@pytest.mark.anyio
async def test_a_message_repr_leaves_its_text_out(db: Database):
    chat = await _chat(db)
    message_id = await db.messages.add_message(chat, USER, "my secret plan", DONE)
    assert "my secret plan" not in repr(await db.messages.get_message(message_id))


@pytest.mark.anyio
async def test_many_concurrent_sqlite_turns_are_all_stored(tmp_path):
    """More concurrent writers than SQLite's pool holds, with a short pool wait: every
    message is stored, none lost (SQLite writes queue in process instead of timing out)."""
    db = Database.open(f"sqlite+aiosqlite:///{tmp_path / 'load.db'}", timeout_s=0.2)
    await db.migrate()

    async def turn(number: int) -> str:
        chat_id = f"load-{number}"
        await db.chats.ensure_chat(chat_id, "flow")
        await db.messages.add_message(chat_id, MessageRole.USER, "q", MessageStatus.COMPLETE)
        message_id = await db.messages.add_message(chat_id, MessageRole.ASSISTANT)
        await db.messages.finish_message(message_id, content="a", status=MessageStatus.COMPLETE)
        return message_id

    try:
        async with asyncio.timeout(120):
            ids = await asyncio.gather(*(turn(n) for n in range(300)))
        stored = await db.messages.list_messages(None, flow_id="flow")
    finally:
        await db.close()
    assert len(stored) == 600
    assert {m.id for m in stored if m.role is MessageRole.ASSISTANT} == set(ids)

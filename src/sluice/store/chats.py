"""Chats: conversations, created on first use with their flow and chat model."""

from __future__ import annotations

from sqlalchemy import RowMapping, delete, select

from sluice.store.connection import Connector, as_utc
from sluice.store.models import Chat
from sluice.store.types import ChatRecord, check_id

_COLUMNS = (Chat.id, Chat.flow_id, Chat.model_id, Chat.created_at)


class ChatRepository:
    """Create, read and delete chats; their messages live in ``MessageRepository``."""

    def __init__(self, connector: Connector):
        self._db = connector

    async def ensure_chat(
        self, chat_id: str, flow_id: str | None = None, model_id: str | None = None
    ) -> ChatRecord:
        """Return the chat, creating it with ``flow_id`` and ``model_id`` if it is new.

        Safe under concurrency (two first messages at once create one chat). An existing
        chat keeps the flow and model it was created with; compare them to refuse a chat
        id reused for another flow.
        """
        check_id(chat_id, "chatId")
        insert = self._db.insert(Chat).values(
            id=chat_id, flow_id=flow_id, model_id=model_id, created_at=self._db.now()
        )
        async with self._db.begin() as connection:
            await connection.execute(insert.on_conflict_do_nothing(index_elements=["id"]))
            found = await connection.execute(select(*_COLUMNS).where(Chat.id == chat_id))
            row = found.mappings().one()
        return _record(row)

    async def get_chat(self, chat_id: str) -> ChatRecord | None:
        async with self._db.begin() as connection:
            found = await connection.execute(select(*_COLUMNS).where(Chat.id == chat_id))
            row = found.mappings().one_or_none()
        return None if row is None else _record(row)

    async def list_chats(self, flow_id: str | None = None, *, limit: int = 100) -> list[ChatRecord]:
        """The newest chats first, of one flow when ``flow_id`` is given."""
        query = select(*_COLUMNS).order_by(Chat.created_at.desc(), Chat.id).limit(limit)
        if flow_id is not None:
            query = query.where(Chat.flow_id == flow_id)
        async with self._db.begin() as connection:
            rows = (await connection.execute(query)).mappings().all()
        return [_record(row) for row in rows]

    async def delete_chat(self, chat_id: str) -> bool:
        """Delete the chat and all its messages; ``False`` when there was no such chat."""
        async with self._db.begin() as connection:
            deleted = await connection.execute(delete(Chat).where(Chat.id == chat_id))
        return deleted.rowcount > 0


def _record(row: RowMapping) -> ChatRecord:
    return ChatRecord(row["id"], row["flow_id"], row["model_id"], as_utc(row["created_at"]))

"""Chats: conversations, created on first use with their flow and chat model."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, RowMapping, Select, delete, select

from sluice.store.connection import Connector, as_utc
from sluice.store.models import Chat
from sluice.store.types import ChatRecord, check_id

_COLUMNS = (Chat.c.id, Chat.c.flow_id, Chat.c.model_id, Chat.c.created_at)


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
        add, query = insert.on_conflict_do_nothing(index_elements=["id"]), _by_id(chat_id)

        def work(connection: Connection) -> RowMapping:
            connection.execute(add)
            return connection.execute(query).mappings().one()

        return _record(await self._db.run(work))

    async def get_chat(self, chat_id: str) -> ChatRecord | None:
        query = _by_id(chat_id)
        row = await self._db.read(lambda c: c.execute(query).mappings().one_or_none())
        return None if row is None else _record(row)

    async def list_chats(self, flow_id: str | None = None, *, limit: int = 100) -> list[ChatRecord]:
        """The newest chats first, of one flow when ``flow_id`` is given."""
        query = select(*_COLUMNS).order_by(Chat.c.created_at.desc(), Chat.c.id).limit(limit)
        if flow_id is not None:
            query = query.where(Chat.c.flow_id == flow_id)
        rows = await self._db.read(lambda c: c.execute(query).mappings().all())
        return [_record(row) for row in rows]

    async def delete_chat(self, chat_id: str) -> bool:
        """Delete the chat and all its messages; ``False`` when there was no such chat."""
        query = delete(Chat).where(Chat.c.id == chat_id)
        deleted: int = await self._db.run(lambda c: c.execute(query).rowcount)
        return deleted > 0


def _by_id(chat_id: str) -> Select[Any]:
    return select(*_COLUMNS).where(Chat.c.id == chat_id)


def _record(row: RowMapping) -> ChatRecord:
    return ChatRecord(row["id"], row["flow_id"], row["model_id"], as_utc(row["created_at"]))

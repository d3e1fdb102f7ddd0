"""Messages: stored as ``streaming`` when they start and finished when they end.

A message that is cut (client gone, upstream error, abort, or the server stopping) is
never lost: its row exists from the first token on, ``checkpoint_message`` can save the
text said so far, and ``finish_message`` records how it ended and why.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    RowMapping,
    Update,
    bindparam,
    insert,
    select,
    update,
)

from sluice.events import Final, JSONObject, SourceDocument, ToolUse, event_from_dict
from sluice.ids import new_id
from sluice.store.connection import Connector, as_utc
from sluice.store.errors import RecordNotFoundError, StoreError
from sluice.store.models import Chat, Message
from sluice.store.types import ChatTurn, MessageRecord, MessageRole, MessageStatus, check_id

_COLUMNS = (*(column for column in Message.c if column.name != "seq"), Chat.c.flow_id)
_MAX_MESSAGE_ID_LENGTH = 36


def _check_message_id(message_id: str) -> None:
    if not 0 < len(message_id) <= _MAX_MESSAGE_ID_LENGTH:
        raise ValueError(f"message_id: expected 1 to 36 characters, got {len(message_id)}")


def _bind(name: str) -> ColumnElement[Any]:
    """A parameter typed like column ``name`` (so JSON and times convert), named ``new_…``:
    SQLAlchemy reserves the column's own name in SET and VALUES clauses."""
    return bindparam(f"new_{name}", type_=Message.c[name].type)


# The two writes every message makes are built once: building a statement per call cost
# more loop time than running it. ``_ADD`` is INSERT … SELECT FROM chats, one statement
# that inserts nothing when the chat is gone.
_ADD_FIELDS = ("id", "role", "content", "status", "tools", "sources", "created_at", "updated_at")
_ADD = insert(Message).from_select(
    [*_ADD_FIELDS, "chat_id"],
    select(*(_bind(name).label(name) for name in _ADD_FIELDS), Chat.c.id).where(
        Chat.c.id == bindparam("chat_id")
    ),
)
_FINISH_FIELDS = (
    "content",
    "status",
    "error",
    "error_code",
    "tools",
    "sources",
    "usage",
    "ttft_ms",
    "duration_ms",
    "updated_at",
)


def _update_streaming(fields: tuple[str, ...]) -> Update:
    """UPDATE ``fields`` of message ``message_id`` while it is still streaming."""
    return (
        update(Message)
        .where(
            Message.c.id == bindparam("message_id"),
            Message.c.status == MessageStatus.STREAMING.value,
        )
        .values({name: _bind(name) for name in fields})
    )


_FINISH = _update_streaming(_FINISH_FIELDS)
_CHECKPOINT = _update_streaming(("content", "updated_at"))


def _add_values(
    chat_id: str,
    message_id: str,
    role: MessageRole,
    content: str,
    status: MessageStatus,
    now: datetime,
) -> dict[str, object]:
    """The parameters of ``_ADD`` for one new message."""
    return {
        "new_id": message_id,
        "new_role": role.value,
        "new_content": content,
        "new_status": status.value,
        "new_tools": [],
        "new_sources": [],
        "new_created_at": now,
        "new_updated_at": now,
        "chat_id": chat_id,
    }


@dataclass(frozen=True, slots=True)
class OpenTurn:
    """What ``open_turns`` stores for one turn: its chat (created if new) and question, and
    the id of the bot's message that will stream."""

    chat_id: str
    question: str
    message_id: str
    flow_id: str | None = None
    model_id: str | None = None


class MessageRepository:
    """Add, update and read the messages of chats."""

    def __init__(self, connector: Connector):
        self._db = connector
        # Built once, like _ADD: the dialect decides the spelling of "insert if new".
        self._add_chat = (
            connector.insert(Chat)
            .values(
                id=bindparam("chat_id"),
                flow_id=bindparam("flow_id"),
                model_id=bindparam("model_id"),
                created_at=bindparam("created_at", type_=Chat.c["created_at"].type),
            )
            .on_conflict_do_nothing(index_elements=["id"])
        )

    async def open_turn(
        self,
        chat_id: str,
        question: str,
        *,
        message_id: str,
        flow_id: str | None = None,
        model_id: str | None = None,
    ) -> str:
        """Open a turn in one transaction: the chat if it is new (as ``ensure_chat``), the
        user's ``question`` (complete) and the bot's message ``message_id`` (streaming).

        Returns the user message's id. One transaction instead of three, each a hop to the
        store's thread and a commit.
        """
        [user_id] = await self.open_turns(
            [OpenTurn(chat_id, question, message_id, flow_id, model_id)]
        )
        return user_id

    async def open_turns(self, turns: Sequence[OpenTurn]) -> list[str]:
        """``open_turn`` for many turns in one transaction, one statement per kind of row
        (a thousand turns starting together are one write, not a thousand); all or none.

        Returns the user messages' ids, in order.
        """
        now = self._db.now()
        chats: list[dict[str, object]] = []
        messages: list[dict[str, object]] = []
        user_ids: list[str] = []
        for turn in turns:
            check_id(turn.chat_id, "chatId")
            _check_message_id(turn.message_id)
            user_id = new_id()
            user_ids.append(user_id)
            chats.append(
                {
                    "chat_id": turn.chat_id,
                    "flow_id": turn.flow_id,
                    "model_id": turn.model_id,
                    "created_at": now,
                }
            )
            messages.append(
                _add_values(
                    turn.chat_id,
                    user_id,
                    MessageRole.USER,
                    turn.question,
                    MessageStatus.COMPLETE,
                    now,
                )
            )
            messages.append(
                _add_values(
                    turn.chat_id,
                    turn.message_id,
                    MessageRole.ASSISTANT,
                    "",
                    MessageStatus.STREAMING,
                    now,
                )
            )
        add_chat = self._add_chat

        def write(connection: Connection) -> None:
            if chats:
                connection.execute(add_chat, chats)
                connection.execute(_ADD, messages)

        await self._db.write(write)
        return user_ids

    async def add_message(
        self,
        chat_id: str,
        role: MessageRole,
        content: str = "",
        status: MessageStatus = MessageStatus.STREAMING,
        *,
        message_id: str | None = None,
    ) -> str:
        """Store a new message of an existing chat; returns its id (a UUID string).

        ``message_id`` lets a caller announce the id before the row exists (the chat API's
        ``stream_start`` carries it); at most 36 characters, unique. Raises
        ``RecordNotFoundError`` when the chat does not exist (``ensure_chat`` first).
        """
        if message_id is not None:
            _check_message_id(message_id)
        message_id = message_id or new_id()
        values = _add_values(chat_id, message_id, role, content, status, self._db.now())
        inserted: int = await self._db.run(lambda c: c.execute(_ADD, values).rowcount)
        if inserted != 1:
            raise RecordNotFoundError("chat", chat_id)
        return message_id

    async def checkpoint_message(self, message_id: str, content: str) -> None:
        """Save the text said so far of a message still streaming (call it now and then,
        never per token); a finished message is left as it is."""
        values = {
            "message_id": message_id,
            "new_content": content,
            "new_updated_at": self._db.now(),
        }
        await self._db.write(lambda connection: connection.execute(_CHECKPOINT, values))

    async def finish_message(
        self,
        message_id: str,
        *,
        content: str,
        status: MessageStatus,
        error: str | None = None,
        error_code: str | None = None,
        tools: Sequence[ToolUse] = (),
        sources: Sequence[SourceDocument] = (),
        usage: JSONObject | None = None,
        ttft_ms: float | None = None,
        duration_ms: float | None = None,
    ) -> bool:
        """Record how a streaming message ended. ``error`` is the reason an aborted or
        failed message stopped; ``ttft_ms``/``duration_ms`` count from its start.

        The first finish wins: returns ``False`` (and changes nothing) when the message had
        already finished. Raises ``RecordNotFoundError`` for an unknown id, ``ValueError``
        for ``status=streaming``.
        """
        if status is MessageStatus.STREAMING:
            raise ValueError("status: expected complete, aborted or error, got streaming")
        values: dict[str, object] = {
            "message_id": message_id,
            "new_content": content,
            "new_status": status.value,
            "new_error": error,
            "new_error_code": error_code,
            "new_tools": [tool.to_dict() for tool in tools],
            "new_sources": [doc.to_dict() for doc in sources],
            "new_usage": usage,
            "new_ttft_ms": ttft_ms,
            "new_duration_ms": duration_ms,
            "new_updated_at": self._db.now(),
        }

        def write(connection: Connection) -> bool | None:
            if connection.execute(_FINISH, values).rowcount == 1:
                return True
            seq = connection.scalar(select(Message.c.seq).where(Message.c.id == message_id))
            return None if seq is None else False

        finished = await self._db.write(write)
        if finished is None:
            raise RecordNotFoundError("message", message_id)
        return finished

    async def get_message(self, message_id: str) -> MessageRecord | None:
        query = select(*_COLUMNS).join(Chat).where(Message.c.id == message_id)
        row = await self._db.read(lambda c: c.execute(query).mappings().one_or_none())
        return None if row is None else _record(row)

    async def list_messages(
        self, chat_id: str | None, *, flow_id: str | None = None
    ) -> list[MessageRecord]:
        """The messages of a chat, of a flow's chats, or of both filters, oldest first."""
        if chat_id is None and flow_id is None:
            raise ValueError("expected a chat id or a flow id, got neither")
        query = select(*_COLUMNS).join(Chat).order_by(Message.c.seq)
        if chat_id is not None:
            query = query.where(Message.c.chat_id == chat_id)
        if flow_id is not None:
            query = query.where(Chat.c.flow_id == flow_id)
        rows = await self._db.read(lambda c: c.execute(query).mappings().all())
        return [_record(row) for row in rows]

    async def history(self, chat_id: str, limit: int = 50) -> list[ChatTurn]:
        """The last ``limit`` finished messages with text, oldest first, as ``{role, content}``.

        Messages still streaming are left out (including the one being answered now), as
        are empty ones; aborted and failed messages keep what was said.
        """
        query = (
            select(Message.c.role, Message.c.content)
            .where(
                Message.c.chat_id == chat_id,
                Message.c.status != MessageStatus.STREAMING.value,
                Message.c.content != "",
            )
            .order_by(Message.c.seq.desc())
            .limit(limit)
        )
        rows = await self._db.read(lambda c: c.execute(query).mappings().all())
        return [ChatTurn(role=row["role"], content=row["content"]) for row in reversed(rows)]


def _record(row: RowMapping) -> MessageRecord:
    final = _read_final(row["tools"], row["sources"])
    return MessageRecord(
        id=row["id"],
        chat_id=row["chat_id"],
        flow_id=row["flow_id"],
        role=MessageRole(row["role"]),
        content=row["content"],
        status=MessageStatus(row["status"]),
        error=row["error"],
        error_code=row["error_code"],
        tools=final.tools,
        sources=final.sources,
        usage=row["usage"],
        ttft_ms=row["ttft_ms"],
        duration_ms=row["duration_ms"],
        created_at=as_utc(row["created_at"]),
        updated_at=as_utc(row["updated_at"]),
    )


def _read_final(tools: object, sources: object) -> Final:
    """Tools and sources are stored in ``Final.to_dict``'s form, so ``events`` reads them."""
    try:
        event = event_from_dict({"type": "final", "text": "", "tools": tools, "sources": sources})
    except ValueError as exc:
        raise StoreError(f"stored message is malformed: {exc}") from exc
    if not isinstance(event, Final):
        raise TypeError(f"expected a Final event, got {type(event).__name__}")
    return event

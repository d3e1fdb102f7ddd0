"""Persistence: chats, messages, definitions and API keys in SQLite or PostgreSQL.

``Database.open(url)`` makes the engine; ``await db.migrate()`` applies the Alembic
migrations shipped in ``migrations/``; the repositories (``db.chats``, ``db.messages``,
``db.definitions``, ``db.keys``) return the plain records of ``types.py``.
"""

from sluice.store.db import Database
from sluice.store.errors import RecordNotFoundError, StoreError
from sluice.store.messages import OpenTurn
from sluice.store.types import (
    ChatRecord,
    ChatTurn,
    DefinitionRecord,
    KeyRecord,
    MessageRecord,
    MessageRole,
    MessageStatus,
)
from sluice.store.url import DEFAULT_URL

__all__ = [
    "DEFAULT_URL",
    "ChatRecord",
    "ChatTurn",
    "Database",
    "DefinitionRecord",
    "KeyRecord",
    "MessageRecord",
    "MessageRole",
    "MessageStatus",
    "OpenTurn",
    "RecordNotFoundError",
    "StoreError",
]

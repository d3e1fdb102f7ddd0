"""The tables, as SQLAlchemy Core ``Table`` objects; the migrations in ``migrations/`` build them.

Repositories run Core statements on one connection (no ORM): a write is one statement on
one connection, and the server never loads SQLAlchemy's ORM (about 6 MB of a server that
holds ~90 MB at rest). Timestamps are UTC; SQLite hands them back naive, and the
repositories put the zone back. JSON columns use the portable ``JSON`` type.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
)

from sluice.store.types import MAX_ID_LENGTH

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}
"""Named constraints, so Alembic's batch mode can alter SQLite tables in later migrations."""

metadata = MetaData(naming_convention=NAMING_CONVENTION)

_Id = String(MAX_ID_LENGTH)
_Time = DateTime(timezone=True)
# SQLite only auto-increments a column declared exactly INTEGER PRIMARY KEY.
_Sequence = BigInteger().with_variant(Integer(), "sqlite")

Chat = Table(
    "chats",
    metadata,
    Column("id", _Id, primary_key=True),
    Column("flow_id", _Id, index=True),
    Column("model_id", _Id),
    Column("created_at", _Time, nullable=False),
)

Message = Table(
    "messages",
    metadata,
    Column("seq", _Sequence, primary_key=True, autoincrement=True),
    Column("id", String(36), unique=True, nullable=False),
    Column("chat_id", ForeignKey("chats.id", ondelete="CASCADE"), nullable=False),
    Column("role", String(16), nullable=False),
    Column("content", Text, nullable=False),
    Column("status", String(16), nullable=False),
    Column("error", Text),
    Column("error_code", String(64)),
    Column("tools", JSON, nullable=False),
    Column("sources", JSON, nullable=False),
    Column("usage", JSON(none_as_null=True)),
    Column("ttft_ms", Float),
    Column("duration_ms", Float),
    Column("created_at", _Time, nullable=False),
    Column("updated_at", _Time, nullable=False),
    Index("ix_messages_chat_id_seq", "chat_id", "seq"),
)

Definition = Table(
    "definitions",
    metadata,
    Column("kind", String(32), primary_key=True),
    Column("id", _Id, primary_key=True),
    Column("document", JSON, nullable=False),
    Column("created_at", _Time, nullable=False),
    Column("updated_at", _Time, nullable=False),
)

APIKey = Table(
    "api_keys",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("salt", String(64), nullable=False),
    Column("digest", String(64), nullable=False),
    Column("created_at", _Time, nullable=False),
    Column("revoked_at", _Time),
)

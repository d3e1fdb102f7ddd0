"""The store's vocabulary: the plain frozen records repositories return, never ORM objects."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime
from typing import TypedDict

from sluice.events import JSONObject, SourceDocument, ToolUse

MAX_ID_LENGTH = 255
"""The longest chat, flow, model or definition id the store keeps (API models check it)."""


class MessageRole(enum.StrEnum):
    """Who said a message."""

    USER = "user"
    ASSISTANT = "assistant"
    SYSTEM = "system"


class MessageStatus(enum.StrEnum):
    """Where a message stands: ``streaming`` until it ends, then how it ended."""

    STREAMING = "streaming"
    COMPLETE = "complete"
    ABORTED = "aborted"
    ERROR = "error"


class ChatTurn(TypedDict):
    """One earlier message in the OpenAI chat shape, as templates see ``history``."""

    role: str
    content: str


@dataclass(frozen=True, slots=True)
class ChatRecord:
    """A conversation (Flowise's ``chatId``); flow and chat model are set when it is created."""

    id: str
    flow_id: str | None
    model_id: str | None
    created_at: datetime


@dataclass(frozen=True, slots=True)
class MessageRecord:
    """One stored message. ``ttft_ms`` and ``duration_ms`` are milliseconds from its start."""

    id: str
    chat_id: str
    flow_id: str | None
    role: MessageRole
    content: str = field(repr=False)  # message text never reaches logs through repr
    status: MessageStatus
    error: str | None
    error_code: str | None
    tools: tuple[ToolUse, ...]
    sources: tuple[SourceDocument, ...]
    usage: JSONObject | None
    ttft_ms: float | None
    duration_ms: float | None
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class DefinitionRecord:
    """A flow, integration or model created through the API, kept as its JSON document."""

    kind: str
    id: str
    document: JSONObject
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class KeyRecord:
    """An API key's public part; the secret is never stored, only its salted hash."""

    id: str
    name: str
    created_at: datetime
    revoked_at: datetime | None

    @property
    def is_revoked(self) -> bool:
        return self.revoked_at is not None


def check_id(value: str, field: str) -> str:
    """Return ``value`` when it can be stored as an id; raise ``ValueError`` naming ``field``."""
    if not value or len(value) > MAX_ID_LENGTH:
        raise ValueError(f"{field}: expected 1 to {MAX_ID_LENGTH} characters, got {len(value)}")
    return value
